"""nbgrad.distributed: data-parallel training across processes and machines, on MPI.

PyTorch's torch.distributed names, on mpi4py: launch with `mpiexec -n 4 python train.py`,
call init_process_group("mpi"), then use the collectives (in place on tensors) or wrap the
model in nbgrad.nn.parallel.DistributedDataParallel. mpi4py is imported only by
init_process_group; `import nbgrad.distributed` works without it."""

from .collectives import (
    ReduceOp, Work, all_gather, all_gather_into_tensor, all_reduce, barrier, broadcast, gather, irecv, isend, recv,
    reduce, reduce_scatter_tensor, scatter, send,
)
from .observer import CommEvent, ObserverHandle, register_comm_observer
from .process_group import (
    DistBackendError, DistError, ProcessGroup, destroy_process_group, get_backend, get_rank, get_world_size, group,
    init_process_group, is_available, is_initialized, is_mpi_available,
)

__all__ = [
    "CommEvent", "DistBackendError", "DistError", "ObserverHandle", "ProcessGroup", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_reduce", "barrier", "broadcast", "destroy_process_group", "gather", "get_backend",
    "get_rank", "get_world_size", "group", "init_process_group", "irecv", "is_available", "is_initialized",
    "is_mpi_available", "isend", "recv", "reduce", "reduce_scatter_tensor", "register_comm_observer", "scatter",
    "send",
]
