"""Loss ops with fused forward and backward: BCE (with logits), MSE, NLL; the other losses
(issue 16) are compositions of differentiable ops."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import broadcast_shape, ew, record
from .. import creation as _C
from . import activation as _A
from . import elementwise as _E
from . import index as _I
from . import shape as _S
from .reduce import log_softmax

_REDUCTIONS = ("mean", "sum", "none")


def _weight_takes_no_grad(fn: str, weight: Any, arg: str = "weight") -> None:
    """PyTorch's losses are not differentiable in their class / element weights (soft_margin_loss: its target)."""
    if isinstance(weight, Tensor) and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{arg}'. This input "
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
        return _bce_logits_pos_weight(input, target, weight, reduction, pos_weight)
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
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_I._type_name(target)}")
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if input.ndim == 2 and target.shape != (input.shape[0],):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}).")
    for other in (target, weight):
        if isinstance(other, Tensor) and other._backend is not input._backend:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{input.device} and {other.device}!")
    be = input._backend
    weight = _class_weight(weight, input.shape[-1], "nll_loss_forward")
    w = None if weight is None else be.astype(weight._data, input.dtype.np)
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
    if input.ndim > 2:  # (N, C, d1, ...): the classes last, one row per position
        x2, t2 = _spatial_rows(input, target)
        out = nll_loss(x2, t2, weight, ignore_index=ignore_index, reduction=reduction)
        return out.reshape(target.shape) if reduction == "none" else out
    t, w = _nll_args(input, target, reduction, weight)
    be = input._backend
    x2 = be.reshape(input._data, (-1, input.shape[-1]))  # the CPU backend raises on an out-of-range target
    per, valid = be.nll_forward(x2, be.reshape(t, (-1,)), ignore_index, w)
    return _nll_record(input, target, t, w, per, valid, reduction, ignore_index)


