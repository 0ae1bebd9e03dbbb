"""The human report (report.md, rendered from templates/report/report.md.j2) and summary.json."""
from __future__ import annotations

import math

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from srhw.qir import PReluAct, QAffine, QConv, QGraph, QLayer, QTable, TanhAct
from srhw.resources import templates_dir


def fmt_text(fmt, fracs) -> str:
    """`s8.5` for one frac, `s8.[3..6]` when the channels have their own fracs."""
    lo, hi = int(min(fracs)), int(max(fracs))
    return f"{'s' if fmt.signed else 'u'}{fmt.width}.{lo}" if lo == hi else \
        f"{'s' if fmt.signed else 'u'}{fmt.width}.[{lo}..{hi}]"


def layer_row(l: QLayer, q: QGraph) -> dict:
    """A flat, pre-formatted view of one layer for the report (no arithmetic in templates)."""
    ins = ", ".join(fmt_text(q.fmt_of(i), q.frac_of(i)) for i in l.inputs)
    out = fmt_text(l.out_fmt, l.out_frac)
    if l.out_zero is not None:
        out += f", zero points {int(l.out_zero.min())}..{int(l.out_zero.max())}"
    row = {"name": l.name, "kind": l.kind, "source": l.source, "in_fmt": ins, "out_fmt": out,
           "shape": "", "weights": "", "act": getattr(getattr(l, "act", None), "kind", ""),
           "acc_bound": l.cert.acc_bound if l.cert else "", "acc_width": l.cert.acc_width if l.cert else "",
           "round_width": l.cert.round_width if l.cert else "", "macs": l.stats.get("macs_per_lr_pixel", 0),
           "params": 0}
    if isinstance(l, QConv):
        o, i, kh, kw = l.weight.shape
        row |= {"shape": f"{i}->{o}, {kh}x{kw}, pads {list(l.pads)}",
                "weights": f"s{l.w_width}, frac {int(l.w_frac.min())}..{int(l.w_frac.max())}",
                "params": int(l.weight.size + l.bias.size)}
        if l.mult is not None:  # a model quantized already: its own weight codes, acc x mult >> shift
            row["weights"] = (f"s{l.w_width} (the model's), x {int(l.mult.max()).bit_length()}-bit multiplier "
                              f">> {int(l.acc_frac.min())}..{int(l.acc_frac.max())}, round half to even")
    elif isinstance(l, QTable):
        c, n = l.table.shape
        row |= {"shape": f"{c} channels", "weights": f"table of {n} codes per channel"}
    elif isinstance(l, QAffine):
        row |= {"shape": f"{l.scale.size} channels", "weights": f"s{l.s_width}, frac {int(l.s_frac.min())}.."
                f"{int(l.s_frac.max())}", "params": int(l.scale.size + l.bias.size)}
    act = getattr(l, "act", None)
    if isinstance(act, PReluAct):
        row["act"] = f"prelu (slopes {act.slope_fmt})"
        row["params"] += int(act.slope.size)
    elif isinstance(act, TanhAct):
        row["act"] = f"tanh (LUT {act.lut.size} x {l.out_fmt})"
    return row


def layer_rows(q: QGraph) -> list[dict]:
    return [layer_row(l, q) for l in q.layers]


def _fold_text(st) -> str:
    if st.period:
        return f"{st.period} px / {st.period_cycles} cycles"
    if st.chunks > 1:
        return f"II {st.groups * st.chunks}, {st.po} out x {st.simd} taps/cycle"
    return f"II {st.groups}, {st.po} out/cycle"


def hls_summary(fold) -> dict:
    """The folding plan as numbers (report.md and summary.json)."""
    t = fold.target
    asked = fold.requested.target if fold.requested else t   # the rate asked for (a plan folded to fit runs slower)
    fitted = {"fitted_to_dsp": {"requested_multipliers": fold.requested.multipliers, "fps": round(t.fps, 2)}} \
        if fold.requested else {"deepest_fold_multipliers": fold.deepest} if fold.deepest else {}
    return {"board": t.board, "part": t.part, "dsp_slices": t.dsp, "fits_dsp_slices": fold.dsp_multipliers <= t.dsp,
            "clock_mhz": t.clock_mhz, "fps_target": asked.fps,
            "in_size": f"{t.in_w}x{t.in_h}", "max_width": t.max_w, "pixels_per_beat_out": fold.ppc,
            "cycles_per_lr_pixel_budget": round(asked.budget, 4), **fitted,
            "cycles_per_lr_pixel": round(fold.cycles_per_lr_pixel, 4),
            "projected_fps": round(fold.projected_fps, 2), "multipliers": fold.multipliers,
            "dsp_estimate": fold.dsp_multipliers,  # one DSP per multiplier but the LUT ones: an upper bound
            "lut_multipliers": fold.lut_multipliers,
            "multiplier_bound": round(fold.bound, 1),
            "multipliers_over_bound": round(fold.multipliers / fold.bound, 4) if fold.bound else None,
            "line_buffer_bits": sum(st.line_buffer_bits for st in fold.stages),
            "bram18_estimate": sum(st.bram18 for st in fold.stages),
            "weight_bits": sum(st.weight_bits for st in fold.stages),
            "operand_mux_luts": sum(st.operand_mux_luts for st in fold.stages),
            "stages": [{"name": st.name, "fold": _fold_text(st), "ii_cycles_per_pixel": st.groups * st.chunks,
                        "parallel_outputs": st.po, "period": st.period, "period_cycles": st.period_cycles,
                        "chunks": st.chunks, "taps_per_cycle": st.simd or None,
                        "operands_per_multiplier": st.period_cycles or st.groups * st.chunks,
                        "operand_mux_luts": st.operand_mux_luts,
                        "multipliers": st.multipliers, "lut_multipliers": st.lut,
                        "cycles_per_lr_pixel": round(st.cycles_per_lr_pixel, 4),
                        "line_buffer_bits": st.line_buffer_bits, "bram18": st.bram18, "weight_bits": st.weight_bits}
                       for st in fold.stages]}


