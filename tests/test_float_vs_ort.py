"""The float IR after the whole pipeline matches onnxruntime on every factory model, both
exporters, odd and non-square frames."""
import pytest

from tests.conftest import EXPORTERS, assert_float_matches_ort, compile_float, pixels

MODELS = ["fsrcnn_x2", "fsrcnn_x2_odd", "fsrcnn_steep", "fsrcnn_x3", "fsrcnn_x4", "espcn_x3", "espcn_x2_rgb", "srcnn", "shuffle_crd",
          "shuffle_dcr_rgb", "residual_rgb"]


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", MODELS)
def test_pipeline_matches_onnxruntime(exported, name, exporter):
    path = exported(name, exporter)
    graph = compile_float(path)
    c = graph.inputs[0].shape[1]
    for h, w in ((23, 37), (16, 16)):
        assert_float_matches_ort(path, graph, pixels(c, h, w, seed=h))
