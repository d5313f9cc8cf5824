"""Matrix products (BLAS through the backend)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import Tensor
from . import derivatives_table as N
from ._core import record
from .. import _dtype as _D
from .. import creation as _C
from . import elementwise as _E
from . import reduce as _R
from . import shape as _S


def matmul(a: Tensor, b: Tensor) -> Tensor:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): arguments must be Tensors")
    ad, bd = a._data, b._data
    sa, sb = ad.shape, bd.shape
    be = a._backend
    if len(sb) == 2 and 0 < len(sa) < 3 and sa[-1] == sb[0] and ad.dtype == bd.dtype and b._backend is be:
        node = N.MmBackward0  # (n, k) or (k,) @ (k, m): the common cases, checked in one line
    else:
        node = _matmul_node(a, b, sa, sb)
    return record(node, be.matmul(ad, bd), (a, b), be)


def _matmul_node(a: Tensor, b: Tensor, sa: tuple, sb: tuple) -> type:
    """The node of a matmul of these shapes, after matmul's checks (PyTorch's errors)."""
    if a._backend is not b._backend:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {a.device} and {b.device}!"
        )
    na, nb = len(sa), len(sb)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != {b.dtype.name}"
        )
    if sa[-1] != (sb[0] if nb == 1 else sb[-2]):
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, sa))} and {'x'.join(map(str, sb))})"
        )
    if na > 2 or nb > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2] if nb > 2 else ())
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dimensions of shapes {list(sa)} and {list(sb)} cannot be broadcast"
            ) from None
    if na == 1:
        return N.DotBackward0 if nb == 1 else N.MmBackward0
    if nb == 1:
        return N.MvBackward0 if na == 2 else N.BmmBackward0
    return N.MmBackward0 if na == 2 and nb == 2 else N.BmmBackward0


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
    out = be.addmm(bias._data, x._data, be.swapaxes(weight._data, 0, 1))
    return record(N.AddmmBackward0, out, (bias, x, weight), be)


def linear_backward(grad: Tensor, input: Tensor, weight: Tensor,  # noqa: A002
                    output_mask: tuple[bool, bool, bool]) -> tuple[Tensor | None, ...]:
    """The gradients of linear(input, weight, bias) with a 2-D input and an (out,) bias, each where
    output_mask asks: (grad.sum(0), grad @ weight, grad.mT @ input). In a plain backward the
    backend's products and row sum on the arrays; in a create_graph backward the same from
    nbgrad's differentiable ops (so they are differentiable again)."""
    need_b, need_x, need_w = output_mask
    if is_grad_enabled():
        return (grad.sum(0) if need_b else None, grad @ weight if need_x else None,
                grad.mT @ input if need_w else None)
    be, g, wrap = grad._backend, grad._data, Tensor._wrap
    return (wrap(be.sum(g, (0,), False), be) if need_b else None,
            wrap(be.matmul(g, weight._data), be) if need_x else None,
            wrap(be.matmul(be.swapaxes(g, 0, 1), input._data), be) if need_w else None)


def outer(a: Tensor, b: Tensor) -> Tensor:
    """The outer product of two vectors: out[i, j] = a[i] * b[j]."""
    for name, t in (("self", a), ("vec2", b)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    if a._backend is not b._backend:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {a.device} and {b.device}!"
        )
    be = a._backend
    if a._data.dtype != b._data.dtype:
        dt = _D.promote(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    out = be.matmul(be.reshape(a._data, (-1, 1)), be.reshape(b._data, (1, -1)))
    return record(N.OuterBackward0, out, (a, b), be)


# ---------------------------------------------------------------- linear algebra (issue 16)
def _dims(t: Tensor) -> str:
    return "x".join(map(str, t.shape))


def _same_backend(*ts: Tensor) -> None:
    for t in ts:
        if not isinstance(t, Tensor):
            raise TypeError(f"expected a Tensor, but got {type(t).__name__}")
    for t in ts[1:]:
        if t._backend is not ts[0]._backend:
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                               f"{ts[0].device} and {t.device}!")


def _same_dtype(a: Tensor, b: Tensor, what: str) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{what}, but got: {_tname(a)} != {_tname(b)}")


