"""Graph nodes. An op's forward runs when it is called and records a Node; the node's
backward, written in differentiable nbgrad ops (see nbgrad/ops/derivatives.py), is what the
engine runs. Nodes hold their saved tensors' arrays, never Tensors of their own outputs, so a
graph nobody references is freed without the cycle collector."""

from __future__ import annotations

import os
import sys
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import nbgrad  # partially initialized here (tensor.py imports autograd before Tensor exists): read at call time

from .. import tensor as _tensor  # nbgrad.tensor imports this module: read _tensor.Tensor at call time
from .grad_mode import is_grad_enabled, no_grad
from .graph import RemovableHandle, _HookState, saved_tensors_hooks_top

if TYPE_CHECKING:
    from ..tensor import Tensor

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_seq = [0]
_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
    "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time "
    "or if you need to access saved tensors after calling backward."
)


@dataclass(slots=True)
class Accumulation:
    """One gradient added into a leaf's .grad (or a retained non-leaf's)."""

    tensor: Tensor
    before: Any  # array of .grad before (a copy when record_values), or None
    after: Any  # array of .grad after (a copy when record_values)
    delta: Any  # the gradient that was added (a Tensor)


_new = object.__new__


class Version:
    """A version counter shared by a tensor and its views."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


_KIND = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor", "bool": "BoolTensor"}


class SavedTensor:
    """A tensor saved for backward (PyTorch's SavedVariable): its data and version at save
    time, and how to rebuild it as a Tensor with its history. A leaf is kept itself; a
    non-leaf keeps its grad_fn; a node's own output keeps no reference to the node (the
    node passes itself to unpack), so saving creates no reference cycle."""

    __slots__ = ("data", "version", "saved_version", "grad_fn", "output_nr", "requires_grad", "leaf",
                 "is_output", "backend")
    packed: Any = None  # with saved_tensors_hooks (HookedSavedTensor): the packed value
    unpack_hook: Any = None

    def __init__(self, t: Tensor, is_output: bool = False) -> None:
        d = t.__dict__
        v = d.get("_version")
        if v is None:  # (the tensor's counter, made on first use as Tensor.__getattr__ would)
            v = d["_version"] = Version()
        self.version = v
        self.saved_version = v.value
        self.backend = t._backend
        rg = self.requires_grad = t._requires_grad
        self.is_output = is_output
        self.output_nr = t._output_nr
        fn = t.grad_fn
        self.leaf = t if (rg and fn is None) else None
        self.grad_fn = None if is_output else fn
        self.data = t._data

    @property
    def src(self) -> str:
        """The name of the node that made the tensor ('' for a leaf or a saved output)."""
        return "" if self.grad_fn is None else self.grad_fn.name

    def origin_in(self, node: Node | None) -> str:
        if self.is_output:
            return f"output {self.output_nr} of {node.name if node is not None else 'its node'}"
        if self.grad_fn is not None:
            return f"output {self.output_nr} of {self.grad_fn.name}"
        return "a leaf tensor" if self.leaf is not None else "a tensor"

    @property
    def origin(self) -> str:
        return self.origin_in(None)

    @property
    def shape(self) -> tuple:
        d = self.data if self.data is not None else self.packed
        return tuple(d.shape) if hasattr(d, "shape") else ()

    def unpack(self, node: Node | None = None) -> Tensor:
        """The saved tensor, with its grad_fn (node: the owner, for a saved output)."""
        Tensor = _tensor.Tensor
        if self.unpack_hook is not None:
            t = self.unpack_hook(self.packed)
            if not isinstance(t, Tensor):
                raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got result of "
                                f"type {type(t).__name__}")
            data = t._data
        else:
            if self.version.value != self.saved_version:
                kind = _KIND.get(str(self.data.dtype), "Tensor")
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{kind} {list(self.shape)}], which is {self.origin_in(node)}, is at "
                    f"version {self.version.value}; expected version {self.saved_version} instead. "
                    "Hint: the operation that modified it ran after the forward pass; clone the tensor "
                    "before modifying it in place."
                )
            if self.leaf is not None:
                return self.leaf
            data = self.data
        if self.leaf is not None:
            return self.leaf if data is self.leaf._data else Tensor._wrap(data, self.backend)
        t = _new(Tensor)  # (Tensor._wrap, inlined: this runs for every saved tensor a formula reads)
        t._data, t._backend, t._requires_grad = data, self.backend, self.requires_grad
        fn = node if self.is_output else self.grad_fn
        if fn is not None:
            t.grad_fn = fn
            if self.output_nr:
                t._output_nr = self.output_nr
        t._version = self.version
        return t

    def array(self) -> Any:
        """The saved array, for inspection (no version check)."""
        if self.data is not None:
            return self.data
        if self.leaf is not None:
            return self.leaf._data
        return None


class HookedSavedTensor(SavedTensor):
    """A SavedTensor made inside saved_tensors_hooks: stores pack_hook(tensor), and rebuilds the
    tensor with unpack_hook for the backward pass (no version check, as in PyTorch)."""

    __slots__ = ("packed", "unpack_hook")

    def __init__(self, t: Tensor, is_output: bool = False) -> None:
        super().__init__(t, is_output)
        pack, self.unpack_hook = saved_tensors_hooks_top()  # type: ignore[misc]
        self.packed, self.data = pack(t), None


def saved_tensor_class() -> type[SavedTensor]:
    """What saving a tensor makes now: a HookedSavedTensor inside saved_tensors_hooks, else a SavedTensor."""
    return HookedSavedTensor if _HookState.stack and saved_tensors_hooks_top() is not None else SavedTensor


_SKIP = (_PKG_DIR, "<derivatives")  # nbgrad's own frames, and the compiled formulas'


def _user_site() -> tuple[str, int, str] | None:
    """First stack frame outside the nbgrad package: where the user called the op."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_SKIP):
        f = f.f_back
    if f is None:
        return None
    return (f.f_code.co_filename, f.f_lineno, f.f_code.co_name)


