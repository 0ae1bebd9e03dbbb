"""Float reference executor of the IR (NumPy, float64).

It runs every op, raw and canonical, so each pass can be checked by executing the graph before
and after it. Shape arithmetic runs on object arrays of `Sym` when sizes are dynamic.
"""
from __future__ import annotations

from functools import singledispatch

import numpy as np

from srhw import ir
from srhw.fixed import conv_out_size
from srhw.ir import (Abs, Add, Affine, Binary, Cast, ClipAct, Clip, Concat, Constant, Conv, ConvTranspose,
                     Crop, DepthToSpace, Gather, Identity, LeakyRelu, Neg, PRelu, PReluAct, Relu, ReluAct,
                     Pad, Reshape, Shape, Slice, SplitPart, Squeeze, Tanh, TanhAct, Transpose, Unsqueeze)


def run(graph: ir.Graph, inputs: dict[str, np.ndarray] | np.ndarray, keep_all: bool = False) -> dict[str, np.ndarray]:
    """Executes `graph`; returns {output name: array} (every value when keep_all)."""
    if isinstance(inputs, np.ndarray):
        inputs = {graph.input: inputs}
    env: dict[str, np.ndarray] = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    consumers = graph.consumers()
    remaining = {k: len(v) for k, v in consumers.items()}
    outputs = {o.name for o in graph.outputs}
    for node in graph.nodes:
        args = [env[i] if i else None for i in node.inputs]
        env[node.output] = evaluate(node, *args)
        if not keep_all:
            for i in set(node.inputs):
                if i in remaining:
                    remaining[i] -= node.inputs.count(i)
                    if remaining[i] <= 0 and i not in outputs:
                        env.pop(i, None)
    return env if keep_all else {o: env[o] for o in outputs}


@singledispatch
def evaluate(op: ir.Op, *args):
    raise NotImplementedError(f"no float implementation for {op.op_type}")


@evaluate.register
def _(op: Constant):
    return op.value


@evaluate.register
def _(op: Identity, x):
    return x


@evaluate.register
def _(op: Cast, x):
    if x.dtype == object:
        return x
    return x.astype(op.to)


@evaluate.register
def _(op: Shape, x):
    dims = x.shape if not hasattr(x, "sym_shape") else x.sym_shape
    vals = list(dims)[op.start: op.end]
    arr = np.empty(len(vals), dtype=object)
    arr[:] = vals
    return arr if any(not isinstance(v, (int, np.integer)) for v in vals) else np.array(vals, dtype=np.int64)


def as_array(v) -> np.ndarray:
    """Wraps the scalars NumPy returns from object arrays; ints-only object arrays become int64."""
    if isinstance(v, np.ndarray):
        if v.dtype == object and all(isinstance(e, (int, np.integer)) for e in v.reshape(-1)):
            return v.astype(np.int64)
        return v
    if isinstance(v, (int, np.integer)):
        return np.array(v, dtype=np.int64)
    arr = np.empty((), dtype=object)
    arr[()] = v
    return arr


@evaluate.register
def _(op: Gather, x, idx):
    return as_array(np.take(x, np.asarray(idx, dtype=np.int64), axis=op.axis))


@evaluate.register
def _(op: Concat, *xs):
    if any(x.dtype == object for x in xs):
        return np.concatenate([x.astype(object) for x in xs], axis=op.axis)
    return np.concatenate(xs, axis=op.axis)


