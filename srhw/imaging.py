"""Image helpers shared by calibration, evaluation and training.

Colour conversion follows ITU-R BT.601 in studio range, as SR papers measure PSNR on Y.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from srhw.errors import UsageError

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """uint8/float RGB in [0, 255] -> float64 YCbCr (BT.601 studio range, Y in [16, 235])."""
    x = np.asarray(rgb, dtype=np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16.0 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128.0 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128.0 + 112.0 * r - 93.786 * g - 18.214 * b
    return np.stack([y, cb, cr], axis=-1)


MAX_PIXELS = 100_000_000  # a 10000 x 10000 image; SRHW_MAX_IMAGE_PIXELS overrides it


def max_pixels() -> int:
    v = os.environ.get("SRHW_MAX_IMAGE_PIXELS", "")
    try:
        return int(v) if v else MAX_PIXELS
    except ValueError:
        raise UsageError(f"SRHW_MAX_IMAGE_PIXELS must be a whole number of pixels, not {v!r}") from None


def _to_u8(a: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """A single-channel image of any depth as 8 bits: 16-bit scaled by 255/65535, float in [0, 1]
    scaled by 255 (float in [0, 255] kept), both rounded half up."""
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 255:
            raise UsageError(f"cannot read image '{path}': a {mode} image with values outside [0, 1] and [0, 255] "
                             f"(min {np.nanmin(a):.3g}, max {np.nanmax(a):.3g})")
        scale = 255.0 if a.max() <= 1.0 else 1.0
        return np.floor(a.astype(np.float64) * scale + 0.5).astype(np.uint8)
    a = a.astype(np.int64)
    if a.min() < 0 or a.max() > 65535:
        raise UsageError(f"cannot read image '{path}': a {mode} image with values outside 0..65535")
    if mode == "I" and a.max() <= 255:  # an 8-bit image stored in 32-bit integers
        return a.astype(np.uint8)
    return ((a * 255 + 32767) // 65535).astype(np.uint8)


def read_image(path: str | Path) -> tuple[np.ndarray, bool]:
    """An image file as (uint8 [H, W, 3] RGB or [H, W] grey, is_grey). 16-bit and float images are
    scaled to 8 bits, palette and alpha images converted to RGB (alpha dropped); an image over
    max_pixels() is refused before it is decoded, and a file that cannot be read is one UsageError."""
    import warnings

    from PIL import Image

    path = Path(path)
    limit = max_pixels()
    old = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None  # the limit is checked below, with a message that says how to raise it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                w, h = im.size
                if w * h > limit:
                    raise UsageError(f"image '{path}' is {w}x{h} = {w * h} pixels, over the limit of {limit} "
                                     f"(set SRHW_MAX_IMAGE_PIXELS to raise it)")
                if w < 1 or h < 1:
                    raise UsageError(f"image '{path}' is {w}x{h}: empty")
                mode = im.mode
                if mode in ("1", "L", "LA", "La"):
                    return np.asarray(im.convert("L"), dtype=np.uint8), True
                if mode in ("I", "F") or mode.startswith("I;16"):
                    return _to_u8(np.asarray(im), mode, path), True
                return np.asarray(im.convert("RGB"), dtype=np.uint8), False
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise UsageError(f"cannot read image '{path}': {str(e)[:160] or type(e).__name__}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old


def load_y(path: Path) -> np.ndarray:
    """Y channel (BT.601 studio range) of an image file as uint8, grey files taken as Y."""
    img, grey = read_image(path)
    if grey:
        return img
    return np.clip(np.floor(rgb_to_ycbcr(img)[..., 0] + 0.5), 0, 255).astype(np.uint8)


def load_rgb(path: Path) -> np.ndarray:
    """An image file as uint8 [H, W, 3] RGB (a grey file in all three channels)."""
    img, grey = read_image(path)
    return np.repeat(img[..., None], 3, axis=-1) if grey else img


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
