"""Range equalization keeps the float function and never lowers a format's fill."""
import numpy as np
import pytest

from srhw import float_exec, ir
from srhw.fixed import frac_for_range
from srhw.quant import calibrate
from srhw.quant.equalize import equalize_ranges, kept_range
from tests.conftest import compile_float, pixels


@pytest.mark.parametrize("name", ["fsrcnn_x2", "fsrcnn_steep", "srcnn"])
@pytest.mark.parametrize("method", ["max", "mse"])
def test_equalization_is_exact_in_float_and_fills_formats(exported, name, method):
    graph = compile_float(exported(name, "dynamo"))
    frames = [pixels(1, 20 if name != "srcnn" else 30, 26, seed=s) for s in range(2)]
    stats = calibrate(graph, frames)
    eq, eq_stats = equalize_ranges(graph, stats, 8, 8, method, graph.output)
    frame = pixels(1, 31, 17 if name != "srcnn" else 20, seed=9)[None].astype(np.float64)
    a = float_exec.run(graph, frame)[graph.output]
    b = float_exec.run(eq, frame)[eq.output]
    assert np.abs(a - b).max() <= 1e-9 * max(np.abs(a).max(), 1)
    changed = 0
    for n in graph.nodes:
        if isinstance(n, ir.Conv) and n.output in stats and eq_stats[n.output] is not stats[n.output]:
            live = stats[n.output].max_abs > 0  # dead channels (max 0) have no range to fill
            alpha = eq_stats[n.output].max_abs[live] / stats[n.output].max_abs[live]
            assert np.all((alpha >= 1 - 1e-12) & (alpha < 2))
            signed = not isinstance(n.act, ir.ReluAct)
            scale = eq_stats[n.output].max_abs[live] / stats[n.output].max_abs[live]
            for c, a in zip(np.flatnonzero(live), scale):
                # the range the method keeps fills at least as much of its format as before
                t0 = kept_range(stats[n.output], int(c), method, signed, 8)
                t1 = t0 * a
                f0, f1 = frac_for_range(t0, 8, signed), frac_for_range(t1, 8, signed)
                assert t1 * 2.0**f1 >= t0 * 2.0**f0 * (1 - 1e-9)
            changed += 1
    assert changed >= 1
