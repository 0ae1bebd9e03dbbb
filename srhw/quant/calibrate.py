"""Calibration: run the float graph on pixel frames and keep, per tensor, the exact max |x|,
the sign, and a deterministic sample of values (for percentile and MSE format choices).

Tensors measured: every layer output, and the pre-activation accumulator of layers whose
activation is a tanh (that is what the tanh LUT is indexed by).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from srhw import float_exec, ir

SAMPLES_PER_FRAME = 20000


@dataclass
class CalibrationStats:
    max_abs: float = 0.0
    min: float = float("inf")
    samples: list[np.ndarray] = field(default_factory=list)

    def add(self, x: np.ndarray, rng: np.random.Generator) -> None:
        flat = x.reshape(-1)
        self.max_abs = max(self.max_abs, float(np.max(np.abs(flat))))
        self.min = min(self.min, float(np.min(flat)))
        take = flat if flat.size <= SAMPLES_PER_FRAME else flat[rng.choice(flat.size, SAMPLES_PER_FRAME, replace=False)]
        self.samples.append(np.asarray(take, dtype=np.float64))

    def values(self) -> np.ndarray:
        return np.concatenate(self.samples) if self.samples else np.zeros(1)


def pre_activation_key(value: str) -> str:
    return value + "#pre"


def calibrate(graph: ir.Graph, frames: Iterable[np.ndarray], progress=None) -> dict[str, CalibrationStats]:
    """frames: uint8 [C, H, W]. Returns stats per value name (and `pre_activation_key(v)`)."""
    stats: dict[str, CalibrationStats] = {}
    rng = np.random.default_rng(0)
    for frame in frames:
        env = {graph.input: frame[None].astype(np.float64)}
        for node in graph.nodes:
            args = [env[i] for i in node.inputs]
            if isinstance(node, (ir.Conv, ir.Add, ir.Affine)) and isinstance(node.act, ir.TanhAct):
                from dataclasses import replace

                pre = float_exec.evaluate(replace(node, act=None), *args)
                stats.setdefault(pre_activation_key(node.output), CalibrationStats()).add(pre, rng)
                env[node.output] = np.tanh(pre)
            else:
                env[node.output] = float_exec.evaluate(node, *args)
            if not isinstance(node, ir.Constant):
                stats.setdefault(node.output, CalibrationStats()).add(env[node.output], rng)
        if progress is not None:
            progress.update(1)
    return stats
