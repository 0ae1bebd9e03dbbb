"""C-simulation per zoo model: `srhw csim` (g++ -O1 with the open ap_types) of the HLS kernel
planned for 1080p60 -> xR at 300 MHz, on one LR frame (a crop of scikit-image's camera), bit
for bit against the golden model. Build and run times are medians of --repeat.

    python bench/csim_models.py [--models ...] [--size 128] [--repeat 3]
Writes bench/results/csim_models.{json,md}.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write

MODELS = ["fsrcnn_x2", "fsrcnn_s_x2", "espcn_x2", "srcnn_915_x3", "fsrcnn_x3", "espcn_x4"]


def main(argv: list[str] | None = None) -> None:
    from skimage import data

    import srhw
    from srhw.backends.csim import run_csim

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    n = args.size
    frame = np.ascontiguousarray(data.camera()[160:160 + n, 128:128 + n])[None]
    res: dict = {"frame": f"{n}x{n}", "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            out = Path(tmp) / model
            srhw.compile(model, out=out, progress=False, test_frames=[frame])
            runs = [run_csim(out) for _ in range(args.repeat)]
            if not all(r.passed for r in runs):
                raise SystemExit(f"C-simulation of {model} failed:\n{runs[0].output}")
            res["models"][model] = {"build_median_s": statistics.median(r.build_seconds for r in runs),
                                    "run_median_s": statistics.median(r.run_seconds for r in runs),
                                    "build_min_s": min(r.build_seconds for r in runs),
                                    "build_max_s": max(r.build_seconds for r in runs), "runs": args.repeat}
    rows = [f"| {m} | {r['build_median_s']:.1f} ({r['build_min_s']:.1f}-{r['build_max_s']:.1f}) | {r['run_median_s']:.2f} |"
            for m, r in res["models"].items()]
    table = "\n".join([(f"One {n}x{n} LR frame, bit-exact against the golden model; seconds, median of {args.repeat} "
                       "(min-max)."), "", "| model | g++ build | run |", "|---|---:|---:|", *rows])
    write("csim_models", res, table)


if __name__ == "__main__":
    main()
