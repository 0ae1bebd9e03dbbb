"""The golden model: executes the quantized IR on uint8 frames in exact integer arithmetic.

Bit-exact by construction. A layer computes in float32 (or float64) wherever its certificate
proves every intermediate is an integer below 2**24 (2**53): then each float add, power-of-two
scale and floor is exact, and BLAS can do the convolutions in any summation order. Layers whose
bounds exceed that run in int64. Between layers the codes travel in the narrowest integer type
that holds the output format (int8 at 8 bits); each conv widens them as it copies its rows.
The integer semantics are docs/arithmetic.md; tests compare against a naive Python-int
implementation of that page.

Convolutions run on a flat zero-padded buffer: tap (u, v) of every output pixel is one
contiguous slice of it, so each tap is a GEMM on a strided view (no im2col for wide inputs),
done in row chunks that stay in cache together with their epilogue.

Two engines multiply: NumPy's BLAS, and onnxruntime's MLAS convolution kernels when
onnxruntime is installed (a float32 Conv on the exact codes, row chunk by row chunk; MLAS
convolves by GEMM or by direct NCHWc kernels, never by Winograd or FFT, so every product and
partial sum is one of the exact integers above). `engine="auto"` gives MLAS the layers with
at least MLAS_MIN_OUTPUTS output channels, where its AVX-512 kernels beat the BLAS, and runs the
GEMMs of the narrower ones (srhw's own im2col and tap stacking) on MLAS's SGEMM.
"""
from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import singledispatch

import numpy as np

from srhw.fixed import saturate, shift_round
from srhw.float_exec import check_frame_size
from srhw.qir import QAct, QAdd, QAffine, QConv, QCrop, QDepthToSpace, QGraph, QLayer

F32_EXACT = 1 << 24
F64_EXACT = 1 << 53
CHUNK_COLUMNS = 8192   # output pixels per GEMM chunk: accumulators stay cache-resident
IM2COL_MAX_K = 256     # stack taps into one GEMM when Cin*kh*kw is at most this
MLAS_MIN_OUTPUTS = 16  # engine="auto": MLAS for convs with at least this many output channels
ENGINES = ("auto", "numpy", "mlas")
POOL_BYTES = 256 << 20  # per thread: the most memory golden.run keeps for reuse between frames


def exact_dtype(bound: int) -> type | None:
    """The float type in which every integer of magnitude <= bound is exact, if any."""
    return np.float32 if bound < F32_EXACT else np.float64 if bound < F64_EXACT else None