@evaluate.register
def _(op: Slice, x, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        e = None if int(e) >= 2**62 or (st < 0 and int(e) <= -(2**62)) else int(e)
        index[int(a)] = slice(int(s), e, int(st))
    return x[tuple(index)]


@evaluate.register
def _(op: SplitPart, x, split=None):
    n = x.shape[op.axis]
    if split is not None or op.sizes is not None:
        sizes = [int(v) for v in (split if split is not None else op.sizes)]
    else:  # ONNX: equal parts, the last one smaller when they do not divide
        part = -(-n // op.parts)
        sizes = [part] * (op.parts - 1) + [n - part * (op.parts - 1)]
    start = sum(sizes[: op.index])
    index = [slice(None)] * x.ndim
    index[op.axis] = slice(start, start + sizes[op.index])
    return x[tuple(index)]


@evaluate.register
def _(op: Pad, x, pads=None, value=None, axes=None):
    pads = [int(p) for p in (pads if pads is not None else op.pads)]
    axes = list(range(x.ndim)) if axes is None else [int(a) % x.ndim for a in axes]
    width = [(0, 0)] * x.ndim
    for k, a in enumerate(axes):
        width[a] = (pads[k], pads[k + len(axes)])
    if op.mode != "constant" or min(pads) < 0:
        raise NotImplementedError(f"Pad mode={op.mode} with pads {pads}")
    fill = 0 if value is None or np.size(value) == 0 else np.asarray(value).reshape(())
    return np.pad(x, width, constant_values=fill)


@evaluate.register
def _(op: Reshape, x, shape):
    target = [int(s) for s in shape]
    if not op.allowzero:
        target = [x.shape[i] if s == 0 else s for i, s in enumerate(target)]
    return x.reshape(target)


@evaluate.register
def _(op: Transpose, x):
    return np.transpose(x, op.perm)


@evaluate.register
def _(op: Squeeze, x):
    axes = tuple(i for i, d in enumerate(x.shape) if d == 1) if op.axes is None else op.axes
    return np.squeeze(x, axis=tuple(a % x.ndim for a in axes))


@evaluate.register
def _(op: Unsqueeze, x):
    out = x
    rank = x.ndim + len(op.axes)
    for a in sorted(a % rank for a in op.axes):
        out = np.expand_dims(out, a)
    return out


@evaluate.register
def _(op: Binary, a, b):
    if op.kind == "Add":
        return a + b
    if op.kind == "Sub":
        return a - b
    if op.kind == "Mul":
        return a * b
    if op.kind in ("Max", "Min"):  # shape arithmetic (sizes); dynamic sizes compare as large
        return np.maximum(a, b) if op.kind == "Max" else np.minimum(a, b)
    if a.dtype.kind in "iuO" and b.dtype.kind in "iuO":
        return a // b  # ONNX integer Div truncates; shapes are positive so floor agrees
    return a / b


@evaluate.register
def _(op: Abs, x):
    return np.abs(x)


@evaluate.register
def _(op: Neg, x):
    return -x


@evaluate.register
def _(op: Relu, x):
    return np.maximum(x, 0.0)


@evaluate.register
def _(op: LeakyRelu, x):
    return np.where(x >= 0, x, x * op.alpha)


@evaluate.register
def _(op: PRelu, x, slope):
    return np.where(x >= 0, x, x * slope)


@evaluate.register
def _(op: Tanh, x):
    return np.tanh(x)


@evaluate.register
def _(op: Clip, x, *_bounds):
    return np.clip(x, op.lo, op.hi)


def apply_act(act: ir.Activation | None, x: np.ndarray) -> np.ndarray:
    match act:
        case None:
            return x
        case ReluAct():
            return np.maximum(x, 0.0)
        case PReluAct(slope=s):
            return np.where(x >= 0, x, x * s.reshape(1, -1, 1, 1))
        case TanhAct():
            return np.tanh(x)
        case ClipAct(lo=lo, hi=hi):
            return np.clip(x, lo, hi)
    raise NotImplementedError(type(act).__name__)


def check_frame_size(h: int, w: int, oh: int, ow: int) -> None:
    """A convolution that would produce no pixels means the frame is too small for the model."""
    if oh <= 0 or ow <= 0:
        from srhw.errors import FrameTooSmallError

        raise FrameTooSmallError(f"a {h}x{w} tensor is too small for a convolution that shrinks it to {oh}x{ow}; "
                                 "use larger frames")


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, pads: tuple[int, int, int, int],
           dtype=np.float64) -> np.ndarray:
    """Correlation of x [1, Cin, H, W] with w [Cout, Cin, kh, kw], zero padding, stride 1.

    Accumulates one GEMM per kernel tap so memory stays at a few frame-sized buffers.
    """
    _, cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    t, l, bo, r = pads
    xp = np.zeros((cin, h + t + bo, wd + l + r), dtype=dtype)
    xp[:, t: t + h, l: l + wd] = x[0]
    oh, ow = conv_out_size(h, wd, kh, kw, pads)
    check_frame_size(h, wd, oh, ow)
    out = np.zeros((cout, oh * ow), dtype=dtype)
    wt = w.astype(dtype)
    for u in range(kh):
        for v in range(kw):
            patch = np.ascontiguousarray(xp[:, u: u + oh, v: v + ow]).reshape(cin, -1)
            out += wt[:, :, u, v] @ patch
    if b is not None:
        out += b.astype(dtype)[:, None]
    return out.reshape(1, cout, oh, ow)


@evaluate.register
def _(op: Conv, x, w, b=None):
    return apply_act(op.act, conv2d(x, w, b, op.pads))


@evaluate.register
def _(op: ConvTranspose, x, w, b=None):
    _, cin, h, wd = x.shape
    _, cout, kh, kw = w.shape
    sh, sw = op.strides
    t, l, bo, r = op.pads
    oh = (h - 1) * sh + kh - t - bo + op.output_padding[0]
    ow = (wd - 1) * sw + kw - l - r + op.output_padding[1]
    full = np.zeros((cout, (h - 1) * sh + kh + max(0, op.output_padding[0]) + sh,
                     (wd - 1) * sw + kw + max(0, op.output_padding[1]) + sw))
    xf = x[0].reshape(cin, -1)
    for u in range(kh):
        for v in range(kw):
            contrib = (w[:, :, u, v].T @ xf).reshape(cout, h, wd)
            full[:, u: u + (h - 1) * sh + 1: sh, v: v + (wd - 1) * sw + 1: sw] += contrib
    out = full[:, t: t + oh, l: l + ow]
    if b is not None:
        out = out + b[:, None, None]
    return out[None]


def depth_to_space(x: np.ndarray, r: int, mode: str) -> np.ndarray:
    n, c, h, w = x.shape
    co = c // (r * r)
    if mode == "DCR":
        y = x.reshape(n, r, r, co, h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, co, r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, co, h * r, w * r)


@evaluate.register
def _(op: DepthToSpace, x):
    return depth_to_space(x, op.blocksize, op.mode)


@evaluate.register
def _(op: Crop, x):
    h, w = x.shape[-2:]
    return x[..., : h - op.bottom, : w - op.right]


@evaluate.register
def _(op: Affine, x):
    return apply_act(op.act, x * op.scale.reshape(1, -1, 1, 1) + op.bias.reshape(1, -1, 1, 1))


@evaluate.register
def _(op: Add, a, b):
    return apply_act(op.act, a + b)


@evaluate.register
def _(op: ir.Quantize, x):
    """QuantizeLinear then DequantizeLinear, in float64 (the quantizer's codes come from
    srhw.quant.from_grids, which follows onnxruntime's float32 arithmetic)."""
    return op.grid.values(op.grid.codes(x))
