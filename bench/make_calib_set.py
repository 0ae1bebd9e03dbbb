"""Rebuilds srhw/data/calib/: the default calibration frames, from copyright-free images that
scikit-image ships.

- `lr/`: for models that upscale. Each frame is a 128x96 crop of a whole scene downscaled x2 by
  MATLAB-style bicubic (srhw.imresize), so it has the pixel-level detail of a low-resolution
  frame, which is what such a model is fed (in the SR protocol: a bicubic-downscaled image).
- `crops/`: for models that keep the image size (SRCNN-style, fed a bicubic-upscaled frame).
  Each frame is a 128x96 crop of a full-resolution image: locally smooth, as an upscaled frame is.

docs/quantization.md (its section on calibration frames) has the measurements behind the two sets.
"""
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "srhw" / "data" / "calib"
CROPS = {"astronaut": [(40, 160), (300, 250)], "coffee": [(100, 150), (250, 350)], "chelsea": [(60, 100), (150, 250)],
         "rocket": [(100, 200)], "hubble_deep_field": [(300, 500)], "camera": [(80, 200)]}
# scene -> downscale factor (retina is 1411 px wide: x5 brings it near the others' size)
LR_SCENES = {"astronaut": 2, "brick": 2, "camera": 2, "chelsea": 2, "clock": 2, "coffee": 2, "coins": 2,
             "grass": 2, "gravel": 2, "immunohistochemistry": 2, "retina": 5, "rocket": 2}
H, W = 96, 128


def rgb(name: str) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    return np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3]


def main() -> None:
    from srhw.imresize import imresize

    (OUT / "crops").mkdir(parents=True, exist_ok=True)
    (OUT / "lr").mkdir(parents=True, exist_ok=True)
    for name, spots in CROPS.items():
        img = rgb(name)
        short = "hubble" if name == "hubble_deep_field" else name
        for k, (y, x) in enumerate(spots):
            Image.fromarray(img[y:y + H, x:x + W]).save(OUT / "crops" / f"{short}_{k}.png", optimize=True)
    for name, factor in LR_SCENES.items():
        small = imresize(rgb(name), scale=1 / factor)
        y, x = (small.shape[0] - H) // 2, (small.shape[1] - W) // 2
        Image.fromarray(small[y:y + H, x:x + W]).save(OUT / "lr" / f"{name}.png", optimize=True)


if __name__ == "__main__":
    main()
