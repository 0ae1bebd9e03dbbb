"""PReLU-pattern fusion: the two ways TensorFlow graphs write a PReLU, back to one PRelu.

- relu(x) + k * (x - |x|)  ->  PRelu(x, slope = 2k): tf2onnx's Keras PReLU (k = alpha/2
  pre-folded into a Mul). Exact: for x >= 0 both sides are x, for x < 0 both are 2k*x.
- relu(x) - a * relu(-x)  ->  PRelu(x, slope = a): LeakyReLU/PReLU written out by hand (EDSR
  and LapSRN ports do this), a Sub of two tensors. Exact: for x >= 0 the right term is 0, for
  x < 0 the left is 0 and the right is a*(-x). -x is a Neg or a Mul by -1.

Contract: the matched subgraph (every intermediate read only inside it, all reading one x) is
replaced by one PRelu with per-channel slope; everything else is untouched.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from srhw import ir


def _is_scale(node: ir.Op | None) -> bool:
    return isinstance(node, ir.Affine) and node.act is None and not np.any(node.bias)


def _half_abs_form(add: ir.Op, prod: dict) -> tuple[str, np.ndarray, list[ir.Op]] | None:
    """relu(x) + k * (x - |x|): (x, slope 2k, the matched nodes) or None."""
    if not isinstance(add, ir.Add) or add.act is not None:
        return None
    for relu_v, mul_v in (add.inputs, add.inputs[::-1]):
        relu, mul = prod.get(relu_v), prod.get(mul_v)
        if not (isinstance(relu, ir.Relu) and _is_scale(mul)):
            continue
        sub = prod.get(mul.inputs[0])
        if not (isinstance(sub, ir.Binary) and sub.kind == "Sub"):
            continue
        x = relu.inputs[0]
        absn = prod.get(sub.inputs[1])
        if sub.inputs[0] == x and isinstance(absn, ir.Abs) and absn.inputs[0] == x:
            return x, 2.0 * mul.scale, [relu, mul, sub, absn]
    return None


def _two_relu_form(sub: ir.Op, prod: dict) -> tuple[str, np.ndarray, list[ir.Op]] | None:
    """relu(x) - a * relu(-x): (x, slope a, the matched nodes) or None."""
    if not (isinstance(sub, ir.Binary) and sub.kind == "Sub"):
        return None
    relu, mul = prod.get(sub.inputs[0]), prod.get(sub.inputs[1])
    if not (isinstance(relu, ir.Relu) and _is_scale(mul)):
        return None
    relu_neg = prod.get(mul.inputs[0])
    if not isinstance(relu_neg, ir.Relu):
        return None
    neg = prod.get(relu_neg.inputs[0])
    x = relu.inputs[0]
    negates = isinstance(neg, ir.Neg) or (_is_scale(neg) and np.all(neg.scale == -1.0))
    if negates and neg.inputs[0] == x:
        return x, mul.scale, [relu, mul, relu_neg, neg]
    return None


def fuse_prelu_pattern(graph: ir.Graph) -> ir.Graph:
    prod = graph.producers()
    cons = graph.consumers()
    names = ir.NameGen(graph)
    replaced: dict[str, ir.Op] = {}
    extra: dict[str, ir.Constant] = {}
    for node in graph.nodes:
        found = _half_abs_form(node, prod) or _two_relu_form(node, prod)
        if found is None:
            continue
        x, slope, inner = found
        if any(len(cons.get(n.output, [])) != 1 for n in inner):
            continue
        sname = names(f"{node.output}_slope")
        extra[node.output] = ir.Constant(name=sname, inputs=(), output=sname, value=np.asarray(slope).reshape(1, -1, 1, 1))
        replaced[node.output] = ir.PRelu(name=node.name, inputs=(x, sname), output=node.output)
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
