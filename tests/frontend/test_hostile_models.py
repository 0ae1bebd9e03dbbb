"""Hostile and malformed ONNX models: each one is refused by `srhw compile` with one error line
naming the node, the op or initializer and what is accepted (exit 2), before anything is written.

The models are built here, each a one- or two-conv network with one thing wrong."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.conftest import make_model, save
from tests.frontend.test_errors import assert_user_error, srhw

W = np.random.default_rng(1).normal(size=(4, 1, 3, 3)).astype(np.float32) * 0.3
W2 = np.random.default_rng(2).normal(size=(1, 4, 3, 3)).astype(np.float32) * 0.3


def two_convs(attrs=None, inits=None, extra=(), first=None):
    """x -> Conv(w, pads 1) -> Relu -> Conv(w2, pads 1) -> y, with overrides."""
    conv = first or helper.make_node("Conv", ["x", "w"], ["a"], name="first", **({"pads": [1, 1, 1, 1]} | (attrs or {})))
    nodes = [conv, helper.make_node("Relu", ["a"], ["r"], name="act"),
             helper.make_node("Conv", ["r", "w2"], ["y"], name="last", pads=[1, 1, 1, 1]), *extra]
    return make_model(nodes, {"w": W, "w2": W2} | (inits or {}), [1, 1, "h", "w"], [1, 1, "h", "w"])


def raw_initializer(name, dims, data: bytes, dtype=TensorProto.FLOAT):
    t = TensorProto()
    t.name, t.data_type = name, dtype
    t.dims.extend(dims)
    t.raw_data = data
    return t


def replace_init(model, tensor):
    inits = [t for t in model.graph.initializer if t.name != tensor.name]
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits + [tensor])
    return model


def _short_raw():
    return replace_init(two_convs(), raw_initializer("w", [4, 1, 3, 3], W.tobytes()[:100]))


def _huge_dims():
    return replace_init(two_convs(), raw_initializer("w", [50000, 100000, 3, 3], W.tobytes()))


def _negative_dims():
    return replace_init(two_convs(), raw_initializer("w", [4, -1, 3, 3], W.tobytes()))


def _int_weights():
    return replace_init(two_convs(), numpy_helper.from_array(np.ones((4, 1, 3, 3), np.int32), "w"))


def _ir_version(v):
    def f():
        m = two_convs()
        m.ir_version = v
        return m
    return f


def _bad_attr_type():
    n = helper.make_node("Conv", ["x", "w"], ["a"], name="first", pads=[1, 1, 1, 1])
    n.attribute.append(helper.make_attribute("group", 1.5))
    return two_convs(first=n)


def _leaky(alpha):
    def f():
        m = two_convs()
        m.graph.node[1].CopyFrom(helper.make_node("LeakyRelu", ["a"], ["r"], name="act", alpha=alpha))
        return m
    return f


def _d2s(blocksize):
    def f():
        nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="first", pads=[1, 1, 1, 1]),
                 helper.make_node("DepthToSpace", ["a"], ["y"], name="shuffle", blocksize=blocksize)]
        return make_model(nodes, {"w": W}, [1, 1, "h", "w"], [1, 1, "H", "W"])
    return f


def _convT(**attrs):
    def f():
        nodes = [helper.make_node("ConvTranspose", ["x", "wt"], ["y"], name="up", **attrs)]
        return make_model(nodes, {"wt": np.ones((1, 1, 4, 4), np.float32) * 0.1}, [1, 1, "h", "w"], [1, 1, "H", "W"])
    return f


CASES = {  # name: (model builder, what the error line must say)
    "raw initializer shorter than its shape": (_short_raw, "'w'"),
    "initializer of 45 billion elements": (_huge_dims, "'w'"),
    "negative initializer dimension": (_negative_dims, "'w'"),
    "int32 conv weights": (_int_weights, "'first' (Conv)"),
    "IR version 99": (_ir_version(99), "IR version 99"),
    "IR version 2": (_ir_version(2), "IR version 2"),
    "attribute of the wrong type": (_bad_attr_type, "'first' (Conv)"),
    "kernel_shape against the weight": (lambda: two_convs({"kernel_shape": [5, 5]}), "kernel_shape"),
    "zero-size kernel": (lambda: two_convs(inits={"w": np.zeros((4, 1, 0, 3), np.float32)}), "'first' (Conv)"),
    "pads near 2^63": (lambda: two_convs({"pads": [2**62, 1, 1, 1]}), "pads"),
    "pads beyond the kernel": (lambda: two_convs({"pads": [9, 9, 9, 9]}), "pads"),
    "NaN LeakyRelu alpha": (_leaky(float("nan")), "'act' (LeakyRelu)"),
    "infinite LeakyRelu alpha": (_leaky(float("inf")), "'act' (LeakyRelu)"),
    "DepthToSpace blocksize 0": (_d2s(0), "blocksize"),
    "DepthToSpace blocksize 3 on 4 channels": (_d2s(3), "blocksize"),
    "ConvTranspose pads of 2^40": (_convT(strides=[2, 2], pads=[2**40, 0, 0, 0]), "pads"),
    "ConvTranspose output_padding >= stride": (_convT(strides=[2, 2], output_padding=[2, 2]), "output_padding"),
    "bias of 1e30": (lambda: make_model([helper.make_node("Conv", ["x", "w", "b"], ["y"], name="first",
                                                          pads=[1, 1, 1, 1])],
                                        {"w": W[:1], "b": np.array([1e30], np.float32)}, [1, 1, "h", "w"],
                                        [1, 1, "h", "w"]), "'first'"),
    "weights of 1e-40 (subnormal, read as 0)": (lambda: two_convs(inits={"w": np.full((4, 1, 3, 3), 1e-40, np.float32)}),
                                                "'first' (Conv): every weight"),
    "all-zero weights": (lambda: two_convs(inits={"w2": np.zeros((1, 4, 3, 3), np.float32)}), "'last' (Conv)"),
    "a graph of only Identity": (lambda: make_model([helper.make_node("Identity", ["x"], ["y"], name="id")], {},
                                                    [1, 1, "h", "w"], [1, 1, "h", "w"]), "no convolution"),
    "input dimension of 10^9": (lambda: make_model([helper.make_node("Conv", ["x", "w"], ["y"], name="first",
                                                                   pads=[1, 1, 1, 1])], {"w": W[:1]},
                                                 [1, 1, 10**9, 8], [1, 1, 10**9, 8]), "1..65535"),
    "input dimension 0": (lambda: make_model([helper.make_node("Conv", ["x", "w"], ["y"], name="first",
                                                               pads=[1, 1, 1, 1])], {"w": W[:1]}, [1, 1, 0, 8],
                                             [1, 1, 0, 8]), "dimension"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_model_is_refused(case, tmp_path):
    build, needle = CASES[case]
    path = save(build(), tmp_path / "m.onnx")
    out = tmp_path / "out"
    assert_user_error(srhw("compile", path, "-o", out), needle, out=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
