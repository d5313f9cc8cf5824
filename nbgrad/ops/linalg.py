"""Matrix products (BLAS through the backend)."""

from __future__ import annotations


import numpy as np

from ..tensor import Tensor
from . import derivatives_table as N
from ._core import record


def matmul(a: Tensor, b: Tensor) -> Tensor:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): arguments must be Tensors")
    ad, bd = a._data, b._data
    sa, sb = ad.shape, bd.shape
    be = a._backend
    if len(sb) == 2 and 0 < len(sa) < 3 and sa[-1] == sb[0] and ad.dtype == bd.dtype and b._backend is be:
        node = N.MmBackward0  # (n, k) or (k,) @ (k, m): the common cases, checked in one line
    else:
        node = _matmul_node(a, b, sa, sb)
    return record(node, be.matmul(ad, bd), (a, b), be)


def _matmul_node(a: Tensor, b: Tensor, sa: tuple, sb: tuple) -> type:
    """The node of a matmul of these shapes, after matmul's checks (PyTorch's errors)."""
    if a._backend is not b._backend:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {a.device} and {b.device}!"
        )
    na, nb = len(sa), len(sb)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != {b.dtype.name}"
        )
    if sa[-1] != (sb[0] if nb == 1 else sb[-2]):
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, sa))} and {'x'.join(map(str, sb))})"
        )
    if na > 2 or nb > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2] if nb > 2 else ())
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dimensions of shapes {list(sa)} and {list(sb)} cannot be broadcast"
            ) from None
    if na == 1:
        return N.DotBackward0 if nb == 1 else N.MmBackward0
    if nb == 1:
        return N.MvBackward0 if na == 2 else N.BmmBackward0
    return N.MmBackward0 if na == 2 and nb == 2 else N.BmmBackward0


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias. A 2-D x with a (out,) bias is one node, as in PyTorch (AddmmBackward0,
    without its TBackward0 of the weight); anything else is matmul then add."""
    if (bias is None or not isinstance(x, Tensor) or x.ndim != 2 or weight.ndim != 2
            or x._backend is not weight._backend or bias._backend is not x._backend
            or x.dtype is not weight.dtype or bias.dtype is not x.dtype or bias.shape != (weight.shape[0],)):
        out = matmul(x, weight.T)
        return out if bias is None else out + bias
    if x.shape[1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({x.shape[0]}x{x.shape[1]} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    be = x._backend
    out = be.addmm(bias._data, x._data, be.view(weight._data, np.transpose))
    return record(N.AddmmBackward0, out, (bias, x, weight), be)


def outer(a: Tensor, b: Tensor) -> Tensor:
    """The outer product of two vectors: out[i, j] = a[i] * b[j]."""
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D tensors, but got {a.ndim}-D and {b.ndim}-D tensors")
    if a._backend is not b._backend:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {a.device} and {b.device}!"
        )
    be = a._backend
    if a._data.dtype != b._data.dtype:
        from .._dtype import promote

        dt = promote(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    out = be.matmul(be.reshape(a._data, (-1, 1)), be.reshape(b._data, (1, -1)))
    return record(N.OuterBackward0, out, (a, b), be)
