"""Error-compensating (GPTQ-style) weight rounding: srhw.quant.fit_weights and its use in compile."""
import itertools

import numpy as np
import pytest

from srhw import golden
from srhw.compiler import float_reference
from srhw.errors import QuantizationError
from srhw.float_exec import conv2d
from srhw.quant import calibrate, quantize
from srhw.quant.fit_weights import fit, gram, patches
from tests.conftest import compile_float, pixels


def test_patches_times_weights_is_the_convolution():
    """im2col rows in weight order, with the conv's zero padding: W @ patches equals an
    independent convolution (float_exec.conv2d) at the sampled positions."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 7, 9))
    w = rng.normal(size=(4, 3, 3, 5))
    pads = (1, 2, 0, 1)
    ref = conv2d(x[None], w, None, pads)[0].reshape(4, -1)
    idx = np.array([0, 5, 17, ref.shape[1] - 1])
    assert np.allclose(w.reshape(4, -1) @ patches(x, 3, 5, pads, idx), ref[:, idx], atol=1e-12)


def test_weights_on_the_grid_and_exact_inputs_come_back_unchanged():
    """Hand-made case: codes already representable, X_q = X_f. The fit has nothing to improve."""
    rng = np.random.default_rng(2)
    step = np.array([[0.25, 0.5]])
    codes = np.array([[[[3, -2]], [[1, 7]]]])          # [O=1, C=2, 1, 2]
    w = codes * np.repeat(step, 2, axis=1).reshape(1, 2, 1, 2)
    xs = [rng.integers(0, 40, size=(2, 6, 8)).astype(float)]
    got, bias = fit(w, *gram(xs, xs, w, np.array([0.75]), (0, 0, 0, 1)), step, -8, 7)
    assert np.array_equal(got, codes)
    assert bias[0] == pytest.approx(0.75, rel=1e-5)  # H's relative damping is 1e-6


@pytest.mark.parametrize("masked", [None, 2])
def test_fit_beats_nearest_rounding_and_is_near_the_best_code_choice(masked):
    """Strongly correlated inputs (neighbouring pixels of a smooth signal), 40 random 6-tap
    filters: summed over them, the fit's output error is well under nearest rounding's (each
    with its best bias) and close to the exhaustive optimum over {floor, ceil} of every tap,
    found independently by enumeration. (GPTQ is greedy: on a single filter it can lose.)
    With tap `masked` outside the fit's mask, that tap's code is 0 on every filter, and the
    comparisons are against nearest rounding and the optimum with the same tap at 0."""
    got = nearest = best = 0.0
    step = 1.0 / 8
    idx = np.arange(14 * 16)
    keep = np.ones(6, dtype=bool)
    if masked is not None:
        keep[masked] = False
    free = int(keep.sum())
    for seed in range(40):
        rng = np.random.default_rng(seed)
        base = np.cumsum(rng.normal(size=(1, 14, 16)), axis=2) * 6.0 + 100.0
        xs = [base + rng.normal(scale=0.5, size=base.shape)]
        w = rng.normal(scale=0.3, size=(1, 1, 1, 6))
        b = np.array([0.2])
        codes, bias = fit(w, *gram(xs, xs, w, b, (0, 0, 0, 5)), np.array([[step]]), -128, 127,
                          None if masked is None else keep.reshape(w.shape))
        assert np.all(codes.reshape(-1)[~keep] == 0)
        x = patches(xs[0], 1, 6, (0, 0, 0, 5), idx)
        ref = w.reshape(-1) @ x + b[0]

        def error(c, bias=None, ref=ref, x=x):  # squared output error; no bias given: the best one
            r = ref - (c * step) @ x
            return float(np.sum((r - (r.mean() if bias is None else bias)) ** 2))

        got += error(codes.reshape(-1), bias[0])
        nearest += error(np.floor(w.reshape(-1) / step + 0.5) * keep)
        lo = np.floor(w.reshape(-1) / step) * keep
        best += min(error(lo + _spread(d, keep)) for d in itertools.product((0, 1), repeat=free))
    assert got < 0.85 * nearest
    assert got < 1.5 * best


def _spread(d: tuple[int, ...], keep: np.ndarray) -> np.ndarray:
    """The {0, 1} choices d for the kept taps, 0 for the others."""
    out = np.zeros(keep.size)
    out[keep] = d
    return out


def test_gptq_sparse_needs_no_multiplier_that_nearest_rounding_does_not():
    """Shipped FSRCNN-s x2, MSE calibration for both (the same grid): gptq-sparse's non-zero
    codes are a subset of nearest rounding's, so the 608 sub-pixel taps that are zero in the
    float model (its ConvTranspose lowered) stay zero and the folding plan needs no more
    multipliers."""
    import srhw
    from srhw import ir
    from srhw.backends.folding import make_target, plan
    from srhw.qir import QConv

    runs = {r: srhw.compile("fsrcnn_s_x2", progress=False, hls=False, method="mse", weight_rounding=r)
            for r in ("nearest", "gptq-sparse")}
    g = runs["gptq-sparse"].float_graph
    float_w = {n.name: g.constant(n.inputs[1]) for n in g.nodes if isinstance(n, ir.Conv)}
    assert sum(int((w == 0).sum()) for w in float_w.values()) == 608
    convs = {r: [l for l in c.qgraph.layers if isinstance(l, QConv)] for r, c in runs.items()}
    for sparse, near in zip(convs["gptq-sparse"], convs["nearest"]):
        assert np.array_equal(sparse.acc_frac, near.acc_frac) and np.array_equal(sparse.w_frac, near.w_frac)
        assert not np.any((sparse.weight != 0) & (near.weight == 0)), sparse.name
        assert not np.any(sparse.weight[float_w[sparse.source] == 0]), sparse.name
    target = make_target(in_size="1920x1080", fps=60, clock_mhz=300)
    mults = {r: plan(c.qgraph, target).multipliers for r, c in runs.items()}
    assert mults["gptq-sparse"] <= mults["nearest"], mults


def test_gptq_needs_the_calibration_frames(exported):
    graph = compile_float(exported("fsrcnn_x2", "torchscript"))
    frames = [pixels(1, 20, 24, seed=0)]
    with pytest.raises(QuantizationError, match="calibration frames"):
        quantize(graph, calibrate(graph, frames), 8, 8, "mse", weight_rounding="gptq")


@pytest.mark.parametrize("name, bits", [("fsrcnn_s_x2", 8), ("espcn_x3", 6)])
def test_gptq_brings_the_shipped_models_closer_to_float_on_unseen_images(name, bits):
    """On crops of images that scikit-image ships (not in the calibration set), the golden model
    with fitted codes (dense or zero-keeping) is closer to the float model (independent float
    executor) than with nearest rounding and the measured bias correction."""
    from skimage import data

    import srhw
    from srhw.imaging import psnr

    test = [np.ascontiguousarray(data.camera()[100:164, 100:180])[None],
            np.ascontiguousarray(data.moon()[200:260, 200:290])[None]]
    db = {}
    for rounding in ("nearest", "gptq", "gptq-sparse"):
        r = srhw.compile(name, bits=bits, progress=False, hls=False, method="mse", weight_rounding=rounding)
        assert r.summary["weight_rounding"] == rounding
        db[rounding] = np.mean([psnr(golden.run(r.qgraph, t), float_reference(r.float_graph, t)) for t in test])
    assert db["gptq"] > db["nearest"] + 0.5, db
    assert db["gptq-sparse"] > db["nearest"] + 0.5, db


@pytest.mark.parametrize("name", ["fsrcnn_x2", "espcn_x3"])
def test_conv_inputs_kept_by_calibration_give_the_same_quantization(exported, name):
    """The compiler takes the fit's conv inputs and the float reference from the calibration pass
    (calibrate's `kept`, scaled by the range equalization's factors) instead of running the
    float network again per method: the codes come out as when quantize computes them itself on
    the equalized graph, and the kept output is float_reference's."""
    from srhw.quant.quantize import conv_input_lists

    graph = compile_float(exported(name, "torchscript"))
    frames = [pixels(1, 20, 24, seed=0), pixels(1, 17, 29, seed=1)]
    kept = conv_input_lists(graph) | {graph.output: []}
    stats = calibrate(graph, frames, kept=kept)
    for f, y in zip(frames, kept[graph.output]):
        np.testing.assert_array_equal(np.clip(y, 0, 255), float_reference(graph, f))
    float_in = {v: xs for v, xs in kept.items() if v != graph.output}
    for method in ("max", "mse"):
        own = quantize(graph, stats, 8, 8, method, frames=frames, weight_rounding="gptq", zero_points=True)
        given = quantize(graph, stats, 8, 8, method, frames=frames, weight_rounding="gptq", zero_points=True,
                         float_in=float_in)
        convs = [(a, b) for a, b in zip(own.layers, given.layers) if hasattr(a, "weight")]
        assert len(convs) >= 3
        for a, b in convs:
            np.testing.assert_array_equal(a.weight, b.weight, err_msg=f"{method} {a.name}")
            np.testing.assert_array_equal(a.bias, b.bias, err_msg=f"{method} {a.name}")


