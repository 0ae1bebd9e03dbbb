"""`srhw compile`: ONNX -> float pipeline -> calibration -> quantized IR -> output directory."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from srhw import float_exec, golden, ir
from srhw.errors import BackendError, UsageError
from srhw.frontend import import_onnx
from srhw.imaging import list_images, load_rgb, load_y, psnr
from srhw.options import CompileOptions
from srhw.outputs import check_output_dir, write_dir
from srhw.passes import pipeline, run_pipeline
from srhw.qir import QGraph, to_json
from srhw.quant import METHODS, calibrate, quantize
from srhw.quant.from_grids import is_quantized, quantize_from_grids
from srhw.quant.quantize import conv_input_lists
from srhw.resources import calib_dir, zoo_dir

log = logging.getLogger(__name__)

DEFAULT_MODEL = "fsrcnn_x2"


@dataclass(frozen=True)
class CompileResult:
    qgraph: QGraph
    float_graph: ir.Graph
    summary: dict
    report: str
    from_cache: bool = False  # the quantized graph came from the quantization cache (srhw.designs)


def resolve_model(model: str | Path | None) -> Path:
    """A path to an .onnx file, or the name of a zoo model (default: fsrcnn_x2)."""
    name = str(model) if model is not None else DEFAULT_MODEL
    p = Path(name)
    if p.suffix.lower() == ".onnx" or p.exists():
        return p
    zoo = zoo_dir() / f"{name}.onnx"
    if zoo.is_file():
        return zoo
    known = ", ".join(sorted(f.stem for f in zoo_dir().glob("*.onnx")))
    raise UsageError(f"'{name}' is neither an ONNX file nor a zoo model (zoo: {known})")


def upscales(graph: ir.Graph) -> bool:
    """Whether the model's output is larger than its input (else it keeps the size, SRCNN-style)."""
    from srhw.inspect_graph import lr_resolutions

    return lr_resolutions(graph)[graph.output] > 1


def load_frames(folder: Path | None, channels: int, upscaling: bool = True) -> list[np.ndarray]:
    """Calibration frames as uint8 [C, H, W]: Y for one-channel models, RGB for three. Without a
    folder, the shipped set that matches the model's input: low-resolution frames for a model that
    upscales, smooth full-resolution crops for one fed a bicubic-upscaled frame."""
    d = calib_dir(upscaling) if folder is None else Path(folder)
    if not d.is_dir():
        raise UsageError(f"calibration directory '{d}' does not exist")
    paths = list_images(d)
    if not paths:
        raise UsageError(f"calibration directory '{d}' holds no images (.png, .bmp, .jpg, .tif)")
    frames = []
    for p in paths:
        if channels == 1:
            frames.append(load_y(p)[None])
        elif channels == 3:
            frames.append(load_rgb(p).transpose(2, 0, 1).copy())
        else:
            raise UsageError(f"the model takes {channels} channels; calibration images give 1 (Y) or 3 (RGB)")
    return frames


def float_reference(graph: ir.Graph, frame: np.ndarray) -> np.ndarray:
    """The float model's output in pixel units, clamped to [0, 255] (what an 8-bit sink shows)."""
    y = float_exec.run(graph, frame[None].astype(np.float64))[graph.output][0]
    return np.clip(y, 0.0, 255.0)


def fixed_vs_float_psnr(q: QGraph, refs: list[np.ndarray], frames: list[np.ndarray]) -> float:
    return float(np.mean([psnr(golden.run(q, f), r) for f, r in zip(frames, refs)]))


