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


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_an_add_of_two_shuffles_becomes_one_shuffle(tmp_path, mode):
    """LapSRN's level output: the upsampled image plus the upsampled residual, each after its own
    DepthToSpace of one block size and mode, is the shuffle of the sum of their inputs."""
    rng = np.random.default_rng(6)
    nodes = [helper.make_node("Conv", ["x", "wa"], ["ca"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "wb"], ["cb"], pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["ca"], ["da"], blocksize=2, mode=mode),
             helper.make_node("DepthToSpace", ["cb"], ["db"], blocksize=2, mode=mode),
             helper.make_node("Add", ["da", "db"], ["y"])]
    inits = {k: rng.normal(size=(8, 1, 3, 3)).astype(np.float32) for k in ("wa", "wb")}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 2, "H", "W"]), tmp_path / "m.onnx")
    before, after = around(path, "hoist_pointwise", input_range="byte", output_range="byte")
    assert ops(before).count("DepthToSpace") == 2 and ops(after).count("DepthToSpace") == 1, ops(after)
    assert ops(after)[-1] == "DepthToSpace"
    x = np.random.default_rng(7).normal(size=(1, 1, 5, 3))
    assert_close(output(after, x), ort_run(path, x))
    assert_close(output(after, x), output(before, x), tol=1e-9)


def test_shuffles_of_another_size_stay(tmp_path):
    """Two DepthToSpace of different block sizes put values in different places: nothing moves."""
    rng = np.random.default_rng(8)
    nodes = [helper.make_node("Conv", ["x", "wa"], ["ca"], pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["ca"], ["da"], blocksize=2, mode="DCR"),
             helper.make_node("DepthToSpace", ["ca"], ["db"], blocksize=2, mode="CRD"),
             helper.make_node("Add", ["da", "db"], ["y"])]
    inits = {"wa": rng.normal(size=(8, 1, 3, 3)).astype(np.float32)}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 2, "H", "W"]), tmp_path / "m.onnx")
    before, after = around(path, "hoist_pointwise", input_range="byte", output_range="byte")
    assert ops(after) == ops(before)
    x = np.random.default_rng(9).normal(size=(1, 1, 4, 4))
    assert_close(output(after, x), ort_run(path, x))
