"""QONNX quantizers -> the QCDQ form srhw.frontend.qdq reads.

FINN and hls4ml take QONNX, and Brevitas writes it (`export_qonnx`): a float graph in which a
`Quant` node (domain qonnx.custom_op.general; `IntQuant` in newer qonnx) rounds a tensor to an
integer grid of any width and returns its real value:

    q = round_half_even(clip(x / scale + zeropt, min_int, max_int))       (rounding_mode ROUND)
    y = (q - zeropt) * scale

min_int/max_int follow from `bitwidth`, `signed` and `narrow` (narrow drops the most negative
code, or the largest unsigned one). That is a QuantizeLinear -> Clip -> DequantizeLinear chain
(QCDQ) on the same scale and zero point, with two differences this module takes care of:

- QONNX rounds x / scale + zeropt, QuantizeLinear rounds x / scale and adds the zero point. The
  two agree wherever the zero point is even (a tie stays a tie of the same parity); an odd zero
  point on an activation is refused. On a constant (weights, biases) the codes are computed here,
  the way qonnx computes them (float32 division), so any zero point is exact.
- Any width from 2 to 16 bits: the codes travel in 8-bit containers up to 8 bits and in 16-bit
  ones above, the Clip narrowing them to the grid's range (so a 4-bit weight is a 4-bit weight in
  hardware). Constants wider than 16 bits (an int32 bias) become integer initializers read through
  a DequantizeLinear, as onnxruntime writes them.

`to_qcdq` rewrites every Quant node so; other QONNX ops (BipolarQuant, Trunc, MultiThreshold,
FloatQuant) and rounding modes other than ROUND stay, for the importer to refuse by node.
"""
from __future__ import annotations

import numpy as np

from srhw.errors import NodeProblem

QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general")
QUANT_OPS = ("Quant", "IntQuant")


def is_quant(node) -> bool:
    return node.domain in QONNX_DOMAINS and node.op_type in QUANT_OPS


def has_qonnx_quant(model) -> bool:
    return any(is_quant(n) for n in model.graph.node)


