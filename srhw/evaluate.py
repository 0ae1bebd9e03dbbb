"""The SR evaluation protocol, shared by `srhw eval`, `srhw upscale`, `srhw sweep`, training
validation and the benchmarks.

Protocol (as SR papers measure): HR images modcropped to the scale; LR by MATLAB-compatible
bicubic downscaling (srhw.imresize); Y of BT.601 in studio range as uint8; the model's output
rounded to uint8; PSNR and SSIM on Y with a border of `scale` pixels shaved. SSIM is
scikit-image's with the usual SR settings (Gaussian window sigma 1.5, population covariance,
data range 255). SRCNN-style models (scale 1 network) get the bicubic-upscaled LR image.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from srhw.errors import UsageError
from srhw.imaging import list_images, load_y, modcrop, psnr
from srhw.imresize import imresize


def lr_of(hr: np.ndarray, scale: int) -> np.ndarray:
    """The LR image of a (modcropped) HR uint8 image: MATLAB bicubic by 1/scale."""
    h, w = hr.shape[:2]
    return imresize(hr, (h // scale, w // scale))


def bicubic_up(lr: np.ndarray, scale: int) -> np.ndarray:
    h, w = lr.shape[:2]
    return imresize(lr, (h * scale, w * scale))


def ssim(a: np.ndarray, b: np.ndarray, shave: int = 0) -> float:
    from skimage.metrics import structural_similarity

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    return float(structural_similarity(a, b, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


@dataclass(frozen=True)
class Upscaler:
    """Runs one model version (float or a quantized IR) on a Y image at a given scale."""

    float_graph: object
    qgraph: object | None      # None: float
    model_scale: int
    scale: int

    @property
    def pre_upscale(self) -> bool:
        """SRCNN-style: the network keeps the size and takes the bicubic-upscaled image."""
        return self.model_scale == 1 and self.scale > 1

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        return self.run(bicubic_up(lr, self.scale) if self.pre_upscale else lr)

    def run(self, x: np.ndarray) -> np.ndarray:
        """The model on its own input (the LR image, or its bicubic upscale when pre_upscale)."""
        import sys

        from srhw.compiler import float_reference
        from srhw.tiling import float_halo, run_tiled, tiled

        if self.qgraph is None:
            y = tiled(lambda f: float_reference(self.float_graph, f), x[None], self.model_scale,
                      float_halo(self.float_graph), progress=sys.stderr.isatty())
            return np.floor(y[0] + 0.5).astype(np.uint8)

        # large images in tiles, the same output; a bar on a terminal
        return run_tiled(self.qgraph, x[None], progress=sys.stderr.isatty())[0].astype(np.uint8)


def resolve_scale(model_scale: int, scale: int | None) -> int:
    if scale is None:
        if model_scale == 1:
            raise UsageError("the model keeps the image size (SRCNN-style): give --scale N for its bicubic input")
        return model_scale
    if model_scale != 1 and scale != model_scale:
        raise UsageError(f"the model upscales x{model_scale}; --scale {scale} does not match")
    if not 1 <= scale <= 8:
        raise UsageError(f"--scale must be 1..8, not {scale}")
    return scale


def compile_versions(model, bits_list: list[int], calib=None, weight_rounding: str = "gptq",
                     use_cache: bool = True) -> tuple[dict[str, tuple], object]:
    """({'float': (graph, None), 'W{b}A{b}': (graph, qgraph), ...}, the first compile result).
    With `use_cache` the quantized graphs come from the quantization cache (srhw.designs) where
    `srhw compile`, `srhw upscale` and earlier evaluations left them."""
    import srhw

    def chosen(b: int) -> dict:  # defaults are not passed as choices: a model quantized already refuses any
        return ({"bits": b} if b != 8 else {}) | \
            ({"weight_rounding": weight_rounding} if weight_rounding != "gptq" else {})

    results = {f"W{b}A{b}": srhw.compile(model, calib=calib, progress=False, hls=False, cache=use_cache, **chosen(b))
               for b in bits_list}
    first = next(iter(results.values()))
    return {"float": (first.float_graph, None)} | {k: (r.float_graph, r.qgraph) for k, r in results.items()}, first


def evaluate(model, data: Path, scale: int | None = None, bits_list: list[int] | None = None, calib=None,
             weight_rounding: str = "gptq", use_cache: bool = True) -> dict:
    """Per-image and mean PSNR/SSIM of bicubic, float and each fixed-point width. `model` may be a
    directory `srhw compile` wrote: then its design alone (no float model beside it), at its width.
    `use_cache`: take the quantized graphs from the quantization cache (see compile_versions)."""
    from srhw.designs import is_compiled_dir

    images(data)  # a bad folder fails before the compiles
    if is_compiled_dir(model):
        import srhw

        if calib is not None:
            raise UsageError(f"'{model}' is a compiled design: --calib needs the ONNX model or zoo name instead")
        q = srhw.load_ir(model)
        if bits_list and bits_list != [q.meta.bits]:
            raise UsageError(f"'{model}' was compiled with --bits {q.meta.bits}, not {bits_list}")
        first = SimpleNamespace(qgraph=q, summary={"model": q.meta.model or Path(model).name})
        return evaluate_versions({q.meta.widths: (None, q)}, first, data, scale)
    # a --scale the model contradicts, an unreadable or too small image: errors before the compiles
    hrs = list(hr_images(images(data), resolve_scale(model_scale_of(model), scale)))
    return evaluate_versions(*compile_versions(model, bits_list or [8], calib, weight_rounding, use_cache), data,
                             scale, hrs)


def model_scale_of(model) -> int:
    """The model's upscaling factor from its graph after the passes (no calibration)."""
    from srhw.compiler import resolve_model
    from srhw.frontend import import_onnx
    from srhw.inspect_graph import lr_resolutions
    from srhw.passes import pipeline, run_pipeline

    graph = run_pipeline(import_onnx(resolve_model(model)), pipeline())
    return lr_resolutions(graph)[graph.output]


