"""A model quantized already (QDQ, srhw.frontend.qdq) -> the quantized IR that computes what it means.

No calibration and no width choice: every code, scale and zero point comes from the model. The
reference is onnxruntime running the QDQ model as its operators define it (DequantizeLinear, the
float op, QuantizeLinear; not its default session, whose QLinearConv fusion saturates on AVX2),
and each layer follows that arithmetic:

- a conv between two grids (input codes x, zero point zx; weight codes w per output channel less
  their zero point zw, 0 for symmetric weights; int32 bias b at the scale sx * sw[o])
  accumulates acc = sum (w - zw) * (x - zx) + b exactly (the padding holds zx, the bias absorbs
  -sum (w - zw) * zx), then requantizes:
  y = saturate(round_half_even(acc * S[o]) + zy), S[o] = sx * sw[o] / sy in float32, as an
  integer multiplier M (S's significand, srhw.fixed.float32_multiplier, without its trailing
  zeros) and a shift n. That rounds the exact product once; onnxruntime's float32 path rounds
  the conv sum and the product on the way, so a code can differ by one where acc * S lies within
  that rounding of a half (and move later codes a little). With power-of-two scales M is 1 and
  every step is exact: bit-exact.
- anything between two grids that reads one value per pixel and channel (the input quantizer on
  pixel codes, a PReLU or tanh between a DequantizeLinear and a QuantizeLinear, the output read
  back as pixels) is a table over every input code (QTable), filled by running onnxruntime on
  those codes: bit-exact by construction.
- DepthToSpace and Crop move codes (one grid per tensor, so it is the same after them).

Refused, naming the node: a conv whose input or output is not on a grid, a weight or bias
without one, per-channel activation grids, an Add of two grids, a PReLU or tanh fused into a
conv with no grid between.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srhw import ir
from srhw.errors import NodeProblem, UnsupportedModelError
from srhw.fixed import PIXEL, Fmt, accumulator_bound, float32_multiplier, signed_width
from srhw.qir import Certificate, ClipAct, NoAct, QBoundary, QConv, QCrop, QDepthToSpace, QGraph, QLayer, QMeta, QTable, \
    ReluAct, check

CALIBRATION = "model"  # QMeta.calibration of a graph whose grids came with the model


def is_quantized(graph: ir.Graph) -> bool:
    return any(isinstance(n, ir.Quantize) for n in graph.nodes)


class _Refuse(Exception):
    def __init__(self, node: ir.Op, detail: str) -> None:
        super().__init__(detail)
        self.problem = NodeProblem(node.name, node.op_type, detail)


def _container(grid: ir.Grid) -> tuple[type, int, Fmt]:
    """The integer type a grid's codes travel in (numpy, ONNX) and its format: int8/uint8, or
    16 bits; a QCDQ Clip may narrow the codes inside it (-127..127, say)."""
    from onnx import TensorProto

    if grid.lo >= 0:
        return (np.uint8, TensorProto.UINT8, Fmt(8, 0, False)) if grid.hi <= 255 else \
            (np.uint16, TensorProto.UINT16, Fmt(16, 0, False))
    return (np.int8, TensorProto.INT8, Fmt(8, 0, True)) if grid.lo >= -128 and grid.hi <= 127 else \
        (np.int16, TensorProto.INT16, Fmt(16, 0, True))


def _fmt(grid: ir.Grid) -> Fmt:
    """The codes' format in hardware: as wide as the grid's range (a 4-bit QONNX grid is 4 bits,
    whatever integer type carries it through onnxruntime)."""
    return Fmt(grid.width, 0, grid.lo < 0)


def _run_ort(nodes: list, inits: list, x: np.ndarray, in_type: int, out_type: int) -> np.ndarray:
    """One small ONNX graph X -> nodes -> Y in onnxruntime (the full model's session options)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    graph = helper.make_graph(nodes, "table", [helper.make_tensor_value_info("X", in_type, list(x.shape))],
                              [helper.make_tensor_value_info("Y", out_type, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, onnx.IR_VERSION, 9)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"X": x})[0]


def _grid_inits(grid: ir.Grid, prefix: str) -> list:
    """The grid's scale and zero point as the initializers `{prefix}_scale`, `{prefix}_zero`."""
    from onnx import numpy_helper

    t = _container(grid)[0]
    return [numpy_helper.from_array(np.asarray(grid.scale, dtype=np.float32).reshape(()), f"{prefix}_scale"),
            numpy_helper.from_array(np.asarray(grid.zero, dtype=t).reshape(()), f"{prefix}_zero")]


