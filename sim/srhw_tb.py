"""cocotb harness for an srhw kernel: the generated Verilog (`OUT/rtl/`) or the RTL that
Vitis HLS exports for the same compile. Both have the same ports: ap_clk, ap_rst_n, AXI4-Stream
`s_axis_video` and `m_axis_video` (TUSER = start of frame, TLAST = end of line; the names come
from OUT/interface.json) and s_axi_control.

A model serves frames and the golden model's output for each (srhw.golden on OUT/ir.json); a
cocotbext-axi source drives `in`, a sink takes `out`, and an in-order scoreboard compares every
HR pixel, TUSER and TLAST. Run through srhw.sim (`srhw sim OUT/`), which passes the
configuration as JSON in $SRHW_SIM_CONFIG and reads back the figures written to its
"results" path.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from srhw import golden
from srhw.qir import from_json

CTRL_START_AUTO = 0x81  # ap_start | auto_restart


def _config() -> dict:
    with open(os.environ["SRHW_SIM_CONFIG"], encoding="utf-8") as f:
        return json.load(f)


def frame_of(pattern: str, channels: int, h: int, w: int, seed: int) -> np.ndarray:
    """A uint8 [C, H, W] test frame."""
    yy, xx = np.mgrid[0:h, 0:w]
    if pattern == "noise":
        return np.random.default_rng(seed).integers(0, 256, (channels, h, w), dtype=np.uint8)
    if pattern == "checker":
        return np.broadcast_to(np.where((yy + xx) % 2 == 0, 255, 0).astype(np.uint8), (channels, h, w)).copy()
    if pattern == "white":
        return np.full((channels, h, w), 255, dtype=np.uint8)
    if pattern == "black":
        return np.zeros((channels, h, w), dtype=np.uint8)
    if pattern == "ramp":
        return np.broadcast_to(((yy * 7 + xx * 13 + seed) % 256).astype(np.uint8), (channels, h, w)).copy()
    raise ValueError(f"unknown test pattern {pattern!r}")


def ideal_cycles(interface: dict, h: int, w: int) -> int:
    """Cycles per frame of the output alone (one beat per cycle): the ideal when nothing else is
    known of the kernel (RTL from elsewhere). For srhw's RTL, srhw.sim gives each session the
    slowest stage's count from the dataflow model instead."""
    oh, ow = out_size(interface, h, w)
    return oh * ow // interface["ppc"]


def out_size(interface: dict, h: int, w: int) -> tuple[int, int]:
    """The HR frame's rows and columns for an h x w LR frame: an unpadded network's convolutions
    take `growth` away first (interface.json from srhw compile; RTL from elsewhere: none)."""
    gh, gw = interface.get("growth", (0, 0))
    r = interface["scale"]
    return (h + gh) * r - interface["crop_bottom"], (w + gw) * r - interface["crop_right"]


class Bench:
    def __init__(self, dut, cfg: dict):
        self.dut = dut
        self.cfg = cfg
        self.rtl = cfg["rtl"]
        with open(cfg["ir"], encoding="utf-8") as f:
            self.q = from_json(f.read())
        self.clk = dut.ap_clk
        self.cycle = 0
        self.sof_cycles: list[int] = []
        self.row_end_cycles: list[int] = []  # the cycle of each output row's TLAST beat
        self.out_port = tuple(getattr(dut, f"{self.rtl['out_port']}_{s}") for s in ("TVALID", "TREADY", "TUSER", "TLAST"))
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, self.rtl["in_port"]), self.clk, dut.ap_rst_n,
                                      reset_active_level=False)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, self.rtl["out_port"]), self.clk, dut.ap_rst_n,
                                  reset_active_level=False)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), self.clk, dut.ap_rst_n,
                                  reset_active_level=False)
        cocotb.start_soon(Clock(self.clk, 10, unit="ns").start())
        cocotb.start_soon(self._count())

    async def _count(self):
        valid, ready, user, last = self.out_port
        while True:
            await RisingEdge(self.clk)
            self.cycle += 1
            if int(valid.value) and int(ready.value):
                if int(user.value):
                    self.sof_cycles.append(self.cycle)
                if int(last.value):
                    self.row_end_cycles.append(self.cycle)

    async def reset(self, cycles: int = 8):
        self.dut.ap_rst_n.value = 0
        self.source.clear()
        self.sink.clear()
        await ClockCycles(self.clk, cycles)
        self.dut.ap_rst_n.value = 1
        await ClockCycles(self.clk, 2)

    async def start(self, h: int, w: int):
        regs = self.rtl["registers"]
        if regs["width"] is not None:
            await self.axil.write_dword(regs["width"], w)
            await self.axil.write_dword(regs["height"], h)
        await self.axil.write_dword(regs["control"], CTRL_START_AUTO)

    def send(self, frame: np.ndarray):
        """One AXI4-Stream frame per line (TLAST ends each line, as video IP sends it), TUSER on
        the first beat of the first."""
        c, h, w = frame.shape
        for y in range(h):
            data = np.ascontiguousarray(frame[:, y].transpose(1, 0)).tobytes()  # pixel-major, channel c in byte c
            self.source.send_nowait(AxiStreamFrame(data, tuser=([1] * c if y == 0 else [0] * c) + [0] * (len(data) - c)))

    async def receive(self, lr_shape: tuple[int, int], budget: int) -> tuple[np.ndarray, list[str]]:
        """One HR frame from the sink (a TLAST per row); problems with its framing."""
        h, w = lr_shape
        (oh, ow), c = out_size(self.rtl, h, w), self.rtl["out_channels"]
        rows, problems = [], []
        deadline = self.cycle + budget
        while len(rows) < oh:
            while self.sink.empty():
                if self.cycle > deadline:
                    raise AssertionError(f"timed out after {budget} cycles with {len(rows)} of {oh} rows received")
                await RisingEdge(self.clk)
            row = self.sink.recv_nowait()
            data = bytes(row.tdata)
            if len(data) != ow * c:
                problems.append(f"row {len(rows)}: {len(data) // c} pixels before TLAST, expected {ow}")
            user = row.tuser if isinstance(row.tuser, list) else [row.tuser or 0] * len(data)
            per_beat = [int(u) for u in user[:: c * self.rtl["ppc"]]]
            want = [1 if (len(rows) == 0 and k == 0) else 0 for k in range(len(per_beat))]
            if per_beat != want:
                problems.append(f"row {len(rows)}: TUSER per beat {per_beat[:8]}..., expected {want[:8]}...")
            rows.append(np.frombuffer(data[: ow * c].ljust(ow * c, b"\0"), dtype=np.uint8).reshape(ow, c))
        return np.stack(rows).transpose(2, 0, 1), problems

    def pauses(self, p: float, seed: int):
        rng = random.Random(seed)
        while True:
            yield rng.random() < p


