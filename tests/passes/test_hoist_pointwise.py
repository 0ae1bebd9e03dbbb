"""hoist_pointwise: per-pixel ops written after a DepthToSpace move in front of it, with their
per-channel parameters following the channel mapping, and the graph computes what onnxruntime
computes for the original model."""
import numpy as np
import pytest
from onnx import helper

from tests.conftest import make_model, ort_run, save
from tests.passes.helpers import around, assert_close, ops, output


def _shuffle_then(tmp_path, mode: str, tail: list, inits: dict, out_channels: int = 2):
    """x -> Conv (4 * out_channels) -> DepthToSpace(2, mode) -> `tail` (reads 'd', writes 'y')."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=(4 * out_channels, 1, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["c"], ["d"], blocksize=2, mode=mode)] + tail
    model = make_model(nodes, {"w": w} | inits, [1, 1, "h", "w"], [1, out_channels, "H", "W"])
    return save(model, tmp_path / "m.onnx")


def _per_channel(*values):
    return np.array(values, np.float32).reshape(1, -1, 1, 1)


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_everything_after_the_shuffle_moves_in_front(tmp_path, mode):
    """PReLU with a slope per channel, a per-channel scale and offset (Mul, Add), tanh and a
    final x255: the TensorFlow ESPCN's tail and more. Channel 1's parameters differ from
    channel 0's, so a wrong mapping shows."""
    tail = [helper.make_node("PRelu", ["d", "slope"], ["p"]),
            helper.make_node("Mul", ["p", "scale"], ["m"]),
            helper.make_node("Add", ["m", "offset"], ["a"]),
            helper.make_node("Tanh", ["a"], ["t"]),
            helper.make_node("Mul", ["t", "k255"], ["y"])]
    inits = {"slope": _per_channel(0.1, -0.4), "scale": _per_channel(0.5, 2.0), "offset": _per_channel(0.2, -0.3),
             "k255": np.float32(255.0)}
    path = _shuffle_then(tmp_path, mode, tail, inits)
    before, after = around(path, "hoist_pointwise", input_range="byte", output_range="byte")
    assert ops(before)[:2] == ["Conv", "DepthToSpace"] and len(ops(before)) > 2, ops(before)
    assert ops(after)[-1] == "DepthToSpace" and ops(after).count("DepthToSpace") == 1, ops(after)
    x = np.random.default_rng(4).normal(size=(1, 1, 5, 7))
    assert_close(output(after, x), ort_run(path, x))
    assert_close(output(after, x), output(before, x), tol=1e-9)


def test_a_shuffle_read_twice_keeps_its_readers_after_it(tmp_path):
    """y = d + tanh(d): moving the tanh would change what the Add reads, so nothing moves."""
    tail = [helper.make_node("Tanh", ["d"], ["t"]), helper.make_node("Add", ["d", "t"], ["y"])]
    path = _shuffle_then(tmp_path, "DCR", tail, {})
    before, after = around(path, "hoist_pointwise", input_range="byte", output_range="byte")
    assert ops(after) == ops(before) and ops(after).index("DepthToSpace") < ops(after).index("Tanh")
    x = np.random.default_rng(5).normal(size=(1, 1, 4, 6))
    assert_close(output(after, x), ort_run(path, x))
