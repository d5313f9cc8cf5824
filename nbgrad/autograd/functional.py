"""Higher-level derivatives of a function (PyTorch's torch.autograd.functional): vjp, jvp,
jacobian, hessian, vhp, hvp. All are built on reverse mode (jvp by the double-vjp trick)."""

from __future__ import annotations

from typing import Any, Callable

import nbgrad  # partially initialized here (tensor.py imports autograd before Tensor exists): read at call time

from .. import tensor as _tensor
from .grad_mode import enable_grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _tuple(x: Any, arg: str, fn: str) -> tuple[bool, tuple]:
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, _tensor.Tensor):
            raise TypeError(f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but the "
                            f"value at index {i} has type {type(t)}.")
    return is_tuple, xs


def _prep(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """Inputs as fresh leaves (or views keeping their graph, with create_graph)."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(need_graph))
    return tuple(out)


def _post(xs: Any, create_graph: bool) -> Any:
    if isinstance(xs, tuple):
        return tuple(_post(x, create_graph) for x in xs)
    if xs is None or create_graph:
        return xs
    return xs.detach()


def _grads(outputs: tuple, inputs: tuple, grad_outputs: tuple, create_graph: bool, strict: bool, fn: str,
           retain_graph: bool | None = None) -> tuple:
    """autograd.grad of the outputs that require grad; zeros (strict=False) or an error (strict)
    for inputs they do not reach."""
    outs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad and g is not None]
    if not outs:
        res: tuple = (None,) * len(inputs)
    else:
        res = nbgrad.autograd.grad([o for o, _ in outs], list(inputs), [g for _, g in outs], allow_unused=True,
                                   create_graph=create_graph, retain_graph=create_graph if retain_graph is None else retain_graph)
    fixed = []
    for i, (x, r) in enumerate(zip(inputs, res)):
        if r is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                                   f"not allowed in strict mode.")
            r = nbgrad.creation.zeros_like(x)
        fixed.append(r)
    return tuple(fixed)


def _check_v(v: Any, like: tuple, arg: str, fn: str) -> tuple:
    _, vs = _tuple(v, arg, fn)
    if len(vs) != len(like):
        raise RuntimeError(f"The given {arg} should contain a single Tensor for each element of the "
                           f"{'outputs' if arg == 'v' else 'inputs'}: {len(vs)} given, {len(like)} expected.")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"Entry {i} in {arg} has invalid size: should be {b.shape} but got {a.shape}.")
    return vs


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), v^T J): the vector-Jacobian product at inputs."""
    with enable_grad():
        is_tuple, ins = _tuple(inputs, "inputs", "vjp")
        ins = _prep(ins, create_graph, True)
        out = func(*ins)
        out_tuple, outs = _tuple(out, "outputs of the user-provided function", "vjp")
        if v is None:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            vs: tuple = (None,)
            vs = (nbgrad.creation.ones_like(outs[0]),)
        else:
            vs = _check_v(v, outs, "v", "vjp")
        res = _grads(outs, ins, vs, create_graph, strict, "vjp")
    outp = _post(outs, create_graph)
    resp = _post(res, create_graph)
    return (outp if out_tuple else outp[0]), (resp if is_tuple else resp[0])


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick (the vjp is
    linear in its vector u, so J v is the gradient of <vjp(u), v> with respect to u)."""
    with enable_grad():
        is_tuple, ins = _tuple(inputs, "inputs", "jvp")
        ins = _prep(ins, create_graph, True)
        if v is None:
            if len(ins) != 1 or ins[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            vs: tuple = (nbgrad.creation.ones_like(ins[0]),)
        else:
            vs = _check_v(v, ins, "v", "jvp")
        out = func(*ins)
        out_tuple, outs = _tuple(out, "outputs of the user-provided function", "jvp")
        us = tuple(nbgrad.creation.zeros_like(o).requires_grad_(True) for o in outs)
        g = _grads(outs, ins, us, True, strict, "jvp")
        res = _grads(g, us, vs, create_graph, strict, "jvp")
    outp = _post(outs, create_graph)
    resp = _post(res, create_graph)
    return (outp if out_tuple else outp[0]), (resp if out_tuple else resp[0])


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of func at inputs: for each output and input, a tensor of shape
    output.shape + input.shape (nested tuples as PyTorch returns them)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                         'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                         'Otherwise, prefer to use "reverse-mode".')
    with enable_grad():
        is_tuple, ins = _tuple(inputs, "inputs", "jacobian")
        ins = _prep(ins, create_graph, True)
        out = func(*ins)
        out_tuple, outs = _tuple(out, "outputs of the user-provided function", "jacobian")
        jac: list = []
        for o in outs:
            rows: list[list] = [[] for _ in ins]
            flat = o.reshape(-1)
            for k in range(flat.numel()):
                if o.requires_grad:
                    gs = nbgrad.autograd.grad(flat[k], list(ins), retain_graph=True, create_graph=create_graph,
                                              allow_unused=True)
                else:
                    gs = (None,) * len(ins)
                for i, (x, g) in enumerate(zip(ins, gs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {len(jac)} of the user-provided function is independent of "
                                               f"input {i}. This is not allowed in strict mode.")
                        g = nbgrad.creation.zeros(x.shape, dtype=x.dtype, device=x.device)
                    rows[i].append(g)
            per_in = []
            for i, x in enumerate(ins):
                if rows[i]:
                    j = nbgrad.ops.shape.stack(rows[i]).reshape(*o.shape, *x.shape)
                else:
                    j = nbgrad.creation.zeros(*o.shape, *x.shape, dtype=x.dtype, device=x.device)
                per_in.append(_post(j, create_graph))
            jac.append(tuple(per_in))
    if not out_tuple and not is_tuple:
        return jac[0][0]
    if not out_tuple:
        return jac[0]
    if not is_tuple:
        return tuple(j[0] for j in jac)
    return tuple(jac)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar function: jacobian of its gradient."""
    is_tuple, ins = _tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Any) -> Any:
        out = func(*xs)
        _, outs = _tuple(out, "outputs of the user-provided function", "hessian")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor containing a single "
                               "element")
        return _grads(outs[:1], xs, (_ones(outs[0]),), True, strict, "hessian")

    res = jacobian(gradient, ins, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return res if is_tuple else res[0][0]


def _ones(t: Any) -> Any:
    return nbgrad.creation.ones_like(t)


def _hv(func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool, fn: str, h_first: bool) -> tuple:
    with enable_grad():
        is_tuple, ins = _tuple(inputs, "inputs", fn)
        ins = _prep(ins, create_graph, True)
        if v is None:
            if len(ins) != 1 or ins[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            vs: tuple = (_ones(ins[0]),)
        else:
            vs = _check_v(v, ins, "v", fn)
        out = func(*ins)
        _, outs = _tuple(out, "outputs of the user-provided function", fn)
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError(f"The function given to {fn} should return a single Tensor containing a single "
                               "element")
        g = _grads(outs, ins, (_ones(outs[0]),), True, strict, fn)
        # the Hessian is symmetric for smooth functions: vhp and hvp are the same product
        res = _grads(g, ins, vs, create_graph, strict, fn)
    outp = _post(outs[0], create_graph)
    resp = _post(res, create_graph)
    return outp, (resp if is_tuple else resp[0])


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), v^T H): the vector-Hessian product of a scalar function."""
    return _hv(func, inputs, v, create_graph, strict, "vhp", False)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), H v): the Hessian-vector product of a scalar function."""
    return _hv(func, inputs, v, create_graph, strict, "hvp", True)
