"""DataLoader (torch.utils.data.dataloader) and the default collate / convert functions.

Batches are made in the calling process: num_workers, pin_memory, timeout, prefetch_factor and
persistent_workers are accepted (and checked as PyTorch checks them) but no worker processes are
started, so worker_init_fn is not called."""

from __future__ import annotations

import collections.abc as cabc
import itertools
from typing import Any, Callable, Iterator

import numpy as np

from ... import creation as C
from ...ops.shape import stack
from ...tensor import Tensor
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

_COLLATE_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _numpy_kind(x: Any) -> str | None:
    """'array' for a NumPy array, 'scalar' for a NumPy scalar, None otherwise; a TypeError for
    arrays of strings or objects (which no tensor holds)."""
    if isinstance(x, np.ndarray):
        kind = "array"
    elif isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_)):
        kind = "scalar"
    else:
        return None
    if x.dtype.char in "SaUO":
        raise TypeError(_COLLATE_ERR.format(x.dtype))
    return kind


def default_convert(data: Any) -> Any:
    """NumPy arrays and scalars in data (also inside dicts, tuples and lists) as tensors; the rest as it is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        return data if data.dtype.char in "SaUO" else C.as_tensor(np.asarray(data))
    if isinstance(data, cabc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)  # type: ignore[call-arg]
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # (a list, as PyTorch)
    if isinstance(data, cabc.Sequence) and not isinstance(data, (str, bytes)):
        items = [default_convert(d) for d in data]
        try:
            return type(data)(items)  # type: ignore[call-arg]
        except TypeError:
            return items
    return data


def default_collate(batch: list) -> Any:
    """A list of samples as one batch, as PyTorch's default_collate: tensors (and NumPy arrays)
    stacked along a new first dimension, floats as a float64 tensor, ints (and bools) as a tensor
    of their type, strings kept as a list; dicts, named tuples, tuples and lists element-wise (a
    tuple gives a list)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    kind = _numpy_kind(elem)
    if kind == "array":
        return default_collate([C.as_tensor(b) for b in batch])
    if kind == "scalar":
        return C.as_tensor(np.array(batch))
    if isinstance(elem, float):
        return C.tensor(batch, dtype="float64")
    if isinstance(elem, int):
        return C.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, cabc.Mapping):
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        try:
            return type(elem)(out)  # type: ignore[call-arg]
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        cols = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return cols  # (a list, as PyTorch)
        try:
            return type(elem)(cols)  # type: ignore[call-arg]
        except TypeError:
            return cols
    raise TypeError(_COLLATE_ERR.format(type(elem)))


def get_worker_info() -> None:
    """The worker's id, number of workers, seed and dataset copy, in a worker process; None in the
    main process, which is where nbgrad's DataLoader always loads."""
    return None


class _InfiniteConstantSampler(Sampler):
    """An iterable dataset's sampler: None forever (the dataset itself says what comes next)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


class _Iter:
    """One pass over a DataLoader (len() is the loader's)."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader, self._it = loader, loader._batches()

    def __iter__(self) -> _Iter:
        return self

    def __next__(self) -> Any:
        return next(self._it)

    def __len__(self) -> int:
        return len(self._loader)


class DataLoader:
    """Batches of a dataset's samples (PyTorch's DataLoader, loading in this process).

    Map-style datasets: indices come from `sampler` (default sequential, or random with
    shuffle=True, drawn from `generator`, an ng.Generator, or from nbgrad's global stream), are
    grouped by `batch_sampler` (default BatchSampler(sampler, batch_size, drop_last)), fetched
    (dataset.__getitems__(indices) where the dataset has it, else dataset[i] for each) and
    merged by collate_fn (default_collate). batch_size=None: no batching, default_convert per
    sample. Iterable datasets: batch_size samples at a time from iter(dataset)."""

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None, sampler: Any = None,
                 batch_sampler: Any = None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context: Any = None, generator: Any = None,
                 *, prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset, self.num_workers, self.pin_memory, self.timeout = dataset, num_workers, pin_memory, timeout
        self.worker_init_fn, self.multiprocessing_context, self.generator = worker_init_fn, multiprocessing_context, generator
        self.prefetch_factor, self.persistent_workers, self.in_order = prefetch_factor, persistent_workers, in_order
        self.pin_memory_device = pin_memory_device
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but got "
                                 f"batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last, self.sampler, self.batch_sampler = batch_size, drop_last, sampler, batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def _fetch(self, indices: Any) -> Any:
        ds = self.dataset
        if not self._auto_collation:
            return self.collate_fn(ds[indices])
        getitems = getattr(ds, "__getitems__", None)
        return self.collate_fn(getitems(indices) if callable(getitems) else [ds[i] for i in indices])

    def _batches(self) -> Iterator[Any]:
        if not self._iterable:
            for indices in self._index_sampler:
                yield self._fetch(indices)
            return
        it = iter(self.dataset)
        if not self._auto_collation:
            for sample in it:
                yield self.collate_fn(sample)
            return
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)

    def __iter__(self) -> _Iter:
        return _Iter(self)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)


