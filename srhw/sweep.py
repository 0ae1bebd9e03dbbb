"""`srhw sweep`: PSNR versus bit width on a dataset, as a table, JSON and a PNG plot."""
from __future__ import annotations

from pathlib import Path

from srhw.errors import UsageError
from srhw.evaluate import evaluate
from srhw.outputs import check_output_file, replacing


def parse_bits(text: str) -> list[int]:
    """'4:12' -> 4..12, '6,8,10' -> those."""
    try:
        if ":" in text:
            lo, hi = (int(v) for v in text.split(":"))
            if lo > hi:
                raise UsageError(f"--bits {text}: LO:HI with LO above HI; write {hi}:{lo}")
            bits = list(range(lo, hi + 1))
        else:
            bits = [int(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"--bits must be LO:HI or a comma list, not {text!r}") from None
    if not bits or any(not 4 <= b <= 16 for b in bits):
        raise UsageError(f"--bits must lie in 4..16, not {text!r}")
    return bits


def sweep(model, data: Path, bits: list[int], scale: int | None = None, calib=None, plot: Path | None = None,
          use_cache: bool = True) -> dict:
    if plot is not None:
        check_output_file(plot, "--plot")
    res = evaluate(model, data, scale, bits, calib, use_cache=use_cache)
    m = res["mean"]
    out = {"model": res["model"], "data": res["data"], "scale": res["scale"], "images": res["images"],
           "bicubic": m["bicubic"], "float": m["float"],
           "bits": [{"bits": b, **m[f"W{b}A{b}"]} for b in bits]}
    if plot is not None:
        _plot(out, Path(plot))
    return out


def table(s: dict) -> str:
    lines = [f"{s['model']} on {s['data']} x{s['scale']}: mean PSNR / SSIM (Y, shave {s['scale']})", "",
             "| bits | PSNR dB | vs float | SSIM |", "|---:|---:|---:|---:|"]
    for r in s["bits"]:
        lines.append(f"| W{r['bits']}A{r['bits']} | {r['psnr']:.3f} | {r['psnr'] - s['float']['psnr']:+.3f} | "
                     f"{r['ssim']:.4f} |")
    lines.append(f"| float | {s['float']['psnr']:.3f} | | {s['float']['ssim']:.4f} |")
    lines.append(f"| bicubic | {s['bicubic']['psnr']:.3f} | {s['bicubic']['psnr'] - s['float']['psnr']:+.3f} | "
                 f"{s['bicubic']['ssim']:.4f} |")
    return "\n".join(lines)


def _plot(s: dict, path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        raise UsageError("the plot needs matplotlib: pip install 'srhw[eval]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bits = [r["bits"] for r in s["bits"]]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(bits, [r["psnr"] for r in s["bits"]], "o-", label="fixed point (golden model)")
    ax.axhline(s["float"]["psnr"], color="k", ls="--", label=f"float {s['float']['psnr']:.2f} dB")
    ax.axhline(s["bicubic"]["psnr"], color="gray", ls=":", label=f"bicubic {s['bicubic']['psnr']:.2f} dB")
    ax.set_xlabel("bits (weights = activations)")
    ax.set_ylabel("PSNR (dB, Y)")
    ax.set_title(f"{s['model']} on {s['data']} x{s['scale']}")
    ax.set_xticks(bits)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    with replacing(path, "--plot") as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
