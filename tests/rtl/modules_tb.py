"""cocotb unit tests of hand-written modules in rtl/, run by test_modules.py under Icarus and
Verilator. Expected values are computed here from docs/arithmetic.md and from plain queue
semantics, not from srhw's Python code."""
from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from srhw.framing import expected as framing_ref

P = json.loads(os.environ.get("SRHW_UNIT_PARAMS", "{}"))


def round_shift(a: int, s: int) -> int:
    """docs/arithmetic.md: a * 2^-s rounded half up; s <= 0 is an exact left shift."""
    return (a + (1 << (s - 1))) >> s if s > 0 else a << -s


def round_half_even(a: int, s: int) -> int:
    """a * 2^-s to the nearest integer, a tie to the even one (s <= 0: exact)."""
    if s <= 0:
        return a << -s
    q, r = divmod(a, 1 << s)
    return q + 1 if 2 * r > (1 << s) or (2 * r == (1 << s) and q % 2) else q


def requant_ref(acc, shift, slope, lo, hi, zero=0, mult=1):
    act = P["ACT"]
    rnd = round_half_even if P.get("HALF_EVEN") else round_shift
    acc = acc * mult if P.get("HAS_MULT") else acc
    if act == 4:
        i = min(max(rnd(acc, shift), P["LUT_LO"]), P["LUT_HI"])
        return None, i - P["LUT_LO"]
    y = rnd(acc, shift)
    if act == 3 and acc < 0:
        y = round_shift(acc * slope, shift + P["SLOPE_FRAC"])
    if act == 1:
        y = max(y, 0)
    if act == 2:
        y = min(max(y, lo), hi)
    y += zero  # the output's zero point, before the saturation (docs/arithmetic.md)
    return min(max(y, P["OUT_LO"]), P["OUT_HI"]), None


def signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


