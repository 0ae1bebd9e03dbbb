"""srhw.backends.rtl's view of the quantized IR: a per-channel Affine is built as the 1x1
convolution it equals (as_conv), checked against the integer reference on every code."""
from pathlib import Path

import numpy as np

import srhw
from srhw.backends.rtl import as_conv
from srhw.golden import reference
from srhw.qir import QAffine

TF_ESPCN = Path(__file__).resolve().parents[1] / "data" / "tf2onnx" / "espcn_tf_x2.onnx"


def test_an_affine_is_its_diagonal_1x1_convolution():
    q = srhw.compile(str(TF_ESPCN), hls=False, progress=False).qgraph
    affine = next(l for l in q.layers if isinstance(l, QAffine))   # the x255 before the shuffle
    conv = as_conv(q, affine)
    c = affine.scale.size
    assert conv.weight.shape == (c, c, 1, 1) and np.count_nonzero(conv.weight) == np.count_nonzero(affine.scale)
    fmt = q.fmt_of(affine.inputs[0])
    lo, hi = (-(1 << (fmt.width - 1)), (1 << (fmt.width - 1)) - 1) if fmt.signed else (0, (1 << fmt.width) - 1)
    codes = np.arange(lo, hi + 1, dtype=np.int64)                  # every input code, in every channel
    x = np.broadcast_to(codes, (c, 1, codes.size)).copy()
    assert np.array_equal(reference.execute(conv, x), reference.execute(affine, x))
