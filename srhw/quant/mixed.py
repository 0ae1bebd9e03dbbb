"""Mixed precision: per-layer widths chosen to a PSNR budget (`srhw compile --psnr-budget DB`).

Loss. Each calibration frame is taken as a high-resolution image: its MATLAB-bicubic downscale by
the model's scale is the input (for a model that keeps the size, SRCNN, the bicubic x2 upscale of
that), the frame the reference, and PSNR is measured on the model's channels with `scale` pixels
shaved at each border (the protocol of `srhw eval`). The loss of a choice of widths is the float
model's mean PSNR minus the quantized model's.

Cost. The plan's multipliers of each layer (its fold, which the widths do not change) are DSP
slices, or LUT multipliers where the weights and the codes they multiply are both at most
LUT_PRODUCT_BITS wide (about LUTS_PER_LUT_MULTIPLIER LUTs each); the widths also set the bits
of the line buffers and of folded layers' weight tables. One figure orders the choices, in DSP slices of the
part: DSP + LUTs / (the part's LUTs per DSP slice) + memory bits / (its block-RAM bits per DSP).

Search, from the uniform widths: (1) while the loss exceeds the budget, raise one layer's
activation width (to 10, 12, 16) or weight width, the raise that buys the most dB per unit of
cost; (2) then, round by round, measure every single step down (one layer's weights or codes by
one bit, down to 4; or a conv's weights and its input's codes straight to 4 bits, a LUT
multiplier) and take the step that saves the most cost per dB of loss among those that stay
within the budget, until no step does. The cheapest point measured within the budget wins.
Candidates are quantized with nearest rounding, the fast path (GPTQ takes 5-10 times as long),
against the budget plus what the compile's rounding gains over nearest on the uniform widths.
The winner is quantized again with the compile's rounding and measured; if it misses, the
search runs again (its measured points kept) against a target tightened by the miss, up to four
times, and then the uniform widths are taken if they meet the budget. The record says whether
the result is within the budget.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from srhw import ir
from srhw.errors import UsageError
from srhw.fixed import LUT_PRODUCT_BITS, lut_multiplier
from srhw.imaging import psnr
from srhw.qir import QGraph

# Yosys synth_xilinx on SRCNN 9-1-5's scheduled 1x1 conv, 4 lanes of 4-bit weights on 4-bit codes:
# 0 DSP48E2 and 163 LUTs against 4 and 82 with 8-bit weights, so about 20 LUTs a multiplier
LUTS_PER_LUT_MULTIPLIER = 20
# the parts' LUTs and block-RAM bits (BRAM36), for the cost's exchange rates
PART_RESOURCES = {"zcu102": (274080, 912 * 36864), "kv260": (117120, 144 * 36864),
                  "u250": (1728000, 2688 * 36864), "vck190": (899840, 967 * 36864)}
DOWN = (16, 12, 10, 8, 7, 6, 5, 4)   # the widths a step down walks through
UP_ACT = (10, 12, 16)                # activation widths a raise tries above the uniform ones


@dataclass(frozen=True)
class Cost:
    dsp: int
    lut_multipliers: int
    memory_bits: int
    dsp_equivalent: float

    def to_dict(self) -> dict:
        return {"dsp": self.dsp, "lut_multipliers": self.lut_multipliers, "memory_bits": self.memory_bits,
                "dsp_equivalent": round(self.dsp_equivalent, 2)}


class CostModel:
    """The cost of a quantized graph's widths under one plan (srhw.backends.folding.plan)."""

    def __init__(self, fold, q: QGraph):
        luts, bram_bits = PART_RESOURCES[fold.target.board]
        dsp = fold.target.dsp
        self.lut_rate, self.bit_rate = luts / dsp, bram_bits / dsp
        self.stages = {s.name: s for s in fold.stages}
        # line buffer bits per bit of input code, from the plan's (made for q's widths)
        self.line_bits = {l.name: self.stages[l.name].line_buffer_bits // a_in for l, (a_in, _) in _operands(q)
                          if l.name in self.stages}

    def __call__(self, q: QGraph) -> Cost:
        dsp = lut = bits = 0
        for l, (a_in, w) in _operands(q):
            st = self.stages.get(l.name)
            if st is None:
                continue
            if lut_multiplier(w, a_in):
                lut += st.multipliers
            else:
                dsp += st.multipliers
            bits += self.line_bits[l.name] * a_in
            if st.groups > 1 or st.chunks > 1 or st.period:  # a folded layer reads its weights from tables; at full rate they are wiring
                bits += st.weight_bits // _width(l) * w
        equivalent = dsp + lut * LUTS_PER_LUT_MULTIPLIER / self.lut_rate + bits / self.bit_rate
        return Cost(dsp, lut, bits, equivalent)


