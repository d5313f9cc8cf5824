"""DistributedSampler: each rank draws a disjoint shard of the dataset's indices."""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from .sampler import Sampler


class DistributedSampler(Sampler):
    """The indices rank `rank` of `num_replicas` uses in one epoch (PyTorch's semantics).

    shuffle: a permutation drawn from seed + epoch (the same on every rank; call set_epoch(e)
    at the start of each epoch for a new one; NumPy's generator, so the order differs from
    PyTorch's). Without drop_last the indices are padded by repeating the first ones to a
    multiple of num_replicas (each rank gets ceil(n / num_replicas)); with it the tail is
    dropped (floor). Rank r takes every num_replicas-th index from position r: the shards are
    disjoint, apart from the padding. num_replicas and rank default to the process group's."""

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist  # lazy: nbgrad.distributed is loaded only when used (as in nn.parallel)

            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad > 0:
                indices += (indices * math.ceil(pad / len(indices)))[:pad] if indices else []
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next iteration shuffles for (the same on every rank)."""
        self.epoch = epoch
