"""RTL figures: Verilator simulation of the generated Verilog and Yosys resources.

1. FSRCNN-s x2 (shipped) at full rate (every conv one position per cycle) on 64x64 LR
   frames: Verilator build + cocotb simulation of three back-to-back frames and two frames
   with 35% TREADY stalls and 30% TVALID gaps, bit-exact against the golden model; cycles per
   frame in steady state against the ideal (the slowest stage: here the output, one beat per
   cycle), and simulated HR pixels per second. Peers on the same frame, same run: the HLS
   kernel's C-simulation (g++ build + run) and the golden model.
   Targets: efficiency >= 0.98, build + simulation <= 5 min.
2. Yosys (`synth_xilinx -family xcup`, one part per conv stage and the glue) multipliers /
   DSP48E2 / LUT / FF / BRAM against the analytic estimate, and the longest register-to-register
   path, on the model planned for 64x64 at 60 fps (output-group folds, one output per cycle per
   conv). Target: within 15%; at most 6 LUT levels.
The 1080p60 plan, simulated on 1920-wide frames and synthesised, is bench/hls_plan.py.

    python bench/rtl_sim.py [--skip-synth] [--quick]
(--quick, a smoke run: 8x8 frames folded to their own plan, which builds in a fraction of the
full-rate design's time; no malformed-frame test, no synthesis)
Writes bench/results/rtl_sim.{json,md}.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LUT_LEVELS_TARGET, RTL_EFFICIENCY_TARGET, RTL_SIM_SECONDS_TARGET, machine, write


def main(argv: list[str] | None = None) -> None:
    import srhw
    from srhw import golden
    from srhw.backends.csim import run_csim
    from srhw.sim import run_sim, sessions_of
    from srhw.synth import run_synth

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--skip-synth", action="store_true")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    n = 8 if args.quick else 64
    sessions = sessions_of(n, n)
    from skimage import data

    frame = np.ascontiguousarray(data.camera()[192:192 + n, 160:160 + n])[None]
    res: dict = {"machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full"
        t = time.perf_counter()
        r = srhw.compile("fsrcnn_s_x2", out=full, rtl=True, in_size=f"{n}x{n}", fold_groups=None if args.quick else 1,
                         progress=False, test_frames=[frame])
        compile_s = time.perf_counter() - t
        sim = run_sim(full, sessions=sessions, reset_size=None, malformed_size=(6, 9) if not args.quick else None)
        if sim["failed"]:
            raise SystemExit(f"RTL simulation failed, see {sim['log']}")
        hr_pixels = sum(s["frames"] * n * n * 4 for s in sim["sessions"])
        csim = [run_csim(full) for _ in range(1 if args.quick else 3)]
        if not all(c.passed for c in csim):
            raise SystemExit("C-simulation failed")
        g = []
        for _ in range(5):
            t = time.perf_counter()
            golden.run(r.qgraph, frame)
            g.append(time.perf_counter() - t)
        steady = sim["sessions"][0]
        res["full_rate"] = {
            "model": "fsrcnn_s_x2", "frame": f"{n}x{n}", "fold": "planned (smoke run)" if args.quick else "full rate",
            "compile_s": round(compile_s, 2),
            "verilator_build_s": sim["build_seconds"], "simulation_s": sim["sim_seconds"],
            "build_plus_sim_s": round(sim["build_seconds"] + sim["sim_seconds"], 1), "target_s": RTL_SIM_SECONDS_TARGET,
            "sessions": sim["sessions"], "efficiency": steady["efficiency"], "efficiency_target": RTL_EFFICIENCY_TARGET,
            "sim_hr_pixels_per_s": round(hr_pixels / sim["sim_seconds"]),
            "csim_build_median_s": statistics.median(c.build_seconds for c in csim),
            "csim_run_median_s": statistics.median(c.run_seconds for c in csim),
            "golden_median_s": statistics.median(g)}

        if args.quick:
            write("rtl_sim", res, table(res))
            return
        if not args.skip_synth:
            small = Path(tmp) / "plan64"
            srhw.compile("fsrcnn_s_x2", out=small, rtl=True, hls=False, in_size="64x64", progress=False)
            res["synth_64x64_plan"] = run_synth(small)
    write("rtl_sim", res, table(res))


def table(res: dict) -> str:
    f = res["full_rate"]
    lines = [f"## FSRCNN-s x2, {f.get('fold', 'full rate')}, {f['frame']} LR frames (Verilator via cocotb, bit-exact vs golden)", "",
             "| session | cycles | steady cycles/frame | ideal | efficiency |", "|---|---:|---:|---:|---:|"]
    for s in f["sessions"]:
        lines.append(f"| {s['frames']} frames, stalls {s['ready_stalls']:.0%} / gaps {s['valid_gaps']:.0%} | "
                     f"{s['total_cycles']} | {s['steady_cycles_per_frame']} | {s['ideal_cycles_per_frame']} | "
                     f"{s['efficiency']} |")
    lines += ["", f"Efficiency without backpressure: **{f['efficiency']}** (target >= {RTL_EFFICIENCY_TARGET}).", "",
              ("| Verilator build | simulation (5 frames) | build + sim | target | HR px/s simulated | "
              "C-sim build + run (peer) | golden model |"), "|---:|---:|---:|---:|---:|---:|---:|",
              (f"| {f['verilator_build_s']:.1f} s | {f['simulation_s']:.1f} s | **{f['build_plus_sim_s']:.1f} s** | "
              f"<= {RTL_SIM_SECONDS_TARGET} s | {f['sim_hr_pixels_per_s']} | {f['csim_build_median_s']:.1f} + {f['csim_run_median_s']:.2f} s "
              f"(median of 3) | {f['golden_median_s'] * 1000:.1f} ms |")]
    if "synth_64x64_plan" in res:
        y = res["synth_64x64_plan"]
        c = y["cells"]
        p = y["longest_path"]
        lines += ["", "## Yosys, FSRCNN-s x2 planned for 64x64 at 60 fps (one output per cycle per conv)", "",
                  f"`synth_xilinx -family {y['family']}`, {y['yosys']}, one part per stage ({y['seconds']} s):", "",
                  "| figure | analytic (RTL) | Yosys | ratio |", "|---|---:|---:|---:|",
                  f"| multipliers ($mul) | {y['multipliers_estimate']} | {y['yosys_mul_cells']} | {y['yosys_over_estimate']} |",
                  f"| DSP48E2 | {y['multipliers_estimate']} | {c['dsp48e2']} | {y['dsp_over_estimate']} |",
                  f"| LUT / FF | - | {c['lut']} / {c['ff']} | |",
                  f"| BRAM18 / BRAM36 / LUTRAM | - | {c['bram18']} / {c['bram36']} / {c['lutram']} | |", "",
                  (f"Longest register-to-register path: {p['lut_levels']} LUT levels ({p['part']}; target <= "
                   f"{LUT_LEVELS_TARGET}); DSPs without their output register: {y['dsp_without_output_register']}.")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
