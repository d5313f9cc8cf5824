"""The functions the derivatives table calls (PyTorch's FunctionsManual): formulas too long
for one line of derivatives_table.py, written in the same differentiable ops, so that they too
give higher derivatives. Every public function here (defined or imported) is a name a formula may call."""

from __future__ import annotations

import math
from typing import Any

from ..tensor import Tensor
from .conv import (
    convolution, convolution_backward_input, convolution_backward_weight, max_pool2d_with_indices,
    max_pool2d_with_indices_backward, plane_gather,
)
from .elementwise import (
    clamp_backward, max_backward, min_backward, sgn, sigmoid_backward, tanh_backward, threshold_backward, unary,
    where,
)
from .linalg import linear_backward, matmul, outer
from .loss import binary_cross_entropy_backward, binary_cross_entropy_with_logits_backward, nll_loss, nll_loss_backward
from .reduce import (
    log_softmax_backward_data, softmax_backward_data, value_selecting_reduction_backward,
)
from .shape import (
    apply_index, cat_backward, copy_slices_backward, index_backward, index_put_backward_self, permute_backward,
    stack_backward,
    sum_to_size, to_device,
)


# ---- more elementwise math (issue 16): clamp's gradients with tensor bounds (either may be None),
# as PyTorch's clamp_backward / clamp_backward_min_max
def clamp_backward_tensors(grad: Tensor, self: Tensor, min: Tensor | None, max: Tensor | None) -> Tensor:  # noqa: A002
    """grad where min <= self <= max."""
    if min is None:
        keep = self <= max
    elif max is None:
        keep = self >= min
    else:
        keep = (self >= min).logical_and(self <= max)
    return where(keep, grad, 0.0)


def clamp_backward_min(grad: Tensor, self: Tensor, min: Tensor, max: Tensor | None) -> Tensor:  # noqa: A002
    """grad where self < min (and min < max: a min above max is not the result)."""
    keep = self < min if max is None else (self < min).logical_and(min < max)
    return where(keep, grad, 0.0)


def clamp_backward_max(grad: Tensor, self: Tensor, min: Tensor | None, max: Tensor) -> Tensor:  # noqa: A002
    """grad where self > max, or max < min (where max is the result)."""
    keep = self > max if min is None else (self > max).logical_or(max < min)
    return where(keep, grad, 0.0)



def sin(x: Tensor) -> Tensor:
    return unary("sin", x)


def cos(x: Tensor) -> Tensor:
    return unary("cos", x)


def sigmoid(x: Tensor) -> Tensor:
    return unary("sigmoid", x)


def zeros_like(x: Tensor) -> Tensor:
    return Tensor._wrap(x._backend.full(x._data.shape, 0, x._data.dtype), x._backend)


def maybe_multiply(grad: Tensor, alpha: Any) -> Tensor:
    return grad if alpha == 1 else grad * alpha


# ---------------------------------------------------------------- pow
def pow_backward(grad: Tensor, self: Tensor, exponent: float) -> Tensor:
    """d(self ** exponent) for a number exponent: exponent * self ** (exponent - 1)."""
    if exponent == 0:
        return zeros_like(self) * grad
    return grad * (self ** (exponent - 1) * exponent)


def pow_backward_self(grad: Tensor, self: Tensor, exponent: Tensor) -> Tensor:
    return where(exponent == 0, 0.0, grad * exponent * self ** (exponent - 1))


def pow_backward_exponent(grad: Tensor, self: Any, exponent: Tensor, result: Tensor) -> Tensor:
    """d(self ** exponent) / d exponent: result * log(self), 0 where self is 0 and exponent >= 0."""
    if not isinstance(self, Tensor):  # a number base
        g = grad * result * (math.log(self) if self > 0 else (-math.inf if self == 0 else math.nan))
        return where(exponent >= 0, 0.0, g) if self == 0 else g
    g = grad * result * unary("log", self)
    return where(self == 0, where(exponent >= 0, 0.0, g), g)


# ---------------------------------------------------------------- reductions
def _keep(grad: Tensor, shape: tuple, dim: tuple, keepdim: bool) -> Tensor:
    """A reduced gradient with the reduced dims put back as size 1."""
    if keepdim or not shape:
        return grad
    return grad.reshape(tuple(1 if i in dim else s for i, s in enumerate(shape)))


def sum_backward(grad: Tensor, shape: tuple, dim: tuple, keepdim: bool) -> Tensor:
    """sum over dim, backward: grad expanded back over the summed dims."""
    return _keep(grad, shape, dim, keepdim).expand(shape)


