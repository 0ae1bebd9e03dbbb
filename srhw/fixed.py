"""Fixed-point formats and every bit-width rule of srhw, in one place.

A value with format Q(width, frac, signed) is an integer code c with value c * 2**-frac;
codes lie in [lo, hi] of the format. Every rule below is a pure function of integer bounds, so
each can be checked exhaustively against NumPy (tests/test_fixed.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_WIDTH = 62  # codes and accumulators must fit int64 with headroom for one sign bit


@dataclass(frozen=True)
class Fmt:
    """Power-of-two fixed-point format: `width` bits, `frac` fractional bits."""

    width: int
    frac: int
    signed: bool

    def __post_init__(self) -> None:
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            raise ValueError(f"width must be an int in 1..{MAX_WIDTH}, not {self.width!r}")
        if not isinstance(self.frac, int):
            raise ValueError(f"frac must be an int, not {self.frac!r}")
        if self.signed and self.width < 2:
            raise ValueError("a signed format needs at least 2 bits")

    @property
    def lo(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def max_abs(self) -> int:
        """Largest |code| the format holds (the bound used by accumulator certificates)."""
        return max(-self.lo, self.hi)

    @property
    def step(self) -> float:
        return 2.0 ** -self.frac

    def to_dict(self) -> dict:
        return {"width": self.width, "frac": self.frac, "signed": self.signed}

    @staticmethod
    def from_dict(d: dict) -> "Fmt":
        return Fmt(int(d["width"]), int(d["frac"]), bool(d["signed"]))

    def __str__(self) -> str:
        return f"{'s' if self.signed else 'u'}{self.width}.{self.frac}"


PIXEL = Fmt(8, 0, False)  # the kernel's input and output: 8-bit pixel codes


def signed_width(bound: int) -> int:
    """Smallest two's-complement width holding every integer in [-bound, bound]."""
    if bound < 0:
        raise ValueError(f"bound must be >= 0, not {bound}")
    return int(bound).bit_length() + 1


def frac_for_range(max_abs: float, width: int, signed: bool) -> int:
    """Largest frac such that max_abs * 2**frac fits the format's positive range.

    With max_abs == 0 the tensor is constant zero; any frac is exact and we return width.
    """
    top = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
    if max_abs <= 0 or not math.isfinite(max_abs):
        return width
    f = math.floor(math.log2(top / max_abs))
    # guard against log2 rounding at exact powers of two
    while max_abs * 2.0 ** (f + 1) <= top:
        f += 1
    while max_abs * 2.0**f > top:
        f -= 1
    return f


