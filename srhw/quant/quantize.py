"""Canonical float IR + calibration statistics -> quantized IR with an overflow certificate.

Rules (docs/arithmetic.md has the integer semantics):
- weights: signed `wbits`, one frac per output channel, the largest that holds max |w|;
- activations: one format per tensor, `abits` wide, unsigned after ReLU or a clamp at >= 0,
  frac chosen by the calibration method; the kernel's input and output are u8 pixel codes;
- biases: exact at the accumulator's frac (rounded once), width recorded;
- PReLU slopes: signed max(wbits, 8) bits, one frac per layer; tanh: a LUT indexed by the
  accumulator requantized to min(abits + 2, 16) bits;
- certificate: per layer, bound = sum |w| * max |x| + |b| from the integer weights, and the
  two's-complement width that holds it; the rounding add and the PReLU product are recorded too.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np

from srhw import ir
from srhw.errors import QuantizationError
from srhw.fixed import PIXEL, Fmt, aligned_sum_bound, frac_for_range, quantize_real, round_half_up, signed_width
from srhw.qir import QAct, QAdd, QAffine, QConv, QCrop, QDepthToSpace, QGraph, QLayer
from srhw.quant.calibrate import CalibrationStats, pre_activation_key

Method = Literal["max", "percentile", "mse"]
METHODS: tuple[str, ...] = ("max", "percentile", "mse")
PERCENTILE = 99.99
TANH_RANGE = 4.0  # tanh(4) = 0.99933: LUT inputs beyond it saturate


def choose_frac(stats: CalibrationStats, width: int, signed: bool, method: str) -> int:
    """The activation frac for one tensor under a calibration method."""
    f_max = frac_for_range(stats.max_abs, width, signed)
    if method == "max" or stats.max_abs == 0:
        return f_max
    values = stats.values()
    if method == "percentile":
        return max(f_max, frac_for_range(float(np.percentile(np.abs(values), PERCENTILE)), width, signed))
    if method == "mse":
        best, best_err = f_max, math.inf
        for f in range(f_max, f_max + 4):
            fmt = Fmt(width, f, signed)
            err = float(np.mean((quantize_real(values, fmt) * fmt.step - values) ** 2))
            if err < best_err:
                best, best_err = f, err
        return best
    raise QuantizationError(f"calibration method must be one of {', '.join(METHODS)}, not {method!r}")


def _weight_fracs(w: np.ndarray, wbits: int) -> np.ndarray:
    m = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    return np.array([frac_for_range(float(v), wbits, True) if v > 0 else wbits - 1 for v in m], dtype=np.int64)


def _quantize_per_row(w: np.ndarray, fracs: np.ndarray, wbits: int) -> np.ndarray:
    scale = np.ldexp(1.0, fracs).reshape((-1,) + (1,) * (w.ndim - 1))
    lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1)) - 1
    return np.clip(round_half_up(w * scale), lo, hi).astype(np.int64)


class _Quantizer:
    def __init__(self, graph: ir.Graph, stats: dict[str, CalibrationStats], wbits: int, abits: int, method: str):
        self.g, self.stats, self.wbits, self.abits, self.method = graph, stats, wbits, abits, method
        self.fmt: dict[str, Fmt] = {graph.input: PIXEL}
        self.res: dict[str, int] = {graph.input: 1}  # upscale of each value's grid vs the LR input
        self.pixel_out = self._pixel_output_producer()

    def _pixel_output_producer(self) -> str:
        prod = self.g.producers()
        v = self.g.output
        while isinstance(prod[v], (ir.DepthToSpace, ir.Crop)):
            v = prod[v].inputs[0]
        return v

    def out_fmt(self, node: ir.Op, act: ir.Activation | None) -> Fmt:
        if node.output == self.pixel_out:
            return PIXEL
        signed = not (isinstance(act, ir.ReluAct) or (isinstance(act, ir.ClipAct) and act.lo >= 0))
        return Fmt(self.abits, choose_frac(self.stats[node.output], self.abits, signed, self.method), signed)

    def act(self, act: ir.Activation | None, out: Fmt, node: ir.Op, channels: int) -> tuple[QAct, dict]:
        cert: dict = {}
        match act:
            case None:
                return QAct(), cert
            case ir.ReluAct():
                return QAct(kind="relu"), cert
            case ir.ClipAct(lo=lo, hi=hi):
                lo_c = out.lo if lo == -math.inf else int(np.clip(round_half_up(lo * 2.0**out.frac), out.lo, out.hi))
                hi_c = out.hi if hi == math.inf else int(np.clip(round_half_up(hi * 2.0**out.frac), out.lo, out.hi))
                return QAct(kind="clip", lo=lo_c, hi=hi_c), cert
            case ir.PReluAct(slope=s):
                width = max(self.wbits, 8)
                m = float(np.max(np.abs(s)))
                sfmt = Fmt(width, frac_for_range(m, width, True) if m > 0 else width - 1, True)
                return QAct(kind="prelu", slope=quantize_real(np.broadcast_to(s, (channels,)), sfmt), slope_fmt=sfmt), cert
            case ir.TanhAct():
                width = min(self.abits + 2, 16)
                pre = self.stats[pre_activation_key(node.output)]
                lfmt = Fmt(width, frac_for_range(min(pre.max_abs, TANH_RANGE) or TANH_RANGE, width, True), True)
                codes = np.arange(lfmt.lo, lfmt.hi + 1, dtype=np.float64)
                lut = quantize_real(np.tanh(codes * lfmt.step), out)
                cert["lut_entries"] = int(lut.size)
                return QAct(kind="tanh", lut_fmt=lfmt, lut=lut), cert
        raise QuantizationError(f"node '{node.name}': no fixed-point form for activation {type(act).__name__}")

    @staticmethod
    def epilogue_cert(acc_bound: int, acc_frac: np.ndarray, out: Fmt, act: QAct) -> dict:
        """Bounds of the requantization: the accumulator, the PReLU product, the rounding add."""
        target = act.lut_fmt.frac if act.kind == "tanh" else out.frac
        s = int(np.max(acc_frac)) - target
        cert = {"acc_bound": int(acc_bound), "acc_width": signed_width(acc_bound)}
        if act.kind == "prelu":
            prod = int(acc_bound) * int(np.max(np.abs(act.slope)))
            cert |= {"prelu_product_bound": prod, "prelu_product_width": signed_width(prod)}
            s = max(s, s + act.slope_fmt.frac)
            acc_bound = max(acc_bound, prod)
        half = (1 << (s - 1)) if s > 0 else 0
        cert |= {"round_bound": int(acc_bound) + half, "round_width": signed_width(int(acc_bound) + half)}
        return cert

    def layer(self, idx: int, node: ir.Op) -> QLayer:
        base = dict(name=f"l{idx:02d}_{type(node).__name__.lower()}", source=node.name, inputs=node.inputs[:1],
                    output=node.output)
        x = self.fmt[node.inputs[0]]
        self.res[node.output] = self.res[node.inputs[0]]
        match node:
            case ir.Conv():
                w = self.g.constant(node.inputs[1])
                b = self.g.constant(node.inputs[2]) if len(node.inputs) > 2 else np.zeros(w.shape[0])
                out = self.out_fmt(node, node.act)
                wf = _weight_fracs(w, self.wbits)
                wi = _quantize_per_row(w, wf, self.wbits)
                acc_frac = wf + x.frac
                bi = round_half_up(b * np.ldexp(1.0, acc_frac)).astype(np.int64)
                act, acert = self.act(node.act, out, node, w.shape[0])
                bounds = np.abs(wi).reshape(w.shape[0], -1).sum(axis=1) * x.max_abs + np.abs(bi)
                cert = self.epilogue_cert(int(bounds.max()), acc_frac, out, act) | acert
                cert |= {"bias_width": signed_width(int(np.abs(bi).max(initial=0))),
                         "macs_per_lr_pixel": int(np.prod(w.shape)) * self.res[node.output] ** 2}
                return QConv(**base, out_fmt=out, cert=cert, weight=wi, w_frac=wf, w_width=self.wbits, bias=bi,
                             acc_frac=acc_frac, pads=node.pads, act=act)
            case ir.Affine():
                out = self.out_fmt(node, node.act)
                sf = _weight_fracs(node.scale.reshape(-1, 1), self.wbits)
                si = _quantize_per_row(node.scale.reshape(-1, 1), sf, self.wbits).reshape(-1)
                acc_frac = sf + x.frac
                bi = round_half_up(node.bias * np.ldexp(1.0, acc_frac)).astype(np.int64)
                act, acert = self.act(node.act, out, node, node.scale.size)
                bound = int((np.abs(si) * x.max_abs + np.abs(bi)).max())
                cert = self.epilogue_cert(bound, acc_frac, out, act) | acert
                return QAffine(**base, out_fmt=out, cert=cert, scale=si, s_frac=sf, s_width=self.wbits, bias=bi,
                               acc_frac=acc_frac, act=act)
            case ir.Add():
                y = self.fmt[node.inputs[1]]
                out = self.out_fmt(node, node.act)
                f, bound = aligned_sum_bound(x, y)
                act, acert = self.act(node.act, out, node, 0)
                cert = self.epilogue_cert(bound, np.array([f]), out, act) | acert | {"in_fracs": [x.frac, y.frac]}
                return QAdd(**(base | {"inputs": node.inputs}), out_fmt=out, cert=cert, acc_frac=f, act=act)
            case ir.DepthToSpace():
                self.res[node.output] *= node.blocksize
                return QDepthToSpace(**base, out_fmt=x, blocksize=node.blocksize, mode=node.mode)
            case ir.Crop():
                return QCrop(**base, out_fmt=x, bottom=node.bottom, right=node.right)
        raise QuantizationError(f"node '{node.name}' ({node.op_type}) has no fixed-point form")

    def run(self) -> tuple[QLayer, ...]:
        layers = []
        for node in self.g.compute_nodes():
            q = self.layer(len(layers), node)
            self.fmt[node.output] = q.out_fmt
            layers.append(q)
        return tuple(layers)


def quantize(graph: ir.Graph, stats: dict[str, CalibrationStats], wbits: int, abits: int, method: str = "max",
             meta: dict | None = None) -> QGraph:
    if not graph.boundary.pixel:
        raise QuantizationError("run the pixel_boundary pass before quantization")
    layers = _Quantizer(graph, stats, wbits, abits, method).run()
    b = graph.boundary
    boundary = {"input_layout": list(b.input_layout), "output_layout": list(b.output_layout),
                "input_scale": b.input_scale, "output_scale": b.output_scale}
    return QGraph(name=graph.name, input=graph.input, input_channels=int(graph.inputs[0].shape[1]),
                  output=graph.output, layers=layers, boundary=boundary,
                  meta={"wbits": wbits, "abits": abits, "calibration": method} | (meta or {}))
