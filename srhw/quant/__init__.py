"""Post-training quantization of the canonical float IR to the quantized IR."""
from srhw.quant.calibrate import CalibrationStats, calibrate
from srhw.quant.quantize import METHODS, quantize

__all__ = ["CalibrationStats", "calibrate", "quantize", "METHODS"]
