"""Image quality of every shipped zoo model: Set5 and Set14, PSNR/SSIM for bicubic, float and
fixed point at each of --bits (default W8A8, W6A6, W4A4; the standard protocol of
srhw.evaluate: Y, modcrop, MATLAB bicubic LR, shave = scale), and a PSNR-versus-bits plot.
Calibration uses the shipped default set (no test images).

Writes bench/results/zoo_quality.{json,md} and psnr_vs_bits.png; a full run (all models, no
--quick) also writes the measured figures into each model's card in srhw/zoo/onnx/zoo.json
and the table of docs/zoo.md. Targets: W8A8 within 0.05 dB of float, W6A6 within
0.3 dB. --quick: one model on two images that scikit-image ships (no dataset needed).
--merge (with --models, after retraining a model): measures only those models and puts their
rows into the last full run's results (same sets and bits), then writes everything a full run
writes; each model's result keeps the date it was measured.

    python bench/zoo_quality.py [--data ../shared/datasets] [--models fsrcnn_x2 ...] [--bits 8 6 4] [--merge]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PAPER = {  # Set5 PSNR of the papers' T91-trained models (x2, x3, x4)
    "fsrcnn": {2: 36.94, 3: 33.06, 4: 30.55}, "fsrcnn_s": {2: 36.58, 3: 32.61, 4: 30.11},
    "srcnn_955": {2: 36.66, 3: 32.75, 4: 30.49}, "srcnn_915": {2: 36.34, 3: 32.39, 4: 30.09},
    "espcn": {3: 32.55},
}


def paper_psnr(name: str, scale: int) -> float | None:
    return PAPER.get(name.rsplit("_x", 1)[0], {}).get(scale)


def _quick_set(tmp: Path) -> Path:
    from PIL import Image
    from skimage import data

    d = tmp / "skimage2"
    d.mkdir()
    Image.fromarray(data.astronaut()[96:288, 160:352]).save(d / "astronaut.png")
    Image.fromarray(data.coffee()[100:292, 200:392]).save(d / "coffee.png")
    return d


def plot(res: dict, bits: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in res["models"].items():
        m = r[res["sets"][0]]
        line = ax.plot(bits, [m[f"W{b}A{b}"]["psnr"] for b in bits], marker="o", label=name)[0]
        ax.axhline(m["float"]["psnr"], color=line.get_color(), linestyle=":", linewidth=0.8)
    ax.set_xlabel("bits (weights = activations)")
    ax.set_ylabel(f"PSNR on {res['sets'][0]} (dB, Y)")
    ax.set_title("Fixed point (bit-exact golden model) vs bits; dotted: float")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    import tempfile

    from srhw.evaluate import compile_versions, evaluate_versions
    from srhw.resources import zoo_dir
    from srhw.zoo.registry import ZOO

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--models", nargs="*", default=None)
    p.add_argument("--bits", type=int, nargs="+", default=[8, 6, 4])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--merge", action="store_true",
                   help="with --models: merge these models' new figures into the last full run's results")
    args = p.parse_args(argv)
    if args.merge and (args.quick or not args.models):
        p.error("--merge needs --models and no --quick")
    names = args.models or [n for n in ZOO if (zoo_dir() / f"{n}.onnx").is_file()]
    bits = sorted(args.bits, reverse=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.quick:
            names, sets = names[:1], {"skimage": _quick_set(Path(tmp))}
        else:
            sets = {s: args.data / s for s in ("Set5", "Set14")}
        res: dict = {"models": {}, "sets": list(sets), "bits": bits}
        for name in names:
            t = time.perf_counter()
            versions = compile_versions(name, bits, use_cache=False)  # once per model, for both sets
            res["models"][name] = {s: evaluate_versions(*versions, d, ZOO[name].scale)["mean"] for s, d in sets.items()}
            res["models"][name]["seconds"] = time.perf_counter() - t
            res["models"][name]["date"] = date.today().isoformat()
    merged = []
    if args.merge:
        last = json.loads((RESULTS / "zoo_quality.json").read_text())
        if last["sets"] != res["sets"] or last["bits"] != bits:
            p.error(f"--merge: the last run measured {last['sets']} at bits {last['bits']}, not {res['sets']} at {bits}")
        res["full_run_date"] = last.get("full_run_date", last["date"])
        fresh = {n: r | {"merged": True} for n, r in res["models"].items()}
        both = {n: r | {"date": r.get("date", last["date"])} for n, r in last["models"].items()} | fresh
        res["models"] = {n: both[n] for n in ZOO if n in both}  # the zoo's order, as a full run writes it
        # rows merged by this run or an earlier one, until the next full run replaces them all
        merged = [f"{n} ({r['date']})" for n, r in res["models"].items() if r.get("merged")]
    keys = ["bicubic", "float"] + [f"W{b}A{b}" for b in bits]
    rows = ["| model | scale | set | " + " | ".join(keys) + " | " + " | ".join(f"{k} loss" for k in keys[2:]) +
            " | paper (float, Set5) |", "|---|---:|---|" + "---:|" * (2 * len(keys) - 1)]
    for name, r in res["models"].items():
        sc = ZOO[name].scale
        for s in res["sets"]:
            m = r[s]
            f = m["float"]["psnr"]
            ref = paper_psnr(name, sc) if s == "Set5" else None
            rows.append(f"| {name} | x{sc} | {s} | " + " | ".join(f"{m[k]['psnr']:.2f} / {m[k]['ssim']:.4f}" for k in keys)
                        + " | " + " | ".join(f"{m[k]['psnr'] - f:+.3f}" for k in keys[2:]) +
                        f" | {'' if ref is None else ref} |")
    table = "\n".join([("PSNR dB / SSIM on Y (BT.601), modcrop, MATLAB bicubic LR, shave = scale. "
                       "Fixed point = the bit-exact golden model (what the hardware outputs)."), ""] + rows +
                      (["", f"Re-measured after retraining: {', '.join(merged)}; the other "
                        f"rows are from the full run of {res['full_run_date']}."] if merged else []) +
                      ["", "![PSNR versus bits](psnr_vs_bits.png)"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(res, bits, RESULTS / "psnr_vs_bits.png")
    write("zoo_quality", res, table)
    if args.quick or (args.models and not args.merge):
        return
    cards_path = zoo_dir() / "zoo.json"
    cards = json.loads(cards_path.read_text())
    for name, r in res["models"].items():
        card = cards.setdefault(name, {})
        for s in res["sets"]:
            card[f"{s.lower()}_psnr_db"] = {k: round(v["psnr"], 3) for k, v in r[s].items()}
            card[f"{s.lower()}_ssim"] = {k: round(v["ssim"], 4) for k, v in r[s].items()}
    cards_path.write_text(json.dumps(cards, indent=2, sort_keys=True) + "\n")
    doc = Path(__file__).resolve().parents[1] / "docs" / "zoo.md"
    text = doc.read_text()
    start, end = text.index("<!-- zoo-table -->"), text.index("<!-- /zoo-table -->")
    doc.write_text(text[:start] + "<!-- zoo-table -->\n" + table.replace("](psnr_vs_bits.png)",
                                                                         "](../bench/results/psnr_vs_bits.png)")
                   + "\n" + text[end:])


if __name__ == "__main__":
    main()
