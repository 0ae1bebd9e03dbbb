"""The fast convolution: exact float codes, GEMMs on strided views, row chunks on every core.

Convolutions run on a flat zero-padded buffer: tap (u, v) of every output pixel is one
contiguous slice of it, so each tap is a GEMM on a strided view (no im2col for wide inputs),
done in row chunks that stay in cache together with their epilogue. The GEMMs run on NumPy's
BLAS, or on whatever `gemm` a caller passes (srhw.golden.mlas.gemm: onnxruntime's SGEMM).
"""
from __future__ import annotations

import numpy as np

from srhw.fixed import conv_out_size
from srhw.float_exec import check_frame_size
from srhw.golden import reference
from srhw.golden.buffers import buffer, frame_buffer
from srhw.golden.requant import exact_dtype
from srhw.golden.threads import for_row_chunks

IM2COL_MAX_K = 256     # stack taps into one GEMM when Cin*kh*kw is at most this


def numpy_gemm(role: str, a: np.ndarray):
    """mm(b, out): out = a @ b on NumPy's BLAS (`role` names the GEMM for engines that keep one
    per shape)."""
    a = np.ascontiguousarray(a)

    def mm(b: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.matmul(a, b, out=out)

    return mm


def int_conv(x: np.ndarray, w: np.ndarray, pads: tuple[int, int, int, int], bound: int,
             pad: np.ndarray | None = None) -> np.ndarray:
    """Exact correlation of integer codes x [Cin, H, W] with w [Cout, Cin, kh, kw] -> int64 (no
    bias); the border holds `pad[c]` in channel c (default 0). `bound`: the largest magnitude of
    any partial sum, which picks the float type that holds them exactly (int64 beyond)."""
    dtype = exact_dtype(bound)
    if dtype is None:
        return reference.conv(x.astype(np.int64), w, pads, pad)
    cout = w.shape[0]
    zero = np.zeros((cout, 1), dtype=dtype)
    return conv(x.astype(dtype), w.astype(dtype), zero, pads, lambda z: z, pad).astype(np.int64)


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, pads: tuple[int, int, int, int], finish,
         pad: np.ndarray | None = None, role: str | None = None, out_dtype=None,
         gemm=numpy_gemm) -> np.ndarray:
    """Correlation + bias on exact float codes, `finish` applied per contiguous row chunk.

    Each row chunk copies its rows of the padded frame (`pad[c]` in channel c's border, default
    0; the kh - 1 halo rows included) into one flat buffer of row pitch wp; output pixel
    i = y*wp + x reads tap (u, v) at flat index i + u*wp + v, so a tap is a contiguous slice
    (columns x >= OW of each row are spill-over and dropped). Three GEMM shapes, by what is
    cheapest: 1x1 without padding: one GEMM; few input taps (Cin*kh*kw small): taps stacked
    (im2col); fewer outputs than inputs (the sub-pixel conv): one GEMM for all taps, then shifted
    adds. Row chunks are independent and write disjoint rows, so they run on a thread pool
    (NumPy and BLAS release the GIL). `role`: the output's buffer in run()'s pool (None: fresh).
    `gemm(role, a)`: the matrix multiplier for the constant matrix a (numpy_gemm, mlas.gemm).
    """
    cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    t, l, _, r = pads
    wp = wd + l + r
    oh, ow = conv_out_size(h, wd, kh, kw, pads)
    check_frame_size(h, wd, oh, ow)
    dtype = w.dtype   # x may hold its codes in a narrower integer type: the row copies widen them
    shape, out_dtype = (cout, oh, ow), out_dtype or dtype
    out = frame_buffer(role, shape, out_dtype) if role else np.empty(shape, dtype=out_dtype)
    if kh == kw == 1 and not any(pads):
        flat = x.reshape(cin, -1)
        mm = gemm("1x1", w.reshape(cout, cin))

        def chunk_1x1(r0: int, r1: int) -> None:
            cols = flat[:, r0 * wd: r1 * wd]
            if cols.dtype != dtype:   # widened chunk by chunk, in cache
                wide = buffer("cols", cols.shape, dtype)
                wide[...] = cols
                cols = wide
            z = mm(cols, buffer("z", (cout, (r1 - r0) * wd), dtype))
            z += b
            out[:, r0:r1] = finish(z).reshape(cout, r1 - r0, wd)

        for_row_chunks(oh, wd, chunk_1x1)
        return out
    fill = np.zeros((cin, 1, 1), dtype=dtype) if pad is None else np.asarray(pad, dtype=dtype).reshape(cin, 1, 1)
    offsets = [u * wp + v for u in range(kh) for v in range(kw)]

    def rows_of(r0: int, r1: int) -> tuple[np.ndarray, int]:
        """The chunk's padded input rows, flat, with one spare row for the last row's spill-over."""
        buf = halo_rows(x, fill, r0, r1, kh, t, l, r, spare=1, dtype=dtype)
        return buf.reshape(cin, -1), (r1 - r0) * wp

    if cin * kh * kw <= IM2COL_MAX_K:
        wm = np.concatenate([w.transpose(0, 2, 3, 1).reshape(cout, -1), b], axis=1)   # bias as a last column
        mm = gemm("im2col", wm)

        def chunk(r0: int, r1: int) -> None:
            xf, n = rows_of(r0, r1)
            cols = buffer("cols", (len(offsets) * cin + 1, n), dtype)
            for i, off in enumerate(offsets):
                cols[i * cin: (i + 1) * cin] = xf[:, off: off + n]
            cols[-1] = 1
            z = mm(cols, buffer("z", (cout, n), dtype))
            out[:, r0:r1] = finish(z).reshape(cout, r1 - r0, wp)[:, :, :ow]
    elif cout < cin:
        mm = gemm("stacked", w.transpose(2, 3, 0, 1).reshape(kh * kw * cout, cin))

        def chunk(r0: int, r1: int) -> None:
            xf, n = rows_of(r0, r1)   # the whole buffer: a GEMM input must be contiguous
            y = mm(xf, buffer("taps", (kh * kw * cout, xf.shape[1]), dtype))
            z = buffer("z", (cout, n), dtype)
            z[...] = b
            for i, off in enumerate(offsets):
                z += y[i * cout: (i + 1) * cout, off: off + n]
            out[:, r0:r1] = finish(z).reshape(cout, r1 - r0, wp)[:, :, :ow]
    else:
        taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1).reshape(kh * kw, cout, cin))

        def chunk(r0: int, r1: int) -> None:
            xf, n = rows_of(r0, r1)
            z = np.matmul(taps[0], xf[:, offsets[0]: offsets[0] + n], out=buffer("z", (cout, n), dtype))
            tmp = buffer("tap", (cout, n), dtype)
            for i in range(1, len(offsets)):
                np.matmul(taps[i], xf[:, offsets[i]: offsets[i] + n], out=tmp)
                z += tmp
            z += b
            out[:, r0:r1] = finish(z).reshape(cout, r1 - r0, wp)[:, :, :ow]

    for_row_chunks(oh, wp, chunk)
    return out