def _width(l) -> int:
    """The width of a layer's weights (an Affine's scales); 0 for a layer without."""
    return getattr(l, "w_width", None) or getattr(l, "s_width", 0)


def _operands(q: QGraph):
    """(layer, (input code width, weight width)) of the layers that multiply."""
    fmts = {l.output: l.out_fmt for l in q.layers}
    for l in q.layers:
        if _width(l):
            fin = fmts.get(l.inputs[0])
            yield l, (8 if fin is None else fin.width, _width(l))


def calibration_pairs(frames: list[np.ndarray], model_scale: int) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """(model inputs, references, scale): each frame as the reference, its bicubic downscale as
    the input (upscaled again for a model that keeps the size)."""
    from srhw.evaluate import bicubic_up, lr_of

    s = model_scale if model_scale > 1 else 2
    inputs, refs = [], []
    for f in frames:
        c, h, w = f.shape
        hr = np.ascontiguousarray(f[:, : h - h % s, : w - w % s])
        lr = np.stack([lr_of(ch, s) for ch in hr])
        inputs.append(np.stack([bicubic_up(ch, s) for ch in lr]) if model_scale == 1 else lr)
        refs.append(hr)
    return inputs, refs, s


def mean_psnr(outs: list[np.ndarray], refs: list[np.ndarray], shave: int) -> float:
    """Mean over frames of srhw.imaging.psnr on [C, H, W] frames (every channel, shaved)."""
    return float(np.mean([psnr(y.transpose(1, 2, 0), r.transpose(1, 2, 0), shave) for y, r in zip(outs, refs)]))


class Loss:
    """The PSNR loss of a quantized graph against the float one on the calibration pairs."""

    def __init__(self, graph: ir.Graph, frames: list[np.ndarray], model_scale: int):
        from srhw.compiler import float_reference

        self.inputs, self.refs, self.shave = calibration_pairs(frames, model_scale)
        self.float_db = mean_psnr([np.floor(float_reference(graph, x) + 0.5) for x in self.inputs], self.refs,
                                  self.shave)

    def __call__(self, q: QGraph) -> float:
        from srhw import golden

        return self.float_db - mean_psnr([golden.run(q, x) for x in self.inputs], self.refs, self.shave)


def choose(graph: ir.Graph, budget_db: float, quantize_with, q: QGraph, fold, frames: list[np.ndarray],
           wbits: int, abits: int, progress: bool = False) -> tuple[QGraph, dict]:
    """The graph of the cheapest widths found within `budget_db`, and the search's record (the
    report's table). quantize_with(layer_bits, fast) -> QGraph: fast, nearest rounding for the
    search; else the compile's own. q: the uniform graph, whose plan `fold` sets the costs."""
    t0 = time.perf_counter()
    loss, cost = Loss(graph, frames, q.scale), CostModel(fold, q)
    fast = lambda lb: quantize_with(lb, True)  # noqa: E731
    # what the compile's rounding gains over nearest on the uniform widths, taken as its gain on
    # every candidate: the search runs to the budget plus that shift
    uniform_loss = loss(q)
    near = fast(())  # the uniform widths with nearest rounding: the search's first point too
    cache = {(): {"layer_bits": (), "loss_db": loss(near), "cost": cost(near)}}
    shift = cache[()]["loss_db"] - uniform_loss
    target, finals = budget_db + shift, {(): (q, uniform_loss)}
    for _ in range(4):
        last, points = search(graph, target, fast, loss, cost, wbits, abits, progress, cache)
        # the cheapest point measured within it (the greedy path's end, or one it passed by)
        chosen = min((p for p in points if p["loss_db"] <= target),
                     key=lambda p: (p["cost"].dsp_equivalent, p["loss_db"]), default=last)
        if chosen["layer_bits"] not in finals:  # with the compile's rounding
            g = quantize_with(chosen["layer_bits"], False)
            finals[chosen["layer_bits"]] = (g, loss(g))
        final, final_loss = finals[chosen["layer_bits"]]
        if final_loss <= budget_db:
            break
        target -= final_loss - budget_db + 0.01  # the rounding gained less here: search again, tighter
    else:
        if uniform_loss <= budget_db:  # the uniform widths meet it: no cheaper point found that does
            chosen, final, final_loss = cache[()], q, uniform_loss
    front = pareto(points)
    record = {"budget_db": budget_db, "rounding_gain_db": round(shift, 4), "float_psnr_db": round(loss.float_db, 3),
              "scale": loss.shave,
              "frames": len(frames), "evaluations": len(points), "seconds": round(time.perf_counter() - t0, 1),
              "front": [_row(p) for p in front], "chosen": _row(chosen) | {"final_loss_db": round(final_loss, 4)},
              "within_budget": bool(final_loss <= budget_db)}
    return final, record


