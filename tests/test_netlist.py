"""srhw.netlist on netlists built by hand in Yosys's JSON form, where the longest path is known:
LUT levels, carry chains, MUXF, DSP stages, and which DSPs keep their output register."""
from srhw.netlist import Levels, longest_path


def _cell(kind: str, ins: dict, outs: dict, **params) -> dict:
    return {"type": kind, "parameters": {k: format(v, "b") for k, v in params.items()},
            "port_directions": {**{p: "input" for p in ins}, **{p: "output" for p in outs}},
            "connections": {**ins, **outs}}


def test_levels_carry_chains_and_muxf():
    # ff0 -> LUT -> LUT -> CARRY4 -> CARRY4 -> LUT -> MUXF7 -> ff1 ; ff0 -> LUT -> ff2 (short)
    cells = {
        "ff0": _cell("FDRE", {"D": [1], "C": [2]}, {"Q": [10]}),
        "l1": _cell("LUT2", {"I0": [10], "I1": ["0"]}, {"O": [11]}),
        "l2": _cell("LUT3", {"I0": [11], "I1": [10], "I2": ["1"]}, {"O": [12]}),
        "c1": _cell("CARRY4", {"CI": ["0"], "S": [12, 12, 12, 12], "DI": [0, 0, 0, 0], "CYINIT": ["0"]},
                    {"O": [20, 21, 22, 23], "CO": [24, 25, 26, 27]}),
        "c2": _cell("CARRY4", {"CI": [27], "S": [12, 12, 12, 12], "DI": [0, 0, 0, 0], "CYINIT": ["0"]},
                    {"O": [30, 31, 32, 33], "CO": [34, 35, 36, 37]}),
        "l3": _cell("LUT4", {"I0": [33], "I1": [30], "I2": [10], "I3": [11]}, {"O": [40]}),
        "m": _cell("MUXF7", {"I0": [40], "I1": [12], "S": [10]}, {"O": [41]}),
        "ff1": _cell("FDRE", {"D": [41], "C": [2]}, {"Q": [50]}),
        "l4": _cell("LUT1", {"I0": [10]}, {"O": [60]}),
        "ff2": _cell("FDRE", {"D": [60], "C": [2]}, {"Q": [61]}),
    }
    r = longest_path({"cells": cells})
    assert r.worst == Levels(luts=3, carry_cells=2, dsp=0, muxf=1)
    assert r.worst_path_carry_bits == [8] and r.longest_carry_bits == 8
    # the registers at both ends, then the cells between
    assert r.worst_path_cells[0].startswith("from") and r.worst_path_cells[-1].startswith("to")
    assert [c.split()[0] for c in r.worst_path_cells[1:-1]] == ["LUT2", "LUT3", "CARRY4", "CARRY4", "LUT4", "MUXF7"]


def test_dsp_output_register():
    # d1: P drives only a flip-flop (Vivado packs it into PREG); d2: P drives a LUT first;
    # d3 has PREG = 1 and is a path boundary
    cells = {
        "fa": _cell("FDRE", {"D": [1]}, {"Q": [10]}),
        "d1": _cell("DSP48E2", {"A": [10], "B": [10]}, {"P": [20]}, PREG=0, MREG=0),
        "f1": _cell("FDRE", {"D": [20]}, {"Q": [21]}),
        "d2": _cell("DSP48E2", {"A": [10], "B": [10]}, {"P": [30]}, PREG=0, MREG=0),
        "l": _cell("LUT2", {"I0": [30], "I1": [10]}, {"O": [31]}),
        "f2": _cell("FDRE", {"D": [31]}, {"Q": [32]}),
        "d3": _cell("DSP48E2", {"A": [10], "B": [10]}, {"P": [40]}, PREG=1),
        "l2": _cell("LUT2", {"I0": [40], "I1": [40]}, {"O": [41]}),
        "f3": _cell("FDRE", {"D": [41]}, {"Q": [42]}),
    }
    r = longest_path({"cells": cells})
    assert r.dsp_total == 3 and r.dsp_without_output_register == 1
    assert r.worst == Levels(luts=1, carry_cells=0, dsp=1, muxf=0)  # fa -> d2 -> l -> f2
