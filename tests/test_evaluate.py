"""`srhw eval` and `srhw sweep` end to end on two small images (no datasets needed): PSNR/SSIM
of bicubic, float and fixed point, against the same figures computed here."""
import json

import numpy as np
import pytest
from PIL import Image

from srhw.evaluate import bicubic_up, lr_of
from tests.conftest import cli


def test_eval_two_images(two_images, tmp_path):
    out = tmp_path / "r.json"
    res = cli("eval", "fsrcnn_s_x2", "--data", two_images, "--bits", "6,8", "--json", out)
    assert res.returncode == 0, res.stderr
    assert "W8A8" in res.stdout and "W6A6" in res.stdout and "bicubic" in res.stdout
    r = json.loads(out.read_text())
    assert r["images"] == 2 and r["scale"] == 2
    cam = next(x for x in r["per_image"] if x["image"] == "camera")
    hr = np.asarray(Image.open(two_images / "camera.png"))
    # bicubic figures recomputed with scikit-image's metrics on the shaved images (the usual SR settings)
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    up = bicubic_up(lr_of(hr, 2), 2)[2:-2, 2:-2].astype(float)
    ref = hr[2:-2, 2:-2].astype(float)
    assert cam["bicubic"]["psnr"] == pytest.approx(peak_signal_noise_ratio(ref, up, data_range=255))
    assert cam["bicubic"]["ssim"] == pytest.approx(structural_similarity(
        ref, up, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False))
    assert 0 < cam["W8A8"]["ssim"] <= 1
    assert r["mean"]["float"]["psnr"] > r["mean"]["bicubic"]["psnr"]  # the model does better than bicubic
    assert r["mean"]["W8A8"]["psnr"] > r["mean"]["W6A6"]["psnr"]


def test_sweep_two_widths(two_images, tmp_path):
    plot, js = tmp_path / "s.png", tmp_path / "s.json"
    res = cli("sweep", "fsrcnn_s_x2", "--data", two_images, "--bits", "6:7", "--plot", plot, "--json", js)
    assert res.returncode == 0, res.stderr
    s = json.loads(js.read_text())
    assert [b["bits"] for b in s["bits"]] == [6, 7]
    assert s["bits"][1]["psnr"] > s["bits"][0]["psnr"]
    assert Image.open(plot).format == "PNG"


def test_eval_of_a_compiled_design(two_images, tmp_path):
    """srhw eval on a compiled directory measures its design: the same figures as the model's
    W8A8 column, without a float column (a compiled directory holds no float model)."""
    out = tmp_path / "design"
    assert cli("compile", "fsrcnn_s_x2", "--no-hls", "-o", out).returncode == 0
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli("eval", out, "--data", two_images, "--json", a).returncode == 0
    assert cli("eval", "fsrcnn_s_x2", "--data", two_images, "--json", b).returncode == 0
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert set(da["mean"]) == {"bicubic", "W8A8"} and da["mean"]["W8A8"] == db["mean"]["W8A8"]
    res = cli("eval", out, "--data", two_images, "--bits", "6")
    assert res.returncode == 2 and "compiled with --bits 8" in res.stderr


def test_eval_takes_its_designs_from_the_quantization_cache(two_images, monkeypatch):
    """`srhw eval` quantizes a model once per width: the next evaluation (or `srhw upscale`, or
    `srhw compile`) reads the quantization cache, with the same figures; use_cache=False
    (`--no-cache`) quantizes again."""
    from srhw import compiler
    from srhw.evaluate import evaluate

    first = evaluate("fsrcnn_s_x2", two_images, bits_list=[8])  # quantized now, or cached by an earlier test

    def no_quantization(*a, **k):
        raise AssertionError("quantized again")

    monkeypatch.setattr(compiler, "quantize", no_quantization)
    assert evaluate("fsrcnn_s_x2", two_images, bits_list=[8])["mean"] == first["mean"]
    with pytest.raises(AssertionError, match="quantized again"):
        evaluate("fsrcnn_s_x2", two_images, bits_list=[8], use_cache=False)
