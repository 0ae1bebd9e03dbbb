"""The golden model: executes the quantized IR on uint8 frames in exact integer arithmetic.

Bit-exact by construction: convolutions run as float32 or float64 GEMMs only when the layer's
certified accumulator bound shows every partial sum is an integer below 2**24 or 2**53 (so
float addition is exact in any order); otherwise in int64. Requantization follows
docs/arithmetic.md with int64 shifts. Vectorised over whole frames.
"""
from __future__ import annotations

from functools import singledispatch

import numpy as np

from srhw.fixed import saturate, shift_round
from srhw.float_exec import depth_to_space
from srhw.qir import QAct, QAdd, QAffine, QConv, QCrop, QDepthToSpace, QGraph, QLayer

F32_EXACT = 1 << 24
F64_EXACT = 1 << 53
IM2COL_BYTES = 96 << 20


def run(g: QGraph, frame: np.ndarray, keep_all: bool = False) -> np.ndarray | dict[str, np.ndarray]:
    """uint8 frame [C, H, W] (or [H, W] for one channel) -> uint8 output [C, rH, rW].

    With keep_all, returns every layer's integer codes by value name instead.
    """
    x = np.asarray(frame)
    if x.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, not {x.dtype}")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] != g.input_channels:
        raise ValueError(f"frame shape {frame.shape}: expected [{g.input_channels}, H, W]")
    env: dict[str, np.ndarray] = {g.input: x.astype(np.int64)}
    for layer in g.layers:
        env[layer.output] = execute(layer, *[env[i] for i in layer.inputs])
    if keep_all:
        return env
    return env[g.output].astype(np.uint8)


def epilogue(acc: np.ndarray, acc_frac: np.ndarray | int, act: QAct, out_fmt) -> np.ndarray:
    """Accumulator codes (frac `acc_frac`, per channel on axis 0) -> output codes."""
    af = np.asarray(acc_frac, dtype=np.int64).reshape(-1, 1, 1) if np.ndim(acc_frac) else np.int64(acc_frac)
    shift = af - out_fmt.frac
    if act.kind == "tanh":
        idx = saturate(shift_round(acc, af - act.lut_fmt.frac), act.lut_fmt)
        return act.lut[idx - act.lut_fmt.lo]
    if act.kind == "prelu":
        slope = act.slope.reshape(-1, 1, 1)
        y = np.where(acc >= 0, shift_round(acc, shift), shift_round(acc * slope, shift + act.slope_fmt.frac))
    else:
        y = shift_round(acc, shift)
    if act.kind == "relu":
        y = np.maximum(y, 0)
    elif act.kind == "clip":
        y = np.clip(y, act.lo, act.hi)
    return saturate(y, out_fmt)


def int_conv(x: np.ndarray, w: np.ndarray, pads: tuple[int, int, int, int], bound: int) -> np.ndarray:
    """Exact integer correlation of x [Cin, H, W] with w [Cout, Cin, kh, kw] (no bias)."""
    dtype = np.float32 if bound < F32_EXACT else np.float64 if bound < F64_EXACT else np.int64
    cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    t, l, b, r = pads
    xp = np.zeros((cin, h + t + b, wd + l + r), dtype=dtype)
    xp[:, t: t + h, l: l + wd] = x
    oh, ow = h + t + b - kh + 1, wd + l + r - kw + 1
    wm = w.astype(dtype).reshape(cout, -1)
    if kh == kw == 1:
        out = wm @ xp.reshape(cin, -1)
        return out.reshape(cout, oh, ow).astype(np.int64)
    out = np.empty((cout, oh, ow), dtype=dtype)
    row_bytes = cin * kh * kw * ow * np.dtype(dtype).itemsize
    rows = max(1, min(oh, IM2COL_BYTES // max(row_bytes, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))  # [cin, oh, ow, kh, kw]
    for r0 in range(0, oh, rows):
        r1 = min(oh, r0 + rows)
        cols = np.ascontiguousarray(win[:, r0:r1].transpose(0, 3, 4, 1, 2)).reshape(cin * kh * kw, -1)
        out[:, r0:r1] = (wm @ cols).reshape(cout, r1 - r0, ow)
    return out.astype(np.int64)


@singledispatch
def execute(layer: QLayer, *args: np.ndarray) -> np.ndarray:
    raise NotImplementedError(layer.kind)


@execute.register
def _(layer: QConv, x: np.ndarray) -> np.ndarray:
    acc = int_conv(x, layer.weight, layer.pads, layer.cert["acc_bound"]) + layer.bias.reshape(-1, 1, 1)
    return epilogue(acc, layer.acc_frac, layer.act, layer.out_fmt)


@execute.register
def _(layer: QAffine, x: np.ndarray) -> np.ndarray:
    acc = x * layer.scale.reshape(-1, 1, 1) + layer.bias.reshape(-1, 1, 1)
    return epilogue(acc, layer.acc_frac, layer.act, layer.out_fmt)


@execute.register
def _(layer: QAdd, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    fa, fb = layer.cert["in_fracs"]
    acc = np.left_shift(a, layer.acc_frac - fa) + np.left_shift(b, layer.acc_frac - fb)
    return epilogue(acc, layer.acc_frac, layer.act, layer.out_fmt)


@execute.register
def _(layer: QDepthToSpace, x: np.ndarray) -> np.ndarray:
    return depth_to_space(x[None], layer.blocksize, layer.mode)[0]


@execute.register
def _(layer: QCrop, x: np.ndarray) -> np.ndarray:
    h, w = x.shape[-2:]
    return x[:, : h - layer.bottom, : w - layer.right]
