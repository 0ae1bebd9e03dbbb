"""`srhw csim OUT/`: build the generated HLS project with g++ and run its testbench.

Headers: `$XILINX_HLS/include` when it exists, else the open Xilinx ap_types that ship in the
`hls4ml` wheel (Apache-2.0; found on disk, never copied into this repository). The build is
C++14 like Vitis HLS, with -Wall -Wextra (and -Wno-unknown-pragmas: the HLS pragmas are for the
HLS tool); the vendor headers are system includes, and `own_warnings` keeps the diagnostics
located in the generated project.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from srhw.errors import SrhwError, ToolError, UsageError

STREAM_WARNING = "WARNING: Hls::stream"
SOURCES = ("srhw_top.cpp", "srhw_tb.cpp")


@dataclass(frozen=True)
class CsimResult:
    passed: bool
    output: str
    build_seconds: float
    run_seconds: float
    own_warnings: list[str]  # warnings located in the generated project (vendor headers excluded)


def ap_include_dir() -> Path:
    xilinx = os.environ.get("XILINX_HLS")
    if xilinx and (Path(xilinx) / "include" / "ap_int.h").is_file():
        return Path(xilinx) / "include"
    spec = importlib.util.find_spec("hls4ml")
    if spec is not None and spec.submodule_search_locations:
        d = Path(next(iter(spec.submodule_search_locations))) / "templates" / "vivado" / "ap_types"
        if (d / "ap_int.h").is_file():
            return d
    raise SrhwError("C-simulation needs the ap_int/hls_stream headers: set XILINX_HLS to a Vitis HLS install, "
                    "or `pip install hls4ml==1.3.0 --no-deps` (srhw uses only its open ap_types headers)")


def find_project(out: Path) -> Path:
    """OUT/ (as written by `srhw compile`) or OUT/hls/ itself."""
    for d in (Path(out) / "hls", Path(out)):
        if all((d / s).is_file() for s in SOURCES) and (d / "tb_data").is_dir():
            return d
    raise UsageError(f"'{out}' holds no srhw HLS project (expected {out}/hls/srhw_top.cpp and tb_data/)")


# g++'s optimisation level for C-simulation. -O1 builds a generated project about a quarter
# faster than -O2 (fsrcnn_x2: 4.9 s against 6.3) and its testbench runs as fast (0.83 s
# against 1.00 on 32x24 frames, 1.38 against 1.43 on 128x96); -O0 builds in 4.2 s but runs 20x
# slower, and -Og floods the log with the vendor headers' uninitialised-member warnings.
CSIM_OPT = "-O1"


def cxx_command(sources: list[Path], include: Path, exe: Path, cxx: str | None = None,
                opt: str = CSIM_OPT) -> list[str]:
    """The C-simulation compile line: C++14, -Wall -Wextra, srhw's headers from `include`,
    the vendor headers as system includes (precompiled, see `precompiled_header`)."""
    compiler = cxx or os.environ.get("CXX") or shutil.which("g++")
    if not compiler:
        raise SrhwError("C-simulation needs g++ (apt-get install g++) or $CXX")
    flags = ["-std=c++14", opt, "-Wall", "-Wextra", "-Wno-unknown-pragmas", "-isystem", str(ap_include_dir())]
    pch = precompiled_header(compiler, flags)
    return [compiler, *flags, "-I", str(include), *(["-include", str(pch)] if pch else []),
            *map(str, sources), "-o", str(exe)]


# What every generated project includes from outside itself: parsing these is about 2 s of each
# translation unit's build (two per project), the same for every project.
PCH_HEADER = """\
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>
#include "ap_int.h"
#include "ap_fixed.h"
#include "hls_stream.h"
"""


@functools.lru_cache(maxsize=None)
def _pch_key(compiler: str, flags: tuple[str, ...]) -> str | None:
    """The cache key of the precompiled header for this compiler and these flags: the compiler's
    path and version, the flags, the header and the vendor headers' files (once per process);
    None for a compiler other than GCC, whose .gch format this is."""
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    if "Free Software Foundation" not in version:
        return None
    key = hashlib.sha256("\0".join([str(Path(compiler).resolve()), version, *flags, PCH_HEADER]).encode())
    ap = ap_include_dir()
    for f in sorted(ap.rglob("*.h")):
        st = f.stat()
        key.update(f"{f.relative_to(ap)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return key.hexdigest()[:20]


def precompiled_header(compiler: str, flags: list[str]) -> Path | None:
    """The vendor and standard headers precompiled by GCC for exactly these flags, built once into
    the srhw cache ($SRHW_CACHE_DIR, ~/.cache/srhw) under a key of the compiler, its version, the
    flags and the headers' files; None where that cannot be had (not GCC, no writable cache, a
    failed build). The build is the same with or without it: `-include` of the plain header gives
    the same declarations, and GCC falls back to the header when a .gch does not match. A C-sim
    build takes about 6 s instead of 8.5 (fsrcnn_x2, this machine)."""
    from srhw.designs import cache_dir

    try:
        key = _pch_key(compiler, tuple(flags))
        if key is None:
            return None
        home = cache_dir() / "pch" / key
        header = home / "srhw_csim_pch.h"
        if (home / "srhw_csim_pch.h.gch").is_file():
            return header
        home.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=home.parent, prefix=".build-") as tmp:
            (Path(tmp) / header.name).write_text(PCH_HEADER, encoding="utf-8")
            build = subprocess.run([compiler, *flags, "-x", "c++-header", str(Path(tmp) / header.name),
                                    "-o", str(Path(tmp) / f"{header.name}.gch")],
                                   capture_output=True, text=True, timeout=300)
            if build.returncode != 0:
                return None
            try:
                os.replace(tmp, home)  # whole or not at all; another process may have won the race
            except OSError:
                pass
        return header if (home / "srhw_csim_pch.h.gch").is_file() else None
    except (OSError, subprocess.SubprocessError):
        return None


def run_csim(out: Path, cxx: str | None = None, opt: str = CSIM_OPT, timeout: float = 600.0) -> CsimResult:
    proj = find_project(out).resolve()  # diagnostics name files as passed: own_warnings matches this prefix
    with tempfile.TemporaryDirectory(prefix="srhw-csim-") as tmp:
        exe = Path(tmp) / "csim"
        cmd = cxx_command([proj / s for s in SOURCES], proj, exe, cxx, opt)
        compiler = cmd[0]
        log = proj / "csim_build.log"
        t0 = time.perf_counter()
        try:
            build = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ToolError(Path(compiler).name, f"did not finish building the C-simulation in {timeout:g} s") from None
        t1 = time.perf_counter()
        if build.returncode != 0:
            log.write_text(" ".join(map(str, cmd)) + "\n\n" + build.stderr, encoding="utf-8")
            errors = [line for line in build.stderr.splitlines() if "error" in line][:20]
            raise ToolError(Path(compiler).name, f"failed building the C-simulation (exit {build.returncode})",
                            str(log), "\n".join(errors) or build.stderr[-4000:])
        try:
            runp = subprocess.run([str(exe)], cwd=proj, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ToolError("the C-simulation", f"did not finish in {timeout:g} s") from None
        t2 = time.perf_counter()
    text = runp.stdout + runp.stderr
    passed = runp.returncode == 0 and STREAM_WARNING not in text and "PASS" in text
    return CsimResult(passed, text, t1 - t0, t2 - t1, own_warnings(build.stderr, proj))


def own_warnings(stderr: str, *roots: Path) -> list[str]:
    """Diagnostics whose location is under one of `roots` (srhw's code, not ap_types)."""
    prefixes = tuple(str(r) for r in roots)
    return [line for line in stderr.splitlines() if line.startswith(prefixes) and ": warning:" in line]
