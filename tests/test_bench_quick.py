"""Every benchmark script runs to the end with the arguments `python bench/run_all.py --quick`
gives it (a smoke test: no timing is asserted; the figures come from the full run), one test per
script so that they spread over the suite's workers; and `run_all.py --render` rebuilds the
committed BENCHMARKS.md from the committed results, so the page and bench/results agree.

The scripts whose quick run takes half a minute or more (they compile several designs, build
with Verilator or hls4ml, or train) run with `-m slow` and in `python bench/run_all.py --quick`;
what they measure is tested on its own in the default suite (RTL and C simulation, upscale,
eval, the quantizer)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from run_all import FULL, QUICK  # noqa: E402


SLOW_QUICK = {"rtl_sim", "hls4ml_peer", "upscale_speed", "zoo_quality", "weight_rounding", "compile_speed"}


@pytest.mark.parametrize("script", [pytest.param(script, marks=pytest.mark.slow) if script in SLOW_QUICK else script
                                    for _, script, _ in FULL])
def test_quick_step(tmp_path, script):
    results = tmp_path / "results"
    env = dict(os.environ, SRHW_BENCH_RESULTS=str(results))
    res = subprocess.run([sys.executable, str(ROOT / f"bench/{script}.py"), *QUICK[script]], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    data = json.loads((results / f"{script}.json").read_text())
    assert set(data) - {"date", "machine"}, data  # figures beside the run's date and machine
    # the section run_all.py pastes into BENCHMARKS.md: a title, a date line, then a body with figures
    title, _, when, body = (results / f"{script}.md").read_text().split("\n", 3)
    assert title.startswith("# ") and when and any(ch.isdigit() for ch in body), (title, when, body[:200])
    if script == "zoo_quality":
        assert (results / "psnr_vs_bits.png").stat().st_size > 1000


def test_render_rebuilds_the_committed_page(tmp_path):
    """The results sit at the same place relative to the page as in the repository (the plot's link)."""
    results = tmp_path / "bench" / "results"
    shutil.copytree(ROOT / "bench" / "results", results)
    page = tmp_path / "BENCHMARKS.md"
    res = subprocess.run([sys.executable, str(ROOT / "bench/run_all.py"), "--render", "--results", str(results),
                          "--benchmarks", str(page)], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    head, body = page.read_text().split("## Headline", 1)
    assert "--render` rewrote this page" in head
    committed = (ROOT / "BENCHMARKS.md").read_text().split("## Headline", 1)[1]
    assert body == committed, "BENCHMARKS.md is not what `python bench/run_all.py --render` makes of bench/results"
    assert "**Failed**" not in body
    for title, script, _ in FULL:
        assert f"## {title}" in body and f"`python bench/{script}.py" in body, title
