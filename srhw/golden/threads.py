"""Row-chunk threading: the golden model's convolutions split each frame into row chunks that
run on every core (NumPy, BLAS and onnxruntime release the GIL), with BLAS's own threads off."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

CHUNK_COLUMNS = 8192   # output pixels per GEMM chunk: accumulators stay cache-resident

_POOL: ThreadPoolExecutor | None = None
_BLAS = None


def blas_single_threaded():
    """Row chunks already use every core: BLAS's own threads would only oversubscribe them."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def cores() -> int:
    """The cores this process may run on (taskset and cpusets included)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def for_row_chunks(rows: int, pitch: int, fn) -> None:
    """Calls fn(r0, r1) over row chunks of at most about CHUNK_COLUMNS pixels, on all cores.
    The chunk count is a multiple of the worker count, so that every core gets the same share."""
    global _POOL
    n = cores()
    count = -(-rows * max(pitch, 1) // CHUNK_COLUMNS)
    count = min(rows, -(-count // n) * n)
    step = -(-rows // count)
    spans = [(r0, min(rows, r0 + step)) for r0 in range(0, rows, step)]
    workers = min(n, len(spans))
    if workers <= 1:
        for span in spans:
            fn(*span)
        return
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(n - 1, 1), thread_name_prefix="srhw-golden")
    queue, lock = iter(spans), threading.Lock()

    def drain() -> None:
        while True:
            with lock:
                span = next(queue, None)
            if span is None:
                return
            fn(*span)

    # the calling thread takes chunks too: one thread fewer to wake, and none left waiting idle
    helpers = [_POOL.submit(drain) for _ in range(workers - 1)]
    try:
        drain()
    finally:
        for f in helpers:
            f.result()

