"""srhw.backends.dataflow: the fixed-point solver against a plain cycle-by-cycle simulation of
processes and FIFOs written here from the semantics (a write into a FIFO of depth D waits until
the element D places ahead was read a cycle earlier; an element is readable the cycle after it
was written; a process that waits stalls as a whole), then the depths and the certificate."""
import numpy as np
import pytest

from srhw.backends.dataflow import (EXTERNAL_IN, EXTERNAL_OUT, Network, Process, Stream, certify, derive_depths,
                                    kernel_network, simulate, with_depths)


def step_by_step(net: Network, frames: int, give_up: int = 100_000) -> dict[str, list[int]] | None:
    """Every process's event times, one cycle at a time (latency 0, input at full rate); None
    when nothing has moved for `give_up` cycles (a deadlock)."""
    procs = {p.name: p for p in net.processes}
    stream = {s.name: s for s in net.streams}
    plan = {}
    for p in net.processes:
        n = p.iterations
        ev: dict[int, list] = {}
        for s, a in p.reads.items():
            for f in range(frames):
                for k, i in enumerate(a):
                    ev.setdefault(f * n + int(i), []).append(("r", s, f * len(a) + k))
        for s, a in p.writes.items():
            for f in range(frames):
                for k, i in enumerate(a):
                    ev.setdefault(f * n + int(i), []).append(("w", s, f * len(a) + k))
        plan[p.name] = ev
    written = {s: [] for s in stream}   # cycle each element was written
    read = {s: [] for s in stream}
    it = {p: 0 for p in procs}
    times = {p: [] for p in procs}
    total = {p: procs[p].iterations * frames for p in procs}
    t = last_move = 0
    while any(it[p] < total[p] for p in procs):
        if t - last_move > give_up:
            return None
        done = []
        for name in procs:
            i = it[name]
            if i >= total[name]:
                continue
            ok = True
            for kind, s, k in plan[name].get(i, []):
                st = stream[s]
                if kind == "r" and st.producer != EXTERNAL_IN:
                    ok &= k < len(written[s]) and written[s][k] <= t - 1
                if kind == "r" and st.producer == EXTERNAL_IN:
                    ok &= k <= t
                if kind == "w" and st.depth is not None and st.consumer != EXTERNAL_OUT and k >= st.depth:
                    ok &= k - st.depth < len(read[s]) and read[s][k - st.depth] <= t - 1
            if ok:
                done.append(name)
        for name in done:
            i = it[name]
            for kind, s, k in plan[name].get(i, []):
                (written if kind == "w" else read)[s].append(t)
            if i in plan[name]:
                times[name].append(t)
            it[name] += 1
            last_move = t
        t += 1
    return times


def _chain(rng, depths):
    """video_in -> a -> b -> out with random read/write patterns."""
    n = 40
    a_reads = np.sort(rng.choice(60, n, replace=False))
    a_writes = np.sort(rng.choice(np.arange(5, 70), n, replace=False))
    b_reads = np.sort(rng.choice(np.arange(0, 90), n, replace=False))
    b_writes = np.sort(rng.choice(np.arange(3, 95), n, replace=False))
    procs = [Process("video_in", n, {"in": np.arange(n)}, {"s0": np.arange(n)}, 0),
             Process("a", 70, {"s0": a_reads}, {"s1": a_writes}, 0),
             Process("b", 95, {"s1": b_reads}, {"out": b_writes}, 0)]
    streams = [Stream("in", EXTERNAL_IN, "video_in", 8), Stream("s0", "video_in", "a", 8, depths[0]),
               Stream("s1", "a", "b", 8, depths[1]), Stream("out", "b", EXTERNAL_OUT, 8)]
    return Network(procs, streams, 1, 1, n)


@pytest.mark.parametrize("seed", range(6))
def test_solver_matches_a_cycle_by_cycle_run(seed):
    rng = np.random.default_rng(seed)
    net = _chain(rng, (int(rng.integers(1, 4)), int(rng.integers(1, 6))))
    run = simulate(net, frames=2)
    want = step_by_step(net, 2)
    for name, tl in run.lines.items():
        got = [int(t) for t, e in zip(tl.time, tl.events) if any(
            e in np.concatenate([a + f * tl.p.iterations for f in range(2)])
            for a in list(tl.p.reads.values()) + list(tl.p.writes.values()))]
        assert got == want[name], name


def test_a_full_fifo_holds_the_producer_to_its_reader():
    """Hand-computed: a producer that writes every cycle into a FIFO of depth 2 whose reader
    takes one element every 3 cycles. Element m >= 2 is written the cycle after element m - 2
    is read."""
    n = 8
    procs = [Process("video_in", n, {"in": np.arange(n)}, {"s": np.arange(n)}, 0),
             Process("slow", 3 * n, {"s": np.arange(n) * 3}, {"out": np.arange(n) * 3}, 0)]
    net = Network(procs, [Stream("in", EXTERNAL_IN, "video_in", 8), Stream("s", "video_in", "slow", 8, 2),
                          Stream("out", "slow", EXTERNAL_OUT, 8)], 1, 1, n)
    run = simulate(net, 1)
    reads = run.lines["slow"].read_times("s")
    writes = run.lines["video_in"].write_times("s")
    assert list(reads) == [1, 4, 7, 10, 13, 16, 19, 22]   # from the first element, one every 3 cycles
    assert list(writes[:2]) == [0, 1] and all(writes[m] == reads[m - 2] + 1 for m in range(2, n))