async def _pipeline(dut, lat: int, cases: list, drive, check, seed: int, outputs=None):
    """Drives one case per cycle with `en` random (70% high) and checks each case's outputs
    once `lat` enabled clock edges have taken it through (the edge that samples the case is
    the first): the registers of a pipelined module advance only on `en`. `outputs(dut)` may
    answer outputs combinationally (a LUT) before each edge. lat = 0: combinational."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    rng = random.Random(seed)
    taken, done, i = [], 0, 0
    while done < len(cases):
        await FallingEdge(dut.clk)
        en = rng.random() < 0.7 or i >= len(cases)
        dut.en.value = int(en)
        if i < len(cases):
            drive(cases[i])
        if outputs is not None:
            outputs(dut)
        if lat == 0:
            await Timer(1, unit="ns")
            if i < len(cases):
                check(cases[i])
                done += 1
                i += 1
            continue
        await RisingEdge(dut.clk)
        if en:
            taken.append(cases[i] if i < len(cases) else None)
            i += 1
            if len(taken) >= lat and taken[-lat] is not None:
                await Timer(1, unit="ns")
                check(taken[-lat])
                done += 1


@cocotb.test()
async def requant(dut):
    """srhw_requant, 5 register stages: random accumulators, shifts and parameters; with
    HAS_MULT and HALF_EVEN (a model quantized already) random multipliers, and products that are
    exactly a half (an odd number times 2^(s-1)) in both signs, each rounding to the even side."""
    rng = random.Random(P["ACT"])
    aw, ow, mw = P["ACC_W"], P["OW"], P.get("MULT_W", 1)
    cases = [(0, 0), (-1, 1), (1, 1), ((1 << (aw - 1)) - 1, 3), (-(1 << (aw - 1)), 3), (5, -2), (-5, -2), (6, 2),
             (-6, 2), (2, 2), (-2, 2)]
    cases += [(rng.randint(-(1 << (aw - 1)), (1 << (aw - 1)) - 1), rng.randint(-3, 10)) for _ in range(300)]
    mults = [1] * len(cases)
    if P.get("HAS_MULT"):
        mults = [rng.randint(1, (1 << mw) - 1) for _ in cases]
        ties = [(a, s, 1 << (s - 1)) for s in range(1, min(mw, 12) + 1) for a in (1, -1, 3, -3, 5, -5, 7, -7)]
        cases += [(a, s) for a, s, _ in ties]
        mults += [m for _, _, m in ties]
    full = []
    for (acc, shift), mult in zip(cases, mults):
        slope = rng.randint(-(1 << (P["SLOPE_W"] - 1)), (1 << (P["SLOPE_W"] - 1)) - 1)
        lo, hi = rng.randint(P["OUT_LO"], 0), rng.randint(0, P["OUT_HI"])
        zero = rng.choice([0, rng.randint(P["OUT_LO"], P["OUT_HI"])])
        full.append((acc, shift, slope, lo, hi, zero, mult))

    def lut(addr: int) -> int:  # any table: the module must return what it reads
        return (addr * 7 + 3) & ((1 << ow) - 1)

    def drive(c):
        acc, shift, slope, lo, hi, zero, mult = c
        dut.acc.value = acc & ((1 << aw) - 1)
        dut.mult.value = mult & ((1 << mw) - 1)
        dut.shift.value = shift & ((1 << P["SH_W"]) - 1)
        dut.slope.value = slope & ((1 << P["SLOPE_W"]) - 1)
        dut.lo.value = lo & ((1 << P["EW"]) - 1)
        dut.hi.value = hi & ((1 << P["EW"]) - 1)
        dut.zero.value = zero & ((1 << P["EW"]) - 1)

    def answer(d):
        addr = d.lut_addr.value
        d.lut_data.value = lut(int(addr)) if addr.is_resolvable else 0  # X before the pipeline fills

    def check(c):
        code, addr = requant_ref(*c)
        got = int(dut.code.value)
        if addr is not None:
            assert got == lut(addr), (c, got, lut(addr))
        else:
            got = signed(got, ow) if P["OUT_LO"] < 0 else got
            assert got == code, (c, got, code)

    await _pipeline(dut, 5, full, drive, check, P["ACT"], outputs=answer)


@cocotb.test()
async def tree(dut):
    """srhw_tree: the sum of N signed terms, LAT enabled cycles later."""
    rng = random.Random(P["N"])
    n, w = P["N"], P["W"]
    lim = (1 << (w - 1)) // n
    cases = [[rng.randint(-lim, lim - 1) for _ in range(n)] for _ in range(200)]
    cases.append([-lim] * n)

    def drive(c):
        dut.x.value = sum((v & ((1 << w) - 1)) << (i * w) for i, v in enumerate(c))

    def check(c):
        assert signed(int(dut.sum.value), w) == sum(c), (c, signed(int(dut.sum.value), w))

    await _pipeline(dut, P["LAT"], cases, drive, check, n)


@cocotb.test()
async def fifo(dut):
    """Random valid and ready: every word comes out once, in order."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    rng = random.Random(1)
    dut.rst_n.value = 0
    dut.s_valid.value = 0
    dut.m_ready.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst_n.value = 1
    words = [rng.randrange(1 << P["W"]) for _ in range(300)]
    sent, got = 0, []
    for _ in range(3000):
        await FallingEdge(dut.clk)
        offer = sent < len(words) and rng.random() < 0.6
        dut.s_valid.value = int(offer)
        if offer:
            dut.s_data.value = words[sent]
        dut.m_ready.value = int(rng.random() < 0.5)
        await Timer(1, unit="ns")
        took = offer and int(dut.s_ready.value)
        gave = int(dut.m_valid.value) and int(dut.m_ready.value)
        if gave:
            got.append(int(dut.m_data.value))
        await RisingEdge(dut.clk)
        sent += int(bool(took))
        if len(got) == len(words):
            break
    assert got == words
    # a reader that waits: the FIFO takes exactly DEPTH words, then gives them back one per cycle
    words = [rng.randrange(1 << P["W"]) for _ in range(P["DEPTH"] + 5)]
    dut.m_ready.value = 0
    taken = 0
    for _ in range(3 * len(words)):
        await FallingEdge(dut.clk)
        dut.s_valid.value = int(taken < len(words))
        dut.s_data.value = words[min(taken, len(words) - 1)]
        await Timer(1, unit="ns")
        took = int(dut.s_ready.value) and taken < len(words)
        await RisingEdge(dut.clk)
        taken += took
    assert taken == P["DEPTH"]
    await FallingEdge(dut.clk)
    dut.s_valid.value = 0
    for _ in range(3):  # the last words written reach the output buffer
        await FallingEdge(dut.clk)
    got = []
    dut.m_ready.value = 1
    for _ in range(P["DEPTH"]):
        await Timer(1, unit="ns")
        assert int(dut.m_valid.value), len(got)
        got.append(int(dut.m_data.value))
        await FallingEdge(dut.clk)
    assert got == words[: P["DEPTH"]]


