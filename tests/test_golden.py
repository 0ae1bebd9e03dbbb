"""The golden model against an independent naive integer implementation (tests/reference_int.py),
on whole odd and non-square frames, borders included, every activation kind; and against the
float model it approximates."""
import itertools
import json

import numpy as np
import pytest

from srhw import golden
from srhw.compiler import float_reference
from srhw.qir import from_json, to_json
from srhw.quant import calibrate, quantize
from tests import reference_int
from tests.conftest import EVERY_FAMILY_AND_SCALE, compile_float, pixels, quantized

MODELS = ["fsrcnn_x2", "fsrcnn_x2_odd", "fsrcnn_steep", "fsrcnn_x3", "espcn_x3", "srcnn", "residual_rgb", "shuffle_dcr_rgb"]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("bits", [4, 8, 12, 16])
@pytest.mark.parametrize("engine", ["numpy", "mlas", "reference"])
def test_golden_equals_naive_reference(exported, name, bits, engine):
    """Both engines and the int64 reference against the per-pixel Python-integer reading of
    docs/arithmetic.md."""
    _graph, q = quantized(exported, name, bits)
    doc = json.loads(to_json(q))
    c = q.input_channels
    h, w = (13, 14) if name == "srcnn" else (5, 7)
    for frame in (pixels(c, h, w, seed=9), np.full((c, h, w), 255, np.uint8),
                  (np.indices((c, h, w)).sum(0) % 2 * 255).astype(np.uint8)):
        if engine == "reference":
            got = golden.reference.run(q, frame, keep_all=True)[q.output]
        else:
            got = golden.run(q, frame, keep_all=True, engine=engine)[q.output]
        want = reference_int.run(doc, frame)
        assert got.shape == want.shape
        assert np.array_equal(got, want), f"{np.count_nonzero(got != want)} codes differ"


@pytest.mark.parametrize("name", MODELS)
def test_golden_at_16_bits_tracks_the_float_model(exported, name):
    """Arithmetic precision, not calibration coverage: the frame is part of the calibration set."""
    c = 3 if "rgb" in name else 1
    frame = pixels(c, 21, 30, seed=4)
    graph, q = quantized(exported, name, 16, extra_frames=[frame])
    ref = float_reference(graph, frame)
    got = golden.run(q, frame).astype(np.float64)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1.0  # one output code of rounding


def test_more_bits_is_never_much_worse(exported):
    graph = compile_float(exported("fsrcnn_x2", "dynamo"))
    frames = [pixels(1, 24, 24, seed=s) for s in range(3)]
    stats = calibrate(graph, frames)
    errs = []
    for bits in (4, 6, 8, 10, 12):
        q = quantize(graph, stats, bits, bits, "max")
        errs.append(np.mean([np.mean((golden.run(q, f) - float_reference(graph, f)) ** 2) for f in frames]))
    assert errs[-1] < errs[0] / 100
    assert all(b <= a * 1.05 for a, b in itertools.pairwise(errs)), errs


def test_ir_round_trip_is_lossless(exported):
    _, q = quantized(exported, "espcn_x3", 8)
    text = to_json(q)
    q2 = from_json(text)
    assert to_json(q2) == text
    frame = pixels(1, 9, 11)
    assert np.array_equal(golden.run(q, frame), golden.run(q2, frame))


def test_frame_validation(exported):
    _, q = quantized(exported, "espcn_x3", 8)
    with pytest.raises(TypeError):
        golden.run(q, np.zeros((1, 8, 8), np.float32))
    with pytest.raises(ValueError):
        golden.run(q, np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="engine"):
        golden.run(q, np.zeros((1, 8, 8), np.uint8), engine="blas")


def _int64_path(q, frame):
    """Every value's codes by srhw.golden.reference: docs/arithmetic.md in int64, no float
    arithmetic, no threads."""
    return golden.reference.run(q, frame, keep_all=True)


def _assert_same_codes(got: dict, want: dict) -> None:
    """got: case -> codes by value name; each case equal to `want` on every value."""
    for case, codes in got.items():
        for k in want:
            assert np.array_equal(codes[k], want[k]), (case, k)


