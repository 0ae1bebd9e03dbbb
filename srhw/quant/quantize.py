"""Canonical float IR + calibration statistics -> quantized IR with an overflow certificate.

Rules (docs/arithmetic.md has the integer semantics):
- activations: `abits`-wide codes, unsigned after ReLU or a clamp at >= 0, with one frac per
  *channel* chosen by the calibration method (a shift per channel costs nothing in custom
  hardware). A tensor that feeds a DepthToSpace, and a tanh output, use one frac for all
  channels. The kernel's input and output are u8 pixel codes;
- weights: signed `wbits`. A conv's accumulator for output o has one frac F[o], the largest
  for which every weight fits when its input channel c's frac is absorbed:
  F[o] = min_c(fw[o, c] + f_in[c]), weight code = q(w * 2^(F[o] - f_in[c]));
- biases: exact at the accumulator's frac (rounded once), width recorded;
- zero points (`zero_points`, srhw.quant.zero_points): a signed activation read only by convs
  may centre its codes on its range, code = round(x * 2^f) + z; the consumer's bias absorbs
  -sum w * z and its padding holds z;
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
from srhw.fixed import (PIXEL, Fmt, accumulator_bound, aligned_add_bound, epilogue_shift, frac_for_range, product_bound,
                        quantize_real, round_half_up, rounding_bound, signed_width)
from srhw.options import OptionError, check_choice, check_layer_bits
from srhw.qir import (Certificate, ClipAct, NoAct, PReluAct, QAct, QAdd, QAffine, QBoundary, QConv, QCrop, QDepthToSpace,
                      QGraph, QLayer, QMeta,
                      ReluAct, TanhAct, check)
from srhw.quant.calibrate import CalibrationStats, pre_activation_key

Method = Literal["max", "percentile", "mse"]
METHODS: tuple[str, ...] = ("max", "percentile", "mse")
WEIGHT_ROUNDINGS: tuple[str, ...] = ("nearest", "gptq", "gptq-sparse")
PERCENTILE = 99.99
TANH_RANGE = 4.0  # tanh(4) = 0.99933: LUT inputs beyond it saturate
NO_WEIGHT = 1 << 20  # the frac limit an all-zero weight slice imposes: none


def choose_frac(max_abs: float, values: np.ndarray, width: int, signed: bool, method: str) -> int:
    """The activation frac for one channel (or tensor) under a calibration method."""
    f_max = frac_for_range(max_abs, width, signed)
    if method == "max" or max_abs == 0:
        return f_max
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


def _max_frac(m: np.ndarray, width: int) -> np.ndarray:
    """Per entry of m (max |w| of a weight slice): the largest frac that holds it signed."""
    return np.array([frac_for_range(float(v), width, True) if v > 0 else NO_WEIGHT for v in m.reshape(-1)],
                    dtype=np.int64).reshape(m.shape)


def pixel_output_producer(graph: ir.Graph) -> str:
    """The value whose codes are the output pixels: the graph output before DepthToSpace/Crop."""
    prod = graph.producers()
    v = graph.output
    while isinstance(prod[v], (ir.DepthToSpace, ir.Crop)):
        v = prod[v].inputs[0]
    return v


# per-layer widths: (layer, weight bits or None, activation bits or None), the layer named by
# its ONNX node or its srhw name (l03_conv); None keeps the graph's wbits / abits
LayerBits = tuple[tuple[str, int | None, int | None], ...]


def layer_name(idx: int, node: ir.Op) -> str:
    """The quantized layer's name: its position among the compute nodes and its kind."""
    return f"l{idx:02d}_{type(node).__name__.lower()}"


