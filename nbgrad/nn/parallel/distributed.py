"""DistributedDataParallel: one model replica per rank; gradients averaged across ranks by
bucketed allreduces that run while backward goes on.

How it works (the design of PyTorch's reducer):
- At construction the ranks check that their parameters agree (names, shapes, dtypes) and
  rank 0's parameters and buffers are broadcast to all.
- Parameters that require grad are packed into buckets: walking them from the last to the
  first (about the order backward produces their gradients), one open bucket per dtype and
  device takes parameters until it holds bucket_cap_mb or more (see bucket_assignment).
- A post-accumulate-grad hook on each parameter copies its gradient into its bucket's flat
  buffer; when a bucket is full, it and any full buckets after it (in launch order, so every
  rank issues the same sequence) start a non-blocking allreduce (SUM). Each hook also polls
  the allreduces in flight, which is what moves them along in an MPI without a progress
  thread.
- At the end of backward (an engine final callback) every bucket is waited for and each
  gradient is overwritten with the bucket's sum divided by the world size."""

from __future__ import annotations

import contextlib
import time
import weakref
from typing import Any, Iterator, Sequence

import numpy as np

from ...autograd.engine import queue_callback
from ...autograd.function import AccumulateGrad
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...tensor import Tensor
from ..module import Module

_MB = 1024 * 1024
_UNUSED = ("Expected to have finished reduction in the prior iteration before starting a new one. This error "
           "indicates that your module has parameters that were not used in producing loss. You can enable unused "
           "parameter detection by passing the keyword argument `find_unused_parameters=True` to "
           "`nbgrad.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function outputs "
           "participate in calculating loss.")


def bucket_assignment(nbytes: Sequence[int], cap_bytes: int, keys: Sequence[Any] | None = None) -> list[list[int]]:
    """Parameter indices per gradient bucket, in the order the buckets are launched.

    nbytes[i]: parameter i's size (indices in module.parameters() order); keys[i]: its
    (dtype, device), as a bucket holds one of each. Walking from the last parameter to the
    first, each parameter joins the open bucket of its key; a bucket closes once it holds
    cap_bytes or more (so it exceeds the cap by at most its last parameter, and a parameter
    larger than the cap has a bucket of its own). The buckets are ordered by their first
    parameter in that walk: bucket 0 holds the last parameters."""
    if cap_bytes <= 0:
        raise ValueError(f"bucket cap must be positive, got {cap_bytes} bytes")
    keys = [None] * len(nbytes) if keys is None else list(keys)
    if len(keys) != len(nbytes):
        raise ValueError("nbytes and keys differ in length")
    done: list[tuple[int, list[int]]] = []  # (position of the first member in the walk, members)
    open_: dict[Any, tuple[int, list[int], int]] = {}
    for pos, i in enumerate(reversed(range(len(nbytes)))):
        first, members, size = open_.get(keys[i], (pos, [], 0))
        members.append(i)
        size += nbytes[i]
        if size >= cap_bytes:
            done.append((first, members))
            open_.pop(keys[i], None)
        else:
            open_[keys[i]] = (first, members, size)
    done.extend((first, members) for first, members, _ in open_.values())
    return [members for _, members in sorted(done, key=lambda fm: fm[0])]


def _grad_leaves(out: Any) -> set[int]:
    """id() of every leaf tensor that a backward from `out` (tensors, or lists/tuples/dicts of
    them) reaches through the autograd graph."""
    stack, seen, leaves = [], set(), set()
    todo = [out]
    while todo:
        o = todo.pop()
        if isinstance(o, Tensor):
            if o.grad_fn is not None:
                stack.append(o.grad_fn)
            elif o.requires_grad:
                leaves.add(id(o))
        elif isinstance(o, (list, tuple)):
            todo.extend(o)
        elif isinstance(o, dict):
            todo.extend(o.values())
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, AccumulateGrad):
            leaves.add(id(n.variable))
        for nxt, _ in n.next_functions:
            if nxt is not None:
                stack.append(nxt)
    return leaves


def _on_host(t: Tensor) -> Any:
    return t._backend.to_numpy(t._data)


