"""The quantized IR: integer layers with their formats and overflow certificates.

This is what `ir.json` stores, what the golden model executes and what the backends read.
Integer semantics are in docs/arithmetic.md; every layer's `cert` records the accumulator
bound and the width derived from it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from srhw.fixed import Fmt

IR_FORMAT = "srhw-quantized-ir"
IR_VERSION = 3      # 3: zero points (out_zero, pad_code); version 2 files (none) still load
READS = (2, 3)

ActKind = Literal["none", "relu", "clip", "prelu", "tanh"]


@dataclass(frozen=True, eq=False)
class QAct:
    """Activation applied in the requantization epilogue (see docs/arithmetic.md)."""

    kind: ActKind = "none"
    lo: np.ndarray | None = None     # clip: bounds in output codes, per channel
    hi: np.ndarray | None = None
    slope: np.ndarray | None = None  # prelu: int codes per channel
    slope_fmt: Fmt | None = None
    lut_fmt: Fmt | None = None       # tanh: the LUT's index format
    lut: np.ndarray | None = None    # tanh: output codes, lut[i] for index code i + lut_fmt.lo


@dataclass(frozen=True, eq=False, kw_only=True)
class QLayer:
    name: str                 # unique, sanitised identifier
    source: str               # the ONNX node it comes from (for reports only)
    inputs: tuple[str, ...]
    output: str
    out_fmt: Fmt              # width and sign of the output codes; frac = the smallest channel frac
    out_frac: np.ndarray      # int64 [C]: the frac of each output channel
    cert: dict = field(default_factory=dict)
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
class QDepthToSpace(QLayer):
    blocksize: int
    mode: Literal["DCR", "CRD"]


@dataclass(frozen=True, eq=False, kw_only=True)
class QCrop(QLayer):
    bottom: int
    right: int


@dataclass(frozen=True, eq=False)
class QGraph:
    name: str
    input: str
    input_channels: int
    output: str
    layers: tuple[QLayer, ...]
    boundary: dict                   # layouts and pixel scales (see ir.Boundary)
    meta: dict                       # bits, calibration method, PSNR, ...

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


# ------------------------------------------------------------------------ serialisation
def _arr(a: np.ndarray | None):
    return None if a is None else {"shape": list(a.shape), "data": [int(v) for v in a.reshape(-1)]}


def _unarr(d) -> np.ndarray | None:
    return None if d is None else np.asarray(d["data"], dtype=np.int64).reshape(d["shape"])


def _act_to(a: QAct) -> dict:
    return {"kind": a.kind, "lo": _arr(a.lo), "hi": _arr(a.hi), "slope": _arr(a.slope),
            "slope_fmt": a.slope_fmt.to_dict() if a.slope_fmt else None,
            "lut_fmt": a.lut_fmt.to_dict() if a.lut_fmt else None, "lut": _arr(a.lut)}


def _act_from(d: dict) -> QAct:
    return QAct(kind=d["kind"], lo=_unarr(d["lo"]), hi=_unarr(d["hi"]), slope=_unarr(d["slope"]),
                slope_fmt=Fmt.from_dict(d["slope_fmt"]) if d["slope_fmt"] else None,
                lut_fmt=Fmt.from_dict(d["lut_fmt"]) if d["lut_fmt"] else None, lut=_unarr(d["lut"]))


def to_json(g: QGraph) -> str:
    layers = []
    for l in g.layers:
        d: dict = {"kind": l.kind, "name": l.name, "source": l.source, "inputs": list(l.inputs), "output": l.output,
                   "out_fmt": l.out_fmt.to_dict(), "out_frac": _arr(l.out_frac), "out_zero": _arr(l.out_zero),
                   "cert": l.cert}
        match l:
            case QConv():
                d |= {"weight": _arr(l.weight), "w_frac": _arr(l.w_frac), "w_width": l.w_width, "bias": _arr(l.bias),
                      "acc_frac": _arr(l.acc_frac), "pads": list(l.pads), "act": _act_to(l.act),
                      "pad_code": _arr(l.pad_code)}
            case QAffine():
                d |= {"scale": _arr(l.scale), "s_frac": _arr(l.s_frac), "s_width": l.s_width, "bias": _arr(l.bias),
                      "acc_frac": _arr(l.acc_frac), "act": _act_to(l.act)}
            case QAdd():
                d |= {"acc_frac": _arr(l.acc_frac), "in_fracs": [_arr(l.in_fracs[0]), _arr(l.in_fracs[1])],
                      "act": _act_to(l.act)}
            case QDepthToSpace():
                d |= {"blocksize": l.blocksize, "mode": l.mode}
            case QCrop():
                d |= {"bottom": l.bottom, "right": l.right}
        layers.append(d)
    doc = {"format": IR_FORMAT, "version": IR_VERSION, "name": g.name, "input": g.input,
           "input_channels": g.input_channels, "output": g.output, "boundary": g.boundary, "meta": g.meta,
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
        base = dict(name=d["name"], source=d["source"], inputs=tuple(d["inputs"]), output=d["output"],
                    out_fmt=Fmt.from_dict(d["out_fmt"]), out_frac=_unarr(d["out_frac"]), cert=d["cert"],
                    out_zero=_unarr(d.get("out_zero")))
        match d["kind"]:
            case "Conv":
                layers.append(QConv(**base, weight=_unarr(d["weight"]), w_frac=_unarr(d["w_frac"]),
                                    w_width=d["w_width"], bias=_unarr(d["bias"]), acc_frac=_unarr(d["acc_frac"]),
                                    pads=tuple(d["pads"]), act=_act_from(d["act"]),
                                    pad_code=_unarr(d.get("pad_code"))))
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
    return QGraph(name=doc["name"], input=doc["input"], input_channels=doc["input_channels"], output=doc["output"],
                  layers=tuple(layers), boundary=doc["boundary"], meta=doc["meta"])
