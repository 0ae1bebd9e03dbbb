"""Models quantized already (QDQ): onnxruntime's quantize_static writes them, srhw compiles what
they mean (srhw.frontend.qdq, srhw.quant.from_grids), and the golden model's codes are checked
against onnxruntime running the QDQ model, layer by layer and on whole frames.

The reference session runs the graph as its operators define it (graph optimizations off:
DequantizeLinear, the float op, QuantizeLinear). onnxruntime's default session fuses
DequantizeLinear -> Conv -> QuantizeLinear into QLinearConv, whose u8 x s8 kernel on AVX2
saturates 16-bit pair sums (onnxruntime's `reduce_range` caveat), so it is not the reference.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest

import srhw
from srhw import golden
from tests.conftest import cli, export, nn, torch

ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")


class _Net(nn.Module):
    """Conv + ReLU, conv + PReLU (a grid between the two), conv + tanh, PixelShuffle: every kind
    of layer from_grids builds."""

    def __init__(self, scale=2, tanh=True):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1),
                                  nn.PReLU(6), nn.Conv2d(6, scale * scale, 3, padding=1),
                                  nn.Tanh() if tanh else nn.Identity(), nn.PixelShuffle(scale))

    def forward(self, x):
        return self.body(x)


class _Frames(quantization.CalibrationDataReader):
    def __init__(self, n=6, hw=(16, 20)):
        rng = np.random.default_rng(1)
        self.it = iter([{"x": _smooth(rng, hw).astype(np.float32)[None, None] / 255.0} for _ in range(n)])

    def get_next(self):
        return next(self.it, None)


def _smooth(rng, hw):
    walk = np.cumsum(rng.integers(-24, 25, hw), axis=1) + rng.integers(60, 200)
    return np.clip(walk, 0, 255).astype(np.uint8)


def qdq_fsrcnn(tmp_path):
    """A tiny FSRCNN (tests/conftest.TinyFSRCNN) through quantize_static."""
    from tests.conftest import TinyFSRCNN

    torch.manual_seed(0)
    f = export(TinyFSRCNN().eval(), tmp_path / "float.onnx", "torchscript")
    path = tmp_path / "qdq.onnx"
    quantization.quantize_static(str(f), str(path), _Frames(), quant_format=quantization.QuantFormat.QDQ,
                                 per_channel=True, activation_type=quantization.QuantType.QUInt8,
                                 weight_type=quantization.QuantType.QInt8)
    return path


def qdq(tmp_path, tanh=True, power_of_two=False, asymmetric_weights=False):
    torch.manual_seed(3)
    net = _Net(tanh=tanh).eval()
    with torch.no_grad():  # a non-trivial PReLU
        net.body[3].weight.copy_(torch.linspace(0.05, 0.4, 6))
    f = export(net, tmp_path / "float.onnx", "torchscript")
    q = tmp_path / "qdq.onnx"
    weights = quantization.QuantType.QUInt8 if asymmetric_weights else quantization.QuantType.QInt8
    quantization.quantize_static(str(f), str(q), _Frames(), quant_format=quantization.QuantFormat.QDQ,
                                 per_channel=True, activation_type=quantization.QuantType.QUInt8,
                                 weight_type=weights, extra_options={"WeightSymmetric": not asymmetric_weights})
    if power_of_two:
        _snap_to_powers_of_two(q)
    return q


def _snap_to_powers_of_two(path):
    """Every scale to the nearest power of two, the int32 biases re-quantized at input x weight scale."""
    from onnx import numpy_helper

    m = onnx.load(str(path))
    inits = {t.name: t for t in m.graph.initializer}

    def arr(name):
        return numpy_helper.to_array(inits[name])

    def put(name, value):
        inits[name].CopyFrom(numpy_helper.from_array(value, name))

    scales = {n.input[1] for n in m.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")}
    biases = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
              and arr(n.input[0]).dtype == np.int32]
    real_bias = {n.input[0]: arr(n.input[0]).astype(np.float64) * arr(n.input[1]) for n in biases}
    for s in scales:
        put(s, np.exp2(np.round(np.log2(arr(s).astype(np.float64)))).astype(np.float32))
    conv_of = {i: n for n in m.graph.node if n.op_type == "Conv" for i in n.input}
    producer = {o: n for n in m.graph.node for o in n.output}
    for n in biases:
        conv = conv_of[n.output[0]]
        s_in = arr(producer[conv.input[0]].input[1])
        s_w = arr(producer[conv.input[1]].input[1])
        put(n.input[1], (s_in * s_w).astype(np.float32))
        put(n.input[0], np.round(real_bias[n.input[0]] / (s_in * s_w)).astype(np.int32))
    onnx.save(m, str(path))


def _to_qcdq(path, out, clips=True):
    """The QCDQ form (Brevitas' export) of a QDQ model: a Clip between every activation pair's
    QuantizeLinear and DequantizeLinear, narrowing uint8 codes to 0..250 and int8 to -127..127, and
    every weight a float constant through QuantizeLinear -> Clip(-127, 127) -> DequantizeLinear.
    Without `clips`, PT2E's form: float weights through a pair, no Clip."""
    from onnx import helper, numpy_helper

    m = onnx.load(str(path))
    inits = {t.name: t for t in m.graph.initializer}
    nodes = []
    for n in m.graph.node:
        x = n.input[0]
        if n.op_type == "DequantizeLinear" and x in inits and numpy_helper.to_array(inits[x]).dtype == np.int8:
            codes = numpy_helper.to_array(inits[x]).astype(np.float64)
            scale = numpy_helper.to_array(inits[n.input[1]]).astype(np.float64).reshape(-1, 1, 1, 1)
            m.graph.initializer.append(numpy_helper.from_array((codes * scale).astype(np.float32), f"{x}_float"))
            codes_of = f"{x}_c" if clips else f"{x}_q"
            nodes += [helper.make_node("QuantizeLinear", [f"{x}_float", *n.input[1:]], [f"{x}_q"], axis=0)]
            nodes += [helper.make_node("Clip", [f"{x}_q", "lo8", "hi8"], [f"{x}_c"])] if clips else []
            nodes += [helper.make_node("DequantizeLinear", [codes_of, *n.input[1:]], list(n.output), axis=0)]
        elif n.op_type == "DequantizeLinear" and x not in inits and clips:
            lo, hi = ("lou", "hiu") if numpy_helper.to_array(inits[n.input[2]]).dtype == np.uint8 else ("lo8", "hi8")
            nodes += [helper.make_node("Clip", [x, lo, hi], [f"{x}_c"]),
                      helper.make_node("DequantizeLinear", [f"{x}_c", *n.input[1:]], list(n.output))]
        else:
            nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    m.graph.initializer.extend([numpy_helper.from_array(np.int8(v), k) for k, v in (("lo8", -127), ("hi8", 127))] +
                               [numpy_helper.from_array(np.uint8(v), k) for k, v in (("lou", 0), ("hiu", 250))])
    onnx.save(m, str(out))
    return out


def _reference(path, frame: np.ndarray, extra_outputs=()) -> list[np.ndarray]:
    """onnxruntime on the QDQ model as its operators define it (no fusions), input pixels / 255."""
    m = onnx.load(str(path))
    for name in extra_outputs:
        m.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.UINT8, None))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = (frame.astype(np.float64) / 255.0).astype(np.float32)[None]
    return sess.run(None, {"x": x})


