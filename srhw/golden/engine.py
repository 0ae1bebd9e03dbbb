"""The fast golden model: runs the quantized IR layer by layer on exact floats.

Each conv runs in the float type its certificate proves exact (srhw.golden.requant), on
NumPy's BLAS or on onnxruntime's MLAS (srhw.golden.mlas), in row chunks on every core
(srhw.golden.threads); a layer no float type holds runs on srhw.golden.reference in int64.
Between layers the codes travel in the narrowest integer type that holds the output format
(int8 at 8 bits); each conv widens them as it copies its rows.
"""
from __future__ import annotations

from functools import partial, singledispatch

import numpy as np

from srhw.golden import kernels, mlas, reference
from srhw.golden.buffers import frame_buffer, local_buffers
from srhw.golden.requant import Requant, exact_dtype, half_max, prepared
from srhw.golden.threads import blas_single_threaded
from srhw.qir import QAdd, QAffine, QConv, QCrop, QDepthToSpace, QGraph, QLayer, QTable

ENGINES = ("auto", "numpy", "mlas")


def run(g: QGraph, frame: np.ndarray, keep_all: bool = False, engine: str = "auto") -> np.ndarray | dict[str, np.ndarray]:
    """uint8 frame [C, H, W] (or [H, W] for one channel) -> uint8 output [C, rH, rW].

    With keep_all, returns every value's integer codes (int64) by name instead. `engine` picks
    what multiplies in the float32 layers: "numpy" (its BLAS), "mlas" (onnxruntime's kernels,
    every float32 conv) or "auto" (when onnxruntime is installed: MLAS convs for layers with at
    least mlas.MLAS_MIN_OUTPUTS output channels, MLAS's SGEMM for the rest). All give the same
    codes.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine != "numpy" and not mlas.available():
        if engine == "mlas":
            raise RuntimeError("engine='mlas' needs onnxruntime (pip install 'srhw[ort]')")
        engine = "numpy"
    x = np.asarray(frame)
    if x.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, not {x.dtype}")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] != g.input_channels:
        raise ValueError(f"frame shape {frame.shape}: expected [{g.input_channels}, H, W]")
    pool = local_buffers()
    if pool.active:
        raise RuntimeError("golden.run is not re-entrant within one thread")
    blocked = mlas.blocked_values(g, engine)
    pool.active = True
    pool.run += 1
    try:
        env: dict[str, np.ndarray] = {g.input: x}   # codes travel in integer types (requant.code_dtype)
        with blas_single_threaded():
            for layer in g.layers:
                kw = {"blocked_output": True} if layer.output in blocked else {}
                env[layer.output] = execute(layer, *[env[i] for i in layer.inputs], engine=engine, **kw)
    finally:
        pool.active = False
    if keep_all:
        return {k: mlas.unblocked(v).astype(np.int64) for k, v in env.items()}
    return env[g.output].astype(np.uint8)


@singledispatch
def execute(layer: QLayer, *args: np.ndarray, engine: str = "numpy") -> np.ndarray:
    """One layer on integer codes -> its output codes (the same as reference.execute gives)."""
    raise NotImplementedError(type(layer).__name__)


@execute.register
def _(layer: QTable, x: np.ndarray, engine: str = "numpy") -> np.ndarray:
    return reference.execute(layer, x)


@execute.register
def _(layer: QConv, x: np.ndarray, engine: str = "numpy", blocked_output: bool = False) -> np.ndarray:
    dtype, rq, w, b = prepared(layer)
    if dtype is None:
        return reference.execute(layer, x).astype(np.float64)
    if mlas.on_mlas(layer, engine):
        return mlas.conv(layer, x, w, b, rq, blocked_output)
    gemm = partial(mlas.gemm, layer) if engine != "numpy" and mlas.available() else kernels.numpy_gemm
    return kernels.conv(x, w, b, layer.pads, rq, layer.pad_code, layer.output, rq.code_dtype, gemm)


def _elementwise(layer: QLayer, acc_bound: int, make_z, make_acc) -> np.ndarray:
    """Affine/Add: make_z(dtype, scale, pre_add) builds the scaled accumulator on exact floats;
    make_acc() the int64 accumulator when no float type is exact."""
    dtype = exact_dtype(acc_bound + half_max(layer.acc_frac, layer.act, layer.out_frac, acc_bound))
    if dtype is None:
        return reference.epilogue(make_acc(), layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac,
                                  layer.out_zero)
    rq = Requant(layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac, acc_bound, dtype, layer.out_zero)
    z = make_z(dtype, rq.scale.reshape(-1, 1, 1), rq.pre_add.reshape(-1, 1, 1))
    # a copy (astype makes one): the PReLU and tanh epilogues return this thread's scratch
    # buffers (buffers.buffer), and a layer's output must outlive the next layer's epilogue
    return rq(z.reshape(z.shape[0], -1)).reshape(z.shape).astype(rq.code_dtype)


@execute.register
def _(layer: QAffine, x: np.ndarray, engine: str = "numpy") -> np.ndarray:
    def make_z(dtype, scale, pre_add):
        z = x.astype(dtype) * (layer.scale.reshape(-1, 1, 1) * scale).astype(dtype)
        z += ((layer.bias.reshape(-1, 1, 1) + pre_add) * scale).astype(dtype)
        return z

    return _elementwise(layer, layer.cert.acc_bound, make_z, lambda: reference.affine_accumulator(layer, x))


@execute.register
def _(layer: QAdd, a: np.ndarray, b: np.ndarray, engine: str = "numpy") -> np.ndarray:
    f = layer.acc_frac.reshape(-1, 1, 1)
    fa, fb = (v.reshape(-1, 1, 1) for v in layer.in_fracs)

    def make_z(dtype, scale, pre_add):
        z = a.astype(dtype) * (np.ldexp(1.0, f - fa) * scale).astype(dtype)
        z += b.astype(dtype) * (np.ldexp(1.0, f - fb) * scale).astype(dtype)
        z += (pre_add * scale).astype(dtype)
        return z

    return _elementwise(layer, layer.cert.acc_bound, make_z, lambda: reference.add_accumulator(layer, a, b))


@execute.register
def _(layer: QDepthToSpace, x: np.ndarray, engine: str = "numpy") -> np.ndarray:
    c, h, w = x.shape
    r = layer.blocksize
    out = frame_buffer(layer.output, (c // (r * r), h * r, w * r), x.dtype)
    return reference.depth_to_space(x, r, layer.mode, out)


@execute.register
def _(layer: QCrop, x: np.ndarray, engine: str = "numpy") -> np.ndarray:
    return reference.execute(layer, x)
