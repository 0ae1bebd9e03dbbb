"""The HLS kernel's input framing under C-simulation: malformed frames (short, long, missing and
extra lines, a TUSER in mid-line, beats before a TUSER) and a width above the line buffers are
taken as the framing rules say (srhw.framing), each call hands on exactly one frame, and a good
frame after them comes out bit-exact; the status outputs count what was dropped and filled in."""
import itertools
import subprocess

import numpy as np

import srhw
from srhw.backends.csim import cxx_command
from srhw.framing import SIZE_CLAMPED, expected, frame_beats, malformed

TB = r"""
#include <cstdio>
#include <fstream>
#include <vector>
#include "srhw_top.h"

int main(int argc, char** argv) {
    // beats: count, then (data, user, last) triples; then the calls: count, then (width, height)
    std::ifstream f(argv[1]);
    int n; f >> n;
    hls::stream<srhw_in_beat> in("tb_in");
    hls::stream<srhw_out_beat> out("tb_out");
    for (int i = 0; i < n; i++) {
        int d, u, l; f >> d >> u >> l;
        srhw_in_beat b;
        b.data = d; b.keep = -1; b.strb = -1; b.user = u; b.last = l; b.id = 0; b.dest = 0;
        in.write(b);
    }
    int calls; f >> calls;
    int status = 0, dropped = 0, filled = 0;
    for (int k = 0; k < calls; k++) {
        int w, h; f >> w >> h;
        srhw_top(in, out, w, h, status, dropped, filled);
        std::printf("call %d %d\n", k, int(out.size()));
        if (k + 1 < calls) while (!out.empty()) out.read();
    }
    std::printf("left %d\n", int(in.size()));
    std::printf("status %d %d %d\n", status, dropped, filled);
    while (!out.empty()) {
        srhw_out_beat b = out.read();
        for (int j = 0; j < SRHW_OUT_CHANNELS * SRHW_PPC; j++) std::printf("%d ", int(b.data.range(8 * j + 7, 8 * j)));
    }
    std::printf("\n");
}
"""


def _build(out, tmp_path):
    proj = out / "hls"
    src = tmp_path / "framing_tb.cpp"
    src.write_text(TB)
    exe = tmp_path / "framing_tb"
    b = subprocess.run(cxx_command([proj / "srhw_top.cpp", src], proj, exe, opt="-O1"), capture_output=True, text=True)
    assert b.returncode == 0, b.stderr[-3000:]
    return exe


def _run(exe, tmp_path, beats, calls):
    spec = tmp_path / "beats.txt"
    spec.write_text(f"{len(beats)}\n" + "\n".join(f"{d} {u} {l}" for d, u, l in beats) +
                    f"\n{len(calls)}\n" + "\n".join(f"{w} {h}" for w, h in calls) + "\n")
    r = subprocess.run([str(exe), str(spec)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "WARNING" not in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    lines = r.stdout.splitlines()
    per_call = [int(line.split()[2]) for line in lines if line.startswith("call")]
    left = int(next(line for line in lines if line.startswith("left")).split()[1])
    status = [int(v) for v in next(line for line in lines if line.startswith("status")).split()[1:]]
    last = np.array([int(v) for v in lines[-1].split()], dtype=np.int64)
    return per_call, left, status, last


def test_malformed_frames_then_a_good_one(exported, tmp_path):
    h, w = 7, 9
    rng = np.random.default_rng(4)
    good = rng.integers(1, 256, (1, h, w), dtype=np.uint8)
    out = tmp_path / "out"
    r = srhw.compile(exported("fsrcnn_x2", "dynamo"), out=out, progress=False, in_size="64x48", fps=40000,
                     fold_period=(3, 7), test_frames=[good])
    exe = _build(out, tmp_path)
    pixels = (int(v) for v in itertools.cycle(range(1, 256)))
    beats = malformed(pixels, h, w) + frame_beats(iter(good.reshape(-1).tolist()), [w] * h)
    want_px, frames, flags, dropped, filled = expected(beats, h, w)
    per_call, left, status, last = _run(exe, tmp_path, beats, [(w, h)] * frames)
    hr = srhw.run_golden(r.qgraph, good)
    assert per_call == [hr.shape[1] * hr.shape[2] // r.summary["hls"]["pixels_per_beat_out"]] * frames
    assert left == 0
    assert status == [flags, dropped, filled] and flags == 15
    assert np.array_equal(last, hr.transpose(1, 2, 0).reshape(-1))  # bit-exact after the malformed frames


def test_width_above_the_line_buffers_is_clamped(exported, tmp_path):
    """A width register larger than --max-width runs the kernel at --max-width: each line's
    extra beats are dropped as a long line's, nothing is written past a line buffer, and the
    status says so; a good frame at a valid width then comes out exact."""
    out = tmp_path / "out"
    rng = np.random.default_rng(5)
    good = rng.integers(1, 256, (1, 5, 8), dtype=np.uint8)
    r = srhw.compile(exported("fsrcnn_x2", "dynamo"), out=out, progress=False, in_size="16x8", max_width=16,
                     fps=40000, fold_groups=2, test_frames=[good])
    exe = _build(out, tmp_path)
    wide = frame_beats(iter([7] * (40 * 5)), [40] * 5)  # 40 pixels a line against a 16-pixel buffer
    beats = wide + frame_beats(iter(good.reshape(-1).tolist()), [8] * 5)
    per_call, left, status, last = _run(exe, tmp_path, beats, [(40, 5), (8, 5)])
    assert left == 0 and status[0] & SIZE_CLAMPED and status[1] == (40 - 16) * 5
    assert np.array_equal(last, srhw.run_golden(r.qgraph, good).transpose(1, 2, 0).reshape(-1))
