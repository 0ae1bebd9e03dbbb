"""The quantized IR: integer layers with their formats and overflow certificates.

This is what `ir.json` stores, what the golden model executes and what the backends read.
Integer semantics are in docs/arithmetic.md; every layer's `cert` records the accumulator
bound and the width derived from it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import ClassVar, Literal

import numpy as np

from srhw.fixed import Fmt, signed_width

IR_FORMAT = "srhw-quantized-ir"
IR_VERSION = 5      # 5: models quantized already (a conv's mult and rounding, Table layers);
                    # 4: the certificate apart from the statistics; 3: zero points (out_zero, pad_code)
READS = (2, 3, 4, 5)  # versions 2 and 3 load: their one `cert` dict is split into the two

@dataclass(frozen=True, eq=False)
class QAct:
    """The activation of a requantization epilogue (docs/arithmetic.md, section 4): one subclass
    per kind, a closed set. `kind` names it in ir.json and reports; `code` is the number both
    backends select it by (`act_kind` in hls/srhw_epilogue.h, `ACT` in rtl/srhw_requant.v)."""

    kind: ClassVar[str]
    code: ClassVar[int]


@dataclass(frozen=True, eq=False)
class NoAct(QAct):
    kind: ClassVar[str] = "none"
    code: ClassVar[int] = 0


@dataclass(frozen=True, eq=False)
class ReluAct(QAct):
    kind: ClassVar[str] = "relu"
    code: ClassVar[int] = 1


@dataclass(frozen=True, eq=False)
class ClipAct(QAct):
    lo: np.ndarray                   # int64 [C]: bounds in output codes
    hi: np.ndarray
    kind: ClassVar[str] = "clip"
    code: ClassVar[int] = 2


@dataclass(frozen=True, eq=False)
class PReluAct(QAct):
    slope: np.ndarray                # int64 [C]: slope codes
    slope_fmt: Fmt
    kind: ClassVar[str] = "prelu"
    code: ClassVar[int] = 3


@dataclass(frozen=True, eq=False)
class TanhAct(QAct):
    lut_fmt: Fmt                     # the table's index format
    lut: np.ndarray                  # output codes: lut[i] for index code i + lut_fmt.lo
    kind: ClassVar[str] = "tanh"
    code: ClassVar[int] = 4


ACTS: tuple[type[QAct], ...] = (NoAct, ReluAct, ClipAct, PReluAct, TanhAct)


@dataclass(frozen=True)
class Certificate:
    """The overflow proof of a layer that accumulates (docs/arithmetic.md, section 5): the largest
    magnitude its accumulator, PReLU's negative-branch product and the rounding add reach for any
    input codes. Every register the backends build is as wide as these bounds say."""

    acc_bound: int
    round_bound: int
    product_bound: int | None = None  # PReLU: |acc * slope|, None for the other activations

    @property
    def acc_width(self) -> int:
        return signed_width(self.acc_bound)

    @property
    def round_width(self) -> int:
        return signed_width(self.round_bound)

    @property
    def product_width(self) -> int | None:
        return None if self.product_bound is None else signed_width(self.product_bound)

    def to_dict(self) -> dict:
        return {"acc_bound": self.acc_bound, "round_bound": self.round_bound, "product_bound": self.product_bound}


@dataclass(frozen=True, eq=False, kw_only=True)
class QLayer:
    name: str                 # unique, sanitised identifier
    source: str               # the ONNX node it comes from (for reports only)
    inputs: tuple[str, ...]
    output: str
    out_fmt: Fmt              # width and sign of the output codes; frac = the smallest channel frac
    out_frac: np.ndarray      # int64 [C]: the frac of each output channel
    cert: Certificate | None = None   # the layers that accumulate: Conv, Affine, Add
    stats: dict = field(default_factory=dict)   # for reports: MACs, bias width, ... (no proof reads them)
    out_zero: np.ndarray | None = None  # int64 [C]: the code of real 0 per channel (None: all 0)

    @property
    def kind(self) -> str:
        return type(self).__name__.removeprefix("Q")

    @property
    def zero(self) -> np.ndarray:
        """The output's zero point per channel: code = round(x * 2^frac) + zero (docs/arithmetic.md)."""
        return np.zeros(self.out_frac.size, dtype=np.int64) if self.out_zero is None else self.out_zero


