"""A thread's scratch and frame buffers, kept from one frame to the next."""
from __future__ import annotations

import threading
import weakref

import numpy as np

POOL_BYTES = 256 << 20  # per thread: the most memory golden.run keeps for reuse between frames


class Buffers:
    """One thread's buffers, kept from one frame to the next.

    A fresh multi-megabyte array costs a page fault per 4 kB the first time it is written, and
    glibc hands large blocks back to the kernel when they are freed, so a frame that allocates its
    activations anew pays that again on every call: about a fifth of ESPCN x2's time on a 256x256
    frame, depending on what the process allocated before (docs/golden.md). Each buffer belongs
    to a role: a layer's output (reused only inside `run`, whose values never outlive it) or a row
    chunk's scratch (used and dropped within one chunk). At most POOL_BYTES per thread: when a
    buffer does not fit, those that earlier runs used and this one has not are dropped first
    (another model's), and if it still does not fit, it is allocated as usual."""

    def __init__(self) -> None:
        self.blocks: dict[str, np.ndarray] = {}
        self.used: dict[str, int] = {}   # role -> the run that last used it
        self.bytes = 0
        self.run = 0
        self.active = False   # inside run(): layer outputs may come from the pool


_LOCAL = threading.local()
_EVERY_POOL: weakref.WeakSet = weakref.WeakSet()   # every thread's, for release_buffers()


def local_buffers() -> Buffers:
    """This thread's Buffers."""
    pool = getattr(_LOCAL, "pool", None)
    if pool is None:
        pool = _LOCAL.pool = Buffers()
        _EVERY_POOL.add(pool)
    return pool


def buffer(role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of `shape` that this thread reuses for `role` (a prefix of one
    flat block, grown when a larger one is asked for)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    pool = local_buffers()
    block = pool.blocks.get(role)
    if block is None or block.nbytes < nbytes:
        if block is not None:
            pool.bytes -= pool.blocks.pop(role).nbytes
        for stale in sorted((r for r in pool.blocks if pool.used[r] < pool.run), key=pool.used.__getitem__):
            if pool.bytes + nbytes <= POOL_BYTES:
                break
            pool.bytes -= pool.blocks.pop(stale).nbytes
            del pool.used[stale]
        if pool.bytes + nbytes > POOL_BYTES:
            return np.empty(shape, dtype=dtype)
        block = pool.blocks[role] = np.empty(max(nbytes, 1), dtype=np.uint8)
        pool.bytes += block.nbytes
    pool.used[role] = pool.run
    return block[:nbytes].view(dtype).reshape(shape)


def frame_buffer(role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A layer's output array: pooled inside run(), fresh when a layer is executed on its own
    (its caller may keep the result)."""
    return buffer("frame:" + role, shape, dtype) if local_buffers().active else np.empty(shape, dtype=dtype)


def release_buffers() -> None:
    """Frees the buffers that every thread keeps between frames. Call it between runs only."""
    for pool in list(_EVERY_POOL):
        pool.blocks.clear()
        pool.used.clear()
        pool.bytes = 0

