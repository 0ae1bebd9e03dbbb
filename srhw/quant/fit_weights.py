"""Error-compensating weight rounding (GPTQ-style) for one conv.

Rounding every weight to its nearest code treats the errors as independent; they are not: the
conv sums them over correlated inputs. This fit chooses the codes (on the grid the quantizer
already fixed: one step per (output, input) channel, `lo..hi` codes) and a continuous bias so
that the layer's pre-activation output on the calibration frames stays close to the float
layer's:

    minimise || W X_f + b - (Q X_q + b') ||^2  over codes Q and bias b'

where X_f are the float network's inputs of this conv and X_q the inputs the quantized network
so far actually produces (so the fit also absorbs upstream error, as the measured bias correction
does for the mean). Two steps:

1. least squares for continuous weights: W* = [W b] X_f X_q^T H^-1, with H = X_q X_q^T over
   the sampled positions (a constant 1 row carries the bias), diag(H) damped
   by a relative `DAMP` (a column that never sees a non-zero input gets its weight shrunk to 0);
2. Optimal-Brain-Quantization rounding (Frantar et al., GPTQ, 2022): weights are rounded one
   input column at a time, in order of decreasing diag(H), and each rounding error is spread
   over the columns not yet rounded through the Cholesky factor of H^-1. The bias column comes
   last and is never rounded here (it is rounded once at the accumulator's frac, like any bias).

A weight outside the `keep` mask gets code 0 whatever the fit wants, and its whole value goes
into the error spread over later columns (as SparseGPT, Frantar & Alistarh 2023, prunes). With
`--weight-rounding gptq-sparse` the quantizer keeps only the weights whose nearest code is
non-zero, so the hardware never needs more multipliers than with nearest rounding. Without a
mask the fit may give any weight a non-zero code, also the sub-pixel taps a ConvTranspose lacks
(zero in the model): that buys PSNR and costs multipliers (bench/weight_rounding.py).

Only the codes and the bias change: formats, accumulator fracs and the certificate are derived
from the result exactly as for nearest rounding.
"""
from __future__ import annotations

import numpy as np

from srhw.fixed import conv_out_size

DAMP = 1e-6          # damping of H, relative to each column's own diagonal (numerical only)
DAMPING_LADDER = (DAMP, 1e-4, 1e-2, 1.0)  # tried in turn where the damped H^-1 has no Cholesky factor
SAMPLES_PER_FRAME = 4096  # output positions drawn per calibration frame (all when fewer)


