"""The numbers of a layer's requantization epilogue (docs/arithmetic.md, section 3), shared by
the HLS and RTL backends: per-channel shift, PReLU slope, clip bounds, the tanh LUT, and the
working width derived from the overflow certificate."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srhw.fixed import epilogue_shift, rounding_bound, signed_width
from srhw.qir import ClipAct, PReluAct, QAct, QLayer, TanhAct


@dataclass(frozen=True, eq=False)
class Epilogue:
    act: QAct               # which activation (its `kind` and `code`); its numbers are below
    shift: np.ndarray       # [C]: acc_frac - out_frac (tanh: - the LUT index frac)
    slope: np.ndarray       # [C] PReLU slope codes (zeros otherwise)
    slope_width: int
    slope_frac: int
    lo: np.ndarray          # [C] clip bounds in output codes (the output range otherwise)
    hi: np.ndarray
    lut: np.ndarray         # tanh LUT (one zero otherwise)
    lut_lo: int
    lut_hi: int
    out_lo: int
    out_hi: int
    zero: np.ndarray        # [C] the output's zero points (added before the saturation)
    width: int              # the working register: every intermediate fits
    mult: np.ndarray        # [C] the accumulator's integer multiplier (a model quantized already; else 1)
    half_even: bool         # rounds half to even (a model quantized already) rather than half up


def epilogue_of(l: QLayer) -> Epilogue:
    act: QAct = l.act  # type: ignore[attr-defined]
    c = int(l.out_frac.size)
    shift = np.asarray(epilogue_shift(l.acc_frac, act, l.out_frac), dtype=np.int64)  # type: ignore[attr-defined]
    prelu, tanh, clip = isinstance(act, PReluAct), isinstance(act, TanhAct), isinstance(act, ClipAct)
    return Epilogue(
        act=act, shift=shift,
        slope=act.slope if prelu else np.zeros(c, dtype=np.int64),
        slope_width=act.slope_fmt.width if prelu else 2, slope_frac=act.slope_fmt.frac if prelu else 0,
        lo=act.lo if clip else np.full(c, l.out_fmt.lo), hi=act.hi if clip else np.full(c, l.out_fmt.hi),
        lut=act.lut if tanh else np.zeros(1, dtype=np.int64),
        lut_lo=act.lut_fmt.lo if tanh else 0, lut_hi=act.lut_fmt.hi if tanh else 0,
        out_lo=l.out_fmt.lo, out_hi=l.out_fmt.hi, zero=l.zero, width=_width(l, shift),
        mult=_mult(l), half_even=getattr(l, "rounding", "half_up") == "half_even")


def _mult(l: QLayer) -> np.ndarray:
    m = getattr(l, "mult", None)
    return np.ones(int(l.out_frac.size), dtype=np.int64) if m is None else m


def _width(l: QLayer, shift: np.ndarray) -> int:
    """Width of the epilogue's working register, derived from the certificate's bounds."""
    b = l.cert.acc_bound * int(_mult(l).max())  # the accumulator times its multiplier
    smax, smin = int(shift.max()), int(shift.min())
    vals = [rounding_bound(b, smax), b << max(0, -smin), abs(l.out_fmt.lo), l.out_fmt.hi]
    act: QAct = l.act  # type: ignore[attr-defined]
    if isinstance(act, PReluAct):
        p, sf = l.cert.product_bound, act.slope_fmt.frac
        vals += [rounding_bound(p, smax + sf), p << max(0, -(smin + sf))]
    if isinstance(act, TanhAct):
        vals += [abs(act.lut_fmt.lo), act.lut_fmt.hi]
    if isinstance(act, ClipAct):
        vals += [int(np.abs(act.lo).max()), int(np.abs(act.hi).max())]
    return signed_width(max(vals) + int(np.abs(l.zero).max(initial=0)))  # + the zero point
