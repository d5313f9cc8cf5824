"""The backward engine, as a sequence of steps.

`BackwardPass(...)` walks the graph from the roots; each `step()` runs exactly one node (a
grad_fn or an AccumulateGrad) and returns a `Step` record. `Tensor.backward()` and
`autograd.grad()` drain it with run() (the same step()s, keeping no records); nbgrad-tui
drives the same object one step at a time (and can `undo()` a step), so the debugger shows
exactly what backward does. Gradients are Tensors; with create_graph=True the nodes' formulas
run in grad mode and record a graph of their own."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from .. import _dtype
from . import grad_mode
from . import anomaly as _anomaly
from .anomaly import check_outputs
from .function import Accumulation, AccumulateGrad, Node

if TYPE_CHECKING:
    from ..tensor import Tensor


@dataclass(slots=True)
class Step:
    index: int
    node: Node
    grads_in: tuple[Any, ...]  # gradients arriving at the node's outputs (Tensors or None)
    grads_out: tuple[Any, ...]  # one per node.next_functions entry (None where no grad flows)
    accumulations: list[Accumulation] = field(default_factory=list)


class _Current:
    node: Node | None = None  # the node whose backward is running with create_graph (see record())


def current_backward_node() -> Node | None:
    """The node whose formula is running in a create_graph backward, else None."""
    return _Current.node


class BufferReuse:
    """Which pending gradients are fresh arrays that nothing outside the engine refers to, so
    that a leaf may keep one as its .grad without a copy (PyTorch's AccumulateGrad steals a
    gradient whose use count is 1). A node's output is fresh when the node made it (the
    backend's is_private), or when it is the node's own fresh incoming gradient (or a dense
    view of it), never one of its saved values nor what a custom Function's backward returned
    (user code may keep it); an array given to several inputs at once (AddBackward0) may be
    kept by one leaf only. Nothing a hook has seen is fresh (the engine clears `owned`)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.owned: set[Node] = set()

    def fresh(self, nxt: Node, g: Any, incoming: Any, outs: tuple, nexts: tuple, node: Node,
              incoming_owned: bool, granted: set) -> bool:
        """Whether g, the first gradient to reach nxt from node, is fresh (see the class)."""
        if not node.fresh_outputs:
            return False
        if g is incoming:
            if not incoming_owned:
                return False
        elif not self.backend.is_private(g._data, incoming._data if incoming_owned and incoming is not None
                                         else None):
            return False
        saved = node._saved
        if saved:
            d = g._data
            for sv in saved.values():
                if d is sv.data:
                    return False
        uses = 0
        for o in outs:
            if o is g:
                uses += 1
        if uses > 1:
            # one array to several inputs: one leaf may keep it, as the other nodes only read it
            if not isinstance(nxt, AccumulateGrad) or id(g) in granted or _hooked(g, nexts, outs):
                return False
            granted.add(id(g))
        return uses > 0

    def mark(self, nxt: Node, fresh: bool) -> None:
        if fresh:
            self.owned.add(nxt)
        else:
            self.owned.discard(nxt)


def _hooked(g: Any, nexts: tuple, outs: tuple) -> bool:
    """Whether a node that receives g has hooks (which may keep it)."""
    for (n, _), o in zip(nexts, outs):
        if o is g and n is not None and (n._pre_hooks or n._tensor_hooks
                                         or (isinstance(n, AccumulateGrad) and n.variable._hooks)):
            return True
    return False


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a + b


_MISSING = object()


def _fit_one(node: Node, i: int, g: Any, shape: tuple, dt: Any) -> Any:
    """A gradient reduced to its input's shape (sum over broadcast dims) and cast to its dtype."""
    d = g._data
    if d.shape != shape:
        try:
            g = g.sum_to_size(shape)
        except RuntimeError:
            raise RuntimeError(
                f"Function {node.name} returned an invalid gradient at index {i} - got {list(d.shape)} "
                f"but expected shape compatible with {list(shape)}") from None
    if g._data.dtype != dt:
        g = _cast(g, dt)
    return g


_RUNNING: list[BackwardPass] = []  # the passes stepping now, innermost last (a hook may run another)


def queue_callback(fn: Callable[[], None]) -> None:
    """Run fn() once the backward pass that is running now has run its last node, before
    backward() returns (PyTorch's Variable._execution_engine.queue_callback). Only from inside a
    pass (a hook); fn may queue more callbacks."""
    if not _RUNNING:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _RUNNING[-1].final_callbacks.append(fn)


