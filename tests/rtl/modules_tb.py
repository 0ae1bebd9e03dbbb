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

P = json.loads(os.environ.get("SRHW_UNIT_PARAMS", "{}"))


def round_shift(a: int, s: int) -> int:
    """docs/arithmetic.md: a * 2^-s rounded half up; s <= 0 is an exact left shift."""
    return (a + (1 << (s - 1))) >> s if s > 0 else a << -s


def requant_ref(acc, shift, slope, lo, hi):
    act = P["ACT"]
    if act == 4:
        i = min(max(round_shift(acc, shift), P["LUT_LO"]), P["LUT_HI"])
        return None, i - P["LUT_LO"]
    y = round_shift(acc, shift)
    if act == 3 and acc < 0:
        y = round_shift(acc * slope, shift + P["SLOPE_FRAC"])
    if act == 1:
        y = max(y, 0)
    if act == 2:
        y = min(max(y, lo), hi)
    return min(max(y, P["OUT_LO"]), P["OUT_HI"]), None


def signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


@cocotb.test()
async def requant(dut):
    rng = random.Random(P["ACT"])
    aw, ow = P["ACC_W"], P["OW"]
    cases = [(0, 0), (-1, 1), (1, 1), ((1 << (aw - 1)) - 1, 3), (-(1 << (aw - 1)), 3), (5, -2), (-5, -2), (6, 2),
             (-6, 2), (2, 2), (-2, 2)]
    cases += [(rng.randint(-(1 << (aw - 1)), (1 << (aw - 1)) - 1), rng.randint(-3, 10)) for _ in range(400)]
    for acc, shift in cases:
        slope = rng.randint(-(1 << (P["SLOPE_W"] - 1)), (1 << (P["SLOPE_W"] - 1)) - 1)
        lo = rng.randint(P["OUT_LO"], 0)
        hi = rng.randint(0, P["OUT_HI"])
        dut.acc.value = acc & ((1 << aw) - 1)
        dut.shift.value = shift & ((1 << P["SH_W"]) - 1)
        dut.slope.value = slope & ((1 << P["SLOPE_W"]) - 1)
        dut.lo.value = lo & ((1 << P["EW"]) - 1)
        dut.hi.value = hi & ((1 << P["EW"]) - 1)
        await Timer(1, unit="ns")
        code, addr = requant_ref(acc, shift, slope, lo, hi)
        if addr is not None:
            assert int(dut.lut_addr.value) == addr, (acc, shift, int(dut.lut_addr.value), addr)
        else:
            got = signed(int(dut.code.value), ow) if P["OUT_LO"] < 0 else int(dut.code.value)
            assert got == code, (acc, shift, slope, lo, hi, got, code)


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
