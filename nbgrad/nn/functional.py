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


# ---------------------------------------------------------------- convolution and pooling (issue 17)
from ..ops.conv import (  # noqa: E402, F401
    adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d, conv1d, conv2d, conv_transpose1d,
    conv_transpose2d, interpolate, max_pool1d, max_pool2d,
)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002, ANN001
                            ceil_mode: bool = False, return_indices: bool = False):  # noqa: ANN201
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",  # noqa: A002, ANN001
             align_corners=None) -> Tensor:  # noqa: ANN001
    return interpolate(input, size, scale_factor, mode, align_corners)

# ---- layers (issue 17): gelu, normalisation, dropout, embedding, attention
from ..ops.layers import gelu  # noqa: E402, F401
from ..ops.norm import batch_norm, group_norm, layer_norm, rms_norm  # noqa: E402, F401
from ..ops.layers import dropout, dropout1d, dropout2d, embedding  # noqa: E402, F401
from ..ops.attention import multi_head_attention, scaled_dot_product_attention  # noqa: E402, F401
