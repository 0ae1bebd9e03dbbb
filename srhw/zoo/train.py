"""Train a zoo model on T91-style image folders (Y channel, bicubic LR), CPU or GPU.

Deterministic for a given seed and device; checkpoints every `--ckpt-every` steps and resumes
from the checkpoint found in the run directory.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from srhw.imaging import bicubic_resize, list_images, load_y, modcrop, psnr

log = logging.getLogger(__name__)


def _augmented_images(folder: Path, scale: int) -> list[np.ndarray]:
    """T91 with the FSRCNN downscale augmentation (0.6..1.0) and the 8 flips/rotations."""
    out = []
    for path in list_images(folder):
        y = load_y(path)
        for f in (1.0, 0.9, 0.8, 0.7, 0.6):
            h, w = int(y.shape[0] * f), int(y.shape[1] * f)
            img = y if f == 1.0 else bicubic_resize(y, (h, w))
            for k in range(4):
                rot = np.rot90(img, k)
                out.append(np.ascontiguousarray(rot))
                out.append(np.ascontiguousarray(rot[:, ::-1]))
    return out


def _pairs(images: list[np.ndarray], scale: int, lr_patch: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    lrs, hrs = [], []
    hp = lr_patch * scale
    for img in images:
        hr = modcrop(img, scale)
        lr = bicubic_resize(hr, (hr.shape[0] // scale, hr.shape[1] // scale))
        for i in range(0, lr.shape[0] - lr_patch + 1, stride):
            for j in range(0, lr.shape[1] - lr_patch + 1, stride):
                lrs.append(lr[i : i + lr_patch, j : j + lr_patch])
                hrs.append(hr[i * scale : i * scale + hp, j * scale : j * scale + hp])
    return np.stack(lrs)[:, None], np.stack(hrs)[:, None]


def evaluate(model, folder: Path, scale: int, device: str = "cpu") -> float:
    import torch

    values = []
    model.eval()
    with torch.no_grad():
        for path in list_images(folder):
            hr = modcrop(load_y(path), scale)
            lr = bicubic_resize(hr, (hr.shape[0] // scale, hr.shape[1] // scale))
            x = torch.from_numpy(lr[None, None].astype(np.float32) / 255.0).to(device)
            y = model(x).clamp(0, 1).cpu().numpy()[0, 0]
            values.append(psnr(np.floor(y * 255.0 + 0.5), hr, shave=scale))
    model.train()
    return float(np.mean(values))


def train(args: argparse.Namespace) -> None:
    import torch

    from srhw.zoo.models import FSRCNN

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    lr_np, hr_np = _pairs(_augmented_images(Path(args.data), args.scale), args.scale, args.lr_patch, args.lr_patch // 2)
    log.info("training pairs: %d", len(lr_np))
    model = FSRCNN(scale=args.scale).to(args.device)
    deconv_params = list(model.deconv.parameters())
    body_params = [p for n, p in model.named_parameters() if not n.startswith("deconv")]
    opt = torch.optim.Adam([{"params": body_params}, {"params": deconv_params, "lr": args.lr * 0.1}], lr=args.lr)
    step = 0
    ckpt = run / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        rng = state["rng"]
        log.info("resumed at step %d", step)
    from tqdm import tqdm

    bar = tqdm(total=args.steps, initial=step, desc="train", mininterval=5)
    t0 = time.time()
    logf = (run / "log.jsonl").open("a")
    while step < args.steps:
        idx = rng.integers(0, len(lr_np), args.batch)
        x = torch.from_numpy(lr_np[idx].astype(np.float32) / 255.0).to(args.device)
        t = torch.from_numpy(hr_np[idx].astype(np.float32) / 255.0).to(args.device)
        loss = torch.nn.functional.mse_loss(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        bar.update(1)
        if step == int(args.steps * 0.7):
            for g in opt.param_groups:
                g["lr"] *= 0.1
        if step % args.ckpt_every == 0 or step == args.steps:
            val = evaluate(model, Path(args.val), args.scale, args.device) if args.val else float("nan")
            rec = {"step": step, "loss": float(loss), "val_psnr": val, "seconds": time.time() - t0}
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
            bar.set_postfix(loss=f"{float(loss):.2e}", val=f"{val:.2f}")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "rng": rng}, ckpt)
    bar.close()
    torch.save(model.state_dict(), run / "final.pt")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True, help="folder of training images (T91)")
    p.add_argument("--val", default="", help="folder of validation images (Set5)")
    p.add_argument("--scale", type=int, default=2)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr-patch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--ckpt-every", type=int, default=1000)
    p.add_argument("--device", default="cpu")
    logging.basicConfig(level=logging.INFO)
    train(p.parse_args(argv))


if __name__ == "__main__":
    main()
