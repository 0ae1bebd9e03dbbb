"""`srhw eval`, `upscale`, `sweep` and `zoo` end to end on small inputs (no datasets needed)."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage import data

from srhw.evaluate import bicubic_up, lr_of


def cli(*args):
    return subprocess.run([sys.executable, "-m", "srhw.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def two_images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    Image.fromarray(data.astronaut()[100:164, 150:226]).save(d / "astro.png")   # RGB, 76x64
    Image.fromarray(data.camera()[200:250, 220:280]).save(d / "camera.png")     # gray, 60x50
    return d


def test_eval_two_images(two_images, tmp_path):
    out = tmp_path / "r.json"
    res = cli("eval", "fsrcnn_x2", "--data", two_images, "--bits", "6,8", "--json", out)
    assert res.returncode == 0, res.stderr
    assert "W8A8" in res.stdout and "W6A6" in res.stdout and "bicubic" in res.stdout
    r = json.loads(out.read_text())
    assert r["images"] == 2 and r["scale"] == 2
    cam = next(x for x in r["per_image"] if x["image"] == "camera")
    hr = np.asarray(Image.open(two_images / "camera.png"))
    # bicubic figures recomputed with scikit-image's metrics on the shaved images (the usual SR settings)
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    up = bicubic_up(lr_of(hr, 2), 2)[2:-2, 2:-2].astype(float)
    ref = hr[2:-2, 2:-2].astype(float)
    assert cam["bicubic"]["psnr"] == pytest.approx(peak_signal_noise_ratio(ref, up, data_range=255))
    assert cam["bicubic"]["ssim"] == pytest.approx(structural_similarity(
        ref, up, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False))
    assert 0 < cam["W8A8"]["ssim"] <= 1
    assert r["mean"]["float"]["psnr"] > r["mean"]["bicubic"]["psnr"]  # the model does better than bicubic
    assert r["mean"]["W8A8"]["psnr"] > r["mean"]["W6A6"]["psnr"]


def test_upscale_skimage_image_with_comparison(tmp_path):
    src = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()[:61, :83]).save(src)  # RGB, odd size
    out, fig, hr = tmp_path / "sr.png", tmp_path / "cmp.png", tmp_path / "hr.png"
    Image.fromarray(data.coffee()[:122, :166]).save(hr)
    res = cli("upscale", "fsrcnn_x2", src, "-o", out, "--compare", fig, "--hr", hr)
    assert res.returncode == 0, res.stderr
    sr = np.asarray(Image.open(out))
    assert sr.shape == (122, 166, 3) and sr.dtype == np.uint8
    assert Image.open(fig).size[0] > 4 * 122  # four panels side by side
    from srhw.upscale import upscale

    info = upscale("fsrcnn_x2", src, tmp_path / "sr2.png", compare=tmp_path / "cmp2.png", hr=hr)
    from skimage.metrics import peak_signal_noise_ratio

    from srhw.imaging import load_y

    y_hr, y_sr = load_y(hr)[2:-2, 2:-2], load_y(out)[2:-2, 2:-2]  # scikit-image on the shaved Y: the same PSNR
    assert info["scores"]["fixed W8A8"][0] == pytest.approx(peak_signal_noise_ratio(y_hr, y_sr, data_range=255))
    assert info["scores"]["float"][0] > info["scores"]["bicubic"][0]
    flt = tmp_path / "f.png"
    assert cli("upscale", "fsrcnn_x2", src, "-o", flt, "--float").returncode == 0
    d = np.abs(np.asarray(Image.open(flt)).astype(int) - sr.astype(int))
    assert 0 < d.mean() < 3  # float and W8A8 close, not identical


def test_upscale_y_matches_golden(tmp_path, shared_quantization):
    """A grayscale image is Y: the output is exactly the golden model's frame."""
    import srhw
    from srhw import golden

    img = data.camera()[:40, :57]
    Image.fromarray(img).save(tmp_path / "g.png")
    assert cli("upscale", "fsrcnn_x2", tmp_path / "g.png", "-o", tmp_path / "o.png").returncode == 0
    q = srhw.compile("fsrcnn_x2", progress=False, hls=False).qgraph
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "o.png")), golden.run(q, img[None])[0])


def test_sweep_two_widths(two_images, tmp_path):
    plot, js = tmp_path / "s.png", tmp_path / "s.json"
    res = cli("sweep", "fsrcnn_x2", "--data", two_images, "--bits", "6:7", "--plot", plot, "--json", js)
    assert res.returncode == 0, res.stderr
    s = json.loads(js.read_text())
    assert [b["bits"] for b in s["bits"]] == [6, 7]
    assert s["bits"][1]["psnr"] > s["bits"][0]["psnr"]
    assert Image.open(plot).format == "PNG"


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


