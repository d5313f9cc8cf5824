"""Matrix products (BLAS through the backend)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import mT
from ..autograd.function import Node
from ..tensor import Tensor
from ._core import record


class MmBackward0(Node):
    name = "MmBackward0"
    formula = "self: grad @ other^T; other: self^T @ grad"

    def backward(self, g: Any) -> tuple:
        a, b = self.saved("self"), self.saved("other")
        be = self.backend
        a2 = be.reshape(a, (1, -1)) if a.ndim == 1 else a
        b2 = be.reshape(b, (-1, 1)) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1 and b.ndim == 1:
            g2 = be.reshape(g2, (1, 1))
        elif a.ndim == 1:
            g2 = be.reshape(g2, g2.shape[:-1] + (1, g2.shape[-1]))
        elif b.ndim == 1:
            g2 = be.reshape(g2, g2.shape + (1,))
        ga = gb = None  # only the gradients an input needs (a network's input needs none)
        if self.next_functions[0][0] is not None:
            ga = be.matmul(g2, be.view(b2, mT))
            if a.ndim == 1:
                ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])
            ga = be.sum_to(ga, a.shape)  # sum over broadcast batch dims
        if self.next_functions[1][0] is not None:
            if (b2.ndim == 2 and a2.ndim == 2 and not be.is_contiguous(b2)
                    and be.is_contiguous(be.view(b2, np.transpose))):
                # other is a transposed view (x @ W.T): give its gradient the same layout, so
                # the weight's .grad comes out C-ordered (the optimizer's fast path)
                gb = be.view(be.matmul(be.view(g2, np.transpose), a2), np.transpose)
            else:
                gb = be.matmul(be.view(a2, mT), g2)
            if b.ndim == 1:
                gb = gb.reshape(gb.shape[:-1])
            gb = be.sum_to(gb, b.shape)
        return ga, gb


class MvBackward0(MmBackward0):
    name = "MvBackward0"


class DotBackward0(MmBackward0):
    name = "DotBackward0"


class BmmBackward0(MmBackward0):
    name = "BmmBackward0"


def matmul(a: Tensor, b: Tensor) -> Tensor:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): arguments must be Tensors")
    if a._backend is not b._backend:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {a.device} and {b.device}!"
        )
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != {b.dtype.name}"
        )
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, a.shape))} and "
            f"{'x'.join(map(str, b.shape))})"
        )
    if a.ndim > 2 or b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 2 else ())
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dimensions of shapes {list(a.shape)} and {list(b.shape)} cannot be broadcast"
            ) from None
    be = a._backend
    out = be.matmul(a._data, b._data)
    node = {(1, 1): DotBackward0, (2, 1): MvBackward0}.get((a.ndim, b.ndim))
    if node is None:
        node = MmBackward0 if a.ndim <= 2 and b.ndim <= 2 else BmmBackward0
    return record(node, out, (a, b), be, save={"self": a, "other": b})


class AddmmBackward0(Node):
    name = "AddmmBackward0"
    formula = "self (bias): grad summed over rows; mat1 (input): grad @ weight; mat2 (weight): grad^T @ input"

    def backward(self, g: Any) -> tuple:
        be = self.backend
        nf = self.next_functions
        gb = be.sum(g, (0,), False) if nf[0][0] is not None else None
        gx = be.matmul(g, self.saved("weight")) if nf[1][0] is not None else None
        # (out, in) like the weight itself: C-ordered, so .grad needs no copy and SGD its fast path
        gw = be.matmul(be.view(g, np.transpose), self.saved("input")) if nf[2][0] is not None else None
        return gb, gx, gw


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias. A 2-D x with a (out,) bias is one node, as in PyTorch (AddmmBackward0,
    without its TBackward0 of the weight); anything else is matmul then add."""
    if (bias is None or not isinstance(x, Tensor) or x.ndim != 2 or weight.ndim != 2
            or x._backend is not weight._backend or bias._backend is not x._backend
            or x.dtype is not weight.dtype or bias.dtype is not x.dtype or bias.shape != (weight.shape[0],)):
        out = matmul(x, weight.T)
        return out if bias is None else out + bias
    if x.shape[1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({x.shape[0]}x{x.shape[1]} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    be = x._backend
    out = be.addmm(bias._data, x._data, be.view(weight._data, np.transpose))
    return record(AddmmBackward0, out, (bias, x, weight), be, save={"input": x, "weight": weight})
