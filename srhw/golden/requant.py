"""The requantizer on exact floats, and the arguments that make it exact.

A layer computes in float32 (or float64) wherever its certificate proves every intermediate is
an integer below 2**24 (2**53): then each float add, power-of-two scale and floor is exact, and
the accumulator can be summed in any order (BLAS, MLAS, threads). `prepared(layer)` works out,
once per conv, that float type, the epilogue (`Requant`) and the weights and bias scaled for
it; layers for which no float type is exact run on srhw.golden.reference in int64.
"""
from __future__ import annotations

import weakref

import numpy as np

from srhw.fixed import epilogue_shift
from srhw.golden.buffers import buffer
from srhw.qir import ClipAct, PReluAct, QAct, QConv, ReluAct, TanhAct

F32_EXACT = 1 << 24
F64_EXACT = 1 << 53
TANH_TABLE_MAX = 1 << 15   # entries of an extended tanh table (int16 indexes)


def exact_dtype(bound: int) -> type | None:
    """The float type in which every integer of magnitude <= bound is exact, if any."""
    return np.float32 if bound < F32_EXACT else np.float64 if bound < F64_EXACT else None


def code_dtype(lo: int, hi: int, dtype):
    """The narrowest integer type that holds every code in [lo, hi]; `dtype` if none does."""
    for t in (np.int8, np.uint8, np.int16, np.uint16):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return dtype


def exact_where_unsaturated(s2: np.ndarray, d_acc: np.ndarray, out_fmt, zero: np.ndarray | None) -> bool:
    """Whether PReLU's negative branch N = z*k + d may run in float32 although its products can
    exceed 2^24 units (s2: its shift per channel, d_acc: d in units of 2^-s2, zero: the output's
    zero points).

    The exact N is a multiple of 2^-s2, and float32 holds every such value below 2^(24 - s2).
    The output clip(floor(N) + zero, lo, hi) depends on N's exact value only where
    A = lo - zero < N < hi - zero = B; at or beyond A or B it is lo or hi whatever N is. If every
    channel has |A|, |B| (+1) and |d| below 2^(24 - s2), then wherever the exact N lies in (A, B),
    z*k (|z*k| <= |N| + |d|) and N are exact; and where the exact N <= A, the thresholds A - d and
    A are exact floats, so rounding, which is monotone, gives fl(z*k) <= A - d and then a float
    N <= A (B likewise). The branch chosen by max/min (see __call__) commutes with this monotone
    map, so the codes are the exact ones; tests/test_golden.py checks it against srhw.golden.reference
    on accumulators that sweep the saturation thresholds."""
    zero = np.zeros_like(s2) if zero is None else np.asarray(zero, dtype=np.int64).reshape(-1, 1)
    reach = np.maximum(np.abs(out_fmt.lo - zero), np.abs(out_fmt.hi - zero)) + 1
    return bool(np.all(reach + np.abs(d_acc) * np.ldexp(1.0, -s2) < np.ldexp(1.0, 24 - s2)))


