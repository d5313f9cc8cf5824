"""nbgrad: reverse-mode autograd with a PyTorch-shaped API and Numba kernels."""

from __future__ import annotations

from typing import Any

from .tensor import Size, Tensor  # first: it imports the ops, which import Tensor, once the class exists
from . import _methods  # noqa: F401  (installs Tensor methods)
from . import autograd
from ._device import device
from ._dtype import bool_, dtype, float32, float64, int8, int16, int32, int64, uint8
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange, as_tensor, empty, empty_like, eye, from_dlpack, from_numpy, full, full_like, get_default_device, linspace,
    manual_seed, set_default_device,
    ones, ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros, zeros_like,
)
from .ops.elementwise import add, clamp, div, maximum, minimum, mul, neg, pow, sub, unary, where
from .ops.linalg import ger, inner, matmul, outer
from .ops.reduce import argmax, argmin, logsumexp, log_softmax, max, mean, min, softmax, std, sum, var
from .ops.reduce import amax, amin, nanmean, nansum
from .ops.shape import cat, clone, flatten, permute, reshape, select, squeeze, stack, transpose, unsqueeze

# shape, split, index and scatter (issue 16)
from .ops.shape import (  # noqa: E402
    atleast_1d, atleast_2d, atleast_3d, chunk, column_stack, dstack, hstack, movedim, narrow, split, swapaxes,
    tensor_split, unbind, unflatten, vstack,
)
from .ops.shape import (  # noqa: E402
    broadcast_shapes, broadcast_tensors, broadcast_to, flip, fliplr, flipud, ravel, repeat_interleave, roll, tile,
)

from .ops.index import (  # noqa: E402
    argwhere, gather, index_add, index_copy, index_fill, index_select, masked_fill, masked_scatter, masked_select,
    nonzero, scatter, scatter_add, scatter_reduce, take, take_along_dim,
)

# scans, triangles and order (issue 16)
from .ops.scan import cummax, cummin, cumprod, cumsum, logcumsumexp, prod, tril, triu  # noqa: E402
from .ops.order import (  # noqa: E402
    all, any, argsort, bincount, bucketize, count_nonzero, histc, kthvalue, median, mode, searchsorted, sort,  # noqa: A004
    topk, unique,
)

moveaxis, swapdims = movedim, swapaxes

# linear algebra (issue 16)
from .ops.einsum import einsum  # noqa: E402
from .ops.linalg import (  # noqa: E402
    addmm, addmv, baddbmm, bmm, cdist, diag, diag_embed, diagonal, dot, kron, mm, mv, norm, tensordot, trace,
)
# more elementwise math (issue 16)
from .ops.elementwise import sgn, sign  # noqa: E402
from .ops.math import (  # noqa: E402
    acos, acosh, allclose, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin, asinh, atan, atan2, atanh,
    bitwise_and, bitwise_not, bitwise_or, bitwise_xor, ceil, cosh, digamma, equal, erf, erfc, erfinv, exp2, expm1, fix,
    floor, floor_divide, fmod, frac, hypot, isclose, isfinite, isinf, isnan, isneginf, isposinf, lerp, lgamma, log2,
    log10, logaddexp, logaddexp2, logical_and, logical_not, logical_or, logical_xor, nan_to_num, polygamma, reciprocal,
    remainder, round, rsqrt, sinh, square, tan, trunc, xlogy,
)
from .ops.math import (  # noqa: E402
    bitwise_left_shift, bitwise_right_shift, clamp_max, clamp_min, float_power, true_divide,
)
divide = div

bool = bool_  # noqa: A001
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001

from . import accelerator, cuda, nn, optim  # noqa: E402
from . import linalg  # noqa: E402  (linear algebra, issue 16)


def _u(op: str) -> Any:
    def f(x: Tensor) -> Tensor:
        return unary(op, x)

    f.__name__ = op
    return f


exp, log, log1p, sqrt, abs, sin, cos, tanh, sigmoid, relu = (  # noqa: A001
    _u(o) for o in ("exp", "log", "log1p", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu")
)
clip = clamp


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


__version__ = "0.1.0"

# ---- generators, randperm and checkpoints (issue 17, data)
from ._generator import Generator  # noqa: E402
from .creation import randperm  # noqa: E402
from . import utils  # noqa: E402
from .serialization import load, save  # noqa: E402
