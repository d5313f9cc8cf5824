"""nbgrad.scalar: micrograd-compatible scalar autograd on a tape, backward in Numba."""

from . import nn
from ._tape import reset_tape
from .compile import CompiledFunction, compile
from .engine import Value
from .steps import BackwardStep, backward_steps


def tape_size() -> int:
    """Number of nodes currently on the module-level tape."""
    from . import engine
    return engine._T.n


__all__ = ["Value", "compile", "CompiledFunction", "backward_steps", "BackwardStep", "nn", "reset_tape", "tape_size"]
