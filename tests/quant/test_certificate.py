"""The overflow certificate: each recorded bound holds for the inputs that reach it, and the
recorded width holds the bound (and is minimal)."""
import numpy as np
import pytest

from srhw import golden
from srhw.fixed import Fmt, signed_width
from srhw.qir import Certificate, NoAct, QConv
from srhw.quant import calibrate, quantize
from tests.conftest import compile_float, pixels


def _wraps(acc: np.ndarray, width: int) -> np.ndarray:
    """What a width-bit two's-complement register would hold."""
    m = 1 << width
    return ((acc + (m >> 1)) % m) - (m >> 1)


def _extreme_windows(layer: QConv, x: Fmt) -> list[tuple[int, np.ndarray]]:
    """For each output channel, the window maximising acc and the one minimising it."""
    out = []
    for o in range(layer.weight.shape[0]):
        w = layer.weight[o]
        out.append((o, np.where(w > 0, x.hi, x.lo)))
        out.append((o, np.where(w > 0, x.lo, x.hi)))
    return out


@pytest.mark.parametrize("name", ["fsrcnn_x2", "espcn_x3", "residual_rgb"])
@pytest.mark.parametrize("bits", [4, 8, 16])
def test_extreme_inputs_stay_inside_the_certified_width(exported, name, bits):
    graph = compile_float(exported(name, "dynamo"))
    frames = [pixels(int(graph.inputs[0].shape[1]), 20, 20, seed=s) for s in range(2)]
    q = quantize(graph, calibrate(graph, frames), bits, bits)
    convs = [l for l in q.layers if isinstance(l, QConv)]
    assert convs
    for layer in convs:
        x = q.fmt_of(layer.inputs[0])
        cert = layer.cert
        assert cert.acc_width == signed_width(cert.acc_bound) and layer.cert.round_bound >= cert.acc_bound
        reached = 0
        for o, window in _extreme_windows(layer, x):
            # the window alone, no padding: one output pixel whose accumulator is the extreme
            acc = int(golden.int_conv(window[None].reshape(window.shape), layer.weight[o:o + 1], (0, 0, 0, 0),
                                      cert.acc_bound).reshape(())) + int(layer.bias[o])
            exact = sum(int(a) * int(b) for a, b in zip(layer.weight[o].reshape(-1), window.reshape(-1))) + \
                int(layer.bias[o])
            assert acc == exact
            assert abs(acc) <= cert.acc_bound
            assert _wraps(np.array(acc), cert.acc_width) == acc
            reached = max(reached, abs(acc))
        # the bound is tight: the extremes need the certified width minus at most one bit
        assert signed_width(reached) >= cert.acc_width - 1


def test_hand_built_layer_reaches_its_bound_exactly():
    """All weights -127 on a signed 8-bit input at -128 everywhere: acc = 127*128*K + b = bound."""
    w = np.full((1, 2, 3, 3), -127, dtype=np.int64)
    bias = np.array([1000], dtype=np.int64)
    x_fmt = Fmt(8, 4, True)
    bound = 127 * 18 * x_fmt.max_abs + 1000
    out = Fmt(8, 0, True)
    layer = QConv(name="l00_conv", source="hand", inputs=("x",), output="y", out_fmt=out, out_frac=np.array([0]),
                  cert=Certificate(bound, bound + 8), weight=w, w_frac=np.array([[4, 4]]),
                  w_width=8, bias=bias, acc_frac=np.array([4]), pads=(1, 1, 1, 1), act=NoAct())
    x = np.full((2, 5, 6), x_fmt.lo, dtype=np.int64)
    acc = golden.int_conv(x, w, layer.pads, bound) + bias.reshape(-1, 1, 1)
    assert int(acc.max()) == bound == 127 * 18 * 128 + 1000  # interior pixels reach it
    assert int(acc[0, 0, 0]) == 127 * 8 * 128 + 1000        # a corner sees 4 padded taps of 9 per channel
    assert 2**18 <= bound < 2**19 and signed_width(bound) == 20  # 293608 needs 19 magnitude bits + sign
    assert _wraps(acc, 20).tolist() == acc.tolist()
    assert _wraps(np.array(bound), 19) != bound               # one bit less would overflow
    assert golden.execute(layer, x).max() == out.hi            # and the output saturates, as documented


def test_prelu_and_rounding_widths_are_recorded(exported):
    graph = compile_float(exported("fsrcnn_x2", "torchscript"))
    q = quantize(graph, calibrate(graph, [pixels(1, 16, 16)]), 8, 8)
    prelu = [l for l in q.layers if getattr(l, "act", None) is not None and l.act.kind == "prelu"]
    assert prelu
    for l in prelu:
        assert l.cert.product_bound == l.cert.acc_bound * int(np.abs(l.act.slope).max())
        assert l.cert.round_width >= l.cert.product_width >= l.cert.acc_width