@pytest.mark.parametrize("name,zero_points", [("fsrcnn_steep", False), ("fsrcnn_steep", True), ("espcn_x3", False),
                                              ("residual_rgb", False)])
def test_fast_float_path_equals_the_int64_path(exported, name, zero_points):
    """The exact-float execution and the int64 reference (srhw.golden.reference) agree, with
    zero points too."""
    _graph, q = quantized(exported, name, 8, zero_points=zero_points)
    assert any(l.out_zero is not None for l in q.layers) == zero_points
    frame = pixels(q.input_channels, 33, 18, seed=2)
    _assert_same_codes({"float": golden.run(q, frame, keep_all=True)}, _int64_path(q, frame))


@pytest.mark.parametrize("name", sorted(EVERY_FAMILY_AND_SCALE))  # the models the pins quantize too
def test_engines_agree_with_the_int64_path_on_zoo_models(name, monkeypatch):
    """NumPy's BLAS and onnxruntime's MLAS (every float32 conv, and the auto split) give the
    codes of the plain int64 execution, on a shipped model with its real widths (64- and
    32-channel convs, tanh, PReLU, sub-pixel output), an odd, non-square frame and row chunks
    that do not divide it."""
    import srhw
    from srhw.compiler import resolve_model

    q = srhw.compile(resolve_model(name), bits=8, progress=False, hls=False).qgraph
    frame = pixels(1, 37, 53, seed=5)
    monkeypatch.setattr(golden.threads, "CHUNK_COLUMNS", 500)  # several row chunks, the last one partial
    _assert_same_codes({e: golden.run(q, frame, keep_all=True, engine=e) for e in golden.ENGINES},
                       _int64_path(q, frame))


def test_pooled_buffers_never_leak_between_frames_threads_or_callers(exported, monkeypatch):
    """run() reuses its buffers from frame to frame (srhw.golden.buffers): frames of other sizes,
    two models in turn, two threads at once and layers executed on their own all get the codes
    of unpooled execution, and nothing a caller holds is overwritten later."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(golden.threads, "CHUNK_COLUMNS", 300)   # several row chunks per layer
    models = [quantized(exported, name, 8)[1] for name in ("espcn_x3", "fsrcnn_x2")]
    frames = [pixels(1, 37, 53, seed=1), pixels(1, 20, 11, seed=2), pixels(1, 41, 29, seed=3)]
    golden.release_buffers()
    with monkeypatch.context() as m:
        m.setattr(golden.buffers, "POOL_BYTES", 0)                   # every array fresh
        want = [[golden.run(q, f, keep_all=True) for f in frames] for q in models]
    assert golden.buffers.local_buffers().bytes == 0
    kept = golden.run(models[0], frames[0], keep_all=True)
    assert golden.buffers.local_buffers().bytes > 0                          # the pool is in use
    for q, wants in zip(models, want):
        for f, w in zip(frames, wants):
            got = golden.run(q, f, keep_all=True)
            assert all(np.array_equal(got[k], w[k]) for k in w)
    assert all(np.array_equal(kept[k], want[0][0][k]) for k in kept)   # still the first frame's

    jobs = [(i, j) for i in range(2) for j in range(3)] * 3
    with ThreadPoolExecutor(2) as pool:
        outs = list(pool.map(lambda ij: golden.run(models[ij[0]], frames[ij[1]]), jobs))
    for (i, j), out in zip(jobs, outs):
        assert np.array_equal(out, want[i][j][models[i].output].astype(np.uint8)), (i, j)

    layer = models[0].layers[0]
    codes = [want[0][j][models[0].input].astype(np.float32) for j in range(2)]
    first = golden.execute(layer, codes[0], engine="mlas")
    copy = first.copy()
    golden.execute(layer, codes[1], engine="mlas")
    assert np.array_equal(first, copy)
    assert np.array_equal(first, want[0][0][layer.output])


def test_blocked_layout_between_mlas_convs(monkeypatch):
    """ESPCN's 64-channel tanh output goes from one MLAS conv to the next in onnxruntime's blocked
    NCHWc layout; with that layout off, and when the reading conv cannot take it (it then
    unblocks), the codes are the same as the plain int64 execution's."""
    import platform

    import srhw
    from srhw.compiler import resolve_model

    q = srhw.compile(resolve_model("espcn_x2"), bits=8, progress=False, hls=False).qgraph
    if platform.machine() in ("x86_64", "AMD64"):
        assert golden.mlas.nchwc_block() in (8, 16)
        assert golden.mlas.blocked_values(q, "auto") == {q.layers[0].output}
    frame = pixels(1, 29, 61, seed=7)
    monkeypatch.setattr(golden.threads, "CHUNK_COLUMNS", 700)
    got = {"blocked": golden.run(q, frame, keep_all=True)}
    with monkeypatch.context() as m:
        m.setattr(golden.mlas, "blocked_values", lambda g, engine: frozenset())
        got["plain"] = golden.run(q, frame, keep_all=True)
    q2 = srhw.compile(resolve_model("espcn_x2"), bits=8, progress=False, hls=False).qgraph  # fresh sessions
    real = golden.mlas._without_reorders

    def no_blocked_input(model, blocked_input, blocked_output):
        if blocked_input:
            raise RuntimeError("not rewritten")
        return real(model, blocked_input, blocked_output)

    with monkeypatch.context() as m:
        m.setattr(golden.mlas, "_without_reorders", no_blocked_input)
        got["unblocked by the reader"] = golden.run(q2, frame, keep_all=True)
    _assert_same_codes(got, _int64_path(q, frame))


