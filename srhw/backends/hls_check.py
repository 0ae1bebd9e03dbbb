"""A structural check of the generated HLS C++: what Vitis HLS would build at a cost or rate
other than the plan's, found in the source before anyone runs Vitis.

Inside every pipelined loop (`#pragma HLS PIPELINE`) of every stage the top instantiates, with
the instance's configuration bound (`CFG::X`, template arguments, the library's `const int`
aliases), it finds:

- **operand muxes**: a read of a completely partitioned array of *variables* at an index known
  only at run time. Vitis builds one multiplexer over the partitioned elements per read
  (UG1399, ARRAY_PARTITION: a complete partition makes each element a register). Its fan-in
  must not exceed the stage's schedule (T operands per multiplier, GROUPS or CHUNKS, else 1). A
  constant table read at a run-time index is a ROM, not an operand mux, and is allowed.
- **accumulation chains**: `x += ...` inside an unrolled loop (every loop nested in a pipelined
  loop is unrolled, UG1399) whose target does not change with that loop, or is indexed at run
  time: a chain of adders as long as the loop, which Vitis cannot rebalance when the target is
  chosen at run time. Sums are written as trees (`srhw::tree`).
- **port conflicts**: more than two reads per cycle of one memory bank (an array dimension that
  is not completely partitioned), which would force II > 1 (a block or LUT RAM has two ports).

What counts as known at compile time: literals, template constants, the variables of unrolled
loops, `const` scalars computed from those, and elements of a constant table (a `const`
argument) that is completely partitioned, read at compile-time indices (each element is then
its own constant: the pattern hls4ml's fully unrolled layers rely on for their weights).

The checker reads the subset of C++ that srhw's library and templates are written in (one
statement per line is not required, but loops are `for (int i = A; i (+ k) < B; i++)`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"#pragma[^\n]*|[A-Za-z_]\w*(?:::\w+)*(?:<\w+>::\w+)?|\d+(?:LL|L|U)?|::|<<|>>|<=|>=|==|!=|&&|"
                    r"\|\||\+\+|--|\+=|-=|\*=|->|[{}()\[\];,<>=+\-*/%?:!&|.~^]")
_PRAGMA_PARTITION = re.compile(r"ARRAY_PARTITION\s+variable=([\w.]+)\s+(complete|cyclic|block)(?:\s+factor=\d+)?"
                               r"(?:\s+dim=(\d+))?")
_TYPES = {"int", "long", "short", "char", "unsigned", "signed", "bool", "const", "static", "typename", "auto"}


@dataclass
class Finding:
    function: str
    instance: str
    kind: str          # "mux", "chain", "ports"
    detail: str

    def __str__(self) -> str:
        return f"{self.instance} ({self.function}): {self.kind}: {self.detail}"


@dataclass
class Summary:
    """What the check saw: pipelined loops, and per instance the widest operand mux."""

    loops: int = 0
    muxes: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(_strip_comments(text))


# ------------------------------------------------------------------ constant expressions

class _Expr:
    """A recursive-descent evaluator for C integer constant expressions over bound names."""

    def __init__(self, toks: list[str], env: dict[str, int]):
        self.t, self.i, self.env = toks, 0, env

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self) -> str:
        self.i += 1
        return self.t[self.i - 1]

    def parse(self) -> int:
        v = self.cond()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r}")
        return v

    def cond(self) -> int:
        c = self.binary(0)
        if self.peek() == "?":
            self.take()
            a = self.cond()
            if self.take() != ":":
                raise ValueError("expected ':'")
            b = self.cond()
            return a if c else b
        return c

    _LEVELS = [("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("<<", ">>"), ("+", "-"), ("*", "/", "%")]

    def binary(self, level: int) -> int:
        if level == len(self._LEVELS):
            return self.unary()
        v = self.binary(level + 1)
        while self.peek() in self._LEVELS[level]:
            op = self.take()
            r = self.binary(level + 1)
            v = {"||": lambda: int(bool(v) or bool(r)), "&&": lambda: int(bool(v) and bool(r)),
                 "==": lambda: int(v == r), "!=": lambda: int(v != r), "<": lambda: int(v < r),
                 "<=": lambda: int(v <= r), ">": lambda: int(v > r), ">=": lambda: int(v >= r),
                 "<<": lambda: v << r, ">>": lambda: v >> r, "+": lambda: v + r, "-": lambda: v - r,
                 "*": lambda: v * r, "/": lambda: int(v / r), "%": lambda: v % r}[op]()
        return v

    def unary(self) -> int:
        tok = self.take()
        if tok == "-":
            return -self.unary()
        if tok == "!":
            return int(not self.unary())
        if tok == "(":
            v = self.cond()
            self.take()
            return v
        if re.fullmatch(r"\d+(?:LL|L|U)?", tok):
            return int(re.sub(r"[LU]+$", "", tok))
        if tok in ("true", "false"):
            return int(tok == "true")
        if tok in self.env:
            return self.env[tok]
        raise ValueError(f"unbound {tok!r}")


def evaluate(toks: list[str], env: dict[str, int]) -> int | None:
    try:
        return _Expr(toks, env).parse()
    except (ValueError, IndexError, ZeroDivisionError, TypeError):
        return None


# ------------------------------------------------------------------ statements

@dataclass
class _Node:
    kind: str                      # "block", "for", "if", "stmt", "pragma"
    toks: list[str] = field(default_factory=list)
    body: list[_Node] = field(default_factory=list)
    orelse: list[_Node] = field(default_factory=list)
    var: str = ""                  # for: the loop variable, its start and bound
    start: list[str] = field(default_factory=list)
    bound: list[str] = field(default_factory=list)
    offset: int = 0                # for: `var + offset < bound`


def _matching(toks: list[str], i: int, open_: str, close: str) -> int:
    depth = 0
    for j in range(i, len(toks)):
        if toks[j] == open_:
            depth += 1
        elif toks[j] == close:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unbalanced {open_}")


def _parse_block(toks: list[str]) -> list[_Node]:
    out, i = [], 0
    while i < len(toks):
        node, i = _parse_stmt(toks, i)
        if node is not None:
            out.append(node)
    return out


def _parse_stmt(toks: list[str], i: int) -> tuple[_Node | None, int]:
    t = toks[i]
    if t.startswith("#pragma"):
        return _Node("pragma", [t]), i + 1
    if t == ";":
        return None, i + 1
    if t == "{":
        j = _matching(toks, i, "{", "}")
        return _Node("block", body=_parse_block(toks[i + 1:j])), j + 1
    if t == "for":
        j = _matching(toks, i + 1, "(", ")")
        head = toks[i + 2:j]
        parts, cur = [], []
        for x in head:
            if x == ";":
                parts.append(cur)
                cur = []
            else:
                cur.append(x)
        parts.append(cur)
        init, cond = parts[0], parts[1]
        var = next((x for x in init if re.fullmatch(r"[A-Za-z_]\w*", x) and x not in _TYPES), "")
        start = init[init.index("=") + 1:] if "=" in init else []
        offset, bound = 0, []
        for op in ("<=", "<"):
            if op in cond:
                k = cond.index(op)
                lhs, bound = cond[:k], cond[k + 1:]
                if op == "<=":
                    bound = ["("] + bound + [")", "+", "1"]
                if len(lhs) == 3 and lhs[1] == "+" and lhs[2].isdigit():
                    offset = int(lhs[2])
                break
        body, k = _parse_stmt(toks, j + 1)
        return _Node("for", head, body=[body] if body else [], var=var, start=start, bound=bound, offset=offset), k
    if t == "if":
        j = _matching(toks, i + 1, "(", ")")
        then, k = _parse_stmt(toks, j + 1)
        orelse = []
        if k < len(toks) and toks[k] == "else":
            e, k = _parse_stmt(toks, k + 1)
            orelse = [e] if e else []
        return _Node("if", toks[i + 2:j], body=[then] if then else [], orelse=orelse), k
    j = i
    depth = 0
    while j < len(toks) and not (toks[j] == ";" and depth == 0):
        if toks[j] in "({[":
            depth += 1
        elif toks[j] in ")}]":
            depth -= 1
        j += 1
    return _Node("stmt", toks[i:j]), j + 1


# ------------------------------------------------------------------ functions

@dataclass
class Function:
    name: str
    template: list[str]            # template parameter names
    params: list[list[str]]        # each parameter's tokens
    body: list[_Node]


def functions(source: str) -> dict[str, Function]:
    """Every function template with a body in `source`, by name."""
    toks = tokens(source)
    found: dict[str, Function] = {}
    i = 0
    while i < len(toks):
        if toks[i] == "template" and i + 1 < len(toks) and toks[i + 1] == "<":
            j = _matching(toks, i + 1, "<", ">")
            tparams = [toks[k + 1] for k in range(i + 2, j) if toks[k] in ("class", "typename", "int", "bool")
                       and k + 1 < j]
            k = j + 1
            if toks[k] == "struct":  # a class template: skip its body
                k = _matching(toks, k, "{", "}") + 1
                i = k
                continue
            while k < len(toks) and toks[k] != "(":
                k += 1
            name = toks[k - 1]
            close = _matching(toks, k, "(", ")")
            if close + 1 < len(toks) and toks[close + 1] == "{":
                params, cur, depth = [], [], 0
                for x in toks[k + 1:close]:
                    if x == "," and depth == 0:
                        params.append(cur)
                        cur = []
                        continue
                    depth += x in "<([" and 1 or 0
                    depth -= x in ">)]" and 1 or 0
                    cur.append(x)
                if cur:
                    params.append(cur)
                end = _matching(toks, close + 1, "{", "}")
                found[name] = Function(name, tparams, params, _parse_block(toks[close + 2:end]))
                i = end + 1
                continue
            i = close + 1
            continue
        i += 1
    return found


@dataclass
class _Array:
    dims: list[int | None]
    const: bool
    complete: set[int] = field(default_factory=set)   # 1-based completely partitioned dims


def _subscripts(toks: list[str], j: int) -> tuple[list[list[str]], int]:
    """The index expressions of `a[...][...]` whose first `[` is toks[j], and the token after."""
    idx = []
    while j < len(toks) and toks[j] == "[":
        e = _matching(toks, j, "[", "]")
        idx.append(toks[j + 1:e])
        j = e + 1
    return idx, j


def _declared_array(decl: list[str]) -> tuple[str, list[list[str]]] | None:
    """`T name[d1][d2]...` -> (name, [dim tokens])."""
    if "[" not in decl:
        return None
    k = decl.index("[")
    name = decl[k - 1]
    dims, j = _subscripts(decl, k)
    if j < len(decl) and decl[j] not in ("=", ";"):
        return None
    return name, dims


def _declarators(toks: list[str]) -> tuple[bool, list[list[str]]] | None:
    """A declaration statement -> (const?, [declarator tokens]); None for anything else.
    `static const int A = 1, B = 2;` -> (True, [[A, =, 1], [B, =, 2]])."""
    i, qualifiers = 0, set()
    while i < len(toks) and toks[i] in ("static", "const", "typename", "unsigned", "signed"):
        qualifiers.add(toks[i])
        i += 1
    if i >= len(toks) or not re.fullmatch(r"[A-Za-z_][\w:]*(?:<\w+>::\w+)?", toks[i]):
        if qualifiers & {"unsigned", "signed"}:  # `unsigned char x[...]`: the type was the qualifier
            i -= 1
        else:
            return None
    i += 1
    if i < len(toks) and toks[i] == "<":
        i = _matching(toks, i, "<", ">") + 1
    while i < len(toks) and toks[i] in ("long", "int", "char", "short"):  # `long long`, `unsigned char`
        i += 1
    if i >= len(toks) or not re.fullmatch(r"[A-Za-z_]\w*", toks[i]) or \
            (i + 1 < len(toks) and toks[i + 1] not in ("[", "=", ",", "(")):
        return None
    out, cur, depth = [], [], 0
    for x in toks[i:]:
        if x == "," and depth == 0:
            out.append(cur)
            cur = []
            continue
        depth += 1 if x in ("(", "[", "{") else -1 if x in (")", "]", "}") else 0
        cur.append(x)
    out.append(cur)
    return "const" in qualifiers, out


class _Checker:
    def __init__(self, fn: Function, instance: str, env: dict[str, int], allowed_mux: int, summary: Summary):
        self.fn, self.instance, self.summary = fn, instance, summary
        self.env = dict(env)          # compile-time names -> values
        self.allowed = allowed_mux
        self.arrays: dict[str, _Array] = {}
        self.derived: dict[str, list[str]] = {}   # const locals inside pipelines -> their expression
        for p in fn.params:
            a = _declared_array(p)
            if a:
                self.arrays[a[0]] = _Array([evaluate(d, self.env) for d in a[1]], "const" in p)

    # --- compile-time knowledge
    def _names(self, toks: list[str]) -> list[str]:
        return [t for t in toks if re.fullmatch(r"[A-Za-z_]\w*(?:::\w+)*(?:<\w+>::\w+)?", t)]

    def static(self, toks: list[str], loopvars: set[str]) -> bool:
        """The expression's value is known at compile time (given unrolled loop variables)."""
        i = 0
        while i < len(toks):
            t = toks[i]
            if t in self.arrays and i + 1 < len(toks) and toks[i + 1] == "[":
                a = self.arrays[t]
                idx, j = _subscripts(toks, i + 1)
                fully = all(d in a.complete for d in range(1, len(idx) + 1))
                if not (a.const and fully and all(self.static(x, loopvars) for x in idx)):
                    return False
                i = j
                continue
            if re.fullmatch(r"[A-Za-z_]\w*(?:::\w+)*(?:<\w+>::\w+)?", t) and t not in ("true", "false"):
                if t in loopvars or t in self.env or t.startswith("srhw::") or t in _TYPES:
                    pass
                elif t in self.derived:
                    if not self.static(self.derived[t], loopvars):
                        return False
                elif i + 1 < len(toks) and toks[i + 1] in ("(", "<"):  # a type conversion or template
                    pass
                else:
                    return False
            i += 1
        return True

    def _mentions(self, toks: list[str], var: str) -> bool:
        for t in self._names(toks):
            if t == var or (t in self.derived and self._mentions(self.derived[t], var)):
                return True
        return False

    # --- walking
    def run(self) -> None:
        self._walk(self.fn.body, pipelined=False, loops=[])

    def _pragmas(self, nodes: list[_Node]) -> None:
        for n in nodes:
            if n.kind == "pragma":
                m = _PRAGMA_PARTITION.search(n.toks[0])
                if m and m.group(2) == "complete":
                    name = m.group(1).split(".")[-1]
                    a = self.arrays.get(name)
                    if a:
                        dim = int(m.group(3) or 1)
                        a.complete |= set(range(1, len(a.dims) + 1)) if dim == 0 else {dim}

    def _walk(self, nodes: list[_Node], pipelined: bool, loops: list[_Node]) -> None:
        for n in nodes:  # declarations first, so pragmas after them find the array
            if n.kind == "stmt":
                self._declare(n.toks, pipelined, loops)
            elif n.kind == "pragma":
                self._pragmas([n])
        for n in nodes:
            if n.kind == "for":
                inner = n.body[0].body if n.body and n.body[0].kind == "block" else n.body
                starts_pipeline = any(x.kind == "pragma" and "PIPELINE" in x.toks[0] for x in inner[:1])
                if starts_pipeline and not pipelined:
                    self.summary.loops += 1
                    self._walk(n.body, True, [])
                elif pipelined:
                    self._walk(n.body, True, loops + [n])
                else:
                    self._walk(n.body, False, loops)
            elif n.kind == "if":
                if pipelined:
                    self._reads(n.toks, loops)
                self._walk(n.body, pipelined, loops)
                self._walk(n.orelse, pipelined, loops)
            elif n.kind == "block":
                self._walk(n.body, pipelined, loops)
            elif n.kind == "stmt" and pipelined:
                self._statement(n.toks, loops)

    def _declare(self, toks: list[str], pipelined: bool, loops: list[_Node]) -> None:
        """Record arrays (with their sizes) and `const` scalars (their value, or their
        expression when it depends on the pipelined loop) that the statement declares."""
        decl = _declarators(toks)
        if decl is None:
            return
        is_const, declarators = decl
        for d in declarators:
            eq = d.index("=") if "=" in d else len(d)
            name, rest = d[0], d[1:eq]
            if rest and rest[0] == "[":
                a = _declared_array(d[:eq])
                if a:
                    self.arrays[name] = _Array([evaluate(x, self.env) for x in a[1]], is_const)
            elif is_const and eq < len(d):
                expr = d[eq + 1:]
                value = None if pipelined else evaluate(expr, self.env)
                if value is not None:
                    self.env[name] = value
                else:
                    self.derived[name] = expr

    def _statement(self, toks: list[str], loops: list[_Node]) -> None:
        for op in ("+=", "-="):
            if op in toks:
                k = toks.index(op)
                self._accumulation(toks[:k], loops)
                self._reads(toks[k + 1:], loops)
                self._reads(toks[:k], loops, write=True)
                return
        if "=" in toks:
            k = toks.index("=")
            self._reads(toks[k + 1:], loops)
            self._reads(toks[:k], loops, write=True)
            return
        self._reads(toks, loops)

    def _loopvars(self, loops: list[_Node]) -> set[str]:
        return {n.var for n in loops}

    def _trip(self, n: _Node) -> int:
        b = evaluate(n.bound, self.env)
        s = evaluate(n.start, self.env) if n.start else 0
        return max(0, (b if b is not None else 1) - n.offset - (s or 0))

    def _accumulation(self, target: list[str], loops: list[_Node]) -> None:
        if not loops:
            return  # one add per iteration of the pipelined loop: the recurrence Vitis schedules
        lv = self._loopvars(loops)
        runtime_index = "[" in target and not self.static(target[target.index("["):], lv)
        chain = 1
        for n in loops:
            if runtime_index or not self._mentions(target, n.var):
                chain *= self._trip(n)
        if chain > 2:
            why = "indexed at run time" if runtime_index else "the same element on every iteration"
            self.summary.findings.append(Finding(self.fn.name, self.instance, "chain",
                                                 f"'{' '.join(target)} +=' inside unrolled loops: {why}, a chain of "
                                                 f"{chain} adders in one pipelined iteration"))

    def _reads(self, toks: list[str], loops: list[_Node], write: bool = False) -> None:
        lv = self._loopvars(loops)
        i = 0
        while i < len(toks):
            t = toks[i]
            if t in self.arrays and i + 1 < len(toks) and toks[i + 1] == "[":
                a = self.arrays[t]
                idx, j = _subscripts(toks, i + 1)
                for x in idx:
                    self._reads(x, loops)
                self._access(t, a, idx, loops, lv, write)
                i = j
                continue
            i += 1

    def _access(self, name: str, a: _Array, idx: list[list[str]], loops: list[_Node], lv: set[str],
                write: bool) -> None:
        runtime = [d for d in range(1, len(idx) + 1) if not self.static(idx[d - 1], lv)]
        muxed = [d for d in runtime if d in a.complete]
        if muxed and not a.const and not write:
            sizes = [a.dims[d - 1] for d in muxed]
            fan_in = math.prod(s if s is not None else 0 for s in sizes)
            key = f"{self.instance}"
            self.summary.muxes[key] = max(self.summary.muxes.get(key, 0), fan_in)
            if fan_in > self.allowed:
                self.summary.findings.append(Finding(
                    self.fn.name, self.instance, "mux",
                    f"'{name}' read at a run-time index in partitioned dimension(s) {muxed}: a {fan_in}:1 operand "
                    f"multiplexer per read, the schedule allows {self.allowed}"))
        memory_dims = [d for d in range(1, len(idx) + 1) if d not in a.complete]
        if memory_dims:
            # a loop whose variable is a partitioned dimension's whole index reads another bank
            # on each iteration: table[c][x[c]] is one read per bank (table[c / 2][...] is not)
            bank_dims = [d for d in range(1, len(idx) + 1) if d in a.complete]
            per_bank = 1
            for n in loops:
                if any(self._mentions(idx[d - 1], n.var) for d in memory_dims) and \
                        not any(idx[d - 1] == [n.var] for d in bank_dims):  # exactly the loop variable
                    per_bank *= self._trip(n)
            if per_bank > 2:
                self.summary.findings.append(Finding(
                    self.fn.name, self.instance, "ports",
                    f"'{name}' {'written' if write else 'read'} {per_bank} times per cycle in one memory bank "
                    f"(dimension(s) {memory_dims} not partitioned): a RAM or ROM has two ports"))


