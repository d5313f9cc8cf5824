"""Layer ops (issue 17): gelu (a kernel per form, with a fused backward that is an op of its
own), dropout and embedding (compositions of existing differentiable ops)."""

from __future__ import annotations

import math


from ..tensor import Tensor
from . import derivatives_table as N
from ._core import ew, record
from .elementwise import _fused

_GELU = {"none": ("gelu", "gelu_bw"), "tanh": ("gelu_tanh", "gelu_tanh_bw")}


def _gelu_kernels(x: Tensor, approximate: str) -> tuple[str, str]:
    if approximate not in _GELU:
        raise RuntimeError("approximate argument must be either none or tanh.")
    if not x.dtype.is_floating_point:
        from .reduce import _TORCH_NAMES

        raise RuntimeError(f"\"GeluKernelImpl\" not implemented for '{_TORCH_NAMES.get(x.dtype.name, x.dtype.name)}'")
    return _GELU[approximate]


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (approximate='tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))))."""
    kernel, _ = _gelu_kernels(x, approximate)
    be = x._backend
    return record(N.GeluBackward0, ew(kernel, x._data, backend=be), (x,), be, approximate=approximate)


def gelu_backward(grad_output: Tensor, self: Tensor, approximate: str = "none") -> Tensor:
    """grad_output * gelu'(self), one kernel."""
    _, kernel = _gelu_kernels(self, approximate)
    return _fused(kernel, N.GeluBackwardBackward0, grad_output, self, approximate=approximate)


def gelu_double_backward(grad: Tensor, grad_output: Tensor, self: Tensor, approximate: str) -> Tensor:
    """d/dself of gelu_backward(grad_output, self): grad * grad_output * gelu''(self), composed
    of differentiable ops (so third derivatives work too)."""
    x = self
    if approximate == "none":
        pdf = (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
        return grad * grad_output * pdf * (2 - x * x)
    k, c = math.sqrt(2 / math.pi), 0.044715
    t = ((x + x * x * x * c) * k).tanh()
    du = (x * x * (3 * c) + 1) * k
    ddu = x * (6 * c * k)
    return grad * grad_output * (1 - t * t) * (du - x * t * du * du + x * ddu * 0.5)