def broadcast_coalesced(pg: Any, tensors: list[Tensor], src: int = 0) -> None:
    """Broadcast tensors from src, one broadcast per (dtype, device) through a flat buffer."""
    from ...distributed.collectives import _store, broadcast

    groups: dict[tuple, list[Tensor]] = {}
    for t in tensors:
        groups.setdefault((t._data.dtype, t._backend.name), []).append(t)
    for (dt, _), ts in groups.items():
        flat = np.concatenate([np.asarray(_on_host(t)).reshape(-1) for t in ts]) if ts else np.empty(0, dt)
        ft = Tensor._wrap(flat, _cpu_backend())
        broadcast(ft, src)
        if pg.rank() != src:
            off = 0
            with no_grad():
                for t in ts:
                    n = t.numel()
                    _store(t, flat[off:off + n].reshape(t.shape))
                    off += n


def _cpu_backend() -> Any:
    from ...backends import get_backend

    return get_backend("cpu")


class _Bucket:
    __slots__ = ("index", "params", "names", "offsets", "flat", "pending", "work", "seen_done", "nbytes")

    def __init__(self, index: int, params: list[Tensor], names: list[str]) -> None:
        self.index, self.params, self.names = index, params, tuple(names)
        self.offsets, off = [], 0
        for p in params:
            self.offsets.append(off)
            off += p.numel()
        p0 = params[0]
        be = p0._backend
        self.flat = Tensor._wrap(be.full((off,), 0, p0._data.dtype), be)  # the gradients, one after another
        self.nbytes = off * p0._data.dtype.itemsize
        self.pending = len(params)
        self.work: Any = None
        self.seen_done = False


