"""Loss ops with fused forward and backward: BCE (with logits), MSE, NLL."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import broadcast_shape, ew, record

_REDUCTIONS = ("mean", "sum", "none")


def _weight_takes_no_grad(fn: str, weight: Any) -> None:
    """PyTorch's losses are not differentiable in their class / element weights."""
    if isinstance(weight, Tensor) and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument 'weight'. This input "
                           "cannot have requires_grad True.")


def _check(name: str, x: Tensor, y: Tensor, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if x.shape != y.shape:
        raise ValueError(
            f"Using a target size ({list(y.shape)}) that is different to the input size "
            f"({list(x.shape)}) is deprecated. Please ensure they have the same size."
            if name != "bce_logits" else
            f"Target size ({list(y.shape)}) must be the same as input size ({list(x.shape)})"
        )
    if x.dtype != y.dtype and not (x.dtype.is_floating_point and y.dtype.is_floating_point):
        raise RuntimeError(f"expected input and target of the same floating dtype, got {x.dtype} and {y.dtype}")


def _reduce(be: Any, per: Any, reduction: str, weight: Any) -> Any:
    if weight is not None:
        per = ew("mul", per, weight, backend=be)
    if reduction == "none":
        return per
    s = be.sum(per, tuple(range(per.ndim)), False)
    if reduction == "mean":
        s = ew("div", s, np.asarray(max(per.size, 1) if per.size else 0, s.dtype), backend=be)
    return s


def _pointwise(kind: str, node: Any, x: Tensor, y: Tensor, reduction: str, weight: Any) -> Tensor:
    _check(kind, x, y, reduction)
    if weight is not None:
        _weight_takes_no_grad({"bce_logits": "binary_cross_entropy_with_logits", "bce": "binary_cross_entropy"}.get(
            kind, kind), weight)
    be = x._backend
    w = wt = None
    if weight is not None:
        wt = weight if isinstance(weight, Tensor) else Tensor._wrap(be.asarray(np.asarray(weight, x.dtype.np)), be)
        w = wt._data
        broadcast_shape(w.shape, x.shape)
    yd = be.astype(y._data, x.dtype.np)
    yt = y if y.dtype == x.dtype else Tensor._wrap(yd, be)
    if kind == "mse":
        d = ew("sub", x._data, yd, backend=be)
        per = ew("mul", d, d, backend=be)
    else:
        if kind == "bce":
            be.check_unit_interval(x._data)  # CPU: raises here; CUDA: at the next host copy
        per = ew(kind, x._data, yd, backend=be)
    out = _reduce(be, per, reduction, w)
    return record(node, out, (x, y), be, save={"target": yt, "weight": wt}, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Any = None,  # noqa: A002
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    if pos_weight is not None:
        raise NotImplementedError("binary_cross_entropy_with_logits(pos_weight=...) is not supported by nbgrad")
    return _pointwise("bce_logits", N.BinaryCrossEntropyWithLogitsBackward0, input, target, reduction, weight)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Any = None,  # noqa: A002
                         reduction: str = "mean") -> Tensor:
    return _pointwise("bce", N.BinaryCrossEntropyBackward0, input, target, reduction, weight)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    return _pointwise("mse", N.MseLossBackward0, input, target, reduction, None)


def _nll_args(input: Tensor, target: Tensor, reduction: str, weight: Any) -> tuple[Any, Any]:  # noqa: A002
    """nll_loss's argument checks (PyTorch's messages); the target as int64 and the class weights
    as input's dtype, on input's device (arrays)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if target.dtype.is_floating_point or target.dtype.name == "bool":
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.name.capitalize()}")
    if input.ndim not in (1, 2):
        raise NotImplementedError("nll_loss supports inputs of shape (C,) or (N, C) in nbgrad")
    if input.ndim == 2 and target.shape != (input.shape[0],):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}).")
    for other in (target, weight):
        if isinstance(other, Tensor) and other._backend is not input._backend:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{input.device} and {other.device}!")
    if weight is not None:
        _weight_takes_no_grad("nll_loss_forward", weight)
    be = input._backend
    w = None
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape != (input.shape[-1],):
            got = list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
            raise RuntimeError(f"weight tensor should be defined either for all {input.shape[-1]} classes or no "
                               f"classes but got weight tensor of shape: {got}")
        w = be.astype(weight._data, input.dtype.np)
    return be.astype(target._data, np.dtype(np.int64)), w


def _nll_record(input: Tensor, target: Tensor, t: Any, w: Any, per: Any, valid: Any, reduction: str,  # noqa: A002
                ignore_index: int) -> Tensor:
    """The loss from per-row losses and row weights (1 or the target's class weight, 0 if ignored)."""
    be = input._backend
    per = be.reshape(per, target.shape)
    out, n = (per, None) if reduction == "none" else be.nll_reduce(per, valid, reduction == "mean")
    wrap = Tensor._wrap
    return record(N.NllLossBackward0, out, (input,), be,
                  save={"target": wrap(t, be), "weight": None if w is None else wrap(w, be),
                        "total_weight": None if n is None else wrap(n, be)},
                  reduction=reduction, ignore_index=ignore_index)


def _unsupported(fn: str, size_average: Any = None, reduce: Any = None,  # noqa: A002
                 label_smoothing: float = 0.0) -> None:
    """PyTorch's arguments nbgrad does not implement (label smoothing, the deprecated
    size_average / reduce) raise instead of being ignored."""
    given = [name for name, v in (("size_average", size_average), ("reduce", reduce)) if v is not None]
    given += ["label_smoothing"] if label_smoothing != 0.0 else []
    if given:
        raise NotImplementedError(f"{fn}({given[0]}=...) is not supported by nbgrad")


def nll_loss(input: Tensor, target: Tensor, weight: Any = None, size_average: Any = None,  # noqa: A002
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    _unsupported("nll_loss", size_average, reduce)
    t, w = _nll_args(input, target, reduction, weight)
    be = input._backend
    x2 = be.reshape(input._data, (-1, input.shape[-1]))  # the CPU backend raises on an out-of-range target
    per, valid = be.nll_forward(x2, be.reshape(t, (-1,)), ignore_index, w)
    return _nll_record(input, target, t, w, per, valid, reduction, ignore_index)


def cross_entropy(input: Tensor, target: Tensor, weight: Any = None, size_average: Any = None,  # noqa: A002
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """nll_loss(log_softmax(input, -1), target): PyTorch's two nodes, LogSoftmaxBackward0 under
    NllLossBackward0, with both forwards in one row kernel (Backend.log_softmax_nll)."""
    from .reduce import log_softmax

    _unsupported("cross_entropy", size_average, reduce, label_smoothing)
    if target.dtype.is_floating_point:
        raise NotImplementedError("cross_entropy with class-probability targets is not supported by nbgrad")
    x = input
    if not x.dtype.is_floating_point or x.ndim not in (1, 2) or x.numel() == 0:  # (integers: log_softmax raises)
        return nll_loss(log_softmax(x, -1), target, weight, ignore_index=ignore_index, reduction=reduction)
    t, w = _nll_args(x, target, reduction, weight)
    be = x._backend
    logp, per, valid = be.log_softmax_nll(be.reshape(x._data, (-1, x.shape[-1])), be.reshape(t, (-1,)),
                                          ignore_index, w)
    lsm = record(N.LogSoftmaxBackward0, be.reshape(logp, x.shape), (x,), be, dim=x.ndim - 1)
    return _nll_record(lsm, target, t, w, per, valid, reduction, ignore_index)


# ---------------------------------------------------------------- fused backward ops
def _scaled_grad(grad: Tensor, self: Tensor, weight: Tensor | None, reduction: str) -> Any:
    """A pointwise loss's upstream gradient per element, as a backend array: grad (one value,
    unless 'none') over the element count for 'mean', times weight."""
    be, g = grad._backend, grad._data
    if reduction == "mean":
        g = ew("div", g, np.asarray(max(self._data.size, 1) if self._data.size else 0, g.dtype), backend=be)
    if weight is not None:
        g = ew("mul", g, weight._data, backend=be)
    return g


def binary_cross_entropy_with_logits_backward(grad: Tensor, self: Tensor, target: Tensor, weight: Tensor | None,
                                              reduction: str) -> Tensor:
    """binary_cross_entropy_with_logits' gradient: grad * (sigmoid(self) - target) [* weight]
    [/ N], in one kernel after scaling the one upstream value."""
    be = self._backend
    out = ew("bce_logits_bw", _scaled_grad(grad, self, weight, reduction), self._data, target._data,
             shape=self._data.shape, backend=be)
    return record(N.BinaryCrossEntropyWithLogitsBackwardBackward0, out, (grad, self, target), be,
                  save={"weight": weight}, reduction=reduction)


def binary_cross_entropy_backward(grad: Tensor, self: Tensor, target: Tensor, weight: Tensor | None,
                                  reduction: str) -> Tensor:
    """binary_cross_entropy's gradient: grad * (self - target) / ((1 - self) * self) [* weight]
    [/ N], the denominator held above 1e-12 as PyTorch's, in one kernel."""
    be = self._backend
    out = ew("bce_bw", _scaled_grad(grad, self, weight, reduction), self._data, target._data,
             shape=self._data.shape, backend=be)
    return record(N.BinaryCrossEntropyBackwardBackward0, out, (grad, self, target), be,
                  save={"weight": weight}, reduction=reduction)


def nll_loss_backward(grad: Tensor, shape: tuple, target: Tensor, weight: Tensor | None, reduction: str,
                      ignore_index: int, total_weight: Tensor | None) -> Tensor:
    """nll_loss's gradient: -grad * weight[target] at each row's target class, zeros elsewhere,
    divided by the summed row weights for 'mean'."""
    be = grad._backend
    t = target._data
    gx = be.nll_backward(be.reshape(grad._data, (-1,)), be.reshape(t, (-1,)), shape[-1], ignore_index,
                         None if weight is None else weight._data,
                         total_weight._data if reduction == "mean" else None)
    return record(N.NllLossBackwardBackward0, be.reshape(gx, tuple(shape)), (grad,), be,
                  save={"target": target, "weight": weight}, reduction=reduction, ignore_index=ignore_index)
