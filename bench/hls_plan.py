"""The 1080p60 plan, planned and realised: per model, the folding plan at 1920x1080 LR, 60 fps,
300 MHz on a U250 (BOARD: 12288 DSP slices, so no plan here is folded down to fit the part; on a
ZCU102's 2520 only FSRCNN-s x2 would run at 60 fps) (multipliers against the bound), the FIFOs the dataflow model derives (bits, BRAM18) and
the frame rate it certifies, then the RTL measured at those folds and depths (Verilator, frames
1920 pixels wide), its longest register-to-register path and its Yosys resources.

The RTL is simulated on frames of --rows LR rows (24 by default: the deepest pipeline here,
FSRCNN x2, lags its input by 9 rows, so the middle half of each output frame comes from rows no
stage reads across a frame boundary), three back to back at one beat per cycle. From them: the
steady cycles per frame, the cycles per LR row in steady state (the middle half of each frame)
and the frame overhead (cycles per frame - rows x cycles per row). A 1080-row frame takes the
overhead plus 1080 rows; the ideal is the slowest stage's cycles for that frame. The dataflow
model gives the same three figures for the same frames; the two must agree within 2%.

    python bench/hls_plan.py [--models ...] [--rows 24] [--no-rtl] [--no-synth] [--merge]
Writes bench/results/hls_plan.{json,md}. Targets: multipliers <= 1.10x the bound; RTL at least
0.98 of the ideal cycles per frame; at most 6 LUT levels between registers, no DSP without its
output register.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LUT_LEVELS_TARGET, MULTIPLIER_OVERHEAD_TARGET, RTL_EFFICIENCY_TARGET, RTL_MODEL_AGREEMENT, write

BOARD = "u250"
NAMES = {"fsrcnn_x2": "FSRCNN (56,12,4) x2", "fsrcnn_s_x2": "FSRCNN-s (32,5,1) x2", "espcn_x2": "ESPCN x2",
         "srcnn_915_x3": "SRCNN 9-1-5 x3"}


def main(argv: list[str] | None = None) -> None:
    import srhw
    from srhw.sim import run_sim
    from srhw.synth import run_synth

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="+", choices=list(NAMES), default=list(NAMES))
    p.add_argument("--rows", type=int, default=24)
    p.add_argument("--no-rtl", action="store_true")
    p.add_argument("--no-synth", action="store_true")
    p.add_argument("--synth-only", action="store_true",
                   help="with --merge: synthesise the models' RTL and keep their rows' other figures")
    p.add_argument("--parts", nargs="+", default=None, metavar="PART",
                   help="with --synth-only: re-synthesise these parts alone (e.g. srhw_stage_l04_conv glue; a "
                        "stage stands for its lane banks too), started in this order, and replace them in the row's "
                        "synthesis; the row records which parts were synthesised on which date")
    p.add_argument("--merge", action="store_true",
                   help="update these models' rows in the last results (each row keeps the date it was measured)")
    args = p.parse_args(argv)
    from _common import RESULTS

    last = RESULTS / "hls_plan.json"
    res: dict = {"rows": args.rows, "plans": {}}
    if args.merge and last.is_file():
        res = json.loads(last.read_text())
        res.pop("date", None)
        res.pop("machine", None)
        if res.get("rows") != args.rows:
            raise SystemExit(f"--merge: the last results simulated {res.get('rows')} rows, not {args.rows}")
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            out = Path(tmp) / model
            t = time.perf_counter()
            r = srhw.compile(model, out=out, rtl=not args.no_rtl, progress=False, in_size="1920x1080", fps=60,
                             clock_mhz=300, board=BOARD)
            h = r.summary["hls"]
            d = h["dataflow"]
            row = {k: h[k] for k in ("multipliers", "multiplier_bound", "multipliers_over_bound", "projected_fps",
                                     "modelled_fps", "bram18_estimate")}
            row |= {"compile_s": round(time.perf_counter() - t, 1), "fifo_bits": d["fifo_bits"],
                    "fifo_bram18": d["fifo_bram18"], "model": d,
                    "stages": [(s["name"], s["fold"], s["multipliers"]) for s in h["stages"]]}
            if args.synth_only:
                row = res["plans"][NAMES[model]] | {k: row[k] for k in ("compile_s",)}
            elif not args.no_rtl:
                sim = run_sim(out, sessions=[{"size": [args.rows, 1920], "patterns": ["noise", "ramp", "checker"]}],
                              reset_size=None, malformed_size=None)
                if sim["failed"]:
                    raise SystemExit(f"{model}: RTL simulation failed, see {sim['log']}")
                s = sim["sessions"][0]
                overhead = s["steady_cycles_per_frame"] - args.rows * s["cycles_per_lr_row"]
                full = overhead + 1080 * s["cycles_per_lr_row"]
                row["rtl"] = s | {"verilator_build_s": sim["build_seconds"], "simulation_s": sim["sim_seconds"],
                                  "overhead_cycles": overhead, "cycles_per_1080_frame": full,
                                  "efficiency_1080": round(d["ideal_cycles_per_full_frame"] / full, 4),
                                  "fps": round(300e6 / full, 2)}
            if args.parts:
                if not args.synth_only or "synth" not in row:
                    raise SystemExit("--parts replaces parts of a row's synthesis: use it with --synth-only --merge "
                                     "on a model synthesised before")
                _replace_parts(row["synth"], run_synth(out, only=args.parts, progress=True))
            elif not args.no_rtl and not args.no_synth:
                res["plans"][NAMES[model]] = row | {"measured": date.today().isoformat()}
                write("hls_plan", res, table(res))  # synthesis takes long: keep the simulation's figures first
                y = run_synth(out)
                row["synth"] = {k: y[k] for k in ("cells", "longest_path", "multipliers_estimate", "yosys_mul_cells",
                                                  "dsp_without_output_register", "longest_carry_chain_bits", "seconds",
                                                  "yosys")}
                row["synth"]["parts"] = {n: _part(x) for n, x in y["parts"].items()}
            res["plans"][NAMES[model]] = row | {"measured": date.today().isoformat()}
            print(model, json.dumps({k: v for k, v in row.items() if k not in ("model", "stages")}, default=str),
                  flush=True)
            write("hls_plan", res, table(res))  # after each model: a long run keeps what it measured


def _part(x: dict) -> dict:
    """What the results keep of one synthesised part."""
    return {"seconds": x["seconds"], "lut_levels": x["path"]["lut_levels"], "path": x["path"],
            "mul_cells": x["mul_cells"], "dsp_without_output_register": x["dsp_without_output_register"],
            "cells": x["cells"]}


def _replace_parts(syn: dict, y: dict) -> None:
    """The parts of `y` (a run_synth of some parts) in place of the same parts of the row's
    synthesis `syn`; the totals and the longest path recomputed over all parts, and the parts
    synthesised again listed with the date."""
    today = date.today().isoformat()
    # a stage synthesised again replaces its old part and lane banks, however it was split before
    redone = {n[len("srhw_stage_"):] for n in y["parts"] if n.startswith("srhw_stage_")}
    for n in list(syn["parts"]):
        if n.startswith("srhw_stage_") and n[len("srhw_stage_"):] in redone or \
                n.startswith("srhw_lanes_") and n[len("srhw_lanes_"):].rsplit("_", 1)[0] in redone:
            del syn["parts"][n]
            syn.get("resynthesised", {}).pop(n, None)
    for n, x in y["parts"].items():
        syn["parts"][n] = _part(x) | {"measured": today}
    parts = syn["parts"]
    syn["cells"] = {k: sum(p["cells"][k] for p in parts.values()) for k in syn["cells"]}
    if all("mul_cells" in p for p in parts.values()):  # parts from older runs may not have kept it
        syn["yosys_mul_cells"] = sum(p["mul_cells"] for p in parts.values())
    syn["dsp_without_output_register"] = sum(p["dsp_without_output_register"] for p in parts.values())
    worst = max(parts, key=lambda n: parts[n]["lut_levels"])
    if worst in y["parts"] or parts[worst]["lut_levels"] > syn["longest_path"]["lut_levels"] or \
            syn["longest_path"]["part"] in y["parts"] or syn["longest_path"]["part"] not in parts:
        w = parts[worst]
        # a part from an older run kept its LUT levels only
        syn["longest_path"] = w.get("path", {"lut_levels": w["lut_levels"]}) | {"part": worst}
    syn.setdefault("resynthesised", {}).update({n: today for n in y["parts"]})


def table(res: dict) -> str:
    from srhw.backends.folding import BOARDS

    lines = [f"### Plan and modelled rate (1920x1080 LR, 60 fps, 300 MHz, {BOARD.upper()}: {BOARDS[BOARD][2]} DSP slices)", "",
             "| model | multipliers | bound | ratio | FIFO bits | FIFO BRAM18 | modelled fps |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, d in res["plans"].items():
        lines.append(f"| {name} | {d['multipliers']} | {d['multiplier_bound']:.0f} | **{d['multipliers_over_bound']:.3f}** "
                     f"| {d['fifo_bits']} | {d['fifo_bram18']} | {d['modelled_fps']} |")
    lines += ["", (f"Target ratio <= {MULTIPLIER_OVERHEAD_TARGET:.2f}. Each conv takes the cheaper of an output-group "
                   "fold and a schedule of P positions in T cycles (2.41 cycles per pixel available: 5 px / 12 cycles), which skips zero "
                   "weights. FIFO depths and the modelled rate: srhw.backends.dataflow (docs/hls.md).")]
    rtl = {n: d for n, d in res["plans"].items() if "rtl" in d}
    if rtl:
        rows = res["rows"]
        lines += ["", f"### RTL at the plan's folds and depths, frames of 1920 x {rows} LR pixels", "",
                  "| model | cycles/frame (RTL / model) | ideal | efficiency | cycles/LR row (RTL / model) | "
                  "overhead | 1080-row frame | ideal | efficiency | fps | build + sim |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, d in rtl.items():
            s, m = d["rtl"], d["model"]
            lines.append(
                f"| {name} | {s['steady_cycles_per_frame']:.0f} / {s['model_cycles_per_frame']:.0f} "
                f"({s['measured_over_model']}) | {s['ideal_cycles_per_frame']} | **{s['efficiency']}** | "
                f"{s['cycles_per_lr_row']} / {s['model_cycles_per_lr_row']} | {s['overhead_cycles']:.0f} | "
                f"{s['cycles_per_1080_frame']:.0f} | {m['ideal_cycles_per_full_frame']:.0f} | **{s['efficiency_1080']}** "
                f"| **{s['fps']}** | {s['verilator_build_s']:.0f} + {s['simulation_s']:.0f} s |")
        lines += ["", (f"Frames of {rows} rows: the deepest pipeline (FSRCNN x2) lags its input by 9 rows, so the "
                       "middle half of each output frame is steady state. 1080-row frame = overhead + 1080 x "
                       "cycles per LR row, both measured; its ideal is the slowest stage's cycles for 1080 rows. "
                       f"Targets: efficiency >= {RTL_EFFICIENCY_TARGET}, RTL within {RTL_MODEL_AGREEMENT:.0%} of the "
                       "model.")]
    syn = {n: d for n, d in rtl.items() if "synth" in d}
    if syn:
        lines += ["", "### Yosys (`synth_xilinx -family xcup`, one part per conv stage or lane bank, and the glue)", "",
                  "| model | multipliers (est. / $mul) | DSP48E2 | LUT | FF | BRAM18 | longest path | DSP w/o out reg | "
                  "seconds |", "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
        for name, d in syn.items():
            y, c = d["synth"], d["synth"]["cells"]
            p = y["longest_path"]
            chains = "+".join(str(b) for b in p.get("carry_chain_bits", [])) or "0"
            detail = f", carry {chains} bits, {p['dsp_stages']} DSP" if "dsp_stages" in p else ""
            lines.append(f"| {name} | {y['multipliers_estimate']} / {y['yosys_mul_cells']} | {c['dsp48e2']} | "
                         f"{c['lut']} | {c['ff']} | {c['bram18'] + 2 * c['bram36']} | **{p['lut_levels']} LUT**"
                         f"{detail} ({p['part']}) | {y['dsp_without_output_register']} | {y['seconds']} ({y['yosys']}) |")
        for name, d in syn.items():
            again = d["synth"].get("resynthesised")
            if again:
                levels = ", ".join(f"{n.removeprefix('srhw_stage_')} {d['synth']['parts'][n]['lut_levels']}"
                                   for n in again)
                lines += ["", f"{name}: parts synthesised again on later RTL ({', '.join(sorted(set(again.values())))}"
                              f"; LUT levels: {levels}); the other parts and the seconds are from the whole run."]
        lines += ["", f"Target: at most {LUT_LEVELS_TARGET} LUT levels between registers, no DSP without its output "
                      "register."]
    unsyn = {n: max(m for _, _, m in d["stages"]) for n, d in rtl.items() if "synth" not in d}
    if unsyn:
        banked = {n: d["synth"] for n, d in syn.items()
                  if any(p.startswith("srhw_lanes_") for p in d["synth"]["parts"])}
        cost = "; ".join(f"{n}'s parts took {sum(p['seconds'] for p in y['parts'].values()):.0f} s of Yosys for "
                         f"{y['yosys_mul_cells']} multipliers" for n, y in banked.items())
        lines += ["", "Not synthesised in this run: " + ", ".join(f"{n} (largest stage {m} multipliers)"
                                                               for n, m in unsyn.items())
                  + ". Synthesis takes a scheduled stage in lane banks of at most 512 multipliers, so a design's "
                  f"Yosys time grows about linearly with its multipliers{f' ({cost})' if cost else ''} "
                  "(`python bench/hls_plan.py --models NAME --synth-only --merge` adds a row)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
