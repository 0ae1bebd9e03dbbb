"""ONNX -> raw float IR.

Each handler takes the ONNX attributes as keyword arguments with the ONNX defaults, so its
signature is the operator spec; it returns an IR op or raises `_Reject` with what is wrong.
Every rejected node is collected, and one `UnsupportedModelError` lists them all.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np

from srhw import ir
from srhw.errors import ModelLoadError, NodeProblem, UnsupportedModelError
from srhw.frontend.qdq import has_qdq, read_qdq
from srhw.frontend.qonnx import QONNX_DOMAINS, has_qonnx_quant, to_qcdq

log = logging.getLogger(__name__)

OPSET_RANGE = (11, 20)
FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64"}
MAX_INITIALIZER_ELEMENTS = 2**27  # 134M values, three times EDSR's 43M parameters
MAX_DIMENSION = 65535  # a static input dimension; the kernels count rows and columns in 16 bits
MAX_MAGNITUDE = 1e9  # weights and constants of a model of 8-bit pixels lie far inside this
MIN_MAGNITUDE = 1e-30  # non-zero values below this (float32 subnormals) read as zero


class _Reject(Exception):
    pass


class _Ctx:
    """What a handler may look at: static values of initializers and Constant nodes."""

    def __init__(self, static: dict[str, np.ndarray]) -> None:
        self.static = static

    def value(self, name: str, what: str) -> np.ndarray:
        if name not in self.static:
            raise _Reject(f"{what} must be a constant (initializer or Constant node)")
        return self.static[name]


def _ints(v: Any, n: int, what: str) -> tuple[int, ...]:
    t = tuple(int(x) for x in v)
    if len(t) != n:
        raise _Reject(f"{what}={list(t)} must have {n} values (only 2-D images are supported)")
    return t


def _conv_pads(kernel: tuple[int, int], auto_pad: str, pads: Any) -> tuple[int, int, int, int]:
    """ONNX pads [t, l, b, r] for stride 1 and dilation 1, auto_pad resolved."""
    if auto_pad in ("NOTSET", ""):
        if pads is None:
            return (0, 0, 0, 0)
        p = _ints(pads, 4, "pads")
        if min(p) < 0:
            raise _Reject(f"pads={list(p)} must be >= 0")
        return p[0], p[1], p[2], p[3]
    if auto_pad == "VALID":
        return (0, 0, 0, 0)
    total = [k - 1 for k in kernel]
    if auto_pad == "SAME_UPPER":
        begin = [t // 2 for t in total]
    elif auto_pad == "SAME_LOWER":
        begin = [t - t // 2 for t in total]
    else:
        raise _Reject(f"auto_pad={auto_pad!r}; supported: NOTSET, VALID, SAME_UPPER, SAME_LOWER")
    return begin[0], begin[1], total[0] - begin[0], total[1] - begin[1]


def _kernel_of(ctx: _Ctx, node, kernel_shape: Any) -> tuple[int, int]:
    """The kernel's (KH, KW) from the constant weight, checked against kernel_shape and the bias."""
    w = ctx.static.get(node.input[1]) if len(node.input) > 1 else None
    if w is None or w.ndim != 4:
        raise _Reject("the weight must be a constant 4-D tensor (only 2-D convolutions are supported)")
    for i, what in ((1, "weight"), (2, "bias")):
        v = ctx.static.get(node.input[i]) if len(node.input) > i and node.input[i] else None
        if v is not None and v.dtype.kind != "f":
            raise _Reject(f"the {what} '{node.input[i]}' is {v.dtype}; supported: float (quantized models are "
                          f"imported from float weights)")
    if min(w.shape) < 1:
        raise _Reject(f"the weight '{node.input[1]}' has shape {list(w.shape)}; every dimension must be >= 1")
    if not np.any(w):
        raise _Reject(f"every weight of '{node.input[1]}' is zero, so the layer's output does not depend on its "
                      f"input; supported: a convolution with at least one non-zero weight")
    kernel = int(w.shape[2]), int(w.shape[3])
    if kernel_shape is not None and _ints(kernel_shape, 2, "kernel_shape") != kernel:
        raise _Reject(f"kernel_shape={list(kernel_shape)} but the weight '{node.input[1]}' is {kernel[0]}x{kernel[1]}")
    return kernel


def _check_pads(pads: tuple[int, int, int, int], kernel: tuple[int, int]) -> None:
    if any(p >= kernel[i % 2] for i, p in enumerate(pads)):
        raise _Reject(f"pads={list(pads)} with a {kernel[0]}x{kernel[1]} kernel; supported: each pad smaller than "
                      f"the kernel (a row of padding the kernel cannot reach holds only the bias)")


