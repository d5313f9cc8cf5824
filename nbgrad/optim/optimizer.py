"""Optimizer: PyTorch's base class (parameter groups, per-parameter state, zero_grad,
state_dict / load_state_dict in torch's layout). The update rules are in sgd.py, adam.py, ..."""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor


class _State(dict):
    """optimizer.state: a parameter's state dict, keyed by id(parameter); indexing with the
    parameter itself works too (``opt.state[p]``, as in PyTorch), and a missing one reads as a new
    empty dict (PyTorch's defaultdict(dict))."""

    @staticmethod
    def _key(k: Any) -> Any:
        return id(k) if isinstance(k, Tensor) else k

    def __getitem__(self, k: Any) -> dict:
        k = self._key(k)
        if k not in self:
            dict.__setitem__(self, k, {})
        return dict.__getitem__(self, k)

    def __setitem__(self, k: Any, v: dict) -> None:
        dict.__setitem__(self, self._key(k), v)

    def __contains__(self, k: Any) -> bool:
        return dict.__contains__(self, self._key(k))

    def __delitem__(self, k: Any) -> None:
        dict.__delitem__(self, self._key(k))

    def get(self, k: Any, default: Any = None) -> Any:
        return dict.get(self, self._key(k), default)

    def setdefault(self, k: Any, default: Any = None) -> Any:
        return dict.setdefault(self, self._key(k), default)

    def pop(self, k: Any, *default: Any) -> Any:
        return dict.pop(self, self._key(k), *default)


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _as_array(v: Any) -> np.ndarray:
    """A state value from a state dict (an nbgrad tensor, a numpy array, a torch tensor) as numpy."""
    if isinstance(v, Tensor):
        return v.detach().cpu().numpy()
    if hasattr(v, "detach") and hasattr(v, "numpy"):  # a torch tensor
        return v.detach().cpu().numpy()
    return np.asarray(v)


class Optimizer:
    """The base of the optimizers. Subclasses implement _update(p, grad_array, group, state) (or
    _update_group for a group at once); the state holds backend arrays and Python numbers."""

    # state entries that stay numbers (or a float32 device scalar for capturable) when loaded
    _scalar_state: tuple = ("step", "mu_product")

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = defaults
        self.state: _State = _State()
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self) -> str:
        s = type(self).__name__ + " ("
        for i, g in enumerate(self.param_groups):
            s += f"\nParameter Group {i}"
            for k in sorted(g):
                if k != "params":
                    s += f"\n    {k}: {g[k]}"
        return s + "\n)"

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with options of its own (the others from the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        g = dict(param_group)
        params = g["params"]
        if isinstance(params, Tensor):
            g["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            g["params"] = list(params)
        for p in g["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for k, v in self.defaults.items():
            if v is required and k not in g:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {k}")
            g.setdefault(k, v)
        if len({id(p) for p in g["params"]}) != len(g["params"]):
            import warnings

            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in g["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(g)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        if p.grad.grad_fn is not None:
                            p.grad.detach_()
                        p.grad.zero_()

    def _check_warm(self, p: Any, st: dict) -> None:
        """State made during a graph capture would be made again at each replay (a momentum
        buffer or a step count reset to its start): refuse it."""
        if not st and p._backend.capturing:
            raise RuntimeError(f"{type(self).__name__}.step() would create its state during a CUDA graph capture, "
                               "and every replay would start it over: run step() once before capturing (warm-up)")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; closure (re-evaluates the loss,
        with grad enabled) is called first and its loss returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for g in self.param_groups:
                self._update_group([(p, p._grad._data, self.state.setdefault(id(p), {}))
                                    for p in g["params"] if p._grad is not None], g)
        return loss

    def _update_group(self, items: list, g: dict) -> None:
        """Update a group's parameters that have gradients: (parameter, gradient, state) each."""
        for p, d, st in items:
            self._update(p, d, g, st)

    def _update(self, p: Any, grad: np.ndarray, g: dict, st: dict) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ state dict (torch's layout)
    def state_dict(self) -> dict:
        """{'state': {index: {name: tensor or number}}, 'param_groups': [{option: value, 'params':
        [index, ...]}]}: parameters are numbered in the order of the groups, as PyTorch does. The
        state's tensors share memory with the optimizer's (PyTorch's too); numbers stay numbers."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        params = {id(p): p for g in self.param_groups for p in g["params"]}
        state = {}
        for pid, st in dict.items(self.state):
            if pid in index and st:
                be = params[pid]._backend
                state[index[pid]] = {k: (v if isinstance(v, (int, float, bool, np.generic, Tensor)) or v is None
                                         else Tensor._wrap(v, be)) for k, v in st.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take over a state dict's per-group options and per-parameter state (copied onto each
        parameter's device and dtype; step counts stay numbers). The groups' parameters stay."""
        groups, saved = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = {}
        for g, s in zip(groups, saved):
            for p, i in zip(g["params"], s["params"]):
                id_map[i] = p
        new_state: dict = {}
        for k, st in state_dict["state"].items():
            k = int(k)
            if k not in id_map:
                continue
            p = id_map[k]
            new_state[id(p)] = {name: self._load_value(p, name, v, groups) for name, v in st.items()}
        new_groups = []
        for g, s in zip(groups, saved):
            ng_ = copy.deepcopy({k: v for k, v in s.items() if k != "params"})
            ng_["params"] = g["params"]
            new_groups.append(ng_)
        self.state = _State()
        for pid, st in new_state.items():
            dict.__setitem__(self.state, pid, st)
        self.param_groups[:] = new_groups

    def _load_value(self, p: Any, name: str, v: Any, groups: list) -> Any:
        be = p._backend
        if name in self._scalar_state:
            if isinstance(v, (int, float, np.generic)):
                return v.item() if isinstance(v, np.generic) else v
            a = _as_array(v)
            if name == "step" and be.can_capture and any(
                    g.get("capturable") for g in groups if any(q is p for q in g["params"])):
                return be.asarray(np.ascontiguousarray(a.astype(np.float32)))
            x = a.item()
            return int(x) if name == "step" and float(x).is_integer() else x
        if v is None or isinstance(v, (int, float, bool, str)):
            return v
        a = _as_array(v)
        if a.shape != tuple(p.shape):
            raise ValueError(f"loaded state '{name}' of shape {list(a.shape)} doesn't match its parameter's shape "
                             f"{list(p.shape)}")
        return be.asarray(np.ascontiguousarray(a.astype(p._data.dtype if a.dtype.kind == "f" else a.dtype)))


# ---------------------------------------------------------------- composed updates
# The optimizers without a fused kernel (RMSprop, Adagrad, Adamax, NAdam) compose nbgrad's
# elementwise ops on tensors that wrap the backend arrays (so they run on every device), in
# PyTorch's single-tensor operation order, and write the results back into the arrays.

def _t(a: Any, be: Any) -> Tensor:
    return Tensor._wrap(a, be)


def _lerp(a: Tensor, b: Tensor, w: float) -> Tensor:
    """PyTorch's lerp (a + w (b - a), or b - (b - a)(1 - w) for w >= 0.5)."""
    return a + (b - a) * w if w < 0.5 else b - (b - a) * (1 - w)


def _put(dst: Any, src: Tensor, be: Any) -> None:
    """Write src's values into the backend array dst (in place)."""
    be.setitem(dst, Ellipsis, src._data)


def _zeros(p: Any, value: float = 0) -> Any:
    return p._backend.full(p._data.shape, value, p._data.dtype)


def _check(ok: bool, what: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"Invalid {what}: {value}")
