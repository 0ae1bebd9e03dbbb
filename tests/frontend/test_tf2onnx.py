"""tf2onnx idioms, hand-built with onnx.helper, and ESPCN exported by tf2onnx itself, against onnxruntime."""
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

from srhw import ir
from tests.conftest import assert_float_matches_ort, compile_float, make_model, pixels, save

rng = np.random.default_rng(7)


def _nhwc_prelu_d2s_model():
    k = (rng.uniform(0.05, 0.3, size=(8, 1, 1)) / 2).astype(np.float32)  # alpha / 2 pre-folded
    nodes = [
        helper.make_node("Transpose", ["x"], ["t0"], perm=[0, 3, 1, 2], name="in/transpose"),
        helper.make_node("Cast", ["t0"], ["t0c"], to=TensorProto.FLOAT, name="cast"),
        helper.make_node("Conv", ["t0c", "w1", "b1"], ["c1"], auto_pad="SAME_UPPER", name="conv1"),
        helper.make_node("Relu", ["c1"], ["r"], name="prelu/relu"),
        helper.make_node("Abs", ["c1"], ["a"], name="prelu/abs"),
        helper.make_node("Sub", ["c1", "a"], ["s"], name="prelu/sub"),
        helper.make_node("Mul", ["s", "k"], ["m"], name="prelu/mul"),
        helper.make_node("Add", ["r", "m"], ["p"], name="prelu/add"),
        helper.make_node("Conv", ["p", "w2", "b2"], ["c2"], auto_pad="SAME_UPPER", name="conv2"),
        helper.make_node("Identity", ["c2"], ["i"], name="identity"),
        helper.make_node("DepthToSpace", ["i"], ["d"], blocksize=2, mode="DCR", name="d2s"),
        helper.make_node("Transpose", ["d"], ["t1"], perm=[0, 2, 3, 1], name="out/transpose"),
        helper.make_node("Constant", [], ["half"], value=helper.make_tensor("v", TensorProto.FLOAT, [], [0.01]),
                         name="const"),
        helper.make_node("Add", ["t1", "half"], ["y"], name="out/bias"),
    ]
    inits = {"w1": rng.normal(0, 0.3, (8, 1, 3, 3)), "b1": rng.normal(0, 0.05, 8), "k": k,
             "w2": rng.normal(0, 0.1, (4, 8, 4, 4)), "b2": rng.normal(0, 0.05, 4)}
    return make_model(nodes, inits, [1, "h", "w", 1], [1, "oh", "ow", 1], opset=13, extra_opsets={"ai.onnx.ml": 3})


def test_nhwc_prelu_pattern_d2s(tmp_path):
    path = save(_nhwc_prelu_d2s_model(), tmp_path / "tf.onnx")
    g = compile_float(path)
    assert g.boundary.input_layout == ("N", "H", "W", "C")
    assert g.boundary.output_layout == ("1", "H", "W", "1")
    ops = [n.op_type for n in g.compute_nodes()]
    assert ops == ["Conv", "Conv", "DepthToSpace"], ops  # PReLU pattern fused, bias folded before the D2S
    conv1 = next(n for n in g.nodes if isinstance(n, ir.Conv))
    assert isinstance(conv1.act, ir.PReluAct) and conv1.pads == (1, 1, 1, 1)
    for h, w in ((13, 17), (8, 8)):
        frame = pixels(1, h, w, seed=h)
        assert_float_matches_ort(path, g, frame)


