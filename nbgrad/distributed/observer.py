"""Communication events for tools (the debugger's event log): DDP reports each gradient-bucket
allreduce when it starts and when it is seen done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

_OBSERVERS: list[Callable[[CommEvent], None]] = []


@dataclass(frozen=True)
class CommEvent:
    """One communication step.

    phase: "start" (the non-blocking allreduce was issued) or "done" (seen complete: by a poll
    during backward or by the wait at its end). op: "all_reduce". source: "ddp". bucket: the
    bucket's index (0 is the first launched: the last parameters). iteration: DDP's backward
    count (0 for the first). nbytes: the bucket's size. names: its parameters' names as
    module.named_parameters() gives them, in bucket order. rank, world_size: this process's.
    time: time.perf_counter() when the event happened."""

    phase: str
    op: str
    source: str
    bucket: int
    iteration: int
    nbytes: int
    names: tuple[str, ...]
    rank: int
    world_size: int
    time: float


class ObserverHandle:
    """What register_comm_observer returns: remove() unregisters (also a context manager)."""

    def __init__(self, fn: Callable[[CommEvent], None]) -> None:
        self._fn = fn

    def remove(self) -> None:
        if self._fn in _OBSERVERS:
            _OBSERVERS.remove(self._fn)

    def __enter__(self) -> ObserverHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def register_comm_observer(fn: Callable[[CommEvent], None]) -> ObserverHandle:
    """Call fn(event) for every communication event in this process, in the order they happen,
    on the thread that runs backward (inside it: keep fn quick and do not call collectives)."""
    _OBSERVERS.append(fn)
    return ObserverHandle(fn)


def has_observers() -> bool:
    return bool(_OBSERVERS)


def emit(event: CommEvent) -> None:
    for fn in list(_OBSERVERS):
        fn(event)
