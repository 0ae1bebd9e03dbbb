"""Peer comparison with hls4ml (pinned in the `bench` extra: hls4ml 1.3.0 with qonnx 1.0.0 for
its ONNX front end), measured in one run on this machine:

1. SRCNN 9-1-5 x3 (the shipped srcnn_915_x3, which hls4ml converts): conversion + C++ compile
   + predict time against `srhw compile` + C-simulation build + run (and the golden model), on
   one frame;
2. output error against onnxruntime on test frames, for hls4ml at its default `fixed<16,6>`
   (TRN, WRAP), at `fixed<16,6,RND,SAT>`, and at 8 bits matched to srhw's W8A8 (8-bit
   weights per layer, 8-bit activations per tensor from the same calibration frames, wide
   accumulators), beside srhw W8A8;
3. PSNR on Set5 (x3, the SR protocol of srhw.evaluate) for each of those;
4. whether hls4ml converts FSRCNN (ConvTranspose, PReLU) and ESPCN (tanh, PixelShuffle), and
   the error it gives where it does: the exception text is recorded from the run.

hls4ml needs static shapes, so each frame size gets its own fixed-shape ONNX and its own
hls4ml build (SRCNN runs at HR size; every Set5 image is one build per configuration). The Set5
images go through hls4ml one per core in worker processes (qonnx's preprocessing is single-threaded
Python and takes minutes on the largest), so their qonnx times are measured with the other core busy.

    python bench/hls4ml_peer.py [--quick] [--data ../shared/datasets] [--size 64] [--repeat 3]
Writes bench/results/hls4ml_peer.{json,md}.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import statistics
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timeit, write

MODEL = "srcnn_915_x3"
SCALE = 3
OTHERS = ["fsrcnn_x2", "espcn_x2"]
CONFIGS = {
    "hls4ml fixed<16,6> (default)": "fixed<16,6>",
    "hls4ml fixed<16,6,RND,SAT>": "fixed<16,6,RND,SAT>",
    "hls4ml 8-bit matched": "matched8",
}


def fixed_shape_onnx(src: Path, h: int, w: int, dst: Path) -> Path:
    """The model with its dynamic H and W pinned (hls4ml needs static shapes)."""
    import onnx
    from onnx import shape_inference

    m = onnx.load(str(src))
    for v in (m.graph.input[0], m.graph.output[0]):
        dims = v.type.tensor_type.shape.dim
        for axis, size in ((2, h), (3, w)):
            dims[axis].ClearField("dim_param")
            if v is m.graph.input[0]:
                dims[axis].dim_value = size
            else:
                dims[axis].ClearField("dim_value")
    del m.graph.value_info[:]
    onnx.save(shape_inference.infer_shapes(m), str(dst))
    return dst


def int_bits(max_abs: float, signed: bool) -> int:
    """ap_fixed integer bits (sign included when signed) that hold max_abs."""
    magnitude = math.floor(math.log2(max_abs)) + 1 if max_abs > 0 else 1  # may be <= 0: small values
    return magnitude + (1 if signed else 0)


def matched8(config: dict, weights: list[np.ndarray], biases: list[np.ndarray], act_max: list[float]) -> dict:
    """8-bit weights per layer and 8-bit ReLU outputs per tensor (RND, SAT), like srhw's W8A8
    but with hls4ml's per-layer (not per-channel) formats; accumulators and the last conv's
    result wide, the input u8 in [0, 1) as ufixed<8,0>."""
    names = config["LayerName"]
    names["global_in"]["Precision"]["result"] = "ufixed<8,0,RND,SAT>"
    convs = sorted(k for k in names if k.startswith("Conv_") and "_param" not in k)
    relus = sorted(k for k in names if k.startswith("Relu_"))
    for i, k in enumerate(convs):
        wi, bi = int_bits(float(np.abs(weights[i]).max()), True), int_bits(float(np.abs(biases[i]).max()), True)
        names[k]["Precision"] = {"weight": f"fixed<8,{wi},RND,SAT>", "bias": f"fixed<16,{bi},RND,SAT>",
                                 "accum": "fixed<32,12>", "result": "fixed<32,12>"}
    for k, m in zip(relus, act_max):
        names[k]["Precision"]["result"] = f"ufixed<8,{int_bits(m, False)},RND,SAT>"
    return config


def prepare(onnx_path: Path):
    """qonnx clean-up and channels-last conversion (hls4ml's required ONNX preprocessing).
    Returns (ModelWrapper, seconds); its time grows with the frame size."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.util.cleanup import cleanup_model

    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        mw = cleanup_model(ModelWrapper(str(onnx_path)))
        mw = cleanup_model(mw.transform(ConvertToChannelsLastAndClean()))
    return mw, time.perf_counter() - t0


class Hls4mlBuild:
    """One hls4ml model of a prepared ONNX model at a fixed size: convert, compile (g++)."""

    def __init__(self, prepared, out_dir: Path, precision: str, layer_info: dict):
        import copy

        import hls4ml

        mw = copy.deepcopy(prepared)
        with contextlib.redirect_stdout(io.StringIO()):
            t0 = time.perf_counter()
            default = "fixed<16,6,RND,SAT>" if precision == "matched8" else precision
            config = hls4ml.utils.config.config_from_onnx_model(mw, granularity="name", backend="Vitis",
                                                                default_precision=default)
            if precision == "matched8":
                config = matched8(config, **layer_info)
            self.model = hls4ml.converters.convert_from_onnx_model(mw, output_dir=str(out_dir), backend="Vitis",
                                                                   io_type="io_stream", hls_config=config)
            t1 = time.perf_counter()
            self.model.compile()
            t2 = time.perf_counter()
        self.convert_s, self.compile_s = t1 - t0, t2 - t1

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x: float [H, W] in [0, 1] -> float [rH, rW]."""
        with contextlib.redirect_stdout(io.StringIO()):
            y = self.model.predict(np.ascontiguousarray(x[None, :, :, None], dtype=np.float32))
        return np.asarray(y, dtype=np.float64).reshape(x.shape)


def pixels(y: np.ndarray) -> np.ndarray:
    """A [0, 1] output as the 8-bit pixels a display shows."""
    return np.clip(np.floor(y * 255.0 + 0.5), 0, 255).astype(np.uint8)


def shown_error(y: np.ndarray, ref: np.ndarray) -> float:
    """The largest difference, in pixel units, between an output (pixel units) and the float
    reference ([0, 1]), both clipped to [0, 255] as an 8-bit sink shows them."""
    return float(np.abs(np.clip(y, 0, 255) - np.clip(ref * 255.0, 0, 255)).max())


def layer_info(graph, frames: list[np.ndarray]) -> dict:
    """Weights, biases and the calibrated max of every ReLU output (the float model on the
    calibration frames), in the ONNX model's own units."""
    import onnx
    from onnx import numpy_helper

    from srhw.compiler import resolve_model

    m = onnx.load(str(resolve_model(MODEL)))
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    weights = [init[n.input[1]] for n in convs]
    biases = [init[n.input[2]] if len(n.input) > 2 else np.zeros(1) for n in convs]
    import onnxruntime as ort

    relu_out = [n.output[0] for n in m.graph.node if n.op_type == "Relu"]
    for name in relu_out:
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    sess = ort.InferenceSession(m.SerializeToString())
    act_max = np.zeros(len(relu_out))
    for f in frames:
        outs = sess.run(relu_out, {sess.get_inputs()[0].name: f[None, None].astype(np.float32) / 255.0})
        act_max = np.maximum(act_max, [float(np.abs(o).max()) for o in outs])
    return {"weights": weights, "biases": biases, "act_max": [float(a) for a in act_max]}


def try_convert(model: str, tmp: Path) -> dict:
    """Whether hls4ml converts (and compiles) a zoo model at 32x32, and its error if it does."""
    from srhw.compiler import resolve_model

    src = resolve_model(model)
    import onnx

    ops = sorted({n.op_type for n in onnx.load(str(src)).graph.node})
    path = fixed_shape_onnx(src, 32, 32, tmp / f"{model}_32.onnx")
    try:
        b = Hls4mlBuild(prepare(path)[0], tmp / f"prj_{model}", "fixed<16,6>", {})
    except Exception as e:  # noqa: BLE001 - the peer's failure is the measurement
        last = traceback.extract_tb(e.__traceback__)[-1]
        return {"onnx_ops": ops, "converts": False, "error": f"{type(e).__name__}: {str(e).strip()[:300]}",
                "raised_at": f"{Path(last.filename).name}:{last.lineno}"}
    x = np.random.default_rng(0).random((32, 32))
    import onnxruntime as ort

    sess = ort.InferenceSession(str(src))
    ref = sess.run(None, {sess.get_inputs()[0].name: x[None, None].astype(np.float32)})[0][0, 0]
    y = b.predict(x)
    return {"onnx_ops": ops, "converts": True, "max_abs_error": float(np.abs(y.reshape(ref.shape) - ref).max())}


def main(argv: list[str] | None = None) -> None:
    import onnxruntime as ort
    from skimage import data

    import srhw
    from srhw import golden
    from srhw.backends.csim import run_csim
    from srhw.compiler import load_frames, resolve_model
    from srhw.evaluate import bicubic_up, lr_of
    from srhw.imaging import list_images, load_y, modcrop, psnr

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="16x16 frame, one repetition, the default configuration only, no Set5")
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    n, repeat = (16, 1) if args.quick else (args.size, args.repeat)
    configs = dict(list(CONFIGS.items())[:1]) if args.quick else CONFIGS
    src = resolve_model(MODEL)
    sess = ort.InferenceSession(str(src))

    def ort_run(x: np.ndarray) -> np.ndarray:
        return sess.run(None, {sess.get_inputs()[0].name: x[None, None].astype(np.float32)})[0][0, 0].astype(np.float64)

    frame = np.ascontiguousarray(data.camera()[200:200 + n, 180:180 + n])
    astro = (data.astronaut()[..., :3] @ np.array([65.481, 128.553, 24.966]) / 255.0 + 16.0).astype(np.uint8)
    tests = [frame, np.ascontiguousarray(astro[100:100 + n, 180:180 + n])]  # natural images: calibrated ranges
    info = layer_info(None, [f[0] for f in load_frames(None, 1, upscaling=False)])  # SRCNN keeps the size
    res: dict = {"model": MODEL, "frame": f"{n}x{n}", "versions": {
        "hls4ml": metadata.version("hls4ml"), "qonnx": metadata.version("qonnx"),
        "onnxruntime": ort.__version__, "srhw": srhw.__version__}, "timing": {}, "error_vs_onnxruntime": {},
        "set5": {}, "qonnx_s_by_size": {}, "conversion": {}}
    with tempfile.TemporaryDirectory(prefix="srhw-hls4ml-") as tmpd:
        tmp = Path(tmpd)
        fixed = fixed_shape_onnx(src, n, n, tmp / f"{MODEL}_{n}.onnx")
        # ---- hls4ml: convert + compile (repeat builds), predict
        builds = {}
        preps = [prepare(fixed) for _ in range(repeat)]
        for label, prec in configs.items():
            runs = [Hls4mlBuild(preps[r][0], tmp / f"prj_{len(builds)}_{r}", prec, info) for r in range(repeat)]
            b = builds[label] = runs[-1]
            pred = timeit(lambda b=b: b.predict(frame.astype(np.float64) / 255.0), repeat, warmup=1)
            res["timing"][label] = {"qonnx_median_s": statistics.median(p[1] for p in preps),
                                    "convert_median_s": statistics.median(r.convert_s for r in runs),
                                    "compile_median_s": statistics.median(r.compile_s for r in runs),
                                    "predict_median_s": pred["median_s"], "runs": repeat}
        # ---- srhw: compile (calibration, quantization, HLS project) + C-sim build + run; golden
        out = tmp / "srhw_out"
        t_comp = []
        for r in range(repeat):
            t = time.perf_counter()
            result = srhw.compile(MODEL, bits=8, out=out, force=True, progress=False, test_frames=[frame[None]])
            t_comp.append(time.perf_counter() - t)
        cs = [run_csim(out) for _ in range(repeat)]
        if not all(c.passed for c in cs):
            raise SystemExit(f"srhw C-simulation failed:\n{cs[0].output}")
        q = result.qgraph
        gold = timeit(lambda: golden.run(q, frame[None]), repeat, warmup=1)
        res["timing"]["srhw W8A8"] = {"compile_median_s": statistics.median(t_comp),
                                      "csim_build_median_s": statistics.median(c.build_seconds for c in cs),
                                      "csim_run_median_s": statistics.median(c.run_seconds for c in cs),
                                      "golden_predict_median_s": gold["median_s"], "runs": repeat}
        # ---- error against onnxruntime (output pixels)
        for label, b in builds.items():
            errs, ps = [], []
            for t in tests:
                ref = ort_run(t / 255.0)
                y = b.predict(t.astype(np.float64) / 255.0)
                errs.append(shown_error(y * 255.0, ref))
                ps.append(psnr(pixels(y), pixels(ref)))
            res["error_vs_onnxruntime"][label] = {"max_abs_error_pixels": max(errs), "psnr_vs_float_db": min(ps)}
        errs, ps = [], []
        for t in tests:
            ref = ort_run(t / 255.0)
            y = golden.run(q, t[None])[0].astype(np.float64)
            errs.append(shown_error(y, ref))
            ps.append(psnr(y.astype(np.uint8), pixels(ref)))
        res["error_vs_onnxruntime"]["srhw W8A8"] = {"max_abs_error_pixels": max(errs), "psnr_vs_float_db": min(ps)}
        # ---- Set5 PSNR (one hls4ml build per image size and configuration)
        set5 = args.data / "Set5"
        if not args.quick and set5.is_dir():
            per: dict[str, list[float]] = {k: [] for k in ["onnxruntime float", *CONFIGS, "srhw W8A8"]}
            pairs = []  # (HR, bicubic-upscaled LR) per image
            for path in list_images(set5):
                hr = modcrop(load_y(path), SCALE)
                x = bicubic_up(lr_of(hr, SCALE), SCALE)
                pairs.append((hr, x))
                per["onnxruntime float"].append(psnr(pixels(ort_run(x / 255.0)), hr, shave=SCALE))
                per["srhw W8A8"].append(psnr(golden.run(q, x[None])[0], hr, shave=SCALE))
            # hls4ml's side is one qonnx preprocessing and three builds per image, single-threaded
            # Python and g++: one worker process per core, the largest image first
            order = sorted(range(len(pairs)), key=lambda i: -pairs[i][0].size)
            workers = min(len(os.sched_getaffinity(0)), len(pairs))
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                done = {i: pool.submit(set5_hls4ml, *pairs[i], src, tmp / f"set5_{i}", info) for i in order}
                for i in range(len(pairs)):
                    psnrs, shape, secs = done[i].result()
                    res["qonnx_s_by_size"][shape] = round(secs, 1)
                    for label in CONFIGS:
                        per[label].append(psnrs[label])
            res["set5"] = {k: float(np.mean(v)) for k, v in per.items()}
        # ---- the other architectures
        for m in OTHERS:
            res["conversion"][m] = try_convert(m, tmp)
    write("hls4ml_peer", res, table(res))