class Requant:
    """A layer's epilogue precomputed for exact float execution.

    The accumulator is produced already scaled: z = (acc + half) * 2^-s per channel (weights
    and bias carry the power of two, the bias the rounding half), so rs(acc, s) = floor(z).
    PReLU's negative branch rs(acc*slope, s + fs) is floor(z*k + d) with k = slope * 2^-fs and
    d = (half2 - half*slope) * 2^-(s+fs); it runs in float64 when its products need it.
    """

    def __init__(self, acc_frac: np.ndarray, act: QAct, out_fmt, out_frac: np.ndarray, acc_bound: int, dtype,
                 zero: np.ndarray | None = None) -> None:
        s = epilogue_shift(np.asarray(acc_frac, dtype=np.int64).reshape(-1, 1), act,
                           np.asarray(out_frac, dtype=np.int64).reshape(-1, 1))
        half = np.where(s > 0, np.ldexp(1.0, np.maximum(s - 1, 0)), 0.0)
        self.dtype = dtype
        self.code_dtype = code_dtype(out_fmt.lo, out_fmt.hi, dtype)   # the output frame's type
        self.scale = np.ldexp(1.0, -s)              # multiplies weights (per output row) and bias
        self.half = half
        self.pre_add = half                         # added to the accumulator before the shift
        self.indexes = False                        # tanh: z comes out as the table index
        self.act = act
        lo, hi = out_fmt.lo, out_fmt.hi
        if isinstance(act, ReluAct):
            lo = max(lo, 0)
        elif isinstance(act, ClipAct):
            lo = np.maximum(lo, act.lo.reshape(-1, 1)).astype(dtype)
            hi = np.minimum(hi, act.hi.reshape(-1, 1)).astype(dtype)
        elif isinstance(act, TanhAct):
            # The table index is floor(z) - lo. Where every channel shifts right, -lo arrives
            # through the bias (-lo * 2^s in accumulator units), and since truncating a
            # non-negative float is floor, the float-to-int copy gives the index. Saturation:
            # where the certificate bounds the index to a few thousand entries either side, the
            # table is extended by its end values over all of them (no clip); else the index is
            # clipped to the table first (_indexes).
            lo, hi = act.lut_fmt.lo, act.lut_fmt.hi
            self.indexes = folds_offset(act, s)
            self.extension = tanh_extension(acc_bound, s.ravel(), act) if self.indexes else None
            below, above = self.extension or (0, 0)
            if self.indexes:
                self.pre_add = half + (below - lo) * np.ldexp(1.0, s)
            table = act.lut.astype(self.code_dtype)
            self.table = np.concatenate([np.full(below, table[0]), table, np.full(above, table[-1])]).astype(table.dtype)
            self.index_dtype = np.int16 if self.table.size <= 1 << 15 else np.int32  # gathers faster
        self.lo, self.hi = lo, hi
        # the zero point, added to the rounded code before the saturation (None: all 0)
        self.zero = None if zero is None or not np.any(zero) else np.asarray(zero, dtype=dtype).reshape(-1, 1)
        if isinstance(act, PReluAct):
            slope = act.slope.reshape(-1, 1).astype(np.float64)
            s2 = s + act.slope_fmt.frac
            half2 = np.where(s2 > 0, np.ldexp(1.0, np.maximum(s2 - 1, 0)), 0.0)
            bound = (acc_bound + float(half.max())) * float(np.abs(slope).max()) + float(half2.max()) + \
                float(half.max()) * float(np.abs(slope).max())
            self.neg_dtype = exact_dtype(int(bound) + 1) or np.float64
            if dtype == np.float32 and self.neg_dtype != np.float32 and \
                    exact_where_unsaturated(s2, half2 - half * slope, out_fmt, zero):
                self.neg_dtype = np.float32
            self.k = (slope * np.ldexp(1.0, -act.slope_fmt.frac)).astype(self.neg_dtype)
            self.d = ((half2 - half * slope) * np.ldexp(1.0, -s2)).astype(self.neg_dtype)
            # Rounding half up is monotone, so for slope <= 1 the branch PReLU takes is always the
            # larger of the two rounded values, and for slope >= 1 the smaller: no masks needed.
            self.steep = np.flatnonzero(act.slope > (1 << act.slope_fmt.frac)).tolist()

    def __call__(self, z: np.ndarray) -> np.ndarray:
        if isinstance(self.act, PReluAct):
            # floor is monotone: max(floor a, floor b) = floor(max(a, b)), and likewise for min
            zn = z if self.neg_dtype == z.dtype else z.astype(self.neg_dtype)
            y = np.multiply(zn, self.k, out=buffer("prelu", zn.shape, zn.dtype))
            y += self.d
            steep = [(c, np.minimum(y[c], zn[c])) for c in self.steep]  # slope > 1: the smaller branch
            np.maximum(y, zn, out=y)
            for c, row in steep:
                y[c] = row
            np.floor(y, out=y)
            if self.zero is not None:
                y += self.zero
            np.clip(y, self.lo, self.hi, out=y)
            return y if y.dtype == z.dtype else y.astype(z.dtype)
        if isinstance(self.act, TanhAct):
            return np.take(self.table, self._indexes(z), mode="wrap", out=buffer("lookup", z.shape, self.table.dtype))
        y = np.floor(z, out=z)
        if self.zero is not None:
            y += self.zero
        np.clip(y, self.lo, self.hi, out=y)
        return y

    def _indexes(self, z: np.ndarray) -> np.ndarray:
        """tanh: the table index of each accumulator (see __init__), every one in range, so that
        take's "wrap" mode skips the bounds checks of its default "raise". z is this chunk's own
        accumulator, free to overwrite."""
        idx = z if self.indexes else np.subtract(np.floor(z, out=z), self.lo, out=z)
        if self.extension is None:   # else every index is in the extended table already
            np.clip(idx, 0, self.table.size - 1, out=idx)  # saturation; then truncation is floor
        codes = buffer("index", idx.shape, self.index_dtype)
        np.copyto(codes, idx, casting="unsafe")
        return codes

    def lookup_into(self, z: np.ndarray, dest: np.ndarray) -> None:
        """tanh's codes of z written straight into dest (z's shape, each dest[i] contiguous: the
        channel blocks of a blocked frame's rows), without a scratch copy in between."""
        codes = self._indexes(z)
        for i in range(dest.shape[0]):
            np.take(self.table, codes[i], mode="wrap", out=dest[i])


