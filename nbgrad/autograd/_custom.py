"""Function.apply: run a custom Function's forward without recording, then record one node
(the ctx) for all its outputs."""

from __future__ import annotations

from typing import Any

from .. import tensor as _tensor  # nbgrad.tensor imports autograd: read _tensor.Tensor at call time
from . import graph as _graph
from .function import Function, _user_site, accumulate_grad_node
from .grad_mode import is_grad_enabled, no_grad


def apply_function(cls: Any, args: tuple, kwargs: dict) -> Any:
    node = cls._backward_cls()
    is_tensor = tuple(isinstance(a, _tensor.Tensor) for a in args)
    node._input_is_tensor = is_tensor
    node.needs_input_grad = tuple(t and a.requires_grad for t, a in zip(is_tensor, args))
    custom_setup = cls.setup_context is not Function.setup_context  # forward(*args), then setup_context(ctx, ...)
    with no_grad():
        if custom_setup:
            out = cls.forward(*args, **kwargs)
        else:
            out = cls.forward(node, *args, **kwargs)
    if custom_setup:
        cls.setup_context(node, args, out)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    tensors_in = [a for a, t in zip(args, is_tensor) if t]
    record = is_grad_enabled() and any(t.requires_grad for t in tensors_in)
    dirty = {id(t) for t in node._dirty}
    non_diff = {id(t) for t in node._non_differentiable}
    in_ids = {id(t): t for t in tensors_in}
    if record:
        node.next_functions = tuple(
            ((t.grad_fn, t._output_nr) if t.grad_fn is not None else (accumulate_grad_node(t), 0))
            if t.requires_grad else (None, 0) for t in tensors_in)
        node.input_shapes = tuple((t._data.shape, t._data.dtype) for t in tensors_in)
        node.site = _user_site()
        node.num_outputs = len(outs)
        node.backend = tensors_in[0]._backend
    results = []
    meta = []
    for nr, o in enumerate(outs):
        if not isinstance(o, _tensor.Tensor):
            results.append(o)
            meta.append(None)
            continue
        meta.append((o._data.shape, o._data.dtype, o._backend))
        if id(o) in dirty:  # an input modified in place: it is the output, with this node as history
            if record and o.is_leaf and o.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
            o._version.value += 1
        elif id(o) in in_ids or o.grad_fn is not None or o._requires_grad:
            t = _tensor.Tensor._wrap(o._data, o._backend)  # an input returned as is: a new tensor sharing its memory
            t._version = o._version
            o = t
        if record and id(outs[nr]) not in non_diff and o.dtype.is_floating_point:
            o.grad_fn, o._output_nr, o._requires_grad = node, nr, True
        results.append(o)
    node._output_meta = tuple(meta)
    first = next((o for o in results if isinstance(o, _tensor.Tensor)), None)
    if record and first is not None:  # what a built-in node records of its output (debuggers read it)
        node.output_shape, node.output_dtype = first._data.shape, first._data.dtype
    if record and _graph._Keep.on:
        node._check_call = (args, kwargs)  # for autograd.check_node
    if record:
        slots = []
        out_ids = {id(outs[i]): i for i in range(len(outs)) if isinstance(outs[i], _tensor.Tensor)}
        for i, t in enumerate(node._to_save):
            if t is None:
                slots.append(None)
                continue
            if not isinstance(t, _tensor.Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{i} is of type {type(t).__name__}")
            j = out_ids.get(id(t))
            node.save(f"{i}", results[j] if j is not None else t, is_output=j is not None)
            slots.append(i)
        node._save_slots = tuple(slots)
    else:
        node._save_slots = tuple(None if t is None else i for i, t in enumerate(node._to_save))
        for i, t in enumerate(node._to_save):
            if t is not None:
                node.save(f"{i}", t)
    node._to_save = ()
    return results[0] if single else tuple(results)
