"""Convolution and pooling (issue 17): conv1d / conv2d / conv_transpose2d through im2col and the
backend's matmul (BLAS on the CPU, the tiled kernel on CUDA), max pooling with torch's indices,
average and adaptive average pooling, nearest-neighbour upsampling and the non-zero padding modes.

Three ops carry every convolution's derivatives (ConvolutionBackward0 and the two entries after
it in the derivatives table): `convolution` (x, w -> y), `convolution_backward_input` (g, w ->
the input gradient: col2im of w^T g, which is also the transposed convolution) and
`convolution_backward_weight` (g, x -> the weight gradient: g times im2col(x)^T). Each one's
gradients are the other two, so derivatives of any order work. Average pooling is a convolution
with a ones kernel over the (image * channel) planes, adaptive average pooling two matmuls with
averaging matrices, interpolation and the padding modes are advanced indexing: all composed of
differentiable ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Tensor
from . import derivatives_table as T
from ._core import record
from . import shape as _S


# ---------------------------------------------------------------- arguments
def _tuple(v: Any, n: int, name: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                           f"convolution dimensions, but got {name}={list(v)}")
    return v


def _same_device(*ts: Tensor | None) -> None:
    devs = {t.device for t in ts if t is not None}
    if len(devs) > 1:
        a, b = sorted(str(d) for d in devs)[:2]
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, {a} and {b}!")


def _type_name(t: Tensor) -> str:
    kind = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int"}
    return f"torch.{kind.get(t.dtype.name, t.dtype.name)}Tensor"


def _const(a: np.ndarray, like: Tensor) -> Tensor:
    return Tensor._wrap(like._backend.asarray(np.ascontiguousarray(a, dtype=like.dtype.np)), like._backend)


def _ints(shape: Any) -> tuple:
    return tuple(int(s) for s in shape)


# ---------------------------------------------------------------- the three convolution ops
def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple, padding: tuple,  # noqa: A002
                dilation: tuple, groups: int, out_hw: tuple | None = None) -> Tensor:
    """The 2-D convolution of (N, C, H, W) input by (Cout, C // groups, kh, kw) weight (zero
    padding; out_hw: an output size larger than the natural one reads zeros past the bottom and
    right edges, which is how 'same' and ceil-mode windows pad asymmetrically). One product of
    the weight and the columns of the whole batch, the bias added in place, then one copy that
    puts the channels second. The columns are kept for the weight's gradient when they take no
    more memory than twice the output."""
    be = input._backend
    x, w = input._data, weight._data
    n, _, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    if out_hw is None:
        out_hw = (_out(h, kh, stride[0], padding[0], dilation[0]), _out(wd, kw, stride[1], padding[1], dilation[1]))
    out_hw = _ints(out_hw)
    L = out_hw[0] * out_hw[1]
    cols = be.im2col(x, (kh, kw), stride, padding, dilation, out_hw)  # (C * kh * kw, N * L)
    kg = cg * kh * kw
    if groups == 1:
        y = be.matmul(be.reshape(w, (cout, kg)), cols)
    else:
        y = be.matmul(be.reshape(w, (groups, cout // groups, kg)), be.reshape(cols, (groups, kg, n * L)))
    y = be.reshape(y, (cout, n * L))
    if bias is not None:
        b = be.reshape(bias._data, (cout, 1))
        y = be.elementwise("add", [y, b], y.shape, y.dtype, out=y)
    y = be.reshape(y, (cout, n, L))
    yt = be.permute(y, (1, 0, 2))  # (N, Cout, L)
    y = be.reshape(yt if n == 1 else be.contiguous(yt), (n, cout) + out_hw)
    keep = weight.requires_grad and cols.size <= 2 * y.size
    columns = Tensor._wrap(cols, be) if keep else None
    extra = {"bias": None} if bias is None else {}  # (check_node: an input the forward had as None)
    return record(T.ConvolutionBackward0, y, (input, weight, bias), be, save={"columns": columns}, stride=stride,
                  padding=padding, dilation=dilation, groups=groups, out_hw=out_hw, **extra)


def convolution_backward_input(grad: Tensor, weight: Tensor, input_shape: tuple, stride: tuple, padding: tuple,
                               dilation: tuple, groups: int) -> Tensor:
    """The gradient of convolution's input for output gradient `grad`: col2im(w^T @ grad), a
    product per image (also the transposed convolution of `grad` by `weight`)."""
    be = grad._backend
    g, w = grad._data, weight._data
    n, cout, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    kg = cg * kh * kw
    L = oh * ow
    if groups == 1:
        cols = be.matmul(be.swapaxes(be.reshape(w, (cout, kg)), 0, 1), be.reshape(g, (n, cout, L)))
    else:
        wt = be.swapaxes(be.reshape(w, (groups, cout // groups, kg)), 1, 2)
        cols = be.reshape(be.matmul(wt, be.reshape(g, (n, groups, cout // groups, L))), (n, groups * kg, L))
    cols = be.permute(cols, (1, 0, 2))  # (K, N, L)
    out = be.col2im(cols, _ints(input_shape), (kh, kw), stride, padding, dilation, (oh, ow))
    return record(T.ConvolutionBackwardInputBackward0, out, (grad, weight), be, stride=stride, padding=padding,
                  dilation=dilation, groups=groups)


def convolution_backward_weight(grad: Tensor, input: Tensor, weight_shape: tuple, stride: tuple,  # noqa: A002
                                padding: tuple, dilation: tuple, groups: int, columns: Tensor | None = None) -> Tensor:
    """The gradient of convolution's weight for output gradient `grad`: grad @ im2col(input)^T,
    a product per image summed over the batch (columns: im2col(input) when the forward kept it)."""
    be = grad._backend
    g, x = grad._data, input._data
    n, cout, oh, ow = g.shape
    weight_shape = _ints(weight_shape)
    _, cg, kh, kw = weight_shape
    kg = cg * kh * kw
    L = oh * ow
    cols = columns._data if columns is not None else be.im2col(x, (kh, kw), stride, padding, dilation, (oh, ow))
    if groups == 1:
        ct = be.permute(be.reshape(cols, (kg, n, L)), (1, 2, 0))  # (N, L, K)
        dw = be.matmul(be.reshape(g, (n, cout, L)), ct)
    else:
        ct = be.permute(be.reshape(cols, (groups, kg, n, L)), (2, 0, 3, 1))
        dw = be.matmul(be.reshape(g, (n, groups, cout // groups, L)), ct)
    dw = be.sum(dw, (0,), False) if n > 1 else be.reshape(dw, dw.shape[1:])
    return record(T.ConvolutionBackwardWeightBackward0, be.reshape(dw, weight_shape), (grad, input), be,
                  stride=stride, padding=padding, dilation=dilation, groups=groups)


def _out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


# ---------------------------------------------------------------- conv2d / conv1d / conv_transpose2d
def _check_conv(input: Tensor, weight: Tensor, bias: Tensor | None, groups: int, nd: int, name: str,  # noqa: A002
                transposed: bool = False) -> bool:
    """torch's argument checks; returns whether input is unbatched."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{name}() argument 'input' and 'weight' must be Tensors")
    _same_device(input, weight, bias)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input of "
                           f"size: {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"weight should have {nd + 2} dimensions for {name}, but got weight of size "
                           f"{list(weight.shape)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    unbatched = input.ndim == nd + 1
    c = input.shape[0 if unbatched else 1]
    shape = [1] + list(input.shape) if unbatched else list(input.shape)
    if transposed:
        if weight.shape[0] != c:
            raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{shape} to have "
                               f"{weight.shape[0]} channels, but got {c} channels instead")
        if c % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                               f"but got weight of size [{list(weight.shape)}] instead")
        cout = weight.shape[1] * groups
    else:
        if weight.shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                               f"but got weight of size [{list(weight.shape)}] instead")
        if weight.shape[1] * groups != c:
            raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{shape} to "
                               f"have {weight.shape[1] * groups} channels, but got {c} channels instead")
        cout = weight.shape[0]
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != cout):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{cout} elements, but got bias of size {list(bias.shape)} instead")
    for t in (weight, bias):
        if t is not None and t.dtype != input.dtype:
            what = "weight" if t is weight else "bias"
            raise RuntimeError(f"Input type ({_type_name(input)}) and {what} type ({_type_name(t)}) should be the same")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"{name}\" not implemented for '{input.dtype.name}'")
    return unbatched