def test_layers_executed_alone_return_arrays_of_their_own(exported):
    """golden.execute outside run() (as the quantizer calls it, frame after frame) never hands
    back a buffer that a later call reuses: every layer of a residual model, and its Add with a
    PReLU epilogue (whose float path works in per-thread scratch), executed on one frame and then
    on another, keeps the first frame's codes, which are the int64 path's."""
    from dataclasses import replace

    from srhw.qir import QAdd, QConv

    _graph, q = quantized(exported, "residual_rgb", 8)
    add = next(l for l in q.layers if isinstance(l, QAdd))
    prelu = next(l.act for l in q.layers if isinstance(l, QConv) and l.act.kind == "prelu")
    layers = list(q.layers) + [replace(add, name=add.name + "_prelu", act=prelu)]
    envs = [golden.run(q, pixels(3, 19, 23, seed=s), keep_all=True) for s in (1, 2)]
    for layer in layers:
        args = [[env[i].astype(np.float32) for i in layer.inputs] for env in envs]
        first = golden.execute(layer, *args[0])
        kept = first.copy()
        golden.execute(layer, *args[1])
        assert np.array_equal(first, kept), layer.name
        want = golden.reference.execute(layer, *[a.astype(np.int64) for a in args[0]])
        assert np.array_equal(first, want), layer.name