def halo_rows(x: np.ndarray, fill: np.ndarray, r0: int, r1: int, kh: int, t: int, l: int, r: int,
              spare: int = 0, *, dtype) -> np.ndarray:
    """Rows r0 .. r1 + kh - 2 of frame x [Cin, H, W] padded by t rows on top and l, r columns
    (`fill` [Cin, 1, 1] in the border, and in `spare` extra rows at the end), as this thread's
    [Cin, rows + spare, l + W + r] scratch buffer. A blocked frame [Cin/B, H, W, B] (with `fill`
    [Cin/B, 1, 1, B]) gives [Cin/B, rows + spare, l + W + r, B], of `dtype` (the copy converts
    x's codes, which may be held in a narrower integer type)."""
    h, wd = x.shape[1:3]
    buf = buffer("rows", (x.shape[0], r1 - r0 + kh - 1 + spare, l + wd + r) + x.shape[3:], dtype)
    top, end = max(r0 - t, 0), min(r1 + kh - 1 - t, h)   # the frame rows among them
    a, e = top + t - r0, max(end + t - r0, top + t - r0)
    buf[:, :a] = fill
    buf[:, e:] = fill
    buf[:, a:e, :l] = fill
    buf[:, a:e, l + wd:] = fill
    buf[:, a:e, l: l + wd] = x[:, top:end]
    return buf
