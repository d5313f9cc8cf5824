"""Collectives and point-to-point on tensors, in place, with PyTorch's names and signatures.

Each call issues one MPI non-blocking operation; async_op=True returns its Work, else it is
waited for before the call returns. MPI reads and writes a CPU tensor's NumPy array itself
when it is C-contiguous, else a contiguous copy that is written back when the work is done.
A CUDA tensor's device memory goes to MPI directly when the MPI library is CUDA-aware
(ProcessGroup.cuda_aware), else through a host copy.

Before each collective the ranks agree, in one small allreduce, that they passed the same
shapes, dtypes and options and that every rank's arguments are valid: a mismatch raises the
same error on every rank instead of a hang or a wrong result (NBGRAD_DIST_CHECK=0 skips it)."""

from __future__ import annotations

import enum
import hashlib
from typing import Any, Callable, Sequence

import numpy as np

from ..tensor import Tensor
from .process_group import DistBackendError, DistError, ProcessGroup, _seconds, default_group, mpi


class ReduceOp(enum.IntEnum):
    """How all_reduce, reduce and reduce_scatter_tensor combine the ranks' values. AVG: the SUM
    divided by the world size (integers: truncated toward zero). BAND/BOR/BXOR: integers and
    bool. On bool tensors SUM and MAX are a logical or, PRODUCT and MIN a logical and."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


_OPS: dict[tuple[ReduceOp, str], tuple[Any, str | None]] = {}


def _mpi_op(op: ReduceOp, dt: np.dtype) -> tuple[Any, str | None]:
    """MPI's op for op on dtype dt, or (None, why not)."""
    key = (op, dt.kind)
    found = _OPS.get(key)
    if found is None:
        found = _OPS[key] = _find_mpi_op(op, dt)
    return found


def _find_mpi_op(op: ReduceOp, dt: np.dtype) -> tuple[Any, str | None]:
    MPI = mpi()
    R = ReduceOp
    if dt.kind == "b":
        m = {R.SUM: MPI.LOR, R.MAX: MPI.LOR, R.BOR: MPI.LOR, R.PRODUCT: MPI.LAND, R.MIN: MPI.LAND,
             R.BAND: MPI.LAND, R.BXOR: MPI.LXOR}.get(op)
        return m, (None if m is not None else f"ReduceOp.{op.name} is not defined for bool tensors")
    if dt.kind == "f" and op in (R.BAND, R.BOR, R.BXOR):
        return None, f"ReduceOp.{op.name} needs integer or bool tensors, not {dt.name}"
    return {R.SUM: MPI.SUM, R.AVG: MPI.SUM, R.PRODUCT: MPI.PROD, R.MIN: MPI.MIN, R.MAX: MPI.MAX,
            R.BAND: MPI.BAND, R.BOR: MPI.BOR, R.BXOR: MPI.BXOR}[op], None


def _as_op(op: Any) -> ReduceOp:
    if op.__class__ is ReduceOp:
        return op
    try:
        return ReduceOp(op)
    except ValueError:
        raise ValueError(f"unknown reduce op {op!r}; use nbgrad.distributed.ReduceOp") from None


# --------------------------------------------------------------------------- buffers

def _check_tensor(t: Any, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type nbgrad.Tensor but got "
                        f"{type(t)} instead.")


def _check_list(ts: Any, name: str) -> None:
    if not isinstance(ts, list) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type list[nbgrad.Tensor] but got "
                        f"{type(ts)} instead.")


_SHARED_WRITE = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
                 "location. Please clone() the tensor before performing the operation.")


def _unwritable(*ts: Tensor | None) -> str | None:
    """Why a tensor a collective writes cannot take the result (an expanded view), if so."""
    for t in ts:
        h = None if t is None else t._backend.host_buffer(t._data)
        if h is not None and not h.flags.writeable:
            return _SHARED_WRITE
    return None


def _desc(t: Tensor) -> str:
    return f"{t.dtype.name} {list(t.shape)}"


def _on_device(t: Tensor, pg: ProcessGroup) -> bool:
    """Whether MPI is given t's device memory itself (a CUDA tensor on a CUDA-aware MPI)."""
    x = t._data
    return (pg.cuda_aware and hasattr(x, "__cuda_array_interface__") and t._backend.is_contiguous(x)
            and getattr(x, "host", None) is None and t.numel() > 0)


