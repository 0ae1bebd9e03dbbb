"""The float IR: a graph of typed ops over named tensor values.

Each op is a frozen dataclass whose fields are the ONNX attributes it keeps, already
normalised (explicit pads, tuples, defaults filled in). Parameters live in `Constant` nodes,
so every pass sees one uniform graph. `name` is the ONNX node name, kept for error messages
and reports; it never reaches generated code unsanitised.

Ops fall in two groups:
- *raw* ops exist only between import and layout normalisation (Shape arithmetic, Reshape,
  Transpose, ...): `RAW_OPS`.
- *canonical* ops act on NCHW tensors with batch 1 and are what quantization accepts:
  `CANONICAL_OPS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Literal

import numpy as np


@dataclass(frozen=True, kw_only=True, eq=False)
class Op:
    name: str
    inputs: tuple[str, ...]
    output: str

    @property
    def op_type(self) -> str:
        return type(self).__name__


# ------------------------------------------------------------------- quantized models
@dataclass(frozen=True, eq=False)
class Grid:
    """An integer grid a quantized model (QDQ) puts a tensor on: value = (code - zero) * scale,
    code in lo..hi (ONNX QuantizeLinear/DequantizeLinear semantics; srhw.frontend.qdq)."""

    scale: np.ndarray       # float64: one value, or one per channel along `axis`
    zero: np.ndarray        # int64, shaped like scale
    lo: int                 # the codes' range: the integer type's, or narrower (a QCDQ Clip)
    hi: int
    axis: int | None        # the channel axis of a per-channel grid (None: one grid for the tensor)
    node: str               # the QuantizeLinear or DequantizeLinear that defines it (for messages)

    @property
    def width(self) -> int:
        """Bits of the codes: unsigned when lo >= 0, else two's complement."""
        if self.lo >= 0:
            return max(1, int(self.hi).bit_length())
        return max(int(-self.lo - 1).bit_length(), int(self.hi).bit_length()) + 1

    def codes(self, x: np.ndarray) -> np.ndarray:
        """QuantizeLinear of real values x on this grid (round half to even, saturated), int64."""
        s, z = self._along(x.ndim)
        return np.clip(np.rint(np.asarray(x, dtype=np.float64) / s) + z, self.lo, self.hi).astype(np.int64)

    def values(self, codes: np.ndarray) -> np.ndarray:
        """DequantizeLinear of codes on this grid, float64."""
        s, z = self._along(np.ndim(codes))
        return (np.asarray(codes, dtype=np.int64) - z) * s

    def _along(self, ndim: int) -> tuple[np.ndarray, np.ndarray]:
        if self.axis is None or self.scale.ndim == 0:
            return self.scale, self.zero
        shape = [1] * ndim
        shape[self.axis] = -1
        return self.scale.reshape(shape), self.zero.reshape(shape)



# ----------------------------------------------------------------------------- raw ops
@dataclass(frozen=True, kw_only=True, eq=False)
class Constant(Op):
    value: np.ndarray
    grid: Grid | None = None  # a quantized model's weight or bias: value holds grid.values(codes)