def patches(x: np.ndarray, kh: int, kw: int, pads: tuple[int, int, int, int], idx: np.ndarray,
            ones: bool = False) -> np.ndarray:
    """im2col rows of x [C, H, W] at the flattened output positions idx: [C*kh*kw, len(idx)],
    ordered as a weight [O, C, kh, kw] flattens; with `ones`, a last row of ones (the bias)."""
    t, left, b, r = pads
    xp = np.pad(x, ((0, 0), (t, b), (left, r)))
    c, wo = x.shape[0], xp.shape[2] - kw + 1
    n = c * kh * kw
    out = np.empty((n + ones, idx.size), dtype=xp.dtype)
    # one gather: row (c, u, v) reads the flat padded frame at position + u * pitch + v
    top_left = (idx // wo) * xp.shape[2] + idx % wo
    taps = (np.arange(kh)[:, None] * xp.shape[2] + np.arange(kw)[None, :]).reshape(-1)
    # every index is inside the frame; mode="clip" writes straight into `out` (no buffering)
    np.take(xp.reshape(c, -1), taps[:, None] + top_left[None, :], axis=1, mode="clip",
            out=out[:n].reshape(c, kh * kw, idx.size))
    if ones:
        out[n] = 1.0
    return out


def target_of(w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[W b]: the float layer as one matrix over im2col rows with a trailing constant 1 row."""
    return np.hstack([w.reshape(w.shape[0], -1), b.reshape(-1, 1)])


def gram(xs_f: list[np.ndarray], xs_q: list[np.ndarray], w: np.ndarray, b: np.ndarray,
         pads: tuple[int, int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """H = X_q X_q^T and [W b] X_f X_q^T (a trailing constant 1 row in X), over sampled positions.

    The second is formed as ([W b] X_f) X_q^T: O*n*N multiplies instead of the n*n*N of X_f X_q^T."""
    rng = np.random.default_rng(seed)
    kh, kw = w.shape[2:]
    target = target_of(w, b)
    n = target.shape[1]
    h = np.zeros((n, n))
    tc = np.zeros_like(target)
    for xf, xq in zip(xs_f, xs_q):
        ho, wo = conv_out_size(xq.shape[1], xq.shape[2], kh, kw, pads)
        m = ho * wo
        idx = np.sort(rng.choice(m, SAMPLES_PER_FRAME, replace=False)) if m > SAMPLES_PER_FRAME else np.arange(m)
        pq = patches(xq, kh, kw, pads, idx, ones=True)  # codes x powers of two: H is exact
        h += pq @ pq.T
        tc += (target @ patches(xf, kh, kw, pads, idx, ones=True)) @ pq.T
    return h, tc


def fit(w: np.ndarray, h: np.ndarray, tc: np.ndarray, step: np.ndarray, lo: int, hi: int,
        keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Codes [O, C, kh, kw] (integers, weight = code * step) and the continuous bias [O], from
    the statistics `gram` returns. w gives the shape; step: [O, C] real weight step of each
    (output, input) channel slice; keep: bool [O, C, kh, kw], the weights that may be non-zero
    (default: all)."""
    o, c, kh, kw = w.shape
    n = c * kh * kw
    # round columns by decreasing diag(H); the bias column stays last and continuous
    order = np.concatenate([np.argsort(-np.diag(h)[:n], kind="stable"), [n]])
    wls, u = _solve(h, tc, order)
    steps = np.hstack([np.repeat(step, kh * kw, axis=1), np.ones((o, 1))])
    wk = wls[:, order].copy()
    sk = steps[:, order]
    kk = np.ones((o, n + 1), dtype=bool) if keep is None else \
        np.hstack([keep.reshape(o, n), np.ones((o, 1), dtype=bool)])[:, order]
    codes = np.zeros((o, n))
    for j in range(n):
        q = np.where(kk[:, j], np.clip(np.floor(wk[:, j] / sk[:, j] + 0.5), lo, hi), 0.0)
        codes[:, j] = q
        err = (wk[:, j] - q * sk[:, j]) / u[j, j]
        wk[:, j + 1:] -= np.outer(err, u[j, j + 1:])
    out = np.empty((o, n))
    out[:, order[:n]] = codes
    return out.reshape(o, c, kh, kw).astype(np.int64), wk[:, n]



def _solve(h: np.ndarray, tc: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The continuous least-squares weights and the upper Cholesky factor of the damped H^-1 (in
    `order`). H is a Gram matrix, positive semi-definite; inputs that are (nearly) collinear or
    never non-zero leave it so ill-conditioned that the computed inverse is not positive definite
    in floating point (seen on a LapSRN x4 level at its architecture's initialisation). The damping
    then grows, relative to each column's diagonal and to the mean diagonal, until the factor
    exists: ridge regularisation, which only moves the fitted weights toward zero, never the grid."""
    d = np.diag(h)
    for k, damp in enumerate(DAMPING_LADDER):
        extra = damp * d + 1e-12 * (float(d.max()) + 1.0) + (damp * float(d.mean()) if k else 0.0)
        hd = h + np.diag(extra)
        try:
            wls = np.linalg.solve(hd, tc.T).T                          # least squares, continuous
            u = np.linalg.cholesky(np.linalg.inv(hd[np.ix_(order, order)])).T   # upper: H^-1 = U^T U
        except np.linalg.LinAlgError:
            continue
        return wls, u
    raise np.linalg.LinAlgError(f"the damped Gram matrix has no Cholesky factor even at {DAMPING_LADDER[-1]} "
                                "relative damping")
