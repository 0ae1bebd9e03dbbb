"""Large frames through the golden model in tiles with a halo: memory bounded by the tile, output
identical to the whole frame's.

Every layer is local: an output pixel depends on input pixels at most `halo(q)` LR pixels away
(the sum of the kernels, a bound that also covers layers at HR resolution and the bottom/right
crop of a lowered ConvTranspose). A tile of `tile` x `tile` LR pixels is run with `halo` pixels of
real neighbours on every side that has them; where a tile meets the frame's edge it sees the
frame's edge, so its padding is the whole frame's. Output rows follow input rows with the same
top-left alignment in both runs (`out = s * in - d`, d the frame's constant shrinkage), so each
tile's core is cut out and placed at `s` times its input position.

Peak memory is that of one tile: (tile + 2 halo)^2 pixels times the widest layer's channels,
instead of the whole frame's (srhw.golden holds about 8 bytes per value of the widest layer).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from srhw import golden, ir
from srhw.qir import QConv, QGraph

TILE = 256


def halo(q: QGraph) -> int:
    """LR pixels of context an output pixel can depend on, on each side (a safe upper bound)."""
    return sum(max(l.weight.shape[2:]) for l in q.layers if isinstance(l, QConv)) + 1


def float_halo(graph: ir.Graph) -> int:
    """halo() of the float graph (the same convolutions before quantization)."""
    return sum(max(graph.constant(n.inputs[1]).shape[2:]) for n in graph.compute_nodes() if isinstance(n, ir.Conv)) + 1


def run_tiled(q: QGraph, frame: np.ndarray, tile: int = TILE, progress: bool = False) -> np.ndarray:
    """golden.run(q, frame) for a uint8 frame [C, H, W], computed tile by tile when it is larger
    than a few tiles; the result is the same array."""
    return tiled(lambda f: golden.run(q, f), frame, q.scale, halo(q), tile, progress)


def tiled(run: Callable[[np.ndarray], np.ndarray], frame: np.ndarray, scale: int, margin: int, tile: int = TILE,
          progress: bool = False) -> np.ndarray:
    """run(frame) for any per-pixel-local network `run` ([C, H, W] -> [C', s H - d, s W - d]) whose
    outputs depend on inputs at most `margin` LR pixels away, tile by tile."""
    if frame.ndim == 2:
        frame = frame[None]
    c, h, w = frame.shape
    r, s = margin, scale
    if h * w <= 4 * tile * tile or (h <= tile + 2 * r and w <= tile + 2 * r):
        return run(frame)
    n = 2 * r + 8  # the frame's constant shrinkage, from a small probe
    probe = run(np.zeros((c, n, n), frame.dtype))
    out_h, out_w = s * h - (s * n - probe.shape[1]), s * w - (s * n - probe.shape[2])
    out = np.empty((probe.shape[0], out_h, out_w), probe.dtype)
    from tqdm import tqdm

    bar = tqdm(total=-(-h // tile) * -(-w // tile), desc="tiles", unit="tile", leave=False, disable=not progress)
    for y0 in range(0, h, tile):
        y1, ty0 = min(h, y0 + tile), max(0, y0 - r)
        ty1 = min(h, y1 + r)
        oy0, oy1 = s * y0, min(s * y1, out_h)
        for x0 in range(0, w, tile):
            bar.update()
            x1, tx0 = min(w, x0 + tile), max(0, x0 - r)
            tx1 = min(w, x1 + r)
            ox0, ox1 = s * x0, min(s * x1, out_w)
            t = run(np.ascontiguousarray(frame[:, ty0:ty1, tx0:tx1]))
            out[:, oy0:oy1, ox0:ox1] = t[:, oy0 - s * ty0: oy1 - s * ty0, ox0 - s * tx0: ox1 - s * tx0]
    bar.close()
    return out
