"""nbgrad.autograd: backward, grad, gradcheck / gradgradcheck, custom Functions, anomaly
detection and the step engine."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .. import tensor as _tensor  # nbgrad.tensor imports this package: read _tensor.Tensor at call time
from . import graph
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import Accumulation, BackwardPass, Step
from .function import AccumulateGrad, Function, FunctionCtx, Node, once_differentiable
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "Accumulation", "AccumulateGrad", "BackwardPass", "Function", "FunctionCtx", "Node", "NodeCheck", "Step",
    "backward", "check_node",
    "backward_pass", "detect_anomaly", "enable_grad", "functional", "grad", "gradcheck", "gradgradcheck", "graph",
    "is_anomaly_enabled", "is_grad_enabled", "no_grad", "once_differentiable", "set_detect_anomaly",
    "set_grad_enabled",
]


def _as_list(x: Any) -> list:
    if x is None:
        return []
    return [x] if hasattr(x, "_data") else list(x)  # a Tensor, or a sequence of them


def _root_grads(outs: list, gos: list, create_graph: bool) -> list:
    Tensor = _tensor.Tensor
    grads = []
    for i, (o, g) in enumerate(zip(outs, gos)):
        if not o.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            d = o._data
            if d.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if d.dtype.kind != "f":
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            g = Tensor._wrap(o._backend.asarray(np.ones(d.shape, dtype=d.dtype)), o._backend)
        else:
            if not isinstance(g, Tensor):
                if isinstance(g, (int, float)) and o.numel() == 1:
                    g = Tensor._wrap(o._backend.full(o._data.shape, g, o._data.dtype), o._backend)
                else:
                    raise TypeError("gradient must be a Tensor or None")
            if tuple(g.shape) != tuple(o.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.size()} and output[{i}] "
                    f"has a shape of {o.size()}."
                )
            if g._backend is not o._backend:
                raise RuntimeError(f"invalid gradient at index {i} - expected device {o.device} but got {g.device}")
            if g.dtype != o.dtype:
                g = g.to(o.dtype)
            if not create_graph and g.requires_grad:
                g = g.detach()
        grads.append(g)
    return grads


def backward_pass(
    outputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
    inputs: Any = None, record_values: bool = False, create_graph: bool = False, accumulate: bool = False,
    undoable: bool | None = None,
) -> BackwardPass:
    """Set up (without running) the backward pass that backward() / grad() would run.
    inputs: restrict the pass to them; accumulate: add into their .grad (backward(inputs=...))
    rather than capture (grad())."""
    outs = _as_list(outputs)
    if not outs:
        raise RuntimeError("backward() needs at least one tensor")
    gos = [None] * len(outs) if grad_outputs is None else _as_list(grad_outputs)
    if len(gos) != len(outs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs; got {len(gos)} gradients "
                           f"for {len(outs)} tensors" if not gos else
                           f"grad_tensors has {len(gos)} entries but tensors has {len(outs)}")
    grads = _root_grads(outs, gos, create_graph)
    ins = None if inputs is None else _as_list(inputs)
    if ins is not None and not ins:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if retain_graph is None:
        retain_graph = create_graph
    return BackwardPass(outs, grads, bool(retain_graph), ins, record_values, create_graph,
                        capture=not accumulate, undoable=undoable)


def backward(
    tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
    grad_variables: Any = None, inputs: Any = None,
) -> None:
    """Accumulate into the leaves' .grad the gradients of `tensors` (several roots at once)."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    outs = _as_list(tensors)
    gos = [None] * len(outs) if grad_tensors is None else _as_list(grad_tensors)
    graph.dispatch_backward(graph.BackwardCall("tensor", outs, gos, retain_graph, create_graph, inputs))


def grad(
    outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
    create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
    is_grads_batched: bool = False, materialize_grads: bool = False,
) -> tuple:
    """Gradients of outputs with respect to inputs; no .grad changes. create_graph: the result
    has a graph of its own (differentiate it again)."""
    if is_grads_batched:
        raise NotImplementedError("nbgrad does not support grad(is_grads_batched=True)")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    allow_unused = bool(allow_unused) or materialize_grads
    ins = _as_list(inputs)
    if not ins:
        raise RuntimeError("grad requires non-empty inputs.")
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    bp = backward_pass(outputs, grad_outputs, retain_graph, ins, create_graph=create_graph)
    bp.run()
    res = []
    for t, g in zip(ins, bp.captured):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                g = _tensor.Tensor._wrap(t._backend.full(t._data.shape, 0, t._data.dtype), t._backend)
        res.append(g)
    return tuple(res)


