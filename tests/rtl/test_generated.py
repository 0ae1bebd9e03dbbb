"""The generated Verilog: names from the model stay in comments over a safe alphabet, both
Verilator's lint and Icarus accept the result, and generation is deterministic."""
from __future__ import annotations

import subprocess

import pytest

import srhw
from srhw.sim import verilator_bin
from tests.hls.test_project_files import hostile_model


def _sources(out):
    return [str(out / "rtl" / n) for n in (out / "rtl/files.f").read_text().split()]


@pytest.mark.parametrize("fold", [{"fold_period": (3, 7)}, {"fold_groups": 2}], ids=["scheduled", "groups"])
def test_hostile_names_and_both_simulators_accept_it(exported, tmp_path, fold):
    """Lint with -Wall includes BLKSEQ: a blocking assignment in a clocked block (a folded
    layer's ROMs once had them) races every reader on the same edge, and Verilator's order
    then decides the result."""
    path = hostile_model(exported, tmp_path)
    out = tmp_path / "out"
    srhw.compile(path, out=out, progress=False, rtl=True, hls=False, in_size="64x48", **fold)
    for f in (out / "rtl").glob("*.v"):
        text = f.read_text()
        for bad in ('"quote', "*/ int", "#include <evil>", "$(", "{[", "??/", "line\nbreak", "\\"):
            assert bad not in text, (f.name, bad)
    assert "conv_quote" in (out / "rtl/srhw_roms.v").read_text()  # still recognisable, escaped
    lint = subprocess.run([str(verilator_bin() / "verilator"), "--lint-only", "-Wall", "-Wno-WIDTH", "-Wno-UNSIGNED",
                           "-Wno-SYMRSVDWORD", "-Wno-DECLFILENAME", "-Wno-UNUSEDSIGNAL", "-Wno-UNUSEDPARAM",
                           "--top-module", "srhw_top", *_sources(out)], check=False,
                           capture_output=True, text=True)
    assert lint.returncode == 0 and "%Warning" not in lint.stderr, lint.stderr[-3000:]
    ivl = subprocess.run(["iverilog", "-g2005", "-o", str(tmp_path / "a.vvp"), "-s", "srhw_top", *_sources(out)],
                         check=False, capture_output=True, text=True)
    assert ivl.returncode == 0 and not ivl.stderr.strip(), ivl.stderr[-3000:]


def test_generation_is_deterministic(exported, tmp_path):
    trees = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        srhw.compile(exported("espcn_x3", "dynamo"), out=out, progress=False, rtl=True, hls=False, in_size="32x24",
                     cache=k == 0)  # the second quantizes afresh
        trees.append({p.name: p.read_bytes() for p in (out / "rtl").iterdir()})
    assert trees[0] == trees[1]
