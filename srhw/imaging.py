"""Image helpers shared by calibration, evaluation and training.

Colour conversion follows ITU-R BT.601 in studio range, as SR papers measure PSNR on Y.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """uint8/float RGB in [0, 255] -> float64 YCbCr (BT.601 studio range, Y in [16, 235])."""
    x = np.asarray(rgb, dtype=np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16.0 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128.0 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128.0 + 112.0 * r - 93.786 * g - 18.214 * b
    return np.stack([y, cb, cr], axis=-1)


def load_y(path: Path) -> np.ndarray:
    """Y channel (BT.601 studio range) of an image file as uint8, grayscale files taken as Y."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode in ("L", "I", "I;16"):
            return np.asarray(im.convert("L"), dtype=np.uint8)
        rgb = np.asarray(im.convert("RGB"))
    return np.clip(np.floor(rgb_to_ycbcr(rgb)[..., 0] + 0.5), 0, 255).astype(np.uint8)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def bicubic_resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a uint8 single-channel image to (height, width) with Pillow.

    The zoo issue replaces this with a MATLAB-compatible imresize; results here are
    close (~0.1-0.3 dB) but not identical to the papers' protocol.
    """
    from PIL import Image

    h, w = size
    out = Image.fromarray(img).resize((w, h), Image.BICUBIC)
    return np.asarray(out, dtype=np.uint8)


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def psnr(a: np.ndarray, b: np.ndarray, shave: int = 0) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if shave:
        a = a[shave:-shave, shave:-shave]
        b = b[shave:-shave, shave:-shave]
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
