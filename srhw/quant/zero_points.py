"""Zero points: centre a signed activation's codes on the range it actually takes.

A PReLU output is lopsided: most channels reach far on one side of zero and little on the
other (FSRCNN x2's expanding layer uses 0.48 of its signed codes in the median channel), so a
symmetric format spends up to a bit on values that never occur. With a zero point z[c] per
channel the code is q = round(x * 2^f[c]) + z[c], and the format holds a range [a, b] (which
contains 0) of the channel's own choosing. The consumer pays nothing at run time: its bias
absorbs -sum w * z (the quantizer folds it in), and its padding holds z[c], the code of real
0, so borders stay exact. docs/arithmetic.md has the integer rules.

The calibration method picks [a, b] per channel: max: [min, max]; percentile: the 0.01th and
99.99th percentiles; mse: [f * min, f * max] for the f in [0.3, 1] whose uniform grid of
2^bits codes fits the samples best. Clipping both ends by one factor keeps 0 inside and trims
the long tail; clipping symmetrically about the midrange instead would cut off the bulk of a
lopsided channel, which sits near 0 at one end of its range. The pass records
center = (a + b) / 2 and half = (b - a) / 2; range equalization and the format then work on
the half-width.

Which tensors: the output of a Conv whose activation is none or PReLU (signed codes), read
only by Convs, and not the kernel's pixel output. Anything read by an Add, an Affine or a
DepthToSpace keeps z = 0.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from srhw import ir
from srhw.quant.calibrate import CalibrationStats

PERCENTILE = 99.99
MSE_FACTORS = np.linspace(0.3, 1.0, 36)


def kept_interval(st: CalibrationStats, c: int, method: str, width: int) -> tuple[float, float]:
    """The range [a, b] (a <= 0 <= b) that channel c's codes cover under a calibration method."""
    lo, hi = min(float(st.min[c]), 0.0), max(float(st.max[c]), 0.0)
    if method == "max" or hi == lo:
        return lo, hi
    x = st.channel(c)
    if method == "percentile":
        a, b = np.percentile(x, [100 - PERCENTILE, PERCENTILE])
        return min(float(a), 0.0), max(float(b), 0.0)
    steps = (1 << width) - 1
    best, best_err = 1.0, np.inf
    for f in MSE_FACTORS:  # mse
        a, step = f * lo, f * (hi - lo) / steps
        q = np.clip(np.floor((x - a) / step + 0.5), 0, steps) * step + a
        err = float(np.mean((q - x) ** 2))
        if err < best_err:
            best, best_err = float(f), err
    return best * lo, best * hi


def center_activations(graph: ir.Graph, stats: dict[str, CalibrationStats], pixel_output: str, method: str,
                       width: int) -> dict[str, CalibrationStats]:
    """The statistics with `center` and `half` set on every tensor that gets zero points."""
    cons = graph.consumers()
    out = dict(stats)
    for n in graph.compute_nodes():
        if not (isinstance(n, ir.Conv) and (n.act is None or isinstance(n.act, ir.PReluAct))):
            continue
        v, users = n.output, cons.get(n.output, [])
        if v in (pixel_output, graph.output) or v not in stats or not users:
            continue
        if all(isinstance(u, ir.Conv) and u.inputs[0] == v for u in users):
            st = stats[v]
            ab = np.array([kept_interval(st, c, method, width) for c in range(st.max.size)])
            out[v] = replace(st, center=ab.mean(axis=1), half=(ab[:, 1] - ab[:, 0]) / 2)
    return out
