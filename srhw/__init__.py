"""srhw: compile trained super-resolution CNNs (ONNX) to bit-exact fixed-point hardware.

The Python API mirrors the CLI:

    import srhw
    result = srhw.compile("fsrcnn_x2", bits=8, out="build/fsrcnn")   # = srhw compile ... -o build/fsrcnn
    ir = srhw.load_ir("build/fsrcnn/ir.json")
    hr = srhw.run_golden(ir, lr_frame)                                # uint8 [C, H, W] -> uint8 [C, rH, rW]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from srhw.compiler import CompileResult, compile  # noqa: A004 - the API mirrors `srhw compile`
from srhw.errors import SrhwError
from srhw.qir import QGraph

__version__ = "0.1.0"
__all__ = ["compile", "CompileResult", "load_ir", "run_golden", "QGraph", "SrhwError", "__version__"]


def load_ir(path: str | Path) -> QGraph:
    """Loads an `ir.json` written by `srhw compile` (or the directory holding it)."""
    from srhw.qir import from_json

    p = Path(path)
    if p.is_dir():
        p = p / "ir.json"
    if not p.is_file():
        raise SrhwError(f"{p}: no such IR file")
    return from_json(p.read_text(encoding="utf-8"))


def run_golden(ir: QGraph | str | Path, frame: np.ndarray) -> np.ndarray:
    """Runs the bit-exact golden model on one uint8 frame ([C, H, W], or [H, W] for one channel)."""
    from srhw import golden

    return golden.run(ir if isinstance(ir, QGraph) else load_ir(ir), frame)