def _onnx_type(grid: ir.Grid) -> int:
    return _container(grid)[1]


def _codes_of(grid: ir.Grid) -> np.ndarray:
    return np.arange(grid.lo, grid.hi + 1)


def input_table(grid: ir.Grid, scale: float, channels: int) -> np.ndarray:
    """Pixel codes p -> the model's input codes: QuantizeLinear of float32(p * scale)."""
    from onnx import TensorProto, helper

    x = (np.arange(256, dtype=np.float64) * scale).astype(np.float32).reshape(1, 1, 1, 256)
    y = _run_ort([helper.make_node("QuantizeLinear", ["X", "g_scale", "g_zero"], ["Y"])], _grid_inits(grid, "g"),
                 x, TensorProto.FLOAT, _onnx_type(grid))
    y = np.clip(y.reshape(1, 256).astype(np.int64), grid.lo, grid.hi)  # a QCDQ Clip narrows the codes
    return np.broadcast_to(y, (channels, 256)).copy()


def _float_op(op: ir.Affine, value: str, prefix: str, c: int) -> tuple[list, list, str]:
    """ONNX nodes computing `op` (x * scale + bias, then its activation) on `value` of c
    channels: (nodes, initializers, the output's name). An op whose parameters are alike on every
    channel applies to any number of them (after a DepthToSpace)."""
    from onnx import helper, numpy_helper

    if op.scale.size != c:
        op = ir.Affine(name=op.name, inputs=op.inputs, output=op.output, scale=np.full(c, op.scale.flat[0]),
                       bias=np.full(c, op.bias.flat[0]),
                       act=ir.PReluAct(np.full(c, op.act.slope.flat[0])) if isinstance(op.act, ir.PReluAct) else op.act)
    nodes, inits = [], []
    if np.any(op.scale != 1.0) or np.any(op.bias != 0.0):
        inits += [numpy_helper.from_array(op.scale.astype(np.float32).reshape(1, c, 1, 1), f"{prefix}_k"),
                  numpy_helper.from_array(op.bias.astype(np.float32).reshape(1, c, 1, 1), f"{prefix}_d")]
        nodes += [helper.make_node("Mul", [value, f"{prefix}_k"], [f"{prefix}_rk"]),
                  helper.make_node("Add", [f"{prefix}_rk", f"{prefix}_d"], [f"{prefix}_rkd"])]
        value = f"{prefix}_rkd"
    out = f"{prefix}_act"
    match op.act:
        case None:
            return nodes, inits, value
        case ir.ReluAct():
            nodes.append(helper.make_node("Relu", [value], [out]))
        case ir.PReluAct(slope=s):
            inits.append(numpy_helper.from_array(np.asarray(s, dtype=np.float32).reshape(c, 1, 1), f"{prefix}_slope"))
            nodes.append(helper.make_node("PRelu", [value, f"{prefix}_slope"], [out]))
        case ir.TanhAct():
            nodes.append(helper.make_node("Tanh", [value], [out]))
        case ir.ClipAct(lo=lo, hi=hi):
            inits += [numpy_helper.from_array(np.asarray(lo, np.float32), f"{prefix}_lo"),
                      numpy_helper.from_array(np.asarray(hi, np.float32), f"{prefix}_hi")]
            nodes.append(helper.make_node("Clip", [value, f"{prefix}_lo", f"{prefix}_hi"], [out]))
    return nodes, inits, out


def _through(ops: tuple, grid: ir.Grid, c: int, tail: list, tail_inits: list, out_type: int) -> np.ndarray:
    """Every code of `grid` on each of c channels -> DequantizeLinear -> ops (each x * scale +
    bias, then its activation) -> `tail` (nodes ending in Y), by onnxruntime: [c, codes]."""
    from onnx import helper

    codes = _codes_of(grid)
    x = np.broadcast_to(codes.reshape(1, 1, 1, -1), (1, c, 1, codes.size)).astype(_container(grid)[0])
    nodes = [helper.make_node("DequantizeLinear", ["X", "a_scale", "a_zero"], ["v"])]
    inits = _grid_inits(grid, "a") + tail_inits
    value = "v"
    for k, op in enumerate(ops):
        more, extra, value = _float_op(op, value, f"o{k}", c)
        nodes += more
        inits += extra
    y = _run_ort(nodes + [helper.make_node(n.op_type, [value] + list(n.input[1:]), ["Y"]) for n in tail], inits,
                 np.ascontiguousarray(x), _onnx_type(grid), out_type)
    return y.reshape(c, codes.size)


