"""Second-derivative cases of the activations (issue 16), tiny: (fn, arrays, no-grad indices)."""

from __future__ import annotations

import numpy as np

import nbgrad as ng

X = np.array([[-2.5, -0.7, 0.3], [1.2, 2.9, -4.1]])


from torch_scenarios import functional_of as _F  # noqa: E402


def _hardsigmoid(x):  # torch has no double backward for hardsigmoid: compare with its composed form
    if isinstance(x, ng.Tensor):
        return ng.nn.functional.hardsigmoid(x)
    return (x / 6 + 0.5).clamp(0, 1)


CASES = {
    "silu": (lambda x: _F(x).silu(x), [X]),
    "mish": (lambda x: _F(x).mish(x), [X]),
    "leaky_relu": (lambda x: _F(x).leaky_relu(x, 0.2), [X]),
    "elu": (lambda x: _F(x).elu(x, 1.3), [X]),
    "selu": (lambda x: _F(x).selu(x), [X]),
    "celu": (lambda x: _F(x).celu(x, 0.5), [X]),
    "softplus": (lambda x: _F(x).softplus(x, 2.0, 3.0), [X]),
    "hardtanh": (lambda x: _F(x).hardtanh(x, -2.0, 2.0), [X]),
    "hardsigmoid": (_hardsigmoid, [X]),
    "hardswish": (lambda x: _F(x).hardswish(x), [X]),
    "logsigmoid": (lambda x: _F(x).logsigmoid(x), [X]),
}