def _pixels(y: np.ndarray) -> np.ndarray:
    """The float output read as pixels, as srhw reads a float model's: clamp(floor(255 y + 1/2))."""
    return np.clip(np.floor(y.astype(np.float64) * 255.0 + 0.5), 0, 255).astype(np.int64)


FRAMES = [(1, 23, 37), (1, 16, 20), (1, 9, 31)]  # odd and non-square


def _frames():
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, s, dtype=np.uint8) for s in FRAMES] + [_smooth(rng, s[1:])[None] for s in FRAMES]


@pytest.mark.parametrize("asymmetric", [False, True], ids=["int8-weights", "uint8-weights-with-zero-points"])
def test_power_of_two_grids_are_bit_exact_layer_by_layer(tmp_path, asymmetric):
    """With power-of-two scales every requantizer is a shift: the golden model's codes equal
    onnxruntime's at every QuantizeLinear and on the output, on every frame. Asymmetric uint8
    weights: the conv multiplies codes less their zero point (9-bit weights)."""
    path = qdq(tmp_path, power_of_two=True, asymmetric_weights=asymmetric)
    q = srhw.compile(path, hls=False, progress=False, cache=False).qgraph
    assert q.meta.calibration == "model" and any(l.kind == "Table" for l in q.layers)
    if asymmetric:
        m = onnx.load(str(path))
        zeros = [onnx.numpy_helper.to_array(t) for t in m.graph.initializer
                 if t.name.endswith("_zero_point") and onnx.numpy_helper.to_array(t).ndim == 1]
        assert any(np.any(z) for z in zeros)  # per-channel weight zero points that are not 0
        assert max(l.w_width for l in q.layers if l.kind == "Conv") == 9
    m = onnx.load(str(path))
    quantizers = [n.output[0] for n in m.graph.node if n.op_type == "QuantizeLinear"]
    # the layer that writes each QuantizeLinear's codes: the input table, the convs, the PReLU and tanh tables
    writers = [l for l in q.layers if l.kind in ("Table", "Conv")][:len(quantizers)]
    for frame in _frames():
        env = golden.run(q, frame, keep_all=True)
        y, *codes = _reference(path, frame, quantizers)
        for name, ref, layer in zip(quantizers, codes, writers):
            assert np.array_equal(env[layer.output], ref[0].astype(np.int64)), (name, layer.name, frame.shape)
        assert np.array_equal(golden.run(q, frame).astype(np.int64), _pixels(y[0])), frame.shape