def code_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """The codes of a QONNX grid (qonnx's min_int / max_int)."""
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def to_qcdq(model, static: dict[str, np.ndarray]) -> tuple[object, dict[str, np.ndarray], list[NodeProblem]]:
    """(the model with every Quant node as QuantizeLinear -> Clip -> DequantizeLinear, the
    constants it added (for the importer's table of constants), problems). `model` is not
    changed; with problems, the returned model is not to be used."""
    import onnx
    from onnx import helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    added: dict[str, np.ndarray] = {}
    problems: list[NodeProblem] = []
    nodes = []

    def const(name: str, value: np.ndarray) -> str:
        g.initializer.append(numpy_helper.from_array(value, name))
        added[name] = value
        return name

    for n in g.node:
        if not is_quant(n):
            nodes.append(n)
            continue
        name = n.name or f"{n.op_type}_{n.output[0]}"
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}

        def refuse(detail: str) -> None:
            problems.append(NodeProblem(name, n.op_type, detail))

        if len(n.input) != 4 or len(n.output) != 1 or not all(n.input):
            refuse("it needs four inputs (x, scale, zeropt, bitwidth) and one output")
            continue
        missing = [i for i in n.input[1:] if i not in static]
        if missing:
            refuse(f"its scale, zero point and bit width must be constants; '{missing[0]}' is computed")
            continue
        mode = a.get("rounding_mode", b"ROUND")
        mode = (mode.decode() if isinstance(mode, bytes) else str(mode)).upper()
        if mode not in ("ROUND", "HALF_EVEN"):
            refuse(f"rounding_mode={mode}; supported: ROUND (half to even, as QuantizeLinear)")
            continue
        bits_v = np.asarray(static[n.input[3]], dtype=np.float64).reshape(-1)
        if bits_v.size != 1 or bits_v[0] != np.round(bits_v[0]) or not 2 <= bits_v[0] <= 32:
            refuse(f"bitwidth {bits_v.tolist()}; supported: one whole number of bits from 2 to 32 (1-bit "
                   "quantizers are bipolar, which super-resolution networks do not use)")
            continue
        bits = int(bits_v[0])
        signed, narrow = bool(a.get("signed", 1)), bool(a.get("narrow", 0))
        lo, hi = code_range(bits, signed, narrow)
        scale = np.asarray(static[n.input[1]], dtype=np.float32)
        zero = np.asarray(static[n.input[2]], dtype=np.float64)
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            refuse(f"its scale '{n.input[1]}' holds {scale.reshape(-1)[:4].tolist()}; every scale must be "
                   "positive and finite")
            continue
        if not np.all(zero == np.round(zero)) or np.any(zero < lo) or np.any(zero > hi):
            refuse(f"its zero point {zero.reshape(-1)[:4].tolist()} is not a whole number in {lo}..{hi}")
            continue
        x, y = n.input[0], n.output[0]
        axis, scale1, zero1 = _per_axis(scale, zero, np.ndim(static[x]) if x in static else 4)
        if axis == -1:
            refuse(f"its scale has shape {list(scale.shape)}; supported: one scale, or one per channel of "
                   "one axis")
            continue
        kw = {} if axis is None else {"axis": axis}
        if x in static:                                   # a constant: the codes, as qonnx computes them
            value = np.asarray(static[x], dtype=np.float32)
            q = np.round(np.clip(value / scale + zero.astype(np.float32), lo, hi)).astype(np.int64)
            if bits > 16:  # an int32 bias: integer codes through a DequantizeLinear
                codes = const(f"{y}_codes", q.astype(np.int32))
                zp = const(f"{y}_zero", zero1.astype(np.int32))
                nodes.append(helper.make_node("DequantizeLinear", [codes, const(f"{y}_scale", scale1), zp], [y],
                                              name=name, **kw))
                continue
            x = const(f"{y}_float", (q - zero.astype(np.int64)).astype(np.float32) * scale)
        elif np.any(zero % 2):
            refuse(f"an odd zero point ({zero.reshape(-1)[:4].tolist()}) on an activation: QONNX rounds x / scale "
                   "+ zero point and QuantizeLinear rounds x / scale, which differ at ties when the zero point is "
                   "odd; supported: even zero points (Brevitas's default is 0)")
            continue
        np_type = (np.int8 if signed else np.uint8) if bits <= 8 else (np.int16 if signed else np.uint16)
        s, zp = const(f"{y}_scale", scale1), const(f"{y}_zero", zero1.astype(np_type))
        nodes += [helper.make_node("QuantizeLinear", [x, s, zp], [f"{y}_q"], name=f"{name}_quantize", **kw),
                  helper.make_node("Clip", [f"{y}_q", const(f"{y}_lo", np.array(lo, np_type)),
                                            const(f"{y}_hi", np.array(hi, np_type))], [f"{y}_c"], name=f"{name}_clip"),
                  helper.make_node("DequantizeLinear", [f"{y}_c", s, zp], [y], name=name, **kw)]
    del g.node[:]
    g.node.extend(nodes)
    return out, added, problems


def _per_axis(scale: np.ndarray, zero: np.ndarray, rank: int) -> tuple[int | None, np.ndarray, np.ndarray]:
    """(axis or None, scale, zero point) as QuantizeLinear takes them: scalars for one grid, 1-D
    along the one axis of more than one value of the quantized tensor (rank `rank`: QONNX
    broadcasts them, [C, 1, 1, 1] or [1, C, 1, 1] against NCHW); axis -1 where neither fits."""
    shape = np.broadcast_shapes(scale.shape, zero.shape)
    if int(np.prod(shape, dtype=np.int64)) == 1:
        return None, scale.reshape(()), zero.reshape(())
    wide = [k for k, d in enumerate(shape) if d > 1]
    if len(wide) != 1:
        return -1, scale, zero
    axis = wide[0] + rank - len(shape)  # numpy broadcasting aligns the last axes
    flat = [np.broadcast_to(v, shape).reshape(-1) for v in (scale, zero)]
    return axis, flat[0].astype(np.float32), flat[1]
