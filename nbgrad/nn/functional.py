"""nn.functional: activations and losses (PyTorch names and defaults)."""

from __future__ import annotations


from ..ops.elementwise import unary
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss,
)
from ..ops.reduce import log_softmax, softmax  # noqa: F401
from ..tensor import Tensor

# shape and repeat (issue 16)
from ..ops.shape import pad  # noqa: E402,F401


def relu(x: Tensor) -> Tensor:
    return unary("relu", x)


def tanh(x: Tensor) -> Tensor:
    return unary("tanh", x)


def sigmoid(x: Tensor) -> Tensor:
    return unary("sigmoid", x)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if input.shape != target.shape:
        raise ValueError(f"Using a target size ({list(target.shape)}) that is different to the input size "
                         f"({list(input.shape)}) is deprecated. Please ensure they have the same size.")
    d = (input - target).abs()
    return d if reduction == "none" else (d.mean() if reduction == "mean" else d.sum())


