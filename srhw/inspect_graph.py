"""`srhw inspect`: the canonical float graph as a table (layers, shapes, parameters, MACs)."""
from __future__ import annotations

import numpy as np

from srhw import ir
from srhw.errors import printable


def lr_resolutions(graph: ir.Graph) -> dict[str, int]:
    """Per value: its grid's upscale against the LR input (DepthToSpace multiplies it)."""
    res = {graph.input: 1}
    for n in graph.compute_nodes():
        res[n.output] = res[n.inputs[0]] * (n.blocksize if isinstance(n, ir.DepthToSpace) else 1)
    return res


def macs_per_lr_pixel(graph: ir.Graph, nonzero_only: bool = False) -> int:
    """Conv MACs per LR pixel; with nonzero_only, only products with a non-zero weight (a
    lowered ConvTranspose then counts its true taps, not the sub-pixel kernel's padding)."""
    res = lr_resolutions(graph)
    total = 0
    for n in graph.compute_nodes():
        if isinstance(n, ir.Conv):
            w = graph.constant(n.inputs[1])
            total += (int(np.count_nonzero(w)) if nonzero_only else int(w.size)) * res[n.inputs[0]] ** 2
    return total


def describe(graph: ir.Graph) -> str:
    chan: dict[str, int] = {graph.input: int(graph.inputs[0].shape[1])}
    res = lr_resolutions(graph)
    lines = [f"model {printable(graph.name)}: input {printable(graph.input)} {list(graph.inputs[0].shape)} "
             f"(layout {''.join(graph.boundary.input_layout)}), output {list(graph.outputs[0].shape)} "
             f"(layout {''.join(graph.boundary.output_layout)})",
             f"pixel boundary: input x {graph.boundary.input_scale:g}, output x {graph.boundary.output_scale:g}", "",
             f"{'#':>3}  {'op':<13} {'channels':<10} {'kernel':<8} {'pads':<13} {'act':<6} {'params':>7} "
             f"{'MACs/LR px':>10}  node"]
    total_p = total_m = 0
    for i, n in enumerate(graph.compute_nodes()):
        src = n.inputs[0]
        cin = chan[src]
        kernel = pads = act = ""
        params = macs = 0
        match n:
            case ir.Conv():
                w = graph.constant(n.inputs[1])
                cout = w.shape[0]
                kernel, pads = f"{w.shape[2]}x{w.shape[3]}", ",".join(map(str, n.pads))
                params = int(w.size + (graph.constant(n.inputs[2]).size if len(n.inputs) > 2 else 0))
                macs = int(w.size) * res[src] ** 2
            case ir.DepthToSpace(blocksize=r):
                cout = cin // (r * r)
            case ir.Affine():
                cout, params = cin, int(n.scale.size * 2)
            case _:
                cout = cin
        act_obj = getattr(n, "act", None)
        act = type(act_obj).__name__.removesuffix("Act").lower() if act_obj is not None else ""
        if isinstance(act_obj, ir.PReluAct):
            params += int(np.size(act_obj.slope))
        chan[n.output] = cout
        total_p += params
        total_m += macs
        lines.append(f"{i:>3}  {n.op_type:<13} {f'{cin}->{cout}':<10} {kernel:<8} {pads:<13} {act:<6} {params:>7} "
                     f"{macs:>10}  '{printable(n.name)}'")
    lines.append(f"total: {total_p} parameters, {total_m} MACs per LR pixel")
    return "\n".join(lines)
