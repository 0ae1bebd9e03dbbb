"""Frontends: model files -> the float IR."""
from srhw.frontend.onnx_import import import_onnx, load_onnx

__all__ = ["import_onnx", "load_onnx"]
