"""`srhw compile` and `srhw inspect` end to end: outputs, determinism, --force, atomicity."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage import data

import srhw
from srhw.compiler import resolve_model
from tests.conftest import cli as srhw_cli
from tests.conftest import pixels




@pytest.fixture(scope="module")
def compiled(exported, tmp_path_factory):
    out = tmp_path_factory.mktemp("c") / "out"
    res = srhw_cli("compile", exported("fsrcnn_x2", "dynamo"), "--bits", "8", "-o", out)
    assert res.returncode == 0, res.stderr
    return out, res


def test_compile_writes_ir_report_summary(compiled):
    out, res = compiled
    assert sorted(p.name for p in out.iterdir()) == [".srhw-output", "hls", "interface.json", "ir.json", "report.md",
                                                     "summary.json"]
    s = json.loads((out / "summary.json").read_text())
    for key in ("model", "bits", "layers", "macs_per_lr_pixel", "max_accumulator_width", "psnr_fixed_vs_float_db"):
        assert key in s
    assert s["bits"] == 8 and s["scale"] == 2
    # the tiny FSRCNN: 5x5 1->8, 1x1 8->4, 3x3 4->4, 1x1 4->8, and the 9x9 deconv as a 5x5 8->4 sub-pixel conv
    assert s["macs_per_lr_pixel"] == 25 * 8 + 8 * 4 + 9 * 16 + 4 * 8 + 25 * 8 * 4
    assert s["psnr_fixed_vs_float_db"] > 30
    report = (out / "report.md").read_text()
    assert "acc bound" in report and "l00_conv" in report
    assert "wrote" in res.stdout


def test_ir_loads_back_and_runs(compiled):
    out, _ = compiled
    ir = srhw.load_ir(out)
    y = srhw.run_golden(out / "ir.json", pixels(1, 17, 29)[0])
    assert y.shape == (1, 34, 58) and y.dtype == np.uint8
    assert ir.scale == 2


def test_two_runs_are_byte_identical(compiled, exported, tmp_path):
    out, _ = compiled
    again = tmp_path / "again"
    # quantized afresh, not taken from the quantization cache the first run filled
    assert srhw_cli("compile", exported("fsrcnn_x2", "dynamo"), "--bits", "8", "-o", again, "--no-cache").returncode == 0
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert len(files) > 20 and files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in files:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


# For the compiles these tests make only to have an srhw output to work on: one calibration
# method and nearest weight rounding (a third of a default compile's quantization time).
QUICK_QUANT = ("--calib-method", "max", "--weight-rounding", "nearest")


def test_existing_output_needs_force(exported, tmp_path):
    out = tmp_path / "o"
    assert srhw_cli("compile", exported("espcn_x3", "dynamo"), "-o", out, *QUICK_QUANT).returncode == 0
    res = srhw_cli("compile", exported("espcn_x3", "dynamo"), "-o", out, "--bits", "6")
    assert res.returncode == 2 and "--force" in res.stderr and "earlier srhw output" in res.stderr
    assert json.loads((out / "summary.json").read_text())["bits"] == 8
    res = srhw_cli("compile", exported("espcn_x3", "dynamo"), "-o", out, "--force", "--bits", "6", *QUICK_QUANT)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == [".srhw-output", "hls", "interface.json", "ir.json", "report.md",
                                                     "summary.json"]
    assert json.loads((out / "summary.json").read_text())["bits"] == 6
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]  # no temporary leftovers


def tree(d):
    """Every path under d (links not followed), with a file's bytes."""
    return {p.relative_to(d): p.read_bytes() if p.is_file() and not p.is_symlink() else None for p in d.rglob("*")}


@pytest.fixture
def user_files(tmp_path):
    """A user's folder: a model, notes and a sub-folder, none of it written by srhw."""
    d = tmp_path / "work"
    (d / "sub").mkdir(parents=True)
    shutil.copy(resolve_model("fsrcnn_s_x2"), d / "model.onnx")
    (d / "notes.txt").write_text("user data")
    (d / "sub" / "more.txt").write_text("more")
    return d


