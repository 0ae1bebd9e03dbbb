"""ConvTranspose -> sub-pixel Conv + DepthToSpace (+ Crop), exactly.

Contract: a ConvTranspose with stride r, kernel k, pads (pb, pe) and output_padding becomes a
stride-1 Conv producing C_out*r*r channels, a CRD DepthToSpace, and a Crop of the last rows
and columns when the output is not a multiple of r; no zero-insertion anywhere.

Derivation (per axis): output y receives x[i] * w[t] for i*r + t - pb = y. Write
y = Y*r + psi. With phi = (psi + pb) mod r and off = (psi + pb) div r, the taps are
t = phi + m*r (m >= 0, t < k) on input i = Y + off - m. So output phase psi is a correlation
over the LR grid with offsets off - m: one stride-1 conv kernel per phase, laid over the
union of the phases' offset ranges (zeros elsewhere).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from srhw import ir


def _phase_taps(k: int, r: int, pb: int) -> tuple[int, int, list[list[tuple[int, int]]]]:
    """Per output phase psi: list of (offset, tap); and the union offset range [lo, hi]."""
    phases = []
    for psi in range(r):
        phi, off = (psi + pb) % r, (psi + pb) // r
        phases.append([(off - m, phi + m * r) for m in range(math.ceil((k - phi) / r)) if phi + m * r < k])
    offsets = [o for ph in phases for o, _ in ph] or [0]
    return min(min(offsets), 0), max(max(offsets), 0), phases


def _axis_plan(k: int, r: int, pb: int, pe: int, op: int):
    lo, hi, phases = _phase_taps(k, r, pb)
    size = hi - lo + 1                # conv kernel size on this axis
    pad_begin = -lo                   # offset lo reads input index Y + lo
    delta = k - pb - pe + op - r      # HR size = r*H + delta
    # LR positions to compute: Q = ceil((r*H + delta) / r) = H + ceil(delta / r)
    extra = -((-delta) // r)
    pad_end = max(extra + size - 1 - pad_begin, 0)
    q_extra = pad_begin + pad_end - size + 1  # conv output = H + q_extra
    crop = r * q_extra - delta
    return size, pad_begin, pad_end, crop, phases, lo


def _per_phase(grid: ir.Grid | None, out_axis: int, r2: int) -> ir.Grid | None:
    """A quantized model's weight or bias grid for the sub-pixel conv: a grid per output channel
    (axis `out_axis` of the ConvTranspose's tensor) becomes one per output channel and phase, in
    the CRD order above; a grid for the whole tensor stays as it is."""
    if grid is None or grid.axis is None:
        return grid
    if grid.axis != out_axis:
        return None  # per input channel: no grid per output of the sub-pixel conv (the quantizer refuses)
    return ir.Grid(np.repeat(grid.scale, r2), np.repeat(grid.zero, r2), grid.lo, grid.hi, 0, grid.node)


def lower_conv_transpose(graph: ir.Graph) -> ir.Graph:
    nodes: list[ir.Op] = []
    names = ir.NameGen(graph)
    consts = {n.output: n.value for n in graph.nodes if isinstance(n, ir.Constant)}
    grids = {n.output: n.grid for n in graph.nodes if isinstance(n, ir.Constant) and n.grid is not None}
    for node in graph.nodes:
        if not isinstance(node, ir.ConvTranspose):
            nodes.append(node)
            continue
        w = consts[node.inputs[1]]  # [Cin, Cout, kh, kw]
        cin, cout, kh, kw = w.shape
        r = node.strides[0]
        t, l, b, rt = node.pads
        ky, py0, py1, crop_h, ph_y, lo_y = _axis_plan(kh, r, t, b, node.output_padding[0])
        kx, px0, px1, crop_w, ph_x, lo_x = _axis_plan(kw, r, l, rt, node.output_padding[1])
        wc = np.zeros((cout * r * r, cin, ky, kx))
        for o in range(cout):
            for py in range(r):
                for px in range(r):
                    oc = o * r * r + py * r + px  # CRD channel order
                    for oy, ty in ph_y[py]:
                        for ox, tx in ph_x[px]:
                            wc[oc, :, oy - lo_y, ox - lo_x] = w[:, o, ty, tx]
        wname = names(f"{node.output}_subpixel_w")
        nodes.append(ir.Constant(name=wname, inputs=(), output=wname, value=wc,
                                 grid=_per_phase(grids.get(node.inputs[1]), 1, r * r)))
        inputs = (node.inputs[0], wname)
        if len(node.inputs) > 2 and node.inputs[2]:
            bname = names(f"{node.output}_subpixel_b")
            nodes.append(ir.Constant(name=bname, inputs=(), output=bname, value=np.repeat(consts[node.inputs[2]], r * r),
                                     grid=_per_phase(grids.get(node.inputs[2]), 0, r * r)))
            inputs += (bname,)
        conv_out = names(f"{node.output}_subpixel")
        nodes.append(ir.Conv(name=f"{node.name}/subpixel_conv", inputs=inputs, output=conv_out,
                             pads=(py0, px0, py1, px1)))
        if r == 1 and crop_h == 0 and crop_w == 0:
            nodes[-1] = replace(nodes[-1], output=node.output)
            continue
        d2s_out = node.output if crop_h == 0 and crop_w == 0 else names(f"{node.output}_d2s")
        nodes.append(ir.DepthToSpace(name=f"{node.name}/depth_to_space", inputs=(conv_out,), output=d2s_out,
                                     blocksize=r, mode="CRD"))
        if d2s_out != node.output:
            nodes.append(ir.Crop(name=f"{node.name}/crop", inputs=(d2s_out,), output=node.output,
                                 bottom=crop_h, right=crop_w))
    return ir.prune(replace(graph, nodes=tuple(nodes)))
