"""`python bench/run_all.py --quick` runs to the end in CI: a smoke test of every benchmark
script (no timing is asserted; the figures come from the full run)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_run_all_quick(tmp_path):
    results, md = tmp_path / "results", tmp_path / "BENCHMARKS.md"
    res = subprocess.run([sys.executable, str(ROOT / "bench/run_all.py"), "--quick", "--results", str(results),
                          "--benchmarks", str(md)], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    text = md.read_text()
    assert "**Failed**" not in text
    for section in ("Quality", "Golden model speed", "Compiler speed", "Upscale: cold compile, design cache",
                    "C-simulation", "RTL simulation and synthesis",
                    "The 1080p60 plan, planned and realised", "Weight rounding", "Peer: hls4ml", "Hostile input"):
        assert f"## {section}" in text
    steps = json.loads((results / "run_all.json").read_text())["steps"]
    assert len(steps) == 10 and all(s["ok"] for s in steps)
    for name in ("zoo_quality", "golden_speed", "compile_speed", "upscale_speed", "csim_models", "rtl_sim", "hls_plan",
                 "weight_rounding", "hls4ml_peer", "fuzz_corpus"):
        assert (results / f"{name}.json").is_file(), name
    assert (results / "psnr_vs_bits.png").stat().st_size > 1000
    # --render runs nothing and writes the same sections back from the results
    again = tmp_path / "again.md"
    res = subprocess.run([sys.executable, str(ROOT / "bench/run_all.py"), "--render", "--results", str(results),
                          "--benchmarks", str(again)], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    head, body = again.read_text().split("## Headline", 1)
    assert "--render` rewrote this page" in head and body == text.split("## Headline", 1)[1]
