"""Shared helpers of the benchmark scripts: timing, the machine line, result files."""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

# bench/run_all.py --results DIR (and the CI smoke test) redirect every script's output
RESULTS = Path(os.environ.get("SRHW_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")

# The figures the benchmarks are held to (README and BENCHMARKS.md quote them by these names)
MULTIPLIER_OVERHEAD_TARGET = 1.10   # planned multipliers / the bound (non-zero MACs x pixel rate / clock)
RTL_EFFICIENCY_TARGET = 0.98        # RTL cycles per frame against the slowest stage's ideal
RTL_MODEL_AGREEMENT = 0.02          # RTL cycles against the dataflow model's, relative
LUT_LEVELS_TARGET = 6               # logic levels between registers (Yosys, UltraScale+ LUT6)
RTL_SIM_SECONDS_TARGET = 300        # Verilator build + simulation of the rtl_sim bench design
GOLDEN_OVER_ORT_TARGET = 1.5        # golden model / onnxruntime float time, 256x256 LR frame
GOLDEN_PEAK_MEMORY_TARGET_GB = 2.0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def timeit(fn: Callable[[], object], repeat: int, warmup: int = 2) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": repeat}


def write(name: str, data: dict, table: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"date": date.today().isoformat(), "machine": machine()} | data
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    (RESULTS / f"{name}.md").write_text(f"# {name}\n\n{data['date']} on {data['machine']}\n\n{table}\n")
    print(table)
