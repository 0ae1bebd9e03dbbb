"""Exports trained zoo models to ONNX (dynamic H/W, torch's default exporter) and, for
maintainers, adds a finished training run to the shipped zoo with its card:

    python -m srhw.zoo.export RUN_DIR      # RUN_DIR from `srhw zoo train NAME ...`
"""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from srhw.zoo.registry import ZOO, ZooEntry
from srhw.zoo.train import schedule_text


EXPORTERS = ("dynamo", "torchscript")


def export_onnx(model, out: Path, exporter: str = "dynamo", channels: int = 1, hw: tuple[int, int] = (32, 32),
                names: tuple[str, str] = ("lr_y", "hr_y")) -> Path:
    """A PyTorch SR model [N, C, H, W] -> [N, C, sH, sW] to ONNX with dynamic height and width, by
    either of PyTorch's exporters: "dynamo" (torch.export, PyTorch's default) or "torchscript"
    (opset 17), traced on a random `hw` frame."""
    import torch

    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {', '.join(EXPORTERS)}, not {exporter!r}")
    x = torch.rand(1, channels, *hw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            dims = {2: torch.export.Dim("h", min=8, max=4096), 3: torch.export.Dim("w", min=8, max=4096)}
            torch.onnx.export(model, (x,), str(out), dynamo=True, input_names=[names[0]], output_names=[names[1]],
                              dynamic_shapes={"x": dims}, external_data=False, verbose=False)
        else:
            torch.onnx.export(model, (x,), str(out), dynamo=False, opset_version=17, input_names=[names[0]],
                              output_names=[names[1]],
                              dynamic_axes={names[0]: {2: "h", 3: "w"}, names[1]: {2: "oh", 3: "ow"}})
    return Path(out)


def export_entry(entry: ZooEntry, state_path: Path, out: Path) -> None:
    import torch

    model = entry.build()
    model.load_state_dict(torch.load(state_path, map_location="cpu"))
    model.eval()
    export_onnx(model, out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("run_dir", help="training run directory (holds final.pt, entry.json and log.jsonl)")
    args = p.parse_args(argv)
    from srhw.resources import zoo_dir

    run = Path(args.run_dir)
    info = json.loads((run / "entry.json").read_text())
    entry = ZOO[info["name"]]
    out = zoo_dir() / f"{entry.name}.onnx"
    export_entry(entry, run / "final.pt", out)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    prior = info.get("init") or {"steps": 0, "seconds": 0.0, "from": None}
    card = zoo_dir() / "zoo.json"
    cards = json.loads(card.read_text()) if card.exists() else {}
    cards[entry.name] = {"architecture": entry.title, "scale": entry.scale, "channels": "Y",
                         "train_data": "T91 (x5 downscales, x8 flips/rotations), MATLAB bicubic LR",
                         "steps": prior["steps"] + log[-1]["step"],
                         "train_seconds": round(prior["seconds"] + log[-1]["seconds"]),
                         "schedule": schedule_text(prior, log[-1]["step"]),
                         "batch": info["batch"], "lr_patch": info["lr_patch"],
                         "val_set5_psnr_db_float": round(log[-1]["val_psnr"], 2)}
    card.write_text(json.dumps(cards, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
