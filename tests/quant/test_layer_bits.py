"""Per-layer widths (srhw.quant.quantize.layer_widths, `srhw compile --layer-bits`): a layer's own
weight and activation widths reach its codes and the layers that read them, the layers before
it are quantized as in the uniform graph, and a name or width that cannot be honoured is refused
before anything is written. C-simulation and RTL simulation of mixed widths: tests/hls/test_csim.py
and tests/rtl/test_sim.py."""
import subprocess
import sys

import numpy as np
import pytest

from srhw import golden
from srhw.options import CompileOptions, OptionError
from srhw.qir import from_json, to_json
from srhw.quant import calibrate, quantize
from tests.conftest import compile_float, pixels

MIXED = (("/b1/Conv", 4, 4), ("l02_conv", 6, 12), ("l03_add", None, 10))


@pytest.fixture(scope="module")
def residual(exported):
    """ResidualSR (tests/conftest.py): l00_conv (/head/Conv, PReLU) -> l01_conv (/b1/Conv, ReLU) -> l02_conv, l03_add of
    l00's and l02's outputs (ReLU), the sub-pixel l04_conv writing the pixels, l05_depthtospace."""
    graph = compile_float(exported("residual_rgb", "torchscript"))
    return graph, calibrate(graph, [pixels(3, 24, 31, seed=s) for s in range(2)])


def test_a_layers_own_widths_reach_its_codes_and_its_readers(residual):
    graph, stats = residual
    uniform = {l.name: l for l in quantize(graph, stats, 8, 8, "max").layers}
    q = quantize(graph, stats, 8, 8, "max", layer_bits=MIXED)
    mixed = {l.name: l for l in q.layers}
    assert np.array_equal(mixed["l00_conv"].weight, uniform["l00_conv"].weight)  # before the first own width
    assert mixed["l00_conv"].out_fmt == uniform["l00_conv"].out_fmt
    w4 = mixed["l01_conv"].weight  # W4A4, named by its ONNX node: codes in [-8, 7], unsigned 4-bit ReLU output
    assert w4.min() >= -8 and w4.max() <= 7 and w4.max() - w4.min() > 8 and mixed["l01_conv"].w_width == 4
    assert (mixed["l01_conv"].out_fmt.width, mixed["l01_conv"].out_fmt.signed) == (4, False)
    assert mixed["l02_conv"].w_width == 6 and np.abs(mixed["l02_conv"].weight).max() <= 32
    assert mixed["l02_conv"].out_fmt.width == 12
    # the Add aligns an 8-bit and a 12-bit input and writes 10 bits; its certificate covers the 12-bit one
    assert mixed["l03_add"].out_fmt.width == 10
    assert mixed["l03_add"].cert.acc_bound > uniform["l03_add"].cert.acc_bound
    assert mixed["l04_conv"].out_fmt.width == 8 and mixed["l04_conv"].w_width == 8
    assert q.meta.layer_bits == (("l01_conv", 4, 4), ("l02_conv", 6, 12), ("l03_add", 8, 10))
    assert q.meta.widths == "W8A8; l01_conv W4A4, l02_conv W6A12, l03_add W8A10"
    assert from_json(to_json(q)).meta == q.meta
    # the fast golden engines compute the int64 reference's codes on every value
    frame = pixels(3, 17, 13, seed=9)
    fast, ref = golden.run(q, frame, keep_all=True), golden.reference.run(q, frame, keep_all=True)
    assert all(np.array_equal(fast[k], ref[k]) for k in ref)
    assert ref[q.layers[1].output].max() <= 15  # 4-bit codes on a frame the calibration never saw


def test_widths_equal_to_the_defaults_are_the_uniform_graph(residual):
    graph, stats = residual
    q = quantize(graph, stats, 6, 8, "max", layer_bits=(("l01_conv", 6, 8), ("l03_add", None, 8)))
    u = quantize(graph, stats, 6, 8, "max")
    assert q.meta.layer_bits is None and q.meta.widths == "W6A8"
    assert to_json(q) == to_json(u)


@pytest.mark.parametrize("layer_bits,needles", [
    ((("nope", 4, None),), ["'nope', which is no layer of this model", "l00_conv (/head/Conv)", "l03_add"]),
    ((("l05_depthtospace", None, 6),), ["DepthToSpace", "passes its input's codes on"]),
    ((("l04_conv", None, 6),), ["writes the output pixels", "8-bit"]),
    ((("l03_add", 4, None),), ["(Add) has no weights"]),
    ((("l01_conv", 4, None), ("/b1/Conv", None, 6)), ["'/b1/Conv' twice"]),
])
def test_widths_that_cannot_be_honoured_are_refused(residual, layer_bits, needles):
    graph, stats = residual
    with pytest.raises(OptionError) as e:
        quantize(graph, stats, 8, 8, "max", layer_bits=layer_bits)
    assert e.value.options == ("layer_bits",) and all(n in str(e.value) for n in needles), str(e.value)


@pytest.mark.parametrize("layer_bits", [(("l01_conv", 3, None),), (("l01_conv", None, None),), (("", 8, 8),),
                                        [("l01_conv", 4, 4)], (("l01_conv", 4),)])
def test_malformed_layer_bits_are_refused_before_any_work(layer_bits):
    with pytest.raises(OptionError, match="layer_bits"):
        CompileOptions(layer_bits=layer_bits)


def test_cli_layer_bits(exported, tmp_path):
    model = exported("residual_rgb", "torchscript")

    def srhw(*args):
        return subprocess.run([sys.executable, "-m", "srhw.cli", "compile", str(model), "--no-hls", *args],
                              capture_output=True, text=True)

    ok = srhw("-o", tmp_path / "ok", "--layer-bits", "l01_conv=W4A4", "--layer-bits", "/b2/Conv=A12")
    assert ok.returncode == 0, ok.stderr
    assert "W8A8; l01_conv W4A4, l02_conv W8A12" in ok.stdout
    assert "| weights / activations | W8A8; l01_conv W4A4, l02_conv W8A12 " in (tmp_path / "ok/report.md").read_text()
    for args, needle in ((["--layer-bits", "nope=W4"], "--layer-bits names 'nope', which is no layer"),
                         (["--layer-bits", "l01_conv=X4"], "LAYER=W<bits>A<bits>"),
                         (["--layer-bits", "l01_conv=W2"], "4..16"),
                         (["--psnr-budget", "-1"], "--psnr-budget must be positive"),
                         (["--psnr-budget", "0.1", "--layer-bits", "l01_conv=W4"], "not both")):
        res = srhw("-o", tmp_path / "bad", *args)
        assert res.returncode == 2 and needle in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert not (tmp_path / "bad").exists()
