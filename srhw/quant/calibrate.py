"""Calibration: run the float graph on pixel frames and keep, per tensor and per channel, the
exact max |x| and min, and a deterministic sample of pixels (for percentile and MSE choices).

Tensors measured: every layer output, and the pre-activation accumulator of layers whose
activation is a tanh (that is what the tanh LUT is indexed by).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable

import numpy as np

from srhw import float_exec, ir

PIXELS_PER_FRAME = 4096


@dataclass
class CalibrationStats:
    """Per-channel statistics of one tensor ([C] arrays; samples [C, N]).

    `center` and `half`, when set (srhw.quant.zero_points), are the middle and the half-width of
    the range each channel's codes cover: the format then holds `half`, about `center`.
    """

    max_abs: np.ndarray | None = None
    min: np.ndarray | None = None
    samples: list[np.ndarray] = field(default_factory=list)
    total: np.ndarray | None = None  # per-channel sum, for the mean
    count: int = 0
    max: np.ndarray | None = None
    center: np.ndarray | None = None
    half: np.ndarray | None = None

    def add(self, x: np.ndarray, rng: np.random.Generator) -> None:
        flat = x.reshape(x.shape[1], -1)  # [C, H*W]
        m, lo = np.abs(flat).max(axis=1), flat.min(axis=1)
        s = flat.sum(axis=1)
        self.total = s if self.total is None else self.total + s
        self.count += flat.shape[1]
        self.max_abs = m if self.max_abs is None else np.maximum(self.max_abs, m)
        self.min = lo if self.min is None else np.minimum(self.min, lo)
        hi = flat.max(axis=1)
        self.max = hi if self.max is None else np.maximum(self.max, hi)
        take = flat if flat.shape[1] <= PIXELS_PER_FRAME else \
            flat[:, np.sort(rng.choice(flat.shape[1], PIXELS_PER_FRAME, replace=False))]
        self.samples.append(np.asarray(take, dtype=np.float64))

    @property
    def mean(self) -> np.ndarray:
        return self.total / max(self.count, 1)

    def values(self) -> np.ndarray:
        """[C, N] sampled values."""
        return np.concatenate(self.samples, axis=1)

    def merged(self) -> "CalibrationStats":
        """The statistics of all channels taken together, as one channel (not centred)."""
        return CalibrationStats(np.array([self.max_abs.max()]), np.array([self.min.min()]),
                                [self.values().reshape(1, -1)], np.array([self.total.sum()]), self.count * self.total.size,
                                np.array([self.max.max()]))

    def scaled(self, alpha: np.ndarray) -> "CalibrationStats":
        """The statistics of the tensor with channel c multiplied by alpha[c] > 0."""
        a = alpha.reshape(-1, 1)
        return CalibrationStats(self.max_abs * alpha, self.min * alpha, [s * a for s in self.samples],
                                self.total * alpha, self.count, self.max * alpha,
                                None if self.center is None else self.center * alpha,
                                None if self.half is None else self.half * alpha)

    def channel(self, c: int) -> np.ndarray:
        """Channel c's sampled values [N]."""
        return np.concatenate([s[c] for s in self.samples])


def pre_activation_key(value: str) -> str:
    return value + "#pre"


def calibrate(graph: ir.Graph, frames: Iterable[np.ndarray], progress=None,
              kept: dict[str, list[np.ndarray]] | None = None) -> dict[str, CalibrationStats]:
    """frames: uint8 [C, H, W]. Returns stats per value name (and `pre_activation_key(v)`).

    kept: {value name: list}; each frame's float value [C, H, W] is appended to its list (the
    same float64 arrays float_exec.run computes), so that the compiler needs no second float pass
    for the weight fit's conv inputs and the reference output."""
    stats: dict[str, CalibrationStats] = {}
    rng = np.random.default_rng(0)
    for frame in frames:
        env = {graph.input: frame[None].astype(np.float64)}
        stats.setdefault(graph.input, CalibrationStats()).add(env[graph.input], rng)
        for node in graph.nodes:
            args = [env[i] for i in node.inputs]
            if isinstance(node, (ir.Conv, ir.Add, ir.Affine)) and isinstance(node.act, ir.TanhAct):
                pre = float_exec.evaluate(replace(node, act=None), *args)
                stats.setdefault(pre_activation_key(node.output), CalibrationStats()).add(pre, rng)
                env[node.output] = np.tanh(pre)
            else:
                env[node.output] = float_exec.evaluate(node, *args)
            if not isinstance(node, ir.Constant):
                stats.setdefault(node.output, CalibrationStats()).add(env[node.output], rng)
        for v, frames_of_v in (kept or {}).items():
            frames_of_v.append(env[v][0])
        if progress is not None:
            progress.update(1)
    return stats
