"""Backends: one object per device that owns its arrays and runs the kernels.

The autograd layer (nbgrad.tensor, nbgrad.ops) talks only to this interface and never
imports numba. `get_backend('cpu')` returns the Numba CPU backend, `get_backend('cuda')` the
numba.cuda one. `Backend` below lists every method an op may call: the primitives that each
device implements (`contract.PRIMITIVES`) and the fused ops, which `contract.Fused` provides
as generic fallbacks built from the primitives (a device overrides those it has kernels for)."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

from .contract import Fused


class Backend(Protocol):
    """What a device must provide. Arrays are the backend's own (NumPy arrays on the CPU,
    CudaArray on CUDA) and expose .shape, .dtype, .ndim, .size, .reshape, .astype, .copy."""

    name: str  # 'cpu', 'cuda:0'
    device_type: str  # 'cpu', 'cuda'

    # host transfer
    def asarray(self, a: np.ndarray) -> Any: ...
    def to_numpy(self, x: Any) -> np.ndarray: ...
    def host_buffer(self, x: Any) -> np.ndarray | None: ...
    def to_dlpack(self, x: Any, **kwargs: Any) -> Any: ...
    def dlpack_device(self, x: Any) -> tuple: ...  # x itself as NumPy if host memory, else None
    def random(self, shape: tuple, dtype: np.dtype, dist: str, low: int = 0, high: int = 1,
               host: Any = None) -> Any: ...  # host(): the NumPy stream's draw, for a host device
    # math
    def elementwise(self, op: str, operands: Sequence[Any], shape: tuple, dtype: np.dtype,
                    out: Any = None) -> Any: ...
    def sum(self, x: Any, axes: tuple[int, ...], keepdim: bool) -> Any: ...
    def argext(self, x: Any, axis: int, keepdim: bool, want_max: bool) -> tuple[Any, Any]: ...
    def sum_to(self, x: Any, shape: tuple) -> Any: ...
    def matmul(self, a: Any, b: Any) -> Any: ...
    def addmm(self, bias: Any, a: Any, b: Any) -> Any: ...  # a @ b + bias (2-D; bias: one value per column)
    def softmax(self, x: Any, axis: int, log: bool) -> Any: ...
    def softmax_backward(self, y: Any, g: Any, axis: int, log: bool) -> Any: ...
    def logsumexp(self, x: Any, axis: int) -> Any: ...
    def check_unit_interval(self, x: Any) -> None: ...  # raise (or flag, on a GPU) values outside [0, 1]
    def nll_forward(self, x: Any, t: Any, ignore_index: int, weight: Any = None) -> tuple[Any, Any]: ...
    def log_softmax_nll(self, x: Any, t: Any, ignore_index: int, weight: Any = None) -> tuple[Any, Any, Any]: ...
    def nll_reduce(self, per: Any, valid: Any, mean: bool) -> tuple[Any, Any]: ...  # (loss, summed weights)
    def nll_backward(self, g: Any, t: Any, classes: int, ignore_index: int, weight: Any = None,
                     total: Any = None) -> Any: ...  # total: 'mean' divides by it
    def sgd_step(self, x: Any, d: Any, buf: Any, **hyper: Any) -> None: ...  # buf: momentum buffer or None
    def adam_step(self, x: Any, d: Any, m: Any, v: Any, **hyper: Any) -> None: ...
    # layout and indexing
    def as_strided(self, x: Any, shape: tuple, strides: tuple, offset: int) -> Any: ...  # a view of x's memory;
    # strides and offset in elements, offset from x's first element
    def strides(self, x: Any) -> tuple: ...  # x's strides in elements
    # views (contract.Fused: plan.py's layout, then as_strided; a host device calls NumPy)
    def permute(self, x: Any, dims: tuple) -> Any: ...
    def swapaxes(self, x: Any, a: int, b: int) -> Any: ...
    def broadcast_to(self, x: Any, shape: tuple) -> Any: ...
    def expand_dims(self, x: Any, axis: int) -> Any: ...
    def squeeze(self, x: Any, axes: tuple) -> Any: ...
    def basic_index(self, x: Any, index: Any) -> Any: ...  # integers, slices, None, Ellipsis: a view
    def diagonal(self, x: Any, offset: int, d1: int, d2: int) -> Any: ...  # writable
    def reshape(self, x: Any, shape: tuple) -> Any: ...
    def is_contiguous(self, x: Any) -> bool: ...
    def contiguous(self, x: Any) -> Any: ...
    def copy(self, x: Any) -> Any: ...
    def astype(self, x: Any, dtype: np.dtype) -> Any: ...
    def full(self, shape: tuple, value: Any, dtype: np.dtype) -> Any: ...
    def getitem(self, x: Any, index: Any) -> Any: ...
    def setitem(self, x: Any, index: Any, value: Any) -> None: ...
    def concatenate(self, arrays: Sequence[Any], axis: int) -> Any: ...
    def shares_memory(self, a: Any, b: Any) -> bool: ...
    def is_private(self, g: Any, other: Any = None) -> bool: ...  # only g (and other) refer to g's memory
    def index_add(self, shape: tuple, index: Any, src: Any) -> Any: ...
    def scatter_along_axis(self, shape: tuple, index: Any, src: Any, axis: int) -> Any: ...
    # convolution and pooling (issue 17): (N, C, H, W) arrays, 2-tuples of ints
    def im2col(self, x: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
               out_hw: tuple) -> Any: ...  # (C * kh * kw, N * OH * OW)
    def col2im(self, cols: Any, shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
               out_hw: tuple) -> Any: ...  # cols (C * kh * kw, N, OH * OW)
    def max_pool2d(self, x: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                   out_hw: tuple) -> tuple[Any, Any]: ...  # (values, int64 flat indices in each plane)
    def plane_scatter(self, g: Any, idx: Any, shape: tuple) -> Any: ...
    def plane_gather(self, x: Any, idx: Any) -> Any: ...
    # layers (issue 17): rows of the last `cols` elements normalised, and its input gradient from the output
    def layer_norm(self, x: Any, cols: int, eps: float) -> tuple[Any, Any]: ...  # (y, rstd per row)
    def layer_norm_backward(self, g: Any, y: Any, rstd: Any, cols: int) -> Any: ...
    def layer_norm_affine(self, x: Any, w: Any, b: Any, cols: int,
                          eps: float) -> tuple[Any, Any, Any]: ...  # (x_hat * w + b, mean, rstd per row)
    def layer_norm_affine_backward(self, g: Any, x: Any, w: Any, mean: Any, rstd: Any, cols: int,
                                   need_input: bool) -> tuple[Any, Any, Any]: ...  # (g_input | None, g_w, g_b)
    # index, gather and scatter (issue 16): dim-wise, on int64 index arrays
    def check_index(self, index: Any, size: int, allow_negative: bool, err: type,
                    msg: str) -> Any: ...  # raise err(msg) (or flag, on a GPU); negatives wrapped
    def gather(self, x: Any, axis: int, index: Any) -> Any: ...
    def scatter(self, dst: Any, axis: int, index: Any, src: Any,
                reduce: str) -> None: ...  # in place; reduce: assign, sum, prod, amax, amin
    def index_select(self, x: Any, axis: int, index: Any) -> Any: ...
    def index_add_axis(self, dst: Any, axis: int, index: Any, src: Any, alpha: Any) -> None: ...  # in place
    # scans and order (issue 16): along one axis, NaN ordered as the largest
    def cumulative(self, x: Any, axis: int, kind: str) -> tuple[Any, Any]: ...  # sum, prod, max, min, logsumexp;
    # (values, int64 index of each running max / min, else None)
    def sort(self, x: Any, axis: int, descending: bool, k: int | None = None) -> tuple[Any, Any]: ...  # stable;
    # (values, int64 positions), the first k of the order where k is given
    def searchsorted(self, seq: Any, values: Any, right: bool) -> Any: ...  # rows (R or 1, Ks), (R, N) -> int64


def with_ellipsis(index: Any) -> tuple:
    """The same index with an Ellipsis, so that NumPy returns a 0-d view, never a scalar copy."""
    items = index if isinstance(index, tuple) else (index,)
    return items if any(i is Ellipsis for i in items) else items + (Ellipsis,)


_BACKENDS: dict[str, Backend] = {}


CUDA_INSTALL = (
    "install numba-cuda with the CUDA toolkit pieces it compiles with: pip install 'nbgrad[cuda13]' "
    "(CUDA 13 drivers) or 'nbgrad[cuda12]' (CUDA 12)"
)


def cuda_status() -> str | None:
    """None when CUDA tensors can be made, else why not (without raising)."""
    try:
        from numba import cuda
    except ImportError:
        return f"nbgrad's CUDA backend needs the numba-cuda package, which is not installed: {CUDA_INSTALL}"
    try:
        ok = cuda.is_available()
    except Exception as e:  # a broken driver or toolkit
        return f"numba.cuda could not start ({type(e).__name__}: {e})"
    if not ok:
        return ("no usable NVIDIA GPU or driver was found by numba.cuda (for tests without a GPU, set "
                "NUMBA_ENABLE_CUDASIM=1 before importing nbgrad to use the CUDA simulator)")
    return None


class SharedBackend(Fused):
    """Mixin: a backend is one object per device, compared by identity, so copying or pickling
    a tensor must find the same one again (not a second 'cpu' that no op would accept)."""

    name: str

    def __reduce__(self) -> tuple:
        return (get_backend, (self.name,))

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict) -> Any:
        return self




_cuda_seed: int | None = None


def seed_cuda(seed: int) -> None:
    """Seed the CUDA generator: now if the CUDA backend has started, else when it starts (seeding
    never starts CUDA)."""
    global _cuda_seed
    _cuda_seed = seed & 0xFFFF_FFFF_FFFF_FFFF
    be = _BACKENDS.get("cuda:0")
    if be is not None:
        be.manual_seed(_cuda_seed)  # type: ignore[attr-defined]


def cuda_seed() -> int:
    """The seed a starting CUDA backend takes: the last one given, else a fresh random one."""
    return _cuda_seed if _cuda_seed is not None else int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF


def get_backend(device: Any) -> Backend:
    device = "cpu" if device is None else str(device)
    be = _BACKENDS.get(device)
    if be is None:
        if device == "cpu":
            from .cpu import CpuBackend

            be = CpuBackend()
        elif device == "cuda" or device.startswith("cuda:"):
            index = int(device.split(":")[1]) if ":" in device else 0
            key = f"cuda:{index}"
            if key in _BACKENDS:
                be = _BACKENDS[key]
            else:
                why = cuda_status()
                if why:
                    raise RuntimeError(f"cannot use device {device!r}: {why}")
                if index != 0:
                    raise RuntimeError(f"cannot use device {device!r}: nbgrad uses one GPU, cuda:0")
                from .cuda import CudaBackend

                be = _BACKENDS[key] = CudaBackend(index)
        else:
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {device}"
            )
        _BACKENDS[device] = be
    return be
