"""The backend contract (backends/contract.py): a device that implements only the primitives
runs every fused op through the generic fallbacks, and they agree with the CPU's kernels."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import nbgrad as ng
from nbgrad.backends import Backend, get_backend
from nbgrad.backends.contract import PRIMITIVES, Fused
from nbgrad.tensor import Tensor

CPU = get_backend("cpu")


class MinimalBackend(Fused):
    """A device with the primitives only (the CPU's, borrowed one by one): every fused op is a fallback."""

    name = "minimal"
    device_type = "minimal"

    def __getattr__(self, name: str):
        if name in PRIMITIVES:
            return getattr(CPU, name)
        raise AttributeError(name)


MIN = MinimalBackend()


def on_min(a, requires_grad=False) -> Tensor:
    t = Tensor._wrap(MIN.asarray(np.asarray(a)), MIN)
    return t.requires_grad_() if requires_grad else t


def test_the_protocol_is_primitives_plus_fused():
    protocol = {n for n, v in vars(Backend).items() if callable(v) and not n.startswith("_")}
    fused = {n for n, v in vars(Fused).items() if callable(v) and not n.startswith("_")}
    assert protocol - set(PRIMITIVES) - fused <= {"to_dlpack", "dlpack_device"}  # interop: optional
    assert not set(PRIMITIVES) & fused
    for name in fused:  # the CPU overrides or inherits each fused op; the fallback runs on MIN
        assert callable(getattr(CPU, name)) and callable(getattr(MIN, name))


def test_fallbacks_use_only_primitives():
    src = inspect.getsource(Fused)
    calls = {w.split("(")[0] for w in src.replace("self.", " self.").split() if w.startswith("self.")}
    names = {c[5:] for c in calls}
    fused = {n for n in vars(Fused)}
    assert names <= set(PRIMITIVES) | fused | {"foreach", "can_capture"}, names - set(PRIMITIVES) - fused


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_family(dt, axis, log):
    x = RNG.standard_normal((5, 7)).astype(dt)
    x[2] = -np.inf if axis in (1, -1) else x[2]
    g = RNG.standard_normal((5, 7)).astype(dt)
    tol = dict(rtol=1e-5, atol=1e-6) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
    y = CPU.softmax(x, axis % 2, log)
    np.testing.assert_allclose(MIN.softmax(x, axis % 2, log), y, **tol)
    if not np.isinf(x).any():
        np.testing.assert_allclose(MIN.softmax_backward(y, g, axis % 2, log), CPU.softmax_backward(y, g, axis % 2, log),
                                   **tol)
    np.testing.assert_allclose(MIN.logsumexp(x, axis % 2), CPU.logsumexp(x, axis % 2), **tol)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("mean", [False, True])
def test_nll_rows(weighted, mean):
    x = RNG.standard_normal((6, 4))
    t = np.array([0, 3, -100, 2, 1, 3])
    w = RNG.random(4) + 0.5 if weighted else None
    per_c, valid_c = CPU.nll_forward(x, t, -100, w)
    per, valid = MIN.nll_forward(x, t, -100, w)
    np.testing.assert_allclose(per, per_c, rtol=1e-12)
    np.testing.assert_allclose(valid, valid_c, rtol=1e-12)
    logp, per2, _ = MIN.log_softmax_nll(x, t, -100, w)
    np.testing.assert_allclose(logp, CPU.softmax(x, 1, True), rtol=1e-12)
    loss, n = MIN.nll_reduce(per2, valid, mean)
    loss_c, n_c = CPU.nll_reduce(*CPU.log_softmax_nll(x, t, -100, w)[1:], mean)
    np.testing.assert_allclose(loss, loss_c, rtol=1e-12)
    g = np.asarray(0.7) if mean else RNG.standard_normal(6)
    np.testing.assert_allclose(MIN.nll_backward(g, t, 4, -100, w, n if mean else None),
                               CPU.nll_backward(g, t, 4, -100, w, n_c if mean else None), rtol=1e-12)
    with pytest.raises(IndexError, match="Target 9 is out of bounds"):
        MIN.nll_forward(x, np.array([0, 9, 1, 1, 1, 1]), -100, w)


def test_layer_norm_and_products():
    x = RNG.standard_normal((3, 4, 6)).astype(np.float32)
    g = RNG.standard_normal((3, 4, 6)).astype(np.float32)
    y, rstd = MIN.layer_norm(x, 6, 1e-5)
    yc, rstdc = CPU.layer_norm(x, 6, 1e-5)
    np.testing.assert_allclose(y, yc, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rstd, rstdc, rtol=1e-5)
    np.testing.assert_allclose(MIN.layer_norm_backward(g, yc, rstdc, 6), CPU.layer_norm_backward(g, yc, rstdc, 6),
                               rtol=1e-4, atol=1e-5)
    a, b, bias = RNG.standard_normal((3, 5)), RNG.standard_normal((5, 2)), RNG.standard_normal(2)
    np.testing.assert_allclose(MIN.addmm(bias, a, b), a @ b + bias, rtol=1e-12)
    idx = np.array([[2], [0], [1]])
    np.testing.assert_array_equal(MIN.scatter_along_axis((3, 4), idx, np.ones((3, 1)), 1),
                                  CPU.scatter_along_axis((3, 4), idx, np.ones((3, 1)), 1))
    np.testing.assert_array_equal(MIN.index_select(a, 1, np.array([4, 0, 0])), a[:, [4, 0, 0]])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        MIN.check_unit_interval(np.array([0.5, 1.5]))


@pytest.mark.parametrize("hyper", [
    dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
    dict(momentum=0.9, dampening=0.1, weight_decay=0.01, nesterov=False, maximize=True),
    dict(momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True, maximize=False),
])
def test_sgd_step(hyper):
    x0, d = RNG.standard_normal(7), RNG.standard_normal(7)
    out = []
    for be in (CPU, MIN):
        x, buf = x0.copy(), np.zeros(7)
        for first in (True, False):
            be.sgd_step(x, d, buf if hyper["momentum"] else None, lr=0.1, first=first, **hyper)
        out.append(x)
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12)


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_adam_step(decoupled, maximize):
    x0, d = RNG.standard_normal(7).astype(np.float32), RNG.standard_normal(7).astype(np.float32)
    out = []
    for be in (CPU, MIN):
        x, m, v = x0.copy(), np.zeros(7, np.float32), np.zeros(7, np.float32)
        for step in (1, 2, 3):
            be.adam_step(x, d, m, v, step=step, lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1,
                         decoupled=decoupled, maximize=maximize)
        out.append((x, m, v))
    for a, b in zip(out[1], out[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_model_trains_on_a_device_with_primitives_only():
    """An MLP with LayerNorm, cross-entropy and Adam: the same losses and parameters on the
    minimal device as on the CPU, step by step."""
    rng = np.random.default_rng(1)
    params0 = [rng.standard_normal((6, 8)) * 0.3, np.zeros(8), np.ones(8), np.zeros(8),
               rng.standard_normal((8, 3)) * 0.3, np.zeros(3)]
    X, T = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
    F = ng.nn.functional
    runs = []
    for make in (lambda a, rg=False: ng.tensor(a, requires_grad=rg), on_min):
        ps = [make(p.copy(), True) for p in params0]
        opt = ng.optim.Adam(ps, lr=0.05)
        x, t = make(X), make(T)
        losses = []
        for _ in range(4):
            opt.zero_grad()
            h = F.layer_norm(x @ ps[0] + ps[1], (8,), ps[2], ps[3]).relu()
            loss = F.cross_entropy(h @ ps[4] + ps[5], t) + F.log_softmax(h, dim=1).logsumexp(1).mean() * 0
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert all(p._backend is ps[0]._backend for p in ps)
        runs.append((losses, [p.detach()._backend.to_numpy(p._data) for p in ps]))
    assert runs[1][0][0] > runs[1][0][-1]
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-10)
    for a, b in zip(runs[1][1], runs[0][1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
