"""nn.Module, Parameter and the layers."""

from __future__ import annotations

import itertools
import math
import warnings
import weakref
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from .. import creation as C
from ..autograd.grad_mode import no_grad
from .._dtype import as_dtype, float32, float64
from ..tensor import Size, Tensor
from . import functional as F
from ._backward_hook import BackwardHook


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


class RemovableHandle:
    """What the register_*hook methods return (PyTorch's torch.utils.hooks.RemovableHandle):
    remove() unregisters the hook; also a context manager."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict, extra: tuple = (), module: Module | None = None) -> None:
        self.id = next(RemovableHandle._next_id)
        self._dicts = (hooks, *extra)
        self._module = None if module is None else weakref.ref(module)

    def remove(self) -> None:
        for d in self._dicts:
            d.pop(self.id, None)
        m = None if self._module is None else self._module()
        if m is not None:
            m._update_hooked()
        _update_global_hooked()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


# global module hooks (nbgrad.nn.modules.module.register_module_*): they run for every module
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_with_kwargs: dict = {}
_global_forward_hooks_always_called: dict = {}
_global_backward_hooks: OrderedDict = OrderedDict()
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_hooked = False  # any global hook registered (Module.__call__ reads only this and one attribute)


def _update_global_hooked() -> None:
    global _global_hooked
    _global_hooked = bool(_global_forward_pre_hooks or _global_forward_hooks or _global_backward_hooks
                          or _global_backward_pre_hooks)


def _register_global(hooks: dict, hook: Callable, extra: tuple = ()) -> RemovableHandle:
    h = RemovableHandle(hooks, extra)
    hooks[h.id] = hook
    _update_global_hooked()
    return h


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """hook(module, args) -> None or new args, before every module's forward (before its own pre hooks)."""
    return _register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """hook(module, args, output) (with_kwargs: hook(module, args, kwargs, output)) -> None or a new
    output, after every module's forward (before its own forward hooks). always_call: also when
    forward raised."""
    extra = (_global_forward_hooks_with_kwargs, _global_forward_hooks_always_called)
    h = _register_global(_global_forward_hooks, hook, extra)
    if with_kwargs:
        _global_forward_hooks_with_kwargs[h.id] = True
    if always_call:
        _global_forward_hooks_always_called[h.id] = True
    return h


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """hook(module, grad_output) -> None or a new grad_output, for every module (before its own)."""
    return _register_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """hook(module, grad_input, grad_output) -> None or a new grad_input, for every module (before its own)."""
    return _register_global(_global_backward_hooks, hook)


_EMPTY: dict = {}  # the class-level default of every per-module hook dict (never written)