def run(g: QGraph, frame: np.ndarray, keep_all: bool = False, engine: str = "auto") -> np.ndarray | dict[str, np.ndarray]:
    """uint8 frame [C, H, W] (or [H, W] for one channel) -> uint8 output [C, rH, rW].

    With keep_all, returns every value's integer codes (int64) by name instead. `engine` picks
    what multiplies in the float32 layers: "numpy" (its BLAS), "mlas" (onnxruntime's kernels,
    every float32 conv) or "auto" (when onnxruntime is installed: MLAS convs for wide layers,
    MLAS's SGEMM for the rest). All give the same codes.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine != "numpy" and not _mlas_available():
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
    pool = _pool()
    if pool.active:
        raise RuntimeError("golden.run is not re-entrant within one thread")
    blocked = _blocked_values(g, engine)
    pool.active = True
    pool.run += 1
    try:
        env: dict[str, np.ndarray] = {g.input: x}   # codes travel in integer types (_code_dtype)
        with _blas_single_threaded():
            for layer in g.layers:
                kw = {"blocked_output": True} if layer.output in blocked else {}
                env[layer.output] = execute(layer, *[env[i] for i in layer.inputs], engine=engine, **kw)
    finally:
        pool.active = False
    if keep_all:
        return {k: _unblocked(v).astype(np.int64) for k, v in env.items()}
    return env[g.output].astype(np.uint8)


# --------------------------------------------------------------------------- buffer pool
class _Buffers:
    """One thread's buffers, kept from one frame to the next.

    A fresh multi-megabyte array costs a page fault per 4 kB the first time it is written, and
    glibc hands large blocks back to the kernel when they are freed, so a frame that allocates its
    activations anew pays that again on every call: about a fifth of ESPCN x2's time on a 256x256
    frame, depending on what the process allocated before (docs/golden.md). Each buffer belongs
    to a role: a layer's output (reused only inside `run`, whose values never outlive it) or a row
    chunk's scratch (used and dropped within one chunk). At most POOL_BYTES per thread: when a
    buffer does not fit, those that earlier runs used and this one has not are dropped first
    (another model's), and if it still does not fit, it is allocated as usual."""

    def __init__(self) -> None:
        self.blocks: dict[str, np.ndarray] = {}
        self.used: dict[str, int] = {}   # role -> the run that last used it
        self.bytes = 0
        self.run = 0
        self.active = False   # inside run(): layer outputs may come from the pool


_LOCAL = threading.local()
_EVERY_POOL: weakref.WeakSet = weakref.WeakSet()   # every thread's, for release_buffers()


def _pool() -> _Buffers:
    pool = getattr(_LOCAL, "pool", None)
    if pool is None:
        pool = _LOCAL.pool = _Buffers()
        _EVERY_POOL.add(pool)
    return pool


def _buffer(role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of `shape` that this thread reuses for `role` (a prefix of one
    flat block, grown when a larger one is asked for)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    pool = _pool()
    block = pool.blocks.get(role)
    if block is None or block.nbytes < nbytes:
        if block is not None:
            pool.bytes -= pool.blocks.pop(role).nbytes
        for stale in sorted((r for r in pool.blocks if pool.used[r] < pool.run), key=pool.used.__getitem__):
            if pool.bytes + nbytes <= POOL_BYTES:
                break
            pool.bytes -= pool.blocks.pop(stale).nbytes
            del pool.used[stale]
        if pool.bytes + nbytes > POOL_BYTES:
            return np.empty(shape, dtype=dtype)
        block = pool.blocks[role] = np.empty(max(nbytes, 1), dtype=np.uint8)
        pool.bytes += block.nbytes
    pool.used[role] = pool.run
    return block[:nbytes].view(dtype).reshape(shape)


def _frame_buffer(role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A layer's output array: pooled inside run(), fresh when a layer is executed on its own
    (its caller may keep the result)."""
    return _buffer("frame:" + role, shape, dtype) if _pool().active else np.empty(shape, dtype=dtype)


def release_buffers() -> None:
    """Frees the buffers that every thread keeps between frames. Call it between runs only."""
    for pool in list(_EVERY_POOL):
        pool.blocks.clear()
        pool.used.clear()
        pool.bytes = 0


# ------------------------------------------------------------------------------ epilogue
def _per_channel(v: np.ndarray | int, ndim: int) -> np.ndarray:
    return np.asarray(v, dtype=np.int64).reshape((-1,) + (1,) * (ndim - 1))


def epilogue(acc: np.ndarray, acc_frac: np.ndarray, act: QAct, out_fmt, out_frac: np.ndarray,
             zero: np.ndarray | None = None) -> np.ndarray:
    """Accumulator codes (channel on axis 0, frac `acc_frac` per channel) -> output codes.

    The int64 route of docs/arithmetic.md; `_Requant` is the same on exact floats. `zero`: the
    output's zero point per channel, added before the saturation (tanh outputs have none).
    """
    af = _per_channel(acc_frac, acc.ndim)
    if act.kind == "tanh":
        idx = saturate(shift_round(acc, af - act.lut_fmt.frac), act.lut_fmt)
        return act.lut[idx - act.lut_fmt.lo]
    shift = af - _per_channel(out_frac, acc.ndim)
    y = shift_round(acc, shift)
    if act.kind == "prelu":
        slope = _per_channel(act.slope, acc.ndim)
        y = np.where(acc >= 0, y, shift_round(acc * slope, shift + act.slope_fmt.frac))
    elif act.kind == "relu":
        y = np.maximum(y, 0)
    elif act.kind == "clip":
        y = np.clip(y, _per_channel(act.lo, acc.ndim), _per_channel(act.hi, acc.ndim))
    if zero is not None:
        y = y + _per_channel(zero, acc.ndim)
    return saturate(y, out_fmt)


# ---------------------------------------------------------------------------- convolution
def int_conv(x: np.ndarray, w: np.ndarray, pads: tuple[int, int, int, int], bound: int,
             pad: np.ndarray | None = None) -> np.ndarray:
    """Exact correlation of integer codes x [Cin, H, W] with w [Cout, Cin, kh, kw] -> int64 (no
    bias); the border holds `pad[c]` in channel c (default 0)."""
    dtype = exact_dtype(bound)
    if dtype is None:
        return _conv_int64(x.astype(np.int64), w, pads, pad)
    cout = w.shape[0]
    zero = np.zeros((cout, 1), dtype=dtype)
    return _conv_float(x.astype(dtype), w.astype(dtype), zero, pads, lambda z: z, pad).astype(np.int64)


def _padded(cin: int, shape: tuple[int, ...], dtype, pad: np.ndarray | None) -> np.ndarray:
    """A buffer of `shape` ([cin, ...]) filled with each channel's padding code."""
    if pad is None or not np.any(pad):
        return np.zeros(shape, dtype=dtype)
    buf = np.empty(shape, dtype=dtype)
    buf[...] = np.asarray(pad, dtype=dtype).reshape((cin,) + (1,) * (len(shape) - 1))
    return buf


def _conv_int64(x: np.ndarray, w: np.ndarray, pads: tuple[int, int, int, int],
                pad: np.ndarray | None = None) -> np.ndarray:
    cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    t, l, b, r = pads
    xp = _padded(cin, (cin, h + t + b, wd + l + r), np.int64, pad)
    xp[:, t: t + h, l: l + wd] = x
    oh, ow = h + t + b - kh + 1, wd + l + r - kw + 1
    check_frame_size(h, wd, oh, ow)
    out = np.zeros((cout, oh, ow), dtype=np.int64)
    for u in range(kh):
        for v in range(kw):
            out += np.einsum("oc,chw->ohw", w[:, :, u, v].astype(np.int64), xp[:, u: u + oh, v: v + ow])
    return out


def _conv_float(x: np.ndarray, w: np.ndarray, b: np.ndarray, pads: tuple[int, int, int, int], finish,
                pad: np.ndarray | None = None, role: str | None = None, out_dtype=None,
                gemm_owner: QConv | None = None) -> np.ndarray:
    """Correlation + bias on exact float codes, `finish` applied per contiguous row chunk.

    Each row chunk copies its rows of the padded frame (`pad[c]` in channel c's border, default
    0; the kh - 1 halo rows included) into one flat buffer of row pitch wp; output pixel
    i = y*wp + x reads tap (u, v) at flat index i + u*wp + v, so a tap is a contiguous slice
    (columns x >= OW of each row are spill-over and dropped). Three GEMM shapes, by what is
    cheapest: 1x1 without padding: one GEMM; few input taps (Cin*kh*kw small): taps stacked
    (im2col); fewer outputs than inputs (the sub-pixel conv): one GEMM for all taps, then shifted
    adds. Row chunks are independent and write disjoint rows, so they run on a thread pool
    (NumPy and BLAS release the GIL). `role`: the output's buffer in run()'s pool (None: fresh).
    `gemm_owner`: the layer whose MLAS GEMM sessions multiply (float32 only; None: NumPy's BLAS).
    """
    cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    t, l, bo, r = pads
    hp, wp = h + t + bo, wd + l + r
    oh, ow = hp - kh + 1, wp - kw + 1
    check_frame_size(h, wd, oh, ow)
    dtype = w.dtype   # x may hold its codes in a narrower integer type: the row copies widen them
    shape, out_dtype = (cout, oh, ow), out_dtype or dtype
    out = _frame_buffer(role, shape, out_dtype) if role else np.empty(shape, dtype=out_dtype)
    if kh == kw == 1 and not any(pads):
        flat = x.reshape(cin, -1)
        mm = _gemm(gemm_owner, "1x1", w.reshape(cout, cin))

        def chunk_1x1(r0: int, r1: int) -> None:
            cols = flat[:, r0 * wd: r1 * wd]
            if cols.dtype != dtype:   # widened chunk by chunk, in cache
                wide = _buffer("cols", cols.shape, dtype)
                wide[...] = cols
                cols = wide
            z = mm(cols, _buffer("z", (cout, (r1 - r0) * wd), dtype))
            z += b
            out[:, r0:r1] = finish(z).reshape(cout, r1 - r0, wd)

        _for_row_chunks(oh, wd, chunk_1x1)
        return out
    fill = np.zeros((cin, 1, 1), dtype=dtype) if pad is None else np.asarray(pad, dtype=dtype).reshape(cin, 1, 1)
    offsets = [u * wp + v for u in range(kh) for v in range(kw)]

    def rows_of(r0: int, r1: int) -> tuple[np.ndarray, int]:
        """The chunk's padded input rows, flat, with one spare row for the last row's spill-over."""
        buf = _halo_rows(x, fill, r0, r1, kh, t, l, r, spare=1, dtype=dtype)
        return buf.reshape(cin, -1), (r1 - r0) * wp

    if cin * kh * kw <= IM2COL_MAX_K:
        wm = np.concatenate([w.transpose(0, 2, 3, 1).reshape(cout, -1), b], axis=1)   # bias as a last column
        mm = _gemm(gemm_owner, "im2col", wm)

        def chunk(r0: int, r1: int) -> None:
            xf, n = rows_of(r0, r1)
            cols = _buffer("cols", (len(offsets) * cin + 1, n), dtype)
            for i, off in enumerate(offsets):
                cols[i * cin: (i + 1) * cin] = xf[:, off: off + n]
            cols[-1] = 1
            z = mm(cols, _buffer("z", (cout, n), dtype))
            out[:, r0:r1] = finish(z).reshape(cout, r1 - r0, wp)[:, :, :ow]
    elif cout < cin:
        mm = _gemm(gemm_owner, "stacked", w.transpose(2, 3, 0, 1).reshape(kh * kw * cout, cin))

        def chunk(r0: int, r1: int) -> None:
            xf, n = rows_of(r0, r1)   # the whole buffer: a GEMM input must be contiguous
            y = mm(xf, _buffer("taps", (kh * kw * cout, xf.shape[1]), dtype))
            z = _buffer("z", (cout, n), dtype)
            z[...] = b
            for i, off in enumerate(offsets):
                z += y[i * cout: (i + 1) * cout, off: off + n]
            out[:, r0:r1] = finish(z).reshape(cout, r1 - r0, wp)[:, :, :ow]
    else:
        taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1).reshape(kh * kw, cout, cin))

        def chunk(r0: int, r1: int) -> None:
            xf, n = rows_of(r0, r1)
            z = np.matmul(taps[0], xf[:, offsets[0]: offsets[0] + n], out=_buffer("z", (cout, n), dtype))
            tmp = _buffer("tap", (cout, n), dtype)
            for i in range(1, len(offsets)):
                np.matmul(taps[i], xf[:, offsets[i]: offsets[i] + n], out=tmp)
                z += tmp
            z += b
            out[:, r0:r1] = finish(z).reshape(cout, r1 - r0, wp)[:, :, :ow]

    _for_row_chunks(oh, wp, chunk)
    return out


def _halo_rows(x: np.ndarray, fill: np.ndarray, r0: int, r1: int, kh: int, t: int, l: int, r: int,
               spare: int = 0, *, dtype) -> np.ndarray:
    """Rows r0 .. r1 + kh - 2 of frame x [Cin, H, W] padded by t rows on top and l, r columns
    (`fill` [Cin, 1, 1] in the border, and in `spare` extra rows at the end), as this thread's
    [Cin, rows + spare, l + W + r] scratch buffer. A blocked frame [Cin/B, H, W, B] (with `fill`
    [Cin/B, 1, 1, B]) gives [Cin/B, rows + spare, l + W + r, B], of `dtype` (the copy converts
    x's codes, which may be held in a narrower integer type)."""
    h, wd = x.shape[1:3]
    buf = _buffer("rows", (x.shape[0], r1 - r0 + kh - 1 + spare, l + wd + r) + x.shape[3:], dtype)
    top, end = max(r0 - t, 0), min(r1 + kh - 1 - t, h)   # the frame rows among them
    a, e = top + t - r0, max(end + t - r0, top + t - r0)
    buf[:, :a] = fill
    buf[:, e:] = fill
    buf[:, a:e, :l] = fill
    buf[:, a:e, l + wd:] = fill
    buf[:, a:e, l: l + wd] = x[:, top:end]
    return buf


_POOL: ThreadPoolExecutor | None = None
_BLAS = None


def _blas_single_threaded():
    """Row chunks already use every core: BLAS's own threads would only oversubscribe them."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def _cores() -> int:
    """The cores this process may run on (taskset and cpusets included)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _for_row_chunks(rows: int, pitch: int, fn) -> None:
    """Calls fn(r0, r1) over row chunks of at most about CHUNK_COLUMNS pixels, on all cores.
    The chunk count is a multiple of the worker count, so that every core gets the same share."""
    global _POOL
    cores = _cores()
    count = -(-rows * max(pitch, 1) // CHUNK_COLUMNS)
    count = min(rows, -(-count // cores) * cores)
    step = -(-rows // count)
    spans = [(r0, min(rows, r0 + step)) for r0 in range(0, rows, step)]
    workers = min(cores, len(spans))
    if workers <= 1:
        for span in spans:
            fn(*span)
        return
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(_cores() - 1, 1), thread_name_prefix="srhw-golden")
    queue, lock = iter(spans), threading.Lock()

    def drain() -> None:
        while True:
            with lock:
                span = next(queue, None)
            if span is None:
                return
            fn(*span)

    # the calling thread takes chunks too: one thread fewer to wake, and none left waiting idle
    helpers = [_POOL.submit(drain) for _ in range(workers - 1)]
    try:
        drain()
    finally:
        for f in helpers:
            f.result()


# ------------------------------------------------------------------ MLAS (onnxruntime) engine
_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # QConv -> {layout: its MLAS session}


def _mlas_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _conv_mlas(layer: QConv, x: np.ndarray, w: np.ndarray, b: np.ndarray, finish,
               blocked_output: bool = False) -> np.ndarray:
    """_conv_float's contract on onnxruntime's MLAS kernels. Each row chunk copies its input rows
    (with the kh - 1 halo rows and the padding) into one buffer, runs an unpadded float32
    Conv on it in a single-threaded session that writes into this thread's scratch buffer, and
    applies `finish` while the result is in cache.

    x is [Cin, H, W], or [Cin/B, H, W, B] when its producer left it in MLAS's blocked NCHWc
    layout (see _blocked_values); `blocked_output` asks for the output in that layout too, which
    saves MLAS reordering it out and the next conv reordering it back in."""
    blocked_input = x.ndim == 4
    cin, h, wd = (x.shape[0] * x.shape[3], x.shape[1], x.shape[2]) if blocked_input else x.shape
    cout, _, kh, kw = w.shape
    t, l, bo, r = layer.pads
    wp = wd + l + r
    oh, ow = h + t + bo - kh + 1, wp - kw + 1
    check_frame_size(h, wd, oh, ow)
    block = _nchwc_block()
    blocked_output = blocked_output and block is not None and cout % block == 0
    session = _layout_session(layer, w, b, blocked_input, blocked_output) or \
        _layout_session(layer, w, b, blocked_input, False)
    if session is None:   # onnxruntime did not rewrite this conv into the blocked kernels
        x, blocked_input = _unblocked(x), False
        session = _layout_session(layer, w, b, False, blocked_output) or _layout_session(layer, w, b, False, False)
    blocked_output = blocked_output and session is _layout_session(layer, w, b, blocked_input, True)
    fill = layer.pad.astype(np.float32)
    fill = fill.reshape(-1, 1, 1, block) if blocked_input else fill.reshape(cin, 1, 1)
    shape = (cout // block, oh, ow, block) if blocked_output else (cout, oh, ow)
    out = _frame_buffer(layer.output, shape, finish.code_dtype)

    def chunk(r0: int, r1: int) -> None:
        buf = _halo_rows(x, fill, r0, r1, kh, t, l, r, dtype=np.float32)
        z = _buffer("z", (shape[0], r1 - r0, ow) + shape[3:], np.float32)
        io = session.io_binding()
        io.bind_cpu_input("x", buf.reshape(1, cin, -1, wp))
        io.bind_output("z", "cpu", 0, np.float32, [1, cout, r1 - r0, ow], z.ctypes.data)
        session.run_with_iobinding(io)
        if blocked_output and finish.act.kind == "tanh":   # a few blocks: the lookups write the frame
            finish.lookup_into(z, out[:, r0:r1])
        else:
            out[:, r0:r1] = finish(z.reshape(shape[0], -1) if not blocked_output else z).reshape(z.shape)

    _for_row_chunks(oh, wp, chunk)
    return out


def _gemm(owner: QConv | None, role: str, a: np.ndarray):
    """mm(b, out): out = a @ b for the constant matrix a, on MLAS's SGEMM in a one-node MatMul
    session that `owner` keeps (float32, b and out contiguous), else on NumPy's BLAS. On this
    kind of machine MLAS multiplies the narrow matrices of the small convs 1.3-2x faster than
    OpenBLAS (docs/golden.md); both sum exact integers, so the codes are the same."""
    a = np.ascontiguousarray(a)
    session = None
    if owner is not None and a.dtype == np.float32:
        sessions = _SESSIONS.setdefault(owner, {})
        if ("gemm", role) not in sessions:
            sessions["gemm", role] = _matmul_session(a)
        session = sessions["gemm", role]

    def mm(b: np.ndarray, out: np.ndarray) -> np.ndarray:
        if session is None or b.dtype != np.float32 or not (b.flags.c_contiguous and out.flags.c_contiguous):
            return np.matmul(a, b, out=out)
        io = session.io_binding()
        io.bind_cpu_input("b", b)
        io.bind_output("y", "cpu", 0, np.float32, list(out.shape), out.ctypes.data)
        session.run_with_iobinding(io)
        return out

    return mm


def _matmul_session(a: np.ndarray):
    """A one-node float32 MatMul a @ b with a as an initializer (MLAS's SGEMM, one thread)."""
    return _session(_one_node_model("MatMul", ["a", "b"], ("b", [a.shape[1], None]), ("y", [a.shape[0], None]),
                                    {"a": a}))


def _one_node_model(op: str, inputs: list[str], x: tuple[str, list], y: tuple[str, list], initializers: dict):
    """A checked float32 ONNX model of one `op` node: input x = (name, shape), output y, and
    the other inputs as initializers (name -> array)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node(op, inputs, [y[0]])], f"srhw_golden_{op.lower()}",
        [helper.make_tensor_value_info(x[0], TensorProto.FLOAT, x[1])],
        [helper.make_tensor_value_info(y[0], TensorProto.FLOAT, y[1])],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def _layout_session(layer: QConv, w: np.ndarray, b: np.ndarray, blocked_input: bool, blocked_output: bool):
    """The layer's session for a layout, built once; None where that layout is not available."""
    sessions = _SESSIONS.setdefault(layer, {})
    layout = (blocked_input, blocked_output)
    if layout not in sessions:
        try:
            sessions[layout] = _mlas_session(w, b, *layout)
        except RuntimeError:
            sessions[layout] = None
    return sessions[layout]


def _mlas_session(w: np.ndarray, b: np.ndarray, blocked_input: bool = False, blocked_output: bool = False):
    """A one-node float32 Conv (no padding) with the scaled weights and bias as initializers.
    One intra-op thread: the row chunks already occupy every core, and spinning workers would
    take them from the NumPy epilogues.

    With `blocked_input` / `blocked_output`, the session takes / returns MLAS's NCHWc layout:
    onnxruntime's own optimizer rewrites the Conv into ReorderInput -> nchwc Conv ->
    ReorderOutput (with the weights reordered for this CPU), and the reorders asked away are cut
    from that graph."""
    model = _one_node_model("Conv", ["x", "w", "b"], ("x", [1, w.shape[1], None, None]),
                            ("z", [1, w.shape[0], None, None]), {"w": w, "b": b.reshape(-1)})
    if blocked_input or blocked_output:
        model = _without_reorders(model, blocked_input, blocked_output)
    return _session(model)


def _session(model):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _without_reorders(model, blocked_input: bool, blocked_output: bool):
    """onnxruntime's NCHWc rewrite of a one-Conv model, with its ReorderInput (blocked_input)
    and/or ReorderOutput (blocked_output) removed. RuntimeError where the rewrite is not the
    expected (ReorderInput ->) Conv -> ReorderOutput of domain com.microsoft.nchwc."""
    import tempfile

    import onnx
    import onnxruntime as ort
    from onnx import helper

    with tempfile.TemporaryDirectory(prefix="srhw-nchwc-") as tmp:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.optimized_model_filepath = os.path.join(tmp, "conv.onnx")
        opts.log_severity_level = 3   # not the warning that the saved model is for this CPU only: it is
        ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        opt = onnx.load(opts.optimized_model_filepath)
    nodes = list(opt.graph.node)
    kinds = [(n.domain, n.op_type) for n in nodes]
    want = [("com.microsoft.nchwc", k) for k in ("ReorderInput", "Conv", "ReorderOutput")]
    if kinds not in (want, want[1:]) or (blocked_input and kinds != want):
        raise RuntimeError(f"onnxruntime's NCHWc rewrite is {kinds}, not {want}")
    if blocked_input:
        nodes = nodes[1:]
        nodes[0].input[0] = "x"
    if blocked_output:
        nodes = nodes[:-1]
        nodes[-1].output[0] = "z"
    graph = helper.make_graph(nodes, "srhw_golden_conv_nchwc", list(opt.graph.input), list(opt.graph.output),
                              list(opt.graph.initializer))
    return helper.make_model(graph, opset_imports=list(opt.opset_import), ir_version=opt.ir_version)


_BLOCK: list[int | None] = []


def _nchwc_block() -> int | None:
    """The channel block of onnxruntime's NCHWc kernels on this CPU (16 with AVX-512, 8 with
    AVX2), found once by running a blocked 16 -> 16 conv against the plain one and seeing which
    layout its output is in; None where the rewrite is missing or neither layout matches (then
    every conv reorders, as onnxruntime itself does around a lone Conv)."""
    if not _BLOCK:
        rng = np.random.default_rng(0)
        w = rng.integers(-8, 8, (16, 16, 3, 3)).astype(np.float32)
        b = rng.integers(-8, 8, 16).astype(np.float32)
        x = rng.integers(-8, 8, (1, 16, 5, 6)).astype(np.float32)
        found = None
        try:
            want = _mlas_session(w, b).run(None, {"x": x})[0]
            both = _mlas_session(w, b, True, True)
            for blk in (16, 8):
                def to(a, blk=blk):
                    return np.ascontiguousarray(a.reshape(1, 16 // blk, blk, *a.shape[2:]).transpose(0, 1, 3, 4, 2))
                got = both.run(None, {"x": to(x).reshape(x.shape)})[0]
                if np.array_equal(got.reshape(to(want).shape), to(want)):
                    found = blk
                    break
        except Exception:  # noqa: BLE001 - any failure means: no blocked layout, reorder as before
            found = None
        _BLOCK.append(found)
    return _BLOCK[0]


def _on_mlas(layer: QLayer, engine: str) -> bool:
    """Whether execute() runs this layer's multiplications on MLAS (in float32)."""
    if not isinstance(layer, QConv) or engine == "numpy":
        return False
    if _prepared(layer)[0] != np.float32:
        return False
    return engine == "mlas" or layer.weight.shape[0] >= MLAS_MIN_OUTPUTS


def _uniform_epilogue(layer: QConv) -> bool:
    """An epilogue that treats every channel alike after the scaling folded into the weights
    (tanh with its offset on the bias; ReLU or none, symmetric codes): it runs on any layout."""
    act = layer.act
    if layer.out_zero is not None and np.any(layer.out_zero):
        return False
    if act.kind == "tanh":
        return _folds_offset(act, np.asarray(layer.acc_frac) - act.lut_fmt.frac)
    return act.kind in ("none", "relu")


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # QGraph -> {engine: blocked values}


def _blocked_values(g: QGraph, engine: str) -> frozenset[str]:
    """The values that stay in MLAS's blocked layout between two convs: produced by an MLAS conv
    whose channels fill whole blocks and whose epilogue is channel-uniform, read only by MLAS
    convs, and not the graph's output."""
    plans = _PLANS.setdefault(g, {})
    if engine not in plans:
        block = _nchwc_block() if engine != "numpy" and any(_on_mlas(l, engine) for l in g.layers) else None
        readers: dict[str, list[QLayer]] = {}
        for layer in g.layers:
            for name in layer.inputs:
                readers.setdefault(name, []).append(layer)
        plans[engine] = frozenset(
            layer.output for layer in g.layers
            if block and _on_mlas(layer, engine) and layer.weight.shape[0] % block == 0 and _uniform_epilogue(layer)
            and layer.output != g.output and readers.get(layer.output)
            and all(_on_mlas(c, engine) for c in readers[layer.output]))
    return plans[engine]


def _unblocked(v: np.ndarray) -> np.ndarray:
    """[C/B, H, W, B] (blocked) -> [C, H, W]; anything else as it is."""
    return v.transpose(0, 3, 1, 2).reshape(-1, *v.shape[1:3]) if v.ndim == 4 else v


def _code_dtype(lo: int, hi: int, dtype):
    """The narrowest integer type that holds every code in [lo, hi]; `dtype` if none does."""
    for t in (np.int8, np.uint8, np.int16, np.uint16):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return dtype


def _exact_where_unsaturated(s2: np.ndarray, d_acc: np.ndarray, out_fmt, zero: np.ndarray | None) -> bool:
    """Whether PReLU's negative branch N = z*k + d may run in float32 although its products can
    exceed 2^24 units (s2: its shift per channel, d_acc: d in units of 2^-s2, zero: the output's
    zero points).

    The exact N is a multiple of 2^-s2, and float32 holds every such value below 2^(24 - s2).
    The output clip(floor(N) + zero, lo, hi) depends on N's exact value only where
    A = lo - zero < N < hi - zero = B; at or beyond A or B it is lo or hi whatever N is. If every
    channel has |A|, |B| (+1) and |d| below 2^(24 - s2), then wherever the exact N lies in (A, B),
    z*k (|z*k| <= |N| + |d|) and N are exact; and where the exact N <= A, the thresholds A - d and
    A are exact floats, so rounding, which is monotone, gives fl(z*k) <= A - d and then a float
    N <= A (B likewise). The branch chosen by max/min (see __call__) commutes with this monotone
    map, so the codes are the exact ones; tests/test_golden.py checks it against the int64 route
    on accumulators that sweep the saturation thresholds."""
    zero = np.zeros_like(s2) if zero is None else np.asarray(zero, dtype=np.int64).reshape(-1, 1)
    reach = np.maximum(np.abs(out_fmt.lo - zero), np.abs(out_fmt.hi - zero)) + 1
    return bool(np.all(reach + np.abs(d_acc) * np.ldexp(1.0, -s2) < np.ldexp(1.0, 24 - s2)))


class _Requant:
    """A layer's epilogue precomputed for exact float execution.

    The accumulator is produced already scaled: z = (acc + half) * 2^-s per channel (weights
    and bias carry the power of two, the bias the rounding half), so rs(acc, s) = floor(z).
    PReLU's negative branch rs(acc*slope, s + fs) is floor(z*k + d) with k = slope * 2^-fs and
    d = (half2 - half*slope) * 2^-(s+fs); it runs in float64 when its products need it.
    """

    def __init__(self, acc_frac: np.ndarray, act: QAct, out_fmt, out_frac: np.ndarray, acc_bound: int, dtype,
                 zero: np.ndarray | None = None) -> None:
        af = np.asarray(acc_frac, dtype=np.int64).reshape(-1, 1)
        target = act.lut_fmt.frac if act.kind == "tanh" else np.asarray(out_frac, dtype=np.int64).reshape(-1, 1)
        s = af - target
        half = np.where(s > 0, np.ldexp(1.0, np.maximum(s - 1, 0)), 0.0)
        self.dtype = dtype
        self.code_dtype = _code_dtype(out_fmt.lo, out_fmt.hi, dtype)   # the output frame's type
        self.scale = np.ldexp(1.0, -s)              # multiplies weights (per output row) and bias
        self.half = half
        self.pre_add = half                         # added to the accumulator before the shift
        self.indexes = False                        # tanh: z comes out as the table index
        self.act = act
        lo, hi = out_fmt.lo, out_fmt.hi
        if act.kind == "relu":
            lo = max(lo, 0)
        elif act.kind == "clip":
            lo = np.maximum(lo, act.lo.reshape(-1, 1)).astype(dtype)
            hi = np.minimum(hi, act.hi.reshape(-1, 1)).astype(dtype)
        elif act.kind == "tanh":
            # The table index is floor(z) - lo. Where every channel shifts right, -lo arrives
            # through the bias (-lo * 2^s in accumulator units), and since truncating a
            # non-negative float is floor, the float-to-int copy gives the index. Saturation:
            # where the certificate bounds the index to a few thousand entries either side, the
            # table is extended by its end values over all of them (no clip); else the index is
            # clipped to the table first (_indexes).
            lo, hi = act.lut_fmt.lo, act.lut_fmt.hi
            self.indexes = _folds_offset(act, s)
            self.extension = _tanh_extension(acc_bound, s.ravel(), act) if self.indexes else None
            below, above = self.extension or (0, 0)
            if self.indexes:
                self.pre_add = half + (below - lo) * np.ldexp(1.0, s)
            table = act.lut.astype(self.code_dtype)
            self.table = np.concatenate([np.full(below, table[0]), table, np.full(above, table[-1])]).astype(table.dtype)
            self.index_dtype = np.int16 if self.table.size <= 1 << 15 else np.int32  # gathers faster
        self.lo, self.hi = lo, hi
        # the zero point, added to the rounded code before the saturation (None: all 0)
        self.zero = None if zero is None or not np.any(zero) else np.asarray(zero, dtype=dtype).reshape(-1, 1)
        if act.kind == "prelu":
            slope = act.slope.reshape(-1, 1).astype(np.float64)
            s2 = s + act.slope_fmt.frac
            half2 = np.where(s2 > 0, np.ldexp(1.0, np.maximum(s2 - 1, 0)), 0.0)
            bound = (acc_bound + float(half.max())) * float(np.abs(slope).max()) + float(half2.max()) + \
                float(half.max()) * float(np.abs(slope).max())
            self.neg_dtype = exact_dtype(int(bound) + 1) or np.float64
            if dtype == np.float32 and self.neg_dtype != np.float32 and \
                    _exact_where_unsaturated(s2, half2 - half * slope, out_fmt, zero):
                self.neg_dtype = np.float32
            self.k = (slope * np.ldexp(1.0, -act.slope_fmt.frac)).astype(self.neg_dtype)
            self.d = ((half2 - half * slope) * np.ldexp(1.0, -s2)).astype(self.neg_dtype)
            # Rounding half up is monotone, so for slope <= 1 the branch PReLU takes is always the
            # larger of the two rounded values, and for slope >= 1 the smaller: no masks needed.
            self.steep = np.flatnonzero(act.slope > (1 << act.slope_fmt.frac)).tolist()

    def __call__(self, z: np.ndarray) -> np.ndarray:
        if self.act.kind == "prelu":
            # floor is monotone: max(floor a, floor b) = floor(max(a, b)), and likewise for min
            zn = z if self.neg_dtype == z.dtype else z.astype(self.neg_dtype)
            y = np.multiply(zn, self.k, out=_buffer("prelu", zn.shape, zn.dtype))
            y += self.d
            steep = [(c, np.minimum(y[c], zn[c])) for c in self.steep]  # slope > 1: the smaller branch
            np.maximum(y, zn, out=y)
            for c, row in steep:
                y[c] = row
            np.floor(y, out=y)
            if self.zero is not None:
                y += self.zero
            np.clip(y, self.lo, self.hi, out=y)
            return y if y.dtype == z.dtype else y.astype(z.dtype)
        if self.act.kind == "tanh":
            return np.take(self.table, self._indexes(z), mode="wrap", out=_buffer("lookup", z.shape, self.table.dtype))
        y = np.floor(z, out=z)
        if self.zero is not None:
            y += self.zero
        np.clip(y, self.lo, self.hi, out=y)
        return y

    def _indexes(self, z: np.ndarray) -> np.ndarray:
        """tanh: the table index of each accumulator (see __init__), every one in range, so that
        take's "wrap" mode skips the bounds checks of its default "raise". z is this chunk's own
        accumulator, free to overwrite."""
        idx = z if self.indexes else np.subtract(np.floor(z, out=z), self.lo, out=z)
        if self.extension is None:   # else every index is in the extended table already
            np.clip(idx, 0, self.table.size - 1, out=idx)  # saturation; then truncation is floor
        codes = _buffer("index", idx.shape, self.index_dtype)
        np.copyto(codes, idx, casting="unsafe")
        return codes

    def lookup_into(self, z: np.ndarray, dest: np.ndarray) -> None:
        """tanh's codes of z written straight into dest (z's shape, each dest[i] contiguous: the
        channel blocks of a blocked frame's rows), without a scratch copy in between."""
        codes = self._indexes(z)
        for i in range(dest.shape[0]):
            np.take(self.table, codes[i], mode="wrap", out=dest[i])


# ---------------------------------------------------------------------------------- layers
@singledispatch
def execute(layer: QLayer, *args: np.ndarray, engine: str = "numpy") -> np.ndarray:
    raise NotImplementedError(layer.kind)


@execute.register
def _(layer: QConv, x: np.ndarray, engine: str = "numpy", blocked_output: bool = False) -> np.ndarray:
    dtype, rq, w, b = _prepared(layer)
    if dtype is None:
        acc = _conv_int64(x.astype(np.int64), layer.weight, layer.pads, layer.pad_code) + layer.bias.reshape(-1, 1, 1)
        return epilogue(acc, layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac,
                        layer.out_zero).astype(np.float64)
    if _on_mlas(layer, engine):
        return _conv_mlas(layer, x, w, b, rq, blocked_output)
    gemm_owner = layer if engine != "numpy" and _mlas_available() else None
    return _conv_float(x, w, b, layer.pads, rq, layer.pad_code, layer.output, rq.code_dtype, gemm_owner)


_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # QConv -> _prepared(QConv)


def _prepared(layer: QConv) -> tuple:
    """(dtype, epilogue, w, b): the float type in which the conv is exact, its _Requant and its
    weights and bias scaled for it (all None where it runs in int64). Worked out once per layer
    (layers are frozen), not on every frame: 0.4 of ESPCN x2's 0.8 ms of fixed cost per frame."""
    prep = _PREPARED.get(layer)
    if prep is None:
        acc_bound = layer.cert["acc_bound"]
        dtype = exact_dtype(acc_bound + _half_max(layer.acc_frac, layer.act, layer.out_frac, acc_bound))
        prep = (None, None, None, None)
        if dtype is not None:
            rq = _Requant(layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac, acc_bound, dtype, layer.out_zero)
            w = (layer.weight * rq.scale.reshape(-1, 1, 1, 1)).astype(dtype)
            b = ((layer.bias.reshape(-1, 1) + rq.pre_add) * rq.scale).astype(dtype)
            prep = (dtype, rq, w, b)
        _PREPARED[layer] = prep
    return prep


def _half_max(acc_frac: np.ndarray, act: QAct, out_frac: np.ndarray, acc_bound: int) -> int:
    """The largest magnitude the epilogue adds to an accumulator before its shift: the rounding
    half, and for tanh the table offset -lo, plus the table's extension below (_tanh_extension),
    in accumulator units, so scaled up by the shift."""
    target = act.lut_fmt.frac if act.kind == "tanh" else np.asarray(out_frac)
    shifts = np.asarray(acc_frac) - target
    shift = int(np.max(shifts))
    offset = 0
    if _folds_offset(act, shifts):
        below = (_tanh_extension(acc_bound, shifts.ravel(), act) or (0, 0))[0]
        offset = (abs(act.lut_fmt.lo) + below) << shift
    return (1 << max(shift - 1, 0)) + offset


TANH_TABLE_MAX = 1 << 15   # entries of an extended tanh table (int16 indexes)


def _tanh_extension(acc_bound: int, shifts: np.ndarray, act: QAct) -> tuple[int, int] | None:
    """(below, above): the entries a tanh table needs before and after its own so that every
    index floor((acc + half) * 2^-s) - lo of an accumulator |acc| <= acc_bound lands inside it
    (they repeat its end values, which is the saturation). None where the extended table would
    exceed TANH_TABLE_MAX entries, or its offset would cost the float32 exactness that the plain
    table has (then the epilogue clips the index instead)."""
    lo, size = act.lut_fmt.lo, act.lut.size
    shifts = sorted(set(np.asarray(shifts).tolist()))   # a few distinct shifts among many channels
    halves = [(1 << (s - 1)) if s > 0 else 0 for s in shifts]
    first = min(((-acc_bound + h) >> s) - lo for s, h in zip(shifts, halves))
    last = max(((acc_bound + h) >> s) - lo for s, h in zip(shifts, halves))
    below, above = max(0, -first), max(0, last - (size - 1))
    if below + size + above > TANH_TABLE_MAX:
        return None
    shift, half = max(shifts), max(halves)
    plain = exact_dtype(acc_bound + half + (abs(lo) << shift))
    if exact_dtype(acc_bound + half + ((abs(lo) + below) << shift)) != plain:
        return None
    return below, above


def _folds_offset(act: QAct, shifts: np.ndarray) -> bool:
    """tanh's table offset rides on the bias when every channel shifts right (then an integer
    offset lies on the scaled accumulator's grid, and the exactness bound above covers it)."""
    return act.kind == "tanh" and int(np.min(shifts)) >= 0


def _elementwise(layer: QLayer, acc_bound: int, make_z, make_acc) -> np.ndarray:
    """Affine/Add: make_z(dtype, scale, pre_add) builds the scaled accumulator on exact floats;
    make_acc() the int64 accumulator when no float type is exact."""
    dtype = exact_dtype(acc_bound + _half_max(layer.acc_frac, layer.act, layer.out_frac, acc_bound))
    if dtype is None:
        return epilogue(make_acc(), layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac, layer.out_zero)
    rq = _Requant(layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac, acc_bound, dtype, layer.out_zero)
    z = make_z(dtype, rq.scale.reshape(-1, 1, 1), rq.pre_add.reshape(-1, 1, 1))
    # a copy (astype makes one): the PReLU and tanh epilogues return this thread's scratch
    # buffers (_buffer), and a layer's output must outlive the next layer's epilogue
    return rq(z.reshape(z.shape[0], -1)).reshape(z.shape).astype(rq.code_dtype)


@execute.register
def _(layer: QAffine, x: np.ndarray, engine: str = "numpy") -> np.ndarray:
    def make_z(dtype, scale, pre_add):
        z = x.astype(dtype) * (layer.scale.reshape(-1, 1, 1) * scale).astype(dtype)
        z += ((layer.bias.reshape(-1, 1, 1) + pre_add) * scale).astype(dtype)
        return z

    def make_acc():
        return x.astype(np.int64) * layer.scale.reshape(-1, 1, 1) + layer.bias.reshape(-1, 1, 1)

    return _elementwise(layer, layer.cert["acc_bound"], make_z, make_acc)


@execute.register
def _(layer: QAdd, a: np.ndarray, b: np.ndarray, engine: str = "numpy") -> np.ndarray:
    f = layer.acc_frac.reshape(-1, 1, 1)
    fa, fb = (v.reshape(-1, 1, 1) for v in layer.in_fracs)

    def make_z(dtype, scale, pre_add):
        z = a.astype(dtype) * (np.ldexp(1.0, f - fa) * scale).astype(dtype)
        z += b.astype(dtype) * (np.ldexp(1.0, f - fb) * scale).astype(dtype)
        z += (pre_add * scale).astype(dtype)
        return z

    def make_acc():
        return np.left_shift(a.astype(np.int64), f - fa) + np.left_shift(b.astype(np.int64), f - fb)

    return _elementwise(layer, layer.cert["acc_bound"], make_z, make_acc)


@execute.register
def _(layer: QDepthToSpace, x: np.ndarray, engine: str = "numpy") -> np.ndarray:
    c, h, w = x.shape
    r = layer.blocksize
    out = _frame_buffer(layer.output, (c // (r * r), h * r, w * r), x.dtype)
    # out[c, y*r + i, x*r + j] = x[(i*r + j)*C' + c, y, x] (DCR) or x[(c*r + i)*r + j, y, x] (CRD)
    blocks = x.reshape(r, r, -1, h, w).transpose(2, 3, 0, 4, 1) if layer.mode == "DCR" else \
        x.reshape(-1, r, r, h, w).transpose(0, 3, 1, 4, 2)
    out.reshape(-1, h, r, w, r)[...] = blocks
    return out


@execute.register
def _(layer: QCrop, x: np.ndarray, engine: str = "numpy") -> np.ndarray:
    h, w = x.shape[-2:]
    return x[:, : h - layer.bottom, : w - layer.right]