def test_latency_delays_the_reader():
    n = 5
    procs = [Process("video_in", n, {"in": np.arange(n)}, {"s": np.arange(n)}, 4),
             Process("c", n, {"s": np.arange(n)}, {"out": np.arange(n)}, 0)]
    net = Network(procs, [Stream("in", EXTERNAL_IN, "video_in", 8), Stream("s", "video_in", "c", 8, 8),
                          Stream("out", "c", EXTERNAL_OUT, 8)], 1, 1, n)
    assert list(simulate(net, 1).lines["c"].read_times("s")) == [5, 6, 7, 8, 9]


def test_depths_and_certificate_of_a_shipped_model():
    """FSRCNN-s x2 at the 1080p60 plan: the output stage's FIFO holds what the last conv writes
    while HR row 1 goes out (1920 beats at 8 positions per 19 cycles: 809, plus the bursts), a
    scheduled stage's sums pass through one period, and the certified rate is the plan's."""
    import srhw
    from srhw.backends.folding import make_target, plan
    from srhw.backends.rtl import latency

    q = srhw.compile("fsrcnn_s_x2", progress=False, hls=False).qgraph
    p = plan(q, make_target())
    last = [s for s in p.stages if s.name.startswith("l")][-1]
    assert (last.period, last.period_cycles) == (8, 19)
    c = certify(q, p, latency=latency(q, p))
    # the writer emits one position per cycle and the output stage reads one per beat: bursts of one
    assert c.depths[f"s_{last.name}"] == int(np.ceil(8 / 19 * 1920)) + 2 * (1 + 1)
    assert all(d == 1 for k, d in c.depths.items() if k.endswith("_sums"))
    assert c.converged and c.efficiency >= 0.98 and c.efficiency_full >= 0.99
    assert 300e6 / c.projected >= 60
    # with two-deep FIFOs everywhere the output stage stalls the chain
    net = kernel_network(q, p, 12, 1920, latency(q, p))
    short = simulate(with_depths(net, {k: 2 for k in c.depths}), 2)
    assert max(pr.iterations for pr in net.processes) / short.period < 0.9


def _skip(lag: int, n: int = 100) -> Network:
    """video_in -> fork -> (long: a stage that writes element k once it has read k + lag, as a
    conv writes a row after the rows below it; short: a stage that writes each element as it
    reads it) -> add, LapSRN's shape: a feature branch of convs against an image branch of one."""
    every = np.arange(n)
    procs = [Process("video_in", n, {"in": every}, {"s_in": every}, 0),
             Process("fork_s_in", n, {"s_in": every}, {"s_in_r0": every, "s_in_r1": every}, 0),
             Process("long", n + lag, {"s_in_r0": every}, {"s_long": every + lag}, 0),
             Process("short", n, {"s_in_r1": every}, {"s_short": every}, 0),
             Process("add", n, {"s_long": every, "s_short": every}, {"out": every}, 0)]
    streams = [Stream("in", EXTERNAL_IN, "video_in", 8), Stream("s_in", "video_in", "fork_s_in", 8),
               Stream("s_in_r0", "fork_s_in", "long", 8), Stream("s_in_r1", "fork_s_in", "short", 8),
               Stream("s_long", "long", "add", 8), Stream("s_short", "short", "add", 8),
               Stream("out", "add", EXTERNAL_OUT, 8)]
    return Network(procs, streams, 1, 1, n)


def test_a_skip_whose_short_path_holds_a_stage_gets_its_depth_into_the_join():
    """The short path runs `lag` elements ahead of the long one; those elements wait in the
    short stage's output into the join, so that stream takes the depth (lag, one more for the
    cycle a write waits on its read). Sized at the fork's outputs alone, the short stage fills
    its output, stops reading, the fork stops and the long path starves: a deadlock, which the
    cycle-by-cycle run shows and the solver's run reports as not converging."""
    lag = 12
    net = _skip(lag)
    depths = derive_depths(net, input_interval=1.0)
    assert depths["s_short"] >= lag and depths["s_long"] <= 4
    assert step_by_step(with_depths(net, depths), 2) is not None
    assert simulate(with_depths(net, depths), 2).converged
    forks_only = dict(depths, s_short=4)
    assert step_by_step(with_depths(net, forks_only), 2, give_up=200) is None
    assert not simulate(with_depths(net, forks_only), 2).converged


def test_skip_depths_hold_on_frames_taller_than_the_certified_ones(tmp_path):
    """A global skip around fourteen padded 3x3 convs: the feature path's first output row needs
    fourteen rows below it, so the skip buffers fourteen rows. Depths derived on frames shorter
    than that stop at the frame's size; the certificate's frames are tall enough, and its depths
    run a 48-row frame without a deadlock."""
    import torch
    from torch import nn

    import srhw
    from srhw.backends.folding import make_target, plan
    from srhw.backends.rtl import latency
    from srhw.zoo.export import export_onnx

    class DeepSkip(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(),
                                      *[m for _ in range(12) for m in (nn.Conv2d(2, 2, 3, padding=1), nn.ReLU())],
                                      nn.Conv2d(2, 1, 3, padding=1))

        def forward(self, x):
            return x + self.body(x)

    torch.manual_seed(0)
    path = export_onnx(DeepSkip().eval(), tmp_path / "deep_skip.onnx", "torchscript", names=("x", "y"))
    q = srhw.compile(str(path), progress=False, hls=False, weight_rounding="nearest").qgraph
    p = plan(q, make_target(in_size="24x48", scale=1))
    c = certify(q, p, latency=latency(q, p))
    tall = kernel_network(q, p, 48, 24, latency(q, p))
    assert c.converged and simulate(with_depths(tall, c.depths), 2).converged
    assert c.rows >= 14 + 4
    short = dict(c.depths)   # what 12-row frames give: the skip stops at 12 rows of 24 beats
    skip = max(c.skips, key=lambda s: c.depths[s])
    short[skip] = min(short[skip], 12 * 24)
    assert not simulate(with_depths(tall, short), 2).converged
