"""Rebuilds srhw/data/calib/: fixed crops of copyright-free images that scikit-image ships."""
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "srhw" / "data" / "calib"
CROPS = {"astronaut": [(40, 160), (300, 250)], "coffee": [(100, 150), (250, 350)], "chelsea": [(60, 100), (150, 250)],
         "rocket": [(100, 200)], "hubble_deep_field": [(300, 500)], "camera": [(80, 200)]}


def main() -> None:
    from skimage import data

    for name, spots in CROPS.items():
        img = getattr(data, name)()
        if img.ndim == 2:
            img = np.stack([img] * 3, -1)
        short = "hubble" if name == "hubble_deep_field" else name
        for k, (y, x) in enumerate(spots):
            Image.fromarray(img[y:y + 96, x:x + 128]).save(OUT / f"{short}_{k}.png", optimize=True)


if __name__ == "__main__":
    main()
