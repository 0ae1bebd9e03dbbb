"""Convolutions after the upsampling, rewritten as the sub-pixel convolution before it, exactly.

Contract: a Conv that reads a DepthToSpace's output (blocksize r, the only reader) and keeps
the frame size (pads top + bottom = kh - 1, left + right = kw - 1) becomes a Conv on the LR
grid producing C_out*r*r channels, followed by a DepthToSpace of the same mode; same function.
EDSR ends so (upsampler, then a 3x3 conv on the HR frame). A conv after a conv on the HR frame
moves too once the first has moved, but not across an activation between them (the pipeline
hoists pointwise ops after this pass, not between its steps): such a model stays refused by
the backends, by name. Moved in front, that conv runs at the LR pixel rate like every
other stage, so both backends, which upsample last, build the model. Two DepthToSpace in a row
after a conv (an x4 upsampler as two x2 stages, once their convs have moved) become one of
blocksize r1*r2 with the conv's output channels re-ordered.

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


def _merge_shuffles(graph: ir.Graph, prod: dict) -> ir.Graph | None:
    """Conv -> DepthToSpace(r1) -> DepthToSpace(r2)  ->  Conv' -> DepthToSpace(r1 * r2), DCR, with
    the conv's output channels re-ordered so that every value lands where the two put it (an x4
    upsampler written as two x2 stages)."""
    for second in graph.nodes:
        if not isinstance(second, ir.DepthToSpace):
            continue
        first = prod.get(second.inputs[0])
        if not isinstance(first, ir.DepthToSpace) or single_consumer(graph, first.output) is not second:
            continue
        conv = prod.get(first.inputs[0])
        if not isinstance(conv, ir.Conv) or conv.act is not None or single_consumer(graph, conv.output) is not first:
            continue
        r1, r2 = first.blocksize, second.blocksize
        big = r1 * r2
        w = graph.constant(conv.inputs[1])
        c = w.shape[0] // (big * big)
        order = np.empty(w.shape[0], dtype=np.int64)  # new channel -> the channel the two shuffles read
        for ch in range(c):
            for i1 in range(r1):
                for i2 in range(r2):
                    for j1 in range(r1):
                        for j2 in range(r2):
                            mid = d2s_channel(ch, i2, j2, c, r2, second.mode)
                            order[d2s_channel(ch, i1 * r2 + i2, j1 * r2 + j2, c, big, "DCR")] = \
                                d2s_channel(mid, i1, j1, c * r2 * r2, r1, first.mode)
        b = graph.constant(conv.inputs[2]) if len(conv.inputs) > 2 else np.zeros(w.shape[0])
        names = ir.NameGen(graph)
        wname, bname = names(f"{conv.output}_reordered_w"), names(f"{conv.output}_reordered_b")
        new = [ir.Constant(name=wname, inputs=(), output=wname, value=w[order]),
               ir.Constant(name=bname, inputs=(), output=bname, value=np.asarray(b)[order]),
               replace(conv, inputs=(conv.inputs[0], wname, bname)),
               replace(second, inputs=(conv.output,), blocksize=big, mode="DCR")]
        return splice(graph, [conv, first, second], new)
    return None


def _step(graph: ir.Graph) -> ir.Graph | None:
    prod = graph.producers()
    merged = _merge_shuffles(graph, prod)
    if merged is not None:
        return merged
    for conv in graph.nodes:
        if not isinstance(conv, ir.Conv):
            continue
        shuffle = prod.get(conv.inputs[0])
        if not isinstance(shuffle, ir.DepthToSpace) or single_consumer(graph, shuffle.output) is not conv \
                or conv.act is not None:   # activations are fused later; a fused one would need its channels mapped
            continue
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
               replace(shuffle, inputs=(mid,), output=conv.output)]
        return splice(graph, [shuffle, conv], new)
    return None


def subpixel_convs(graph: ir.Graph) -> ir.Graph:
    while (nxt := _step(graph)) is not None:
        graph = nxt
    return ir.prune(graph)
