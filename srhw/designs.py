"""The quantization cache, and the designs of the commands that run a model (`srhw upscale`,
`srhw eval`): a compiled output directory taken as it is, or a model compiled (or found in the cache).

Quantizing a model is most of a compile (the calibration pass and one error-compensating weight
fit per conv and calibration method: seconds for FSRCNN, minutes for EDSR), and its result depends
on nothing that `srhw compile`'s hardware flags change. So `srhw.compile` keeps the quantized IR
(`ir.json`'s text) under a key made of everything the quantizer's result depends on: the ONNX
file's bytes, the calibration images' names and bytes (the shipped set's by default), the options
that quantize (CompileOptions.quantization), srhw's own source code (so a changed quantizer never
serves an old result) and the numpy and onnxruntime versions that computed it. A second compile
of the same model for another board, rate or backend starts from there. It lives in
$SRHW_CACHE_DIR, else $XDG_CACHE_HOME/srhw, else ~/.cache/srhw; entries are written whole
(srhw.outputs), a damaged one is quantized again, and `--no-cache` (`cache=False`) always
quantizes. The float graph is rebuilt from the ONNX file each time (the frontend and passes take
milliseconds).
"""
from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from srhw import ir
from srhw.errors import SrhwError, UsageError
from srhw.options import CompileOptions
from srhw.qir import QGraph, from_json, to_json

FORMAT = 2  # bump when the key or the entry changes


@dataclass(frozen=True)
class Design:
    qgraph: QGraph
    float_graph: ir.Graph | None  # None: a compiled directory (no float model beside it)
    source: str  # "compiled directory", "cache" or "compiled now"


def is_compiled_dir(model) -> bool:
    p = Path(str(model))
    return p.is_dir() and (p / "ir.json").is_file()


def cache_dir() -> Path:
    if os.environ.get("SRHW_CACHE_DIR"):
        return Path(os.environ["SRHW_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "srhw"


@functools.cache
def _source_digest() -> str:
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def quantization_key(model_path: Path, opts: CompileOptions, calib_folder: Path) -> str:
    """The cache key of `model_path` quantized with `opts` on the images of `calib_folder`."""
    import numpy
    import onnxruntime

    from srhw.imaging import list_images

    fields = tuple((k, None if k == "calib" else v) for k, v in opts.quantization())  # the images count, not their folder
    h = hashlib.sha256(f"srhw-quantization {FORMAT} numpy {numpy.__version__} onnxruntime "
                       f"{onnxruntime.__version__}\n{fields!r}\n".encode())
    h.update(_source_digest().encode())
    h.update(Path(model_path).read_bytes())
    for p in list_images(calib_folder):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:32]


def cached(key: str) -> QGraph | None:
    """The quantized graph kept under `key`, or None (none kept, or a damaged entry)."""
    entry = cache_dir() / f"{key}.json"
    try:
        return from_json(entry.read_text(encoding="utf-8")) if entry.is_file() else None
    except (SrhwError, ValueError, KeyError, OSError):
        return None  # a damaged entry: the caller quantizes again and replaces it


def keep(key: str, q: QGraph) -> None:
    from srhw.outputs import write_file

    try:
        write_file(cache_dir() / f"{key}.json", to_json(q), "the quantization cache")
    except UsageError:
        pass  # an unwritable cache only costs the next compile its quantization


def design(model, bits: int, calib=None, use_cache: bool = True) -> Design:
    """The W{bits}A{bits} design of `model` (an ONNX file, a zoo name or a compiled directory)."""
    import srhw

    if is_compiled_dir(model):
        return Design(srhw.load_ir(model), None, "compiled directory")
    # the default width is not passed as a choice: a model quantized already refuses any
    width = {"bits": bits} if bits != 8 else {}
    r = srhw.compile(model, calib=calib, progress=False, hls=False, cache=use_cache, **width)
    return Design(r.qgraph, r.float_graph, "cache" if r.from_cache else "compiled now")
