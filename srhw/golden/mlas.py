"""The MLAS engine: the golden model's float32 convolutions on onnxruntime's kernels.

A float32 Conv on the exact codes, row chunk by row chunk, in one-node single-threaded
sessions (MLAS convolves by GEMM or by direct NCHWc kernels, never by Winograd or FFT, so
every product and partial sum is one of the exact integers of srhw.golden.requant); the GEMMs
of the narrow convs on MLAS's SGEMM; and, between two MLAS convs whose epilogue treats every
channel alike, the activations kept in MLAS's blocked NCHWc layout (onnxruntime's own
optimizer output with its reorders cut out).
"""
from __future__ import annotations

import os
import weakref

import numpy as np

from srhw.fixed import conv_out_size, epilogue_shift
from srhw.float_exec import check_frame_size
from srhw.golden.buffers import buffer, frame_buffer
from srhw.golden.kernels import halo_rows
from srhw.golden.requant import folds_offset, prepared
from srhw.golden.threads import for_row_chunks
from srhw.qir import NoAct, QConv, QGraph, QLayer, ReluAct, TanhAct

MLAS_MIN_OUTPUTS = 16  # engine="auto": MLAS for convs with at least this many output channels

_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # QConv -> {layout: its MLAS session}


def available() -> bool:
    """Whether onnxruntime (and with it MLAS) is installed."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def conv(layer: QConv, x: np.ndarray, w: np.ndarray, b: np.ndarray, finish,
         blocked_output: bool = False) -> np.ndarray:
    """srhw.golden.kernels.conv's contract on onnxruntime's MLAS kernels. Each row chunk copies
    its input rows (with the kh - 1 halo rows and the padding) into one buffer, runs an unpadded float32
    Conv on it in a single-threaded session that writes into this thread's scratch buffer, and
    applies `finish` while the result is in cache.

    x is [Cin, H, W], or [Cin/B, H, W, B] when its producer left it in MLAS's blocked NCHWc
    layout (see blocked_values); `blocked_output` asks for the output in that layout too, which
    saves MLAS reordering it out and the next conv reordering it back in."""
    blocked_input = x.ndim == 4
    cin, h, wd = (x.shape[0] * x.shape[3], x.shape[1], x.shape[2]) if blocked_input else x.shape
    cout, _, kh, kw = w.shape
    t, l, bo, r = layer.pads
    wp = wd + l + r
    oh, ow = conv_out_size(h, wd, kh, kw, layer.pads)
    check_frame_size(h, wd, oh, ow)
    block = nchwc_block()
    blocked_output = blocked_output and block is not None and cout % block == 0
    session = _layout_session(layer, w, b, blocked_input, blocked_output) or \
        _layout_session(layer, w, b, blocked_input, False)
    if session is None:   # onnxruntime did not rewrite this conv into the blocked kernels
        x, blocked_input = unblocked(x), False
        session = _layout_session(layer, w, b, False, blocked_output) or _layout_session(layer, w, b, False, False)
    blocked_output = blocked_output and session is _layout_session(layer, w, b, blocked_input, True)
    fill = layer.pad.astype(np.float32)
    fill = fill.reshape(-1, 1, 1, block) if blocked_input else fill.reshape(cin, 1, 1)
    shape = (cout // block, oh, ow, block) if blocked_output else (cout, oh, ow)
    out = frame_buffer(layer.output, shape, finish.code_dtype)

    def chunk(r0: int, r1: int) -> None:
        buf = halo_rows(x, fill, r0, r1, kh, t, l, r, dtype=np.float32)
        z = buffer("z", (shape[0], r1 - r0, ow) + shape[3:], np.float32)
        io = session.io_binding()
        io.bind_cpu_input("x", buf.reshape(1, cin, -1, wp))
        io.bind_output("z", "cpu", 0, np.float32, [1, cout, r1 - r0, ow], z.ctypes.data)
        session.run_with_iobinding(io)
        if blocked_output and isinstance(finish.act, TanhAct):   # a few blocks: the lookups write the frame
            finish.lookup_into(z, out[:, r0:r1])
        else:
            out[:, r0:r1] = finish(z.reshape(shape[0], -1) if not blocked_output else z).reshape(z.shape)

    for_row_chunks(oh, wp, chunk)
    return out


def gemm(owner: QConv, role: str, a: np.ndarray):
    """mm(b, out): out = a @ b for the constant matrix a, on MLAS's SGEMM in a one-node MatMul
    session that `owner` keeps (float32, b and out contiguous), else on NumPy's BLAS. On this
    kind of machine MLAS multiplies the narrow matrices of the small convs 1.3-2x faster than
    OpenBLAS (docs/golden.md); both sum exact integers, so the codes are the same."""
    a = np.ascontiguousarray(a)
    session = None
    if a.dtype == np.float32:
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


def nchwc_block() -> int | None:
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


def on_mlas(layer: QLayer, engine: str) -> bool:
    """Whether srhw.golden.engine.execute runs this layer's multiplications on MLAS (in float32)."""
    if not isinstance(layer, QConv) or engine == "numpy":
        return False
    if prepared(layer)[0] != np.float32:
        return False
    return engine == "mlas" or layer.weight.shape[0] >= MLAS_MIN_OUTPUTS


def uniform_epilogue(layer: QConv) -> bool:
    """An epilogue that treats every channel alike after the scaling folded into the weights
    (tanh with its offset on the bias; ReLU or none, symmetric codes): it runs on any layout."""
    act = layer.act
    if layer.out_zero is not None and np.any(layer.out_zero):
        return False
    if isinstance(act, TanhAct):
        return folds_offset(act, epilogue_shift(np.asarray(layer.acc_frac), act, layer.out_frac))
    return isinstance(act, (NoAct, ReluAct))


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # QGraph -> {engine: blocked values}


def blocked_values(g: QGraph, engine: str) -> frozenset[str]:
    """The values that stay in MLAS's blocked layout between two convs: produced by an MLAS conv
    whose channels fill whole blocks and whose epilogue is channel-uniform, read only by MLAS
    convs, and not the graph's output."""
    plans = _PLANS.setdefault(g, {})
    if engine not in plans:
        block = nchwc_block() if engine != "numpy" and any(on_mlas(l, engine) for l in g.layers) else None
        readers: dict[str, list[QLayer]] = {}
        for layer in g.layers:
            for name in layer.inputs:
                readers.setdefault(name, []).append(layer)
        plans[engine] = frozenset(
            layer.output for layer in g.layers
            if block and on_mlas(layer, engine) and layer.weight.shape[0] % block == 0 and uniform_epilogue(layer)
            and layer.output != g.output and readers.get(layer.output)
            and all(on_mlas(c, engine) for c in readers[layer.output]))
    return plans[engine]


def unblocked(v: np.ndarray) -> np.ndarray:
    """[C/B, H, W, B] (blocked) -> [C, H, W]; anything else as it is."""
    return v.transpose(0, 3, 1, 2).reshape(-1, *v.shape[1:3]) if v.ndim == 4 else v

