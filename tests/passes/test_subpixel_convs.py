"""subpixel_convs: a frame-preserving conv after a DepthToSpace becomes the sub-pixel conv before
it (C_out*r*r outputs on the LR grid), computing what onnxruntime computes for the original
model, borders included; a conv that changes the frame size is left where it is."""
import numpy as np
import pytest
from onnx import helper

from srhw import ir
from tests.conftest import make_model, ort_run, save
from tests.passes.helpers import around, assert_close, ops, output


def _model(tmp_path, r: int, mode: str, k: tuple[int, int], pads: list[int], c_hr: int = 2, c_out: int = 3):
    rng = np.random.default_rng(r * 10 + k[0])
    w1 = rng.normal(size=(c_hr * r * r, 1, 3, 3)).astype(np.float32)
    w2 = rng.normal(size=(c_out, c_hr, *k)).astype(np.float32)
    b2 = rng.normal(size=c_out).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["c"], ["d"], blocksize=r, mode=mode),
             helper.make_node("Conv", ["d", "w2", "b2"], ["t"], pads=pads),
             helper.make_node("Relu", ["t"], ["y"])]
    return save(make_model(nodes, {"w1": w1, "w2": w2, "b2": b2}, [1, 1, "h", "w"], [1, c_out, "H", "W"]),
                tmp_path / "m.onnx")


@pytest.mark.parametrize("r,mode,k,pads", [(2, "DCR", (3, 3), [1, 1, 1, 1]), (2, "CRD", (3, 3), [1, 1, 1, 1]),
                                           (3, "CRD", (5, 5), [2, 2, 2, 2]), (4, "DCR", (3, 3), [1, 1, 1, 1]),
                                           (2, "DCR", (1, 1), [0, 0, 0, 0]), (3, "DCR", (3, 1), [2, 0, 0, 0]),
                                           (2, "CRD", (4, 2), [1, 0, 2, 1])])
def test_the_hr_conv_moves_before_the_shuffle(tmp_path, r, mode, k, pads):
    path = _model(tmp_path, r, mode, k, pads)
    before, after = around(path, "subpixel_convs", input_range="byte", output_range="byte")
    assert ops(before)[:3] == ["Conv", "DepthToSpace", "Conv"] and ops(after)[:3] == ["Conv", "Conv", "DepthToSpace"]
    moved = [n for n in after.nodes if isinstance(n, ir.Conv)][1]
    w = after.constant(moved.inputs[1])
    assert w.shape[:2] == (3 * r * r, 2 * r * r)
    assert np.count_nonzero(w) == 3 * 2 * k[0] * k[1] * r * r   # each HR tap once per output phase, no more
    for h, wd in ((5, 7), (1, 1), (4, 3)):
        x = np.random.default_rng(h).normal(size=(1, 1, h, wd))
        assert_close(output(after, x), ort_run(path, x))
        assert_close(output(after, x), output(before, x), tol=1e-9)


def test_a_conv_that_shrinks_the_frame_stays_after_the_shuffle(tmp_path):
    path = _model(tmp_path, 2, "DCR", (3, 3), [0, 0, 0, 0])
    before, after = around(path, "subpixel_convs", input_range="byte", output_range="byte")
    assert ops(after) == ops(before)
    x = np.random.default_rng(1).normal(size=(1, 1, 5, 6))
    assert_close(output(after, x), ort_run(path, x))


