"""The backward engine, as a sequence of steps.

`BackwardPass(...)` walks the graph from the roots; each `step()` runs exactly
one node (a grad_fn or an AccumulateGrad) and returns a `Step` record.
`Tensor.backward()` and `autograd.grad()` drain it with run() (the same step()s,
keeping no records); nbgrad-tui drives the same
object one step at a time, so the debugger shows exactly what backward does."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from .anomaly import check_outputs, is_anomaly_enabled
from .function import AccumulateGrad, Node

if TYPE_CHECKING:
    from ..tensor import Tensor


@dataclass(slots=True)
class Accumulation:
    """One gradient added into a leaf's .grad (or a retained non-leaf's)."""

    tensor: Tensor
    before: Any  # array copy of .grad before, or None (only when record_values)
    after: Any  # array copy of .grad after (only when record_values)
    delta: Any  # the gradient that was added


@dataclass(slots=True)
class Step:
    index: int
    node: Node
    grads_in: tuple[Any, ...]  # gradient arriving at the node's output
    grads_out: tuple[Any, ...]  # one per node.next_functions entry (None where no grad flows)
    accumulations: list[Accumulation] = field(default_factory=list)


def _fresh_uses(g: Any, incoming: Any, outs: tuple, node: Node, incoming_owned: bool, backend: Any) -> int:
    """How many of a node's outputs are `g`, if g is a fresh array that nothing outside the
    engine holds; 0 otherwise. Fresh: made by the node (see Backend.is_private), or the node's
    own incoming gradient (or a view of it, e.g. a transpose) when that was fresh; never one
    of the node's saved values."""
    if g is incoming:
        if not incoming_owned:
            return 0
    elif not backend.is_private(g, incoming if incoming_owned else None):
        return 0
    if node._saved:
        for sv in node._saved.values():
            if g is sv.data:
                return 0
    uses = 0
    for o in outs:
        if o is g:
            uses += 1
    return uses


def _hooked(g: Any, nexts: tuple, outs: tuple) -> bool:
    """Whether a node that receives g has hooks (which may keep it)."""
    for (n, _), o in zip(nexts, outs):
        if o is g and n is not None and n._pre_hooks:
            return True
    return False


def _add(backend: Any, a: Any, b: Any) -> Any:
    if a is None:
        return b
    return backend.elementwise("add", [a, b], a.shape, a.dtype)


_RUNNING: list[BackwardPass] = []  # the passes stepping now, innermost last (a hook may run another)


def queue_callback(fn: Callable[[], None]) -> None:
    """Run fn() once the backward pass that is running now has run its last node, before
    backward() returns (PyTorch's Variable._execution_engine.queue_callback). Only from inside a
    pass (a hook); fn may queue more callbacks."""
    if not _RUNNING:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _RUNNING[-1].final_callbacks.append(fn)


