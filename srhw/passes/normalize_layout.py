"""Layout normalisation: raw graph -> canonical NCHW graph.

Contract: the result computes, on a [1, C, H, W] input, the model's function with its input
and output layouts recorded in `Boundary` (NHWC, squeezed unit axes, ...). Layout-only ops
(Transpose, Reshape, Squeeze, Unsqueeze, Identity) disappear: each raw tensor is tracked as a
*view* of a canonical tensor, i.e. per axis the row-major list of *atoms* (a piece of the
channel index, H, or W) it is made of. A chain is accepted exactly when it is a permutation of
unit axes or NHWC<->NCHW at the boundary, or exactly a depth-to-space (PixelShuffle as
Reshape/Transpose/Reshape), which becomes a `DepthToSpace`. Shape arithmetic (Shape, Gather,
Concat, Mul, ...) is evaluated symbolically. Elementwise ops with constants become per-channel
`Affine` ops; Add of two tensors becomes `Add`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from srhw import float_exec, ir
from srhw.errors import NodeProblem, UnsupportedModelError
from srhw.fixed import conv_out_size
from srhw.symbolic import Sym, SymbolicError, divides

Size = int | Sym


@dataclass(frozen=True)
class Atom:
    kind: str  # "C", "H" or "W"
    size: Size
    stride: int = 1  # for C pieces: this piece is (c // stride) % size


Axes = tuple[tuple[Atom, ...], ...]


@dataclass(frozen=True)
class View:
    source: str  # the canonical value holding the data
    axes: Axes


class _Fail(Exception):
    pass


def _merge(axis: tuple[Atom, ...]) -> tuple[Atom, ...]:
    """Joins adjacent channel pieces that are consecutive parts of one index."""
    out: list[Atom] = []
    for a in axis:
        if out and a.kind == "C" and out[-1].kind == "C" and out[-1].stride == a.stride * a.size:
            prev = out.pop()
            a = Atom("C", prev.size * a.size, a.stride)
        out.append(a)
    return tuple(out)


def _prod(sizes) -> Size:
    p: Size = 1
    for s in sizes:
        p = p * s
    return p


def _axis_size(axis: tuple[Atom, ...]) -> Size:
    return _prod(a.size for a in axis)


class _Normalizer:
    def __init__(self, graph: ir.Graph, layout: str) -> None:
        self.graph = graph
        self.layout = layout
        self.out: list[ir.Op] = []
        self.static: dict[str, np.ndarray] = {}
        self.grids: dict[str, ir.Grid] = {}  # a quantized model's weight grids, by constant
        self.views: dict[str, View] = {}
        self.chan: dict[str, int] = {}
        self.hw: dict[str, tuple[Size, Size]] = {}
        self.problems: list[NodeProblem] = []
        self.poisoned: set[str] = set()
        self.names = ir.NameGen(graph)
        self.emitted_consts: set[str] = set()
        self.d2s_cache: dict[tuple, str] = {}
        # readers of each raw value other than Shape (which reads only its size)
        self.data_readers: dict[str, int] = {}
        for n in graph.nodes:
            if not isinstance(n, ir.Shape):
                for i in set(n.inputs):
                    self.data_readers[i] = self.data_readers.get(i, 0) + 1

    # ------------------------------------------------------------------ helpers
    def canonical_axes(self, src: str) -> Axes:
        c = self.chan[src]
        h, w = self.hw[src]
        return ((), (Atom("C", c, 1),) if c > 1 else (), (Atom("H", h),), (Atom("W", w),))

    def const_node(self, value: np.ndarray, hint: str) -> str:
        name = self.names(hint)
        self.out.append(ir.Constant(name=name, inputs=(), output=name, value=value))
        return name

    def static_const(self, raw: str) -> str:
        """Emits (once) a Constant for a static raw value that a canonical node reads."""
        if raw not in self.emitted_consts:
            v = self.static[raw]
            if v.dtype == object:
                raise _Fail(f"'{raw}' is a dynamic shape, used where a weight is expected")
            self.out.append(ir.Constant(name=raw, inputs=(), output=raw, value=v, grid=self.grids.get(raw)))
            self.emitted_consts.add(raw)
        return raw

    def new_value(self, op: ir.Op, like: str, view_axes: Axes, chan: int | None = None,
                  hw: tuple[Size, Size] | None = None) -> None:
        self.out.append(op)
        self.chan[op.output] = self.chan[like] if chan is None else chan
        self.hw[op.output] = self.hw[like] if hw is None else hw
        self.views[op.output] = View(op.output, view_axes)

    def per_channel(self, view: View, k: np.ndarray) -> np.ndarray:
        c = self.chan[view.source]
        k = np.asarray(k, dtype=np.float64)
        if k.size == 1:
            return np.full(c, float(k.reshape(())))
        rank = len(view.axes)
        if k.ndim > rank:
            raise _Fail(f"constant of shape {list(k.shape)} has more axes than the tensor")
        kk = k.reshape((1,) * (rank - k.ndim) + k.shape)
        varying = [a for a in range(rank) if kk.shape[a] != 1]
        if len(varying) == 1 and view.axes[varying[0]] == (Atom("C", c, 1),) and kk.shape[varying[0]] == c:
            return kk.reshape(-1).copy()
        raise _Fail(f"constant of shape {list(k.shape)} does not broadcast per channel "
                    "(supported: scalars and per-channel constants)")

    def materialize(self, view: View, node: ir.Op) -> str:
        """The canonical value equal to `view`, emitting a DepthToSpace if the view is one."""
        src = view.source
        axes = tuple(_merge(a) for a in view.axes)
        if axes == self.canonical_axes(src):
            return src
        key = (src, axes)
        if key in self.d2s_cache:
            return self.d2s_cache[key]
        c = self.chan[src]
        h, w = self.hw[src]
        if len(axes) == 4 and axes[0] == () and len(axes[2]) == 2 and len(axes[3]) == 2 \
                and axes[2][0] == Atom("H", h) and axes[3][0] == Atom("W", w):
            p, q = axes[2][1], axes[3][1]
            r = p.size
            if p.kind == q.kind == "C" and q.size == r and isinstance(r, int) and c % (r * r) == 0:
                co = c // (r * r)
                a = axes[1][0] if len(axes[1]) == 1 else None
                if (a is None and co == 1) or (a is not None and a.kind == "C" and a.size == co):
                    mode = None
                    if p.stride == r and q.stride == 1 and (a is None or a.stride == r * r):
                        mode = "CRD"
                    elif p.stride == r * co and q.stride == co and (a is None or a.stride == 1):
                        mode = "DCR"
                    if mode:
                        name = self.names(f"{node.output}_d2s")
                        op = ir.DepthToSpace(name=f"{node.name}/depth_to_space", inputs=(src,), output=name,
                                             blocksize=r, mode=mode)
                        self.new_value(op, src, (), chan=co, hw=(h * r, w * r))
                        self.views[name] = View(name, self.canonical_axes(name))
                        self.d2s_cache[key] = name
                        return name
        raise _Fail(f"input is not an NCHW tensor here (its layout is {self.describe(view)}); "
                    "supported: NCHW, NHWC at the model boundary, and depth-to-space rearrangements")

    def describe(self, view: View) -> str:
        def atom(a: Atom) -> str:
            return a.kind if a.kind != "C" else f"C[{a.size}/{a.stride}]"
        return "[" + ", ".join("(" + "*".join(atom(a) for a in ax) + ")" if ax else "1" for ax in view.axes) + "]"

    # ------------------------------------------------------------------ layout ops
    def reshape(self, view: View, target: list) -> Axes:
        seq = [a for ax in view.axes for a in ax]
        total = _prod(a.size for a in seq)
        dims: list[Size] = []
        for i, t in enumerate(target):
            if isinstance(t, (int, np.integer)) and int(t) == 0:
                if i >= len(view.axes):
                    raise _Fail(f"shape {target} copies axis {i} which does not exist")
                dims.append(_axis_size(view.axes[i]))
            else:
                dims.append(t if isinstance(t, Sym) else int(t))
        if sum(1 for d in dims if isinstance(d, int) and d == -1) == 1:
            known = _prod(d for d in dims if not (isinstance(d, int) and d == -1))
            if not divides(total, known):
                raise _Fail(f"shape {target} does not divide the tensor")
            dims = [total // known if isinstance(d, int) and d == -1 else d for d in dims]
        out: list[tuple[Atom, ...]] = []
        i = 0
        for d in dims:
            axis: list[Atom] = []
            rem: Size = d
            while not (isinstance(rem, int) and rem == 1):
                if i >= len(seq):
                    raise _Fail(f"shape {target} does not match the tensor")
                a = seq[i]
                if divides(rem, a.size):
                    axis.append(a)
                    rem = rem // a.size
                    i += 1
                elif a.kind == "C" and isinstance(rem, int) and isinstance(a.size, int) and a.size % rem == 0:
                    inner = a.size // rem
                    axis.append(Atom("C", rem, a.stride * inner))
                    seq[i] = Atom("C", inner, a.stride)
                    rem = 1
                else:
                    raise _Fail(f"shape {target} splits the {a.kind} axis; only channel axes may be split")
            out.append(tuple(axis))
        if i != len(seq):
            raise _Fail(f"shape {target} does not match the tensor")
        return tuple(_merge(a) for a in out)

    # ------------------------------------------------------------------ nodes
    def visit(self, node: ir.Op) -> None:
        ins = node.inputs
        if isinstance(node, ir.Constant):
            self.static[node.output] = node.value
            if node.grid is not None:
                self.grids[node.output] = node.grid
            return
        args = [i for i in ins if i]
        if all(i in self.static for i in args):
            try:
                self.static[node.output] = float_exec.as_array(
                    float_exec.evaluate(node, *[self.static[i] if i else None for i in ins]))
            except SymbolicError as e:
                raise _Fail(f"shape arithmetic on dynamic sizes: {e}") from None
            return
        x = self.views.get(ins[0]) if ins else None
        match node:
            case ir.Shape():
                sizes = [_axis_size(ax) for ax in x.axes][node.start: node.end]
                arr = np.empty(len(sizes), dtype=object)
                arr[:] = sizes
                self.static[node.output] = arr if any(isinstance(s, Sym) for s in sizes) else arr.astype(np.int64)
            case ir.Cast(to=to) if not to.startswith("float"):
                raise _Fail(f"to={to}: a cast of image data to an integer type is not supported")
            case ir.Identity() | ir.Cast():
                self.views[node.output] = x
            case ir.Transpose(perm=perm):
                if sorted(perm) != list(range(len(x.axes))):
                    raise _Fail(f"perm={list(perm)} does not match rank {len(x.axes)}")
                self.views[node.output] = View(x.source, tuple(x.axes[p] for p in perm))
            case ir.Reshape():
                self.views[node.output] = View(x.source, self.reshape(x, list(self.static_input(ins[1], "shape"))))
            case ir.Squeeze(axes=axes):
                rank = len(x.axes)
                drop = {a % rank for a in axes} if axes is not None else {i for i, ax in enumerate(x.axes) if not ax}
                if any(x.axes[a] for a in drop):
                    raise _Fail(f"axes={sorted(drop)} include an axis that is not of size 1")
                self.views[node.output] = View(x.source, tuple(ax for i, ax in enumerate(x.axes) if i not in drop))
            case ir.Unsqueeze(axes=axes):
                rank = len(x.axes) + len(axes)
                new = {a % rank for a in axes}
                it = iter(x.axes)
                self.views[node.output] = View(x.source, tuple(() if i in new else next(it) for i in range(rank)))
            case ir.Binary():
                self.binary(node)
            case ir.Slice():
                self.crop(node, x)
            case ir.Pad():
                pads = node.pads if node.pads is not None else self.static_input(ins[1], "pads")
                if any(int(p) != 0 for p in pads):
                    raise _Fail(f"pads={[int(p) for p in pads]} on an image tensor; supported: all zero (what "
                                "tf2onnx writes after a Conv2DTranspose) or padding in the Conv itself")
                self.views[node.output] = x
            case ir.Relu() | ir.LeakyRelu() | ir.Tanh() | ir.Abs() | ir.Clip():
                self.new_value(replace(node, inputs=(x.source,)), x.source, x.axes)
            case ir.Quantize(grid=grid):
                if grid.axis is not None:
                    raise _Fail(f"a per-channel grid (axis {grid.axis}) on an image tensor; supported: one scale "
                                "and zero point per activation tensor")
                self.new_value(replace(node, inputs=(x.source,)), x.source, x.axes)
            case ir.Neg():
                c = self.chan[x.source]
                self.new_value(ir.Affine(name=node.name, inputs=(x.source,), output=node.output, scale=-np.ones(c),
                                         bias=np.zeros(c)), x.source, x.axes)
            case ir.PRelu():
                slope = self.per_channel(x, self.static_input(ins[1], "slope"))
                sname = self.const_node(slope.reshape(1, -1, 1, 1), f"{node.output}_slope")
                self.new_value(ir.PRelu(name=node.name, inputs=(x.source, sname), output=node.output), x.source, x.axes)
            case ir.Conv() | ir.ConvTranspose():
                self.conv(node, x)
            case ir.DepthToSpace(blocksize=r):
                src = self.materialize(x, node)
                c = self.chan[src]
                if c % (r * r):
                    raise _Fail(f"blocksize={r} does not divide the {c} channels")
                h, w = self.hw[src]
                self.new_value(replace(node, inputs=(src,)), src, (), chan=c // (r * r), hw=(h * r, w * r))
                self.views[node.output] = View(node.output, self.canonical_axes(node.output))
            case _:
                raise _Fail("cannot be applied to image tensors here")

    def static_input(self, name: str, what: str) -> np.ndarray:
        if name not in self.static:
            raise _Fail(f"the {what} input must be constant or computed from shapes")
        return self.static[name]

    def crop(self, node: ir.Slice, x: View) -> None:
        """A Slice of an image tensor's H and W axes (steps 1): right after a ConvTranspose whose
        output nothing else reads, it becomes that ConvTranspose's pads (ONNX's pads crop the
        full output: what tf2onnx computes for a dynamic `padding="same"` Conv2DTranspose);
        a crop of the bottom and right edges elsewhere becomes a Crop."""
        ins = node.inputs
        starts, ends = self.static_input(ins[1], "starts"), self.static_input(ins[2], "ends")
        axes = self.static_input(ins[3], "axes") if len(ins) > 3 and ins[3] else range(len(starts))
        steps = self.static_input(ins[4], "steps") if len(ins) > 4 and ins[4] else [1] * len(starts)
        rank = len(x.axes)
        cut = {"H": [0, 0], "W": [0, 0]}
        for start, end, a, step in zip(starts, ends, axes, steps):
            a = int(a) % rank
            axis = x.axes[a]
            if int(step) != 1 or len(axis) != 1 or axis[0].kind not in ("H", "W"):
                raise _Fail(f"a slice of axis {a} of a {self.describe(x)} tensor (step {step}); supported: "
                            "crops of the H and W axes with step 1")
            size = axis[0].size
            if not isinstance(start, Sym) and int(start) < 0:
                start = size + int(start)
            if not isinstance(end, Sym) and int(end) >= 2**62:
                end = size
            elif not isinstance(end, Sym) and int(end) < 0:
                end = size + int(end)
            top, bottom = start, size - end
            if isinstance(top, Sym) or isinstance(bottom, Sym) or int(top) < 0 or int(bottom) < 0:
                raise _Fail(f"starts/ends {start}..{end} of an axis of size {size}: the crop must be a fixed "
                            "number of pixels at each edge")
            cut[axis[0].kind] = [int(top), int(bottom)]
        (top, bottom), (left, right) = cut["H"], cut["W"]
        src = x.source
        made = next((k for k, op in enumerate(self.out) if op.output == src), None)
        if made is not None and isinstance(self.out[made], ir.ConvTranspose) and self.data_readers.get(src) == 1:
            op = self.out[made]
            t, l, b, r = op.pads
            self.out[made] = replace(op, pads=(t + top, l + left, b + bottom, r + right))
            h, w = self.hw[src]
            self.hw[src] = (h - top - bottom, w - left - right)
            self.views[src] = View(src, self.canonical_axes(src))
        elif top == left == 0:
            if bottom or right:
                src = self.materialize(x, node)
                self.new_value(ir.Crop(name=node.name, inputs=(src,), output=node.output, bottom=bottom, right=right),
                               src, (), hw=(self.hw[src][0] - bottom, self.hw[src][1] - right))
                self.views[node.output] = View(node.output, self.canonical_axes(node.output))
                return
        else:
            raise _Fail(f"a crop of {top} rows at the top and {left} columns at the left; supported: such a crop "
                        "right after a ConvTranspose (it becomes its pads), else bottom and right edges only")
        size = {"H": self.hw[src][0], "W": self.hw[src][1]}
        self.views[node.output] = View(src, tuple(tuple(Atom(a.kind, size[a.kind]) if a.kind in size else a for a in ax)
                                                  for ax in x.axes))

    def binary(self, node: ir.Binary) -> None:
        if node.kind in ("Max", "Min"):
            raise _Fail(f"{node.kind} of an image tensor; supported in shape arithmetic (use Relu or Clip "
                        "on images)")
        a, b = node.inputs
        if a in self.views and b in self.views:
            va, vb = self.views[a], self.views[b]
            if va.axes != vb.axes:
                va = View(self.materialize(va, node), ())
                vb = View(self.materialize(vb, node), ())
                va = View(va.source, self.canonical_axes(va.source))
                vb = View(vb.source, self.canonical_axes(vb.source))
                if va.axes != vb.axes:
                    raise _Fail("the two inputs have different shapes; supported: Add of equal shapes")
            op: ir.Op
            if node.kind == "Add":
                op = ir.Add(name=node.name, inputs=(va.source, vb.source), output=node.output)
            else:
                op = replace(node, inputs=(va.source, vb.source))
            self.new_value(op, va.source, va.axes)
            return
        view_first = a in self.views
        x = self.views[a if view_first else b]
        k = self.per_channel(x, self.static[b if view_first else a])
        one, zero = np.ones_like(k), np.zeros_like(k)
        match (node.kind, view_first):
            case ("Add", _):
                scale, bias = one, k
            case ("Sub", True):
                scale, bias = one, -k
            case ("Sub", False):
                scale, bias = -one, k
            case ("Mul", _):
                scale, bias = k, zero
            case ("Div", True):
                if np.any(k == 0):
                    raise _Fail("division by a constant that contains zero")
                scale, bias = 1.0 / k, zero
            case _:
                raise _Fail("division of a constant by a tensor is not supported")
        self.new_value(ir.Affine(name=node.name, inputs=(x.source,), output=node.output, scale=scale, bias=bias),
                       x.source, x.axes)

    def conv(self, node: ir.Op, x: View) -> None:
        src = self.materialize(x, node)
        w = self.static_input(node.inputs[1], "weight")
        has_bias = len(node.inputs) > 2 and node.inputs[2]
        if w.ndim != 4:
            raise _Fail(f"weight of shape {list(w.shape)}; only 2-D convolutions are supported")
        c = self.chan[src]
        h, wd = self.hw[src]
        kh, kw = w.shape[2:]
        if isinstance(node, ir.Conv):
            cin, cout = w.shape[1], w.shape[0]
            t, l, b, r = node.pads
            hw = conv_out_size(h, wd, kh, kw, node.pads)
        else:
            cin, cout = w.shape[0], w.shape[1]
            s = node.strides[0]
            t, l, b, r = node.pads
            op_h, op_w = node.output_padding
            hw = ((h - 1) * s + kh - t - b + op_h, (wd - 1) * s + kw - l - r + op_w)
        if cin != c:
            raise _Fail(f"weight expects {cin} input channels but the input has {c}")
        if has_bias:
            bias = self.static_input(node.inputs[2], "bias")
            if bias.size != cout:
                raise _Fail(f"bias has {bias.size} values for {cout} output channels")
        inputs = (src, self.static_const(node.inputs[1])) + ((self.static_const(node.inputs[2]),) if has_bias else ())
        op = replace(node, inputs=inputs)
        self.new_value(op, src, (), chan=int(cout), hw=hw)
        self.views[node.output] = View(node.output, self.canonical_axes(node.output))

    # ------------------------------------------------------------------ driver
    def run(self) -> ir.Graph:
        g = self.graph
        inp = g.inputs[0]
        d = inp.shape

        def size(v, label):
            return Sym.var(label) if isinstance(v, str) else int(v)

        if self.layout == "NCHW":
            c, h, w = d[1], size(d[2], "H"), size(d[3], "W")
            labels = ("N", "C", "H", "W")
        else:
            c, h, w = d[3], size(d[1], "H"), size(d[2], "W")
            labels = ("N", "H", "W", "C")
        if not isinstance(c, int):
            raise _Fail("the channel axis must have a fixed size")
        self.chan[inp.name] = c
        self.hw[inp.name] = (h, w)
        canon = self.canonical_axes(inp.name)
        self.views[inp.name] = View(inp.name, canon if self.layout == "NCHW" else (canon[0], canon[2], canon[3], canon[1]))
        for node in g.nodes:
            if any(i in self.poisoned for i in node.inputs):
                self.poisoned.add(node.output)
                continue
            try:
                self.visit(node)
            except _Fail as e:
                self.problems.append(NodeProblem(node.name, node.op_type if not isinstance(node, ir.Binary)
                                                 else node.kind, str(e)))
                self.poisoned.add(node.output)
        if self.problems:
            raise UnsupportedModelError(self.problems)
        out = g.outputs[0]
        if out.name in self.static or out.name not in self.views:
            raise UnsupportedModelError([NodeProblem("<graph>", "output", "the output does not depend on the input")])
        view = self.views[out.name]
        try:
            src, out_labels = self.output_layout(view)
        except _Fail as e:
            raise UnsupportedModelError([NodeProblem("<graph>", "output", str(e))]) from None
        oc, (oh, ow) = self.chan[src], self.hw[src]
        graph = ir.Graph(
            nodes=tuple(self.out),
            inputs=(ir.TensorInfo(inp.name, (1, c, str(h), str(w))),),
            outputs=(ir.TensorInfo(src, (1, oc, str(oh), str(ow))),),
            boundary=replace(g.boundary, input_layout=labels, output_layout=out_labels),
            name=g.name,
        )
        return ir.prune(graph)

    def output_layout(self, view: View) -> tuple[str, tuple[str, ...]]:
        src = view.source
        canon = self.canonical_axes(src)
        labels = []
        for ax in (_merge(a) for a in view.axes):
            if not ax:
                labels.append("1")
            elif ax in (canon[1], canon[2], canon[3]):
                labels.append({canon[1]: "C", canon[2]: "H", canon[3]: "W"}[ax])
            else:
                return self.materialize(view, ir.Identity(name="<output>", inputs=(), output="output")), ("N", "C", "H", "W")
        if labels == ["1", "C", "H", "W"] or (labels == ["1", "1", "H", "W"] and self.chan[src] == 1):
            labels[0] = "N"
            labels[1] = "C"
        return src, tuple(labels)


def normalize_layout(graph: ir.Graph) -> ir.Graph:
    shape = graph.inputs[0].shape
    candidates = []
    if isinstance(shape[1], int):
        candidates.append("NCHW")
    if isinstance(shape[3], int):
        candidates.append("NHWC")
    if not candidates:
        raise UnsupportedModelError([NodeProblem("<graph>", "input", f"shape {list(shape)} has no fixed "
                                                 "channel axis (NCHW or NHWC with 1..N channels)")])
    errors: list[UnsupportedModelError] = []
    for layout in candidates:
        try:
            return _Normalizer(graph, layout).run()
        except _Fail as e:
            errors.append(UnsupportedModelError([NodeProblem("<graph>", "input", str(e))]))
        except UnsupportedModelError as e:
            errors.append(e)
    raise min(errors, key=lambda e: len(e.problems))
