"""Each pass of the pipeline, run in turn on real exports, computes the function onnxruntime
computes for the original model.

`pixel_boundary` changes units, so from then on the graph is compared through its contract:
after(p) = model(p * input_scale) * output_scale. (NHWC boundaries: tests/frontend/test_tf2onnx.py.)
"""
import numpy as np
import pytest

from srhw import float_exec, ir
from srhw.frontend import import_onnx
from srhw.passes import pipeline
from tests.conftest import EXPORTERS, ort_run, pixels

MODELS = ["fsrcnn_x2", "espcn_x3", "srcnn", "shuffle_crd", "residual_rgb", "edsr_x3", "edsr_x4", "lapsrn_x4",
          "lapsrn_x8"]
BYTE_INPUT = {"espcn_x3"}  # these models divide by 255 themselves


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", MODELS)
def test_every_pass_preserves_the_function(exported, name, exporter):
    path = exported(name, exporter)
    graph = import_onnx(path)
    frame = pixels(int(graph.inputs[0].shape[1]), 19, 26, seed=3)[None].astype(np.float64)
    x_model = frame if name in BYTE_INPUT else frame / 255.0
    ref = ort_run(path, x_model)
    for step_name, step in pipeline():
        graph = step(graph)
        ir.check(graph)
        b = graph.boundary
        assert b.input_layout == b.output_layout == ("N", "C", "H", "W")
        y = float_exec.run(graph, x_model / b.input_scale if b.pixel else x_model)[graph.output]
        if b.pixel:
            y = y / b.output_scale
        err = np.abs(y - ref).max() / np.ptp(ref)
        assert err <= 1e-5, f"after {step_name}: relative error {err:.3g}"
    assert graph.boundary.pixel
    assert graph.boundary.input_scale == (1.0 if name in BYTE_INPUT else 1 / 255)
