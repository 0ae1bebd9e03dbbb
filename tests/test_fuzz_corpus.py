"""A hostile-input corpus, generated here: mutations of a small valid model (every attribute of
its ops set to extreme, wrong-typed or absurd values, initializers of other types and shapes,
foreign ops, hostile names, odd graph structure) and bad command lines. For each case: exit 0
(a documented success) or 2 with one `srhw: error:` line, never a traceback, and no output left
behind after a refusal. The counts are printed for BENCHMARKS.md (`pytest -s`)."""
import contextlib
import io
import itertools

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from srhw.cli import main
from tests.conftest import make_model, save

rng = np.random.default_rng(7)
W = (rng.normal(size=(4, 1, 3, 3)) * 0.3).astype(np.float32)
W2 = (rng.normal(size=(4, 4, 3, 3)) * 0.3).astype(np.float32)
SLOPE = np.full((4, 1, 1), 0.25, np.float32)


def base() -> onnx.ModelProto:
    """x -> Conv 3x3 (1->4) -> PRelu -> Conv 3x3 (4->4) -> DepthToSpace(2) -> y: an ESPCN x2 in small."""
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["a"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
             helper.make_node("PRelu", ["a", "s"], ["p"], name="act"),
             helper.make_node("Conv", ["p", "w2"], ["c"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["c"], ["y"], name="shuffle", blocksize=2, mode="DCR")]
    return make_model(nodes, {"w": W, "b": np.zeros(4, np.float32), "w2": W2, "s": SLOPE}, [1, 1, "h", "w"],
                      [1, 1, "H", "W"])


HOSTILE_INTS = [0, -1, 2**31, 2**62, -(2**62)]
HOSTILE_FLOATS = [float("nan"), float("inf"), -1e300, 0.0]
HOSTILE_STRINGS = ["", "BOGUS", "'; rm -rf / #", "a\nb", "\x00"]


def _set_attr(m, node, name, value):
    n = next(n for n in m.graph.node if n.name == node)
    keep = [a for a in n.attribute if a.name != name]
    del n.attribute[:]
    n.attribute.extend(keep + [helper.make_attribute(name, value)])
    return m


def attribute_cases():
    attrs = {"conv1": ["pads", "kernel_shape", "strides", "dilations", "group", "auto_pad"],
             "shuffle": ["blocksize", "mode"], "act": ["alpha"]}
    for node, names in attrs.items():
        for name in names:
            for v in HOSTILE_INTS:
                yield f"{node}.{name}={v}", _set_attr(base(), node, name, v)
            for v in ([x] * 4 for x in HOSTILE_INTS[1:3]):
                yield f"{node}.{name}={v}", _set_attr(base(), node, name, v)
            yield f"{node}.{name}=float", _set_attr(base(), node, name, HOSTILE_FLOATS[0])
            yield f"{node}.{name}=string", _set_attr(base(), node, name, HOSTILE_STRINGS[2])


def initializer_cases():
    for dtype in (np.int8, np.int64, np.float16, np.float64, np.uint8, np.bool_):
        m = base()
        t = numpy_helper.from_array(W.astype(dtype), "w")
        inits = [x for x in m.graph.initializer if x.name != "w"] + [t]
        del m.graph.initializer[:]
        m.graph.initializer.extend(inits)
        yield f"w as {np.dtype(dtype).name}", m
    for shape in ([4, 1, 3], [4, 1, 3, 3, 1], [1, 1, 3, 3], [4, 2, 3, 3], [0, 1, 3, 3], [4, 1, 1, 1]):
        m = base()
        t = numpy_helper.from_array(np.resize(W, shape).astype(np.float32), "w")
        inits = [x for x in m.graph.initializer if x.name != "w"] + [t]
        del m.graph.initializer[:]
        m.graph.initializer.extend(inits)
        yield f"w of shape {shape}", m
    for name, value in (("s", np.full((4, 1, 1), np.nan, np.float32)), ("s", np.ones((3, 1, 1), np.float32)),
                        ("b", np.ones(5, np.float32)), ("b", np.full(4, 1e12, np.float32)),
                        ("w2", np.zeros((4, 4, 3, 3), np.float32)), ("s", np.full((4, 1, 1), 1e20, np.float32))):
        m = base()
        inits = [x for x in m.graph.initializer if x.name != name] + [numpy_helper.from_array(value, name)]
        del m.graph.initializer[:]
        m.graph.initializer.extend(inits)
        yield f"{name} = {value.ravel()[0]} x {value.shape}", m
    m = base()
    del m.graph.initializer[:]
    yield "no initializers", m
    m = base()
    m.graph.initializer.extend([numpy_helper.from_array(W, "w")])
    yield "initializer twice", m


def graph_cases():
    for op in ("MaxPool", "Gemm", "Resize", "Upsample", "BatchNormalization", "Softmax", "Loop", "If", "Einsum",
               "QuantizeLinear"):
        m = base()
        m.graph.node[1].op_type = op
        yield f"act as {op}", m
    for opset in (1, 7, 10, 21, 99):
        m = base()
        m.opset_import[0].version = opset
        yield f"opset {opset}", m
    for name in HOSTILE_STRINGS + ["]; exec(x) [", "$(reboot)", "a" * 5000, "conv1"]:
        m = base()
        m.graph.node[2].name = name
        yield f"conv2 named {name[:12]!r}", m
    m = base()
    m.graph.node[0].input[0] = "nowhere"
    yield "input from nowhere", m
    m = base()
    del m.graph.output[:]
    yield "no outputs", m
    m = base()
    m.graph.output.extend([helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 4, "h", "w"])])
    yield "two outputs", m
    m = base()
    m.graph.node[1].input[0] = "p"  # a cycle
    yield "a cycle", m
    m = base()
    m.graph.node.extend([m.graph.node[0]])
    yield "a node twice", m
    for shape in ([1, 1], [2, 1, "h", "w"], [1, 2, "h", "w"], [1, 1, 0, 5], [1, 1, 1, 1], [1, 1, 10**9, 10**9]):
        m = base()
        m.graph.input[0].CopyFrom(helper.make_tensor_value_info("x", TensorProto.FLOAT, shape))
        yield f"input {shape}", m
    for elem in (TensorProto.INT8, TensorProto.STRING, TensorProto.BOOL, TensorProto.FLOAT16):
        m = base()
        m.graph.input[0].type.tensor_type.elem_type = elem
        yield f"input type {elem}", m
    m = base()
    m.graph.node[0].domain = "com.evil"
    yield "custom domain", m