class Module:
    # hook dicts are made on first registration; until then these read as empty
    _forward_pre_hooks: dict = _EMPTY
    _forward_pre_hooks_with_kwargs: dict = _EMPTY
    _forward_hooks: dict = _EMPTY
    _forward_hooks_with_kwargs: dict = _EMPTY
    _forward_hooks_always_called: dict = _EMPTY
    _backward_hooks: dict = _EMPTY
    _backward_pre_hooks: dict = _EMPTY
    _hooked = False  # any hook registered on this module

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign before Module.__init__() call")
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            self._modules.pop(name, None)
            self._buffers.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self._modules[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self._parameters[name] = None
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            self._modules[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(torch.nn.Buffer, torch.Tensor or None expected)")
            self._buffers[name] = value
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

    def _check_name(self, what: str, name: Any, store: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{what} name can\'t contain "."' + (f", got: {name}" if what == "module" else ""))
        if name == "":
            raise KeyError(f'{what} name can\'t be empty string ""')
        if hasattr(self, name) and name not in store:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name("parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be created "
                             f"explicitly. To express '{name}' as a function of another Tensor, compute the value in "
                             "the forward() method.")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor the module keeps (moved by .to(), not a parameter); persistent ones are in
        state_dict."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name("buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        nonp = self.__dict__.get("_non_persistent_buffers_set")
        if persistent:
            if nonp:
                nonp.discard(name)
        else:
            if nonp is None:
                nonp = set()
                object.__setattr__(self, "_non_persistent_buffers_set", nonp)
            nonp.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name("module", name, self._modules)
        self._modules[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        self.add_module(name, module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._hooked or _global_hooked:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # --- hooks (PyTorch's names, order, arguments and return values) ---
    def _hook_dict(self, name: str) -> dict:
        d = self.__dict__.get(name)
        if d is None:
            d = OrderedDict()
            object.__setattr__(self, name, d)
        return d

    def _update_hooked(self) -> None:
        object.__setattr__(self, "_hooked", bool(self._forward_pre_hooks or self._forward_hooks
                                                  or self._backward_hooks or self._backward_pre_hooks))

    def _register(self, name: str, hook: Callable, prepend: bool, flags: dict[str, bool]) -> RemovableHandle:
        hooks = self._hook_dict(name)
        extra = tuple(self._hook_dict(f) for f in flags)
        h = RemovableHandle(hooks, extra, module=self)
        hooks[h.id] = hook
        for f, on in flags.items():
            if on:
                self.__dict__[f][h.id] = True
        if prepend:
            hooks.move_to_end(h.id, last=False)
        object.__setattr__(self, "_hooked", True)
        return h

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """hook(module, args) -> None or new args (a non-tuple is wrapped in one); with_kwargs:
        hook(module, args, kwargs) -> None or (new_args, new_kwargs). Runs before forward."""
        return self._register("_forward_pre_hooks", hook, prepend, {"_forward_pre_hooks_with_kwargs": with_kwargs})

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """hook(module, args, output) (with_kwargs: hook(module, args, kwargs, output)) -> None or a
        new output. Runs after forward; always_call: also when forward (or a hook) raised."""
        return self._register("_forward_hooks", hook, prepend, {"_forward_hooks_with_kwargs": with_kwargs,
                                                                 "_forward_hooks_always_called": always_call})

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_output) -> None or a new grad_output tuple, when the gradients of the
        module's outputs are known (before they flow into the module)."""
        return self._register("_backward_pre_hooks", hook, prepend, {})

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) -> None or a new grad_input tuple, when the
        gradients of the module's positional tensor inputs are known. grad_input holds None for a
        non-tensor argument or one that does not require grad."""
        return self._register("_backward_hooks", hook, prepend, {})

    def _forward_hook(self, hid: int, hook: Callable, args: tuple, kwargs: dict, result: Any) -> Any:
        """Run one forward hook; the output it leaves."""
        if hid in _global_forward_hooks_with_kwargs or hid in self._forward_hooks_with_kwargs:
            r = hook(self, args, kwargs, result)
        else:
            r = hook(self, args, result)
        return result if r is None else r

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        result = None
        called_always: set[int] = set()
        full = [*_global_backward_hooks.values(), *self._backward_hooks.values()]
        pre = [*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()]
        try:
            for hid, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                if hid in self._forward_pre_hooks_with_kwargs:
                    r = hook(self, args, kwargs)
                    if r is not None:
                        if isinstance(r, tuple) and len(r) == 2:
                            args, kwargs = r
                        else:
                            raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {r}.")
                else:
                    r = hook(self, args)
                    if r is not None:
                        args = r if isinstance(r, tuple) else (r,)
            bw = None
            if full or pre:
                bw = BackwardHook(self, full, pre)
                args = bw.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hid, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if hid in _global_forward_hooks_always_called or hid in self._forward_hooks_always_called:
                    called_always.add(hid)
                result = self._forward_hook(hid, hook, args, kwargs, result)
            if bw is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                                  f"Tensors but received {type(result)}", stacklevel=2)
                result = bw.setup_output_hook(result)
            return result
        except Exception:
            # the always_call forward hooks that have not run yet run now; the error is raised again
            for hid, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if hid in called_always or not (hid in _global_forward_hooks_always_called
                                                or hid in self._forward_hooks_always_called):
                    continue
                try:
                    result = self._forward_hook(hid, hook, args, kwargs, result)
                except Exception as e:
                    warnings.warn("forward hook with ``always_call=True`` raised an exception that was silenced as "
                                  f"another error was raised in forward: {e}", stacklevel=2)
            raise

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

    def _named_members(self, store: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mp, m in mods:
            for n, t in m.__dict__[store].items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mp}.{n}" if mp else n), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

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
                        if not t.is_floating_point():  # (as PyTorch: a dtype casts floating tensors only)
                            new = t.detach().to(_device_only(t, *args, **kwargs))
                        else:
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

    def _local_state(self) -> list[tuple[str, Tensor]]:
        """This module's own entries of a state dict: parameters, then persistent buffers."""
        nonp = self.__dict__.get("_non_persistent_buffers_set") or ()
        return [(n, t) for n, t in self._parameters.items() if t is not None] + \
            [(n, t) for n, t in self._buffers.items() if t is not None and n not in nonp]

    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False) -> Any:
        """Parameters and persistent buffers by dotted name, module by module (PyTorch's order);
        detached unless keep_vars."""
        if args:  # (PyTorch's deprecated positional form: destination, prefix, keep_vars)
            destination, prefix, keep_vars = (*args, *(destination, prefix, keep_vars)[len(args):])[:3]
        sd = OrderedDict() if destination is None else destination
        for mp, m in self.named_modules():
            for n, t in m._local_state():
                sd[prefix + (f"{mp}.{n}" if mp else n)] = t if keep_vars else t.detach()
        return sd

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """Copy a state dict's tensors into the parameters and buffers (cast to their dtype and
        device; assign: take the given tensors instead). Missing and unexpected keys are errors
        when strict, a shape mismatch always; on an error nothing is changed (all or nothing).
        Returns (missing_keys, unexpected_keys) as a named tuple."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        todo: list[tuple[Module, str, Tensor, Any]] = []
        for mp, m in self.named_modules():
            pre = f"{mp}." if mp else ""
            local = dict(m._local_state())
            for n, dst in local.items():
                key = pre + n
                if key not in state_dict:
                    missing.append(key)
                    continue
                src = state_dict[key]
                shape = _shape_of(src)
                if shape is None:
                    errors.append(f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like '
                                  f"object from checkpoint but received {type(src)}")
                    continue
                if len(dst.shape) == 0 and len(shape) == 1 and shape[0] == 1:
                    shape = ()  # (PyTorch's backward compatibility: a [1] loads into a 0-dim one)
                if tuple(shape) != tuple(dst.shape):
                    errors.append(f"size mismatch for {key}: copying a param with shape {Size(shape)} from "
                                  f"checkpoint, the shape in current model is {dst.shape}.")
                    continue
                todo.append((m, n, dst, src))
            for key in state_dict:  # (PyTorch finds these with strict=False too)
                if key.startswith(pre):
                    name = key[len(pre):].split(".", 1)
                    if (name[0] not in m._modules) if len(name) > 1 else (name[0] not in local):
                        unexpected.append(key)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(type(self).__name__,
                                                                                  "\n\t".join(errors)))
        with no_grad():
            for m, n, dst, src in todo:
                _load_one(m, n, dst, src, assign)
        return _IncompatibleKeys(missing, unexpected)

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


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _shape_of(src: Any) -> tuple | None:
    """The shape of a state dict value (a tensor, a NumPy array or another array-like), or None."""
    if isinstance(src, (Tensor, np.ndarray)):
        return tuple(src.shape)
    if hasattr(src, "__array__") and hasattr(src, "shape"):  # (a torch tensor, for instance)
        return tuple(src.shape)
    return None


def _load_one(m: Module, n: str, dst: Tensor, src: Any, assign: bool) -> None:
    """Load one state dict value into parameter or buffer n of m (a copy, or src itself with assign)."""
    if isinstance(src, Tensor):
        val = src.detach()
    else:
        val = C.tensor(np.asarray(src.detach() if hasattr(src, "detach") else src))
    val = val.reshape(dst.shape)
    if assign:
        if n in m._parameters:
            m._parameters[n] = Parameter(val, requires_grad=dst.requires_grad)
        else:
            m._buffers[n] = val
        return
    val = val.to(device=dst.device, dtype=dst.dtype)
    dst._backend.setitem(dst._data, Ellipsis, val._data)
    dst._version.value += 1


def _device_only(t: Tensor, *args: Any, **kwargs: Any) -> Any:
    """The device among Module.to's arguments (t's own when they name only a dtype)."""
    for a in (*args, kwargs.get("device")):
        if isinstance(a, Tensor):
            return a.device
        if a is None:
            continue
        try:
            as_dtype(a)
        except (TypeError, ValueError, KeyError):
            return a
    return t.device


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
