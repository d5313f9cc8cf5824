"""Dtypes and PyTorch's type-promotion rules."""

from __future__ import annotations

import numpy as np

from . import tensor as _tensor  # (tensor.py imports this module: read _tensor.Tensor at call time)


class dtype:  # noqa: N801 - PyTorch's name
    __slots__ = ("name", "np", "is_floating_point", "category")

    def __init__(self, name: str, np_dtype: type, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category  # 0 bool, 1 integer, 2 floating
        self.is_floating_point = category == 2

    @property
    def itemsize(self) -> int:
        return self.np.itemsize

    def __repr__(self) -> str:
        return f"nbgrad.{self.name}"


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

_ALL = (bool_, uint8, int8, int16, int32, int64, float32, float64)
_BY_NP = {d.np: d for d in _ALL}


def from_numpy_dtype(npd: np.dtype) -> dtype:
    try:
        return _BY_NP[np.dtype(npd)]
    except KeyError:
        raise TypeError(f"nbgrad does not support dtype {np.dtype(npd)}") from None


def as_dtype(d: object) -> dtype:
    if isinstance(d, dtype):
        return d
    if d is float:
        return float32
    if d is int:
        return int64
    if d is bool:
        return bool_
    return from_numpy_dtype(np.dtype(d))


_PROMOTED: dict[tuple[dtype, dtype], dtype] = {}


def promote(a: dtype, b: dtype) -> dtype:
    """Promote two tensor dtypes of the same priority, as PyTorch does: a higher category wins
    outright (float32 with int64 is float32, where NumPy says float64); within a category
    NumPy's table matches PyTorch's (uint8 with int8 is int16)."""
    if a is b:
        return a
    r = _PROMOTED.get((a, b))
    if r is None:
        if a.category != b.category:
            r = a if a.category > b.category else b
        else:
            r = from_numpy_dtype(np.promote_types(a.np, b.np))
        _PROMOTED[(a, b)] = r
    return r


def promote_np(*dts: np.dtype) -> np.dtype:
    """promote() on NumPy dtypes: the dtype a kernel computes in for operands of these dtypes."""
    r = from_numpy_dtype(dts[0])
    for d in dts[1:]:
        r = promote(r, from_numpy_dtype(d))
    return r.np


def result_type(*operands: object) -> dtype:
    """PyTorch's promotion: dimensioned tensors > zero-dim tensors > Python scalars, by category."""
    Tensor = _tensor.Tensor
    if len(operands) == 2:  # the common cases, decided without the tier table
        a, b = operands
        if type(a) is Tensor:
            da = a.dtype
            if (type(b) is float or type(b) is int) and da.category == 2:
                return da  # a floating tensor (of any dim) with a Python number keeps its dtype
            if a.ndim and type(b) is Tensor and b.ndim:
                return promote(da, b.dtype)
    tiers: list[dtype | None] = [None, None, None]
    for op in operands:
        if isinstance(op, Tensor):
            d, tier = op.dtype, 0 if op.ndim > 0 else 1
        elif isinstance(op, bool):
            d, tier = bool_, 2
        elif isinstance(op, int):
            d, tier = int64, 2
        elif isinstance(op, float):
            d, tier = float32, 2
        else:
            raise TypeError(f"unsupported operand type {type(op).__name__}")
        cur = tiers[tier]
        tiers[tier] = d if cur is None else promote(cur, d)
    result: dtype | None = None
    for tier, d in enumerate(tiers):
        if d is None:
            continue
        if result is None:
            result = d
        elif d.category > result.category:
            # a lower-priority operand of a higher category lifts the category:
            # zero-dim tensors keep their dtype, Python scalars give the default
            result = d if tier == 1 or d.category < 2 else float32
    assert result is not None
    return result