class BackwardPass:
    """One backward pass over the graph below `roots` (root gradients: Tensors).

    inputs: when given, only the part of the graph that leads to them runs; with capture=True
    (autograd.grad) their gradients are returned in `captured` and no .grad changes; else
    (backward(inputs=...)) they are accumulated into the inputs' .grad.
    create_graph: the formulas record their own graph (higher-order gradients).
    undoable: keep what undo() needs to take each step back (the debugger)."""

    # without inputs, these stay the (never modified) class defaults
    capture: dict[tuple[int, int], int] = {}  # (id(node), output_nr) -> index into inputs
    captured: list[Any] = []
    capturing = False
    accumulate_into: set[int] | None = None  # backward(inputs=...): id() of the leaves' nodes to fill
    _capture_targets: dict[int, Tensor] = {}  # backward(inputs=...): the non-leaf inputs

    def __init__(
        self,
        roots: Sequence[Tensor],
        grads: Sequence[Any],
        retain_graph: bool = False,
        inputs: Sequence[Tensor] | None = None,
        record_values: bool = False,
        create_graph: bool = False,
        capture: bool = True,
        undoable: bool | None = None,
    ) -> None:
        self.retain_graph = retain_graph or create_graph
        self.create_graph = create_graph
        self.record_values = record_values
        self.check_nan = _anomaly._state.enabled
        self.steps_done: list[Step] = []
        self.keep_steps = True  # step() records a Step in steps_done
        self.final_callbacks: list[Callable[[], None]] = []  # see queue_callback
        self.buffers: dict[Node, Any] = {}
        self.backend = roots[0]._backend
        self.reuse = BufferReuse(self.backend)
        self._journal: list[list[Callable[[], None]]] | None = [] if (record_values if undoable is None
                                                                      else undoable) else None
        input_nodes: list[Node] = []
        if inputs is not None:
            self.capturing = capture
            self.capture, self._capture_targets = {}, {}
            self.captured = [None] * len(inputs)
            if not capture:
                self.accumulate_into = set()
            for i, t in enumerate(inputs):
                node = t.grad_fn if t.grad_fn is not None else t._get_accumulate()
                if node is None:
                    continue
                input_nodes.append(node)
                if capture:
                    self.capture[(id(node), t._output_nr)] = i
                elif t.grad_fn is not None:  # a non-leaf input: its .grad is filled like retain_grad's
                    self.capture[(id(node), t._output_nr)] = i
                    self._capture_targets[i] = t
                else:
                    self.accumulate_into.add(id(node))
        root_nodes: list[Node] = []
        for t, g in zip(roots, grads):
            node = t.grad_fn if t.grad_fn is not None else t._get_accumulate()
            if node is None:
                continue
            self._add_to_buffer(node, t._output_nr, g)
            root_nodes.append(node)
        # every node reachable, and how many edges point at each
        nodes: list[Node] = []
        deps: dict[Node, int] = {}
        seen: set[int] = set()
        stack = list(root_nodes)
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            nodes.append(n)
            for nxt, _ in n.next_functions:
                if nxt is not None:
                    deps[nxt] = deps.get(nxt, 0) + 1
                    if id(nxt) not in seen:
                        stack.append(nxt)
        self.needed: set[Node] | None = None
        if inputs is not None:  # only what leads to the inputs runs
            needed = self.needed = _leading_to(nodes, input_nodes)
            nodes = [n for n in nodes if n in needed]
            deps = {}
            for n in nodes:
                for nxt, _ in n.next_functions:
                    if nxt is not None and nxt in needed:
                        deps[nxt] = deps.get(nxt, 0) + 1
        needed = self.needed
        self.nodes = nodes
        self.dependencies = deps
        self._ready: list[tuple[int, int, Node]] = []
        for n in dict.fromkeys(root_nodes):
            if self.dependencies.get(n, 0) == 0 and (needed is None or n in needed):
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
            yield self.step()  # type: ignore[misc]

    def queue_callback(self, fn: Callable[[], None]) -> None:
        """Run fn() once this pass has run its last node (the module's queue_callback, for a pass
        that is not running now)."""
        self.final_callbacks.append(fn)

    def run(self) -> None:
        """Drain the pass: the same step() per node, without keeping Step records."""
        self.keep_steps = False
        _RUNNING.append(self)
        try:
            if (self._journal is None and not self.capture and not self.create_graph and not self.check_nan
                    and self.accumulate_into is None):
                self._drain()
            while self._ready:
                self._step()
            self._run_final_callbacks()
        finally:
            _RUNNING.pop()

    def _drain(self) -> None:
        """run()'s loop for a plain pass (no journal, capture, create_graph or anomaly check):
        what _step does for a node without hooks, with the per-step set-up hoisted out of the
        loop; a node with hooks, or with several outputs, goes through _step itself."""
        ready, buffers, deps, owned_set = self._ready, self.buffers, self.dependencies, self.reuse.owned
        mode = grad_mode._state
        prev_mode, mode.enabled = mode.enabled, False
        pop, push, release, record_values = heapq.heappop, heapq.heappush, not self.retain_graph, self.record_values
        fresh = self.reuse.fresh
        try:
            while ready:
                node = ready[0][2]
                if node._hooked or node.num_outputs != 1:
                    self._step()
                    continue
                pop(ready)
                g = buffers.pop(node)
                owned = node in owned_set
                if owned:
                    owned_set.discard(node)
                if isinstance(node, AccumulateGrad):
                    node.accumulate(g, owned, record_values, False, False)
                    continue
                outs = self._fit(node, node.apply((g,)))
                # _distribute without a journal, an inputs= filter or create_graph
                nexts, granted = node.next_functions, set()
                for (nxt, nr), r in zip(nexts, outs):
                    if nxt is None:
                        continue
                    if r is not None:
                        if nxt.num_outputs == 1 and nxt not in buffers:
                            buffers[nxt] = r
                            if fresh(nxt, r, g, outs, nexts, node, owned, granted):
                                owned_set.add(nxt)
                            else:
                                owned_set.discard(nxt)
                        else:
                            self._add_to_buffer(nxt, nr, r)
                            owned_set.add(nxt)
                    left = deps[nxt] - 1
                    if not left and nxt not in buffers:
                        self._release_edge(nxt)
                        continue
                    deps[nxt] = left
                    if not left:
                        push(ready, (-nxt.sequence_nr, id(nxt), nxt))
                if release and node._saved:
                    node._saved, node._released = None, True
        finally:
            mode.enabled = prev_mode

    def _run_final_callbacks(self) -> None:
        while self.final_callbacks:
            self.final_callbacks.pop(0)()

    # --- buffers ---
    def _add_to_buffer(self, node: Node, nr: int, g: Any) -> Any:
        """Add g to the pending gradient of node's output nr; returns the previous buffer entry."""
        prev = self.buffers.get(node, _MISSING)
        if node.num_outputs == 1:
            self.buffers[node] = g if prev is _MISSING else _add(prev, g)
        else:
            lst = [None] * node.num_outputs if prev is _MISSING else list(prev)
            lst[nr] = _add(lst[nr], g)
            self.buffers[node] = lst
        return prev

    def _log(self, fn: Callable[[], None]) -> None:
        if self._journal is not None:
            self._journal[-1].append(fn)

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
        journal = self._journal
        if journal is not None:
            journal.append([])
            entry = self.buffers[node]
            was_owned = node in self.reuse.owned
            self._log(lambda: self._restore_popped(node, entry, was_owned))
        buf = self.buffers.pop(node)
        gin = (buf,) if node.num_outputs == 1 else tuple(buf)
        owned_set = self.reuse.owned
        owned = node in owned_set
        if owned:
            owned_set.discard(node)
        mode = grad_mode._state
        prev_mode = mode.enabled
        mode.enabled = self.create_graph
        prev_node = _Current.node
        try:
            if node._hooked:
                gin, owned = self._pre(node, gin, owned)
            step = Step(len(self.steps_done), node, gin, ()) if self.keep_steps else None
            if self.capture and self._captures(node, gin, step):
                return step
            if isinstance(node, AccumulateGrad):
                if not self.capturing and (self.accumulate_into is None or id(node) in self.accumulate_into):
                    if journal is not None:
                        self._journal_grad(node.variable)
                    acc = node.accumulate(gin[0], owned and not self.create_graph, self.record_values,
                                          self.create_graph, step is not None)
                    if step is not None:
                        step.accumulations.append(acc)
                self._finish(node, step)
                return step
            if self.create_graph:
                _Current.node = node
            outs = self._fit(node, node.apply(gin))
        finally:
            _Current.node = prev_node
            mode.enabled = prev_mode
        if self.check_nan:
            check_outputs(node, tuple(None if o is None else o._data for o in outs), self.backend)
        exposed = False  # a post hook has seen the node's outputs (and may keep them)
        if node._hooked and node._post_hooks:
            exposed, owned = True, False
            for h in node._post_hooks:
                r = h(outs, gin)
                if r is not None:
                    outs = tuple(r)
        if step is not None:
            step.grads_out = outs
        self._distribute(node, gin[0] if node.num_outputs == 1 else None, owned, outs, exposed)
        self._finish(node, step)
        return step

    def _pre(self, node: Node, gin: tuple, owned: bool) -> tuple[tuple, bool]:
        """Tensor hooks on the node's outputs, then retain_grad, then the node's pre-hooks."""
        if node._tensor_hooks:
            gl = list(gin)
            for nr, fn in node._tensor_hooks:
                if gl[nr] is not None:
                    r = fn(gl[nr])
                    owned = False  # a hook may keep what it was given
                    if r is not None:
                        gl[nr] = r
            gin = tuple(gl)
        if node._retained:
            for nr, ref in node._retained:
                t = ref()
                if t is not None and gin[nr] is not None:
                    self._retained_grad(t, gin[nr])
        if node._pre_hooks:
            for fn in node._pre_hooks:
                r = fn(gin)
                owned = False
                if r is not None:
                    gin = tuple(r)
        return gin, owned

    def _retained_grad(self, t: Tensor, g: Any) -> None:
        if self._journal is not None:
            old = t._grad
            old_data = None if old is None else old._data
            self._log(lambda: _restore_grad(t, old, old_data))
        t._set_retained_grad(g, self.create_graph)

    def _captures(self, node: Node, gin: tuple, step: Step | None) -> bool:
        """Capture the gradients of node's outputs that are inputs of the pass; True when the
        node need not run (nothing else needs it)."""
        hit = False
        for nr in range(node.num_outputs):
            i = self.capture.get((id(node), nr))
            if i is None or gin[nr] is None:
                continue
            hit = True
            g = gin[nr]
            if isinstance(node, AccumulateGrad):
                g = node.leaf_hooks(g)  # a leaf's tensor hooks run before capture too
            if self.accumulate_into is not None:  # backward(inputs=[non-leaf]): fill its .grad
                self._retained_grad(self._capture_targets[i], g)
                continue
            prev = self.captured[i]
            self.captured[i] = g if prev is None else _add(prev, g)
            if self._journal is not None:
                self._log(lambda i=i, prev=prev: self.captured.__setitem__(i, prev))
        if not hit or isinstance(node, AccumulateGrad):
            return False
        if any(nxt is not None and self.needed is not None and nxt in self.needed
               for nxt, _ in node.next_functions):
            return False  # another input lies below this one
        if step is not None:
            step.grads_out = tuple(None for _ in node.next_functions)
        self._distribute(node, None, False, tuple(None for _ in node.next_functions))
        self._finish(node, step)
        return True

    def _journal_grad(self, t: Tensor) -> None:
        old = t._grad
        old_data = None if old is None else self.backend.copy(old._data)
        self._log(lambda: _restore_grad(t, old, old_data))

    def _fit(self, node: Node, raw: tuple) -> tuple:
        """The node's input gradients, each reduced to its input's shape and cast to its dtype
        (PyTorch's validate_outputs), None where no gradient flows."""
        nexts = node.next_functions
        if len(raw) != len(nexts):
            raise RuntimeError(f"function {node.name} returned an incorrect number of gradients "
                               f"(expected {len(nexts)}, got {len(raw)})")
        outs = []
        for (nxt, _), (shape, dt), g in zip(nexts, node.input_shapes, raw):
            if g is None or nxt is None:
                outs.append(None)
                continue
            d = g._data
            if d.shape != shape or d.dtype != dt:
                g = _fit_one(node, len(outs), g, shape, dt)
            outs.append(g)
        return tuple(outs)

    def _distribute(self, node: Node, incoming: Any, owned: bool, outs: tuple, exposed: bool = False) -> None:
        buffers, deps, needed, reuse = self.buffers, self.dependencies, self.needed, self.reuse
        owned_set = reuse.owned
        journal = self._journal
        nexts = node.next_functions
        granted: set[int] = set()
        for (nxt, nr), g in zip(nexts, outs):
            if nxt is None or (needed is not None and nxt not in needed):
                continue
            if g is not None:
                if journal is not None:
                    was_owned = nxt in owned_set
                if nxt.num_outputs == 1 and nxt not in buffers:  # the first gradient to reach nxt
                    buffers[nxt] = g
                    prev: Any = _MISSING
                    fresh = (not self.create_graph and not exposed
                             and reuse.fresh(nxt, g, incoming, outs, nexts, node, owned, granted))
                else:
                    prev = self._add_to_buffer(nxt, nr, g)
                    fresh = not self.create_graph
                if fresh:
                    owned_set.add(nxt)
                else:
                    owned_set.discard(nxt)
                if journal is not None:
                    self._log(lambda nxt=nxt, prev=prev, was_owned=was_owned: self._restore_buffer(nxt, prev, was_owned))
            left = deps[nxt] - 1
            if journal is not None or (not left and nxt not in buffers):
                self._release_edge(nxt)
                continue
            deps[nxt] = left  # the common cases, without a call
            if not left:
                heapq.heappush(self._ready, (-nxt.sequence_nr, id(nxt), nxt))

    def _release_edge(self, nxt: Node) -> None:
        """One edge into nxt is done: queue it when none is left (or pass the count on if no
        gradient reached it)."""
        deps, needed, todo, journal = self.dependencies, self.needed, [nxt], self._journal
        while todo:
            n = todo.pop()
            left = deps[n] - 1
            deps[n] = left
            if journal is not None:
                self._log(lambda n=n: deps.__setitem__(n, deps[n] + 1))
            if left:
                continue
            if n in self.buffers:
                heapq.heappush(self._ready, (-n.sequence_nr, id(n), n))
                if journal is not None:
                    self._log(lambda n=n: self._unready(n))
            else:  # all of its incoming gradients were None
                todo.extend(n2 for n2, _ in n.next_functions if n2 is not None and (needed is None or n2 in needed))

    def _finish(self, node: Node, step: Step | None) -> None:
        if not self.retain_graph and node._saved:
            if self._journal is not None:
                saved, released = node._saved, node._released
                self._log(lambda: _restore_saved(node, saved, released))
            node._saved, node._released = None, True  # Node.release()
        if step is not None:
            self.steps_done.append(step)

    # --- undo (the debugger's step back) ---
    @property
    def can_undo(self) -> bool:
        return bool(self._journal)

    def undo(self) -> Step | None:
        """Take the last step back: its node is ready again with the gradients it received,
        the gradients it passed on and what it added into .grad are removed, its saved tensors
        are back. Hooks' side effects are not undone. Returns the undone Step."""
        if self._journal is None:
            raise RuntimeError("this backward pass was made without undo (undoable=False)")
        if not self._journal:
            raise RuntimeError("there is no step to undo")
        for fn in reversed(self._journal.pop()):
            fn()
        if self.keep_steps and self.steps_done:
            return self.steps_done.pop()
        return None

    def _restore_popped(self, node: Node, entry: Any, was_owned: bool) -> None:
        self.buffers[node] = entry
        self.reuse.mark(node, was_owned)
        heapq.heappush(self._ready, (-node.sequence_nr, id(node), node))

    def _restore_buffer(self, node: Node, prev: Any, was_owned: bool) -> None:
        if prev is _MISSING:
            self.buffers.pop(node, None)
        else:
            self.buffers[node] = prev
        self.reuse.mark(node, was_owned)

    def _unready(self, node: Node) -> None:
        self._ready = [e for e in self._ready if e[2] is not node]
        heapq.heapify(self._ready)