def _compare(got: np.ndarray, want: np.ndarray, what: str) -> list[str]:
    if got.shape != want.shape:
        return [f"{what}: shape {got.shape}, golden {want.shape}"]
    bad = np.argwhere(got != want)
    if bad.size == 0:
        return []
    c, y, x = bad[0]
    return [(f"{what}: {len(bad)} of {want.size} codes differ; first at channel {c}, row {y}, column {x}: "
            f"RTL {got[c, y, x]}, golden {want[c, y, x]}")]


def _write_result(cfg: dict, key: str, value) -> None:
    path = cfg["results"]
    data = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    data[key] = value
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)


@cocotb.test()
async def frames(dut):
    """Each session: reset, program the size, stream frames back to back (with the session's
    TREADY stalls and TVALID gaps), compare every frame with the golden model."""
    cfg = _config()
    tb = Bench(dut, cfg)
    report, problems = [], []
    for k, s in enumerate(cfg["sessions"]):
        h, w = s["size"]
        lr = [frame_of(p, tb.q.input_channels, h, w, s.get("seed", 0) + i) for i, p in enumerate(s["patterns"])]
        want = [golden.run(tb.q, f) for f in lr]
        tb.source.set_pause_generator(tb.pauses(s.get("valid_gaps", 0.0), 100 + k) if s.get("valid_gaps") else None)
        tb.sink.set_pause_generator(tb.pauses(s.get("ready_stalls", 0.0), 200 + k) if s.get("ready_stalls") else None)
        await tb.reset()
        await tb.start(h, w)
        tb.sof_cycles.clear()
        tb.row_end_cycles.clear()
        t0 = tb.cycle
        for f in lr:
            tb.send(f)
        for i, ref in enumerate(want):
            got, framing = await tb.receive((h, w), _budget(tb, h, w))
            problems += [f"session {k} frame {i} ({s['patterns'][i]}, {w}x{h}): {m}" for m in framing]
            diff = _compare(got, ref, f"session {k} frame {i} ({s['patterns'][i]}, {w}x{h})")
            if diff:  # keep both frames for inspection
                np.savez(os.path.join(os.path.dirname(cfg["results"]), f"mismatch_s{k}_f{i}.npz"), rtl=got,
                         golden=ref, lr=lr[i])
            problems += diff
        t1 = tb.cycle
        ideal = s.get("ideal_cycles_per_frame") or ideal_cycles(tb.rtl, h, w)
        periods = [b - a for a, b in zip(tb.sof_cycles, tb.sof_cycles[1:])]
        entry = {"size": [h, w], "frames": len(lr), "ready_stalls": s.get("ready_stalls", 0.0),
                 "valid_gaps": s.get("valid_gaps", 0.0), "total_cycles": t1 - t0,
                 "ideal_cycles_per_frame": ideal,
                 "first_frame_latency_cycles": tb.sof_cycles[0] - t0 if tb.sof_cycles else None,
                 "steady_cycles_per_frame": float(np.median(periods)) if periods else None,
                 "efficiency": round(ideal / float(np.median(periods)), 4) if periods else None,
                 "row_end_cycles": [c - t0 for c in tb.row_end_cycles]}
        report.append(entry)
        dut._log.info("session %d: %s", k, entry)
    _write_result(cfg, "sessions", report)
    assert not problems, "\n".join(problems[:20])


