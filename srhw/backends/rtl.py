"""Verilog backend: quantized IR -> OUT/rtl/, synthesizable Verilog-2005 with the ports Vitis
HLS gives the HLS top (ap_clk, ap_rst_n, AXI4-Stream `s_axis_video`/`m_axis_video`, s_axi_control).

The hand-written modules in `rtl/` (FIFO, line buffer, MAC array, requantization epilogue,
the two convolution stages, video in/out, AXI-Lite control) are copied in unchanged; the top
level, each layer's constant tables and each scheduled layer's operand schedule are rendered
from `templates/rtl/`. Every conv takes the plan's fold, as the HLS backend does: output
groups (srhw_conv.v) or P positions in T cycles (srhw_conv_sched.v). The network may be a DAG:
a residual Add is a stage of its own (srhw_add.v), and a value read by several layers goes
through a chain of two-way forks (srhw_fork.v), the same streams as the HLS top's.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from srhw.backends.epilogue import epilogue_of
from srhw.backends.dataflow import (DEEP_FIFO, MIN_DEPTH, SUMS_DEPTH, Latency, fork_chain, reader_streams,
                                    readers_of)
from srhw.backends.folding import IN_PORT, OUT_PORT, Plan, StageFold, chunk_words, output_tail, schedule_tables
from srhw.backends.hls import comment_text
from srhw.errors import BackendError
from srhw.fixed import conv_growth, multiplier_width, signed_width
from srhw.qir import QAdd, QAffine, QConv, QCrop, QDepthToSpace, QGraph, QTable, TanhAct
from srhw.resources import rtl_dir, templates_dir

TOP = "srhw_top"
LIBRARY = ("srhw_fifo.v", "srhw_linebuf.v", "srhw_tree.v", "srhw_mac.v", "srhw_requant.v", "srhw_conv.v",
           "srhw_conv_sched.v", "srhw_add.v", "srhw_table.v", "srhw_fork.v", "srhw_fifo_bram.v", "srhw_video_in.v", "srhw_video_out.v",
           "srhw_axil_ctrl.v")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,60}")
LPR = 2         # adder levels per register stage in every adder tree (srhw_tree.v)
LANES_PER_BANK = 512  # a scheduled layer's lanes per generated module (srhw_lanes.v): Yosys's time and memory
                      # grow faster than linearly with a flattened module, so `srhw synth` takes each bank apart
EPILOGUE_LAT = 5  # srhw_requant.v's register stages
ADD_LAT = 1 + EPILOGUE_LAT     # srhw_add.v: the aligned sums and the epilogue (then the output register,
                                # counted as srhw_conv's LC counts its own)
TABLE_LAT = 1                   # srhw_table.v: the registered codes (then the output register)


def tree_stages(n: int, lpr: int = LPR) -> int:
    """Register stages of srhw_tree for n terms: ceil(ceil(log2 n) / LPR)."""
    return -(-max(0, math.ceil(math.log2(n)) if n > 1 else 0) // lpr)


def hex_literal(values, width: int) -> str:
    """A Verilog literal of len(values) two's-complement fields of `width` bits, values[0] lowest."""
    mask = (1 << width) - 1
    acc = 0
    for k, v in enumerate(values):
        acc |= (int(v) & mask) << (k * width)
    bits = width * len(values)
    return f"{bits}'h{acc:0{(bits + 3) // 4}x}"


@dataclass
class RtlStage:
    name: str
    comment: str
    kind: str               # "conv" (srhw_conv, output groups) or "sched" (srhw_conv_sched)
    p: dict                 # the stage module's parameters
    row_bits: int
    groups_data: list[dict]  # per output group: the epilogue's parameters (kind "conv")
    sched: dict | None      # the schedule's lanes and sums (kind "sched")
    lut: list[str]
    in_bits: int
    out_bits: int
    dh: int
    dw: int
    acc_bound: int
    multipliers: int        # group fold: weight slots non-zero in some group; schedule: lanes
    bus: dict               # the widths of the stage's vector ports, lanes x element bits (_buses)
    layer: QConv
    fold: StageFold
    steps_data: list[dict] = field(default_factory=list)  # per step g * CHUNKS + s: weight rows, bias (kind "conv")


