"""Verilog backend: quantized IR -> OUT/rtl/, synthesizable Verilog-2005 with the ports Vitis
HLS gives the HLS top (ap_clk, ap_rst_n, AXI4-Stream `in`/`out`, s_axi_control).

The hand-written modules in `rtl/` (FIFO, line buffer, MAC array, requantization epilogue,
convolution stage, video in/out, AXI-Lite control) are copied in unchanged; the top level and
each layer's constant tables are rendered from `templates/rtl/`. Every conv uses the group
fold of hls/srhw_conv.h: the plan's fold, or where the HLS plan picked a scheduled fold
(P positions in T cycles), the group fold with floor(T / P) cycles per position, which meets
the same rate with at least as many multipliers (`RtlStage.multipliers` says how many).
"""
from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from srhw.backends.epilogue import ACT_CODES, epilogue_of
from srhw.backends.folding import Plan, group_fold, output_tail
from srhw.backends.hls import comment_text
from srhw.errors import UnsupportedModelError
from srhw.fixed import signed_width
from srhw.qir import QConv, QCrop, QDepthToSpace, QGraph
from srhw.resources import rtl_dir, templates_dir

TOP = "srhw_top"
LIBRARY = ("srhw_fifo.v", "srhw_linebuf.v", "srhw_mac.v", "srhw_requant.v", "srhw_conv.v", "srhw_video_in.v",
           "srhw_video_out.v", "srhw_axil_ctrl.v")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,60}")
TAIL_FIFO = 8   # absorbs the last conv's row-end padding steps while video_out reads a new LR row


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
    p: dict                 # srhw_conv parameters, in port order of the module
    row_bits: int
    groups_data: list[dict]
    lut: list[str]
    out_bits: int
    dh: int
    dw: int
    acc_bound: int
    fifo_depth: int
    multipliers: int        # weight slots non-zero in some group (constant-zero products vanish)


def _check(q: QGraph) -> None:
    problems = []
    for l in q.layers:
        if not isinstance(l, (QConv, QDepthToSpace, QCrop)):
            problems.append(f"layer '{l.name}' ({l.kind}, from node '{comment_text(l.source)}') has no RTL stage; "
                            f"the RTL backend builds Conv chains with DepthToSpace and Crop at the end "
                            f"(the HLS backend builds this model)")
        elif not _IDENT.fullmatch(l.name):
            problems.append(f"layer name '{comment_text(l.name)}' is not a Verilog identifier")
    convs = [l for l in q.layers if isinstance(l, QConv)]
    for a, b in itertools.pairwise(convs):
        if b.inputs[0] != a.output:
            problems.append(f"layer '{b.name}' does not read the layer before it; the RTL backend builds chains")
    tail = [k for k, l in enumerate(q.layers) if isinstance(l, (QDepthToSpace, QCrop))]
    if tail and any(isinstance(l, QConv) for l in q.layers[tail[0]:]):
        problems.append("a Conv after the DepthToSpace/Crop; the RTL backend upsamples last")
    if convs and convs[0].inputs[0] != q.input:
        problems.append(f"layer '{convs[0].name}' does not read the kernel's input")
    if problems:
        raise UnsupportedModelError("the RTL backend cannot build this model: " + "; ".join(problems))