def layer_widths(graph: ir.Graph, layer_bits: LayerBits, wbits: int, abits: int) -> dict[str, tuple[int, int]]:
    """Node name -> (weight bits, activation bits) of every compute node: `wbits`/`abits`
    unless `layer_bits` names the layer. A layer without weights (Add) takes no weight width;
    one that passes its input's codes on (DepthToSpace, Crop) takes none; the layer that
    writes the output pixels keeps their 8 bits."""
    nodes = list(graph.compute_nodes())
    names = {layer_name(k, n): n for k, n in enumerate(nodes)} | {n.name: n for n in nodes}
    pixel_out = pixel_output_producer(graph)
    out = {n.name: (wbits, abits) for n in nodes}
    check_layer_bits(layer_bits)
    seen: dict[str, str] = {}
    for name, w, a in layer_bits:
        node = names.get(name)
        if node is None:
            listing = ", ".join(f"{layer_name(k, n)} ({n.name})" for k, n in enumerate(nodes)
                                if isinstance(n, (ir.Conv, ir.Affine, ir.Add)))
            raise OptionError(f"layer_bits names '{name}', which is no layer of this model; its layers with widths "
                              f"of their own (srhw name, ONNX node): {listing}", "layer_bits")
        if node.name in seen:
            raise OptionError(f"layer_bits names layer '{node.name}' twice ('{seen[node.name]}' and '{name}')",
                              "layer_bits")
        seen[node.name] = name
        if not isinstance(node, (ir.Conv, ir.Affine, ir.Add)):
            raise OptionError(f"layer_bits: '{name}' ({node.op_type}) passes its input's codes on and has no widths "
                              f"of its own; set them on the layer that writes its input", "layer_bits")
        if w is not None and isinstance(node, ir.Add):
            raise OptionError(f"layer_bits: '{name}' (Add) has no weights; give it an activation width only",
                              "layer_bits")
        if a is not None and node.output == pixel_out and a != PIXEL.width:
            raise OptionError(f"layer_bits: '{name}' writes the output pixels, which are {PIXEL.width}-bit codes; "
                              f"its activation width cannot be {a}", "layer_bits")
        out[node.name] = (w or wbits, a or abits)
    return out


def own_widths(graph: ir.Graph, widths: dict[str, tuple[int, int]], wbits: int, abits: int) -> LayerBits | None:
    """The layers whose widths (layer_widths) differ from wbits/abits, by srhw name in graph
    order (None: none)."""
    own = tuple((layer_name(k, n), *widths[n.name]) for k, n in enumerate(graph.compute_nodes())
                if widths[n.name] != (wbits, abits))
    return own or None


