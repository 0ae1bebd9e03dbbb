"""The `srhw` command line. User errors print one line and exit with status 2."""
from __future__ import annotations

import argparse
import logging
import sys

from srhw.errors import SrhwError, UsageError
from srhw.outputs import check_output_file, write_file

EXIT_USER_ERROR = 2


def _bits(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None


def _layer_bits(text: str) -> tuple[str, int | None, int | None]:
    """LAYER=W6A12 (or =W6, =A12) -> (LAYER, 6, 12)."""
    import re

    m = re.fullmatch(r"(.+)=(?:W(\d+))?(?:A(\d+))?", text.strip())
    if not m or (m.group(2) is None and m.group(3) is None):
        raise argparse.ArgumentTypeError(f"must be LAYER=W<bits>A<bits> (or =W<bits>, =A<bits>), not {text!r}")
    return m.group(1), *(None if g is None else int(g) for g in m.group(2, 3))


def _no_cache_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true",
                   help="quantize the model again instead of reusing the quantization cache "
                        "($SRHW_CACHE_DIR, ~/.cache/srhw)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="srhw", description="Compile super-resolution CNNs to bit-exact fixed-point hardware.")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="quantize a model and write OUT/ir.json, report.md, summary.json")
    c.add_argument("model", nargs="?", default=None, help="ONNX file or zoo name (default: fsrcnn_x2)")
    c.add_argument("-o", "--out", required=True, help="output directory (appears whole or not at all)")
    c.add_argument("--bits", type=_bits, default=None, help="weight and activation width, 4..16 (default 8)")
    c.add_argument("--wbits", type=_bits, default=None, help="weight width, overrides --bits")
    c.add_argument("--abits", type=_bits, default=None, help="activation width, overrides --bits")
    c.add_argument("--layer-bits", type=_layer_bits, action="append", default=[], metavar="LAYER=WnAm",
                   help="one layer's weight and/or activation width (e.g. l03_conv=A12 or node_conv2d=W4A6), "
                        "the layer named by its ONNX node or its srhw name in report.md; repeat per layer")
    c.add_argument("--psnr-budget", type=float, default=None, metavar="DB",
                   help="choose every layer's weight and activation widths (4..16) for the least hardware cost whose "
                        "PSNR loss against the float model on the calibration frames is at most DB (report.md shows "
                        "the widths and the cost-versus-loss front)")
    c.add_argument("--calib", default=None, help="folder of calibration images (default: the shipped set)")
    c.add_argument("--calib-method", default="auto", help="auto (best PSNR), max, percentile or mse")
    c.add_argument("--input-range", default="auto", help="model input range: auto, unit ([0,1]) or byte ([0,255])")
    c.add_argument("--output-range", default="auto", help="model output range: auto, unit or byte")
    c.add_argument("--force", action="store_true",
                   help="replace an output directory that srhw wrote earlier (it holds .srhw-output); never any other")
    _no_cache_flag(c)
    c.add_argument("--weight-granularity", default="output",
                   help="output: one weight format per output channel (default); kernel: per (output, input) "
                        "channel pair, 'wbits' significant bits with a constant product shift (wider accumulators)")
    c.add_argument("--weight-rounding", default="gptq",
                   help="gptq (default): codes fitted so each conv's output on the calibration frames stays "
                        "closest to float (error-compensating rounding, continuous bias); gptq-sparse: the same fit, "
                        "but a weight whose nearest code is 0 stays 0 (no more multipliers than nearest); "
                        "nearest: each weight to its nearest code, then a measured bias correction")
    c.add_argument("--no-zero-points", dest="zero_points", action="store_false",
                   help="symmetric activation codes; by default a signed activation read only by convs gets a zero "
                        "point per channel, so its codes cover the range it takes (docs/arithmetic.md)")
    c.add_argument("--no-hls", dest="hls", action="store_false", help="skip the Vitis HLS project (OUT/hls/)")
    c.add_argument("--board", default=None, help="zcu102 (default), kv260, u250 or vck190: sets part and clock")
    c.add_argument("--clock-mhz", type=float, default=None, help="kernel clock (default: the board's, 300)")
    c.add_argument("--fps", type=float, default=60.0, help="frame rate the folding must meet (default 60)")
    c.add_argument("--in-size", default=None, help="LR frame size the folding plans for (default: the frame whose "
                                                   "output is 4K UHD: 1920x1080 at x2, 1280x720 at x3, 960x540 at x4; "
                                                   "1920x1080 for a model that does not upscale)")
    c.add_argument("--max-width", type=int, default=None, help="widest LR frame the kernel takes (default: --in-size width)")
    c.add_argument("--fixed-size", action="store_true", help="fix the frame size at --in-size (no width/height registers)")
    c.add_argument("--rtl", action="store_true", help="also write OUT/rtl/: Verilog with the HLS top's ports, for "
                                                     "`srhw sim` (Verilator) and `srhw synth` (Yosys)")

    s = sub.add_parser("csim", help="build OUT/hls with g++ and run its bit-exact testbench")
    s.add_argument("out", help="a directory written by `srhw compile`")

    m = sub.add_parser("sim", help="RTL simulation (cocotb + Verilator) of OUT/rtl, bit-exact against the golden model")
    m.add_argument("out", help="a directory written by `srhw compile --rtl`")
    m.add_argument("--rtl-dir", default=None, help="simulate this RTL instead (e.g. what Vitis HLS exported)")
    m.add_argument("--top", default=None, help="top module of --rtl-dir (default: srhw_top)")
    m.add_argument("--size", default=None, help="LR frame size WIDTHxHEIGHT for the full-rate and stall sessions")
    m.add_argument("--waves", action="store_true", help="dump a waveform trace")

    y = sub.add_parser("synth", help="Yosys synthesis of OUT/rtl (DSP48E2/LUT/FF/BRAM) beside the analytic estimate")
    y.add_argument("out", help="a directory written by `srhw compile --rtl`")
    y.add_argument("--family", default="xcup", help="synth_xilinx family (default xcup: UltraScale+)")

    e = sub.add_parser("eval", help="PSNR/SSIM of bicubic, float and fixed point on a folder of HR images")
    e.add_argument("model", help="ONNX file, zoo name, or a directory written by srhw compile")
    e.add_argument("--data", required=True, help="folder of HR images (e.g. Set5)")
    e.add_argument("--scale", type=int, default=None, help="upscale factor (default: the model's)")
    e.add_argument("--bits", default=None,
                   help="fixed-point widths to measure, e.g. 8 or 6,8 (default 8; a compiled directory's own)")
    e.add_argument("--calib", default=None, help="folder of calibration images (default: the shipped set)")
    e.add_argument("--json", default=None, help="also write the results as JSON to this file")
    _no_cache_flag(e)

    u = sub.add_parser("upscale", help="upscale images with the golden model (or float)")
    u.add_argument("model", help="ONNX file, zoo name, or a directory written by srhw compile")
    u.add_argument("image", nargs="+", help="input image (any size; RGB or grayscale); several images or folders "
                                            "write NAME.png for each into the -o folder")
    u.add_argument("-o", "--out", required=True, help="output image (.png), or a folder for several images")
    u.add_argument("--force", action="store_true", help="replace an output folder that srhw wrote earlier")
    g = u.add_mutually_exclusive_group()
    g.add_argument("--bits", type=_bits, default=None,
                   help="fixed-point width (default 8; a compiled directory's own by default)")
    g.add_argument("--float", dest="use_float", action="store_true", help="run the float model instead")
    u.add_argument("--scale", type=int, default=None, help="upscale factor (SRCNN-style models need it)")
    u.add_argument("--calib", default=None)
    u.add_argument("--compare", default=None, help="write a bicubic | float | fixed figure of aligned crops")
    u.add_argument("--hr", default=None, help="ground-truth HR image to add to the --compare figure")
    _no_cache_flag(u)

    w = sub.add_parser("sweep", help="PSNR versus bit width: a table, JSON and a PNG plot")
    w.add_argument("model", help="ONNX file or zoo name")
    w.add_argument("--data", required=True, help="folder of HR images")
    w.add_argument("--bits", default="4:12", help="LO:HI or a comma list (default 4:12)")
    w.add_argument("--scale", type=int, default=None)
    w.add_argument("--calib", default=None)
    w.add_argument("--plot", default="sweep.png", help="PNG plot to write (default sweep.png)")
    w.add_argument("--json", default=None, help="also write the results as JSON to this file")
    _no_cache_flag(w)

    z = sub.add_parser("zoo", help="the shipped model zoo: list, export, train")
    zs = z.add_subparsers(dest="zoo_command", required=True)
    zs.add_parser("list", help="shipped models with parameters, MACs, scale and measured PSNR")
    ze = zs.add_parser("export", help="write a shipped model's ONNX file")
    ze.add_argument("name")
    ze.add_argument("-o", "--out", required=True, help="destination .onnx file")
    zt = zs.add_parser("train", help="train a zoo entry on T91 (needs the train extra: torch)")
    zt.add_argument("name")
    zt.add_argument("--data", required=True, help="folder of training images (T91)")
    zt.add_argument("--val", default=None, help="folder of validation images (Set5)")
    zt.add_argument("--run-dir", required=True, help="checkpoints and log; an existing run resumes")
    zt.add_argument("--steps", type=int, default=20000)
    zt.add_argument("--batch", type=int, default=64)
    zt.add_argument("--lr-patch", type=int, default=16, help="LR patch side (HR = scale x this)")
    zt.add_argument("--lr", type=float, default=1e-3)
    zt.add_argument("--seed", type=int, default=0)
    zt.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    zt.add_argument("--ckpt-every", type=int, default=1000)
    zt.add_argument("--device", default="cpu", help="cpu or cuda")
    zt.add_argument("--limit-images", type=int, default=None, help="use only the first N training images")
    zt.add_argument("--init", default=None, metavar="RUN_DIR",
                    help="start from a finished run's weights, with a fresh optimizer and the schedule restarted")
    zt.add_argument("--init-shipped", action="store_true",
                    help="the same from the weights the package ships for NAME (its card's steps count)")

    i = sub.add_parser("inspect", help="print the canonical graph: layers, shapes, parameters, MACs")
    i.add_argument("model", nargs="?", default=None, help="ONNX file or zoo name (default: fsrcnn_x2)")
    i.add_argument("--input-range", default="auto")
    i.add_argument("--output-range", default="auto")
    return p


def _compile(args: argparse.Namespace) -> int:
    from srhw import compiler

    given = {"bits": args.bits} if args.bits is not None else {}  # a quantized model refuses even --bits 8
    result = compiler.compile(args.model, out=args.out, force=args.force, progress=sys.stderr.isatty(), **given,
                              wbits=args.wbits, abits=args.abits, calib=args.calib,
                              method=args.calib_method, input_range=args.input_range,
                              output_range=args.output_range, hls=args.hls, board=args.board,
                              clock_mhz=args.clock_mhz, fps=args.fps, in_size=args.in_size,
                              max_width=args.max_width, weight_granularity=args.weight_granularity,
                              weight_rounding=args.weight_rounding, fixed_size=args.fixed_size, rtl=args.rtl,
                              zero_points=args.zero_points, layer_bits=tuple(args.layer_bits),
                              psnr_budget=args.psnr_budget, cache=not args.no_cache)
    s = result.summary
    print(f"wrote {args.out}: {s['layers']} layers, {s['widths']}, {s['macs_per_lr_pixel']} MACs/LR px, "
          f"max accumulator {s['max_accumulator_width']} bits, fixed vs float {s['psnr_fixed_vs_float_db']:.2f} dB "
          + ("(the model's own grids)" if s["calibration_method"] == "model" else f"({s['calibration_method']} calibration)"))
    ws = s.get("width_search")
    if ws:
        over = "" if ws["within_budget"] else " -- over the budget: no width choice measured met it, see report.md"
        print(f"widths for a {ws['budget_db']:g} dB PSNR budget: loss {ws['chosen']['final_loss_db']:.3f} dB on the "
              f"calibration frames, {ws['chosen']['dsp']} DSP + {ws['chosen']['lut_multipliers']} LUT multipliers "
              f"({ws['evaluations']} choices measured){over}")
    if "hls" in s:
        h = s["hls"]
        flag = "" if h["projected_fps"] >= h["fps_target"] else f" -- below the {h['fps_target']:g} fps target, see report.md"
        if not h["fits_dsp_slices"]:  # not even the most folded plan fits the part
            flag += f" -- more multipliers than the {h['board']}'s {h['dsp_slices']} DSP slices"
            if "deepest_fold_multipliers" in h:
                flag += f" at any rate (the deepest fold takes {h['deepest_fold_multipliers']})"
        if not h.get("fits_bram18", True):
            flag += f" -- {h['bram18_total']} BRAM18 of memory, more than the {h['board']}'s {h['bram18_slices']}"
        fit = h.get("fitted_to_dsp")
        fitted = f"{fit['requested_multipliers']} multipliers would exceed the {h['board']}'s {h['dsp_slices']} DSP " \
                 f"slices; folded to fit at {fit['fps']:g} fps: " if fit else ""
        print(f"HLS plan for {h['in_size']} at {h['fps_target']:g} fps, {h['clock_mhz']:g} MHz: {fitted}{h['multipliers']} "
              f"multipliers ({h['multipliers_over_bound']}x the bound), projected {h['projected_fps']} fps, "
              f"{h['modelled_fps']} fps under the dataflow model with {h['dataflow']['fifo_bits']} FIFO bits{flag}")
    return 0


def _csim(args: argparse.Namespace) -> int:
    from srhw.backends.csim import run_csim

    r = run_csim(args.out)
    lines = [l for l in r.output.splitlines() if l.strip()]
    for l in lines[:40]:
        print(l)
    for w in r.own_warnings:
        print(f"compiler warning: {w}")
    print(f"csim {'passed' if r.passed else 'FAILED'}: build {r.build_seconds:.1f} s, run {r.run_seconds:.2f} s")
    return 0 if r.passed else 1


def _sim(args: argparse.Namespace) -> int:
    from srhw.sim import print_summary, run_sim, sessions_for_size

    sessions = sessions_for_size(args.size) if args.size else None
    r = run_sim(args.out, args.rtl_dir, args.top, sessions=sessions, waves=args.waves, progress=True)
    print_summary(r)
    return 0 if r["failed"] == 0 else 1


def _synth(args: argparse.Namespace) -> int:
    from srhw.synth import run_synth

    r = run_synth(args.out, args.family, progress=True)
    c, p = r["cells"], r["longest_path"]
    print(f"Yosys {r['family']} ({r['seconds']} s): {r['yosys_mul_cells']} multipliers vs {r['multipliers_estimate']} "
          f"estimated ({r['yosys_over_estimate']}x), DSP48E2 {c['dsp48e2']}, LUT {c['lut']}, FF {c['ff']}, "
          f"BRAM18 {c['bram18']}, BRAM36 {c['bram36']}, LUTRAM {c['lutram']}; longest path {p['lut_levels']} LUT "
          f"levels ({p['part']}), {r['dsp_without_output_register']} DSPs without their output register; "
          f"written to report.md and synth.json")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from srhw.evaluate import evaluate, table
    from srhw.sweep import parse_bits

    if args.json is not None:
        check_output_file(args.json, "--json")
    res = evaluate(args.model, args.data, args.scale, parse_bits(args.bits) if args.bits else None, args.calib,
                   use_cache=not args.no_cache)
    print(table(res))
    if args.json is not None:
        _write_json(args.json, res)
    return 0


def _upscale(args: argparse.Namespace) -> int:
    from pathlib import Path

    from srhw.upscale import upscale, upscale_all

    if len(args.image) > 1 or Path(args.image[0]).is_dir():
        if args.compare or args.hr:
            raise UsageError("--compare and --hr take one input image")
        infos = upscale_all(args.model, args.image, args.out, args.bits, args.scale, args.calib,
                            use_cache=not args.no_cache, use_float=args.use_float, force=args.force)
        print(f"wrote {args.out}: {len(infos)} images ({infos[0]['version']}, design {infos[0]['design']})")
        return 0
    info = upscale(args.model, args.image[0], args.out, args.bits, args.scale, args.calib, args.compare, args.hr,
                   use_cache=not args.no_cache, use_float=args.use_float)
    print(f"wrote {args.out}: {info['input'][1]}x{info['input'][0]} -> {info['output'][1]}x{info['output'][0]} "
          f"({info['version']}, design {info['design']})" + (f", comparison {args.compare}" if args.compare else ""))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from srhw.sweep import parse_bits, sweep, table

    if args.json is not None:
        check_output_file(args.json, "--json")
    res = sweep(args.model, args.data, parse_bits(args.bits), args.scale, args.calib, args.plot,
                use_cache=not args.no_cache)
    print(table(res))
    print(f"plot: {args.plot}")
    if args.json is not None:
        _write_json(args.json, res)
    return 0


def _zoo(args: argparse.Namespace) -> int:
    from srhw.zoo import catalog

    if args.zoo_command == "list":
        print(catalog.list_text())
    elif args.zoo_command == "export":
        print(f"wrote {catalog.export(args.name, args.out)}")
    else:
        try:
            from srhw.zoo.train import train
        except ImportError as e:
            raise UsageError(f"training needs torch: pip install 'srhw[train]' ({e})") from None
        rec = train(args.name, args.data, args.run_dir, args.val, args.steps, args.batch, args.lr_patch, args.lr,
                    args.seed, args.threads, args.ckpt_every, args.device, args.limit_images,
                    progress=sys.stderr.isatty(), init=args.init,
                    init_shipped=args.init_shipped)
        print(f"trained {args.name}: step {rec.get('step')}, validation PSNR {rec.get('val_psnr', float('nan')):.2f} dB"
              f" -> {args.run_dir}/final.pt")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from srhw import compiler
    from srhw.frontend import import_onnx
    from srhw.inspect_graph import describe
    from srhw.options import RANGES, check_choice
    from srhw.passes import pipeline, run_pipeline

    check_choice("input_range", args.input_range, RANGES)
    check_choice("output_range", args.output_range, RANGES)
    graph = run_pipeline(import_onnx(compiler.resolve_model(args.model)),
                         pipeline(args.input_range, args.output_range))
    print(describe(graph))
    return 0


COMMANDS = {"compile": _compile, "csim": _csim, "sim": _sim, "synth": _synth, "eval": _eval, "upscale": _upscale,
            "sweep": _sweep, "zoo": _zoo, "inspect": _inspect}
# option names (srhw.options.CompileOptions fields, and what the checks below it call them) that
# are not their flag with "_" -> "-"
FLAGS = {"method": "--calib-method", "granularity": "--weight-granularity"}


def flag_of(option: str) -> str:
    return FLAGS.get(option, "--" + option.replace("_", "-"))


def run(args: argparse.Namespace) -> int:
    return COMMANDS[args.command](args)


def _message(e: SrhwError) -> str:
    """The error as the CLI says it: an option's name as its flag."""
    import re

    from srhw.options import OptionError

    text = str(e)
    if isinstance(e, OptionError):
        for name in e.options:
            text = re.sub(rf"(?<![\w-]){re.escape(name)}\b", flag_of(name), text)
    return text


def _write_json(path: str, data: dict) -> None:
    import json

    write_file(path, json.dumps(data, indent=2, sort_keys=True) + "\n", "--json")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = run(args)
    except SrhwError as e:
        if args.debug:
            raise
        if getattr(e, "output", ""):  # a tool's own diagnostics, above srhw's line
            print(e.output.rstrip(), file=sys.stderr)
        print(f"srhw: error: {_message(e)}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("srhw: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # the reader went away (`srhw inspect M | head -1`): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    main()