async def _session(dut, key: str):
    """The harness for a test configured under `key` (None when it is left out): reset and
    started at the session's size."""
    cfg = _config()
    s = cfg.get(key)
    if not s:
        return None
    tb = Bench(dut, cfg)
    h, w = s["size"]
    await tb.reset()
    await tb.start(h, w)
    return cfg, tb, h, w, tb.q.input_channels


def _budget(tb: Bench, h: int, w: int) -> int:
    """Cycles a frame may take before the harness calls it a hang: 200 per output pixel of a
    slightly larger frame or, for srhw's RTL, four times the dataflow model's cycles per LR pixel
    (a design folded for a low rate spends far more than 200 cycles on a pixel)."""
    pixels = (h + 8) * (w + 8)
    return int(max(200 * pixels * tb.rtl["scale"] ** 2, 4 * pixels * (tb.cfg.get("ideal_cycles_per_lr_pixel") or 0))) \
        + 20000


@cocotb.test()
async def reset_mid_frame(dut):
    """Reset while a frame is half through, then a clean frame must come out exact."""
    ctx = await _session(dut, "reset_session")
    if ctx is None:
        return
    cfg, tb, h, w, c = ctx
    tb.send(frame_of("noise", c, h, w, 7))
    await ClockCycles(tb.clk, max(10, h * w // 2))
    await tb.reset(5)
    clean = frame_of("ramp", c, h, w, 3)
    await tb.start(h, w)
    tb.send(clean)
    got, framing = await tb.receive((h, w), _budget(tb, h, w))
    problems = framing + _compare(got, golden.run(tb.q, clean), f"clean frame after reset ({w}x{h})")
    _write_result(cfg, "reset_mid_frame", {"size": [h, w], "ok": not problems})
    assert not problems, "\n".join(problems[:20])


@cocotb.test()
async def malformed_frames(dut):
    """Frames with short, long, missing and extra lines, a TUSER in mid-line and beats before a
    TUSER, then a good frame: every input frame gives one well-formed output frame, the good one
    comes out bit-exact, and the status registers count what the input dropped and filled in
    (srhw.framing states the rules). Then, where the width is a register, a frame wider than
    the line buffers: it runs at their width, exact on its first max_w columns."""
    from srhw.framing import LONG_LINE, SIZE_CLAMPED, expected, frame_beats, malformed

    ctx = await _session(dut, "malformed_session")
    if ctx is None:
        return
    cfg, tb, h, w, c = ctx
    good = frame_of("noise", c, h, w, 11)
    pixels = iter(range(1, 10**9))
    beats = malformed((v % 251 + 1 for v in pixels), h, w)
    beats += frame_beats(iter(range(h * w)), [w] * h)  # the good frame: beat k is pixel k
    _, frames, flags, dropped, filled = expected(beats, h, w)
    flat = good.reshape(c, -1)
    line, user = bytearray(), []
    for k, (d, u, last) in enumerate(beats):
        good_beat = k >= len(beats) - h * w
        line += bytes(int(flat[ch, d]) for ch in range(c)) if good_beat else bytes((d + ch) % 256 for ch in range(c))
        user += [u] * c
        if last:  # an AXI frame per TLAST; beats without one ride with the next line
            tb.source.send_nowait(AxiStreamFrame(bytes(line), tuser=user))
            line, user = bytearray(), []
    problems = []
    for i in range(frames):
        got, framing = await tb.receive((h, w), _budget(tb, h, w))
        problems += [f"output frame {i}: {m}" for m in framing]
    problems += _compare(got, golden.run(tb.q, good), f"the good frame after {frames - 1} malformed ones ({w}x{h})")
    regs = tb.rtl["registers"]
    if regs.get("width") is not None:  # a width register above the line buffers: the kernel runs at max_w
        mw = tb.rtl["max_w"]
        wide = frame_of("ramp", c, h, mw + 5, 2)
        await tb.axil.write_dword(regs["width"], mw + 5)
        tb.send(wide)
        got, framing = await tb.receive((h, mw), _budget(tb, h, mw))
        problems += [f"the frame {mw + 5} wide: {m}" for m in framing]
        problems += _compare(got, golden.run(tb.q, np.ascontiguousarray(wide[:, :, :mw])),
                             f"a frame {mw + 5} wide with the line buffers {mw} wide (its first {mw} columns)")
        flags |= SIZE_CLAMPED | LONG_LINE
        dropped += 5 * h
        await tb.axil.write_dword(regs["width"], w)
    status = [(await tb.axil.read_dword(regs[k])) for k in ("status", "dropped", "filled")] \
        if "status" in regs else None
    if status is not None and status != [flags, dropped, filled]:
        problems.append(f"status registers {status}, expected {[flags, dropped, filled]} (flags, dropped, filled)")
    _write_result(cfg, "malformed_frames", {"size": [h, w], "frames": frames, "status": status, "ok": not problems})
    assert not problems, "\n".join(problems[:20])
