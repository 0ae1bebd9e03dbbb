"""srhw.backends.hls_check, the structural check of the generated HLS C++: it finds the
operand multiplexers, accumulation chains and port conflicts that the conv stages had before
their operands became compile-time constants (tests/hls/fixtures/conv_runtime_mux.h), finds
each again when one line of today's library is put back the old way, and passes the library
as srhw generates it."""
from pathlib import Path

import pytest

import srhw
from srhw.backends.hls_check import check_function, check_project, evaluate, tokens
from srhw.resources import hls_dir

HERE = Path(__file__).resolve().parent
OLD = (HERE / "fixtures" / "conv_runtime_mux.h").read_text()

# FSRCNN x2's last conv as the 1080p60 plan schedules it: 56 -> 4 channels, 5x5, 8 positions in
# 19 cycles, 422 lanes for the widest output
L07 = {"C_IN": 56, "C_OUT": 4, "KH": 5, "KW": 5, "PAD_T": 2, "PAD_L": 2, "PAD_B": 2, "PAD_R": 2, "MAX_W": 1920,
       "P": 8, "T": 19, "LANES": 422, "SPAN": 54, "HAS_PAD": 1, "HAS_ZERO": 0, "ACT": 0, "LUT_SIZE": 1,
       "HAS_MULT": 0, "HALF_EVEN": 0}


def _env(cfg: dict) -> dict:
    return {f"CFG::{k}": v for k, v in cfg.items()}


def _kinds(summary) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in summary.findings:
        out.setdefault(f.kind, []).append(f.detail)
    return out


def test_old_scheduled_stage_is_caught():
    s = check_function(OLD, "conv_sched_stage", _env(L07), "l07", allowed_mux=L07["T"])
    found = _kinds(s)
    # the window mux: every tap of KH x (KW + P - 1) columns x C_IN channels, per lane
    fan_in = L07["KH"] * (L07["KW"] + L07["P"] - 1) * L07["C_IN"]
    assert fan_in == 3360
    assert any("'win'" in d and f"{fan_in}:1" in d for d in found["mux"])
    # acc[q][o] += over all lanes of every output, q looked up at run time
    assert any("acc [ q ] [ o ]" in d and "run time" in d and f"{L07['C_OUT'] * L07['LANES']} adders" in d
               for d in found["chain"])
    # each schedule table read once per lane and cycle from one memory
    assert {d.split("'")[1] for d in found["ports"]} >= {"sw", "sq", "sc", "su", "sv"}


def test_old_group_stage_is_caught():
    cfg = L07 | {"PO": 2, "GROUPS": 2}
    found = _kinds(check_function(OLD, "conv_stage", _env(cfg), "l07", allowed_mux=2))
    taps = cfg["C_IN"] * cfg["KH"] * cfg["KW"]
    assert any("'weight'" in d and f"{cfg['PO'] * taps} times" in d for d in found["ports"])
    assert any("acc +=" in d and f"{cfg['PO'] * taps} adders" in d for d in found["chain"])


def _library(**replace: str) -> str:
    text = "\n".join((hls_dir() / n).read_text() for n in ("srhw_arith.h", "srhw_epilogue.h", "srhw_conv.h"))
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _mac(source: str):
    return check_function(source, "conv_sched_mac", _env(L07), "l07", allowed_mux=L07["T"])


def test_the_library_passes():
    assert _mac(_library()).findings == []
    s = check_function(_library(), "conv_stage", _env(L07 | {"PO": 2, "GROUPS": 2}), "l07", allowed_mux=2)
    assert s.findings == [] and s.loops == 1


@pytest.mark.parametrize("old,new,kind,what", [
    # the tap table no longer a set of constants: every lane's operand is looked up at run time
    ("#pragma HLS ARRAY_PARTITION variable=tap complete dim=0\n", "", "mux", "'win'"),
    # per-lane weight ROMs merged into one memory
    ("#pragma HLS ARRAY_PARTITION variable=wt complete dim=2\n", "", "ports", "'wt'"),
    # the lanes of a position summed one after the other instead of as a tree
    ("acc[q][o] += tree<acc_t, SPAN>::sum(term);", "for (int j = 0; j < SPAN; j++) acc[q][o] += term[j];",
     "chain", "acc [ q ] [ o ]"),
])
def test_a_regression_in_the_library_is_caught(old, new, kind, what):
    found = _kinds(_mac(_library(**{old: new})))
    assert any(what in d for d in found.get(kind, [])), found


def test_a_table_per_bank_is_one_read_and_a_shared_bank_is_caught():
    """table_stage reads table[c][x[c]] for every channel c in one cycle: the partitioned first
    dimension gives each channel its own ROM, one read each. Without that partition the C reads
    share one memory, which the check names."""
    source = (hls_dir() / "srhw_pointwise.h").read_text()
    env = _env({"C": 6, "N": 256, "IN_LO": 0})
    assert check_function(source, "table_stage", env, "l03").findings == []
    merged = source.replace("#pragma HLS ARRAY_PARTITION variable=table complete dim=1\n", "")
    found = _kinds(check_function(merged, "table_stage", env, "l03"))
    assert any("'table' read 6 times per cycle" in d for d in found["ports"]), found


def test_generated_project_is_checked(exported, tmp_path):
    """The compiler runs the check on what it writes: every scheduled conv's widest operand mux
    is its T, the group-folded conv has none."""
    out = tmp_path / "out"
    r = srhw.compile(exported("fsrcnn_x2", "dynamo"), out=out, progress=False, in_size="64x48", fps=40000,
                     fold_period=(5, 12))
    check = r.summary["hls"]["structure_check"]
    assert check["findings"] == [] and check["pipelined_loops"] >= 2 * sum(1 for l in r.qgraph.layers
                                                                           if l.kind == "Conv")
    assert set(check["widest_operand_mux"].values()) == {12}
    files = {str(p.relative_to(out / "hls")): p.read_text() for p in (out / "hls").rglob("*") if p.suffix in (".h", ".cpp")}
    assert check_project(files).muxes == check["widest_operand_mux"]
    assert "Structure of the generated C++" in (out / "report.md").read_text()


def test_constant_expressions():
    assert evaluate(tokens("CFG::PAD_T < CFG::KH - 1 ? CFG::PAD_T : CFG::KH - 1"), {"CFG::PAD_T": 2, "CFG::KH": 5}) == 2
    assert evaluate(tokens("(4 + 3) * 2 % 5 == 4 && !0"), {}) == 1
    assert evaluate(tokens("h + 1"), {}) is None  # a run-time name
