"""Shared plumbing for ops: operand coercion, broadcasting checks, and recording
a node on the tape."""

from __future__ import annotations

import functools
import traceback
from typing import Any, Sequence

import numpy as np

from .. import creation as _C
from .._dtype import dtype, promote_np, result_type
from ..autograd import anomaly as _anomaly
from ..autograd import graph as _graph
from ..autograd import grad_mode as _grad_mode
from ..autograd.engine import _Current
from ..autograd.function import SavedTensor, _user_site, accumulate_grad_node, saved_tensor_class
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor


def _wrap_int(x: int, dt: np.dtype) -> int:
    """A Python int as a value of the integer type dt, modulo 2 ** bits (as PyTorch takes a number
    operand out of the tensor's range)."""
    info = np.iinfo(dt)
    bits = dt.itemsize * 8
    x %= 1 << bits
    return x - (1 << bits) if info.min < 0 and x > info.max else x


def number_array(x: Any, dt: np.dtype, wrap: bool = True) -> np.ndarray:
    """A Python number as a 0-d array of dt. An int outside an integer dt's range is wrapped into
    it (PyTorch's arithmetic, bitwise and comparison operands), or refused (wrap False: its
    scalar arguments, as where's)."""
    dt = np.dtype(dt)
    if type(x) is int and dt.kind in "iu":
        info = np.iinfo(dt)
        if not info.min <= x <= info.max:
            if not wrap:
                raise RuntimeError("value cannot be converted to type int without overflow")
            x = _wrap_int(x, dt)
    return np.asarray(x, dt)


def as_tensor_like(x: Any, like: Tensor, dt: dtype | None = None, wrap: bool = False) -> Tensor:
    if isinstance(x, Tensor):
        if x._backend is not like._backend:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{like.device} and {x.device}!"
            )
        return x
    if isinstance(x, (bool, int, float)):
        d = dt or result_type(like, x)
        return Tensor._wrap(like._backend.asarray(number_array(x, d.np, wrap)), like._backend)
    return _C.tensor(x)


def broadcast_shape(*shapes: tuple) -> tuple:
    if len(shapes) == 2 and shapes[0] == shapes[1]:
        return tuple(shapes[0])
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(
            "shapes " + " and ".join(str(list(s)) for s in shapes)
            + " cannot be broadcast together (sizes must match or be 1 at each dimension)"
        ) from None


def ew(op: str, *arrays: Any, shape: tuple | None = None, dt: np.dtype | None = None, backend: Any) -> Any:
    """Elementwise kernel call on backend arrays, broadcasting to a common shape."""
    first = arrays[0]
    if shape is None:
        shape = first.shape
        for a in arrays:
            if a.shape != shape:
                shape = broadcast_shape(*[a.shape for a in arrays])
                break
    if dt is None:
        dt = first.dtype
        for a in arrays:
            if a.dtype != dt:
                dt = promote_np(*[a.dtype for a in arrays])
                break
    return backend.elementwise(op, arrays, shape, dt)


def needs_grad(*inputs: Tensor | None) -> bool:
    return is_grad_enabled() and any(t is not None and t.requires_grad for t in inputs)


_NO_EDGE = (None, 0)
_new = object.__new__
_NO_SHAPE = (None, None)


def record(node_cls: Any, out: Any, inputs: Sequence[Tensor | None], be: Any,
           save: dict[str, Tensor | None] | None = None, **attrs: Any) -> Tensor:
    """Wrap `out` in a Tensor and, if any input requires grad, attach a node of node_cls (a
    class from the derivatives table). The node saves what the formulas of the inputs that
    take gradients read: inputs by their table names (or `save`'s tensor under that name),
    `result` (the output), and the extra tensors given in `save`; other keyword arguments
    become the node's attributes."""
    t = _new(Tensor)  # (Tensor._wrap, inlined: this runs for every op)
    t._data, t._backend, t._requires_grad = out, be, False
    if not _grad_mode._state.enabled:
        return t
    nexts, shapes, mask = [], [], 0
    for i, x in enumerate(inputs):
        if x is None:
            nexts.append(_NO_EDGE)
            shapes.append(_NO_SHAPE)
            continue
        if x._requires_grad:
            mask |= 1 << i
            fn = x.grad_fn
            nexts.append((fn, x._output_nr) if fn is not None else (accumulate_grad_node(x), 0))
        else:
            nexts.append(_NO_EDGE)
        d = x._data
        shapes.append((d.shape, d.dtype))
    if not mask:
        return t
    node = node_cls()
    node.backend = be
    node.next_functions = tuple(nexts)
    node.input_shapes = tuple(shapes)
    node.output_shape = out.shape
    node.output_dtype = out.dtype
    if attrs:
        for k, v in attrs.items():  # (setattr keeps the instance's shared-key attribute layout)
            setattr(node, k, v)
    plan = _SAVE_PLANS.get((node_cls, mask))
    if plan is None:
        plan = _SAVE_PLANS[node_cls, mask] = _save_plan(node_cls, node_cls.saves_for(mask))
    if _graph._Keep.on:
        names = node_cls.saves_for(-1) + tuple(n for n in node_cls.inputs + node_cls.extra_saved
                                                if n not in node_cls.saves_for(-1))
        plan = _save_plan(node_cls, names)
        if node_cls.variadic:
            node._saved = {f"{node_cls.inputs[0]}.{i}": saved_tensor_class()(x) for i, x in enumerate(inputs)}
            plan = ((), False)
    slots, saves_result = plan
    ST = saved_tensor_class() if _graph._HookState.stack else SavedTensor
    if slots:
        saved = node._saved = node._saved or {}
        for name, pos in slots:
            v = save[name] if save is not None and name in save else (inputs[pos] if pos >= 0 else None)
            if v is not None:
                saved[name] = ST(v)
    node.site = _user_site()
    cur = _Current.node
    if cur is not None:
        node.backward_of = cur
    if _anomaly._state.enabled:
        node.stack = traceback.extract_stack()[:-2]
        _anomaly.note_forward(node, out, be)
    t.grad_fn = node
    t._requires_grad = True
    if saves_result:
        if node._saved is None:
            node._saved = {}
        node._saved["result"] = ST(t, True)
    return t


_SAVE_PLANS: dict[tuple[type, int], tuple[tuple[tuple[str, int], ...], bool]] = {}


def _save_plan(node_cls: Any, names: tuple[str, ...]) -> tuple[tuple[tuple[str, int], ...], bool]:
    """What record() saves for these names: (name, position among the inputs, or -1) for each
    but `result`, and whether `result` (the output) is saved."""
    index = () if node_cls.variadic else node_cls.inputs
    slots = tuple((n, index.index(n) if n in index else -1) for n in names if n != "result")
    return slots, "result" in names


# ---------------------------------------------------------------- NumPy-style keyword aliases (issue 16)
_ALIASES = {"axis": "dim", "keepdims": "keepdim"}


def numpy_aliases(fn: Any) -> Any:
    """fn, also taking PyTorch's NumPy-style keywords: axis= for dim=, keepdims= for keepdim=."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        if kw and ("axis" in kw or "keepdims" in kw):
            for alias, name in _ALIASES.items():
                if alias in kw:
                    if name in kw:
                        raise TypeError(f"{fn.__name__}() got multiple values for argument '{name}'")
                    kw[name] = kw.pop(alias)
        return fn(*args, **kw)

    return wrapper
