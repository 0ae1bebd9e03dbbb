"""fold_constants: constant subgraphs become one Constant, Identity/Dropout/float Casts vanish,
and the model computes what onnxruntime computes."""
import numpy as np
from onnx import TensorProto, helper

from srhw import ir
from tests.conftest import make_model, ort_run, save
from tests.passes.helpers import around, assert_close, ops, output


def test_scale_computed_from_constants_and_pass_through_nodes(tmp_path):
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 1, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Mul", ["two", "three"], ["six"]),                  # a scale, computed
             helper.make_node("Neg", ["six"], ["s"]),
             helper.make_node("Identity", ["x"], ["xi"]),
             helper.make_node("Cast", ["xi"], ["xc"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["xc", "s"], ["xs"]),
             helper.make_node("Conv", ["xs", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Dropout", ["c"], ["d"]),
             helper.make_node("Relu", ["d"], ["y"])]
    inits = {"w": w, "two": np.float32(2.0), "three": np.float32(3.0)}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 4, "h", "w"]), tmp_path / "m.onnx")
    before, after = around(path, "fold_constants")
    assert ops(before) == ["Mul", "Neg", "Identity", "Cast", "Mul", "Conv", "Identity", "Relu"]   # Dropout: Identity
    assert ops(after) == ["Mul", "Conv", "Relu"]
    scale = next(n for n in after.nodes if not isinstance(n, ir.Constant))
    assert float(after.constant(scale.inputs[1])) == -6.0
    x = rng.normal(size=(1, 1, 7, 9))
    assert_close(output(after, x), ort_run(path, x))
    assert_close(output(after, x), output(before, x), tol=1e-6)   # before, the Cast rounds x to float32
