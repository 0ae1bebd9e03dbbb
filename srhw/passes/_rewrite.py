"""Small helpers shared by the local-rewrite passes."""
from __future__ import annotations

import numpy as np

from srhw import ir


def single_consumer(graph: ir.Graph, value: str) -> ir.Op | None:
    """The one node reading `value`, or None if there are several or it is a graph output."""
    if any(o.name == value for o in graph.outputs):
        return None
    users = graph.consumers().get(value, [])
    return users[0] if len(users) == 1 else None


def through_d2s(values: np.ndarray, r: int, mode: str) -> np.ndarray:
    """Per-channel parameters after a DepthToSpace -> the same parameters before it."""
    return np.repeat(values, r * r) if mode == "CRD" else np.tile(values, r * r)


def splice(graph: ir.Graph, old: list[ir.Op], new: list[ir.Op]) -> ir.Graph:
    """Replaces the nodes `old` (by identity) with `new`, placed where the last of `old` stood."""
    ids = {id(n) for n in old}
    last = max(i for i, n in enumerate(graph.nodes) if id(n) in ids)
    nodes: list[ir.Op] = []
    for i, n in enumerate(graph.nodes):
        if i == last:
            nodes.extend(new)
        elif id(n) not in ids:
            nodes.append(n)
    return graph.with_nodes(nodes)