@cocotb.test()
async def fork(dut):
    """Random valid and two independent random readies: each output gets every word once, in
    order, and the fork never takes a word while either output still holds the last one."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    rng = random.Random(4)
    dut.rst_n.value = 0
    dut.s_valid.value = 0
    dut.m0_ready.value = 0
    dut.m1_ready.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst_n.value = 1
    words = [rng.randrange(1 << P["W"]) for _ in range(300)]
    sent, got0, got1 = 0, [], []
    for _ in range(5000):
        await FallingEdge(dut.clk)
        offer = sent < len(words) and rng.random() < 0.7
        dut.s_valid.value = int(offer)
        if offer:
            dut.s_data.value = words[sent]
        dut.m0_ready.value = int(rng.random() < 0.6)
        dut.m1_ready.value = int(rng.random() < 0.4)
        await Timer(1, unit="ns")
        took = offer and int(dut.s_ready.value)
        if int(dut.m0_valid.value) and int(dut.m0_ready.value):
            got0.append(int(dut.m0_data.value))
        if int(dut.m1_valid.value) and int(dut.m1_ready.value):
            got1.append(int(dut.m1_data.value))
        await RisingEdge(dut.clk)
        sent += int(bool(took))
        assert len(got0) >= sent - 1 and len(got1) >= sent - 1  # at most one word inside
        if len(got0) == len(got1) == len(words):
            break
    assert got0 == words and got1 == words


@cocotb.test()
async def linebuf(dut):
    """Column steps over a frame of random pixels: the column at (y, x) holds rows y-KH+1..y."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    rng = random.Random(2)
    kh, pw, width = P["KH"], P["PW"], P["WIDTH"]
    frame = [[rng.randrange(1 << pw) for _ in range(width)] for _ in range(9)]
    dut.step.value = 0
    for y in range(len(frame)):
        for x in range(width):
            while rng.random() < 0.3:  # idle cycles between steps
                await FallingEdge(dut.clk)
                dut.step.value = 0
            await FallingEdge(dut.clk)
            dut.step.value = 1
            dut.x.value = x
            dut.x_next.value = (x + 1) % width
            dut.pixel.value = frame[y][x]
            await Timer(1, unit="ns")
            if y >= kh - 1:
                col = int(dut.column.value)
                rows = [(col >> (u * pw)) & ((1 << pw) - 1) for u in range(kh)]
                assert rows == [frame[y - kh + 1 + u][x] for u in range(kh)], (y, x)
    await FallingEdge(dut.clk)
    dut.step.value = 0