def cross_entropy(input: Tensor, target: Tensor, weight: Any = None, size_average: Any = None,  # noqa: A002
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """nll_loss(log_softmax(input, 1), target): PyTorch's two nodes, LogSoftmaxBackward0 under
    NllLossBackward0, with both forwards in one row kernel (Backend.log_softmax_nll). A target of
    input's shape holds class probabilities; label smoothing and (N, C, d1, ...) inputs compose."""
    _unsupported("cross_entropy", size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    x = input
    if x._data.shape == target._data.shape:
        return _cross_entropy_probs(x, target, weight, ignore_index, reduction, label_smoothing)
    if x._data.ndim > 2:
        x2, t2 = _spatial_rows(x, target)
        out = cross_entropy(x2, t2, weight, ignore_index=ignore_index, reduction=reduction,
                            label_smoothing=label_smoothing)
        return out.reshape(target.shape) if reduction == "none" else out
    if label_smoothing > 0.0:
        return _cross_entropy_smoothed(x, target, weight, ignore_index, reduction, label_smoothing)
    if not x.dtype.is_floating_point or x.ndim not in (1, 2) or x.numel() == 0:  # (integers: log_softmax raises)
        return nll_loss(log_softmax(x, -1), target, weight, ignore_index=ignore_index, reduction=reduction)
    t, w = _nll_args(x, target, reduction, weight)
    be = x._backend
    logp, per, valid = be.log_softmax_nll(be.reshape(x._data, (-1, x.shape[-1])), be.reshape(t, (-1,)),
                                          ignore_index, w)
    lsm = record(N.LogSoftmaxBackward0, be.reshape(logp, x.shape), (x,), be, dim=x.ndim - 1)
    return _nll_record(lsm, target, t, w, per, valid, reduction, ignore_index)


def _spatial_rows(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:  # noqa: A002
    """(N, C, d1, ...) input and (N, d1, ...) target as (N * d1 * ..., C) rows and their targets."""
    if target.ndim == 0 or input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}).")
    want = [input.shape[0], *input.shape[2:]]
    if list(target.shape) != want:
        raise RuntimeError(f"Expected target size {want}, got {list(target.shape)}")
    c = input.shape[1]
    return input.movedim(1, -1).reshape(-1, c), target.reshape(-1)


def _class_weight(weight: Any, c: int, fn: str, where: str = "") -> Tensor | None:
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or weight.shape != (c,):
        got = list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{where}weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {got}")
    _weight_takes_no_grad(fn, weight)
    return weight


def _cross_entropy_probs(x: Tensor, target: Tensor, weight: Any, ignore_index: int, reduction: str,
                         label_smoothing: float) -> Tensor:
    """-sum_c target_c * weight_c * log_softmax(x)_c per row, the mean over rows (PyTorch's
    cross_entropy with class-probability targets; differentiable in the target too)."""
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, got {_I._type_name(target)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    cdim = 0 if x.ndim == 1 else 1
    c = x.size(cdim)  # (a 0-d input: torch's IndexError)
    w = _class_weight(weight, c, "cross_entropy", "cross_entropy: ")
    logp = log_softmax(x, cdim)
    t = target * (1 - label_smoothing) + label_smoothing / c if label_smoothing > 0 else target
    prod = logp * t
    if w is not None:
        prod = prod * w.reshape((c,) + (1,) * (x.ndim - cdim - 1))
    if reduction == "none":
        return -prod.sum(cdim)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum() / (x.numel() // c) if x.numel() else -prod.sum() * float("nan")


def _cross_entropy_smoothed(x: Tensor, target: Tensor, weight: Any, ignore_index: int, reduction: str,
                            label_smoothing: float) -> Tensor:
    """(1 - eps) * nll + eps / C * (-sum_c weight_c * log_softmax(x)_c), ignored rows 0, the
    smoothing term's mean over the rows' summed target weights (PyTorch's formula)."""
    c = x.shape[-1]
    w = _class_weight(weight, c, "nll_loss_forward")
    logp = log_softmax(x, -1)
    nll = nll_loss(logp, target, w, ignore_index=ignore_index, reduction=reduction)  # (checks the target)
    target = target.long()  # (a Byte target indexes, not masks)
    smooth = -(logp * w).sum(-1) if w is not None else -logp.sum(-1)
    valid = target != ignore_index
    smooth = _E.where(valid, smooth, 0.0)
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        if w is None:
            smooth = smooth.sum() / valid.to(x.dtype).sum()
        else:
            smooth = smooth.sum() / _E.where(valid, w[_E.where(valid, target, 0)], 0.0).sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


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


# ---------------------------------------------------------------- composed losses (issue 16)
def _reduced(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _valid_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _bce_logits_pos_weight(x: Tensor, y: Tensor, weight: Any, reduction: str, pos_weight: Any) -> Tensor:
    """(1 - y) * x - (1 + (pos_weight - 1) * y) * log_sigmoid(x) [* weight]."""
    _check("bce_logits", x, y, reduction)
    for arg, v in (("weight", weight), ("pos_weight", pos_weight)):
        _weight_takes_no_grad("binary_cross_entropy_with_logits", v, arg)
    y = y.to(x.dtype)
    pw = pos_weight.detach() if isinstance(pos_weight, Tensor) else float(pos_weight)
    loss = (1 - y) * x - ((pw - 1) * y + 1) * _A.log_sigmoid(x)
    if weight is not None:
        loss = loss * (weight.detach() if isinstance(weight, Tensor) else float(weight))
    return _reduced(loss, reduction)


def _broadcast_pair(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    if x.shape == y.shape:
        return x, y
    warnings.warn(f"Using a target size ({tuple(y.shape)}) that is different to the input size "
                  f"({tuple(x.shape)}). This will likely lead to incorrect results due to broadcasting. "
                  "Please ensure they have the same size.", stacklevel=3)
    a, b = _S.broadcast_tensors(x, y)
    return a, b


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,  # noqa: A002
               weight: Tensor | None = None) -> Tensor:
    """0.5 * d**2 where |d| < delta, else delta * (|d| - delta / 2), d = input - target."""
    _valid_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    x, y = _broadcast_pair(input, target)
    d = x - y
    a = d.abs()
    loss = _E.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
    return _reduced(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 * d**2 / beta where |d| < beta, else |d| - beta / 2 (the L1 loss for beta = 0)."""
    _unsupported("smooth_l1_loss", size_average, reduce)
    _valid_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, y = _broadcast_pair(input, target)
    d = x - y
    a = d.abs()
    loss = a if beta == 0 else _E.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta)
    return _reduced(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input))."""
    _unsupported("soft_margin_loss", size_average, reduce)
    _valid_reduction(reduction)
    _weight_takes_no_grad("soft_margin_loss", target, "target")
    return _reduced(-_A.log_sigmoid(target * input), reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target * (log(target) - input) (0 where target is 0), or exp(target) * (target - input) for
    log_target; 'batchmean' divides the sum by the batch size."""
    _unsupported("kl_div", size_average, reduce)
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        pos = target > 0
        loss = _E.where(pos, target * _E.where(pos, target, 1.0).log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduced(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,  # noqa: A002
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """exp(input) - target * input (log_input), or input - target * log(input + eps); full adds
    Stirling's term target * log(target) - target + log(2 pi target) / 2 where target > 1."""
    _unsupported("poisson_nll_loss", size_average, reduce)
    _valid_reduction(reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target > 1
        t = _E.where(big, target, 2.0)
        loss = loss + _E.where(big, t * t.log() - t + 0.5 * (2 * math.pi * t).log(), 0.0)
    return _reduced(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Any, full: bool = False, eps: float = 1e-6,  # noqa: A002
                      reduction: str = "mean") -> Tensor:
    """(log(max(var, eps)) + (input - target)**2 / max(var, eps)) / 2 [+ log(2 pi) / 2], var
    of input's shape, or one dimension short of it, or with one dimension of size 1 (broadcast)."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _C.full_like(input, float(var))
    elif (var < 0).to(var.dtype).sum().item() > 0:
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim
                  and sum(b for a, b in zip(input.shape, var.shape) if a != b) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not valid")
    v = _A._no_grad_clamp_min(var, eps)
    d = input - target
    loss = 0.5 * (v.log() + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduced(loss, reduction)


def _same_ndim(fn: str, a: Tensor, b: Tensor, t: Tensor) -> None:
    if not a.ndim == b.ndim == t.ndim:
        raise RuntimeError(f"{fn} : All input tensors should have same dimension but got sizes: input1: "
                           f"{_size(a)}, input2: {_size(b)}, target: {_size(t)} ")


def _size(t: Tensor) -> str:
    return f"torch.Size({list(t.shape)})"


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin)."""
    _unsupported("margin_ranking_loss", size_average, reduce)
    _valid_reduction(reduction)
    _same_ndim("margin_ranking_loss", input1, input2, target)
    return _reduced((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the p-norm pairwise distance
    (with swap, the smaller of d(anchor, negative) and d(positive, negative))."""
    _unsupported("triplet_margin_loss", size_average, reduce)
    _valid_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, po, ne = anchor.ndim, positive.ndim, negative.ndim
    if not a == po == ne:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {po}D, and negative {ne}D inputs")
    d_pos = _A.pairwise_distance(anchor, positive, p, eps)
    d_neg = _A.pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(_A.pairwise_distance(positive, negative, p, eps))
    return _reduced((d_pos - d_neg + margin).clamp(min=0), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1 (PyTorch's
    formula: cos = <a, b> / sqrt((|a|^2 + 1e-12) (|b|^2 + 1e-12)) along the last dim)."""
    _unsupported("cosine_embedding_loss", size_average, reduce)
    _valid_reduction(reduction)
    if input1.ndim not in (1, 2) or target.ndim != input1.ndim - 1:
        raise RuntimeError(f"{input1.ndim - 1}D target tensor expects {input1.ndim}D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}."
                           if target.ndim == input1.ndim - 1 else
                           f"{input1.ndim}D target tensor expects {input1.ndim + 1}D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}.")
    d = input1.ndim - 1
    eps = 1e-12
    cos = (input1 * input2).sum(d) / (((input1 * input1).sum(d) + eps) * ((input2 * input2).sum(d) + eps)).sqrt()
    loss = _E.where(target == 1, 1 - cos, 0.0) + _E.where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduced(loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average: Any = None,  # noqa: A002
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """input where target is 1, max(0, margin - input) where it is -1 (both where it is neither)."""
    _unsupported("hinge_embedding_loss", size_average, reduce)
    _valid_reduction(reduction)
    loss = _E.where(target != 1, (margin - input).clamp(min=0), 0.0) + _E.where(target != -1, input, 0.0)
    return _reduced(loss, reduction)
