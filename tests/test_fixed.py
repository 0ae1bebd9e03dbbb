"""The bit-width rules of srhw.fixed, checked exhaustively against exact rational arithmetic."""
import math
from fractions import Fraction

import numpy as np
import pytest

from srhw.fixed import (Fmt, epilogue_shift, float32_multiplier, folded_multipliers, frac_for_range, quantize_real,
                        saturate, shift_round, signed_width)


def test_shift_round_is_round_half_up_exhaustively():
    acc = np.arange(-(1 << 11), 1 << 11, dtype=np.int64)
    for s in range(-3, 10):
        got = shift_round(acc, s)
        want = [math.floor(Fraction(int(a), 1) / Fraction(2) ** s + Fraction(1, 2)) if s > 0 else int(a) * 2 ** -s
                for a in acc]
        assert got.tolist() == want, s


def test_shift_round_hand_cases():
    # 2.5 -> 3, -2.5 -> -2, -2.75 -> -3, 0.5 -> 1, -0.5 -> 0
    assert shift_round(np.array([5, -5, -11, 1, -1]), np.array([1, 1, 2, 1, 1])).tolist() == [3, -2, -3, 1, 0]


def test_shift_round_half_to_even_exhaustively_and_by_hand():
    """ONNX QuantizeLinear's rounding (round half to even, numpy's rint) on exact quotients."""
    acc = np.arange(-(1 << 11), 1 << 11, dtype=np.int64)
    for s in range(-3, 10):
        want = np.rint(acc / 2.0 ** s).astype(np.int64)  # exact: |acc| < 2^11, a power-of-two divisor
        assert np.array_equal(shift_round(acc, s, "half_even"), want), s
    # 1.25 -> 1, 1.5 -> 2, 1.75 -> 2, 2.5 -> 2, 3 -> 3, -1.5 -> -2, -2.5 -> -2, -0.5 -> 0
    assert shift_round(np.array([5, 6, 7, 10, 12, -6, -10, -2]), 2, "half_even").tolist() == [1, 2, 2, 2, 3, -2, -2, 0]


@pytest.mark.parametrize("scale", [0.1, 1 / 255, 3.0517578125e-05, 0.75, 7.0, 1e-7])
def test_float32_multiplier_is_the_float32_scale_exactly(scale):
    m, n = float32_multiplier(scale)
    assert 1 << 23 <= m < 1 << 24
    assert Fraction(m, 1) / Fraction(2) ** n == Fraction(float(np.float32(scale)))


def test_shift_round_per_channel_broadcast():
    acc = np.array([[[6]], [[6]], [[6]]])
    assert shift_round(acc, np.array([1, 2, -1]).reshape(-1, 1, 1)).reshape(-1).tolist() == [3, 2, 12]


@pytest.mark.parametrize("bound", list(range(0, 300)) + [2**31 - 1, 2**31, 2**40 + 5])
def test_signed_width_is_minimal(bound):
    w = signed_width(bound)
    assert -(1 << (w - 1)) <= -bound and bound <= (1 << (w - 1)) - 1  # w bits hold [-bound, bound]
    assert w == 1 or bound > (1 << (w - 2)) - 1                        # w - 1 bits would not


@pytest.mark.parametrize("width", range(2, 17))
@pytest.mark.parametrize("signed", [True, False])
def test_frac_for_range_is_the_largest_that_fits(width, signed):
    fmt_top = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
    for m in [1e-6, 0.003, 0.25, 0.5, 0.9999, 1.0, 1.5, 3.0, 127.0, 128.0, 255.0, 1000.0]:
        f = frac_for_range(m, width, signed)
        assert m * 2.0**f <= fmt_top
        assert m * 2.0 ** (f + 1) > fmt_top


def test_fmt_ranges_and_validation():
    assert (Fmt(8, 0, False).lo, Fmt(8, 0, False).hi) == (0, 255)
    assert (Fmt(8, 3, True).lo, Fmt(8, 3, True).hi, Fmt(8, 3, True).max_abs) == (-128, 127, 128)
    for bad in [(0, 0, True), (63, 0, True), (1, 0, True)]:
        with pytest.raises(ValueError):
            Fmt(*bad)


def test_quantize_real_rounds_half_up_and_saturates():
    f = Fmt(4, 1, True)  # codes -8..7, step 0.5
    assert quantize_real(np.array([0.25, -0.25, 0.74, 3.5, 3.75, -4.0, -4.3, 100.0]), f).tolist() == \
        [1, 0, 1, 7, 7, -8, -8, 7]
    assert saturate(np.array([-300, 300]), Fmt(8, 0, False)).tolist() == [0, 255]