def pointwise_table(ops: tuple, g_in: ir.Grid, g_out: ir.Grid, c: int) -> np.ndarray:
    """Codes of g_in -> DequantizeLinear -> ops -> QuantizeLinear on g_out (and a QCDQ Clip's
    narrower range), for each of c channels, by onnxruntime."""
    from onnx import helper

    q = helper.make_node("QuantizeLinear", ["v", "b_scale", "b_zero"], ["Y"])
    y = _through(ops, g_in, c, [q], _grid_inits(g_out, "b"), _onnx_type(g_out))
    return np.clip(y.astype(np.int64), g_out.lo, g_out.hi)


def pixel_table(grid: ir.Grid, scale: float, channels: int, ops: tuple = ()) -> np.ndarray:
    """The model's output codes -> pixel codes: DequantizeLinear and the float ops after it
    (`ops`, pointwise Affines, by onnxruntime in float32), times the boundary's output scale,
    rounded half up and clamped to 0..255, as srhw reads a float model's output."""
    from onnx import TensorProto, helper

    y = _through(ops, grid, channels, [helper.make_node("Identity", ["v"], ["Y"])], [], TensorProto.FLOAT)
    return np.clip(np.floor(y.astype(np.float64) * scale + 0.5), 0, 255).astype(np.int64)


@dataclass(frozen=True)
class _Codes:
    """A value as codes of `grid` that a layer wrote, with float ops of the model pending on them
    (pointwise Affines with no grid after them yet) and the boundary's output scale."""

    grid: ir.Grid
    ops: tuple = ()
    scale: float = 1.0

    def uniform(self) -> bool:
        """Whether the pending ops treat every channel alike (so they commute with DepthToSpace)."""
        return all(_uniform(op) for op in self.ops)


PIXELS_IN, PIXELS_OUT = "pixels in", "pixels out"


def _uniform(op: ir.Affine) -> bool:
    slope = getattr(op.act, "slope", None)
    return all(v is None or np.all(np.asarray(v) == np.asarray(v).flat[0]) for v in (op.scale, op.bias, slope))


