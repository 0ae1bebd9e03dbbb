"""RTL simulation of the generated Verilog (cocotb + Verilator), bit-exact against the golden
model: odd and non-square frames, three frames back to back, random TREADY stalls and TVALID
gaps, a reset in the middle of a frame, folded and full-rate configurations."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import srhw
from srhw import golden
from srhw.sim import run_sim

HERE = Path(__file__).resolve().parent


def _compile(model, out: Path, in_size: str = "64x64", **kw) -> Path:
    srhw.compile(str(model), out=out, rtl=True, hls=False, in_size=in_size, progress=False, **kw)
    return out


# A lighter harness for the tests whose subject is a model rather than the harness: four frames
# (odd, non-square, back to back, with and without stalls) and the reset in mid-frame, without
# the malformed-frame test, whose framing logic (srhw_top's, the same for every model) the other
# tests run. The malformed frames (one as wide as the line buffers) are half of a deeply folded
# design's cycles.
MODEL_SESSIONS = [{"size": [9, 11], "patterns": ["noise", "checker"]},
                  {"size": [7, 5], "patterns": ["noise", "white"], "ready_stalls": 0.35, "valid_gaps": 0.3, "seed": 5}]


def _run_model(out: Path) -> dict:
    r = run_sim(out, sessions=MODEL_SESSIONS, malformed_size=None)
    _check(r, frames=4, malformed=False)
    assert r.get("malformed_frames") is None
    return r


def _check(r: dict, frames: int = 6, malformed: bool = True) -> None:
    assert r["tests"] == 3 and r["failed"] == 0, Path(r["log"]).read_text()[-4000:]
    sessions = r["sessions"]
    assert sum(s["frames"] for s in sessions) == frames
    assert any(s["ready_stalls"] >= 0.3 and s["valid_gaps"] >= 0.3 for s in sessions)
    assert r["reset_mid_frame"]["ok"]
    if malformed:  # 7 malformed frames, then a good one, exact; the status registers as srhw.framing says
        assert r["malformed_frames"]["ok"] and r["malformed_frames"]["frames"] == 8
    # srhw's own RTL: the Verilator cycle count agrees with the dataflow model (same depths, folds)
    for s in sessions:
        if "measured_over_model" in s:
            assert abs(s["measured_over_model"] - 1) <= 0.02, s


@pytest.mark.parametrize("name,fold,harness", [pytest.param("fsrcnn_s_x2", 1, "full", marks=pytest.mark.slow),
                                               ("fsrcnn_s_x2", None, "model"),
                                               # ESPCN at full width: the TensorFlow ESPCN below
                                               pytest.param("espcn_x2", None, "model", marks=pytest.mark.slow)])
def test_shipped_models_bit_exact(tmp_path, name, fold, harness):
    """fold 1: full rate (every conv computes all outputs each cycle; with -m slow, and on a small
    model below); None: the plan for a 32x24 input at 60 fps, which folds every conv down to one
    output per cycle."""
    out = _compile(name, tmp_path / "out", in_size="32x24", fold_groups=fold)
    folds = [st["groups"] for st in json.loads((out / "rtl/srhw_rtl.json").read_text())["stages"]]
    assert (max(folds) == 1) if fold == 1 else (min(folds) > 1)
    stages = (out / "rtl/srhw_stages.v").read_text()
    assert (".ZERO(" in stages and ".PAD(" in stages) == name.startswith("fsrcnn")  # zero points: PReLU tensors only
    if harness == "model":
        _run_model(out)
        return
    r = run_sim(out)
    _check(r)
    if fold == 1:  # full rate: the output interface (one beat per cycle) is the bottleneck
        steady = [s["efficiency"] for s in r["sessions"] if s["ready_stalls"] == 0]
        assert steady[0] > 0.5


# --layer-bits: 4-bit weights and codes, a 4 x 4-bit product (8 bits wide: LUTs in synthesis)
# writing a 12-bit tensor that a conv with 5-bit weights reads
MIXED_WIDTHS = (("l00_conv", 4, 4), ("l01_conv", 4, 12), ("l02_conv", 5, 6))


@pytest.mark.parametrize("name,fold", [("fsrcnn_x2_odd", {"fold_groups": 1, "layer_bits": MIXED_WIDTHS}),
                                       ("espcn_x2_rgb", {"fold_groups": 2}),
                                       ("fsrcnn_x3", {"fold_groups": 2}), ("fsrcnn_x2", {"fold_period": (3, 7)}),
                                       ("fsrcnn_x2_odd", {"fold_chunks": (3, 7)}),
                                       pytest.param("fsrcnn_x2", {"fold_chunks": (1, 7)}, marks=pytest.mark.slow)])
def test_small_variants_bit_exact(exported, tmp_path, name, fold):
    """A cropped output (2H-1: one pixel per beat) at full rate (every conv all its outputs each
    cycle, its weights constants) with layers of their own widths (4 to 12 bits), RGB in and out, x3; the scheduled fold
    (P positions in T cycles, srhw_conv_sched.v) on every conv, with PReLU (with tanh: the
    banked ESPCN x3 below); input chunks (each group's taps over 7 cycles, 3 groups) on a
    cropped output. The cycles Verilator counts agree with the dataflow model's (_check)."""
    out = _compile(exported(name, "dynamo"), tmp_path / "out", **fold)
    kinds = {st["kind"] for st in json.loads((out / "rtl/srhw_rtl.json").read_text())["stages"]}
    assert kinds == ({"sched"} if "fold_period" in fold else {"conv"})
    if "fold_chunks" in fold:
        assert ".CHUNKS(7)" in (out / "rtl/srhw_stages.v").read_text()
    if name in ("espcn_x2_rgb", "fsrcnn_x3") or "fold_chunks" in fold:  # the model's frames (21 cycles a pixel)
        _run_model(out)
    else:
        _check(run_sim(out))


@pytest.mark.parametrize("model,fold", [("tables", {"fold_period": (3, 7)}), ("fsrcnn", {"fold_groups": 2}),
                                        ("qonnx", {"fold_groups": 1}),
                                        pytest.param("tables", {"fold_chunks": (2, 5)}, marks=pytest.mark.slow)])
def test_models_quantized_already_bit_exact(tmp_path, model, fold):
    """QDQ models from quantize_static (tests/quant/test_from_grids.py checks their golden model
    against onnxruntime): code tables as srhw_table stages, QLinearConv's requantizer (integer
    multiplier, half-to-even shift) in the conv epilogues, scheduled and output-group folds (a
    tiny FSRCNN: its ConvTranspose's phases, PReLU by table); a QONNX model of 4-bit weights and
    activations at full rate (tests/quant/test_qonnx.py checks it against qonnx)."""
    from tests.quant.test_from_grids import qdq, qdq_fsrcnn
    from tests.quant.test_qonnx import qonnx_model

    path = {"tables": qdq, "fsrcnn": qdq_fsrcnn, "qonnx": qonnx_model}[model](tmp_path)
    out = _compile(path, tmp_path / "out", in_size="32x24", cache=False, **fold)
    cfg = json.loads((out / "rtl/srhw_rtl.json").read_text())
    assert "table" in {st["kind"] for st in cfg["stages"]}
    stages = (out / "rtl/srhw_stages.v").read_text()
    assert ".HALF_EVEN(1)" in stages and (".HAS_MULT(1)" in stages) == (model != "qonnx")
    _run_model(out)


def test_lanes_in_several_banks_bit_exact(exported, tmp_path, monkeypatch):
    """A scheduled layer's lanes split into banks of whole outputs (srhw_lanes.v, one module per
    bank, which `srhw synth` takes apart) compute what one module does: ESPCN x3 (tanh), P=2 in T=5
    on every conv, at most 24 lanes a bank."""
    from srhw.backends import rtl as rtl_backend

    monkeypatch.setattr(rtl_backend, "LANES_PER_BANK", 24)
    out = _compile(exported("espcn_x3", "dynamo"), tmp_path / "out", fold_period=(2, 5))
    cfg = json.loads((out / "rtl/srhw_rtl.json").read_text())
    assert {st["kind"] for st in cfg["stages"]} == {"sched"}
    banks = re.findall(r"^module (srhw_lanes_\w+) ", (out / "rtl/srhw_lanes.v").read_text(), re.MULTILINE)
    assert len(banks) > 2 * len(cfg["stages"]), banks
    assert sorted(banks) == sorted(b for bs in cfg["banks"].values() for b in bs)
    _run_model(out)


@pytest.mark.parametrize("name,fold,forks", [
    ("edsr_x2", {}, {"s_l01_conv": 2, "s_l04_add": 1}),
    pytest.param("residual_rgb", {"fold_period": (2, 5)}, {"s_l00_conv": 1}, marks=pytest.mark.slow),
    pytest.param("edsr_x3", {"fold_period": (2, 5)}, {"s_l01_conv": 2, "s_l04_add": 1}, marks=pytest.mark.slow)])
def test_residual_networks_bit_exact(exported, tmp_path, name, fold, forks):
    """Skip connections in the RTL: Add stages (srhw_add.v) and a chain of two-way forks for a value
    read by several layers (srhw_fork.v; TinyEDSR's head output has three readers: the first
    block, its Add and the global skip), every stream's FIFO as deep as the dataflow model says,
    the long skip deeper than the branch beside it. EDSR: mean shift (an Affine), residual
    blocks, sub-pixel tail; the scheduled fold (P = 2 in T = 5) with -m slow."""
    out = _compile(exported(name, "dynamo"), tmp_path / "out", **fold)
    cfg = json.loads((out / "rtl/srhw_rtl.json").read_text())
    assert "add" in {st["kind"] for st in cfg["stages"]}
    top = (out / "rtl/srhw_top.v").read_text()
    assert len(re.findall(r"srhw_fork #\(", top)) == sum(forks.values())
    fifos = re.findall(r"(srhw_fifo\w*) #\(\.W\(\d+\), \.DEPTH\((\d+)\)\) u_(\w+)_fifo", top)
    depths = {name: int(d) for _, d, name in fifos}
    assert all((m == "srhw_fifo_bram") == (int(d) > 64) for m, d, _ in fifos)  # deep ones in block RAM
    assert any(m == "srhw_fifo_bram" for m, _, _ in fifos)
    assert depths == {k: v for k, v in cfg["fifo_depths"].items() if not k.endswith("_sums")}
    for value, n in forks.items():  # the skip (the last reader) waits for the whole block: the deepest branch
        branches = [depths[f"{value}_r{k}"] for k in range(n + 1)]
        assert branches[-1] == max(branches) > branches[0], branches
    _run_model(out)


@pytest.mark.parametrize("name", ["lapsrn_x2", pytest.param("lapsrn_x4", marks=pytest.mark.slow)])
def test_pyramid_levels_bit_exact(exported, tmp_path, name):
    """LapSRN's level: an Add joins a feature branch of several convs and an image branch of one
    (the ConvTranspose in sub-pixel form). The image branch runs rows ahead, and those rows wait
    in its conv's output into the Add, so that FIFO is rows deep (sized at the fork alone, the
    conv fills its output and stops reading, the fork stops and the feature branch starves: a
    deadlock, which C-sim's unbounded streams cannot show)."""
    out = _compile(exported(name, "dynamo"), tmp_path / "out")
    cfg = json.loads((out / "rtl/srhw_rtl.json").read_text())
    q = srhw.load_ir(out)
    for add in [l for l in q.layers if type(l).__name__ == "QAdd"]:
        producer = {l.output: l for l in q.layers}
        into = [cfg["fifo_depths"][f"s_{producer[v].name}"] for v in add.inputs]
        assert max(into) >= 64, into   # at least a row of the 64-wide frame
    _run_model(out)


def test_a_wrong_weight_is_caught(exported, tmp_path):
    out = _compile(exported("fsrcnn_x2", "dynamo"), tmp_path / "out", fold_groups=4)
    roms = out / "rtl/srhw_roms.v"
    text = roms.read_text()
    m = re.search(r"(w\[0 \+: \d+\] <= \d+'h)([0-9a-f])", text)
    flipped = m.group(1) + ("1" if m.group(2) != "1" else "2")
    roms.write_text(text[: m.start()] + flipped + text[m.end():])
    r = run_sim(out, sessions=[{"size": [9, 11], "patterns": ["noise"]}], reset_size=None, malformed_size=None)
    assert r["failed"] == 1
    assert "codes differ" in Path(r["log"]).read_text()


def test_vitis_port_names_on_foreign_rtl(tmp_path):
    """The harness drives RTL it did not generate, by Vitis's port names: a hand-written
    nearest-neighbour x2 kernel (tests/rtl/vitis_nn_x2.v) against a model whose golden output is
    nearest-neighbour x2 (checked here independently of the harness)."""
    import onnx
    from onnx import helper

    from tests.conftest import make_model

    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("DepthToSpace", ["c"], ["y"], blocksize=2, mode="CRD")]
    model = make_model(nodes, {"w": np.ones((4, 1, 1, 1), np.float32)}, [1, 1, "h", "w"], [1, 1, "H", "W"])
    onnx.save(model, tmp_path / "nn.onnx")
    out = _compile(tmp_path / "nn.onnx", tmp_path / "out", calib=None)
    q = srhw.load_ir(out / "ir.json")
    lr = np.random.default_rng(1).integers(0, 256, (1, 7, 5), dtype=np.uint8)
    assert np.array_equal(golden.run(q, lr), lr.repeat(2, axis=1).repeat(2, axis=2))
    rtl = tmp_path / "vitis"
    rtl.mkdir()
    shutil.copy(HERE / "vitis_nn_x2.v", rtl)
    # the stand-in implements TUSER sync but not srhw's framing rules or status registers
    r = run_sim(out, rtl_dir=rtl, top="vitis_nn_x2", malformed_size=None)
    _check(r, malformed=False)


