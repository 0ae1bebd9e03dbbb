"""PReLU-pattern fusion: relu(x) + k * (x - |x|)  ->  PRelu(x, slope = 2k).

tf2onnx writes Keras PReLU this way (k = alpha/2 pre-folded into a Mul). Contract: the matched
subgraph (Relu, Abs, Sub, Affine-scale, Add, all reading one x) is replaced by one PRelu with
per-channel slope 2k; everything else is untouched. Exact: for x >= 0 both sides are x, for
x < 0 both are 2k*x.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from srhw import ir


def fuse_prelu_pattern(graph: ir.Graph) -> ir.Graph:
    prod = graph.producers()
    cons = graph.consumers()
    names = ir.NameGen(graph)
    replaced: dict[str, ir.Op] = {}
    extra: dict[str, ir.Constant] = {}
    for add in graph.nodes:
        if not isinstance(add, ir.Add) or add.act is not None:
            continue
        for relu_v, mul_v in (add.inputs, add.inputs[::-1]):
            relu, mul = prod.get(relu_v), prod.get(mul_v)
            if not (isinstance(relu, ir.Relu) and isinstance(mul, ir.Affine) and mul.act is None
                    and np.all(mul.bias == 0)):
                continue
            sub = prod.get(mul.inputs[0])
            if not (isinstance(sub, ir.Binary) and sub.kind == "Sub"):
                continue
            x = relu.inputs[0]
            absn = prod.get(sub.inputs[1])
            if sub.inputs[0] != x or not (isinstance(absn, ir.Abs) and absn.inputs[0] == x):
                continue
            if any(len(cons.get(v, [])) != 1 for v in (relu.output, mul.output, sub.output, absn.output)):
                continue
            sname = names(f"{add.output}_slope")
            extra[add.output] = ir.Constant(name=sname, inputs=(), output=sname,
                                            value=(2.0 * mul.scale).reshape(1, -1, 1, 1))
            replaced[add.output] = ir.PRelu(name=add.name, inputs=(x, sname), output=add.output)
            break
    if not replaced:
        return graph
    nodes: list[ir.Op] = []
    for n in graph.nodes:
        if n.output in replaced:
            nodes.append(extra[n.output])
            nodes.append(replaced[n.output])
        else:
            nodes.append(n)
    return ir.prune(replace(graph, nodes=tuple(nodes)))
