"""QONNX models: the shipped float models quantized by onnxruntime's quantize_static (symmetric
int8 activations and per-channel int8 weights), written in QONNX form (every QuantizeLinear/DequantizeLinear pair a Quant
node, every integer weight or bias a float constant through a Quant node, as Brevitas's
export_qonnx writes them), then compiled by srhw and checked against qonnx's own executor.

Per model:
- import: `srhw.compile(qonnx, hls=False)` with the quantization cache off (median of --repeat);
- exactness on --crops LR crops of the Set5 images (Y): srhw's golden model against qonnx's
  executor (`qonnx.core.onnx_exec`: Quant in NumPy, the other ops node by node in
  onnxruntime), and the QONNX form against the QDQ model it came from in onnxruntime (operator
  semantics): output pixels that differ and the largest difference.
Scales are onnxruntime's own (not powers of two), so the conv requantizer's integer multiplier
meets float32 arithmetic: the same kind of difference as bench/qdq_models.py measures.

    python bench/qonnx_models.py [--models fsrcnn_s_x2 ...] [--repeat 3] [--crop 48] [--crops 5]
Writes bench/results/qonnx_models.{json,md}.
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
from qdq_models import DEFAULT_DATA, MODELS, ort_pixels, quantize_static_qdq, sessions

DOMAIN = "qonnx.custom_op.general"
BITS = {2: (8, False), 3: (8, True), 6: (32, True)}  # ONNX element type -> (bitwidth, signed)


def to_qonnx(qdq: Path, out: Path) -> Path:
    """The QDQ model with its quantizers as QONNX Quant nodes (see the module docstring)."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(str(qdq))
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    extra, nodes = [], []

    def const(name, value):
        extra.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def quant(x, dq, y, code_type, rank=4):
        scale = numpy_helper.to_array(inits[dq.input[1]]).astype(np.float32)
        zero_t = inits[dq.input[2]] if len(dq.input) > 2 and dq.input[2] in inits else None
        zero = numpy_helper.to_array(zero_t).astype(np.float32) if zero_t is not None else np.zeros_like(scale)
        bits, signed = BITS[code_type]
        axis = next((a.i for a in dq.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and scale.size > 1 and rank > 1:  # per channel: broadcast along the axis
            shape = [1] * rank
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        return helper.make_node("Quant", [x, const(f"{y}_s", scale), const(f"{y}_z", zero), const(f"{y}_b", bits)],
                                [y], domain=DOMAIN, name=dq.name or f"quant_{y}", signed=int(signed), narrow=0,
                                rounding_mode="ROUND")

    for n in g.node:
        if n.op_type == "QuantizeLinear":
            continue  # folded into the Quant that replaces its DequantizeLinear
        if n.op_type != "DequantizeLinear":
            nodes.append(n)
            continue
        x = n.input[0]
        if x in inits:  # integer codes -> their float values through a Quant (Brevitas' weights)
            codes = numpy_helper.to_array(inits[x]).astype(np.float64)
            scale = numpy_helper.to_array(inits[n.input[1]]).astype(np.float64)
            zero = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64) if len(n.input) > 2 else 0.0
            axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
            if scale.ndim == 1 and scale.size > 1 and codes.ndim > 1:
                shape = [1] * codes.ndim
                shape[axis] = -1
                scale, zero = scale.reshape(shape), np.reshape(zero, shape)
            nodes.append(quant(const(f"{x}_float", (codes - zero) * scale), n, n.output[0], inits[x].data_type,
                               codes.ndim))
        else:
            q = producer[x]
            zero_t = inits.get(n.input[2]) if len(n.input) > 2 else None
            nodes.append(quant(q.input[0], n, n.output[0], zero_t.data_type if zero_t is not None else 2))
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(extra)
    m.opset_import.append(helper.make_opsetid(DOMAIN, 1))
    onnx.save(m, str(out))
    return out


def qonnx_pixels(path: Path, frame: np.ndarray, boundary) -> np.ndarray:
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    m = onnx.load(str(path))
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = frame.shape[1:]
    for d in m.graph.output[0].type.tensor_type.shape.dim:
        d.ClearField("dim_param")
        d.ClearField("dim_value")
    model = ModelWrapper(m).transform(InferShapes())
    x = (frame.astype(np.float64) * boundary.input_scale).astype(np.float32)[None]
    y = execute_onnx(model, {m.graph.input[0].name: x})[m.graph.output[0].name][0]
    return np.clip(np.floor(y.astype(np.float64) * boundary.output_scale + 0.5), 0, 255).astype(np.int64)


def measure(name: str, data: Path, repeat: int, crop: int, crops: int, tmp: Path) -> dict:
    import srhw
    from srhw import golden
    from srhw.compiler import load_frames, resolve_model, upscales
    from srhw.evaluate import bicubic_up, lr_of
    from srhw.frontend import import_onnx
    from srhw.imaging import list_images, load_y, modcrop
    from srhw.passes import pipeline, run_pipeline

    float_path = resolve_model(name)
    graph = run_pipeline(import_onnx(float_path), pipeline("auto", "auto"))
    up = upscales(graph)
    # symmetric activations: zero points 0, as Brevitas's defaults (QONNX rounds x / scale + zero
    # point, so an odd activation zero point is not QuantizeLinear's grid, and srhw refuses it)
    qdq = quantize_static_qdq(float_path, tmp / f"{name}_qdq.onnx", load_frames(None, 1, up),
                              graph.boundary.input_scale, symmetric=True)
    path = to_qonnx(qdq, tmp / f"{name}_qonnx.onnx")
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        q = srhw.compile(path, hls=False, progress=False, cache=False).qgraph
        times.append(time.perf_counter() - t)
    spec, _ = sessions(qdq)
    scale = q.scale if up else int(name.rsplit("_x", 1)[1])
    differ = {"qonnx executor": [0, 0, 0], "QDQ in onnxruntime": [0, 0, 0]}
    for image in list_images(data)[:crops]:
        lr = lr_of(modcrop(load_y(image), scale), scale)
        x = (lr if up else bicubic_up(lr, scale))[:crop, :crop][None]
        ref = qonnx_pixels(path, x, q.boundary)
        for key, other in (("qonnx executor", golden.run(q, x)[0].astype(np.int64)),
                           ("QDQ in onnxruntime", ort_pixels(spec, x, q.boundary)[0])):
            d = other - ref
            differ[key][0] += int(np.count_nonzero(d))
            differ[key][1] += d.size
            differ[key][2] = max(differ[key][2], int(np.abs(d).max()))
    return {"import_s": statistics.median(times), "quant_nodes": sum(n.op_type == "Quant" for n in
                                                                     __import__("onnx").load(str(path)).graph.node),
            "differ": {k: {"pixels": v[0], "of": v[1], "max_codes": v[2]} for k, v in differ.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--crop", type=int, default=48)
    ap.add_argument("--crops", type=int, default=5)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="srhw-qonnx-") as tmp:
        for name in args.models:
            rows[name] = measure(name, args.data, args.repeat, args.crop, args.crops, Path(tmp))
            print(name, rows[name], flush=True)
    lines = ["quantize_static's QDQ model of each shipped float model, written as QONNX (Quant nodes), compiled "
             f"by srhw. Output pixels on {args.crops} LR crops of {args.crop}x{args.crop} from Set5 "
             f"({args.data.name}) Y: srhw's golden model against qonnx's executor, and the QDQ model in "
             f"onnxruntime (operator semantics) against it; import = `srhw.compile(hls=False)`, median of "
             f"{args.repeat}.", "",
             "| model | Quant nodes | import s | srhw vs qonnx: pixels differ (max codes) | "
             "onnxruntime QDQ vs qonnx (max codes) |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        a, b = r["differ"]["qonnx executor"], r["differ"]["QDQ in onnxruntime"]
        lines.append(f"| {name} | {r['quant_nodes']} | {r['import_s']:.2f} | {a['pixels']} of {a['of']} "
                     f"({a['max_codes']}) | {b['pixels']} of {b['of']} ({b['max_codes']}) |")
    write("qonnx_models", {"models": rows, "data": str(args.data.name)}, "\n".join(lines))


if __name__ == "__main__":
    main()
