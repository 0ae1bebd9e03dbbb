"""Vitis HLS backend: quantized IR -> OUT/hls/ (a streaming dataflow kernel, its testbench and
test vectors from the golden model, run_hls.tcl, hls_config.cfg and a README).

The generated C++ is a chain of stages from the hand-written library in `hls/`; everything
specific to the model is data: one config struct and a few constant tables per layer,
rendered by the Jinja templates in `templates/hls/`. Names from the model appear only in
comments, after `comment_text` has reduced them to a safe alphabet.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from srhw.backends.dataflow import DEEP_FIFO, MIN_DEPTH, fork_chain, reader_streams, readers_of
from srhw.backends.epilogue import Epilogue, epilogue_of
from srhw.backends.hls_check import Summary, check_project
from srhw.backends.folding import (IN_PORT, IP_LIBRARY, IP_VENDOR, IP_VERSION, OUT_PORT, Plan, chunk_words, output_tail,
                                   schedule_tables)
from srhw.errors import BackendError
from srhw.fixed import Fmt, conv_growth, lut_multiplier, multiplier_width
from srhw.qir import QAdd, QAffine, QConv, QCrop, QDepthToSpace, QGraph, QLayer, QTable
from srhw.resources import hls_dir, templates_dir

TOP = "srhw_top"
LIBRARY = ("srhw_arith.h", "srhw_epilogue.h", "srhw_stream.h", "srhw_conv.h", "srhw_pointwise.h", "srhw_video.h")
_SAFE = re.compile(r"[^A-Za-z0-9 _.,:;=+()\[\]<>-]")


def comment_text(text: str, limit: int = 120) -> str:
    """Text that is inert inside a C++ `//` comment and a Tcl/cfg `#` comment: no newline, no
    backslash (line splice), no `?` (trigraphs), no braces or quotes (Tcl), no `*/`."""
    return _SAFE.sub("_", str(text))[:limit]


def c_type(fmt: Fmt) -> str:
    return f"ap_{'' if fmt.signed else 'u'}int<{fmt.width}>"


def c_int(v: int) -> str:
    v = int(v)
    if abs(v) >= 1 << 63:
        raise ValueError(f"constant {v} does not fit 64 bits")
    return f"{v}LL" if abs(v) >= 1 << 31 else str(v)


def c_storage(width: int) -> str:
    """The plain C++ integer type that stores signed `width`-bit constants (tables compile far
    faster as plain integers than as ap_int; the stages convert on read)."""
    for bits, name in ((8, "signed char"), (16, "short"), (32, "int"), (64, "long long")):
        if width <= bits:
            return name
    raise ValueError(f"{width}-bit constants need an ap_int table")


def c_array(a: np.ndarray) -> str:
    """A nested brace initializer, one innermost row per line."""
    a = np.asarray(a)
    if a.ndim == 1:
        return "{" + ", ".join(c_int(v) for v in a) + "}"
    return "{\n" + ",\n".join(c_array(s) for s in a) + "}"


def check_shape(q: QGraph) -> None:
    """The kernel's tail must be [pixel layer] -> DepthToSpace? -> Crop?, in both backends (the
    plan and the dataflow model read it so); anything else after the upsampling would need
    HR-rate stages. Per-pixel ops written there were moved in front by hoist_pointwise where
    that is exact, so what is left reads the upsampled frame in a way no LR stage can."""
    problems = []
    kinds = [type(l) for l in q.layers]
    d2s = [i for i, k in enumerate(kinds) if k is QDepthToSpace]
    crops = [i for i, k in enumerate(kinds) if k is QCrop]
    if len(d2s) > 1:
        problems.append(f"{len(d2s)} DepthToSpace layers (the hardware takes one, at the end)")
    tail_start = d2s[0] if d2s else (crops[0] if crops else len(kinds))
    for l in q.layers[tail_start:]:
        if not isinstance(l, (QDepthToSpace, QCrop)):
            problems.append(f"layer '{l.name}' ({l.kind}, from node '{comment_text(l.source)}') runs after the "
                            f"upsampling, where the hardware has only a Crop")
    if crops and not d2s:
        problems.append("a Crop without a DepthToSpace")
    if problems:
        raise BackendError("the hardware backends cannot build this model: " + "; ".join(problems)
                           + " (srhw compile --no-hls runs it in the golden model)")


@dataclass
class _Stage:
    layer: QLayer
    kind: str
    cfg: dict
    tables: list[tuple[str, str, str, str]]  # (c type, name, dims, initializer)
    inputs: list[str]
    in_h: str
    in_w: str
    out_h: str  # expressions of the LR frame size
    out_w: str


def _act_tables(e: Epilogue, prefix: str) -> tuple[dict, list]:
    """The epilogue's configuration, its per-channel tables (shift, slope, lo, hi) and the tanh
    table, as the per-pixel stages and the scheduled output read them (one value per channel)."""
    channels = e.shift.size
    tables = [("int", f"{prefix}_shift", f"[{channels}]", c_array(e.shift)),
              (f"{prefix}_cfg::slope_t", f"{prefix}_slope", f"[{channels}]", c_array(e.slope)),
              ("int", f"{prefix}_lo", f"[{channels}]", c_array(e.lo)),
              ("int", f"{prefix}_hi", f"[{channels}]", c_array(e.hi))]
    return _act_cfg(e), tables + [_lut_table(e, prefix)]


def _act_cfg(e: Epilogue) -> dict:
    # hls/srhw_epilogue.h's act_kind: ACT_NONE, ACT_RELU, ..., numbered as srhw.qir's QAct.code
    return {"ACT": f"srhw::ACT_{e.act.kind.upper()}", "SLOPE_FRAC": e.slope_frac, "OUT_LO": e.out_lo, "OUT_HI": e.out_hi,
            "LUT_LO": e.lut_lo, "LUT_HI": e.lut_hi, "LUT_SIZE": int(e.lut.size), "HAS_ZERO": int(np.any(e.zero)),
            "HAS_MULT": int(np.any(e.mult != 1)), "HALF_EVEN": int(e.half_even),
            "slope_t": f"ap_int<{e.slope_width}>", "mult_t": f"ap_uint<{max(1, int(e.mult.max()).bit_length())}>"}


def _lut_table(e: Epilogue, prefix: str) -> tuple[str, str, str, str]:
    return (f"{prefix}_cfg::out_t", f"{prefix}_lut", f"[{e.lut.size}]", c_array(e.lut))


def _pad_table(q: QGraph, l: QConv) -> tuple[dict, tuple[str, str, str, str]]:
    """A conv's padding codes (the input's code of real 0 per channel) and the flag that uses them."""
    return ({"HAS_PAD": int(np.any(l.pad) and any(l.pads))},
            (f"{l.name}_cfg::in_t", f"{l.name}_pad", f"[{l.weight.shape[1]}]", c_array(l.pad)))


def _group_words(values: np.ndarray, groups: int, po: int) -> np.ndarray:
    """Per-output values [C_OUT, ...] as GROUPS words of PO lanes (zeros past the last output)."""
    out = np.zeros((groups * po,) + values.shape[1:], dtype=np.int64)
    out[: values.shape[0]] = values
    return out.reshape((groups, po) + values.shape[1:])


def _conv_group_stage(q: QGraph, l: QConv, f, base: dict, e: Epilogue) -> tuple[str, dict, list]:
    """Output groups (and input chunks): the weights as GROUPS x CHUNKS words of PO x SIMD, every
    other table as GROUPS words of PO outputs (srhw_conv.h, conv_stage)."""
    name = l.name
    o, i, kh, kw = l.weight.shape
    g, po = f.groups, f.po
    chunks, simd = f.chunks, (f.simd if f.chunks > 1 else i * kh * kw)
    dims = f"[{g}][{po}]"
    words = {k: _group_words(v, g, po) for k, v in
             (("bias", l.bias), ("shift", e.shift), ("slope", e.slope), ("lo", e.lo), ("hi", e.hi), ("zero", e.zero),
              ("mult", e.mult))}
    tables = [(c_storage(l.w_width), f"{name}_weight", f"[{g * chunks}][{po}][{simd}]",
               c_array(chunk_words(l.weight, g, po, chunks, simd).reshape(g * chunks, po, simd))),
              (f"{name}_cfg::acc_t", f"{name}_bias", dims, c_array(words["bias"])),
              ("int", f"{name}_shift", dims, c_array(words["shift"])),
              (f"{name}_cfg::slope_t", f"{name}_slope", dims, c_array(words["slope"])),
              ("int", f"{name}_lo", dims, c_array(words["lo"])), ("int", f"{name}_hi", dims, c_array(words["hi"])),
              ("int", f"{name}_zero", dims, c_array(words["zero"])),
              (f"{name}_cfg::mult_t", f"{name}_mult", dims, c_array(words["mult"])), _lut_table(e, name)]
    return "conv", base | {"PO": po, "GROUPS": g, "CHUNKS": chunks, "SIMD": simd}, tables


def _conv_sched_stage(q: QGraph, l: QConv, f, base: dict, e: Epilogue) -> tuple[str, dict, list]:
    """A schedule of P positions in T cycles (srhw_conv.h, conv_sched_mac + conv_sched_out)."""
    name = l.name
    o, i, kh, kw = l.weight.shape
    s = schedule_tables(l.weight, f.period, f.period_cycles)
    wc = kw + s.period - 1
    qq = np.minimum(s.q, s.period - 1)  # an idle slot's tap is any valid one (its weight is 0)
    tap = ((s.u * wc + s.v + qq) * i + s.c) * (s.weight != 0)
    dims = f"[{o}][{s.width}][{s.cycles}]"
    tables = [("unsigned short", f"{name}_tap", dims, c_array(tap)),
              (c_storage(l.w_width), f"{name}_wt", dims, c_array(s.weight)),
              ("unsigned char", f"{name}_pos", dims, c_array(s.q)),
              ("unsigned short", f"{name}_first", f"[{o}][{s.period}]", c_array(s.first)),
              ("unsigned short", f"{name}_count", f"[{o}][{s.period}]", c_array(s.count)),
              (f"{name}_cfg::acc_t", f"{name}_bias", f"[{o}]", c_array(l.bias)),
              ("int", f"{name}_shift", f"[{o}]", c_array(e.shift)),
              (f"{name}_cfg::slope_t", f"{name}_slope", f"[{o}]", c_array(e.slope)),
              ("int", f"{name}_lo", f"[{o}]", c_array(e.lo)), ("int", f"{name}_hi", f"[{o}]", c_array(e.hi)),
              ("int", f"{name}_zero", f"[{o}]", c_array(e.zero)),
              (f"{name}_cfg::mult_t", f"{name}_mult", f"[{o}]", c_array(e.mult)), _lut_table(e, name)]
    cfg = base | {"P": s.period, "T": s.cycles, "LANES": s.width, "SPAN": s.span}
    return "sched", cfg, tables


def _stages(q: QGraph, plan: Plan) -> tuple[list[_Stage], dict[str, str], str, dict[str, tuple[str, str]]]:
    """The stages, the stream of each value, the value holding the output pixel codes, and
    each value's frame size (C++ expressions)."""
    folds = {s.name: s for s in plan.stages}
    streams = {q.input: "s_in"}
    size = {q.input: ("h_run", "w_run")}
    stages: list[_Stage] = []
    pixel_value = q.input
    for l in q.layers:
        if isinstance(l, (QDepthToSpace, QCrop)):
            continue
        name = l.name
        out_t = c_type(l.out_fmt)
        h, w = size[l.inputs[0]]
        if isinstance(l, QTable):  # a model quantized already: codes by table, no epilogue
            c, n = l.table.shape
            cfg = {"in_t": c_type(q.fmt_of(l.inputs[0])), "out_t": out_t, "C": c, "N": n, "IN_LO": l.in_lo}
            stages.append(_Stage(l, "table", cfg, [(f"{name}_cfg::out_t", f"{name}_table", f"[{c}][{n}]",
                                                    c_array(l.table))], [l.inputs[0]], h, w, h, w))
            streams[l.output] = f"s_{name}"
            size[l.output] = (f"{name}_h", f"{name}_w")
            pixel_value = l.output
            continue
        e = epilogue_of(l)
        base = {"out_t": out_t, "acc_t": f"ap_int<{l.cert.acc_width}>", "wide_t": f"ap_int<{e.width}>"} | \
            _act_cfg(e)
        if isinstance(l, QConv):
            o, i, kh, kw = l.weight.shape
            pt, pl, pb, pr = l.pads
            f = folds[name]
            pcfg, pad = _pad_table(q, l)
            x = q.fmt_of(l.inputs[0])
            base |= {"in_t": c_type(x), "w_t": f"ap_int<{l.w_width}>",
                     "mul_t": f"ap_int<{multiplier_width(l.w_width, x)}>",
                     "LUT_MUL": int(lut_multiplier(l.w_width, x.width)), "ws_t": c_storage(l.w_width),
                     "C_IN": i, "C_OUT": o, "KH": kh, "KW": kw, "PAD_T": pt, "PAD_L": pl, "PAD_B": pb, "PAD_R": pr,
                     "MAX_W": "SRHW_MAX_WIDTH"} | pcfg
            build = _conv_sched_stage if f.period else _conv_group_stage
            kind, cfg, tables = build(q, l, f, base, e)
            dh, dw = conv_growth(kh, kw, l.pads)
            stages.append(_Stage(l, kind, cfg, tables + [pad], [l.inputs[0]], h, w, f"{h} + ({dh})", f"{w} + ({dw})"))
        elif isinstance(l, QAffine):
            c = l.scale.size
            acfg, atables = _act_tables(e, name)
            cfg = base | acfg | {"in_t": c_type(q.fmt_of(l.inputs[0])), "s_t": f"ap_int<{l.s_width}>", "C": c}
            tables = [(f"{name}_cfg::s_t", f"{name}_scale", f"[{c}]", c_array(l.scale)),
                      (f"{name}_cfg::acc_t", f"{name}_bias", f"[{c}]", c_array(l.bias))] + atables
            stages.append(_Stage(l, "affine", cfg, tables, [l.inputs[0]], h, w, h, w))
        elif isinstance(l, QAdd):
            c = l.out_frac.size
            acfg, atables = _act_tables(e, name)
            cfg = base | acfg | {"a_t": c_type(q.fmt_of(l.inputs[0])), "b_t": c_type(q.fmt_of(l.inputs[1])), "C": c}
            tables = [("int", f"{name}_align_a", f"[{c}]", c_array(l.acc_frac - l.in_fracs[0])),
                      ("int", f"{name}_align_b", f"[{c}]", c_array(l.acc_frac - l.in_fracs[1]))] + atables
            stages.append(_Stage(l, "add", cfg, tables, list(l.inputs), h, w, h, w))
        else:
            raise BackendError(f"layer '{name}' ({l.kind}) has no HLS stage")
        streams[l.output] = f"s_{name}"
        size[l.output] = (f"{name}_h", f"{name}_w")
        pixel_value = l.output
    return stages, streams, pixel_value, size


