"""Exports a trained zoo checkpoint to ONNX (dynamic H/W, torch's default exporter)."""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path


def export_fsrcnn(state_path: Path, out: Path, scale: int, d: int = 56, s: int = 12, m: int = 4) -> None:
    import torch

    from srhw.zoo.models import FSRCNN

    model = FSRCNN(scale=scale, d=d, s=s, m=m)
    model.load_state_dict(torch.load(state_path, map_location="cpu"))
    model.eval()
    x = torch.rand(1, 1, 32, 32)
    dims = {2: torch.export.Dim("h", min=8, max=4096), 3: torch.export.Dim("w", min=8, max=4096)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(out), dynamo=True, input_names=["lr_y"], output_names=["hr_y"],
                          dynamic_shapes={"x": dims}, external_data=False, verbose=False)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("run_dir", help="training run directory (holds final.pt and log.jsonl)")
    p.add_argument("--scale", type=int, default=2)
    p.add_argument("--name", default="fsrcnn_x2")
    args = p.parse_args(argv)
    from srhw.resources import zoo_dir

    run = Path(args.run_dir)
    out = zoo_dir() / f"{args.name}.onnx"
    export_fsrcnn(run / "final.pt", out, args.scale)
    log = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    card = zoo_dir() / "zoo.json"
    cards = json.loads(card.read_text()) if card.exists() else {}
    cards[args.name] = {"architecture": "FSRCNN(56,12,4)", "scale": args.scale, "channels": "Y",
                        "train_data": "T91 (x5 downscales, x8 flips/rotations), Pillow bicubic LR",
                        "steps": log[-1]["step"], "train_seconds": round(log[-1]["seconds"]),
                        "val_set5_psnr_db_float_pillow_bicubic": round(log[-1]["val_psnr"], 2)}
    card.write_text(json.dumps(cards, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
