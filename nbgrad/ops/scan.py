"""Scans, triangles and products (issue 16): cumsum, cumprod, cummax, cummin, logcumsumexp,
tril, triu, prod, and the backward helpers of their table entries.

The scans run the backend's `cumulative` kernel along one dim; prod is the last element of a
running product. Their gradients are written in differentiable ops (reversed cumulative sums,
products of the other elements from both ends, scatter-adds at the running extremes), so they
differentiate again; cumprod's and prod's stay correct where the input has zeros."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dtype import int64
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import ew, numpy_aliases, record
from .elementwise import where
from .index import _type_name, gather_backward
from .reduce import ValuesIndices
from .shape import cat, wrap_dim


def _scan(x: Tensor, dim: int, kind: str) -> tuple[int, Any, Any]:
    """(dim wrapped, running values, running indices or None) of x along dim."""
    d = wrap_dim(dim, x.ndim)
    be = x._backend
    src = x._data if x.ndim else be.reshape(x._data, (1,))
    v, i = be.cumulative(src, d, kind)
    if not x.ndim:
        v, i = be.reshape(v, ()), (None if i is None else be.reshape(i, ()))
    return d, v, i


def _accumulating(x: Tensor, dtype: Any) -> Tensor:
    """x in `dtype` when given, else integers and bools as int64 (PyTorch's sums and products)."""
    if dtype is not None:
        return x.to(dtype)
    return x if x.dtype.is_floating_point else x.to(int64)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    x = _accumulating(input, dtype)
    d, v, _ = _scan(x, dim, "sum")
    return record(N.CumsumBackward0, v, (x,), x._backend, dim=d)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    x = _accumulating(input, dtype)
    d, v, _ = _scan(x, dim, "prod")
    return record(N.CumprodBackward0, v, (x,), x._backend, dim=d)


def _cumext(x: Tensor, dim: int, kind: str, node: Any) -> ValuesIndices:
    d, v, i = _scan(x, dim, kind)
    it = Tensor._wrap(i, x._backend)
    return ValuesIndices(record(node, v, (x,), x._backend, save={"indices": it}, dim=d), it)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def cummax(input: Tensor, dim: int) -> ValuesIndices:
    """(running max, index of each): ties and NaN take the later element; a number never replaces NaN."""
    return _cumext(input, dim, "max", N.CummaxBackward0)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def cummin(input: Tensor, dim: int) -> ValuesIndices:
    return _cumext(input, dim, "min", N.CumminBackward0)


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    x = input
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_type_name(x)}'")
    d, v, _ = _scan(x, dim, "logsumexp")
    return record(N.LogcumsumexpBackward0, v, (x,), x._backend, dim=d)