@dataclass
class RtlAdd:
    """A residual Add's stage (srhw_add.v): its parameters and per-channel epilogue constants."""

    name: str
    comment: str
    p: dict                 # srhw_add's parameters
    consts: dict            # shift, slope, lo, hi, zero: one literal of C fields each
    lut: list[str]
    in_bits: tuple[int, int]
    out_bits: int
    acc_bound: int
    bus: dict
    layer: QAdd
    kind: str = "add"
    multipliers: int = 0
    dh: int = 0
    dw: int = 0


def _buses(lanes: int, p: dict, row_bits: int = 0) -> dict:
    """The bits of each vector that carries one element per lane (PO lanes of an output group,
    C_OUT of a schedule): weights, bias, shift, slope, clip bounds, the tanh LUT's address and
    data; a schedule's per-(position, output) sums; the group fold's weight rows."""
    bus = {"weights": lanes * row_bits, "bias": lanes * p["ACC_W"], "shift": lanes * p["SH_W"],
           "mult": lanes * p.get("MULT_W", 1),
           "slope": lanes * p["SLOPE_W"], "bounds": lanes * p["EW"], "lut_addr": lanes * p["LUT_AW"],
           "lut_data": lanes * p["OW"]}
    if "P" in p:
        bus["delta"] = p["P"] * lanes * p["ACC_W"]
    return bus


def as_conv(q: QGraph, l: QAffine) -> QConv:
    """A per-channel Affine as the 1x1 convolution it is: weight[o, o] = scale[o], 0 elsewhere,
    the same bias, accumulator and epilogue, so the same codes (docs/arithmetic.md). Its stage is
    the plan's fold for the Affine (one group of C outputs a cycle); the zero weights are constant
    zero products, which synthesis removes, leaving C multipliers as the plan counts."""
    c = l.scale.size
    weight = np.zeros((c, c, 1, 1), dtype=np.int64)
    weight[np.arange(c), np.arange(c), 0, 0] = l.scale
    w_frac = l.acc_frac.reshape(-1, 1) - q.frac_of(l.inputs[0]).reshape(1, -1)
    return QConv(name=l.name, source=l.source, inputs=l.inputs, output=l.output, out_fmt=l.out_fmt,
                 out_frac=l.out_frac, cert=l.cert, stats=l.stats, out_zero=l.out_zero, weight=weight, w_frac=w_frac,
                 w_width=l.s_width, bias=l.bias, acc_frac=l.acc_frac, pads=(0, 0, 0, 0), act=l.act)


@dataclass
class RtlTable:
    """A code table's stage (srhw_table.v, a model quantized already): per channel, the table's
    entries as (input code pattern, output code) Verilog literals."""

    name: str
    comment: str
    p: dict                 # srhw_table's parameters
    entries: list[list[tuple[str, str]]]
    in_bits: int
    out_bits: int
    layer: QTable
    kind: str = "table"
    multipliers: int = 0
    lut: list[str] = field(default_factory=list)
    dh: int = 0
    dw: int = 0


def _table(q: QGraph, l: QTable) -> RtlTable:
    c, n = l.table.shape
    iw, ow = q.fmt_of(l.inputs[0]).width, l.out_fmt.width
    entries = [[(f"{iw}'h{(l.in_lo + j) & ((1 << iw) - 1):x}", f"{ow}'h{int(l.table[ch, j]) & ((1 << ow) - 1):x}")
                for j in range(n)] for ch in range(c)]
    comment = f"code table of {c} channel(s), {n} codes each, from node {comment_text(l.source)}"
    return RtlTable(name=l.name, comment=comment, p={"C": c, "IW": iw, "OW": ow}, entries=entries,
                    in_bits=c * iw, out_bits=c * ow, layer=l)


def conv_layers(q: QGraph) -> list[QConv]:
    """The layers that become conv stages, in order: the convolutions, and each Affine as its
    1x1 convolution (as_conv)."""
    return [as_conv(q, l) if isinstance(l, QAffine) else l for l in q.layers if isinstance(l, (QConv, QAffine))]


