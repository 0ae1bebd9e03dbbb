"""QONNX models (Quant nodes of any width, as Brevitas's export_qonnx writes them): srhw reads
them as the QCDQ chains they compute (srhw.frontend.qonnx) and the golden model's codes are
checked against qonnx's own executor, layer by layer and on whole frames."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import srhw
from srhw import golden
from srhw.errors import UnsupportedModelError

# qonnx is a test dependency (pyproject's test extra): its executor is the reference, never skipped
from qonnx.core import onnx_exec as qonnx_exec
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.infer_shapes import InferShapes

DOMAIN = "qonnx.custom_op.general"


def _quant(x: str, y: str, scale, zero, bits: int, signed: bool, narrow: bool = False, **attrs) -> tuple:
    """A Quant node and its three constant inputs."""
    inits = [numpy_helper.from_array(np.asarray(scale, np.float32), f"{y}_s"),
             numpy_helper.from_array(np.asarray(zero, np.float32), f"{y}_z"),
             numpy_helper.from_array(np.asarray(float(bits), np.float32), f"{y}_b")]
    node = helper.make_node("Quant", [x, f"{y}_s", f"{y}_z", f"{y}_b"], [y], domain=DOMAIN, name=f"quant_{y}",
                            signed=int(signed), narrow=int(narrow), rounding_mode="ROUND", **attrs)
    return node, inits


def qonnx_model(tmp_path, w_bits=4, a_bits=4, power_of_two=True, a_zero=0.0, name="m"):
    """pixels/255 -> Quant(8-bit unsigned) -> Conv 1->8 5x5 (W_BITS-bit narrow per-channel
    weights, an int32 bias) -> ReLU -> Quant(A_BITS-bit unsigned) -> Conv 8->4 3x3 (6-bit
    per-tensor weights) -> Quant(8-bit signed) -> DepthToSpace x2."""
    rng = np.random.default_rng(5)
    w1 = rng.normal(0, 0.3, (8, 1, 5, 5)).astype(np.float32)
    b1 = rng.normal(0, 0.05, 8).astype(np.float32)
    w2 = rng.normal(0, 0.15, (4, 8, 3, 3)).astype(np.float32)
    s_in = 2.0 ** -8
    s_w1 = np.exp2(np.round(np.log2(np.abs(w1).reshape(8, -1).max(axis=1) / (2 ** (w_bits - 1) - 1))))
    if not power_of_two:
        s_w1 = np.abs(w1).reshape(8, -1).max(axis=1) / (2 ** (w_bits - 1) - 1)
    s_a = 2.0 ** -(a_bits - 2) if power_of_two else 3.1 / (2 ** a_bits - 1)
    nodes, inits = [], [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
                        numpy_helper.from_array(w2, "w2")]
    for args in (("x", "xq", s_in, 0.0, 8, False),
                 ("w1", "w1q", s_w1.reshape(8, 1, 1, 1), np.zeros((8, 1, 1, 1)), w_bits, True, True),
                 ("b1", "b1q", (s_in * s_w1).astype(np.float32), np.zeros(8), 24, True),
                 ("w2", "w2q", 2.0 ** -5, 0.0, 6, True)):
        n, i = _quant(*args)
        nodes.append(n)
        inits += i
    nodes += [helper.make_node("Conv", ["xq", "w1q", "b1q"], ["c1"], pads=[2, 2, 2, 2]),
              helper.make_node("Relu", ["c1"], ["r1"])]
    n, i = _quant("r1", "a1", s_a, a_zero, a_bits, False)
    nodes.append(n)
    inits += i
    nodes.append(helper.make_node("Conv", ["a1", "w2q"], ["c2"], pads=[1, 1, 1, 1]))
    n, i = _quant("c2", "a2", 2.0 ** -6, 0.0, 8, True)
    nodes.append(n)
    inits += i
    nodes.append(helper.make_node("DepthToSpace", ["a2"], ["y"], blocksize=2, mode="CRD"))
    graph = helper.make_graph(nodes, "qonnx", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "h", "w"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, None, None])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(DOMAIN, 1)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def _reference(path, frame: np.ndarray) -> dict[str, np.ndarray]:
    """qonnx's executor (Quant in NumPy, the other ops node by node in onnxruntime), every tensor."""
    m = onnx.load(str(path))
    h, w = frame.shape[1:]
    m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = h
    m.graph.input[0].type.tensor_type.shape.dim[3].dim_value = w
    m.graph.output[0].type.tensor_type.shape.dim[2].dim_value = 2 * h
    m.graph.output[0].type.tensor_type.shape.dim[3].dim_value = 2 * w
    x = (frame.astype(np.float64) / 255.0).astype(np.float32)[None]
    wrapped = ModelWrapper(m).transform(InferShapes())
    return qonnx_exec.execute_onnx(wrapped, {"x": x}, return_full_exec_context=True)


