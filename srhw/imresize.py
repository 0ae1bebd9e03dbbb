"""MATLAB-compatible bicubic `imresize` (antialiasing on, cubic a = -0.5).

SR papers build their LR inputs and bicubic baselines with MATLAB's imresize; Pillow's
bicubic differs (it renormalises at the borders instead of mirroring, and rounds to uint8
between passes differently), which moves PSNR by 0.1-0.3 dB. This follows MATLAB's
algorithm:

- output pixel x (1-based) samples the input at u = x / s + (1 - 1/s) / 2 (s = out / in);
- kernel: cubic with a = -0.5; when shrinking (s < 1) it is stretched to width 4 / s and
  scaled by s (antialiasing);
- taps beyond the border are mirrored (symmetric, edge pixel repeated), weights normalised
  to sum 1, all-zero taps dropped;
- the dimension with the smaller scale is resized first (rows first on a tie);
- uint8 input: each pass is rounded (half away from zero) and saturated to uint8, as
  MATLAB's imresizemex does; float input stays float.
"""
from __future__ import annotations

import math

import numpy as np


def cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def weight_matrix(in_len: int, out_len: int, scale: float, antialias: bool = True) -> np.ndarray:
    """[out_len, in_len] matrix of one resize pass (MATLAB's `contributions`)."""
    width = 4.0
    if scale < 1 and antialias:
        def kernel(x):
            return scale * cubic(scale * x)
        width /= scale
    else:
        kernel = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = math.ceil(width) + 2
    idx = left[:, None] + np.arange(taps)[None, :]          # 1-based input positions
    w = kernel(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    src = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    m = np.zeros((out_len, in_len))
    np.add.at(m, (np.repeat(np.arange(out_len), taps), src.reshape(-1)), w.reshape(-1))
    return m


def _round_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255)  # values are >= 0 after the clip, so half-up = half-away


def imresize(img: np.ndarray, size: tuple[int, int] | None = None, scale: float | None = None) -> np.ndarray:
    """Resize a [H, W] or [H, W, C] image to `size` = (height, width), or by `scale`."""
    a = np.asarray(img)
    byte = a.dtype == np.uint8
    h, w = a.shape[:2]
    if size is None:
        if scale is None:
            raise ValueError("give size or scale")
        size = (math.ceil(h * scale), math.ceil(w * scale))
        scales = (float(scale), float(scale))
    else:
        scales = (size[0] / h, size[1] / w)
    out = a.astype(np.float64)
    for dim in sorted((0, 1), key=lambda d: scales[d]):
        m = weight_matrix(out.shape[dim], size[dim], scales[dim])
        out = np.tensordot(m, out, axes=([1], [dim]))
        if dim == 1:
            out = np.moveaxis(out, 0, 1)
        if byte:
            out = _round_u8(out)
    return out.astype(np.uint8) if byte else out
