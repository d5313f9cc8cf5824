"""torch.nn.modules.activation's layers of issue 17: GELU and MultiheadAttention."""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from ..module import Module


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
