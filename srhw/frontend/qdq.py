"""Quantized ONNX models in QDQ form -> the float model and the integer grids it computes on.

onnxruntime's quantize_static (QDQ format), PyTorch's PT2E flow and QCDQ exporters (Brevitas)
write a quantized network as a float graph in which every quantized value passes through a
QuantizeLinear/DequantizeLinear pair (ONNX operator semantics):

    q  = saturate(round_half_even(x / scale) + zero_point)        QuantizeLinear
    x' = (q - zero_point) * scale                                  DequantizeLinear

QCDQ puts a Clip between the two (narrower codes than the integer type's). Weights and biases
are integer initializers read through a DequantizeLinear (onnxruntime), or float initializers
through a whole pair (PT2E).

`read_qdq` takes the quantizers out and says what they were: every DequantizeLinear of a
constant becomes the float constant it computes (its `Grid` kept under that constant's name),
and every pair on an activation becomes an Identity of the pair's input (its grid kept under
the Identity's output, the pair's: the importer makes it an ir.Quantize op). What remains is a float ONNX model the
importer reads like any other; `Grids` is what the quantizer must honour. Any other use of a
quantizer (a QuantizeLinear whose codes leave the pair, a DequantizeLinear of a computed integer
tensor, block quantization, float8) is refused naming the node.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from srhw.errors import NodeProblem
from srhw.ir import Grid

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
# ONNX integer element types a grid may use: (numpy dtype, lo, hi)
CODE_TYPES = {2: ("uint8", 0, 255), 3: ("int8", -128, 127), 4: ("uint16", 0, 65535), 5: ("int16", -32768, 32767),
              6: ("int32", -(1 << 31), (1 << 31) - 1)}


@dataclass(frozen=True)
class Grids:
    """What a QDQ model's quantizers said: activation grids by the output of the pair (the
    rounded tensor as the network reads it), weight grids by the float constant that holds the
    dequantized values."""

    activations: dict[str, Grid] = field(default_factory=dict)
    weights: dict[str, Grid] = field(default_factory=dict)


class _Reject(Exception):
    def __init__(self, node, detail: str) -> None:
        super().__init__(detail)
        self.problem = NodeProblem(node.name or node.op_type, node.op_type, detail)


def has_qdq(model) -> bool:
    return any(n.op_type in QDQ_OPS and n.domain in ("", "ai.onnx") for n in model.graph.node)


def read_qdq(model, static: dict[str, np.ndarray]) -> tuple[object, Grids, list[NodeProblem]]:
    """(the float model, its grids, problems). `static`: the values of the model's initializers
    and Constant nodes, as the importer decoded and checked them. `model` is not changed; with
    problems, the returned model is not to be used."""
    import onnx
    from onnx import helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    elem: dict[str, int] = {t.name: t.data_type for t in g.initializer}  # ONNX element types
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            elem[n.output[0]] = n.attribute[0].t.data_type
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    graph_outputs = {o.name for o in g.output}

    problems: list[NodeProblem] = []
    grids = Grids()
    rounded: dict[str, Grid] = {}      # tensor -> the grid a pair rounds it to
    replace: dict[int, list] = {}      # index of a node -> the nodes that take its place ([] removes it)
    new_inits = []
    index = {id(n): k for k, n in enumerate(g.node)}

    def param(node, k: int, what: str) -> np.ndarray | None:
        if len(node.input) <= k or not node.input[k]:
            return None
        if node.input[k] not in static:
            raise _Reject(node, f"its {what} '{node.input[k]}' must be a constant (initializer or Constant node)")
        return static[node.input[k]]

    def grid_of(node, code_type: int | None) -> Grid:
        """The grid a QuantizeLinear/DequantizeLinear node describes (inputs: x, scale, zero point)."""
        a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
        if a.get("block_size"):
            raise _Reject(node, f"block_size={a['block_size']} (blocked quantization); supported: per-tensor and "
                          "per-channel grids")
        scale = param(node, 1, "scale")
        zero = param(node, 2, "zero point")
        if scale is None:
            raise _Reject(node, "it has no scale")
        ztype = elem.get(node.input[2]) if zero is not None else a.get("output_dtype") or code_type or 2
        if ztype not in CODE_TYPES:
            raise _Reject(node, f"its codes are ONNX element type {ztype}; supported: int8, uint8, int16, uint16 "
                          "(and int32 for biases)")
        _, lo, hi = CODE_TYPES[ztype]
        scale = np.asarray(scale, dtype=np.float64)
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise _Reject(node, f"its scale '{node.input[1]}' holds {scale.reshape(-1)[:4].tolist()}; every scale "
                          "must be positive and finite")
        zero = np.zeros(scale.shape, dtype=np.int64) if zero is None else np.asarray(zero, dtype=np.int64)
        if scale.size == 1 and zero.size == 1:  # [1] and [] alike: one grid for the tensor
            scale, zero = scale.reshape(()), zero.reshape(())
        if zero.shape != scale.shape:
            raise _Reject(node, f"its zero point has shape {list(zero.shape)} and its scale {list(scale.shape)}; "
                          "they must agree")
        if scale.ndim > 1:
            raise _Reject(node, f"its scale has shape {list(scale.shape)}; supported: a scalar or one per channel")
        return Grid(scale, zero, lo, hi, int(a.get("axis", 1)) if scale.ndim == 1 else None, node.name)

    def same(a: Grid, b: Grid) -> bool:
        return a.scale.shape == b.scale.shape and np.array_equal(a.scale, b.scale) \
            and np.array_equal(a.zero, b.zero) and a.axis == b.axis

    def weight(dq, codes: np.ndarray, grid: Grid) -> None:
        if grid.axis is not None and not (-codes.ndim <= grid.axis < codes.ndim
                                          and codes.shape[grid.axis] == grid.scale.size):
            raise _Reject(dq, f"its per-channel scale has {grid.scale.size} values for axis {grid.axis} of a "
                          f"tensor of shape {list(codes.shape)}")
        if grid.axis is not None and grid.axis < 0:
            grid = Grid(grid.scale, grid.zero, grid.lo, grid.hi, grid.axis + codes.ndim, grid.node)
        new_inits.append(numpy_helper.from_array(grid.values(codes).astype(np.float32), dq.output[0]))
        grids.weights[dq.output[0]] = grid

    for dq in g.node:
        if dq.op_type != "DequantizeLinear" or dq.domain not in ("", "ai.onnx"):
            continue
        try:
            if len(dq.input) < 2 or not dq.input[0] or len(dq.output) != 1:
                raise _Reject(dq, "it needs an input, a scale and one output")
            x = dq.input[0]
            if x in static:                                       # integer constant -> DQ (onnxruntime)
                if elem.get(x) not in CODE_TYPES:
                    raise _Reject(dq, f"it reads '{x}' of ONNX element type {elem.get(x)}; supported: int8, uint8, "
                                  "int16, uint16, int32")
                grid = grid_of(dq, elem[x])
                weight(dq, np.asarray(static[x], dtype=np.int64), grid)
                replace[index[id(dq)]] = []
                continue
            src = producer.get(x)
            clip = None
            if src is not None and src.op_type == "Clip":             # QCDQ: Q -> Clip -> DQ
                if not src.input or not src.input[0]:
                    raise _Reject(src, "a Clip with no input")
                clip, src = src, producer.get(src.input[0])
            if src is None or src.op_type != "QuantizeLinear":
                raise _Reject(dq, f"it reads '{x}', which neither a constant holds nor a QuantizeLinear writes; "
                              "supported: DequantizeLinear of integer constants (weights, biases) and "
                              "QuantizeLinear -> [Clip ->] DequantizeLinear pairs")
            q = src
            grid = grid_of(dq, None)
            q_grid = grid_of(q, None)
            if not same(grid, q_grid) or (q_grid.lo, q_grid.hi) != (grid.lo, grid.hi):
                raise _Reject(dq, f"its scale and zero point differ from those of '{q.name}', the QuantizeLinear "
                              "it dequantizes; supported: a pair on one grid")
            if clip is not None:
                lo, hi = (param(clip, k, "bound") for k in (1, 2))
                lo = grid.lo if lo is None else max(grid.lo, int(np.asarray(lo)))
                hi = grid.hi if hi is None else min(grid.hi, int(np.asarray(hi)))
                grid = Grid(grid.scale, grid.zero, lo, hi, grid.axis, grid.node)
            if q.input[0] in static:                                   # float constant -> Q -> DQ (PT2E)
                value = np.asarray(static[q.input[0]], dtype=np.float64)
                weight(dq, grid.codes(value), grid)
                replace[index[id(dq)]] = []
                continue
            kept = rounded.setdefault(q.input[0], grid)
            if not (same(kept, grid) and (kept.lo, kept.hi) == (grid.lo, grid.hi)):
                raise _Reject(dq, f"'{q.input[0]}' is rounded to two different grids ('{kept.node}' and "
                              f"'{grid.node}'); supported: one grid per tensor")
            grids.activations[dq.output[0]] = grid
            replace[index[id(dq)]] = [helper.make_node("Identity", [q.input[0]], [dq.output[0]],
                                                       name=f"{dq.name or 'dequantize'}_identity")]
        except _Reject as e:
            problems.append(e.problem)

    # every QuantizeLinear (and QCDQ Clip) must feed only the DequantizeLinears taken out above
    for n in g.node:
        if n.op_type not in ("QuantizeLinear", "Clip") or n.domain not in ("", "ai.onnx"):
            continue
        if not n.input or not n.output:
            problems.append(NodeProblem(n.name or n.op_type, n.op_type, "it needs an input and an output"))
            continue
        if n.op_type == "Clip" and (producer.get(n.input[0]) is None
                                    or producer[n.input[0]].op_type != "QuantizeLinear"):
            continue
        users = consumers.get(n.output[0], [])
        ok = all(index[id(u)] in replace or (n.op_type == "QuantizeLinear" and u.op_type == "Clip") for u in users)
        if not ok or n.output[0] in graph_outputs:
            leave = [u.name or u.op_type for u in users if index[id(u)] not in replace]
            problems.append(NodeProblem(n.name or n.op_type, n.op_type,
                                        f"its integer codes leave the quantizer pair (read by "
                                        f"{', '.join(map(repr, leave)) or 'the graph output'}); supported: codes "
                                        "read only by the DequantizeLinear of the same grid"))
        replace[index[id(n)]] = []
    if problems:
        return out, grids, problems

    nodes = []
    for k, n in enumerate(g.node):
        if k in replace:
            nodes.extend(replace[k])
        else:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep + [t for t in new_inits if t.name in used])
    # value_info for removed tensors would disagree with their new float type
    dropped = {vi.name for vi in g.value_info if vi.name not in used and vi.name not in graph_outputs}
    keep_vi = [vi for vi in g.value_info if vi.name not in dropped and vi.name not in grids.weights]
    del g.value_info[:]
    g.value_info.extend(keep_vi)
    return out, grids, []
