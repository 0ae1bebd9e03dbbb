"""Factories for tiny SR models: torch modules exported by both torch exporters, hand-built
ONNX graphs in tf2onnx's idioms, and onnxruntime as the independent reference."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from filelock import FileLock
from onnx import TensorProto, helper, numpy_helper

from srhw import float_exec, ir
from srhw.frontend import import_onnx
from srhw.passes import pipeline, run_pipeline

torch = pytest.importorskip("torch")
nn = torch.nn

EXPORTERS = ["torchscript", "dynamo"]


# ------------------------------------------------------------------- the run's srhw cache
@pytest.fixture(scope="session", autouse=True)
def srhw_cache(tmp_path_factory):
    """One srhw cache (quantized graphs, precompiled C-sim headers) for the whole run, shared by
    the xdist workers and the `srhw` commands they start: tests never read or fill the user's
    ~/.cache/srhw, and a model quantized by one test (in process or through the CLI) is there for
    the next that asks for the same quantization. Tests of the quantizer's own determinism compile
    with cache=False (`--no-cache`); tests of the cache itself set their own $SRHW_CACHE_DIR."""
    base = tmp_path_factory.getbasetemp()
    d = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "srhw-cache"
    d.mkdir(exist_ok=True)
    before = os.environ.get("SRHW_CACHE_DIR")
    os.environ["SRHW_CACHE_DIR"] = str(d)
    yield d
    if before is None:
        os.environ.pop("SRHW_CACHE_DIR", None)
    else:
        os.environ["SRHW_CACHE_DIR"] = before


# One shipped model per architecture family and per scale: the default suite's C-simulations
# and golden pins of shipped models take these; `pytest -m slow` takes all fifteen.
EVERY_FAMILY_AND_SCALE = {"fsrcnn_x2", "fsrcnn_s_x3", "espcn_x4", "srcnn_915_x2"}


# ------------------------------------------------------------------------- torch models
class TinyFSRCNN(nn.Module):
    """FSRCNN(d, s, m) shape with the paper's ConvTranspose, small enough for fast tests."""

    def __init__(self, scale=2, d=8, s=4, m=1, k=9, channels=1, output_padding=None):
        super().__init__()
        layers = [nn.Conv2d(channels, d, 5, padding=2), nn.PReLU(d), nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        op = scale - 1 if output_padding is None else output_padding
        self.up = nn.ConvTranspose2d(d, channels, k, stride=scale, padding=k // 2, output_padding=op)

    def forward(self, x):
        return self.up(self.body(x))


class TinyESPCN(nn.Module):
    """ESPCN: tanh, PixelShuffle; fed [0, 255] and clamped like many deployed exports."""

    def __init__(self, scale=3, channels=1, byte_io=True):
        super().__init__()
        self.byte_io = byte_io
        self.c1, self.c2 = nn.Conv2d(channels, 16, 5, padding=2), nn.Conv2d(16, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, channels * scale * scale, 3, padding=1)
        self.ps = nn.PixelShuffle(scale)

    def forward(self, x):
        if self.byte_io:
            x = x / 255.0
        y = self.ps(self.c3(torch.tanh(self.c2(torch.tanh(self.c1(x))))))
        return y.clamp(0.0, 1.0) * 255.0 if self.byte_io else y


class TinySRCNN(nn.Module):
    """SRCNN 9-k2-5 without padding, as many PyTorch SRCNN repositories train it: the output is
    12 + k2 - 1 pixels smaller on each axis (9-1-5: 12)."""

    def __init__(self, n1=8, n2=4, channels=1, k2=1):
        super().__init__()
        self.c1, self.c2, self.c3 = nn.Conv2d(channels, n1, 9), nn.Conv2d(n1, n2, k2), nn.Conv2d(n2, channels, 5)

    def forward(self, x):
        return self.c3(torch.relu(self.c2(torch.relu(self.c1(x)))))


class ManualShuffle(nn.Module):
    """PixelShuffle written out as view/permute/reshape, as some users do."""

    def __init__(self, scale=2, channels=1, dcr=False):
        super().__init__()
        self.r, self.c, self.dcr = scale, channels, dcr
        self.conv = nn.Conv2d(channels, channels * scale * scale, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        n, _, h, w = y.shape
        r, c = self.r, self.c
        if self.dcr:
            y = y.reshape(n, r, r, c, h, w).permute(0, 3, 4, 1, 5, 2)
        else:
            y = y.reshape(n, c, r, r, h, w).permute(0, 1, 4, 2, 5, 3)
        return y.reshape(n, c, h * r, w * r)


class ResidualSR(nn.Module):
    """Conv/ReLU body with a residual Add and LeakyRelu, then ConvTranspose x3, RGB."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.b1, self.b2 = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)
        self.act = nn.LeakyReLU(0.1)
        self.up = nn.ConvTranspose2d(8, 3, 7, stride=3, padding=3, output_padding=2)

    def forward(self, x):
        h = self.act(self.head(x))
        h = torch.relu(h + self.b2(torch.relu(self.b1(h))))
        return self.up(h)


class TinyEDSR(nn.Module):
    """EDSR's shape (Lim et al. 2017) at a small size: RGB mean shift, head conv, residual blocks
    (conv, ReLU, conv, x0.1, add), body conv and the global skip (the head's output read three
    times), sub-pixel upsampler, and the tail conv on the HR frame, then the mean back."""

    def __init__(self, scale=2, n=8, blocks=2):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1))
        self.head = nn.Conv2d(3, n, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(n, n, 3, padding=1), nn.ReLU(),
                                                  nn.Conv2d(n, n, 3, padding=1)) for _ in range(blocks))
        self.body_end = nn.Conv2d(n, n, 3, padding=1)
        stages = [2, 2] if scale == 4 else [scale]   # x4 as two x2 stages, as EDSR writes it
        self.up = nn.Sequential(*[m for r in stages for m in (nn.Conv2d(n, n * r * r, 3, padding=1),
                                                              nn.PixelShuffle(r))])
        self.tail = nn.Conv2d(n, 3, 3, padding=1)

    def forward(self, x):
        x = self.head(x - self.mean)
        h = x
        for block in self.blocks:
            h = h + 0.1 * block(h)
        return self.tail(self.up(x + self.body_end(h))) + self.mean


class TinyLapSRN(nn.Module):
    """LapSRN's shape (Lai et al. 2017) at a small size, one level per x2: a feature branch (3x3
    convs with LeakyReLU(0.2), a 4x4 stride-2 ConvTranspose) and an image branch (a 4x4 stride-2
    ConvTranspose of the image), each level's output the upsampled image plus a conv of the
    upsampled features; the next level reads both."""

    def __init__(self, scale=2, n=8, depth=2):
        super().__init__()
        levels = {2: 1, 4: 2, 8: 3}[scale]
        self.head = nn.Conv2d(1, n, 3, padding=1)
        self.feat = nn.ModuleList(
            nn.Sequential(*[m for _ in range(depth) for m in (nn.Conv2d(n, n, 3, padding=1), nn.LeakyReLU(0.2))],
                          nn.ConvTranspose2d(n, n, 4, stride=2, padding=1), nn.LeakyReLU(0.2)) for _ in range(levels))
        self.res = nn.ModuleList(nn.Conv2d(n, 1, 3, padding=1) for _ in range(levels))
        self.img = nn.ModuleList(nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1) for _ in range(levels))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        f = self.act(self.head(x))
        for feat, res, img in zip(self.feat, self.res, self.img):
            f = feat(f)
            x = img(x) + res(f)
        return x


def randomize(model: nn.Module, seed: int = 0, slopes: tuple[float, float] = (-0.1, 0.4)) -> nn.Module:
    """Weights with realistic spread (and non-trivial PReLU slopes) so tests exercise them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "weight" in name and p.ndim == 1:  # PReLU slopes
                p.copy_(torch.rand(p.shape, generator=g) * (slopes[1] - slopes[0]) + slopes[0])
            elif p.ndim == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / fan_in) ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def export(model: nn.Module, path: Path, exporter: str, channels: int = 1, hw=(16, 20)) -> Path:
    from srhw.zoo.export import export_onnx

    return export_onnx(model, path, exporter, channels, hw, names=("x", "y"))


# ------------------------------------------------------------------------- onnx helpers
def make_model(nodes, inits: dict[str, np.ndarray], in_shape, out_shape, opset: int = 13,
               extra_opsets: dict[str, int] | None = None) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        initializer=[numpy_helper.from_array(np.asarray(v, dtype=np.float32 if np.asarray(v).dtype.kind == "f"
                                                        else np.int64), k) for k, v in inits.items()])
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in (extra_opsets or {}).items()]
    m = helper.make_model(graph, opset_imports=ops)
    m.ir_version = 8
    return m


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def ort_run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]


