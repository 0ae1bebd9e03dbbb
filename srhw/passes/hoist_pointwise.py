"""Pointwise before the upsampling: per-pixel ops after a DepthToSpace or Crop move in front of it.

Contract: same function. A DepthToSpace only moves values (output channel c at sub-pixel
(i, j) is input channel c*r*r + i*r + j in CRD order, (i*r + j)*C + c in DCR), and a Crop only
drops them, so an operation that treats every value on its own commutes with both:
- Relu, Tanh, Clip, LeakyRelu and a quantized model's rounding to one grid (Quantize) move
  unchanged;
- PRelu and Affine (x * scale + bias, per channel: an output scale, an offset, a scalar bias)
  move with their per-channel parameters re-ordered by the channel mapping.
- an Add of two tensors that come out of two DepthToSpace of one block size and mode (or two
  Crops of one size) becomes one DepthToSpace of the Add of their inputs: both sides move the
  same values to the same places.
TensorFlow writes ESPCN this way (DepthToSpace, then tanh, then the x255 output scale); moved
in front, the tanh fuses into the last convolution and the scale stays a per-channel stage
before the upsampling, so the hardware ends in the depth-to-space stage as it does for a
PyTorch export. LapSRN adds each level's upsampled image and upsampled residual after their
two shuffles; the Add moves in front of one. An op whose DepthToSpace/Crop output has other readers stays where it is
(moving it would change what they read); the backends name it in their refusal.
"""
from __future__ import annotations

from dataclasses import replace

from srhw import ir
from srhw.passes._rewrite import single_consumer, splice, through_d2s

POINTWISE = (ir.Relu, ir.LeakyRelu, ir.PRelu, ir.Tanh, ir.Clip, ir.Affine, ir.Quantize)


def _moved(graph: ir.Graph, op: ir.Op, layout: ir.Op, mid: str) -> tuple[list[ir.Op], ir.Op]:
    """(new constants, `op` reading what `layout` reads and writing `mid`)."""
    moved = replace(op, inputs=(layout.inputs[0],) + op.inputs[1:], output=mid)
    if not isinstance(layout, ir.DepthToSpace):
        return [], moved
    if isinstance(op, ir.Affine):
        r, mode = layout.blocksize, layout.mode
        return [], replace(moved, scale=through_d2s(op.scale, r, mode), bias=through_d2s(op.bias, r, mode))
    if isinstance(op, ir.PRelu) and graph.constant(op.inputs[1]).size > 1:  # one slope per channel
        slope = through_d2s(graph.constant(op.inputs[1]).reshape(-1), layout.blocksize, layout.mode)
        name = ir.NameGen(graph)(f"{op.output}_slope")
        const = ir.Constant(name=name, inputs=(), output=name, value=slope.reshape(1, -1, 1, 1))
        return [const], replace(moved, inputs=(layout.inputs[0], name))
    return [], moved


def _same_layout(a: ir.Op | None, b: ir.Op | None) -> bool:
    if isinstance(a, ir.DepthToSpace) and isinstance(b, ir.DepthToSpace):
        return (a.blocksize, a.mode) == (b.blocksize, b.mode)
    return isinstance(a, ir.Crop) and isinstance(b, ir.Crop) and (a.bottom, a.right) == (b.bottom, b.right)


def _add_step(graph: ir.Graph, op: ir.Add, prod: dict) -> ir.Graph | None:
    """An Add of two shuffled (or cropped) tensors: the Add of their inputs, then one shuffle."""
    la, lb = (prod.get(v) for v in op.inputs)
    if op.act is not None or la is lb or not _same_layout(la, lb) or \
            single_consumer(graph, la.output) is not op or single_consumer(graph, lb.output) is not op:
        return None
    mid = ir.NameGen(graph)(f"{op.output}_moved")
    return splice(graph, [la, lb, op], [replace(op, inputs=(la.inputs[0], lb.inputs[0]), output=mid),
                                        replace(la, inputs=(mid,) + la.inputs[1:], output=op.output)])


def _step(graph: ir.Graph) -> ir.Graph | None:
    prod = graph.producers()
    for op in graph.nodes:
        if isinstance(op, ir.Add) and (nxt := _add_step(graph, op, prod)) is not None:
            return nxt
        if not isinstance(op, POINTWISE) or getattr(op, "act", None) is not None:
            continue   # an Affine with a fused activation: activations are fused after this pass
        if isinstance(op, ir.Quantize) and op.grid.axis is not None:
            continue   # one grid per channel would need re-ordering (the quantizer refuses those anyway)
        layout = prod.get(op.inputs[0])
        if not isinstance(layout, (ir.DepthToSpace, ir.Crop)) or single_consumer(graph, layout.output) is not op:
            continue
        mid = ir.NameGen(graph)(f"{op.output}_moved")
        consts, moved = _moved(graph, op, layout, mid)
        return splice(graph, [layout, op], consts + [moved, replace(layout, inputs=(mid,) + layout.inputs[1:],
                                                                    output=op.output)])
    return None


def hoist_pointwise(graph: ir.Graph) -> ir.Graph:
    while (nxt := _step(graph)) is not None:
        graph = nxt
    return ir.prune(graph)