def _tname(t: Tensor) -> str:
    return {"float32": "float", "float64": "double", "int64": "long", "int32": "int"}.get(t.dtype.name, t.dtype.name)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """The inner product of two 1-D tensors of the same length."""
    a, b = input, tensor
    _same_backend(a, b)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have "
                           f"the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_tname(a).capitalize()} and "
                           f"{_tname(b).capitalize()}")
    return matmul(a, b)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix (n, m) times vector (m,)."""
    _same_backend(input, vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({_dims(input)}), vec ({vec.shape[0]})")
    _same_dtype(input, vec, "expected m1 and m2 to have the same dtype")
    return matmul(input, vec)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix (n, m) times matrix (m, p); no broadcasting."""
    _same_backend(input, mat2)
    if input.ndim != 2:
        raise RuntimeError(f"self must be a matrix, got {input.ndim}-D tensor of shape {list(input.shape)}")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor of shape {list(mat2.shape)}")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p); no broadcasting."""
    _same_backend(input, mat2)
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor, got {t.ndim}-D tensor of shape {list(t.shape)}")
    want = [input.shape[0], input.shape[2]]
    if list(mat2.shape[:2]) != want:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: {want} but got: "
                           f"{list(mat2.shape[:2])}.")
    return matmul(input, mat2)


def _add_scaled(input: Tensor, prod: Tensor, beta: Any, alpha: Any) -> Tensor:
    """beta * input + alpha * prod, input broadcast to prod's shape (and ignored when beta is 0)."""
    shape, have = tuple(prod.shape), tuple(input.shape)
    lead = len(shape) - len(have)
    for i in reversed(range(len(have))):
        if lead < 0 or have[i] not in (1, shape[i + lead]):
            d = max(i + lead, 0)
            raise RuntimeError(f"The expanded size of the tensor ({shape[d]}) must match the existing size ({have[i]}) "
                               f"at non-singleton dimension {d}.  Target sizes: {list(shape)}.  Tensor sizes: "
                               f"{list(have)}")
    out = prod if alpha == 1 else prod * alpha
    if beta == 0:  # input is not read (its nan and inf do not propagate); its gradient is zeros
        if not input.requires_grad:
            return out
        return _E.where(_C.tensor(True, device=out.device), out, input)
    return out + (input if beta == 1 else input * beta)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2)."""
    _same_backend(input, mat1, mat2)
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    for name, t in (("self", input), ("mat1", mat1)):
        if t.dtype is not mat2.dtype:
            raise RuntimeError(f"{name} and mat2 must have the same dtype, but got {_tname(t).capitalize()} and "
                               f"{_tname(mat2).capitalize()}")
    if (beta == 1 and alpha == 1 and input.shape == (mat2.shape[1],) and mat1.shape[1] == mat2.shape[0]
            and input.dtype is mat1.dtype is mat2.dtype):
        return linear(mat1, mat2.mT, input)  # one fused node (AddmmBackward0)
    return _add_scaled(input, matmul(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    _same_backend(input, mat, vec)
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}")
    if mat.shape[1] != vec.shape[0] or input.shape not in ((), (1,), (mat.shape[0],)):
        raise RuntimeError(f"size mismatch, got input ({', '.join(map(str, input.shape))}), mat ({_dims(mat)}), "
                           f"vec ({vec.shape[0]})")
    if not input.dtype is mat.dtype is vec.dtype:
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{', '.join(_tname(t).capitalize() for t in (input, mat))}, and {_tname(vec).capitalize()}")
    return _add_scaled(input, mv(mat, vec), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2), batched."""
    _same_backend(input, batch1, batch2)
    if not input.dtype is batch1.dtype is batch2.dtype:
        raise RuntimeError(f"Input dtypes must be the same, got: input {_tname(input)}, batch1: {_tname(batch1)}, "
                           f"batch2: {_tname(batch2)}")
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha)