def _check_geometry(stride: tuple, padding: tuple, dilation: tuple) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")


def _same_padding(weight: Tensor, dilation: tuple, stride: tuple, nd: int) -> tuple[tuple, tuple]:
    """padding='same': (left padding per dim, total padding per dim); the odd extra goes right."""
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    total = tuple(d * (k - 1) for d, k in zip(dilation, weight.shape[2:]))
    return tuple(t // 2 for t in total), total


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Tensor:
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """The 2-D path on (N, C, 1, L)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def _conv(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any, dilation: Any,  # noqa: A002
          groups: int, nd: int) -> Tensor:
    name = f"conv{nd}d"
    unbatched = _check_conv(input, weight, bias, groups, nd, name)
    stride, dilation = _tuple(stride, nd, "stride"), _tuple(dilation, nd, "dilation")
    out_sp = None
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            padding, total = _same_padding(weight, dilation, stride, nd)
            x_sp = input.shape[-nd:]
            out_sp = tuple(x_sp) if any(t % 2 for t in total) else None
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _tuple(padding, nd, "padding")
    _check_geometry(stride, padding, dilation)
    x = input.unsqueeze(0) if unbatched else input
    w = weight
    if nd == 1:
        x, w = x.unsqueeze(2), weight.unsqueeze(2)
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
        out_sp = None if out_sp is None else (1,) + out_sp
    sp = x.shape[2:]
    padded = tuple(s + 2 * p for s, p in zip(sp, padding))
    eff = tuple(d * (k - 1) + 1 for d, k in zip(dilation, w.shape[2:]))
    if any(e > p for e, p in zip(eff, padded)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded[2 - nd:]))}). "
                           f"Kernel size: ({' x '.join(map(str, eff[2 - nd:]))}). Kernel size can't be greater than "
                           f"actual input size")
    y = convolution(x, w, bias, stride, padding, dilation, groups, out_sp)
    if nd == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def _conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,  # noqa: A002
                    output_padding: Any, groups: int, dilation: Any, nd: int) -> Tensor:
    """The input gradient of the convolution by `weight` (Cin, Cout // groups, k...), taken at
    `input` as if it were an output gradient."""
    name = f"conv_transpose{nd}d"
    unbatched = _check_conv(input, weight, bias, groups, nd, name, transposed=True)
    if isinstance(padding, str):
        raise RuntimeError(f"{name}: padding must be an int or a tuple of ints, not a string")
    stride, padding = _tuple(stride, nd, "stride"), _tuple(padding, nd, "padding")
    output_padding, dilation = _tuple(output_padding, nd, "output_padding"), _tuple(dilation, nd, "dilation")
    _check_geometry(stride, padding, dilation)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        names = ("height", "width") if nd == 2 else ("width",)
        parts = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
        parts += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got " + " ".join(parts))
    x = input.unsqueeze(0) if unbatched else input
    w = weight
    if nd == 1:
        x, w = x.unsqueeze(2), weight.unsqueeze(2)
        stride, padding, dilation, output_padding = (1,) + stride, (0,) + padding, (1,) + dilation, (0,) + output_padding
    out_sp = tuple((s - 1) * st - 2 * p + d * (k - 1) + op + 1
                   for s, st, p, d, k, op in zip(x.shape[2:], stride, padding, dilation, w.shape[2:], output_padding))
    if any(o <= 0 for o in out_sp):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x.shape[4 - nd:]))}). Calculated "
                           f"output size per channel: ({' x '.join(map(str, out_sp[2 - nd:]))}). Output size is too small")
    cout = w.shape[1] * groups
    y = convolution_backward_input(x, w, (x.shape[0], cout) + out_sp, stride, padding, dilation, groups)
    if bias is not None:
        y = y + bias.reshape(cout, 1, 1)
    if nd == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


# ---------------------------------------------------------------- padding modes
def _pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    i = np.arange(-before, size + after)
    if mode == "reflect":
        if before >= size or after >= size:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, but "
                               f"got: padding ({before}, {after}) at dimension of input of size {size}")
        period = 2 * (size - 1)
        i = np.abs(i) % period if period else np.zeros_like(i)
        return np.where(i >= size, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    if mode == "circular":
        if before > size or after > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        return i % size
    raise NotImplementedError(f"padding mode {mode!r}")


def pad_nd(x: Tensor, pads: tuple, mode: str) -> Tensor:
    """x padded over its last len(pads) // 2 dims by index ('reflect', 'replicate', 'circular'):
    pads as F.pad's (last dim first: left, right, then the dim before, ...)."""
    k = len(pads) // 2
    idxs = []
    for j in range(k):
        dim, r = x.ndim - k + j, k - 1 - j
        idx = _pad_index(x.shape[dim], int(pads[2 * r]), int(pads[2 * r + 1]), mode)
        shape = [1] * k
        shape[j] = idx.size
        idxs.append(idx.reshape(shape))
    return _S.getitem(x, (slice(None),) * (x.ndim - k) + tuple(idxs))


# ---------------------------------------------------------------- pooling
def _pool_out(size: int, k: int, p: int, s: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape."""
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_args(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, nd: int,  # noqa: A002
               name: str) -> tuple:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor")
    if input.ndim not in (nd + 1, nd + 2) or any(s == 0 for s in input.shape[1:]):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    k = _tuple(kernel_size, nd, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _tuple(stride, nd, "stride")
    p, d = _tuple(padding, nd, "padding"), _tuple(dilation, nd, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_size={list(k)}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got stride={list(s)}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation={list(d)}")
    for kk, pp, dd in zip(k, p, d):
        if pp < 0 or pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pp}, "
                               f"kernel_size={kk} and dilation={dd}")
    return k, s, p, d


def _as_4d(x: Tensor, nd: int) -> tuple[Tensor, tuple | None]:
    """(N, C, H, W) view of a pooling input (unbatched: N = 1; 1-D: H = 1) and the shape to go back to."""
    lead = x.shape[:-nd]
    if len(lead) == 1:
        x = x.unsqueeze(0)
    if nd == 1:
        x = x.unsqueeze(2)
    return x, lead


def _from_4d(y: Tensor, lead: tuple, nd: int) -> Tensor:
    shape = tuple(lead) + tuple(y.shape[4 - nd:])
    return y if shape == tuple(y.shape) else y.reshape(shape)  # (a batched 2-D pool keeps its node)


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
                            dilation: Any = 1, ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """(values, indices) of a 4-D input (already checked: tuples)."""
    be = input._backend
    k, s, p, d = kernel_size, stride, padding, dilation
    h, w = input.shape[2:]
    out_hw = (_pool_out(h, k[0], p[0], s[0], d[0], ceil_mode), _pool_out(w, k[1], p[1], s[1], d[1], ceil_mode))
    if out_hw[0] <= 0 or out_hw[1] <= 0:
        raise RuntimeError(f"Given input size: ({input.shape[1]}x{h}x{w}). Calculated output size: "
                           f"({input.shape[1]}x{out_hw[0]}x{out_hw[1]}). Output size is too small")
    vals, idx = be.max_pool2d(input._data, k, s, p, d, out_hw)
    indices = Tensor._wrap(idx, be)
    out = record(T.MaxPool2DWithIndicesBackward0, vals, (input,), be, save={"indices": indices}, kernel_size=k,
                 stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    return out, indices


def max_pool2d_with_indices_backward(grad: Tensor, self_shape: tuple, indices: Tensor) -> Tensor:
    """max pooling's input gradient: grad added at each window's argmax."""
    be = grad._backend
    out = be.plane_scatter(grad._data, indices._data, _ints(self_shape))
    return record(T.MaxPool2DWithIndicesBackwardBackward0, out, (grad,), be, save={"indices": indices})


def plane_gather(x: Tensor, indices: Tensor) -> Tensor:
    """out[n, c, ...] = x[n, c].flat[indices[n, c, ...]] (the adjoint of the max pool's scatter)."""
    be = x._backend
    return record(T.PlaneGatherBackward0, be.plane_gather(x._data, indices._data), (x,), be, save={"indices": indices})


def _max_pool(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool,  # noqa: A002
              return_indices: bool, nd: int) -> Any:
    name = f"max_pool{nd}d"
    k, s, p, d = _pool_args(input, kernel_size, stride, padding, dilation, nd, name)
    x, lead = _as_4d(input, nd)
    if nd == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    out, idx = max_pool2d_with_indices(x, k, s, p, d, ceil_mode)
    out = _from_4d(out, lead, nd)
    if return_indices:
        return out, Tensor._wrap(idx._backend.reshape(idx._data, out.shape), idx._backend)
    return out


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,  # noqa: A002
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,  # noqa: A002
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def _avg_divisor(size: int, k: int, s: int, p: int, out: int, include_pad: bool) -> np.ndarray:
    """Each window's element count along one dim (torch's: windows clipped to the padded input,
    and to the input itself without count_include_pad)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    full = end - start
    inside = np.minimum(end, size) - np.maximum(start, 0)
    return full if include_pad else inside


def _avg_pool(input: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,  # noqa: A002
              count_include_pad: bool, divisor_override: int | None, nd: int) -> Tensor:
    name = f"avg_pool{nd}d"
    k, s, p, _ = _pool_args(input, kernel_size, stride, padding, 1, nd, name)
    for kk, pp in zip(k, p):
        if pp > kk // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pp}, "
                               f"kernel_size={kk} and dilation=1")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x, lead = _as_4d(input, nd)
    if nd == 1:
        k, s, p = (1,) + k, (1,) + s, (0,) + p
    n, c, h, w = x.shape
    out_hw = (_pool_out(h, k[0], p[0], s[0], 1, ceil_mode), _pool_out(w, k[1], p[1], s[1], 1, ceil_mode))
    if out_hw[0] <= 0 or out_hw[1] <= 0:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{out_hw[0]}x{out_hw[1]}). "
                           f"Output size is too small")
    ones = _const(np.ones((1, 1) + k), x)
    y = convolution(x.reshape(n * c, 1, h, w), ones, None, s, p, (1, 1), 1, out_hw).reshape(n, c, *out_hw)
    if divisor_override is not None:
        y = y / divisor_override
    else:
        dv = np.outer(_avg_divisor(h, k[0], s[0], p[0], out_hw[0], count_include_pad),
                      _avg_divisor(w, k[1], s[1], p[1], out_hw[1], count_include_pad))
        y = y * _const(1.0 / dv, x)
    return _from_4d(y, lead, nd)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,  # noqa: A002
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,  # noqa: A002
               count_include_pad: bool = True) -> Tensor:
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def _adaptive_matrix(size: int, out: int) -> np.ndarray:
    """(out, size): row i averages the input's [floor(i * size / out), ceil((i + 1) * size / out))."""
    m = np.zeros((out, size))
    for i in range(out):
        a, b = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, a:b] = 1.0 / (b - a)
    return m


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError("adaptive_avg_pool2d(): argument 'input' must be Tensor")
    if input.ndim not in (3, 4) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got " + str(list(input.shape)))
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    h, w = input.shape[-2:]
    oh, ow = (h if output_size[0] is None else int(output_size[0])), (w if output_size[1] is None else int(output_size[1]))
    if oh < 0 or ow < 0:
        raise RuntimeError("adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but "
                           f"received {[oh, ow]}")
    out = input
    if oh != h:
        out = _const(_adaptive_matrix(h, oh), input) @ out
    if ow != w:
        out = out @ _const(_adaptive_matrix(w, ow).T, input)
    return out if out is not input else input.clone()


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    if input.ndim not in (2, 3):
        raise RuntimeError("adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got " + str(list(input.shape)))
    o = int(output_size if isinstance(output_size, (int, np.integer)) else output_size[0])
    w = input.shape[-1]
    return input @ _const(_adaptive_matrix(w, o).T, input) if o != w else input.clone()


# ---------------------------------------------------------------- interpolate (nearest)
def _nearest_index(size: int, out: int, scale: float | None) -> np.ndarray:
    """torch's nearest_idx: floor(i * scale) in float32, scale = 1 / scale_factor or size / out."""
    i = np.arange(out)
    if out == size:
        return i
    if out == 2 * size:
        return i >> 1
    sc = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(size) / np.float32(out)
    return np.minimum(np.floor(i.astype(np.float32) * sc).astype(np.int64), size - 1)


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",  # noqa: A002
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    if mode != "nearest":
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented in nbgrad (only 'nearest')")
    if align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    nd = input.ndim - 2
    if nd not in (1, 2):
        raise NotImplementedError(f"interpolate: {input.ndim}-D input is not implemented in nbgrad (3-D or 4-D)")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    sp = input.shape[2:]
    if size is not None:
        out = _tuple(size, nd, "size")
        scales: tuple = (None,) * nd
    else:
        sf = (float(scale_factor),) * nd if isinstance(scale_factor, (int, float)) else tuple(map(float, scale_factor))
        if len(sf) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(sp)} and scale_factor of shape {list(sf)}.")
        out = tuple(int(math.floor(s * f)) for s, f in zip(sp, sf))
        scales = (None,) * nd if recompute_scale_factor else sf
    idx = [_nearest_index(s, o, sc) for s, o, sc in zip(sp, out, scales)]
    if nd == 1:
        return _S.getitem(input, (slice(None), slice(None), idx[0]))
    return _S.getitem(input, (slice(None), slice(None), idx[0][:, None], idx[1][None, :]))