def test_the_fit_damps_more_where_the_inverse_has_no_cholesky_factor(monkeypatch):
    """A Gram matrix so ill-conditioned that its computed inverse is not positive definite (a
    LapSRN x4 level at its initialisation): the fit retries with more damping instead of failing,
    and its codes stay within one step of the first damping's on a well-conditioned problem."""
    from srhw.quant import fit_weights as fw

    rng = np.random.default_rng(4)
    x = np.vstack([rng.integers(0, 256, (12, 500)).astype(float), np.ones((1, 500))])
    w = rng.normal(0, 0.3, (3, 12, 1, 1))
    h = x @ x.T
    tc = fw.target_of(w, rng.normal(0, 0.1, 3)) @ h
    step = np.full((3, 12), 2.0 ** -6)
    want, _ = fw.fit(w, h, tc, step, -127, 127)
    real, calls = np.linalg.cholesky, []

    def no_factor_first(a):
        calls.append(a.shape)
        if len(calls) == 1:
            raise np.linalg.LinAlgError("Matrix is not positive definite")
        return real(a)

    monkeypatch.setattr(np.linalg, "cholesky", no_factor_first)
    got, _ = fw.fit(w, h, tc, step, -127, 127)
    assert len(calls) == 2
    assert np.abs(got - want).max() <= 1 and np.abs(got).max() <= 127