@dataclass(frozen=True, eq=False, kw_only=True)
class QConv(QLayer):
    weight: np.ndarray        # int64 [O, I, kh, kw]
    w_frac: np.ndarray        # int64 [O, I]: frac of weight[o, c] = acc_frac[o] - frac of input channel c
    w_width: int
    bias: np.ndarray          # int64 [O], at acc_frac
    acc_frac: np.ndarray      # int64 [O]
    pads: tuple[int, int, int, int]
    act: QAct
    pad_code: np.ndarray | None = None  # int64 [I]: the padding value per input channel, the
                                        # input's zero point (None: 0); the bias absorbs it
    mult: np.ndarray | None = None      # int64 [O]: an integer multiplier of the accumulator before
                                        # the epilogue's shift (a model quantized already: its
                                        # scales as srhw.fixed.float32_multiplier gives them); None: 1
    rounding: str = "half_up"           # the epilogue's rounding (srhw.fixed.ROUNDINGS)

    @property
    def pad(self) -> np.ndarray:
        return np.zeros(self.weight.shape[1], dtype=np.int64) if self.pad_code is None else self.pad_code


@dataclass(frozen=True, eq=False, kw_only=True)
class QAffine(QLayer):
    scale: np.ndarray         # int64 [C]
    s_frac: np.ndarray        # int64 [C]
    s_width: int
    bias: np.ndarray          # int64 [C], at acc_frac
    acc_frac: np.ndarray      # int64 [C]
    act: QAct


@dataclass(frozen=True, eq=False, kw_only=True)
class QAdd(QLayer):
    acc_frac: np.ndarray      # int64 [C]: both inputs aligned (left-shifted) to this frac
    in_fracs: tuple[np.ndarray, np.ndarray]
    act: QAct


@dataclass(frozen=True, eq=False, kw_only=True)
class QTable(QLayer):
    """A pointwise map of codes by table, per channel: out[c] = table[c, x[c] - in_lo]. What a
    model quantized already computes between two grids (its input quantizer, a PReLU or tanh
    between a DequantizeLinear and a QuantizeLinear, its output read as pixels): onnxruntime's
    own float arithmetic, evaluated on every input code (srhw.quant.from_grids)."""

    table: np.ndarray         # int64 [C, N]: output codes for input codes in_lo .. in_lo + N - 1
    in_lo: int


@dataclass(frozen=True, eq=False, kw_only=True)
class QDepthToSpace(QLayer):
    blocksize: int
    mode: Literal["DCR", "CRD"]


@dataclass(frozen=True, eq=False, kw_only=True)
class QCrop(QLayer):
    bottom: int
    right: int


@dataclass(frozen=True)
class QBoundary:
    """How the kernel's pixel codes meet the model's own tensors (see ir.Boundary): per axis of
    the model's input and output, the canonical axis it is, and the scales such that the model's
    input is pixel codes times `input_scale` and its output times `output_scale` is pixel codes."""

    input_layout: tuple[str, ...] = ("N", "C", "H", "W")
    output_layout: tuple[str, ...] = ("N", "C", "H", "W")
    input_scale: float = 1.0
    output_scale: float = 1.0

    def to_dict(self) -> dict:
        return {"input_layout": list(self.input_layout), "output_layout": list(self.output_layout),
                "input_scale": self.input_scale, "output_scale": self.output_scale}

    @classmethod
    def from_dict(cls, d: dict) -> "QBoundary":
        return cls(tuple(d["input_layout"]), tuple(d["output_layout"]), float(d["input_scale"]),
                   float(d["output_scale"]))


@dataclass(frozen=True)
class QMeta:
    """How the graph was made. The quantizer fills the fields up to `layer_bits`; `srhw compile`
    adds the width search's record (with --psnr-budget), the model, the calibration set and the
    fixed-against-float PSNR of each calibration method."""

    wbits: int
    abits: int
    calibration: str                  # the calibration method of this graph
    weight_granularity: str = "output"
    weight_rounding: str = "nearest"
    zero_points: bool = False
    layer_bits: tuple | None = None   # ((layer, wbits, abits), ...): the layers of their own widths
    width_search: dict | None = None  # the PSNR-budget search's record (srhw.quant.mixed.choose)
    model: str | None = None
    bits: int | None = None
    calibration_frames: int | None = None
    calibration_set: str | None = None
    psnr_fixed_vs_float_db: float | None = None
    psnr_by_method_db: dict | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> "QMeta":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if kw.get("layer_bits") is not None:
            kw["layer_bits"] = tuple(tuple(e) for e in kw["layer_bits"])
        return cls(**kw)

    @property
    def widths(self) -> str:
        """W8A8, or W8A8 with the layers of their own widths: "W8A8; l03_conv W4A8, l05_conv W8A12"."""
        label = f"W{self.wbits}A{self.abits}"
        if self.layer_bits:
            label += "; " + ", ".join(f"{n} W{w}A{a}" for n, w, a in self.layer_bits)
        return label


