"""An independent, deliberately naive implementation of docs/arithmetic.md in Python integers.

Per pixel, per channel, per tap, with exact rational rounding (Fraction): slow, so tests use it
on small frames only. It shares no code with srhw.golden.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def rnd(value: int, shift: int) -> int:
    """value * 2**-shift rounded half up (exact)."""
    return math.floor(Fraction(value) / Fraction(2) ** shift + Fraction(1, 2))


def sat(v: int, fmt: dict) -> int:
    lo = -(1 << (fmt["width"] - 1)) if fmt["signed"] else 0
    hi = (1 << (fmt["width"] - 1)) - 1 if fmt["signed"] else (1 << fmt["width"]) - 1
    return min(max(v, lo), hi)


def epilogue(acc: int, acc_frac: int, act: dict, out: dict, out_frac: int, c: int, zero: int = 0) -> int:
    if act["kind"] == "tanh":
        lf = act["lut_fmt"]
        i = sat(rnd(acc, acc_frac - lf["frac"]), lf)
        lo = -(1 << (lf["width"] - 1))
        return int(act["lut"]["data"][i - lo])
    s = acc_frac - out_frac
    if act["kind"] == "prelu" and acc < 0:
        slope = act["slope"]["data"][c]
        y = rnd(acc * slope, s + act["slope_fmt"]["frac"])
    else:
        y = rnd(acc, s)
    if act["kind"] == "relu":
        y = max(y, 0)
    elif act["kind"] == "clip":
        y = min(max(y, act["lo"]["data"][c]), act["hi"]["data"][c])
    return sat(y + zero, out)


def run(doc: dict, frame: np.ndarray) -> np.ndarray:
    """doc: the parsed ir.json; frame: uint8 [C, H, W]. Returns int codes of the output."""
    env = {doc["input"]: [[[int(v) for v in row] for row in ch] for ch in frame]}
    for L in doc["layers"]:
        x = env[L["inputs"][0]]
        C, H, W = len(x), len(x[0]), len(x[0][0])
        kind = L["kind"]
        of = L["out_frac"]["data"]
        zo = L["out_zero"]["data"] if L.get("out_zero") else [0] * len(of)
        if kind == "Conv":
            pad = L["pad_code"]["data"] if L.get("pad_code") else [0] * len(x)
            wshape, wd = L["weight"]["shape"], L["weight"]["data"]
            O, I, KH, KW = wshape
            t, l, b, r = L["pads"]
            OH, OW = H + t + b - KH + 1, W + l + r - KW + 1
            y = [[[0] * OW for _ in range(OH)] for _ in range(O)]
            for o in range(O):
                for i in range(OH):
                    for j in range(OW):
                        acc = L["bias"]["data"][o]
                        for c in range(I):
                            for u in range(KH):
                                for v in range(KW):
                                    yy, xx = i + u - t, j + v - l
                                    inside = 0 <= yy < H and 0 <= xx < W
                                    acc += wd[((o * I + c) * KH + u) * KW + v] * (x[c][yy][xx] if inside else pad[c])
                        y[o][i][j] = epilogue(acc, L["acc_frac"]["data"][o], L["act"], L["out_fmt"], of[o], o, zo[o])
        elif kind == "Affine":
            y = [[[epilogue(x[c][i][j] * L["scale"]["data"][c] + L["bias"]["data"][c], L["acc_frac"]["data"][c],
                            L["act"], L["out_fmt"], of[c], c) for j in range(W)] for i in range(H)] for c in range(C)]
        elif kind == "Add":
            z = env[L["inputs"][1]]
            fa, fb = (v["data"] for v in L["in_fracs"])
            F = L["acc_frac"]["data"]
            y = [[[epilogue(x[c][i][j] * 2 ** (F[c] - fa[c]) + z[c][i][j] * 2 ** (F[c] - fb[c]), F[c], L["act"],
                            L["out_fmt"], of[c], c) for j in range(W)] for i in range(H)] for c in range(C)]
        elif kind == "DepthToSpace":
            r = L["blocksize"]
            co = C // (r * r)
            y = [[[0] * (W * r) for _ in range(H * r)] for _ in range(co)]
            for c in range(co):
                for i in range(H * r):
                    for j in range(W * r):
                        di, dj = i % r, j % r
                        src = c * r * r + di * r + dj if L["mode"] == "CRD" else (di * r + dj) * co + c
                        y[c][i][j] = x[src][i // r][j // r]
        elif kind == "Crop":
            y = [[row[: W - L["right"]] for row in ch[: H - L["bottom"]]] for ch in x]
        else:
            raise NotImplementedError(kind)
        env[L["output"]] = y
    return np.array(env[doc["output"]], dtype=np.int64)
