"""Layer ops (issue 17): gelu (a kernel per form, with a fused backward that is an op of its
own), dropout and embedding (compositions of existing differentiable ops)."""

from __future__ import annotations

import math

import numpy as np

from .. import creation as _C
from ..autograd.grad_mode import no_grad
from . import elementwise as _E
from . import reduce as _R
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import ew, record
from .elementwise import _fused

_GELU = {"none": ("gelu", "gelu_bw"), "tanh": ("gelu_tanh", "gelu_tanh_bw")}


def _gelu_kernels(x: Tensor, approximate: str) -> tuple[str, str]:
    if approximate not in _GELU:
        raise RuntimeError("approximate argument must be either none or tanh.")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"\"GeluKernelImpl\" not implemented for '{_R._TORCH_NAMES.get(x.dtype.name, x.dtype.name)}'")
    return _GELU[approximate]


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (approximate='tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))))."""
    kernel, _ = _gelu_kernels(x, approximate)
    be = x._backend
    return record(N.GeluBackward0, ew(kernel, x._data, backend=be), (x,), be, approximate=approximate)


def gelu_backward(grad_output: Tensor, self: Tensor, approximate: str = "none") -> Tensor:
    """grad_output * gelu'(self), one kernel."""
    _, kernel = _gelu_kernels(self, approximate)
    return _fused(kernel, N.GeluBackwardBackward0, grad_output, self, approximate=approximate)


def gelu_double_backward(grad: Tensor, grad_output: Tensor, self: Tensor, approximate: str) -> Tensor:
    """d/dself of gelu_backward(grad_output, self): grad * grad_output * gelu''(self), composed
    of differentiable ops (so third derivatives work too)."""
    x = self
    if approximate == "none":
        pdf = (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
        return grad * grad_output * pdf * (2 - x * x)
    k, c = math.sqrt(2 / math.pi), 0.044715
    t = ((x + x * x * x * c) * k).tanh()
    du = (x * x * (3 * c) + 1) * k
    ddu = x * (6 * c * k)
    return grad * grad_output * (1 - t * t) * (du - x * t * du * du + x * ddu * 0.5)


# ---------------------------------------------------------------- dropout
def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_scaled(x: Tensor, shape: tuple, p: float) -> Tensor:
    """A mask of `shape` on x's device and dtype: 1 / (1 - p) where an element is kept (with
    probability 1 - p), else 0, drawn from the seeded stream (ng.manual_seed) of x's device."""
    if p == 1.0:
        return _C.zeros(shape, dtype=x.dtype, device=x.device)
    u = _C.rand(shape, dtype=x.dtype if x.dtype.is_floating_point else None, device=x.device)
    return (u >= p).to(x.dtype) * (1.0 / (1.0 - p))


def _dropout(x: Tensor, p: float, training: bool, inplace: bool, shape: tuple) -> Tensor:
    _check_p(p)
    if not training:
        return x
    mask = _keep_scaled(x, shape, p)
    return x.mul_(mask) if inplace else x * mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    return _dropout(input, p, training, inplace, tuple(input.shape))


def _channel_dropout(name: str, input: Tensor, p: float, training: bool, inplace: bool,  # noqa: A002
                     spatial: int) -> Tensor:
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but received a "
                           f"{input.ndim}D input. Note that {name} exists to provide channel-wise dropout on inputs "
                           f"with {spatial} spatial dimension{'s' if spatial > 1 else ''}, a channel dimension, and an "
                           f"optional batch dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).")
    keep = input.ndim - spatial
    return _dropout(input, p, training, inplace, tuple(input.shape[:keep]) + (1,) * spatial)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero whole channels (N, C, L) / (C, L) with probability p, scaling the rest by 1 / (1 - p)."""
    return _channel_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero whole channels (N, C, H, W) / (C, H, W) with probability p, scaling the rest by 1 / (1 - p)."""
    return _channel_dropout("dropout2d", input, p, training, inplace, 2)


# ---------------------------------------------------------------- embedding
def _embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:  # noqa: A002
    """PyTorch's embedding_renorm_: the rows of weight that input names, scaled in place (without
    recording) to norm max_norm where their norm_type-norm exceeds it."""
    be = weight._backend
    rows = np.unique(be.to_numpy(input._data).reshape(-1))
    if rows.size == 0:
        return
    w = be.to_numpy(weight._data)
    sel = w[rows].astype(np.float64)
    norms = (np.abs(sel) ** norm_type).sum(1) ** (1.0 / norm_type)
    big = norms > max_norm
    if not big.any():
        return
    scaled = (sel[big] * (max_norm / (norms[big] + 1e-7))[:, None]).astype(w.dtype)
    with no_grad():
        be.setitem(weight._data, (rows[big],), be.asarray(scaled))
        weight._version.value += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """Rows of weight picked by the integer indices input (shape input.shape + (embedding_dim,)).
    Its gradient is the upstream gradient added into the picked rows (getitem's backward: an
    index_add), none to the row padding_idx; max_norm renormalises the picked rows in place first."""
    if not isinstance(input, Tensor) or input.dtype.name not in ("int64", "int32"):
        got = type(input).__name__ if not isinstance(input, Tensor) else input.dtype.name
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {got} instead (while checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got a {weight.ndim}-D tensor")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not supported by nbgrad")
    n = weight.shape[0]
    if padding_idx is not None:
        if padding_idx >= n or padding_idx < -n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= n
    idx = input._backend.to_numpy(input._data) if input.numel() else np.zeros(0, np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    out = weight[input]
    if padding_idx is not None and out.requires_grad:
        out = _E.where((input == padding_idx).unsqueeze(-1), out.detach(), out)
    return out
