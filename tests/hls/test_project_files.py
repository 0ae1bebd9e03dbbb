"""The generated project's Tcl, cfg, README and C++ name what they must, deterministically,
and names from a model never reach them unescaped."""
import json

import onnx
import pytest

import srhw
from srhw.backends.csim import run_csim
from srhw.backends.hls import comment_text
from tests.conftest import pixels


@pytest.fixture(scope="module")
def project(exported, tmp_path_factory):
    out = tmp_path_factory.mktemp("p") / "out"
    srhw.compile(exported("fsrcnn_x2", "dynamo"), out=out, progress=False, board="kv260", clock_mhz=250,
                 max_width=640, in_size="640x360", test_frames=[pixels(1, 9, 11)])
    return out / "hls"


def test_tcl_runs_every_step_for_the_board(project):
    tcl = (project / "run_hls.tcl").read_text()
    for needle in ("set_top srhw_top", "add_files srhw_top.cpp", "add_files -tb srhw_tb.cpp", "add_files -tb tb_data",
                   "set_part {xck26-sfvc784-2LV-c}", "create_clock -period 4.000", "csim_design", "csynth_design",
                   "cosim_design", "export_design -format ip_catalog -vendor srhw.org -library srhw -version 1.0",
                   "-flow_target vivado", "vitis-run --mode hls --tcl run_hls.tcl"):
        assert needle in tcl, needle


def test_cfg_for_the_unified_flow(project):
    lines = (project / "hls_config.cfg").read_text().splitlines()
    for needle in ("part=xck26-sfvc784-2LV-c", "[hls]", "flow_target=vivado", "clock=4.000ns", "syn.top=srhw_top",
                   "syn.file=srhw_top.cpp", "tb.file=srhw_tb.cpp", "tb.file=tb_data", "package.output.format=ip_catalog",
                   "package.ip.vendor=srhw.org", "package.ip.library=srhw", "package.ip.name=srhw_top",
                   "package.ip.version=1.0"):
        assert needle in lines, needle
    readme = (project / "README.md").read_text()
    assert "vitis_hls -f run_hls.tcl" in readme and "v++ -c --mode hls --config hls_config.cfg" in readme
    assert "vitis-run --mode hls --tcl run_hls.tcl" in readme
    assert "create_bd_cell" in readme and "srhw csim" in readme
    # one VLNV, and the stream ports by the names Vitis keeps (it renames `in`/`out` to `in_r`/`out_r`)
    assert "-vlnv srhw.org:srhw:srhw_top:1.0 srhw_0" in readme
    assert "srhw_0/s_axis_video]" in readme and "srhw_0/m_axis_video]" in readme


def test_interface_and_sizes(project):
    top = (project / "srhw_top.cpp").read_text()
    for needle in ("mode=axis port=s_axis_video", "mode=axis port=m_axis_video", "mode=s_axilite port=width", "mode=s_axilite port=height",
                   "#pragma HLS DATAFLOW"):
        assert needle in top
    h = (project / "srhw_top.h").read_text()
    assert "#define SRHW_MAX_WIDTH 640" in h and "#define SRHW_PPC 2" in h and "#define SRHW_SCALE 2" in h


def test_generation_is_deterministic(exported, tmp_path):
    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        srhw.compile(exported("espcn_x3", "dynamo"), out=out, progress=False, in_size="64x48", fps=40000)
        outs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert outs[0] == outs[1] and any(str(p).startswith("hls/") for p in outs[0])


NASTY = ['conv"quote', "conv*/ int x;", "#include <evil>", "$(rm -rf)", "line\nbreak\\", "brace{[", "what??/"]


def hostile_model(exported, tmp_path):
    """The FSRCNN x2 factory model with NASTY node names, in a file with a hostile name."""
    m = onnx.load(str(exported("fsrcnn_x2", "torchscript")))
    for k, node in enumerate(m.graph.node):
        node.name = NASTY[k % len(NASTY)] + str(k)
    path = tmp_path / 'we"ird*$(name)#x.onnx'
    onnx.save(m, str(path))
    return path


def test_hostile_node_names_stay_in_comments(exported, tmp_path):
    path = hostile_model(exported, tmp_path)
    out = tmp_path / "out"
    srhw.compile(path, out=out, progress=False, in_size="64x48", fps=40000, test_frames=[pixels(1, 9, 11)])
    for f in ("srhw_top.cpp", "srhw_params.h", "srhw_top.h", "srhw_tb.cpp", "run_hls.tcl", "hls_config.cfg"):
        text = (out / "hls" / f).read_text()
        for bad in ('"quote', "*/ int", "#include <evil>", "$(", "{[", "??/", "line\nbreak"):
            assert bad not in text, (f, bad)
        assert not any("break" in line and "\\" in line for line in text.splitlines()), f  # no line splice
    assert "conv_quote" in (out / "hls" / "srhw_params.h").read_text()  # still recognisable, escaped
    r = run_csim(out)
    assert r.passed and r.own_warnings == [], r.output


def test_comment_text_alphabet():
    assert comment_text('a"b*/c\nd\\e?f{g}$h#i') == "a_b__c_d_e_f_g__h_i"
    assert json.dumps(comment_text("x" * 500)).count("x") == 120


def test_fixed_size_kernel(exported, tmp_path):
    """--fixed-size: no width/height registers; the testbench runs frames of exactly that size."""
    out = tmp_path / "out"
    srhw.compile(exported("espcn_x3", "dynamo"), out=out, progress=False, in_size="23x17", fps=100000,
                 fixed_size=True)
    top = (out / "hls" / "srhw_top.cpp").read_text()
    assert "port=width" not in top and "const int width = SRHW_WIDTH, height = SRHW_HEIGHT;" in top
    assert "#define SRHW_WIDTH 23" in (out / "hls" / "srhw_top.h").read_text()
    r = run_csim(out)
    assert r.passed and "PASS: 3 of 3 frames bit-exact" in r.output and "23x17 -> 69x51" in r.output, r.output
    with pytest.raises(ValueError, match="fixed-size kernel"):
        srhw.compile(exported("espcn_x3", "dynamo"), progress=False, in_size="23x17", fixed_size=True,
                     test_frames=[pixels(1, 9, 11)])
