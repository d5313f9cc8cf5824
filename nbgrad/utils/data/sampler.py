"""Sampler: the base of the index samplers a data loader draws from."""

from __future__ import annotations

from typing import Any, Iterator


class Sampler:
    """Yields dataset indices; subclasses implement __iter__ (and __len__ when they know it)."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")
