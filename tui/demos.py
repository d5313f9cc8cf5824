"""Built-in examples. Each returns (root, gradient_or_None, {name: tensor or Value})."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def seed() -> tuple:
    """The seed tutorial's one-layer graph with a binary cross-entropy loss."""
    import nbgrad as ng

    ng.manual_seed(0)
    x = ng.ones(5)  # input
    y = ng.zeros(3)  # expected output
    w = ng.randn(5, 3, requires_grad=True)
    b = ng.randn(3, requires_grad=True)
    z = ng.matmul(x, w) + b
    loss = ng.nn.functional.binary_cross_entropy_with_logits(z, y)
    return loss, None, {"w": w, "b": b}


def vjp() -> tuple:
    """A vector-Jacobian product, backward twice without zeroing: the second call accumulates."""
    import nbgrad as ng

    inp = ng.eye(5, requires_grad=True)
    out = (inp + 1).pow(2)
    return out, ng.ones_like(out), {"inp": inp}


def mlp() -> tuple:
    """One training step of a small nn.Sequential classifier with CrossEntropyLoss."""
    import nbgrad as ng

    ng.manual_seed(0)
    model = ng.nn.Sequential(ng.nn.Linear(4, 8), ng.nn.ReLU(), ng.nn.Linear(8, 3))
    x = ng.randn(6, 4)
    target = ng.tensor(np.array([0, 1, 2, 0, 1, 2], dtype=np.int64))
    loss = ng.nn.CrossEntropyLoss()(model(x), target)
    return loss, None, {f"model.{k}": v for k, v in model.named_parameters()}


def nan() -> tuple:
    """A NaN born in the forward pass: log of a negative number feeding a sum."""
    import nbgrad as ng

    with ng.autograd.detect_anomaly():  # the forward pass records which op's output is finite
        a = ng.tensor([2.0, -1.0, 3.0], requires_grad=True)
        s = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = ng.log(a * s)  # log(-2) = nan, born in the forward pass
        loss = (h * h).sum()  # its backward multiplies by the saved nan
    return loss, None, {"a": a, "s": s}


def neuron() -> tuple:
    """A micrograd scalar neuron: o = tanh(x1*w1 + x2*w2 + b) on nbgrad.scalar.Value."""
    from nbgrad.scalar import Value

    x1, x2 = Value(2.0), Value(0.0)  # inputs
    w1, w2 = Value(-3.0), Value(1.0)  # weights
    b = Value(6.8813735870195432)  # bias (makes o = 0.7071)
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = n.tanh()
    return o, None, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "x1*w1": x1w1, "x2*w2": x2w2,
                     "x1*w1 + x2*w2": x1w1x2w2, "n": n, "o": o}


def custom() -> tuple:
    """A custom autograd.Function whose backward is wrong (g on CubeBackward shows it failing)."""
    import nbgrad as ng

    class Cube(ng.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x * x  # wrong: d/dx x^3 is 3 x^2

    x = ng.tensor([0.5, -1.0, 2.0], requires_grad=True)
    w = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = Cube.apply(x)
    loss = (y * w).sum()
    return loss, None, {"x": x, "w": w, "y": y}


def double() -> tuple:
    """A second derivative: backward through the graph grad(create_graph=True) made for d(x^3)/dx."""
    import nbgrad as ng

    x = ng.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (dydx,) = ng.autograd.grad(y, x, create_graph=True)  # 3 x^2, with a graph of its own
    d2 = dydx.sum()  # its backward puts 6 x into x.grad
    return d2, None, {"x": x, "y": y, "dydx": dydx, "d2": d2}


DEMOS: dict[str, Callable[[], tuple]] = {"seed": seed, "vjp": vjp, "mlp": mlp, "nan": nan, "neuron": neuron,
                                         "custom": custom, "double": double}
CALLS = {"vjp": 2}  # backward calls a demo makes (on the retained graph, .grad not reset in between)


def describe() -> list[tuple[str, str]]:
    return [(k, (f.__doc__ or "").strip().splitlines()[0]) for k, f in DEMOS.items()]


def build(name: str) -> Any:
    """Build a demo's graph (recording which nn.Module made each node; the nodes keep their
    inputs, so g can check them)."""
    from nbgrad.autograd.graph import keep_inputs

    from .model.groups import track_modules

    if name not in DEMOS:
        raise KeyError(f"unknown demo {name!r}; available: {', '.join(DEMOS)}")
    with track_modules(), keep_inputs():
        return DEMOS[name]()


def play(name: str, debugger: Any) -> None:
    """Build a demo under a started Debugger and make its backward calls."""
    root, grad, names = DEMOS[name]()
    debugger.names = names
    for _ in range(CALLS.get(name, 1)):
        if grad is None and not hasattr(root, "grad_fn"):  # a scalar Value
            root.backward()
        else:
            root.backward(grad, retain_graph=True)
