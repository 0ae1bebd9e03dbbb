"""Weight granularity and the measured bias correction."""
import json

import numpy as np
import pytest

from srhw import golden
from srhw.compiler import float_reference
from srhw.qir import to_json
from srhw.quant import calibrate, quantize
from srhw.quant.quantize import significant_bits
from tests import reference_int
from tests.conftest import compile_float, pixels


def test_significant_bits_by_hand():
    assert significant_bits(np.array([127, -128, 0])) == 8      # 0b1111111 and -0b10000000 >> 7 = -1
    assert significant_bits(np.array([3 << 10, -(5 << 4)])) == 4  # 0b11 and -0b101: three bits + sign
    assert significant_bits(np.zeros(3, dtype=np.int64)) == 1


@pytest.mark.parametrize("name", ["fsrcnn_x2", "espcn_x3", "residual_rgb"])
def test_kernel_granularity_keeps_wbits_significant_bits_and_stays_exact(exported, name):
    graph = compile_float(exported(name, "torchscript"))
    c = int(graph.inputs[0].shape[1])
    frames = [pixels(c, 24, 31, seed=s) for s in range(2)]
    stats = calibrate(graph, frames)
    q = quantize(graph, stats, 6, 8, "mse", granularity="kernel", frames=frames)
    convs = [l for l in q.layers if l.kind == "Conv"]
    assert all(l.stats["weight_significant_bits"] <= 6 for l in convs)
    assert any(l.w_width > 6 for l in convs)  # some slices were shifted: the register is wider
    for l in convs:  # the certificate counts the shifted weights
        bound = max(int(np.abs(l.weight[o]).sum()) * q.fmt_of(l.inputs[0]).max_abs + abs(int(l.bias[o]))
                    for o in range(l.weight.shape[0]))
        assert l.cert.acc_bound == bound
    doc = json.loads(to_json(q))
    frame = pixels(c, 9, 11, seed=4)
    assert np.array_equal(golden.run(q, frame, keep_all=True)[q.output], reference_int.run(doc, frame))


def test_measured_bias_correction_removes_the_brightness_offset():
    """Shipped FSRCNN-s x3 (a trained model, whose last layer has a large DC gain): against the
    float model (independent), low-resolution frames (x2 downscales of images that scikit-image
    ships, away from the calibration crops) show a mean offset of 2.3 codes with the per-layer
    estimate and 0.4 with the measured correction (nearest rounding)."""
    from skimage import data

    import srhw
    from srhw.compiler import load_frames
    from srhw.imresize import imresize

    graph = srhw.compile("fsrcnn_s_x3", progress=False, hls=False, weight_rounding="nearest").float_graph
    frames = load_frames(None, 1)
    stats = calibrate(graph, frames)
    test = [np.ascontiguousarray(imresize(data.camera(), scale=0.5)[10:74, 20:100])[None],
            np.ascontiguousarray(imresize(data.moon(), scale=0.5)[100:160, 100:190])[None]]
    err = {}
    for label, fr in (("estimate", None), ("measured", frames)):
        q = quantize(graph, stats, 8, 8, "mse", frames=fr)
        d = [golden.run(q, t).astype(float) - float_reference(graph, t) for t in test]
        err[label] = (abs(float(np.mean([x.mean() for x in d]))), float(np.mean([np.mean(x ** 2) for x in d])))
    assert err["measured"][0] < 0.5
    assert err["estimate"][0] > 1.0
    assert err["measured"][1] < err["estimate"][1]