def compile(model: str | Path | None = None, options: CompileOptions | None = None, *,
            out: str | Path | None = None, force: bool = False, progress: bool = True,
            test_frames: list[np.ndarray] | None = None, cache: bool = True, **fields) -> CompileResult:
    """Compiles an ONNX SR model (or zoo name) to the quantized IR; writes OUT/ when `out` is given.

    What to do is `options` (srhw.options.CompileOptions), or its fields given as keywords
    (`compile("fsrcnn_x2", bits=6, rtl=True)`; with `options` too, they override it). Every value
    is checked before any work starts (OptionError names the field).

    With `hls` (default) OUT/hls/ holds the Vitis HLS project, folded for the target that
    board/clock_mhz/fps/in_size describe; `fold_groups`, `fold_period` or `fold_chunks` force one
    fold on every conv (srhw.backends.folding.plan), and
    `test_frames` (uint8 [C, H, W]) replace the default C-simulation vectors.
    `rtl` adds OUT/rtl/ (Verilog for Verilator/Yosys, same ports and folds as the HLS top).
    `weight_granularity`: "output" (one weight format per output channel) or "kernel" (per
    output/input channel pair, see srhw.quant.quantize). `weight_rounding`: "gptq" (codes fitted
    to the float layer's output on the calibration frames, srhw.quant.fit_weights), "gptq-sparse"
    (the same fit, keeping at zero every weight whose nearest code is zero, so the hardware needs no
    more multipliers than with nearest rounding) or "nearest" (each weight to its nearest code,
    then the measured bias correction). `zero_points` (default): centre each signed activation read
    only by convs on its calibrated range (srhw.quant.zero_points); off: symmetric codes.
    `layer_bits`: widths of single layers, ((layer, wbits or None, abits or None), ...), the layer
    named by its ONNX node or its srhw name (l03_conv); the others keep wbits/abits.
    `psnr_budget` (dB): every layer's widths chosen for the least hardware cost of the plan whose
    PSNR loss against float on the calibration frames stays within it (srhw.quant.mixed).
    `cache`: reuse the quantized graph of an earlier compile of the same model, calibration images
    and quantization options, and keep this one's (srhw.designs); off: always quantize."""
    opts = CompileOptions(**fields) if options is None else replace(options, **fields)
    model_path = resolve_model(model)
    if out is not None:
        check_output_dir(out, force, (model_path,))
    q, graph, frames, from_cache = quantize_model(model_path, opts, progress, cache, frozenset(fields))
    target = opts.target(q.scale) if opts.hls or opts.rtl else None
    if target is not None:
        need_h, need_w = q.min_input_size()
        if target.in_h < need_h or target.in_w < need_w:  # a layer would have no output to plan for
            raise UsageError(f"the model takes {need_w - 1}x{need_h - 1} pixels away (unpadded convolutions), so "
                             f"its frames must be at least {need_w}x{need_h}; the planned frame is "
                             f"{target.in_w}x{target.in_h} (raise --in-size)")
    hls, rtl = opts.hls, opts.rtl

    from srhw.report import layer_rows, render_report, summary_of

    rows = layer_rows(q)
    fold = rate = None
    structure = None
    files: dict[str, str | bytes] = {}
    if target is not None:
        from srhw.backends import hls as hls_backend
        from srhw.backends import rtl as rtl_backend
        from srhw.backends.folding import kernel_interface

        hls_backend.check_shape(q)  # the plan and both backends take [stages] -> DepthToSpace? -> Crop?
        if rtl:
            rtl_backend.check(q)
        fold, rate = plan_and_certify(q, target, opts.fold_groups, opts.fold_period, opts.fold_chunks)
        if not rate.converged:  # the derived depths deadlock: writing this design out would ship a hang
            raise BackendError("the FIFO depths srhw derived for this network deadlock in its dataflow model "
                               "(a bug in srhw: please report it with the model); no design was written")
        files["interface.json"] = json.dumps(kernel_interface(q, fold, hls_backend.TOP), indent=2) + "\n"
        if rtl:
            files |= {f"rtl/{k}": v for k, v in rtl_backend.render(q, fold, rate.depths).items()}
        if hls:
            if test_frames is not None:
                frames_tb = test_frames
            elif target.fixed_size:
                frames_tb = csim_frames(q.input_channels, (target.in_h, target.in_w), (target.in_h, target.in_w))
            else:  # odd and non-square sizes, plus a real crop, none wider than the kernel's line buffers;
                # each larger by what an unpadded network takes away, so that every layer has output
                mw, (eh, ew) = target.max_w, (need_h - 1, need_w - 1)  # max_w >= in_w >= need_w, checked above
                frames_tb = csim_frames(q.input_channels, (23 + eh, min(37 + ew, mw)), (17 + eh, min(13 + ew, mw))) \
                    + [np.ascontiguousarray(frames[0][:, :48 + eh, :min(64 + ew, mw)])]
            vectors = [(f, golden.run(q, f)) for f in frames_tb]
            hls_files = hls_backend.render(q, fold, vectors, rate.depths)
            structure = hls_backend.check_structure(hls_files)
            files |= {f"hls/{k}": v for k, v in hls_files.items()}
    summary = summary_of(q, rows, fold, structure, rate)
    report = render_report(q, summary, rows)
    if out is not None:
        write_dir(out, {"ir.json": to_json(q), "report.md": report,
                        "summary.json": json.dumps(summary, indent=2, sort_keys=True) + "\n"} | files,
                  force, (model_path,))
    return CompileResult(q, graph, summary, report, from_cache)


