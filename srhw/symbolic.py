"""Symbolic sizes for dynamic H/W: exact polynomials with rational coefficients.

Exporters compute Reshape targets from Shape(x) with Gather/Mul/Div/Concat. Evaluating those
subgraphs on NumPy object arrays of `Sym` folds them to symbolic shapes such as (1, 3, 2*H, 2*W);
spatial sizes of canonical tensors are `Sym` too (H - 8 after an unpadded 9x9 conv).
"""
from __future__ import annotations

from fractions import Fraction

Monomial = tuple[tuple[str, int], ...]


class SymbolicError(ValueError):
    pass


class Sym:
    __slots__ = ("terms",)

    def __init__(self, terms: dict[Monomial, Fraction]) -> None:
        self.terms = {m: Fraction(c) for m, c in terms.items() if c != 0}

    @staticmethod
    def var(name: str) -> "Sym":
        return Sym({((name, 1),): Fraction(1)})

    @staticmethod
    def of(x: "Sym | int") -> "Sym":
        if isinstance(x, Sym):
            return x
        return Sym({(): Fraction(int(x))})

    def simplify(self) -> "Sym | int":
        if not self.terms:
            return 0
        if list(self.terms) == [()] and self.terms[()].denominator == 1:
            return int(self.terms[()])
        return self

    def __add__(self, other: "Sym | int") -> "Sym | int":
        o = Sym.of(other)
        t = dict(self.terms)
        for m, c in o.terms.items():
            t[m] = t.get(m, Fraction(0)) + c
        return Sym(t).simplify()

    __radd__ = __add__

    def __neg__(self) -> "Sym | int":
        return Sym({m: -c for m, c in self.terms.items()}).simplify()

    def __sub__(self, other: "Sym | int") -> "Sym | int":
        return self + (-Sym.of(other))

    def __rsub__(self, other: "Sym | int") -> "Sym | int":
        return Sym.of(other) - self

    def __mul__(self, other: "Sym | int") -> "Sym | int":
        o = Sym.of(other)
        t: dict[Monomial, Fraction] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in o.terms.items():
                p = dict(m1)
                for k, v in m2:
                    p[k] = p.get(k, 0) + v
                m = tuple(sorted(p.items()))
                t[m] = t.get(m, Fraction(0)) + c1 * c2
        return Sym(t).simplify()

    __rmul__ = __mul__

    def _div(self, other: "Sym | int") -> "Sym | int":
        o = Sym.of(other)
        if len(o.terms) == 1:
            (mo, co), = o.terms.items()
            t: dict[Monomial, Fraction] = {}
            for m, c in self.terms.items():
                p = dict(m)
                for k, v in mo:
                    p[k] = p.get(k, 0) - v
                if any(v < 0 for v in p.values()):
                    raise SymbolicError(f"cannot divide {self} by {o}")
                t[tuple(sorted((k, v) for k, v in p.items() if v))] = c / co
            res = Sym(t)
        else:  # only exact multiples of a polynomial divide
            ratios = {self.terms.get(m, Fraction(0)) / c for m, c in o.terms.items()}
            if len(ratios) != 1 or set(self.terms) - set(o.terms):
                raise SymbolicError(f"cannot divide {self} by {o}")
            res = Sym({(): ratios.pop()})
        if any(c.denominator != 1 for c in res.terms.values()):
            raise SymbolicError(f"{self} / {o} is not an integer for every size")
        return res.simplify()

    __floordiv__ = _div
    __truediv__ = _div

    def __rfloordiv__(self, other: int) -> "Sym | int":
        return Sym.of(other)._div(self)

    def divisible_by(self, other: "Sym | int") -> bool:
        try:
            self._div(other)
            return True
        except SymbolicError:
            return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sym):
            return self.terms == other.terms
        if isinstance(other, int) and not isinstance(other, bool):
            return self.terms == Sym.of(other).terms
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.terms.items())))

    def __lt__(self, other: object) -> bool:  # dynamic sizes count as large (Slice clamping)
        return False

    def __gt__(self, other: object) -> bool:
        return True

    def __int__(self) -> int:
        raise SymbolicError(f"the dynamic size {self} has no fixed value")

    def __repr__(self) -> str:
        parts = []
        for m, c in sorted(self.terms.items(), key=lambda kv: (-len(kv[0]), kv[0])):
            name = "*".join(k if v == 1 else f"{k}^{v}" for k, v in m)
            if not name:
                parts.append(str(c))
            else:
                parts.append(name if c == 1 else f"{c}*{name}")
        return " + ".join(parts).replace("+ -", "- ")


def divides(total: "Sym | int", part: "Sym | int") -> bool:
    if isinstance(total, int) and isinstance(part, int):
        return part != 0 and total % part == 0
    return Sym.of(total).divisible_by(part)