def _scratch(like: Tensor, shape: tuple, pg: ProcessGroup) -> Any:
    """An empty contiguous buffer for MPI to write, where values for tensors like `like` go."""
    if _on_device(like, pg):
        return like._backend.empty(shape, like._data.dtype)
    return np.empty(shape, like._data.dtype)


def _store(t: Tensor, src: Any) -> None:
    """Write src (host values, or device values of t's backend) into t, as an in-place op does."""
    x = t._data
    h = t._backend.host_buffer(x)
    if h is not None:
        if src is not x:
            np.copyto(h, np.asarray(src).reshape(x.shape))
    elif src is not x:
        t._backend.setitem(x, Ellipsis, t._backend.reshape(src, x.shape) if not isinstance(src, np.ndarray)
                           else src.reshape(x.shape))
    t._version.value += 1


class _Buf:
    """The memory MPI reads (and, write=True, writes) for tensor t: t's own where it can be,
    else a contiguous host copy; finish() puts the result into t."""

    __slots__ = ("t", "mem", "write")

    def __init__(self, t: Tensor, pg: ProcessGroup, write: bool, read: bool = True, host: bool = False,
                 apart_from: Any = None) -> None:
        self.t, self.write = t, write
        x, be = t._data, t._backend
        h = be.host_buffer(x)
        if h is not None:
            x = h
            if write and not x.flags.writeable:
                raise RuntimeError(_SHARED_WRITE)
            own = x.flags.c_contiguous and not (apart_from is not None and isinstance(apart_from, np.ndarray)
                                                 and np.shares_memory(x, apart_from))
            if own:
                self.mem = x
            else:
                self.mem = np.array(x, order="C") if read else np.empty(x.shape, x.dtype)
        elif not host and _on_device(t, pg) and not (apart_from is not None and be.shares_memory(x, apart_from)):
            be.synchronize()  # the kernels writing x are done before MPI reads it
            self.mem = x
        else:
            self.mem = np.ascontiguousarray(be.to_numpy(x)) if read else np.empty(x.shape, x.dtype)

    def finish(self) -> None:
        if self.write:
            _store(self.t, self.mem)


def _average(mem: Any, n: int, t: Tensor) -> None:
    """mem /= n in place (integers: truncated toward zero)."""
    if isinstance(mem, np.ndarray):
        if mem.dtype.kind == "f":
            np.divide(mem, n, out=mem)
        else:
            q = np.abs(mem) // n
            np.copyto(mem, np.where(mem < 0, -q, q))
    else:  # float device memory (integer AVG goes through the host)
        t._backend.elementwise("div", [mem, np.asarray(n, mem.dtype)], mem.shape, mem.dtype, out=mem)


# --------------------------------------------------------------------------- work

class Work:
    """An operation in flight (what async_op=True returns): wait() blocks until it is done and
    its results are in the tensors; is_completed() asks without blocking (and moves MPI's
    progress along, which non-blocking MPI calls need)."""

    def __init__(self, pg: ProcessGroup, req: Any, what: str, finish: Sequence[Callable[[Any], None]],
                 result: list[Tensor], keep: Any = None) -> None:
        self._pg, self._req, self._what, self._finish, self._result = pg, req, what, finish, result
        self._keep = keep  # buffers MPI uses until the work is done
        self._done = False
        self._source = -1

    def is_completed(self) -> bool:
        if not self._done:
            MPI = mpi()
            status = MPI.Status()
            try:
                flag = self._req.Test(status)
            except MPI.Exception as e:
                raise DistBackendError(f"rank {self._pg.rank()}: {self._what} failed: {e.Get_error_string()}") from None
            if flag:
                self._complete(status)
        return self._done

    def wait(self, timeout: Any = None) -> bool:
        """Block until done (at most timeout, a timedelta or seconds; default: the process
        group's), then write the results into the tensors. Returns True."""
        if not self._done:
            MPI = mpi()
            try:
                status = self._pg.wait(self._req, self._what, _seconds(timeout))
            except MPI.Exception as e:
                raise DistBackendError(f"rank {self._pg.rank()}: {self._what} failed: {e.Get_error_string()}") from None
            self._complete(status)
        return True

    def _complete(self, status: Any) -> None:
        self._done = True
        self._source = status.Get_source()
        for f in self._finish:
            f(status)
        self._keep = None

    def is_success(self) -> bool:
        return self._done

    def exception(self) -> None:
        return None

    def result(self) -> list[Tensor]:
        return self._result

    def source_rank(self) -> int:
        """The sender of a completed irecv."""
        if not self._done:
            raise RuntimeError("source_rank() is known once the work is completed")
        return self._source

    def __repr__(self) -> str:
        return f"Work({self._what}, completed={self._done})"


