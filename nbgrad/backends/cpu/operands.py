"""Elementwise operands as the CPU kernels take them: broadcast operands read in place (a single
value as a 0-d array, a row, a column), Fortran-ordered ones as their transposes, everything
else made flat and contiguous. Runs on every elementwise op, so the common cases stay cheap."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .kernels.layout import ascontiguous


def flat(a: np.ndarray, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """a as a flat contiguous array of `shape`'s size (copies only to cast, broadcast or compact)."""
    a = np.asarray(a)
    if a.dtype != dtype:
        a = a.astype(dtype)
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    return ascontiguous(a).reshape(-1)


def _split_2d(shapes: list[tuple], shape: tuple) -> int | None:
    """An index k splitting `shape` into rows shape[:k] and columns shape[k:] such that every
    operand shape (right-aligned) is full over one side and all ones over the other."""
    n = len(shape)
    padded = [(1,) * (n - len(s)) + tuple(s) for s in shapes]
    for k in range(1, n):
        if all((all(d == 1 for d in p[:k]) and p[k:] == shape[k:])
               or (p[:k] == shape[:k] and all(d == 1 for d in p[k:])) for p in padded):
            return k
    return None


def kernel_operands(operands: Sequence[Any], shape: tuple, dtypes: list) -> tuple[list, tuple | None]:
    """Kernel arguments for `operands` broadcast to `shape`, without materialising broadcasts
    where the kernels can read them in place. Returns (args, None) for the flat kernels: each
    arg a flat array of the full size or a 0-d array (a single broadcast value); or
    (args, (R, C)) for the 2-D kernels: each arg an (R, C) array, a row of C values, a column
    shaped (R, 1, 1) or a 0-d array. Called on every op, so the common case stays cheap."""
    args: list = []
    bcast: list = []  # positions in args of operands broadcast along some axes
    for o, dt in zip(operands, dtypes):
        a = o if type(o) is np.ndarray else np.asarray(o)
        if a.dtype != dt:
            a = a.astype(dt)
        if a.shape == shape and a.flags.c_contiguous:  # the common case: a full operand
            args.append(a.reshape(-1))
            continue
        if a.ndim and 0 in a.strides:
            # a broadcast view (np.broadcast_to / expand): read its one copy of the data instead
            a = a[tuple(slice(0, 1) if st == 0 else slice(None) for st in a.strides)]
        if a.size == 1 and a.shape != shape:
            args.append(a.reshape(()))  # a single value of the computation's dtype, as a 0-d array
        elif a.shape == shape:
            args.append(ascontiguous(a).reshape(-1))
        else:
            bcast.append(len(args))
            args.append(a)
    if not bcast:
        return args, None
    k = _split_2d([args[i].shape for i in bcast], shape) if math.prod(shape) else None
    if k is None:
        for i in bcast:
            args[i] = flat(args[i], shape, args[i].dtype)
        return args, None
    R, C = math.prod(shape[:k]), math.prod(shape[k:])
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.ndim:
            if i not in bcast or a.size == R * C:  # full (perhaps missing leading ones)
                args[i] = ascontiguous(a).reshape(R, C)
            elif all(d == 1 for d in ((1,) * (len(shape) - a.ndim) + a.shape)[:k]):  # a row
                args[i] = ascontiguous(a).reshape(C)
            else:  # a column, repeated across the C columns
                args[i] = ascontiguous(a).reshape(R, 1, 1)
    return args, (R, C)


def simple_operands(operands: Sequence[Any], shape: tuple, dtype: np.dtype) -> tuple[list, bool] | None:
    """Kernel arguments when every operand is an array of `dtype` that is C-ordered of the full
    `shape`, a single value (passed as a 0-d array) or, for a 2-D `shape`, a contiguous row of
    shape[1] values (a bias): (args, True) for the 2-D kernels, (args, False) for the flat
    ones; None otherwise (the general path sorts those out). Runs on every op: kept lean."""
    args, rows, nd = [], False, len(shape)
    for o in operands:
        if o.__class__ is not np.ndarray or o.dtype != dtype:
            return None
        s = o.shape
        if s == shape:
            if nd == 1:
                if o.strides[0] != o.itemsize and s[0] > 1:
                    return None
            elif nd > 1 and not o.flags.c_contiguous:
                return None
            args.append(o)
        elif o.size == 1:
            args.append(o.reshape(()) if o.ndim else o)
        elif nd == 2 and len(s) == 1 and s[0] == shape[1] and o.strides[0] == o.itemsize:
            args.append(o)
            rows = True
        else:
            return None
    if rows or nd <= 1:
        return args, rows
    return [o.reshape(-1) if o.ndim else o for o in args], False


def tiled_operands(arrs: list, shape: tuple, dtypes: list) -> list | None:
    """Arguments for the tiled kernels when 2-D operands mix C and Fortran order (e.g. a
    parameter and its gradient from a transposed product): C-ordered ones as they are,
    Fortran-ordered ones as their (C, R, 1, 1) C-ordered transposes, single values as 0-d arrays.
    None when no operand is Fortran-ordered or one is broadcast or strided."""
    out, fortran = [], False
    for a, dt in zip(arrs, dtypes):
        if a.size == 1 and a.shape != shape:
            out.append(a.reshape(()).astype(dt))
        elif a.shape != shape:
            return None
        elif a.flags.c_contiguous:
            out.append(a if a.dtype == dt else a.astype(dt))
        elif a.flags.f_contiguous:
            fortran = True
            out.append((a if a.dtype == dt else a.astype(dt)).T.reshape(shape[1], shape[0], 1, 1))
        else:
            return None
    return out if fortran else None


def all_fortran(operands: Sequence[Any], shape: tuple) -> bool:
    """True when every operand of more than one element is a full Fortran-ordered (not C-ordered)
    array of `shape`; single values are fine."""
    seen = False
    for o in operands:
        if not isinstance(o, np.ndarray) or o.size <= 1:
            continue
        if o.shape != shape or o.flags.c_contiguous or not o.flags.f_contiguous:
            return False
        seen = True
    return seen
