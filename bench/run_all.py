"""Every benchmark in one run: writes bench/results/*.{json,md} and regenerates BENCHMARKS.md.

    python bench/run_all.py [--quick] [--data ../shared/datasets] [--results DIR] [--benchmarks FILE]
                            [--only SCRIPT ... | --render]

Sections, each a script of its own in bench/ (run in a subprocess, so one failing does not
hide the others; the run exits 1 if any failed):
1. quality (zoo_quality.py): every zoo model on Set5 and Set14, bicubic / float / W8A8 / W6A6 /
   W4A4 PSNR and SSIM, and a PSNR-versus-bits plot;
2. golden model speed (golden_speed.py): bit-exact golden against onnxruntime float on 256x256
   and 512x512 LR frames for each architecture, and peak memory;
3. compiler speed (compile_speed.py): each phase of `srhw compile` and the whole command;
4. C-simulation (csim_models.py): build and run per model on a 128x128 frame;
5. RTL (rtl_sim.py): Verilator cycles per frame, efficiency, simulation speed; Yosys resources
   against the analytic estimate;
6. the 1080p60 plan (hls_plan.py): multipliers against the MAC bound at 1080p60 -> 4K, FIFOs,
   the modelled rate, the RTL measured on 1920-wide frames, its longest path and resources;
7. weight rounding (weight_rounding.py): Set5 W8A8 loss, multipliers and compile time with nearest,
   gptq and gptq-sparse weight codes;
8. peer (hls4ml_peer.py): hls4ml 1.3.0 on SRCNN 9-1-5 (time, error against onnxruntime at
   fixed<16,6> and at matched 8 bits, Set5 PSNR) and whether it converts FSRCNN and ESPCN.
--quick runs a small subset of each (one model, small frames, one repetition, images that
scikit-image ships instead of the datasets) in a few minutes: a smoke test, not figures.
Timings are medians after a warm-up with min and max; ratios are taken within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import machine

FULL = [
    ("Quality", "zoo_quality", ["--bits", "8", "6", "4"]),
    ("Golden model speed", "golden_speed", []),
    ("Compiler speed", "compile_speed", []),
    ("Upscale: cold compile, design cache, compiled directory", "upscale_speed", []),
    ("C-simulation", "csim_models", []),
    ("RTL simulation and synthesis", "rtl_sim", []),
    ("The 1080p60 plan, planned and realised", "hls_plan", []),
    ("Weight rounding: quality against multipliers", "weight_rounding", []),
    ("Peer: hls4ml", "hls4ml_peer", []),
    ("Hostile input", "fuzz_corpus", []),
]
QUICK = {
    "zoo_quality": ["--quick", "--models", "fsrcnn_s_x2", "--bits", "8", "4"],
    "golden_speed": ["--models", "fsrcnn_s_x2", "--sizes", "64", "--repeat", "3"],
    "compile_speed": ["--models", "fsrcnn_s_x2", "--repeat", "1", "--warmup", "0", "--phases", "frontend_and_passes",
                      "calibration", "quantize_one_method", "compile_hls_rtl"],
    "upscale_speed": ["--model", "fsrcnn_s_x2", "--repeat", "1"],
    "csim_models": ["--models", "fsrcnn_s_x2", "--size", "32", "--repeat", "1"],
    "rtl_sim": ["--quick", "--skip-synth"],
    "hls_plan": ["--models", "fsrcnn_s_x2", "--no-rtl"],
    "weight_rounding": ["--quick"],
    "hls4ml_peer": ["--quick"],
    "fuzz_corpus": ["--quick"],
}


def run_step(script: str, args: list[str], env: dict) -> dict:
    t = time.perf_counter()
    res = subprocess.run([sys.executable, str(HERE / f"{script}.py"), *args], env=env, cwd=ROOT, check=False,
                         capture_output=True, text=True)
    return {"script": script, "args": args, "seconds": round(time.perf_counter() - t, 1), "ok": res.returncode == 0,
            "log_tail": (res.stdout + res.stderr)[-3000:]}


def headline(results: Path) -> list[str]:
    """The figures the README quotes, read back from this run's JSON."""
    def load(name):
        p = results / f"{name}.json"
        return json.loads(p.read_text()) if p.is_file() else None

    out = []
    q = load("zoo_quality")
    if q:
        for name, r in q["models"].items():
            s = q["sets"][0]
            f = r[s]["float"]["psnr"]
            losses = ", ".join(f"W{b}A{b} {r[s][f'W{b}A{b}']['psnr'] - f:+.2f}" for b in q["bits"])
            out.append(f"- {name}, {s}: float {f:.2f} dB; {losses} dB")
    g = load("golden_speed")
    if g:
        for model, sizes in g["models"].items():
            out.append(f"- golden / onnxruntime, {model}: " + ", ".join(
                f"{n}x{n} {v['ratio_golden_over_ort']:.2f}x ({v['golden_peak_alloc_mb']:.0f} MB)" for n, v in sizes.items()))
    u = load("upscale_speed")
    if u:
        m = u["median_s"]
        out.append(f"- upscale, {u['model']}, {u['image']}: cold compile {m['cold compile']:.1f} s, design cache "
                   f"{m['design cache']:.2f} s, compiled directory {m['compiled directory']:.2f} s")
    r = load("rtl_sim")
    if r:
        f = r["full_rate"]
        out.append(f"- RTL, FSRCNN-s x2 full rate on {f['frame']}: efficiency {f['efficiency']}, Verilator build + "
                   f"simulation {f['build_plus_sim_s']} s")
        if "synth_64x64_plan" in r:
            y = r["synth_64x64_plan"]
            out.append(f"- Yosys: {y['cells']['dsp48e2']} DSP48E2 against {y['multipliers_estimate']} estimated "
                       f"multipliers ({y['dsp_over_estimate']}x)")
    h = load("hls_plan")
    if h:
        for name, d in h["plans"].items():
            line = (f"- {name}, 1080p60 in, 300 MHz: {d['multipliers']} multipliers, "
                    f"{d['multipliers_over_bound']:.3f}x the bound, {d.get('fifo_bits', '?')} FIFO bits, modelled "
                    f"{d.get('modelled_fps', '?')} fps")
            if "rtl" in d:
                line += f"; RTL {d['rtl']['fps']} fps (efficiency {d['rtl']['efficiency_1080']} at 1080 rows)"
            if "synth" in d:
                line += f", longest path {d['synth']['longest_path']['lut_levels']} LUT levels"
            out.append(line)
    fz = load("fuzz_corpus")
    if fz:
        c = fz["counts"]
        out.append(f"- hostile input: {c['cases']} cases, {c['refused']} refused, {c['accepted']} accepted, "
                   f"{c['tracebacks']} tracebacks, {c['leftovers']} leftovers, {c['hangs']} hangs")
    w = load("weight_rounding")
    if w:
        for model, by in w["models"].items():
            out.append(f"- weight rounding, {model}, {w['set']} W8A8 loss / multipliers: " + "; ".join(
                f"{r} {d['loss_db']:+.3f} dB / {d['multipliers']}" for r, d in by.items()))
    peer = load("hls4ml_peer")
    if peer:
        e = peer["error_vs_onnxruntime"]
        set5 = peer.get("set5") or {}
        out.append(f"- hls4ml {peer['versions']['hls4ml']} on {peer['model']}: " + "; ".join(
            f"{k.removeprefix('hls4ml ')} {v['psnr_vs_float_db']:.1f} dB vs float"
            + (f", Set5 {set5[k]:.2f} dB" if k in set5 else "") for k, v in e.items() if k.startswith("hls4ml"))
            + f" (srhw W8A8 {e['srhw W8A8']['psnr_vs_float_db']:.1f} dB"
            + (f", Set5 {set5['srhw W8A8']:.2f} dB; float {set5['onnxruntime float']:.2f} dB)" if set5 else ")"))
        fails = [f"{m}: {r['error'].split(': ', 1)[-1]}" for m, r in peer["conversion"].items() if not r["converts"]]
        if fails:
            out.append("- hls4ml does not convert " + "; ".join(fails))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data", default=None, help="folder holding Set5/ and Set14/ (default ../shared/datasets)")
    p.add_argument("--results", type=Path, default=HERE / "results")
    p.add_argument("--benchmarks", type=Path, default=ROOT / "BENCHMARKS.md")
    p.add_argument("--only", nargs="+", default=None, metavar="SCRIPT",
                   help="re-run these sections (e.g. golden_speed); the others keep their last results")
    p.add_argument("--render", action="store_true",
                   help="run nothing: rewrite BENCHMARKS.md from the last results (after a section's --merge)")
    args = p.parse_args(argv)
    if args.render:
        args.only = []
    args.results.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SRHW_BENCH_RESULTS=str(args.results.resolve()))
    steps = []
    t0 = time.perf_counter()
    previous = {}
    if args.only is not None and (args.results / "run_all.json").is_file():
        last = json.loads((args.results / "run_all.json").read_text())
        previous = {st["script"]: st for st in last["steps"]}
        args.quick = args.quick or (args.render and last.get("quick", False))  # a quick run stays marked as one
    for title, script, extra in FULL:
        if args.only is not None and script not in args.only:
            steps.append(previous.get(script, {"script": script, "args": [], "seconds": 0, "ok": False,
                                               "log_tail": "not run"}) | {"title": title, "log_tail": ""})
            continue
        a = QUICK[script] if args.quick else extra
        if script in ("zoo_quality", "hls4ml_peer", "weight_rounding") and args.data and not args.quick:
            a = [*a, "--data", args.data]
        print(f"== {title}: python bench/{script}.py {' '.join(a)}", flush=True)
        s = run_step(script, a, env) | {"title": title}
        print(f"   {'ok' if s['ok'] else 'FAILED'} in {s['seconds']} s", flush=True)
        if not s["ok"]:
            print(s["log_tail"], flush=True)
        steps.append(s)
    total = time.perf_counter() - t0
    if previous:  # a partial re-run: the run time is that of all sections' last runs
        total = sum(st["seconds"] for st in steps)
    if previous and args.render:
        ran = ("`python bench/run_all.py --render` rewrote this page from the sections' last runs, each section "
               "gives its date. All sections together took ")
    elif previous:
        ran = (f"`python bench/run_all.py --only {' '.join(args.only)}` re-ran those sections; the others are "
               "from their last runs, each section gives its date. All sections together took ")
    else:
        ran = f"`python bench/run_all.py{' --quick' if args.quick else ''}` took "
    lines = ["# srhw benchmarks", "",
             (f"{date.today().isoformat()}, {machine()}. {ran}{total / 60:.1f} min. Every timing is a median after a "
              "warm-up (min-max where shown); ratios are taken within one run."), ""]
    if args.quick:
        lines += ["**Quick run: a smoke test on small inputs, not figures to quote.**", ""]
    lines += ["## Headline", "", *headline(args.results), ""]
    for s in steps:
        md = args.results / f"{s['script']}.md"
        # each section keeps its own date and machine: after --only, not every section is of today
        _, _, when, body = (md.read_text().split("\n", 3) + [""] * 4)[:4] if md.is_file() else ("", "", "", "")
        lines += [f"## {s['title']}", "",
                  f"`python bench/{s['script']}.py {' '.join(s['args'])}` ({s['seconds']} s{'; ' + when if when else ''})",
                  ""]
        if s["ok"] and md.is_file():
            lines += [body.replace("](psnr_vs_bits.png)", f"]({os.path.relpath(args.results, args.benchmarks.parent)}"
                                                          "/psnr_vs_bits.png)"), ""]
        else:
            lines += ["**Failed** in this run:", "", "```", s["log_tail"][-1500:], "```", ""]
    args.benchmarks.write_text("\n".join(lines))
    (args.results / "run_all.json").write_text(json.dumps(
        {"date": date.today().isoformat(), "machine": machine(), "quick": args.quick, "minutes": round(total / 60, 2),
         "steps": [{k: v for k, v in s.items() if k != "log_tail"} for s in steps]}, indent=2) + "\n")
    print(f"wrote {args.benchmarks} ({total / 60:.1f} min)")
    return 0 if all(s["ok"] for s in steps) else 1


if __name__ == "__main__":
    raise SystemExit(main())