def test_fixed_size_kernel(exported, tmp_path):
    """--fixed-size: no width/height registers (the status registers move to 0x10); every
    session runs frames of exactly that size."""
    out = tmp_path / "out"
    srhw.compile(str(exported("espcn_x3", "dynamo")), out=out, rtl=True, hls=False, in_size="15x11",
                 fixed_size=True, fold_groups=3, progress=False)
    top = (out / "rtl/srhw_top.v").read_text()
    assert "16'd15" in top and json.loads((out / "interface.json").read_text())["registers"]["width"] is None
    r = run_sim(out)
    _check(r, frames=5)
    assert {tuple(s["size"]) for s in r["sessions"]} == {(11, 15)} and r["reset_mid_frame"]["size"] == [11, 15]
    assert json.loads((out / "interface.json").read_text())["registers"]["status"] == 0x10


def test_unpadded_srcnn_frames_fit_the_model(exported, tmp_path):
    """SRCNN 9-5-5 without padding takes 16 pixels from each axis: the default RTL sessions, the
    reset frame is sized from that (interface.json's growth and min_in_size; the malformed frames
    the same way, srhw.sim.run_sim), the output is (h - 16) x (w - 16), bit-exact."""
    out = _compile(exported("srcnn_955", "dynamo"), tmp_path / "out", in_size="32x24")
    iface = json.loads((out / "interface.json").read_text())
    assert iface["growth"] == [-16, -16] and iface["min_in_size"] == [17, 17]
    r = run_sim(out, malformed_size=None)
    _check(r, malformed=False)
    assert all(s["size"][0] >= 17 and s["size"][1] >= 17 for s in r["sessions"])
    assert r["reset_mid_frame"]["size"] == [8 + 16, 10 + 16]


TF_ESPCN = HERE.parent / "data" / "tf2onnx"


@pytest.mark.parametrize("name", ["espcn_tf_x2"] + [pytest.param(n, marks=pytest.mark.slow) for n in (
    "espcn_tf_x3", "espcn_tf_x4", "edsr_tf_x2", "edsr_tf_x3", "edsr_tf_x4", "lapsrn_tf_x2")])
def test_tensorflow_models_bit_exact(tmp_path, name):
    """ESPCN as TensorFlow writes it (tf2onnx): tanh and x255 after the DepthToSpace. The x255 is
    a per-channel stage built as its diagonal 1x1 convolution, one multiplier per channel. EDSR
    and LapSRN from Keras with -m slow."""
    out = _compile(TF_ESPCN / f"{name}.onnx", tmp_path / "out")
    cfg = json.loads((out / "rtl/srhw_rtl.json").read_text())
    if name.startswith("espcn"):
        scale = int(name[-1])
        assert [st["name"] for st in cfg["stages"]][-1].endswith("_affine")
        assert cfg["multipliers"][cfg["stages"][-1]["name"]] == scale * scale
    _run_model(out)