@dataclass(frozen=True, kw_only=True, eq=False)
class Identity(Op):
    """Identity, Dropout in inference, and Cast between float types."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Cast(Op):
    to: str  # numpy dtype name


@dataclass(frozen=True, kw_only=True, eq=False)
class Shape(Op):
    start: int = 0
    end: int | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Gather(Op):
    axis: int = 0


@dataclass(frozen=True, kw_only=True, eq=False)
class Concat(Op):
    axis: int


@dataclass(frozen=True, kw_only=True, eq=False)
class Slice(Op):
    """inputs: data, starts, ends[, axes[, steps]]"""


@dataclass(frozen=True, kw_only=True, eq=False)
class SplitPart(Op):
    """Output `index` of an ONNX Split into `parts` along `axis` (one op per output: the IR's ops
    have one output each); inputs: data[, split sizes]; `sizes` for the attribute form."""

    axis: int
    index: int
    parts: int
    sizes: tuple[int, ...] | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Pad(Op):
    """inputs: data, pads[, constant value[, axes]] (ONNX Pad); `pads` for the attribute form."""

    mode: str = "constant"
    pads: tuple[int, ...] | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Reshape(Op):
    """inputs: data, shape"""

    allowzero: int = 0


@dataclass(frozen=True, kw_only=True, eq=False)
class Transpose(Op):
    perm: tuple[int, ...]


@dataclass(frozen=True, kw_only=True, eq=False)
class Squeeze(Op):
    axes: tuple[int, ...] | None


@dataclass(frozen=True, kw_only=True, eq=False)
class Unsqueeze(Op):
    axes: tuple[int, ...]


@dataclass(frozen=True, kw_only=True, eq=False)
class Binary(Op):
    """Elementwise Add/Sub/Mul/Div/Max/Min with numpy broadcasting; inputs: a, b."""

    kind: Literal["Add", "Sub", "Mul", "Div", "Max", "Min"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Abs(Op):
    pass


@dataclass(frozen=True, kw_only=True, eq=False)
class Neg(Op):
    pass


@dataclass(frozen=True, kw_only=True, eq=False)
class ConvTranspose(Op):
    """inputs: x, weight [Cin, Cout, kh, kw][, bias]; group 1, dilation 1."""

    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    output_padding: tuple[int, int] = (0, 0)


# ----------------------------------------------------------------------- canonical ops
@dataclass(frozen=True, kw_only=True, eq=False)
class Conv(Op):
    """inputs: x, weight [Cout, Cin, kh, kw][, bias]; stride 1, dilation 1, group 1.

    pads are (top, left, bottom, right) of zeros; `act` is a fused activation.
    """

    pads: tuple[int, int, int, int]
    act: "Activation | None" = None


@dataclass(frozen=True, kw_only=True, eq=False)
class DepthToSpace(Op):
    blocksize: int
    mode: Literal["DCR", "CRD"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Crop(Op):
    """Drops `bottom` rows and `right` columns (what a ConvTranspose's size needs)."""

    bottom: int
    right: int


@dataclass(frozen=True, kw_only=True, eq=False)
class Relu(Op):
    pass


@dataclass(frozen=True, kw_only=True, eq=False)
class LeakyRelu(Op):
    alpha: float = 0.01


@dataclass(frozen=True, kw_only=True, eq=False)
class PRelu(Op):
    """inputs: x, slope (broadcastable to x)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Tanh(Op):
    pass


@dataclass(frozen=True, kw_only=True, eq=False)
class Clip(Op):
    lo: float = float("-inf")
    hi: float = float("inf")


@dataclass(frozen=True, kw_only=True, eq=False)
class Affine(Op):
    """Per-channel x * scale + bias (scale, bias: float64 [C]); `act` fused after it."""

    scale: np.ndarray
    bias: np.ndarray
    act: "Activation | None" = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Add(Op):
    """Sum of two NCHW tensors of one shape; `act` fused after it."""

    act: "Activation | None" = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Quantize(Op):
    """A quantized model's QuantizeLinear -> DequantizeLinear pair: x rounded to `grid` (half to
    even, saturated) and back to real values. The quantizer keeps the codes; passes treat it as
    a pointwise op that nothing fuses across."""

    grid: Grid


# ---------------------------------------------------------------- fused activations
@dataclass(frozen=True, eq=False)
class ReluAct:
    pass


@dataclass(frozen=True, eq=False)
class PReluAct:
    slope: np.ndarray  # float64 [C]


@dataclass(frozen=True, eq=False)
class TanhAct:
    pass


@dataclass(frozen=True, eq=False)
class ClipAct:
    lo: float
    hi: float


Activation = ReluAct | PReluAct | TanhAct | ClipAct

RAW_OPS = (Constant, Identity, Cast, Shape, Gather, Concat, Slice, SplitPart, Pad, Reshape, Transpose, Squeeze, Unsqueeze,
           Binary, Abs, Neg, ConvTranspose, Relu, LeakyRelu, PRelu, Tanh, Clip, DepthToSpace)
CANONICAL_OPS = (Constant, Conv, DepthToSpace, Crop, Affine, Add, Relu, PRelu, Tanh, Clip, Quantize)


# ------------------------------------------------------------------------------ graph
@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output: its name and ONNX shape (ints, or strings for dynamic dims)."""

    name: str
    shape: tuple[int | str, ...]


