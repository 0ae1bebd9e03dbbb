"""fuse_prelu_pattern: the PReLU that TensorFlow graphs write out, relu(x) + k * (x - |x|) and
relu(x) - a * relu(-x), back to one PRelu, computing what onnxruntime computes; the same shapes
on two different tensors are left alone."""
import numpy as np
import pytest
from onnx import helper

from srhw import ir
from tests.conftest import compile_float, make_model, ort_run, save
from tests.passes.helpers import around, assert_close, ops, output


def _model(tmp_path, same_x=True):
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 1, 3, 3)).astype(np.float32)
    k = np.array([0.05, -0.1, 0.2], np.float32).reshape(1, 3, 1, 1)
    other = "c" if same_x else "c2"
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "w"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["pos"]),
             helper.make_node("Abs", [other], ["a"]),
             helper.make_node("Sub", [other, "a"], ["neg2"]),
             helper.make_node("Mul", ["neg2", "k"], ["neg"]),
             helper.make_node("Add", ["pos", "neg"], ["y"])]
    if same_x:
        del nodes[1]
    return save(make_model(nodes, {"w": w, "k": k}, [1, 1, "h", "w"], [1, 3, "h", "w"]), tmp_path / "m.onnx"), k


def test_pattern_becomes_one_prelu(tmp_path):
    path, k = _model(tmp_path)
    before, after = around(path, "fuse_prelu_pattern")
    assert "Abs" in ops(before) and "Abs" not in ops(after)
    prelu = [n for n in after.nodes if isinstance(n, ir.PRelu)]
    assert len(prelu) == 1 and ops(after).count("Relu") == 0
    np.testing.assert_allclose(after.constant(prelu[0].inputs[1]).reshape(-1), 2 * k.reshape(-1), rtol=1e-6)
    x = np.random.default_rng(3).normal(size=(1, 1, 6, 5))
    assert_close(output(after, x), ort_run(path, x))


def test_the_shape_on_two_tensors_is_not_a_prelu(tmp_path):
    path, _ = _model(tmp_path, same_x=False)
    before, after = around(path, "fuse_prelu_pattern")
    assert ops(after) == ops(before) and "Abs" in ops(after)
    x = np.random.default_rng(4).normal(size=(1, 1, 6, 5))
    assert_close(output(after, x), ort_run(path, x))


def _two_relu_model(tmp_path, negate: str, same_x: bool = True):
    """relu(c) - a * relu(-c), -c as a Neg or a Mul by -1; or with -c2 (another tensor)."""
    rng = np.random.default_rng(5)
    w = rng.normal(size=(3, 1, 3, 3)).astype(np.float32)
    a = np.array([0.2, 0.1, 0.25], np.float32).reshape(1, 3, 1, 1)
    other = "c" if same_x else "c2"
    neg = helper.make_node("Neg", [other], ["n"]) if negate == "Neg" else helper.make_node("Mul", [other, "m1"], ["n"])
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "w"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["pos"]), neg,
             helper.make_node("Relu", ["n"], ["rn"]),
             helper.make_node("Mul", ["rn", "a"], ["an"]),
             helper.make_node("Sub", ["pos", "an"], ["y"])]
    if same_x:
        del nodes[1]
    inits = {"w": w, "a": a, "m1": np.float32(-1.0)}
    return save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 3, "h", "w"]), tmp_path / "m.onnx"), a


@pytest.mark.parametrize("negate", ["Neg", "Mul"])
def test_relu_minus_scaled_relu_of_the_negation_is_a_prelu(tmp_path, negate):
    path, a = _two_relu_model(tmp_path, negate)
    before, after = around(path, "fuse_prelu_pattern")
    assert "Sub" in ops(before) and "Sub" not in ops(after) and ops(after).count("Relu") == 0, ops(after)
    prelu = [n for n in after.nodes if isinstance(n, ir.PRelu)]
    assert len(prelu) == 1
    np.testing.assert_allclose(after.constant(prelu[0].inputs[1]).reshape(-1), a.reshape(-1), rtol=1e-6)
    x = np.random.default_rng(6).normal(size=(1, 1, 6, 5))
    assert_close(output(after, x), ort_run(path, x))
    graph = compile_float(path, input_range="byte", output_range="byte")   # the rest of the pipeline takes it
    assert [n.op_type for n in graph.compute_nodes()] == ["Conv"]


def test_the_two_relu_shape_on_two_tensors_is_not_a_prelu(tmp_path):
    path, _ = _two_relu_model(tmp_path, "Neg", same_x=False)
    before, after = around(path, "fuse_prelu_pattern")
    assert ops(after) == ops(before) and "Sub" in ops(after)
    x = np.random.default_rng(7).normal(size=(1, 1, 6, 5))
    assert_close(output(after, x), ort_run(path, x))