REFUSALS = {  # case: (output path, model, working directory, what the error says)
    "user_dir": ("work", "fsrcnn_s_x2", "run", "did not write it"),
    "empty_path": ("", "work/model.onnx", "run", "empty"),
    "cwd": (".", "work/model.onnx", "work/sub", "current directory"),
    "parent_of_cwd": ("work", "work/model.onnx", "work/sub", "current directory"),
    "holds_model": ("work", "work/model.onnx", "run", "holds the input"),
    "symlink": ("link", "work/model.onnx", "run", "symbolic link"),
    "file": ("work/notes.txt", "work/model.onnx", "run", "is a file"),
    "under_a_file": ("work/notes.txt/o", "work/model.onnx", "run", "is a file"),
    "home": ("home", "work/model.onnx", "run", "home directory"),
    "root": ("/", "work/model.onnx", "run", "is or holds"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_force_never_replaces_what_srhw_did_not_write(user_files, tmp_path, case):
    """--force replaces only a directory srhw wrote, and never a path that holds the working
    directory, the home directory or the input model, nor a symbolic link; each refusal is one
    error line (exit 2) before any work, and nothing under the folder changes."""
    out, model, cwd, why = REFUSALS[case]
    (tmp_path / "run").mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".profile").write_text("x")
    if case == "symlink":  # even a link to srhw's own output is refused: the link is not followed
        assert srhw_cli("compile", "fsrcnn_s_x2", "-o", tmp_path / "compiled", "--no-hls", *QUICK_QUANT).returncode == 0
        (tmp_path / "link").symlink_to(tmp_path / "compiled")
    before = tree(tmp_path)
    res = subprocess.run([sys.executable, "-m", "srhw.cli", "compile",
                          model if model.endswith("x2") else tmp_path / model,
                          "-o", tmp_path / out if out not in ("", ".") else out, "--force"],
                         capture_output=True, text=True, cwd=tmp_path / cwd,
                         env=os.environ | {"HOME": str(tmp_path / "home")})
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("srhw: error:") and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert why in res.stderr, res.stderr
    assert tree(tmp_path) == before


def test_force_refuses_an_srhw_output_that_holds_the_model(tmp_path):
    out = tmp_path / "o"
    assert srhw_cli("compile", "fsrcnn_s_x2", "-o", out, "--no-hls", *QUICK_QUANT).returncode == 0
    shutil.copy(resolve_model("fsrcnn_s_x2"), out / "model.onnx")
    res = srhw_cli("compile", out / "model.onnx", "-o", out, "--force")
    assert res.returncode == 2 and "holds the input" in res.stderr, res.stderr
    assert (out / "model.onnx").is_file()


def test_failed_compile_leaves_existing_output_untouched(exported, tmp_path):
    out = tmp_path / "o"
    assert srhw_cli("compile", exported("espcn_x3", "dynamo"), "-o", out, *QUICK_QUANT).returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    res = srhw_cli("compile", exported("espcn_x3", "dynamo"), "-o", out, "--force", "--calib", tmp_path / "missing")
    assert res.returncode == 2
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_bits_overrides_and_calibration_choice(exported, tmp_path):
    r = srhw.compile(exported("espcn_x3", "torchscript"), bits=8, wbits=6, abits=10, method="mse", progress=False)
    assert (r.summary["wbits"], r.summary["abits"], r.summary["calibration_method"]) == (6, 10, "mse")
    auto = srhw.compile(exported("espcn_x3", "torchscript"), bits=8, progress=False)
    scores = auto.summary["psnr_by_method_db"]
    assert set(scores) == {"max", "percentile", "mse"}
    assert auto.summary["psnr_fixed_vs_float_db"] == max(scores.values())


def test_user_calibration_folder(exported, tmp_path):
    from PIL import Image

    d = tmp_path / "calib"
    d.mkdir()
    for i in range(2):
        Image.fromarray(np.moveaxis(pixels(3, 30, 40, seed=i), 0, -1)).save(d / f"f{i}.png")
    r = srhw.compile(exported("espcn_x2_rgb", "dynamo"), calib=d, progress=False)
    assert r.summary["calibration_frames"] == 2


@pytest.mark.parametrize("model, upscaling", [("fsrcnn_s_x2", True), ("espcn_x3", True), ("srcnn_915_x2", False)])
def test_default_calibration_set_matches_the_input(model, upscaling):
    """A model that upscales calibrates on low-resolution frames (bicubic x2 downscales, whose
    local detail differs from that of the smooth full-resolution crops an SRCNN-style model
    calibrates on; docs/quantization.md has the measurements)."""
    from srhw.compiler import load_frames, resolve_model, upscales
    from srhw.frontend import import_onnx
    from srhw.passes import pipeline, run_pipeline

    graph = run_pipeline(import_onnx(resolve_model(model)), pipeline("auto", "auto"))
    assert upscales(graph) is upscaling
    frames = load_frames(None, 1, upscales(graph))
    lr, crops = load_frames(None, 1, True), load_frames(None, 1, False)
    assert all(np.array_equal(a, b) for a, b in zip(frames, lr if upscaling else crops))
    assert len(lr) == 12 and len(crops) == 9

    def detail(fs):  # mean |horizontal difference|: the downscaled frames are the busier ones
        return float(np.mean([np.abs(np.diff(f.astype(float), axis=-1)).mean() for f in fs]))

    assert detail(lr) > 1.25 * detail(crops)  # 8.4 against 5.9 codes


def test_inspect_prints_layers_and_macs(exported):
    res = srhw_cli("inspect", exported("fsrcnn_x2", "torchscript"))
    assert res.returncode == 0, res.stderr
    assert "DepthToSpace" in res.stdout and "MACs per LR pixel" in res.stdout
    assert "prelu" in res.stdout


def test_csim_command_end_to_end(compiled):
    out, _ = compiled
    res = srhw_cli("csim", out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "PASS: 4 of 4 frames bit-exact" in res.stdout and "csim passed" in res.stdout


def test_csim_on_a_directory_without_project(tmp_path):
    res = srhw_cli("csim", tmp_path)
    assert res.returncode == 2 and "no srhw HLS project" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("flags,message", [
    (["--board", "zcu999"], "--board must be one of"),
    (["--in-size", "1920by1080"], "--in-size must be WIDTHxHEIGHT"),
    (["--fps", "0"], "--fps must be positive"),
    (["--max-width", "100"], "--max-width 100 is smaller than the --in-size width 1280 (the default for x3"),
    (["--in-size", "640x360", "--max-width", "100"], "--max-width 100 is smaller than the --in-size width 640"),
    (["--in-size", "64x48", "--fixed-size", "--max-width", "90"], "--fixed-size takes the frame size from --in-size"),
    (["--calib-method", "minmax"], "--calib-method must be one of auto, max, percentile, mse, not 'minmax'"),
    (["--weight-granularity", "tensor"], "--weight-granularity must be one of output, kernel"),
    (["--output-range", "0:1"], "--output-range must be one of auto, unit, byte"),
])
def test_bad_hardware_flags(exported, tmp_path, flags, message):
    out = tmp_path / "o"
    res = srhw_cli("compile", exported("espcn_x3", "dynamo"), "-o", out, *flags)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_a_frame_smaller_than_an_unpadded_model_takes_away_is_refused(exported, tmp_path):
    """SRCNN 9-1-5 without padding takes 8 + 0 + 4 = 12 pixels from each side's total: a 12-pixel-high
    frame leaves its last conv no rows, and a 13x13 one leaves one pixel."""
    out = tmp_path / "o"
    res = srhw_cli("compile", exported("srcnn", "dynamo"), "-o", out, "--in-size", "16x12", "--rtl")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "frames must be at least 13x13; the planned frame is 16x12" in res.stderr, res.stderr
    assert not out.exists()
    res = srhw_cli("compile", exported("srcnn", "dynamo"), "-o", out, "--in-size", "13x13", "--rtl", "--no-hls")
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("args,message", [
    (["eval", "fsrcnn_x2", "--data", "/nonexistent"], "does not exist"),
    (["sweep", "fsrcnn_x2", "--data", ".", "--bits", "2:5"], "--bits must lie in 4..16"),
    (["eval", "fsrcnn_x2", "--data", ".", "--scale", "3"], "does not match"),
    (["zoo", "export", "nope", "-o", "x.onnx"], "not a shipped zoo model"),
    (["upscale", "fsrcnn_x2", "missing.png", "-o", "o.png"], "cannot read image"),
    (["upscale", "fsrcnn_x2", "one.png", "-o", "o.png", "--bits", "0"], "in 4..16, not 0"),
    (["sweep", "fsrcnn_x2", "--data", ".", "--bits", "12:4"], "LO above HI; write 4:12"),
    (["compile", ".", "-o", "o"], "a directory, not an ONNX model file"),
    (["compile", "/dev/null", "-o", "o"], "not a regular file"),
    (["inspect", "/dev/null"], "not a regular file"),
])
def test_bad_arguments(args, message, tmp_path):
    Image.fromarray(data.camera()[:40, :40]).save(tmp_path / "one.png")
    res = subprocess.run([sys.executable, "-m", "srhw.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "o").exists()


def _tree(d):
    return {p.relative_to(d): p.read_bytes() if p.is_file() else None for p in d.rglob("*")}


OUTPUT_REFUSALS = {  # case: (arguments, what the error says); run in a folder holding one.png, big.png, notes.txt, dir/
    "upscale onto a directory": (["upscale", "fsrcnn_s_x2", "one.png", "-o", "dir"], "is a directory"),
    "upscale under a file": (["upscale", "fsrcnn_s_x2", "one.png", "-o", "notes.txt/o.png"], "is a file"),
    "upscale onto its input": (["upscale", "fsrcnn_s_x2", "one.png", "-o", "one.png"], "also an input"),
    "upscale to no image format": (["upscale", "fsrcnn_s_x2", "one.png", "-o", "o.xyz"], "no image format"),
    "upscale, empty path": (["upscale", "fsrcnn_s_x2", "one.png", "-o", ""], "empty"),
    "compare onto the output": (["upscale", "fsrcnn_s_x2", "one.png", "-o", "o.png", "--compare", "o.png"],
                                "also an input"),
    "compare into /proc": (["upscale", "fsrcnn_s_x2", "one.png", "-o", "o.png", "--compare", "/proc/c.png"],
                           "/proc/c.png"),
    "hr too small, after the work": (["upscale", "fsrcnn_s_x2", "big.png", "-o", "o.png", "--compare", "c.png",
                                      "--hr", "one.png"], "smaller than the output"),
    "eval json onto a directory": (["eval", "fsrcnn_s_x2", "--data", "dir", "--json", "dir"], "is a directory"),
    "sweep plot under a file": (["sweep", "fsrcnn_s_x2", "--data", "dir", "--bits", "8", "--plot", "notes.txt/p.png"],
                                "is a file"),
    "zoo export onto a directory": (["zoo", "export", "fsrcnn_s_x2", "-o", "dir"], "is a directory"),
    "zoo export into /proc": (["zoo", "export", "fsrcnn_s_x2", "-o", "/proc/m.onnx"], "/proc/m.onnx"),
}


@pytest.mark.parametrize("case", list(OUTPUT_REFUSALS))
def test_file_outputs_appear_whole_or_not_at_all(case, tmp_path):
    """Each command that writes a file refuses a path it must not write with one error line
    (exit 2), and a failure before or after the work leaves nothing behind: no output, no
    temporary file, every input as it was."""
    args, message = OUTPUT_REFUSALS[case]
    Image.fromarray(data.camera()[:40, :40]).save(tmp_path / "one.png")
    Image.fromarray(data.camera()[:60, :60]).save(tmp_path / "big.png")
    (tmp_path / "notes.txt").write_text("user data")
    (tmp_path / "dir").mkdir()
    Image.fromarray(data.camera()[:40, :40]).save(tmp_path / "dir" / "hr.png")
    before = _tree(tmp_path)
    res = subprocess.run([sys.executable, "-m", "srhw.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("srhw: error:") and "Traceback" not in res.stderr, res.stderr
    assert message in res.stderr, res.stderr
    assert _tree(tmp_path) == before


def test_inspect_into_a_closed_pipe_stops_quietly():
    p = subprocess.run(f"{sys.executable} -m srhw.cli inspect fsrcnn_x2 | head -1", shell=True, capture_output=True,
                       text=True)
    assert p.stdout.strip() and "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr


def test_a_model_reading_the_upsampled_frame_twice_is_refused_by_name(tmp_path):
    """y = d + tanh(d) after the DepthToSpace: no per-pixel move makes that an LR stage, so both
    hardware backends refuse it before writing anything, naming the layers; the golden model runs it."""
    from onnx import helper

    from tests.conftest import make_model, save

    w = np.random.default_rng(3).normal(size=(4, 1, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("DepthToSpace", ["c"], ["d"], blocksize=2, name="shuffle"),
             helper.make_node("Tanh", ["d"], ["t"], name="hr_tanh"), helper.make_node("Add", ["d", "t"], ["y"], name="hr_add")]
    path = save(make_model(nodes, {"w": w}, [1, 1, "h", "w"], [1, 1, "H", "W"]), tmp_path / "m.onnx")
    for flags in ((), ("--rtl", "--no-hls")):
        res = srhw_cli("compile", str(path), "--in-size", "32x24", "-o", str(tmp_path / "out"), *flags)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert "runs after the upsampling" in res.stderr and "'hr_add'" in res.stderr and "'hr_tanh'" in res.stderr
        assert not (tmp_path / "out").exists()
    assert srhw_cli("compile", str(path), "--no-hls", "-o", str(tmp_path / "out")).returncode == 0


def test_a_plan_beyond_the_part_says_what_rate_fits(tmp_path):
    """FSRCNN-s x2 at 1080p60 takes 1661 multipliers; a KV260 has 1248 DSP slices."""
    out = tmp_path / "o"
    res = srhw_cli("compile", "fsrcnn_s_x2", "-o", out, "--board", "kv260", "--weight-rounding", "nearest")
    assert res.returncode == 0, res.stderr
    assert "would exceed the kv260's 1248 DSP slices; folded to fit at " in res.stdout, res.stdout
    h = json.loads((out / "summary.json").read_text())["hls"]
    assert h["multipliers"] <= 1248 < h["fitted_to_dsp"]["requested_multipliers"] and h["fps_target"] == 60
    assert 30 < h["projected_fps"] < 60
    assert "**Folded to fit the part's 1248 DSP slices**" in (out / "report.md").read_text()
