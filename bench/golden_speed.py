"""Golden-model speed: bit-exact golden vs onnxruntime (float) on the same frame, same run.

Target (issue 2): shipped FSRCNN x2 on a 256x256 LR frame in <= 1.5x onnxruntime's time,
peak memory <= 2 GB. Writes bench/results/golden_speed.{json,md}.

    python bench/golden_speed.py [--sizes 256 512] [--repeat 15]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timeit, write  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    import onnxruntime as ort

    import srhw
    from srhw import golden
    from srhw.compiler import resolve_model

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="fsrcnn_x2")
    p.add_argument("--sizes", type=int, nargs="+", default=[256])
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--bits", type=int, default=8)
    args = p.parse_args(argv)

    path = resolve_model(args.model)
    q = srhw.compile(path, bits=args.bits, progress=False).qgraph
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    rows, data = [], {"model": args.model, "bits": args.bits, "sizes": {}}
    rng = np.random.default_rng(0)
    for n in args.sizes:
        frame = rng.integers(0, 256, (q.input_channels, n, n), dtype=np.uint8)
        x = frame[None].astype(np.float32) / 255.0
        t_ort = timeit(lambda: sess.run(None, {in_name: x}), args.repeat)
        t_gold = timeit(lambda: golden.run(q, frame), args.repeat)
        tracemalloc.start()
        golden.run(q, frame)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ratio = t_gold["median_s"] / t_ort["median_s"]
        data["sizes"][str(n)] = {"onnxruntime": t_ort, "golden": t_gold, "ratio_golden_over_ort": ratio,
                                 "golden_peak_alloc_mb": peak / 2**20}
        rows.append(f"| {n}x{n} | {t_ort['median_s'] * 1e3:.1f} ({t_ort['min_s'] * 1e3:.1f}-{t_ort['max_s'] * 1e3:.1f}) | "
                    f"{t_gold['median_s'] * 1e3:.1f} ({t_gold['min_s'] * 1e3:.1f}-{t_gold['max_s'] * 1e3:.1f}) | "
                    f"{ratio:.2f} | {peak / 2**20:.0f} |")
    data["process_max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = (f"Model {args.model}, W{args.bits}A{args.bits}; median of {args.repeat} runs after 2 warm-ups (min-max), ms.\n\n"
             "| LR frame | onnxruntime float | srhw golden (bit-exact) | golden / ORT | golden peak alloc (MB) |\n"
             "|---|---:|---:|---:|---:|\n" + "\n".join(rows) +
             f"\n\nWhole benchmark process max RSS: {data['process_max_rss_mb']:.0f} MB.")
    write("golden_speed", data, table)


if __name__ == "__main__":
    main()
