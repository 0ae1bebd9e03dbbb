"""The quantization cache (srhw.designs): a second compile of the same model, calibration images
and quantization options takes the quantized graph from it, byte for byte what the first wrote;
anything the quantizer's result depends on makes another key."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

import srhw
from srhw import compiler, designs
from tests.conftest import cli


def _entries(folder):
    return sorted(p.name for p in folder.glob("*.json"))


def test_a_second_compile_takes_the_quantization_from_the_cache(exported, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("SRHW_CACHE_DIR", str(cache))
    model = tmp_path / "m.onnx"
    shutil.copy(exported("fsrcnn_x2", "dynamo"), model)
    first = srhw.compile(model, out=tmp_path / "a", in_size="32x24", progress=False)
    assert not first.from_cache and len(_entries(cache)) == 1

    def no_quantization(*a, **k):
        raise AssertionError("quantized again")

    with monkeypatch.context() as m:
        m.setattr(compiler, "quantize", no_quantization)
        # other hardware: the same quantized graph, from the cache
        second = srhw.compile(model, out=tmp_path / "b", board="u250", in_size="48x32", rtl=True, progress=False)
        assert second.from_cache
        assert (tmp_path / "a/ir.json").read_bytes() == (tmp_path / "b/ir.json").read_bytes()
        assert second.summary["psnr_fixed_vs_float_db"] == first.summary["psnr_fixed_vs_float_db"]
        # whatever the quantizer's result depends on is part of the key
        calib = tmp_path / "calib"
        calib.mkdir()
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)).save(calib / "n.png")
        for change in (dict(bits=6), dict(weight_rounding="nearest"), dict(method="max"), dict(zero_points=False),
                       dict(layer_bits=(("l00_conv", 6, None),)), dict(calib=calib)):
            with pytest.raises(AssertionError, match="quantized again"):
                srhw.compile(model, hls=False, progress=False, **change)
        m.setattr(designs, "_source_digest", lambda: "another srhw")
        with pytest.raises(AssertionError, match="quantized again"):
            srhw.compile(model, hls=False, progress=False)
        m.undo()
        m.setattr(compiler, "quantize", no_quantization)
        shutil.copy(exported("fsrcnn_x2", "torchscript"), model)  # another model at the same path
        with pytest.raises(AssertionError, match="quantized again"):
            srhw.compile(model, hls=False, progress=False)
        # cache=False neither reads the entry nor writes one
        shutil.copy(exported("fsrcnn_x2", "dynamo"), model)
        with pytest.raises(AssertionError, match="quantized again"):
            srhw.compile(model, hls=False, progress=False, cache=False)
    assert len(_entries(cache)) == 1

    # a damaged entry is quantized again and replaced
    (entry,) = cache.glob("*.json")
    entry.write_text('{"version": ')
    again = srhw.compile(model, out=tmp_path / "c", in_size="32x24", progress=False)
    assert not again.from_cache and _entries(cache) == [entry.name]
    assert (tmp_path / "c/ir.json").read_bytes() == (tmp_path / "a/ir.json").read_bytes()
    assert srhw.compile(model, hls=False, progress=False).from_cache


def test_the_cli_takes_no_cache(exported, tmp_path, monkeypatch):
    """`srhw compile --no-cache` quantizes afresh and leaves the cache as it was."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SRHW_CACHE_DIR", str(cache))
    args = ("compile", exported("srcnn", "dynamo"), "--no-hls", "--calib-method", "max", "--weight-rounding", "nearest")
    assert cli(*args, "-o", tmp_path / "a", "--no-cache").returncode == 0
    assert _entries(cache) == []
    assert cli(*args, "-o", tmp_path / "b").returncode == 0
    assert len(_entries(cache)) == 1
    assert (tmp_path / "a/ir.json").read_bytes() == (tmp_path / "b/ir.json").read_bytes()