def test_width_rules_against_brute_force():
    """Each certificate rule equals the worst case found by enumerating every input code."""
    from itertools import product

    from srhw.fixed import accumulator_bound, aligned_add_bound, product_bound, rounding_bound

    rng = np.random.default_rng(1)
    x = Fmt(3, 0, True)  # codes -4..3: small enough to enumerate every window
    w = rng.integers(-7, 8, size=(3, 1, 2, 2))
    b = rng.integers(-20, 21, size=3)
    worst = max(abs(int((w[o].reshape(-1) * np.array(win)).sum()) + int(b[o]))
                for o in range(3) for win in product(range(x.lo, x.hi + 1), repeat=4))
    bound = accumulator_bound(w, x.max_abs, b)
    assert worst <= bound <= worst + int(np.abs(w).sum())  # |lo| = hi + 1: the bound may exceed by sum|w|
    u = Fmt(3, 0, False)  # unsigned input: every code non-negative, the bound is reached exactly
    wu = np.abs(w)
    assert accumulator_bound(wu, u.max_abs, np.abs(b)) == max(
        int(wu[o].sum()) * u.hi + abs(int(b[o])) for o in range(3))
    a, c = Fmt(4, 0, True), Fmt(5, 0, True)
    fa, fc = np.array([1, 3]), np.array([2, 2])
    exhaust = max(abs((i << (max(p, q) - p)) + (j << (max(p, q) - q)))
                  for p, q in zip(fa, fc) for i in range(a.lo, a.hi + 1) for j in range(c.lo, c.hi + 1))
    assert aligned_add_bound(a, fa, c, fc) == exhaust  # reached by both inputs at their lo
    assert product_bound(100, np.array([3, -9, 4])) == 900
    assert rounding_bound(100, 3) == 104 and rounding_bound(100, 0) == 100 and rounding_bound(100, -2) == 100


# (h, w, kh, kw, pads (t, l, b, r)): padded, unpadded, asymmetric, 1x1, kernels wider than tall
CONV_SHAPES = [(5, 7, 3, 3, (1, 1, 1, 1)), (5, 7, 3, 3, (0, 0, 0, 0)), (9, 4, 5, 1, (2, 0, 1, 0)),
               (6, 6, 1, 1, (0, 0, 0, 0)), (3, 11, 2, 5, (0, 2, 1, 1)), (16, 9, 9, 9, (4, 4, 4, 4)),
               (12, 13, 9, 9, (0, 0, 0, 0)), (4, 4, 4, 4, (3, 0, 0, 3))]


@pytest.mark.parametrize("h,w,kh,kw,pads", CONV_SHAPES)
def test_conv_sizes_against_onnxruntime(h, w, kh, kw, pads):
    """conv_out_size and conv_growth: the output onnxruntime's own Conv gives for the same
    frame, kernel and explicit pads."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from srhw.fixed import conv_growth, conv_out_size

    t, l, b, r = pads
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[t, l, b, r])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, h, w])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.ones((1, 1, kh, kw), np.float32), "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    y = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": np.zeros((1, 1, h, w), np.float32)})[0]
    assert conv_out_size(h, w, kh, kw, pads) == y.shape[2:]
    dh, dw = conv_growth(kh, kw, pads)
    assert (h + dh, w + dw) == y.shape[2:]


def test_epilogue_shift_hand_cases():
    """Onto the output's frac, per channel; tanh onto its table's index grid whatever out_frac."""
    from srhw.qir import ReluAct, TanhAct

    relu, tanh = ReluAct(), TanhAct(lut_fmt=Fmt(10, 6, True), lut=np.zeros(1024, np.int64))
    assert epilogue_shift(np.array([12, 9, 4]), relu, np.array([7, 7, 6])).tolist() == [5, 2, -2]
    assert epilogue_shift(np.array([15, 16]), tanh, np.array([7, 7])).tolist() == [9, 10]
    assert epilogue_shift(12, relu, 12) == 0


@pytest.mark.parametrize("po", [1, 2, 3, 5, 8])
def test_folded_multipliers_against_a_per_lane_count(po):
    """Lane p of a fold in groups of po serves outputs p, p + po, ...: a (lane, tap) needs a
    multiplier when any of those outputs has a non-zero weight there. Counted lane by lane."""
    rng = np.random.default_rng(po)
    w = rng.integers(-2, 3, size=(8, 3, 3, 3)) * (rng.random((8, 3, 3, 3)) < 0.3)
    want = sum(int(np.any(w[p::po] != 0, axis=0).sum()) for p in range(po))
    assert folded_multipliers(w != 0, po) == want
    assert folded_multipliers((w != 0).reshape(8, -1), po) == want   # taps flattened: the same count
    assert folded_multipliers(np.ones((8, 4), bool), po) == po * 4


def test_activation_codes_agree_with_both_backends():
    """srhw.qir's QAct.code is the number hls/srhw_epilogue.h's act_kind and rtl/srhw_requant.v's
    ACT parameter select each activation by."""
    import re
    from pathlib import Path

    from srhw.qir import ACTS

    root = Path(__file__).resolve().parents[1]
    enum = re.search(r"enum act_kind \{([^}]*)\}", (root / "hls/srhw_epilogue.h").read_text()).group(1)
    hls = {name.lower(): int(v) for name, v in re.findall(r"ACT_(\w+)\s*=\s*(\d+)", enum)}
    doc = re.search(r"parameter integer ACT = 0, +// (.*)", (root / "rtl/srhw_requant.v").read_text()).group(1)
    rtl = {name: int(v) for v, name in re.findall(r"(\d+) (\w+)", doc)}
    assert hls == rtl == {a.kind: a.code for a in ACTS}
