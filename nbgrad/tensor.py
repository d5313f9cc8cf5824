"""The Tensor: data on a backend, plus its place in the autograd graph."""

from __future__ import annotations

import math
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from . import _dtype as D
from .autograd import backward_pass
from .autograd.graph import _INTERCEPTORS, BackwardCall, dispatch_backward
from .autograd.graph import RemovableHandle as _RemovableHandle
from .autograd.function import Version, accumulate_grad_node
from .autograd.grad_mode import is_grad_enabled
from .autograd.grad_mode import no_grad as _no_grad
from ._device import device
from .backends import get_backend
from .backends.plan import wrap_dim


_CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and its gradient "
    "which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid this. If you "
    "have to use this function, make sure to reset the .grad fields of your parameters to None after use to break "
    "the cycle and avoid the leak."
)


class Size(tuple):
    """A tensor's shape: a tuple that prints as PyTorch's torch.Size does (nbgrad.Size([2, 3]))."""

    def __repr__(self) -> str:
        return f"nbgrad.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, i: Any) -> Any:
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def numel(self) -> int:
        return math.prod(self)


_DEVICES: dict[str, Any] = {}  # backend name -> ng.device (immutable, so shared)


def _float_format(a: np.ndarray) -> Callable[[Any], str]:
    """PyTorch's print format for a float array: whole numbers as "3.", else 4 decimals, or
    4-digit scientific notation when the finite magnitudes span more than 1000x, exceed 1e8 or
    go below 1e-4; every element right-aligned to the width of the widest nonzero finite one."""
    finite = a[np.isfinite(a)]
    nz = np.abs(finite[finite != 0]).astype(np.float64)
    whole = finite.size == 0 or bool(np.all(finite == np.ceil(finite)))
    lo, hi = (nz.min(), nz.max()) if nz.size else (1.0, 1.0)
    sci = hi / lo > 1000 or hi > 1e8 or (not whole and lo < 1e-4)

    def one(v: Any) -> str:
        if not np.isfinite(v):
            return str(float(v))  # nan, inf, -inf
        return f"{v:.4e}" if sci else (f"{v:.0f}." if whole else f"{v:.4f}")

    sized = finite[finite != 0].reshape(-1)[:10_000]  # the width comes from the nonzero finite values
    width = max([1] + [len(one(v)) for v in sized])
    return lambda v: one(v).rjust(width)


