"""docs/arithmetic.md in code: every layer of the quantized IR in int64 NumPy, no threads, no
onnxruntime, no float arithmetic.

This is the specification the fast engine (srhw.golden.engine) is tested against: both give
the same codes on every frame (tests/test_golden.py), and the engine falls back to these
functions for a layer whose certified bounds no float type holds exactly. It is itself tested
against tests/reference_int.py, a per-pixel Python-integer reading of the same page.
"""
from __future__ import annotations

from functools import singledispatch

import numpy as np

from srhw.fixed import conv_out_size, epilogue_shift, saturate, shift_round
from srhw.float_exec import check_frame_size
from srhw.qir import (ClipAct, PReluAct, QAct, QAdd, QAffine, QConv, QCrop, QDepthToSpace, QGraph, QLayer, QTable,
                      ReluAct, TanhAct)


def run(g: QGraph, frame: np.ndarray, keep_all: bool = False) -> np.ndarray | dict[str, np.ndarray]:
    """uint8 frame [C, H, W] -> uint8 output codes; with keep_all, every value's codes (int64)
    by name. Slow on large frames (int64 einsum per tap): for tests and for checking."""
    x = np.asarray(frame)
    if x.ndim == 2:
        x = x[None]
    env: dict[str, np.ndarray] = {g.input: x.astype(np.int64)}
    for layer in g.layers:
        env[layer.output] = execute(layer, *[env[i] for i in layer.inputs])
    return env if keep_all else env[g.output].astype(np.uint8)


def _per_channel(v: np.ndarray | int, ndim: int) -> np.ndarray:
    return np.asarray(v, dtype=np.int64).reshape((-1,) + (1,) * (ndim - 1))


def epilogue(acc: np.ndarray, acc_frac: np.ndarray, act: QAct, out_fmt, out_frac: np.ndarray,
             zero: np.ndarray | None = None, mult: np.ndarray | None = None, rounding: str = "half_up") -> np.ndarray:
    """Accumulator codes (channel on axis 0, frac `acc_frac` per channel) -> output codes
    (docs/arithmetic.md, section 4). `zero`: the output's zero point per channel, added before
    the saturation (tanh outputs have none). `mult`: an integer multiplier of the accumulator
    per channel before the shift (a model quantized already); `rounding`: srhw.fixed.ROUNDINGS."""
    shift = epilogue_shift(_per_channel(acc_frac, acc.ndim), act, _per_channel(out_frac, acc.ndim))
    if mult is not None:
        acc = acc * _per_channel(mult, acc.ndim)
    if isinstance(act, TanhAct):
        idx = saturate(shift_round(acc, shift, rounding), act.lut_fmt)
        return act.lut[idx - act.lut_fmt.lo]
    y = shift_round(acc, shift, rounding)
    if isinstance(act, PReluAct):
        slope = _per_channel(act.slope, acc.ndim)
        y = np.where(acc >= 0, y, shift_round(acc * slope, shift + act.slope_fmt.frac))
    elif isinstance(act, ReluAct):
        y = np.maximum(y, 0)
    elif isinstance(act, ClipAct):
        y = np.clip(y, _per_channel(act.lo, acc.ndim), _per_channel(act.hi, acc.ndim))
    if zero is not None:
        y = y + _per_channel(zero, acc.ndim)
    return saturate(y, out_fmt)


def padded(cin: int, shape: tuple[int, ...], dtype, pad: np.ndarray | None) -> np.ndarray:
    """A buffer of `shape` ([cin, ...]) filled with each channel's padding code."""
    if pad is None or not np.any(pad):
        return np.zeros(shape, dtype=dtype)
    buf = np.empty(shape, dtype=dtype)
    buf[...] = np.asarray(pad, dtype=dtype).reshape((cin,) + (1,) * (len(shape) - 1))
    return buf


def conv(x: np.ndarray, w: np.ndarray, pads: tuple[int, int, int, int], pad: np.ndarray | None = None) -> np.ndarray:
    """Correlation of int64 codes x [Cin, H, W] with w [Cout, Cin, kh, kw] (no bias), the border
    holding `pad[c]` in channel c (default 0): one int64 product-sum per tap."""
    cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    t, l, b, r = pads
    xp = padded(cin, (cin, h + t + b, wd + l + r), np.int64, pad)
    xp[:, t: t + h, l: l + wd] = x
    oh, ow = conv_out_size(h, wd, kh, kw, pads)
    check_frame_size(h, wd, oh, ow)
    out = np.zeros((cout, oh, ow), dtype=np.int64)
    for u in range(kh):
        for v in range(kw):
            out += np.einsum("oc,chw->ohw", w[:, :, u, v].astype(np.int64), xp[:, u: u + oh, v: v + ow])
    return out


def affine_accumulator(layer: QAffine, x: np.ndarray) -> np.ndarray:
    """x * scale + bias per channel, in int64."""
    return x.astype(np.int64) * layer.scale.reshape(-1, 1, 1) + layer.bias.reshape(-1, 1, 1)


def add_accumulator(layer: QAdd, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Both operands aligned to the accumulator's frac (left shifts) and added, in int64."""
    f = layer.acc_frac.reshape(-1, 1, 1)
    fa, fb = (v.reshape(-1, 1, 1) for v in layer.in_fracs)
    return np.left_shift(a.astype(np.int64), f - fa) + np.left_shift(b.astype(np.int64), f - fb)


def depth_to_space(x: np.ndarray, blocksize: int, mode: str, out: np.ndarray | None = None) -> np.ndarray:
    """[C*r*r, H, W] -> [C, H*r, W*r]: out[c, y*r + i, x*r + j] = x[(i*r + j)*C + c, y, x] (DCR)
    or x[(c*r + i)*r + j, y, x] (CRD); written into `out` when given."""
    c, h, w = x.shape
    r = blocksize
    if out is None:
        out = np.empty((c // (r * r), h * r, w * r), dtype=x.dtype)
    blocks = x.reshape(r, r, -1, h, w).transpose(2, 3, 0, 4, 1) if mode == "DCR" else \
        x.reshape(-1, r, r, h, w).transpose(0, 3, 1, 4, 2)
    out.reshape(-1, h, r, w, r)[...] = blocks
    return out


@singledispatch
def execute(layer: QLayer, *args: np.ndarray) -> np.ndarray:
    """One layer on int64 codes -> int64 codes."""
    raise NotImplementedError(type(layer).__name__)


@execute.register
def _(layer: QConv, x: np.ndarray) -> np.ndarray:
    acc = conv(x.astype(np.int64), layer.weight, layer.pads, layer.pad_code) + layer.bias.reshape(-1, 1, 1)
    return epilogue(acc, layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac, layer.out_zero, layer.mult,
                    layer.rounding)


@execute.register
def _(layer: QAffine, x: np.ndarray) -> np.ndarray:
    return epilogue(affine_accumulator(layer, x), layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac,
                    layer.out_zero)


@execute.register
def _(layer: QAdd, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return epilogue(add_accumulator(layer, a, b), layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac,
                    layer.out_zero)


@execute.register
def _(layer: QTable, x: np.ndarray) -> np.ndarray:
    c = np.arange(layer.table.shape[0]).reshape(-1, 1, 1)
    return layer.table[c, x.astype(np.int64) - layer.in_lo]


@execute.register
def _(layer: QDepthToSpace, x: np.ndarray) -> np.ndarray:
    return depth_to_space(x, layer.blocksize, layer.mode)


@execute.register
def _(layer: QCrop, x: np.ndarray) -> np.ndarray:
    h, w = x.shape[-2:]
    return x[:, : h - layer.bottom, : w - layer.right]