class Node:
    """Base of every grad_fn. A node maps the gradients of its outputs to the gradients of its
    inputs (one per next_functions entry); the built-in nodes are made from the table in
    nbgrad/ops/derivatives.py."""

    name = "Node"
    formula = ""
    num_outputs = 1
    # defaults read through the class until first set (a node is made on every recorded op)
    next_functions: tuple[tuple[Node | None, int], ...] = ()
    _released = False
    _pre_hooks: tuple | list = ()  # register_prehook: fn(grad_outputs) -> grad_outputs | None
    _tensor_hooks: tuple | list = ()  # Tensor.register_hook on an output: (output_nr, fn(grad) -> grad | None)
    _post_hooks: tuple | list = ()  # register_hook: fn(grad_inputs, grad_outputs) -> grad_inputs | None
    _retained: tuple | list = ()  # (output_nr, weakref) of outputs with retain_grad()
    _hooked = False  # any of the four above is set (one check per step in the engine)
    fresh_outputs = True  # apply() makes its gradients itself (the engine may let a leaf keep one)
    site: tuple[str, int, str] | None = None
    stack: list | None = None  # forward traceback, recorded in anomaly mode
    backward_of: Node | None = None  # on a node made by a create_graph backward: the node whose backward made it
    input_shapes: tuple = ()
    output_shape: tuple = ()
    output_dtype: Any = None
    _saved: dict[str, SavedTensor] | None = None

    def __init__(self) -> None:
        _seq[0] += 1
        self.sequence_nr = _seq[0]

    # --- saving for backward ---
    def save(self, name: str, t: Tensor, is_output: bool = False) -> None:
        if self._saved is None:
            self._saved = {}
        self._saved[name] = saved_tensor_class()(t, is_output)

    def saved(self, key: str) -> Tensor:
        """The saved tensor `key`, version-checked (PyTorch's error once freed)."""
        if self._released:
            raise RuntimeError(_FREED)
        return self._saved[key].unpack(self)  # type: ignore[index]

    def saved_arrays(self) -> dict[str, Any]:
        """Saved values as arrays, for inspection (the debugger, anomaly mode); empty once freed."""
        if self._released or not self._saved:
            return {}
        return {k: a for k, s in self._saved.items() if (a := s.array()) is not None}

    def release(self) -> None:
        """Free the saved tensors (after a backward pass without retain_graph)."""
        if self._saved:
            self._saved = None
            self._released = True

    # --- the local derivative ---
    def apply(self, grads: tuple) -> tuple:
        """Gradients of the inputs from the gradients of the outputs (one per next_functions entry)."""
        return self.backward(grads[0])

    def backward(self, grad: Any) -> tuple:
        raise NotImplementedError(f"{self.name} has no backward")

    def __call__(self, *grads: Any) -> Any:
        out = self.apply(grads)
        return out[0] if len(out) == 1 else out

    def needs(self, i: int) -> bool:
        """Whether input i takes a gradient (PyTorch's needs_input_grad)."""
        return i < len(self.next_functions) and self.next_functions[i][0] is not None

    # --- hooks (PyTorch's Node.register_hook / register_prehook) ---
    def _add_hook(self, attr: str, entry: Any) -> RemovableHandle:
        hooks = getattr(self, attr)
        if not isinstance(hooks, list):
            hooks = []
            setattr(self, attr, hooks)
        hooks.append(entry)
        self._hooked = True
        return RemovableHandle(hooks, entry)

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_outputs) -> new grad_outputs or None, before the node runs."""
        return self._add_hook("_pre_hooks", fn)

    def register_hook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_inputs, grad_outputs) -> new grad_inputs or None, after the node has run."""
        return self._add_hook("_post_hooks", fn)

    def _register_tensor_hook(self, output_nr: int, fn: Callable) -> RemovableHandle:
        return self._add_hook("_tensor_hooks", (output_nr, fn))

    def retain(self, output_nr: int, ref: Any) -> None:
        """Keep a weakref to a non-leaf output whose .grad is retained."""
        if not isinstance(self._retained, list):
            self._retained = []
        self._hooked = True
        self._retained.append((output_nr, ref))

    def metadata(self) -> dict:
        if "_metadata" not in self.__dict__:
            self._metadata: dict = {}
        return self._metadata

    def __repr__(self) -> str:
        return f"<{self.name} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The node that adds a gradient into a leaf's .grad, running the leaf's tensor hooks
    first and its post-accumulate hooks after."""

    name = "AccumulateGrad"
    formula = "leaf.grad += grad"

    def __init__(self, variable: Tensor) -> None:
        super().__init__()
        self.variable = variable

    @property  # type: ignore[override]
    def output_shape(self) -> tuple:
        return self.variable.shape

    @property  # type: ignore[override]
    def output_dtype(self) -> Any:
        return self.variable.dtype

    def apply(self, grads: tuple) -> tuple:
        self.accumulate(grads[0])
        return ()

    def leaf_hooks(self, grad: Tensor) -> Tensor:
        """The leaf's Tensor.register_hook hooks, in order, each may replace the gradient."""
        for h in self.variable._hooks:
            r = h(grad)
            if r is not None:
                grad = r
        return grad

    def accumulate(self, grad: Tensor, owned: bool = False, record_values: bool = False,
                   create_graph: bool = False, describe: bool = True) -> Accumulation | None:
        """Add grad into the leaf's .grad and describe it (an Accumulation, when `describe`).
        owned: grad's array is fresh and referenced nowhere else, so a first .grad may be it."""
        Tensor = _tensor.Tensor
        t = self.variable
        if t._hooks:
            owned = False  # a hook may keep what it was given
            grad = self.leaf_hooks(grad)
        be = t._backend
        old = t._grad
        before = None if old is None else (be.copy(old._data) if record_values else old._data)
        if old is None:
            if create_graph and grad.requires_grad:
                # a differentiable copy (PyTorch's clone_obey_contract): grad may also reach
                # another leaf (AddBackward0) or be held elsewhere
                new = grad.clone()
            else:
                d, g = t._data, grad._data
                keep = (owned and not record_values and g.dtype == d.dtype and g.shape == d.shape
                        and be.is_contiguous(g))  # the parameter's layout (PyTorch's layout contract)
                new = Tensor._wrap(g if keep else be.copy(be.astype(g, d.dtype)), be)
            t._grad = new
        elif create_graph or old.requires_grad:
            t._grad = old + grad
        else:
            od = old._data
            g = grad._data
            if g.dtype != od.dtype:
                g = be.astype(g, od.dtype)
            if be.is_contiguous(od) and g.shape == od.shape:
                be.elementwise("add", [od, g], od.shape, od.dtype, out=od)  # in place, as PyTorch
            else:
                old._data = be.elementwise("add", [od, g], od.shape, od.dtype)
        for h in t._post_accumulate_hooks:
            h(t)
        if not describe:
            return None
        after = be.copy(t._grad._data) if record_values else t._grad._data
        return Accumulation(t, before, after, grad)


