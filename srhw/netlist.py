"""The longest register-to-register path of a Yosys netlist (`write_json` after
`synth_xilinx`), in logic levels: what decides whether a design can close its clock.

A path starts at a register output (a flip-flop, an SRL, a block RAM, a DSP48 with its P
register, a module port) and ends at a register input or a port. Along it, every LUT is one
logic level; a carry chain (CARRY4/CARRY8 cells linked by their carry ports) counts its cells
and bits; MUXF7/8/9 are counted apart (they add little delay); a DSP48 without its P register
is a DSP stage. LUT RAM reads (address to data) count as a LUT.

Yosys (0.70) packs the A/B/M/P registers into DSP48E1 cells only: its DSP48E2s keep every
register in the fabric. A DSP48E2 whose P bits all drive flip-flops directly is reported as
having its output register (Vivado moves such a flip-flop into PREG); any other is counted as
"without its output register".
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

SEQUENTIAL = re.compile(r"^(FD[RSCP]E|LD[CP]E|SRL16E|SRLC32E|RAMB(18|36)E\d|FIFO(18|36)E\d|URAM288)")
LUT = re.compile(r"^LUT[1-6]$")
CARRY = {"CARRY4": 4, "CARRY8": 8}
MUXF = re.compile(r"^MUXF[789]$")
LUTRAM = re.compile(r"^RAM(32|64|128|256)(M|M16|X1D|X1S)")
DSP = re.compile(r"^DSP48E\d$")


@dataclass(order=True, frozen=True)
class Levels:
    """Logic along a path, compared LUT levels first."""

    luts: int = 0
    carry_cells: int = 0
    dsp: int = 0
    muxf: int = 0

    def __add__(self, o: Levels) -> Levels:
        return Levels(self.luts + o.luts, self.carry_cells + o.carry_cells, self.dsp + o.dsp, self.muxf + o.muxf)


@dataclass
class PathReport:
    worst: Levels
    longest_carry_bits: int          # the widest carry chain anywhere (bits)
    worst_path_carry_bits: list[int] = field(default_factory=list)  # carry chains on the worst path
    dsp_total: int = 0
    dsp_without_output_register: int = 0
    worst_path_cells: list[str] = field(default_factory=list)


def _param_int(v) -> int:
    if isinstance(v, int):
        return v
    s = str(v)
    return int(s, 2) if s and set(s) <= {"0", "1"} else 0


def longest_path(module: dict) -> PathReport:
    """Analyse one (flattened) module of a Yosys JSON netlist."""
    cells = module["cells"]
    driver: dict[int, str] = {}          # bit -> comb cell driving it
    comb: dict[str, dict] = {}
    carry_next: dict[str, str] = {}
    fanout: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for name, c in cells.items():
        dirs = c.get("port_directions", {})
        for port, bits in c["connections"].items():
            if dirs.get(port) == "input":
                for b in bits:
                    if isinstance(b, int):
                        fanout[b].append((name, port))
    dsp_total = dsp_open = 0
    for name, c in cells.items():
        t = c["type"]
        dirs = c.get("port_directions", {})
        if DSP.match(t):
            dsp_total += 1
            if _param_int(c["parameters"].get("PREG", 0)):
                continue  # registered output: a path boundary
            p_bits = [b for b in c["connections"].get("P", []) if isinstance(b, int)]
            used = [b for b in p_bits if fanout.get(b)]
            to_ff = all(all(SEQUENTIAL.match(cells[n]["type"]) and port == "D" for n, port in fanout[b]) for b in used)
            if not to_ff:
                dsp_open += 1
        if SEQUENTIAL.match(t) or t in ("IBUF", "OBUF", "BUFG", "$scopeinfo") or t.startswith("$"):
            continue
        if not (LUT.match(t) or t in CARRY or MUXF.match(t) or LUTRAM.match(t) or DSP.match(t) or t == "INV"):
            continue
        comb[name] = c
        outs = [p for p, d in dirs.items() if d == "output"]
        if LUTRAM.match(t):
            outs = [p for p in outs if p.startswith(("DO", "O", "SPO", "DPO"))]
        for p in outs:
            for b in c["connections"].get(p, []):
                if isinstance(b, int):
                    driver[b] = name
    for name, c in comb.items():
        if c["type"] in CARRY:
            for b in c["connections"].get("CO", []):
                for n, port in fanout.get(b, []) if isinstance(b, int) else []:
                    if port == "CI" and n in comb:
                        carry_next[name] = n

    def weight(c: dict) -> Levels:
        t = c["type"]
        if LUT.match(t) or LUTRAM.match(t):
            return Levels(luts=1)
        if t in CARRY:
            return Levels(carry_cells=1)
        if MUXF.match(t):
            return Levels(muxf=1)
        if DSP.match(t):
            return Levels(dsp=1)
        return Levels()

    inputs: dict[str, list[int]] = {}
    for name, c in comb.items():
        dirs = c.get("port_directions", {})
        ins = []
        for port, bits in c["connections"].items():
            if dirs.get(port) != "input":
                continue
            if LUTRAM.match(c["type"]) and port.startswith(("DI", "D", "WE", "WCLK")):
                continue  # the write side is sequential
            ins += [b for b in bits if isinstance(b, int)]
        inputs[name] = ins
    # Kahn's order over the combinational cells
    deps: dict[str, set[str]] = {n: {driver[b] for b in inputs[n] if b in driver} - {n} for n in comb}
    users: dict[str, list[str]] = defaultdict(list)
    for n, ds in deps.items():
        for d in ds:
            users[d].append(n)
    ready = [n for n, ds in deps.items() if not ds]
    left = {n: len(ds) for n, ds in deps.items()}
    arrival: dict[str, Levels] = {}
    prev: dict[str, str | None] = {}
    while ready:
        n = ready.pop()
        best, via = Levels(), None
        for d in deps[n]:
            if arrival[d] > best:
                best, via = arrival[d], d
        arrival[n] = best + weight(comb[n])
        prev[n] = via
        for u in users[n]:
            left[u] -= 1
            if left[u] == 0:
                ready.append(u)
    worst_cell = max(arrival, key=lambda n: arrival[n], default=None)
    path = []
    n = worst_cell
    while n is not None:
        path.append(n)
        n = prev.get(n)
    path.reverse()
    # carry chains: consecutive carry cells along the worst path, and the widest anywhere
    chains, run = [], 0
    for n in path:
        if comb[n]["type"] in CARRY:
            run += CARRY[comb[n]["type"]]
        elif run:
            chains.append(run)
            run = 0
    if run:
        chains.append(run)
    longest = 0
    starts = set(carry_next) - set(carry_next.values())
    for s in starts:
        bits, n = 0, s
        while n is not None:
            bits += CARRY[comb[n]["type"]]
            n = carry_next.get(n)
        longest = max(longest, bits)
    names: dict[int, str] = {}  # where each bit comes from in the sources, where the netlist says
    for net, info in module.get("netnames", {}).items():
        src = str(info.get("attributes", {}).get("src", "")).split("|")[0].rsplit("/", 1)[-1]
        label = src if info.get("hide_name") else f"{net.rsplit('.', 1)[-1]} {src}".strip()
        for b in info.get("bits", []):
            if isinstance(b, int) and label and (b not in names or not info.get("hide_name")):
                names[b] = label

    def where(c: dict) -> str:
        outs = [b for p, d in c.get("port_directions", {}).items() if d == "output"
                for b in c["connections"].get(p, []) if isinstance(b, int)]
        return next((names[b] for b in outs if b in names), "")
    def register_names(bits: list) -> str:
        for b in bits:
            if isinstance(b, int) and b in names and not names[b].startswith(("lut_map", "arith_map", "/")):
                return names[b]
        return ""

    cells_text = [f"{comb[n]['type']} {where(comb[n])}".strip() for n in path]
    if path:  # the registers at both ends, by their names in the sources
        first_inputs = [b for b in inputs[path[0]] if b not in driver]
        last_outs = [b for p, d in comb[path[-1]].get("port_directions", {}).items() if d == "output"
                     for b in comb[path[-1]]["connections"].get(p, [])]
        ends = [(n, port) for b in last_outs if isinstance(b, int) for n, port in fanout.get(b, [])
                if n not in comb]
        end = ""
        for n, _ in ends:
            q = [b for p, d in cells[n].get("port_directions", {}).items() if d == "output"
                 for b in cells[n]["connections"].get(p, [])]
            end = register_names(q)
            if end:
                break
        cells_text = [f"from {register_names(first_inputs) or 'a port or constant'}"] + cells_text + \
            [f"to {end or 'a port'}"]
    return PathReport(arrival[worst_cell] if worst_cell else Levels(), longest, chains, dsp_total, dsp_open,
                      cells_text)