@pytest.mark.parametrize("r1,m1,r2,m2", [(2, "DCR", 2, "CRD"), (2, "CRD", 3, "DCR"), (3, "DCR", 2, "DCR")])
def test_two_shuffles_after_a_conv_become_one(tmp_path, r1, m1, r2, m2):
    """conv -> DepthToSpace(r1) -> DepthToSpace(r2): one DepthToSpace(r1*r2), the conv's outputs
    re-ordered; with a conv on the frame between them (an x4 upsampler as two x2 stages) too."""
    rng = np.random.default_rng(r1 * 10 + r2)
    c = 2
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["c1"], ["d1"], blocksize=r1, mode=m1),
             helper.make_node("Conv", ["d1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["c2"], ["y"], blocksize=r2, mode=m2)]
    inits = {"w1": rng.normal(size=(3 * r1 * r1, 1, 3, 3)).astype(np.float32),
             "b1": rng.normal(size=3 * r1 * r1).astype(np.float32),
             "w2": rng.normal(size=(c * r2 * r2, 3, 3, 3)).astype(np.float32)}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, c, "H", "W"]), tmp_path / "m.onnx")
    before, after = around(path, "subpixel_convs", input_range="byte", output_range="byte")
    assert ops(after) == ["Conv", "Conv", "DepthToSpace"], ops(after)
    assert next(n for n in after.nodes if isinstance(n, ir.DepthToSpace)).blocksize == r1 * r2
    for h, wd in ((4, 5), (1, 2)):
        x = np.random.default_rng(h).normal(size=(1, 1, h, wd))
        assert_close(output(after, x), ort_run(path, x))


def test_a_shuffle_read_by_two_convs_moves_both(tmp_path):
    """LapSRN's upsampled features feed the level's residual conv and the next level: each conv
    moves before its own copy of the shuffle; the pipeline's Add rule then joins the two."""
    rng = np.random.default_rng(11)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["c"], ["d"], blocksize=2, mode="CRD"),
             helper.make_node("Conv", ["d", "wa"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["d", "wb", "bb"], ["b"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["a", "b"], ["y"])]
    inits = {"w1": rng.normal(size=(12, 1, 3, 3)).astype(np.float32),
             "wa": rng.normal(size=(2, 3, 3, 3)).astype(np.float32),
             "wb": rng.normal(size=(2, 3, 3, 3)).astype(np.float32), "bb": rng.normal(size=2).astype(np.float32)}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 2, "H", "W"]), tmp_path / "m.onnx")
    before, after = around(path, "subpixel_convs", input_range="byte", output_range="byte")
    assert ops(after) == ["Conv", "Conv", "DepthToSpace", "Conv", "DepthToSpace", "Add"], ops(after)
    for h, wd in ((4, 5), (1, 1)):
        x = np.random.default_rng(h).normal(size=(1, 1, h, wd))
        assert_close(output(after, x), ort_run(path, x))


@pytest.mark.parametrize("m1,m2", [("DCR", "CRD"), ("CRD", "CRD")])
def test_two_shuffles_merge_through_an_affine_and_an_add(tmp_path, m1, m2):
    """DepthToSpace(2) -> DepthToSpace(2) where the first reads a per-channel scale of the sum of
    two convs (LapSRN x4's image after both levels, once the pointwise ops have moved): one
    DepthToSpace(4), the permutation pushed through the scale and the Add into both convs."""
    rng = np.random.default_rng(12)
    nodes = [helper.make_node("Conv", ["x", "wa", "ba"], ["ca"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "wb"], ["cb"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["ca", "cb"], ["s"]),
             helper.make_node("Mul", ["s", "scale"], ["m"]),
             helper.make_node("DepthToSpace", ["m"], ["d1"], blocksize=2, mode=m1),
             helper.make_node("DepthToSpace", ["d1"], ["y"], blocksize=2, mode=m2)]
    inits = {"wa": rng.normal(size=(32, 1, 3, 3)).astype(np.float32), "ba": rng.normal(size=32).astype(np.float32),
             "wb": rng.normal(size=(32, 1, 3, 3)).astype(np.float32),
             "scale": rng.uniform(0.5, 2, size=(1, 32, 1, 1)).astype(np.float32)}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 2, "H", "W"]), tmp_path / "m.onnx")
    before, after = around(path, "subpixel_convs", input_range="byte", output_range="byte")
    assert ops(after).count("DepthToSpace") == 1, ops(after)
    assert next(n for n in after.nodes if isinstance(n, ir.DepthToSpace)).blocksize == 4
    for h, wd in ((3, 5), (1, 2)):
        x = np.random.default_rng(h).normal(size=(1, 1, h, wd))
        assert_close(output(after, x), ort_run(path, x))