def images(data: Path) -> list[Path]:
    data = Path(data)
    if not data.is_dir():
        raise UsageError(f"data directory '{data}' does not exist")
    paths = list_images(data)
    if not paths:
        raise UsageError(f"data directory '{data}' holds no images")
    return paths


def hr_images(paths: list[Path], s: int):
    """Each image's Y plane, cropped to a multiple of the scale, checked large enough to measure."""
    for p in paths:
        hr = modcrop(load_y(p), s)
        if min(hr.shape) < 2 * s + 11:
            raise UsageError(f"HR image '{p}' is {hr.shape[1]}x{hr.shape[0]} (cropped to a multiple of {s}); "
                             f"measuring it at x{s} needs at least {2 * s + 11}x{2 * s + 11}: {s} shaved on each "
                             f"side and SSIM's 11-pixel window")
        yield hr


def evaluate_versions(raw: dict[str, tuple], first, data: Path, scale: int | None = None,
                      hrs: list[np.ndarray] | None = None) -> dict:
    """evaluate() on versions already compiled (compile_versions' result); `hrs`: the images of
    `data` as hr_images gives them, when the caller has read them already."""
    paths = images(data)
    if first.qgraph.input_channels != 1:
        raise UsageError("srhw eval measures Y-channel models (1 input channel); this model takes "
                         f"{first.qgraph.input_channels}")
    model_scale = first.qgraph.scale
    s = resolve_scale(model_scale, scale)
    ups = {k: Upscaler(g, q, model_scale, s) for k, (g, q) in raw.items()}
    rows = []
    import sys

    from tqdm import tqdm

    bar = tqdm(paths, desc="evaluating", unit="image", leave=False, disable=not sys.stderr.isatty())
    for p, hr in zip(bar, hrs if hrs is not None else hr_images(paths, s)):
        lr = lr_of(hr, s)
        bicubic = bicubic_up(lr, s)
        outs = {"bicubic": bicubic} | {k: u.run(bicubic if u.pre_upscale else lr) for k, u in ups.items()}
        row = {"image": p.stem, "size": list(hr.shape)}
        for k, y in outs.items():
            if y.shape != hr.shape:
                raise UsageError(f"the model's output {y.shape} does not match the HR image {hr.shape} of {p.name}")
            row[k] = {"psnr": psnr(y, hr, shave=s), "ssim": ssim(y, hr, shave=s)}
        rows.append(row)
    keys = [k for k in rows[0] if k not in ("image", "size")]
    mean = {k: {m: float(np.mean([r[k][m] for r in rows])) for m in ("psnr", "ssim")} for k in keys}
    return {"model": first.summary["model"], "data": Path(data).name, "scale": s, "images": len(rows),
            "protocol": "Y BT.601 studio range, modcrop, MATLAB bicubic LR, shave = scale", "per_image": rows,
            "mean": mean}


def table(res: dict) -> str:
    keys = list(res["mean"])
    lines = [f"{res['model']} on {res['data']} x{res['scale']} ({res['images']} images; PSNR dB / SSIM, Y, "
             f"shave {res['scale']})", "",
             "| image | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for r in res["per_image"]:
        lines.append(f"| {r['image']} | " + " | ".join(f"{r[k]['psnr']:.2f} / {r[k]['ssim']:.4f}" for k in keys) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{res['mean'][k]['psnr']:.3f}** / {res['mean'][k]['ssim']:.4f}"
                                          for k in keys) + " |")
    fixed = [k for k in keys if k.startswith("W")]
    if fixed and "float" in res["mean"]:
        f = res["mean"]["float"]["psnr"]
        lines += ["", "Loss vs float: " + ", ".join(f"{k} {res['mean'][k]['psnr'] - f:+.3f} dB" for k in fixed)]
    return "\n".join(lines)
