"""Backends: code generators that read the quantized IR (srhw.qir)."""