def test_prelu_in_float32_where_only_saturating_products_are_inexact():
    """PReLU's negative branch runs in float32 when its products can exceed 2^24 units but every
    unsaturated result cannot (golden.requant.exact_where_unsaturated). Against the int64 route of
    docs/arithmetic.md, on accumulators over the whole certified range and dense around the
    points where the negative branch crosses the saturation thresholds, with zero points,
    negative slopes and slopes above one."""
    from srhw.fixed import Fmt
    from srhw.qir import PReluAct

    rng = np.random.default_rng(3)
    cout, bound = 6, (1 << 23) - 1
    slope_fmt, out_fmt = Fmt(8, 6, True), Fmt(8, 0, True)
    slope = np.array([13, -40, 64, 90, 1, 127])          # < 1, negative, 1, > 1 (steep), tiny, steepest
    acc_frac, out_frac = np.array([7, 6, 8, 5, 7, 4]), np.zeros(cout, np.int64)   # shifts as in FSRCNN
    zero = np.array([-100, 37, 0, 90, -128, 5])
    act = PReluAct(slope=slope, slope_fmt=slope_fmt)
    rq = golden.requant.Requant(acc_frac, act, out_fmt, out_frac, bound, np.float32, zero)
    s2 = acc_frac + slope_fmt.frac
    assert golden.exact_dtype(bound * int(np.abs(slope).max())) is np.float64   # the whole-range bound does not fit
    assert rq.neg_dtype is np.float32                                          # the unsaturated range does

    acc = rng.integers(-bound, bound + 1, (cout, 200_000))
    # the accumulators whose negative branch lands on each threshold, and their neighbours
    for c in range(cout):
        for i, code in enumerate((out_fmt.lo - zero[c], out_fmt.hi - zero[c])):
            a0 = int(np.floor(code * 2.0 ** s2[c] / slope[c]))
            acc[c, i * 50_000: (i + 1) * 50_000] = np.clip(a0 + rng.integers(-3000, 3000, 50_000), -bound, bound)
            acc[c, 100_000 + i * 200: 100_200 + i * 200] = np.clip(a0 + np.arange(-100, 100), -bound, bound)
    acc[:, 100_400: 103_405] = _near_integer_branch(slope, acc_frac - out_frac + slope_fmt.frac, bound)
    s = (acc_frac - out_frac).reshape(-1, 1)
    z = ((acc + rq.half) * np.ldexp(1.0, -s)).astype(np.float32)   # as the scaled conv gives it
    assert np.array_equal(z.astype(np.float64) * np.ldexp(1.0, s) - rq.half, acc)   # z is exact
    got = rq(z)
    want = golden.reference.epilogue(acc, acc_frac, act, out_fmt, out_frac, zero)
    assert np.array_equal(got.astype(np.int64), want)
    assert (want == out_fmt.lo).any() and (want == out_fmt.hi).any() and ((want > out_fmt.lo) & (want < out_fmt.hi)).mean() > 0.1

    # where the unsaturated range itself outgrows float32, the branch goes back to float64
    wide = golden.requant.Requant(acc_frac + 9, act, out_fmt, out_frac, bound, np.float32, zero)
    assert wide.neg_dtype is np.float64
    acc[:, 100_400: 103_405] = _near_integer_branch(slope, acc_frac - out_frac + 9 + slope_fmt.frac, bound)
    wide_z = ((acc + wide.half) * np.ldexp(1.0, -(s + 9))).astype(np.float32)
    want = golden.reference.epilogue(acc, acc_frac + 9, act, out_fmt, out_frac, zero)
    assert np.array_equal(wide(wide_z).astype(np.int64), want)
    wide.neg_dtype, wide.k, wide.d = np.float32, wide.k.astype(np.float32), wide.d.astype(np.float32)
    assert not np.array_equal(wide(wide_z).astype(np.int64), want)   # float32 there would be wrong: the check matters