def _pixels(y: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(y.astype(np.float64) * 255.0 + 0.5), 0, 255).astype(np.int64)


def _frames():
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, s, dtype=np.uint8) for s in ((1, 13, 21), (1, 16, 9))]


@pytest.mark.parametrize("w_bits,a_bits", [(4, 4), (6, 3), (8, 8)])
def test_power_of_two_grids_equal_qonnx_layer_by_layer(tmp_path, w_bits, a_bits):
    """Every Quant's codes from qonnx (its output / scale) equal the golden model's, and the
    output pixels too; weights and activations keep their widths in hardware (a 4-bit weight or
    code is 4 bits wide)."""
    path = qonnx_model(tmp_path, w_bits, a_bits)
    q = srhw.compile(path, hls=False, progress=False, cache=False).qgraph
    convs = [l for l in q.layers if l.kind == "Conv"]
    assert [l.w_width for l in convs] == [w_bits, 6] and [l.out_fmt.width for l in convs] == [a_bits, 8]
    for frame in _frames():
        ref = _reference(path, frame)
        env = golden.run(q, frame, keep_all=True)
        for layer, (tensor, scale) in zip(convs, (("a1", 2.0 ** -(a_bits - 2)), ("a2", 2.0 ** -6))):
            want = np.round(ref[tensor][0] / scale).astype(np.int64)
            assert np.array_equal(env[layer.output], want), (tensor, frame.shape)
        assert np.array_equal(golden.run(q, frame).astype(np.int64), _pixels(ref["y"][0])), frame.shape


def test_other_scales_stay_within_one_code(tmp_path):
    """Scales that are not powers of two: the conv requantizer's integer multiplier (as for QDQ
    models) against qonnx's float arithmetic: at most one code apart, rarely."""
    path = qonnx_model(tmp_path, 4, 4, power_of_two=False)
    q = srhw.compile(path, hls=False, progress=False, cache=False).qgraph
    differ = total = 0
    for frame in _frames():
        d = golden.run(q, frame).astype(np.int64) - _pixels(_reference(path, frame)["y"][0])
        assert np.abs(d).max() <= 1
        differ, total = differ + int(np.count_nonzero(d)), total + d.size
    assert differ <= total // 100, (differ, total)


def test_quantizers_srhw_cannot_follow_are_refused_by_node(tmp_path):
    """An odd activation zero point (QONNX rounds after adding it), a rounding mode other than
    ROUND, a 1-bit quantizer, and BipolarQuant: each refused naming its node, exit 2 from the CLI."""
    from tests.conftest import cli

    cases = {"odd zero": (dict(a_zero=3.0), "quant_a1", "odd zero point"),
             "floor": (None, "quant_a1", "rounding_mode=FLOOR"),
             "bipolar": (None, "bipolar", "BipolarQuant")}
    for what, (kw, node, text) in cases.items():
        path = qonnx_model(tmp_path, name=what.replace(" ", "_"), **(kw or {}))
        if what in ("floor", "bipolar"):
            m = onnx.load(str(path))
            n = next(n for n in m.graph.node if n.name == "quant_a1")
            if what == "floor":
                next(a for a in n.attribute if a.name == "rounding_mode").s = b"FLOOR"
            else:
                m.graph.initializer.append(numpy_helper.from_array(np.float32(0.5), "bp_s"))
                m.graph.node.insert(list(m.graph.node).index(n), helper.make_node(
                    "BipolarQuant", ["r1", "bp_s"], ["r1b"], domain=DOMAIN, name="bipolar"))
                n.input[0] = "r1b"
            onnx.save(m, str(path))
        with pytest.raises(UnsupportedModelError) as info:
            srhw.compile(path, hls=False, progress=False, cache=False)
        assert node in str(info.value) and text in str(info.value), (what, str(info.value))
        res = cli("compile", path, "-o", tmp_path / f"out_{what}", "--no-cache")
        assert res.returncode == 2 and node in res.stderr and "Traceback" not in res.stderr
        assert not (tmp_path / f"out_{what}").exists()