def round_half_up(x: np.ndarray) -> np.ndarray:
    """floor(x + 1/2), element-wise, in float64 (exact for |x| < 2**52)."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5)


def quantize_real(x: np.ndarray, fmt: Fmt) -> np.ndarray:
    """Real values -> saturated integer codes of `fmt` (round half up), as int64."""
    codes = round_half_up(np.asarray(x, dtype=np.float64) * 2.0**fmt.frac)
    return np.clip(codes, fmt.lo, fmt.hi).astype(np.int64)


ROUNDINGS = ("half_up", "half_even")


def shift_round(acc: np.ndarray, shift: int | np.ndarray, rounding: str = "half_up") -> np.ndarray:
    """Requantising shift: acc * 2**-shift rounded half up (srhw's own quantizer) or half to
    even (ONNX QuantizeLinear, for models quantized already); a negative shift is exact.

    Integer semantics: for s > 0, r = (acc + (1 << (s - 1))) >> s with an arithmetic shift, and
    half to even takes 1 off an odd r where the s bits shifted out were exactly the half (a tie);
    for s <= 0, acc << -s. Works on int64 arrays; `shift` may be per-channel (broadcast).
    """
    acc = np.asarray(acc, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    pos = np.maximum(s, 0)
    half = np.where(pos > 0, np.left_shift(np.int64(1), np.maximum(pos - 1, 0)), 0)
    right = np.right_shift(acc + half, pos)
    if rounding == "half_even":
        low = acc & (np.left_shift(np.int64(1), pos) - 1)
        right = right - ((pos > 0) & (low == half) & (right & 1 == 1))
    return np.where(s > 0, right, np.left_shift(acc, np.maximum(-s, 0)))


def float32_multiplier(scale: float) -> tuple[int, int]:
    """(M, n) with M * 2^-n equal to `scale` rounded to float32: M its 24-bit significand (an
    integer multiplier for the requantizer), n the shift after it."""
    m, e = np.frexp(np.float32(scale))   # scale = m * 2^e, 0.5 <= m < 1, m with 24 significant bits
    return int(np.ldexp(np.float64(m), 24)), 24 - int(e)


def saturate(codes: np.ndarray, fmt: Fmt) -> np.ndarray:
    return np.clip(codes, fmt.lo, fmt.hi)


# ------------------------------------------------------------------ width rules (certificate)
def accumulator_bound(weights: np.ndarray, x_max_abs: int, bias: np.ndarray) -> int:
    """Conv / Affine: max over output channels o of sum |w[o]| * max|x| + |b[o]| (exact ints)."""
    w = np.abs(weights.astype(np.int64)).reshape(weights.shape[0], -1)
    return max(int(r.sum()) * int(x_max_abs) + abs(int(b)) for r, b in zip(w, bias))


def aligned_add_bound(a: Fmt, a_frac: np.ndarray, b: Fmt, b_frac: np.ndarray) -> int:
    """Add: max over channels of max|A| << (F - Fa) + max|B| << (F - Fb), F = max(Fa, Fb)."""
    return max((a.max_abs << int(max(fa, fb) - fa)) + (b.max_abs << int(max(fa, fb) - fb))
               for fa, fb in zip(a_frac, b_frac))


# a product of at most this many bits in both operands is a LUT multiplier; larger ones take a DSP
LUT_PRODUCT_BITS = 4


def multiplier_width(w_width: int, x: Fmt) -> int:
    """The register of a weight x code product: |w * x| < 2^(w_width - 1) * 2^x.width (a signed
    code's magnitude is at most 2^(x.width - 1)), so w_width + x.width signed bits hold it, one
    fewer than the operands once an unsigned code takes its sign bit. Synthesis sizes the
    multiplier by it: Yosys maps a product narrower than 9 bits (4 x 4) to LUTs, not a DSP slice."""
    return w_width + x.width


def lut_multiplier(w_width: int, x_width: int) -> bool:
    """A weight x code product that fabric takes rather than a DSP slice: both operands at most
    LUT_PRODUCT_BITS wide (its multiplier_width is then below Yosys's 9-bit DSP threshold)."""
    return w_width <= LUT_PRODUCT_BITS and x_width <= LUT_PRODUCT_BITS


def product_bound(acc_bound: int, codes: np.ndarray) -> int:
    """PReLU's negative branch: the accumulator times the largest |slope code|."""
    return int(acc_bound) * int(np.max(np.abs(codes)))


def rounding_bound(bound: int, shift: int) -> int:
    """The value the round-half-up shift by `shift` adds its half to: bound + 2^(shift - 1)."""
    return int(bound) + ((1 << (shift - 1)) if shift > 0 else 0)


# ------------------------------------------------------------------ shape and slot rules
def conv_growth(kh: int, kw: int, pads: tuple[int, int, int, int]) -> tuple[int, int]:
    """(dh, dw): what a stride-1 convolution adds to a frame's height and width (negative: it
    shrinks it), pads (top, left, bottom, right): out = in + pads - (k - 1)."""
    t, l, b, r = pads
    return t + b - kh + 1, l + r - kw + 1


def conv_out_size(h: int, w: int, kh: int, kw: int, pads: tuple[int, int, int, int]) -> tuple[int, int]:
    """The output height and width of a stride-1 convolution of an h x w frame."""
    dh, dw = conv_growth(kh, kw, pads)
    return h + dh, w + dw


def epilogue_shift(acc_frac, act, out_frac):
    """The requantizing shift of each channel's accumulator (docs/arithmetic.md, section 4): onto
    the output's frac, or for tanh onto its table's index grid (`act.lut_fmt.frac`). Integer or
    array, as acc_frac and out_frac are."""
    lut_fmt = getattr(act, "lut_fmt", None)   # srhw.qir.TanhAct (fixed.py comes before the IR)
    return acc_frac - (out_frac if lut_fmt is None else lut_fmt.frac)


def folded_multipliers(nonzero: np.ndarray, outputs_per_group: int) -> int:
    """Multipliers of a conv folded into groups of `outputs_per_group` output channels that share
    them: lane p of the group serves outputs p, p + PO, p + 2 PO, ...; a weight slot (lane, tap)
    needs a multiplier when any of its outputs' weights there is non-zero. nonzero: [O, ...]
    bool, the weight's non-zero mask (taps flattened or not)."""
    po = outputs_per_group
    slots = np.zeros((po,) + nonzero.shape[1:], dtype=bool)
    for g in range(0, nonzero.shape[0], po):
        block = nonzero[g: g + po]
        slots[: block.shape[0]] |= block
    return int(slots.sum())
