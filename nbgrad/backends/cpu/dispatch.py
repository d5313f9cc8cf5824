"""How CPU kernels are made and picked: every cached Numba kernel of the CPU backend comes from
`kernel` (one variant) or `variants` (a serial and a parallel variant of one Python body), and
`Variants.pick` runs the parallel one only from a size where waking the threads pays.

Numba's on-disk cache names an entry after the function's qualified name and first line, and
keys it by signature and bytecode, not by compile options: `njit(parallel=True)(f)` and
`njit(parallel=False)(f)` of one function would share one entry, and whichever compiled first
would be loaded for both. So each variant is compiled from its own copy of the function with a
qualified name of its own. That name also carries a digest of the device-function modules
kernels call across files (cpu/vecmath.py, backends/shared/): Numba checks only the kernel's own
file for changes, so without it an edit there would leave stale cached kernels. Device functions
(the helpers kernels call) are not cached themselves: they compile into each kernel, so a
kernel compiled afresh never links a stale helper."""

from __future__ import annotations

import hashlib
import pathlib
import types
from typing import Any, Callable, NamedTuple

from numba import njit

# Below these sizes a kernel runs serially. With OMP_WAIT_POLICY=PASSIVE the workers sleep
# between kernels and waking them costs tens of microseconds per parallel kernel, so a kernel
# goes parallel only when its serial time is well above that.
PARALLEL_THRESHOLD = 1 << 18  # kernels doing transcendental math per element (exp, tanh, softmax rows)
PARALLEL_THRESHOLD_CHEAP = 1 << 20  # memory-bound kernels (+, *, comparisons, sums, copies)

# `reassoc` lets LLVM split a running sum into vector lanes (a different but no less accurate
# order of float64 additions); nothing else in the kernels is relaxed
SUM_FLAGS = {"reassoc"}

_HERE = pathlib.Path(__file__).parent
# the modules whose functions kernels in other files call (see the module docstring)
DEVICE_FUNCTION_SOURCES = (_HERE / "vecmath.py", *sorted((_HERE.parent / "shared").glob("*.py")))


def _digest(paths: tuple) -> str:
    h = hashlib.sha1()
    for p in paths:
        try:
            h.update(p.read_bytes())
        except OSError:  # (no sources: Numba cannot cache either)
            pass
    return h.hexdigest()[:12]


DIGEST = _digest(DEVICE_FUNCTION_SOURCES)


def _compiled(fn: Callable, parallel: bool, tag: str, options: dict) -> Any:
    """njit of a copy of fn with a qualified name of its own (see the module docstring)."""
    f = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    f.__qualname__ = f"{fn.__qualname__}__{tag}_{DIGEST}"
    f.__module__, f.__doc__ = fn.__module__, fn.__doc__
    return njit(cache=True, parallel=parallel, **options)(f)


def kernel(fn: Callable | None = None, *, parallel: bool = False, **options: Any) -> Any:
    """A cached kernel of one variant (`@kernel`, `@kernel(parallel=True, nogil=True)`)."""
    def make(f: Callable) -> Any:
        return _compiled(f, parallel, "p" if parallel else "s", options)
    return make(fn) if fn is not None else make


class Variants(NamedTuple):
    """A serial and a parallel kernel compiled from one body (its prange loops run serially in
    the serial one). On a busy machine one parallel launch can wait a whole scheduler tick for a
    worker, so small inputs stay on the calling thread."""

    serial: Any
    parallel: Any

    def pick(self, size: int, threshold: int = PARALLEL_THRESHOLD) -> Any:
        return self.parallel if size >= threshold else self.serial


def variants(fn: Callable | None = None, **options: Any) -> Any:
    """Variants(serial, parallel) of one body (`@variants`, `@variants(nogil=True)`)."""
    def make(f: Callable) -> Variants:
        return Variants(_compiled(f, False, "s", options), _compiled(f, True, "p", options))
    return make(fn) if fn is not None else make

