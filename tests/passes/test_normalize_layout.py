"""normalize_layout: NHWC boundaries become NCHW with the layout recorded in `Boundary`, and a
pixel shuffle written as Reshape/Transpose becomes one DepthToSpace; onnxruntime agrees."""
import numpy as np
from onnx import helper

from tests.conftest import EXPORTERS, make_model, ort_run, save
from tests.passes.helpers import around, assert_close, ops, output


def test_nhwc_boundaries(tmp_path):
    rng = np.random.default_rng(5)
    w = rng.normal(size=(2, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["xt", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Transpose", ["c"], ["y"], perm=[0, 2, 3, 1])]
    path = save(make_model(nodes, {"w": w}, [1, "h", "w", 3], [1, "h", "w", 2]), tmp_path / "m.onnx")
    before, after = around(path, "normalize_layout")
    assert "Transpose" in ops(before) and ops(after) == ["Conv"]
    b = after.boundary   # the batch axis is N or, where the shape says 1, a unit axis
    assert b.input_layout[1:] == ("H", "W", "C") == b.output_layout[1:] and b.input_layout[0] in ("N", "1")
    x = rng.normal(size=(1, 5, 7, 3))
    y = output(after, x.transpose(0, 3, 1, 2))                    # the canonical graph takes NCHW
    assert_close(y.transpose(0, 2, 3, 1), ort_run(path, x))


def test_pixel_shuffle_chain_becomes_depth_to_space(exported):
    for exporter in EXPORTERS:
        path = exported("shuffle_crd", exporter)
        before, after = around(path, "normalize_layout")
        assert "Reshape" in ops(before) or "DepthToSpace" in ops(before)
        assert "DepthToSpace" in ops(after) and not {"Reshape", "Transpose"} & set(ops(after)), ops(after)
        x = np.random.default_rng(6).normal(size=(1, 1, 9, 11))
        assert_close(output(after, x), ort_run(path, x))
