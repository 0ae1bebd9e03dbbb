"""Compile options: one validated record for the Python API, the CLI and the quantization cache.

`CompileOptions(...)` checks every value when it is made, before any work starts, and says
what is wrong in the API's own terms (`OptionError`, naming the field); the CLI maps field names
to its flags (`srhw.cli.FLAGS`), so that the same check reads "--bits must be ..." there.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from srhw.errors import UsageError

BITS_RANGE = (4, 16)
RANGES = ("auto", "unit", "byte")
GRANULARITIES = ("output", "kernel")
# the fields the quantized graph depends on (the rest choose the hardware built from it)
QUANTIZATION_FIELDS = ("bits", "wbits", "abits", "calib", "method", "input_range", "output_range",
                       "weight_granularity", "weight_rounding", "zero_points", "layer_bits", "psnr_budget")
# with a PSNR budget the widths depend on the plan's costs, and so on the hardware target too
TARGET_FIELDS = ("board", "clock_mhz", "fps", "in_size", "max_width", "fixed_size")


class OptionError(UsageError):
    """A bad option value. `options`: the option names the message mentions, the one at fault
    first (field names of CompileOptions or of the function that checks them)."""

    def __init__(self, message: str, *options: str) -> None:
        super().__init__(message)
        self.options = options


def check_bits(name: str, value: int | None) -> None:
    """A bit width in BITS_RANGE (None: not given)."""
    lo, hi = BITS_RANGE
    if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi):
        raise OptionError(f"{name} must be an integer in {lo}..{hi}, not {value!r}", name)


def check_layer_bits(layer_bits) -> None:
    """Per-layer widths: a tuple of (layer name, weight bits or None, activation bits or None),
    at least one width given, each in BITS_RANGE. Whether the names are layers of the model is
    checked where the model is known (srhw.quant.quantize.layer_widths)."""
    lo, hi = BITS_RANGE
    if not isinstance(layer_bits, tuple):
        raise OptionError(f"layer_bits must be a tuple of (layer, weight bits, activation bits), not {layer_bits!r}",
                          "layer_bits")
    for entry in layer_bits:
        ok = isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[0], str) and entry[0] \
            and any(v is not None for v in entry[1:]) \
            and all(v is None or (isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi) for v in entry[1:])
        if not ok:
            raise OptionError(f"layer_bits: {entry!r} is not (layer name, weight bits, activation bits) with "
                              f"widths in {lo}..{hi} or None, one of them given", "layer_bits")


def check_choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise OptionError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}", name)


@dataclass(frozen=True)
class CompileOptions:
    """What `srhw compile` does with a model (see srhw.compiler.compile for each field)."""

    bits: int = 8
    wbits: int | None = None
    abits: int | None = None
    calib: str | Path | None = None
    method: str = "auto"                 # calibration method: auto or one of srhw.quant.METHODS
    input_range: str = "auto"
    output_range: str = "auto"
    weight_granularity: str = "output"
    weight_rounding: str = "gptq"
    zero_points: bool = True
    hls: bool = True
    rtl: bool = False
    board: str | None = None
    clock_mhz: float | None = None
    fps: float = 60.0
    in_size: str | None = None           # None: the frame whose output is 4K UHD (folding.default_in_size)
    max_width: int | None = None
    fixed_size: bool = False
    fold_groups: int | None = None       # one fold on every conv (tests and sweeps)
    fold_period: tuple[int, int] | None = None
    fold_chunks: tuple[int, int] | None = None   # (GROUPS, CHUNKS): the chunked fold on every conv
    layer_bits: tuple = ()               # per-layer widths (srhw.quant.quantize.layer_widths)
    psnr_budget: float | None = None     # dB: choose every layer's widths (srhw.quant.mixed)

    def __post_init__(self) -> None:
        from srhw.quant import METHODS
        from srhw.quant.quantize import WEIGHT_ROUNDINGS

        check_bits("bits", self.bits)
        check_bits("wbits", self.wbits)
        check_bits("abits", self.abits)
        check_layer_bits(self.layer_bits)
        if self.psnr_budget is not None:
            check_positive("psnr_budget", self.psnr_budget)
            if self.layer_bits:
                raise OptionError("psnr_budget chooses every layer's widths; give it or layer_bits, not both",
                                  "psnr_budget", "layer_bits")
        check_choice("method", self.method, ("auto",) + tuple(METHODS))
        check_choice("weight_rounding", self.weight_rounding, tuple(WEIGHT_ROUNDINGS))
        check_choice("weight_granularity", self.weight_granularity, GRANULARITIES)
        check_choice("input_range", self.input_range, RANGES)
        check_choice("output_range", self.output_range, RANGES)
        if self.fold_groups is not None and not (isinstance(self.fold_groups, int) and self.fold_groups >= 1):
            raise OptionError(f"fold_groups must be a positive integer, not {self.fold_groups!r}", "fold_groups")
        if self.fold_period is not None and not (
                len(self.fold_period) == 2 and all(isinstance(v, int) and v >= 1 for v in self.fold_period)):
            raise OptionError(f"fold_period must be (positions, cycles), both positive, not {self.fold_period!r}",
                              "fold_period")
        if self.fold_chunks is not None and not (
                len(self.fold_chunks) == 2 and all(isinstance(v, int) and v >= 1 for v in self.fold_chunks)):
            raise OptionError(f"fold_chunks must be (groups, chunks), both positive, not {self.fold_chunks!r}",
                              "fold_chunks")
        forced = [k for k in ("fold_groups", "fold_period", "fold_chunks") if getattr(self, k) is not None]
        if len(forced) > 1:
            raise OptionError(f"{' and '.join(forced)} each force a fold on every conv; give one", *forced)
        if self.hls or self.rtl:  # the board, clock, rate and frame size, checked now rather than after
            # calibration; without in_size the model's scale picks the frame, and compile checks
            # max_width against that frame
            from srhw.backends.folding import make_target

            make_target(self.board, self.clock_mhz, self.fps, self.in_size,
                        self.max_width if self.in_size is not None else None, self.fixed_size)

    @property
    def weight_bits(self) -> int:
        return self.wbits or self.bits

    @property
    def activation_bits(self) -> int:
        return self.abits or self.bits

    def target(self, scale: int = 2):
        """The hardware target (srhw.backends.folding.Target) these options describe for a model
        that upscales by `scale` (which picks the frame when in_size is None)."""
        from srhw.backends.folding import make_target

        return make_target(self.board, self.clock_mhz, self.fps, self.in_size, self.max_width, self.fixed_size,
                           scale)

    def as_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    def quantization(self) -> tuple:
        """The values of QUANTIZATION_FIELDS: equal for two options that quantize a model alike."""
        keys = QUANTIZATION_FIELDS + (TARGET_FIELDS if self.psnr_budget is not None else ())
        return tuple((k, str(getattr(self, k)) if isinstance(getattr(self, k), Path) else getattr(self, k))
                     for k in keys)


def check_positive(name: str, value) -> None:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and math.isfinite(value)):
        raise OptionError(f"{name} must be positive, not {value!r}", name)
