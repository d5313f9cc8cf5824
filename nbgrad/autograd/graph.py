"""Public hooks into the backward machinery (PyTorch's torch.autograd.graph, plus the
interceptor a debugger uses to take over backward() calls without patching anything)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import nbgrad  # partially initialized here (tensor.py imports autograd): read at call time

_INTERCEPTORS: list[Callable[[BackwardCall], None]] = []
_ACTIVE: set[int] = set()  # id() of the interceptors handling a call now


@dataclass
class BackwardCall:
    """One call of Tensor.backward(), autograd.backward() or a scalar Value's backward().

    kind: "tensor" or "scalar". An interceptor either runs it (`run()`), steps it itself
    (`make_pass()` returns the pass that run() would drain), or both (step some, then run the
    rest with `pass_.run()`). A call that no interceptor ran is run as usual."""

    kind: str
    roots: list
    grad_tensors: list
    retain_graph: bool | None = None
    create_graph: bool = False
    inputs: Any = None
    handled: bool = False

    def make_pass(self, record_values: bool = False) -> Any:
        """The backward pass this call runs, set up and not yet stepped."""
        self.handled = True
        if self.kind == "scalar":
            from ..scalar.steps import ScalarBackwardPass  # lazy: nbgrad.scalar loads numba's JIT (~130 ms)

            return ScalarBackwardPass(self.roots[0])
        return nbgrad.autograd.backward_pass(self.roots, self.grad_tensors, self.retain_graph, self.inputs,
                                             record_values=record_values, create_graph=self.create_graph, accumulate=True)

    def run(self) -> None:
        """Run the call as it would have run without interceptors."""
        self.handled = True
        if self.kind == "scalar":
            root = self.roots[0]
            root._t.backward(root._i)
            return
        self.make_pass().run()


class RemovableHandle:
    """What a register_* function returns: handle.remove() unregisters the hook."""

    def __init__(self, hooks: list, fn: Any) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        for i, h in enumerate(self._hooks):
            if h is self._fn:
                del self._hooks[i]
                return

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def register_backward_interceptor(fn: Callable[[BackwardCall], None]) -> RemovableHandle:
    """Call fn(call) instead of running each backward call; the last registered is asked
    first. fn owns the call: it runs it (call.run()), or steps call.make_pass() itself."""
    _INTERCEPTORS.append(fn)
    return RemovableHandle(_INTERCEPTORS, fn)


def dispatch_backward(call: BackwardCall) -> None:
    """Run a backward call through the interceptors, if any, else directly. The last registered
    interceptor that is not already handling a call is asked (so the backward calls an interceptor
    makes itself go to the ones below it); it may remove itself while it handles the call."""
    fn = next((f for f in reversed(_INTERCEPTORS) if id(f) not in _ACTIVE), None)
    if fn is not None:
        _ACTIVE.add(id(fn))
        try:
            fn(call)
        finally:
            _ACTIVE.discard(id(fn))
        if call.handled:
            return
    call.run()


class _Keep:
    on = False  # record() saves every input of every node (see keep_inputs)


class keep_inputs:  # noqa: N801
    """Context manager: the nodes recorded inside keep every tensor input (not only those their
    formulas read), so that autograd.check_node can re-run them. Costs the memory of the inputs."""

    def __enter__(self) -> keep_inputs:
        self._prev, _Keep.on = _Keep.on, True
        return self

    def __exit__(self, *exc: Any) -> None:
        _Keep.on = self._prev


def next_sequence_nr() -> int:
    """The sequence_nr the next recorded node will get (nodes made between two calls of this
    were made in between: what a debugger uses to group nodes by the module call that made them)."""
    return nbgrad.autograd.function._seq[0] + 1


class _HookState:
    stack: list = []  # (pack, unpack) pairs, innermost last; a str entry: hooks disabled with that message


def saved_tensors_hooks_top() -> tuple | None:
    """The innermost (pack_hook, unpack_hook) pair in effect, or None."""
    st = _HookState.stack
    if not st:
        return None
    top = st[-1]
    return None if isinstance(top, str) else top


class saved_tensors_hooks:  # noqa: N801
    """Context manager: every tensor saved for backward inside it is stored as pack_hook(tensor)
    and rebuilt with unpack_hook(packed) when the backward pass needs it (PyTorch's API)."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if _HookState.stack and isinstance(_HookState.stack[-1], str):
            raise RuntimeError(_HookState.stack[-1])
        _HookState.stack = [*_HookState.stack, (self.pack_hook, self.unpack_hook)]
        return self

    def __exit__(self, *exc: Any) -> None:
        _HookState.stack = _HookState.stack[:-1]


class save_on_cpu(saved_tensors_hooks):  # noqa: N801
    """Saved tensors are kept in host memory and copied back to their device for backward."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(t: Any) -> tuple:
            return (t.device, t.detach().cpu().clone())

        def unpack(packed: tuple) -> Any:
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:  # noqa: N801
    """Context manager: using saved_tensors_hooks inside it raises RuntimeError(error_message)."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        _HookState.stack = [*_HookState.stack, self.error_message]

    def __exit__(self, *exc: Any) -> None:
        _HookState.stack = _HookState.stack[:-1]


def saved_tensor_sources(node: Any) -> dict[str, str | None]:
    """For each value `node` saved for backward (the keys of node.saved_arrays()): the name of the
    node that made it, or None for a leaf or a constant. Empty once the saved values are freed."""
    saved = getattr(node, "_saved", None)
    if not saved:
        return {}
    return {k: node.name if s.is_output else (s.grad_fn.name if s.grad_fn is not None else None)
            for k, s in saved.items()}
