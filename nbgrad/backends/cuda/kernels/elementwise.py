"""Elementwise kernels: loops generated on first use per operand kinds and compute dtype (an
unrolled contiguous kernel, a float32 one moving 4 values per access, and a strided one that
reads broadcast and transposed views in place), each calling its op's shared scalar function
(shared.scalar.ELEMENTWISE) lifted as a device function, as the CPU's kernels call the same
function."""

from __future__ import annotations

from typing import Any

from numba import cuda, float32, float64, int32, int64, uint32, uint64

from ...shared.scalar import ELEMENTWISE
from .device import lift
from .vector import vector_ops


# Operand kinds: 'c' contiguous with the output's shape (index i), 'g' general strided
# (offset + strides over the output's shape, stride 0 where broadcast), 's' a scalar value.

_EW: dict = {}


UNROLL = 4  # independent loads in flight per thread on the contiguous path


def _contiguous_source(kinds: str, casts: list[str]) -> list[str]:
    """All operands contiguous (or scalars): each thread handles UNROLL elements per trip,
    loading all of them before it stores any, so more memory requests are in flight."""
    names = "abcd"[: len(kinds)]
    params = [f"{v}_" if k == "s" else f"{v}_, {v}_o" for v, k in zip(names, kinds)]

    def load(v: str, k: str, cast: str, i: str) -> str:
        return f"{cast}({v}_)" if k == "s" else f"{cast}({v}_[U({v}_o + {i})])"

    L = [f"def k(out, out_o, n, {', '.join(params)}):",
         "    start = cuda.grid(1)",
         "    step = cuda.gridsize(1)",
         f"    for i0 in range(start, n, step * {UNROLL}):"]
    for u in range(1, UNROLL):
        L.append(f"        i{u} = i{u - 1} + step")
    L.append(f"        if i{UNROLL - 1} < n:")
    for u in range(UNROLL):
        L.append(f"            r{u} = F({', '.join(load(v, k, c, f'i{u}') for v, k, c in zip(names, kinds, casts))})")
    for u in range(UNROLL):
        L.append(f"            out[U(out_o + i{u})] = r{u}")
    L += ["        else:",
          "            for i in range(i0, n, step):",
          f"                out[U(out_o + i)] = F({', '.join(load(v, k, c, 'i') for v, k, c in zip(names, kinds, casts))})"]
    return L


def _vector_source(kinds: str, casts: list[str]) -> list[str]:
    """All operands contiguous float32 (or scalars) at offsets that are multiples of 4: each thread
    moves 4 consecutive values per access (G4 / S4), a grid-stride loop over groups of 4, then
    the n % 4 tail one by one."""
    names = "abcd"[: len(kinds)]
    params = [f"{v}_" if k == "s" else f"{v}_, {v}_o" for v, k in zip(names, kinds)]
    L = [f"def k(out, out_o, n, {', '.join(params)}):",
         "    start = cuda.grid(1)",
         "    step = cuda.gridsize(1)",
         "    nv = n // 4",
         "    for g in range(start, nv, step):",
         "        i = g * 4"]
    for v, k, c in zip(names, kinds, casts):
        if k == "s":
            L.append(f"        {v}0 = {v}1 = {v}2 = {v}3 = {c}({v}_)")
        else:
            L.append(f"        {v}0, {v}1, {v}2, {v}3 = G4({v}_, {v}_o + i)")
    args = [", ".join(f"{c}({v}{u})" for v, c in zip(names, casts)) for u in range(4)]
    L.append(f"        S4(out, out_o + i, {', '.join(f'float32(F({a}))' for a in args)})")  # out is float32
    loads = ", ".join(f"{c}({v}_)" if k == "s" else f"{c}({v}_[{v}_o + i])" for v, k, c in zip(names, kinds, casts))
    L += ["    for i in range(nv * 4 + start, n, step):",
          f"        out[out_o + i] = F({loads})"]
    return L


def elementwise_kernel(op: str, kinds: str, calc: str, out_kind: str = "c", vector: bool = False,
                       idx32: bool = False) -> Any:
    """vector: the float32 kernel with 4-value accesses (kinds 'c' / 's', out contiguous).
    idx32: the strided kernel splits the flat index into coordinates in 32-bit unsigned
    arithmetic (n < 2**32): a 64-bit division is several times the instructions."""
    idx32 = idx32 and "g" in kinds + out_kind  # (only the strided kernel divides)
    key = (op, kinds, calc, out_kind, vector, idx32)
    k = _EW.get(key)
    if k is None:
        nargs, fn = ELEMENTWISE[op]
        params, loads, offs = [], [], []
        for i, (v, kind) in enumerate(zip("abcd", kinds)):
            cast = "" if (op == "where" and i == 0) or calc == "bool_" else calc
            if kind == "s":
                params.append(f"{v}_")
                loads.append(f"{v} = {cast}({v}_)")
            elif kind == "c":
                params += [f"{v}_", f"{v}_o"]
                loads.append(f"{v} = {cast}({v}_[U({v}_o + i)])")
            else:
                params += [f"{v}_", f"{v}_o", f"{v}_s"]
                offs.append(v)
                loads.append(f"{v} = {cast}({v}_[U({v}_i)])")
        if out_kind == "g":
            offs.append("out")
        # U: indices are never negative; as unsigned, numba leaves out its wraparound arithmetic
        ns = {"cuda": cuda, "F": lift(fn), "float32": float32, "float64": float64, "int64": int64,
              "int32": int32, "U": uint64, "I": uint32 if idx32 else int64}
        if not offs:
            casts = ["" if (op == "where" and i == 0) or calc == "bool_" else calc for i in range(len(kinds))]
            if vector:
                ns.update(vector_ops())
            src = _vector_source(kinds, casts) if vector else _contiguous_source(kinds, casts)
            exec("\n".join(src), ns)  # noqa: S102  (a loop over the operand kinds, built above)
            k = _EW[key] = cuda.jit(ns["k"])
            return k
        lines = [
            f"def k(out, out_o, out_s, n, shape, {', '.join(params)}):",
            "    start = cuda.grid(1)",
            "    step = cuda.gridsize(1)",
            "    for i in range(start, n, step):",
        ]
        if offs:
            lines += [f"        {v}_i = {v}_o" for v in offs]
            lines += [
                "        r = I(i)",
                "        for d in range(len(shape) - 1, -1, -1):",
                "            sd = I(shape[d])",
                "            q = r // sd",
                "            c = r - q * sd",
                "            r = q",
            ]
            lines += [f"            {v}_i += int64(c) * {v}_s[d]" for v in offs]
        lines += [f"        {ld}" for ld in loads]
        lines.append(f"        out[U({'out_i' if out_kind == 'g' else 'out_o + i'})] = F({', '.join('abcd'[:nargs])})")
        exec("\n".join(lines), ns)  # noqa: S102  (a loop over the operand kinds, built above)
        k = _EW[key] = cuda.jit(ns["k"])
    return k
