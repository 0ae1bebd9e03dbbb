"""Image quality of every shipped zoo model: Set5 and Set14, PSNR/SSIM for bicubic, float,
W8A8 and W6A6 (the standard protocol of srhw.evaluate: Y, modcrop, MATLAB bicubic LR,
shave = scale). Calibration uses the shipped default set (no test images).

Writes bench/results/zoo_quality.{json,md}, the measured figures into each model's card in
srhw/zoo/onnx/zoo.json, and the table of docs/zoo.md. Targets (issue 3): W8A8 within
0.05 dB of float, W6A6 within 0.3 dB.

    python bench/zoo_quality.py [--data ../shared/datasets] [--models fsrcnn_x2 ...]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PAPER = {  # Set5 PSNR of the papers' T91-trained models (x2, x3, x4)
    "fsrcnn": {2: 36.94, 3: 33.06, 4: 30.55}, "fsrcnn_s": {2: 36.58, 3: 32.61, 4: 30.11},
    "srcnn_955": {2: 36.66, 3: 32.75, 4: 30.49}, "srcnn_915": {2: 36.34, 3: 32.39, 4: 30.09},
    "espcn": {3: 32.55},
}


def paper_psnr(name: str, scale: int) -> float | None:
    return PAPER.get(name.rsplit("_x", 1)[0], {}).get(scale)


def main(argv: list[str] | None = None) -> None:
    from srhw.evaluate import evaluate
    from srhw.resources import zoo_dir
    from srhw.zoo.registry import ZOO

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--models", nargs="*", default=None)
    args = p.parse_args(argv)
    names = args.models or [n for n in ZOO if (zoo_dir() / f"{n}.onnx").is_file()]
    res: dict = {"models": {}}
    for name in names:
        t = time.perf_counter()
        res["models"][name] = {s: evaluate(name, args.data / s, ZOO[name].scale, [8, 6])["mean"]
                               for s in ("Set5", "Set14")}
        res["models"][name]["seconds"] = time.perf_counter() - t
    cards_path = zoo_dir() / "zoo.json"
    cards = json.loads(cards_path.read_text())
    rows = ["| model | scale | set | bicubic | float | W8A8 | W6A6 | W8A8 loss | W6A6 loss | paper (float, Set5) |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in res["models"].items():
        sc = ZOO[name].scale
        card = cards.setdefault(name, {})
        for s in ("Set5", "Set14"):
            m = r[s]
            card[f"{s.lower()}_psnr_db"] = {k: round(v["psnr"], 3) for k, v in m.items()}
            card[f"{s.lower()}_ssim"] = {k: round(v["ssim"], 4) for k, v in m.items()}
            f = m["float"]["psnr"]
            ref = paper_psnr(name, sc) if s == "Set5" else None
            rows.append(f"| {name} | x{sc} | {s} | " + " | ".join(
                f"{m[k]['psnr']:.2f} / {m[k]['ssim']:.4f}" for k in ("bicubic", "float", "W8A8", "W6A6")) +
                f" | {m['W8A8']['psnr'] - f:+.3f} | {m['W6A6']['psnr'] - f:+.3f} | {'' if ref is None else ref} |")
    cards_path.write_text(json.dumps(cards, indent=2, sort_keys=True) + "\n")
    table = "\n".join(["PSNR dB / SSIM on Y (BT.601), modcrop, MATLAB bicubic LR, shave = scale. "
                       "Fixed point = the bit-exact golden model (what the hardware outputs).", ""] + rows)
    write("zoo_quality", res, table)
    doc = Path(__file__).resolve().parents[1] / "docs" / "zoo.md"
    text = doc.read_text()
    start, end = text.index("<!-- zoo-table -->"), text.index("<!-- /zoo-table -->")
    doc.write_text(text[:start] + "<!-- zoo-table -->\n" + table + "\n" + text[end:])


if __name__ == "__main__":
    main()