def check(q: QGraph) -> None:
    problems = []
    for l in q.layers:
        if not isinstance(l, (QConv, QAffine, QAdd, QTable, QDepthToSpace, QCrop)):
            problems.append(f"layer '{l.name}' ({l.kind}, from node '{comment_text(l.source)}') has no RTL stage; "
                            f"the RTL backend builds Conv, per-channel Affine, Add and code-table layers with "
                            f"DepthToSpace and Crop at the end (the HLS backend builds this model)")
        elif not _IDENT.fullmatch(l.name):
            problems.append(f"layer name '{comment_text(l.name)}' is not a Verilog identifier")
    tail = [k for k, l in enumerate(q.layers) if isinstance(l, (QDepthToSpace, QCrop))]
    late = next((l for l in q.layers[tail[0]:] if not isinstance(l, (QDepthToSpace, QCrop))), None) if tail else None
    if late is not None:
        problems.append(f"layer '{late.name}' ({late.kind}, from node '{comment_text(late.source)}') runs after the "
                        f"DepthToSpace/Crop; the RTL backend upsamples last")
    if problems:
        raise BackendError("the RTL backend cannot build this model: " + "; ".join(problems))


def epi_of(l: QConv | QAdd, e) -> dict:
    """srhw_requant's parameters for a layer's epilogue `e` (epilogue_of)."""
    acc_w = l.cert.acc_width
    lut_aw = max(1, math.ceil(math.log2(e.lut.size))) if isinstance(e.act, TanhAct) else 1
    return {"OW": l.out_fmt.width, "ACC_W": acc_w, "EW": max(e.width, acc_w),
            "SH_W": signed_width(int(np.abs(e.shift).max()) + e.slope_frac) + 1, "SLOPE_W": e.slope_width,
            "SLOPE_FRAC": e.slope_frac, "ACT": e.act.code, "OUT_LO": e.out_lo, "OUT_HI": e.out_hi,
            "LUT_LO": e.lut_lo, "LUT_HI": e.lut_hi, "LUT_AW": lut_aw}


def mult_of(e) -> dict:
    """A conv epilogue's requantizer of a model quantized already (srhw_requant's HAS_MULT, MULT_W,
    HALF_EVEN); an Add has none."""
    return {"HAS_MULT": int(bool(np.any(e.mult != 1))), "MULT_W": max(1, int(e.mult.max()).bit_length()),
            "HALF_EVEN": int(e.half_even)}


def lut_of(l: QConv | QAdd, e) -> list[str]:
    """The tanh LUT's entries as Verilog literals (none for the other activations)."""
    return [f"{l.out_fmt.width}'h{int(v) & ((1 << l.out_fmt.width) - 1):x}" for v in e.lut] \
        if isinstance(e.act, TanhAct) else []


def _add(q: QGraph, l: QAdd) -> RtlAdd:
    """The Add's stage: both codes aligned to the accumulator's frac by constant left shifts."""
    e = epilogue_of(l)
    c = int(l.out_frac.size)
    fa, fb = q.fmt_of(l.inputs[0]), q.fmt_of(l.inputs[1])
    align = [l.acc_frac - f for f in l.in_fracs]
    if any(int(a.min()) < 0 or int(a.max()) > 255 for a in align):  # the quantizer aligns to the larger frac
        raise BackendError(f"layer '{l.name}': an Add aligns its inputs by left shifts of 0..255 bits, not {align}")
    epi = epi_of(l, e)
    p = {"C": c, "AW": fa.width, "A_SIGNED": int(fa.signed), "BW": fb.width, "B_SIGNED": int(fb.signed)} | epi | \
        {"ALIGN_A": hex_literal(align[0], 8), "ALIGN_B": hex_literal(align[1], 8)}
    consts = {"shift": hex_literal(e.shift, epi["SH_W"]), "slope": hex_literal(e.slope, e.slope_width),
              "lo": hex_literal(e.lo, epi["EW"]), "hi": hex_literal(e.hi, epi["EW"]),
              "zero": hex_literal(e.zero, epi["EW"])}
    comment = f"Add of {c} channels, {e.act.kind}, from node {comment_text(l.source)}"
    return RtlAdd(name=l.name, comment=comment, p=p, consts=consts, lut=lut_of(l, e),
                  in_bits=(c * fa.width, c * fb.width), out_bits=c * l.out_fmt.width, acc_bound=l.cert.acc_bound,
                  bus=_buses(c, epi), layer=l)


