"""The canonical [1, C, H, W] kernel output in the model's own output layout."""
from __future__ import annotations

import numpy as np


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
