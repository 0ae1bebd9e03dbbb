"""The golden model: executes the quantized IR on uint8 frames in exact integer arithmetic.

The integer semantics are docs/arithmetic.md. The package, in the order a reader needs it:

- `reference`: that page in int64 NumPy (no threads, no onnxruntime, no floats): the
  specification, and what the fast engine is tested against;
- `requant`: why the fast engine may compute in float32: the exactness bounds, and the epilogue
  (`Requant`) on exact floats;
- `kernels`: the fast convolution (GEMMs on strided views of a padded row chunk);
- `mlas`: the same convolutions on onnxruntime's MLAS kernels, and the blocked NCHWc layout
  between them;
- `buffers` and `threads`: the per-thread buffer pool and the row-chunk thread pool;
- `engine`: `run` and `execute`, which pick among the above layer by layer.

Bit-exact by construction: every engine gives the codes of `reference`.
"""
from srhw.golden.buffers import release_buffers
from srhw.golden.engine import ENGINES, execute, run
from srhw.golden.kernels import int_conv
from srhw.golden.mlas import MLAS_MIN_OUTPUTS
from srhw.golden.reference import epilogue
from srhw.golden.requant import exact_dtype

__all__ = ["ENGINES", "MLAS_MIN_OUTPUTS", "epilogue", "exact_dtype", "execute", "int_conv", "release_buffers", "run"]