def _issue(pg: ProcessGroup, what: str, start: Callable[[], Any], finish: Sequence[Callable[[Any], None]],
           result: list[Tensor], async_op: bool, keep: Any = None) -> Work | None:
    MPI = mpi()
    try:
        req = start()
    except MPI.Exception as e:
        raise DistBackendError(f"rank {pg.rank()}: {what} failed: {e.Get_error_string()}") from None
    work = Work(pg, req, what, finish, result, keep)
    if async_op:
        return work
    work.wait()
    return None


_HASHES: dict[str, int] = {}  # description -> its 56-bit hash


def _agree(pg: ProcessGroup, what: str, describe: Callable[[], str] | str, error: str | None = None,
           always: bool = False) -> None:
    """Check, in one small allreduce, that every rank passed the same description (describe():
    its dtypes, shapes and options) and that no rank found its own arguments invalid (`error`);
    if not, every rank raises the same error, which lists each rank's arguments. always: check
    even when NBGRAD_DIST_CHECK=0."""
    if pg.size() == 1 or not (pg.check or always):
        if error:
            raise ValueError(f"{what}: {error}")
        return
    MPI = mpi()
    desc = describe if isinstance(describe, str) else describe()
    h = _HASHES.get(desc)
    if h is None:
        if len(_HASHES) > 4096:
            _HASHES.clear()
        h = _HASHES[desc] = int.from_bytes(hashlib.blake2b(desc.encode(), digest_size=7).digest(), "little")
    v = np.array((h, -h, 1 if error else 0), np.int64)
    pg.wait(pg.comm.Iallreduce(MPI.IN_PLACE, v, op=MPI.MAX), f"{what} (argument check)")
    if v.tolist() == [h, -h, 0]:
        return
    everyone = pg.comm.allgather((desc, error))
    said: dict[str, list[int]] = {}  # what each rank passed (or found wrong), ranks that agree together
    for r, (d, e) in enumerate(everyone):
        said.setdefault(e if e else d, []).append(r)
    lines = "; ".join(f"{ranks_text(rs)}: {text}" for text, rs in said.items())
    bad = [r for r, (_, e) in enumerate(everyone) if e]
    if bad:
        raise ValueError(f"{what}: invalid arguments on {ranks_text(bad)} ({lines})")
    raise RuntimeError(f"{what}: the ranks passed different tensors or options; every rank must pass the same "
                       f"shapes, dtypes and options ({lines})")


def ranks_text(ranks: list[int]) -> str:
    """"rank 2", "ranks 0, 1"."""
    return f"rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}"


def _rank_arg(r: Any, alias: Any) -> int:
    r = alias if r is None else r
    if r is None:
        raise ValueError("Must specify global_rank or group_rank")
    return int(r)


def _rank_error(pg: ProcessGroup, r: int, name: str) -> str | None:
    if not 0 <= r < pg.size():
        return f"{name}={r} is not a rank of the process group (0..{pg.size() - 1})"
    return None


def _same_as(ts: list[Tensor], ref: Tensor, name: str, count: int) -> str | None:
    if len(ts) != count:
        return f"{name} has {len(ts)} tensors, the world size is {count}"
    for i, t in enumerate(ts):
        if t.shape != ref.shape or t.dtype != ref.dtype:
            return f"{name}[{i}] is {_desc(t)}, the tensor is {_desc(ref)}"
    return None


def _reduced(t: Tensor, op: ReduceOp) -> tuple[Any, bool, str | None]:
    """MPI's op for t, whether the reduction must go through the host, and any error."""
    mop, err = _mpi_op(op, t._data.dtype)
    host = op is ReduceOp.AVG and t._data.dtype.kind != "f"
    return mop, host, err


