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
# scans and order (issue 16)
from ..ops.order import one_hot  # noqa: E402,F401


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    if inplace:
        return _maybe_inplace(x, lambda t: unary("relu", t), True)
    return unary("relu", x)


def relu_(x: Tensor) -> Tensor:
    return relu(x, inplace=True)


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
# ---------------------------------------------------------------- activations (issue 16)
from ..ops import activation as _A  # noqa: E402
from ..ops.activation import (  # noqa: E402, F401
    cosine_similarity, glu, normalize, pairwise_distance, softmin, softsign,
)


def _maybe_inplace(x: Tensor, fn: object, inplace: bool) -> Tensor:
    """fn(x), or (inplace) fn's result written into x, which takes over its history."""
    if not inplace:
        return fn(x)  # type: ignore[operator]
    return x._inplace_op(lambda t, _o: fn(t), None)  # type: ignore[operator]


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(input, _A.silu, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(input, _A.mish, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(input, lambda t: _A.leaky_relu(t, negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(input, lambda t: _A.elu(t, alpha), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(input, _A.selu, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(input, lambda t: _A.celu(t, alpha), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    return _A.softplus(input, beta, threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, lambda t: _A.hardtanh(t, min_val, max_val), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(input, _A.hardsigmoid, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return _maybe_inplace(input, _A.hardswish, inplace)


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return _A.log_sigmoid(input)
# ---------------------------------------------------------------- losses (issue 16)
from ..ops.loss import (  # noqa: E402, F401
    cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss, huber_loss, kl_div, margin_ranking_loss,
    poisson_nll_loss, smooth_l1_loss, soft_margin_loss, triplet_margin_loss,
)