class Tensor:
    __array_priority__ = 1000
    # defaults read through the class until first set (_wrap runs on every op's output)
    _grad: Tensor | None = None
    grad_fn: Any = None
    _base: Tensor | None = None
    _view_fn: Any = None
    _retains_grad = False
    _hooks: tuple | list = ()
    _post_accumulate_hooks: tuple | list = ()
    _accumulate_ref: Any = None
    _output_nr = 0  # which output of grad_fn this tensor is
    _name: str | None = None
    _multi_view: tuple | None = None  # (output number, op name) of a split / chunk / unbind piece

    def __init__(self, *data: Any, device: Any = None) -> None:
        """PyTorch's legacy constructor: Tensor(sequence) copies it as float32, Tensor(*sizes) is
        uninitialised float32, Tensor() is empty."""
        if all(isinstance(d, int) and not isinstance(d, bool) for d in data):
            t = _C.empty(*data or (0,), device=device)
        elif len(data) == 1:
            t = _C.tensor(data[0], dtype=D.float32, device=device)
        else:
            raise TypeError(f"Tensor(): expected a sequence of numbers or integer sizes, got {len(data)} arguments")
        self.__dict__.update(t.__dict__)

    @classmethod
    def _wrap(cls, data: Any, backend: Any, requires_grad: bool = False) -> Tensor:
        t = object.__new__(cls)
        t._data = data
        t._backend = backend
        t._requires_grad = requires_grad
        return t

    def __getattr__(self, name: str) -> Any:
        # only for attributes not found the normal way: the version counter is made on first use
        # (most op outputs are never saved for backward nor modified in place)
        if name == "_version":
            v = self._version = Version()
            return v
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # ---------------------------------------------------------------- metadata
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        if self.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self.shape[wrap_dim(dim, self.ndim)]

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    def dim(self) -> int:
        return self.ndim

    @property
    def dtype(self) -> D.dtype:
        d = D._BY_NP.get(self._data.dtype)  # the common case without np.dtype() and try
        return d if d is not None else D.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> Any:
        d = _DEVICES.get(self._backend.name)
        if d is None:
            d = _DEVICES[self._backend.name] = device(self._backend.name)
        return d

    @property
    def is_cuda(self) -> bool:
        return self._backend.device_type == "cuda"

    @property
    def __cuda_array_interface__(self) -> dict:
        if not self.is_cuda:
            raise AttributeError(f"Can't get __cuda_array_interface__ on non-CUDA tensor type: {self.device}")
        if self.requires_grad:
            raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires grad. "
                               "If gradients aren't required, use var.detach() to get Variable that doesn't require grad.")
        return self._data.__cuda_array_interface__

    def __dlpack__(self, **kwargs: Any) -> Any:
        """DLPack export, without a copy (CUDA tensors: through cuda.core, on a GPU)."""
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return self._backend.to_dlpack(self._data, **kwargs)

    def __dlpack_device__(self) -> tuple:
        return self._backend.dlpack_device(self._data)

    def numel(self) -> int:
        return math.prod(self._data.shape)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not self.is_leaf:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if flag and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not self.is_leaf and self._requires_grad:
            return self  # a non-leaf that requires grad already (PyTorch: a no-op)
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> Tensor | None:
        if not self.is_leaf and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None and value.shape != self.shape:
            raise RuntimeError(
                f"assigned grad has data of a different size: {list(value.shape)} vs {list(self.shape)}"
            )
        self._grad = value

    @property
    def data(self) -> Tensor:
        # like PyTorch's .data: shares storage but not the version counter (changes are not tracked)
        return Tensor._wrap(self._data, self._backend)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data

    @property
    def T(self) -> Tensor:  # noqa: N802
        return self.permute(*reversed(range(self.ndim)))

    # ---------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        if self._backend.host_buffer(self._data) is None:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                            "copy the tensor to host memory first.")
        return self._backend.to_numpy(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self._backend.host_buffer(self._data) is None:
            self.numpy()  # raises
        a = self._backend.to_numpy(self._data)
        return a if dtype is None else a.astype(dtype)

    def item(self) -> Any:
        if self.numel() != 1:
            raise RuntimeError(
                f"a Tensor with {self.numel()} elements cannot be converted to Scalar"
            )
        return self._backend.to_numpy(self._data).reshape(()).item()

    def tolist(self) -> Any:
        return self._backend.to_numpy(self._data).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """to(dtype), to(device), to(device, dtype), to(other): a copy only when something changes."""
        dt, dev = kwargs.get("dtype"), kwargs.get("device")
        for a in args:
            if isinstance(a, str) and (a in ("cpu", "cuda") or a.startswith("cuda:")):
                dev = a
            elif isinstance(a, Tensor):
                dt, dev = a.dtype, a.device
            elif a is not None:
                dt = a  # a dtype or a dtype name such as "float32"
        out = self
        if dev is not None:
            be = get_backend(dev)
            if be is not self._backend:
                out = _S.to_device(out, be)
        if dt is not None:
            out = _S.to_dtype(out, D.as_dtype(dt))
        return out

    def cuda(self, device: Any = None) -> Tensor:
        return self.to("cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device))

    def type(self, dtype: Any) -> Tensor:
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(D.float32)

    def double(self) -> Tensor:
        return self.to(D.float64)

    def long(self) -> Tensor:
        return self.to(D.int64)

    def int(self) -> Tensor:
        return self.to(D.int32)

    def bool(self) -> Tensor:
        return self.to(D.bool_)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def detach(self) -> Tensor:
        t = Tensor._wrap(self._data, self._backend)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) "
                "for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and "
                "hence detach_() cannot be called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."
            )
        self.grad_fn = None
        self._requires_grad = False
        return self

    # ---------------------------------------------------------------- autograd
    def _get_accumulate(self) -> Any:
        if not self.requires_grad:
            return None
        return accumulate_grad_node(self)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Run the backward pass from this tensor (through autograd.graph's interceptors, if any)."""
        if create_graph and inputs is None:
            warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=2)
        if _INTERCEPTORS or inputs is not None or create_graph:
            dispatch_backward(BackwardCall("tensor", [self], [gradient], retain_graph, create_graph, inputs))
        else:  # the common case, without the call record
            backward_pass(self, gradient, retain_graph).run()

    def retain_grad(self) -> None:
        if self.is_leaf:
            return
        if not self._retains_grad:
            self._retains_grad = True
            self.grad_fn.retain(self._output_nr, weakref.ref(self))

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def _set_retained_grad(self, g: Tensor, create_graph: bool = False) -> None:
        """A non-leaf's .grad (retain_grad, or backward(inputs=[it])): the gradient, summed over calls."""
        be = self._backend
        if self._grad is None:
            self._grad = g if create_graph and g.requires_grad else Tensor._wrap(be.copy(g._data), be)
        elif create_graph:
            self._grad = self._grad + g
        else:
            self._grad._data = be.elementwise("add", [self._grad._data, g._data], self.shape, self._grad._data.dtype)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """hook(grad) -> new grad or None, each time a gradient for this tensor is computed."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._register_tensor_hook(self._output_nr, hook)
        if not isinstance(self._hooks, list):
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> Any:
        """hook(self) runs right after a backward pass has added into self.grad (a leaf)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not self.is_leaf:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not isinstance(self._post_accumulate_hooks, list):
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        return _RemovableHandle(self._post_accumulate_hooks, hook)

    # ---------------------------------------------------------------- in-place
    def _check_inplace(self) -> None:
        if self._multi_view is not None and is_grad_enabled():
            raise RuntimeError(
                f"Output {self._multi_view[0]} of {self._multi_view[1]} is a view and is being modified inplace. "
                "This view is the output of a function that returns multiple views. Such functions do not allow "
                "the output views to be modified inplace. You should replace the inplace operation by an "
                "out-of-place one.")
        if is_grad_enabled() and self.is_leaf and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if is_grad_enabled() and self._base is not None and self._base.is_leaf and self._base.requires_grad:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place operation."
            )

    def _inplace(self, result: Tensor) -> Tensor:
        """Write `result` into self, bump the version, and take over its history."""
        self._check_inplace()
        if result.shape != self.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(result.shape)}"
            )
        if not np.can_cast(result.dtype.np, self.dtype.np, casting="same_kind"):
            raise RuntimeError(
                f"result type {result.dtype.name.capitalize()} can't be cast to the desired output type "
                f"{self.dtype.name.capitalize()}"
            )
        if self._base is not None and is_grad_enabled() and (self._base.requires_grad or result.requires_grad):
            _S.copy_slices(self, result)
            return self
        if result._data is not self._data:
            self._backend.setitem(self._data, Ellipsis, result._data)
        self._version.value += 1
        if result.grad_fn is not None:
            self._take_history(result)
        return self

    def _take_history(self, result: Tensor) -> None:
        """After an in-place op: self is now result's output (a retained .grad follows it)."""
        old = self.grad_fn
        self.grad_fn, self._output_nr, self._requires_grad = result.grad_fn, result._output_nr, True
        if self._retains_grad and old is not None:
            old._retained = [e for e in old._retained if e[1]() is not self]
            self.grad_fn.retain(self._output_nr, weakref.ref(self))

    def _inplace_op(self, fn: Callable[..., Tensor], other: Any, **kw: Any) -> Tensor:
        """self = fn(self, other) in place. Without grad to record, the kernel writes into self's
        memory directly; else the op runs on a copy of self's old value, which its node saves."""
        self._check_inplace()
        if not is_grad_enabled() or not (self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)):
            with _no_grad():
                r = fn(self, other, **kw)
            if r.shape != self.shape:
                self._inplace(r)  # raises the broadcast error
            if r._data is not self._data:
                if not np.can_cast(r.dtype.np, self.dtype.np, casting="same_kind"):
                    self._inplace(r)  # raises the cast error
                self._backend.setitem(self._data, Ellipsis, r._data)
            self._version.value += 1
            return self
        return self._inplace(fn(self._shallow(), other, **kw))

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace_op(_E.add, other, alpha=alpha)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace_op(_E.sub, other, alpha=alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace_op(_E.mul, other)

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return self._inplace_op(_E.div, other, rounding_mode=rounding_mode)

    def pow_(self, other: Any) -> Tensor:
        return self._inplace_op(_E.pow, other)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __ipow__(self, other: Any) -> Tensor:
        return self.pow_(other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return _I.inplace(_E.clamp)(self, min, max)  # (tensor bounds that require grad take gradients)

    clip_ = clamp_

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        self._check_inplace()
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(
                    f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions."
                )
            # a 0-d tensor on this device is copied there (no wait for the GPU, as in PyTorch)
            value = value._data if value._backend is self._backend else value.item()
        self._overwrite(Ellipsis, value)
        return self

    def _overwrite(self, index: Any, value: Any) -> None:
        """self[index] = value (a constant): on a non-leaf with history, no gradient flows
        to the overwritten elements any more."""
        if is_grad_enabled() and self.requires_grad and not self.is_leaf:
            be = self._backend
            items = index if isinstance(index, tuple) else (index,)
            if index is not Ellipsis and not any(_S.is_index_array(i) for i in items):
                view = _S.getitem(self, index)  # a basic index: write through a view (CopySlices)
                if view._base is not None:
                    src = be.copy(view._data)
                    be.setitem(src, Ellipsis, value)
                    view._inplace(Tensor._wrap(src, be))
                    return
            new = be.copy(self._data)
            be.setitem(new, index, value)
            mask = be.full(self.shape, False, np.dtype(np.bool_))
            be.setitem(mask, index, True)
            self._inplace(_E.where(Tensor._wrap(mask, be), Tensor._wrap(new, be), self._shallow()))
            return
        self._backend.setitem(self._data, index, value)
        self._version.value += 1

    def copy_(self, src: Tensor) -> Tensor:
        self._check_inplace()
        src_b = src if isinstance(src, Tensor) else Tensor._wrap(self._backend.asarray(np.asarray(src)), self._backend)
        if src_b.device != self.device:
            src_b = src_b.to(self.device)
        if src_b.requires_grad and is_grad_enabled():
            res = src_b.to(self.dtype)
            res = _S.clone(res.expand(*self.shape) if res.shape != self.shape else res)  # a node of its own
            return self._inplace(res)  # through the view's base too (CopySlices)
        if src_b.shape != self.shape:
            src_b = src_b.expand(*self.shape)
        self._overwrite(Ellipsis, src_b._data)
        return self

    def _shallow(self) -> Tensor:
        """Self's current value as an operand for an in-place op: a copy of its data, with its
        history (the node of the op saves the old value, which the write then overwrites)."""
        t = Tensor._wrap(self._backend.copy(self._data), self._backend, self._requires_grad)
        t.grad_fn = self.grad_fn
        t._output_nr = self._output_nr
        t._accumulate_ref = self._accumulate_ref
        return t

    def __setitem__(self, idx: Any, value: Any) -> None:
        """self[idx] = value; a value that requires grad gets its gradient from the written part
        (through a view for a basic index, PyTorch's index_put for an advanced one)."""
        self._check_inplace()
        if isinstance(value, Tensor) and value.requires_grad and is_grad_enabled():
            index, advanced = _S._convert_index(self, idx)
            if not advanced:
                view = _S.getitem(self, idx)
                if view._data is value._data:
                    return  # x[i] = x[i] after an in-place op on the view (Python's `x[i] *= 2`)
                view.copy_(value)
                return
            self._inplace(_S.index_put(self._shallow(), index, value))
            return
        index, _ = _S._convert_index(self, idx)
        self._overwrite(index, value._data if isinstance(value, Tensor) else value)

    # ---------------------------------------------------------------- repr
    def __repr__(self) -> str:
        a = self._backend.to_numpy(self._data)
        if a.size == 0:
            body = "[]"
        else:
            fmt = _float_format(a) if a.dtype.kind == "f" else None
            body = np.array2string(a, separator=", ", prefix="tensor(", max_line_width=80, threshold=1000,
                                   edgeitems=3, formatter={"float_kind": fmt} if fmt else None)
        extras = []
        if a.size == 0 and a.ndim > 1:
            extras.append(f"size={tuple(a.shape)}")
        if a.dtype != np.float32 and (a.size == 0 or a.dtype not in (np.int64, np.bool_)):
            extras.append(f"dtype={self.dtype!r}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __hash__(self) -> int:
        return id(self)

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))


# creation and the ops import Tensor: imported once the class exists
from . import creation as _C  # noqa: E402
from .ops import elementwise as _E  # noqa: E402
from .ops import index as _I  # noqa: E402
from .ops import shape as _S  # noqa: E402