# ------------------------------------------------------------------------------ handlers
def Conv(ctx, node, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    kernel = _kernel_of(ctx, node, kernel_shape)
    problems = []
    if group != 1:
        problems.append(f"group={group}; only group=1 is supported")
    if dilations is not None and any(d != 1 for d in dilations):
        problems.append(f"dilations={list(dilations)}; only dilation 1 is supported")
    if strides is not None and any(s != 1 for s in strides):
        problems.append(f"strides={list(strides)}; only stride 1 is supported for Conv "
                        "(downsampling layers have no place in these SR networks)")
    if problems:
        raise _Reject("; ".join(problems))
    p = _conv_pads(kernel, auto_pad, pads)
    _check_pads(p, kernel)
    return ir.Conv(name=node.name, inputs=tuple(node.input), output=node.output[0], pads=p)


def ConvTranspose(ctx, node, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
                  output_padding=None, output_shape=None, pads=None, strides=None):
    kernel = _kernel_of(ctx, node, kernel_shape)
    problems = []
    if group != 1:
        problems.append(f"group={group}; only group=1 is supported")
    if dilations is not None and any(d != 1 for d in dilations):
        problems.append(f"dilations={list(dilations)}; only dilation 1 is supported")
    st = (1, 1) if strides is None else _ints(strides, 2, "strides")
    if st[0] != st[1] or st[0] not in (1, 2, 3, 4):
        problems.append(f"strides={list(st)}; supported: equal strides 1, 2, 3 or 4")
    if output_shape is not None:
        problems.append("output_shape is set; give pads and output_padding instead")
    if auto_pad not in ("NOTSET", ""):
        problems.append(f"auto_pad={auto_pad!r}; only explicit pads are supported for ConvTranspose")
    op = (0, 0) if output_padding is None else _ints(output_padding, 2, "output_padding")
    p = (0, 0, 0, 0) if pads is None else _ints(pads, 4, "pads")
    if problems:
        raise _Reject("; ".join(problems))
    if min(p) < 0 or min(op) < 0:
        raise _Reject(f"pads={list(p)}, output_padding={list(op)} must be >= 0")
    if max(op) >= st[0]:
        raise _Reject(f"output_padding={list(op)} with strides={list(st)}; the ONNX spec requires output_padding "
                      f"smaller than the stride")
    if max(p) > min(kernel) + st[0]:  # pads crop a ConvTranspose's output: a crop this deep is an error
        raise _Reject(f"pads={list(p)} with a {kernel[0]}x{kernel[1]} kernel and stride {st[0]}; supported: each pad "
                      f"at most the kernel size plus the stride")
    return ir.ConvTranspose(name=node.name, inputs=tuple(node.input), output=node.output[0],
                            strides=st, pads=(p[0], p[1], p[2], p[3]), output_padding=op)  # type: ignore[arg-type]


def DepthToSpace(ctx, node, *, blocksize, mode="DCR"):
    if mode not in ("DCR", "CRD"):
        raise _Reject(f"mode={mode!r}; supported: DCR, CRD")
    if not 1 <= int(blocksize) <= 8:
        raise _Reject(f"blocksize={blocksize}; supported: 1..8")
    return ir.DepthToSpace(name=node.name, inputs=(node.input[0],), output=node.output[0],
                           blocksize=int(blocksize), mode=mode)


def Relu(ctx, node):
    return ir.Relu(name=node.name, inputs=(node.input[0],), output=node.output[0])


def LeakyRelu(ctx, node, *, alpha=0.01):
    if not abs(alpha) <= MAX_MAGNITUDE:  # NaN fails this too
        raise _Reject(f"alpha={alpha}; supported: a finite slope")
    return ir.LeakyRelu(name=node.name, inputs=(node.input[0],), output=node.output[0], alpha=float(alpha))


def PRelu(ctx, node):
    return ir.PRelu(name=node.name, inputs=tuple(node.input[:2]), output=node.output[0])


def Tanh(ctx, node):
    return ir.Tanh(name=node.name, inputs=(node.input[0],), output=node.output[0])


def Clip(ctx, node, *, min=None, max=None):  # noqa: A002 - ONNX attribute names (opset < 11)
    lo, hi = (float("-inf") if min is None else float(min)), (float("inf") if max is None else float(max))
    if len(node.input) > 1 and node.input[1]:
        lo = float(ctx.value(node.input[1], "the min input").reshape(()))
    if len(node.input) > 2 and node.input[2]:
        hi = float(ctx.value(node.input[2], "the max input").reshape(()))
    return ir.Clip(name=node.name, inputs=(node.input[0],), output=node.output[0], lo=lo, hi=hi)


def _binary(kind: str) -> Callable:
    def handler(ctx, node):
        if len(node.input) != 2:  # Max and Min are variadic in ONNX
            raise _Reject(f"{len(node.input)} inputs; supported: two")
        return ir.Binary(name=node.name, inputs=tuple(node.input[:2]), output=node.output[0], kind=kind)

    handler.__name__ = kind
    return handler


def Abs(ctx, node):
    return ir.Abs(name=node.name, inputs=(node.input[0],), output=node.output[0])


def Neg(ctx, node):
    return ir.Neg(name=node.name, inputs=(node.input[0],), output=node.output[0])


def Identity(ctx, node):
    return ir.Identity(name=node.name, inputs=(node.input[0],), output=node.output[0])


def Dropout(ctx, node, *, seed=0, ratio=0.5):
    return ir.Identity(name=node.name, inputs=(node.input[0],), output=node.output[0])


def Cast(ctx, node, *, to, saturate=1, round_mode="up"):
    import onnx

    dtype = onnx.helper.tensor_dtype_to_np_dtype(to)
    return ir.Cast(name=node.name, inputs=(node.input[0],), output=node.output[0], to=np.dtype(dtype).name)


def Constant(ctx, node, *, value=None, value_float=None, value_floats=None, value_int=None, value_ints=None):
    return ir.Constant(name=node.name, inputs=(), output=node.output[0], value=ctx.static[node.output[0]])


def Shape(ctx, node, *, start=0, end=None):
    return ir.Shape(name=node.name, inputs=(node.input[0],), output=node.output[0], start=int(start),
                    end=None if end is None else int(end))


def Gather(ctx, node, *, axis=0):
    return ir.Gather(name=node.name, inputs=tuple(node.input[:2]), output=node.output[0], axis=int(axis))


def Concat(ctx, node, *, axis):
    return ir.Concat(name=node.name, inputs=tuple(node.input), output=node.output[0], axis=int(axis))


def Slice(ctx, node):
    return ir.Slice(name=node.name, inputs=tuple(node.input), output=node.output[0])


def Split(ctx, node, *, axis=0, split=None, num_outputs=None):
    """One SplitPart per output (the IR's ops have one output each)."""
    parts = len(node.output)
    return [ir.SplitPart(name=f"{node.name}/{k}" if parts > 1 else node.name, inputs=tuple(node.input[:2]),
                         output=out, axis=int(axis), index=k, parts=parts,
                         sizes=None if split is None else tuple(int(v) for v in split))
            for k, out in enumerate(node.output) if out]


def Pad(ctx, node, *, mode="constant", pads=None, value=None):
    if isinstance(mode, bytes):
        mode = mode.decode()
    if mode != "constant":
        raise _Reject(f"mode={mode}; supported: constant (zero) padding")
    return ir.Pad(name=node.name, inputs=tuple(node.input), output=node.output[0], mode=mode,
                  pads=None if pads is None else tuple(int(p) for p in pads))


def Reshape(ctx, node, *, allowzero=0):
    return ir.Reshape(name=node.name, inputs=tuple(node.input[:2]), output=node.output[0], allowzero=int(allowzero))


def Transpose(ctx, node, *, perm=None):
    if perm is None:
        raise _Reject("perm is missing; give the permutation explicitly")
    return ir.Transpose(name=node.name, inputs=(node.input[0],), output=node.output[0], perm=tuple(int(p) for p in perm))


def Squeeze(ctx, node, *, axes=None):
    if len(node.input) > 1 and node.input[1]:
        axes = ctx.value(node.input[1], "the axes input").tolist()
    return ir.Squeeze(name=node.name, inputs=(node.input[0],), output=node.output[0],
                      axes=None if axes is None else tuple(int(a) for a in axes))


def Unsqueeze(ctx, node, *, axes=None):
    if len(node.input) > 1 and node.input[1]:
        axes = ctx.value(node.input[1], "the axes input").tolist()
    if axes is None:
        raise _Reject("axes is missing")
    return ir.Unsqueeze(name=node.name, inputs=(node.input[0],), output=node.output[0], axes=tuple(int(a) for a in axes))


HANDLERS: dict[str, Callable] = {f.__name__: f for f in (
    Conv, ConvTranspose, DepthToSpace, Relu, LeakyRelu, PRelu, Tanh, Clip, Abs, Neg, Identity, Dropout, Cast,
    Constant, Shape, Gather, Concat, Slice, Split, Pad, Reshape, Transpose, Squeeze, Unsqueeze,
    _binary("Add"), _binary("Sub"), _binary("Mul"), _binary("Div"), _binary("Max"), _binary("Min"))}
SUPPORTED = ", ".join(sorted(HANDLERS))


# ------------------------------------------------------------------------------ loading
def load_onnx(path: str | Path):
    """Reads an ONNX file; any decoding failure becomes a `ModelLoadError` naming the file."""
    import onnx
    from google.protobuf.message import DecodeError

    p = Path(path)
    if p.is_dir():
        raise ModelLoadError(f"{p}: a directory, not an ONNX model file")
    if p.exists() and not p.is_file():
        raise ModelLoadError(f"{p}: not a regular file (a device or a pipe); give an ONNX model file")
    if not p.is_file():
        raise ModelLoadError(f"{p}: no such model file")
    try:
        model = onnx.load(str(p))  # reads external weight files beside the model too
    except (DecodeError, ValueError, RuntimeError, UnicodeDecodeError, OSError, onnx.checker.ValidationError) as e:
        raise ModelLoadError(f"{p}: not a readable ONNX model ({type(e).__name__}: {str(e)[:120]})") from None
    if not model.graph.node or not model.graph.output:
        raise ModelLoadError(f"{p}: not a readable ONNX model (no graph nodes or outputs; truncated file?)")
    return model


def _attrs(node) -> dict[str, Any]:
    import onnx

    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, onnx.TensorProto):
            v = onnx.numpy_helper.to_array(v)
        out[a.name] = v
    return out


