"""The default process group: MPI's world, set up by init_process_group (PyTorch's names).

Rank and world size come from the MPI launcher (mpiexec, srun). mpi4py is imported only by
init_process_group, so a script run under mpiexec that never calls it is one plain process."""

from __future__ import annotations

import atexit
import ctypes
import datetime
import importlib.util
import os
import sys
import time
import traceback
import warnings
from typing import Any, Callable

import numpy as np

_NOT_INIT = "Default process group has not been initialized, please make sure to call init_process_group."
SUPPORTED_BACKENDS = ("mpi",)
_LEFT_TAG = 1  # on the control communicator: "this rank has left the group"
EXIT_GRACE_S = 2.0  # a wait gives up this long after another rank has left, if still unfinished
_SPIN_S = 1e-4  # with more ranks than cores, a wait polls this long before it gives up the core between polls
ABORT_DELAY_S = 0.5  # after printing a rank's failure, before MPI_Abort


class DistError(RuntimeError):
    """An error in nbgrad.distributed (PyTorch's torch.distributed.DistError)."""


class DistBackendError(DistError):
    """The MPI layer failed or a wait ran past its deadline (PyTorch's DistBackendError)."""


_MPI: Any = None


def mpi() -> Any:
    """The mpi4py.MPI module (imported on first use: importing it starts MPI)."""
    global _MPI
    if _MPI is None:
        from mpi4py import MPI

        _MPI = MPI
    return _MPI


def _seconds(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


def _query_cuda_aware() -> bool:
    """Whether the MPI library takes CUDA device buffers (MPIX_Query_cuda_support, which MPICH
    and Open MPI both export), unless NBGRAD_MPI_CUDA_AWARE=0/1 says. mpi4py has no call for
    it, so the symbol is looked up in the libmpi that mpi4py loaded."""
    forced = os.environ.get("NBGRAD_MPI_CUDA_AWARE")
    if forced in ("0", "1"):
        return forced == "1"
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "/libmpi" in line and ".so" in line})
    except OSError:
        return False
    for path in libs:
        try:
            fn = getattr(ctypes.CDLL(path), "MPIX_Query_cuda_support")
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_int
        return bool(fn())
    return False


