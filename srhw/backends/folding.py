"""Throughput-driven folding: per-layer parallelism that just meets the pixel rate.

The LR pixel rate is `fps * in_w * in_h`; at `clock_mhz` a stage may spend
`budget = clock / rate` cycles per LR pixel (padding positions included). Each conv takes the
fold with fewer multipliers (hls/srhw_conv.h, docs/hls.md):
- output groups: PO outputs per cycle over GROUPS = ceil(C_OUT / PO) cycles per position, the
  most groups that fit; multipliers count the weight slots non-zero in some group;
- a schedule of P positions in T cycles (any fraction): output o gets ceil(P * R_o / T)
  multipliers for its R_o non-zero products; a multiplier selects among T operands, so T is at
  most MAX_PERIOD_CYCLES;
- input chunks, for a rate no schedule reaches (a plan folded to fit a part): PO outputs of
  SIMD taps per cycle, each output group's taps in CHUNKS cycles, GROUPS x CHUNKS cycles per
  position; PO x SIMD multipliers share one CHUNKS:1 multiplexer per tap (FINN's PE x SIMD).
The output stage emits R*R / PPC beats per LR pixel. The bound is the model's non-zero MACs
per second divided by the clock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from srhw.fixed import folded_multipliers, lut_multiplier
from srhw.options import OptionError, check_choice, check_positive
from srhw.qir import QAdd, QAffine, QConv, QCrop, QDepthToSpace, QGraph, QTable

BOARDS: dict[str, tuple[str, float, int]] = {  # preset -> (part, clock MHz, DSP slices: DSP48E2, DSP58 on Versal)
    "zcu102": ("xczu9eg-ffvb1156-2-e", 300.0, 2520),
    "kv260": ("xck26-sfvc784-2LV-c", 300.0, 1248),
    "u250": ("xcu250-figd2104-2L-e", 300.0, 12288),
    "vck190": ("xcvc1902-vsva2197-2MP-e-S", 300.0, 1968),
}
DEFAULT_BOARD = "zcu102"
BRAM18_BITS = 18 * 1024
# Block RAM per preset's part, in 18-kbit halves of its BRAM36 tiles (ZCU102 912, KV260 144, U250
# 2688, VCK190 967 BRAM36; the UltraRAM of the last three is not counted)
BOARD_BRAM18 = {"zcu102": 1824, "kv260": 288, "u250": 5376, "vck190": 1934}
# The kernel's AXI4-Stream ports, in both backends. Vitis HLS renames arguments that clash with
# HDL keywords (`in` -> `in_r`), so the names are Xilinx's video-IP names, which clash with none.
IN_PORT, OUT_PORT = "s_axis_video", "m_axis_video"
# The exported IP's vendor:library:name:version (run_hls.tcl, hls_config.cfg, the README).
IP_VENDOR, IP_LIBRARY, IP_VERSION = "srhw.org", "srhw", "1.0"


@dataclass(frozen=True)
class Target:
    board: str = DEFAULT_BOARD
    part: str = BOARDS[DEFAULT_BOARD][0]
    clock_mhz: float = 300.0
    fps: float = 60.0
    in_w: int = 1920
    in_h: int = 1080
    max_w: int = 1920
    fixed_size: bool = False     # the frame size is a compile-time constant (in_w x in_h)
    dsp: int = BOARDS[DEFAULT_BOARD][2]  # the part's DSP slices: the most multipliers a plan may take

    @property
    def budget(self) -> float:
        """Cycles available per LR pixel."""
        return self.clock_mhz * 1e6 / (self.fps * self.in_w * self.in_h)


UHD = (3840, 2160)  # the output frame the default plan is for


def default_in_size(scale: int) -> str:
    """The LR frame whose output is 4K UHD: 1920x1080 at x2, 1280x720 at x3, 960x540 at x4 (sizes
    rounded up where the scale does not divide them). A model that does not upscale (SRCNN,
    fed the bicubic-upscaled frame) takes 1920x1080: its input is the output's size, and at one
    pixel per cycle a 4K frame is 36 fps at 300 MHz."""
    if scale <= 1:
        return "1920x1080"
    return f"{-(-UHD[0] // scale)}x{-(-UHD[1] // scale)}"


def make_target(board: str | None = None, clock_mhz: float | None = None, fps: float = 60.0,
                in_size: str | None = "1920x1080", max_width: int | None = None, fixed_size: bool = False,
                scale: int = 2) -> Target:
    """The hardware target; `in_size` None: default_in_size(scale)."""
    defaulted = in_size is None
    in_size = default_in_size(scale) if defaulted else in_size
    b = board or DEFAULT_BOARD
    check_choice("board", b, tuple(BOARDS))
    try:
        w, h = (int(v) for v in in_size.lower().split("x"))
    except (ValueError, AttributeError):
        raise OptionError(f"in_size must be WIDTHxHEIGHT (e.g. 1920x1080), not {in_size!r}", "in_size") from None
    part, clock, dsp = BOARDS[b]
    clock = clock if clock_mhz is None else clock_mhz
    mw = w if max_width is None else max_width
    check_positive("clock_mhz", clock)
    check_positive("fps", fps)
    for what, v in (("width", w), ("height", h)):
        if v <= 0:
            raise OptionError(f"in_size {what} must be positive, not {v!r}", "in_size")
    check_positive("max_width", mw)
    if mw < w:
        raise OptionError(f"max_width {mw} is smaller than the in_size width {w}" + (
            f" (the default for x{scale}: the frame whose output is 4K UHD; give in_size)" if defaulted else ""),
            "max_width", "in_size")
    if fixed_size and max_width is not None and max_width != w:
        raise OptionError("fixed_size takes the frame size from in_size; drop max_width", "fixed_size", "in_size",
                          "max_width")
    return Target(b, part, float(clock), float(fps), w, h, int(mw), fixed_size, dsp)


@dataclass(frozen=True)
class StageFold:
    name: str
    groups: int                 # cycles per (padded) pixel position
    po: int                     # outputs computed in parallel
    multipliers: int
    cycles_per_lr_pixel: float  # including padding positions at the target size
    line_buffer_bits: int
    weight_bits: int
    nonzero_macs: int           # per LR pixel
    period: int = 0             # scheduled fold: P positions in `period_cycles` cycles (0: group fold)
    period_cycles: int = 0
    lut: bool = False           # its products are LUT multipliers (srhw.fixed.lut_multiplier), not DSP slices
    chunks: int = 1             # input chunks: an output group's taps in `chunks` cycles of `simd` taps
    simd: int = 0               # taps per chunk (chunks > 1)
    operand_mux_luts: int = 0   # LUT6 of the operand multiplexers (mux_luts): scheduled and chunked folds
    rom_bram18: int = 0         # a chunked fold's weight ROM (GROUPS x CHUNKS words) in block RAM

    @property
    def bram18(self) -> int:
        lines = math.ceil(self.line_buffer_bits / BRAM18_BITS) if self.line_buffer_bits > 4096 else 0
        return lines + self.rom_bram18


@dataclass(frozen=True)
class Plan:
    target: Target
    stages: tuple[StageFold, ...]
    ppc: int
    requested: "Plan | None" = None  # the plan at the requested rate, where it needs more multipliers
                                     # than the part has DSPs and this one is folded down to fit
    deepest: int = 0                 # where no rate fits: the multipliers of the deepest fold there is

    @property
    def multipliers(self) -> int:
        return sum(s.multipliers for s in self.stages)

    @property
    def dsp_multipliers(self) -> int:
        """The multipliers that take a DSP slice each: all but the LUT multipliers."""
        return sum(s.multipliers for s in self.stages if not s.lut)

    @property
    def lut_multipliers(self) -> int:
        return sum(s.multipliers for s in self.stages if s.lut)

    @property
    def bound(self) -> float:
        rate = self.target.fps * self.target.in_w * self.target.in_h
        return sum(s.nonzero_macs for s in self.stages) * rate / (self.target.clock_mhz * 1e6)

    @property
    def cycles_per_lr_pixel(self) -> float:
        return max(s.cycles_per_lr_pixel for s in self.stages)

    @property
    def projected_fps(self) -> float:
        t = self.target
        return t.clock_mhz * 1e6 / (self.cycles_per_lr_pixel * t.in_w * t.in_h)


def _conv_fold(l: QConv, in_width: int, t: Target, groups_forced: int | None,
               period_forced: tuple[int, int] | None, capped: bool = False,
               chunks_forced: tuple[int, int] | None = None, deep: bool = False) -> StageFold:
    """The cheapest fold for the target: output groups (whole cycles per pixel), a schedule of P
    positions in T cycles (any fraction, zero weights skipped), or, with `deep`, input chunks.

    `capped`: where the budget allows more than MAX_PERIOD_CYCLES per period, a schedule of that
    many cycles is a candidate too (the stage then runs faster than it needs to). Without it a
    slower target can cost more multipliers than a faster one (a 64-cycle schedule gives way to
    a one-output-per-cycle group fold), which the search for the rate that fits a part needs
    not to happen. `deep`: chunked folds are candidates as well (the search for the rate that
    fits a part; at a rate the part carries, the plan keeps to the folds without a window
    multiplexer wider than a schedule's)."""
    o, i, kh, kw = l.weight.shape
    pt, pl, pb, pr = l.pads
    overhead = (t.in_h + pt + pb) * (t.in_w + pl + pr) / (t.in_h * t.in_w)
    line_buffer = max(kh - 1, 0) * (t.max_w + pl + pr) * i * in_width
    common = {"line_buffer_bits": line_buffer, "weight_bits": int(l.weight.size) * l.w_width,
              "nonzero_macs": int(np.count_nonzero(l.weight)), "lut": lut_multiplier(l.w_width, in_width)}
    if period_forced is not None:
        p, cycles = period_forced
        return _sched_fold(l, p, cycles, overhead, common, in_width)
    if chunks_forced is not None:
        g, chunks = chunks_forced
        return _chunk_fold(l, g, chunks, overhead, common, in_width)
    g = max(1, min(groups_forced, o)) if groups_forced is not None else \
        max(1, min(o, math.floor(t.budget / overhead + 1e-9)))
    po = math.ceil(o / g)
    g = math.ceil(o / po)
    best = StageFold(l.name, g, po, folded_multipliers(l.weight != 0, po), g * overhead, **common)
    if groups_forced is not None:
        return best
    for p in range(1, MAX_PERIOD + 1):
        cycles = math.floor(p * t.budget / overhead + 1e-9)
        if capped:
            cycles = min(cycles, MAX_PERIOD_CYCLES)
        if cycles < p or cycles > MAX_PERIOD_CYCLES:
            continue
        f = _sched_fold(l, p, cycles, overhead, common, in_width)
        if f.multipliers < best.multipliers:
            best = f
    steps = math.floor(t.budget / overhead + 1e-9)  # cycles per position
    if deep and steps > MAX_PERIOD_CYCLES:
        g, chunks = chunk_shape(o, i * kh * kw, steps)
        if chunks > 1:
            f = _chunk_fold(l, g, chunks, overhead, common, in_width)
            if f.multipliers < best.multipliers:
                best = f
    return best


def mux_luts(fan_in: int, bits: int) -> int:
    """LUT6 of a fan_in:1 multiplexer `bits` wide: a LUT6 is a 4:1 multiplexer, so a tree of
    them takes ceil((fan_in - 1) / 3) per bit (UG574; the F7/F8 multiplexers of a slice only
    make it cheaper)."""
    return bits * math.ceil((fan_in - 1) / 3) if fan_in > 1 else 0


def chunk_shape(outputs: int, taps: int, steps: int) -> tuple[int, int]:
    """(GROUPS, CHUNKS) with GROUPS x CHUNKS <= steps that needs the fewest multipliers PO x SIMD
    (PO = ceil(outputs / GROUPS), SIMD = ceil(taps / CHUNKS)), the fewest cycles among those."""
    s = np.arange(1, min(taps, steps) + 1)
    simd = -(-taps // s)
    s = -(-taps // simd)                      # the chunks SIMD taps really take
    g = np.minimum(outputs, steps // s)
    po = -(-outputs // g)
    g = -(-outputs // po)
    order = np.lexsort((g * s, po * simd))
    return int(g[order[0]]), int(s[order[0]])


def _chunk_fold(l: QConv, groups: int, chunks: int, overhead: float, common: dict, in_width: int) -> StageFold:
    """Input chunks: GROUPS output groups of PO, the taps ((c * KH + u) * KW + v, zeros past the
    last) in CHUNKS chunks of SIMD. A multiplier (lane p, slot j) exists where some word's weight
    there is non-zero."""
    o = l.weight.shape[0]
    taps = l.weight[0].size
    po = math.ceil(o / max(1, min(groups, o)))
    groups = math.ceil(o / po)
    simd = math.ceil(taps / max(1, min(chunks, taps)))
    chunks = math.ceil(taps / simd)
    words = chunk_words(l.weight, groups, po, chunks, simd)
    mults = int(np.any(words != 0, axis=(0, 1)).sum())
    width = po * simd * l.w_width
    # a ROM of more than 64 words and 4 kbit is 512 x 36 block RAMs; a shallower or smaller one
    # is distributed (LUT) ROM, as Vitis maps it
    deep = groups * chunks > 64 and common["weight_bits"] > 4096
    rom = math.ceil(width / 36) * math.ceil(groups * chunks / 512) if deep else 0
    return StageFold(l.name, groups, po, mults, groups * chunks * overhead, **common, chunks=chunks, simd=simd,
                     operand_mux_luts=mux_luts(chunks, simd * in_width), rom_bram18=rom)


def chunk_words(weight: np.ndarray, groups: int, po: int, chunks: int, simd: int) -> np.ndarray:
    """The weights [O, C, KH, KW] as the chunked fold's ROM: [GROUPS, CHUNKS, PO, SIMD], word
    (g, s) lane p slot j the weight of output g * PO + p at tap s * SIMD + j (0 past the ends)."""
    o = weight.shape[0]
    rows = np.zeros((groups * po, chunks * simd), dtype=np.int64)
    flat = weight.reshape(o, -1)
    rows[:o, : flat.shape[1]] = flat
    return rows.reshape(groups, po, chunks, simd).transpose(0, 2, 1, 3)


def dsp_tiles(a_bits: int, b_bits: int) -> int:
    """DSP48E2 slices (a 27 x 18-bit signed multiplier each) for a signed a_bits x b_bits product
    built from them: the wider operand in 26-bit pieces, the narrower in 17-bit ones."""
    wide, narrow = max(a_bits, b_bits), min(a_bits, b_bits)
    if wide <= 27 and narrow <= 18:
        return 1
    return math.ceil((wide - 1) / 26) * math.ceil((narrow - 1) / 17)


MAX_PERIOD = 8            # positions per scheduled period
MAX_PERIOD_CYCLES = 64    # cycles per period: each lane selects among this many operands


def _sched_fold(l: QConv, p: int, cycles: int, overhead: float, common: dict, in_width: int) -> StageFold:
    per_out = (l.weight != 0).reshape(l.weight.shape[0], -1).sum(axis=1)
    lanes = tuple(math.ceil(p * int(n) / cycles) for n in per_out)
    return StageFold(l.name, 0, 0, sum(lanes), cycles / p * overhead, period=p, period_cycles=cycles, **common,
                     operand_mux_luts=sum(lanes) * mux_luts(cycles, in_width))


@dataclass(frozen=True)
class Schedule:
    """A scheduled fold's tables: P positions in T cycles, output by output.

    Output o's non-zero products (position q, then c, u, v in weight order) are dealt to its
    lanes in order: lane l does products l * T .. l * T + T - 1, one per cycle k. Arrays
    [C_OUT, LANES, T]: weight (0 = idle), q (P when idle), c, u, v. Because each lane covers
    consecutive products, the products of one position q fall in a few consecutive lanes:
    first[o, q] and count[o, q] (<= span), the inputs of one adder tree per (q, o)."""

    period: int
    cycles: int
    lanes: tuple[int, ...]    # per output channel
    weight: np.ndarray
    q: np.ndarray
    c: np.ndarray
    u: np.ndarray
    v: np.ndarray
    first: np.ndarray         # [C_OUT, P]
    count: np.ndarray         # [C_OUT, P]

    @property
    def width(self) -> int:
        """Lanes of the widest output (the tables' second dimension)."""
        return self.weight.shape[1]

    @property
    def span(self) -> int:
        return max(1, int(self.count.max(initial=0)))


def schedule_tables(weight: np.ndarray, p: int, cycles: int) -> Schedule:
    o_n = weight.shape[0]
    per_out = [np.argwhere(weight[o] != 0) for o in range(o_n)]  # (c, u, v) in weight order
    lanes = tuple(math.ceil(p * len(nz) / cycles) for nz in per_out)
    width = max(1, max(lanes))
    shape = (o_n, width, cycles)
    w_t, c_t, u_t, v_t = (np.zeros(shape, dtype=np.int64) for _ in range(4))
    q_t = np.full(shape, p, dtype=np.int64)
    first = np.zeros((o_n, p), dtype=np.int64)
    count = np.zeros((o_n, p), dtype=np.int64)
    for o, nz in enumerate(per_out):
        r = len(nz)
        if r == 0:
            continue
        item = np.arange(p * r)
        lane, k = np.divmod(item, cycles)
        q, j = np.divmod(item, r)
        w_t[o, lane, k] = weight[o][tuple(nz[j].T)]
        q_t[o, lane, k] = q
        c_t[o, lane, k], u_t[o, lane, k], v_t[o, lane, k] = nz[j].T
        qs = np.arange(p)
        first[o] = qs * r // cycles
        count[o] = ((qs + 1) * r - 1) // cycles - first[o] + 1
    return Schedule(p, cycles, lanes, w_t, q_t, c_t, u_t, v_t, first, count)


def plan(q: QGraph, t: Target, groups: int | None = None, period: tuple[int, int] | None = None,
         chunks: tuple[int, int] | None = None) -> Plan:
    """Per-layer folding for target t; `groups`, `period` (P, T) or `chunks` (GROUPS, CHUNKS)
    force one fold on every conv (tests).

    A plan needing more multipliers than the part has DSP slices is folded further: a frame
    rate whose plan fits, found by bisection on the rate (40 steps) with chunked folds among
    the candidates, and the plan says so (`requested` holds the one at the asked rate).
    Multipliers fall with the rate almost monotonically (a fold's count can rise by a few slots
    from one group size to the next), so the rate found always fits and is the highest one up
    to such steps. EDSR at 1080p60 needs about 170 TMAC/s; on a ZCU102 it gets the rate its 2520
    DSPs carry rather than a refusal or a silent miss. Only a part with fewer DSP slices than
    the network has convolutions (each takes one multiplier at the deepest fold) has no rate."""
    wanted = _plan(q, t, groups, period, chunks=chunks)
    if groups is not None or period is not None or chunks is not None or wanted.dsp_multipliers <= t.dsp:
        return wanted
    lo, hi = 0.0, t.fps
    best = None
    for _ in range(40):
        mid = (lo + hi) / 2
        trial = _plan(q, replace(t, fps=mid), None, None, capped=True, deep=True)
        if trial.dsp_multipliers <= t.dsp:
            lo, best = mid, trial
        else:
            hi = mid
    if best is None:  # even the deepest fold needs more multipliers than the part has
        return replace(wanted, deepest=_plan(q, replace(t, fps=t.fps * 1e-9), None, None, capped=True,
                                             deep=True).dsp_multipliers)
    return replace(best, requested=wanted)


def _plan(q: QGraph, t: Target, groups: int | None, period: tuple[int, int] | None, capped: bool = False,
          chunks: tuple[int, int] | None = None, deep: bool = False) -> Plan:
    stages = []
    for l in q.layers:
        if isinstance(l, QConv):
            f = _conv_fold(l, q.fmt_of(l.inputs[0]).width, t, groups, period, capped, chunks, deep)
            if l.mult is not None and np.any(l.mult != 1):  # a model quantized already: acc x M per epilogue
                tiles = dsp_tiles(l.cert.acc_width, int(l.mult.max()).bit_length() + 1)
                f = replace(f, multipliers=f.multipliers + tiles * (l.weight.shape[0] if f.period else f.po))
            stages.append(f)
        elif isinstance(l, (QAffine, QAdd)):
            stages.append(StageFold(l.name, 1, l.out_frac.size, l.out_frac.size if isinstance(l, QAffine) else 0,
                                    1.0, 0, 0, 0))
        elif isinstance(l, QTable):  # a ROM read per channel
            stages.append(StageFold(l.name, 1, l.out_frac.size, 0, 1.0, 0, int(l.table.size) * l.out_fmt.width, 0))
    tail = output_tail(q)
    r = tail.scale
    ppc = r if tail.crop_right % r == 0 else 1
    stages.append(StageFold("video_out", 1, ppc, 0, r * r / ppc, (t.max_w * tail.hr_channels * r * r * 8) if r > 1 else 0,
                            0, 0))
    return Plan(t, tuple(stages), ppc)


@dataclass(frozen=True)
class Tail:
    """What follows the layer that produces the output pixel codes: DepthToSpace? -> Crop?"""

    scale: int = 1
    mode: str = "CRD"
    crop_bottom: int = 0
    crop_right: int = 0
    hr_channels: int = 1


def output_tail(q: QGraph) -> Tail:
    d2s = next((l for l in q.layers if isinstance(l, QDepthToSpace)), None)
    crop = next((l for l in q.layers if isinstance(l, QCrop)), None)
    return Tail(d2s.blocksize if d2s else 1, d2s.mode if d2s else "CRD", crop.bottom if crop else 0,
                crop.right if crop else 0, (d2s or q.layers[-1]).out_frac.size)


def kernel_interface(q: QGraph, p: Plan, top: str) -> dict:
    """What a testbench needs to drive the kernel (HLS or RTL, same ports): stream widths,
    upscaling and crop, pixels per output beat, and the s_axi_control register map."""
    tail, t = output_tail(q), p.target
    return {"top": top, "in_port": IN_PORT, "out_port": OUT_PORT, "fixed_size": t.fixed_size, "in_w": t.in_w, "in_h": t.in_h, "max_w": t.max_w,
            "in_channels": q.input_channels, "out_channels": tail.hr_channels, "scale": tail.scale,
            "min_in_size": list(q.min_input_size()),   # [h, w]: an unpadded network shrinks the frame
            "growth": list(q.growth()),   # [gh, gw]: output rows = (h + gh) * scale - crop_bottom
            "ppc": p.ppc, "crop_bottom": tail.crop_bottom, "crop_right": tail.crop_right,
            "registers": {"control": 0, "width": None if t.fixed_size else 0x10,
                          "height": None if t.fixed_size else 0x18, **_status_registers(t.fixed_size)}}


def _status_registers(fixed: bool) -> dict[str, int]:
    """The framing status (read-only): sticky flags, beats dropped, pixels filled in."""
    base = 0x10 if fixed else 0x20
    return {"status": base, "dropped": base + 0x8, "filled": base + 0x10}
