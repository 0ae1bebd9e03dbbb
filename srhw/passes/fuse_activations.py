"""Activation fusion: Relu / LeakyRelu / PRelu / Tanh / Clip become the `act` of the Conv, Add
or Affine that produces their input.

Contract: same function. Runs after hoist_pointwise, so an activation written after a pixel
shuffle already stands in front of it and lands on the conv before it. Relu and Clip compose
into one ClipAct. An activation with no producer to join
becomes an identity Affine carrying it, so quantization sees only Conv, Affine, Add,
DepthToSpace and Crop.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from srhw import ir
from srhw.ir import ClipAct, PReluAct, ReluAct, TanhAct
from srhw.passes._rewrite import single_consumer, splice

ACTIVATIONS = (ir.Relu, ir.LeakyRelu, ir.PRelu, ir.Tanh, ir.Clip)


def _as_act(graph: ir.Graph, node: ir.Op, channels: int) -> ir.Activation:
    match node:
        case ir.Relu():
            return ReluAct()
        case ir.LeakyRelu(alpha=a):
            return PReluAct(np.full(channels, a))
        case ir.PRelu():
            return PReluAct(np.broadcast_to(graph.constant(node.inputs[1]).reshape(-1), (channels,)).copy())
        case ir.Tanh():
            return TanhAct()
        case ir.Clip(lo=lo, hi=hi):
            return ReluAct() if lo == 0 and hi == float("inf") else ClipAct(lo, hi)
    raise TypeError(node.op_type)


def _compose(first: ir.Activation | None, then: ir.Activation) -> ir.Activation | None:
    """One activation equal to `then(first(x))`, or None if there is none of our forms."""
    if first is None:
        return then
    lo1, hi1 = (0.0, float("inf")) if isinstance(first, ReluAct) else \
        (first.lo, first.hi) if isinstance(first, ClipAct) else (None, None)
    lo2, hi2 = (0.0, float("inf")) if isinstance(then, ReluAct) else \
        (then.lo, then.hi) if isinstance(then, ClipAct) else (None, None)
    if lo1 is None or lo2 is None:
        return None
    lo, hi = min(max(lo1, lo2), hi2), max(min(hi1, hi2), lo2)
    return ReluAct() if (lo, hi) == (0.0, float("inf")) else ClipAct(lo, hi)


def _channels(graph: ir.Graph, value: str) -> int:
    prod = graph.producers()
    node = prod.get(value)
    match node:
        case ir.Conv():
            return int(graph.constant(node.inputs[1]).shape[0])
        case ir.Affine():
            return int(node.scale.size)
        case ir.DepthToSpace():
            return _channels(graph, node.inputs[0]) // node.blocksize**2
        case None:
            return int(graph.inputs[0].shape[1])
    return _channels(graph, node.inputs[0])


def _step(graph: ir.Graph) -> ir.Graph | None:
    prod = graph.producers()
    for act in graph.nodes:
        if not isinstance(act, ACTIVATIONS):
            continue
        p = prod.get(act.inputs[0])
        owned = p is not None and single_consumer(graph, p.output) is act
        if owned and isinstance(p, (ir.Conv, ir.Add, ir.Affine)):
            fused = _compose(p.act, _as_act(graph, act, _channels(graph, p.output)))
            if fused is not None:
                return splice(graph, [p, act], [replace(p, act=fused, output=act.output)])
        c = _channels(graph, act.inputs[0])
        ident = ir.Affine(name=act.name, inputs=(act.inputs[0],), output=act.output, scale=np.ones(c),
                          bias=np.zeros(c), act=_as_act(graph, act, c))
        return splice(graph, [act], [ident])
    return None


def fuse_activations(graph: ir.Graph) -> ir.Graph:
    while (nxt := _step(graph)) is not None:
        graph = nxt
    return ir.prune(graph)
