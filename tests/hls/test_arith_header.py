"""hls/srhw_arith.h compiled with g++ (C++14, -Wall -Wextra -Werror) against srhw.fixed, exhaustively."""
import shutil
import subprocess

import numpy as np
import pytest

from srhw.fixed import Fmt, saturate, shift_round
from srhw.resources import hls_dir

DRIVER = r"""
#include <cstdint>
#include <cstdio>
#include "srhw_arith.h"
int main() {
    long long a; int s;
    while (std::scanf("%lld %d", &a, &s) == 2) {
        int64_t r = srhw::round_shift<int64_t>(a, s);
        int64_t q = srhw::saturate<int64_t>(r, srhw::fmt_lo<int64_t>(8, true), srhw::fmt_hi<int64_t>(8, true));
        int64_t u = srhw::saturate<int64_t>(r, srhw::fmt_lo<int64_t>(8, false), srhw::fmt_hi<int64_t>(8, false));
        int64_t e = srhw::round_shift_even<int64_t>(a, s);
        std::printf("%lld %lld %lld %lld\n", (long long)r, (long long)q, (long long)u, (long long)e);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    gxx = shutil.which("g++")
    assert gxx, "g++ is required (CI installs it)"
    d = tmp_path_factory.mktemp("hls")
    (d / "drv.cpp").write_text(DRIVER)
    res = subprocess.run([gxx, "-std=c++14", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{hls_dir()}",
                          str(d / "drv.cpp"), "-o", str(d / "drv")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return d / "drv"


def test_round_shift_and_saturate_match_the_golden_rules(driver):
    acc = np.arange(-(1 << 12), (1 << 12) + 1, 7, dtype=np.int64)
    acc = np.concatenate([acc, [(1 << 40) + 3, -(1 << 40) - 3]])
    shifts = np.arange(-4, 13)
    a, s = np.meshgrid(acc, shifts, indexing="ij")
    a, s = a.reshape(-1), s.reshape(-1)
    text = "\n".join(f"{x} {y}" for x, y in zip(a, s)) + "\n"
    res = subprocess.run([str(driver)], input=text, capture_output=True, text=True, check=True)
    got = np.array([list(map(int, l.split())) for l in res.stdout.splitlines()], dtype=np.int64)
    want = shift_round(a, s)
    assert np.array_equal(got[:, 0], want)
    assert np.array_equal(got[:, 1], saturate(want, Fmt(8, 0, True)))
    assert np.array_equal(got[:, 2], saturate(want, Fmt(8, 0, False)))
    # round half to even (a model quantized already), against srhw.fixed and, independently, numpy's rint
    assert np.array_equal(got[:, 3], shift_round(a, s, "half_even"))
    small = np.abs(a) < 1 << 40
    assert np.array_equal(got[small, 3], np.rint(a[small] / 2.0 ** s[small]).astype(np.int64))
