"""Adam and AdamW (fused kernels), Adamax and NAdam (composed), in PyTorch's update order."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..ops.elementwise import maximum

from .optimizer import Optimizer, _check, _lerp, _put, _t, _zeros


def _check_adam(lr: float, betas: tuple, eps: float, weight_decay: float) -> None:
    _check(lr >= 0, "learning rate", lr)
    _check(eps >= 0, "epsilon value", eps)
    for i in (0, 1):
        _check(0 <= betas[i] < 1, f"beta parameter at index {i}", betas[i])
    _check(weight_decay >= 0, "weight_decay value", weight_decay)


class Adam(Optimizer):
    decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, maximize: bool = False,
                 capturable: bool = False) -> None:
        _check_adam(lr, betas, eps, weight_decay)
        if amsgrad:
            raise NotImplementedError("Adam(amsgrad=True) is not supported by nbgrad")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable))

    def _update(self, p: Any, d: np.ndarray, g: dict, st: dict) -> None:
        # one fused kernel per parameter, in PyTorch's single-tensor Adam operation order
        be = p._backend
        name = type(self).__name__
        if be.capturing and not g["capturable"]:
            raise RuntimeError(f"Attempting CUDA graph capture of step() for an instance of {name} but "
                               "param_groups' capturable is False.")
        if g["capturable"] and not be.can_capture:
            raise RuntimeError(f"{name}(capturable=True) needs its parameters on CUDA, got one on {be.name}")
        self._check_warm(p, st)
        if not st:
            # capturable: the step count is a float32 on the device, counted there (a graph replays it)
            st["step"] = be.full((), 0, np.dtype(np.float32)) if g["capturable"] else 0
            st["exp_avg"] = be.full(p.shape, 0, p._data.dtype)
            st["exp_avg_sq"] = be.full(p.shape, 0, p._data.dtype)
        if g["capturable"]:
            be.elementwise("add", [st["step"], np.float32(1)], (), np.dtype(np.float32), out=st["step"])
        else:
            st["step"] += 1
        b1, b2 = g["betas"]
        be.adam_step(p._data, d, st["exp_avg"], st["exp_avg_sq"], step=st["step"], lr=g["lr"], beta1=b1, beta2=b2,
                     eps=g["eps"], weight_decay=g["weight_decay"], decoupled=self.decoupled, maximize=g["maximize"])
        p._version.value += 1


class AdamW(Adam):
    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False,
                 capturable: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize, capturable)


class Adamax(Optimizer):
    """Adam with the infinity norm (PyTorch's Adamax): composed elementwise ops."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_adam(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update(self, p: Any, d: Any, g: dict, st: dict) -> None:
        be = p._backend
        self._check_warm(p, st)
        if not st:
            st.update(step=0, exp_avg=_zeros(p), exp_inf=_zeros(p))
        st["step"] += 1
        b1, b2 = g["betas"]
        x, grad = _t(p._data, be), _t(d, be)
        if g["maximize"]:
            grad = -grad
        if g["weight_decay"]:
            grad = grad + x * g["weight_decay"]
        m = _lerp(_t(st["exp_avg"], be), grad, 1 - b1)
        u = maximum(_t(st["exp_inf"], be) * b2, grad.abs() + g["eps"])
        clr = g["lr"] / (1 - b1 ** st["step"])
        _put(p._data, x + m * -clr / u, be)
        _put(st["exp_avg"], m, be)
        _put(st["exp_inf"], u, be)
        p._version.value += 1


class NAdam(Optimizer):
    """Adam with Nesterov momentum (PyTorch's NAdam, momentum_decay's schedule; its mu_product is a
    float32 number, as PyTorch's float32 state tensor)."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam(lr, betas, eps, weight_decay)
        _check(momentum_decay >= 0, "momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, p: Any, d: Any, g: dict, st: dict) -> None:
        be = p._backend
        self._check_warm(p, st)
        if not st:
            st.update(step=0, mu_product=1.0, exp_avg=_zeros(p), exp_avg_sq=_zeros(p))
        st["step"] += 1
        step, lr, wd = st["step"], g["lr"], g["weight_decay"]
        b1, b2 = g["betas"]
        x, grad = _t(p._data, be), _t(d, be)
        if g["maximize"]:
            grad = -grad
        bc2 = 1 - b2 ** step
        if wd:
            if g["decoupled_weight_decay"]:
                x = x * (1 - lr * wd)
            else:
                grad = grad + x * wd
        mu = b1 * (1.0 - 0.5 * (0.96 ** (step * g["momentum_decay"])))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * g["momentum_decay"])))
        mu_product = float(np.float32(st["mu_product"]) * np.float32(mu))
        st["mu_product"] = mu_product
        m = _lerp(_t(st["exp_avg"], be), grad, 1 - b1)
        v = _t(st["exp_avg_sq"], be) * b2 + grad * grad * (1 - b2)
        denom = (v / bc2).sqrt() + g["eps"]
        x = x + grad * (-lr * (1.0 - mu) / (1.0 - mu_product)) / denom
        x = x + m * (-lr * mu_next / (1.0 - mu_product * mu_next)) / denom
        _put(p._data, x, be)
        _put(st["exp_avg"], m, be)
        _put(st["exp_avg_sq"], v, be)
        p._version.value += 1