def _check_attr_types(node, opset: int) -> None:
    """Every attribute has the type the operator's ONNX schema gives it, and floats are finite."""
    import onnx

    try:
        schema = onnx.defs.get_schema(node.op_type, opset, node.domain or "")
    except onnx.defs.SchemaError:
        return
    for a in node.attribute:
        want = schema.attributes.get(a.name)
        if want is not None and int(want.type) != int(a.type):
            raise _Reject(f"attribute {a.name} is {onnx.AttributeProto.AttributeType.Name(a.type)}; the ONNX "
                          f"spec of {node.op_type} gives it type {want.type.name}")
        if a.type in (onnx.AttributeProto.FLOAT, onnx.AttributeProto.FLOATS):
            v = onnx.helper.get_attribute_value(a)
            if not np.all(np.isfinite(v)):
                raise _Reject(f"attribute {a.name}={v} is not finite")


def _to_numpy(tensor) -> np.ndarray:
    """An initializer as an array (floats as float64), its shape and data checked first."""
    import onnx

    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise _Reject(f"shape {dims} has a negative dimension")
    n = int(np.prod(dims, dtype=object))
    if n > MAX_INITIALIZER_ELEMENTS:
        raise _Reject(f"shape {dims} holds {n} values; supported: at most {MAX_INITIALIZER_ELEMENTS}")
    try:
        arr = onnx.numpy_helper.to_array(tensor)
    except (ValueError, TypeError) as e:
        raise _Reject(f"its data does not fit its shape {dims} ({str(e)[:80]})") from None
    if arr.dtype.kind != "f":
        return arr
    with np.errstate(all="ignore"):
        arr = arr.astype(np.float64)
        mag = np.abs(arr[np.isfinite(arr)])
    if mag.size and mag.max() > MAX_MAGNITUDE:
        raise _Reject(f"holds values up to {mag.max():.3g}; supported: magnitudes up to {MAX_MAGNITUDE:g}")
    tiny = (arr != 0) & (np.abs(arr) < MIN_MAGNITUDE)
    if tiny.any():  # float32 subnormals and the like: no quantizer step is that fine
        log.info("initializer '%s': %d non-zero value(s) below %g in magnitude read as 0", tensor.name,
                    int(tiny.sum()), MIN_MAGNITUDE)
        arr = np.where(tiny, 0.0, arr)
    return arr


