"""Numba set-up for the CPU kernels: the cache location (next to the source when writable, else
a user cache dir) and the OpenMP wait policy."""

import os
import tempfile


def ensure_cache_dir() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    if os.access(here, os.W_OK):
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    target = os.path.join(base, "nbgrad", "numba")
    try:
        os.makedirs(target, exist_ok=True)
    except OSError:
        target = os.path.join(tempfile.gettempdir(), "nbgrad-numba-cache")
        os.makedirs(target, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = target


def prepare() -> None:
    """Set Numba up before it is first imported: the cache location, and OpenMP workers that
    sleep between kernels. Numba's OpenMP workers (GNU libgomp) spin after every parallel kernel
    unless told otherwise; with any other work on the machine, or next to BLAS / torch thread
    pools, the spinning takes the cores the next kernel needs (an MLP step ran several times
    slower on a busy 2-core machine). The user's setting wins; it must be in place before the
    first parallel kernel starts the thread pool."""
    ensure_cache_dir()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
