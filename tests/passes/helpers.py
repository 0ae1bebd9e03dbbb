"""Running the float pipeline up to one pass, and comparing what the graph computes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from srhw import float_exec, ir
from srhw.frontend import import_onnx
from srhw import passes
from srhw.passes import pipeline


def around(path: Path, name: str, **kw) -> tuple[ir.Graph, ir.Graph]:
    """The graph of the ONNX file at `path` just before and just after the pass `name`, the
    pipeline's earlier passes run first (each result checked by ir.check). A pass the pipeline
    runs in turn with another until neither changes the graph ("a and b") runs here alone."""
    steps = pipeline(**kw)
    graph = import_onnx(path)
    ir.check(graph)
    for step_name, step in steps:
        alone = step_name != name and name in step_name.split(" and ")
        before, graph = graph, (getattr(passes, name) if alone else step)(graph)
        ir.check(graph)
        if step_name == name or alone:
            return before, graph
    raise KeyError(name)


def output(graph: ir.Graph, x: np.ndarray) -> np.ndarray:
    return float_exec.run(graph, x)[graph.output]


def assert_close(got: np.ndarray, want: np.ndarray, tol: float = 1e-5) -> None:
    assert got.shape == want.shape, (got.shape, want.shape)
    err = float(np.abs(got - want).max()) / max(float(np.ptp(want)), 1e-12)
    assert err <= tol, f"relative error {err:.3g}"


def ops(graph: ir.Graph) -> list[str]:
    """The op types of the graph's nodes that compute on data, in order (constants left out)."""
    return [n.kind if isinstance(n, ir.Binary) else n.op_type for n in graph.nodes if not isinstance(n, ir.Constant)]
