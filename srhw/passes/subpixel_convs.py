"""Convolutions after the upsampling, rewritten as the sub-pixel convolution before it, exactly.

Contract: a Conv that reads a DepthToSpace's output (blocksize r; the DepthToSpace stays for
its other readers, if any) and keeps the frame size (pads top + bottom = kh - 1, left + right = kw - 1) becomes a Conv on the LR
grid producing C_out*r*r channels, followed by a DepthToSpace of the same mode; same function.
EDSR ends so (upsampler, then a 3x3 conv on the HR frame). A conv after a conv on the HR frame
moves too once the first has moved, and across an activation between them once
hoist_pointwise has moved that (the pipeline runs the two passes in turn until neither changes
the graph: LapSRN's levels run 3x3 convs with LeakyReLU on the upsampled features). Moved in front, that conv runs at the LR pixel rate like every
other stage, so both backends, which upsample last, build the model. Two DepthToSpace in a row
(an x4 upsampler as two x2 stages, once their convs have moved; LapSRN's two levels) become
one of blocksize r1*r2, the channels re-ordered where the convs make them (through per-channel
ops and both inputs of an Add).

Derivation (per axis): the HR conv's output at Y = y*r + i' reads the HR input at
Y + u - pt, which is LR row y + (i' + u - pt) div r, sub-row (i' + u - pt) mod r. So output
phase (i', j') is a conv over the LR grid whose input channel is the DepthToSpace channel of
(c, sub-row, sub-column) and whose tap sits at the LR offset; the union of the offsets is
the LR kernel, zeros elsewhere (the schedule fold skips them: the non-zero products per LR
pixel are the HR conv's times r*r, the same work). Zero padding matches: an HR position
outside the frame is exactly a sub-pixel of an LR position outside it.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from srhw import ir
from srhw.passes._rewrite import single_consumer, splice


def d2s_channel(c: int, i: int, j: int, channels: int, r: int, mode: str) -> int:
    """The channel before a DepthToSpace that lands on output channel c at sub-pixel (i, j)."""
    return (i * r + j) * channels + c if mode == "DCR" else (c * r + i) * r + j


def _axis(k: int, pad: int, r: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    """LR offsets per (output phase, tap): (lo, hi, offset[phase, tap], sub[phase, tap])."""
    t = np.arange(r)[:, None] + np.arange(k)[None, :] - pad
    off, sub = np.floor_divide(t, r), np.mod(t, r)
    return int(off.min()), int(off.max()), off, sub


def subpixel_weights(w: np.ndarray, pads: tuple[int, int, int, int], r: int, mode: str) -> tuple[np.ndarray, tuple]:
    """HR conv weight [O, C, kh, kw] -> (LR weight [O*r*r, C*r*r, KH, KW], LR pads)."""
    o_n, c_n, kh, kw = w.shape
    pt, pl, _, _ = pads
    ylo, yhi, yoff, ysub = _axis(kh, pt, r)
    xlo, xhi, xoff, xsub = _axis(kw, pl, r)
    lr = np.zeros((o_n * r * r, c_n * r * r, yhi - ylo + 1, xhi - xlo + 1), dtype=w.dtype)
    for i2 in range(r):
        for j2 in range(r):
            for u in range(kh):
                for v in range(kw):
                    for c in range(c_n):
                        src = d2s_channel(c, int(ysub[i2, u]), int(xsub[j2, v]), c_n, r, mode)
                        for o in range(o_n):
                            dst = d2s_channel(o, i2, j2, o_n, r, mode)
                            lr[dst, src, yoff[i2, u] - ylo, xoff[j2, v] - xlo] += w[o, c, u, v]
    return lr, (-ylo, -xlo, yhi, xhi)


def _permuted(graph: ir.Graph, prod: dict, value: str, order: np.ndarray, names, reader: ir.Op) \
        -> tuple[list[ir.Op], list[ir.Op]] | None:
    """The nodes that compute `value` with its channels permuted (new channel k = old channel
    order[k]), as (old nodes, new nodes): a conv's output channels re-ordered, and the
    permutation passed through per-channel ops (Affine, PRelu, activations) and both inputs of an
    Add down to convs. None where a node on the way has another reader, a fused activation, or
    is of another kind."""
    op = prod.get(value)
    if op is None or single_consumer(graph, value) is not reader or getattr(op, "act", None) is not None:
        return None
    if isinstance(op, ir.Conv):
        w = graph.constant(op.inputs[1])
        b = graph.constant(op.inputs[2]) if len(op.inputs) > 2 else np.zeros(w.shape[0])
        wname, bname = names(f"{op.output}_reordered_w"), names(f"{op.output}_reordered_b")
        return [op], [ir.Constant(name=wname, inputs=(), output=wname, value=w[order]),
                      ir.Constant(name=bname, inputs=(), output=bname, value=np.asarray(b)[order]),
                      replace(op, inputs=(op.inputs[0], wname, bname))]
    if isinstance(op, ir.Add):
        a = _permuted(graph, prod, op.inputs[0], order, names, op)
        b = _permuted(graph, prod, op.inputs[1], order, names, op) if op.inputs[1] != op.inputs[0] else None
        return None if a is None or b is None else (a[0] + b[0] + [op], a[1] + b[1] + [op])
    if isinstance(op, (ir.Affine, ir.PRelu, ir.Relu, ir.LeakyRelu, ir.Tanh, ir.Clip)):
        inner = _permuted(graph, prod, op.inputs[0], order, names, op)
        if inner is None:
            return None
        if isinstance(op, ir.Affine):
            return inner[0] + [op], inner[1] + [replace(op, scale=op.scale[order], bias=op.bias[order])]
        if isinstance(op, ir.PRelu) and graph.constant(op.inputs[1]).size > 1:
            slope = graph.constant(op.inputs[1]).reshape(-1)[order]
            name = names(f"{op.output}_reordered_slope")
            return inner[0] + [op], inner[1] + [ir.Constant(name=name, inputs=(), output=name,
                                                            value=slope.reshape(1, -1, 1, 1)),
                                                replace(op, inputs=(op.inputs[0], name))]
        return inner[0] + [op], inner[1] + [op]
    return None


def _merge_shuffles(graph: ir.Graph, prod: dict) -> ir.Graph | None:
    """DepthToSpace(r1) -> DepthToSpace(r2)  ->  DepthToSpace(r1 * r2), DCR, with the channels
    that reach the first re-ordered where they are made (_permuted) so that every value lands
    where the two put it (an x4 upsampler written as two x2 stages; LapSRN's two levels)."""
    for second in graph.nodes:
        if not isinstance(second, ir.DepthToSpace):
            continue
        first = prod.get(second.inputs[0])
        if not isinstance(first, ir.DepthToSpace) or single_consumer(graph, first.output) is not second:
            continue
        r1, r2 = first.blocksize, second.blocksize
        big = r1 * r2
        n = _channels(graph, prod, first.inputs[0])
        if n is None:
            continue
        c = n // (big * big)
        order = np.empty(c * big * big, dtype=np.int64)  # new channel -> the channel the two shuffles read
        for ch in range(c):
            for i1 in range(r1):
                for i2 in range(r2):
                    for j1 in range(r1):
                        for j2 in range(r2):
                            mid = d2s_channel(ch, i2, j2, c, r2, second.mode)
                            order[d2s_channel(ch, i1 * r2 + i2, j1 * r2 + j2, c, big, "DCR")] = \
                                d2s_channel(mid, i1, j1, c * r2 * r2, r1, first.mode)
        found = _permuted(graph, prod, first.inputs[0], order, ir.NameGen(graph), first)
        if found is None:
            continue
        old, new = found
        return splice(graph, old + [first, second],
                      new + [replace(second, inputs=(first.inputs[0],), blocksize=big, mode="DCR")])
    return None


def _channels(graph: ir.Graph, prod: dict, value: str) -> int | None:
    """A value's channels, from the conv (or Affine) it comes from through channel-wise ops."""
    op = prod.get(value)
    while op is not None and not isinstance(op, (ir.Conv, ir.Affine)):
        op = prod.get(op.inputs[0])
    return None if op is None else graph.constant(op.inputs[1]).shape[0] if isinstance(op, ir.Conv) else op.scale.size


def _step(graph: ir.Graph) -> ir.Graph | None:
    prod = graph.producers()
    merged = _merge_shuffles(graph, prod)
    if merged is not None:
        return merged
    for conv in graph.nodes:
        if not isinstance(conv, ir.Conv):
            continue
        shuffle = prod.get(conv.inputs[0])
        if not isinstance(shuffle, ir.DepthToSpace) or conv.act is not None:
            continue   # activations are fused later; a fused one would need its channels mapped
        w = graph.constant(conv.inputs[1])
        pt, pl, pb, pr = conv.pads
        if pt + pb != w.shape[2] - 1 or pl + pr != w.shape[3] - 1:
            continue   # the HR frame shrinks or grows: not a whole number of LR pixels
        r, mode = shuffle.blocksize, shuffle.mode
        lr_w, lr_pads = subpixel_weights(w, conv.pads, r, mode)
        b = graph.constant(conv.inputs[2]) if len(conv.inputs) > 2 else np.zeros(w.shape[0])
        lr_b = np.array([b[o] for o in range(w.shape[0]) for _ in range(r * r)]) if mode == "CRD" \
            else np.tile(b, r * r)
        names = ir.NameGen(graph)
        wname, bname, mid = names(f"{conv.output}_subpixel_w"), names(f"{conv.output}_subpixel_b"), \
            names(f"{conv.output}_subpixel")
        new = [ir.Constant(name=wname, inputs=(), output=wname, value=lr_w),
               ir.Constant(name=bname, inputs=(), output=bname, value=lr_b),
               replace(conv, inputs=(shuffle.inputs[0], wname, bname), output=mid, pads=lr_pads),
               replace(shuffle, name=names(f"{shuffle.name}_moved"), inputs=(mid,), output=conv.output)]
        # the shuffle stays for its other readers (LapSRN's features feed the next level and the
        # level's residual conv: both move, one at a time); pruned once none is left
        return splice(graph, [conv], new)
    return None


def subpixel_convs(graph: ir.Graph) -> ir.Graph:
    while (nxt := _step(graph)) is not None:
        graph = nxt
    return ir.prune(graph)