def evenly_distribute_backward(grad: Tensor, self: Tensor, result: Tensor) -> Tensor:
    """max / min of all elements, backward: grad shared evenly among the elements equal to it."""
    mask = self == result
    return where(mask, grad / mask.sum(), 0.0)


def amax_backward(grad: Tensor, self: Tensor, result: Tensor, dim: tuple, keepdim: bool) -> Tensor:
    """amax / amin over dim, backward: grad shared evenly among each reduced group's elements
    equal to its result."""
    shape = tuple(self.shape)
    mask = self == _keep(result, shape, dim, keepdim)
    return where(mask, _keep(grad, shape, dim, keepdim) / mask.sum(dim, keepdim=True), 0.0)


def value_selecting_reduction_backward_backward(grad: Tensor, dim: int, indices: Tensor, keepdim: bool) -> Tensor:
    """The gradient of value_selecting_reduction_backward: grad read at the selected indices."""
    ones = Tensor._wrap(grad._backend.full(indices.shape, 1, grad._data.dtype), grad._backend)
    mask = value_selecting_reduction_backward(ones, dim, indices, tuple(grad.shape), keepdim)
    return (grad * mask).sum(dim, keepdim=keepdim)


def var_backward(grad: Tensor, self: Tensor, dim: tuple | None, correction: float, keepdim: bool) -> Tensor:
    """2 (self - mean) / (n - correction) * grad; without degrees of freedom, over every dim (dim
    None), inf, or nan where self is its mean (PyTorch's rule)."""
    full = dim is None or self.ndim == 0
    dim = tuple(range(self.ndim)) if dim is None else dim
    n = math.prod(self.shape[d] for d in dim)
    g = _keep(grad, tuple(self.shape), dim, keepdim)
    dof = n - correction
    if dof <= 0 and full:
        return g * where(self == self.mean(dim, keepdim=True), math.nan, math.inf)
    return g * (self - self.mean(dim, keepdim=True)) * (2.0 / dof if dof else math.inf)


def std_backward(result: Tensor, grad: Tensor, self: Tensor, dim: tuple | None, correction: float,
                 keepdim: bool) -> Tensor:
    """var_backward of grad / (2 * std), 0 where std is 0 (as PyTorch)."""
    shape = tuple(self.shape)
    axes = tuple(range(self.ndim)) if dim is None else dim
    r = _keep(result, shape, axes, keepdim)
    g = where(r == 0, 0.0, _keep(grad, shape, axes, keepdim) / (r * 2))
    return var_backward(g, self, dim, correction, True)


def logsumexp_backward(grad: Tensor, self: Tensor, result: Tensor, dim: tuple, keepdim: bool) -> Tensor:
    shape = tuple(self.shape)
    return _keep(grad, shape, dim, keepdim) * (self - _keep(result, shape, dim, keepdim)).exp()


def softmax_double_backward(grad: Tensor, grad_output: Tensor, output: Tensor, dim: int) -> Tensor:
    """softmax_backward_data's gradient with respect to its output."""
    return (grad_output * grad - (output * grad_output).sum(dim, keepdim=True) * grad
            - (grad * output).sum(dim, keepdim=True) * grad_output)


# ---------------------------------------------------------------- matrix products
def matmul_backward_self(grad: Tensor, self: Tensor, other: Tensor) -> Tensor:
    """matmul's gradient for its first operand, with 1-D operands promoted as matmul does (the
    engine sums the broadcast batch dims away)."""
    na, nb = self.ndim, other.ndim
    if na == 1 and nb == 1:
        return grad * other
    if nb == 1:  # (..., n, k) @ (k,)
        return outer(grad, other) if na == 2 else grad.unsqueeze(-1) * other
    if na == 1:  # (k,) @ (..., k, m): (..., m) -> (..., 1, m) @ (..., m, k)
        return matmul(grad.reshape(*grad.shape[:-1], 1, grad.shape[-1]), other.mT).reshape(
            *grad.shape[:-1], other.shape[-2])
    return matmul(grad, other.mT)


