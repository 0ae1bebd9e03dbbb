"""Pixel boundary: the kernel reads 8-bit pixel codes and returns pixel codes.

Contract: afterwards the graph maps input codes p (0..255) to output in pixel units, i.e.
after(p) = before(p * input_scale) * output_scale, with `input_scale` 1/255 for a model fed
[0, 1] and 1 for a model that divides by 255 itself (likewise `output_scale`). Every scale
that can be folded exactly is folded into the neighbouring convolution:
- an Affine before a Conv folds its scale into the weights, and its bias too when the conv
  pads nothing (with zero padding a bias would wrongly reach the padded border);
- an Affine after a Conv folds into its weights and bias;
- a positive scalar scale commutes backwards through Clip and Relu, and any per-channel
  Affine through DepthToSpace and Crop, to reach a Conv.
A final clamp to [0, 255] is what the 8-bit output saturation does anyway; it stays in the
graph as a Clip so the float model keeps it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np

from srhw import ir
from srhw.passes._rewrite import single_consumer, splice, through_d2s

InputRange = Literal["auto", "unit", "byte"]


def _is_scale(node: ir.Op | None, value: float) -> bool:
    return (isinstance(node, ir.Affine) and node.act is None and np.allclose(node.scale, value, rtol=1e-6)
            and not np.any(node.bias))


def _detect_input_range(graph: ir.Graph) -> str:
    users = graph.consumers().get(graph.input, [])
    return "byte" if len(users) == 1 and _is_scale(users[0], 1 / 255) else "unit"


def _detect_output_range(graph: ir.Graph) -> str:
    last = graph.producers().get(graph.output)
    return "byte" if _is_scale(last, 255.0) else "unit"


def _insert_scales(graph: ir.Graph, in_scale: float, out_scale: float) -> ir.Graph:
    names = ir.NameGen(graph)
    nodes = list(graph.nodes)
    c_in = graph.inputs[0].shape[1]
    if in_scale != 1.0:
        raw = names(f"{graph.input}_pixels")
        nodes = [replace(n, inputs=tuple(raw if i == graph.input else i for i in n.inputs)) for n in nodes]
        nodes.insert(0, ir.Affine(name="pixel_boundary/input_scale", inputs=(graph.input,), output=raw,
                                  scale=np.full(c_in, in_scale), bias=np.zeros(c_in)))
    outputs = graph.outputs
    if out_scale != 1.0:
        c_out = outputs[0].shape[1]
        new_out = names(f"{graph.output}_pixels")
        nodes.append(ir.Affine(name="pixel_boundary/output_scale", inputs=(graph.output,), output=new_out,
                               scale=np.full(c_out, out_scale), bias=np.zeros(c_out)))
        outputs = (replace(outputs[0], name=new_out),)
    return replace(graph, nodes=tuple(nodes), outputs=outputs)


def _const(graph: ir.Graph, value: np.ndarray, hint: str) -> tuple[ir.Constant, str]:
    new = ir.NameGen(graph)(hint)
    return ir.Constant(name=new, inputs=(), output=new, value=value), new


def _step(graph: ir.Graph) -> ir.Graph | None:
    """Applies one folding rewrite; None when nothing applies."""
    prod = graph.producers()
    for a in graph.nodes:
        if not isinstance(a, ir.Affine) or a.act is not None:
            continue
        p = prod.get(a.inputs[0])
        user = single_consumer(graph, a.output)
        # Affine -> Affine: compose
        if isinstance(user, ir.Affine) and user.act is None:
            merged = replace(user, inputs=a.inputs, scale=a.scale * user.scale, bias=a.bias * user.scale + user.bias)
            return splice(graph, [a, user], [merged])
        # Affine -> Conv: fold into the weights (and the bias when nothing is padded)
        if isinstance(user, ir.Conv) and user.inputs[0] == a.output and (not np.any(a.bias) or not any(user.pads)):
            w = graph.constant(user.inputs[1])
            b = graph.constant(user.inputs[2]) if len(user.inputs) > 2 else np.zeros(w.shape[0])
            wn, wname = _const(graph, w * a.scale.reshape(1, -1, 1, 1), f"{user.output}_w")
            bn, bname = _const(graph, b + np.einsum("oikl,i->o", w, a.bias), f"{user.output}_b")
            conv = replace(user, inputs=(a.inputs[0], wname, bname))
            return splice(graph, [a, user], [wn, bn, conv])
        if p is None or single_consumer(graph, p.output) is not a:
            continue
        # Conv -> Affine: fold into the conv's weights and bias
        if isinstance(p, ir.Conv) and p.act is None:
            w = graph.constant(p.inputs[1])
            b = graph.constant(p.inputs[2]) if len(p.inputs) > 2 else np.zeros(w.shape[0])
            wn, wname = _const(graph, w * a.scale.reshape(-1, 1, 1, 1), f"{p.output}_w")
            bn, bname = _const(graph, b * a.scale + a.bias, f"{p.output}_b")
            return splice(graph, [p, a], [wn, bn, replace(p, inputs=(p.inputs[0], wname, bname), output=a.output)])
        # commute backwards through layout-only ops and through clamps with a positive scalar scale
        moved: ir.Op | None = None
        after = p
        if isinstance(p, ir.DepthToSpace):
            moved = replace(a, inputs=p.inputs, scale=through_d2s(a.scale, p.blocksize, p.mode),
                            bias=through_d2s(a.bias, p.blocksize, p.mode))
        elif isinstance(p, ir.Crop):
            moved = replace(a, inputs=p.inputs)
        elif isinstance(p, (ir.Clip, ir.Relu)) and not np.any(a.bias) and np.all(a.scale == a.scale[0]) \
                and a.scale[0] > 0:
            moved = replace(a, inputs=p.inputs)
            if isinstance(p, ir.Clip):
                after = replace(p, lo=p.lo * a.scale[0], hi=p.hi * a.scale[0])
        if moved is not None:
            mid = ir.NameGen(graph)(f"{a.output}_moved")
            moved = replace(moved, output=mid)
            return splice(graph, [p, a], [moved, replace(after, inputs=(mid,) + p.inputs[1:], output=a.output)])
    return None


def pixel_boundary(graph: ir.Graph, input_range: InputRange = "auto", output_range: InputRange = "auto") -> ir.Graph:
    ir_in = _detect_input_range(graph) if input_range == "auto" else input_range
    ir_out = _detect_output_range(graph) if output_range == "auto" else output_range
    in_scale = 1.0 if ir_in == "byte" else 1.0 / 255.0
    out_scale = 1.0 if ir_out == "byte" else 255.0
    g = _insert_scales(graph, in_scale, out_scale)
    while (nxt := _step(g)) is not None:
        g = nxt
    boundary = replace(g.boundary, input_scale=in_scale, output_scale=out_scale, pixel=True)
    return ir.prune(replace(g, boundary=boundary))