class _Builder:
    def __init__(self, graph: ir.Graph) -> None:
        self.g = graph
        self.prod = graph.producers()
        self.cons = graph.consumers()
        self.layers: list[QLayer] = []
        c_in = int(graph.inputs[0].shape[1])
        self.channels: dict[str, int] = {graph.input: c_in}
        # what each value holds: PIXELS_IN (times `scaled`), _Codes, or PIXELS_OUT
        self.state: dict[str, object] = {graph.input: PIXELS_IN}
        self.scaled: dict[str, float] = {graph.input: 1.0}
        self.res: dict[str, int] = {graph.input: 1}  # upscale of each value's grid against the LR input

    def name(self, kind: str) -> str:
        return f"l{len(self.layers):02d}_{kind}"

    def emit(self, layer: QLayer, state) -> None:
        self.layers.append(layer)
        self.channels[layer.output] = int(layer.out_frac.size)
        self.state[layer.output] = state
        r = layer.blocksize if isinstance(layer, QDepthToSpace) else 1
        self.res[layer.output] = self.res.get(layer.inputs[0], 1) * r

    def const(self, name: str, node: ir.Op, what: str) -> tuple[np.ndarray, ir.Grid]:
        c = self.prod.get(name)
        if not isinstance(c, ir.Constant) or c.grid is None:
            raise _Refuse(node, f"its {what} '{name}' is not on a grid (no DequantizeLinear of integer codes); "
                          "supported: quantized weights and biases")
        return c.value, c.grid

    def run(self) -> tuple[QLayer, ...]:
        for node in self.g.compute_nodes():
            try:
                self.visit(node)
            except _Refuse as e:
                raise UnsupportedModelError([e.problem]) from None
        out = self.g.output
        st = self.state.get(out)
        if isinstance(st, _Codes):  # the model's output codes read back as pixels
            inner = f"{out}_codes"
            self._rename(out, inner)
            self.pixels(inner, out, st)
        elif st != PIXELS_OUT:
            raise UnsupportedModelError([NodeProblem(out, "output", "the output is not on a grid")])
        return tuple(self.layers)

    def _rename(self, value: str, new: str) -> None:
        """The layer that writes `value` writes `new` instead (a value no layer reads yet)."""
        for k, l in enumerate(self.layers):
            if l.output == value:
                self.layers[k] = _renamed(l, new)
        for d in (self.channels, self.state, self.res):
            d[new] = d[value]

    def _pass_on(self, node: ir.Op, st) -> None:
        """node computes nothing in codes (yet): its output is its input's codes, under its name."""
        x = node.inputs[0]
        self._rename(x, node.output)
        self.state[node.output] = st

    def pixels(self, x: str, output: str, st: _Codes) -> None:
        """The pixel table: codes of st's grid, and the float ops pending on them, to pixel codes."""
        c = self.channels[x]
        self.emit(QTable(name=self.name("table"), source="pixel_boundary/output", inputs=(x,), output=output,
                         out_fmt=PIXEL, out_frac=np.zeros(c, dtype=np.int64),
                         table=pixel_table(st.grid, st.scale, c, st.ops), in_lo=st.grid.lo), PIXELS_OUT)

    def visit(self, node: ir.Op) -> None:
        x = node.inputs[0]
        st = self.state.get(x)
        match node:
            case ir.Quantize(grid=grid):
                self.quantize(node, grid)
            case ir.Affine() if st == PIXELS_IN and node.act is None and not np.any(node.bias) and _uniform(node):
                self.state[node.output] = PIXELS_IN                              # the input scale
                self.scaled[node.output] = self.scaled[x] * float(node.scale.flat[0])
                self.channels[node.output] = self.channels[x]
            case ir.Affine() if isinstance(st, _Codes):
                path = self._path_to_output(node) or []
                last = not any(isinstance(u, (ir.Affine, ir.Quantize)) for u in path) and self._to_output(node)
                if last and node.act is None and not np.any(node.bias) and _uniform(node) and not st.ops:
                    new = _Codes(st.grid, st.ops, st.scale * float(node.scale.flat[0]))  # the boundary's scale
                else:
                    new = _Codes(st.grid, st.ops + (node,), st.scale)  # a float op until the next grid
                self._pass_on(node, new)
            case ir.Conv():
                users = self.cons.get(node.output, [])
                if len(users) != 1 or not isinstance(users[0], ir.Quantize):
                    raise _Refuse(node, "its output is not rounded to a grid (QuantizeLinear) before it is read; "
                                  "supported: every conv of a quantized model between two grids")
            case ir.DepthToSpace() | ir.Crop():
                rest = self._path_to_output(node)
                moves_only = rest is not None and not any(isinstance(u, (ir.Affine, ir.Quantize)) for u in rest)
                if isinstance(st, _Codes) and not st.uniform() and not moves_only and \
                        (not self._to_output(node) or any(isinstance(u, ir.Quantize) for u in rest or [])):
                    raise _Refuse(node, "per-channel float ops of the model before it and a grid after it; "
                                  "supported: a grid between them")
                if isinstance(st, _Codes) and (moves_only or not st.uniform()):
                    # pixels first: nothing but moves follow (the hardware's last stage before its
                    # depth-to-space output), or the pending ops are per LR channel
                    self.pixels(x, f"{x}_pixels", st)
                    x, st = f"{x}_pixels", PIXELS_OUT
                if not (isinstance(st, _Codes) or st == PIXELS_OUT):
                    raise _Refuse(node, "its input is not on a grid; supported: codes of a QuantizeLinear")
                c = self.channels[x]
                fmt = PIXEL if st == PIXELS_OUT else _fmt(st.grid)
                if isinstance(node, ir.DepthToSpace):
                    c //= node.blocksize ** 2
                zero = None if st == PIXELS_OUT else self._zero(st.grid, c)
                base = dict(source=node.name, inputs=(x,), output=node.output, out_fmt=fmt, out_zero=zero,
                            out_frac=np.zeros(c, dtype=np.int64))
                if isinstance(node, ir.DepthToSpace):
                    self.emit(QDepthToSpace(name=self.name("depthtospace"), blocksize=node.blocksize, mode=node.mode,
                                            **base), st)
                else:
                    self.emit(QCrop(name=self.name("crop"), bottom=node.bottom, right=node.right, **base), st)
            case _:
                raise _Refuse(node, "not supported in a quantized model yet; supported: Conv, pointwise ops "
                              "between grids, DepthToSpace, Crop")

    def _path_to_output(self, node: ir.Op) -> list[ir.Op] | None:
        """The nodes after `node` up to the graph output, if it is a chain of one-reader nodes."""
        path, v = [], node.output
        while v != self.g.output:
            users = self.cons.get(v, [])
            if len(users) != 1:
                return None
            path.append(users[0])
            v = users[0].output
        return path

    def _to_output(self, node: ir.Op) -> bool:
        """Whether only pointwise ops, DepthToSpace and Crop lie between node and the output."""
        path = self._path_to_output(node)
        return path is not None and all(isinstance(u, (ir.Affine, ir.DepthToSpace, ir.Crop, ir.Quantize))
                                        for u in path)

    @staticmethod
    def _zero(grid: ir.Grid, c: int) -> np.ndarray | None:
        z = np.broadcast_to(np.asarray(grid.zero, dtype=np.int64).reshape(-1)[:1], (c,)).copy()
        return z if np.any(z) else None

    def quantize(self, node: ir.Quantize, grid: ir.Grid) -> None:
        if grid.axis is not None:
            raise _Refuse(node, "a per-channel activation grid; supported: one scale and zero point per tensor")
        if _fmt(grid).width > 8:
            raise _Refuse(node, f"codes {grid.lo}..{grid.hi}; supported: activations of at most 8 bits (int8, "
                          "uint8, and narrower grids: a QCDQ Clip, a QONNX Quant)")
        x = node.inputs[0]
        src = self.prod.get(x)
        st = self.state.get(x)
        base = dict(source=node.name, output=node.output, out_fmt=_fmt(grid))
        if st == PIXELS_IN:                                                   # the input quantizer
            c = self.channels[x]
            self.emit(QTable(name=self.name("table"), inputs=(self.g.input,), out_frac=np.zeros(c, dtype=np.int64),
                             out_zero=self._zero(grid, c), table=input_table(grid, self.scaled[x], c), in_lo=0,
                             **base), _Codes(grid))
        elif isinstance(src, ir.Conv):
            self.conv(src, node, grid)
        elif isinstance(st, _Codes):
            if st.scale != 1.0:
                raise _Refuse(node, "rounds the output scaled to pixels; supported: grids before the output scale")
            c = self.channels[x]
            same = not st.ops and np.array_equal(st.grid.scale, grid.scale) \
                and np.array_equal(st.grid.zero, grid.zero) and (st.grid.lo, st.grid.hi) == (grid.lo, grid.hi)
            if same:                                                         # the same grid again: nothing to do
                self._pass_on(node, st)
                return
            self.emit(QTable(name=self.name("table"), inputs=(x,), out_frac=np.zeros(c, dtype=np.int64),
                             out_zero=self._zero(grid, c), table=pointwise_table(st.ops, st.grid, grid, c),
                             in_lo=st.grid.lo, **(base | {"source": st.ops[0].name if st.ops else node.name})),
                      _Codes(grid))
        else:
            raise _Refuse(node, "rounds a value srhw cannot follow to codes; supported: the model's input, a "
                          "conv's output and the output of pointwise ops on codes")

    def conv(self, conv: ir.Conv, q: ir.Quantize, g_out: ir.Grid) -> None:
        x = conv.inputs[0]
        st = self.state.get(x)
        if not isinstance(st, _Codes) or st.ops or st.scale != 1.0:
            raise _Refuse(conv, "its input is not on a grid; supported: a conv reading a QuantizeLinear's codes")
        g_in = st.grid
        if conv.act is not None and not isinstance(conv.act, ir.ReluAct):
            raise _Refuse(conv, f"a {type(conv.act).__name__.removesuffix('Act')} right after the conv, with no grid "
                          "between; supported: Relu there, other activations between two grids")
        w_real, g_w = self.const(conv.inputs[1], conv, "weight")
        if g_w.axis not in (None, 0):
            raise _Refuse(conv, f"a weight grid along axis {g_w.axis}; supported: one per tensor or per output channel")
        o = w_real.shape[0]
        # the weights the conv multiplies: codes less their zero point (asymmetric weights, as
        # quantize_static writes uint8 ones), exact as QLinearConv's sum (w - zw) * (x - zx)
        z_w = np.broadcast_to(np.asarray(g_w.zero, dtype=np.int64).reshape(-1), (o,))
        w = g_w.codes(w_real) - z_w.reshape(-1, 1, 1, 1)
        w_width = g_w.width if not np.any(z_w) else \
            signed_width(max(abs(g_w.lo - int(z_w.max())), abs(g_w.hi - int(z_w.min()))))
        s_w = np.broadcast_to(np.asarray(g_w.scale, dtype=np.float64).reshape(-1), (o,))
        if len(conv.inputs) > 2 and conv.inputs[2]:
            b_real, g_b = self.const(conv.inputs[2], conv, "bias")
            b = g_b.codes(b_real)
            s_b = np.broadcast_to(np.asarray(g_b.scale, dtype=np.float64).reshape(-1), (o,))
            want = (np.float32(g_in.scale) * s_w.astype(np.float32)).astype(np.float64)
            if not np.allclose(s_b, want, rtol=1e-6):
                raise _Refuse(conv, "its bias scale is not input scale x weight scale; supported: the int32 bias "
                              "of QLinearConv")
        else:
            b = np.zeros(o, dtype=np.int64)
        z_in = int(np.asarray(g_in.zero).reshape(-1)[0])
        bias = b - z_in * w.reshape(o, -1).sum(axis=1)
        scales = (np.float32(g_in.scale) * s_w.astype(np.float32)) / np.float32(g_out.scale)
        mn = [_odd(*float32_multiplier(float(s))) for s in scales]
        mult = np.array([m for m, _ in mn], dtype=np.int64)
        shift = np.array([n for _, n in mn], dtype=np.int64)
        x_max = max(abs(g_in.lo - z_in), abs(g_in.hi - z_in))
        acc_bound = accumulator_bound(w, x_max, bias)
        round_bound = acc_bound * int(mult.max()) + (1 << max(int(shift.max()) - 1, 0))
        c_in = w.shape[1]
        self.emit(QConv(name=self.name("conv"), source=conv.name, inputs=(x,), output=q.output, out_fmt=_fmt(g_out),
                        out_frac=np.zeros(o, dtype=np.int64), out_zero=self._zero(g_out, o),
                        cert=Certificate(acc_bound, round_bound),
                        stats={"bias_width": signed_width(int(np.abs(bias).max(initial=0))),
                               "macs_per_lr_pixel": int(np.prod(w.shape)) * self.res.get(x, 1) ** 2},
                        weight=w, w_frac=np.repeat(shift.reshape(-1, 1), c_in, axis=1), w_width=w_width,
                        bias=bias, acc_frac=shift, pads=conv.pads,
                        act=_conv_act(conv, g_out, o),
                        pad_code=np.full(c_in, z_in, dtype=np.int64) if z_in else None, mult=mult,
                        rounding="half_even"), _Codes(g_out))