def set5_hls4ml(hr: np.ndarray, x: np.ndarray, src: Path, tmp: Path, info: dict) -> tuple[dict[str, float], str, float]:
    """One Set5 image (HR and its bicubic-upscaled LR, uint8) through hls4ml, in a worker process:
    a fixed-shape ONNX, its qonnx preprocessing, one build per configuration.
    Returns ({config: PSNR}, "HxW", qonnx seconds)."""
    from srhw.imaging import psnr

    tmp.mkdir(parents=True, exist_ok=True)
    prep, secs = prepare(fixed_shape_onnx(src, *x.shape, tmp / "fixed.onnx"))
    psnrs = {}
    for j, (label, prec) in enumerate(CONFIGS.items()):
        b = Hls4mlBuild(prep, tmp / f"prj_{j}", prec, info)
        psnrs[label] = psnr(pixels(b.predict(x / 255.0)), hr, shave=SCALE)
    return psnrs, f"{x.shape[0]}x{x.shape[1]}", secs


def table(res: dict) -> str:
    t = res["timing"]
    lines = [(f"{res['model']} on one {res['frame']} frame (SRCNN runs at the HR size); hls4ml "
             f"{res['versions']['hls4ml']} with qonnx {res['versions']['qonnx']}; seconds, median of "
             f"{t['srhw W8A8']['runs']}."), "",
             "| flow | qonnx preprocessing | convert / compile | C++ build | predict one frame |",
             "|---|---:|---:|---:|---:|"]
    for label, r in t.items():
        if label == "srhw W8A8":
            lines.append(f"| srhw W8A8 (compile incl. calibration + HLS project; C-sim; golden model) | - | "
                         f"{r['compile_median_s']:.2f} | {r['csim_build_median_s']:.2f} | "
                         f"{r['csim_run_median_s']:.3f} (golden {r['golden_predict_median_s'] * 1e3:.1f} ms) |")
        else:
            lines.append(f"| {label} | {r['qonnx_median_s']:.2f} | {r['convert_median_s']:.2f} | {r['compile_median_s']:.2f} | "
                         f"{r['predict_median_s']:.3f} |")
    lines += ["", ("Output against onnxruntime float on two natural-image test frames (crops of scikit-image's "
              "camera and astronaut): the largest error in output pixels (1/255, both clipped to [0, 255]), and the worst PSNR of the 8-bit output against float."), "",
              "| flow | max abs error (pixels) | PSNR vs float (dB) |", "|---|---:|---:|"]
    for label, r in res["error_vs_onnxruntime"].items():
        lines.append(f"| {label} | {r['max_abs_error_pixels']:.2f} | {r['psnr_vs_float_db']:.2f} |")
    if res["set5"]:
        lines += ["", "Set5 x3 (Y, MATLAB-bicubic LR, shave 3), mean PSNR against ground truth:", "",
                  "| flow | Set5 PSNR (dB) |", "|---|---:|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in res["set5"].items()]
        lines += ["", "hls4ml needs a static shape: one qonnx preprocessing (seconds, by HR size: "
                  + ", ".join(f"{k} {v}" for k, v in res["qonnx_s_by_size"].items())
                  + ") and one build per image and configuration, two images at a time (one worker process per core); "
                  "srhw compiles once for any size."]
    lines += ["", "Other zoo architectures through hls4ml's ONNX converter (fixed<16,6>, 32x32):", "",
              "| model | ONNX ops | converts | hls4ml's answer |", "|---|---|---|---|"]
    for m, r in res["conversion"].items():
        answer = f"max abs error {r['max_abs_error']:.3g}" if r["converts"] else \
            f"`{r['error'].splitlines()[0]}` ({r['raised_at']})"
        lines.append(f"| {m} | {', '.join(r['onnx_ops'])} | {'yes' if r['converts'] else 'no'} | {answer} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
