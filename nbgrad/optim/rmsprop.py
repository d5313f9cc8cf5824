"""RMSprop (momentum, centered, weight decay, maximize) in PyTorch's update order (composed ops)."""

from __future__ import annotations

from typing import Any, Iterable

from .optimizer import Optimizer, _check, _lerp, _put, _t, _zeros


class RMSprop(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(eps >= 0, "epsilon value", eps)
        _check(momentum >= 0, "momentum value", momentum)
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        _check(alpha >= 0, "alpha value", alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _update(self, p: Any, d: Any, g: dict, st: dict) -> None:
        be = p._backend
        self._check_warm(p, st)
        if not st:
            st.update(step=0, square_avg=_zeros(p))
            if g["momentum"] > 0:
                st["momentum_buffer"] = _zeros(p)
            if g["centered"]:
                st["grad_avg"] = _zeros(p)
        st["step"] += 1
        alpha = g["alpha"]
        x, grad = _t(p._data, be), _t(d, be)
        if g["maximize"]:
            grad = -grad
        if g["weight_decay"]:
            grad = grad + x * g["weight_decay"]
        sq = _t(st["square_avg"], be) * alpha + grad * grad * (1 - alpha)
        _put(st["square_avg"], sq, be)
        if g["centered"]:
            ga = _lerp(_t(st["grad_avg"], be), grad, 1 - alpha)
            _put(st["grad_avg"], ga, be)
            avg = (sq - ga * ga).sqrt()
        else:
            avg = sq.sqrt()
        avg = avg + g["eps"]
        if g["momentum"] > 0:
            buf = _t(st["momentum_buffer"], be) * g["momentum"] + grad / avg
            _put(st["momentum_buffer"], buf, be)
            x = x - buf * g["lr"]
        else:
            x = x + grad * -g["lr"] / avg
        _put(p._data, x, be)
        p._version.value += 1