def _stage(q: QGraph, l: QConv, plan: Plan) -> RtlStage:
    o, i, kh, kw = l.weight.shape
    pt, pl, pb, pr = l.pads
    fold = next(s for s in plan.stages if s.name == l.name)
    e = epilogue_of(l)
    in_fmt = q.fmt_of(l.inputs[0])
    acc_w = l.cert.acc_width
    shape = {"C_IN": i, "C_OUT": o, "KH": kh, "KW": kw, "PAD_T": pt, "PAD_L": pl, "PAD_B": pb, "PAD_R": pr,
             "MAX_W": plan.target.max_w, "IW": in_fmt.width}
    epi = epi_of(l, e) | mult_of(e)
    ew = epi["EW"]
    if np.any(l.pad) and any(l.pads):  # zero points: padding with the input's code of real 0
        epi["PAD"] = hex_literal(l.pad, in_fmt.width)
    if np.any(e.zero):
        epi["ZERO"] = hex_literal(e.zero, ew)
    lut = lut_of(l, e)
    comment = f"{l.kind} {o}x{i}x{kh}x{kw}, {e.act.kind}, from node {comment_text(l.source)}"
    common = {"layer": l, "fold": fold, "name": l.name, "comment": comment, "lut": lut, "in_bits": i * in_fmt.width, "out_bits": o * l.out_fmt.width,
              "dh": conv_growth(kh, kw, l.pads)[0], "dw": conv_growth(kh, kw, l.pads)[1], "acc_bound": l.cert.acc_bound}
    if fold.period:
        return _sched_stage(l, in_fmt, shape, epi, e, fold.period, fold.period_cycles, common)
    po, groups = fold.po, fold.groups
    n = i * kh * kw
    chunks, simd = (fold.chunks, fold.simd) if fold.chunks > 1 else (1, n)
    steps = groups * chunks
    p = shape | {"I_SIGNED": int(in_fmt.signed), "WB": l.w_width,
                 "MUL_W": multiplier_width(l.w_width, in_fmt)} | epi | \
        {"PO": po, "GROUPS": groups, "GW": max(1, math.ceil(math.log2(groups))), "CHUNKS": chunks, "SIMD": simd,
         "KB": max(1, math.ceil(math.log2(steps))), "LPR": LPR, "LAT_T": tree_stages(simd + 1)}
    words = chunk_words(l.weight, groups, po, chunks, simd)   # [GROUPS, CHUNKS, PO, SIMD]
    steps_data, groups_data = [], []
    for g in range(groups):
        outs = [g * po + k for k in range(po)]
        def lane(vals, outs=outs):
            return [int(vals[c]) if c < o else 0 for c in outs]
        for c in range(chunks):  # the bias enters with the group's first chunk
            steps_data.append({
                "outputs": [oo if oo < o else "none" for oo in outs], "chunk": c,
                "rows": [hex_literal(words[g, c, k], l.w_width) for k in range(po)],
                "bias": hex_literal(lane(l.bias) if c == 0 else [0] * po, acc_w)})
        groups_data.append({
            "mult": hex_literal(lane(e.mult), epi["MULT_W"]), "shift": hex_literal(lane(e.shift), epi["SH_W"]),
            "slope": hex_literal(lane(e.slope), e.slope_width), "lo": hex_literal(lane(e.lo), ew),
            "hi": hex_literal(lane(e.hi), ew)})
    return RtlStage(**common, kind="conv", p=p, row_bits=simd * l.w_width, groups_data=groups_data,
                    steps_data=steps_data, sched=None, multipliers=int(np.any(words != 0, axis=(0, 1)).sum()),
                    bus=_buses(po, p, simd * l.w_width))