def matmul_backward_other(grad: Tensor, self: Tensor, other: Tensor) -> Tensor:
    na, nb = self.ndim, other.ndim
    if na == 1 and nb == 1:
        return grad * self
    if na == 1:  # (k,) @ (..., k, m): the outer product of self and grad, per batch
        return outer(self, grad) if nb == 2 else self.unsqueeze(-1) * grad.unsqueeze(-2)
    if nb == 1:  # (..., n, k) @ (k,): sum over n (and batch) of grad[..., n] * self[..., n, :]
        return matmul(self.mT, grad.unsqueeze(-1)).squeeze(-1)
    if nb == 2 and na == 2 and not other.is_contiguous() and other.mT.is_contiguous():
        # other is a transposed view (x @ W.T): give its gradient the same layout, so the
        # weight's .grad comes out C-ordered (the optimizer's fast path)
        return matmul(grad.mT, self).mT
    return matmul(self.mT, grad)


# ---------------------------------------------------------------- losses
def loss_grad(grad: Tensor, self: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    """The upstream gradient of each element of a pointwise loss: grad itself ('none'), else
    the one value grad (broadcast by the kernels), over the count for 'mean', times weight."""
    if reduction == "mean":
        grad = grad / self.numel()
    return grad if weight is None else grad * weight


def mse_loss_backward(grad: Tensor, self: Tensor, target: Tensor, reduction: str) -> Tensor:
    return loss_grad(grad, self, None, reduction) * (self - target) * 2


def binary_cross_entropy_target_backward(grad: Tensor, self: Tensor) -> Tensor:
    log = unary("log", self).clamp(min=-100)
    log1m = unary("log1p", -self).clamp(min=-100)
    return grad * (log1m - log)


def binary_cross_entropy_double_backward(self: Tensor, target: Tensor) -> Tensor:
    """d/dself of (self - target) / ((1 - self) * self)."""
    d = ((1 - self) * self).clamp(min=1e-12)
    return (d - (self - target) * (1 - 2 * self)) / (d * d)


def once_differentiable_error(name: str) -> Any:
    raise RuntimeError(f"trying to differentiate twice a function that was marked with @once_differentiable "
                       f"({name})")


# ---------------------------------------------------------------- layers (issue 17)
from .layers import gelu, gelu_backward, gelu_double_backward  # noqa: E402
from .norm import (  # noqa: E402
    layer_norm_affine_backward, layer_norm_backward, layer_norm_backward_output, layer_norm_backward_rstd, layer_norm_rstd,
    normalize_rows,
)

# ---------------------------------------------------------------- shape and repeat (issue 16)
from .shape import roll_backward  # noqa: E402

# ---------------------------------------------------------------- index, gather and scatter (issue 16)
from .index import (  # noqa: E402
    gather_backward, index_add_source_backward, index_fill_value_backward, index_select_backward,
    scatter_reduce_backward_self, scatter_reduce_backward_src, scatter_src_backward,
)


# ---------------------------------------------------------------- activations (issue 16)
from .activation import (  # noqa: E402
    elu, elu_backward, float32_reciprocal, hardsigmoid, hardsigmoid_backward, hardswish, hardswish_backward, hardtanh,
    hardtanh_backward, leaky_relu, leaky_relu_backward, log_sigmoid, log_sigmoid_backward, mish, mish_backward, silu,
    silu_backward, softplus, softplus_backward,
)


def silu_double_backward(grad: Tensor, self: Tensor) -> Tensor:
    """grad times d/dself of silu's derivative: s * (1 - s) * (2 + self * (1 - 2 * s))."""
    s = sigmoid(self)
    return sigmoid_backward(grad * (2 + self * (1 - 2 * s)), s)


def mish_double_backward(grad: Tensor, self: Tensor) -> Tensor:
    """grad times d/dself of mish's derivative t + self * s * (1 - t**2), t = tanh(softplus(self)),
    s = sigmoid(self): (1 - t**2) * (2 * s + self * s * (1 - s) - 2 * self * s**2 * t)."""
    s = sigmoid(self)
    t = softplus(self, 1.0, 20.0).tanh()
    return grad * (1 - t * t) * (2 * s + self * s * (1 - s) - 2 * self * s * s * t)


def softplus_double_backward(grad: Tensor, self: Tensor, beta: float, threshold: float) -> Tensor:
    z = self * beta
    return where(z > threshold, 0.0, sigmoid_backward(grad * beta, sigmoid(z)))


# ---------------------------------------------------------------- linear algebra (issue 16)
from .linalg import diagonal_backward, norm_backward  # noqa: E402, F401
# ---------------------------------------------------------------- scans and order (issue 16)
from .order import selected_backward, sorted_backward  # noqa: E402
from .scan import (  # noqa: E402
    cummaxmin_backward, cumprod_backward, logcumsumexp_backward, prod_backward, reversed_cumsum,
)
