"""Adagrad (lr_decay, weight decay, initial accumulator, maximize) in PyTorch's update order
(composed ops; its state is made for every parameter at construction, as PyTorch does)."""

from __future__ import annotations

from typing import Any, Iterable

from .optimizer import Optimizer, _check, _put, _t, _zeros


class Adagrad(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(lr_decay >= 0, "lr_decay value", lr_decay)
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        _check(initial_accumulator_value >= 0, "initial_accumulator_value value", initial_accumulator_value)
        _check(eps >= 0, "epsilon value", eps)
        if fused:
            raise NotImplementedError("Adagrad(fused=True) is not supported by nbgrad")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for g in self.param_groups:
            for p in g["params"]:
                self._init(p, g, self.state[p])

    @staticmethod
    def _init(p: Any, g: dict, st: dict) -> None:
        st.update(step=0, sum=_zeros(p, g["initial_accumulator_value"]))

    def _update(self, p: Any, d: Any, g: dict, st: dict) -> None:
        be = p._backend
        if not st:  # a group added after construction
            self._check_warm(p, st)
            self._init(p, g, st)
        st["step"] += 1
        x, grad = _t(p._data, be), _t(d, be)
        if g["maximize"]:
            grad = -grad
        if g["weight_decay"]:
            grad = grad + x * g["weight_decay"]
        clr = g["lr"] / (1 + (st["step"] - 1) * g["lr_decay"])
        s = _t(st["sum"], be) + grad * grad
        _put(st["sum"], s, be)
        _put(p._data, x + grad * -clr / (s.sqrt() + g["eps"]), be)
        p._version.value += 1