def dataflow_summary(rate) -> dict:
    """The streams' depths and the rate the dataflow model certifies (srhw.backends.dataflow)."""
    from srhw.backends.dataflow import DEEP_FIFO
    from srhw.backends.folding import BRAM18_BITS

    streams = [{"name": n, "depth": d, "width": rate.bits[n], "bits": d * rate.bits[n],
                "bram18": math.ceil(d * rate.bits[n] / BRAM18_BITS) if d > DEEP_FIFO else 0, "skip": n in rate.skips}
               for n, d in rate.depths.items()]
    return {"streams": streams, "fifo_bits": sum(s["bits"] for s in streams),
            "skip_fifo_bits": sum(s["bits"] for s in streams if s["skip"]),
            "fifo_bram18": sum(s["bram18"] for s in streams), "model_rows": rate.rows,
            "model_cycles_per_frame": rate.period, "ideal_cycles_per_frame": rate.ideal,
            "model_efficiency": round(rate.efficiency, 4), "cycles_per_lr_row": round(rate.per_row, 2),
            "frame_overhead_cycles": round(rate.overhead, 1), "height": rate.height,
            "projected_cycles_per_frame": round(rate.projected, 1), "ideal_cycles_per_full_frame": round(rate.ideal_full, 1),
            "projected_efficiency": round(rate.efficiency_full, 4), "converged": rate.converged}



def summary_of(q: QGraph, rows: list[dict], fold=None, structure=None, rate=None) -> dict:
    widths = [l.cert.round_width for l in q.layers if l.cert]
    extra = {"hls": hls_summary(fold)} if fold is not None else {}
    if rate is not None:
        from srhw.backends.folding import BOARD_BRAM18

        h = extra["hls"]
        h["dataflow"] = dataflow_summary(rate)
        h["modelled_fps"] = round(fold.target.clock_mhz * 1e6 / rate.projected, 2)
        # line buffers, weight ROMs and FIFOs against the part's block RAM
        h["bram18_total"] = h["bram18_estimate"] + h["dataflow"]["fifo_bram18"]
        h["bram18_slices"] = BOARD_BRAM18[fold.target.board]
        h["fits_bram18"] = h["bram18_total"] <= h["bram18_slices"]
    if structure is not None:  # srhw.backends.hls_check on the generated C++
        extra["hls"]["structure_check"] = {"pipelined_loops": structure.loops,
                                           "widest_operand_mux": dict(sorted(structure.muxes.items())),
                                           "findings": [str(f) for f in structure.findings]}
    return extra | {
        "model": q.meta.model,
        "bits": q.meta.bits,
        "wbits": q.meta.wbits,
        "abits": q.meta.abits,
        "widths": q.meta.widths,
        "width_search": q.meta.width_search,
        "calibration_method": q.meta.calibration,
        "calibration_frames": q.meta.calibration_frames,
        "weight_rounding": q.meta.weight_rounding,
        "weight_granularity": q.meta.weight_granularity,
        "zero_points": q.meta.zero_points,
        "tensors_with_zero_points": sum(l.out_zero is not None for l in q.layers),
        "psnr_fixed_vs_float_db": q.meta.psnr_fixed_vs_float_db,
        "psnr_by_method_db": q.meta.psnr_by_method_db,
        "scale": q.scale,
        "layers": len(q.layers),
        "macs_per_lr_pixel": int(sum(r["macs"] for r in rows)),
        "parameters": int(sum(r["params"] for r in rows)),
        "max_accumulator_width": int(max(l.cert.acc_width for l in q.layers if l.cert)),
        "max_datapath_width": int(max(widths)) if widths else 0,
    }


def _md(text: object) -> str:
    """Escapes a model-supplied string for a Markdown table cell."""
    s = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return " ".join(s.split())


def render_report(q: QGraph, summary: dict, rows: list[dict]) -> str:
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "report")), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = _md
    return env.get_template("report.md.j2").render(q=q, rows=rows, s=summary, boundary=q.boundary, hls=summary.get("hls"),
                                                   methods=sorted(summary["psnr_by_method_db"].items()))
