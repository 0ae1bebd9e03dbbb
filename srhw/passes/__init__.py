"""The float pipeline: an explicit, ordered list of named passes, each checked by `ir.check`.

Every pass is a pure function Graph -> Graph in its own module, with its contract in its
docstring and an equivalence test in tests/passes/.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Callable

from srhw import ir
from srhw.passes.fold_constants import fold_constants
from srhw.passes.fuse_activations import fuse_activations
from srhw.passes.fuse_prelu_pattern import fuse_prelu_pattern
from srhw.passes.hoist_pointwise import hoist_pointwise
from srhw.passes.lower_conv_transpose import lower_conv_transpose
from srhw.passes.normalize_layout import normalize_layout
from srhw.passes.pixel_boundary import InputRange, pixel_boundary
from srhw.passes.subpixel_convs import subpixel_convs
from srhw.passes.verify_supported import verify_supported

log = logging.getLogger(__name__)

Pass = Callable[[ir.Graph], ir.Graph]


def pipeline(input_range: InputRange = "auto", output_range: InputRange = "auto") -> list[tuple[str, Pass]]:
    return [
        ("fold_constants", fold_constants),
        ("normalize_layout", normalize_layout),
        ("fuse_prelu_pattern", fuse_prelu_pattern),
        ("lower_conv_transpose", lower_conv_transpose),
        ("pixel_boundary", partial(pixel_boundary, input_range=input_range, output_range=output_range)),
        # in turn until neither moves anything: a moved conv's activation follows its shuffle, and
        # the next conv moves once that activation has
        ("hoist_pointwise and subpixel_convs", partial(until_fixed, [hoist_pointwise, subpixel_convs])),
        ("fuse_activations", fuse_activations),
        ("verify_supported", verify_supported),
    ]


def until_fixed(passes: list[Pass], graph: ir.Graph, limit: int = 100) -> ir.Graph:
    """The passes in turn until a round leaves the graph's nodes as they were."""
    for _ in range(limit):
        before = [id(n) for n in graph.nodes]
        for step in passes:
            graph = step(graph)
        if [id(n) for n in graph.nodes] == before:
            return graph
    raise RuntimeError(f"passes {[p.__name__ for p in passes]} did not settle in {limit} rounds")


def run_pipeline(graph: ir.Graph, steps: list[tuple[str, Pass]] | None = None) -> ir.Graph:
    for name, step in steps or pipeline():
        graph = step(graph)
        ir.check(graph)
        log.debug("after %s: %d nodes", name, sum(1 for _ in graph.compute_nodes()))
    return graph