def pixels(c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """A uint8 test frame [c, h, w]: smooth content plus noise, full range."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 127.5 + 100 * np.sin(yy / 3.1 + np.arange(c)[:, None, None]) * np.cos(xx / 4.3)
    return np.clip(base + rng.normal(0, 20, (c, h, w)), 0, 255).astype(np.uint8)


def ort_pixels(path: Path, graph: ir.Graph, frame: np.ndarray) -> np.ndarray:
    """onnxruntime's output for a pixel frame, in pixel units and the model's output layout."""
    b = graph.boundary
    x = np.transpose(frame[None].astype(np.float64), [("N", "C", "H", "W").index(a) for a in b.input_layout])
    return ort_run(path, x * b.input_scale).astype(np.float64) * b.output_scale


def to_model_layout(y: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    """Canonical [1, C, H, W] -> the model's output layout (NHWC, squeezed unit axes, ...)."""
    z = y[0]
    names = ["C", "H", "W"]
    if "C" not in labels:
        if z.shape[0] != 1:
            raise ValueError(f"output layout {labels} has no channel axis but there are {z.shape[0]} channels")
        z, names = z[0], ["H", "W"]
    present = [a for a in labels if a in names]
    z = np.transpose(z, [names.index(a) for a in present])
    return z.reshape([z.shape[present.index(a)] if a in names else 1 for a in labels])


def assert_float_matches_ort(path: Path, graph: ir.Graph, frame: np.ndarray, tol: float = 1e-5) -> float:
    """Float IR vs onnxruntime: max error relative to the output's range must be <= tol."""
    ours = to_model_layout(float_exec.run(graph, frame[None].astype(np.float64))[graph.output], graph.boundary.output_layout)
    ref = ort_pixels(path, graph, frame)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    rel = float(np.abs(ours - ref).max() / max(float(ref.max() - ref.min()), 1e-12))
    assert rel <= tol, f"float IR differs from onnxruntime by {rel:.3g} of the output range"
    return rel


def compile_float(path: Path, **kw) -> ir.Graph:
    return run_pipeline(import_onnx(path), pipeline(**kw))


def quantized(exported, name: str, bits: int, method: str = "max", extra_frames=(), zero_points: bool = False):
    """(float graph, QGraph) of a factory model, calibrated on two small generated frames."""
    from srhw.quant import calibrate, quantize

    graph = compile_float(exported(name, "torchscript"))
    c = int(graph.inputs[0].shape[1])
    frames = [pixels(c, 24, 31, seed=s) for s in range(2)] + list(extra_frames)
    return graph, quantize(graph, calibrate(graph, frames), bits, bits, method, zero_points=zero_points)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """One folder of exports for the whole run: under pytest-xdist the workers share it (each
    worker's base folder sits in the run's), so a model is exported once, not once a worker."""
    base = tmp_path_factory.getbasetemp()
    d = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "models"
    d.mkdir(exist_ok=True)
    return d


# The tests simulate Verilator models on a few small frames, where compiling the model is most of
# the time: at -O0 a build takes about a third of the time it takes at Verilator's default -Os
# (simulation about twice as long). srhw.sim adds its own flags to MAKEFLAGS; OPT_* set by the
# caller win.
if "OPT_FAST" not in os.environ.get("MAKEFLAGS", ""):
    os.environ["MAKEFLAGS"] = f"{os.environ.get('MAKEFLAGS', '')} OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0".strip()

_CACHE: dict[tuple, Path] = {}


@pytest.fixture(scope="session")
def exported(model_dir):
    """exported(name, exporter) -> path of a cached export of one of the factory models."""
    factories = {
        "fsrcnn_x2": lambda: (TinyFSRCNN(2), 1),
        "fsrcnn_x3": lambda: (TinyFSRCNN(3, k=7), 1),
        "fsrcnn_x4": lambda: (TinyFSRCNN(4, k=9), 1),
        "fsrcnn_x2_odd": lambda: (TinyFSRCNN(2, output_padding=0), 1),  # 2H-1 output: needs a crop
        "fsrcnn_steep": lambda: (TinyFSRCNN(2), 1),  # PReLU slopes in [-0.5, 2]
        "espcn_x3": lambda: (TinyESPCN(3), 1),
        "espcn_x2_rgb": lambda: (TinyESPCN(2, channels=3, byte_io=False), 3),
        "srcnn": lambda: (TinySRCNN(), 1),
        "srcnn_935": lambda: (TinySRCNN(k2=3), 1, (24, 28)),
        "srcnn_955": lambda: (TinySRCNN(k2=5), 1, (24, 28)),
        "shuffle_crd": lambda: (ManualShuffle(2), 1),
        "shuffle_dcr_rgb": lambda: (ManualShuffle(3, channels=3, dcr=True), 3),
        "residual_rgb": lambda: (ResidualSR(), 3),
        "edsr_x2": lambda: (TinyEDSR(2), 3),
        "edsr_x3": lambda: (TinyEDSR(3), 3),
        "edsr_x4": lambda: (TinyEDSR(4), 3),
        "lapsrn_x2": lambda: (TinyLapSRN(2), 1),
        "lapsrn_x4": lambda: (TinyLapSRN(4), 1),
        "lapsrn_x8": lambda: (TinyLapSRN(8, depth=1), 1),
    }
    # seeds by a fixed order, new models at the end, so that adding one re-seeds no other
    seeds = ["edsr_x2", "edsr_x3", "edsr_x4", "espcn_x2_rgb", "espcn_x3", "fsrcnn_steep", "fsrcnn_x2",
             "fsrcnn_x2_odd", "fsrcnn_x3", "fsrcnn_x4", "residual_rgb", "shuffle_crd", "shuffle_dcr_rgb", "srcnn",
             "srcnn_935", "srcnn_955", "lapsrn_x2", "lapsrn_x4", "lapsrn_x8"]

    def get(name: str, exporter: str) -> Path:
        """Weights seeded by the model's name and exporter (not by the order tests ask), the
        export written once under a lock that every worker takes."""
        key = (name, exporter)
        if key not in _CACHE:
            path = model_dir / f"{name}_{exporter}.onnx"
            with FileLock(f"{path}.lock"):
                if not path.exists():
                    model, channels, *hw = factories[name]()
                    slopes = (-0.5, 2.0) if name == "fsrcnn_steep" else (-0.1, 0.4)
                    seed = 2 * seeds.index(name) + EXPORTERS.index(exporter)
                    tmp = path.with_suffix(".part")
                    export(randomize(model, seed=seed, slopes=slopes), tmp, exporter, channels, *hw)
                    os.replace(tmp, path)
            _CACHE[key] = path
        return _CACHE[key]

    get.names = sorted(factories)  # type: ignore[attr-defined]
    return get


# ---------------------------------------------------------------------------- CLI and images
def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """`srhw ARGS` in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "srhw.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def two_images(tmp_path_factory):
    """A folder of two small HR images from scikit-image: an RGB 76x64 crop and a gray 60x50 one."""
    from PIL import Image
    from skimage import data

    d = tmp_path_factory.mktemp("imgs")
    Image.fromarray(data.astronaut()[100:164, 150:226]).save(d / "astro.png")   # RGB, 76x64
    Image.fromarray(data.camera()[200:250, 220:280]).save(d / "camera.png")     # gray, 60x50
    return d