def test_other_scales_differ_from_onnxruntime_in_at_most_one_code_rarely(tmp_path):
    """With onnxruntime's own scales a conv's requantizer multiplies by the float32 scale's
    significand and rounds once, where onnxruntime rounds the float32 product (and sums the conv in
    float32) first: tables stay exact, and the output differs by at most one code in at most 1 in
    1000 pixels."""
    path = qdq(tmp_path)
    q = srhw.compile(path, hls=False, progress=False, cache=False).qgraph
    differ = total = 0
    for frame in _frames():
        y, = _reference(path, frame)
        d = golden.run(q, frame).astype(np.int64) - _pixels(y[0])
        assert np.abs(d).max() <= 1, frame.shape
        differ, total = differ + int(np.count_nonzero(d)), total + d.size
    assert differ <= total // 1000, (differ, total)


@pytest.mark.parametrize("clips", [True, False], ids=["qcdq", "float-weights-through-a-pair"])
def test_qcdq_and_float_weights_through_a_pair(tmp_path, clips):
    """The QCDQ form: weights through QuantizeLinear -> Clip -> DequantizeLinear on float
    constants, activations narrowed to 0..250 by a Clip (a clip in the conv epilogues); and PT2E's
    form, float weights through a pair: the golden model's codes equal onnxruntime's."""
    path = _to_qcdq(qdq(tmp_path, power_of_two=True), tmp_path / "qcdq.onnx", clips)
    q = srhw.compile(path, hls=False, progress=False, cache=False).qgraph
    assert any(l.kind == "Conv" and l.act.kind == "clip" for l in q.layers) == clips
    for frame in _frames():
        y, = _reference(path, frame)
        assert np.array_equal(golden.run(q, frame).astype(np.int64), _pixels(y[0])), frame.shape


def test_fsrcnn_with_its_conv_transpose(tmp_path):
    """FSRCNN's shape (PReLU after every conv, a ConvTranspose upsampler with per-output-channel
    weight scales): the sub-pixel conv takes each output channel's scale to its r*r phases, the
    output quantizer moves in front of the depth-to-space, and the kernel ends in its pixel
    table and the depth-to-space, as the hardware does; the codes equal onnxruntime's."""
    path = qdq_fsrcnn(tmp_path)
    q = srhw.compile(path, hls=False, progress=False, cache=False).qgraph
    assert [l.kind for l in q.layers[-2:]] == ["Table", "DepthToSpace"]
    for frame in _frames():
        y, = _reference(path, frame)
        assert np.array_equal(golden.run(q, frame).astype(np.int64), _pixels(y[0])), frame.shape