def _restore_grad(t: Tensor, old: Any, old_data: Any) -> None:
    t._grad = old
    if old is not None:
        old._data = old_data


def _restore_saved(node: Node, saved: Any, released: bool) -> None:
    node._saved, node._released = saved, released


def _cast(g: Any, dt: Any) -> Any:
    return g.to(_dtype.from_numpy_dtype(dt))


def _leading_to(nodes: list[Node], targets: list[Node]) -> set[Node]:
    """The nodes from which some target can be reached (PyTorch's exec_info for grad(inputs=))."""
    target_ids = {id(t) for t in targets}
    memo: dict[int, bool] = {}
    byid = {id(n): n for n in nodes}
    for start in nodes:
        if id(start) in memo:
            continue
        stack: list[tuple[Node, int]] = [(start, 0)]
        while stack:
            n, i = stack.pop()
            nf = n.next_functions
            if i == 0 and id(n) in memo:
                continue
            if i < len(nf):
                stack.append((n, i + 1))
                nxt = nf[i][0]
                if nxt is not None and id(nxt) not in memo and id(nxt) in byid:
                    stack.append((nxt, 0))
                continue
            memo[id(n)] = id(n) in target_ids or any(
                nxt is not None and memo.get(id(nxt), False) for nxt, _ in nf)
    return {byid[k] for k, v in memo.items() if v}
