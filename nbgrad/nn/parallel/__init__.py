"""nbgrad.nn.parallel: DistributedDataParallel (on nbgrad.distributed's MPI process group)."""

from .distributed import DistributedDataParallel, bucket_assignment

__all__ = ["DistributedDataParallel", "bucket_assignment"]
