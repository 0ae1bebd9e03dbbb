"""`srhw compile --rtl`, `srhw sim` and `srhw synth` from the command line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def srhw(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "srhw.cli", *args], check=False, capture_output=True, text=True, cwd=cwd)


def test_compile_sim_synth(exported, tmp_path):
    out = tmp_path / "out"
    res = srhw("compile", str(exported("fsrcnn_x2", "dynamo")), "--rtl", "--no-hls", "--in-size", "32x24", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert (out / "rtl/srhw_top.v").is_file() and not (out / "hls").exists()
    res = srhw("sim", str(out), "--size", "11x9")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "11x9, 3 frames" in res.stdout and "reset mid-frame, then a clean frame: exact" in res.stdout
    res = srhw("synth", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    # what it is doing, part by part, with the log of each
    assert "srhw synth: glue started" in res.stderr and "synth_build/glue/synth.log" in res.stderr
    assert res.stderr.count(" done in ") == res.stderr.count(" started (")
    synth = json.loads((out / "synth.json").read_text())
    estimate = json.loads((out / "rtl/srhw_rtl.json").read_text())["multipliers"]
    assert synth["multipliers_estimate"] == sum(estimate.values())
    # every MAC multiplier survives synthesis, within 15% (PReLU epilogues and index arithmetic add a few)
    assert 1.0 <= synth["yosys_over_estimate"] <= 1.15
    assert synth["cells"]["dsp48e2"] > 0 and synth["cells"]["lut"] > 0 and synth["cells"]["ff"] > 0
    # one part per conv stage plus the glue; every register-to-register path within the pipelined
    # stages' budget, every DSP with its output register (srhw.netlist)
    assert set(synth["parts"]) == {f"srhw_stage_{n}" for n in estimate} | {"glue"}
    assert 1 <= synth["longest_path"]["lut_levels"] <= 6, synth["longest_path"]
    assert synth["dsp_without_output_register"] == 0
    report = (out / "report.md").read_text()
    assert "## Yosys synthesis of OUT/rtl" in report and "Longest register-to-register path" in report


def test_sim_needs_rtl(exported, tmp_path):
    out = tmp_path / "out"
    assert srhw("compile", str(exported("fsrcnn_x2", "dynamo")), "-o", str(out), "--in-size", "32x24").returncode == 0
    res = srhw("sim", str(out))
    assert res.returncode == 2 and "compile with --rtl" in res.stderr and "Traceback" not in res.stderr
    res = srhw("sim", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "not an srhw output directory" in res.stderr
    res = srhw("sim", str(out), "--size", "9by9")
    assert res.returncode == 2 and "WIDTHxHEIGHT" in res.stderr


def test_rtl_refuses_a_residual_model_by_name(exported, tmp_path):
    res = srhw("compile", str(exported("residual_rgb", "dynamo")), "--rtl", "-o", str(tmp_path / "out"))
    assert res.returncode == 2 and "RTL backend" in res.stderr and "Add" in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()


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
