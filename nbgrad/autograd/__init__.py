"""nbgrad.autograd: grad, gradcheck, anomaly detection and the step engine."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import graph
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import Accumulation, BackwardPass, Step
from .function import AccumulateGrad, Node
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "Accumulation", "AccumulateGrad", "BackwardPass", "Node", "Step", "detect_anomaly",
    "enable_grad", "grad", "gradcheck", "is_anomaly_enabled", "is_grad_enabled", "no_grad",
    "set_detect_anomaly", "set_grad_enabled", "backward_pass",
]


def _as_list(x: Any) -> list:
    return [x] if hasattr(x, "_data") else list(x)  # a Tensor, or a sequence of them


def backward_pass(
    outputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
    inputs: Any = None, record_values: bool = False, create_graph: bool = False, accumulate: bool = False,
) -> BackwardPass:
    """Set up (without running) the backward pass that backward()/grad() would run.
    accumulate: with inputs, add into their .grad (backward(inputs=...)) instead of capturing."""
    if create_graph:
        raise NotImplementedError("nbgrad does not support create_graph (higher-order gradients)")
    if accumulate and inputs is not None:
        raise NotImplementedError("backward(inputs=...) is not supported; use nbgrad.autograd.grad")
    if accumulate:
        inputs = None
    outs = _as_list(outputs)
    gos = [None] * len(outs) if grad_outputs is None else _as_list(grad_outputs)
    if len(gos) != len(outs):
        raise RuntimeError(f"grad_outputs has {len(gos)} entries but outputs has {len(outs)}")
    roots, grads = [], []
    for o, g in zip(outs, gos):
        if not o.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not o.dtype.is_floating_point:
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            garr = o._backend.asarray(np.ones(o.shape, dtype=o.dtype.np))
        else:
            if not hasattr(g, "_data"):
                raise TypeError("gradient must be a Tensor or None")
            if tuple(g.shape) != tuple(o.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {g.size()} and output[0] "
                    f"has a shape of {o.size()}."
                )
            garr = g._data.astype(o.dtype.np) if g.dtype != o.dtype else g._data
        roots.append(o)
        grads.append(garr)
    ins = None if inputs is None else _as_list(inputs)
    return BackwardPass(roots, grads, bool(retain_graph), ins, record_values)


def grad(
    outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
    create_graph: bool = False, allow_unused: bool = False,
) -> tuple:
    """Gradients of outputs with respect to inputs; leaves' .grad are left untouched."""
    from ..tensor import Tensor

    if create_graph:
        raise NotImplementedError("nbgrad does not support create_graph (higher-order gradients)")
    ins = _as_list(inputs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    bp = backward_pass(outputs, grad_outputs, retain_graph, ins)
    bp.run()
    res = []
    for t, g in zip(ins, bp.captured):
        if g is None and not allow_unused:
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        res.append(None if g is None else Tensor._wrap(g, t._backend))
    return tuple(res)


def gradcheck(
    func: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
    rtol: float = 1e-3, raise_exception: bool = True,
) -> bool:
    """Compare analytical gradients with central finite differences (float64 inputs)."""
    from ..creation import tensor
    from ..tensor import Tensor

    ins = [x for x in inputs]
    diff = [x for x in ins if isinstance(x, Tensor) and x.requires_grad]
    for x in diff:
        if x.dtype.name != "float64":
            raise ValueError(f"gradcheck expects float64 inputs, got {x.dtype}")
    out = func(*ins)
    outs = _as_list(out)
    for oi, o in enumerate(outs):
        def value(k: int) -> float:
            with no_grad():
                return float(_as_list(func(*ins))[oi].detach().cpu().numpy().reshape(-1)[k])

        for k in range(o.numel()):
            go = np.zeros(o.shape)
            go.reshape(-1)[k] = 1.0
            analytic = grad(o, diff, tensor(go, dtype=o.dtype, device=o.device), retain_graph=True,
                            allow_unused=True)
            for x, a in zip(diff, analytic):
                be, host = x._backend, x.detach().cpu().numpy()
                num = np.zeros(x.shape)
                for j in range(host.size):
                    at = np.unravel_index(j, x.shape) if x.ndim else ()
                    orig = float(host[at])
                    be.setitem(x._data, at, orig + eps)  # in place: x may be a strided view, or on a GPU
                    plus = value(k)
                    be.setitem(x._data, at, orig - eps)
                    minus = value(k)
                    be.setitem(x._data, at, orig)
                    num[at] = (plus - minus) / (2 * eps)
                an = np.zeros(x.shape) if a is None else a.detach().cpu().numpy()
                if not np.allclose(an, num, atol=atol, rtol=rtol):
                    if raise_exception:
                        raise RuntimeError(
                            f"Jacobian mismatch for output {oi} element {k}:\n"
                            f"numerical:{num}\nanalytical:{an}"
                        )
                    return False
    return True