def test_zoo_list_and_export(tmp_path):
    res = cli("zoo", "list")
    assert res.returncode == 0
    line = next(l for l in res.stdout.splitlines() if l.startswith("fsrcnn_x2 "))
    # FSRCNN(56,12,4) x2: 12464 MACs per LR pixel (5x5x56, 56x12, 4x 3x3x12x12, 12x56, 9x9x56 deconv)
    assert "12464" in line and "x2" in line
    assert "fsrcnn_s_x3" in res.stdout  # trainable entries are listed
    dst = tmp_path / "m.onnx"
    assert cli("zoo", "export", "fsrcnn_x2", "-o", dst).returncode == 0
    import onnx

    onnx.checker.check_model(onnx.load(str(dst)))


def _noise_images(d, seed, shape):
    """Two random grey images in folder d (a training set for smoke runs); the generator after them."""
    d.mkdir()
    rng = np.random.default_rng(seed)
    for k in range(2):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(d / f"{k}.png")
    return d, rng


@pytest.mark.parametrize("name", ["fsrcnn_s_x3", "srcnn_915_x2", "espcn_x2"])
def test_training_smoke(name, tmp_path):
    """One-step training of each architecture family on two generated images, export, compile."""
    import srhw
    from srhw.zoo.export import export_entry
    from srhw.zoo.registry import ZOO

    d, _ = _noise_images(tmp_path / "train", 0, (60, 72))
    run = tmp_path / "run"
    res = cli("zoo", "train", name, "--data", d, "--val", d, "--run-dir", run, "--steps", "1", "--batch", "2",
              "--ckpt-every", "1")
    assert res.returncode == 0, res.stderr
    rec = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    assert rec[-1]["step"] == 1 and np.isfinite(rec[-1]["loss"]) and rec[-1]["val_psnr"] > 0
    onnx_path = tmp_path / f"{name}.onnx"
    export_entry(ZOO[name], run / "final.pt", onnx_path)
    r = srhw.compile(onnx_path, bits=8, progress=False, hls=False)
    assert r.qgraph.scale == (1 if ZOO[name].pre_upscale else ZOO[name].scale)


def test_training_init_restarts_from_a_finished_run(tmp_path):
    """--init loads the earlier run's weights (with lr 0 they come out unchanged), restarts the
    step count, and the record adds up the steps of every run behind the weights."""
    import torch

    d, _ = _noise_images(tmp_path / "train", 1, (48, 40))
    common = ("--data", d, "--batch", "2", "--ckpt-every", "1")
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert cli("zoo", "train", "fsrcnn_s_x2", "--run-dir", a, "--steps", "1", *common).returncode == 0
    res = cli("zoo", "train", "fsrcnn_s_x2", "--run-dir", b, "--steps", "2", "--lr", "0", "--init", a, *common)
    assert res.returncode == 0, res.stderr
    wa, wb = torch.load(a / "final.pt"), torch.load(b / "final.pt")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [json.loads(l)["step"] for l in (b / "log.jsonl").read_text().splitlines()] == [1, 2]
    assert cli("zoo", "train", "fsrcnn_s_x2", "--run-dir", c, "--steps", "1", "--init", b, *common).returncode == 0
    init = json.loads((c / "entry.json").read_text())["init"]
    assert init["from"] == "b" and init["steps"] == 1 + 2
    assert init["schedule"] == "1 steps, then 2 from those weights with the optimizer and schedule restarted"
    res = cli("zoo", "train", "fsrcnn_x2", "--run-dir", tmp_path / "d", "--steps", "1", "--init", a, *common)
    assert res.returncode == 2 and "trained 'fsrcnn_s_x2', not 'fsrcnn_x2'" in res.stderr
    res = cli("zoo", "train", "fsrcnn_s_x2", "--run-dir", tmp_path / "e", "--steps", "1", "--init", d, *common)
    assert res.returncode == 2 and "not a finished training run" in res.stderr


