"""Range equalization: make every channel's calibrated range fill its power-of-two format.

A power-of-two format uses between half and all of its codes for a channel's range, half a
bit lost on average. Between a Conv whose activation is positively homogeneous (none, ReLU,
PReLU: f(a*x) = a*f(x) for a > 0) and the Conv that alone consumes it, channel c can be scaled
by any a_c > 0: the producer's weights and bias by a_c, the consumer's weights for input c by
1/a_c. The float function is unchanged (exactly, up to float rounding). We pick
a_c in [1, 2) so that the range the calibration method keeps for channel c lands exactly on
the top code of its format. Hardware cost: none (it only changes weight values).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from srhw import ir
from srhw.fixed import frac_for_range
from srhw.quant.calibrate import CalibrationStats

MARGIN = 1.0 - 1e-9  # keeps a_c * range strictly inside the format despite float rounding


def kept_range(stats: CalibrationStats, c: int, method: str, signed: bool, width: int) -> float:
    """The magnitude the calibration method would keep for channel c (its clipping point); for a
    centred channel, the half-width that srhw.quant.zero_points chose with the same method."""
    if stats.half is not None:
        return float(stats.half[c])
    m = float(stats.max_abs[c])
    if m == 0 or method == "max":
        return m
    vals = np.abs(stats.channel(c))
    if method == "percentile":
        return max(float(np.percentile(vals, 99.99)), 1e-12)
    top = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
    best, best_err = m, np.inf
    for t in np.linspace(0.3, 1.0, 36) * m:  # mse: the threshold whose uniform grid fits best
        step = t / top
        q = np.clip(np.floor(vals / step + 0.5), 0, top) * step
        err = float(np.mean((q - vals) ** 2))
        if err < best_err:
            best, best_err = float(t), err
    return best


def equalize_ranges(graph: ir.Graph, stats: dict[str, CalibrationStats], width: int, wbits: int, method: str,
                    pixel_output: str, weight_headroom: bool = True,
                    scales: dict[str, np.ndarray] | None = None) -> tuple[ir.Graph, dict[str, CalibrationStats]]:
    """scales: filled with the factor a_c of every value rescaled, per channel (the equalized
    network's value is a_c times the original one).

    weight_headroom: never let a_c push the producer's weight row over a power-of-two boundary
    (which would take a bit from its weight format). Nearest rounding needs that (and gptq-sparse,
    which keeps nearest rounding's grid); the dense GPTQ fit makes up for the coarser weights,
    and there the activation's full format is worth more (docs/quantization.md, range equalization)."""
    cons = graph.consumers()
    consts = {n.output: n.value for n in graph.nodes if isinstance(n, ir.Constant)}
    new_consts: dict[str, np.ndarray] = {}
    original = stats
    stats = dict(stats)
    alphas: dict[str, np.ndarray] = {}
    for p in graph.nodes:
        if not (isinstance(p, ir.Conv) and (p.act is None or isinstance(p.act, (ir.ReluAct, ir.PReluAct)))):
            continue
        users = cons.get(p.output, [])
        if p.output == pixel_output or p.output == graph.output or len(users) != 1:
            continue
        q = users[0]
        if not (isinstance(q, ir.Conv) and q.inputs[0] == p.output) or p.output not in stats:
            continue
        st = stats[p.output]
        signed = not isinstance(p.act, ir.ReluAct)
        top = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
        alpha = np.ones(st.max_abs.size)
        wp, wq = new_consts.get(p.inputs[1], consts[p.inputs[1]]), new_consts.get(q.inputs[1], consts[q.inputs[1]])
        wtop = (1 << (wbits - 1)) - 1
        for c in range(alpha.size):
            t = kept_range(st, c, method, signed, width)
            mw = float(np.abs(wp[c]).max())
            if t > 0 and mw > 0:
                a_act = top * 2.0 ** -frac_for_range(t, width, signed) / t
                a_w = wtop * 2.0 ** -frac_for_range(mw, wbits, True) / mw
                alpha[c] = (min(a_act, a_w) if weight_headroom else a_act) * MARGIN
        new_consts[p.inputs[1]] = wp * alpha.reshape(-1, 1, 1, 1)
        if len(p.inputs) > 2:
            new_consts[p.inputs[2]] = new_consts.get(p.inputs[2], consts[p.inputs[2]]) * alpha
        new_consts[q.inputs[1]] = wq / alpha.reshape(1, -1, 1, 1)
        stats[p.output] = st.scaled(alpha)
        alphas[p.output] = alpha
    if not new_consts:
        return graph, stats
    shared = [n for n in graph.nodes if isinstance(n, ir.Constant) and n.output in new_consts
              and len(cons.get(n.output, [])) > 1]
    if shared:  # a weight read by two convs cannot be rescaled for one of them: leave all as is
        return graph, original
    if scales is not None:
        scales.update(alphas)
    nodes = tuple(replace(n, value=new_consts[n.output]) if isinstance(n, ir.Constant) and n.output in new_consts
                  else n for n in graph.nodes)
    return graph.with_nodes(nodes), stats