def plan_and_certify(q: QGraph, target, fold_groups: int | None = None, fold_period: tuple[int, int] | None = None,
                     fold_chunks: tuple[int, int] | None = None):
    """The folding plan for `target` (srhw.backends.folding) and its dataflow certificate
    (srhw.backends.dataflow: every FIFO's depth, and the rate under blocking semantics with the
    RTL's stage latencies). `rate.converged` False means the derived depths deadlock."""
    from srhw.backends import rtl as rtl_backend
    from srhw.backends.dataflow import certify
    from srhw.backends.folding import plan

    fold = plan(q, target, fold_groups, fold_period, fold_chunks)
    return fold, certify(q, fold, latency=rtl_backend.latency(q, fold))


def check_quantized_model_options(opts: CompileOptions, given: frozenset = frozenset()) -> None:
    """A model quantized already brings its widths, rounding and ranges: the options that would
    choose them are errors, not silently ignored (`given`: fields passed explicitly, so that
    bits=8 is refused too)."""
    from srhw.options import OptionError

    chosen = [k for k, v, default in (("bits", opts.bits, 8), ("wbits", opts.wbits, None), ("abits", opts.abits, None),
                                      ("layer_bits", opts.layer_bits, ()), ("psnr_budget", opts.psnr_budget, None),
                                      ("method", opts.method, "auto"), ("weight_rounding", opts.weight_rounding, "gptq"),
                                      ("weight_granularity", opts.weight_granularity, "output"),
                                      ("zero_points", opts.zero_points, True)) if v != default or (k == "bits" and k in given)]
    if chosen:
        raise OptionError(f"{chosen[0]}: the model is quantized already (QuantizeLinear/DequantizeLinear pairs), so its "
                          "own grids set every width, scale and zero point; srhw computes what they say and chooses "
                          "nothing (drop the option, or give srhw the float model to quantize)", *chosen)


def quantize_model(path: Path, opts: CompileOptions, progress: bool, cache: bool = False,
                   given: frozenset = frozenset()) -> tuple[QGraph, ir.Graph, list[np.ndarray], bool]:
    """compile()'s front half: the float graph after the passes, the calibration frames, and the
    quantized graph: from the model's own grids when it is quantized already, else of the
    calibration method that brings the golden model closest to float on the frames (with its
    choice recorded in the graph's meta). With `cache`, the quantized graph comes from the
    quantization cache when it holds one for these inputs (the last value says so), and goes
    there when it does not (srhw.designs)."""
    from srhw import designs

    calib = opts.calib
    graph = run_pipeline(import_onnx(path), pipeline(opts.input_range, opts.output_range))  # type: ignore[arg-type]
    upscaling = upscales(graph)
    folder = Path(calib) if calib is not None else calib_dir(upscaling)
    frames = load_frames(folder, int(graph.inputs[0].shape[1]), upscaling)
    grids = is_quantized(graph)
    if grids:
        check_quantized_model_options(opts, given)
    key = designs.quantization_key(path, opts, folder) if cache else None
    kept_q = designs.cached(key) if key is not None else None
    if kept_q is not None:
        return kept_q, graph, frames, True
    if grids:  # its grids came with it: nothing to calibrate or choose
        q = quantize_from_grids(graph)
        psnr_db = fixed_vs_float_psnr(q, [float_reference(graph, f) for f in frames], frames)  # the QDQ model in float
        by_method = {q.meta.calibration: psnr_db}
    else:
        q, psnr_db, by_method = _calibrated(graph, frames, opts, progress)
    meta = replace(q.meta, model=path.stem, bits=None if grids else opts.bits, calibration_frames=len(frames),
                   calibration_set=f"default ({folder.name})" if calib is None else folder.name,
                   psnr_fixed_vs_float_db=round(psnr_db, 4),
                   psnr_by_method_db={m: round(v, 4) for m, v in by_method.items()})
    q = replace(q, meta=meta)
    if key is not None:
        designs.keep(key, q)
    return q, graph, frames, False


