"""pixel_boundary: the graph maps pixel codes to pixel codes. Its contract, against the graph
before it: after(p) = before(p * input_scale) * output_scale, with the scales recorded in
`Boundary`; a model that scales its own input (x / 255) and output (x * 255) has those folded
into its convolutions, not left as extra layers."""
import numpy as np
import pytest
from onnx import helper

from tests.conftest import make_model, save
from tests.passes.helpers import around, assert_close, ops, output


def _model(tmp_path, own_scaling: bool):
    rng = np.random.default_rng(7)
    w1 = rng.normal(size=(4, 1, 3, 3)).astype(np.float32) * 0.5
    w2 = rng.normal(size=(4, 4, 3, 3)).astype(np.float32) * 0.3
    nodes = [helper.make_node("Conv", ["xs" if own_scaling else "x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["c2"], ["d" if own_scaling else "y"], blocksize=2)]
    inits = {"w1": w1, "w2": w2}
    if own_scaling:
        nodes = [helper.make_node("Div", ["x", "k"], ["xs"])] + nodes + [helper.make_node("Mul", ["d", "k"], ["y"])]
        inits["k"] = np.float32(255.0)
    return save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 1, "H", "W"]), tmp_path / "m.onnx")


@pytest.mark.parametrize("own_scaling,input_range,scales", [(False, "auto", (1 / 255, 255.0)),
                                                            (True, "auto", (1.0, 1.0)),
                                                            (False, "byte", (1.0, 1.0))])
def test_contract(tmp_path, own_scaling, input_range, scales):
    path = _model(tmp_path, own_scaling)
    before, after = around(path, "pixel_boundary", input_range=input_range, output_range=input_range)
    b = after.boundary
    assert b.pixel and (b.input_scale, b.output_scale) == pytest.approx(scales)
    assert "Affine" not in ops(after)                     # every scale folded into a conv
    p = np.random.default_rng(8).integers(0, 256, size=(1, 1, 6, 7)).astype(np.float64)
    assert_close(output(after, p), output(before, p * b.input_scale) * b.output_scale, tol=1e-9)
