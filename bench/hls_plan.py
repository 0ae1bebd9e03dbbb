"""HLS folding plan: multipliers against the bound at 1080p60 -> x2, 300 MHz, for the shipped
FSRCNN-s (32,5,1) and FSRCNN (56,12,4) x2. The bound is the model's non-zero MACs per second
divided by the clock. Target (issue 4): <= 1.10x. (C-simulation times per model are in
csim_models.py.)

    python bench/hls_plan.py [--models fsrcnn_s_x2 fsrcnn_x2]
Writes bench/results/hls_plan.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write


def main(argv: list[str] | None = None) -> None:
    import srhw

    names = {"fsrcnn_s_x2": "FSRCNN-s (32,5,1) x2", "fsrcnn_x2": "FSRCNN (56,12,4) x2"}
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="+", choices=list(names), default=list(names))
    args = p.parse_args(argv)
    res: dict = {"plans": {}}
    for model in args.models:
        name = names[model]
        h = srhw.compile(model, progress=False, in_size="1920x1080", fps=60, clock_mhz=300).summary["hls"]
        res["plans"][name] = {k: h[k] for k in ("multipliers", "multiplier_bound", "multipliers_over_bound",
                                                "projected_fps", "cycles_per_lr_pixel_budget", "bram18_estimate")}
        res["plans"][name]["stages"] = [(s["name"], s["fold"], s["multipliers"]) for s in h["stages"]]
    lines = ["## Folding at 1080p60 -> x2, 300 MHz", "",
             "| model | multipliers | bound | ratio | projected fps | BRAM18 est. |", "|---|---:|---:|---:|---:|---:|"]
    for name, d in res["plans"].items():
        lines.append(f"| {name} | {d['multipliers']} | {d['multiplier_bound']:.0f} | **{d['multipliers_over_bound']:.3f}** "
                     f"| {d['projected_fps']:.1f} | {d['bram18_estimate']} |")
    lines += ["", ("Target ratio <= 1.10. Each conv takes the cheaper of an output-group fold (whole cycles per "
              "pixel) and a schedule of P positions in T cycles (2.41 cycles per pixel available: 5 px / 12 "
              "cycles), which skips zero weights (the sub-pixel taps a ConvTranspose lacks).")]
    write("hls_plan", res, "\n".join(lines))


if __name__ == "__main__":
    main()
