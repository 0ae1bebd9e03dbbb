"""`srhw upscale`: one image through the golden model (or float), Y by the model and Cb/Cr
by MATLAB bicubic, and an optional side-by-side comparison figure."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np

from srhw.errors import UsageError
from srhw.evaluate import Upscaler, resolve_scale
from srhw.imaging import read_image, rgb_to_ycbcr
from srhw.imresize import imresize
from srhw.options import check_bits
from srhw.outputs import check_output_file, replacing


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of imaging.rgb_to_ycbcr (BT.601 studio range), float in [0, 255]."""
    y, cb, cr = ycc[..., 0] - 16.0, ycc[..., 1] - 128.0, ycc[..., 2] - 128.0
    r = 255.0 / 219.0 * y + 255.0 / 224.0 * 1.402 * cr
    g = 255.0 / 219.0 * y - 255.0 / 224.0 * 1.772 * 0.114 / 0.587 * cb - 255.0 / 224.0 * 1.402 * 0.299 / 0.587 * cr
    b = 255.0 / 219.0 * y + 255.0 / 224.0 * 1.772 * cb
    return np.stack([r, g, b], axis=-1)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


class SplitImage:
    """An input image split once for upscaling: Y (what the model sees) and, for colour
    images, Cb/Cr already upscaled by bicubic."""

    def __init__(self, img: np.ndarray, gray: bool, scale: int):
        self.img, self.gray, self.scale = img, gray, scale
        if gray:
            self.y, self.chroma = img, None
        else:
            ycc = rgb_to_ycbcr(img)
            self.y = _to_u8(ycc[..., 0])
            h, w = self.y.shape
            self.chroma = imresize(ycc[..., 1:], (h * scale, w * scale))

    def with_y(self, y_sr: np.ndarray) -> np.ndarray:
        """The output image from an upscaled Y, same layout as the input."""
        if self.gray:
            return y_sr
        return _to_u8(ycbcr_to_rgb(np.concatenate([y_sr.astype(np.float64)[..., None], self.chroma], axis=-1)))

    def bicubic(self) -> np.ndarray:
        h, w = self.img.shape[:2]
        return imresize(self.img, (h * self.scale, w * self.scale))


def upscale(model, src: Path, dst: Path, bits: int | None = None, scale: int | None = None, calib=None,
            compare: Path | None = None, hr: Path | None = None, use_cache: bool = True,
            use_float: bool = False) -> dict:
    """bits: the fixed-point width (default 8, or the compiled design's); use_float: the float
    model's output instead. `model`: an ONNX file or zoo name (quantized once, then taken from
    the quantization cache, srhw.designs) or a compiled output directory (its ir.json as it is).
    Writes dst (and the comparison figure); returns what it did."""
    from PIL import Image

    from srhw.designs import Design, design, is_compiled_dir

    check_bits("bits", bits)
    check_image_output(dst, "-o", (src, hr))
    if compare is not None:
        check_image_output(compare, "--compare", (src, hr, dst))
    dst = Path(dst)
    img, gray = read_image(src)
    h_img = read_image(hr)[0] if compare is not None and hr is not None else None
    compiled = model.float_graph is None if isinstance(model, Design) else is_compiled_dir(model)
    if compiled and (use_float or compare is not None or calib is not None):
        raise UsageError(f"'{model}' is a compiled design: it holds the quantized model only, so --float, --compare "
                         f"and --calib need the ONNX model or zoo name instead")
    d = model if isinstance(model, Design) else design(model, bits or 8, calib, use_cache)
    q = d.qgraph
    if d.float_graph is None and bits is not None and bits != q.meta.bits:
        raise UsageError(f"'{model}' was compiled with --bits {q.meta.bits}, not {bits}")
    fixed = q.meta.widths
    if q.input_channels != 1:
        raise UsageError(f"srhw upscale runs Y-channel models; this one takes {q.input_channels} channels")
    s = resolve_scale(q.scale, scale)
    split = SplitImage(img, gray, s)
    versions = {"fixed": Upscaler(d.float_graph, q, q.scale, s)}
    if d.float_graph is not None:
        versions["float"] = Upscaler(d.float_graph, None, q.scale, s)
    chosen = "float" if use_float else "fixed"
    wanted = list(versions) if compare is not None else [chosen]
    out = {k: split.with_y(versions[k](split.y)) for k in wanted}
    sr = out[chosen]
    info = {"input": [int(v) for v in img.shape[:2]], "output": [int(v) for v in sr.shape[:2]], "scale": s,
            "version": "float" if use_float else fixed, "design": d.source}
    if compare is not None:
        panels = [("bicubic", split.bicubic()), ("float", out["float"]),
                  (f"fixed {fixed}", out["fixed"])]
        if h_img is not None:
            h_img = h_img[: sr.shape[0], : sr.shape[1]]
            if h_img.shape[:2] != sr.shape[:2]:
                raise UsageError(f"--hr image is {h_img.shape[1]}x{h_img.shape[0]}, smaller than the output")
            if gray and h_img.ndim == 3:
                h_img = _to_u8(rgb_to_ycbcr(h_img)[..., 0])
            scores = {label: y_scores(img_, h_img, s) for label, img_ in panels}
            info["scores"] = scores
            panels = [(f"{label}  {scores[label][0]:.2f} dB  SSIM {scores[label][1]:.4f}", img_)
                      for label, img_ in panels]
            panels.append(("ground truth", h_img))
        figure = comparison_figure(panels)
        info["compare"] = str(compare)
    # every check has passed: only now the files appear, both written before either is renamed
    with replacing(dst) as tmp, replacing(compare, "--compare") if compare is not None else nullcontext() as tmp_c:
        Image.fromarray(sr).save(tmp, format=image_format(dst))
        if compare is not None:
            figure.save(tmp_c, format=image_format(Path(compare)))
    return info