def _numerical_jacobians(func: Callable, ins: list, diff: list, n_outs: int, eps: float) -> list:
    """Numerical Jacobians d out / d x (central differences, float64): [output][input] arrays of
    shape (output numel, input numel), each input of `diff` perturbed in place (it may be a
    strided view, or on a GPU) while func(*ins) runs."""
    jac: list = [[None] * len(diff) for _ in range(n_outs)]
    for xi, x in enumerate(diff):
        be, host = x._backend, x.detach().cpu().numpy()
        cols: list = [np.zeros((0, 0))] * n_outs
        for j in range(host.size):
            at = np.unravel_index(j, x.shape) if x.ndim else ()
            orig = float(host[at])
            vals = []
            for v in (orig + eps, orig - eps):
                be.setitem(x._data, at, v)
                with enable_grad():  # as PyTorch: hooks inside func keep working
                    r = [t for t in _as_list(func(*ins)) if isinstance(t, _tensor.Tensor)]
                vals.append([np.array(t.detach().cpu().numpy(), dtype=np.float64).reshape(-1) for t in r])  # copies
            be.setitem(x._data, at, orig)
            for oi in range(n_outs):
                if j == 0:
                    cols[oi] = np.zeros((vals[0][oi].size, host.size))
                cols[oi][:, j] = (vals[0][oi] - vals[1][oi]) / (2 * eps)
        for oi in range(n_outs):
            jac[oi][xi] = cols[oi]
    return jac


def gradcheck(
    func: Callable[..., Any], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
    raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False, check_batched_grad: bool = False, fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Check the analytical gradients of func against central finite differences (float64
    inputs). func runs with grad enabled. Returns True, or raises (raise_exception=True) / returns
    False on a mismatch."""
    ins = [inputs] if isinstance(inputs, _tensor.Tensor) else list(inputs)
    diff = [x for x in ins if isinstance(x, _tensor.Tensor) and x.requires_grad]
    for x in diff:
        if x.dtype.name != "float64":
            warnings.warn(f"Input #{ins.index(x)} requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision floating "
                          "point.", UserWarning, stacklevel=2)
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of the them "
                         "have requires_grad=True.")
    with enable_grad():
        outs = [o for o in _as_list(func(*ins)) if isinstance(o, _tensor.Tensor)]
    numerical = _numerical_jacobians(func, ins, diff, len(outs), eps)
    for oi, o in enumerate(outs):
        if not o.requires_grad:
            for xi in range(len(diff)):
                if numerical[oi][xi].size and np.any(numerical[oi][xi] != 0):
                    return _fail(raise_exception, f"Jacobian mismatch for output {oi} with respect to input "
                                 f"{xi}: the output does not require grad but its numerical gradient is nonzero")
            continue
        for k in range(o.numel()):
            go = np.zeros(o.shape, dtype=o.dtype.np)
            go.reshape(-1)[k] = 1.0
            gt = _tensor.Tensor._wrap(o._backend.asarray(go), o._backend)
            with enable_grad():
                analytic = grad(o, diff, gt, retain_graph=True, allow_unused=True)
            for xi, (x, a) in enumerate(zip(diff, analytic)):
                an = np.zeros(x.numel()) if a is None else a.detach().cpu().numpy().astype(np.float64).reshape(-1)
                num = numerical[oi][xi][k] if numerical[oi][xi].size else np.zeros(x.numel())
                if not np.allclose(an, num, atol=atol, rtol=rtol):
                    return _fail(raise_exception,
                                 f"Jacobian mismatch for output {oi} with respect to input {xi},\n"
                                 f"numerical:{num}\nanalytical:{an}\n")
    return True


def _fail(raise_exception: bool, msg: str) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


class GradcheckError(RuntimeError):
    """What gradcheck / gradgradcheck raise on a mismatch (PyTorch's GradcheckError)."""


def gradgradcheck(
    func: Callable[..., Any], inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6, atol: float = 1e-5,
    rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
    nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
    check_batched_grad: bool = False, check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
    fast_mode: bool = False, masked: bool = False,
) -> bool:
    """gradcheck of the gradients of func: checks second derivatives (the backward formulas'
    own backward) against finite differences of the first (float64 inputs)."""
    ins = [inputs] if isinstance(inputs, _tensor.Tensor) else list(inputs)
    with enable_grad():
        outs = [o for o in _as_list(func(*ins)) if isinstance(o, _tensor.Tensor) and o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        gos = [_tensor.Tensor._wrap(o._backend.asarray(rng.standard_normal(o.shape).astype(o.dtype.np)), o._backend,
                            requires_grad=True) for o in outs]
    else:
        gos = _as_list(grad_outputs)
    n_in = len(ins)

    def first_derivatives(*args: Any) -> tuple:
        xs, gs = list(args[:n_in]), list(args[n_in:])
        with enable_grad():
            ys = [o for o in _as_list(func(*xs)) if isinstance(o, _tensor.Tensor) and o.requires_grad]
            dx = [x for x in xs if isinstance(x, _tensor.Tensor) and x.requires_grad]
            res = grad(ys, dx, gs, create_graph=True, allow_unused=True)
        return tuple(r for r in res if r is not None)

    return gradcheck(first_derivatives, [*ins, *gos], eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


from . import functional  # noqa: E402
from .nodecheck import NodeCheck, check_node  # noqa: E402