def model_cases():
    return list(itertools.chain(attribute_cases(), initializer_cases(), graph_cases()))


FILE_CASES = {"empty": b"", "zeros": b"\0" * 1000, "text": b"ir_version: 8\n", "random": bytes(range(256)) * 40,
              "truncated": None}


def run_cli(*args):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, err.getvalue()


def check(code, stderr, out=None):
    assert "Traceback" not in stderr
    assert code in (0, 2), (code, stderr)
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        # srhw's own line, or argparse's (`srhw compile: error: argument --bits: ...`) after its usage line
        assert lines[-1].startswith("srhw: error:") or (lines[0].startswith("usage: srhw") and
                                                          lines[-1].startswith("srhw ")), stderr
        assert out is None or not out.exists()


TALLY = {"cases": 0, "refused": 0, "accepted": 0}


def tally(code):
    TALLY["cases"] += 1
    TALLY["refused" if code == 2 else "accepted"] += 1


CASES = model_cases()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c[0] for c in CASES])
def test_hostile_model(i, tmp_path):
    name, model = CASES[i]
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    code, err = run_cli("inspect", path)
    check(code, err)
    if code == 0:  # what the frontend takes must also compile, or be refused cleanly
        out = tmp_path / "out"
        code, err = run_cli("compile", path, "--no-hls", "-o", out)
        check(code, err, out)
    if code == 0 and name.startswith("conv2 named"):  # a hostile name reaches generated code only in comments
        out = tmp_path / "hw"
        code, err = run_cli("compile", path, "--rtl", "--in-size", "16x12", "-o", out)
        check(code, err, out)
        raw = model.graph.node[2].name
        for f in (p for p in out.rglob("*") if p.is_file() and p.suffix in (".cpp", ".h", ".v", ".tcl", ".cfg")):
            for line in f.read_text(errors="replace").splitlines():
                code_part = line.split("//")[0].split("#")[0] if f.suffix != ".tcl" else line.split("#")[0]
                assert not (len(raw) > 3 and raw in code_part), (f.name, line)
    tally(code)