def _dims(vi) -> tuple[int | str, ...]:
    t = vi.type.tensor_type
    return tuple(d.dim_param if d.HasField("dim_param") or not d.HasField("dim_value") else int(d.dim_value)
                 for d in t.shape.dim)


# Ops of models that are quantized already in forms srhw does not read: the QOperator form and
# QONNX/FINN's ops other than Quant (QuantizeLinear/DequantizeLinear pairs are read by
# srhw.frontend.qdq, QONNX's Quant by srhw.frontend.qonnx)
QUANTIZATION_OPS = {"QLinearConv", "QLinearMatMul", "QLinearAdd", "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"}


def _quantization_problem(g) -> NodeProblem | None:
    """One problem for a model quantized in a form srhw does not read, naming its quantizer nodes
    and the way on."""
    nodes = [n for n in g.node if (n.domain in ("", "ai.onnx") and n.op_type in QUANTIZATION_OPS)
             or n.domain in QONNX_DOMAINS]
    if not nodes:
        return None
    ops = sorted({n.op_type for n in nodes})
    qonnx = any(n.domain in QONNX_DOMAINS for n in nodes)
    form = ("QONNX quantizer" if qonnx else "quantized operator") + ("s" if len(nodes) > 1 else "")
    shown = ", ".join(repr(n.name) for n in nodes[:3]) + (f" and {len(nodes) - 3} more" if len(nodes) > 3 else "")
    return NodeProblem(nodes[0].name, "/".join(ops),
                       f"the model is quantized already ({len(nodes)} {form}: {shown}); srhw reads float models "
                       "(and quantizes them itself, --bits N) and quantized models in QDQ form "
                       "(QuantizeLinear/DequantizeLinear pairs: quantize_static with QuantFormat.QDQ) or with "
                       "QONNX Quant nodes (Brevitas's export_qonnx): give it one of those")


