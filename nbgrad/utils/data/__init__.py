"""nbgrad.utils.data: samplers (PyTorch's torch.utils.data names)."""

from .distributed import DistributedSampler
from .sampler import Sampler

__all__ = ["DistributedSampler", "Sampler"]