# ---------------------------------------------------------------- triangles
def _tri(x: Tensor, diagonal: int, upper: bool) -> Tensor:
    name = "triu" if upper else "tril"
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    m, n = x.shape[-2:]
    keep = np.tri(m, n, int(diagonal) - (1 if upper else 0), dtype=bool)
    be = x._backend
    mask = be.asarray(~keep if upper else keep)
    out = ew("where", mask, x._data, np.asarray(0, x.dtype.np), shape=tuple(x.shape), dt=x.dtype.np, backend=be)
    return record(N.TriuBackward0 if upper else N.TrilBackward0, out, (x,), be, diagonal=int(diagonal))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below the diagonal-th diagonal) of the last two dims, 0 elsewhere."""
    return _tri(input, diagonal, False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return _tri(input, diagonal, True)


# ---------------------------------------------------------------- prod
def _prod_along(be: Any, a: Any, d: int) -> Any:
    """The product of a along d (the dim removed): the last element of the running product."""
    if a.shape[d] == 0:
        return be.full(a.shape[:d] + a.shape[d + 1:], 1, a.dtype)
    v, _ = be.cumulative(a, d, "prod")
    return be.contiguous(be.getitem(v, (slice(None),) * d + (-1,)))


@numpy_aliases  # axis= / keepdims= (issue 16, edges)
def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    x = _accumulating(input, dtype)
    be = x._backend
    if dim is None:
        out = be.reshape(_prod_along(be, be.reshape(x._data, (-1,)), 0), ())
        return record(N.ProdBackward0, out, (x,), be)
    d = wrap_dim(dim, x.ndim)
    if not x.ndim:
        return record(N.ProdBackward1, be.copy(x._data), (x,), be, dim=d, keepdim=keepdim)
    out = _prod_along(be, x._data, d)
    if keepdim:
        out = be.reshape(out, x.shape[:d] + (1,) + x.shape[d + 1:])
    return record(N.ProdBackward1, out, (x,), be, dim=d, keepdim=keepdim)


# ---------------------------------------------------------------- ops the derivatives use
def reversed_cumsum(t: Tensor, dim: int) -> Tensor:
    """sum of t[j] over j >= i along dim (cumsum's gradient)."""
    return t if not t.ndim else t.flip(dim).cumsum(dim).flip(dim)


def _ones_at(x: Tensor, d: int) -> Tensor:
    be = x._backend
    return Tensor._wrap(be.full(x.shape[:d] + (1,) + x.shape[d + 1:], 1, x._data.dtype), be)


def others_product(x: Tensor, d: int) -> Tensor:
    """Each element's product of the other elements along d: the running products from both
    ends, each exclusive (no division, so zeros are no special case)."""
    n = x.shape[d]
    if n == 0:
        return x
    one = _ones_at(x, d)
    left = cat([one, x.narrow(d, 0, n - 1).cumprod(d)], d)
    right = cat([x.narrow(d, 1, n - 1).flip(d).cumprod(d).flip(d), one], d)
    return left * right


def prod_backward(grad: Tensor, self: Tensor, dim: Any, keepdim: bool) -> Tensor:
    if dim is None:
        return (grad * others_product(self.reshape(-1), 0)).reshape(tuple(self.shape))
    if not self.ndim:
        return grad
    return (grad if keepdim else grad.unsqueeze(dim)) * others_product(self, dim)


def cumprod_backward(grad: Tensor, self: Tensor, dim: int, result: Tensor) -> Tensor:
    """Before a row's first zero: reversed_cumsum(grad * result) / self. At the first zero z:
    the sum over j >= z of grad[j] times the running product with self[z] left out. After it: 0
    (whose derivative is not: with create_graph, every product is written out instead, as torch)."""
    if not self.ndim or not self.numel():
        return grad
    if is_grad_enabled():
        return _cumprod_backward_products(grad, self, dim)
    zero = self == 0
    seen = zero.cumsum(dim)
    before = seen == 0
    first = where(zero, seen == 1, zero)
    g_before = reversed_cumsum(grad * result, dim) / where(before, self, 1)
    skipped = where(first, 1, self).cumprod(dim)
    g_first = reversed_cumsum(where(before, 0, grad * skipped), dim)
    return where(before, g_before, where(first, g_first, 0))


def _cumprod_backward_products(grad: Tensor, self: Tensor, dim: int) -> Tensor:
    """grad[k] = sum over j >= k of grad[j] * (product of self[:k]) * (product of self[k + 1 : j + 1]):
    O(n^2) ops, each differentiable wherever self has zeros."""
    n = self.shape[dim]
    parts = []
    for k in range(n):
        before = self.narrow(dim, 0, k).prod(dim, keepdim=True)
        omitted = cat([before, before * self.narrow(dim, k + 1, n - k - 1).cumprod(dim)], dim)
        parts.append((grad.narrow(dim, k, n - k) * omitted).sum(dim, keepdim=True))
    return cat(parts, dim)


def cummaxmin_backward(grad: Tensor, self: Tensor, indices: Tensor, dim: int) -> Tensor:
    """grad added up at the index each running extreme came from."""
    if not self.ndim or not self.numel():
        return grad
    return gather_backward(grad, tuple(self.shape), dim, indices)


def logcumsumexp_backward(grad: Tensor, self: Tensor, result: Tensor, dim: int) -> Tensor:
    """sum over j >= i of grad[j] * exp(self[i] - result[j]), in log space for the positive and
    the negative parts of grad apart (no overflow)."""
    if not self.ndim or not self.numel():
        return grad
    lowest = float(np.finfo(self.dtype.np).min)
    log_abs = grad.abs().log()

    def rev_lcse(t: Tensor) -> Tensor:
        return t.flip(dim).logcumsumexp(dim).flip(dim)

    pos = rev_lcse(where(grad > 0, log_abs, lowest) - result)
    neg = rev_lcse(where(grad < 0, log_abs, lowest) - result)
    return (pos + self).exp() - (neg + self).exp()
