"""C-simulation of the generated Vitis HLS project: real g++ on the generated C++, run against
vectors from the golden model (itself checked against tests/reference_int.py and float).

Every case compiles a model, renders OUT/hls/, builds it with -Wall -Wextra and runs its
testbench on odd, non-square, all-255, checkerboard and noise frames, under full-rate and
folded plans. The testbench compares every pixel and the TUSER/TLAST framing.
"""
import re
from pathlib import Path

import numpy as np
import pytest

import srhw
from srhw.backends.csim import run_csim
from srhw.resources import zoo_dir
from tests.conftest import EVERY_FAMILY_AND_SCALE, pixels


def frames(channels: int, min_side: int = 13) -> list[np.ndarray]:
    h, w = max(23, min_side), max(37, min_side)
    yy, xx = np.mgrid[0:h, 0:w]
    board = np.where((yy // 2 + xx) % 2 == 0, 255, 0).astype(np.uint8)
    return [pixels(channels, h, w, seed=5), np.full((channels, min_side, min_side + 4), 255, dtype=np.uint8),
            np.broadcast_to(board, (channels, h, w)).copy(), np.zeros((channels, min_side + 2, min_side), np.uint8)]


CASES = [
    # (model, exporter, channels, bits, fold: groups of outputs (int), a schedule of P positions
    # in T cycles (tuple), options (dict: input chunks), or None = planned for 1080p60 at 300 MHz)
    ("fsrcnn_x3", "torchscript", 1, 8, (5, 12)),
    ("fsrcnn_x4", "torchscript", 1, 8, 1),
    ("fsrcnn_x2_odd", "dynamo", 1, 8, 2),           # 2H-1 output: crop, one pixel per beat
    ("fsrcnn_x2_odd", "torchscript", 1, 8, (3, 7)),
    ("espcn_x3", "torchscript", 1, 8, None),        # tanh LUTs, final clamp
    ("espcn_x2_rgb", "dynamo", 3, 6, 4),
    ("espcn_x2_rgb", "torchscript", 3, 8, {"fold_chunks": (3, 7)}),  # input chunks: taps over 7 cycles
    ("srcnn", "dynamo", 1, 8, 2),                   # no padding: the image shrinks; scale 1
    ("residual_rgb", "torchscript", 3, 8, 1),       # residual Add through a fork, x3, mixed widths (below)
    ("edsr_x2", "dynamo", 3, 8, None),              # residual blocks, a skip read 3 times, HR tail conv
    ("lapsrn_x2", "torchscript", 1, 8, (2, 5)),     # a pyramid level: ConvTranspose in both branches
    ("shuffle_dcr_rgb", "torchscript", 3, 8, None),  # DCR depth-to-space
    ("fsrcnn_steep", "dynamo", 1, 12, None),        # wide datapath, steep PReLU slopes
]


# layers of their own widths (--layer-bits): W4A4 after the head, then a 4 x 4-bit product (a LUT
# multiplier, bound to fabric) into a 12-bit input of the Add
MIXED_WIDTHS = {("residual_rgb", "torchscript"): (("l01_conv", 4, 4), ("l02_conv", 4, 12), ("l03_add", None, 10))}

# with -m slow: the other exporter of a model and fold kind the default cases cover
SLOW_CASES = [("edsr_x3", "torchscript", 3, 8, (3, 7)), ("edsr_x4", "dynamo", 3, 8, None),
              ("lapsrn_x4", "dynamo", 1, 8, None), ("lapsrn_x8", "dynamo", 1, 8, None),
              ("fsrcnn_x3", "dynamo", 1, 8, 3), ("srcnn", "torchscript", 1, 8, (4, 4)),
              ("residual_rgb", "dynamo", 3, 8, (2, 5))]


@pytest.mark.parametrize("name,exporter,channels,bits,fold",
                         CASES + [pytest.param(*c, marks=pytest.mark.slow) for c in SLOW_CASES],
                         ids=[f"{c[0]}-{c[4]}".replace(" ", "") for c in CASES + SLOW_CASES])
def test_csim_bit_exact(exported, tmp_path, name, exporter, channels, bits, fold):
    min_side = 13 if name == "srcnn" else 8
    out = tmp_path / "out"
    kw = fold if isinstance(fold, dict) else {"fold_period": fold} if isinstance(fold, tuple) else {"fold_groups": fold}
    res = srhw.compile(exported(name, exporter), bits=bits, out=out, progress=False, in_size="64x48", fps=40000,
                       test_frames=frames(channels, min_side), layer_bits=MIXED_WIDTHS.get((name, exporter), ()), **kw)
    if (name, exporter) in MIXED_WIDTHS:
        params = (out / "hls/srhw_params.h").read_text()
        assert "ap_uint<4>" in params and params.count("LUT_MUL = 1") == 1 and res.summary["hls"]["lut_multipliers"] > 0
    if "fold_chunks" in kw:  # each tap one of 7 window slices: the structure check sees 7:1 operand muxes, no wider
        check = res.summary["hls"]["structure_check"]
        assert check["findings"] == [] and max(check["widest_operand_mux"].values()) == 7
        assert "taps/cycle" in (out / "report.md").read_text()
    if name.startswith("fsrcnn"):  # PReLU tensors: zero points in the epilogues, padding with them
        assert res.summary["tensors_with_zero_points"] >= 2
        assert any(l.pad_code is not None and any(l.pads) for l in res.qgraph.layers if hasattr(l, "pads"))
    if name.startswith(("edsr", "residual")):  # a skip's FIFO deeper than 64 is bound to block RAM
        top = (out / "hls" / "srhw_top.cpp").read_text()
        deep = {n for n, d in re.findall(r"STREAM variable=(\w+) depth=(\d+)", top) if int(d) > 64}
        assert deep and deep == set(re.findall(r"BIND_STORAGE variable=(\w+) type=fifo impl=bram", top))
    r = run_csim(out)
    assert r.passed, r.output
    assert r.output.count("0 framing errors") == 4
    assert r.own_warnings == []


@pytest.mark.parametrize("model,fold", [("tables", (3, 7)), ("fsrcnn", 1), ("qonnx", 2)])
def test_csim_of_a_model_quantized_already(tmp_path, model, fold):
    """QDQ models from quantize_static (tests/quant/test_from_grids.py, where the golden model is
    checked against onnxruntime): the code tables as ROM stages, QLinearConv's requantizer as the
    conv epilogue's multiplier and half-to-even shift, in a scheduled and a group-folded plan; a
    QONNX model of 4-bit weights and activations (tests/quant/test_qonnx.py, against qonnx):
    power-of-two scales, so shifts without a multiplier, and 4-bit codes between the convs."""
    from tests.quant.test_from_grids import qdq, qdq_fsrcnn
    from tests.quant.test_qonnx import qonnx_model

    path = {"tables": qdq, "fsrcnn": qdq_fsrcnn, "qonnx": qonnx_model}[model](tmp_path)
    out = tmp_path / "out"
    kw = {"fold_period": fold} if isinstance(fold, tuple) else {"fold_groups": fold}
    srhw.compile(path, out=out, progress=False, in_size="64x48", fps=40000, test_frames=frames(1), cache=False, **kw)
    params = (out / "hls/srhw_params.h").read_text()
    assert "HALF_EVEN = 1" in params and ("HAS_MULT = 1" in params) == (model != "qonnx")
    assert "srhw::table_stage" in (out / "hls/srhw_top.cpp").read_text()
    r = run_csim(out)
    assert r.passed and r.output.count("0 framing errors") == 4, r.output
    assert r.own_warnings == []


@pytest.mark.parametrize("fold", [pytest.param(2, marks=pytest.mark.slow), (3, 7)])
def test_csim_symmetric_codes(exported, tmp_path, fold):
    """--no-zero-points: the symmetric datapath (no zero-point adds, zero padding) stays exact."""
    out = tmp_path / "out"
    kw = {"fold_period": fold} if isinstance(fold, tuple) else {"fold_groups": fold}
    res = srhw.compile(exported("fsrcnn_x2_odd", "dynamo"), out=out, progress=False, in_size="64x48", fps=40000,
                       test_frames=frames(1), zero_points=False, **kw)
    assert res.summary["tensors_with_zero_points"] == 0
    assert "HAS_ZERO = 1" not in (out / "hls" / "srhw_params.h").read_text()
    r = run_csim(out)
    assert r.passed, r.output


SHIPPED = sorted(p.stem for p in zoo_dir().glob("*.onnx"))
# In the default suite: every architecture family and every scale once (EVERY_FAMILY_AND_SCALE;
# SRCNN 9-5-5 at full size in test_csim_full_size_srcnn); the others with `pytest -m slow`.


@pytest.mark.parametrize("name", [n if n in EVERY_FAMILY_AND_SCALE else pytest.param(n, marks=pytest.mark.slow)
                                  for n in SHIPPED])
def test_shipped_models_default_plan_and_vectors(tmp_path, name):
    """Every zoo model planned for 4K60 output at 300 MHz (1080p60 in for x2, 720p60 for x3,
    540p60 for x4) on a U250, where every such plan fits the part but those of EDSR-s and
    LapSRN-s, which fold to fit its 12288 DSPs (on a ZCU102, FSRCNN x2, ESPCN x4 and SRCNN
    9-1-5 fold to fit its 2520 too), default vectors (37x23 noise, 13x17 all-255,
    checkerboard, a real crop)."""
    out = tmp_path / "out"
    r_ = int(name.rsplit("_x", 1)[1])
    res = srhw.compile(name, out=out, progress=False, in_size=f"{3840 // r_}x{2160 // r_}", board="u250")
    r = run_csim(out)
    assert r.passed, r.output
    assert "PASS: 4 of 4 frames bit-exact" in r.output and r.own_warnings == []
    hls = res.summary["hls"]
    fitted = "fitted_to_dsp" in hls
    assert fitted == name.startswith(("edsr", "lapsrn")) and hls["multipliers"] <= hls["dsp_slices"]
    assert hls["projected_fps"] >= (hls["fitted_to_dsp"]["fps"] if fitted else 60)
    assert hls["multipliers"] >= hls["multiplier_bound"]
    # the plan's multiplier target: within 10% of the bound. A plan folded to fit is not held to
    # it: LapSRN-s x4 on the U250 takes 1.355x (64-cycle schedules round each output's lanes up)
    assert hls["multipliers_over_bound"] <= (1.40 if fitted else 1.10)


def test_csim_catches_a_wrong_pixel_and_bad_framing(exported, tmp_path):
    """The check can fail: one flipped expected code is reported with its position."""
    out = tmp_path / "out"
    srhw.compile(exported("fsrcnn_x2", "dynamo"), out=out, progress=False, in_size="64x48", fps=40000,
                 test_frames=[pixels(1, 9, 11, seed=1)])
    vec = out / "hls" / "tb_data" / "frame00.out"
    data = bytearray(vec.read_bytes())
    pos = 12 + 3 * 22 + 5  # row 3, column 5 of the 22-wide HR frame
    data[pos] ^= 0x01
    vec.write_bytes(bytes(data))
    r = run_csim(out)
    assert not r.passed
    assert "mismatch at channel 0, row 3, column 5" in r.output and "1 of 396 pixels differ" in r.output


def test_csim_kernel_weight_granularity(exported, tmp_path):
    """Weights with per-(output, input) formats are wider integers: same kernel, still exact."""
    out = tmp_path / "out"
    r = srhw.compile(exported("fsrcnn_x3", "torchscript"), bits=8, out=out, progress=False, fold_groups=2,
                     in_size="64x48", fps=40000, weight_granularity="kernel", test_frames=frames(1))
    assert max(l.w_width for l in r.qgraph.layers if l.kind == "Conv") > 8
    res = run_csim(out)
    assert res.passed and res.own_warnings == [], res.output


@pytest.mark.parametrize("name", ["srcnn_955_x3", pytest.param("srcnn_915_x2", marks=pytest.mark.slow)])
def test_csim_full_size_srcnn(tmp_path, name):
    """SRCNN 9-5-5 and 9-1-5 (64/32 filters, 'same' padding) as the zoo builds them, untrained
    weights: the x2/x3 kernels are the same scale-1 network fed a bicubic-upscaled frame (9-1-5
    with -m slow: the shipped srcnn_915_x2 is C-simulated in the default suite)."""
    import torch

    from srhw.zoo.export import export_entry
    from srhw.zoo.registry import ZOO

    torch.manual_seed(1)
    entry = ZOO[name]
    state, path = tmp_path / "m.pt", tmp_path / f"{name}.onnx"
    model = entry.build()
    with torch.no_grad():
        model.c3.weight.normal_(0, 0.02)  # a visible output: the zoo init starts the last layer near zero
    torch.save(model.state_dict(), state)
    export_entry(entry, state, path)
    out = tmp_path / "out"
    # one calibration method and nearest rounding: the subject is the C++ at full width, not the fit
    r = srhw.compile(path, out=out, progress=False, in_size="1280x720", test_frames=frames(1), method="percentile",
                     weight_rounding="nearest")
    assert r.qgraph.scale == 1
    res = run_csim(out)
    assert res.passed and res.own_warnings == [], res.output


@pytest.mark.parametrize("name,shrink", [("srcnn", 12), ("srcnn_935", 14), ("srcnn_955", 16)])
def test_unpadded_srcnn_compiles_with_vectors_that_fit(exported, tmp_path, name, shrink):
    """SRCNN 9-1-5, 9-3-5 and 9-5-5 without padding: calibration, the C-simulation vectors and
    the plan all take frames larger by what the network takes away; C-sim bit-exact."""
    out = tmp_path / "out"
    res = srhw.compile(exported(name, "dynamo"), out=out, progress=False, in_size="64x48")
    q = res.qgraph
    assert q.min_input_size() == (shrink + 1, shrink + 1) and q.growth() == (-shrink, -shrink)
    assert q.output_size(shrink, 40) is None and q.output_size(shrink + 1, 40) == (1, 40 - shrink)
    r = run_csim(out)
    assert r.passed and "PASS: 4 of 4 frames bit-exact" in r.output, r.output


TF_ESPCN = Path(__file__).resolve().parents[1] / "data" / "tf2onnx"


TF_MODELS = ["espcn_tf_x2", "espcn_tf_x3", "espcn_tf_x4", "edsr_tf_x2", "edsr_tf_x3", "edsr_tf_x4", "lapsrn_tf_x2",
             "lapsrn_tf_x4", "lapsrn_tf_x8"]


@pytest.mark.parametrize("name", [n if n == "espcn_tf_x3" else pytest.param(n, marks=pytest.mark.slow)
                                  for n in TF_MODELS])
def test_csim_tensorflow(tmp_path, name):
    """ESPCN, EDSR and LapSRN as TensorFlow writes them (tf2onnx, NHWC, tests/data/tf2onnx): for
    ESPCN (tanh and x255 after the DepthToSpace) the x255 is a per-channel stage before the
    upsampling, the tanh the last conv's epilogue. The TF EDSR and LapSRN differ from the PyTorch
    ones C-simulated above only in what the frontend reads (tests/frontend/test_tf2onnx.py):
    with -m slow."""
    out = tmp_path / "out"
    channels = 3 if name.startswith("edsr") else 1
    res = srhw.compile(str(TF_ESPCN / f"{name}.onnx"), out=out, progress=False, in_size="64x48",
                       fps=40000, test_frames=frames(channels), method="percentile", weight_rounding="nearest")
    if name.startswith("espcn"):
        assert [l.kind for l in res.qgraph.layers] == ["Conv", "Conv", "Conv", "Affine", "DepthToSpace"]
    r = run_csim(out)
    assert r.passed, r.output
    assert r.output.count("0 framing errors") == 4
    assert r.own_warnings == []


def test_csim_the_input_read_by_two_layers(tmp_path):
    """y = x + conv(relu(conv(x))) on pixel codes (VDSR's global residual, byte in and out): the
    kernel's input is forked to the first conv and the add, the skip FIFO sized by the model."""
    from onnx import helper

    from tests.conftest import make_model, save

    rng = np.random.default_rng(3)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]), helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["x", "c2"], ["y"])]
    inits = {"w1": rng.normal(0, 0.3, (8, 1, 3, 3)), "b1": rng.normal(0, 0.1, 8), "w2": rng.normal(0, 0.1, (1, 8, 3, 3))}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 1, "h", "w"]), tmp_path / "vdsr.onnx")
    out = tmp_path / "out"
    res = srhw.compile(str(path), out=out, progress=False, in_size="64x48", input_range="byte", output_range="byte",
                       test_frames=frames(1))
    assert res.qgraph.layers[0].inputs[0] == res.qgraph.input == res.qgraph.layers[-1].inputs[0]
    assert "s_in_r0" in (out / "hls/srhw_top.cpp").read_text()
    r = run_csim(out)
    assert r.passed, r.output
