"""Models quantized already: shipped float models through onnxruntime's quantize_static (QDQ
format, per-channel int8 weights, uint8 activations, calibrated on srhw's shipped calibration
frames), then compiled by srhw from their own grids.

Per model:
- import: `srhw.compile(qdq, hls=False)` with the quantization cache off (median of --repeat);
- exactness on the Set5 LR images (Y): srhw's golden model against onnxruntime running the QDQ
  model as its operators define it (graph optimizations off), and against onnxruntime's default
  session (which fuses QLinearConv; its AVX2 u8 x s8 kernel saturates 16-bit pair sums): pixels
  that differ and the largest difference, in output codes;
- Set5 PSNR (Y, border shaved by the scale): the float model, the QDQ model in onnxruntime, srhw's
  golden model of it, and srhw's own W8A8 PTQ of the float model for comparison;
- C-simulation of the generated HLS project on one 64x64 LR crop (build + run seconds, bit-exact).

    python bench/qdq_models.py [--models fsrcnn_s_x2 ...] [--repeat 3] [--data ../shared/datasets/Set5]
Writes bench/results/qdq_models.{json,md}.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write

MODELS = ["fsrcnn_s_x2", "fsrcnn_x2", "espcn_x2", "srcnn_915_x2"]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "Set5"


def quantize_static_qdq(float_path: Path, out: Path, frames: list[np.ndarray], scale: float,
                        symmetric: bool = False) -> Path:
    """onnxruntime's quantize_static on the frames (pixel codes times the model's input scale):
    per-channel int8 weights, uint8 activations, or with `symmetric` int8 ones without zero points."""
    import onnx
    from onnxruntime import quantization as q

    name = onnx.load(str(float_path)).graph.input[0].name
    feeds = [{name: (f.astype(np.float64) * scale).astype(np.float32)[None]} for f in frames]

    class Frames(q.CalibrationDataReader):
        def __init__(self):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    q.quantize_static(str(float_path), str(out), Frames(), quant_format=q.QuantFormat.QDQ, per_channel=True,
                      activation_type=q.QuantType.QInt8 if symmetric else q.QuantType.QUInt8,
                      weight_type=q.QuantType.QInt8, extra_options={"ActivationSymmetric": symmetric})
    return out


def sessions(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return (ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]),
            ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))


def ort_pixels(sess, frame: np.ndarray, boundary) -> np.ndarray:
    x = (frame.astype(np.float64) * boundary.input_scale).astype(np.float32)[None]
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
    return np.clip(np.floor(y.astype(np.float64) * boundary.output_scale + 0.5), 0, 255).astype(np.int64)


def measure(name: str, data: Path, repeat: int, tmp: Path) -> dict:
    import srhw
    from srhw import golden
    from srhw.backends.csim import run_csim
    from srhw.compiler import float_reference, load_frames, resolve_model, upscales
    from srhw.evaluate import bicubic_up, lr_of
    from srhw.frontend import import_onnx
    from srhw.imaging import list_images, load_y, modcrop, psnr
    from srhw.passes import pipeline, run_pipeline

    float_path = resolve_model(name)
    graph = run_pipeline(import_onnx(float_path), pipeline("auto", "auto"))
    up = upscales(graph)
    frames = load_frames(None, 1, up)
    own = srhw.compile(float_path, hls=False, progress=False).qgraph  # srhw's PTQ, W8A8
    scale = own.scale if up else int(name.rsplit("_x", 1)[1])  # SRCNN: the zoo name's scale
    qdq = quantize_static_qdq(float_path, tmp / f"{name}_qdq.onnx", frames, graph.boundary.input_scale)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        q = srhw.compile(qdq, hls=False, progress=False, cache=False).qgraph
        times.append(time.perf_counter() - t)
    spec, default = sessions(qdq)
    row = {"import_s": statistics.median(times), "layers": len(q.layers),
           "tables": sum(l.kind == "Table" for l in q.layers)}
    differ = {"operator semantics": [0, 0, 0], "default session": [0, 0, 0]}
    scores: dict[str, list[float]] = {k: [] for k in ("float", "qdq_onnxruntime", "qdq_srhw", "srhw_ptq_w8a8")}
    for path in list_images(data):
        hr = modcrop(load_y(path), scale)
        lr = lr_of(hr, scale)
        x = lr if up else bicubic_up(lr, scale)
        ours = golden.run(q, x[None])[0].astype(np.int64)
        for key, sess in (("operator semantics", spec), ("default session", default)):
            d = ours - ort_pixels(sess, x[None], q.boundary)[0]
            differ[key][0] += int(np.count_nonzero(d))
            differ[key][1] += d.size
            differ[key][2] = max(differ[key][2], int(np.abs(d).max()))
        outs = {"float": np.floor(float_reference(graph, x[None])[0] + 0.5),
                "qdq_onnxruntime": ort_pixels(spec, x[None], q.boundary)[0], "qdq_srhw": ours,
                "srhw_ptq_w8a8": golden.run(own, x[None])[0]}
        for k, v in outs.items():
            scores[k].append(psnr(v, hr, shave=scale))
    row["differ"] = {k: {"pixels": v[0], "of": v[1], "max_codes": v[2]} for k, v in differ.items()}
    row["set5_psnr_db"] = {k: round(float(np.mean(v)), 3) for k, v in scores.items()}
    out = tmp / f"{name}_out"
    crop = frames[0][:, :64, :64]
    srhw.compile(qdq, out=out, progress=False, in_size="64x64", test_frames=[crop], cache=False)
    c = run_csim(out, timeout=3600)
    row["csim"] = {"passed": c.passed, "build_s": round(c.build_seconds, 2), "run_s": round(c.run_seconds, 2)}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="srhw-qdq-") as tmp:
        for name in args.models:
            rows[name] = measure(name, args.data, args.repeat, Path(tmp))
            print(name, rows[name], flush=True)
    lines = ["quantize_static (QDQ, per-channel int8 weights, uint8 activations, srhw's calibration frames), "
             f"compiled by srhw from its grids. Set5 ({args.data.name}) Y PSNR in dB; exactness in output "
             "pixels against onnxruntime; import = `srhw.compile(hls=False)`, median of "
             f"{args.repeat}; C-sim on a 64x64 LR crop.", "",
             "| model | import s | tables | differ: operator semantics | differ: default session (max codes) | "
             "float | QDQ in onnxruntime | QDQ in srhw | srhw PTQ W8A8 | C-sim build + run s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        s, d = r["set5_psnr_db"], r["differ"]
        ok = "" if r["csim"]["passed"] else " FAILED"
        lines.append(f"| {name} | {r['import_s']:.2f} | {r['tables']} | {d['operator semantics']['pixels']} of "
                     f"{d['operator semantics']['of']} | {d['default session']['pixels']} "
                     f"({d['default session']['max_codes']}) | {s['float']:.2f} | {s['qdq_onnxruntime']:.2f} | "
                     f"{s['qdq_srhw']:.2f} | {s['srhw_ptq_w8a8']:.2f} | {r['csim']['build_s']} + "
                     f"{r['csim']['run_s']}{ok} |")
    write("qdq_models", {"models": rows, "data": str(args.data.name)}, "\n".join(lines))


if __name__ == "__main__":
    main()