# --------------------------------------------------------------------------- collectives

def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Work | None:
    """Reduce tensor across all ranks in place: every rank gets the result."""
    pg = default_group(group)
    _check_tensor(tensor, "tensor")
    op = _as_op(op)
    mop, host, err = _reduced(tensor, op)
    _agree(pg, "all_reduce", lambda: f"{_desc(tensor)} op={op.name}", err or _unwritable(tensor))
    return _all_reduce(pg, tensor, op, mop, host, async_op)


def _all_reduce(pg: ProcessGroup, tensor: Tensor, op: ReduceOp, mop: Any, host: bool, async_op: bool,
                what: str = "all_reduce") -> Work | None:
    MPI = mpi()
    buf = _Buf(tensor, pg, write=True, host=host)
    finish = [lambda s: _average(buf.mem, pg.size(), tensor)] if op is ReduceOp.AVG else []
    finish.append(lambda s: buf.finish())
    return _issue(pg, what, lambda: pg.comm.Iallreduce(MPI.IN_PLACE, buf.mem, op=mop), finish, [tensor], async_op,
                  keep=buf)


def broadcast(tensor: Tensor, src: int | None = None, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Copy src's tensor into every rank's tensor."""
    pg = default_group(group)
    _check_tensor(tensor, "tensor")
    src = _rank_arg(src, group_src)
    _agree(pg, "broadcast", lambda: f"{_desc(tensor)} src={src}",
           _rank_error(pg, src, "src") or (_unwritable(tensor) if pg.rank() != src else None))
    buf = _Buf(tensor, pg, write=pg.rank() != src)
    return _issue(pg, "broadcast", lambda: pg.comm.Ibcast(buf.mem, root=src), [lambda s: buf.finish()], [tensor],
                  async_op, keep=buf)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False) -> Work | None:
    """tensor_list[r] = rank r's tensor, on every rank."""
    pg = default_group(group)
    _check_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    _agree(pg, "all_gather", lambda: _desc(tensor),
           _same_as(tensor_list, tensor, "tensor_list", pg.size()) or _unwritable(*tensor_list))
    send = _Buf(tensor, pg, write=False)
    recv = _scratch(tensor, (pg.size(),) + tuple(tensor.shape), pg)
    return _issue(pg, "all_gather", lambda: pg.comm.Iallgather(send.mem, recv),
                  [lambda s: _scatter_into(tensor_list, recv)], tensor_list, async_op, keep=(send, recv))


def _scatter_into(ts: list[Tensor], stacked: Any) -> None:
    for i, t in enumerate(ts):
        _store(t, stacked[i])


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    """The ranks' input tensors, concatenated along the first dimension (or stacked: output of
    shape [world_size, *input.shape]) into output_tensor on every rank."""
    pg = default_group(group)
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    err = None
    if output_tensor.dtype != input_tensor.dtype:
        err = f"output_tensor is {output_tensor.dtype.name}, input_tensor {input_tensor.dtype.name}"
    elif output_tensor.numel() != pg.size() * input_tensor.numel():
        err = (f"output_tensor has {output_tensor.numel()} elements, expected world_size ({pg.size()}) x "
               f"{input_tensor.numel()}")
    _agree(pg, "all_gather_into_tensor", lambda: _desc(input_tensor), err or _unwritable(output_tensor))
    recv = _Buf(output_tensor, pg, write=True, read=False)
    send = _Buf(input_tensor, pg, write=False, apart_from=recv.mem)
    return _issue(pg, "all_gather_into_tensor", lambda: pg.comm.Iallgather(send.mem, recv.mem),
                  [lambda s: recv.finish()], [output_tensor], async_op, keep=(send, recv))


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,  # noqa: A002
                          async_op: bool = False) -> Work | None:
    """Reduce input across ranks, then rank r keeps chunk r (along the first dimension) in output."""
    pg = default_group(group)
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    op = _as_op(op)
    mop, host, err = _reduced(output, op)
    if output.dtype != input.dtype:
        err = f"output is {output.dtype.name}, input {input.dtype.name}"
    elif input.numel() != pg.size() * output.numel():
        err = f"input has {input.numel()} elements, expected world_size ({pg.size()}) x {output.numel()}"
    _agree(pg, "reduce_scatter_tensor", lambda: f"{_desc(output)} op={op.name}", err or _unwritable(output))
    recv = _Buf(output, pg, write=True, read=False, host=host)
    send = _Buf(input, pg, write=False, host=host, apart_from=recv.mem)
    finish = [lambda s: _average(recv.mem, pg.size(), output)] if op is ReduceOp.AVG else []
    finish.append(lambda s: recv.finish())
    return _issue(pg, "reduce_scatter_tensor", lambda: pg.comm.Ireduce_scatter_block(send.mem, recv.mem, op=mop),
                  finish, [output], async_op, keep=(send, recv))


