"""Train a zoo model on T91-style image folders (Y channel, MATLAB-bicubic LR), CPU or GPU.

    srhw zoo train fsrcnn_s_x3 --data ../shared/datasets/T91 --val ../shared/datasets/Set5 --run-dir runs/fsrcnn_s_x3

Data: every training image at 5 sizes (1.0 .. 0.6, FSRCNN's downscale augmentation) x the 8
flips/rotations, modcropped, LR by MATLAB bicubic; random LR patches (HR patches for
SRCNN, whose input is the bicubic-upscaled LR). Adam, MSE, the last layer at 0.1x the
learning rate (the papers' choice), learning rate x0.1 at 70% of the steps. Deterministic
for a given seed and device; a checkpoint every `--ckpt-every` steps is resumed from when the
run directory holds one; `log.jsonl` records loss and validation PSNR (Set5 protocol).
`--init PREVIOUS_RUN` starts from that run's final weights with a fresh optimizer and the
schedule restarted (step 0, full learning rate); `entry.json` records the earlier run's steps
and seconds, so the card counts the whole training. `--init-shipped` does the same from the
weights the package ships for NAME (read back from its ONNX file, checked against
onnxruntime), with the steps and seconds of its card.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from srhw.errors import UsageError
from srhw.evaluate import bicubic_up, lr_of
from srhw.imaging import list_images, load_y, modcrop, psnr
from srhw.imresize import imresize
from srhw.zoo.registry import ZOO, ZooEntry

log = logging.getLogger(__name__)
AUG_SCALES = (1.0, 0.9, 0.8, 0.7, 0.6)


def _augmented_images(folder: Path, limit: int | None = None) -> list[np.ndarray]:
    out = []
    paths = list_images(folder)[:limit]
    if not paths:
        raise UsageError(f"training folder '{folder}' holds no images")
    for path in paths:
        y = load_y(path)
        for f in AUG_SCALES:
            img = y if f == 1.0 else imresize(y, (int(y.shape[0] * f), int(y.shape[1] * f)))
            for k in range(4):
                rot = np.rot90(img, k)
                out.append(np.ascontiguousarray(rot))
                out.append(np.ascontiguousarray(rot[:, ::-1]))
    return out


def make_pairs(images: list[np.ndarray], entry: ZooEntry, lr_patch: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) uint8 [N, 1, h, w]; stride half a patch."""
    s = entry.scale
    xs, ts = [], []
    hp = lr_patch * s
    for img in images:
        hr = modcrop(img, s)
        if hr.shape[0] < hp or hr.shape[1] < hp:
            continue
        lr = lr_of(hr, s)
        src = bicubic_up(lr, s) if entry.pre_upscale else lr
        k = s if entry.pre_upscale else 1
        for i in range(0, lr.shape[0] - lr_patch + 1, max(lr_patch // 2, 1)):
            for j in range(0, lr.shape[1] - lr_patch + 1, max(lr_patch // 2, 1)):
                xs.append(src[i * k: (i + lr_patch) * k, j * k: (j + lr_patch) * k])
                ts.append(hr[i * s: i * s + hp, j * s: j * s + hp])
    if not xs:
        raise UsageError(f"no training patches: images smaller than {hp}x{hp}")
    return np.stack(xs)[:, None], np.stack(ts)[:, None]


def validate(model, entry: ZooEntry, folder: Path, device: str = "cpu") -> float:
    import torch

    values = []
    model.eval()
    with torch.no_grad():
        for path in list_images(folder):
            hr = modcrop(load_y(path), entry.scale)
            lr = lr_of(hr, entry.scale)
            src = bicubic_up(lr, entry.scale) if entry.pre_upscale else lr
            x = torch.from_numpy(src[None, None].astype(np.float32) / 255.0).to(device)
            y = model(x).clamp(0, 1).cpu().numpy()[0, 0]
            values.append(psnr(np.floor(y * 255.0 + 0.5), hr, shave=entry.scale))
    model.train()
    return float(np.mean(values))


def schedule_text(prior: dict, steps: int) -> str:
    """How the weights after `steps` more steps from `prior` were trained, for the zoo card."""
    if not prior.get("steps"):
        return f"{steps} steps"
    before = prior.get("schedule") or f"{prior['steps']} steps"
    return f"{before}, then {steps} from those weights with the optimizer and schedule restarted"


def _prior(name: str, init: Path) -> dict:
    """Steps and seconds behind a run's final weights, counting the runs it started from."""
    if not (init / "final.pt").exists() or not (init / "entry.json").exists():
        raise UsageError(f"--init {init}: not a finished training run (needs final.pt and entry.json)")
    info = json.loads((init / "entry.json").read_text())
    if info["name"] != name:
        raise UsageError(f"--init {init}: trained '{info['name']}', not '{name}'")
    last = json.loads((init / "log.jsonl").read_text().splitlines()[-1])
    before = info.get("init") or {"steps": 0, "seconds": 0.0}
    return {"from": init.name, "steps": before["steps"] + last["step"],
            "seconds": before["seconds"] + last["seconds"], "schedule": schedule_text(before, last["step"])}


def _shipped_start(entry: ZooEntry, model) -> dict:
    """Loads the shipped ONNX weights of `entry` into `model`; the prior record from its card.

    The exporter keeps torch's parameter names, except for PReLU slopes, which it writes as
    anonymous [1, C, 1, 1] constants in graph order: those are matched to the remaining
    parameters in order and by size. The torch model is then checked against onnxruntime on a
    random frame, so a wrong match cannot pass silently.
    """
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import numpy_helper

    from srhw.resources import zoo_dir

    path = zoo_dir() / f"{entry.name}.onnx"
    cards = json.loads((zoo_dir() / "zoo.json").read_text())
    if not path.exists() or entry.name not in cards:
        raise UsageError(f"--init-shipped: the package ships no trained '{entry.name}'")
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    state = model.state_dict()
    named = {k: inits.pop(k) for k in list(state) if k in inits}
    rest = [k for k in state if k not in named]
    anonymous = list(inits.values())
    for k in rest:
        match = next((i for i, a in enumerate(anonymous) if a.size == state[k].numel()), None)
        if match is None:
            raise UsageError(f"--init-shipped: no weights for '{k}' in {path.name}")
        named[k] = anonymous.pop(match)
    model.load_state_dict({k: torch.from_numpy(np.array(named[k], np.float32).reshape(state[k].shape)) for k in state})
    x = np.random.default_rng(0).random((1, 1, 24, 20), dtype=np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    model.train()
    if got.shape != want.shape or np.abs(got - want).max() > 1e-5:
        raise UsageError(f"--init-shipped: the weights read from {path.name} do not reproduce it")
    card = cards[entry.name]
    return {"from": f"shipped {entry.name}", "steps": card["steps"], "seconds": float(card["train_seconds"]),
            "schedule": card.get("schedule", f"{card['steps']} steps")}


def train(name: str, data: Path, run_dir: Path, val: Path | None = None, steps: int = 20000, batch: int = 64,
          lr_patch: int = 16, lr: float = 1e-3, seed: int = 0, threads: int = 0, ckpt_every: int = 1000,
          device: str = "cpu", limit_images: int | None = None, progress: bool = True,
          init: Path | None = None, init_shipped: bool = False) -> dict:
    import torch
    from tqdm import tqdm

    if name not in ZOO:
        raise UsageError(f"unknown zoo entry '{name}' (known: {', '.join(sorted(ZOO))})")
    entry = ZOO[name]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if threads:
        torch.set_num_threads(threads)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    xs, ts = make_pairs(_augmented_images(Path(data), limit_images), entry, lr_patch)
    log.info("%s: %d training pairs", name, len(xs))
    model = entry.build().to(device)
    if init and init_shipped:
        raise UsageError("--init and --init-shipped exclude each other")
    prior = {"steps": 0, "seconds": 0.0, "from": None}
    if init:
        prior = _prior(name, Path(init))
        model.load_state_dict(torch.load(Path(init) / "final.pt", map_location=device))
    elif init_shipped:
        prior = _shipped_start(entry, model)
    last = list(model.last_layer().parameters())
    last_ids = {id(p) for p in last}
    body = [p for p in model.parameters() if id(p) not in last_ids]
    opt = torch.optim.Adam([{"params": body}, {"params": last, "lr": lr * 0.1}], lr=lr)
    step = 0
    ckpt = run / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, rng = state["step"], state["rng"]
        log.info("resumed at step %d", step)
    t0 = time.time() - (json.loads((run / "log.jsonl").read_text().splitlines()[-1])["seconds"]
                        if step and (run / "log.jsonl").exists() else 0.0)
    bar = tqdm(total=steps, initial=step, desc=f"train {name}", mininterval=5, disable=not progress)
    rec: dict = {}
    with (run / "log.jsonl").open("a") as logf:
        while step < steps:
            idx = rng.integers(0, len(xs), batch)
            x = torch.from_numpy(xs[idx].astype(np.float32) / 255.0).to(device)
            t = torch.from_numpy(ts[idx].astype(np.float32) / 255.0).to(device)
            loss = torch.nn.functional.mse_loss(model(x), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            bar.update(1)
            if step == int(steps * 0.7):
                for g in opt.param_groups:
                    g["lr"] *= 0.1
            if step % ckpt_every == 0 or step == steps:
                v = validate(model, entry, Path(val), device) if val else float("nan")
                rec = {"step": step, "loss": loss.item(), "val_psnr": v, "seconds": time.time() - t0}
                logf.write(json.dumps(rec) + "\n")
                logf.flush()
                bar.set_postfix(loss=f"{loss.item():.2e}", val=f"{v:.2f}")
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "rng": rng}, ckpt)
    bar.close()
    torch.save(model.state_dict(), run / "final.pt")
    (run / "entry.json").write_text(json.dumps({"name": name, "steps": steps, "batch": batch, "lr_patch": lr_patch,
                                                "lr": lr, "seed": seed, "init": prior}, indent=2) + "\n")
    return rec