def _near_integer_branch(slope: np.ndarray, s2: np.ndarray, bound: int, count: int = 3005) -> np.ndarray:
    """Per channel, `count` accumulators whose negative branch (acc * slope + 2^(s2-1)) * 2^-s2 lies
    a few units of 2^-s2 from an integer in about -300..300 (on either side): where a rounded
    product would change the floor. Solved exactly: acc * o = -(2^(s2-1) + r) / 2^a (mod
    2^(s2-a)) for slope = o * 2^a."""
    rows = []
    for sl, e in zip(slope.tolist(), s2.tolist()):
        a = (abs(sl) & -abs(sl)).bit_length() - 1
        o, mod = sl >> a, 1 << (e - a)
        accs = []
        for r in sorted({k * (1 << a) for k in (-3, -2, -1, 1, 2, 3)} | {-3, -2, -1, 1, 2, 3}):
            if ((1 << (e - 1)) + r) % (1 << a):
                continue
            acc0 = (-((1 << (e - 1)) + r) // (1 << a)) * pow(o, -1, mod) % mod
            reach = 300 * (1 << e) // abs(sl) // mod + 1
            accs.extend(acc0 + t * mod for t in range(-reach, reach + 1))
        accs = np.clip(np.array(accs, dtype=np.int64), -bound, bound)
        rows.append(np.resize(accs, count))
    return np.stack(rows)


def test_tanh_table_extended_over_the_certified_range():
    """Where the certificate bounds the tanh index to a few thousand entries past the table's
    ends, the epilogue looks up an extended table (its end values repeated) without clipping.
    Against the int64 route of docs/arithmetic.md on accumulators over the whole certified range,
    both bounds included and dense around the table's ends; and a bound too wide for the
    extension keeps the clip, with the same codes."""
    from srhw.fixed import Fmt
    from srhw.qir import TanhAct

    rng = np.random.default_rng(5)
    lut_fmt, out_fmt = Fmt(10, 6, True), Fmt(8, 7, True)
    grid = np.arange(lut_fmt.lo, lut_fmt.hi + 1) / 2.0 ** lut_fmt.frac
    lut = np.clip(np.floor(np.tanh(grid) * 2 ** out_fmt.frac + 0.5), out_fmt.lo, out_fmt.hi).astype(np.int64)
    act = TanhAct(lut_fmt=lut_fmt, lut=lut)
    acc_frac = np.array([15, 16, 17, 18, 15])        # shifts 9-12 onto the table's grid, as in ESPCN
    s = (acc_frac - lut_fmt.frac).reshape(-1, 1)
    for bound, extended in ((373_258, True), ((1 << 23) - 1, False)):
        rq = golden.requant.Requant(acc_frac, act, out_fmt, np.zeros(5, np.int64), bound, np.float32)
        assert (rq.extension is not None) is extended
        acc = rng.integers(-bound, bound + 1, (5, 60_000))
        acc[:, :2] = [-bound, bound]
        for c in range(5):   # the accumulators at and around each end of the plain table
            for edge in (lut_fmt.lo, lut_fmt.hi):
                acc[c, 2 + (edge > 0) * 4000: 4002 + (edge > 0) * 4000] = np.clip(
                    (edge << int(s[c, 0])) + np.arange(-2000, 2000) * (1 << max(int(s[c, 0]) - 4, 0)), -bound, bound)
        z = ((acc + rq.pre_add) * np.ldexp(1.0, -s)).astype(np.float32)   # as the scaled conv gives it
        assert np.array_equal(z.astype(np.float64) * np.ldexp(1.0, s) - rq.pre_add, acc)   # z is exact
        want = golden.reference.epilogue(acc, acc_frac, act, out_fmt, np.zeros(5, np.int64))
        assert np.array_equal(rq(z).astype(np.int64), want)
        assert (want == lut[0]).any() and (want == lut[-1]).any()
        if extended:
            below, above = rq.extension
            assert z.min() >= 0 and z.max() < rq.table.size      # every index inside, none clipped
            assert below > 0 and above > 0 and rq.table.size == lut.size + below + above


@pytest.mark.parametrize("name,size", [("fsrcnn_x2", (83, 101)), ("srcnn_915_x3", (70, 61)), ("espcn_x2", (64, 90))])
def test_tiled_run_equals_the_whole_frame(name, size):
    """srhw.tiling with tiles far smaller than the frame (odd sizes, a lowered ConvTranspose's crop,
    an SRCNN-style model at HR size) gives the whole frame's output, every pixel."""
    from srhw.tiling import halo, run_tiled

    import srhw

    q = srhw.compile(name, hls=False, progress=False).qgraph
    frame = pixels(1, *size, seed=4)
    whole = golden.run(q, frame)
    tiled = run_tiled(q, frame, tile=16)
    assert halo(q) < min(size) and tiled.shape == whole.shape
    np.testing.assert_array_equal(tiled, whole)
    # the float model through the same tiler: the same values up to float rounding
    from srhw.tiling import float_halo, tiled as tiled_run

    r = srhw.compile(name, hls=False, progress=False)
    f_whole = float_reference(r.float_graph, frame)
    f_tiled = tiled_run(lambda f: float_reference(r.float_graph, f), frame, q.scale, float_halo(r.float_graph), 16)
    assert f_tiled.shape == f_whole.shape and np.abs(f_tiled - f_whole).max() < 1e-9
