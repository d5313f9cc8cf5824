"""Tensor creation and random numbers: CPU tensors draw from one seeded NumPy stream, CUDA tensors
from a Philox generator on the device (both seeded by manual_seed)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from . import _dtype as D
from ._device import device as _device_type
from ._generator import rng_of
from .backends import get_backend, seed_cuda
from .tensor import Size, Tensor

_rng = np.random.default_rng()


def manual_seed(seed: int) -> Any:
    global _rng
    _rng = np.random.default_rng(seed)
    _seed_cuda(seed)
    return _rng


def _seed_cuda(seed: int) -> None:
    seed_cuda(int(seed))


_default_device = "cpu"


def set_default_device(device: Any) -> None:
    """Where creation functions put tensors when no device= is given (PyTorch's set_default_device)."""
    global _default_device
    dev = "cpu" if device is None else str(device)
    get_backend(dev)  # fails early with the reason when the device is unusable
    _default_device = dev


def get_default_device() -> Any:
    return _device_type(get_backend(_default_device).name)


def _device(device: Any) -> Any:
    return get_backend(_default_device if device is None else device)


def _finish(a: np.ndarray, device: Any, requires_grad: bool) -> Tensor:
    be = _device(device)
    t = Tensor._wrap(be.asarray(a), be)
    if requires_grad:
        t.requires_grad = True
    return t


def _infer_dtype(data: Any) -> D.dtype:
    if isinstance(data, np.ndarray):
        return D.from_numpy_dtype(data.dtype)
    flat = list(np.asarray(data, dtype=object).reshape(-1)) if not isinstance(data, (bool, int, float)) else [data]
    _check_elements(flat, None)
    if any(isinstance(v, Tensor) for v in flat):
        return D.result_type(*flat) if flat else D.float32
    if all(isinstance(v, (bool, np.bool_)) for v in flat) and flat:
        return D.bool_
    if all(isinstance(v, (int, np.integer, bool)) for v in flat) and flat:
        return D.int64
    if flat and all(isinstance(v, np.floating) for v in flat):
        return D.from_numpy_dtype(np.result_type(*flat))
    return D.float32


def _check_elements(flat: list, dt: Any) -> None:
    """PyTorch's errors for elements that are no numbers (None; strings), dtype given or not."""
    for v in flat:
        if v is None:
            if dt is None:
                raise RuntimeError("Could not infer dtype of NoneType")
            raise TypeError(f"must be {'real number' if dt.is_floating_point else 'int'}, not NoneType")
        if isinstance(v, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(v).__name__}'")


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    if isinstance(data, Tensor):
        data = data._backend.to_numpy(data._data)
    elif hasattr(data, "__cuda_array_interface__") and not isinstance(data, np.ndarray):
        return as_tensor(data, device=device).to(dtype=dtype).clone().requires_grad_(requires_grad)
    dt = D.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
    if dtype is not None and not isinstance(data, np.ndarray):
        _check_elements(list(np.asarray(data, dtype=object).reshape(-1)), dt)
    if isinstance(data, (list, tuple)):
        data = [x._backend.to_numpy(x._data) if isinstance(x, Tensor) else x for x in data]
    a = np.array(data, dtype=dt.np, copy=True)
    return _finish(a, device, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if hasattr(data, "__cuda_array_interface__") and not isinstance(data, np.ndarray):
        be = get_backend("cuda")
        t = Tensor._wrap(be.from_cuda_array_interface(data), be)  # shares the memory, no copy
        D.from_numpy_dtype(t._data.dtype)
        return t.to(device=device, dtype=dtype)
    on_cpu = str(device or _default_device) == "cpu"
    if isinstance(data, np.ndarray) and on_cpu and (dtype is None or D.as_dtype(dtype).np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_dlpack(ext: Any) -> Tensor:
    """A tensor sharing the memory of a DLPack-capable object: on the CPU (a torch CPU tensor, a
    NumPy array, ...) or on the GPU (__cuda_array_interface__ when it has one, else DLPack)."""
    dev = ext.__dlpack_device__()[0] if hasattr(ext, "__dlpack_device__") else 1
    if dev == 1:  # kDLCPU
        return from_numpy(np.from_dlpack(ext))
    if dev not in (2, 13):  # kDLCUDA, kDLCUDAManaged
        raise RuntimeError(f"from_dlpack: nbgrad takes CPU and CUDA tensors, got DLPack device type {dev}")
    if hasattr(ext, "__cuda_array_interface__"):
        return as_tensor(ext)
    be = get_backend("cuda")
    t = Tensor._wrap(be.from_dlpack(ext), be)
    D.from_numpy_dtype(t._data.dtype)
    return t


def from_numpy(a: np.ndarray) -> Tensor:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    D.from_numpy_dtype(a.dtype)
    return _finish(a, "cpu", False)


def _shape(size: Sequence[Any], fn: str = "empty") -> tuple:
    """The sizes of fn(*size) or fn(size) as a tuple of ints (PyTorch's TypeError for a size that
    is no integer, its RuntimeError for a negative one)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    elif len(size) == 1 and (isinstance(size[0], bool) or not isinstance(size[0], (int, np.integer))):
        raise TypeError(f"{fn}(): argument 'size' (position 1) must be tuple of ints, not {type(size[0]).__name__}")
    for i, s in enumerate(size):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{fn}(): argument 'size' failed to unpack the object at pos {i + 1} with error "
                            f"\"type must be tuple of ints,but got {type(s).__name__}\"")
    for s in size:
        if s < 0:
            raise RuntimeError("zeros: Dimension size must be non-negative." if fn == "zeros" else
                               f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _host(make: Any, shape: tuple, dt: D.dtype) -> np.ndarray:
    """make() (a NumPy array of shape and dt), or PyTorch's RuntimeError naming the sizes or
    the bytes when the storage size overflows or cannot be allocated."""
    nbytes = math.prod(shape) * dt.itemsize
    if nbytes >= 2 ** 63:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")
    try:
        return make()
    except (MemoryError, ValueError):
        raise RuntimeError(f"DefaultCPUAllocator: can't allocate memory: you tried to allocate {nbytes} bytes "
                           f"(sizes={list(shape)}, dtype={dt.name})") from None


def _dt(dtype: Any, default: D.dtype = D.float32) -> D.dtype:
    return default if dtype is None else D.as_dtype(dtype)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    default = D.bool_ if isinstance(fill_value, bool) else (D.int64 if isinstance(fill_value, int) else D.float32)
    shape, dt = _shape((size,), "full"), _dt(dtype, default)
    return _finish(_host(lambda: np.full(shape, fill_value, dtype=dt.np), shape, dt), device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _shape(size, "ones"), _dt(dtype)
    return _finish(_host(lambda: np.ones(shape, dtype=dt.np), shape, dt), device, requires_grad)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _shape(size, "zeros"), _dt(dtype)
    return _finish(_host(lambda: np.zeros(shape, dtype=dt.np), shape, dt), device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _shape(size, "empty"), _dt(dtype)
    return _finish(_host(lambda: np.empty(shape, dtype=dt.np), shape, dt), device, requires_grad)


def _floating(fn: str, dtype: Any) -> D.dtype:
    dt = _dt(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{fn} draws floating point numbers: dtype must be float32 or float64, got {dt.name}")
    return dt


def _drawn(shape: tuple, dt: D.dtype, device: Any, requires_grad: bool, dist: str, host: Any,
           low: int = 0, high: int = 1) -> Tensor:
    """A random tensor, drawn by the device's backend: host() draws float64 (or int64) values
    from nbgrad's NumPy stream, for a backend that draws on the host (the CPU)."""
    be = _device(device)
    drawn = be.random(shape, dt.np, dist, low, high, host=host)
    return _finish(drawn, device, requires_grad)  # (asarray passes a device array through)


def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    dt, shape = _floating("rand", dtype), _shape(size, "rand")
    rng = _stream(generator, device)
    return _drawn(shape, dt, device, requires_grad, "uniform", lambda: rng().random(shape, dtype=np.float64))


def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    dt, shape = _floating("randn", dtype), _shape(size, "randn")
    rng = _stream(generator, device)
    return _drawn(shape, dt, device, requires_grad, "normal", lambda: rng().standard_normal(shape))


def randint(low: int, high: Any = None, size: Any = None, generator: Any = None, dtype: Any = None,
            device: Any = None) -> Tensor:
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    shape = tuple(int(s) for s in size)
    rng = _stream(generator, device)
    return _drawn(shape, _dt(dtype, D.int64), device, False, "integers", lambda: rng().integers(low, high, size=shape),
                  low, high)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_dt(dtype).np), device, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not all(np.isfinite(float(v)) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    isint = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _finish(np.arange(start, end, step, dtype=_dt(dtype, D.int64 if isint else D.float32).np),
                   device, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return _finish(np.linspace(start, end, steps, dtype=np.float64).astype(_dt(dtype).np), device, requires_grad)


def _like(x: Tensor, dtype: Any) -> tuple:
    return x.shape, (x.dtype if dtype is None else D.as_dtype(dtype))


def ones_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    s, dt = _like(x, dtype)
    return ones(s, dtype=dt, device=x.device, requires_grad=requires_grad)


def zeros_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    s, dt = _like(x, dtype)
    return zeros(s, dtype=dt, device=x.device, requires_grad=requires_grad)


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    s, dt = _like(x, dtype)
    return full(s, fill_value, dtype=dt, device=x.device, requires_grad=requires_grad)


def empty_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    s, dt = _like(x, dtype)
    return empty(s, dtype=dt, device=x.device, requires_grad=requires_grad)


def rand_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    s, dt = _like(x, dtype)
    return rand(s, dtype=dt, device=x.device, requires_grad=requires_grad)


def randn_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    s, dt = _like(x, dtype)
    return randn(s, dtype=dt, device=x.device, requires_grad=requires_grad)


# ---- generators and randperm (issue 17, data)
def _stream(generator: Any, device: Any) -> Any:
    """What a draw reads its NumPy stream from (called at draw time: manual_seed rebinds _rng).
    A Generator draws on the host, so it needs a device that draws there (the CPU)."""
    if generator is not None:
        rng_of(generator)  # (its type is checked now)
        kind = _device(device).name.split(":")[0]
        if kind != generator.device.type:
            raise RuntimeError(f"Expected a '{kind}' device type for generator but found '{generator.device.type}'")
    return lambda: rng_of(generator)


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless dtype says otherwise), drawn on the host."""
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    rng = _stream(generator, "cpu")
    return _finish(rng().permutation(int(n)).astype(_dt(dtype, D.int64).np), device, requires_grad)
