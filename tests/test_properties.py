"""Hypothesis property tests: random shapes, broadcast-compatible shape pairs and small
random expression graphs, compared against PyTorch in float64."""

from __future__ import annotations

import numpy as np
import pytest

hyp = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import nbgrad as ng  # noqa: E402

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

SETTINGS = settings(max_examples=25, deadline=None)
TOL = dict(rtol=1e-9, atol=1e-10)


def _pair(a, rg=True):
    return ng.tensor(a, requires_grad=rg), torch.tensor(a, requires_grad=rg)


def _compare_grads(pairs):
    for xn, xt in pairs:
        if xt.grad is None:
            assert xn.grad is None or np.allclose(xn.grad.numpy(), 0)
            continue
        assert xn.grad is not None
        assert xn.grad.shape == tuple(xt.grad.shape)
        np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), **TOL)


def _backward_both(yn, yt, seed):
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    yn.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5), "maximum": lambda a, b: _lib(a).maximum(a, b),
    "minimum": lambda a, b: _lib(a).minimum(a, b),
}


def _lib(x):
    return torch if isinstance(x, torch.Tensor) else ng


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_binary_broadcast(shapes, op, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    (an, at), (bn, bt) = _pair(a), _pair(b)
    yn, yt = BINARY[op](an, bn), BINARY[op](at, bt)
    assert yn.shape == tuple(yt.shape) == tuple(shapes.result_shape)
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), **TOL)
    _backward_both(yn, yt, seed + 1)
    _compare_grads([(an, at), (bn, bt)])


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), seed=st.integers(0, 2**16),
       keepdim=st.booleans(), data=st.data())
def test_reductions(shape, seed, keepdim, data):
    x = np.random.default_rng(seed).standard_normal(shape)
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True))
    op = data.draw(st.sampled_from(["sum", "mean", "logsumexp", "var", "std", "softmax", "amax"]))
    xn, xt = _pair(x)
    if op in ("sum", "mean", "logsumexp"):
        yn, yt = getattr(xn, op)(tuple(dims), keepdim=keepdim), getattr(xt, op)(tuple(dims), keepdim=keepdim)
    elif op in ("var", "std"):
        corr = 0 if np.prod([shape[d] for d in dims]) == 1 else 1
        yn = getattr(xn, op)(tuple(dims), keepdim=keepdim, correction=corr)
        yt = getattr(xt, op)(tuple(dims), keepdim=keepdim, correction=corr)
    elif op == "softmax":
        yn, yt = xn.softmax(dims[0]), xt.softmax(dims[0])
    else:
        yn, yt = xn.max(dims[0], keepdim=keepdim).values, xt.max(dims[0], keepdim=keepdim).values
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), **TOL)
    _backward_both(yn, yt, seed + 1)
    _compare_grads([(xn, xt)])


UNARY = [
    lambda x: x.exp() if not isinstance(x, float) else None,
    lambda x: (x * x + 0.5).log(),
    lambda x: (x * x + 0.1).sqrt(),
    lambda x: x.sin(), lambda x: x.cos(), lambda x: x.tanh(), lambda x: x.sigmoid(),
    lambda x: -x, lambda x: x * 1.5, lambda x: 2 - x, lambda x: x ** 2, lambda x: x.clamp(-1.3, 1.1),
    lambda x: x.abs() + 0.3 * x, lambda x: x.relu() - 0.2 * x,
]
BIN = [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / (b * b + 1.0),
    lambda a, b: _lib(a).maximum(a, b), lambda a, b: _lib(a).where(a > b, a, b * 2),
]


@SETTINGS
@given(seed=st.integers(0, 2**16),
       prog=st.lists(st.tuples(st.booleans(), st.integers(0, 100), st.integers(0, 100), st.integers(0, 100)),
                     min_size=1, max_size=8),
       shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
def test_random_graph(seed, prog, shape):
    rng = np.random.default_rng(seed)
    leaves = [_pair(rng.standard_normal(shape)) for _ in range(3)]
    vals_n = [p[0] for p in leaves]
    vals_t = [p[1] for p in leaves]
    for is_bin, op, i, j in prog:
        if is_bin:
            f = BIN[op % len(BIN)]
            a, b = i % len(vals_n), j % len(vals_n)
            vals_n.append(f(vals_n[a], vals_n[b]))
            vals_t.append(f(vals_t[a], vals_t[b]))
        else:
            f = UNARY[op % len(UNARY)]
            a = i % len(vals_n)
            vals_n.append(f(vals_n[a]))
            vals_t.append(f(vals_t[a]))
        # keep magnitudes tame so exp/pow chains stay finite
        vals_n[-1] = vals_n[-1].tanh() * 3
        vals_t[-1] = vals_t[-1].tanh() * 3
    yn = vals_n[-1].sum(-1) + vals_n[-2 if len(vals_n) > 1 else -1].mean()
    yt = vals_t[-1].sum(-1) + vals_t[-2 if len(vals_t) > 1 else -1].mean()
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), **TOL)
    _backward_both(yn, yt, seed + 1)
    _compare_grads(leaves)


@SETTINGS
@given(seed=st.integers(0, 2**16), batch=st.sampled_from([(), (2,), (3, 1), (1, 2)]),
       batch_b=st.sampled_from([(), (2,), (1,)]), m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4),
       vec=st.sampled_from(["none", "a", "b"]))
def test_matmul_shapes(seed, batch, batch_b, m, k, n, vec):
    rng = np.random.default_rng(seed)
    sa = (k,) if vec == "a" else batch + (m, k)
    sb = (k,) if vec == "b" else batch_b + (k, n)
    (an, at), (bn, bt) = _pair(rng.standard_normal(sa)), _pair(rng.standard_normal(sb))
    yn, yt = an @ bn, at @ bt
    assert yn.shape == tuple(yt.shape)
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), **TOL)
    _backward_both(yn, yt, seed + 1)
    _compare_grads([(an, at), (bn, bt)])


@SETTINGS
@given(seed=st.integers(0, 2**16), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_getitem_random(seed, shape, data):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    idx = []
    for s in shape:
        kind = data.draw(st.sampled_from(["slice", "int", "full", "array"]))
        if kind == "int":
            idx.append(data.draw(st.integers(-s, s - 1)))
        elif kind == "slice":
            idx.append(slice(data.draw(st.integers(0, s)), data.draw(st.integers(0, s)), data.draw(st.integers(1, 3))))
        elif kind == "array" and not any(isinstance(i, list) for i in idx):
            idx.append(data.draw(st.lists(st.integers(0, s - 1), min_size=1, max_size=4)))
        else:
            idx.append(slice(None))
    idx = tuple(idx)
    xn, xt = _pair(x)
    yn, yt = xn[idx], xt[idx]
    assert yn.shape == tuple(yt.shape)
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), **TOL)
    if yt.numel() == 0:
        return
    _backward_both(yn, yt, seed + 1)
    _compare_grads([(xn, xt)])
