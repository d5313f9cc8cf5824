"""torch.linalg's names (issue 16): norms, products and diagonals."""

from __future__ import annotations

from typing import Any

from .ops.linalg import diagonal as _diagonal
from .ops.linalg import linalg_norm as norm
from .ops.linalg import matmul, matrix_norm, vector_norm
from .tensor import Tensor

__all__ = ["diagonal", "matmul", "matrix_norm", "multi_dot", "norm", "vecdot", "vector_norm"]


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """torch.linalg.diagonal: the diagonal of the last two dims by default (a view)."""
    return _diagonal(A, offset, dim1, dim2)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of x and y along dim (broadcast)."""
    return (x * y).sum(dim)


def multi_dot(tensors: Any) -> Tensor:
    """The product of a chain of matrices (the first may be 1-D, as may the last)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        if t.ndim != 2 and not (t.ndim == 1 and i in (0, len(ts) - 1)):
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D{' or 1D' if i in (0, len(ts) - 1) else ''} but "
                               f"got {t.ndim}D")
    out = ts[0]
    for t in ts[1:]:
        out = matmul(out, t)
    return out
