"""Regenerates tests/pins/golden_pins.json: the golden output digest and PSNR against float of
every shipped model on fixed frames. Run deliberately, after a change to quantization or
arithmetic that you mean to make, and commit the diff with the reason:

    python -m tests.pins.regen            # every shipped model
    python -m tests.pins.regen MODEL...   # only these (and any shipped model without pins)
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

PINS = Path(__file__).resolve().parent / "golden_pins.json"
BITS = (8, 6)


def pin_frames() -> list[np.ndarray]:
    """Fixed frames that need no dataset: odd/non-square sizes, smooth + edges + noise, extremes."""
    rng = np.random.default_rng(2024)
    frames = []
    for h, w in ((37, 23), (64, 48)):
        yy, xx = np.mgrid[0:h, 0:w]
        smooth = 128 + 90 * np.sin(yy / 5.0) * np.cos(xx / 7.0)
        edges = np.where((xx // 6 + yy // 9) % 2 == 0, 40, 215)
        frames.append(np.clip(0.6 * smooth + 0.4 * edges + rng.normal(0, 8, (h, w)), 0, 255).astype(np.uint8))
    frames.append(np.full((17, 19), 255, np.uint8))
    frames.append(((np.indices((16, 21)).sum(0) % 2) * 255).astype(np.uint8))
    return frames


def compute(model: str, bits: int) -> dict:
    import srhw
    from srhw import golden
    from srhw.compiler import float_reference
    from srhw.imaging import psnr

    r = srhw.compile(model, bits=bits, progress=False, hls=False)
    digest = hashlib.sha256()
    psnrs = []
    for f in pin_frames():
        out = golden.run(r.qgraph, f)
        digest.update(np.ascontiguousarray(out).tobytes())
        psnrs.append(psnr(out, float_reference(r.float_graph, f[None])))
    return {"sha256": digest.hexdigest(), "psnr_vs_float_db": round(float(np.mean(psnrs)), 3),
            "calibration": r.summary["calibration_method"], "max_accumulator_width": r.summary["max_accumulator_width"]}


def shipped_models() -> list[str]:
    from srhw.resources import zoo_dir

    return sorted(p.stem for p in zoo_dir().glob("*.onnx"))


def main(argv: list[str] | None = None) -> None:
    """No arguments: every shipped model. With model names: those are recomputed, the other pins
    kept (after adding a model; a change to quantization needs the full run)."""
    import sys

    names = sys.argv[1:] if argv is None else argv
    unknown = sorted(set(names) - set(shipped_models()))
    if unknown:
        raise SystemExit(f"not shipped: {', '.join(unknown)}")
    old = json.loads(PINS.read_text()) if names and PINS.exists() else {}
    pins = {m: {f"W{b}A{b}": compute(m, b) for b in BITS} if not names or m in names or m not in old else old[m]
            for m in shipped_models()}
    PINS.write_text(json.dumps(pins, indent=2, sort_keys=True) + "\n")
    print(f"wrote {PINS}")


if __name__ == "__main__":
    main()