def reduce(tensor: Tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """Reduce tensor across ranks into dst's tensor (the other ranks' tensors are unchanged)."""
    MPI = mpi()
    pg = default_group(group)
    _check_tensor(tensor, "tensor")
    dst = _rank_arg(dst, group_dst)
    op = _as_op(op)
    mop, host, err = _reduced(tensor, op)
    err = err or _rank_error(pg, dst, "dst") or (_unwritable(tensor) if pg.rank() == dst else None)
    _agree(pg, "reduce", lambda: f"{_desc(tensor)} op={op.name} dst={dst}", err)
    root = pg.rank() == dst
    buf = _Buf(tensor, pg, write=root, host=host)
    finish = [lambda s: _average(buf.mem, pg.size(), tensor)] if root and op is ReduceOp.AVG else []
    finish.append(lambda s: buf.finish())
    if root:
        def start() -> Any:
            return pg.comm.Ireduce(MPI.IN_PLACE, buf.mem, op=mop, root=dst)
    else:
        def start() -> Any:
            return pg.comm.Ireduce(buf.mem, None, op=mop, root=dst)
    return _issue(pg, "reduce", start, finish, [tensor], async_op, keep=buf)


def _list_rule(pg: ProcessGroup, ts: list[Tensor] | None, ref: Tensor, name: str, root: int, side: str) -> str | None:
    if pg.rank() == root:
        if not ts:
            return f"Argument ``{name}`` must be specified on {side} rank."
        return _same_as(ts, ref, name, pg.size())
    if ts:
        return f"Argument ``{name}`` must NOT be specified on non-{side} ranks."
    return None


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """gather_list[r] = rank r's tensor, on dst (which alone passes gather_list)."""
    pg = default_group(group)
    _check_tensor(tensor, "tensor")
    if gather_list is not None:
        _check_list(gather_list, "gather_list")
    dst = _rank_arg(0 if dst is None and group_dst is None else dst, group_dst)
    err = _rank_error(pg, dst, "dst") or _list_rule(pg, gather_list, tensor, "gather_list", dst, "destination")
    _agree(pg, "gather", lambda: f"{_desc(tensor)} dst={dst}", err or _unwritable(*(gather_list or [])))
    send = _Buf(tensor, pg, write=False)
    if pg.rank() == dst:
        recv = _scratch(tensor, (pg.size(),) + tuple(tensor.shape), pg)
        return _issue(pg, "gather", lambda: pg.comm.Igather(send.mem, recv, root=dst),
                      [lambda s: _scatter_into(gather_list, recv)], gather_list, async_op, keep=(send, recv))
    return _issue(pg, "gather", lambda: pg.comm.Igather(send.mem, None, root=dst), [], [], async_op, keep=send)


def _stack(ts: list[Tensor], pg: ProcessGroup) -> Any:
    """The tensors one after another in one contiguous buffer (device memory when MPI takes it)."""
    if all(_on_device(t, pg) for t in ts):
        be = ts[0]._backend
        return be.concatenate([be.reshape(t._data, (1,) + tuple(t.shape)) for t in ts], 0)
    return np.stack([np.asarray(t._backend.to_numpy(t._data)) for t in ts])


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None, group: Any = None,
            async_op: bool = False, group_src: int | None = None) -> Work | None:
    """Rank r's tensor = src's scatter_list[r] (src alone passes scatter_list)."""
    pg = default_group(group)
    _check_tensor(tensor, "tensor")
    if scatter_list is not None:
        _check_list(scatter_list, "scatter_list")
    src = _rank_arg(0 if src is None and group_src is None else src, group_src)
    err = _rank_error(pg, src, "src") or _list_rule(pg, scatter_list, tensor, "scatter_list", src, "source")
    _agree(pg, "scatter", lambda: f"{_desc(tensor)} src={src}", err or _unwritable(tensor))
    recv = _Buf(tensor, pg, write=True, read=False)
    send = _stack(scatter_list, pg) if pg.rank() == src else None
    return _issue(pg, "scatter", lambda: pg.comm.Iscatter(send, recv.mem, root=src), [lambda s: recv.finish()],
                  [tensor], async_op, keep=(send, recv))


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank has called barrier."""
    pg = default_group(group)
    return _issue(pg, "barrier", pg.comm.Ibarrier, [], [], async_op)


# --------------------------------------------------------------------------- point to point

def _peer(pg: ProcessGroup, r: Any, alias: Any, name: str, what: str) -> int:
    r = _rank_arg(r, alias)
    err = _rank_error(pg, r, name)
    if err:
        raise ValueError(f"{what}: {err}")
    if r == pg.rank():
        kind = "destination" if name == "dst" else "source"
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank of the current process.")
    return r


def isend(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
          group_dst: int | None = None) -> Work:
    """Send tensor to rank dst without waiting; wait() on the Work before changing the tensor."""
    pg = default_group(group)
    _check_tensor(tensor, "tensor")
    dst = _peer(pg, dst, group_dst, "dst", "send")
    buf = _Buf(tensor, pg, write=False)
    work = _issue(pg, f"send to rank {dst}", lambda: pg.comm.Isend(buf.mem, dest=dst, tag=tag), [], [tensor], True,
                  keep=buf)
    assert work is not None
    return work


def send(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0, group_dst: int | None = None) -> None:
    """Send tensor to rank dst (returns once the tensor may be changed again)."""
    isend(tensor, dst, group, tag, group_dst).wait()


def _count_check(t: Tensor, what: str) -> Callable[[Any], None]:
    from mpi4py.util import dtlib

    def check(status: Any) -> None:
        got = status.Get_count(dtlib.from_numpy_dtype(t._data.dtype))
        if got != t.numel():
            raise DistError(f"{what}: rank {status.Get_source()} sent {got} elements of {t.dtype.name}, the receiving "
                            f"tensor has {t.numel()} ({list(t.shape)}); send and recv must use the same shape and dtype")
    return check


def irecv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
          group_src: int | None = None) -> Work:
    """Receive into tensor from rank src (None: any rank) without waiting."""
    MPI = mpi()
    pg = default_group(group)
    _check_tensor(tensor, "tensor")
    source = MPI.ANY_SOURCE if src is None and group_src is None else _peer(pg, src, group_src, "src", "recv")
    buf = _Buf(tensor, pg, write=True, read=False)
    what = "recv" if source == MPI.ANY_SOURCE else f"recv from rank {source}"
    work = _issue(pg, what, lambda: pg.comm.Irecv(buf.mem, source=source, tag=tag),
                  [_count_check(tensor, what), lambda s: buf.finish()], [tensor], True, keep=buf)
    assert work is not None
    return work


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0, group_src: int | None = None) -> int:
    """Receive into tensor from rank src (None: any rank); returns the sender's rank. The
    message is probed first: one of another size raises and stays to be received."""
    MPI = mpi()
    pg = default_group(group)
    _check_tensor(tensor, "tensor")
    source = MPI.ANY_SOURCE if src is None and group_src is None else _peer(pg, src, group_src, "src", "recv")
    what = "recv" if source == MPI.ANY_SOURCE else f"recv from rank {source}"
    status = MPI.Status()
    pg.poll(lambda: pg.comm.Iprobe(source=source, tag=tag, status=status), what)
    _count_check(tensor, what)(status)
    sender = status.Get_source()  # the next message from it with this tag is the one probed
    buf = _Buf(tensor, pg, write=True, read=False)
    _issue(pg, what, lambda: pg.comm.Irecv(buf.mem, source=sender, tag=tag), [lambda s: buf.finish()], [tensor], False,
           keep=buf)
    return sender
