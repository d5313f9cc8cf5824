"""Loss ops with fused forward and backward: BCE (with logits), MSE, NLL."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Node
from ..tensor import Tensor
from ._core import broadcast_shape, ew, record

_REDUCTIONS = ("mean", "sum", "none")


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


def _grad_scale(be: Any, g: Any, reduction: str, n: int) -> Any:
    """The upstream gradient of each element: g itself ("none"), else the one value g (a 0-d
    array, which the elementwise kernels broadcast), divided by n for "mean"."""
    if reduction == "mean":
        g = ew("div", g, np.asarray(n, g.dtype), backend=be)
    return g


class _PointwiseLoss(Node):
    bw = ""
    bw_target = ""

    def backward(self, g: Any) -> tuple:
        x, y = self.saved("self"), self.saved("target")
        be = self.backend
        gk = _grad_scale(be, g, self.reduction, x.size)
        if self.weight is not None:
            gk = ew("mul", gk, self.weight, shape=x.shape, backend=be)
        gx = ew(self.bw, gk, x, y, shape=x.shape, backend=be)
        gy = None
        if self.next_functions[1][0] is not None:  # target requires grad
            gy = ew(self.bw_target, gk, x, shape=x.shape, backend=be)
        return gx, gy


class BinaryCrossEntropyWithLogitsBackward0(_PointwiseLoss):
    name = "BinaryCrossEntropyWithLogitsBackward0"
    formula = "self: grad * (sigmoid(self) - target) [* weight] / N"
    bw = "bce_logits_bw"
    bw_target = "bce_logits_tgt_bw"


class BinaryCrossEntropyBackward0(_PointwiseLoss):
    name = "BinaryCrossEntropyBackward0"
    formula = "self: grad * (self - target) / ((1 - self) * self) [* weight] / N"
    bw = "bce_bw"
    bw_target = "bce_tgt_bw"


class MseLossBackward0(_PointwiseLoss):
    name = "MseLossBackward0"
    formula = "self: 2 * grad * (self - target) / N"

    def backward(self, g: Any) -> tuple:
        x, y = self.saved("self"), self.saved("target")
        be = self.backend
        gk = _grad_scale(be, g, self.reduction, x.size)
        d = ew("sub", x, y, backend=be)
        gx = ew("mul", ew("mul", gk, d, shape=x.shape, backend=be), np.asarray(2, x.dtype), backend=be)
        return gx, (ew("neg", gx, backend=be) if self.next_functions[1][0] is not None else None)


def _pointwise(kind: str, node: type[Node], x: Tensor, y: Tensor, reduction: str, weight: Any) -> Tensor:
    _check(kind, x, y, reduction)
    be = x._backend
    w = None
    if weight is not None:
        w = weight._data if isinstance(weight, Tensor) else np.asarray(weight, x.dtype.np)
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
    return record(node, out, (x, y), be, save={"self": x, "target": yt}, reduction=reduction, weight=w)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Any = None,  # noqa: A002
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    if pos_weight is not None:
        raise NotImplementedError("binary_cross_entropy_with_logits(pos_weight=...) is not supported by nbgrad")
    return _pointwise("bce_logits", BinaryCrossEntropyWithLogitsBackward0, input, target, reduction, weight)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Any = None,  # noqa: A002
                         reduction: str = "mean") -> Tensor:
    return _pointwise("bce", BinaryCrossEntropyBackward0, input, target, reduction, weight)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    return _pointwise("mse", MseLossBackward0, input, target, reduction, None)


class NllLossBackward0(Node):
    name = "NllLossBackward0"
    formula = "self: -grad * weight[target] scattered at target (divided by the summed weights for mean)"

    def backward(self, g: Any) -> tuple:
        shape = self.input_shapes[0][0]
        be = self.backend
        t = self.target
        gx = be.nll_backward(be.reshape(g, (-1,)), be.reshape(t, (-1,)), shape[-1], self.ignore_index, self.weight,
                             self.n if self.reduction == "mean" else None)  # g: one value, or N
        return be.reshape(gx, shape), None


def _nll_args(input: Tensor, target: Tensor, reduction: str, weight: Any) -> tuple[Any, Any]:  # noqa: A002
    """nll_loss's argument checks (PyTorch's messages); the target as int64 and the class weights
    as input's dtype, on input's device."""
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
    return record(NllLossBackward0, out, (input, None), be, target=t, reduction=reduction,
                  n=n, ignore_index=ignore_index, weight=w)


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
    from .reduce import LogSoftmaxBackward0, log_softmax

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
    lsm = record(LogSoftmaxBackward0, be.reshape(logp, x.shape), (x,), be, save_out="result", axis=x.ndim - 1)
    return _nll_record(lsm, target, t, w, per, valid, reduction, ignore_index)
