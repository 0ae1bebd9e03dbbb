"""verify_supported: the graph comes back unchanged when quantization takes every node; else one
error lists every node left over, by name and op, and says what is supported."""
import numpy as np
import pytest
from onnx import helper

from srhw.errors import UnsupportedModelError
from tests.conftest import make_model, save
from tests.passes.helpers import around


def _conv_model(tmp_path, extra):
    w = np.random.default_rng(12).normal(size=(2, 1, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv")] + extra
    return save(make_model(nodes, {"w": w}, [1, 1, "h", "w"], [1, 2, "h", "w"]), tmp_path / "m.onnx")


def test_a_supported_graph_passes_unchanged(tmp_path):
    path = _conv_model(tmp_path, [helper.make_node("Relu", ["c"], ["y"])])
    before, after = around(path, "verify_supported")
    assert after is before


def test_every_leftover_node_is_named(tmp_path):
    path = _conv_model(tmp_path, [helper.make_node("Mul", ["c", "c"], ["sq"], name="square"),
                                  helper.make_node("Abs", ["sq"], ["ab"], name="magnitude"),
                                  helper.make_node("Add", ["ab", "c"], ["y"], name="sum")])
    with pytest.raises(UnsupportedModelError) as info:
        around(path, "verify_supported")
    text = str(info.value)
    assert "'square' (Mul)" in text and "'magnitude' (Abs)" in text and "supported: Conv" in text
    assert "'sum'" not in text   # an Add of two tensors is supported


def test_a_graph_without_convolution(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="only")]
    path = save(make_model(nodes, {}, [1, 1, "h", "w"], [1, 1, "h", "w"]), tmp_path / "m.onnx")
    with pytest.raises(UnsupportedModelError, match="no convolution"):
        around(path, "verify_supported")
