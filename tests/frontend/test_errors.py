"""Bad input: one clear line, exit code 2, nothing written; every offending node listed."""
import subprocess
import sys

import numpy as np
import pytest
from onnx import helper

from tests.conftest import make_model, save

rng = np.random.default_rng(0)


def srhw(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "srhw.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def assert_user_error(res, *needles, out=None):
    assert res.returncode == 2, res.stderr
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("srhw: error:"), res.stderr
    assert "Traceback" not in res.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    if out is not None:
        assert not out.exists()
    return lines[0]


def _conv(name, **attrs):
    return helper.make_node("Conv", ["x", "w"], [name + "_out"], name=name, **attrs)


def test_every_offending_node_is_listed(tmp_path):
    w = rng.normal(size=(4, 1, 3, 3))
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], name="grouped", group=2),
        helper.make_node("Conv", ["a", "w2"], ["b"], name="dilated", dilations=[2, 2]),
        helper.make_node("Conv", ["b", "w2"], ["c"], name="strided", strides=[2, 2]),
        helper.make_node("MaxPool", ["c"], ["d"], name="pool", kernel_shape=[2, 2]),
        helper.make_node("ConvTranspose", ["d", "wt"], ["e"], name="up", strides=[2, 3]),
        helper.make_node("Foo", ["e"], ["y"], name="custom", domain="com.example"),
    ]
    inits = {"w": np.concatenate([w, w]).reshape(8, 1, 3, 3)[:4], "w2": rng.normal(size=(4, 4, 3, 3)),
             "wt": rng.normal(size=(4, 1, 3, 3))}
    path = save(make_model(nodes, inits, [1, 2, "h", "w"], [1, 1, "H", "W"], extra_opsets={"com.example": 1}),
                tmp_path / "bad.onnx")
    out = tmp_path / "out"
    line = assert_user_error(srhw("compile", path, "-o", out), "6 problems", out=out)
    for needle in ["'grouped' (Conv): group=2", "'dilated' (Conv): dilations=[2, 2]", "'strided' (Conv): strides=[2, 2]",
                   "'pool' (MaxPool): op not supported", "'up' (ConvTranspose): strides=[2, 3]",
                   "'custom' (com.example:Foo)", "supported ops", "only group=1 is supported"]:
        assert needle in line, needle
    assert line.count("supported ops") == 1  # two unknown ops: the list of the supported ones once, at the end


def test_nan_weights(tmp_path):
    w = np.ones((1, 1, 3, 3), dtype=np.float32)
    w[0, 0, 1, 1] = np.nan
    path = save(make_model([_conv("c1", pads=[1, 1, 1, 1])], {"w": w}, [1, 1, "h", "w"], [1, 1, "h", "w"]),
                tmp_path / "nan.onnx")
    assert_user_error(srhw("compile", path, "-o", tmp_path / "o"), "'c1' (initializer)", "NaN/Inf", out=tmp_path / "o")


def test_inf_weights(tmp_path):
    w = np.full((1, 1, 3, 3), np.inf, dtype=np.float32)
    path = save(make_model([_conv("c1")], {"w": w}, [1, 1, "h", "w"], [1, 1, "h", "w"]), tmp_path / "inf.onnx")
    assert_user_error(srhw("compile", path, "-o", tmp_path / "o"), "NaN/Inf")


def test_wrong_rank(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    path = save(make_model(nodes, {}, [1, "h", "w"], [1, "h", "w"]), tmp_path / "rank3.onnx")
    assert_user_error(srhw("compile", path, "-o", tmp_path / "o"), "rank 3", "supported: rank 4")


def test_old_opset(tmp_path):
    w = rng.normal(size=(1, 1, 3, 3))
    path = save(make_model([_conv("c")], {"w": w}, [1, 1, "h", "w"], [1, 1, "h", "w"], opset=9), tmp_path / "o9.onnx")
    assert_user_error(srhw("compile", path, "-o", tmp_path / "o"), "opset 9", "11..20")


def test_not_onnx_and_truncated(tmp_path, exported):
    junk = tmp_path / "junk.onnx"
    junk.write_text("this is not a model")
    assert_user_error(srhw("compile", junk, "-o", tmp_path / "o"), "not a readable ONNX model", out=tmp_path / "o")
    good = exported("fsrcnn_x2", "torchscript").read_bytes()
    trunc = tmp_path / "trunc.onnx"
    trunc.write_bytes(good[: len(good) // 2])
    assert_user_error(srhw("compile", trunc, "-o", tmp_path / "o"), "trunc.onnx", out=tmp_path / "o")


def test_tensor_product_has_no_fixed_point_form(tmp_path):
    nodes = [helper.make_node("Mul", ["x", "x"], ["y"], name="square")]
    path = save(make_model(nodes, {}, [1, 1, "h", "w"], [1, 1, "h", "w"]), tmp_path / "sq.onnx")
    assert_user_error(srhw("compile", path, "-o", tmp_path / "o"), "'square' (Mul)", "supported")


@pytest.mark.parametrize("flag,value,needle", [("--bits", 1, "4..16"), ("--bits", 40, "4..16"),
                                               ("--wbits", 3, "4..16"), ("--abits", 17, "4..16"),
                                               ("--bits", "eight", "integer"),
                                               ("--weight-rounding", "stochastic", "nearest, gptq, gptq-sparse")])
def test_bad_bits(tmp_path, exported, flag, value, needle):
    out = tmp_path / "o"
    res = srhw("compile", exported("fsrcnn_x2", "torchscript"), "-o", out, flag, value)
    assert res.returncode == 2 and needle in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_missing_calibration_dir(tmp_path, exported):
    out = tmp_path / "o"
    assert_user_error(srhw("compile", exported("fsrcnn_x2", "torchscript"), "-o", out, "--calib", tmp_path / "nope"),
                      "calibration directory", "does not exist", out=out)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_user_error(srhw("compile", exported("fsrcnn_x2", "torchscript"), "-o", out, "--calib", empty),
                      "holds no images", out=out)


def test_hostile_node_names_stay_on_one_line(tmp_path):
    name = 'evil"*/\n#include <x>\n$(rm -rf)'
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], name=name, kernel_shape=[2, 2])]
    path = save(make_model(nodes, {}, [1, 1, "h", "w"], [1, 1, "h", "w"]), tmp_path / "evil.onnx")
    line = assert_user_error(srhw("compile", path, "-o", tmp_path / "o"), "MaxPool")
    assert "\\n#include" in line