def _sched_stage(l: QConv, in_fmt, shape: dict, epi: dict, e, period: int, cycles: int, common: dict) -> RtlStage:
    """The scheduled fold: per lane (output o, lane j), the case over the slot's cycles of its
    operand (a window tap), weight and position q, from folding.schedule_tables."""
    o, i, kh, kw = l.weight.shape
    s = schedule_tables(l.weight, period, cycles)
    wc = kw + period - 1
    iw, wb, acc_w = in_fmt.width, l.w_width, epi["ACC_W"]
    kb = max(1, math.ceil(math.log2(cycles)))
    lat_t = tree_stages(s.span)
    p = shape | epi | {"P": period, "T": cycles, "KB": kb, "LS": 2 + lat_t, "SUMS_DEPTH": SUMS_DEPTH}
    lanes, sums = [], {(qq, oo): [] for qq in range(period) for oo in range(o)}
    for oo in range(o):
        for j in range(s.lanes[oo]):
            entries = []
            for k in range(cycles):
                wt = int(s.weight[oo, j, k])
                if wt == 0:
                    continue
                qq, c, u, v = (int(a[oo, j, k]) for a in (s.q, s.c, s.u, s.v))
                tap = ((c * kh + u) * wc + v + qq) * iw
                sign = f"window[{tap + iw - 1}]" if in_fmt.signed else "1'b0"
                entries.append({"k": k, "x": f"{{{sign}, window[{tap} +: {iw}]}}",
                                "w": f"{wb}'sh{wt & ((1 << wb) - 1):x}", "q": qq})
            if not entries:
                continue
            name = f"o{oo}_l{j}"
            served = sorted({en["q"] for en in entries})
            gated = len(served) > 1  # a lane that serves one position needs no gate: idle, its product is 0
            lanes.append({"name": name, "o": oo, "entries": entries, "gated": gated})
            for qq in served:
                # (an unsigned zero: the term only goes into a concatenation, and Yosys 0.23 asserts
                # on a signed expression there)
                sums[(qq, oo)].append(f"(pq_{name} == {qq} ? p_{name} : {acc_w}'d0)" if gated else f"p_{name}")
    banks = _banks(l.name, lanes, sums, period, o, acc_w)
    # a sum no lane feeds is a constant zero here, where the stage around the banks sees it
    src = {(d["q"], d["o"]): f"{b['name']}_delta[{d['offset']} +: {acc_w}]" for b in banks for d in b["delta"]
           if d["terms"]}
    delta = [{"q": qq, "o": oo, "offset": (qq * o + oo) * acc_w, "src": src.get((qq, oo), f"{acc_w}'d0")}
             for qq in range(period) for oo in range(o)]
    consts = {"bias": hex_literal(l.bias, acc_w), "mult": hex_literal(e.mult, epi["MULT_W"]),
              "shift": hex_literal(e.shift, epi["SH_W"]),
              "slope": hex_literal(e.slope, e.slope_width), "lo": hex_literal(e.lo, epi["EW"]),
              "hi": hex_literal(e.hi, epi["EW"])}
    sched = {"banks": banks, "delta": delta, "consts": consts, "window_bits": i * kh * wc * iw, "wb": wb,
             "mul_w": multiplier_width(wb, in_fmt),
             "qb": max(1, math.ceil(math.log2(period))), "lpr": LPR, "lat_t": lat_t}
    return RtlStage(**common, kind="sched", p=p, row_bits=0, groups_data=[], sched=sched, multipliers=len(lanes),
                    bus=_buses(o, p))


def _banks(layer: str, lanes: list[dict], sums: dict, period: int, outputs: int, acc_w: int) -> list[dict]:
    """The lanes in banks of whole outputs (an output's lanes feed its adder trees), at most
    LANES_PER_BANK lanes each unless one output has more: per bank, its module name, lanes and
    the sums it computes, at offsets (q * outputs in bank + o - first output) * acc_w of its bus."""
    by_out: dict[int, list[dict]] = {}
    for lane in lanes:
        by_out.setdefault(lane["o"], []).append(lane)
    groups: list[list[int]] = []
    count = 0
    for oo in range(outputs):
        n = len(by_out.get(oo, []))
        if not groups or (count + n > LANES_PER_BANK and count > 0):
            groups.append([])
            count = 0
        groups[-1].append(oo)
        count += n
    banks = []
    for b, outs in enumerate(groups):
        width = len(outs)
        delta = [{"q": qq, "o": oo, "terms": sums[(qq, oo)], "offset": (qq * width + j) * acc_w}
                 for qq in range(period) for j, oo in enumerate(outs)]
        banks.append({"name": f"srhw_lanes_{layer}_{b}", "outputs": f"{outs[0]}..{outs[-1]}",
                      "lanes": [lane for oo in outs for lane in by_out.get(oo, [])], "delta": delta,
                      "delta_bits": period * width * acc_w})
    return banks


