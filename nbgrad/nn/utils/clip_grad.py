"""Gradient clipping (torch.nn.utils.clip_grad): by total norm or by value, in place."""

from __future__ import annotations

import math
import warnings
from typing import Iterable

from ... import creation as C
from ...autograd.grad_mode import no_grad
from ...ops.linalg import vector_norm
from ...ops.shape import stack
from ...tensor import Tensor


def _tensors(xs: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [xs] if isinstance(xs, Tensor) else list(xs)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The norm of the norms of `tensors` (as if they were concatenated into one vector); a 0-dim
    tensor on the first tensor's device (float32 zero when there are none). foreach is accepted
    and ignored (nbgrad has one code path)."""
    ts = _tensors(tensors)
    p = float(norm_type)
    if not ts:
        return C.tensor(0.0)
    with no_grad():
        first = ts[0].device
        norms = [vector_norm(t.detach(), p).to(first) for t in ts]
        dt = norms[0].dtype
        for n in norms[1:]:  # (torch.stack promotes: a float64 grad makes the total float64)
            if n.dtype.itemsize > dt.itemsize:
                dt = n.dtype
        total = vector_norm(stack([n.to(dt) for n in norms]), p)
    if error_if_nonfinite and not math.isfinite(float(total.item())):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it cannot be clipped. "
            "To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale every gradient by min(max_norm / (total_norm + 1e-6), 1), in place."""
    grads = [p.grad for p in _tensors(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(device=g.device, dtype=g.dtype))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Clip the gradients of `parameters` so that their total norm (of order norm_type, which may
    be inf) is at most max_norm, in place; returns the total norm before clipping (a tensor).
    error_if_nonfinite: raise instead of scaling when that norm is nan or inf."""
    params = _tensors(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of clip_grad_norm_ (as in PyTorch)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient of `parameters` to [-clip_value, clip_value], in place."""
    v = float(clip_value)
    with no_grad():
        for p in _tensors(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-v, max=v)