def test_unit_axis_reshapes_squeeze_unsqueeze(tmp_path):
    nodes = [
        helper.make_node("Squeeze", ["x", "ax3"], ["sq"], name="squeeze"),
        helper.make_node("Unsqueeze", ["sq", "ax1"], ["us"], name="unsqueeze"),
        helper.make_node("Conv", ["us", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("DepthToSpace", ["c"], ["d"], blocksize=3, mode="CRD", name="d2s"),
        helper.make_node("Transpose", ["d"], ["t"], perm=[0, 2, 3, 1], name="to_nhwc"),
        helper.make_node("Reshape", ["t", "shape0"], ["rs"], name="reshape_copy_dims"),
        helper.make_node("Unsqueeze", ["rs", "ax3"], ["y"], name="unsqueeze_out"),
    ]
    inits = {"ax3": np.array([3]), "ax1": np.array([1]), "w": rng.normal(0, 0.3, (9, 1, 3, 3)),
             "shape0": np.array([0, 0, -1])}
    path = save(make_model(nodes, inits, [1, "h", "w", 1], [1, "oh", "ow", 1], opset=13), tmp_path / "u.onnx")
    g = compile_float(path)
    assert [n.op_type for n in g.compute_nodes()] == ["Conv", "DepthToSpace"]
    assert_float_matches_ort(path, g, pixels(1, 11, 6))


@pytest.mark.parametrize("mode", ["CRD", "DCR"])
def test_static_reshape_transpose_pixel_shuffle(tmp_path, mode):
    """PixelShuffle as Reshape/Transpose/Reshape with constant shapes, RGB, both orders."""
    c, r, h, w = 3, 2, 5, 7
    if mode == "CRD":
        shape1, perm = [1, c, r, r, h, w], [0, 1, 4, 2, 5, 3]
    else:
        shape1, perm = [1, r, r, c, h, w], [0, 3, 4, 1, 5, 2]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["cv"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Reshape", ["cv", "s1"], ["r1"], name="split"),
        helper.make_node("Transpose", ["r1"], ["tr"], perm=perm, name="shuffle"),
        helper.make_node("Reshape", ["tr", "s2"], ["y"], name="merge"),
    ]
    inits = {"w": rng.normal(0, 0.3, (c * r * r, c, 3, 3)), "b": rng.normal(0, 0.1, c * r * r),
             "s1": np.array(shape1), "s2": np.array([1, c, h * r, w * r])}
    path = save(make_model(nodes, inits, [1, c, h, w], [1, c, h * r, w * r]), tmp_path / "ps.onnx")
    g = compile_float(path)
    d2s = [n for n in g.nodes if isinstance(n, ir.DepthToSpace)]
    assert len(d2s) == 1 and d2s[0].mode == mode and d2s[0].blocksize == r
    assert_float_matches_ort(path, g, pixels(c, h, w))


def test_shuffle_that_is_not_depth_to_space_is_refused(tmp_path):
    """Same Reshape/Transpose shape but a permutation that mixes H into channels: refused."""
    from srhw.errors import UnsupportedModelError

    nodes = [
        helper.make_node("Reshape", ["x", "s1"], ["r1"], name="split"),
        helper.make_node("Transpose", ["r1"], ["tr"], perm=[0, 1, 4, 3, 2, 5], name="bad_shuffle"),
        helper.make_node("Reshape", ["tr", "s2"], ["y"], name="merge"),
        ]
    inits = {"s1": np.array([1, 1, 2, 2, 5, 7]), "s2": np.array([1, 1, 10, 14])}
    path = save(make_model(nodes, inits, [1, 4, 5, 7], [1, 1, 10, 14]), tmp_path / "bad.onnx")
    with pytest.raises(UnsupportedModelError) as e:
        compile_float(path)
    assert "merge" in str(e.value) or "output" in str(e.value)


def test_prelu_slope_shapes_and_shared_initializers(tmp_path):
    """PRelu slopes as a scalar, [C,1,1], [1,C,1,1], one initializer shared by two nodes."""
    c = 4
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="c1"),
        helper.make_node("PRelu", ["a", "s_shared"], ["pa"], name="p_shared1"),
        helper.make_node("Conv", ["pa", "w2"], ["b"], pads=[1, 1, 1, 1], name="c2"),
        helper.make_node("PRelu", ["b", "s_shared"], ["pb"], name="p_shared2"),
        helper.make_node("Conv", ["pb", "w2"], ["c"], pads=[0, 0, 0, 0], name="c3"),
        helper.make_node("PRelu", ["c", "s_scalar"], ["pc"], name="p_scalar"),
        helper.make_node("Conv", ["pc", "w2"], ["d"], pads=[1, 1, 1, 1], name="c4"),
        helper.make_node("PRelu", ["d", "s_4d"], ["y"], name="p_4d"),
    ]
    inits = {"w1": rng.normal(0, 0.4, (c, 1, 3, 3)), "w2": rng.normal(0, 0.3, (c, c, 3, 3)),
             "s_shared": rng.uniform(0, 0.3, (c, 1, 1)), "s_scalar": np.array(0.2, dtype=np.float32),
             "s_4d": rng.uniform(0, 0.3, (1, c, 1, 1))}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, c, "oh", "ow"]), tmp_path / "slopes.onnx")
    g = compile_float(path, output_range="byte")
    convs = [n for n in g.nodes if isinstance(n, ir.Conv)]
    assert len(convs) == 4 and all(isinstance(n.act, ir.PReluAct) for n in convs)
    assert convs[2].act.slope.tolist() == pytest.approx([0.2] * c)
    assert_float_matches_ort(path, g, pixels(1, 12, 9))