def test_training_init_shipped_starts_from_the_packaged_weights(tmp_path):
    """--init-shipped reads the shipped ONNX weights back into torch (PReLU slopes included):
    with lr 0 the trained weights, exported again, give what onnxruntime gives for the shipped
    file, and the record carries the card's steps and schedule."""
    import onnxruntime as ort

    from srhw.resources import zoo_dir
    from srhw.zoo.export import export_entry
    from srhw.zoo.registry import ZOO

    d, rng = _noise_images(tmp_path / "train", 2, (48, 40))
    run = tmp_path / "run"
    res = cli("zoo", "train", "fsrcnn_s_x2", "--run-dir", run, "--steps", "1", "--lr", "0", "--init-shipped",
              "--data", d, "--batch", "2", "--ckpt-every", "1")
    assert res.returncode == 0, res.stderr
    card = json.loads((zoo_dir() / "zoo.json").read_text())["fsrcnn_s_x2"]
    init = json.loads((run / "entry.json").read_text())["init"]
    assert init["steps"] == card["steps"] and init["schedule"] == card["schedule"]
    again = tmp_path / "again.onnx"
    export_entry(ZOO["fsrcnn_s_x2"], run / "final.pt", again)
    x = rng.random((1, 1, 19, 23), dtype=np.float32)
    outs = []
    for f in (zoo_dir() / "fsrcnn_s_x2.onnx", again):
        s = ort.InferenceSession(str(f), providers=["CPUExecutionProvider"])
        outs.append(s.run(None, {s.get_inputs()[0].name: x})[0])
    assert outs[0].shape == (1, 1, 38, 46) and np.abs(outs[0] - outs[1]).max() < 1e-6
    res = cli("zoo", "train", "fsrcnn_s_x2", "--run-dir", tmp_path / "b", "--steps", "1", "--init-shipped",
              "--init", run, "--data", d)
    assert res.returncode == 2 and "exclude each other" in res.stderr


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


def test_upscale_reuses_a_compiled_design_and_the_cache(tmp_path, monkeypatch):
    """A second upscale of the same model takes the quantized design from the cache (no compile),
    a compiled output directory is used as it is, and all three give the golden model's frame."""
    import srhw
    from srhw import golden
    from srhw.upscale import upscale

    img = data.camera()[:36, :45]
    Image.fromarray(img).save(tmp_path / "g.png")
    monkeypatch.setenv("SRHW_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "compiled"
    assert cli("compile", "fsrcnn_s_x2", "--no-hls", "-o", out).returncode == 0
    first = upscale("fsrcnn_s_x2", tmp_path / "g.png", tmp_path / "a.png")
    assert first["design"] == "compiled now" and len(list((tmp_path / "cache").glob("*.json"))) == 1

    def no_compile(*a, **k):
        raise AssertionError("compiled again")

    monkeypatch.setattr(srhw, "compile", no_compile)
    assert upscale("fsrcnn_s_x2", tmp_path / "g.png", tmp_path / "b.png")["design"] == "cache"
    assert upscale(out, tmp_path / "g.png", tmp_path / "c.png")["design"] == "compiled directory"
    expected = golden.run(srhw.load_ir(out), img[None])[0]
    for name in ("a.png", "b.png", "c.png"):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / name)), expected)
    with pytest.raises(AssertionError, match="compiled again"):  # other calibration frames: another key
        upscale("fsrcnn_s_x2", tmp_path / "g.png", tmp_path / "d.png", calib=tmp_path / "compiled" / "..")
    with pytest.raises(AssertionError, match="compiled again"):  # the cache bypassed
        upscale("fsrcnn_s_x2", tmp_path / "g.png", tmp_path / "d.png", use_cache=False)
    res = cli("upscale", out, tmp_path / "g.png", "-o", tmp_path / "e.png", "--float")
    assert res.returncode == 2 and "compiled design" in res.stderr


def test_eval_of_a_compiled_design(two_images, tmp_path):
    """srhw eval on a compiled directory measures its design: the same figures as the model's
    W8A8 column, without a float column (a compiled directory holds no float model)."""
    out = tmp_path / "design"
    assert cli("compile", "fsrcnn_s_x2", "--no-hls", "-o", out).returncode == 0
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli("eval", out, "--data", two_images, "--json", a).returncode == 0
    assert cli("eval", "fsrcnn_s_x2", "--data", two_images, "--json", b).returncode == 0
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert set(da["mean"]) == {"bicubic", "W8A8"} and da["mean"]["W8A8"] == db["mean"]["W8A8"]
    res = cli("eval", out, "--data", two_images, "--bits", "6")
    assert res.returncode == 2 and "compiled with --bits 8" in res.stderr


def test_upscale_a_folder_with_one_design(two_images, tmp_path, monkeypatch):
    """A folder (or several images) goes into an output folder, NAME.png each, with one design:
    each file equal to the one-image upscale."""
    monkeypatch.setenv("SRHW_CACHE_DIR", str(tmp_path / "cache"))
    res = cli("upscale", "fsrcnn_s_x2", two_images, "-o", tmp_path / "out")
    assert res.returncode == 0 and "2 images" in res.stdout, res.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".srhw-output", "astro.png", "camera.png"]
    assert cli("upscale", "fsrcnn_s_x2", two_images / "camera.png", "-o", tmp_path / "one.png").returncode == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "camera.png")),
                                  np.asarray(Image.open(tmp_path / "one.png")))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("user data")
    res = cli("upscale", "fsrcnn_s_x2", two_images / "camera.png", two_images / "astro.png", "-o", tmp_path / "mine",
              "--force")
    assert res.returncode == 2 and "did not write it" in res.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["keep.txt"]