@dataclass(frozen=True, eq=False)
class QGraph:
    name: str
    input: str
    input_channels: int
    output: str
    layers: tuple[QLayer, ...]
    boundary: QBoundary
    meta: QMeta

    def fmt_of(self, value: str) -> Fmt:
        if value == self.input:
            return Fmt(8, 0, False)
        return next(l.out_fmt for l in self.layers if l.output == value)

    def frac_of(self, value: str) -> np.ndarray:
        if value == self.input:
            return np.zeros(self.input_channels, dtype=np.int64)
        return next(l.out_frac for l in self.layers if l.output == value)

    @property
    def scale(self) -> int:
        s = 1
        for l in self.layers:
            if isinstance(l, QDepthToSpace):
                s *= l.blocksize
        return s

    def output_size(self, h: int, w: int) -> tuple[int, int] | None:
        """The output's height and width for an h x w input; None where some layer's output
        would be empty (an unpadded network shrinks the frame by its kernels' sizes)."""
        from srhw.fixed import conv_out_size

        sizes = {self.input: (h, w)}
        for l in self.layers:
            y, x = sizes[l.inputs[0]]
            match l:
                case QConv():
                    y, x = conv_out_size(y, x, l.weight.shape[2], l.weight.shape[3], l.pads)
                case QDepthToSpace():
                    y, x = y * l.blocksize, x * l.blocksize
                case QCrop():
                    y, x = y - l.bottom, x - l.right
            if y < 1 or x < 1:
                return None
            sizes[l.output] = (y, x)
        return sizes[self.output]

    def growth(self) -> tuple[int, int]:
        """(gh, gw): what the layers before the upsampling add to an LR frame (negative where
        unpadded convolutions shrink it), so that an h x w input gives ((h + gh) * scale - crop)
        rows and likewise columns."""
        big = 1 << 12
        oh, ow = self.output_size(big, big)
        r = self.scale
        crop_b = sum(l.bottom for l in self.layers if isinstance(l, QCrop))
        crop_r = sum(l.right for l in self.layers if isinstance(l, QCrop))
        return (oh + crop_b) // r - big, (ow + crop_r) // r - big

    def min_input_size(self) -> tuple[int, int]:
        """The smallest input (height, width) every layer has output for: (1, 1) for a padded
        network, 1 + what the unpadded convolutions take away for one that shrinks."""
        h = next(n for n in range(1, 1 << 16) if self.output_size(n, 1 << 16) is not None)
        w = next(n for n in range(1, 1 << 16) if self.output_size(1 << 16, n) is not None)
        return h, w


