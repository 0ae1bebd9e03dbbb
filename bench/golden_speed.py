"""Golden-model speed: bit-exact golden vs onnxruntime (float) on the same frame, same run,
for each zoo architecture (FSRCNN, FSRCNN-s, ESPCN, SRCNN 9-1-5).

Target (golden speed): a 256x256 LR frame in <= 1.5x onnxruntime's time, peak memory
<= 2 GB. Writes bench/results/golden_speed.{json,md}.

    python bench/golden_speed.py [--models fsrcnn_x2 ...] [--sizes 256 512] [--repeat 15]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import GOLDEN_OVER_ORT_TARGET, timeit, write


def ort_input(q, frame: np.ndarray) -> np.ndarray:
    """The float model's input for a pixel frame, in its own scale and layout."""
    b = q.boundary
    x = frame[None].astype(np.float32) * np.float32(b.input_scale)
    return np.ascontiguousarray(np.transpose(x, [("N", "C", "H", "W").index(a) for a in b.input_layout]))


def sgemm_peak(repeat: int) -> dict:
    """What this process's BLAS sustains (FLOP/s, all cores, 2048^3 float32): with the
    model's MACs it gives the least time any engine built on this BLAS needs for a frame."""
    from threadpoolctl import threadpool_info

    a = np.random.default_rng(1).random((2048, 2048), dtype=np.float32)
    t = timeit(lambda: a @ a, repeat)
    blas = next((i for i in threadpool_info() if i["user_api"] == "blas"), {})
    return {"flops": 2 * 2048**3 / t["median_s"], "timing": t, "library": blas.get("internal_api"),
            "kernels": blas.get("architecture"), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def main(argv: list[str] | None = None) -> None:
    import onnxruntime as ort

    from srhw import golden
    from srhw.compiler import resolve_model
    from srhw.designs import design

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="+", default=["fsrcnn_x2", "fsrcnn_s_x2", "espcn_x2", "srcnn_915_x3"])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--repeat", type=int, default=31)
    p.add_argument("--bits", type=int, default=8)
    args = p.parse_args(argv)

    peak = sgemm_peak(args.repeat)
    rows, data = [], {"bits": args.bits, "models": {}, "sgemm": peak}
    rng = np.random.default_rng(0)
    for model in args.models:
        path = resolve_model(model)
        q = design(path, args.bits).qgraph  # the quantization cache's, as `srhw upscale` runs it
        macs_per_pixel = int(sum(l.stats.get("macs_per_lr_pixel", 0) for l in q.layers))  # as report.md counts
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        in_name = sess.get_inputs()[0].name
        data["models"][model] = {}
        for n in args.sizes:
            frame = rng.integers(0, 256, (q.input_channels, n, n), dtype=np.uint8)
            x = ort_input(q, frame)
            t_ort = timeit(lambda s=sess, i=in_name, x=x: s.run(None, {i: x}), args.repeat)
            t_gold = timeit(lambda q=q, f=frame: golden.run(q, f), args.repeat)
            t_blas = timeit(lambda q=q, f=frame: golden.run(q, f, engine="numpy"), args.repeat)
            golden.release_buffers()  # the peak of a first frame: the pool's buffers are allocated anew
            tracemalloc.start()
            golden.run(q, frame)
            _, alloc = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            ratio = t_gold["median_s"] / t_ort["median_s"]
            macs = macs_per_pixel * n * n
            floor_s = 2 * macs / peak["flops"]
            data["models"][model][str(n)] = {"onnxruntime": t_ort, "golden": t_gold, "ratio_golden_over_ort": ratio,
                                             "golden_numpy_blas": t_blas,
                                             "ratio_numpy_blas_over_ort": t_blas["median_s"] / t_ort["median_s"],
                                             "golden_peak_alloc_mb": alloc / 2**20, "macs": macs,
                                             "sgemm_floor_s": floor_s, "ratio_floor_over_ort": floor_s / t_ort["median_s"]}
            rows.append(f"| {model} | {n}x{n} | {t_ort['median_s'] * 1e3:.1f} ({t_ort['min_s'] * 1e3:.1f}-"
                        f"{t_ort['max_s'] * 1e3:.1f}) | {t_gold['median_s'] * 1e3:.1f} ({t_gold['min_s'] * 1e3:.1f}-"
                        f"{t_gold['max_s'] * 1e3:.1f}) | {ratio:.2f} | {t_blas['median_s'] * 1e3:.1f} | "
                        f"{t_blas['median_s'] / t_ort['median_s']:.2f} | {macs / 1e9:.2f} | {floor_s * 1e3:.1f} | "
                        f"{floor_s / t_ort['median_s']:.2f} | {alloc / 2**20:.0f} |")
    data["process_max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = (f"W{args.bits}A{args.bits}; median of {args.repeat} runs after 2 warm-ups (min-max), ms, all runs "
             "of one side, then all of the other (see docs/golden.md). Target: "
             f"golden / ORT <= {GOLDEN_OVER_ORT_TARGET} at 256x256.\n\n"
             "srhw golden = the default engine (onnxruntime's MLAS conv kernels for convs with at least "
             f"{golden.MLAS_MIN_OUTPUTS} outputs, MLAS's SGEMM under srhw's own im2col for the rest); NumPy BLAS = every conv "
             "on NumPy's BLAS (`engine=\"numpy\"`). Both are bit-exact and give the same codes.\n\n"
             f"BLAS: {peak['library']} with its {peak['kernels']} kernels (OPENBLAS_CORETYPE="
             f"{peak['OPENBLAS_CORETYPE'] or 'unset'}), {peak['flops'] / 1e9:.0f} GFLOP/s on a 2048^3 sgemm "
             "(median). The sgemm floor is the model's MACs at that rate: no engine on this BLAS "
             "can run the frame faster, whatever it does around the GEMMs. Peak alloc is what "
             "tracemalloc sees (NumPy's buffers, not onnxruntime's chunk-sized ones).\n\n"
             "| model | LR frame | onnxruntime float | srhw golden (bit-exact) | golden / ORT | NumPy BLAS "
             "only | NumPy BLAS / ORT | GMAC | sgemm floor | floor / ORT | golden peak alloc (MB) |\n"
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) +
             f"\n\nWhole benchmark process max RSS: {data['process_max_rss_mb']:.0f} MB.")
    write("golden_speed", data, table)


if __name__ == "__main__":
    main()
