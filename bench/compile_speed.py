"""Compiler speed per zoo model: wall time of each phase of `srhw compile`, and of the whole
command with and without the backends.

Phases, timed separately on the same model in the same run (median of --repeat after a
warm-up): the ONNX frontend and passes (no calibration), calibration on the shipped default
set, quantization with one calibration method (percentile) with nearest weight rounding and with
the default GPTQ fit, and the whole `srhw compile` (the method search: max, percentile and MSE,
each scored by running the golden model) to an output directory with no backend (also with
`--weight-rounding nearest`), with the HLS project (test vectors included), and with HLS + RTL.

    python bench/compile_speed.py [--models fsrcnn_x2 ...] [--repeat 3] [--against REF]
Writes bench/results/compile_speed.{json,md}. --against REF also times `srhw compile` with the HLS
project on the code of git revision REF (a worktree, run in turns with this code: A, B, A, B...)
and gives the ratio of the medians: the same machine, the same minutes.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timeit, write

MODELS = ["fsrcnn_x2", "fsrcnn_s_x2", "espcn_x2", "srcnn_915_x3"]


PHASES = ("frontend_and_passes", "calibration", "quantize_one_method_nearest", "quantize_one_method",
          "compile_nearest_no_backend", "compile_no_backend", "compile_hls", "compile_hls_rtl")


def measure(model: str, repeat: int, tmp: Path, warmup: int = 1, phases: tuple[str, ...] = PHASES) -> dict:
    import srhw
    from srhw.compiler import load_frames, resolve_model, upscales
    from srhw.frontend import import_onnx
    from srhw.passes import pipeline, run_pipeline
    from srhw.quant import calibrate, quantize

    path = resolve_model(model)
    graph = run_pipeline(import_onnx(path), pipeline("auto", "auto"))
    frames = load_frames(None, int(graph.inputs[0].shape[1]), upscales(graph))
    from srhw.quant.quantize import conv_input_lists

    float_in = conv_input_lists(graph)  # as the compiler does: the calibration pass keeps the conv inputs
    stats = calibrate(graph, frames, kept=float_in)
    runs = iter(range(10**6))

    def compile_to(**kw):
        srhw.compile(model, out=tmp / f"{model}_{next(runs)}", progress=False, cache=False, **kw)

    timed = {"frontend_and_passes": lambda: run_pipeline(import_onnx(path), pipeline("auto", "auto")),
             "calibration": lambda: calibrate(graph, frames, kept=conv_input_lists(graph)),
             "quantize_one_method_nearest": lambda: quantize(graph, stats, 8, 8, "percentile", frames=frames),
             "quantize_one_method": lambda: quantize(graph, stats, 8, 8, "percentile", frames=frames,
                                                     weight_rounding="gptq", float_in=float_in),
             "compile_nearest_no_backend": lambda: compile_to(hls=False, weight_rounding="nearest"),
             "compile_no_backend": lambda: compile_to(hls=False),
             "compile_hls": lambda: compile_to(),
             "compile_hls_rtl": lambda: compile_to(rtl=True)}
    r = {k: timeit(f, repeat, warmup) for k, f in timed.items() if k in phases}
    return r | {"calibration_frames": len(frames)}


def _compile_once(src: Path, model: str, out: Path) -> float:
    """One `srhw compile MODEL` with the HLS project, with the srhw of `src`, in a fresh process
    with an empty cache (a quantization kept by an earlier run would skip the work measured)."""
    import os
    import subprocess
    import tempfile
    import time

    code = ("import sys, time, srhw; t = time.perf_counter(); "
            f"srhw.compile({model!r}, out={str(out)!r}, progress=False, force=True); "
            "print(time.perf_counter() - t)")
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="srhw-cache-") as cache:
        env = dict(os.environ, PYTHONPATH=str(src), SRHW_CACHE_DIR=cache)
        r = subprocess.run([sys.executable, "-c", code], env=env, cwd=src, capture_output=True, text=True,
                           check=False)
    if r.returncode != 0:
        raise SystemExit(f"compile of {model} with {src} failed:\n{r.stderr[-2000:]}")
    return float(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else time.perf_counter() - t


def against(ref: str, models: list[str], repeat: int, tmp: Path) -> dict:
    """Paired timings of compile + HLS: this code against revision `ref`, alternating."""
    import statistics
    import subprocess

    root = Path(__file__).resolve().parent.parent
    old = tmp / "ref"
    subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(old), ref], check=True,
                   capture_output=True)
    try:
        out = {}
        for model in models:
            _compile_once(root, model, tmp / "warm_new")
            _compile_once(old, model, tmp / "warm_old")
            new_t, old_t = [], []
            for _ in range(repeat):
                new_t.append(_compile_once(root, model, tmp / "new"))
                old_t.append(_compile_once(old, model, tmp / "old"))
            out[model] = {"this_s": statistics.median(new_t), "ref_s": statistics.median(old_t),
                          "ratio": round(statistics.median(new_t) / statistics.median(old_t), 3),
                          "this_runs": new_t, "ref_runs": old_t}
        return {"ref": ref, "models": out}
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(old)], check=False,
                       capture_output=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1, help="untimed runs before the timed ones (0: a smoke run)")
    p.add_argument("--against", metavar="REF", help="also time compile + HLS at git revision REF, paired")
    p.add_argument("--only-against", action="store_true", help="with --against: only the paired timings")
    p.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES), help="time only these (default: all)")
    args = p.parse_args(argv)
    res: dict = {"models": {}, "repeat": args.repeat, "warmup": args.warmup}
    with tempfile.TemporaryDirectory() as tmp:
        if args.against:
            res["against"] = against(args.against, args.models, args.repeat, Path(tmp))
        if args.only_against:
            a = res["against"]
            table = "\n".join([f"`srhw compile` + HLS, this code against {a['ref']}, median of {args.repeat} paired runs "
                               "(fresh processes, alternating):", "", "| model | this | ref | ratio |",
                               "|---|---:|---:|---:|",
                               *(f"| {m} | {r['this_s']:.2f} s | {r['ref_s']:.2f} s | **{r['ratio']}** |"
                                 for m, r in a["models"].items())])
            write("compile_speed_against", res, table)
            return
        for model in args.models:
            res["models"][model] = measure(model, args.repeat, Path(tmp), args.warmup, tuple(args.phases))
    rows = [f"| {m} | " + " | ".join(f"{r[k]['median_s']:.3f}" if k in r else "-" for k in PHASES) + " |"
            for m, r in res["models"].items()]
    frames = res["models"][args.models[0]]["calibration_frames"]
    table = "\n".join([
        (f"Seconds, median of {args.repeat} after {args.warmup} warm-up run(s). Calibration: the shipped default set ({frames} frames). "
         "`srhw compile` runs the quantizer once per calibration method (max, percentile, MSE) and keeps the best "
         "PSNR. Quantize: one method, nearest weight rounding (`--weight-rounding nearest`) or the default GPTQ "
         "fit."), "",
        ("| model | frontend + passes | calibration | quantize, nearest | quantize, GPTQ | compile nearest, no backend | "
         "compile, no backend | compile + HLS | compile + HLS + RTL |"), "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows])
    write("compile_speed", res, table)


if __name__ == "__main__":
    main()
