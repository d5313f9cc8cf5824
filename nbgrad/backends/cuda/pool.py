"""The caching allocator of device memory: freed buffers go back to a free list by dtype and size
class; during a CUDA graph capture, buffers belong to the graph's pool."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

import numpy as np
from numba import cuda

from .graph import GraphPool

# memo of the pool key every allocation computes (a training loop repeats its shapes)
_KEYS: dict[tuple, tuple] = {}  # (dtype, elements) -> the pool's (dtype string, size class) key


class Pool:
    """Caching allocator: freed buffers go back to a free list by (dtype, size class)."""

    def __init__(self) -> None:
        self.free: dict[tuple, list] = defaultdict(list)
        # a strong reference to every buffer handed out: a buffer is never part of cyclic
        # garbage (autograd graphs are cycles), whose collection would free its memory
        # before Storage.__del__ could put it back on a free list
        self.owned: dict[int, Any] = {}
        self.cached_bytes = 0
        self.total_bytes = 0  # every buffer the pool holds, handed out or cached
        self.peak_in_use = 0  # the most bytes handed out at once
        self.limit_bytes = 8 << 30
        self.capturing: GraphPool | None = None  # the pool of the CUDA graph being captured
        self.alloc_guard: Any = contextlib.nullcontext  # during capture: lets this thread allocate
        self.graph_owned: dict[int, GraphPool] = {}  # id(buffer) -> the graph pool it belongs to

    @staticmethod
    def size_class(n: int) -> int:
        if n <= 512:
            return 512
        p = 1 << (n - 1).bit_length()  # classes: p/2 * {1, 1.25, 1.5, 1.75, 2}
        for f in (5, 6, 7, 8):
            c = (p // 2) * f // 4
            if c >= n:
                return c
        return p

    def alloc(self, n: int, dtype: np.dtype) -> Storage:
        key = _KEYS.get((dtype, n))
        if key is None:
            if len(_KEYS) > 4096:
                _KEYS.clear()
            key = _KEYS[dtype, n] = (dtype.str, self.size_class(n))
        gp = self.capturing
        if gp is not None and gp.free.get(key):  # capturing: the graph's own free buffers first
            return Storage(gp.free[key].pop(), key, self)
        lst = self.free.get(key)
        if lst:
            buf = lst.pop()
            self.cached_bytes -= buf.nbytes
        else:
            with self.alloc_guard() if gp is not None else contextlib.nullcontext():
                try:
                    buf = cuda.device_array(key[1], dtype=dtype)
                except Exception:  # out of memory: drop the cache and try once more
                    self.empty_cache()
                    buf = cuda.device_array(key[1], dtype=dtype)
            self.owned[id(buf)] = buf
            self.total_bytes += buf.nbytes
        if gp is not None:
            self.graph_owned[id(buf)] = gp
            gp.members[id(buf)] = buf
        in_use = self.total_bytes - self.cached_bytes
        if in_use > self.peak_in_use:
            self.peak_in_use = in_use
        return Storage(buf, key, self)

    def give_back(self, key: tuple, buf: Any) -> None:
        if self.graph_owned or self.capturing is not None:
            gp = self.graph_owned.get(id(buf))
            if gp is None and self.capturing is not None:  # freed during capture: a replay may still read it
                gp = self.graph_owned[id(buf)] = self.capturing
                gp.members[id(buf)] = buf
            if gp is not None:
                gp.free[key].append(buf)
                return
        if self.cached_bytes + buf.nbytes <= self.limit_bytes:
            self.free[key].append(buf)
            self.cached_bytes += buf.nbytes
        elif self.owned.pop(id(buf), None) is not None:
            self.total_bytes -= buf.nbytes

    def release(self, gp: GraphPool) -> None:
        """The last graph of pool gp is gone: its free buffers back to the cache, and the ones in
        tensors back to it when those tensors die."""
        free = [(key, buf) for key, lst in gp.free.items() for buf in lst]
        gp.free.clear()
        for i in gp.members:
            self.graph_owned.pop(i, None)
        gp.members.clear()
        for key, buf in free:
            self.give_back(key, buf)

    def empty_cache(self) -> None:
        for lst in self.free.values():
            for buf in lst:
                self.owned.pop(id(buf), None)
        self.free.clear()
        self.total_bytes -= self.cached_bytes
        self.cached_bytes = 0


class Storage:
    __slots__ = ("buf", "key", "pool", "owner")

    def __init__(self, buf: Any, key: tuple | None, pool: Pool | None, owner: Any = None) -> None:
        self.buf, self.key, self.pool, self.owner = buf, key, pool, owner

    def __del__(self) -> None:
        if self.pool is not None:
            self.pool.give_back(self.key, self.buf)