def _odd(m: int, n: int) -> tuple[int, int]:
    """(M, n) without M's trailing zeros: the same M * 2^-n, a power of two becoming M = 1 (a
    shift, no multiplier in hardware)."""
    while m % 2 == 0 and m > 1:
        m, n = m // 2, n - 1
    return m, n


def _conv_act(conv: ir.Conv, grid: ir.Grid, o: int):
    """A conv's activation in codes: ReLU (clamped at the code of 0), and a QCDQ Clip's narrower
    code range as a clip of y before its zero point is added (docs/arithmetic.md, epilogue)."""
    full = _fmt(grid)
    relu = isinstance(conv.act, ir.ReluAct)
    if (grid.lo, grid.hi) == (full.lo, full.hi):
        return ReluAct() if relu else NoAct()
    z = int(np.asarray(grid.zero).reshape(-1)[0])
    lo = max(grid.lo - z, 0) if relu else grid.lo - z
    return ClipAct(lo=np.full(o, lo, dtype=np.int64), hi=np.full(o, grid.hi - z, dtype=np.int64))


def _renamed(layer: QLayer, output: str) -> QLayer:
    from dataclasses import replace

    return replace(layer, output=output)


def quantize_from_grids(graph: ir.Graph) -> QGraph:
    """The quantized IR of a model whose grids came with it (see the module docstring)."""
    layers = _Builder(graph).run()
    b = graph.boundary
    q = QGraph(name=graph.name, input=graph.input, input_channels=int(graph.inputs[0].shape[1]), output=graph.output,
               layers=layers, boundary=QBoundary(tuple(b.input_layout), tuple(b.output_layout), b.input_scale,
                                                 b.output_scale),
               meta=QMeta(wbits=max((l.w_width for l in layers if isinstance(l, QConv)), default=8),
                          abits=max(l.out_fmt.width for l in layers), calibration=CALIBRATION,
                          weight_rounding=CALIBRATION, zero_points=any(l.out_zero is not None for l in layers)))
    check(q)
    return q
