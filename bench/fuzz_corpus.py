"""The hostile-input corpus of tests/test_fuzz_corpus.py, each case as a user would run it: the
`srhw` command in its own process with a time limit, so a hang shows as a hang. Counts: cases,
refused (exit 2, one error line), accepted (exit 0), tracebacks, leftovers (output after a
refusal), hangs (over --timeout), and the slowest case.

    python bench/fuzz_corpus.py [--timeout 120] [--quick]   (--quick: every tenth case)
Writes bench/results/fuzz_corpus.{json,md}. Targets: tracebacks = leftovers = hangs = 0.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import write


def main(argv: list[str] | None = None) -> None:
    from tests.test_fuzz_corpus import BAD_ARGS, CASES, FILE_CASES, base

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--timeout", type=int, default=120)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        jobs = []
        for i, (name, model) in enumerate(CASES):
            d = t / f"m{i}"
            d.mkdir()
            (d / "m.onnx").write_bytes(model.SerializeToString())
            jobs.append((f"model: {name}", d, ["compile", "m.onnx", "--no-hls", "-o", "out"], "out"))
        for kind, data in FILE_CASES.items():
            d = t / f"f_{kind}"
            d.mkdir()
            (d / "bad.onnx").write_bytes(base().SerializeToString()[:150] if data is None else data)
            jobs.append((f"file: {kind}", d, ["compile", "bad.onnx", "-o", "out"], "out"))
        for i, a in enumerate(BAD_ARGS):
            d = t / f"a{i}"
            d.mkdir()
            jobs.append((f"args: {' '.join(a)}", d, a, "o"))
        for name, d, cmd, out in jobs[::10] if args.quick else jobs:
            t0 = time.perf_counter()
            try:
                r = subprocess.run([sys.executable, "-m", "srhw.cli", *cmd], cwd=d, capture_output=True, text=True,
                                   timeout=args.timeout)
                code, err, hang = r.returncode, r.stderr, False
            except subprocess.TimeoutExpired:
                code, err, hang = None, "", True
            runs.append({"case": name, "exit": code, "seconds": round(time.perf_counter() - t0, 2), "hang": hang,
                         "traceback": "Traceback" in err,
                         "leftover": code == 2 and any((d / x).exists() for x in (out, "o.png", "o.onnx")),
                         "error": err.strip().splitlines()[-1][:200] if err.strip() else ""})
    n = len(runs)
    counts = {"cases": n, "refused": sum(r["exit"] == 2 for r in runs), "accepted": sum(r["exit"] == 0 for r in runs),
              "other_exit": sum(r["exit"] not in (0, 2) and not r["hang"] for r in runs),
              "tracebacks": sum(r["traceback"] for r in runs), "leftovers": sum(r["leftover"] for r in runs),
              "hangs": sum(r["hang"] for r in runs)}
    slow = max(runs, key=lambda r: r["seconds"])
    lines = [f"Each case is `srhw ...` in its own process, limit {args.timeout} s (tests/test_fuzz_corpus.py builds "
             f"the inputs).", "",
             "| cases | refused (exit 2) | accepted (exit 0) | other exit | tracebacks | leftovers | hangs | slowest |",
             "|---:|---:|---:|---:|---:|---:|---:|---|",
             f"| {n} | {counts['refused']} | {counts['accepted']} | {counts['other_exit']} | **{counts['tracebacks']}** "
             f"| **{counts['leftovers']}** | **{counts['hangs']}** | {slow['seconds']} s ({slow['case'][:50]}) |", "",
             "Accepted: " + "; ".join(r["case"] for r in runs if r["exit"] == 0) + ". Targets: tracebacks, leftovers "
             "and hangs 0."]
    write("fuzz_corpus", {"timeout_s": args.timeout, "counts": counts, "runs": runs}, "\n".join(lines))


if __name__ == "__main__":
    main()
