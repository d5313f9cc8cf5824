"""Module full backward hooks (PyTorch's torch.utils.hooks.BackwardHook), on nbgrad's one-output nodes.

PyTorch passes a module's tensor inputs (and, separately, its outputs) through one
identity node with several outputs, and hooks that node: it runs once, when every
gradient for the group has arrived. nbgrad's nodes have one output each, so a
group is two kinds of node here:

- a join node, whose inputs are the group's tensors and whose output is a dummy
  0-d value; it runs once, after every node that reads the dummy has run;
- one `BackwardHookFunctionBackward` per tensor, the grad_fn of the tensor handed
  on (the same array, the same version counter): it parks the gradient that
  arrives for its tensor in the join and sends the join a zero.

So when the join runs it holds the gradient of every tensor of the group (None
where none arrived), calls the hooks once, and sends the (possibly replaced)
gradients on to the tensors' producers. No array is copied."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from ..autograd.function import Node
from ..ops._core import record
from ..tensor import Tensor


class BackwardHookFunctionBackward(Node):
    """The grad_fn of a tensor handed to (or returned by) a module with full backward hooks."""

    name = "BackwardHookFunctionBackward"
    formula = "grad_self = grad (identity; the module's backward hooks see grad)"
    join: _HookJoin
    slot: int

    def backward(self, grad: Any) -> tuple[Any, ...]:
        self.join.parked[self.slot] = grad
        return (self.join.backend.asarray(np.zeros((), np.float32)),)


class _HookJoin(Node):
    """Runs a module's backward hooks once for a group of tensors (see the module docstring)."""

    name = "BackwardHookJoinBackward"
    formula = "grad_i = hooks(grads of the group)_i (identity without hooks)"
    on_join: Callable[[tuple], tuple]
    parked: list
    materialize = False  # a tensor that got no gradient: zeros (PyTorch's materialized grads) or None

    def backward(self, grad: Any) -> tuple[Any, ...]:
        be = self.backend
        parked = self.parked
        if self.materialize:
            parked = [be.asarray(np.zeros(s, d)) if g is None else g for g, (s, d) in zip(parked, self.input_shapes)]
        got = tuple(None if g is None else Tensor._wrap(g, be) for g in parked)
        self.parked = [None] * len(self.parked)
        out = self.on_join(got)
        return tuple(None if g is None else g._data for g in out)


def _hook_tensors(tensors: list[Tensor], on_join: Callable[[tuple], tuple], materialize: bool) -> list[Tensor]:
    """The tensors as the module sees (or returns) them: the same values, joined for the hooks."""
    be = tensors[0]._backend
    dummy = record(_HookJoin, be.asarray(np.zeros((), np.float32)), tensors, be)
    join = dummy.grad_fn
    join.parked = [None] * len(tensors)
    join.on_join = on_join
    join.materialize = materialize
    out = []
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            out.append(t)
            continue
        new = record(BackwardHookFunctionBackward, t._data, [dummy], be, join=join, slot=i)
        new._version = t._version  # an in-place change of one is a change of the other
        out.append(new)
    return out


class BackwardHook:
    """The backward hooks of one module call: pre hooks see grad_output, full hooks
    (grad_input, grad_output), with PyTorch's tuples (None for a non-tensor argument or
    one that got no gradient) and PyTorch's rules for the values they return."""

    def __init__(self, module: Any, user_hooks: list, user_pre_hooks: list) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_outputs = -1
        self.output_tensors_index: list[int] | None = None
        self.n_inputs = -1
        self.input_tensors_index: list[int] | None = None

    @staticmethod
    def _pack_with_none(indices: list[int], values: tuple, size: int) -> tuple:
        res: list[Any] = [None] * size
        for i, v in zip(indices, values):
            res[i] = v
        return tuple(res)

    @staticmethod
    def _apply_on_tensors(on_join: Callable[[tuple], tuple], args: tuple,
                          materialize: bool) -> tuple[tuple, list[int] | None]:
        from ..autograd.grad_mode import is_grad_enabled

        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not (is_grad_enabled() and any(args[i].requires_grad for i in idx)):
            return args, None
        new = _hook_tensors([args[i] for i in idx], on_join, materialize)
        items = list(args)
        for i, t in zip(idx, new):
            items[i] = t
        return (tuple(items) if type(args) is tuple else type(args)(*items)), idx

    def _inputs_joined(self, grads: tuple) -> tuple:
        if self.grad_outputs is None:  # the gradient reached the inputs without passing the outputs
            return grads
        assert self.input_tensors_index is not None
        res = self._pack_with_none(self.input_tensors_index, grads, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(out)}, but "
                                   f"expected {len(res)}")
            res = out
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_tensors_index)

    def _outputs_joined(self, grads: tuple) -> tuple:
        assert self.output_tensors_index is not None
        self.grad_outputs = self._pack_with_none(self.output_tensors_index, grads, self.n_outputs)
        expected = len(self.grad_outputs)
        for hook in self.user_pre_hooks:
            out = hook(self.module, self.grad_outputs)
            if out is None:
                continue
            if len(out) != expected:
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(out)}, "
                                   f"but expected {expected}")
            self.grad_outputs = tuple(out)
        local = self.grad_outputs
        if self.input_tensors_index is None:  # no input takes a gradient: the full hooks run here
            if self.user_hooks:
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients.", stacklevel=2)
            none_in = self._pack_with_none([], (), self.n_inputs)
            for hook in self.user_hooks:
                res = hook(self.module, none_in, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(local[i] for i in self.output_tensors_index)

    def setup_input_hook(self, args: tuple) -> tuple:
        res, idx = self._apply_on_tensors(self._inputs_joined, args, True)  # grad_input: zeros, not None
        self.n_inputs = len(args)
        self.input_tensors_index = idx
        return res

    def setup_output_hook(self, result: Any) -> Any:
        is_tuple = isinstance(result, tuple)
        args = result if is_tuple else (result,)
        res, idx = self._apply_on_tensors(self._outputs_joined, args, False)
        self.n_outputs = len(args)
        self.output_tensors_index = idx
        return res if is_tuple else res[0]