def _promoted(*ts: Tensor) -> list:
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = _D.promote(dt, t.dtype)
    return [t if t.dtype is dt else t.to(dt) for t in ts]


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: out[i * m + j] = a[i] * b[j] along every dimension."""
    _same_backend(input, other)
    a, b = _promoted(input, other)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    ai = a.reshape(*[s for d in sa for s in (d, 1)])
    bi = b.reshape(*[s for d in sb for s in (1, d)])
    return (ai * bi).reshape(*[x * y for x, y in zip(sa, sb)])


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Any = None) -> Tensor:
    """Sum of products over the dims of a in dims[0] and of b in dims[1] (an int n: a's last n and
    b's first n); the result's dims are a's free dims then b's."""
    if out is not None:
        raise NotImplementedError("tensordot(out=...) is not supported")
    _same_backend(a, b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        n = int(dims)
        if n < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={n}")
        if n > a.ndim or n > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={n}")
        da, db = list(range(-n, 0)), list(range(n))
    else:
        da, db = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")

    wa, wb = [_S.wrap_dim(d, a.ndim) for d in da], [_S.wrap_dim(d, b.ndim) for d in db]
    for i, j, x, y in zip(wa, wb, da, db):
        if a.shape[i] != b.shape[j] and a.shape[i] != 1 and b.shape[j] != 1:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {x} "
                               f"and second has size {b.shape[j]} in dim {y}")
    if len(set(wa)) != len(wa) or len(set(wb)) != len(wb):
        raise RuntimeError(f"tensordot: a dim appears twice in dims {[da, db]}")

    la = [("a", i) for i in range(a.ndim)]
    lb = [("b", j) for j in range(b.ndim)]
    for i, j in zip(wa, wb):
        lb[j] = la[i]
    keep = [x for x in la if x not in lb] + [x for x in lb if x not in la]
    if a.dtype is not b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    t, labels = _ES.contract_pair(a, b, la, lb, keep)
    return t.permute(*[labels.index(x) for x in keep]) if labels != keep else t


def inner(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Sum of products over the last dims (a product when either is 0-d); the result's dims are
    input's other dims then other's."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def ger(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """outer (its older name)."""
    return outer(input, vec2)


# ---------------------------------------------------------------- diagonals
def _diag_dims(ndim: int, offset: int, dim1: int, dim2: int, shape: tuple) -> tuple[int, int, int, int, int]:
    """(d1, d2, its length, first row, first column) of the diagonal `offset` of dims dim1, dim2."""
    d1, d2 = _S.wrap_dim(dim1, ndim), _S.wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    r0, c0 = max(-offset, 0), max(offset, 0)
    n = max(min(shape[d1] - r0, shape[d2] - c0), 0) if shape else 0
    return d1, d2, n, r0, c0


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal `offset` of the dims dim1, dim2 (a view), as the last dim of the result."""
    x = input
    d1, d2 = _diag_dims(x.ndim, offset, dim1, dim2, tuple(x.shape))[:2]
    out = x._backend.diagonal(x._data, int(offset), d1, d2)
    t = record(N.DiagonalBackward0, out, (x,), x._backend, offset=offset, dim1=d1, dim2=d2)
    return _S._as_view(t, x, lambda b: diagonal(b, offset, dim1, dim2), always=True)


def _embed(v: Tensor, rows: int, cols: int, offset: int) -> Tensor:
    """(..., rows, cols) zeros with v's last dim on the diagonal `offset`: v times a one-hot
    (n, cols) matrix, then rows of zeros above and below."""
    n = v.shape[-1]
    r0, c0 = max(-offset, 0), max(offset, 0)
    onehot = np.zeros((n, cols), dtype=v.dtype.np)
    onehot[np.arange(n), np.arange(n) + c0] = 1
    m = v.unsqueeze(-1) * _C.tensor(onehot, device=v.device)
    return _S.pad(m, (0, 0, r0, rows - r0 - n)) if rows != n else m


def diagonal_backward(grad: Tensor, shape: tuple, offset: int, dim1: int, dim2: int) -> Tensor:
    """diagonal()'s gradient: zeros of the input's shape with grad on the diagonal."""
    return _S.movedim(_embed(grad, shape[dim1], shape[dim2], offset), (-2, -1), (dim1, dim2))


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose diagonals `offset` of dims dim1, dim2 are input's last dim; zeros elsewhere."""
    x = input
    d1, d2 = _S.wrap_dim(dim1, x.ndim + 1), _S.wrap_dim(dim2, x.ndim + 1)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = x.shape[-1] + abs(offset)
    return _S.movedim(_embed(x, n, n, offset), (-2, -1), (d1, d2))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input: the square matrix with input on its diagonal `diagonal`; a 2-D input: that
    diagonal, as a new tensor."""
    x = input
    if x.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x.ndim == 2:
        return _S.clone(globals()["diagonal"](x, diagonal))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")


def trace(input: Tensor) -> Tensor:
    """The sum of a matrix's main diagonal."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


# ---------------------------------------------------------------- norms
_INF = float("inf")


def _reduce_axes(x: Tensor, dim: Any) -> tuple[int, ...]:
    if isinstance(dim, (list, tuple)) and not dim:
        dim = None
    return _R._axes(x, dim)


def _extreme_over(x: Tensor, axes: tuple, keepdim: bool, want_max: bool) -> Tensor:
    """max (or min) over several axes at once (no gradient)."""
    rest = [d for d in range(x.ndim) if d not in axes]
    n = math.prod(x.shape[d] for d in axes)
    t = x.permute(*rest, *axes).reshape(*[x.shape[d] for d in rest], n) if axes else x.unsqueeze(-1)
    if t.numel() == 0:  # (the reduced dims are not empty: no output elements)
        v = Tensor._wrap(x._backend.full(tuple(t.shape[:-1]), 0, x.dtype.np), x._backend)
    else:
        v = (t.max(-1) if want_max else t.min(-1)).values
    return v.reshape(*[1 if d in axes else x.shape[d] for d in range(x.ndim)]) if keepdim else v


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.vector_norm: (sum |x|^ord)^(1/ord) over dim (all dims when None); ord inf /
    -inf: the largest / smallest |x|; ord 0: the number of nonzeros."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.vector_norm(): argument 'input' must be Tensor, not {type(x).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_tname(x).capitalize()}")
    if isinstance(ord, str) or isinstance(ord, bool):
        raise TypeError(f"linalg.vector_norm(): argument 'ord' must be a number, not {type(ord).__name__}")
    p = float(ord)
    axes = _reduce_axes(x, dim)
    if abs(p) == _INF and any(x.shape[d] == 0 for d in axes):
        empty = [d for d in axes if x.shape[d] == 0]
        if dim is None:
            raise RuntimeError("linalg.vector_norm cannot compute the inf norm on an empty tensor because the "
                               "operation does not have an identity")
        raise RuntimeError(f"linalg.vector_norm cannot compute the inf norm on the dimension {empty[0]}because "
                           "this dimension is empty and the operation does not have an identity")
    with no_grad():
        a = x.abs()
        if p == _INF or p == -_INF:
            out = _extreme_over(a, axes, keepdim, p > 0)
        elif p == 0:
            out = _E.compare("ne", x, 0).sum(axes, keepdim=keepdim).to(x.dtype)
        elif p == 1:
            out = a.sum(axes, keepdim=keepdim)
        elif p == 2:
            out = (x * x).sum(axes, keepdim=keepdim).sqrt()
        else:
            out = (a ** p).sum(axes, keepdim=keepdim) ** (1.0 / p)
    return record(N.LinalgVectorNormBackward0, out._data, (x,), x._backend, ord=p, dim=axes, keepdim=keepdim)


