"""Property-based: random small conv networks (kernels, pads, channels, activations, residual
blocks with an Add of two tensors, an optional depth-to-space), random weights, widths and frame
sizes, built as ONNX here; the golden model must equal the naive integer reference
(tests/reference_int.py) on every one, borders included, and on a sample the HLS C-simulation
must equal the golden model."""
import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper

from srhw import golden
from srhw.qir import to_json
from srhw.quant import calibrate, quantize
from tests import reference_int
from tests.conftest import compile_float, make_model, save


@st.composite
def chains(draw):
    """(ONNX model, frame height, frame width, bits, seed) of a 1-channel chain of 1 to 3 convs,
    each but the last possibly followed by a residual block."""
    n = draw(st.integers(1, 3))
    shuffle = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    nodes, inits, c, x, shrink_h, shrink_w = [], {}, 1, "x", 0, 0
    for i in range(n):
        last = i == n - 1
        k = draw(st.sampled_from([1, 3, 5]))
        pads = [draw(st.integers(0, k // 2)) for _ in range(4)]
        shrink_h += k - 1 - pads[0] - pads[2]
        shrink_w += k - 1 - pads[1] - pads[3]
        c_out = (4 if shuffle else 1) if last else draw(st.integers(1, 4))
        inits[f"w{i}"] = rng.normal(0, 1 / np.sqrt(k * k * c), (c_out, c, k, k))
        inits[f"b{i}"] = rng.normal(0, 0.1, c_out)
        out = "y" if last and not shuffle else f"c{i}"
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [out], name=f"conv{i}", pads=pads))
        x, c = out, c_out
        if not last:
            act = draw(st.sampled_from(["none", "relu", "prelu", "leaky"]))
            if act == "relu":
                nodes.append(helper.make_node("Relu", [x], [f"a{i}"], name=f"relu{i}"))
            elif act == "prelu":
                inits[f"s{i}"] = rng.uniform(0.05, 0.5, (c, 1, 1))
                nodes.append(helper.make_node("PRelu", [x, f"s{i}"], [f"a{i}"], name=f"prelu{i}"))
            elif act == "leaky":
                nodes.append(helper.make_node("LeakyRelu", [x], [f"a{i}"], name=f"leaky{i}", alpha=0.2))
            x = f"a{i}" if act != "none" else x
            if draw(st.booleans()):  # a residual block: two same-size convs and an Add of two tensors
                kr = draw(st.sampled_from([1, 3]))
                for j in (0, 1):
                    inits[f"r{i}{j}"] = rng.normal(0, 0.5 / np.sqrt(kr * kr * c), (c, c, kr, kr))
                    nodes.append(helper.make_node("Conv", [x if j == 0 else f"rr{i}", f"r{i}{j}"],
                                                  [f"rr{i}" if j == 0 else f"rs{i}"], name=f"res{i}{j}",
                                                  pads=[kr // 2] * 4))
                    if j == 0:
                        nodes.append(helper.make_node("Relu", [f"rr{i}"], [f"rq{i}"], name=f"resrelu{i}"))
                        nodes[-2].output[0] = f"rp{i}"
                        nodes[-1].input[0] = f"rp{i}"
                        nodes[-1].output[0] = f"rr{i}"
                nodes.append(helper.make_node("Add", [x, f"rs{i}"], [f"sum{i}"], name=f"add{i}"))
                x = f"sum{i}"
    if shuffle:
        nodes.append(helper.make_node("DepthToSpace", [x], ["y"], name="shuffle", blocksize=2, mode="DCR"))
    h = draw(st.integers(shrink_h + 1, shrink_h + 9))
    w = draw(st.integers(shrink_w + 1, shrink_w + 9))
    model = make_model(nodes, inits, [1, 1, "h", "w"], [1, 1, "H", "W"])
    return model, h, w, draw(st.sampled_from([4, 6, 8, 12])), draw(st.integers(0, 1000))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chains())
def test_golden_equals_the_naive_reference_on_random_chains(tmp_path_factory, case):
    model, h, w, bits, seed = case
    path = save(model, tmp_path_factory.mktemp("chain") / "m.onnx")
    graph = compile_float(path)
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 256, (1, h + 4, w + 4), dtype=np.uint8) for _ in range(2)]
    q = quantize(graph, calibrate(graph, frames), bits, bits, "max")
    doc = json.loads(to_json(q))
    for frame in (rng.integers(0, 256, (1, h, w), dtype=np.uint8), np.full((1, h, w), 255, np.uint8)):
        got = golden.run(q, frame, keep_all=True)[q.output]
        want = reference_int.run(doc, frame)
        assert got.shape == want.shape and np.array_equal(got, want), f"{np.count_nonzero(got != want)} differ"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chains())
def test_csim_equals_the_golden_model_on_random_networks(tmp_path_factory, case):
    """A sample of the same networks through the HLS backend: C-simulation (g++) bit-exact against
    the golden model on the compiler's test frames (odd sizes, all-255, a calibration crop)."""
    from srhw import compile as srhw_compile
    from srhw.backends.csim import run_csim

    model, _h, _w, bits, _seed = case
    d = tmp_path_factory.mktemp("csim")
    r = srhw_compile(save(model, d / "m.onnx"), bits=bits, out=d / "out", progress=False, in_size="48x40")
    assert r.summary["layers"] >= 1
    res = run_csim(d / "out")
    assert res.passed, res.output[-2000:]
