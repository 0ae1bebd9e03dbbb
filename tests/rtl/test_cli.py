"""`srhw compile --rtl`, `srhw sim` and `srhw synth` from the command line."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


def srhw(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "srhw.cli", *args], check=False, capture_output=True, text=True, cwd=cwd)


def test_compile_and_sim(exported, tmp_path):
    out = tmp_path / "out"
    res = srhw("compile", str(exported("fsrcnn_x2", "dynamo")), "--rtl", "--no-hls", "--in-size", "32x24", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert (out / "rtl/srhw_top.v").is_file() and not (out / "hls").exists()
    res = srhw("sim", str(out), "--size", "11x9")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "11x9, 3 frames" in res.stdout and "reset mid-frame, then a clean frame: exact" in res.stdout


def test_sim_needs_rtl(exported, tmp_path):
    out = tmp_path / "out"
    assert srhw("compile", str(exported("fsrcnn_x2", "dynamo")), "-o", str(out), "--in-size", "32x24").returncode == 0
    res = srhw("sim", str(out))
    assert res.returncode == 2 and "compile with --rtl" in res.stderr and "Traceback" not in res.stderr
    res = srhw("sim", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "not an srhw output directory" in res.stderr
    res = srhw("sim", str(out), "--size", "9by9")
    assert res.returncode == 2 and "WIDTHxHEIGHT" in res.stderr


def test_a_failing_tool_ends_in_one_error_line_with_its_log(exported, tmp_path):
    """g++, Verilator and Yosys on broken sources: the tool's own errors first, then one
    `srhw: error:` line naming the tool and the full log, exit 2, no traceback."""
    out = tmp_path / "out"
    res = srhw("compile", str(exported("fsrcnn_x2", "dynamo")), "--rtl", "--in-size", "32x24", "-o", str(out))
    assert res.returncode == 0, res.stderr
    with open(out / "hls/srhw_top.cpp", "a") as f:
        f.write("\nthis is not C++;\n")
    with open(out / "rtl/srhw_top.v", "a") as f:
        f.write("\nthis is not Verilog;\n")
    for command, tool, log in (("csim", "g++", out / "hls/csim_build.log"),
                               ("sim", "Verilator", out / "sim_build/build.log"),
                               ("synth", "Yosys", None)):
        res = srhw(command, str(out))
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert lines[-1].startswith(f"srhw: error: {tool} failed") and "full log: " in lines[-1], res.stderr
        assert len(lines) > 1 and "error" in res.stderr.lower().split("srhw: error:")[0], res.stderr  # the tool's own
        named = Path(lines[-1].split("full log: ")[1])
        assert named.is_file() and (log is None or named == log), (named, log)


def test_synth_takes_lane_banks_apart(exported, tmp_path, monkeypatch):
    """`srhw synth` on a design whose scheduled layers' lanes come in banks of at most
    LANES_PER_BANK multipliers (40 here): each bank is a synthesis part of its own, the stage part
    holds them as black boxes, and the counts still add up to the plan: every multiplier found
    once, the 4 x 4-bit ones in LUTs and the others in DSP slices, every DSP with its output register, the longest path within the pipelined stages'
    budget (bank outputs leave registers). Progress part by part, with each part's log."""
    from srhw import compile as srhw_compile
    from srhw.backends import rtl as rtl_backend

    monkeypatch.setattr(rtl_backend, "LANES_PER_BANK", 40)
    out = tmp_path / "out"
    # SRCNN 9-1-5 (three convs: eight parts, about 40 s of Yosys): the 9x9 conv's 72 lanes in two
    # banks of four outputs, one bank each for the others
    # the 1x1 conv's products are 4 x 4 bits (4-bit weights, 4-bit codes in): LUT multipliers
    srhw_compile(str(exported("srcnn", "dynamo")), out=out, rtl=True, hls=False, in_size="32x24",
                 fold_period=(1, 9), progress=False, layer_bits=(("l00_conv", None, 4), ("l01_conv", 4, None)))
    cfg = json.loads((out / "rtl/srhw_rtl.json").read_text())
    assert cfg["lut_multipliers"] == {"l01_conv": cfg["multipliers"]["l01_conv"]}
    banks = {b: n for bs in cfg["banks"].values() for b, n in bs.items()}
    assert len(banks) > len(cfg["banks"]) >= 2, cfg["banks"]
    # at most 40 lanes a bank, unless the bank is one output with more (an output's lanes stay together)
    lanes_v = (out / "rtl/srhw_lanes.v").read_text()
    for first, last, n in re.findall(r"outputs (\d+)\.\.(\d+): (\d+) lanes", lanes_v):
        assert int(n) <= 40 or first == last, (first, last, n)
    res = srhw("synth", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "srhw synth: glue started" in res.stderr and "synth_build/glue/synth.log" in res.stderr
    assert res.stderr.count(" done in ") == res.stderr.count(" started (")
    synth = json.loads((out / "synth.json").read_text())
    estimate = cfg["multipliers"]
    assert synth["multipliers_estimate"] == sum(estimate.values())
    # one part per conv stage and per bank, plus the glue
    assert set(synth["parts"]) == {f"srhw_stage_{n}" for n in estimate} | {"glue"} | set(banks)
    for bank, lanes in banks.items():  # a bank's multipliers are its lanes' products
        assert synth["parts"][bank]["mul_cells"] == lanes, (bank, synth["parts"][bank])
    # every MAC multiplier survives synthesis, within 15% (PReLU epilogues and index arithmetic add a few)
    assert 1.0 <= synth["yosys_over_estimate"] <= 1.15
    assert synth["cells"]["dsp48e2"] > 0 and synth["cells"]["lut"] > 0 and synth["cells"]["ff"] > 0
    # the LUT multipliers take no DSP slice; the others one each, as the plan says (within 15%)
    lut_banks = [b for b in banks if b.startswith("srhw_lanes_l01_conv")]
    assert lut_banks and all(synth["parts"][b]["cells"]["dsp48e2"] == 0 < synth["parts"][b]["cells"]["lut"]
                             for b in lut_banks)
    assert synth["dsp_estimate"] == sum(estimate.values()) - cfg["multipliers"]["l01_conv"]
    assert 1.0 <= synth["dsp_over_estimate"] <= 1.15, synth["dsp_over_estimate"]
    assert synth["dsp_without_output_register"] == 0
    assert 1 <= synth["longest_path"]["lut_levels"] <= 6, synth["longest_path"]
    report = (out / "report.md").read_text()
    assert "## Yosys synthesis of OUT/rtl" in report and "Longest register-to-register path" in report
