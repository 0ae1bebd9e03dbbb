"""Image quality of the compiled model against ground truth on Set5 (and Set14).

Protocol: Y of BT.601 (studio range) as uint8, modcrop(scale), LR by bicubic downscaling
(Pillow; the zoo issue switches to MATLAB-compatible imresize), border shave = scale.
Float output is rounded to 8-bit like any image; fixed point is the golden model's output.
Calibration uses the shipped default set (no test images). Target (issue 2): shipped FSRCNN x2
W8A8 within 0.1 dB of float on Set5.

    python bench/quality_set5.py [--data ../shared/datasets] [--bits 8 6 4]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def evaluate(model: str, data: Path, sets: list[str], bits_list: list[int]) -> dict:
    import srhw
    from srhw import golden
    from srhw.compiler import float_reference
    from srhw.imaging import bicubic_resize, list_images, load_y, modcrop, psnr

    results: dict = {"model": model, "sets": {}}
    compiled = {}
    for bits in bits_list:
        for method in ("auto", "max", "percentile", "mse"):
            if bits != 8 and method != "auto":
                continue
            compiled[(bits, method)] = srhw.compile(model, bits=bits, method=method, progress=False)
    graph = compiled[(bits_list[0], "auto")].float_graph
    scale = compiled[(bits_list[0], "auto")].qgraph.scale
    for set_name in sets:
        rows = []
        for path in list_images(data / set_name):
            hr = modcrop(load_y(path), scale)
            lr = bicubic_resize(hr, (hr.shape[0] // scale, hr.shape[1] // scale))
            row = {"image": path.stem, "bicubic": psnr(bicubic_resize(lr, hr.shape), hr, shave=scale),
                   "float": psnr(np.floor(float_reference(graph, lr[None])[0] + 0.5), hr, shave=scale)}
            for (bits, method), r in compiled.items():
                row[f"W{bits}A{bits}" + ("" if method == "auto" else f"_{method}")] = \
                    psnr(golden.run(r.qgraph, lr[None])[0], hr, shave=scale)
            rows.append(row)
        keys = [k for k in rows[0] if k != "image"]
        mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
        results["sets"][set_name] = {"per_image": rows, "mean": mean}
    results["calibration_method_chosen"] = {str(b): compiled[(b, "auto")].summary["calibration_method"] for b in bits_list}
    return results


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="fsrcnn_x2")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    p.add_argument("--bits", type=int, nargs="+", default=[8, 6, 4])
    args = p.parse_args(argv)
    res = evaluate(args.model, args.data, args.sets, args.bits)
    lines = []
    for set_name, d in res["sets"].items():
        keys = list(d["mean"])
        lines += [f"### {set_name} (Y, shave = scale), mean PSNR dB", "",
                  "| " + " | ".join(["image"] + keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for r in d["per_image"]:
            lines.append("| " + " | ".join([r["image"]] + [f"{r[k]:.2f}" for k in keys]) + " |")
        lines.append("| **mean** | " + " | ".join(f"**{d['mean'][k]:.3f}**" for k in keys) + " |")
        f = d["mean"]["float"]
        lines += ["", "Loss vs float: " + ", ".join(f"{k} {d['mean'][k] - f:+.3f} dB" for k in keys
                                                      if k not in ("float", "bicubic")), ""]
    lines.append(f"Calibration chosen by `auto` (best golden-vs-float PSNR on the shipped set): "
                 f"{res['calibration_method_chosen']}")
    write("quality_set5", res, "\n".join(lines))


if __name__ == "__main__":
    main()
