"""fuse_activations: every activation becomes the `act` of the Conv (or Affine, Add) before it,
commuting back through DepthToSpace where it must, and the model computes what onnxruntime
computes."""
import numpy as np
import pytest
from onnx import helper

from srhw import ir
from tests.conftest import make_model, ort_run, save
from tests.passes.helpers import around, assert_close, ops, output

ACTS = {
    "Relu": (lambda: helper.make_node("Relu", ["c"], ["a"]), {}, ir.ReluAct),
    "LeakyRelu": (lambda: helper.make_node("LeakyRelu", ["c"], ["a"], alpha=0.2), {}, ir.PReluAct),
    "PRelu": (lambda: helper.make_node("PRelu", ["c", "slope"], ["a"]),
              {"slope": np.array([0.1, -0.3, 0.25, 2.0], np.float32).reshape(4, 1, 1)}, ir.PReluAct),
    "Tanh": (lambda: helper.make_node("Tanh", ["c"], ["a"]), {}, ir.TanhAct),
    "Clip": (lambda: helper.make_node("Clip", ["c", "lo", "hi"], ["a"]),
             {"lo": np.float32(-0.5), "hi": np.float32(0.7)}, ir.ClipAct),
}


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("after_shuffle", [False, True])
def test_activation_joins_the_conv(tmp_path, act, after_shuffle):
    make, inits, kind = ACTS[act]
    if after_shuffle and act == "PRelu":
        inits = {"slope": np.float32(0.15).reshape(1, 1, 1)}   # one slope: it commutes with the shuffle
    rng = np.random.default_rng(9)
    w = rng.normal(size=(4, 1, 3, 3)).astype(np.float32)
    node = make()
    if after_shuffle:   # conv -> depth-to-space -> activation
        node.input[0] = "s"
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                 helper.make_node("DepthToSpace", ["c"], ["s"], blocksize=2), node,
                 helper.make_node("Identity", ["a"], ["y"])]
        out_shape = [1, 1, "H", "W"]
    else:
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), node,
                 helper.make_node("Identity", ["a"], ["y"])]
        out_shape = [1, 4, "h", "w"]
    path = save(make_model(nodes, {"w": w} | inits, [1, 1, "h", "w"], out_shape), tmp_path / "m.onnx")
    before, after = around(path, "fuse_activations", input_range="byte", output_range="byte")
    assert ops(after) == (["Conv", "DepthToSpace"] if after_shuffle else ["Conv"]), ops(after)
    conv = next(n for n in after.nodes if isinstance(n, ir.Conv))
    assert isinstance(conv.act, kind)
    x = rng.normal(size=(1, 1, 5, 6))
    assert_close(output(after, x), ort_run(path, x))
    assert_close(output(after, x), output(before, x), tol=1e-9)


def test_relu_then_clip_compose(tmp_path):
    w = np.random.default_rng(10).normal(size=(2, 1, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Clip", ["r", "lo", "hi"], ["y"])]
    path = save(make_model(nodes, {"w": w, "lo": np.float32(-1.0), "hi": np.float32(0.5)}, [1, 1, "h", "w"],
                           [1, 2, "h", "w"]), tmp_path / "m.onnx")
    _, after = around(path, "fuse_activations", input_range="byte", output_range="byte")
    conv = next(n for n in after.nodes if isinstance(n, ir.Conv))
    assert ops(after) == ["Conv"] and isinstance(conv.act, ir.ClipAct) and (conv.act.lo, conv.act.hi) == (0.0, 0.5)
    x = np.random.default_rng(11).normal(size=(1, 1, 4, 7))
    assert_close(output(after, x), ort_run(path, x))