def norm_backward(grad: Tensor, self: Tensor, ord: float, result: Tensor, dim: tuple, keepdim: bool) -> Tensor:
    """vector_norm's gradient, 0 where the norm is 0 (as PyTorch): sgn(x) |x|^(p-1) / norm^(p-1)
    times grad; inf / -inf: spread evenly over the elements that attain the norm."""
    from .grad_helpers import sum_backward  # lazy as in derivatives_table._namespace: it imports every ops module

    p = ord
    if not keepdim and dim:
        grad, result = (sum_backward(t, tuple(self.shape), dim, False) for t in (grad, result))
    if p == 0:
        return _C.zeros_like(self)
    if p == 1:
        return _E.sgn(self) * grad
    zero = result == 0
    safe = _E.where(zero, 1.0, result)  # (no division by zero where the gradient is 0 anyway)
    if p == 2:
        return self * _E.where(zero, 0.0, grad / safe)
    if abs(p) == _INF:
        mask = (self.abs() == result).to(self.dtype)
        return _E.sgn(self) * mask * (grad / mask.sum(dim, keepdim=True))
    if p < 1:
        scaled = _E.where(self == 0, 0.0, _E.sgn(self) * self.abs() ** (p - 1))
        return scaled * grad * result ** (1 - p)
    if p < 2:
        return _E.sgn(self) * self.abs() ** (p - 1) * _E.where(zero, 0.0, grad / safe ** (p - 1))
    return self * self.abs() ** (p - 2) * _E.where(zero, 0.0, grad / safe ** (p - 1))