def check_function(source: str, function: str, env: dict[str, int], instance: str = "",
                   allowed_mux: int = 1, summary: Summary | None = None) -> Summary:
    """Check one function template of `source` with its compile-time names bound in `env`
    (`CFG::X` and template parameters by name)."""
    summary = summary or Summary()
    fns = functions(source)
    if function not in fns:
        raise KeyError(f"no function template {function!r}")
    _Checker(fns[function], instance or function, env, allowed_mux, summary).run()
    return summary


_CFG_STRUCT = re.compile(r"struct\s+(\w+_cfg)\s*\{(.*?)\};", re.S)
_CFG_FIELD = re.compile(r"static\s+const\s+int\s+(\w+)\s*=\s*([^;]+);")
_DEFINE = re.compile(r"#define\s+(\w+)\s+(-?\d+)")
_CALL = re.compile(r"srhw::(\w+)<([^>()]*(?:<[^>]*>)?[^>()]*)>\s*\(")


def check_project(files: dict[str, str | bytes]) -> Summary:
    """Check every stage the generated top (srhw_top.cpp) instantiates, against the library
    headers under srhw/ and the configurations in srhw_params.h."""
    library = "\n".join(str(v) for k, v in sorted(files.items()) if k.startswith("srhw/") and k.endswith(".h"))
    defines = {m.group(1): int(m.group(2)) for m in _DEFINE.finditer(str(files["srhw_top.h"]))}
    configs: dict[str, dict[str, int]] = {}
    for m in _CFG_STRUCT.finditer(str(files["srhw_params.h"])):
        fields: dict[str, int] = {}
        for f in _CFG_FIELD.finditer(m.group(2)):
            v = evaluate(tokens(f.group(2)), defines | {f"srhw::{k}": v for k, v in _ACT.items()})
            if v is not None:
                fields[f.group(1)] = v
        configs[m.group(1)] = fields
    fns = functions(library)
    summary = Summary()
    for m in _CALL.finditer(_strip_comments(str(files["srhw_top.cpp"]))):
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        fn = fns.get(name)
        if fn is None:
            continue
        env: dict[str, int] = {}
        allowed = 1
        instance = name
        for param, arg in zip(fn.template, args):
            if arg in configs:
                cfg = configs[arg]
                env |= {f"{param}::{k}": v for k, v in cfg.items()}
                allowed = max(cfg.get("T", 1), cfg.get("GROUPS", 1), cfg.get("P", 1), cfg.get("CHUNKS", 1))
                instance = arg.removesuffix("_cfg")
            else:
                v = evaluate(tokens(arg), defines)
                if v is not None:
                    env[param] = v
        env |= {f"walk<{p}>::{k}": v for p in fn.template for k, v in _walk(env, p).items()}
        _Checker(fn, instance, env, allowed, summary).run()
    return summary


_ACT = {"ACT_NONE": 0, "ACT_RELU": 1, "ACT_CLIP": 2, "ACT_PRELU": 3, "ACT_TANH": 4}


def _walk(env: dict[str, int], p: str) -> dict[str, int]:
    """srhw::walk<CFG>'s constants (srhw_conv.h), for the stages that use them."""
    try:
        pt, kh = env[f"{p}::PAD_T"], env[f"{p}::KH"]
        return {"Y0": min(pt, kh - 1), "LB": kh - 1 if kh > 1 else 1,
                "MAX_WP": env[f"{p}::MAX_W"] + env[f"{p}::PAD_L"] + env[f"{p}::PAD_R"]}
    except KeyError:
        return {}
