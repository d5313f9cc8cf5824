"""nbgrad.optim: SGD, Adam, AdamW with PyTorch's update rules (run under no_grad)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..autograd.grad_mode import no_grad


class Optimizer:
    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = defaults
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = []
        for g in groups:
            g = dict(g)
            g["params"] = list(g["params"])
            for k, v in defaults.items():
                g.setdefault(k, v)
            self.param_groups.append(g)
        self.state: dict[int, dict] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.zero_()

    def _check_warm(self, p: Any, st: dict) -> None:
        """State made during a graph capture would be made again at each replay (a momentum
        buffer or a step count reset to its start): refuse it."""
        if not st and p._backend.capturing:
            raise RuntimeError(f"{type(self).__name__}.step() would create its state during a CUDA graph capture, "
                               "and every replay would start it over: run step() once before capturing (warm-up)")

    def step(self) -> None:
        with no_grad():
            for g in self.param_groups:
                self._update_group([(p, p._grad._data, self.state.setdefault(id(p), {}))
                                    for p in g["params"] if p._grad is not None], g)

    def _update_group(self, items: list, g: dict) -> None:
        """Update a group's parameters that have gradients: (parameter, gradient, state) each."""
        for p, d, st in items:
            self._update(p, d, g, st)

    def _update(self, p: Any, grad: np.ndarray, g: dict, st: dict) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, maximize: bool = False) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
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
        """CUDA parameters (contiguous) in one kernel per dtype, FOREACH to a launch, as
        PyTorch's foreach SGD; the others one by one."""
        fused: dict = {}
        for p, d, st in items:
            if p._backend.device_type == "cuda" and p._backend.is_contiguous(p._data):
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


class Adam(Optimizer):
    decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, maximize: bool = False,
                 capturable: bool = False) -> None:
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
        if g["capturable"] and be.device_type != "cuda":
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


__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
