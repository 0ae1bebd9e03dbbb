"""`srhw upscale` of one 256x256 image: a cold compile against the design cache and a compiled
output directory (srhw.designs). Wall time of the upscale() call, median of --repeat, the three
ways in turns in the same run; every output identical.

    python bench/upscale_speed.py [--model fsrcnn_x2] [--repeat 3]
Writes bench/results/upscale_speed.{json,md}. Target: a cached or compiled design at least 10x
faster than a cold compile.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write


def main(argv: list[str] | None = None) -> None:
    from PIL import Image
    from skimage import data

    import srhw
    from srhw.upscale import upscale

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="fsrcnn_x2")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        os.environ["SRHW_CACHE_DIR"] = str(t / "cache")
        Image.fromarray(data.astronaut()[128:384, 128:384]).save(t / "in.png")  # RGB 256x256
        srhw.compile(args.model, out=t / "design", hls=False, progress=False)
        upscale(args.model, t / "in.png", t / "warm.png")  # fills the cache
        ways = {"cold compile": dict(model=args.model, use_cache=False), "design cache": dict(model=args.model),
                "compiled directory": dict(model=t / "design")}
        times: dict[str, list[float]] = {k: [] for k in ways}
        for i in range(args.repeat):
            for k, kw in ways.items():
                dst = t / f"{k.replace(' ', '_')}_{i}.png"
                t0 = time.perf_counter()
                upscale(kw["model"], t / "in.png", dst, use_cache=kw.get("use_cache", True))
                times[k].append(time.perf_counter() - t0)
        outs = [np.asarray(Image.open(f)) for f in sorted(t.glob("*_*.png"))]
        same = all(np.array_equal(o, outs[0]) for o in outs)
    med = {k: statistics.median(v) for k, v in times.items()}
    res = {"model": args.model, "image": "256x256 RGB", "repeat": args.repeat, "median_s": med, "runs_s": times,
           "outputs_identical": same,
           "speedup": {k: round(med["cold compile"] / med[k], 1) for k in ("design cache", "compiled directory")}}
    lines = [f"`srhw upscale` of a 256x256 RGB image with {args.model}, median of {args.repeat} (the three ways in "
             f"turns)", "", "| design | seconds | vs cold compile |", "|---|---:|---:|"]
    for k in ways:
        lines.append(f"| {k} | {med[k]:.2f} | {med['cold compile'] / med[k]:.1f}x |")
    lines += ["", f"Outputs identical: {same}. Target: cached or compiled at least 10x faster than a cold compile."]
    write("upscale_speed", res, "\n".join(lines))


if __name__ == "__main__":
    main()