TF_ESPCN = Path(__file__).resolve().parents[1] / "data" / "tf2onnx"


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tensorflow_espcn_with_tanh_after_the_shuffle(scale):
    """ESPCN from Keras through tf2onnx (tests/data/tf2onnx/make_espcn.py): NHWC, SAME padding,
    x/255 inside, DepthToSpace, then tanh and x255. The tanh joins the last conv and the x255
    stands before the shuffle, so the hardware ends in its depth-to-space stage."""
    path = TF_ESPCN / f"espcn_tf_x{scale}.onnx"
    g = compile_float(path)
    assert g.boundary.input_layout == ("N", "H", "W", "C") and g.boundary.input_scale == 1.0
    assert [n.op_type for n in g.compute_nodes()] == ["Conv", "Conv", "Conv", "Affine", "DepthToSpace"]
    last = [n for n in g.nodes if isinstance(n, ir.Conv)][-1]
    assert isinstance(last.act, ir.TanhAct)
    for h, w in ((9, 14), (16, 11)):
        assert_float_matches_ort(path, g, pixels(1, h, w, seed=h))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tensorflow_edsr(scale):
    """EDSR from Keras through tf2onnx (tests/data/tf2onnx/make_residual.py): NHWC RGB, the mean
    shift as a Sub and a Div by constants (an Affine at each end), the residual scaled by a Mul,
    residual blocks and the global skip as Adds, x4 as two depth-to-space stages (which the
    passes merge into one x4 shuffle at the end, the conv between them made sub-pixel)."""
    path = TF_ESPCN / f"edsr_tf_x{scale}.onnx"
    g = compile_float(path)
    assert g.boundary.input_layout == ("N", "H", "W", "C")
    ops = [n.op_type for n in g.compute_nodes()]
    assert ops.count("Add") == 3 and ops.count("DepthToSpace") == 1 and ops[-1] == "DepthToSpace", ops
    assert next(n for n in g.nodes if isinstance(n, ir.DepthToSpace)).blocksize == scale
    for h, w in ((9, 14), (16, 11)):
        assert_float_matches_ort(path, g, pixels(3, h, w, seed=h))


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_tensorflow_lapsrn(scale):
    """LapSRN from Keras through tf2onnx: LeakyReLU written as relu(x) - 0.2 * relu(-x) (a Sub of
    two tensors) becomes the convs' PReLU; each `padding="same"` Conv2DTranspose comes with the
    shape arithmetic tf2onnx writes for dynamic sizes (Shape, Max, Split, Pad of zeros, a Slice of
    the full output), which becomes the ConvTranspose's pads."""
    path = TF_ESPCN / f"lapsrn_tf_x{scale}.onnx"
    g = compile_float(path)
    levels = scale.bit_length() - 1
    ops = [n.op_type for n in g.compute_nodes()]
    assert "Slice" not in ops and "Pad" not in ops and ops.count("Add") == levels, ops
    assert all(isinstance(n.act, ir.PReluAct) for n in g.nodes if isinstance(n, ir.Conv) and n.act is not None)
    for h, w in ((9, 14), (16, 11)):
        assert_float_matches_ort(path, g, pixels(1, h, w, seed=h))


@pytest.mark.parametrize("op,needle", [
    ("pad", "pads=[0, 0, 1, 1, 0, 0, 1, 1] on an image tensor; supported: all zero"),
    ("slice", "a crop of 1 rows at the top and 0 columns at the left; supported: such a crop right after a "
              "ConvTranspose"),
    ("max", "Max of an image tensor; supported in shape arithmetic")])
def test_what_the_shape_ops_do_not_do_to_images(tmp_path, op, needle):
    """Pad, Slice and Max are taken for what tf2onnx's shape arithmetic needs; on image data
    beyond that they are refused, naming the node and what is supported."""
    from srhw.errors import UnsupportedModelError

    extra = {"pad": [helper.make_node("Pad", ["c", "pads"], ["y"], name="the_pad")],
             "slice": [helper.make_node("Slice", ["c", "one", "big", "two"], ["y"], name="the_slice")],
             "max": [helper.make_node("Max", ["c", "zero"], ["y"], name="the_max")]}[op]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv")] + extra
    inits = {"w": rng.normal(0, 0.3, (1, 1, 3, 3)), "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1]),
             "one": np.array([1]), "big": np.array([2**62]), "two": np.array([2]), "zero": np.array(0.0, np.float32)}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 1, "oh", "ow"], opset=13), tmp_path / f"{op}.onnx")
    with pytest.raises(UnsupportedModelError) as e:
        compile_float(path)
    assert f"'the_{op}'" in str(e.value) and needle in str(e.value), str(e.value)


def test_a_slice_of_the_bottom_and_right_edges_is_a_crop(tmp_path):
    """A Slice that drops the last row and column of the upsampled image (not after a
    ConvTranspose) becomes a Crop, computing what onnxruntime computes."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("DepthToSpace", ["c"], ["d"], blocksize=2, mode="CRD", name="d2s"),
             helper.make_node("Slice", ["d", "zeros", "minus_one", "hw"], ["y"], name="crop")]
    inits = {"w": rng.normal(0, 0.3, (4, 1, 3, 3)), "zeros": np.array([0, 0]), "minus_one": np.array([-1, -1]),
             "hw": np.array([2, 3])}
    path = save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 1, "oh", "ow"], opset=13), tmp_path / "crop.onnx")
    g = compile_float(path)
    crops = [n for n in g.nodes if isinstance(n, ir.Crop)]
    assert len(crops) == 1 and (crops[0].bottom, crops[0].right) == (1, 1)
    assert_float_matches_ort(path, g, pixels(1, 7, 10))
