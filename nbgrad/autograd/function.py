"""Graph nodes. A Function's forward runs when an op is called; its backward
is what the engine runs. Nodes hold arrays (never Tensors of their own
outputs), so a graph nobody references is freed without a cycle collector."""

from __future__ import annotations

import os
import sys
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..tensor import Tensor

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_seq = [0]


class Version:
    """A version counter shared by a tensor and its views."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class SavedTensor:
    __slots__ = ("data", "version", "saved_version", "src")

    def __init__(self, t: Tensor, src: str | None) -> None:
        self.data = t._data
        self.version = t._version
        self.saved_version = t._version.value
        self.src = src  # name of the node that made the tensor; None for a leaf

    @property
    def origin(self) -> str:
        return "a leaf tensor" if self.src is None else f"output 0 of {self.src}"

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype_name(self) -> str:
        return str(self.data.dtype)

    def unpack(self) -> Any:
        if self.version.value != self.saved_version:
            kind = {"float32": "FloatTensor", "float64": "DoubleTensor"}.get(self.dtype_name, "Tensor")
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{kind} {list(self.shape)}], which is {self.origin}, is at "
                f"version {self.version.value}; expected version {self.saved_version} instead. "
                "Hint: the operation that modified it ran after the forward pass; clone the tensor "
                "before modifying it in place."
            )
        return self.data


def _user_site() -> tuple[str, int, str] | None:
    """First stack frame outside the nbgrad package: where the user called the op."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    if f is None:
        return None
    return (f.f_code.co_filename, f.f_lineno, f.f_code.co_name)


class Node:
    """Base of every grad_fn. Subclasses set `name` and implement backward(grad)."""

    name = "Node"
    formula = ""
    # defaults read through the class until first set (a node is made on every recorded op)
    next_functions: tuple[tuple[Node | None, int], ...] = ()
    _released = False
    _pre_hooks: tuple | list = ()  # fn(grad) -> grad | None
    _retained: tuple | list = ()  # weakrefs to non-leaf tensors with retain_grad()
    site: tuple[str, int, str] | None = None
    stack: list | None = None  # forward traceback, recorded in anomaly mode
    input_shapes: tuple = ()
    output_shape: tuple = ()
    output_dtype: Any = None

    def __init__(self) -> None:
        _seq[0] += 1
        self.sequence_nr = _seq[0]
        self._saved: dict[str, SavedTensor] | None = {}

    # --- saving for backward ---
    def save(*args: Any, **tensors: Tensor) -> None:
        (self,) = args
        self.save_all(tensors)

    def save_all(self, tensors: dict[str, Tensor]) -> None:
        saved = self._saved
        assert saved is not None
        for k, t in tensors.items():
            fn = t.grad_fn
            saved[k] = SavedTensor(t, None if fn is None else fn.name)

    def saved(self, key: str) -> Any:
        if self._saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or if "
                "you need to access saved tensors after calling backward."
            )
        return self._saved[key].unpack()

    def saved_arrays(self) -> dict[str, Any]:
        """Saved values for inspection (the debugger); empty once released."""
        return {} if self._saved is None else {k: s.data for k, s in self._saved.items()}

    def release(self) -> None:
        self._saved = None
        self._released = True

    def check_alive(self) -> None:
        if self._released:
            self.saved("")  # raises the PyTorch message

    # --- the local derivative ---
    def backward(self, grad: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    def needs(self, i: int) -> bool:
        """Whether input i takes a gradient (PyTorch's needs_input_grad): backward computes only those."""
        return i < len(self.next_functions) and self.next_functions[i][0] is not None

    def register_hook(self, fn: Any) -> None:
        if not isinstance(self._pre_hooks, list):
            self._pre_hooks = []
        self._pre_hooks.append(fn)

    def retain(self, ref: Any) -> None:
        """Keep a weakref to a non-leaf output whose .grad is retained."""
        if not isinstance(self._retained, list):
            self._retained = []
        self._retained.append(ref)

    def __repr__(self) -> str:
        return f"<{self.name} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The node that adds a gradient into a leaf's .grad."""

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

    def backward(self, grad: Any) -> tuple[Any, ...]:
        return ()


def accumulate_grad_node(t: Tensor) -> AccumulateGrad:
    node = t._accumulate_ref() if t._accumulate_ref is not None else None
    if node is None:
        node = AccumulateGrad(t)
        t._accumulate_ref = weakref.ref(node)
    return node
