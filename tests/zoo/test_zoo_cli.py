"""`srhw zoo`: listing and exporting the shipped models, and training smoke runs (one step on
generated images), export and compile."""
import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import cli


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


@pytest.mark.parametrize("name", ["fsrcnn_s_x3"] + [pytest.param(n, marks=pytest.mark.slow)
                                                     for n in ("srcnn_915_x2", "espcn_x2", "edsr_s_x2", "lapsrn_s_x4")])
def test_training_smoke(name, tmp_path):
    """One-step training of each architecture family on two generated images, export, compile."""
    import srhw
    from srhw.zoo.export import export_entry
    from srhw.zoo.registry import ZOO

    d, _ = _noise_images(tmp_path / "train", 0, (60, 72))
    run = tmp_path / "run"
    res = cli("zoo", "train", name, "--data", d, "--val", d, "--run-dir", run, "--steps", "1", "--batch", "2",
              "--ckpt-every", "1", "--lr-patch", "12")  # x4: 48x48 HR patches from the 60x72 images
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


def test_residual_architectures_upscale_as_their_papers_do():
    """EDSR's sub-pixel upsampler (x4: two x2 stages) and LapSRN's pyramid give the scale's
    size, and a fresh LapSRN (residual convs near zero, image branch initialised to bilinear)
    is bilinear upsampling away from the border, level by level (torch's interpolate, the
    independent path)."""
    import torch

    from srhw.zoo.registry import ZOO

    torch.manual_seed(0)
    x = torch.rand(1, 1, 12, 10)
    for name, scale in (("edsr_s_x2", 2), ("edsr_x3", 3), ("edsr_x4", 4), ("lapsrn_s_x4", 4)):
        with torch.no_grad():
            assert ZOO[name].build().eval()(x).shape == (1, 1, 12 * scale, 10 * scale)
    lap = ZOO["lapsrn_s_x4"].build().eval()
    with torch.no_grad():
        for res in lap.residuals:
            res.weight.zero_()
        want = torch.nn.functional.interpolate(torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
                                               scale_factor=2, mode="bilinear")
        got = lap(x)
    assert torch.allclose(got[..., 6:-6, 6:-6], want[..., 6:-6, 6:-6], atol=1e-6)
    assert not torch.allclose(got, want, atol=1e-3)  # the border differs: zero padding, not edge replication