class DistributedDataParallel(Module):
    """Data parallelism: wrap the model on every rank, train as usual; after each backward
    every parameter's .grad is the average over the ranks.

    module: the model (its parameters on one device). device_ids/output_device: None, or the
    module's one device ([d]). broadcast_buffers: broadcast rank 0's buffers at every forward.
    bucket_cap_mb: gradient bucket size (MiB). find_unused_parameters: after each forward, find
    the parameters its outputs do not depend on, and count them ready (no gradient from this
    rank; a parameter no rank used keeps its .grad). no_sync(): backward passes of forwards
    inside it only accumulate locally (gradient accumulation); the next synced backward
    averages the accumulated gradients."""

    def __init__(
        self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None, dim: int = 0,
        broadcast_buffers: bool = True, init_sync: bool = True, process_group: Any = None,
        bucket_cap_mb: float | None = 25, find_unused_parameters: bool = False, check_reduction: bool = False,
        gradient_as_bucket_view: bool = False, static_graph: bool = False, **kwargs: Any,
    ) -> None:
        from ...distributed.collectives import _agree
        from ...distributed.process_group import default_group

        super().__init__()
        unsupported = {k: v for k, v in kwargs.items() if v not in (None, False)}
        if unsupported:
            raise NotImplementedError(f"DistributedDataParallel: {', '.join(sorted(unsupported))} "
                                      "not implemented in nbgrad")
        if gradient_as_bucket_view:
            raise NotImplementedError("DistributedDataParallel(gradient_as_bucket_view=True) is not implemented: the "
                                      "engine replaces .grad arrays as it accumulates, so gradients are copied into "
                                      "the buckets")
        pg = default_group(process_group)
        self.module = module
        params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        devices = sorted({p._backend.name for _, p in module.named_parameters()})
        self._check_devices(device_ids, output_device, devices)
        object.__setattr__(self, "process_group", pg)
        object.__setattr__(self, "dim", dim)
        object.__setattr__(self, "broadcast_buffers", broadcast_buffers)
        object.__setattr__(self, "find_unused_parameters", find_unused_parameters)
        object.__setattr__(self, "static_graph", static_graph)
        object.__setattr__(self, "require_backward_grad_sync", True)
        cap = 25 if bucket_cap_mb is None else bucket_cap_mb
        object.__setattr__(self, "bucket_bytes_cap", int(cap * _MB))
        # the ranks must hold the same model: names, shapes and dtypes in the same order
        layout = "; ".join(f"{n} {p.dtype.name} {list(p.shape)}{'' if p.requires_grad else ' (no grad)'}"
                           for n, p in module.named_parameters())
        _agree(pg, "DistributedDataParallel: the module's parameters", layout, always=True)
        if init_sync and pg.size() > 1:
            broadcast_coalesced(pg, [p for _, p in module.named_parameters()] + self._buffers_list())
        self._build(params)

    @staticmethod
    def _check_devices(device_ids: Any, output_device: Any, devices: list[str]) -> None:
        from ...backends import get_backend

        if device_ids is None and output_device is None:
            return

        def name(d: Any) -> str:
            return get_backend(f"cuda:{d}" if isinstance(d, int) else d).name

        ids = [name(d) for d in (device_ids or [])]
        out = None if output_device is None else name(output_device)
        if len(devices) != 1 or ids not in ([], devices) or out not in (None, devices[0]) or devices[0] == "cpu":
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with single-device GPU "
                f"modules (the module's own device), but got device_ids {device_ids}, output_device "
                f"{output_device}, and module parameters on {devices}; for CPU modules pass neither.")

    def _buffers_list(self) -> list[Tensor]:
        return [b for m in self.module.modules() for b in m._buffers.values() if b is not None]

    def _build(self, params: list[tuple[str, Tensor]]) -> None:
        sizes = [p.numel() * p._data.dtype.itemsize for _, p in params]
        keys = [(p._data.dtype, p._backend.name) for _, p in params]
        assignment = bucket_assignment(sizes, self.bucket_bytes_cap, keys) if params else []
        buckets = [_Bucket(k, [params[i][1] for i in idx], [params[i][0] for i in idx])
                   for k, idx in enumerate(assignment)]
        where = {}  # id(param) -> (bucket, position in it)
        for b in buckets:
            for j, p in enumerate(b.params):
                where[id(p)] = (b, j)
        state = _Reducer(self.process_group, buckets, where, self.find_unused_parameters)
        object.__setattr__(self, "_reducer", state)
        object.__setattr__(self, "bucket_indices", assignment)  # indices into the params that require grad
        ref = weakref.ref(state)  # the hooks do not keep the reducer alive

        def hook(t: Tensor) -> None:
            r = ref()
            if r is not None:
                r.ready(t)

        handles = [p.register_post_accumulate_grad_hook(hook) for _, p in params]
        weakref.finalize(state, lambda hs=handles: [h.remove() for h in hs])

    # ------------------------------------------------------------------ user API
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        r = self._reducer
        r.before_forward()
        if self.broadcast_buffers and self.process_group.size() > 1:
            bufs = self._buffers_list()
            if bufs:
                broadcast_coalesced(self.process_group, bufs)
        out = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            r.prepare_for_backward(_grad_leaves(out) if self.find_unused_parameters else None)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside: forwards' backward passes do not communicate; gradients accumulate locally."""
        old = self.require_backward_grad_sync
        object.__setattr__(self, "require_backward_grad_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "require_backward_grad_sync", old)

    @property
    def buckets(self) -> list[tuple[str, ...]]:
        """The parameter names of each gradient bucket, in launch order."""
        return [b.names for b in self._reducer.buckets]

    def extra_repr(self) -> str:
        return f"world_size={self.process_group.size()}, buckets={len(self._reducer.buckets)}"


class _Reducer:
    """The per-iteration state: which gradients are in, which buckets are launched."""

    def __init__(self, pg: Any, buckets: list[_Bucket], where: dict, find_unused: bool) -> None:
        self.pg, self.buckets, self.where, self.find_unused = pg, buckets, where, find_unused
        self.armed = False  # a synced forward ran: this backward's hooks count
        self.started = False  # a hook of this iteration ran (its final callback is queued)
        self.ready_ids: set[int] = set()
        self.used: set[int] = set()  # parameters that got a gradient on this rank
        self.next_bucket = 0  # the next bucket to launch
        self.first_unseen = 0  # the oldest launched bucket not yet seen done
        self.iteration = 0

    # --- forward
    def before_forward(self) -> None:
        if self.started:
            raise RuntimeError(_UNUSED + " (the previous backward did not finish: it raised, or was not run to its end)")
        self._reset()

    def prepare_for_backward(self, reached: set[int] | None) -> None:
        self.armed = True
        if reached is not None:  # find_unused_parameters: what the outputs do not depend on is ready now
            for b in self.buckets:
                for j, p in enumerate(b.params):
                    if id(p) not in reached:
                        self._mark(b, j, None)

    # --- backward
    def ready(self, p: Tensor) -> None:
        if not self.armed:
            return
        if not self.started:
            self.started = True
            queue_callback(self.finalize)
        if id(p) in self.ready_ids:
            raise RuntimeError(f"Expected to mark a variable ready only once; parameter {self._name(p)} got a second "
                               "gradient in the same iteration (two backward passes after one forward?)")
        b, j = self.where[id(p)]
        self.used.add(id(p))
        self._mark(b, j, p._grad)
        self._launch_full()
        self._poll()

    def _name(self, p: Tensor) -> str:
        b, j = self.where[id(p)]
        return b.names[j]

    def _mark(self, b: _Bucket, j: int, grad: Tensor | None) -> None:
        """Parameter j of bucket b is ready: its gradient (None: zeros) is in the flat buffer."""
        p = b.params[j]
        self.ready_ids.add(id(p))
        a, n = b.offsets[j], p.numel()
        be, flat = b.flat._backend, b.flat._data
        be.setitem(flat, (slice(a, a + n),), 0 if grad is None else be.reshape(grad._data, (n,)))
        b.pending -= 1

    def _launch_full(self) -> None:
        from ...distributed.collectives import ReduceOp, _all_reduce
        from ...distributed.process_group import mpi

        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            b = self.buckets[self.next_bucket]
            self._event("start", b)
            b.work = _all_reduce(self.pg, b.flat, ReduceOp.SUM, mpi().SUM, False, True,
                                 what=f"DistributedDataParallel bucket {b.index} all_reduce")
            self.next_bucket += 1

    def _poll(self) -> None:
        """Test the oldest allreduces in flight (a test moves every one along)."""
        while self.first_unseen < self.next_bucket:
            b = self.buckets[self.first_unseen]
            if not b.work.is_completed():
                return
            self._seen(b)

    def _seen(self, b: _Bucket) -> None:
        if not b.seen_done:
            b.seen_done = True
            self.first_unseen = max(self.first_unseen, b.index + 1)
            self._event("done", b)

    def _event(self, phase: str, b: _Bucket) -> None:
        from ...distributed import observer

        if observer.has_observers():
            observer.emit(observer.CommEvent(phase, "all_reduce", "ddp", b.index, self.iteration, b.nbytes, b.names,
                                             self.pg.rank(), self.pg.size(), time.perf_counter()))

    def finalize(self) -> None:
        """End of backward: every bucket reduced, each gradient set to the average."""
        try:
            missing = [b.names[j] for b in self.buckets for j, p in enumerate(b.params) if id(p) not in self.ready_ids]
            if missing and not self.find_unused:
                for b in self.buckets[:self.next_bucket]:
                    b.work.wait()  # what was started finishes on every rank before the error
                raise RuntimeError(_UNUSED + f" Parameters that got no gradient on rank {self.pg.rank()}: "
                                   + ", ".join(missing))
            for b in self.buckets:
                for j, p in enumerate(b.params):
                    if id(p) not in self.ready_ids:
                        self._mark(b, j, None)
            self._launch_full()
            for b in self.buckets:
                b.work.wait()
                self._seen(b)
            unused = self._globally_unused() if self.find_unused else set()
            n = self.pg.size()
            with no_grad():
                for b in self.buckets:
                    for j, p in enumerate(b.params):
                        if id(p) not in unused:
                            self._write_average(b, j, p, n)
        finally:
            self.iteration += 1
            self._reset()

    def _globally_unused(self) -> set[int]:
        """Parameters no rank got a gradient for (their .grad is left as it is)."""
        from ...distributed.collectives import ReduceOp, all_reduce

        params = [p for b in self.buckets for p in b.params]
        flags = Tensor._wrap(np.array([id(p) in self.used for p in params], dtype=np.int32), _cpu_backend())
        all_reduce(flags, ReduceOp.MAX)
        return {id(p) for p, f in zip(params, flags._data) if not f}

    @staticmethod
    def _write_average(b: _Bucket, j: int, p: Tensor, n: int) -> None:
        a, k = b.offsets[j], p.numel()
        be, flat = b.flat._backend, b.flat._data
        src = be.reshape(be.getitem(flat, (slice(a, a + k),)), p._data.shape)
        if p._grad is None:
            p._grad = Tensor._wrap(be.elementwise("div", [src, np.asarray(n, src.dtype)], src.shape, src.dtype), be)
            return
        g = p._grad._data
        be.elementwise("div", [src, np.asarray(n, src.dtype)], g.shape, g.dtype, out=g)
        p._grad._version.value += 1

    def _reset(self) -> None:
        self.armed = self.started = False
        self.ready_ids.clear()
        self.used.clear()
        self.next_bucket = self.first_unseen = 0
        for b in self.buckets:
            b.pending = len(b.params)
            b.work = None
            b.seen_done = False
