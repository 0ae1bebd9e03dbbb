"""ConvTranspose -> sub-pixel Conv + DepthToSpace (+ Crop) against onnxruntime, random weights."""
import itertools

import numpy as np
import pytest
from onnx import helper

from srhw import float_exec, ir
from srhw.frontend import import_onnx
from srhw.passes import pipeline, run_pipeline
from tests.conftest import make_model, ort_run, save

CASES = [(r, k, p, op) for r, k in itertools.product((2, 3, 4), (3, 4, 5, 6, 7, 8, 9))
         for p, op in ((k // 2, r - 1), (0, 0), ((k - r) // 2 if k >= r else 0, (k - r) % 2 if k >= r else 0),
                       (min(k - 1, r + 1), 0))
         if op < r]


@pytest.mark.parametrize("r,k,pad,outpad", sorted(set(CASES)))
def test_lowering_matches_onnxruntime(tmp_path, r, k, pad, outpad):
    rng = np.random.default_rng(r * 100 + k * 10 + pad)
    w = rng.normal(size=(3, 2, k, k)).astype(np.float32)
    b = rng.normal(size=2).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[r, r], pads=[pad, pad + 1 if k > 3 else pad,
                            pad, pad], output_padding=[outpad, outpad], kernel_shape=[k, k])
    path = save(make_model([node], {"w": w, "b": b}, [1, 3, "h", "w"], [1, 2, "oh", "ow"]), tmp_path / "ct.onnx")
    before = run_pipeline(import_onnx(path), pipeline()[:3])
    after = run_pipeline(before, pipeline()[3:4])
    assert not any(isinstance(n, ir.ConvTranspose) for n in after.nodes)
    assert all(n.pads >= (0, 0, 0, 0) for n in after.nodes if isinstance(n, ir.Conv))
    for h, wd in ((5, 7), (8, 3)):
        x = rng.normal(size=(1, 3, h, wd))
        ref = ort_run(path, x)
        got = float_exec.run(after, x)[after.output]
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * np.abs(ref).max())
        np.testing.assert_allclose(got, float_exec.run(before, x)[before.output], rtol=0, atol=1e-9)


def test_fsrcnn_padding_needs_no_crop():
    """k=9, pad 4, output_padding r-1 (FSRCNN) gives exactly r*H: conv + depth-to-space only."""
    w = np.ones((4, 1, 9, 9))
    g = ir.Graph(nodes=(ir.Constant(name="w", inputs=(), output="w", value=w),
                        ir.ConvTranspose(name="up", inputs=("x", "w"), output="y", strides=(2, 2), pads=(4, 4, 4, 4),
                                         output_padding=(1, 1))),
                 inputs=(ir.TensorInfo("x", (1, 4, "H", "W")),), outputs=(ir.TensorInfo("y", ()),))
    from srhw.passes.lower_conv_transpose import lower_conv_transpose

    ops = [n.op_type for n in lower_conv_transpose(g).compute_nodes()]
    assert ops == ["Conv", "DepthToSpace"]
    conv = next(n for n in lower_conv_transpose(g).nodes if isinstance(n, ir.Conv))
    assert conv.pads == (2, 2, 2, 2)