@dataclass(frozen=True)
class Boundary:
    """How the canonical NCHW kernel meets the model's own tensors.

    `input_layout`/`output_layout` give, per axis of the model's tensor, which canonical axis
    it is ('N', 'C', 'H', 'W', or '1' for a unit axis). Pixel scales: the model's input equals
    pixel codes times `input_scale`; model output times `output_scale` is in pixel codes.
    """

    input_layout: tuple[str, ...] = ("N", "C", "H", "W")
    output_layout: tuple[str, ...] = ("N", "C", "H", "W")
    input_scale: float = 1.0
    output_scale: float = 1.0
    pixel: bool = False  # True once the pixel-boundary pass has folded the scales in


@dataclass(frozen=True, eq=False)
class Graph:
    nodes: tuple[Op, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    boundary: Boundary = field(default_factory=Boundary)
    name: str = "model"

    def producers(self) -> dict[str, Op]:
        return {n.output: n for n in self.nodes}

    def consumers(self) -> dict[str, list[Op]]:
        out: dict[str, list[Op]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    out.setdefault(i, []).append(n)
        return out

    def constant(self, value: str) -> np.ndarray | None:
        node = self.producers().get(value)
        return node.value if isinstance(node, Constant) else None

    def compute_nodes(self) -> Iterator[Op]:
        return (n for n in self.nodes if not isinstance(n, Constant))

    def with_nodes(self, nodes: list[Op] | tuple[Op, ...]) -> "Graph":
        return replace(self, nodes=tuple(nodes))

    @property
    def input(self) -> str:
        return self.inputs[0].name

    @property
    def output(self) -> str:
        return self.outputs[0].name


def check(graph: Graph, allowed: tuple[type, ...] = RAW_OPS + CANONICAL_OPS) -> None:
    """The IR checker: single assignment, topological order, every input defined, ops allowed.

    Violations here are compiler bugs, not user errors, so they raise AssertionError-like
    RuntimeError with the offending node.
    """
    defined = {t.name for t in graph.inputs}
    for node in graph.nodes:
        if not isinstance(node, allowed):
            raise RuntimeError(f"IR check: node '{node.name}' has op {node.op_type}, not allowed at this stage")
        for i in node.inputs:
            if i and i not in defined:
                raise RuntimeError(f"IR check: node '{node.name}' reads '{i}' before it is defined")
        if node.output in defined:
            raise RuntimeError(f"IR check: value '{node.output}' is assigned twice (node '{node.name}')")
        defined.add(node.output)
    for o in graph.outputs:
        if o.name not in defined:
            raise RuntimeError(f"IR check: graph output '{o.name}' is never computed")


def prune(graph: Graph) -> Graph:
    """Drops nodes whose outputs do not reach a graph output."""
    live = {o.name for o in graph.outputs}
    keep: list[Op] = []
    for node in reversed(graph.nodes):
        if node.output in live:
            keep.append(node)
            live.update(i for i in node.inputs if i)
    return graph.with_nodes(list(reversed(keep)))


class NameGen:
    """Fresh value names that cannot collide with the graph's existing ones."""

    def __init__(self, graph: Graph) -> None:
        self.used = {n.output for n in graph.nodes} | {t.name for t in graph.inputs}
        self.count = 0

    def __call__(self, hint: str) -> str:
        while True:
            self.count += 1
            name = f"{hint}__{self.count}"
            if name not in self.used:
                self.used.add(name)
                return name
