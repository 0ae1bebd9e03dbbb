"""Pinned golden outputs of every shipped model. A failure names the model, the width and the
figure that moved; regenerate deliberately with `python -m tests.pins.regen`.

These pins add to the independent checks (onnxruntime, the naive integer reference); they never
replace them. The default suite checks one model per family and scale at both widths; `pytest -m
slow` checks them all."""
import json

import pytest

from tests.conftest import EVERY_FAMILY_AND_SCALE
from tests.pins.regen import BITS, PINS, compute, shipped_models

PINNED = json.loads(PINS.read_text())


def test_every_shipped_model_is_pinned():
    assert sorted(PINNED) == shipped_models()


@pytest.mark.parametrize("model", [m if m in EVERY_FAMILY_AND_SCALE else pytest.param(m, marks=pytest.mark.slow)
                                   for m in shipped_models()])
@pytest.mark.parametrize("bits", BITS)
def test_golden_output_is_pinned(model, bits):
    pin = PINNED[model][f"W{bits}A{bits}"]
    now = compute(model, bits)
    assert now["psnr_vs_float_db"] == pytest.approx(pin["psnr_vs_float_db"], abs=0.005), (
        f"{model} W{bits}A{bits}: PSNR vs float moved {pin['psnr_vs_float_db']} -> {now['psnr_vs_float_db']} dB")
    assert now["calibration"] == pin["calibration"], f"{model} W{bits}A{bits}: calibration choice changed"
    assert now["max_accumulator_width"] == pin["max_accumulator_width"]
    assert now["sha256"] == pin["sha256"], (
        f"{model} W{bits}A{bits}: golden output changed (PSNR vs float {pin['psnr_vs_float_db']} -> "
        f"{now['psnr_vs_float_db']} dB); if intended, run python -m tests.pins.regen")