class ProcessGroup:
    """The ranks of one MPI communicator. `comm` is nbgrad's own duplicate of MPI_COMM_WORLD,
    so a script's own mpi4py traffic on COMM_WORLD cannot interleave with nbgrad's."""

    def __init__(self, comm: Any, timeout: float | None) -> None:
        self.comm = comm
        self.ctrl = comm.Dup()  # for the group's own messages (see leave)
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()
        self.timeout = timeout  # seconds a wait may take before DistBackendError; None: no limit
        self.cuda_aware = _query_cuda_aware()
        # every collective first agrees on shapes and dtypes (one small allreduce); NBGRAD_DIST_CHECK=0 skips it
        self.check = os.environ.get("NBGRAD_DIST_CHECK", "1") != "0"
        # more ranks on this machine than cores for them: a waiting rank lets the others run (else
        # it polls without pause, as MPICH does)
        local = comm.Split_type(mpi().COMM_TYPE_SHARED)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.oversubscribed = local.Get_size() > cores
        local.Free()

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def name(self) -> str:
        return "mpi"

    def wait(self, req: Any, what: str, timeout: float | None = None) -> Any:
        """Wait for an MPI request; returns its Status (see poll)."""
        MPI = mpi()
        status = MPI.Status()
        self.poll(lambda: req.Test(status), what, timeout)
        return status

    def poll(self, done: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        """Call done() until it is true. Gives up past the deadline (timeout, else the group's;
        MPI cannot cancel a collective, so the group is unusable after that), or when another
        rank has left the group (its script ended, or it called sys.exit) and done() stays
        false for EXIT_GRACE_S after that."""
        MPI = mpi()
        if done():
            return
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        deadline = None if limit is None else start + limit
        gone_since, probe = None, MPI.Status()
        while True:
            for _ in range(64):
                if done():
                    return
            now = time.monotonic()
            if self.oversubscribed and now - start > _SPIN_S:
                os.sched_yield()  # let the rank this one waits for run
            if deadline is not None and now > deadline:
                raise DistBackendError(
                    f"rank {self._rank}: {what} timed out after {limit:g} s: another rank did not take part "
                    "(it may be stuck, or may have skipped or reordered this call); the process group cannot "
                    "be used any more")
            if self.ctrl.Iprobe(source=MPI.ANY_SOURCE, tag=_LEFT_TAG, status=probe):
                gone_since = now if gone_since is None else gone_since
                if now - gone_since > EXIT_GRACE_S:
                    raise DistBackendError(
                        f"rank {self._rank}: {what} cannot finish: rank {probe.Get_source()} has left the process "
                        "group without taking part (its script ended, or it called sys.exit or destroy_process_group)")

    def leave(self) -> None:
        """Leave the group with the others: tell every rank, then wait until all have left (a
        rank still in a collective sees the notice and raises instead of waiting forever)."""
        MPI = mpi()
        me, n = self._rank, self._size
        note = np.zeros(1, np.int8)
        sends = [self.ctrl.Isend(note, dest=r, tag=_LEFT_TAG) for r in range(n) if r != me]
        self.ctrl.Ibarrier().Wait()
        for r in range(n):
            if r != me:
                self.ctrl.Recv(np.empty(1, np.int8), source=r, tag=_LEFT_TAG)
        MPI.Request.Waitall(sends)
        self.ctrl.Free()
        self.comm.Free()

    def __repr__(self) -> str:
        return f"ProcessGroup(backend='mpi', rank={self._rank}, size={self._size})"


_WORLD: ProcessGroup | None = None
_PREV_HOOK: Callable | None = None


class _GroupNamespace:
    """dist.group.WORLD: the default process group (None before init_process_group)."""

    @property
    def WORLD(self) -> ProcessGroup | None:  # noqa: N802
        return _WORLD


group = _GroupNamespace()


def is_available() -> bool:
    """Whether the MPI backend can be used: mpi4py is installed (pip install "nbgrad[distributed]")."""
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_initialized() -> bool:
    return _WORLD is not None


def default_group(group: Any = None) -> ProcessGroup:
    """The group a collective runs on: only the default (world) group exists."""
    if _WORLD is None:
        raise ValueError(_NOT_INIT)
    if group is not None and group is not _WORLD:
        raise NotImplementedError("nbgrad.distributed has only the default process group (group=None); "
                                  "new_group and subgroups are not implemented")
    return _WORLD


def init_process_group(
    backend: str | None = None, init_method: str | None = None, timeout: datetime.timedelta | None = None,
    world_size: int = -1, rank: int = -1, store: Any = None, group_name: str = "", pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the MPI job this process was started in (mpiexec -n N python script.py).

    backend: "mpi" (or None). Rank and world size are MPI's; init_method is not used, as with
    PyTorch's MPI backend. timeout: how long any wait may take before DistBackendError (None: no
    limit). An unhandled exception in a rank from now on prints "rank K failed" and aborts every
    rank (MPI_Abort) instead of leaving the others blocked in a collective."""
    global _WORLD
    if _WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = "mpi" if backend is None else str(backend).lower()
    if name not in SUPPORTED_BACKENDS:
        raise ValueError(f"nbgrad.distributed supports the backends {list(SUPPORTED_BACKENDS)}, not {backend!r}: "
                         "it runs on MPI (mpi4py); launch the script with mpiexec -n N python script.py")
    if store is not None or pg_options is not None:
        raise ValueError("the mpi backend takes no store or pg_options: mpiexec sets up the ranks")
    if not is_available():
        raise RuntimeError('the mpi backend needs mpi4py and an MPI library: pip install "nbgrad[distributed]" '
                           "(mpi4py and the mpich wheel)")
    MPI = mpi()
    comm = MPI.COMM_WORLD.Dup()
    comm.Set_errhandler(MPI.ERRORS_RETURN)  # MPI errors raise MPI.Exception instead of ending the job
    pg = ProcessGroup(comm, _seconds(timeout))
    if (world_size != -1 and world_size != pg.size()) or (rank != -1 and rank != pg.rank()):
        warnings.warn(f"For MPI backend, world_size ({world_size}) and rank ({rank}) are ignored since they are "
                      f"assigned by the MPI runtime (world size {pg.size()}, rank {pg.rank()}).", stacklevel=2)
    _WORLD = pg
    if pg.size() > 1:
        _install_fault_handler(pg.rank())
    atexit.register(_leave_at_exit)  # runs before mpi4py's MPI_Finalize (registered earlier)


def destroy_process_group(group: Any = None) -> None:
    """Leave the process group; every rank calls it (it waits for them). The MPI library
    itself stays up until the process exits."""
    global _WORLD
    pg = default_group(group)
    _WORLD = None
    atexit.unregister(_leave_at_exit)
    pg.leave()
    _remove_fault_handler()


def _leave_at_exit() -> None:
    """A script that ends (or calls sys.exit) without destroy_process_group leaves the group
    here, so a rank still waiting on this one in a collective raises instead of hanging."""
    if _WORLD is not None:
        destroy_process_group()


def get_rank(group: Any = None) -> int:
    return default_group(group).rank()


def get_world_size(group: Any = None) -> int:
    return default_group(group).size()


def get_backend(group: Any = None) -> str:
    default_group(group)
    return "mpi"


def _install_fault_handler(rank: int) -> None:
    """An exception nobody catches: print it and "rank K failed", then MPI_Abort, so mpiexec
    ends every rank at once (as mpi4py's `python -m mpi4py` runner does)."""
    global _PREV_HOOK
    prev = sys.excepthook

    def hook(etype: type, value: BaseException, tb: Any) -> None:
        try:
            sys.stdout.flush()
            text = "".join(traceback.format_exception(etype, value, tb))
            text += (f"nbgrad.distributed: rank {rank} failed: {etype.__name__}: {value}\n"
                     "nbgrad.distributed: aborting all ranks (MPI_Abort)\n")
            os.write(2, text.encode(errors="replace"))  # one write, unbuffered
            time.sleep(ABORT_DELAY_S)  # let mpiexec forward it before the abort ends the job
        except Exception:
            prev(etype, value, tb)
        finally:
            MPI = mpi()
            MPI.COMM_WORLD.Abort(1)

    _PREV_HOOK = prev
    sys.excepthook = hook


def _remove_fault_handler() -> None:
    global _PREV_HOOK
    if _PREV_HOOK is not None:
        sys.excepthook = _PREV_HOOK
        _PREV_HOOK = None
