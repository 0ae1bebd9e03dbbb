"""srhw.options.CompileOptions: every value checked when the options are made, the error naming
the field in the API's terms (the CLI's flag names are tested in tests/test_cli.py)."""
from dataclasses import replace
from pathlib import Path

import pytest

from srhw.options import CompileOptions, OptionError

BAD = [
    ({"bits": 3}, "bits", "bits must be an integer in 4..16, not 3"),
    ({"bits": 8.0}, "bits", "not 8.0"),
    ({"bits": True}, "bits", "not True"),
    ({"wbits": 17}, "wbits", "wbits must be an integer in 4..16"),
    ({"abits": 0}, "abits", "abits must be"),
    ({"method": "minmax"}, "method", "method must be one of auto, max, percentile, mse, not 'minmax'"),
    ({"weight_rounding": "adaround"}, "weight_rounding", "weight_rounding must be one of nearest, gptq, gptq-sparse"),
    ({"weight_granularity": "tensor"}, "weight_granularity", "must be one of output, kernel"),
    ({"input_range": "0:1"}, "input_range", "input_range must be one of auto, unit, byte"),
    ({"output_range": None}, "output_range", "not None"),
    ({"board": "zcu999"}, "board", "board must be one of zcu102, kv260, u250, vck190"),
    ({"in_size": "1920by1080"}, "in_size", "in_size must be WIDTHxHEIGHT"),
    ({"in_size": "0x10"}, "in_size", "in_size width must be positive"),
    ({"fps": 0}, "fps", "fps must be positive, not 0"),
    ({"fps": float("inf")}, "fps", "fps must be positive, not inf"),
    ({"clock_mhz": -300}, "clock_mhz", "clock_mhz must be positive"),
    ({"in_size": "640x360", "max_width": 100}, "max_width", "max_width 100 is smaller than the in_size width 640"),
    ({"in_size": "64x48", "fixed_size": True, "max_width": 90}, "fixed_size", "drop max_width"),
    ({"fold_groups": 0}, "fold_groups", "fold_groups must be a positive integer"),
    ({"fold_period": (3,)}, "fold_period", "fold_period must be (positions, cycles)"),
    ({"fold_chunks": (2, 0)}, "fold_chunks", "fold_chunks must be (groups, chunks), both positive"),
    ({"fold_groups": 2, "fold_chunks": (2, 3)}, "fold_groups", "fold_groups and fold_chunks each force a fold"),
]


@pytest.mark.parametrize("fields,option,message", BAD, ids=[b[1] + "=" + repr(b[0][b[1]]) for b in BAD])
def test_bad_values_name_their_field(fields, option, message):
    with pytest.raises(OptionError) as info:
        CompileOptions(**fields)
    assert info.value.options[0] == option
    assert message in str(info.value) and "--" not in str(info.value)


def test_hardware_fields_are_not_checked_without_hardware():
    """--no-hls without --rtl builds no hardware: its target fields do not matter."""
    assert CompileOptions(hls=False, board="zcu999").board == "zcu999"
    with pytest.raises(OptionError):
        CompileOptions(hls=False, rtl=True, board="zcu999")


def test_defaults_and_derived_widths():
    o = CompileOptions()
    assert (o.weight_bits, o.activation_bits) == (8, 8)
    o = CompileOptions(bits=6, abits=8)
    assert (o.weight_bits, o.activation_bits) == (6, 8)
    assert o.target().in_w == 1920 and o.target().max_w == 1920


def test_quantization_key_ignores_the_hardware_fields():
    a = CompileOptions(calib=Path("frames"))
    assert a.quantization() == replace(a, rtl=True, fps=30, board="kv260").quantization()
    assert a.quantization() != replace(a, bits=6).quantization()
    assert a.quantization() == CompileOptions(calib="frames").quantization()   # a path or its text


def test_compile_checks_before_any_work(tmp_path):
    """srhw.compile takes the fields as keywords, or an options record they override; a bad value
    stops it before the model is even read."""
    import srhw

    with pytest.raises(OptionError, match="bits must be"):
        srhw.compile(tmp_path / "missing.onnx", bits=2)
    with pytest.raises(OptionError, match="fps must be positive"):
        srhw.compile(tmp_path / "missing.onnx", CompileOptions(), fps=-1)
    with pytest.raises(TypeError, match="bitz"):
        srhw.compile(tmp_path / "missing.onnx", bitz=8)


@pytest.mark.parametrize("scale,size", [(1, (1920, 1080)), (2, (1920, 1080)), (3, (1280, 720)), (4, (960, 540)),
                                        (8, (480, 270)), (5, (768, 432)), (7, (549, 309))])
def test_default_frame_is_the_one_whose_output_is_4k(scale, size):
    """Without in_size the plan is for the LR frame whose output is 3840x2160 (at least that,
    where the scale does not divide it); a model that does not upscale plans for 1920x1080."""
    t = CompileOptions().target(scale)
    assert (t.in_w, t.in_h) == size and t.max_w == size[0]
    if scale > 1:
        assert t.in_w * scale >= 3840 > (t.in_w - 1) * scale and t.in_h * scale >= 2160 > (t.in_h - 1) * scale
    assert CompileOptions(in_size="640x360").target(scale).in_w == 640
    with pytest.raises(OptionError, match=f"max_width 100 is smaller than the in_size width {size[0]} "
                                          rf"\(the default for x{scale}: the frame whose output is 4K UHD"):
        CompileOptions(max_width=100).target(scale)   # checked against the model's frame, once its scale is known