def test_ir_json_round_trip_and_the_cli_with_both_backends(tmp_path):
    path = qdq(tmp_path, tanh=False)
    out = tmp_path / "out"
    res = cli("compile", path, "-o", out, "--no-hls", "--no-cache")
    assert res.returncode == 0, res.stderr
    assert "the model's own grids" in res.stdout
    loaded = srhw.load_ir(out)
    assert any(l.kind == "Conv" and l.mult is not None and l.rounding == "half_even" for l in loaded.layers)
    frame = _frames()[0]
    compiled = srhw.compile(path, hls=False, progress=False, cache=False).qgraph
    assert np.array_equal(golden.run(loaded, frame), golden.run(compiled, frame))
    report = (out / "report.md").read_text()
    assert "the model's own grids" in report and "round half to even" in report
    # the RTL backend builds it too (tests/rtl/test_sim.py simulates it): tables and the multiplier
    res = cli("compile", path, "-o", tmp_path / "rtl", "--no-cache", "--rtl", "--in-size", "64x48")
    assert res.returncode == 0, res.stderr
    assert "srhw_table #" in (tmp_path / "rtl/rtl/srhw_stages.v").read_text()


@pytest.mark.parametrize("flags", [("--bits", "8"), ("--wbits", "6"), ("--calib-method", "max"),
                                   ("--weight-rounding", "nearest"), ("--layer-bits", "l01_conv=W4")])
def test_options_that_choose_widths_are_refused(tmp_path, flags):
    path = qdq(tmp_path, tanh=False)
    res = cli("compile", path, "-o", tmp_path / "o", "--no-hls", *flags)
    assert res.returncode == 2 and "quantized already" in res.stderr and flags[0] in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "o").exists()


def test_quantizers_srhw_cannot_follow_are_refused_by_node(tmp_path):
    """A DequantizeLinear of a computed integer tensor, codes leaving the pair, and a per-channel
    activation grid: each refused naming its node."""
    from onnx import TensorProto, helper

    from srhw.errors import UnsupportedModelError
    from srhw.frontend import import_onnx

    w = helper.make_tensor("w", TensorProto.INT8, [1, 1, 3, 3], [1] * 9)
    s = helper.make_tensor("s", TensorProto.FLOAT, [], [0.5])
    z = helper.make_tensor("z", TensorProto.UINT8, [], [0])
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], name="qx"),
             helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"], name="dqx"),
             helper.make_node("DequantizeLinear", ["w", "s"], ["wd"], name="dqw"),
             helper.make_node("Conv", ["xd", "wd"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Cast", ["xq"], ["leak"], name="leak", to=TensorProto.FLOAT),
             helper.make_node("Add", ["c", "leak"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])], [w, s, z])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(UnsupportedModelError) as e:
        import_onnx(model)
    assert "'qx'" in str(e.value) and "leave the quantizer pair" in str(e.value)
    nodes[4] = helper.make_node("Relu", ["c"], ["cr"], name="relu")
    nodes[5] = helper.make_node("DequantizeLinear", ["cr", "s", "z"], ["y"], name="dq_computed")
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])], [w, s, z])
    with pytest.raises(UnsupportedModelError) as e:
        import_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert "'dq_computed'" in str(e.value) and "neither a constant holds nor a QuantizeLinear writes" in str(e.value)
    nodes[1] = helper.make_node("DequantizeLinear", ["xq"], ["xd"], name="dq_no_scale")  # hostile: no scale
    graph = helper.make_graph(nodes[:4] + [helper.make_node("Relu", ["c"], ["y"], name="relu_out")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])], [w, s, z])
    with pytest.raises(UnsupportedModelError) as e:
        import_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert "'dq_no_scale'" in str(e.value) and "needs an input, a scale" in str(e.value)


def test_eval_takes_the_models_own_design_and_refuses_a_width(tmp_path, two_images):
    """`srhw eval` of a QDQ model scores its own grids (the float column is the QDQ model in
    float); a width asked for is refused as in `srhw compile`."""
    import json

    path = qdq(tmp_path, tanh=False)
    res = cli("eval", path, "--data", two_images, "--json", tmp_path / "e.json", "--no-cache")
    assert res.returncode == 0, res.stderr
    assert set(json.loads((tmp_path / "e.json").read_text())["mean"]) >= {"float", "W8A8"}
    res = cli("eval", path, "--data", two_images, "--bits", "6")
    assert res.returncode == 2 and "quantized already" in res.stderr and "Traceback" not in res.stderr