def test_cast_of_image_data_to_int_is_refused(tmp_path):
    from onnx import TensorProto

    nodes = [helper.make_node("Cast", ["x"], ["c"], to=TensorProto.INT64, name="to_int"),
             helper.make_node("Cast", ["c"], ["y"], to=TensorProto.FLOAT, name="back")]
    path = save(make_model(nodes, {}, [1, 1, "h", "w"], [1, 1, "h", "w"]), tmp_path / "cast.onnx")
    assert_user_error(srhw("compile", path, "-o", tmp_path / "o"), "'to_int' (Cast)", "integer type")


def test_calibration_frames_smaller_than_the_network(tmp_path, exported):
    from PIL import Image

    d = tmp_path / "tiny"
    d.mkdir()
    Image.fromarray(np.full((6, 6), 100, np.uint8)).save(d / "tiny.png")
    out = tmp_path / "o"
    assert_user_error(srhw("compile", exported("srcnn", "torchscript"), "-o", out, "--calib", d),
                      "too small", out=out)


def test_golden_on_a_too_small_frame_raises_a_clear_error(exported):
    import srhw
    from srhw.errors import FrameTooSmallError

    r = srhw.compile(exported("srcnn", "torchscript"), progress=False)
    with pytest.raises(FrameTooSmallError):
        srhw.run_golden(r.qgraph, np.zeros((10, 30), np.uint8))


def test_a_model_quantized_already_is_named_as_such(tmp_path, exported):
    """A QDQ model as onnxruntime's quantize_static writes it compiles with both backends
    (tests/quant/test_from_grids.py); a QONNX model with a conv left in float names that conv; a
    QONNX op srhw does not read (BipolarQuant) is one problem that says the model is quantized and
    asks for a form srhw reads, not a list of the consequences."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Frames(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": rng.random((1, 1, 16, 20), dtype=np.float32)} for _ in range(2)])

        def get_next(self):
            return next(self.it, None)

    qdq = tmp_path / "qdq.onnx"
    quantize_static(str(exported("espcn_x3", "torchscript")), str(qdq), Frames(), quant_format=QuantFormat.QDQ,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    done = srhw("compile", qdq, "-o", tmp_path / "o", "--rtl", "--in-size", "64x48")
    assert done.returncode == 0, done.stderr
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b"], ["q"], name="quant_in", domain="qonnx.custom_op.general",
                              signed=0, narrow=0, rounding_mode="ROUND"),
             helper.make_node("Conv", ["q", "w", "bias"], ["y"], name="c", pads=[1, 1, 1, 1])]
    inits = {"s": np.float32(1 / 256), "z": np.float32(0), "b": np.float32(8), "w": rng.normal(size=(1, 1, 3, 3)),
             "bias": np.zeros(1)}
    m = make_model(nodes, inits, [1, 1, 8, 8], [1, 1, 8, 8], extra_opsets={"qonnx.custom_op.general": 1})
    assert_user_error(srhw("compile", save(m, tmp_path / "qonnx.onnx"), "-o", tmp_path / "o2"),
                      "node 'c' (Conv): its output is not rounded to a grid", out=tmp_path / "o2")
    nodes[0] = helper.make_node("BipolarQuant", ["x", "s"], ["q"], name="bipolar_in", domain="qonnx.custom_op.general")
    m = make_model(nodes, inits, [1, 1, 8, 8], [1, 1, 8, 8], extra_opsets={"qonnx.custom_op.general": 1})
    assert_user_error(srhw("compile", save(m, tmp_path / "bipolar.onnx"), "-o", tmp_path / "o3"),
                      "node 'bipolar_in' (BipolarQuant): the model is quantized already (1 QONNX quantizer: "
                      "'bipolar_in')", "QONNX Quant nodes", out=tmp_path / "o3")