def upscale_all(model, sources: list, out_dir, bits: int | None = None, scale: int | None = None, calib=None,
                use_cache: bool = True, use_float: bool = False, force: bool = False) -> list[dict]:
    """Several images, or every image of the folders among `sources`, with one design: written
    as NAME.png into `out_dir`, which appears whole or not at all (srhw.outputs)."""
    import sys
    import tempfile

    from tqdm import tqdm

    from srhw.designs import design, is_compiled_dir
    from srhw.imaging import list_images
    from srhw.outputs import check_output_dir, write_dir

    files: list[Path] = []
    for src in map(Path, sources):
        files += list_images(src) if src.is_dir() else [src]
    if not files:
        raise UsageError(f"no images (.png, .bmp, .jpg, .tif) in {', '.join(map(str, sources))}")
    names = [f.stem + ".png" for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"two inputs would both be written as {dup[0]}; upscale them into separate folders")
    check_output_dir(out_dir, force, tuple(files))
    check_bits("bits", bits)
    if is_compiled_dir(model) and (use_float or calib is not None):
        raise UsageError(f"'{model}' is a compiled design: it holds the quantized model only, so --float and "
                         f"--calib need the ONNX model or zoo name instead")
    d = design(model, bits or 8, calib, use_cache)
    infos, written = [], {}
    with tempfile.TemporaryDirectory(prefix="srhw-upscale-") as tmp:
        for f, name in tqdm(list(zip(files, names)), desc="upscaling", unit="image", leave=False,
                            disable=not sys.stderr.isatty()):
            infos.append(upscale(d, f, Path(tmp) / name, bits, scale, None, use_float=use_float) | {"image": str(f)})
            written[name] = (Path(tmp) / name).read_bytes()
        write_dir(out_dir, written, force, tuple(files))
    return infos


def y_scores(img: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """(PSNR dB, SSIM) on Y against the ground truth, shaving `scale` pixels: srhw eval's protocol."""
    from srhw.evaluate import ssim
    from srhw.imaging import psnr

    def y(a):
        return a if a.ndim == 2 else _to_u8(rgb_to_ycbcr(a)[..., 0])

    return psnr(y(img), y(hr), shave=scale), ssim(y(img), y(hr), shave=scale)


def image_format(path: Path) -> str:
    """The PIL format its suffix names (.png, .jpg, .tif, ...)."""
    from PIL import Image

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise UsageError(f"cannot write an image named '{path}': its suffix names no image format that can be "
                         f"written (use .png, .tif, .bmp or .jpg)")
    return fmt


def check_image_output(path, flag: str, inputs: tuple) -> None:
    check_output_file(path, flag, tuple(Path(i) for i in inputs if i is not None))
    image_format(Path(path))


def comparison_figure(panels: list[tuple[str, np.ndarray]], crop: int = 160):
    """Aligned crops (the same window of every image) side by side, each labelled."""
    from PIL import Image, ImageDraw

    h, w = panels[0][1].shape[:2]
    c = min(crop, h, w)
    y0, x0 = (h - c) // 2, (w - c) // 2
    zoom = max(1, 320 // c)
    tiles = []
    for label, img in panels:
        tile = Image.fromarray(img[y0: y0 + c, x0: x0 + c]).convert("RGB").resize((c * zoom, c * zoom), Image.NEAREST)
        canvas = Image.new("RGB", (tile.width, tile.height + 18), "white")
        canvas.paste(tile, (0, 18))
        ImageDraw.Draw(canvas).text((4, 3), label, fill="black")
        tiles.append(canvas)
    fig = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), tiles[0].height), "white")
    x = 0
    for t in tiles:
        fig.paste(t, (x, 0))
        x += t.width + 4
    return fig
