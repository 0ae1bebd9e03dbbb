"""Where the shipped data lives: inside the wheel (`srhw/_shipped`) or in a source checkout."""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    inside = PACKAGE / "_shipped" / name
    if inside.is_dir():
        return inside
    checkout = PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"srhw installation is missing its '{name}' folder")


def templates_dir() -> Path:
    return _shipped("templates")


def hls_dir() -> Path:
    return _shipped("hls")


def rtl_dir() -> Path:
    return _shipped("rtl")


def sim_dir() -> Path:
    return _shipped("sim")


def zoo_dir() -> Path:
    return PACKAGE / "zoo" / "onnx"


def calib_dir(upscaling: bool = True) -> Path:
    """The default calibration frames: low-resolution frames for a model that upscales, crops of
    full-resolution images for one that keeps the image size (srhw/data/calib/README.md)."""
    return PACKAGE / "data" / "calib" / ("lr" if upscaling else "crops")
