"""EDSR and LapSRN at the papers' sizes, end to end: the zoo architectures (EDSR baseline, 64
features, 16 residual blocks, x2/x3/x4; LapSRN, 64 features, depth 10 per level, x2/x4/x8),
exported by both of PyTorch's exporters, compiled, and run bit for bit.

Per model:
1. Weights: the architecture's own initialisation under a fixed seed (what is measured is the
   graph and the hardware, not the picture; `srhw zoo train NAME` trains any of them, and the
   zoo ships smaller trained variants, measured in bench/zoo_quality.py).
2. Export with the TorchScript and the dynamo exporter; each against PyTorch in onnxruntime on
   a 64x64 frame. Compile both; their golden outputs on the frame must be equal.
3. The TorchScript export planned for the 64x64 frame at 60 fps (the folds a small frame
   gets): compile time, C-simulation (g++ build + run) and RTL simulation (Verilator build +
   one frame), both bit for bit against the golden model.
4. The plan for the default frame (output 4K UHD) at 60 fps on a ZCU102 and an Alveo U250
   (the same quantized model): multipliers and the frame rate that fits the part as the
   dataflow model certifies it (input chunks fold these networks down to the part's DSP
   slices), the operand multiplexers' LUTs; skip FIFO bits.

    python bench/residual_models.py [--models edsr_x2 ...] [--size 64] [--skip-rtl] [--plans-only]
Writes bench/results/residual_models.{json,md}, keeping the entries of models not run this
time (`--render`: the table again from the JSON, running nothing). Hours on a 2-core CPU for all six; `--plans-only` (steps 1, 4 and the TorchScript compile:
minutes a model) skips the second export, C-simulation and RTL simulation.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write

MODELS = ["edsr_x2", "edsr_x3", "edsr_x4", "lapsrn_x2", "lapsrn_x4", "lapsrn_x8"]
BOARDS = ["zcu102", "u250"]


def torch_model(name: str):
    import torch

    from srhw.zoo.registry import ZOO

    torch.manual_seed(0)
    return ZOO[name].build().eval()


def export_both(model, folder: Path, n: int) -> dict[str, Path]:
    from srhw.zoo.export import export_onnx

    return {e: export_onnx(model, folder / f"{e}.onnx", e, hw=(n, n), names=("x", "y"))
            for e in ("torchscript", "dynamo")}


def ort_error(path: Path, model, frame: np.ndarray) -> float:
    """Largest |onnxruntime - PyTorch| on the frame (values in [0, 1])."""
    import onnxruntime as ort
    import torch

    x = frame[None].astype(np.float32) / 255.0
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    return float(np.abs(got - ref).max())


def measure(name: str, n: int, frame: np.ndarray, tmp: Path, rtl: bool, plans_only: bool = False) -> dict:
    import srhw
    from srhw import golden
    from srhw.backends.folding import make_target
    from srhw.compiler import plan_and_certify
    from srhw.report import layer_rows, summary_of

    model = torch_model(name)
    folder = tmp / name
    folder.mkdir()
    paths = export_both(model, folder, n)
    if plans_only:
        paths = {"torchscript": paths["torchscript"]}
    row: dict = {"onnxruntime_vs_torch_max_abs": {k: ort_error(p, model, frame) for k, p in paths.items()}}
    outs = {}
    for exporter, path in paths.items():
        t = time.perf_counter()
        res = srhw.compile(str(path), out=folder / exporter, rtl=rtl and exporter == "torchscript" and not plans_only,
                           in_size=f"{n}x{n}", progress=False, test_frames=[frame], cache=False)
        row.setdefault("compile_s", {})[exporter] = time.perf_counter() - t
        outs[exporter] = golden.run(res.qgraph, frame)
    if len(outs) == 2 and not np.array_equal(outs["torchscript"], outs["dynamo"]):
        raise SystemExit(f"{name}: the two exports' golden outputs differ")
    s = res.summary
    row |= {"parameters": s["parameters"], "macs_per_lr_pixel": s["macs_per_lr_pixel"],
            "psnr_fixed_vs_float_db": s["psnr_fixed_vs_float_db"],
            "frame_plan": {"multipliers": s["hls"]["multipliers"], "skip_fifo_bits": s["hls"]["dataflow"]["skip_fifo_bits"]}}
    out = folder / "torchscript"
    if not plans_only:
        row |= end_to_end(name, out, n, rtl)
    for board in BOARDS:  # the same quantized model, planned as `srhw compile --board B` plans it
        t = time.perf_counter()
        q = res.qgraph
        fold, rate = plan_and_certify(q, make_target(board=board, in_size=None, scale=q.scale))
        h = summary_of(q, layer_rows(q), fold, rate=rate)["hls"]
        row.setdefault("plans", {})[board] = {
            "in_size": h["in_size"], "multipliers": h["multipliers"], "dsp_slices": h["dsp_slices"],
            "fps_target": h["fps_target"], "modelled_fps": h["modelled_fps"], "converged": rate.converged,
            "deepest_fold_multipliers": h.get("deepest_fold_multipliers"),
            "chunked_stages": sum(1 for st in h["stages"] if st["chunks"] > 1),
            "operand_mux_luts": h["operand_mux_luts"], "bram18_estimate": h["bram18_estimate"],
            "skip_fifo_bits": h["dataflow"]["skip_fifo_bits"], "fifo_bram18": h["dataflow"]["fifo_bram18"],
            "plan_s": time.perf_counter() - t}
    return row


def end_to_end(name: str, out: Path, n: int, rtl: bool) -> dict:
    """C-simulation and RTL simulation of the compiled design, bit for bit."""
    from srhw.backends.csim import run_csim
    from srhw.sim import run_sim

    row = {}
    c = run_csim(out, timeout=3600)
    if not c.passed:
        raise SystemExit(f"C-simulation of {name} failed:\n{c.output[-3000:]}")
    row["csim"] = {"build_s": c.build_seconds, "run_s": c.run_seconds}
    if rtl:
        t = time.perf_counter()
        sim = run_sim(out, sessions=[{"size": [n, n], "patterns": ["noise"]}], reset_size=None, malformed_size=None)
        if sim["failed"]:
            raise SystemExit(f"RTL simulation of {name} failed: {sim}")
        row["rtl_sim"] = {"build_and_run_s": time.perf_counter() - t, "frames": sim.get("frames")}
    return row


def main(argv: list[str] | None = None) -> None:
    from skimage import data

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--skip-rtl", action="store_true")
    p.add_argument("--plans-only", action="store_true")
    p.add_argument("--render", action="store_true", help="only write the table again from the JSON results")
    args = p.parse_args(argv)
    n = args.size
    frame = np.ascontiguousarray(data.camera()[160:160 + n, 128:128 + n])[None]
    earlier = RESULTS / "residual_models.json"
    res: dict = {"frame": f"{n}x{n}", "models": {}}
    if earlier.is_file():  # the models not run this time keep their entries
        old = json.loads(earlier.read_text())
        if old.get("frame") == res["frame"]:
            res["models"] = old["models"]
    tmp = Path(tempfile.mkdtemp(prefix="srhw-residual-"))
    for name in [] if args.render else args.models:  # a failure leaves its exports, designs and logs in `tmp` to look at
        row = measure(name, n, frame, tmp, not args.skip_rtl, args.plans_only)
        if args.plans_only and "csim" in res["models"].get(name, {}):  # an earlier end-to-end run's simulations
            row = {k: v for k, v in res["models"][name].items() if k in ("csim", "rtl_sim")} | row
        res["models"][name] = row
        print(name, row, flush=True)
        shutil.rmtree(tmp / name)
    shutil.rmtree(tmp)
    rows = []
    for m in sorted(res["models"], key=lambda m: MODELS.index(m) if m in MODELS else len(MODELS)):
        r = res["models"][m]
        rtl = f"{r['rtl_sim']['build_and_run_s']:.0f}" if "rtl_sim" in r else "-"
        csim = f"{r['csim']['build_s']:.0f} + {r['csim']['run_s']:.1f}" if "csim" in r else "-"
        plans = " | ".join(f"no fit (deepest {r['plans'][b]['deepest_fold_multipliers']})"
                           if r["plans"][b]["deepest_fold_multipliers"] else
                           f"{r['plans'][b]['multipliers']} / {r['plans'][b]['modelled_fps']:.2f}" for b in BOARDS)
        rows.append(f"| {m} | {r['parameters']} | {r['macs_per_lr_pixel']} | {r['psnr_fixed_vs_float_db']:.1f} | "
                    f"{r['compile_s']['torchscript']:.0f} | {csim} | {rtl} | "
                    f"{plans} | {r['plans']['zcu102']['skip_fifo_bits']} |")
    table = "\n".join([
        f"The papers' sizes, bit-exact on one {n}x{n} LR frame (C-sim and RTL sim against the golden model; "
        "`-` where only the plans were measured, `--plans-only`, which keeps a model's simulations from the last run that "
        "made them). Seconds; plans for the frame whose output is 4K UHD "
        "at 60 fps (multipliers / frame rate the dataflow model certifies, folded to fit the part's DSP slices); "
        "skip FIFO bits of the ZCU102 plan.", "",
        "| model | parameters | MACs / LR pixel | W8A8 vs float, dB | compile | C-sim build + run | RTL sim | "
        "ZCU102 | U250 | skip FIFO bits |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", *rows])
    write("residual_models", res, table)


if __name__ == "__main__":
    main()
