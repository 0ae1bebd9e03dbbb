"""`srhw upscale` end to end: the golden model on images of any size, the comparison figure,
compiled designs, the quantization cache and folders of images."""

import numpy as np
import pytest
from PIL import Image
from skimage import data

from tests.conftest import cli


def test_upscale_skimage_image_with_comparison(tmp_path):
    src = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()[:61, :83]).save(src)  # RGB, odd size
    out, fig, hr = tmp_path / "sr.png", tmp_path / "cmp.png", tmp_path / "hr.png"
    Image.fromarray(data.coffee()[:122, :166]).save(hr)
    res = cli("upscale", "fsrcnn_s_x2", src, "-o", out, "--compare", fig, "--hr", hr)
    assert res.returncode == 0, res.stderr
    sr = np.asarray(Image.open(out))
    assert sr.shape == (122, 166, 3) and sr.dtype == np.uint8
    assert Image.open(fig).size[0] > 4 * 122  # four panels side by side
    from srhw.upscale import upscale

    info = upscale("fsrcnn_s_x2", src, tmp_path / "sr2.png", compare=tmp_path / "cmp2.png", hr=hr)
    from skimage.metrics import peak_signal_noise_ratio

    from srhw.imaging import load_y

    y_hr, y_sr = load_y(hr)[2:-2, 2:-2], load_y(out)[2:-2, 2:-2]  # scikit-image on the shaved Y: the same PSNR
    assert info["scores"]["fixed W8A8"][0] == pytest.approx(peak_signal_noise_ratio(y_hr, y_sr, data_range=255))
    assert info["scores"]["float"][0] > info["scores"]["bicubic"][0]
    flt = tmp_path / "f.png"
    assert cli("upscale", "fsrcnn_s_x2", src, "-o", flt, "--float").returncode == 0
    d = np.abs(np.asarray(Image.open(flt)).astype(int) - sr.astype(int))
    assert 0 < d.mean() < 3  # float and W8A8 close, not identical


def test_upscale_y_matches_golden(tmp_path):
    """A grayscale image is Y: the output is exactly the golden model's frame."""
    import srhw
    from srhw import golden

    img = data.camera()[:40, :57]
    Image.fromarray(img).save(tmp_path / "g.png")
    assert cli("upscale", "fsrcnn_s_x2", tmp_path / "g.png", "-o", tmp_path / "o.png").returncode == 0
    q = srhw.compile("fsrcnn_s_x2", progress=False, hls=False).qgraph
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "o.png")), golden.run(q, img[None])[0])


def test_upscale_reuses_a_compiled_design_and_the_cache(tmp_path, monkeypatch):
    """A second upscale of the same model takes the quantized design from the cache (no
    quantization), a compiled output directory is used as it is, and all three give the golden
    model's frame."""
    import srhw
    from srhw import compiler, golden
    from srhw.upscale import upscale

    img = data.camera()[:36, :45]
    Image.fromarray(img).save(tmp_path / "g.png")
    monkeypatch.setenv("SRHW_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "compiled"
    assert cli("compile", "fsrcnn_s_x2", "--no-hls", "--no-cache", "-o", out).returncode == 0
    assert not (tmp_path / "cache").exists()  # --no-cache neither reads nor fills the cache
    first = upscale("fsrcnn_s_x2", tmp_path / "g.png", tmp_path / "a.png")
    assert first["design"] == "compiled now" and len(list((tmp_path / "cache").glob("*.json"))) == 1

    def no_quantization(*a, **k):
        raise AssertionError("quantized again")

    monkeypatch.setattr(compiler, "quantize", no_quantization)
    assert upscale("fsrcnn_s_x2", tmp_path / "g.png", tmp_path / "b.png")["design"] == "cache"
    assert upscale(out, tmp_path / "g.png", tmp_path / "c.png")["design"] == "compiled directory"
    expected = golden.run(srhw.load_ir(out), img[None])[0]
    for name in ("a.png", "b.png", "c.png"):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / name)), expected)
    with pytest.raises(AssertionError, match="quantized again"):  # other calibration frames: another key
        upscale("fsrcnn_s_x2", tmp_path / "g.png", tmp_path / "d.png", calib=tmp_path / "compiled" / "..")
    with pytest.raises(AssertionError, match="quantized again"):  # the cache bypassed
        upscale("fsrcnn_s_x2", tmp_path / "g.png", tmp_path / "d.png", use_cache=False)
    res = cli("upscale", out, tmp_path / "g.png", "-o", tmp_path / "e.png", "--float")
    assert res.returncode == 2 and "compiled design" in res.stderr


def test_upscale_a_folder_with_one_design(two_images, tmp_path):
    """A folder (or several images) goes into an output folder, NAME.png each, with one design:
    each file equal to the one-image upscale."""
    res = cli("upscale", "fsrcnn_s_x2", two_images, "-o", tmp_path / "out")
    assert res.returncode == 0 and "2 images" in res.stdout, res.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".srhw-output", "astro.png", "camera.png"]
    assert cli("upscale", "fsrcnn_s_x2", two_images / "camera.png", "-o", tmp_path / "one.png").returncode == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "camera.png")),
                                  np.asarray(Image.open(tmp_path / "one.png")))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("user data")
    res = cli("upscale", "fsrcnn_s_x2", two_images / "camera.png", two_images / "astro.png", "-o", tmp_path / "mine",
              "--force")
    assert res.returncode == 2 and "did not write it" in res.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["keep.txt"]
