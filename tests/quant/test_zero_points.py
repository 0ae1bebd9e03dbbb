"""Zero points (srhw.quant.zero_points): asymmetric activation codes whose consumers absorb the
offset in their bias and pad with the code of real 0.

Independent checks: the naive integer reference (tests/reference_int.py) on whole odd frames,
borders included; the float model (at 16 bits the golden model must track it, borders
included, which fails if the padding held code 0 instead of the zero point); hand-computed
ranges."""
import json
from dataclasses import replace

import numpy as np
import pytest

from srhw import golden
from srhw.compiler import float_reference
from srhw.qir import QConv, from_json, to_json
from srhw.quant import calibrate, quantize
from srhw.quant.calibrate import CalibrationStats
from srhw.quant.zero_points import kept_interval
from tests import reference_int
from tests.conftest import compile_float, pixels


def _quantized(exported, name, bits, method="max", extra=()):
    graph = compile_float(exported(name, "torchscript"))
    frames = [pixels(1, 24, 31, seed=s) for s in range(2)] + list(extra)
    return graph, quantize(graph, calibrate(graph, frames), bits, bits, method, zero_points=True)


def _centred(q):
    return [l for l in q.layers if l.out_zero is not None]


@pytest.mark.parametrize("name", ["fsrcnn_x2", "fsrcnn_x2_odd", "fsrcnn_steep"])
@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("method", ["max", "mse"])
def test_golden_with_zero_points_equals_the_naive_reference(exported, name, bits, method):
    _, q = _quantized(exported, name, bits, method)
    assert _centred(q), "no tensor got a zero point: the test would prove nothing"
    assert any(isinstance(l, QConv) and l.pad_code is not None and l.pads != (0, 0, 0, 0) for l in q.layers)
    doc = json.loads(to_json(q))
    for frame in (pixels(1, 5, 7, seed=9), np.full((1, 6, 5), 255, np.uint8), np.zeros((1, 4, 9), np.uint8)):
        for engine in ("numpy", "mlas"):
            got = golden.run(q, frame, keep_all=True, engine=engine)
            want_out = reference_int.run(doc, frame)
            assert np.array_equal(got[q.output], want_out), f"{np.count_nonzero(got[q.output] != want_out)} differ"


def test_borders_stay_exact_at_16_bits(exported):
    """The padding holds the zero point: at 16 bits the golden model follows the float model to
    one code on every pixel, borders included. Padding with code 0 instead puts the border off."""
    frame = pixels(1, 41, 46, seed=4)
    graph, q = _quantized(exported, "fsrcnn_x2", 16, extra=[frame])
    ref = float_reference(graph, frame)
    assert np.abs(golden.run(q, frame).astype(np.float64) - ref).max() <= 1.0
    padded = [l for l in q.layers if isinstance(l, QConv) and l.pad_code is not None and any(l.pads)]
    assert padded
    wrong = replace(q, layers=tuple(replace(l, pad_code=None) if l in padded else l for l in q.layers))
    err = np.abs(golden.run(wrong, frame).astype(np.float64) - ref)
    assert err.max() > 4.0
    reach = q.scale * sum(max(l.pads) for l in q.layers if isinstance(l, QConv))  # how far a border acts
    assert err[:, reach:-reach, reach:-reach].max() <= 1.0  # only the border moved


def test_zero_points_are_the_codes_of_real_zero(exported):
    graph, q = _quantized(exported, "fsrcnn_x2", 8)
    frames = [pixels(1, 24, 31, seed=s) for s in range(2)]  # the calibration frames
    stats = calibrate(graph, frames)
    codes = [golden.run(q, f, keep_all=True) for f in frames]
    one_sided = 0
    for l in _centred(q):
        assert isinstance(l, QConv) and l.act.kind in ("prelu", "none") and l.out_fmt.signed
        assert np.all((l.out_zero >= l.out_fmt.lo) & (l.out_zero <= l.out_fmt.hi))
        readers = [r for r in q.layers if l.output in r.inputs]
        assert readers and all(isinstance(r, QConv) and np.array_equal(r.pad, l.out_zero) for r in readers)
        got = np.concatenate([c[l.output].reshape(l.out_zero.size, -1) for c in codes], axis=1)
        st = stats[l.output]
        for c in range(l.out_zero.size):
            if st.min[c] >= 0 and st.max[c] > 0:
                # a channel that is never negative gets codes from real 0 upwards, not both sides
                one_sided += 1
                assert l.out_zero[c] < 0 and got[c].min() >= l.out_zero[c]
    assert one_sided
    # the pixel output and anything before a DepthToSpace stay symmetric
    last = [l for l in q.layers if isinstance(l, QConv)][-1]
    assert last.out_zero is None


def test_kept_interval_by_hand():
    x = np.concatenate([np.linspace(-1.0, 3.0, 4001), [3.0]])
    st = CalibrationStats()
    st.add(x.reshape(1, 1, 1, -1), np.random.default_rng(0))
    assert kept_interval(st, 0, "max", 8) == (-1.0, 3.0)
    pos = CalibrationStats()
    pos.add(np.linspace(0.5, 2.0, 100).reshape(1, 1, 1, -1), np.random.default_rng(0))
    assert kept_interval(pos, 0, "max", 8) == (0.0, 2.0)  # 0 stays inside: padding needs its code
    a, b = kept_interval(st, 0, "percentile", 8)
    assert -1.0 < a < -0.999 and 2.999 < b <= 3.0
    # mse on a long tail: a few huge values are clipped, and both ends shrink by one factor
    tail = CalibrationStats()
    tail.add(np.concatenate([np.random.default_rng(1).normal(0, 1, 20000), [40.0, -10.0]]).reshape(1, 1, 1, -1),
             np.random.default_rng(0))
    a, b = kept_interval(tail, 0, "mse", 8)
    assert b < 40.0 and np.isclose(a / b, -10.0 / 40.0)


def test_ir_round_trip_keeps_zero_points(exported):
    _, q = _quantized(exported, "fsrcnn_x2", 8)
    text = to_json(q)
    assert to_json(from_json(text)) == text
    frame = pixels(1, 9, 11)
    assert np.array_equal(golden.run(q, frame), golden.run(from_json(text), frame))
    # an IR without zero points written as version 2 (before they existed) still loads
    doc = json.loads(to_json(quantize(compile_float(exported("fsrcnn_x2", "torchscript")),
                                      calibrate(compile_float(exported("fsrcnn_x2", "torchscript")), [frame]), 8, 8)))
    doc["version"] = 2
    for layer in doc["layers"]:
        layer.pop("out_zero")
        layer.pop("pad_code", None)
    assert from_json(json.dumps(doc)).layers[0].out_zero is None


def test_zero_points_help_on_unseen_images():
    """The shipped FSRCNN-s x2 against its float model on an image it was not calibrated on."""
    import srhw
    from skimage import data

    img = data.camera()[96:224, 160:288].astype(np.uint8)[None]
    runs = {zp: srhw.compile("fsrcnn_s_x2", progress=False, hls=False, method="mse", zero_points=zp)
            for zp in (False, True)}
    assert _centred(runs[True].qgraph) and not _centred(runs[False].qgraph)
    ref = float_reference(runs[True].float_graph, img)
    mse = {zp: float(np.mean((golden.run(r.qgraph, img).astype(np.float64) - ref) ** 2)) for zp, r in runs.items()}
    assert mse[True] < 0.9 * mse[False], mse