def search(graph: ir.Graph, budget_db: float, quantize_with, loss: Loss, cost: CostModel, wbits: int, abits: int,
           progress: bool = False, points: dict | None = None) -> tuple[dict, list[dict]]:
    """(the greedy path's end, every point measured): the cheapest widths found whose loss is
    within `budget_db` (see the module). quantize_with(layer_bits) -> QGraph; `points`: the
    points measured before (layer_bits -> point), kept and added to."""
    from srhw.quant.quantize import layer_name, pixel_output_producer

    nodes = [n for n in graph.compute_nodes()]
    names = {n.name: layer_name(k, n) for k, n in enumerate(nodes)}
    pixel_out = pixel_output_producer(graph)
    free = [n for n in nodes if isinstance(n, (ir.Conv, ir.Affine, ir.Add))]
    adds = {n.name for n in nodes if isinstance(n, ir.Add)}
    # the layer whose codes a layer multiplies, where their width is free to choose
    source = {n.output: n.name for n in free if n.output != pixel_out}
    points = {} if points is None else points

    def key(widths: dict) -> tuple:
        return tuple((names[n], None if n in adds else w, a) for n, (w, a) in widths.items()
                     if (w, a) != (wbits, abits))

    def measure(widths: dict) -> dict:
        k = key(widths)
        if k not in points:
            q = quantize_with(k)
            points[k] = {"layer_bits": k, "loss_db": loss(q), "cost": cost(q)}
        return points[k]

    def steps(widths: dict, up: bool) -> list[dict]:
        out = []
        if not up:  # a conv to LUT multipliers at once: its weights and its input's codes to 4 bits
            for n in free:
                src = source.get(n.inputs[0])
                if isinstance(n, ir.Add) or src is None:
                    continue
                (w, a), (ws, a_in) = widths[n.name], widths[src]
                if max(w, a_in) > LUT_PRODUCT_BITS:
                    out.append(widths | {src: (ws, min(a_in, LUT_PRODUCT_BITS))}
                               | {n.name: (min(w, LUT_PRODUCT_BITS), widths[n.name][1])})
        for n in free:
            w, a = widths[n.name]
            if not isinstance(n, ir.Add):
                nw = _next(w, up, wbits)
                if nw is not None:
                    out.append(widths | {n.name: (nw, a)})
            if n.output != pixel_out:
                na = _next(a, up, abits)
                if na is not None:
                    out.append(widths | {n.name: (w, na)})
        return out

    widths = {n.name: (wbits, abits) for n in nodes}
    cur = measure(widths)
    while cur["loss_db"] > budget_db:  # (1) raise widths until the budget holds
        best = None
        for cand in steps(widths, up=True):
            p = measure(cand)
            gain = cur["loss_db"] - p["loss_db"]
            extra = max(p["cost"].dsp_equivalent - cur["cost"].dsp_equivalent, 1e-3)
            if gain > 0 and (best is None or gain / extra > best[0]):
                best = (gain / extra, cand, p)
        if best is None:
            raise UsageError(f"no widths up to 16 bits bring the loss on the calibration frames within "
                             f"{budget_db:g} dB (best: {cur['loss_db']:.3f} dB)")
        _, widths, cur = best
        if progress:
            print(f"srhw: widths {_label(cur)}: loss {cur['loss_db']:.3f} dB", file=sys.stderr, flush=True)
    while True:  # (2) lower widths while the budget holds
        best = None
        for cand in steps(widths, up=False):
            p = measure(cand)
            saved = cur["cost"].dsp_equivalent - p["cost"].dsp_equivalent
            if p["loss_db"] > budget_db or saved <= 0:
                continue
            score = (saved / max(p["loss_db"] - cur["loss_db"], 1e-3), -p["loss_db"])
            if best is None or score > best[0]:
                best = (score, cand, p)
        if best is None:
            break
        _, widths, cur = best
    return cur, list(points.values())


def pareto(points: list[dict]) -> list[dict]:
    """The points no other point beats on both loss and cost, cheapest first."""
    pts = sorted(points, key=lambda p: (p["cost"].dsp_equivalent, p["loss_db"]))
    front, best = [], math.inf
    for p in pts:
        if p["loss_db"] < best:
            front.append(p)
            best = p["loss_db"]
    return front


def _next(v: int, up: bool, uniform: int) -> int | None:
    if up:
        higher = [u for u in UP_ACT if u > v]
        return higher[0] if higher and v >= uniform else None
    lower = [d for d in DOWN if d < v]
    return lower[0] if lower else None


def _label(p: dict) -> str:
    return ", ".join(f"{n} W{w}A{a}" for n, w, a in p["layer_bits"]) or "uniform"


def _row(p: dict) -> dict:
    return {"layer_bits": [list(e) for e in p["layer_bits"]], "loss_db": round(p["loss_db"], 4)} | p["cost"].to_dict()
