"""`srhw zoo list` / `srhw zoo export`: the shipped models, their cards and figures."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from srhw.errors import UsageError
from srhw.outputs import replacing
from srhw.resources import zoo_dir
from srhw.zoo.registry import ZOO


def cards() -> dict:
    f = zoo_dir() / "zoo.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def model_figures(path: Path, scale: int) -> tuple[int, int]:
    """(parameters, MACs per LR pixel): non-zero conv weights, so a lowered ConvTranspose
    counts its true taps; SRCNN-style models run at HR size (x scale^2 per LR pixel)."""
    import onnx

    from srhw.frontend import import_onnx
    from srhw.inspect_graph import macs_per_lr_pixel
    from srhw.passes import pipeline, run_pipeline

    params = sum(int(np.prod(i.dims)) for i in onnx.load(str(path)).graph.initializer)
    macs = macs_per_lr_pixel(run_pipeline(import_onnx(path), pipeline()), nonzero_only=True)
    pre = ZOO[path.stem].pre_upscale if path.stem in ZOO else False
    return params, macs * (scale * scale if pre else 1)


def rows() -> list[dict]:
    out = []
    c = cards()
    for name, entry in ZOO.items():
        path = zoo_dir() / f"{name}.onnx"
        if not path.is_file():
            continue
        params, macs = model_figures(path, entry.scale)
        card = c.get(name, {})
        out.append({"name": name, "architecture": entry.title, "scale": entry.scale, "parameters": params,
                    "macs_per_lr_pixel": macs, "set5_float_db": card.get("set5_psnr_db", {}).get("float"),
                    "set5_w8a8_db": card.get("set5_psnr_db", {}).get("W8A8"),
                    "train_seconds": card.get("train_seconds"), "bytes": path.stat().st_size})
    return out


def list_text() -> str:
    lines = [f"{'name':<16} {'architecture':<22} {'scale':>5} {'params':>7} {'MACs/LR px':>10} "
             f"{'Set5 float':>10} {'Set5 W8A8':>9}"]
    for r in rows():
        f = "-" if r["set5_float_db"] is None else f"{r['set5_float_db']:.2f}"
        q = "-" if r["set5_w8a8_db"] is None else f"{r['set5_w8a8_db']:.2f}"
        lines.append(f"{r['name']:<16} {r['architecture']:<22} {'x' + str(r['scale']):>5} {r['parameters']:>7} "
                     f"{r['macs_per_lr_pixel']:>10} {f:>10} {q:>9}")
    missing = sorted(n for n in ZOO if not (zoo_dir() / f"{n}.onnx").is_file())
    if missing:
        lines.append(f"\ntrainable, not shipped yet ({len(missing)}): {', '.join(missing)}")
        lines.append("  srhw zoo train NAME --data T91_DIR --run-dir RUN_DIR")
    return "\n".join(lines)


def export(name: str, dest: Path) -> Path:
    src = zoo_dir() / f"{name}.onnx"
    if not src.is_file():
        shipped = ", ".join(sorted(p.stem for p in zoo_dir().glob("*.onnx")))
        raise UsageError(f"'{name}' is not a shipped zoo model (shipped: {shipped})")
    dest = Path(dest)
    with replacing(dest) as tmp:
        shutil.copyfile(src, tmp)
    return dest