# ---------------------------------------------------------------------------- checker
def check(g: QGraph) -> None:
    """The quantized IR's checker, as ir.check is the float IR's: every value assigned once and
    read after it is computed, the output computed; per layer, every per-channel array as long
    as the channels it describes, the weights as wide as `w_width` says, and a certificate
    exactly on the layers that accumulate, within srhw.fixed.MAX_WIDTH. Raises SrhwError naming
    the layer (an ir.json written by hand, or damaged, fails here rather than in a backend)."""
    from srhw.errors import SrhwError
    from srhw.fixed import MAX_WIDTH, ROUNDINGS

    channels = {g.input: g.input_channels}

    def fail(l: QLayer, what: str) -> None:
        raise SrhwError(f"IR check: layer '{l.name}' ({l.kind}): {what}")

    for l in g.layers:
        for i in l.inputs:
            if i not in channels:
                fail(l, f"reads '{i}' before it is computed")
        if l.output in channels:
            fail(l, f"assigns '{l.output}' a second time")
        cin = channels[l.inputs[0]]
        c = int(l.out_frac.size)
        if l.out_zero is not None and l.out_zero.shape != (c,):
            fail(l, f"{l.out_zero.size} zero points for {c} channels")
        accumulates = isinstance(l, (QConv, QAffine, QAdd))
        if accumulates != (l.cert is not None):
            fail(l, "a certificate on a layer that does not accumulate" if l.cert else "no overflow certificate")
        if l.cert is not None and max(l.cert.round_width, l.cert.acc_width, l.cert.product_width or 0) > MAX_WIDTH:
            fail(l, f"certified widths beyond {MAX_WIDTH} bits")
        match l:
            case QConv():
                o, i = l.weight.shape[:2]
                if l.weight.ndim != 4 or i != cin or o != c:
                    fail(l, f"weight {list(l.weight.shape)} on {cin} input and {c} output channels")
                if l.w_frac.shape != (o, i) or l.bias.shape != (o,) or l.acc_frac.shape != (o,):
                    fail(l, "w_frac, bias or acc_frac do not match the weight's channels")
                if l.weight.size and not (-(1 << (l.w_width - 1)) <= int(l.weight.min())
                                          and int(l.weight.max()) <= (1 << (l.w_width - 1)) - 1):
                    fail(l, f"weight codes wider than w_width {l.w_width}")
                if l.pad_code is not None and l.pad_code.shape != (i,):
                    fail(l, f"{l.pad_code.size} padding codes for {i} input channels")
                if l.mult is not None and (l.mult.shape != (o,) or int(l.mult.min(initial=1)) < 1):
                    fail(l, f"{l.mult.size} multipliers for {o} output channels, or one below 1")
                if l.rounding not in ROUNDINGS:
                    fail(l, f"rounding {l.rounding!r}; supported: {', '.join(ROUNDINGS)}")
            case QAffine() | QAdd():
                if c != cin or l.acc_frac.shape != (c,):
                    fail(l, f"{c} output channels from {cin}")
            case QTable():
                if c != cin or l.table.ndim != 2 or l.table.shape[0] != c:
                    fail(l, f"a table of shape {list(l.table.shape)} on {cin} channels")
                if l.table.size and not (l.out_fmt.lo <= int(l.table.min()) and int(l.table.max()) <= l.out_fmt.hi):
                    fail(l, "table codes outside the output format")
            case QDepthToSpace():
                if cin != c * l.blocksize ** 2:
                    fail(l, f"{cin} channels into blocks of {l.blocksize}x{l.blocksize} make {c}")
            case QCrop():
                if c != cin:
                    fail(l, f"{c} output channels from {cin}")
        act = getattr(l, "act", None)
        for name in ("lo", "hi", "slope"):
            v = getattr(act, name, None)
            if v is not None and v.size not in (1, c):
                fail(l, f"{v.size} {name} values for {c} channels")
        channels[l.output] = c
    if g.output not in channels:
        raise SrhwError(f"IR check: the output '{g.output}' is never computed")


# ------------------------------------------------------------------------ serialisation
def _arr(a: np.ndarray | None):
    return None if a is None else {"shape": list(a.shape), "data": [int(v) for v in a.reshape(-1)]}


def _unarr(d) -> np.ndarray | None:
    return None if d is None else np.asarray(d["data"], dtype=np.int64).reshape(d["shape"])


def _act_to(a: QAct) -> dict:
    """The activation as ir.json has always stored it: every field, null where the kind has none."""
    return {"kind": a.kind, "lo": _arr(getattr(a, "lo", None)), "hi": _arr(getattr(a, "hi", None)),
            "slope": _arr(getattr(a, "slope", None)),
            "slope_fmt": a.slope_fmt.to_dict() if isinstance(a, PReluAct) else None,
            "lut_fmt": a.lut_fmt.to_dict() if isinstance(a, TanhAct) else None, "lut": _arr(getattr(a, "lut", None))}


def _act_from(d: dict) -> QAct:
    match d["kind"]:
        case "none":
            return NoAct()
        case "relu":
            return ReluAct()
        case "clip":
            return ClipAct(lo=_unarr(d["lo"]), hi=_unarr(d["hi"]))
        case "prelu":
            return PReluAct(slope=_unarr(d["slope"]), slope_fmt=Fmt.from_dict(d["slope_fmt"]))
        case "tanh":
            return TanhAct(lut_fmt=Fmt.from_dict(d["lut_fmt"]), lut=_unarr(d["lut"]))
    from srhw.errors import SrhwError

    raise SrhwError(f"unknown activation kind {d['kind']!r}; supported: {', '.join(a.kind for a in ACTS)}")


# a version 2 or 3 file's `cert` keys that are proof (the rest are statistics; widths derive)
_OLD_PROOF = {"acc_bound", "acc_width", "round_bound", "round_width", "prelu_product_bound", "prelu_product_width"}


def _cert_from(d: dict, version: int) -> tuple[Certificate | None, dict]:
    if version >= 4:
        c = d["cert"]
        return (None if c is None else Certificate(c["acc_bound"], c["round_bound"], c.get("product_bound"))), \
            dict(d.get("stats") or {})
    old = d.get("cert") or {}
    stats = {k: v for k, v in old.items() if k not in _OLD_PROOF}
    if "acc_bound" not in old:
        return None, stats
    return Certificate(old["acc_bound"], old["round_bound"], old.get("prelu_product_bound")), stats