def _even_extreme(x: Tensor, dim: int, keepdim: bool, want_max: bool) -> Tensor:
    """amax / amin over one dim, the gradient shared evenly by ties (as PyTorch's amax)."""
    m = (x.max(dim, keepdim=True) if want_max else x.min(dim, keepdim=True)).values.detach()
    mask = (x == m).to(x.dtype)
    out = m + ((x - m) * mask).sum(dim, keepdim=True) / mask.sum(dim, keepdim=True)
    return out if keepdim else out.squeeze(dim)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """torch.linalg.matrix_norm: 'fro', or ord 1 / -1 (largest / smallest column sum of |A|) and
    inf / -inf (row sums). 'nuc', 2 and -2 need singular values, which nbgrad does not compute."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (_S.wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if dtype is not None:
        A = A.to(dtype)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs the singular values of the matrix, and "
                                  "nbgrad has no SVD; ord 'fro', 1, -1, inf and -inf are supported")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if isinstance(ord, str) or ord not in (1, -1, _INF, -_INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if not A.dtype.is_floating_point:
        raise RuntimeError("linalg.matrix_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_tname(A).capitalize()}")
    summed, over = (d0, d1) if abs(ord) == 1 else (d1, d0)
    s = A.abs().sum(summed, keepdim=True)
    out = _even_extreme(s, over, True, ord > 0)
    return out if keepdim else out.squeeze((d0, d1))


def linalg_norm(input: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: a vector norm over one dim, a matrix norm over two (ord None: the
    2-norm of the flattened input, or 'fro')."""
    A = input
    if isinstance(ord, str) and dim is not None and (isinstance(dim, (int, np.integer)) or len(dim) != 2):
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    if dim is not None and len(dim) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.ndim}D.")
        dim = tuple(range(A.ndim))
    if isinstance(ord, str) or len(dim) == 2:
        return matrix_norm(A, ord, tuple(dim), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """torch.norm (and Tensor.norm): a number p is the vector p-norm over dim (all dims when
    None); 'fro' the 2-norm over them; 'nuc' the nuclear norm."""
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    if p == "nuc":
        return matrix_norm(input, "nuc", dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    if isinstance(p, str) and p != "fro":
        raise RuntimeError(f"norm(): p={p!r} is not supported (a number, 'fro' or 'nuc')")
    return vector_norm(input, 2 if p in ("fro", None) else p, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------- distances
_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M):
    (..., P, R). For p = 2 with more than 25 rows (or compute_mode 'use_mm_for_euclid_dist')
    through one matrix product, as PyTorch; else the norm of the differences."""
    _same_backend(x1, x2)
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {_tname(t).capitalize()}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"expected scalar type {_tname(x1).capitalize()} but found {_tname(x2).capitalize()}")
    P, R = x1.shape[-2], x2.shape[-2]
    mm_mode = p == 2 and (compute_mode == _CDIST_MODES[1] or (compute_mode == _CDIST_MODES[0] and (P > 25 or R > 25)))
    if mm_mode:
        n1 = (x1 * x1).sum(-1, keepdim=True)
        n2 = (x2 * x2).sum(-1, keepdim=True)
        d2 = n1 - 2 * matmul(x1, x2.mT) + n2.mT
        return d2.clamp(min=1e-30).sqrt()
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


# einsum imports linalg's _same_backend: imported once it exists
from . import einsum as _ES  # noqa: E402