@cocotb.test()
async def mac(dut):
    """srhw_mac: PO dot products plus bias, signed weights, signed or unsigned inputs, 1 + LAT_T
    enabled cycles after the operands."""
    rng = random.Random(3)
    n, po, iw, wb, aw = P["N"], P["PO"], P["IW"], P["WB"], P["ACC_W"]
    cases = []
    for _ in range(150):
        xs = [rng.randrange(1 << iw) for _ in range(n)]
        ws = [[rng.randint(-(1 << (wb - 1)), (1 << (wb - 1)) - 1) for _ in range(n)] for _ in range(po)]
        bs = [rng.randint(-1000, 1000) for _ in range(po)]
        if rng.random() < 0.2:  # extremes: the largest magnitudes the widths allow
            xs = [(1 << (iw - 1)) if P["I_SIGNED"] else (1 << iw) - 1] * n
            ws = [[-(1 << (wb - 1))] * n for _ in range(po)]
        cases.append((xs, ws, bs))

    def drive(c):
        xs, ws, bs = c
        dut.window.value = sum(x << (k * iw) for k, x in enumerate(xs))
        dut.weights.value = sum((w & ((1 << wb) - 1)) << ((p * n + k) * wb) for p in range(po) for k, w in enumerate(ws[p]))
        dut.bias.value = sum((b & ((1 << aw) - 1)) << (p * aw) for p, b in enumerate(bs))

    def check(c):
        xs, ws, bs = c
        got = int(dut.sums.value)
        xv = [signed(x, iw) if P["I_SIGNED"] else x for x in xs]
        for p in range(po):
            want = bs[p] + sum(w * x for w, x in zip(ws[p], xv))
            assert signed((got >> (p * aw)) & ((1 << aw) - 1), aw) == want, (p, want)

    await _pipeline(dut, 1 + P["LAT_T"], cases, drive, check, 3)


