"""The hls/ stage library on its own with g++: small hand-configured stages, expected values
from NumPy written straight from docs/arithmetic.md (not from the golden model)."""
import subprocess
import textwrap

import numpy as np
import pytest

from srhw.backends.csim import cxx_command, own_warnings
from srhw.resources import hls_dir

PRELUDE = """
#include <cstdio>
#include <iostream>
#include "srhw_conv.h"
#include "srhw_video.h"
"""


def run_cpp(tmp_path, body: str, stdin: str) -> list[int]:
    src = tmp_path / "t.cpp"
    src.write_text(PRELUDE + textwrap.dedent(body))
    exe = tmp_path / "t"
    build = subprocess.run(cxx_command([src], hls_dir(), exe, opt="-O1"), capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    assert own_warnings(build.stderr, hls_dir(), src) == []
    r = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "WARNING" not in r.stdout, r.stdout + r.stderr
    return [int(v) for v in r.stdout.split()]


CONV = """
struct cfg {
    typedef ap_uint<8> in_t; typedef ap_int<20> out_t; typedef ap_int<6> w_t; typedef signed char ws_t;
    typedef ap_int<14> mul_t; static const int LUT_MUL = %(zp)d;  // both product<> forms compute the same
    typedef ap_int<20> acc_t; typedef ap_int<24> wide_t; typedef ap_int<2> slope_t;
    static const int C_IN = 2, C_OUT = 3, KH = 3, KW = 2, PAD_T = 1, PAD_L = 0, PAD_B = 2, PAD_R = 1;
    static const int MAX_W = 16, PO = %(po)d, GROUPS = %(groups)d, CHUNKS = %(chunks)d, SIMD = %(simd)d;
    static const int ACT = srhw::ACT_NONE, SLOPE_FRAC = 0, OUT_LO = -(1 << 19), OUT_HI = (1 << 19) - 1;
    static const int LUT_LO = 0, LUT_HI = 0, LUT_SIZE = 1, HAS_ZERO = %(zp)d, HAS_PAD = %(zp)d;
    typedef ap_uint<1> mult_t; static const int HAS_MULT = 0, HALF_EVEN = 0;
};
const int G = cfg::GROUPS, PO = cfg::PO, S = cfg::CHUNKS, SIMD = cfg::SIMD;
int main() {
    int h, w; std::cin >> h >> w;
    // step g * CHUNKS + s's word holds outputs g * PO + p (zeros past the last output) and taps
    // s * SIMD + j of the order (c * KH + u) * KW + v (zeros past the last)
    static cfg::ws_t wt[G * S][PO][SIMD] = {}; cfg::acc_t bias[G][PO] = {}; int shift[G][PO] = {}, zero[G][PO] = {};
    cfg::slope_t slope[G][PO] = {}; int lo[G][PO] = {}, hi[G][PO] = {}; cfg::out_t lut[1] = {0};
    for (int o = 0; o < 3; o++) for (int t = 0; t < 12; t++) { int x; std::cin >> x; wt[o / PO * S + t / SIMD][o %% PO][t %% SIMD] = x; }
    for (int o = 0; o < 3; o++) { int b; std::cin >> b; bias[o / PO][o %% PO] = b; }
    cfg::in_t pad[2];
    for (int o = 0; o < 3; o++) std::cin >> zero[o / PO][o %% PO];
    for (int c = 0; c < 2; c++) { int x; std::cin >> x; pad[c] = x; }
    hls::stream<srhw::vec<cfg::in_t, 2> > in; hls::stream<srhw::vec<cfg::out_t, 3> > out;
    for (int i = 0; i < h * w; i++) { srhw::vec<cfg::in_t, 2> px; for (int c = 0; c < 2; c++) { int x; std::cin >> x; px.v[c] = x; } in.write(px); }
    static cfg::mult_t mult[G][PO] = {};
    srhw::conv_stage<cfg>(in, out, h, w, wt, bias, shift, slope, lo, hi, zero, mult, lut, pad);
    while (!out.empty()) { srhw::vec<cfg::out_t, 3> r = out.read(); for (int o = 0; o < 3; o++) std::printf("%%d ", int(r.v[o])); }
    std::printf("%%d\\n", int(in.size()));
}
"""


def _zero_points(rng, zp: bool) -> tuple[np.ndarray, np.ndarray]:
    """Output zero points and input padding codes (all 0 for the symmetric stage)."""
    if not zp:
        return np.zeros(3, dtype=np.int64), np.zeros(2, dtype=np.int64)
    return rng.integers(-128, 128, 3), rng.integers(1, 256, 2)


def _padded(x: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """pads top 1, left 0, bottom 2, right 1, holding pad[c] in channel c (docs/arithmetic.md)."""
    h, w = x.shape[1:]
    xp = np.broadcast_to(pad.reshape(-1, 1, 1), (2, h + 3, w + 1)).copy()
    xp[:, 1:1 + h, 0:w] = x
    return xp


@pytest.mark.parametrize("po,groups,chunks,zp", [(3, 1, 1, False), (2, 2, 1, True), (1, 3, 1, True),
                                                  (2, 2, 5, True), (3, 1, 4, False)])
def test_conv_stage_padding_and_folding(tmp_path, po, groups, chunks, zp):
    """Output groups, and input chunks: 12 taps in 5 chunks of 3 (the last one empty) or 4 of 3,
    each output's sum carried over its group's chunks."""
    rng = np.random.default_rng(po)
    h, w = 5, 7
    wt = rng.integers(-32, 32, (3, 2, 3, 2))
    bias = rng.integers(-500, 500, 3)
    x = rng.integers(0, 256, (2, h, w))
    zero, pad = _zero_points(rng, zp)
    xp = _padded(x, pad)
    oh, ow = h + 3 - 3 + 1, w + 1 - 2 + 1
    want = np.array([[[bias[o] + np.sum(wt[o] * xp[:, y:y + 3, xx:xx + 2]) + zero[o] for o in range(3)]
                      for xx in range(ow)] for y in range(oh)])
    stdin = f"{h} {w} " + " ".join(map(str, wt.reshape(-1))) + " " + " ".join(map(str, bias)) + " " + \
        " ".join(map(str, zero)) + " " + " ".join(map(str, pad)) + " " + " ".join(map(str, x.transpose(1, 2, 0).reshape(-1)))
    simd = -(-12 // chunks) if chunks > 1 else 12
    got = run_cpp(tmp_path, CONV % {"po": po, "groups": groups, "chunks": chunks, "simd": simd, "zp": int(zp)}, stdin)
    assert got[-1] == 0  # every input pixel read
    np.testing.assert_array_equal(np.array(got[:-1]).reshape(oh, ow, 3), want)


SCHED = """
struct cfg {
    typedef ap_uint<8> in_t; typedef ap_int<20> out_t; typedef ap_int<6> w_t; typedef signed char ws_t;
    typedef ap_int<14> mul_t; static const int LUT_MUL = %(zp)d;  // both product<> forms compute the same
    typedef ap_int<20> acc_t; typedef ap_int<24> wide_t; typedef ap_int<2> slope_t;
    static const int C_IN = 2, C_OUT = 3, KH = 3, KW = 2, PAD_T = 1, PAD_L = 0, PAD_B = 2, PAD_R = 1;
    static const int MAX_W = 16, P = %(p)d, T = %(t)d, LANES = %(lanes)d, SPAN = %(span)d;
    static const int ACT = srhw::ACT_NONE, SLOPE_FRAC = 0, OUT_LO = -(1 << 19), OUT_HI = (1 << 19) - 1;
    static const int LUT_LO = 0, LUT_HI = 0, LUT_SIZE = 1, HAS_ZERO = %(zp)d, HAS_PAD = %(zp)d;
    typedef ap_uint<1> mult_t; static const int HAS_MULT = 0, HALF_EVEN = 0;
};
static const unsigned short tap[3][%(lanes)d][%(t)d] = %(tap)s;
static const cfg::ws_t wt[3][%(lanes)d][%(t)d] = %(wt)s;
static const unsigned char pos[3][%(lanes)d][%(t)d] = %(pos)s;
static const unsigned short first[3][%(p)d] = %(first)s;
static const unsigned short count[3][%(p)d] = %(count)s;
int main() {
    int h, w; std::cin >> h >> w;
    cfg::acc_t bias[3]; int shift[3] = {0, 0, 0};
    cfg::slope_t slope[3] = {0, 0, 0}; int lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0}; cfg::out_t lut[1] = {0};
    for (int o = 0; o < 3; o++) { int b; std::cin >> b; bias[o] = b; }
    int zero[3]; cfg::in_t pad[2];
    for (int o = 0; o < 3; o++) std::cin >> zero[o];
    for (int c = 0; c < 2; c++) { int x; std::cin >> x; pad[c] = x; }
    hls::stream<srhw::vec<cfg::in_t, 2> > in; hls::stream<srhw::vec<cfg::out_t, 3> > out;
    hls::stream<srhw::period<cfg::acc_t, cfg::P, 3> > sums;
    for (int i = 0; i < h * w; i++) { srhw::vec<cfg::in_t, 2> px; for (int c = 0; c < 2; c++) { int x; std::cin >> x; px.v[c] = x; } in.write(px); }
    srhw::conv_sched_mac<cfg>(in, sums, h, w, tap, wt, pos, first, count, bias, pad);
    cfg::mult_t mult[3] = {1, 1, 1};
    srhw::conv_sched_out<cfg>(sums, out, h, w, shift, slope, lo, hi, zero, mult, lut);
    while (!out.empty()) { srhw::vec<cfg::out_t, 3> r = out.read(); for (int o = 0; o < 3; o++) std::printf("%%d ", int(r.v[o])); }
    std::printf("%%d %%d\\n", int(in.size()), int(sums.size()));
}
"""


@pytest.mark.parametrize("p,t,zp", [(1, 1, False), (1, 4, True), (5, 12, True), (3, 7, False), (4, 4, True)])
def test_scheduled_conv_stage(tmp_path, p, t, zp):
    """P positions in T cycles, zero weights skipped: same outputs as a plain correlation."""
    from srhw.backends.folding import schedule_tables
    from srhw.backends.hls import c_array

    rng = np.random.default_rng(10 * p + t)
    h, w = 5, 7
    wt = rng.integers(-32, 32, (3, 2, 3, 2)) * (rng.random((3, 2, 3, 2)) < 0.7)  # some zero weights
    bias = rng.integers(-500, 500, 3)
    x = rng.integers(0, 256, (2, h, w))
    zero, pad = _zero_points(rng, zp)
    xp = _padded(x, pad)
    oh, ow = h + 1, w
    want = np.array([[[bias[o] + np.sum(wt[o] * xp[:, y:y + 3, xx:xx + 2]) + zero[o] for o in range(3)]
                      for xx in range(ow)] for y in range(oh)])
    s = schedule_tables(wt, p, t)
    assert np.count_nonzero(s.weight) == p * np.count_nonzero(wt)  # every non-zero product, once per position
    assert list(s.lanes) == [-(-p * np.count_nonzero(wt[o]) // t) for o in range(3)]  # the plan's multipliers
    # window tap of product (q, c, u, v): row u, column v + q of the KW + P - 1 columns (srhw_conv.h)
    q = np.minimum(s.q, p - 1)
    tap = ((s.u * (2 + p - 1) + s.v + q) * 2 + s.c) * (s.weight != 0)
    code = SCHED % {"p": p, "t": t, "lanes": s.width, "span": s.span, "zp": int(zp), "tap": c_array(tap),
                    "wt": c_array(s.weight), "pos": c_array(s.q), "first": c_array(s.first), "count": c_array(s.count)}
    stdin = f"{h} {w} " + " ".join(map(str, bias)) + " " + " ".join(map(str, zero)) + " " + " ".join(map(str, pad)) + \
        " " + " ".join(map(str, x.transpose(1, 2, 0).reshape(-1)))
    got = run_cpp(tmp_path, code, stdin)
    assert got[-2:] == [0, 0]  # every input pixel read, every period of sums written out
    np.testing.assert_array_equal(np.array(got[:-2]).reshape(oh, ow, 3), want)


VIDEO = """
int main() {
    const int C = %(c)d, R = %(r)d, PPC = %(ppc)d;
    int h, w; std::cin >> h >> w;
    hls::stream<srhw::vec<ap_uint<8>, C * R * R> > in; hls::stream<srhw::axis_beat<8 * C * PPC> > out;
    for (int i = 0; i < h * w; i++) { srhw::vec<ap_uint<8>, C * R * R> px;
        for (int k = 0; k < C * R * R; k++) { int v; std::cin >> v; px.v[k] = v; } in.write(px); }
    srhw::video_out<C, R, %(crd)s, PPC, %(cb)d, %(cr)d, 16>(in, out, h, w);
    while (!out.empty()) { srhw::axis_beat<8 * C * PPC> b = out.read();
        std::printf("%%d %%d ", int(b.user), int(b.last));
        for (int j = 0; j < PPC * C; j++) std::printf("%%d ", int(b.data.range(8 * j + 7, 8 * j))); }
    std::printf("\\n");
}
"""


@pytest.mark.parametrize("c,r,crd,ppc,cb,cr", [(1, 2, True, 2, 0, 0), (3, 3, False, 3, 0, 0), (2, 2, True, 1, 1, 1),
                                               (1, 4, False, 4, 3, 0)])
def test_video_out_depth_to_space(tmp_path, c, r, crd, ppc, cb, cr):
    h, w = 3, 4
    x = np.random.default_rng(r).integers(0, 256, (c * r * r, h, w))
    # docs/arithmetic.md, DepthToSpace, then Crop
    hr = np.zeros((c, h * r, w * r), dtype=np.int64)
    for ch in range(c):
        for y in range(h * r):
            for xx in range(w * r):
                i, j = y % r, xx % r
                k = ch * r * r + i * r + j if crd else (i * r + j) * c + ch
                hr[ch, y, xx] = x[k, y // r, xx // r]
    hr = hr[:, : h * r - cb, : w * r - cr]
    stdin = f"{h} {w} " + " ".join(map(str, x.transpose(1, 2, 0).reshape(-1)))
    got = np.array(run_cpp(tmp_path, VIDEO % {"c": c, "r": r, "crd": "true" if crd else "false", "ppc": ppc,
                                              "cb": cb, "cr": cr}, stdin))
    oh, ow = hr.shape[1:]
    beats = got.reshape(oh, ow // ppc, 2 + ppc * c)
    assert beats[0, 0, 0] == 1 and beats[:, :, 0].sum() == 1                       # TUSER once, first beat
    np.testing.assert_array_equal(beats[:, :, 1], np.tile([0] * (ow // ppc - 1) + [1], (oh, 1)))  # TLAST
    pix = beats[:, :, 2:].reshape(oh, ow // ppc, ppc, c).reshape(oh, ow, c)
    np.testing.assert_array_equal(pix.transpose(2, 0, 1), hr)


def test_video_in_syncs_on_start_of_frame(tmp_path):
    body = """
    int main() {
        hls::stream<srhw::axis_beat<16> > in; hls::stream<srhw::vec<ap_uint<8>, 2> > out;
        for (int i = 0; i < 9; i++) { srhw::axis_beat<16> b; b.data = 1000 + i; b.keep = -1; b.strb = -1;
            b.user.set_bit(0, i == 3); b.last.set_bit(0, i == 5 || i == 8); b.id = 0; b.dest = 0; in.write(b); }
        int status = 0, dropped = 0, filled = 0;
        srhw::video_in<2>(in, out, 2, 3, 0, status, dropped, filled);
        while (!out.empty()) { srhw::vec<ap_uint<8>, 2> p = out.read(); std::printf("%d %d ", int(p.v[0]), int(p.v[1])); }
        std::printf("%d %d %d %d\\n", int(in.size()), status, dropped, filled);
    }
    """
    got = run_cpp(tmp_path, body, "")
    want = []
    for i in range(3, 9):  # the three beats before TUSER are dropped; 2 lines of 3 pixels follow
        want += [(1000 + i) & 0xFF, ((1000 + i) >> 8) & 0xFF]
    assert got == want + [0, 8, 3, 0]  # all read; flagged: beats dropped before a TUSER, three of them


def test_own_warnings_catches_a_warning_in_our_code(tmp_path):
    """The warning filter the C-sim tests assert empty does see warnings located in our files."""
    src = tmp_path / "w.cpp"
    src.write_text(PRELUDE + "int main() { int unused_here = 3; return 0; }\n")
    build = subprocess.run(cxx_command([src], hls_dir(), tmp_path / "w"), capture_output=True, text=True, check=False)
    assert build.returncode == 0
    found = own_warnings(build.stderr, hls_dir(), src)
    assert len(found) == 1 and "unused_here" in found[0]
