"""Whether nothing but a given array refers to its memory, told by reference count.

Every view of one piece of memory holds one object (a NumPy array's base, a CUDA array's
storage); when nothing else refers to that object, the memory is the view's alone and the
engine may keep it as a leaf's .grad without a copy (as PyTorch's AccumulateGrad steals a
gradient whose use count is 1). How many references "nothing else" amounts to depends on the
interpreter, so it is calibrated once, on an object made for the purpose."""

from __future__ import annotations

import sys
from typing import Any, Callable


class SoleHolder:
    """Counts the references to `view.<attr>` (the object every view of the memory holds)."""

    __slots__ = ("attr", "sole")

    def __init__(self, attr: str, sample: Callable[[], Any]) -> None:
        self.attr = attr
        self.sole = self.refs(sample())  # a view whose holder nothing else refers to

    def refs(self, view: Any) -> int:
        """References to the holder: the view's own, this frame's `holder`, getrefcount's
        argument, and any other (a caller must not keep one of its own in a local)."""
        holder = getattr(view, self.attr)
        return sys.getrefcount(holder)

    def is_sole(self, view: Any, extra: int = 0) -> bool:
        """Nothing but the view (and `extra` other views) refers to the holder."""
        return self.refs(view) == self.sole + extra
