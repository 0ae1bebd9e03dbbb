"""Reading images: every depth and mode a user may bring comes out as the 8-bit picture it
holds, and a file that cannot be read is one clear error (library and CLI)."""
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image
from skimage import data

from srhw.errors import UsageError
from srhw.imaging import load_y, read_image

GREY = data.camera()[100:140, 200:257]  # 57x40, uint8
RGB = data.astronaut()[100:140, 150:207]


def test_16_bit_grey_is_scaled_not_clipped(tmp_path):
    Image.fromarray(GREY.astype(np.uint16) * 257).save(tmp_path / "g16.png")  # 8-bit v is 16-bit 257 v
    img, grey = read_image(tmp_path / "g16.png")
    assert grey and img.dtype == np.uint8
    np.testing.assert_array_equal(img, GREY)


def test_float_tiff_in_unit_range(tmp_path):
    Image.fromarray(GREY.astype(np.float32) / 255).save(tmp_path / "f.tif")
    np.testing.assert_array_equal(read_image(tmp_path / "f.tif")[0], GREY)
    Image.fromarray(GREY.astype(np.float32)).save(tmp_path / "f255.tif")  # float in [0, 255] is kept
    np.testing.assert_array_equal(read_image(tmp_path / "f255.tif")[0], GREY)
    Image.fromarray(GREY.astype(np.float32) * 10).save(tmp_path / "bad.tif")
    with pytest.raises(UsageError, match="outside"):
        read_image(tmp_path / "bad.tif")


def test_palette_and_alpha_images_are_rgb(tmp_path):
    Image.fromarray(RGB).convert("P").save(tmp_path / "p.png")
    expected = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    img, grey = read_image(tmp_path / "p.png")
    assert not grey
    np.testing.assert_array_equal(img, expected)
    Image.fromarray(np.dstack([RGB, np.full(RGB.shape[:2], 7, np.uint8)])).save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png")[0], RGB)
    Image.fromarray(GREY).save(tmp_path / "g.png")
    np.testing.assert_array_equal(load_y(tmp_path / "g.png"), GREY)  # grey is Y


def _claims(w, h):
    """A PNG whose header claims w x h pixels (its data is one row: a decompression bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * (w + 1))) + \
        chunk(b"IEND", b"")


def test_pixel_limit_is_stated_and_can_be_raised(tmp_path, monkeypatch):
    (tmp_path / "bomb.png").write_bytes(_claims(20000, 20000))
    with pytest.raises(UsageError, match="400000000 pixels, over the limit of 100000000.*SRHW_MAX_IMAGE_PIXELS"):
        read_image(tmp_path / "bomb.png")
    Image.fromarray(GREY).save(tmp_path / "g.png")
    monkeypatch.setenv("SRHW_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(UsageError, match="over the limit of 1000"):
        read_image(tmp_path / "g.png")
    monkeypatch.setenv("SRHW_MAX_IMAGE_PIXELS", "3000")
    np.testing.assert_array_equal(read_image(tmp_path / "g.png")[0], GREY)


def test_truncated_and_foreign_files(tmp_path):
    Image.fromarray(RGB).save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:300])
    (tmp_path / "text.png").write_text("not an image")
    for name in ("cut.png", "text.png", "missing.png"):
        with pytest.raises(UsageError, match=f"cannot read image '.*{name}'"):
            read_image(tmp_path / name)


def srhw(*args, cwd):
    return subprocess.run([sys.executable, "-m", "srhw.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


@pytest.mark.parametrize("case", ["upscale truncated", "upscale bomb", "calibration truncated", "eval 1x1 HR",
                                  "eval truncated"])
def test_cli_refuses_unreadable_images(case, tmp_path):
    Image.fromarray(RGB).save(tmp_path / "full.png")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:300])
    (tmp_path / "tiny").mkdir()
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(tmp_path / "tiny" / "dot.png")
    (tmp_path / "bomb.png").write_bytes(_claims(20000, 20000))
    args, needle = {
        "upscale truncated": (["upscale", "fsrcnn_s_x2", "d/cut.png", "-o", "o.png"], "cannot read image"),
        "upscale bomb": (["upscale", "fsrcnn_s_x2", "bomb.png", "-o", "o.png"], "over the limit"),
        "calibration truncated": (["compile", "fsrcnn_s_x2", "--calib", "d", "-o", "out"], "cannot read image"),
        "eval 1x1 HR": (["eval", "fsrcnn_s_x2", "--data", "tiny", "--bits", "8"], "needs at least 15x15"),
        "eval truncated": (["eval", "fsrcnn_s_x2", "--data", "d", "--bits", "8"], "cannot read image"),
    }[case]
    res = srhw(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("srhw: error:") and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and needle in res.stderr, res.stderr
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "out").exists()