class BackwardPass:
    """One backward pass over the graph below `roots`.

    inputs: when given (autograd.grad), gradients for these tensors are
    captured in `captured` instead of being accumulated into .grad.
    """

    def __init__(
        self,
        roots: Sequence[Tensor],
        grads: Sequence[Any],
        retain_graph: bool = False,
        inputs: Sequence[Tensor] | None = None,
        record_values: bool = False,
    ) -> None:
        self.retain_graph = retain_graph
        self.record_values = record_values
        self.check_nan = is_anomaly_enabled()
        self.steps_done: list[Step] = []
        self.keep_steps = True  # step() records a Step in steps_done
        self.final_callbacks: list[Callable[[], None]] = []  # see queue_callback
        self.buffers: dict[Node, Any] = {}
        # nodes whose buffer is a fresh array nothing else refers to: a leaf may keep it as
        # its .grad instead of a copy (see _fresh_uses)
        self.owned: set[Node] = set()
        self.backend = roots[0]._backend
        self.capture: dict[int, int] = {}
        self.captured: list[Any] = []
        self.capturing = inputs is not None
        if inputs is not None:
            self.captured = [None] * len(inputs)
            for i, t in enumerate(inputs):
                node = t.grad_fn if t.grad_fn is not None else t._get_accumulate()
                self.capture[id(node)] = i
        root_nodes: list[Node] = []
        for t, g in zip(roots, grads):
            node = t.grad_fn if t.grad_fn is not None else t._get_accumulate()
            if node is None:
                continue
            node.check_alive()
            self.buffers[node] = _add(self.backend, self.buffers.get(node), g)
            root_nodes.append(node)
        # every node reachable, and how many edges point at each
        self.dependencies: dict[Node, int] = {}
        self.nodes: list[Node] = []
        seen: set[int] = set()
        stack = list(root_nodes)
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            self.nodes.append(n)
            for nxt, _ in n.next_functions:
                if nxt is None:
                    continue
                self.dependencies[nxt] = self.dependencies.get(nxt, 0) + 1
                stack.append(nxt)
        self._ready: list[tuple[int, int, Node]] = []
        for n in dict.fromkeys(root_nodes):
            if self.dependencies.get(n, 0) == 0:
                heapq.heappush(self._ready, (-n.sequence_nr, id(n), n))
        self.total = len(self.nodes)

    # --- state the debugger reads ---
    def is_done(self, node: Node) -> bool:
        return node in self._done_set or (not self.keep_steps and self.finished)

    @property
    def _done_set(self) -> set[Node]:
        return {s.node for s in self.steps_done}

    def ready(self) -> list[Node]:
        """The nodes that can run now, in the order they will run."""
        return [n for _, _, n in sorted(self._ready)]

    def next_node(self) -> Node | None:
        """The node the next step() runs (no sort: cheap on wide graphs)."""
        return self._ready[0][2] if self._ready else None

    def ready_ids(self) -> set[int]:
        """id() of every ready node, unordered (no sort)."""
        return {id(e[2]) for e in self._ready}

    @property
    def finished(self) -> bool:
        return not self._ready

    def __iter__(self) -> Iterator[Step]:
        while self._ready:
            yield self.step()

    def run(self) -> None:
        """Drain the pass: the same step() per node, without keeping Step records (backward()
        reads none; the debugger steps one at a time and keeps them all)."""
        self.keep_steps = False
        _RUNNING.append(self)
        try:
            while self._ready:
                self._step()
            self._run_final_callbacks()
        finally:
            _RUNNING.pop()

    def _run_final_callbacks(self) -> None:
        while self.final_callbacks:
            self.final_callbacks.pop(0)()

    # --- one node ---
    def step(self) -> Step | None:
        """Run the next node; after the last one, the queued final callbacks."""
        _RUNNING.append(self)
        try:
            step = self._step()
            if not self._ready:
                self._run_final_callbacks()
        finally:
            _RUNNING.pop()
        return step

    def _step(self) -> Step | None:
        if not self._ready:
            raise StopIteration("the backward pass has finished")
        node = heapq.heappop(self._ready)[2]
        grad = self.buffers.pop(node)
        owned = node in self.owned
        if owned:
            self.owned.discard(node)
        for hook in node._pre_hooks:
            r = hook(grad)
            if r is not None:
                grad, owned = (r._data if hasattr(r, "_data") else r), False
        for ref in node._retained:
            t = ref()
            if t is not None:
                t._set_retained_grad(grad)
        step = Step(len(self.steps_done), node, (grad,), ()) if self.keep_steps else None
        if self.capture and id(node) in self.capture:
            if isinstance(node, AccumulateGrad):  # a leaf's tensor hooks run before capture too
                for h in node.variable._hooks:
                    r = h(grad)
                    if r is not None:
                        grad = r
            self.captured[self.capture[id(node)]] = grad
            if step is not None:
                step.grads_out = tuple(None for _ in node.next_functions)
            self._finish(node, step)
            return step
        if isinstance(node, AccumulateGrad):
            if self.capturing:  # autograd.grad(..., inputs): no leaf's .grad changes
                self._finish(node, step)
                return step
            acc = node.variable._accumulate(grad, self.record_values, owned)
            for h in node.variable._post_accumulate_hooks:
                h(node.variable)
            if step is not None:
                step.accumulations.append(acc)
                self.steps_done.append(step)
            return step
        if node._released:
            node.check_alive()
        nexts, shapes = node.next_functions, node.input_shapes
        raw = node.backward(grad)
        outs = []
        for i, g in enumerate(raw):
            if g is None or i >= len(nexts) or nexts[i][0] is None:
                outs.append(None)
            elif g.__class__ is np.ndarray and g.shape == shapes[i][0] and g.dtype == shapes[i][1]:
                outs.append(g)
            else:
                outs.append(self._fit(node, i, g))
        outs = tuple(outs)
        if self.check_nan:
            check_outputs(node, outs, self.backend)
        if step is not None:
            step.grads_out = outs
        buffers, deps = self.buffers, self.dependencies
        granted: set[int] = set()  # fresh arrays given to several inputs, already owned by one leaf
        for (nxt, _), g in zip(nexts, outs):
            if nxt is None:
                continue
            if g is not None:
                prev = buffers.get(nxt)
                buffers[nxt] = g if prev is None else _add(self.backend, prev, g)
                if prev is None:  # a sum (below) is always a fresh array
                    uses = _fresh_uses(g, grad, outs, node, owned, self.backend)
                    if uses > 1:
                        # one array to several inputs (AddBackward0): one leaf may keep it, as
                        # the other nodes only read it
                        if (not isinstance(nxt, AccumulateGrad) or id(g) in granted
                                or _hooked(g, nexts, outs)):
                            uses = 0
                        else:
                            granted.add(id(g))
                if prev is not None or uses:
                    self.owned.add(nxt)
                else:
                    self.owned.discard(nxt)
            left = deps[nxt] - 1
            deps[nxt] = left
            if left == 0:
                if nxt in buffers:
                    heapq.heappush(self._ready, (-nxt.sequence_nr, id(nxt), nxt))
                else:
                    self._skip(nxt)
        self._finish(node, step)
        return step

    def _skip(self, node: Node) -> None:
        """A node all of whose incoming gradients were None: propagate the count."""
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            self.dependencies[nxt] -= 1
            if self.dependencies[nxt] == 0:
                if nxt in self.buffers:
                    heapq.heappush(self._ready, (-nxt.sequence_nr, id(nxt), nxt))
                else:
                    self._skip(nxt)

    def _fit(self, node: Node, i: int, g: Any) -> Any:
        """Reduce a broadcast gradient to its input's shape and dtype."""
        if g is None or i >= len(node.next_functions) or node.next_functions[i][0] is None:
            return None
        shape, dt = node.input_shapes[i]
        if g.shape != shape:
            g = self.backend.sum_to(g, shape)
        if g.dtype != dt:
            g = g.astype(dt)
        return g

    def _finish(self, node: Node, step: Step | None) -> None:
        if not self.retain_graph and not isinstance(node, AccumulateGrad):
            node.release()
        if step is not None:
            self.steps_done.append(step)