class _Quantizer:
    def __init__(self, graph: ir.Graph, stats: dict[str, CalibrationStats], wbits: int, abits: int, method: str,
                 bias_correction: bool = True, granularity: str = "output", frames: list[np.ndarray] | None = None,
                 weight_rounding: str = "nearest", float_in: dict[str, list[np.ndarray]] | None = None,
                 widths: dict[str, tuple[int, int]] | None = None):
        self.g, self.stats, self.wbits, self.abits, self.method = graph, stats, wbits, abits, method
        self.widths = widths if widths is not None else layer_widths(graph, (), wbits, abits)
        self.granularity = granularity
        # integer codes of every value on the calibration frames, as the quantized network
        # computes them so far (for the measured bias correction)
        self.codes: dict[str, list[np.ndarray]] | None = None
        if frames:
            self.codes = {graph.input: [np.asarray(f, dtype=np.float32) for f in frames]}
        self.bias_correction = bias_correction
        # float inputs of every conv on the calibration frames, for the error-compensating fit
        self.float_in: dict[str, list[np.ndarray]] | None = None
        if frames and weight_rounding != "nearest":
            self.float_in = float_in if float_in is not None else conv_inputs(graph, frames)
        self.keep_zeros = weight_rounding == "gptq-sparse"
        c_in = int(graph.inputs[0].shape[1])
        self.zero: dict[str, np.ndarray] = {graph.input: np.zeros(c_in, dtype=np.int64)}  # zero point per channel
        self.fmt: dict[str, Fmt] = {graph.input: PIXEL}
        self.frac: dict[str, np.ndarray] = {graph.input: np.zeros(c_in, dtype=np.int64)}
        self.res: dict[str, int] = {graph.input: 1}  # upscale of each value's grid vs the LR input
        self.pixel_out = pixel_output_producer(graph)
        cons = graph.consumers()
        self.uniform = {n.output for n in graph.nodes if any(isinstance(u, ir.DepthToSpace) for u in cons.get(n.output, []))}

    def out_format(self, node: ir.Op, act: ir.Activation | None, channels: int, abits: int) -> tuple[Fmt, np.ndarray]:
        """The output format (`abits` wide, its sign) and one frac per channel."""
        if node.output == self.pixel_out:
            return PIXEL, np.zeros(channels, dtype=np.int64)
        signed = not (isinstance(act, ir.ReluAct) or (isinstance(act, ir.ClipAct) and act.lo >= 0))
        st = self.stats[node.output]
        if node.output in self.uniform or isinstance(act, ir.TanhAct):
            st = st.merged()
        if st.half is None:
            vals = st.values()
            fr = np.array([choose_frac(float(st.max_abs[c]), vals[c], abits, signed, self.method)
                           for c in range(len(st.max_abs))], dtype=np.int64)
        else:  # zero points: the method already chose the range; the format holds its half-width
            fr = np.array([frac_for_range(float(h), abits, signed) for h in st.half], dtype=np.int64)
        fr = np.broadcast_to(fr, (channels,)).copy()
        return Fmt(abits, int(fr.min()), signed), fr

    def zero_point(self, value: str, out: Fmt, out_frac: np.ndarray) -> np.ndarray | None:
        """The codes of real 0 of a centred tensor, z = -round(center * 2^frac) (None: not centred)."""
        st = self.stats.get(value)
        if st is None or st.center is None or value == self.pixel_out:
            return None
        z = np.clip(-round_half_up(st.center * np.ldexp(1.0, out_frac)), out.lo, out.hi).astype(np.int64)
        return z if np.any(z) else None

    def act(self, act: ir.Activation | None, out: Fmt, out_frac: np.ndarray, node: ir.Op,
            wbits: int, abits: int) -> tuple[QAct, dict]:
        """The activation in codes (slopes of at least `wbits` bits, a tanh table indexed by
        `abits` + 2 bits), and statistics for the report."""
        stats: dict = {}
        channels = out_frac.size
        match act:
            case None:
                return NoAct(), stats
            case ir.ReluAct():
                return ReluAct(), stats
            case ir.ClipAct(lo=lo, hi=hi):
                scale = np.ldexp(1.0, out_frac)
                lo_c = np.full(channels, out.lo) if lo == -math.inf else np.clip(round_half_up(lo * scale), out.lo, out.hi)
                hi_c = np.full(channels, out.hi) if hi == math.inf else np.clip(round_half_up(hi * scale), out.lo, out.hi)
                return ClipAct(lo=lo_c.astype(np.int64), hi=hi_c.astype(np.int64)), stats
            case ir.PReluAct(slope=s):
                width = max(wbits, 8)
                m = float(np.max(np.abs(s)))
                sfmt = Fmt(width, frac_for_range(m, width, True) if m > 0 else width - 1, True)
                return PReluAct(slope=quantize_real(np.broadcast_to(s, (channels,)), sfmt), slope_fmt=sfmt), stats
            case ir.TanhAct():
                width = min(abits + 2, 16)
                pre = self.stats[pre_activation_key(node.output)]
                m = min(float(pre.max_abs.max()), TANH_RANGE) or TANH_RANGE
                lfmt = Fmt(width, frac_for_range(m, width, True), True)
                codes = np.arange(lfmt.lo, lfmt.hi + 1, dtype=np.float64)
                lut = quantize_real(np.tanh(codes * lfmt.step), Fmt(out.width, int(out_frac[0]), out.signed))
                stats["lut_entries"] = int(lut.size)
                return TanhAct(lut_fmt=lfmt, lut=lut), stats
        raise QuantizationError(f"node '{node.name}': no fixed-point form for activation {type(act).__name__}")

    @staticmethod
    def epilogue_cert(acc_bound: int, acc_frac: np.ndarray, out_frac: np.ndarray, act: QAct) -> Certificate:
        """Bounds of the requantization: the accumulator, the PReLU product, the rounding add."""
        s = int(np.max(epilogue_shift(acc_frac, act, out_frac)))
        prod, widest = None, int(acc_bound)
        if isinstance(act, PReluAct):
            prod = product_bound(acc_bound, act.slope)
            s = max(s, s + act.slope_fmt.frac)
            widest = max(widest, prod)
        return Certificate(int(acc_bound), rounding_bound(widest, s), prod)

    def conv_grid(self, w: np.ndarray, f_in: np.ndarray, wbits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The weight grid of a conv: code fracs [O, I], accumulator fracs [O], product shifts [O, I].

        granularity "output": one frac per output channel o, F[o] = min_c(fw[o, c] + f_in[c]),
        so every code is a plain `wbits` integer (shift 0). "kernel": each (o, c) slice keeps its
        own `wbits` significant bits (fw[o, c]) and F[o] = max_c(fw[o, c] + f_in[c]); the code is
        then shifted left by F[o] - fw[o, c] - f_in[c] >= 0: a constant shift of the product,
        wiring in hardware, that only widens the accumulator (the certificate counts it).
        """
        fw = _max_frac(np.abs(w).max(axis=(2, 3)), wbits)                   # [O, I]
        if self.granularity == "output":
            acc_frac = (fw + f_in.reshape(1, -1)).min(axis=1)
            acc_frac = np.where(acc_frac >= NO_WEIGHT // 2, wbits - 1, acc_frac)
            w_frac = acc_frac.reshape(-1, 1) - f_in.reshape(1, -1)
            return w_frac, acc_frac, np.zeros_like(w_frac)
        empty = fw >= NO_WEIGHT // 2
        fsum = np.where(empty, -NO_WEIGHT, fw + f_in.reshape(1, -1))
        acc_frac = fsum.max(axis=1)
        acc_frac = np.where(acc_frac <= -NO_WEIGHT // 2, wbits - 1, acc_frac)
        fw = np.where(empty, acc_frac.reshape(-1, 1) - f_in.reshape(1, -1), fw)
        return fw, acc_frac, acc_frac.reshape(-1, 1) - f_in.reshape(1, -1) - fw

    def conv_weights(self, w: np.ndarray, f_in: np.ndarray, wbits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Integer weights [O, I, kh, kw] by nearest rounding, their fracs [O, I] and the
        accumulator fracs [O] (the grid: conv_grid)."""
        code_frac, acc_frac, shift = self.conv_grid(w, f_in, wbits)
        lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1)) - 1
        codes = np.clip(round_half_up(w * np.ldexp(1.0, code_frac)[:, :, None, None]), lo, hi).astype(np.int64)
        return self.shifted(codes, shift), acc_frac.reshape(-1, 1) - f_in.reshape(1, -1), acc_frac

    @staticmethod
    def shifted(codes: np.ndarray, shift: np.ndarray) -> np.ndarray:
        return codes * np.left_shift(np.int64(1), shift)[:, :, None, None]

    def fitted_weights(self, node: ir.Conv, w: np.ndarray, b: np.ndarray, f_in: np.ndarray,
                       wbits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Integer weights, their fracs, accumulator fracs and the real bias, by the
        error-compensating fit (srhw.quant.fit_weights) on the grid of conv_grid."""
        from srhw.quant.fit_weights import fit, gram

        code_frac, acc_frac, shift = self.conv_grid(w, f_in, wbits)
        assert self.codes is not None and self.float_in is not None
        scale = np.ldexp(1.0, -f_in.astype(np.int64)).reshape(-1, 1, 1)
        z = self.zero[node.inputs[0]].reshape(-1, 1, 1)
        xs_q = [(a - z) * scale for a in self.codes[node.inputs[0]]]
        h, tc = gram(self.float_in[node.inputs[0]], xs_q, w, b, node.pads)
        lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1)) - 1
        # gptq-sparse: a weight whose nearest code is 0 stays 0, so the hardware never needs more
        # multipliers than with nearest rounding (gptq may fill the sub-pixel taps a ConvTranspose
        # lacks: better PSNR, more multipliers; bench/weight_rounding.py)
        keep = round_half_up(w * np.ldexp(1.0, code_frac)[:, :, None, None]) != 0 if self.keep_zeros else None
        codes, bias = fit(w, h, tc, np.ldexp(1.0, -code_frac), lo, hi, keep)
        return self.shifted(codes, shift), acc_frac.reshape(-1, 1) - f_in.reshape(1, -1), acc_frac, bias

    def bias_shift(self, w: np.ndarray, wq: np.ndarray, value: str, f_in: np.ndarray) -> np.ndarray:
        """The mean shift of a conv's outputs caused by quantization, to take out of its bias.

        Float: sum w * E[x_f]. Quantized: sum wq * E[x_q], where E[x_q] is the channel mean of
        the input as the quantized network so far computes it on the calibration frames (when
        there are frames; else E[x_f]). The difference covers the weights' own rounding and the
        mean error that reaches this layer from upstream, which a layer with a large DC gain
        (the last one) would otherwise amplify into a visible brightness offset.
        """
        e_f = self.stats[value].mean
        e_q = e_f
        if self.codes is not None and value in self.codes:
            c = self.codes[value][0].shape[0]
            tot = sum(a.reshape(c, -1).sum(axis=1, dtype=np.float64) for a in self.codes[value])
            cnt = sum(a[0].size for a in self.codes[value])
            e_q = (tot / cnt - self.zero[value]) * np.ldexp(1.0, -f_in.astype(np.int64))
        return np.einsum("oikl,i->o", wq, e_q) - np.einsum("oikl,i->o", w, e_f)

    def track(self, q: QLayer, remaining: dict[str, int]) -> None:
        """Runs a finished layer on the calibration codes; drops inputs no one reads any more."""
        if self.codes is None:
            return
        from srhw import golden

        n = len(self.codes[q.inputs[0]])
        self.codes[q.output] = [golden.execute(q, *[self.codes[i][k] for i in q.inputs]) for k in range(n)]
        for i in q.inputs:
            remaining[i] -= 1
            if remaining[i] == 0:
                del self.codes[i]

    def layer(self, idx: int, node: ir.Op) -> QLayer:
        base = dict(name=layer_name(idx, node), source=node.name, inputs=node.inputs[:1],
                    output=node.output)
        x, f_in = self.fmt[node.inputs[0]], self.frac[node.inputs[0]]
        z_in = self.zero[node.inputs[0]]
        wb, ab = self.widths[node.name]
        self.res[node.output] = self.res[node.inputs[0]]
        if np.any(z_in) and not isinstance(node, ir.Conv):
            raise QuantizationError(f"node '{node.name}' ({node.op_type}) reads a tensor with zero points; "
                                    f"only Conv consumers absorb them")
        match node:
            case ir.Conv():
                w = self.g.constant(node.inputs[1])
                cout = w.shape[0]
                b = self.g.constant(node.inputs[2]) if len(node.inputs) > 2 else np.zeros(cout)
                out, out_frac = self.out_format(node, node.act, cout, ab)
                if self.float_in is not None and node.inputs[0] in self.float_in:
                    wi, w_frac, acc_frac, b = self.fitted_weights(node, w, b, f_in, wb)
                else:
                    wi, w_frac, acc_frac = self.conv_weights(w, f_in, wb)
                if self.float_in is None and self.bias_correction and node.inputs[0] in self.stats:
                    b = b - self.bias_shift(w, wi * np.ldexp(1.0, -w_frac)[:, :, None, None], node.inputs[0], f_in)
                bi = round_half_up(b * np.ldexp(1.0, acc_frac)).astype(np.int64)
                if np.any(z_in):  # sum w * (q - z): the input's zero points leave through the bias
                    bi = bi - wi.sum(axis=(2, 3)) @ z_in
                act, act_stats = self.act(node.act, out, out_frac, node, wb, ab)
                zero = self.zero_point(node.output, out, out_frac)
                cert = self.epilogue_cert(accumulator_bound(wi, x.max_abs, bi), acc_frac, out_frac, act)
                stats = act_stats | {"bias_width": signed_width(int(np.abs(bi).max(initial=0))),
                                 "macs_per_lr_pixel": int(np.prod(w.shape)) * self.res[node.output] ** 2,
                                 "weight_significant_bits": significant_bits(wi)}
                if zero is not None:
                    stats["zero_point_max"] = int(np.abs(zero).max())
                return QConv(**base, out_fmt=out, out_frac=out_frac, cert=cert, stats=stats, weight=wi, w_frac=w_frac,
                             w_width=max(wb, signed_width(int(np.abs(wi).max(initial=0)))), bias=bi,
                             acc_frac=acc_frac, pads=node.pads, act=act, out_zero=zero,
                             pad_code=z_in.copy() if np.any(z_in) else None)
            case ir.Affine():
                c = node.scale.size
                out, out_frac = self.out_format(node, node.act, c, ab)
                sf = _max_frac(np.abs(node.scale), wb)
                sf = np.where(sf >= NO_WEIGHT // 2, wb - 1, sf)
                si = quantize_real(node.scale * np.ldexp(1.0, sf), Fmt(wb, 0, True))
                acc_frac = sf + f_in
                bi = round_half_up(node.bias * np.ldexp(1.0, acc_frac)).astype(np.int64)
                act, act_stats = self.act(node.act, out, out_frac, node, wb, ab)
                cert = self.epilogue_cert(accumulator_bound(si.reshape(-1, 1), x.max_abs, bi), acc_frac, out_frac,
                                          act)
                return QAffine(**base, out_fmt=out, out_frac=out_frac, cert=cert, stats=act_stats, scale=si, s_frac=sf,
                               s_width=wb, bias=bi, acc_frac=acc_frac, act=act)
            case ir.Add():
                y, f_b = self.fmt[node.inputs[1]], self.frac[node.inputs[1]]
                out, out_frac = self.out_format(node, node.act, f_in.size, ab)
                acc_frac = np.maximum(f_in, f_b)
                bound = aligned_add_bound(x, f_in, y, f_b)
                act, act_stats = self.act(node.act, out, out_frac, node, wb, ab)
                cert = self.epilogue_cert(bound, acc_frac, out_frac, act)
                return QAdd(**(base | {"inputs": node.inputs}), out_fmt=out, out_frac=out_frac, cert=cert, stats=act_stats,
                            acc_frac=acc_frac, in_fracs=(f_in.copy(), f_b.copy()), act=act)
            case ir.DepthToSpace(blocksize=r):
                self.res[node.output] *= r
                if np.any(f_in != f_in[0]):
                    raise QuantizationError(f"node '{node.name}': DepthToSpace input needs one format")
                return QDepthToSpace(**base, out_fmt=x, out_frac=f_in[:: r * r].copy(), blocksize=r, mode=node.mode)
            case ir.Crop():
                return QCrop(**base, out_fmt=x, out_frac=f_in.copy(), bottom=node.bottom, right=node.right)
        raise QuantizationError(f"node '{node.name}' ({node.op_type}) has no fixed-point form")

    def run(self) -> tuple[QLayer, ...]:
        layers = []
        nodes = list(self.g.compute_nodes())
        remaining: dict[str, int] = {}
        for node in nodes:
            for i in node.inputs[:2 if isinstance(node, ir.Add) else 1]:
                remaining[i] = remaining.get(i, 0) + 1
        for node in nodes:
            q = self.layer(len(layers), node)
            self.fmt[node.output], self.frac[node.output] = q.out_fmt, q.out_frac
            self.zero[node.output] = q.zero
            layers.append(q)
            self.track(q, remaining)
        return tuple(layers)


def conv_input_lists(graph: ir.Graph) -> dict[str, list[np.ndarray]]:
    """{the input of every conv: []}, for conv_inputs or calibrate's `kept` to fill."""
    return {n.inputs[0]: [] for n in graph.compute_nodes() if isinstance(n, ir.Conv)}


def conv_inputs(graph: ir.Graph, frames: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """The float network's input of every conv, per calibration frame ([C, H, W] each)."""
    from srhw import float_exec

    out = conv_input_lists(graph)
    wanted = set(out)
    for f in frames:
        env = float_exec.run(graph, np.asarray(f, dtype=np.float64)[None], keep_all=True)
        for v in wanted:
            out[v].append(env[v][0])
    return out


def significant_bits(wi: np.ndarray) -> int:
    """The most significant bits any weight code needs once its trailing zeros are dropped
    (sign included): what a constant-coefficient multiplier costs."""
    a = np.abs(wi.astype(np.int64)).reshape(-1)
    a = a[a > 0]
    if a.size == 0:
        return 1
    odd = a // (a & -a)  # a & -a is the lowest set bit
    return int(odd.max()).bit_length() + 1


def quantize(graph: ir.Graph, stats: dict[str, CalibrationStats], wbits: int, abits: int, method: str = "max",
             bias_correction: bool = True, equalize: bool = True,
             granularity: str = "output", frames: list[np.ndarray] | None = None,
             weight_rounding: str = "nearest", zero_points: bool = False,
             float_in: dict[str, list[np.ndarray]] | None = None, layer_bits: LayerBits = ()) -> QGraph:
    """wbits, abits: the widths of every layer's weights and output codes, except where
    `layer_bits` sets a layer's own (layer_widths); the output pixels are always 8 bits.
    frames: the calibration frames (uint8 [C, H, W]); with them the bias correction is
    measured on the quantized network's own activations (see _Quantizer.bias_shift).
    float_in: the float input of every conv of `graph` on those frames (conv_inputs), when the
    caller has them already (calibrate's `kept`); else the weight fit computes them."""
    if not graph.boundary.pixel:
        raise QuantizationError("run the pixel_boundary pass before quantization")
    if zero_points:
        from srhw.quant.zero_points import center_activations

        stats = center_activations(graph, stats, pixel_output_producer(graph), method, abits)
    if equalize:
        from srhw.quant.equalize import equalize_ranges

        scales: dict[str, np.ndarray] = {}
        graph, stats = equalize_ranges(graph, stats, abits, wbits, method, pixel_output_producer(graph),
                                       # the dense fit makes up for coarser weights; gptq-sparse keeps
                                       # nearest rounding's grid, so that its codes are a subset of those
                                       weight_headroom=weight_rounding != "gptq", scales=scales)
        if float_in is not None and weight_rounding != "nearest":  # only the fit reads them: a_c times the original
            float_in = {v: [x * scales[v].reshape(-1, 1, 1) for x in xs] if v in scales else xs
                        for v, xs in float_in.items()}
    check_choice("granularity", granularity, ("output", "kernel"))
    check_choice("weight_rounding", weight_rounding, tuple(WEIGHT_ROUNDINGS))
    if weight_rounding != "nearest" and not frames:
        raise QuantizationError(f"{weight_rounding} weight rounding fits the codes on the calibration frames: pass frames")
    widths = layer_widths(graph, layer_bits, wbits, abits)
    layers = _Quantizer(graph, stats, wbits, abits, method, bias_correction, granularity, frames, weight_rounding,
                        float_in, widths).run()
    b = graph.boundary
    boundary = QBoundary(tuple(b.input_layout), tuple(b.output_layout), b.input_scale, b.output_scale)
    q = QGraph(name=graph.name, input=graph.input, input_channels=int(graph.inputs[0].shape[1]),
               output=graph.output, layers=layers, boundary=boundary,
               meta=QMeta(wbits=wbits, abits=abits, calibration=method, weight_granularity=granularity,
                          weight_rounding=weight_rounding, zero_points=zero_points,
                          layer_bits=own_widths(graph, widths, wbits, abits)))
    check(q)
    return q
