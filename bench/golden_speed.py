"""Golden-model speed: bit-exact golden vs onnxruntime (float) on the same frame, same run,
for each zoo architecture (FSRCNN, FSRCNN-s, ESPCN, SRCNN 9-1-5).

Target (issues 2 and 6): a 256x256 LR frame in <= 1.5x onnxruntime's time, peak memory
<= 2 GB. Writes bench/results/golden_speed.{json,md}.

    python bench/golden_speed.py [--models fsrcnn_x2 ...] [--sizes 256 512] [--repeat 15]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timeit, write


def ort_input(q, frame: np.ndarray) -> np.ndarray:
    """The float model's input for a pixel frame, in its own scale and layout."""
    b = q.boundary
    x = frame[None].astype(np.float32) * np.float32(b["input_scale"])
    return np.ascontiguousarray(np.transpose(x, [("N", "C", "H", "W").index(a) for a in b["input_layout"]]))


def main(argv: list[str] | None = None) -> None:
    import onnxruntime as ort

    import srhw
    from srhw import golden
    from srhw.compiler import resolve_model

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="+", default=["fsrcnn_x2", "fsrcnn_s_x2", "espcn_x2", "srcnn_915_x3"])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--bits", type=int, default=8)
    args = p.parse_args(argv)

    rows, data = [], {"bits": args.bits, "models": {}}
    rng = np.random.default_rng(0)
    for model in args.models:
        path = resolve_model(model)
        q = srhw.compile(path, bits=args.bits, progress=False, hls=False).qgraph
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        in_name = sess.get_inputs()[0].name
        data["models"][model] = {}
        for n in args.sizes:
            frame = rng.integers(0, 256, (q.input_channels, n, n), dtype=np.uint8)
            x = ort_input(q, frame)
            t_ort = timeit(lambda s=sess, i=in_name, x=x: s.run(None, {i: x}), args.repeat)
            t_gold = timeit(lambda q=q, f=frame: golden.run(q, f), args.repeat)
            tracemalloc.start()
            golden.run(q, frame)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            ratio = t_gold["median_s"] / t_ort["median_s"]
            data["models"][model][str(n)] = {"onnxruntime": t_ort, "golden": t_gold, "ratio_golden_over_ort": ratio,
                                             "golden_peak_alloc_mb": peak / 2**20}
            rows.append(f"| {model} | {n}x{n} | {t_ort['median_s'] * 1e3:.1f} ({t_ort['min_s'] * 1e3:.1f}-"
                        f"{t_ort['max_s'] * 1e3:.1f}) | {t_gold['median_s'] * 1e3:.1f} ({t_gold['min_s'] * 1e3:.1f}-"
                        f"{t_gold['max_s'] * 1e3:.1f}) | {ratio:.2f} | {peak / 2**20:.0f} |")
    data["process_max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = (f"W{args.bits}A{args.bits}; median of {args.repeat} runs after 2 warm-ups (min-max), ms. Target: "
             "golden / ORT <= 1.5 at 256x256.\n\n"
             "| model | LR frame | onnxruntime float | srhw golden (bit-exact) | golden / ORT | golden peak alloc (MB) |\n"
             "|---|---|---:|---:|---:|---:|\n" + "\n".join(rows) +
             f"\n\nWhole benchmark process max RSS: {data['process_max_rss_mb']:.0f} MB.")
    write("golden_speed", data, table)


if __name__ == "__main__":
    main()