def _calibrated(graph: ir.Graph, frames: list[np.ndarray], opts: CompileOptions,
                progress: bool) -> tuple[QGraph, float, dict[str, float]]:
    """srhw's own quantization of a float graph: (the graph, its PSNR against float on the
    frames, that PSNR for each calibration method tried)."""
    from tqdm import tqdm

    wb, ab, method = opts.weight_bits, opts.activation_bits, opts.method
    # one float pass per frame gives the statistics, the weight fit's conv inputs and the reference
    float_in = conv_input_lists(graph)
    kept = float_in | {graph.output: []}
    with tqdm(total=len(frames), desc="calibrating", unit="frame", disable=not progress, leave=False) as bar:
        stats = calibrate(graph, frames, bar, kept)
    refs = [np.clip(y, 0.0, 255.0) for y in kept[graph.output]]  # = float_reference(graph, frame)
    candidates = METHODS if method == "auto" else (method,)
    scored = {}
    for m in tqdm(candidates, desc="quantizing", unit="method", disable=not progress, leave=False):
        q = quantize(graph, stats, wb, ab, m, frames=frames, granularity=opts.weight_granularity,
                     weight_rounding=opts.weight_rounding, zero_points=opts.zero_points, float_in=float_in,
                     layer_bits=opts.layer_bits)
        scored[m] = (fixed_vs_float_psnr(q, refs, frames), q)
    best = max(candidates, key=lambda m: (round(scored[m][0], 6), -candidates.index(m)))
    psnr_db, q = scored[best]
    if opts.psnr_budget is not None:  # every layer's widths, to the budget at the least cost
        from srhw.backends.folding import plan
        from srhw.quant.mixed import choose

        def quantize_with(layer_bits, fast: bool):
            return quantize(graph, stats, wb, ab, best, frames=frames, granularity=opts.weight_granularity,
                            weight_rounding="nearest" if fast else opts.weight_rounding,
                            zero_points=opts.zero_points, float_in=float_in, layer_bits=layer_bits)

        q, search = choose(graph, opts.psnr_budget, quantize_with, q, plan(q, opts.target(q.scale)), frames, wb, ab,
                           progress)
        q = replace(q, meta=replace(q.meta, width_search=search))
        psnr_db = fixed_vs_float_psnr(q, refs, frames)
        scored[best] = (psnr_db, q)
    return q, psnr_db, {m: scored[m][0] for m in candidates}


def csim_frames(channels: int, size: tuple[int, int], flat_size: tuple[int, int]) -> list[np.ndarray]:
    """C-simulation vectors: noise and a checkerboard of `size`, all-255 of `flat_size`."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    board = np.where((yy + xx) % 2 == 0, 255, 0).astype(np.uint8)
    return [np.random.default_rng(2026).integers(0, 256, (channels, h, w), dtype=np.uint8),
            np.full((channels, *flat_size), 255, dtype=np.uint8), np.broadcast_to(board, (channels, h, w)).copy()]