def latency(q: QGraph, plan: Plan) -> Latency:
    """The stages' latencies, for the dataflow model: steps to output (srhw_conv.v: ROM read,
    products, adder trees, 5 epilogue stages, the result vector), or the MAC side's steps to
    sums and the output side's steps to output (srhw_conv_sched.v); input chunks add the chunk
    register and the running sum."""
    out = {}
    for l in conv_layers(q):
        f = next(s for s in plan.stages if s.name == l.name)
        o, i, kh, kw = l.weight.shape
        if f.period:
            out[l.name] = (2 + tree_stages(schedule_tables(l.weight, f.period, f.period_cycles).span),
                           1 + EPILOGUE_LAT)
        elif f.chunks > 1:  # the chunk register and the running sum
            out[l.name] = (5 + tree_stages(f.simd + 1) + EPILOGUE_LAT,)
        else:
            out[l.name] = (3 + tree_stages(i * kh * kw + 1) + EPILOGUE_LAT,)
    for l in q.layers:
        if isinstance(l, QAdd):
            out[l.name] = (ADD_LAT,)
        elif isinstance(l, QTable):
            out[l.name] = (TABLE_LAT,)
    return Latency(stages=out)


def stages_of(q: QGraph, plan: Plan) -> list[RtlStage | RtlAdd | RtlTable]:
    """A stage per layer before the upsampling, in the IR's order: conv stages (an Affine as its
    1x1 conv), Add stages and code tables."""
    check(q)
    convs = {l.name: l for l in conv_layers(q)}
    return [_add(q, l) if isinstance(l, QAdd) else _table(q, l) if isinstance(l, QTable) else
            _stage(q, convs[l.name], plan) for l in q.layers if isinstance(l, (QConv, QAffine, QAdd, QTable))]


@dataclass
class TopStream:
    """A stream between two of the top's blocks, through a FIFO in front of its reader (the
    dataflow model's stream of that name, with its depth); `h`, `w`: the frame it carries."""

    name: str
    bits: int
    depth: int
    h: str
    w: str

    @property
    def fifo(self) -> str:
        """The FIFO module: block RAM past DEEP_FIFO entries (as the HLS top binds it)."""
        return "srhw_fifo_bram" if self.depth > DEEP_FIFO else "srhw_fifo"


@dataclass
class TopBlock:
    kind: str                 # "stage" (a layer's srhw_stage_<name>), "fork"
    reads: list[str]          # streams, in the stage's port order (an Add: a, b)
    writes: list[str]
    stage: RtlStage | RtlAdd | None = None


def topology(q: QGraph, stages: list[RtlStage | RtlAdd], depths: dict[str, int]) \
        -> tuple[list[TopBlock], dict[str, TopStream], str]:
    """The top's blocks (stages and forks, producers first) and streams, named as the dataflow
    model and the HLS top name them (s_in, s_<layer>, a fork chain's _r<k>/_t<k>); and the
    stream the output stage reads."""
    layers = [l for l in q.layers if not isinstance(l, (QDepthToSpace, QCrop))]
    readers, pixel_value = readers_of(q)
    next_stream = reader_streams(readers)
    streams: dict[str, TopStream] = {}
    blocks: list[TopBlock] = []
    base: dict[str, str] = {}

    def produce(value: str, name: str, bits: int, h: str, w: str) -> None:
        base[value] = name
        streams[name] = TopStream(name, bits, depths.get(name, MIN_DEPTH), h, w)
        for src, outs in fork_chain(name, readers.get(value, 0)):
            blocks.append(TopBlock("fork", [src], list(outs)))
            for o in outs:
                streams[o] = TopStream(o, bits, depths.get(o, MIN_DEPTH), h, w)

    def read(value: str) -> str:
        return next_stream(value, base[value])

    produce(q.input, "s_in", 8 * q.input_channels, "in_h", "in_w")
    for l, st in zip(layers, stages):
        ins = [read(v) for v in (l.inputs if isinstance(l, QAdd) else l.inputs[:1])]
        src = streams[ins[0]]
        blocks.append(TopBlock("stage", ins, [f"s_{l.name}"], st))
        produce(l.output, f"s_{l.name}", st.out_bits, f"{src.name}_h" + _offset(st.dh),
                f"{src.name}_w" + _offset(st.dw))
    return blocks, streams, read(pixel_value)


