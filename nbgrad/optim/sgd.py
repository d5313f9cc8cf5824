"""SGD (momentum, dampening, Nesterov, weight decay, maximize) in PyTorch's update order."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, _check


class SGD(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, maximize: bool = False) -> None:
        _check(lr >= 0, "learning rate", lr)
        _check(momentum >= 0, "momentum value", momentum)
        _check(weight_decay >= 0, "weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    @staticmethod
    def _hyper(g: dict) -> dict:
        return {k: g[k] for k in ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")}

    def _buffer(self, p: Any, g: dict, st: dict) -> tuple:
        """(momentum buffer or None, whether this is its first step) for the fused kernels: a new
        buffer is zeros, which the kernel sets to the direction."""
        if not g["momentum"]:
            return None, False
        buf = st.get("momentum_buffer")
        if buf is None:
            buf = st["momentum_buffer"] = p._backend.full(p._data.shape, 0, p._data.dtype)
            return buf, True
        return buf, False

    def _update_group(self, items: list, g: dict) -> None:
        """On a device with foreach kernels (CUDA), contiguous parameters in one kernel per dtype,
        FOREACH to a launch, as PyTorch's foreach SGD; the others one by one."""
        fused: dict = {}
        for p, d, st in items:
            if p._backend.foreach and p._backend.is_contiguous(p._data):
                if g["momentum"]:
                    self._check_warm(p, st)
                fused.setdefault((p._backend, p._data.dtype), []).append((p, d, *self._buffer(p, g, st)))
            else:
                self._update(p, d, g, st)
        for (be, _), group in fused.items():
            be.sgd_foreach([p._data for p, *_ in group], [d for _, d, _, _ in group], [b for *_, b, _ in group],
                           [f for *_, f in group], **self._hyper(g))
            for p, *_ in group:
                p._version.value += 1

    def _update(self, p: Any, d: np.ndarray, g: dict, st: dict) -> None:
        be = p._backend
        dt = p._data.dtype
        shape = p._data.shape
        if g["momentum"]:
            self._check_warm(p, st)
        if not (g["maximize"] or g["weight_decay"] or g["momentum"]):
            be.elementwise("sub_mul", [p._data, d, np.asarray(g["lr"], dt)], shape, dt, out=p._data)  # in place
        elif be.is_contiguous(p._data):
            # one fused kernel: direction, momentum buffer and update in one pass (PyTorch's order)
            buf, first = self._buffer(p, g, st)
            be.sgd_step(p._data, d, buf, first=first, **self._hyper(g))
        else:  # a strided parameter: the same math as separate kernels
            d = self._direction(p, d, g, st)
            be.elementwise("sub_mul", [p._data, d, np.asarray(g["lr"], dt)], shape, dt, out=p._data)
        p._version.value += 1

    @staticmethod
    def _direction(p: Any, d: np.ndarray, g: dict, st: dict) -> Any:
        """The update direction with maximize, weight decay and momentum (PyTorch's order)."""
        be, dt, shape = p._backend, p._data.dtype, p._data.shape

        def ew(op: str, x: Any, y: Any) -> Any:
            return be.elementwise(op, [x, y], shape, dt)

        def scaled(x: Any, c: float) -> Any:
            return ew("mul", x, np.asarray(c, dt))

        d = be.elementwise("neg", [d], shape, dt) if g["maximize"] else d
        if g["weight_decay"]:
            d = ew("add", d, scaled(p._data, g["weight_decay"]))
        if g["momentum"]:
            buf = st.get("momentum_buffer")
            if buf is None:
                buf = be.copy(d)
            else:
                buf = ew("add", scaled(buf, g["momentum"]), scaled(d, 1 - g["dampening"]))
            st["momentum_buffer"] = buf
            d = ew("add", d, scaled(buf, g["momentum"])) if g["nesterov"] else buf
        return d
