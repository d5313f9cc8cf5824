"""Shared plumbing for ops: operand coercion, broadcasting checks, and recording
a node on the tape."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._dtype import dtype, promote_np, result_type
from ..autograd.anomaly import is_anomaly_enabled
from ..autograd.function import Node, _user_site, accumulate_grad_node
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor


def as_tensor_like(x: Any, like: Tensor, dt: dtype | None = None) -> Tensor:
    if isinstance(x, Tensor):
        if x._backend is not like._backend:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{like.device} and {x.device}!"
            )
        return x
    if isinstance(x, (bool, int, float)):
        d = dt or result_type(like, x)
        return Tensor._wrap(like._backend.asarray(np.asarray(x, dtype=d.np)), like._backend)
    from ..creation import tensor

    return tensor(x)


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


def record(node_cls: type[Node], out: Any, inputs: Sequence[Tensor | None], be: Any,
           save: dict[str, Tensor] | None = None, save_out: str | None = None,
           **attrs: Any) -> Tensor:
    """Wrap `out` in a Tensor and, if any input requires grad, attach a node."""
    t = Tensor._wrap(out, be)
    if not is_grad_enabled():
        return t
    nexts, shapes, needed = [], [], False
    for x in inputs:
        if x is None:
            nexts.append((None, 0))
            shapes.append((None, None))
            continue
        if x._requires_grad:
            needed = True
            nexts.append((x.grad_fn if x.grad_fn is not None else accumulate_grad_node(x), 0))
        else:
            nexts.append((None, 0))
        d = x._data
        shapes.append((d.shape, d.dtype))
    if not needed:
        return t
    node = node_cls()
    node.backend = be
    node.next_functions = tuple(nexts)
    node.input_shapes = tuple(shapes)
    node.output_shape = out.shape
    node.output_dtype = out.dtype
    if attrs:
        node.__dict__.update(attrs)
    if save:
        node.save_all(save)
    node.site = _user_site()
    if is_anomaly_enabled():
        import traceback

        from ..autograd.anomaly import note_forward

        node.stack = traceback.extract_stack()[:-2]
        note_forward(node, out, be)
    t.grad_fn = node
    t._requires_grad = True
    if save_out:
        node.save(**{save_out: t})
    return t
