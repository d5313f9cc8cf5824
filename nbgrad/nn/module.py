"""nn.Module, Parameter and the layers."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Iterator

import numpy as np

from .. import creation as C
from ..autograd.grad_mode import no_grad
from .._dtype import float32, float64
from ..tensor import Tensor
from . import functional as F


class Parameter(Tensor):
    """A leaf tensor that a Module registers as a parameter (requires_grad by default)."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = C.empty(0)
        t = cls._wrap(data._data, data._backend)
        t._requires_grad = requires_grad
        return t

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign before Module.__init__() call")
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}'")
            self._parameters[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_modules", "_buffers"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_modules", "_buffers"):
            if name in self.__dict__[store]:
                del self.__dict__[store][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._parameters[name] = param

    def register_buffer(self, name: str, t: Tensor) -> None:
        self._buffers[name] = t

    def add_module(self, name: str, m: Module | None) -> None:
        self._modules[name] = m

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for n, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{n}" if prefix else n)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for n, m in self._modules.items():
            if m is not None:
                yield n, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mp, m in mods:
            for n, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mp}.{n}" if mp else n), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move (or cast) every parameter and buffer in place, as PyTorch's Module.to does."""
        with no_grad():
            for m in self.modules():
                for store in (m._parameters, m._buffers):
                    for t in store.values():
                        if t is None:
                            continue
                        new = t.detach().to(*args, **kwargs)
                        if new._data is not t._data:
                            t._data, t._backend = new._data, new._backend
                            t._version.value += 1
                            if t._grad is not None:
                                t._grad = t._grad.to(*args, **kwargs)
        return self

    def cuda(self, device: Any = None) -> Module:
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)

    def cpu(self) -> Module:
        return self.to("cpu")

    def double(self) -> Module:
        return self.to(dtype=float64)

    def float(self) -> Module:
        return self.to(dtype=float32)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def state_dict(self) -> OrderedDict:
        sd: OrderedDict = OrderedDict()
        for mp, m in self.named_modules():
            for n, t in list(m._parameters.items()) + list(m._buffers.items()):
                if t is not None:
                    sd[f"{mp}.{n}" if mp else n] = t.detach()
        return sd

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> Any:
        own = {}
        for mp, m in self.named_modules():
            for n in list(m._parameters) + list(m._buffers):
                own[f"{mp}.{n}" if mp else n] = (m, n)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + (f"Missing key(s) in state_dict: {', '.join(repr(k) for k in missing)}. " if missing else "")
                + (f"Unexpected key(s) in state_dict: {', '.join(repr(k) for k in unexpected)}. " if unexpected else "")
            )
        with no_grad():
            for k, (m, n) in own.items():
                if k not in state_dict:
                    continue
                src = state_dict[k]
                dst = m._parameters.get(n) if n in m._parameters else m._buffers[n]
                arr = src.detach().cpu().numpy() if isinstance(src, Tensor) else np.asarray(src)
                if arr.shape != dst.shape:
                    raise RuntimeError(
                        f"Error(s) in loading state_dict for {type(self).__name__}:\n\tsize mismatch for {k}: "
                        f"copying a param with shape {list(arr.shape)} from checkpoint, the shape in current "
                        f"model is {list(dst.shape)}."
                    )
                dst._backend.setitem(dst._data, Ellipsis, dst._backend.asarray(arr))
                dst._version.value += 1
        return missing, unexpected

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for n, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({n}): {sub}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0
        # PyTorch's default: kaiming_uniform(a=sqrt(5)) on weight == U(-1/sqrt(in), 1/sqrt(in))
        w = (C.rand(out_features, in_features, dtype="float64") * (2 * bound) - bound)
        self.weight = Parameter(w.to(dtype or "float32"))
        if bias:
            b = C.rand(out_features, dtype="float64") * (2 * bound) - bound
            self.bias = Parameter(b.to(dtype or "float32"))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, (int(np.prod(x.shape[:-1])), x.shape[-1])))}"
                f" and {self.in_features}x{self.out_features})"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    def __init__(self, *mods: Module) -> None:
        super().__init__()
        if len(mods) == 1 and isinstance(mods[0], OrderedDict):
            for n, m in mods[0].items():
                self.add_module(n, m)
        else:
            for i, m in enumerate(mods):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i: int | slice) -> Module:
        if isinstance(i, slice):
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, -1 if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, -1 if self.dim is None else self.dim)


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _Loss(Module):
    fn: Any = None

    def __init__(self, reduction: str = "mean", **options: Any) -> None:
        super().__init__()
        self.reduction = reduction
        self.options = options  # the loss function's other keyword arguments (weight, ignore_index...)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return type(self).fn(input, target, reduction=self.reduction, **self.options)


class MSELoss(_Loss):
    fn = staticmethod(F.mse_loss)


class L1Loss(_Loss):
    fn = staticmethod(F.l1_loss)


class CrossEntropyLoss(_Loss):
    fn = staticmethod(F.cross_entropy)

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing)


class NLLLoss(_Loss):
    fn = staticmethod(F.nll_loss)

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction, weight=weight, ignore_index=ignore_index)


class BCELoss(_Loss):
    fn = staticmethod(F.binary_cross_entropy)

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction, weight=weight)


class BCEWithLogitsLoss(_Loss):
    fn = staticmethod(F.binary_cross_entropy_with_logits)

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction, weight=weight, pos_weight=pos_weight)