def import_onnx(model_or_path) -> ir.Graph:
    """ONNX ModelProto or path -> raw IR `Graph`. Raises one error listing every problem."""
    if isinstance(model_or_path, (str, Path)):
        model = load_onnx(model_or_path)
    else:  # names are normalised in place below: never touch the caller's proto
        import onnx

        model = onnx.ModelProto()
        model.CopyFrom(model_or_path)
    g = model.graph
    problems: list[NodeProblem] = []

    import onnx

    if not 3 <= model.ir_version <= onnx.IR_VERSION:
        problems.append(NodeProblem("<model>", "ir_version", f"IR version {model.ir_version}; supported: "
                                    f"3..{onnx.IR_VERSION}"))
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    version = opsets.get("ai.onnx")
    if version is None or not OPSET_RANGE[0] <= version <= OPSET_RANGE[1]:
        problems.append(NodeProblem("<model>", "opset_import", f"default-domain opset {version}; supported: "
                                    f"{OPSET_RANGE[0]}..{OPSET_RANGE[1]}"))

    static: dict[str, np.ndarray] = {}
    for t in g.initializer:
        try:
            static[t.name] = _to_numpy(t)
        except _Reject as e:
            users = [n.name or n.op_type for n in g.node if t.name in n.input]
            problems.append(NodeProblem(users[0] if users else t.name, "initializer", f"'{t.name}' {e}"))
    nodes: list[ir.Op] = [ir.Constant(name=t.name, inputs=(), output=t.name, value=static[t.name])
                          for t in g.initializer if t.name in static]
    names: set[str] = set()
    for idx, node in enumerate(g.node):
        if not node.name or node.name in names:
            node.name = f"{node.op_type}_{idx}" if not node.name else f"{node.name}_{idx}"
        names.add(node.name)
        if node.op_type == "Constant":
            a = _attrs(node)
            val = a.get("value", a.get("value_float", a.get("value_floats", a.get("value_int", a.get("value_ints")))))
            if val is None:
                problems.append(NodeProblem(node.name, "Constant", f"attributes {sorted(a)}; supported: value, "
                                            "value_float(s), value_int(s)"))
                continue
            arr = np.asarray(val)
            static[node.output[0]] = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
        elif node.op_type == "Identity" and node.input and node.input[0] in static:
            # the TorchScript exporter writes one initializer for identical weights (two layers
            # initialised alike) and gives the other layer an Identity of it
            static[node.output[0]] = static[node.input[0]]

    for name, arr in static.items():
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            users = [n.name for n in g.node if name in n.input] or [name]
            bad = int(np.size(arr) - np.isfinite(arr).sum())
            problems.append(NodeProblem(users[0], "initializer", f"'{name}' holds {bad} NaN/Inf value(s); "
                                        "weights must be finite"))

    if has_qonnx_quant(model):  # QONNX Quant nodes as the QCDQ chains they compute (srhw.frontend.qonnx)
        if problems:
            raise UnsupportedModelError(problems)
        model, added, qonnx_problems = to_qcdq(model, static)
        if qonnx_problems:
            raise UnsupportedModelError(qonnx_problems)
        static |= added
        g = model.graph
    grids = None
    if has_qdq(model):  # quantizer pairs out, their grids kept (srhw.frontend.qdq)
        if problems:  # an initializer it would read is damaged
            raise UnsupportedModelError(problems)
        model, grids, qdq_problems = read_qdq(model, static)
        if qdq_problems:
            raise UnsupportedModelError(qdq_problems)
        g = model.graph
        static = {k: v for k, v in static.items() if k not in grids.weights}
        for t in g.initializer:
            if t.name in grids.weights:
                static[t.name] = _to_numpy(t)
        nodes = [ir.Constant(name=t.name, inputs=(), output=t.name, value=static[t.name],
                             grid=grids.weights.get(t.name)) for t in g.initializer if t.name in static]
    quantized = _quantization_problem(g)
    if quantized is not None:  # every other problem would follow from it (integer weights, say)
        raise UnsupportedModelError([quantized])

    ctx = _Ctx(static)
    unknown_op = False
    for node in g.node:
        if node.domain not in ("", "ai.onnx"):
            problems.append(NodeProblem(node.name, f"{node.domain}:{node.op_type}", "custom-domain op"))
            unknown_op = True
            continue
        handler = HANDLERS.get(node.op_type)
        if handler is None:
            problems.append(NodeProblem(node.name, node.op_type, "op not supported"))
            unknown_op = True
            continue
        try:
            _check_attr_types(node, version or OPSET_RANGE[1])
            if grids is not None and node.op_type == "Identity" and node.output[0] in grids.activations:
                nodes.append(ir.Quantize(name=node.name, inputs=(node.input[0],), output=node.output[0],
                                         grid=grids.activations[node.output[0]]))
                continue
            made = handler(ctx, node, **_attrs(node))
            nodes.extend(made if isinstance(made, list) else [made])
        except _Reject as e:
            problems.append(NodeProblem(node.name, node.op_type, str(e)))
        except TypeError as e:  # an attribute the handler's signature does not know
            problems.append(NodeProblem(node.name, node.op_type, f"unexpected attribute ({e})"))

    init_names = set(static)
    data_inputs = [vi for vi in g.input if vi.name not in init_names]
    if len(data_inputs) != 1:
        problems.append(NodeProblem("<graph>", "input", f"{len(data_inputs)} data inputs "
                                    f"{[v.name for v in data_inputs]}; supported: exactly one image input"))
    if len(g.output) != 1:
        problems.append(NodeProblem("<graph>", "output", f"{len(g.output)} outputs; supported: exactly one"))
    inputs = tuple(ir.TensorInfo(vi.name, _dims(vi)) for vi in data_inputs)
    for vi in data_inputs:
        elem = vi.type.tensor_type.elem_type
        if elem not in FLOAT_TYPES:
            problems.append(NodeProblem("<graph>", "input", f"'{vi.name}' has element type {elem}; supported: float"))
        if any(isinstance(d, int) and not 1 <= d <= MAX_DIMENSION for d in _dims(vi)):
            problems.append(NodeProblem("<graph>", "input", f"'{vi.name}' has shape {list(_dims(vi))}; every "
                                        f"dimension must be 1..{MAX_DIMENSION} (the hardware's 16-bit frame "
                                        f"counters) or symbolic"))
        if len(_dims(vi)) != 4:
            problems.append(NodeProblem("<graph>", "input", f"'{vi.name}' has rank {len(_dims(vi))} "
                                        f"(shape {list(_dims(vi))}); supported: rank 4, NCHW or NHWC with batch 1"))
        elif _dims(vi)[0] not in (1,) and not isinstance(_dims(vi)[0], str):
            problems.append(NodeProblem("<graph>", "input", f"'{vi.name}' has batch {_dims(vi)[0]}; supported: 1"))
    if problems:
        raise UnsupportedModelError(problems, SUPPORTED if unknown_op else None)
    outputs = tuple(ir.TensorInfo(vi.name, _dims(vi)) for vi in g.output)
    graph = ir.Graph(nodes=tuple(nodes), inputs=inputs, outputs=outputs, name=g.name or "model")
    try:
        ir.check(graph)
    except RuntimeError as e:
        raise UnsupportedModelError([NodeProblem("<graph>", "graph", str(e).removeprefix("IR check: "))]) from None
    return ir.prune(graph)
