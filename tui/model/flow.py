"""The gradient flow across a script's backward calls: per-module gradient norms, with
vanishing / exploding flags, and the fraction of dead ReLU units.

Collected without stopping: a post-accumulate-grad hook on each parameter adds its
|grad|^2 to its module's sum for the current call, and a forward hook on every
nn.ReLU counts the units that were zero for the whole batch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .groups import ModuleTracker, module_key
from .values import to_host

VANISHING = 1e-6  # a module's |grad| below this fraction of the call's largest is flagged
EXPLODING = 1e3  # a module's |grad| above this (or nan / inf) is flagged


@dataclass
class FlowRow:
    module: str
    norms: list[float | None]  # one per recorded call (None where the module got no gradient)
    flag: str  # "", "vanishing" or "exploding"
    dead: float | None = None  # dead ReLU fraction in the last call (ReLU modules)


@dataclass
class GradientFlow:
    calls: list[int] = field(default_factory=list)  # the backward calls recorded, in order
    _sumsq: dict[Any, dict[int, float]] = field(default_factory=dict)  # module key -> call -> sum |grad|^2
    _dead: dict[Any, dict[int, float]] = field(default_factory=dict)  # ReLU key -> call -> dead fraction
    _pending_dead: dict[Any, float] = field(default_factory=dict)  # ReLU outputs since the last backward
    _hooked: dict[int, Any] = field(default_factory=dict)  # id(param) -> its hook handle
    _key_of: dict[int, Any] = field(default_factory=dict)  # id(param) -> module key
    tracker: ModuleTracker | None = None

    def begin_call(self, n: int) -> None:
        """A backward call starts: the ReLU outputs seen since the last one belong to it."""
        self.calls.append(n)
        for k, v in self._pending_dead.items():
            self._dead.setdefault(k, {})[n] = v
        self._pending_dead.clear()

    def watch(self, params: dict[str, Any]) -> None:
        """Hook the leaves named here ({name: tensor}) and the parameters of the modules the
        tracker has seen (grouped by module)."""
        if self.tracker is not None:
            for p, top, pname in self.tracker.parameters():
                self._hook(p, (top, pname.rsplit(".", 1)[0] if "." in pname else ""))
        for name, t in params.items():
            self._hook(t, name.rsplit(".", 1)[0] if "." in name else name)

    def _hook(self, t: Any, key: Any) -> None:
        if id(t) in self._hooked or not getattr(t, "requires_grad", False) or not getattr(t, "is_leaf", False):
            return
        self._key_of[id(t)] = key

        def on_grad(p: Any) -> None:
            if not self.calls:
                return
            g = to_host(p.grad)
            s = float(np.sum(np.square(g, dtype=np.float64))) if g is not None else 0.0
            d = self._sumsq.setdefault(self._key_of[id(p)], {})
            d[self.calls[-1]] = d.get(self.calls[-1], 0.0) + s

        self._hooked[id(t)] = t.register_post_accumulate_grad_hook(on_grad)

    def on_module_output(self, module: Any, key: tuple, output: Any) -> None:
        """A module's forward output: for an nn.ReLU, the fraction of units zero over the batch."""
        import nbgrad as ng

        if not isinstance(module, ng.nn.ReLU) or not isinstance(output, ng.Tensor):
            return
        a = to_host(output)
        if a is None or a.size == 0:
            return
        units = (a == 0).reshape(a.shape[0], -1).all(axis=0) if a.ndim > 1 else (a == 0)
        self._pending_dead[key] = float(np.mean(units))

    def stop(self) -> None:
        for h in self._hooked.values():
            h.remove()
        self._hooked.clear()

    # --- what the panel shows ---
    def rows(self, names: dict[int, str]) -> list[FlowRow]:
        """One row per module (in the order first seen), then one per ReLU."""
        def label(key: Any) -> str:
            return key if isinstance(key, str) else module_key(key[0], key[1], names)

        out = []
        last_call = self.calls[-1] if self.calls else None
        largest = max([math.sqrt(v[last_call]) for v in self._sumsq.values()
                       if last_call in v and math.isfinite(v[last_call])], default=0.0)
        for key, per_call in self._sumsq.items():
            norms = [math.sqrt(per_call[n]) if n in per_call else None for n in self.calls]
            last = norms[-1] if norms else None
            flag = ""
            if last is not None and (not math.isfinite(last) or last > EXPLODING):
                flag = "exploding"
            elif last is not None and last < VANISHING * largest:
                flag = "vanishing"
            out.append(FlowRow(label(key), norms, flag))
        for key, per_call in self._dead.items():
            out.append(FlowRow(label(key), [], "", per_call.get(last_call, next(reversed(per_call.values())))))
        return out

    def to_json(self, names: dict[int, str]) -> dict:
        def clean(x: float | None) -> float | str | None:
            return x if x is None or math.isfinite(x) else str(x)

        return {"calls": self.calls, "vanishing_below_fraction_of_largest": VANISHING, "exploding_above": EXPLODING,
                "modules": [{"module": r.module, "grad_norms": [clean(x) for x in r.norms], "flag": r.flag or None}
                            for r in self.rows(names) if r.dead is None],
                "relu_dead_fraction": [{"module": r.module, "dead": r.dead} for r in self.rows(names)
                                       if r.dead is not None]}
