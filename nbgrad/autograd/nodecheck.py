"""check_node: re-run one node's op on float64 copies of its inputs and compare the gradients
its derivative formulas give with central finite differences (what the debugger's `g` shows).
The node must have kept its inputs: make the graph inside autograd.graph.keep_inputs()."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import nbgrad  # partially initialized here (tensor.py imports autograd before Tensor exists): read at call time

from .. import tensor as _tensor
from .._dtype import float64
from .function import BackwardCFunction, Node
from .grad_mode import enable_grad, no_grad


@dataclass
class NodeCheck:
    """The largest differences between the formulas' and the finite-difference gradients."""

    node: str
    max_abs_error: float
    max_rel_error: float
    per_input: dict[str, tuple[float, float]] = field(default_factory=dict)  # input: (abs, rel)
    ok: bool = True

    def __str__(self) -> str:
        verdict = "agrees with" if self.ok else "DIFFERS from"
        return (f"{self.node}: backward {verdict} finite differences (max abs error {self.max_abs_error:.3g}, "
                f"max rel error {self.max_rel_error:.3g})")


def _copy64(t: Any) -> Any:
    c = t.detach().clone()
    return c.to(float64) if c.dtype.is_floating_point else c


def _table_call(node: Node) -> tuple[Callable[..., Any], list[str], list[Any], set[str]]:
    """(fn, names, values, differentiable): fn(*values) re-runs the node's op on the named values."""
    cls = type(node)
    expr = getattr(cls, "forward", None)
    if expr is None:
        raise RuntimeError(f"{node.name} has no forward op in the derivatives table to check its backward against")
    saved = node._saved or {}
    if node._released:
        raise RuntimeError(f"{node.name}'s saved tensors were freed (retain_graph=True keeps them)")
    if cls.variadic:
        n = len(node.next_functions)
        keys = [f"{cls.inputs[0]}.{i}" for i in range(n)]
    else:
        keys = [k for k in (*cls.inputs, *cls.extra_saved) if k in saved or getattr(node, k, 0) is not None]
    missing = [k for k in keys if k not in saved]
    if missing and not cls.variadic:
        # an input the forward had as None (an optional weight) is fine; one not kept is not
        missing = [k for k in missing if k in cls.inputs and not (hasattr(node, k) and getattr(node, k) is None)]
    if missing or (cls.variadic and any(k not in saved for k in keys)):
        raise RuntimeError(f"{node.name} did not keep its inputs ({', '.join(missing) or cls.inputs[0]}): "
                           "make the graph inside nbgrad.autograd.graph.keep_inputs()")
    values = {k: _copy64(saved[k].unpack(node)) for k in keys if k in saved}
    diff = {k for k in values if values[k].dtype.is_floating_point and (cls.variadic or k in cls.formulas)}
    ns = dict(nbgrad.ops.derivatives_table._forward_namespace())

    def fn(*xs: Any) -> Any:
        env = dict(zip(values, xs))
        if cls.variadic:
            env = {cls.inputs[0]: list(xs)}
        for k in cls.inputs + cls.extra_saved:
            env.setdefault(k, None)
        env["result_shape"] = tuple(node.output_shape)
        return eval(expr, ns, _Attrs(node, env, ns))  # noqa: S307 - the table's own expression

    return fn, list(values), list(values.values()), diff


class _Attrs(dict):
    """Names for a forward expression: the given values, the attributes the forward recorded on
    the node, the ops, else the node's other attributes."""

    def __init__(self, node: Node, env: dict, ops: dict) -> None:
        super().__init__(env)
        self.node, self.ops = node, ops

    def __missing__(self, key: str) -> Any:
        recorded = getattr(self.node, "__dict__", None)
        if recorded is not None and key in recorded:
            return recorded[key]
        if key in self.ops:
            return self.ops[key]
        try:
            return getattr(self.node, key)
        except AttributeError:
            raise NameError(key) from None


def _function_call(node: BackwardCFunction) -> tuple[Callable[..., Any], list[str], list[Any], set[str]]:
    call = getattr(node, "_check_call", None)
    if call is None:
        raise RuntimeError(f"{node.name} did not keep its inputs: make the graph inside "
                           "nbgrad.autograd.graph.keep_inputs()")
    args, kwargs = call
    pos = [i for i, a in enumerate(args) if isinstance(a, _tensor.Tensor)]
    values = [_copy64(args[i]) for i in pos]

    def fn(*xs: Any) -> Any:
        full = list(args)
        for i, x in zip(pos, xs):
            full[i] = x
        return node._function.apply(*full, **kwargs)

    names = [f"input {i}" for i in pos]
    return fn, names, values, {n for n, v in zip(names, values) if v.dtype.is_floating_point}


def check_node(node: Node, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> NodeCheck:
    """Re-run node's op on float64 copies of its kept inputs; compare the gradients its backward
    gives for a random upstream gradient with central finite differences."""
    fn, names, values, diff = _function_call(node) if isinstance(node, BackwardCFunction) else _table_call(node)
    rng = np.random.default_rng(seed)
    diff_idx = [i for i, n in enumerate(names) if n in diff]
    xs = [v.requires_grad_(True) if i in diff_idx else v for i, v in enumerate(values)]
    with enable_grad():
        out = fn(*xs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if isinstance(o, _tensor.Tensor)
            and o.dtype.is_floating_point]
    vs = [_tensor.Tensor._wrap(o._backend.asarray(rng.standard_normal(o.shape).astype(np.float64)), o._backend)
          for o in outs]
    used = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not used:
        raise RuntimeError(f"{node.name}: its recomputed output does not depend on its inputs")
    analytic = nbgrad.autograd.grad([o for o, _ in used], [xs[i] for i in diff_idx], [v for _, v in used],
                                    allow_unused=True)

    def objective() -> float:
        with no_grad():
            r = fn(*xs)
        rs = [o for o in (r if isinstance(r, (tuple, list)) else (r,)) if isinstance(o, _tensor.Tensor)
              and o.dtype.is_floating_point]
        return float(sum(float((a.detach().cpu().numpy().astype(np.float64) * v.numpy()).sum())
                         for a, v in zip(rs, vs)))

    result = NodeCheck(node.name, 0.0, 0.0)
    for i, a in zip(diff_idx, analytic):
        x = xs[i]
        be = x._backend
        host = x.detach().cpu().numpy()
        num = np.zeros(host.size)
        for j in range(host.size):
            at = np.unravel_index(j, x.shape) if x.ndim else ()
            orig = float(host[at])
            be.setitem(x._data, at, orig + eps)
            plus = objective()
            be.setitem(x._data, at, orig - eps)
            minus = objective()
            be.setitem(x._data, at, orig)
            num[j] = (plus - minus) / (2 * eps)
        an = np.zeros(host.size) if a is None else a.detach().cpu().numpy().astype(np.float64).reshape(-1)
        err = np.abs(an - num)
        abs_err = float(err.max()) if err.size else 0.0
        rel_err = float((err / np.maximum(np.abs(num), 1e-12)).max()) if err.size else 0.0
        result.per_input[names[i]] = (abs_err, rel_err)
        result.max_abs_error = max(result.max_abs_error, abs_err)
        result.max_rel_error = max(result.max_rel_error, rel_err)
        if not np.allclose(an, num, atol=atol, rtol=rtol):
            result.ok = False
    return result
