"""The kernel as a network of processes and FIFOs, timed cycle by cycle: stream depths derived
from the schedule, and the planned rate certified under hls::stream blocking semantics.

Every stage of both backends is one or two processes that run a fixed sequence of iterations
per frame, one per cycle when nothing blocks (a pipelined loop with II = 1 in the HLS C++, the
stage's step in srhw's RTL). Iteration i may read one element of some input stream and write
one element of some output stream, `latency` cycles after it starts. The semantics are those
of hls::stream and of srhw_fifo.v: an element written at cycle t can be read from t + 1; a
write into a FIFO of depth D waits until the element D places ahead has been read, a cycle
earlier; a read waits for its element; a process that waits stalls as a whole.

Times are solved as a fixed point over whole frames at once. With e_j the iterations of a
process that read or write, and C_j the earliest cycle its streams allow,
    t(e_j) = max(t(e_{j-1}) + e_j - e_{j-1}, C_j),
which is `e + maximum.accumulate(max(C - e, 0))`; the constraints of each process come from
its neighbours' times, and the passes repeat until nothing moves. The kernel's input delivers
one beat per cycle and its output is always ready (a sink at full rate).

Depths: a run with unbounded FIFOs gives, per stream, the depth at which no write would ever
wait; the transient at a frame boundary (a producer already on frame f + 1 while its consumer
still walks frame f's bottom padding) is left out, since waiting there costs a producer that
is faster than the slowest stage nothing. The certificate is the run with the derived depths.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from srhw.fixed import conv_out_size

EXTERNAL_IN, EXTERNAL_OUT = "<in>", "<out>"
MIN_DEPTH = 2   # hls::stream's default depth
SUMS_DEPTH = 1  # a scheduled stage's periods of sums between its MAC and output sides
DEEP_FIFO = 64  # deeper FIFOs go to block RAM in both backends (BIND_STORAGE impl=bram, srhw_fifo_bram.v);
                # shallower ones to LUTs / SRLs


@dataclass
class Process:
    """One process: `iterations` per frame; per stream, the iteration of each element it
    reads or writes in a frame (ascending)."""

    name: str
    iterations: int
    reads: dict[str, np.ndarray] = field(default_factory=dict)
    writes: dict[str, np.ndarray] = field(default_factory=dict)
    latency: int = 1
    stage: str = ""          # the layer (or video_in / video_out) it belongs to
    rate: float = 1.0        # walked positions per cycle when nothing waits (P / T, 1 / GROUPS)


@dataclass
class Stream:
    name: str
    producer: str            # process names, or EXTERNAL_IN / EXTERNAL_OUT
    consumer: str
    bits: int                # element width
    depth: int | None = None  # None: unbounded (derivation run); a fixed depth is kept


@dataclass
class Network:
    processes: list[Process]
    streams: list[Stream]
    rows: int = 0            # LR rows per frame
    scale: int = 1           # HR rows per LR row
    beats_per_row: int = 0   # output beats per HR row

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)


@dataclass
class Run:
    """A timed run of `frames` frames back to back."""

    frames: int
    start_of_frame: np.ndarray        # the cycle each output frame's first beat leaves
    end_of_frame: np.ndarray          # the cycle each output frame's last beat leaves
    row_ends: np.ndarray              # [frame, HR row]: the cycle each output row's last beat leaves
    needed_depth: dict[str, int]      # per stream: the depth at which no write waits (transients excluded)
    converged: bool
    passes: int
    lines: dict = field(default_factory=dict, repr=False)   # process name -> its solved timeline

    @property
    def period(self) -> float:
        """Cycles between output frames in steady state (the last two frames)."""
        return float(self.start_of_frame[-1] - self.start_of_frame[-2]) if self.frames > 1 else math.nan


class _Timeline:
    """A process's read/write iterations over `frames` frames and their solved times."""

    def __init__(self, p: Process, frames: int):
        self.p = p
        n = p.iterations
        tile = lambda a: (np.asarray(a, dtype=np.int64)[None, :] + n * np.arange(frames)[:, None]).reshape(-1)
        self.reads = {s: tile(a) for s, a in p.reads.items()}
        self.writes = {s: tile(a) for s, a in p.writes.items()}
        pts = [np.array([0, frames * n - 1], dtype=np.int64)] + list(self.reads.values()) + list(self.writes.values())
        self.events = np.unique(np.concatenate(pts))
        self.time = self.events.astype(np.float64).copy()
        self.read_at = {s: np.searchsorted(self.events, a) for s, a in self.reads.items()}
        self.write_at = {s: np.searchsorted(self.events, a) for s, a in self.writes.items()}
        self.frame_last = np.searchsorted(self.events, n * np.arange(1, frames + 1) - 1)

    def read_times(self, s: str) -> np.ndarray:
        return self.time[self.read_at[s]]

    def write_times(self, s: str) -> np.ndarray:
        return self.time[self.write_at[s]] + self.p.latency


