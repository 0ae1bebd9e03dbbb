"""srhw.backends.epilogue: the numbers both backends build the requantizer from. The working
register's width holds every intermediate of docs/arithmetic.md's epilogue for every
accumulator the certificate allows, and one bit less would not."""
import numpy as np
import pytest

from srhw.backends.epilogue import epilogue_of
from srhw.fixed import epilogue_shift
from srhw.qir import PReluAct, QConv
from tests.conftest import quantized


def _intermediates(layer: QConv, acc: np.ndarray) -> np.ndarray:
    """Values the epilogue computes on the way, per docs/arithmetic.md section 4, computed here
    with Python integers: acc + half before a right shift, acc << -s, PReLU's product and its
    rounding, the result plus the zero point, the clip and LUT bounds."""
    e = epilogue_of(layer)
    vals = []
    for c in range(acc.shape[0]):
        s, z = int(e.shift[c]), int(e.zero[c])
        for a in acc[c].tolist():
            vals += [a + (1 << (s - 1)) if s > 0 else a << -s]
            y = (a + (1 << (s - 1))) >> s if s > 0 else a << -s
            if isinstance(e.act, PReluAct) and a < 0:
                p, s2 = a * int(e.slope[c]), s + e.slope_frac
                vals += [p, p + (1 << (s2 - 1)) if s2 > 0 else p << -s2]
                y = (p + (1 << (s2 - 1))) >> s2 if s2 > 0 else p << -s2
            vals += [y + z]
    return vals + [e.out_lo, e.out_hi, e.lut_lo, e.lut_hi]


@pytest.mark.parametrize("name,zero_points", [("fsrcnn_steep", False), ("fsrcnn_steep", True), ("espcn_x3", False)])
def test_working_width_holds_every_intermediate(exported, name, zero_points):
    _, q = quantized(exported, name, 8, zero_points=zero_points)
    for layer in (l for l in q.layers if isinstance(l, QConv)):
        e = epilogue_of(layer)
        np.testing.assert_array_equal(e.shift, epilogue_shift(layer.acc_frac, layer.act, layer.out_frac))
        b = layer.cert.acc_bound
        c = layer.out_frac.size
        acc = np.stack([np.array([-b, -b + 1, -1, 0, 1, b - 1, b], dtype=object)] * c)
        vals = _intermediates(layer, acc)
        lo, hi = min(vals), max(vals)

        def fits(w):
            return -(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1

        assert fits(e.width), (layer.name, lo, hi, e.width)
        assert not fits(e.width - 1), (layer.name, "one bit narrower would do", lo, hi, e.width)
