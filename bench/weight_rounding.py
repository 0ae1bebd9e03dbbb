"""Weight rounding against hardware cost: for each `--weight-rounding` (nearest, gptq, gptq-sparse),
Set5 W8A8 PSNR against float (the standard protocol of srhw.evaluate) beside the folding plan's
multipliers at 1080p60 -> x2/x4, 300 MHz, the non-zero weight codes and the compile time.

gptq (the default) may give any weight a non-zero code, also the sub-pixel taps a ConvTranspose
lacks; gptq-sparse keeps at zero every weight whose nearest code is zero, so it never needs more
multipliers than nearest rounding. Calibration: the shipped default set.

    python bench/weight_rounding.py [--data ../shared/datasets] [--models fsrcnn_x2 ...] [--quick]
--quick: FSRCNN-s x2 on two images that scikit-image ships (a smoke test, no dataset needed).
Writes bench/results/weight_rounding.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write
from zoo_quality import _quick_set

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
ROUNDINGS = ("nearest", "gptq", "gptq-sparse")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--models", nargs="+", default=["fsrcnn_x2", "fsrcnn_s_x2", "fsrcnn_x4", "fsrcnn_s_x4", "espcn_x2"])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        images = _quick_set(Path(tmp)) if args.quick else args.data / "Set5"
        measure(["fsrcnn_s_x2"] if args.quick else args.models, images)


def measure(models: list[str], images: Path) -> None:
    import numpy as np

    from srhw.backends.folding import make_target, plan
    from srhw.evaluate import compile_versions, evaluate_versions
    from srhw.qir import QConv

    target = make_target(board="u250", in_size="1920x1080", fps=60, clock_mhz=300)  # 12288 DSPs: the 1080p60 plan fits
    res: dict = {"set": images.name, "bits": 8, "models": {}}
    rows = []
    for model in models:
        res["models"][model] = {}
        for r in ROUNDINGS:
            t = time.perf_counter()
            versions, first = compile_versions(model, [8], weight_rounding=r, use_cache=False)
            seconds = time.perf_counter() - t
            q = first.qgraph
            m = evaluate_versions(versions, first, images)["mean"]
            fold = plan(q, target)
            d = {"float_psnr": m["float"]["psnr"], "w8a8_psnr": m["W8A8"]["psnr"],
                 "loss_db": m["W8A8"]["psnr"] - m["float"]["psnr"], "multipliers": fold.multipliers,
                 "multiplier_bound": fold.bound,
                 "nonzero_weights": int(sum(np.count_nonzero(l.weight) for l in q.layers if isinstance(l, QConv))),
                 "compile_s": seconds}
            res["models"][model][r] = d
            rows.append(f"| {model} | {r} | {d['w8a8_psnr']:.2f} | {d['loss_db']:+.3f} | {d['multipliers']} | "
                        f"{d['nonzero_weights']} | {seconds:.1f} |")
    table = "\n".join([
        f"{images.name} (Y, shave = scale), W8A8 against the float model; multipliers of the folding plan at 1080p60 -> "
        "4K (x2) or 8K (x4) at 300 MHz; non-zero weight codes over all convs; compile time with the method "
        "search, no backend (one run).", "",
        "| model | weight rounding | W8A8 dB | loss | multipliers | non-zero weights | compile s |",
        "|---|---|---:|---:|---:|---:|---:|", *rows])
    write("weight_rounding", res, table)


if __name__ == "__main__":
    main()