def _stage(q: QGraph, l: QConv, plan: Plan) -> RtlStage:
    o, i, kh, kw = l.weight.shape
    pt, pl, pb, pr = l.pads
    fold = next(s for s in plan.stages if s.name == l.name)
    if fold.period:
        fold = group_fold(l, q.fmt_of(l.inputs[0]).width, plan.target, max(1, fold.period_cycles // fold.period))
    po, groups = fold.po, fold.groups
    e = epilogue_of(l)
    in_fmt = q.fmt_of(l.inputs[0])
    acc_w = int(l.cert["acc_width"])
    ew = max(e.width, acc_w)
    sh_w = signed_width(int(np.abs(e.shift).max()) + e.slope_frac) + 1
    lut_aw = max(1, math.ceil(math.log2(e.lut.size))) if e.kind == "tanh" else 1
    p = {"C_IN": i, "C_OUT": o, "KH": kh, "KW": kw, "PAD_T": pt, "PAD_L": pl, "PAD_B": pb, "PAD_R": pr,
         "MAX_W": plan.target.max_w, "IW": in_fmt.width, "I_SIGNED": int(in_fmt.signed), "OW": l.out_fmt.width,
         "WB": l.w_width, "ACC_W": acc_w, "EW": ew, "SH_W": sh_w, "SLOPE_W": e.slope_width,
         "SLOPE_FRAC": e.slope_frac, "ACT": ACT_CODES[e.kind], "OUT_LO": e.out_lo, "OUT_HI": e.out_hi,
         "LUT_LO": e.lut_lo, "LUT_HI": e.lut_hi, "LUT_AW": lut_aw, "PO": po, "GROUPS": groups,
         "GW": max(1, math.ceil(math.log2(groups)))}
    n = i * kh * kw
    rows = l.weight.reshape(o, n)
    groups_data = []
    for g in range(groups):
        outs = [g * po + k for k in range(po)]
        def lane(vals, outs=outs):
            return [int(vals[c]) if c < o else 0 for c in outs]
        groups_data.append({
            "outputs": [c if c < o else "none" for c in outs],
            "rows": [hex_literal(rows[c] if c < o else np.zeros(n), l.w_width) for c in outs],
            "bias": hex_literal(lane(l.bias), acc_w), "shift": hex_literal(lane(e.shift), sh_w),
            "slope": hex_literal(lane(e.slope), e.slope_width), "lo": hex_literal(lane(e.lo), ew),
            "hi": hex_literal(lane(e.hi), ew)})
    slots = np.zeros((po, n), dtype=bool)
    for g in range(groups):
        block = rows[g * po:(g + 1) * po] != 0
        slots[:block.shape[0]] |= block
    lut = [f"{l.out_fmt.width}'h{int(v) & ((1 << l.out_fmt.width) - 1):x}" for v in e.lut] if e.kind == "tanh" else []
    return RtlStage(l.name, f"{l.kind} {o}x{i}x{kh}x{kw}, {e.kind}, from node {comment_text(l.source)}", p, n * l.w_width,
                    groups_data, lut, o * l.out_fmt.width, pt + pb - kh + 1, pl + pr - kw + 1,
                    int(l.cert["acc_bound"]), 2, int(slots.sum()))


def stages_of(q: QGraph, plan: Plan) -> list[RtlStage]:
    _check(q)
    return [_stage(q, l, plan) for l in q.layers if isinstance(l, QConv)]


def render(q: QGraph, plan: Plan) -> dict[str, str]:
    """The files of OUT/rtl/, keyed by relative path."""
    stages = stages_of(q, plan)
    tail = output_tail(q)
    t = plan.target
    view = {"top": TOP, "model": comment_text(q.meta.get("model", q.name)), "stages": stages,
            "in_channels": q.input_channels, "in_bits": 8 * q.input_channels,
            "out_bits": 8 * tail.hr_channels * plan.ppc, "hr_channels": tail.hr_channels, "scale": tail.scale,
            "mode": tail.mode, "ppc": plan.ppc, "crop_b": tail.crop_bottom, "crop_r": tail.crop_right,
            "max_w": t.max_w, "fixed": t.fixed_size, "in_w": t.in_w, "in_h": t.in_h,
            "axil_aw": 4 if t.fixed_size else 5, "tail_fifo_depth": TAIL_FIFO}
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "rtl")), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["offset"] = lambda d: "" if d == 0 else (f" + 16'd{d}" if d > 0 else f" - 16'd{-d}")
    files = {f"{TOP}.v": env.get_template("srhw_top.v.j2").render(**view),
             "srhw_roms.v": env.get_template("srhw_roms.v.j2").render(**view)}
    for name in LIBRARY:
        files[name] = (rtl_dir() / name).read_text(encoding="utf-8")
    files["files.f"] = "\n".join(list(LIBRARY) + ["srhw_roms.v", f"{TOP}.v"]) + "\n"
    config = {"multipliers": {s.name: s.multipliers for s in stages},
              "stages": [{"name": s.name, "groups": s.p["GROUPS"], "po": s.p["PO"], "kh": s.p["KH"], "kw": s.p["KW"],
                          "pads": [s.p["PAD_T"], s.p["PAD_L"], s.p["PAD_B"], s.p["PAD_R"]]} for s in stages]}
    files["srhw_rtl.json"] = json.dumps(config, indent=2, sort_keys=True) + "\n"
    return files
