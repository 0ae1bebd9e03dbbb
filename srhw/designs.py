"""Quantized designs for the commands that run a model (`srhw upscale`): a compiled output
directory taken as it is, or a model compiled once and kept in a cache.

The cache holds the quantized IR (`ir.json`) under a key made of everything the quantizer's
result depends on: the ONNX file's bytes, the calibration images' names and bytes (or the shipped
set's), the bit width, and srhw's own source code (so a changed quantizer never serves an old
result). It lives in $SRHW_CACHE_DIR, else $XDG_CACHE_HOME/srhw, else ~/.cache/srhw; entries are
written whole (srhw.outputs) and a damaged one is recompiled. The float graph is rebuilt from the
ONNX file each time (the frontend and passes take milliseconds).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from srhw import ir
from srhw.errors import SrhwError, UsageError
from srhw.qir import QGraph, from_json, to_json

FORMAT = 1  # bump when the key or the entry changes


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


def _source_digest() -> str:
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def cache_key(model_path: Path, bits: int, calib_folder: Path) -> str:
    from srhw.imaging import list_images

    h = hashlib.sha256(f"srhw-design {FORMAT} bits {bits}\n".encode())
    h.update(_source_digest().encode())
    h.update(Path(model_path).read_bytes())
    if calib_folder.is_dir():
        for p in list_images(calib_folder):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:32]


def design(model, bits: int, calib=None, use_cache: bool = True) -> Design:
    """The W{bits}A{bits} design of `model` (an ONNX file, a zoo name or a compiled directory)."""
    import srhw
    from srhw.compiler import resolve_model, upscales
    from srhw.frontend import import_onnx
    from srhw.outputs import write_file
    from srhw.passes import pipeline, run_pipeline
    from srhw.resources import calib_dir

    if is_compiled_dir(model):
        return Design(srhw.load_ir(model), None, "compiled directory")
    path = resolve_model(model)
    entry = None
    if use_cache and path.is_file():
        graph = run_pipeline(import_onnx(path), pipeline("auto", "auto"))  # type: ignore[arg-type]
        folder = calib_dir(upscales(graph)) if calib is None else Path(calib)
        entry = cache_dir() / f"{cache_key(path, bits, folder)}.json"
    if entry is not None and entry.is_file():
        try:
            return Design(from_json(entry.read_text(encoding="utf-8")), graph, "cache")
        except (SrhwError, ValueError, KeyError, OSError):
            pass  # a damaged entry: compile again and replace it
    r = srhw.compile(model, bits=bits, calib=calib, progress=False, hls=False)
    if entry is not None:
        try:
            write_file(entry, to_json(r.qgraph), "the design cache")
        except UsageError:
            pass  # an unwritable cache only costs the next call a compile
    return Design(r.qgraph, r.float_graph, "compiled now")
