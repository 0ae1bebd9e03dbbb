"""The `srhw` command line. User errors print one line and exit with status 2."""
from __future__ import annotations

import argparse
import logging
import sys

from srhw.errors import SrhwError

EXIT_USER_ERROR = 2


def _bits(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="srhw", description="Compile super-resolution CNNs to bit-exact fixed-point hardware.")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="quantize a model and write OUT/ir.json, report.md, summary.json")
    c.add_argument("model", nargs="?", default=None, help="ONNX file or zoo name (default: fsrcnn_x2)")
    c.add_argument("-o", "--out", required=True, help="output directory (appears whole or not at all)")
    c.add_argument("--bits", type=_bits, default=8, help="weight and activation width, 4..16 (default 8)")
    c.add_argument("--wbits", type=_bits, default=None, help="weight width, overrides --bits")
    c.add_argument("--abits", type=_bits, default=None, help="activation width, overrides --bits")
    c.add_argument("--calib", default=None, help="folder of calibration images (default: the shipped set)")
    c.add_argument("--calib-method", default="auto", help="auto (best PSNR), max, percentile or mse")
    c.add_argument("--input-range", default="auto", help="model input range: auto, unit ([0,1]) or byte ([0,255])")
    c.add_argument("--output-range", default="auto", help="model output range: auto, unit or byte")
    c.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    c.add_argument("--no-hls", dest="hls", action="store_false", help="skip the Vitis HLS project (OUT/hls/)")
    c.add_argument("--board", default=None, help="zcu102 (default), kv260, u250 or vck190: sets part and clock")
    c.add_argument("--clock-mhz", type=float, default=None, help="kernel clock (default: the board's, 300)")
    c.add_argument("--fps", type=float, default=60.0, help="frame rate the folding must meet (default 60)")
    c.add_argument("--in-size", default="1920x1080", help="LR frame size the folding plans for (default 1920x1080)")
    c.add_argument("--max-width", type=int, default=None, help="widest LR frame the kernel takes (default: --in-size width)")

    s = sub.add_parser("csim", help="build OUT/hls with g++ and run its bit-exact testbench")
    s.add_argument("out", help="a directory written by `srhw compile`")

    i = sub.add_parser("inspect", help="print the canonical graph: layers, shapes, parameters, MACs")
    i.add_argument("model", nargs="?", default=None, help="ONNX file or zoo name (default: fsrcnn_x2)")
    i.add_argument("--input-range", default="auto")
    i.add_argument("--output-range", default="auto")
    return p


def run(args: argparse.Namespace) -> int:
    from srhw import compiler

    if args.command == "compile":
        result = compiler.compile(args.model, bits=args.bits, wbits=args.wbits, abits=args.abits, calib=args.calib,
                                  method=args.calib_method, input_range=args.input_range,
                                  output_range=args.output_range, out=args.out, force=args.force,
                                  progress=sys.stderr.isatty(), hls=args.hls, board=args.board,
                                  clock_mhz=args.clock_mhz, fps=args.fps, in_size=args.in_size,
                                  max_width=args.max_width)
        s = result.summary
        print(f"wrote {args.out}: {s['layers']} layers, W{s['wbits']}A{s['abits']}, {s['macs_per_lr_pixel']} MACs/LR px, "
              f"max accumulator {s['max_accumulator_width']} bits, fixed vs float {s['psnr_fixed_vs_float_db']:.2f} dB "
              f"({s['calibration_method']} calibration)")
        return 0
    if args.command == "csim":
        from srhw.backends.csim import run_csim

        r = run_csim(args.out)
        lines = [l for l in r.output.splitlines() if l.strip()]
        for l in lines[:40]:
            print(l)
        for w in r.own_warnings:
            print(f"compiler warning: {w}")
        print(f"csim {'passed' if r.passed else 'FAILED'}: build {r.build_seconds:.1f} s, run {r.run_seconds:.2f} s")
        return 0 if r.passed else 1
    if args.command == "inspect":
        from srhw.frontend import import_onnx
        from srhw.inspect_graph import describe
        from srhw.passes import pipeline, run_pipeline

        graph = run_pipeline(import_onnx(compiler.resolve_model(args.model)),
                             pipeline(args.input_range, args.output_range))
        print(describe(graph))
        return 0
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = run(args)
    except SrhwError as e:
        if args.debug:
            raise
        print(f"srhw: error: {e}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("srhw: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
