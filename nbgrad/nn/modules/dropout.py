"""Dropout layers (issue 17): Dropout, Dropout1d, Dropout2d (PyTorch's arguments; active in train
mode only)."""

from __future__ import annotations

from ...ops.layers import _check_p
from ...tensor import Tensor
from .. import functional as F
from ..module import Module


class _DropoutNd(Module):
    fn = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return type(self).fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    pass


class Dropout1d(_DropoutNd):
    fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    fn = staticmethod(F.dropout2d)