def simulate(net: Network, frames: int, max_passes: int = 200, input_interval: float = 1.0,
             frame_interval: float = 0.0) -> Run:
    """Times `frames` frames. The input offers the beats of a frame one per `input_interval`
    cycles (1: a source at full rate), and frame f from cycle f * frame_interval (0: each
    frame right after the last), as a video source with blanking does."""
    lines = {p.name: _Timeline(p, frames) for p in net.processes}
    by_name = {s.name: s for s in net.streams}
    order = [p.name for p in net.processes]  # producers before consumers (the kernel's order)
    converged, passes = False, 0
    for passes in range(1, max_passes + 1):
        moved = False
        for name in order + order[::-1]:
            tl = lines[name]
            c = np.zeros_like(tl.time)
            for s, idx in tl.read_at.items():
                st = by_name[s]
                if st.producer == EXTERNAL_IN:
                    per = idx.size // frames
                    n = np.arange(idx.size)
                    avail = np.floor((n % per) * input_interval + (n // per) * frame_interval) if frame_interval \
                        else np.floor(n * input_interval)
                else:
                    avail = lines[st.producer].write_times(s) + 1
                np.maximum.at(c, idx, avail)
            for s, idx in tl.write_at.items():
                st = by_name[s]
                if st.consumer == EXTERNAL_OUT or st.depth is None or idx.size <= st.depth:
                    continue
                freed = lines[st.consumer].read_times(s)[: idx.size - st.depth] + 1 - tl.p.latency
                np.maximum.at(c, idx[st.depth:], freed)
            new = tl.events + np.maximum.accumulate(np.maximum(c - tl.events, 0.0))
            if not np.array_equal(new, tl.time):
                moved = True
                tl.time = new
        if not moved:
            converged = True
            break
    out_stream = next(s for s in net.streams if s.consumer == EXTERNAL_OUT)
    out = lines[out_stream.producer]
    beats = out.write_times(out_stream.name).reshape(frames, -1)
    row_ends = beats[:, net.beats_per_row - 1::net.beats_per_row] if net.beats_per_row else beats[:, -1:]
    needed = {}
    for s in net.streams:
        if s.producer == EXTERNAL_IN or s.consumer == EXTERNAL_OUT:
            continue
        w = lines[s.producer].write_times(s.name)
        r = lines[s.consumer].read_times(s.name)
        cons = lines[s.consumer]
        per_frame = r.size // frames
        # the consumer's last cycle of the previous frame, per element: before it, the element
        # waits out a frame boundary (left out of the depth)
        prev_end = np.concatenate([[-np.inf], cons.time[cons.frame_last[:-1]]])
        frame_of = np.arange(w.size) // per_frame
        steady = w >= prev_end[frame_of]
        k = np.searchsorted(r, w - 1, side="right")  # elements read by the cycle before each write
        need = np.arange(w.size) - k + 1
        needed[s.name] = int(max(need[steady].max(initial=0), 1))
    return Run(frames, beats[:, 0], beats[:, -1], row_ends, needed, converged, passes, lines)


def derive_depths(net: Network, input_interval: float, frames: int = 3) -> dict[str, int]:
    """Per internal stream, its depth (at least MIN_DEPTH), from the schedule:

    - a scheduled stage's sums (MAC side to output side): one period (SUMS_DEPTH), since the
      output side copies a period into its own register as it starts on it;
    - between two stages, twice the two sides' bursts: a scheduled stage moves P elements in P
      consecutive cycles of every T (a group-folded or per-pixel stage one), and a FIFO that
      holds a burst from each side lets either run a whole burst ahead of the other;
    - into the output stage, besides, what the last stage writes while the output stage emits
      HR rows 1..R-1 of an LR row from its row buffer and reads nothing: (R - 1) HR rows of
      beats at the writer's rate;
    - out of a fork (a skip connection) and into the join that adds its paths back, besides,
      what the longer path's latency needs: the depth at which no write waits in a run with
      unbounded FIFOs and the input at the planned rate (one LR pixel per `input_interval`
      cycles) or at the slowest stage's pace where that is faster. A path that waits backs up
      into the fork, and a fork that waits starves the other path. Where the short path is a
      bare FIFO the rows gather at the fork's output; where it holds a stage, they gather in
      that stage's output into the join (a fork's outputs alone would deadlock there: the stage
      fills its 4-deep output and stops reading).
      A stage inside a path keeps the rule above: waiting there delays both paths alike.

    The certificate is a run with these depths (`simulate`)."""
    procs = {p.name: p for p in net.processes}

    def burst(a: np.ndarray) -> int:
        """The longest run of consecutive iterations in `a`, at most a padded row's worth."""
        if a.size == 0:
            return 1
        breaks = np.flatnonzero(np.diff(a) != 1)
        runs = np.diff(np.concatenate([[-1], breaks, [a.size - 1]]))
        return int(runs.max()) if runs.max() < 64 else 1  # a continuous stream is no burst

    depths: dict[str, int] = {}
    for s in net.streams:
        if s.producer == EXTERNAL_IN or s.consumer == EXTERNAL_OUT:
            continue
        if s.name.endswith("_sums"):  # the output side takes a period into its own buffer at once
            depths[s.name] = SUMS_DEPTH
            continue
        if s.producer.startswith("fork_"):  # passes each element on as it takes it: its need is the skip's
            depths[s.name] = MIN_DEPTH
            continue
        w, r = procs[s.producer].writes[s.name], procs[s.consumer].reads[s.name]
        d = 2 * (burst(w) + burst(r))
        if s.consumer == "video_out":  # at the writer's stage's rate
            d += math.ceil(procs[s.producer].rate * _idle_run(r))
        depths[s.name] = max(MIN_DEPTH, d)
    skips = skip_streams(net)
    if skips:
        pixels = len(next(iter(procs["video_in"].reads.values())))
        pace = max(p.iterations for p in net.processes)
        # at the faster of the planned rate and the kernel's own pace: a skip sized for a slow
        # plan alone would throttle a kernel that can run faster (the certificate's full-rate run)
        input_interval = min(input_interval, pace / pixels)
        frame = max(pace, math.ceil(pixels * input_interval))
        free = simulate(Network(net.processes, [Stream(x.name, x.producer, x.consumer, x.bits, None)
                                                for x in net.streams], net.rows, net.scale, net.beats_per_row),
                        frames, input_interval=input_interval, frame_interval=frame)
        for name in skips:
            depths[name] = max(depths[name], free.needed_depth[name])
    return depths


def skip_streams(net: Network) -> set[str]:
    """The streams at the ends of a skip connection's paths: out of a fork, and into a join (a
    process that reads two streams that are not a scheduled stage's sums)."""
    joins = {p.name for p in net.processes if sum(not s.endswith("_sums") for s in p.reads) > 1}
    return {s.name for s in net.streams if s.producer.startswith("fork_") or s.consumer in joins}


def _idle_run(reads: np.ndarray) -> int:
    """The longest stretch of iterations without a read: the output stage's rows 1..R-1."""
    return int(np.diff(reads).max(initial=1) - 1)


def with_depths(net: Network, depths: dict[str, int]) -> Network:
    return Network(net.processes, [Stream(s.name, s.producer, s.consumer, s.bits, depths.get(s.name, s.depth))
                                   for s in net.streams], net.rows, net.scale, net.beats_per_row)


# ------------------------------------------------------------------ the kernel's processes

@dataclass(frozen=True)
class Latency:
    """Cycles from an iteration's start to its write, per process: srhw's RTL (its backend
    gives `stages`, per conv layer: (steps to output) for an output-group stage, (MAC side,
    output side) for a scheduled one). Vitis chooses its own, a few cycles either way, which
    moves a frame by as many cycles."""

    video_in: int = 0       # srhw_video_in passes beats straight into the first FIFO
    pointwise: int = 2
    video_out: int = 1
    stages: dict = field(default_factory=dict)
    conv: int = 8           # defaults where `stages` has no entry
    sched_mac: int = 4
    sched_out: int = 6

    def of(self, layer: str, scheduled: bool) -> tuple[int, int]:
        if layer in self.stages:
            v = self.stages[layer]
            return (v[0], v[1] if len(v) > 1 else v[0])
        return (self.sched_mac, self.sched_out) if scheduled else (self.conv, self.conv)


def fork_chain(stream: str, readers: int) -> list[tuple[str, tuple[str, str]]]:
    """The two-way forks that give `readers` readers a copy of `stream` each, in order:
    (the stream a fork reads, the two it writes). Reader k reads `{stream}_r{k}`; fork k passes
    the rest on in `{stream}_t{k + 1}` (both backends build the same chain)."""
    forks = []
    for k in range(readers - 1):
        src = stream if k == 0 else f"{stream}_t{k}"
        rest = f"{stream}_r{k + 1}" if k == readers - 2 else f"{stream}_t{k + 1}"
        forks.append((src, (f"{stream}_r{k}", rest)))
    return forks


def readers_of(q) -> tuple[dict[str, int], str]:
    """Per value, the stages that read it (video_out reads the last value before the
    upsampling, the pixel value), and that value. Both backends and the model fork by these."""
    from srhw.qir import QCrop, QDepthToSpace

    layers = [l for l in q.layers if not isinstance(l, (QDepthToSpace, QCrop))]
    readers: dict[str, int] = {}
    for l in layers:
        for v in l.inputs:
            readers[v] = readers.get(v, 0) + 1
    pixel_value = layers[-1].output if layers else q.input
    readers[pixel_value] = readers.get(pixel_value, 0) + 1
    return readers, pixel_value


def reader_streams(readers: dict[str, int]):
    """stream(value, base) -> the stream of the value's next read, in reading order: `base` for a
    value with one reader, else `{base}_r{k}` for its k-th (fork_chain's outputs)."""
    taken: dict[str, int] = {}

    def stream(value: str, base: str) -> str:
        if readers.get(value, 0) <= 1:
            return base
        k = taken[value] = taken.get(value, -1) + 1
        return f"{base}_r{k}"
    return stream


def _walk(h: int, w: int, pads: tuple[int, int, int, int], kh: int, kw: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The positions a conv walks (from row Y0 = min(PAD_T, KH - 1)): whether each reads a
    pixel (inside the image) and whether it writes an output; and the padded width."""
    pt, pl, pb, pr = pads
    y0 = min(pt, kh - 1)
    hp, wp = h + pt + pb, w + pl + pr
    y, x = np.divmod(np.arange((hp - y0) * wp, dtype=np.int64), wp)
    y += y0
    inside = (y >= pt) & (y < pt + h) & (x >= pl) & (x < pl + w)
    out = (y >= kh - 1) & (x >= kw - 1)
    return inside, out, wp


def kernel_network(q, plan, h: int, w: int, latency: Latency = Latency()) -> Network:
    """The dataflow network of the kernel that `plan` folds, for h x w LR frames. Stream
    names are the HLS top's (s_in, s_<layer>, s_<layer>_sums, s_<value>_r0/_r1 for forks)."""
    from srhw.backends.folding import output_tail
    from srhw.qir import QAdd, QAffine, QConv, QCrop, QDepthToSpace, QTable

    folds = {s.name: s for s in plan.stages}
    procs: list[Process] = []
    streams: list[Stream] = []
    bits = {q.input: 8 * q.input_channels}
    size = {q.input: (h, w)}
    name_of = {q.input: "s_in"}
    readers, pixel_value = readers_of(q)
    next_stream = reader_streams(readers)
    n_px = h * w
    procs.append(Process("video_in", n_px, {"in": np.arange(n_px)}, {"s_in": np.arange(n_px)}, latency.video_in,
                         "video_in"))
    streams.append(Stream("in", EXTERNAL_IN, "video_in", bits[q.input]))

    def produced(value: str, proc: str, it: np.ndarray, width: int, hw: tuple[int, int]) -> None:
        """Register the stream of `value` written at iterations `it` of `proc`, forking it
        when two stages read it."""
        name_of[value], bits[value], size[value] = f"s_{value_stage[value]}", width, hw
        procs_by[proc].writes[name_of[value]] = it
        streams.append(Stream(name_of[value], proc, "", width))
        for src, outs in fork_chain(name_of[value], readers.get(value, 0)):
            n = hw[0] * hw[1]
            fork = Process(f"fork_{src}", n, {src: np.arange(n)}, {o: np.arange(n) for o in outs}, 1, value_stage[value])
            procs.append(fork)
            procs_by[fork.name] = fork
            next(st for st in streams if st.name == src).consumer = fork.name
            for o in outs:
                streams.append(Stream(o, fork.name, "", width))

    def consume(value: str, proc: str, it: np.ndarray) -> None:
        base = next_stream(value, name_of[value])
        procs_by[proc].reads[base] = it
        next(s for s in streams if s.name == base).consumer = proc

    value_stage = {q.input: "in"}
    procs_by = {p.name: p for p in procs}
    if readers.get(q.input, 0) > 1:  # a skip from the input itself
        bits_in = bits[q.input]
        produced_in = procs_by["video_in"].writes.pop("s_in")
        produced(q.input, "video_in", produced_in, bits_in, (h, w))
    else:
        streams.append(Stream("s_in", "video_in", "", bits[q.input]))
    for l in q.layers:
        if isinstance(l, (QDepthToSpace, QCrop)):
            continue
        hh, ww = size[l.inputs[0]]
        value_stage[l.output] = l.name
        out_bits = l.out_fmt.width * l.out_frac.size
        if isinstance(l, QConv):
            o, i, kh, kw = l.weight.shape
            f = folds[l.name]
            inside, valid, wp = _walk(hh, ww, l.pads, kh, kw)
            positions = inside.size
            out_hw = conv_out_size(hh, ww, kh, kw, l.pads)
            if f.period:
                p, t = f.period, f.period_cycles
                periods = -(-positions // p)
                pos = np.arange(positions)
                lat_mac, lat_out = latency.of(l.name, True)
                mac = Process(f"{l.name}_mac", (periods + 1) * t, {}, {}, lat_mac, l.name, p / t)
                out = Process(f"{l.name}_out", periods * p, {}, {}, lat_out, l.name, p / t)
                procs += [mac, out]
                procs_by |= {mac.name: mac, out.name: out}
                consume(l.inputs[0], mac.name, ((pos // p) * t + pos % p)[inside])
                sums = f"s_{l.name}_sums"
                mac.writes[sums] = np.arange(1, periods + 1) * t + t - 1
                out.reads[sums] = np.arange(periods) * p
                streams.append(Stream(sums, mac.name, out.name, p * o * l.cert.acc_width))
                produced(l.output, out.name, pos[valid], out_bits, out_hw)
            else:
                g = f.groups * f.chunks  # steps per position
                conv = Process(l.name, positions * g, {}, {}, latency.of(l.name, False)[0], l.name, 1 / g)
                procs.append(conv)
                procs_by[conv.name] = conv
                idx = np.arange(positions) * g
                consume(l.inputs[0], conv.name, idx[inside])
                produced(l.output, conv.name, (idx + g - 1)[valid], out_bits, out_hw)
        elif isinstance(l, (QAffine, QAdd, QTable)):
            n = hh * ww
            pw = Process(l.name, n, {}, {}, latency.stages.get(l.name, (latency.pointwise,))[0], l.name)
            procs.append(pw)
            procs_by[pw.name] = pw
            for v in l.inputs:
                consume(v, pw.name, np.arange(n))
            produced(l.output, pw.name, np.arange(n), out_bits, (hh, ww))
    # video_out: R rows of R / PPC beats per LR position; reads in row 0's first beat
    tail = output_tail(q)
    r, ppc = tail.scale, plan.ppc
    ph, pw_ = size[pixel_value]
    per_px = r // ppc if r % ppc == 0 else r  # beats per LR position per HR row
    it = np.arange(ph * r * pw_ * per_px, dtype=np.int64)
    y, rest = np.divmod(it, r * pw_ * per_px)
    i, rest = np.divmod(rest, pw_ * per_px)
    x, j = np.divmod(rest, per_px)
    oy, ox = y * r + i, x * r + j * ppc
    emit = (oy < ph * r - tail.crop_bottom) & (ox < pw_ * r - tail.crop_right)
    vo = Process("video_out", it.size, {}, {"out": it[emit]}, latency.video_out, "video_out")
    procs.append(vo)
    procs_by[vo.name] = vo
    consume(pixel_value, vo.name, it[(i == 0) & (j == 0)])
    streams.append(Stream("out", vo.name, EXTERNAL_OUT, 8 * tail.hr_channels * ppc))
    out_w = pw_ * r - tail.crop_right
    return Network(procs, streams, h, r, -(-out_w // ppc) if out_w % ppc else out_w // ppc)


# ------------------------------------------------------------------ the rate a plan reaches

def per_row_cycles(row_ends: np.ndarray, scale: int) -> float:
    """Cycles per LR row in steady state: the mean interval between the ends of LR rows (every
    `scale`-th output row) over the middle half of each frame after the first, away from the
    frame boundaries (a schedule's slots make single intervals alternate around the mean)."""
    per = []
    for f in row_ends[1:] if row_ends.shape[0] > 1 else row_ends:
        ends = f[scale - 1::scale]
        a, b = ends.size // 4, ends.size - 1 - ends.size // 4
        if b > a:
            per.append((ends[b] - ends[a]) / (b - a))
    return float(np.mean(per)) if per else math.nan


@dataclass
class Certificate:
    """The plan's rate as the model gives it, on frames of `rows` LR rows at the planned width,
    sent back to back, combined for the planned height `height`."""

    depths: dict[str, int]
    bits: dict[str, int]              # per stream: element width
    rows: int
    period: float                     # modelled cycles per frame of `rows` rows
    ideal: int                        # the slowest stage's cycles per frame of `rows` rows
    per_row: float                    # steady state, cycles per LR row
    height: int
    ideal_full: float                 # the slowest stage's cycles per frame of `height` rows
    converged: bool
    skips: frozenset = frozenset()    # the streams at the ends of skip connections (skip_streams)

    @property
    def overhead(self) -> float:
        """Cycles per frame beyond rows x per_row (pipeline fill, padding rows, frame starts)."""
        return self.period - self.rows * self.per_row

    @property
    def projected(self) -> float:
        """Modelled cycles per frame of `height` rows: the overhead and the steady rows."""
        return self.overhead + self.height * self.per_row

    @property
    def efficiency(self) -> float:
        return self.ideal / self.period

    @property
    def efficiency_full(self) -> float:
        return self.ideal_full / self.projected

    def fifo_bits(self) -> int:
        return sum(self.depths[s] * self.bits[s] for s in self.depths)


def certify(q, plan, rows: int = 12, frames: int = 2, latency: Latency = Latency()) -> Certificate:
    """Derive the stream depths for `plan` and time the kernel with them: frames of `rows` rows
    (at most the planned height) at the planned width, the input at full rate (one beat per
    cycle, so the slowest stage sets the pace)."""
    from srhw.qir import QConv

    t = plan.target
    # Rows the convolutions read below the row they output, summed over every conv (a bound on
    # any path): a frame of fewer rows ends before the longest path's first output, and a skip
    # stream's depth derived on it stops at the frame's size, too shallow for taller frames (a
    # LapSRN level, thirteen 3x3 convs on the feature path, deadlocks at 64 rows on 12-row depths).
    # An unpadded network's shrinkage is part of it.
    lookahead = sum(max(0, l.weight.shape[2] - 1 - l.pads[0]) for l in q.layers if isinstance(l, QConv))
    rows = max(2, min(max(rows, lookahead + 4), t.in_h))
    net = kernel_network(q, plan, rows, t.in_w, latency)
    depths = derive_depths(net, t.budget)
    run = simulate(with_depths(net, depths), frames)
    short = kernel_network(q, plan, max(1, rows // 2), t.in_w, latency)  # iterations grow linearly in rows
    slope = {a.name: (a.iterations - b.iterations) / (rows - max(1, rows // 2)) for a, b in
             zip(net.processes, short.processes)}
    ideal_full = max(p.iterations + (t.in_h - rows) * slope[p.name] for p in net.processes)
    return Certificate(depths, {s.name: s.bits for s in net.streams}, rows, run.period,
                       max(p.iterations for p in net.processes), per_row_cycles(run.row_ends, net.scale), t.in_h,
                       ideal_full, run.converged, frozenset(skip_streams(net)))