def render(q: QGraph, plan: Plan, vectors: list[tuple[np.ndarray, np.ndarray]],
           depths: dict[str, int]) -> dict[str, str | bytes]:
    """The files of OUT/hls/, keyed by relative path; `depths` per stream (STREAM pragmas), from
    the dataflow model (srhw.backends.dataflow)."""
    check_shape(q)
    stages, streams, pixel_value, size = _stages(q, plan)
    tail = output_tail(q)
    t = plan.target
    if t.fixed_size:
        for lr, _ in vectors:
            if lr.shape[1:] != (t.in_h, t.in_w):
                raise ValueError(f"a fixed-size kernel ({t.in_w}x{t.in_h}) needs test frames of that size, not "
                                 f"{lr.shape[2]}x{lr.shape[1]}")
    # values read by more than one stage go through fork stages
    readers, _ = readers_of(q)
    forks = []
    for v, n in readers.items():   # n readers: a chain of n - 1 two-way forks (dataflow.fork_chain)
        for src, outs in fork_chain(streams[v], n):
            forks.append({"value": streams[v], "src": src, "outs": outs, "channels": int(q.frac_of(v).size),
                          "type": c_type(q.fmt_of(v)), "h": size[v][0], "w": size[v][1]})
    next_stream = reader_streams(readers)

    def stream_for(v: str) -> str:
        return next_stream(v, streams[v])
    for s in stages:
        s.inputs = [stream_for(v) for v in s.inputs]
    pixel_stream = stream_for(pixel_value)
    used = {x for st in stages for x in (st.in_h, st.in_w)} | {size[pixel_value][0], size[pixel_value][1]}
    used |= {x for f in forks for x in (f["h"], f["w"])}
    sized = {st.layer.name for st in stages if f"{st.layer.name}_h" in used}
    names = ["s_in"] + [streams[s.layer.output] for s in stages] + \
        [f"s_{s.layer.name}_sums" for s in stages if s.kind == "sched"] + \
        [o for f in forks for o in f["outs"]]
    view = {
        "top": TOP, "model": comment_text(q.meta.model or q.name), "plan": plan, "target": t,
        "in_port": IN_PORT, "out_port": OUT_PORT, "ip": {"vendor": IP_VENDOR, "library": IP_LIBRARY, "version": IP_VERSION},
        "stages": stages, "sized": sized,
        "streams": [(streams[s.layer.output], s.cfg["out_t"], s.layer.out_frac.size) for s in stages],
        "forks": forks, "pixel_stream": pixel_stream, "pixel_h": size[pixel_value][0], "pixel_w": size[pixel_value][1],
        "in_channels": q.input_channels, "hr_channels": tail.hr_channels, "scale": tail.scale,
        "crd": "true" if tail.mode == "CRD" else "false", "ppc": plan.ppc, "crop_b": tail.crop_bottom,
        "crop_r": tail.crop_right, "max_w": t.max_w, "fixed": t.fixed_size,
        "depths": {n: depths.get(n, MIN_DEPTH) for n in names}, "deep_fifo": DEEP_FIFO,
        "clock_ns": f"{1000.0 / t.clock_mhz:.3f}",
    }
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "hls")), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["comment"] = comment_text
    files: dict[str, str | bytes] = {}
    for name in ("srhw_top.h", "srhw_top.cpp", "srhw_params.h", "srhw_tb.cpp", "run_hls.tcl", "hls_config.cfg",
                 "README.md"):
        files[name] = env.get_template(name + ".j2").render(**view)
    for name in LIBRARY:
        files[f"srhw/{name}"] = (hls_dir() / name).read_text(encoding="utf-8")
    lines = []
    for k, (lr, hr) in enumerate(vectors):
        files[f"tb_data/frame{k:02d}.in"] = _frame_bytes(lr)
        files[f"tb_data/frame{k:02d}.out"] = _frame_bytes(hr)
        lines.append(f"frame{k:02d}")
    files["tb_data/frames.txt"] = "\n".join(lines) + "\n"
    return files


def check_structure(files: dict[str, str | bytes]) -> Summary:
    """The generated project through srhw.backends.hls_check: an operand mux wider than the
    schedule, an accumulation chain or a port conflict in a pipelined loop is a defect of this
    backend (the plan's cost and rate would not be what Vitis builds), never the user's."""
    s = check_project(files)
    if s.findings:
        raise BackendError("internal error: the generated HLS C++ would not build at the planned cost and rate "
                           "(srhw.backends.hls_check):\n" + "\n".join(str(f) for f in s.findings))
    return s


def _frame_bytes(a: np.ndarray) -> bytes:
    """Test vector: int32 C, H, W (little endian), then the C*H*W codes as bytes (CHW order)."""
    a = np.asarray(a)
    c, h, w = a.shape
    if a.min() < 0 or a.max() > 255:
        raise ValueError("test vectors hold 8-bit pixel codes")
    return struct.pack("<3i", c, h, w) + a.astype(np.uint8).tobytes()
