"""The zoo's entries: architecture, scale and how the model is fed. No torch needed here."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZooEntry:
    name: str
    arch: str                       # fsrcnn | srcnn | espcn | edsr | lapsrn
    scale: int
    kwargs: dict = field(default_factory=dict)
    title: str = ""

    @property
    def pre_upscale(self) -> bool:
        """SRCNN-style: the model takes the bicubic-upscaled image (its own scale is 1)."""
        return self.arch == "srcnn"

    def build(self):
        from srhw.zoo import models

        if self.arch == "fsrcnn":
            return models.FSRCNN(scale=self.scale, **self.kwargs)
        if self.arch == "srcnn":
            return models.SRCNN(**self.kwargs)
        if self.arch == "espcn":
            return models.ESPCN(scale=self.scale, **self.kwargs)
        if self.arch == "edsr":
            return models.EDSR(scale=self.scale, **self.kwargs)
        if self.arch == "lapsrn":
            return models.LapSRN(scale=self.scale, **self.kwargs)
        raise ValueError(self.arch)


def _entries() -> dict[str, ZooEntry]:
    out = {}
    for s in (2, 3, 4):
        for e in (ZooEntry(f"fsrcnn_x{s}", "fsrcnn", s, {}, "FSRCNN (56,12,4)"),
                  ZooEntry(f"fsrcnn_s_x{s}", "fsrcnn", s, {"d": 32, "s": 5, "m": 1}, "FSRCNN-s (32,5,1)"),
                  ZooEntry(f"srcnn_955_x{s}", "srcnn", s, {"f2": 5}, "SRCNN 9-5-5 (64,32)"),
                  ZooEntry(f"srcnn_915_x{s}", "srcnn", s, {"f2": 1}, "SRCNN 9-1-5 (64,32)"),
                  ZooEntry(f"espcn_x{s}", "espcn", s, {}, "ESPCN (64,32, tanh)")):
            out[e.name] = e
    # the papers' sizes (trainable here; a CPU run is days) and the smaller variants shipped
    for s in (2, 3, 4):
        out[f"edsr_x{s}"] = ZooEntry(f"edsr_x{s}", "edsr", s, {}, "EDSR baseline (64, 16)")
    out["edsr_s_x2"] = ZooEntry("edsr_s_x2", "edsr", 2, {"feats": 32, "blocks": 4}, "EDSR-s (32, 4)")
    for s in (2, 4, 8):
        out[f"lapsrn_x{s}"] = ZooEntry(f"lapsrn_x{s}", "lapsrn", s, {}, "LapSRN (64, d10)")
    out["lapsrn_s_x4"] = ZooEntry("lapsrn_s_x4", "lapsrn", 4, {"feats": 32, "depth": 3}, "LapSRN-s (32, d3)")
    return out


ZOO: dict[str, ZooEntry] = _entries()