def to_json(g: QGraph) -> str:
    layers = []
    for l in g.layers:
        d: dict = {"kind": l.kind, "name": l.name, "source": l.source, "inputs": list(l.inputs), "output": l.output,
                   "out_fmt": l.out_fmt.to_dict(), "out_frac": _arr(l.out_frac), "out_zero": _arr(l.out_zero),
                   "cert": None if l.cert is None else l.cert.to_dict(), "stats": l.stats}
        match l:
            case QConv():
                d |= {"weight": _arr(l.weight), "w_frac": _arr(l.w_frac), "w_width": l.w_width, "bias": _arr(l.bias),
                      "acc_frac": _arr(l.acc_frac), "pads": list(l.pads), "act": _act_to(l.act),
                      "pad_code": _arr(l.pad_code), "mult": _arr(l.mult), "rounding": l.rounding}
            case QAffine():
                d |= {"scale": _arr(l.scale), "s_frac": _arr(l.s_frac), "s_width": l.s_width, "bias": _arr(l.bias),
                      "acc_frac": _arr(l.acc_frac), "act": _act_to(l.act)}
            case QAdd():
                d |= {"acc_frac": _arr(l.acc_frac), "in_fracs": [_arr(l.in_fracs[0]), _arr(l.in_fracs[1])],
                      "act": _act_to(l.act)}
            case QTable():
                d |= {"table": _arr(l.table), "in_lo": l.in_lo}
            case QDepthToSpace():
                d |= {"blocksize": l.blocksize, "mode": l.mode}
            case QCrop():
                d |= {"bottom": l.bottom, "right": l.right}
        layers.append(d)
    doc = {"format": IR_FORMAT, "version": IR_VERSION, "name": g.name, "input": g.input,
           "input_channels": g.input_channels, "output": g.output, "boundary": g.boundary.to_dict(), "meta": g.meta.to_dict(),
           "layers": layers}
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def from_json(text: str) -> QGraph:
    from srhw.errors import SrhwError

    doc = json.loads(text)
    if doc.get("format") != IR_FORMAT:
        raise SrhwError(f"not an srhw IR file (format {doc.get('format')!r})")
    if doc.get("version") not in READS:
        raise SrhwError(f"IR version {doc.get('version')} is not supported by this srhw "
                        f"(reads {', '.join(map(str, READS))})")
    layers: list[QLayer] = []
    for d in doc["layers"]:
        cert, stats = _cert_from(d, doc["version"])
        base = dict(name=d["name"], source=d["source"], inputs=tuple(d["inputs"]), output=d["output"],
                    out_fmt=Fmt.from_dict(d["out_fmt"]), out_frac=_unarr(d["out_frac"]), cert=cert, stats=stats,
                    out_zero=_unarr(d.get("out_zero")))
        match d["kind"]:
            case "Conv":
                layers.append(QConv(**base, weight=_unarr(d["weight"]), w_frac=_unarr(d["w_frac"]),
                                    w_width=d["w_width"], bias=_unarr(d["bias"]), acc_frac=_unarr(d["acc_frac"]),
                                    pads=tuple(d["pads"]), act=_act_from(d["act"]),
                                    pad_code=_unarr(d.get("pad_code")), mult=_unarr(d.get("mult")),
                                    rounding=d.get("rounding", "half_up")))
            case "Table":
                layers.append(QTable(**base, table=_unarr(d["table"]), in_lo=d["in_lo"]))
            case "Affine":
                layers.append(QAffine(**base, scale=_unarr(d["scale"]), s_frac=_unarr(d["s_frac"]),
                                      s_width=d["s_width"], bias=_unarr(d["bias"]), acc_frac=_unarr(d["acc_frac"]),
                                      act=_act_from(d["act"])))
            case "Add":
                layers.append(QAdd(**base, acc_frac=_unarr(d["acc_frac"]),
                                   in_fracs=(_unarr(d["in_fracs"][0]), _unarr(d["in_fracs"][1])), act=_act_from(d["act"])))
            case "DepthToSpace":
                layers.append(QDepthToSpace(**base, blocksize=d["blocksize"], mode=d["mode"]))
            case "Crop":
                layers.append(QCrop(**base, bottom=d["bottom"], right=d["right"]))
            case other:
                raise SrhwError(f"unknown layer kind {other!r} in IR")
    g = QGraph(name=doc["name"], input=doc["input"], input_channels=doc["input_channels"], output=doc["output"],
               layers=tuple(layers), boundary=QBoundary.from_dict(doc["boundary"]), meta=QMeta.from_dict(doc["meta"]))
    check(g)
    return g
