"""Conversions between the canonical [1, C, H, W] kernel tensors and the model's own layouts."""
from __future__ import annotations

import numpy as np


def from_model_layout(x: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    """Model input (e.g. NHWC) -> canonical [1, C, H, W]."""
    return np.transpose(x, [labels.index(a) for a in ("N", "C", "H", "W")])


def to_model_layout(y: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    """Canonical [1, C, H, W] -> the model's output layout (NHWC, squeezed unit axes, ...)."""
    z = y[0]
    names = ["C", "H", "W"]
    if "C" not in labels:
        if z.shape[0] != 1:
            raise ValueError(f"output layout {labels} has no channel axis but there are {z.shape[0]} channels")
        z, names = z[0], ["H", "W"]
    present = [a for a in labels if a in names]
    z = np.transpose(z, [names.index(a) for a in present])
    return z.reshape([z.shape[present.index(a)] if a in names else 1 for a in labels])