async def _clock_reset(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst_n.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst_n.value = 1


@cocotb.test()
async def video_out(dut):
    """LR vectors of C*R*R codes in, the depth-to-space HR frame out: R rows per LR row, PPC
    pixels per beat, crop, TUSER on the first beat, TLAST per row; random stalls both sides."""
    c, r, ppc, crd = P["C"], P["R"], P["PPC"], P["CRD"]
    cb, cr = P["CROP_B"], P["CROP_R"]
    h, w = P["H"], P["W_LR"]
    rng = random.Random(4)
    dut.h.value, dut.w.value = h, w
    dut.s_valid.value = 0
    dut.m_tready.value = 0
    await _clock_reset(dut)
    frames = [[[[rng.randrange(256) for _ in range(c * r * r)] for _ in range(w)] for _ in range(h)] for _ in range(2)]
    stream = [v for f in frames for row in f for v in row]
    beats = []
    sent = 0
    oh, ow = h * r - cb, w * r - cr
    total = 2 * oh * (ow // ppc)
    for _ in range(20 * total + 200):
        await FallingEdge(dut.clk)
        offer = sent < len(stream) and rng.random() < 0.7
        dut.s_valid.value = int(offer)
        if offer:
            dut.s_data.value = sum(v << (8 * k) for k, v in enumerate(stream[sent]))
        dut.m_tready.value = int(rng.random() < 0.6)
        await Timer(1, unit="ns")
        took = offer and int(dut.s_ready.value)
        if int(dut.m_tvalid.value) and int(dut.m_tready.value):
            beats.append((int(dut.m_tdata.value), int(dut.m_tuser.value), int(dut.m_tlast.value)))
        await RisingEdge(dut.clk)
        sent += int(bool(took))
        if len(beats) == total:
            break
    assert len(beats) == total, (len(beats), total)
    want = []
    for f in frames:
        for oy in range(oh):
            for x0 in range(0, ow, ppc):
                data = 0
                for j in range(ppc):
                    ox = x0 + j
                    y, i, x, jj = oy // r, oy % r, ox // r, ox % r
                    for ch in range(c):
                        k = ch * r * r + i * r + jj if crd else (i * r + jj) * c + ch
                        data |= f[y][x][k] << (8 * (j * c + ch))
                want.append((data, int(oy == 0 and x0 == 0), int(x0 + ppc == ow)))
    assert beats == want


@cocotb.test()
async def video_in(dut):
    """Well-formed and malformed frames (short and long lines, a TUSER inside a frame, missing
    and extra lines, beats before a TUSER), with random TREADY on the output: exactly h lines of
    w pixels per frame, the counts and the sticky flags of framing_ref."""
    h, w = 3, 4
    rng = random.Random(9)
    dut.h.value, dut.w.value = h, w
    dut.run.value = 0
    dut.s_tvalid.value = 0
    dut.s_tuser.value = 0
    dut.s_tlast.value = 0
    dut.m_ready.value = 1
    await _clock_reset(dut)
    data = iter(range(1, 10**6))

    def frame(lens: list[int]) -> list[tuple[int, int, int]]:
        out = []
        for y, n in enumerate(lens):
            out += [(next(data) & 0xFF or 1, int(y == 0 and k == 0), int(k == n - 1)) for k in range(n)]
        return out

    good = [w] * h
    seq = [(7, 0, 0), (8, 0, 1)] + frame(good)                   # junk before the first frame
    seq += frame([w, 2, w])                                          # a short line
    seq += frame([w, w + 3, w])                                      # a long line
    seq += frame([w, w])                                             # a missing line (cut by the next TUSER)
    seq += frame([w, w, w, w, 2])                                    # extra lines
    seq += frame([w, 3])[:-1]                                        # a TUSER mid-line (no TLAST)
    seq += frame([w + 2, w, w + 1])                                  # long lines, the last one too
    seq += frame(good) + frame(good)
    want, frames, flags, dropped, filled = framing_ref(seq, h, w)
    out, taken, i = [], 0, 0
    for cyc in range(2000):
        await FallingEdge(dut.clk)
        dut.run.value = int(cyc >= 5)
        dut.s_tvalid.value = int(i < len(seq))
        if i < len(seq):
            dut.s_tdata.value, dut.s_tuser.value, dut.s_tlast.value = seq[i]
        dut.m_ready.value = int(rng.random() < 0.7)
        await Timer(1, unit="ns")
        if cyc < 5:
            assert not int(dut.s_tready.value) and not int(dut.m_valid.value)
        fire = i < len(seq) and int(dut.s_tready.value)
        if int(dut.m_valid.value) and int(dut.m_ready.value):
            out.append(int(dut.m_data.value))
        taken += int(dut.taken.value)
        await RisingEdge(dut.clk)
        i += int(bool(fire))
        if i == len(seq) and len(out) == len(want):
            break
    await RisingEdge(dut.clk)
    assert out == want, (len(out), len(want))
    assert taken == frames == 9
    assert (int(dut.flags.value), int(dut.dropped.value), int(dut.filled.value)) == (flags, dropped, filled)
    assert flags == 15  # every kind of problem was there


@cocotb.test()
async def axil_ctrl(dut):
    """Vitis's register map through cocotbext-axi's AXI-Lite master."""
    from cocotbext.axi import AxiLiteBus, AxiLiteMaster

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    for name in ("frame_taken", "frame_done"):
        getattr(dut, name).value = 0
    dut.rst_n.value = 0
    master = AxiLiteMaster(AxiLiteBus.from_entity(dut), dut.clk, dut.rst_n, reset_active_level=False)
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst_n.value = 1
    await RisingEdge(dut.clk)
    assert await master.read_dword(0x00) == 0x4  # idle
    await master.write_dword(0x10, 1920)
    await master.write_dword(0x18, 1080)
    assert int(dut.width.value) == 1920 and int(dut.height.value) == 1080
    assert await master.read_dword(0x10) == 1920 and await master.read_dword(0x18) == 1080
    await master.write_dword(0x00, 0x81)
    assert int(dut.ap_start.value) == 1 and await master.read_dword(0x00) & 0x81 == 0x81
    await FallingEdge(dut.clk)
    dut.frame_taken.value = 1
    await FallingEdge(dut.clk)
    dut.frame_taken.value = 0
    assert int(dut.ap_start.value) == 1  # auto-restart keeps it
    ctrl = await master.read_dword(0x00)
    assert ctrl & 0x8 and not ctrl & 0x4  # ap_ready, not idle (a frame in flight)
    assert not (await master.read_dword(0x00)) & 0x8  # clear on read
    await master.write_dword(0x00, 0x00)  # auto-restart off
    await FallingEdge(dut.clk)
    dut.frame_taken.value = 1
    dut.frame_done.value = 1
    await FallingEdge(dut.clk)
    dut.frame_taken.value = 0
    dut.frame_done.value = 0
    assert int(dut.ap_start.value) == 0
    await FallingEdge(dut.clk)
    dut.frame_done.value = 1
    await FallingEdge(dut.clk)
    dut.frame_done.value = 0
    ctrl = await master.read_dword(0x00)
    assert ctrl & 0x2 and ctrl & 0x4  # done, idle

