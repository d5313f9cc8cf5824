"""Module full backward hooks (PyTorch's torch.utils.hooks.BackwardHook).

As in PyTorch, a module's tensor inputs (and, separately, its outputs) pass through one
identity node with one output per tensor, BackwardHookFunctionBackward: the engine runs it
once, when the gradient of every tensor of the group has arrived, and the node hands the
group's gradients to the hooks. The tensors handed on share their arrays and version counters
with the originals: no array is copied."""

from __future__ import annotations

import warnings
from typing import Any, Callable

from ..autograd.function import _user_site, accumulate_grad_node
from ..autograd.function import Node
from ..autograd.grad_mode import is_grad_enabled
from ..ops.shape import zeros_on
from ..tensor import Tensor


class BackwardHookFunctionBackward(Node):
    """The identity node of a group of tensors whose module has full backward hooks: its
    backward gives on_join the gradients of all its outputs at once (None where none arrived,
    or zeros when `materialize`), and passes on what it returns."""

    name = "BackwardHookFunctionBackward"
    formula = "grad_i = hooks(grads of the group)_i (the identity without hooks)"
    on_join: Callable[[tuple], tuple]
    materialize = False  # a tensor that got no gradient: zeros (PyTorch's materialized grads) or None

    def apply(self, grads: tuple) -> tuple:
        if self.materialize:
            grads = tuple(zeros_on(s, d, self.backend) if g is None else g for g, (s, d) in zip(grads, self.input_shapes))
        return tuple(self.on_join(grads))


def _hook_tensors(tensors: list[Tensor], on_join: Callable[[tuple], tuple], materialize: bool) -> list[Tensor]:
    """The tensors as the module sees (or returns) them: the same values, one node for the group."""
    node = BackwardHookFunctionBackward()
    node.backend = tensors[0]._backend
    node.num_outputs = len(tensors)
    node.next_functions = tuple(((t.grad_fn, t._output_nr) if t.grad_fn is not None else (accumulate_grad_node(t), 0))
                                if t.requires_grad else (None, 0) for t in tensors)
    node.input_shapes = tuple((t._data.shape, t._data.dtype) for t in tensors)
    node.on_join, node.materialize, node.site = on_join, materialize, _user_site()
    out = []
    for i, t in enumerate(tensors):
        new = Tensor._wrap(t._data, t._backend, t._requires_grad)
        new._version = t._version  # an in-place change of one is a change of the other
        if t._requires_grad:
            new.grad_fn, new._output_nr = node, i
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
