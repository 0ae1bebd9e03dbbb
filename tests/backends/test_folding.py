"""srhw.backends.folding: the plan meets the pixel rate with the multipliers it counts, and a
scheduled fold's tables deal every non-zero product to a lane exactly once."""
import math

import numpy as np
import pytest

import srhw
from srhw.backends.folding import make_target, plan, schedule_tables
from srhw.qir import QConv
from tests.conftest import quantized


@pytest.mark.parametrize("p,t", [(1, 1), (1, 7), (3, 7), (5, 12), (8, 19), (4, 64)])
def test_schedule_deals_each_product_once(p, t):
    """Read back from the tables, lane by lane and cycle by cycle: every (position q, output o)
    gets each of o's non-zero weights exactly once, each lane does at most T products, output o
    has ceil(P * R_o / T) lanes, and the products of (o, q) sit in lanes first .. first+count-1."""
    rng = np.random.default_rng(p * 100 + t)
    w = rng.integers(-3, 4, size=(5, 3, 3, 3)) * (rng.random((5, 3, 3, 3)) < 0.4)
    w[2] = 0                                                   # an output with no products at all
    s = schedule_tables(w, p, t)
    assert s.weight.shape[2] == t
    for o in range(w.shape[0]):
        r = int(np.count_nonzero(w[o]))
        assert s.lanes[o] == math.ceil(p * r / t)
        busy = s.q[o] < p
        assert np.all(s.weight[o][~busy] == 0) and busy.sum() == p * r
        for q in range(p):
            lanes, ks = np.nonzero(s.q[o] == q)
            got = sorted((int(s.c[o, l, k]), int(s.u[o, l, k]), int(s.v[o, l, k]), int(s.weight[o, l, k]))
                         for l, k in zip(lanes, ks))
            want = sorted((int(c), int(u), int(v), int(w[o, c, u, v])) for c, u, v in np.argwhere(w[o] != 0))
            assert got == want, (o, q)
            if r:
                assert set(lanes.tolist()) == set(range(s.first[o, q], s.first[o, q] + s.count[o, q]))


@pytest.mark.parametrize("size,fps", [("1920x1080", 60), ("640x360", 30), ("64x48", 60)])
def test_plan_meets_the_rate_with_the_multipliers_it_counts(exported, size, fps):
    """Every stage fits the cycle budget per LR pixel; each conv's multipliers are at least its
    non-zero products per pixel divided by its cycles per pixel (no fold does more work per
    multiplier than one product a cycle); the total is at least the bound."""
    _, q = quantized(exported, "fsrcnn_x2", 8)
    t = make_target(in_size=size, fps=fps)
    pl = plan(q, t)
    assert pl.projected_fps >= fps * (1 - 1e-9)
    assert pl.multipliers >= pl.bound * (1 - 1e-9)
    convs = {l.name: l for l in q.layers if isinstance(l, QConv)}
    for s in pl.stages:
        assert s.cycles_per_lr_pixel <= t.budget * (1 + 1e-9), s
        if s.name in convs:
            overhead = s.cycles_per_lr_pixel / (s.period_cycles / s.period if s.period else s.groups)
            assert s.multipliers * s.cycles_per_lr_pixel >= s.nonzero_macs * overhead * (1 - 1e-9), s


def test_forced_folds(exported):
    _, q = quantized(exported, "fsrcnn_x2", 8)
    t = make_target(in_size="64x48")
    outputs = {l.name: l.weight.shape[0] for l in q.layers if isinstance(l, QConv)}
    for g in (1, 2, 3, 100):
        for s in plan(q, t, groups=g).stages:
            if s.name in outputs:   # PO outputs a cycle over GROUPS cycles cover every output
                o = outputs[s.name]
                assert s.po == math.ceil(o / min(g, o)) and s.groups == math.ceil(o / s.po), s
    assert all(s.period == 3 and s.period_cycles == 7 for s in plan(q, t, period=(3, 7)).stages
               if s.name in outputs)


def test_folding_follows_the_pixel_rate(exported):
    path = exported("fsrcnn_x2", "dynamo")
    fast = srhw.compile(path, progress=False, in_size="1920x1080", fps=60).summary["hls"]
    slow = srhw.compile(path, progress=False, in_size="640x360", fps=30).summary["hls"]
    # 1080p60 at 300 MHz leaves 2.41 cycles per pixel, 360p30 leaves 43: far fewer multipliers
    assert fast["cycles_per_lr_pixel_budget"] == pytest.approx(300e6 / (1920 * 1080 * 60), rel=1e-3)
    assert fast["projected_fps"] >= 60 and slow["projected_fps"] >= 30
    assert slow["multipliers"] * 2 < fast["multipliers"]
    assert all(s["cycles_per_lr_pixel"] <= slow["cycles_per_lr_pixel_budget"] for s in slow["stages"])