@pytest.mark.parametrize("kind", list(FILE_CASES))
def test_not_a_model(kind, tmp_path):
    data = FILE_CASES[kind]
    if data is None:
        data = base().SerializeToString()[:150]
    path = save(base(), tmp_path / "ok.onnx").with_name("bad.onnx")
    path.write_bytes(data)
    code, err = run_cli("compile", path, "-o", tmp_path / "out")
    check(code, err, tmp_path / "out")
    assert code == 2
    tally(code)


BAD_ARGS = [
    ["compile", "fsrcnn_s_x2", "--bits", "x"], ["compile", "fsrcnn_s_x2", "--bits", "99", "-o", "o"],
    ["compile", "fsrcnn_s_x2", "--wbits", "-3", "-o", "o"], ["compile", "fsrcnn_s_x2", "--in-size", "0x0", "-o", "o"],
    ["compile", "fsrcnn_s_x2", "--in-size", "axb", "-o", "o"], ["compile", "fsrcnn_s_x2", "--fps", "-1", "-o", "o"],
    ["compile", "fsrcnn_s_x2", "--clock-mhz", "0", "-o", "o"], ["compile", "fsrcnn_s_x2", "--board", "nope", "-o", "o"],
    ["compile", "fsrcnn_s_x2", "--calib-method", "magic", "-o", "o"],
    ["compile", "fsrcnn_s_x2", "--weight-rounding", "up", "-o", "o"],
    ["compile", "fsrcnn_s_x2", "--input-range", "huge", "-o", "o"], ["compile", "no_such_model", "-o", "o"],
    ["compile", "fsrcnn_s_x2", "--calib", "/nonexistent", "-o", "o"], ["sim", "/nonexistent"],
    ["synth", "/nonexistent"], ["csim", "/nonexistent"], ["eval", "fsrcnn_s_x2", "--data", "/nonexistent"],
    ["eval", "fsrcnn_s_x2", "--data", ".", "--bits", "a:b"], ["sweep", "fsrcnn_s_x2", "--data", ".", "--bits", "3:20"],
    ["upscale", "fsrcnn_s_x2", "/nonexistent.png", "-o", "o.png"], ["zoo", "export", "../../etc/passwd", "-o", "o.onnx"],
    ["inspect", "/nonexistent.onnx"], ["upscale", "fsrcnn_s_x2", "x.png", "-o", "o.png", "--scale", "0"],
    ["eval", "fsrcnn_s_x2", "--data", ".", "--scale", "-2"],
]


@pytest.mark.parametrize("args", BAD_ARGS, ids=[" ".join(a)[:40] for a in BAD_ARGS])
def test_bad_command_line(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(*args)
    check(code, err)
    assert code == 2, err
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.png").exists() and not (tmp_path / "o.onnx").exists()
    tally(code)


def test_corpus_size_and_tally():
    """The corpus holds at least 150 cases (runs last in this file: it prints what the others found)."""
    n = len(CASES) + len(FILE_CASES) + len(BAD_ARGS)
    assert n >= 150, n
    print(f"\nfuzz corpus: {n} cases; this run: {TALLY}")


def test_inspect_prints_hostile_names_on_one_line(tmp_path):
    m = base()
    m.graph.node[2].name = "a\nb [exec rm]"
    m.graph.name = "g\rx"
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(["inspect", str(path)])
        except SystemExit as e:
            assert e.code in (0, None)
    text = out.getvalue()
    assert "a\\nb [exec rm]" in text and "model g\\rx:" in text and "\r" not in text
