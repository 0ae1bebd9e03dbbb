"""Constant folding and identity removal.

Contract: every node whose inputs are all constants becomes a `Constant` holding the value the
float executor computes; `Identity` (and Dropout, and Cast between float types on data) is
removed by rewiring its consumers. The graph computes the same function.
"""
from __future__ import annotations

from dataclasses import replace

from srhw import float_exec, ir


def fold_constants(graph: ir.Graph) -> ir.Graph:
    const: dict[str, ir.Constant] = {}
    alias: dict[str, str] = {}
    nodes: list[ir.Op] = []
    for node in graph.nodes:
        inputs = tuple(alias.get(i, i) for i in node.inputs)
        node = replace(node, inputs=inputs)
        if isinstance(node, ir.Constant):
            const[node.output] = node
            nodes.append(node)
            continue
        data = [i for i in inputs if i]
        if data and all(i in const for i in data):
            value = float_exec.evaluate(node, *[const[i].value if i else None for i in inputs])
            folded = ir.Constant(name=node.name, inputs=(), output=node.output, value=value)
            const[node.output] = folded
            nodes.append(folded)
            continue
        is_float_cast = isinstance(node, ir.Cast) and node.to.startswith("float")
        if isinstance(node, ir.Identity) or is_float_cast:
            alias[node.output] = inputs[0]
            continue
        nodes.append(node)
    outputs = tuple(ir.TensorInfo(alias.get(o.name, o.name), o.shape) for o in graph.outputs)
    return ir.prune(replace(graph, nodes=tuple(nodes), outputs=outputs))