@pytest.mark.parametrize("share", [0.6, 0.25])
def test_a_plan_too_large_for_the_part_is_folded_to_the_highest_rate_that_fits(exported, share):
    """A part with fewer DSP slices than the 1080p60 plan's multipliers: the plan takes at most
    that many, and 1% more rate would not fit; the plan at the asked rate is kept beside it."""
    from dataclasses import replace

    _, q = quantized(exported, "fsrcnn_x2", 8)
    t = make_target(in_size="1920x1080", fps=60)
    wanted = plan(q, t)
    small = replace(t, dsp=int(wanted.multipliers * share))
    fitted = plan(q, small)
    assert fitted.requested is not None and fitted.requested.multipliers == wanted.multipliers
    assert fitted.multipliers <= small.dsp < wanted.multipliers
    assert fitted.projected_fps >= fitted.target.fps * (1 - 1e-9) and fitted.target.fps < 60
    assert plan(q, replace(small, fps=fitted.target.fps * 1.01, dsp=10**9)).multipliers > small.dsp
    assert plan(q, replace(small, dsp=10**9)).requested is None       # it fits: nothing changes
    assert plan(q, small, groups=1).requested is None                 # a forced fold is taken as given


def test_a_slow_fit_still_finds_the_rate_that_fits(tmp_path):
    """3x3 convs 1 -> 16 -> 16 -> 16 -> 1 (144 products per output of the middle two) on a part
    with 120 DSP slices: only schedules of 48 cycles or more fit (3 lanes per output, 108
    multipliers), about 3 fps at 1080p. Below 2.2 fps each stage's budget passes 64 cycles,
    where one output per cycle (all 144 products in parallel) costs 433 multipliers in all: the
    search takes the 64-cycle schedules there too, so a lower rate never costs more, and finds
    the rate that fits (without them it found none). A part smaller than any schedule gets input
    chunks; one with fewer slices than convolutions, no rate."""
    from dataclasses import replace

    from onnx import helper

    from srhw.quant import calibrate, quantize
    from tests.conftest import compile_float, make_model, pixels, save

    rng = np.random.default_rng(0)
    nodes, inits = [], {"w0": rng.normal(0, 0.3, (16, 1, 3, 3))}
    nodes.append(helper.make_node("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1]))
    for k in range(1, 4):
        inits[f"w{k}"] = rng.normal(0, 0.1, (16 if k < 3 else 1, 16, 3, 3))
        nodes += [helper.make_node("Relu", [f"c{k - 1}"], [f"r{k}"]),
                  helper.make_node("Conv", [f"r{k}", f"w{k}"], ["y" if k == 3 else f"c{k}"], pads=[1, 1, 1, 1])]
    graph = compile_float(save(make_model(nodes, inits, [1, 1, "h", "w"], [1, 1, "h", "w"]), tmp_path / "m.onnx"))
    q = quantize(graph, calibrate(graph, [pixels(1, 24, 31, seed=0)]), 8, 8, "max")
    t = replace(make_target(in_size="1920x1080", fps=60), dsp=120)
    fitted = plan(q, t)
    assert fitted.requested is not None and fitted.multipliers <= 120
    assert 2.5 < fitted.target.fps < 3.5 and fitted.projected_fps >= fitted.target.fps * (1 - 1e-9)
    # 50 DSPs: below what 64-cycle schedules reach (by hand at most 9 + 2 x 16 x ceil(144 / 64) +
    # ceil(144 / 64) = 108 multipliers), so input chunks: each output group's 144 taps over several
    # cycles, at a lower rate that still meets every stage's budget
    deep = plan(q, replace(t, dsp=50))
    assert deep.requested is not None and deep.multipliers <= 50 and any(s.chunks > 1 for s in deep.stages)
    assert deep.target.fps < fitted.target.fps and deep.projected_fps >= deep.target.fps * (1 - 1e-9)
    shapes = {l.name: l.weight.shape for l in q.layers if isinstance(l, QConv)}
    for s in deep.stages:
        assert s.cycles_per_lr_pixel <= deep.target.budget * (1 + 1e-9), s
        if s.chunks > 1:  # PO x SIMD multipliers, GROUPS x CHUNKS steps cover every output and tap
            o, i, kh, kw = shapes[s.name]
            assert s.po * s.simd >= s.multipliers and s.groups * s.po >= o and s.chunks * s.simd >= i * kh * kw, s
    # 3 DSPs, fewer than the 4 convolutions: no rate fits; the deepest fold takes one multiplier each
    none = plan(q, replace(t, dsp=3))
    assert none.requested is None and none.deepest == 4
    assert none.multipliers == plan(q, replace(t, dsp=10**9)).multipliers


def test_chunk_words_hold_every_weight_once():
    """The chunked fold's ROM [GROUPS, CHUNKS, PO, SIMD], read back by hand: word (g, s), lane p,
    slot j is output g * PO + p's tap s * SIMD + j in ONNX order (c, u, v), zero past the ends."""
    from srhw.backends.folding import chunk_words

    w = np.arange(1, 5 * 2 * 3 * 3 + 1).reshape(5, 2, 3, 3)  # 18 taps, 5 outputs, no zero weight
    words = chunk_words(w, groups=3, po=2, chunks=4, simd=5)
    assert words.shape == (3, 4, 2, 5)
    assert words[1, 2, 0, 3] == w[2, 1, 1, 1]                 # output 1*2+0 = 2, tap 2*5+3 = 13 = (1, 1, 1)
    assert words[2, 3, 1].tolist() == [0] * 5                 # output 5 does not exist
    assert words[0, 3, 0].tolist() == [w[0, 1, 2, 0], w[0, 1, 2, 1], w[0, 1, 2, 2], 0, 0]  # taps 15..17, then none
    assert sorted(words[words != 0].tolist()) == sorted(w.ravel().tolist())


@pytest.mark.parametrize("outputs,taps,steps,want", [(64, 576, 1000, (32, 31)), (64, 576, 64 * 576, (64, 576)),
                                                     (16, 9, 100, (8, 9)), (32, 1, 500, (32, 1))])
def test_chunk_shape_takes_the_fewest_multipliers(outputs, taps, steps, want):
    """By hand: 64 outputs of 576 taps in 1000 steps: 31 chunks of 19 taps (589 slots) in 32
    groups of 2 outputs (992 steps), 38 multipliers, one fewer than 15 chunks of 39 taps for 64
    groups of one output (960 steps); 16 chunks of 36 leave 62 groups, 2 outputs each, 72.
    Unlimited steps: one multiplier. 16 outputs of 9 taps in 100: 9 chunks of one tap, 8 groups
    of 2 outputs (72 steps, 2 multipliers; one output a group would take 144). One tap: no
    chunks to take."""
    from srhw.backends.folding import chunk_shape

    assert chunk_shape(outputs, taps, steps) == want


@pytest.mark.parametrize("a,b,slices", [(22, 25, 2), (27, 18, 1), (18, 27, 1), (28, 18, 2), (20, 9, 1), (30, 25, 4)])
def test_dsp_tiles_of_a_wide_product(a, b, slices):
    """A signed a x b product on DSP48E2 slices (27 x 18 each): by hand, the wider operand in
    26-bit pieces and the narrower in 17-bit ones once it does not fit one slice."""
    from srhw.backends.folding import dsp_tiles

    assert dsp_tiles(a, b) == slices


def test_a_plan_says_when_its_memories_exceed_the_parts_block_ram():
    """The shipped FSRCNN x2 at 1080p on a KV260 (288 BRAM18): its line buffers and FIFOs take
    281 at rows of 1920 pixels, and fit; with rows up to 3840 pixels (--max-width) they take
    553, whatever the frame rate, and the summary and the report say so."""
    fits = {}
    for max_w in (1920, 3840):
        res = srhw.compile("fsrcnn_x2", board="kv260", in_size="1920x1080", max_width=max_w, progress=False)
        h = res.summary["hls"]
        assert h["bram18_slices"] == 288
        assert h["bram18_total"] == h["bram18_estimate"] + h["dataflow"]["fifo_bram18"]
        fits[max_w] = (h["fits_bram18"], h["bram18_total"])
        assert ("more than the part's 288" in res.report) == (not h["fits_bram18"])
    assert fits[1920][0] and not fits[3840][0] and fits[3840][1] > 1.9 * fits[1920][1] - 10
