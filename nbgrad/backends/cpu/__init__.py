"""The CPU backend: NumPy arrays for storage and layout, Numba kernels for math, BLAS for
matrix products. backend.py is the Backend; operands.py prepares elementwise operands for the
kernels; dispatch.py makes and picks serial / parallel kernels; vecmath.py holds the device
functions kernels share; kernels/ holds the kernels by family; codegen.py writes the
elementwise kernel bodies (kernels/_elementwise.py)."""

from typing import Any

from ._numba_setup import prepare

prepare()  # before Numba is imported


def __getattr__(name: str) -> Any:
    if name == "CpuBackend":  # imported on first use (the code generator runs without it)
        from .backend import CpuBackend

        return CpuBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
