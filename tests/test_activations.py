"""Activations and the small row functions of nn.functional against torch: values and input
gradients under a random upstream gradient, float32 and float64, a transposed input, 0-d and
empty inputs, their module classes, in-place forms, float64 gradcheck and the CUDA simulator.
(Second derivatives: tests/cases_act.py through test_higher_order.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nbgrad as ng
from torch_scenarios import check_both, functional_of, to_numpy

# points away from each function's kinks (hardtanh, relu6, hardsigmoid, hardswish, leaky_relu)
X = np.array([[-4.1, -2.5, -0.7, -0.2], [0.3, 1.2, 2.9, 3.3], [5.2, -6.4, 0.05, 7.5]])

UNARY = {
    "silu": lambda F, x: F.silu(x),
    "mish": lambda F, x: F.mish(x),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.2),
    "elu": lambda F, x: F.elu(x, 1.3),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x, 0.5),
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, beta=2.0, threshold=3.0),
    "hardtanh": lambda F, x: F.hardtanh(x, -2.0, 2.0),
    "relu6": lambda F, x: F.relu6(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "hardswish": lambda F, x: F.hardswish(x),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "softsign": lambda F, x: F.softsign(x),
    "relu": lambda F, x: F.relu(x),
    "tanh": lambda F, x: F.tanh(x),
    "sigmoid": lambda F, x: F.sigmoid(x),
    "gelu": lambda F, x: F.gelu(x),
    "softmin": lambda F, x: F.softmin(x, dim=1),
    "glu": lambda F, x: F.glu(x, dim=1),
    "normalize": lambda F, x: F.normalize(x, p=2.0, dim=1),
    "normalize_p1": lambda F, x: F.normalize(x, p=1.0, dim=0),
}


def _tol(dt):
    return dict(rtol=2e-5, atol=1e-6) if dt == np.float32 else dict(rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(UNARY))
def test_against_torch(name, dt):
    fn = UNARY[name]
    check_both(lambda lib, x: fn(lib.nn.functional, x), [X], dt, _tol(dt))
    if name != "glu":  # (the transposed view's dim 1 has 3 elements: glu halves it)
        check_both(lambda lib, x: fn(lib.nn.functional, x), [X[:, :3].T.copy()], dt, _tol(dt), transpose=(0,))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["cosine_similarity", "pairwise_distance"])
def test_pairs_against_torch(name, dt):
    y = X[::-1].copy() * 0.7 + 0.1
    fn = (lambda F, a, b: F.cosine_similarity(a, b, dim=1)) if name == "cosine_similarity" else \
        (lambda F, a, b: F.pairwise_distance(a, b, p=3.0))
    check_both(lambda lib, a, b: fn(lib.nn.functional, a, b), [X, y], dt, _tol(dt))
    check_both(lambda lib, a, b: fn(lib.nn.functional, a, b), [X, y[:1]], dt, _tol(dt))  # broadcast


@pytest.mark.parametrize("name", ["silu", "elu", "softplus", "hardswish", "logsigmoid", "softsign", "relu6"])
def test_zero_d_and_empty(name):
    fn = UNARY[name]
    for a in (np.array(0.8), np.zeros((0, 3))):
        outs = []
        for lib in (ng, torch):
            x = lib.tensor(a, requires_grad=True)
            y = fn(lib.nn.functional, x)
            y.sum().backward()
            outs.append((to_numpy(y), to_numpy(x.grad)))
        np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
        np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)
        assert outs[0][0].shape == outs[1][0].shape


MODULES = [("SiLU", ()), ("Mish", ()), ("SELU", ()), ("ReLU6", ()), ("Hardsigmoid", ()), ("Hardswish", ()),
           ("LeakyReLU", (0.1,)), ("ELU", (0.7,)), ("CELU", (0.9,)), ("Softplus", (1.5, 4.0)), ("Softsign", ()),
           ("LogSigmoid", ()), ("Hardtanh", (-0.5, 1.5)), ("GLU", (1,)), ("Softmin", (1,)),
           ("CosineSimilarity", ()), ("PairwiseDistance", ())]


@pytest.mark.parametrize("cls,args", MODULES, ids=[m for m, _ in MODULES])
def test_modules(cls, args):
    pair = cls in ("CosineSimilarity", "PairwiseDistance")
    arrays = [X, X[::-1].copy()] if pair else [X]
    check_both(lambda lib, *xs: getattr(lib.nn, cls)(*args)(*xs), arrays, np.float64, _tol(np.float64))
    assert repr(getattr(ng.nn, cls)(*args)) == repr(getattr(torch.nn, cls)(*args))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "celu", "silu", "mish", "hardtanh", "relu6",
                                  "hardsigmoid", "hardswish"])
def test_inplace_forms(name):
    """F.<name>(x, inplace=True) changes x itself and returns it, as torch (on a non-leaf, so
    the gradient flows through the in-place node)."""
    res = []
    for lib in (ng, torch):
        F = lib.nn.functional
        w = lib.tensor(X, requires_grad=True)
        x = w * 1.0
        y = getattr(F, name)(x, inplace=True)
        assert y is x
        y.backward(lib.tensor(np.arange(12.0).reshape(3, 4)))
        res.append((to_numpy(x.detach()), to_numpy(w.grad)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


@pytest.mark.parametrize("name", ["silu", "mish", "elu", "softplus_beta", "logsigmoid", "softsign", "softmin",
                                  "glu", "normalize"])
def test_gradcheck(name):
    fn = UNARY[name]
    x = ng.tensor(X, requires_grad=True)
    assert ng.autograd.gradcheck(lambda t: fn(functional_of(t), t), [x])


def test_errors_as_torch():
    for fn in (lambda F, x: F.silu(x), lambda F, x: F.softplus(x), lambda F, x: F.hardswish(x)):
        errs = []
        for lib in (ng, torch):
            try:
                fn(lib.nn.functional, lib.tensor([1, 2, 3]))
                errs.append(None)
            except Exception as e:  # noqa: BLE001
                errs.append(type(e).__name__)
        assert errs[0] == errs[1], errs
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        ng.nn.functional.glu(ng.ones(3, 3), dim=1)


@pytest.mark.skipif(not ng.cuda.is_available(), reason="no CUDA (or simulator)")
def test_cuda_simulator():
    x0 = X[:2, :2]
    for name in ("silu", "elu", "softplus", "hardswish", "logsigmoid", "softsign"):
        fn = UNARY[name]
        xc = ng.tensor(x0, device="cuda", requires_grad=True)
        fn(ng.nn.functional, xc).sum().backward()
        xt = torch.tensor(x0, requires_grad=True)
        yt = fn(torch.nn.functional, xt)
        yt.sum().backward()
        # (the simulator runs the kernels as NumPy scalars: a float32 constant rounds a float64
        # expression to float32 there, not in compiled kernels)
        np.testing.assert_allclose(fn(ng.nn.functional, ng.tensor(x0, device="cuda")).cpu().numpy(),
                                   yt.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(xc.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-12)