def accumulate_grad_node(t: Tensor) -> AccumulateGrad:
    node = t._accumulate_ref() if t._accumulate_ref is not None else None
    if node is None:
        node = AccumulateGrad(t)
        t._accumulate_ref = weakref.ref(node)
    return node


# ---------------------------------------------------------------- custom Functions
class FunctionCtx:
    """What a custom Function's forward and backward see as ctx."""

    needs_input_grad: tuple = ()
    materialize_grads = True
    _to_save: tuple = ()
    _dirty: tuple = ()
    _non_differentiable: tuple = ()

    def save_for_backward(self, *tensors: Any) -> None:
        self._to_save = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        self._to_save_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        node: Any = self
        if node._released:
            raise RuntimeError(_FREED)
        saved = node._saved or {}
        return tuple(None if v is None else saved[f"{i}"].unpack(node)
                     for i, v in enumerate(node._save_slots))

    def mark_dirty(self, *tensors: Any) -> None:
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node of one call of a custom Function: ctx in forward and in backward."""

    _function: Any = None
    _save_slots: tuple = ()
    _output_meta: tuple = ()  # (shape, dtype, backend) per output, to materialise missing grads
    _input_is_tensor: tuple = ()
    fresh_outputs = False  # backward is user code: it may keep, or share, what it returns

    @property
    def function(self) -> Any:
        """The custom Function class whose apply() made this node (for debuggers)."""
        return self._function

    def apply(self, grads: tuple) -> tuple:
        fn = self._function
        if self.materialize_grads:
            zeros_on = nbgrad.ops.shape.zeros_on
            grads = tuple(zeros_on(*self._output_meta[i]) if g is None else g for i, g in enumerate(grads))
        if getattr(fn.backward, "_once_differentiable", False):
            with no_grad():
                res = fn.backward(self, *grads)
        else:
            res = fn.backward(self, *grads)
        res = res if isinstance(res, tuple) else (res,)
        n_in = len(self._input_is_tensor)
        if len(res) != n_in:
            if len(res) > n_in and all(r is None for r in res[n_in:]):
                res = res[:n_in]
            else:
                raise RuntimeError(f"function {self.name} returned an incorrect number of gradients "
                                   f"(expected {n_in}, got {len(res)})")
        out = []
        for i, (is_t, r) in enumerate(zip(self._input_is_tensor, res)):
            if not is_t:
                if r is not None:
                    raise RuntimeError(f"function {self.name} returned a gradient different than None at "
                                       f"position {i + 1}, but the corresponding forward input was not a Variable")
                continue
            out.append(r)
        if getattr(fn.backward, "_once_differentiable", False) and is_grad_enabled():
            guard = nbgrad.ops.shape.once_differentiable_guard
            out = [None if r is None else guard(r, self.name) for r in out]
        return tuple(out)


def once_differentiable(fn: Callable) -> Callable:
    """Mark a custom Function's backward as not differentiable: it runs without recording, and
    differentiating its result raises."""
    fn._once_differentiable = True  # type: ignore[attr-defined]
    return fn


class _FunctionMeta(type):
    def __init__(cls, name: str, bases: tuple, ns: dict) -> None:
        super().__init__(name, bases, ns)
        cls._backward_cls = type(f"{name}Backward", (BackwardCFunction,), {
            "name": f"{name}Backward", "_function": cls, "formula": f"{name}.backward(ctx, *grads)"})


class Function(metaclass=_FunctionMeta):
    """A custom differentiable op (PyTorch's torch.autograd.Function): subclass it with static
    forward(ctx, *args) and backward(ctx, *grads), and call it with Function.apply(*args)."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        return _SingleLevel

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        return _custom.apply_function(cls, args, kwargs)


class _SingleLevel:  # the default setup_context: forward takes ctx itself
    pass


# _custom imports Function and the helpers above: imported once they exist
from . import _custom  # noqa: E402