_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # QConv -> prepared(QConv)


def prepared(layer: QConv) -> tuple:
    """(dtype, epilogue, w, b): the float type in which the conv is exact, its Requant and its
    weights and bias scaled for it (all None where it runs in int64). Worked out once per layer
    (layers are frozen), not on every frame: 0.4 of ESPCN x2's 0.8 ms of fixed cost per frame."""
    prep = _PREPARED.get(layer)
    if prep is None and (layer.mult is not None or layer.rounding != "half_up"):
        prep = _PREPARED[layer] = (None, None, None, None)   # a model's own grids: int64 (reference)
    if prep is None:
        acc_bound = layer.cert.acc_bound
        dtype = exact_dtype(acc_bound + half_max(layer.acc_frac, layer.act, layer.out_frac, acc_bound))
        prep = (None, None, None, None)
        if dtype is not None:
            rq = Requant(layer.acc_frac, layer.act, layer.out_fmt, layer.out_frac, acc_bound, dtype, layer.out_zero)
            w = (layer.weight * rq.scale.reshape(-1, 1, 1, 1)).astype(dtype)
            b = ((layer.bias.reshape(-1, 1) + rq.pre_add) * rq.scale).astype(dtype)
            prep = (dtype, rq, w, b)
        _PREPARED[layer] = prep
    return prep


def half_max(acc_frac: np.ndarray, act: QAct, out_frac: np.ndarray, acc_bound: int) -> int:
    """The largest magnitude the epilogue adds to an accumulator before its shift: the rounding
    half, and for tanh the table offset -lo, plus the table's extension below (tanh_extension),
    in accumulator units, so scaled up by the shift."""
    shifts = epilogue_shift(np.asarray(acc_frac), act, np.asarray(out_frac))
    shift = int(np.max(shifts))
    offset = 0
    if folds_offset(act, shifts):
        below = (tanh_extension(acc_bound, shifts.ravel(), act) or (0, 0))[0]
        offset = (abs(act.lut_fmt.lo) + below) << shift
    return (1 << max(shift - 1, 0)) + offset


def tanh_extension(acc_bound: int, shifts: np.ndarray, act: QAct) -> tuple[int, int] | None:
    """(below, above): the entries a tanh table needs before and after its own so that every
    index floor((acc + half) * 2^-s) - lo of an accumulator |acc| <= acc_bound lands inside it
    (they repeat its end values, which is the saturation). None where the extended table would
    exceed TANH_TABLE_MAX entries, or its offset would cost the float32 exactness that the plain
    table has (then the epilogue clips the index instead)."""
    lo, size = act.lut_fmt.lo, act.lut.size
    shifts = sorted(set(np.asarray(shifts).tolist()))   # a few distinct shifts among many channels
    halves = [(1 << (s - 1)) if s > 0 else 0 for s in shifts]
    first = min(((-acc_bound + h) >> s) - lo for s, h in zip(shifts, halves))
    last = max(((acc_bound + h) >> s) - lo for s, h in zip(shifts, halves))
    below, above = max(0, -first), max(0, last - (size - 1))
    if below + size + above > TANH_TABLE_MAX:
        return None
    shift, half = max(shifts), max(halves)
    plain = exact_dtype(acc_bound + half + (abs(lo) << shift))
    if exact_dtype(acc_bound + half + ((abs(lo) + below) << shift)) != plain:
        return None
    return below, above


def folds_offset(act: QAct, shifts: np.ndarray) -> bool:
    """tanh's table offset rides on the bias when every channel shifts right (then an integer
    offset lies on the scaled accumulator's grid, and the exactness bound above covers it)."""
    return isinstance(act, TanhAct) and int(np.min(shifts)) >= 0