def _stage_entry(s: RtlStage | RtlAdd | RtlTable) -> dict:
    """A stage in srhw_rtl.json: its kind and fold (an Add or a table: one pixel per cycle, no fold)."""
    if isinstance(s, (RtlAdd, RtlTable)):
        return {"name": s.name, "kind": s.kind, "groups": None, "po": None, "period": None, "period_cycles": None,
                "chunks": None, "simd": None}
    return {"name": s.name, "kind": s.kind, "groups": s.fold.groups or None, "po": s.fold.po or None,
            "period": s.fold.period or None, "period_cycles": s.fold.period_cycles or None,
            "chunks": s.fold.chunks if s.fold.chunks > 1 else None, "simd": s.fold.simd or None,
            "kh": s.layer.weight.shape[2], "kw": s.layer.weight.shape[3], "pads": list(s.layer.pads)}


def _offset(d: int) -> str:
    return "" if d == 0 else (f" + 16'd{d}" if d > 0 else f" - 16'd{-d}")


def render(q: QGraph, plan: Plan, depths: dict[str, int]) -> dict[str, str]:
    """The files of OUT/rtl/, keyed by relative path; `depths` per stream, from the model."""
    stages = stages_of(q, plan)
    blocks, streams, last = topology(q, stages, depths)
    tail = output_tail(q)
    t = plan.target
    view = {"top": TOP, "model": comment_text(q.meta.model or q.name), "stages": stages,
            "in_port": IN_PORT, "out_port": OUT_PORT,
            "in_channels": q.input_channels, "in_bits": 8 * q.input_channels,
            "out_bits": 8 * tail.hr_channels * plan.ppc, "hr_channels": tail.hr_channels, "scale": tail.scale,
            "in_keep_bits": q.input_channels, "out_keep_bits": tail.hr_channels * plan.ppc,   # a TKEEP bit per byte
            "out_keep_all": f"{(1 << (tail.hr_channels * plan.ppc)) - 1:x}",
            "mode": tail.mode, "ppc": plan.ppc, "crop_b": tail.crop_bottom, "crop_r": tail.crop_right,
            "max_w": t.max_w, "fixed": t.fixed_size, "in_w": t.in_w, "in_h": t.in_h,
            "axil_aw": 6, "blocks": blocks, "streams": streams, "tail": streams[last], "deep_fifo": DEEP_FIFO}
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "rtl")), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    files = {f"{TOP}.v": env.get_template("srhw_top.v.j2").render(**view),
             "srhw_lanes.v": env.get_template("srhw_lanes.v.j2").render(**view),
             "srhw_roms.v": env.get_template("srhw_roms.v.j2").render(**view),
             "srhw_stages.v": env.get_template("srhw_stages.v.j2").render(**view)}
    for name in LIBRARY:
        files[name] = (rtl_dir() / name).read_text(encoding="utf-8")
    files["files.f"] = "\n".join(list(LIBRARY) + ["srhw_lanes.v", "srhw_roms.v", "srhw_stages.v", f"{TOP}.v"]) + "\n"
    config = {"multipliers": {s.name: s.multipliers for s in stages},
              # the stages whose products are LUT multipliers (srhw.fixed.lut_multiplier), not DSP slices
              "lut_multipliers": {s.name: s.multipliers for s in stages if isinstance(s, RtlStage) and s.fold.lut},
              "fifo_depths": dict(sorted(depths.items())),
              "banks": {s.name: {b["name"]: len(b["lanes"]) for b in s.sched["banks"]} for s in stages
                        if s.kind == "sched"},
              "latency": {k: list(v) for k, v in latency(q, plan).stages.items()}, "ppc": plan.ppc,
              "stages": [_stage_entry(s) for s in stages]}
    files["srhw_rtl.json"] = json.dumps(config, indent=2, sort_keys=True) + "\n"
    return files
