"""Elementwise kernels: the generated bodies of _elementwise.py (one per op and operand layout,
from shared.scalar.ELEMENTWISE), each compiled on first use as a serial and a parallel variant
and picked by the output's size."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...shared.scalar import ELEMENTWISE, TRANSCENDENTAL
from ..dispatch import PARALLEL_THRESHOLD, PARALLEL_THRESHOLD_CHEAP, Variants, kernel, variants
from . import _elementwise as _gen

_OPTIONS = {"nogil": True, "error_model": "numpy"}


_THRESHOLD = {name: PARALLEL_THRESHOLD if name in TRANSCENDENTAL else PARALLEL_THRESHOLD_CHEAP for name in ELEMENTWISE}
_VARIANTS: dict[tuple, Variants] = {}  # (op, layout) -> its compiled variants
_KERNELS: dict[tuple, Any] = {}  # the kernel each call shape runs, looked up once


def parallel_threshold(name: str) -> int:
    """The size from which ELEMENTWISE[name] runs its parallel kernel."""
    return _THRESHOLD[name]


def _variant(name: str, layout: str, parallel: bool) -> Any:
    v = _VARIANTS.get((name, layout))
    if v is None:
        v = _VARIANTS[name, layout] = variants(getattr(_gen, f"k_{name}{layout}"), **_OPTIONS)
    return v.parallel if parallel else v.serial


def elementwise(name: str, operands: list[Any], out: np.ndarray) -> None:
    """Run ELEMENTWISE[name] into a contiguous `out`. out flat: each operand a flat
    contiguous array of out's size or a scalar; out (R, C): each operand (R, C), a row (C,),
    a column (R, 1, 1) or a scalar (see codegen)."""
    key = (name, out.ndim == 2, out.size >= _THRESHOLD[name])
    k = _KERNELS.get(key)
    if k is None:
        k = _KERNELS[key] = _variant(name, "_2" if key[1] else "", key[2])
    k(*operands, out)


def elementwise_inplace(name: str, operands: list[Any], out: np.ndarray) -> None:
    """out = ELEMENTWISE[name](out, *operands) for a flat contiguous `out` (operands as in
    elementwise's flat form)."""
    key = (name, False, out.size >= _THRESHOLD[name], True)
    k = _KERNELS.get(key)
    if k is None:
        k = _KERNELS[key] = _variant(name, "_i", key[2])
    k(*operands, out)


def elementwise_tiled(name: str, operands: list[Any], out: np.ndarray) -> None:
    """ELEMENTWISE[name] into a C-ordered (R, C) `out` by tiles; each operand an
    (R, C) C-ordered array, the (C, R, 1, 1) transpose of a Fortran-ordered one, or a scalar."""
    key = (name, "tiled")
    k = _KERNELS.get(key)
    if k is None:
        k = _KERNELS[key] = kernel(getattr(_gen, f"k_{name}_t"), parallel=True, **_OPTIONS)
    k(*operands, out)
