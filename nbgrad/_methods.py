"""Attach op functions to Tensor as methods and Python operators."""

from __future__ import annotations

from typing import Any

from .ops import elementwise as E
from .ops import index as X
from .ops import linalg as L
from .ops import math as M
from .ops import order as O
from .ops import reduce as R
from .ops import scan as SC
from .ops import shape as S
from .ops.index import inplace
from .tensor import Tensor


def _unary(op: str) -> Any:
    def f(self: Tensor) -> Tensor:
        return E.unary(op, self)

    f.__name__ = op
    return f


def _cmp(op: str) -> Any:
    def f(self: Tensor, other: Any) -> Tensor:
        return E.compare(op, self, other)

    return f


def _install() -> None:
    T = Tensor
    for op in E._UNARY:
        setattr(T, op, _unary(op))
    T.neg = T.__neg__ = E.neg
    T.add = T.__add__ = E.add
    T.__radd__ = lambda self, o: E.add(o, self)
    T.sub = T.__sub__ = E.sub
    T.__rsub__ = lambda self, o: E.rsub(self, o)
    T.mul = T.__mul__ = E.mul
    T.__rmul__ = lambda self, o: E.mul(o, self)
    T.div = T.__truediv__ = E.div
    T.__rtruediv__ = lambda self, o: E.div(o, self)
    T.pow = T.__pow__ = E.pow
    T.__rpow__ = lambda self, o: E.pow(o, self)
    T.matmul = T.__matmul__ = L.matmul
    T.__rmatmul__ = lambda self, o: L.matmul(o, self)
    T.clamp = T.clip = E.clamp
    T.maximum = E.maximum
    T.minimum = E.minimum
    for name, op in (("eq", "eq"), ("ne", "ne"), ("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")):
        setattr(T, name, _cmp(op))
        setattr(T, f"__{name}__", _cmp(op))
    T.sum, T.mean, T.max, T.min = R.sum, R.mean, R.max, R.min
    T.argmax, T.argmin, T.var, T.std = R.argmax, R.argmin, R.var, R.std
    T.softmax, T.log_softmax, T.logsumexp = R.softmax, R.log_softmax, R.logsumexp
    T.amax, T.amin, T.nansum, T.nanmean = R.amax, R.amin, R.nansum, R.nanmean
    T.reshape, T.view, T.flatten = S.reshape, S.view, S.flatten
    T.unsqueeze, T.squeeze, T.permute, T.transpose = S.unsqueeze, S.squeeze, S.permute, S.transpose
    T.mT = property(S.matrix_transpose)
    T.expand, T.clone, T.__getitem__ = S.expand, S.clone, S.getitem
    T.expand_as = lambda self, other: S.expand(self, *other.shape)
    T.view_as = lambda self, other: S.view(self, *other.shape)
    T.reshape_as = lambda self, other: S.reshape(self, *other.shape)
    T.t = lambda self: S.transpose(self, 0, 1) if self.ndim == 2 else self
    T.is_contiguous = lambda self: self._backend.is_contiguous(self._data)
    T.contiguous = S.contiguous
    T.sum_to_size = S.sum_to_size
    T.outer = L.outer
    T.inner, T.ger, T.select = L.inner, L.ger, S.select
    # shape, split, index and scatter (issue 16)
    _install_shape_index(T)
    # linear algebra (issue 16)
    _install_linalg(T)
    # scans, triangles and order (issue 16)
    _install_scan_order(T)
    # more elementwise math (issue 16)
    _install_math(T)
    # in-place forms of the basic unary ops (exp_, relu_, ...), as PyTorch's
    for op in (*E._UNARY, "neg"):
        if not hasattr(T, op + "_"):
            setattr(T, op + "_", inplace(getattr(T, op)))


def _install_shape_index(T: Any) -> None:
    """Tensor methods of the shape / split / index / scatter family (issue 16)."""
    T.split, T.chunk, T.unbind, T.narrow, T.tensor_split = S.split, S.chunk, S.unbind, S.narrow, S.tensor_split
    T.movedim = T.moveaxis = S.movedim
    T.swapaxes = T.swapdims = S.swapaxes
    T.unflatten = S.unflatten
    T.flip, T.fliplr, T.flipud, T.roll, T.repeat, T.tile = S.flip, S.fliplr, S.flipud, S.roll, S.repeat, S.tile
    T.repeat_interleave, T.broadcast_to, T.ravel = S.repeat_interleave, S.broadcast_to, S.ravel
    for name in ("gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy",
                 "index_fill", "masked_fill", "masked_select", "masked_scatter", "take_along_dim", "take",
                 "nonzero", "argwhere"):
        setattr(T, name, getattr(X, name))
    for name in ("scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill", "masked_fill",
                 "masked_scatter"):
        setattr(T, name + "_", X.inplace(getattr(X, name)))


def _install_linalg(T: Any) -> None:
    """Tensor methods of the linear algebra family (issue 16)."""
    for name in ("dot", "mv", "mm", "bmm", "addmm", "addmv", "baddbmm", "kron", "norm", "trace", "diag",
                 "diagonal", "diag_embed"):
        setattr(T, name, getattr(L, name))
    for name in ("addmm", "addmv", "baddbmm"):
        setattr(T, name + "_", X.inplace(getattr(L, name)))
def _install_scan_order(T: Any) -> None:
    """Tensor methods of the scan / triangle / order family (issue 16)."""
    for name in ("cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "tril", "triu", "prod"):
        setattr(T, name, getattr(SC, name))
    for name in ("sort", "argsort", "topk", "kthvalue", "median", "mode", "unique", "any", "all", "count_nonzero",
                 "bincount", "histc"):
        setattr(T, name, getattr(O, name))
    for name in ("tril", "triu", "cumsum", "cumprod"):
        setattr(T, name + "_", inplace(getattr(SC, name)))


def _install_math(T: Any) -> None:
    """Tensor methods and operators of the elementwise math family (issue 16)."""
    for name in M.METHODS:
        setattr(T, name, getattr(M, name))
    for name in M.INPLACE:
        setattr(T, name + "_", inplace(getattr(M, name)))
    for name, fn in (("sign", E.sign), ("sgn", E.sgn), ("log1p", T.log1p), ("polygamma", M._polygamma_method),
                     ("round", M._round_method)):
        setattr(T, name, fn)
        setattr(T, name + "_", inplace(fn))
    T.divide = T.div
    T.__floordiv__, T.__mod__ = M.floor_divide, M.remainder
    T.__rfloordiv__ = lambda self, o: M.floor_divide(o, self)
    T.__rmod__ = lambda self, o: M.remainder(o, self)
    T.__ifloordiv__, T.__imod__ = T.floor_divide_, T.remainder_
    T.__and__, T.__or__, T.__xor__, T.__invert__ = M.bitwise_and, M.bitwise_or, M.bitwise_xor, M.bitwise_not
    T.__rand__ = lambda self, o: M.bitwise_and(o, self)
    T.__ror__ = lambda self, o: M.bitwise_or(o, self)
    T.__rxor__ = lambda self, o: M.bitwise_xor(o, self)
    T.__iand__, T.__ior__, T.__ixor__ = T.bitwise_and_, T.bitwise_or_, T.bitwise_xor_
    T.__lshift__, T.__rshift__ = M.bitwise_left_shift, M.bitwise_right_shift
    T.__rlshift__ = lambda self, o: M.bitwise_left_shift(o, self)
    T.__rrshift__ = lambda self, o: M.bitwise_right_shift(o, self)
    T.__ilshift__, T.__irshift__ = T.bitwise_left_shift_, T.bitwise_right_shift_


_install()
