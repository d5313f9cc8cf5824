"""Layers of issue 17 against PyTorch: gelu, normalisation (layer/rms/group/batch norm with their
running statistics), dropout, embedding, scaled dot-product attention, MultiheadAttention and
TransformerEncoderLayer: values, gradients under non-uniform upstream gradients, float32 and
float64, state_dict keys and values loaded from torch's modules, train/eval, torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng
import nbgrad.nn.functional as NF

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]


def tol(dt):
    return dict(rtol=2e-5, atol=2e-5) if dt == np.float32 else dict(rtol=1e-10, atol=1e-10)


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x.detach().cpu().numpy() if isinstance(x, ng.Tensor) else x)


def R(*shape, seed=1, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(lo, hi, shape)


def check(fn, arrays, dt, nograd=(), seed=0, transpose=()):
    """fn(lib, *tensors) in both libraries on the same inputs: outputs and input gradients under a
    random upstream gradient. Indices in `transpose` are passed as non-contiguous (transposed) views."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=dt) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    rg = [a.dtype.kind == "f" and i not in nograd for i, a in enumerate(arrays)]

    def make(lib, i, a, r):
        if i in transpose:
            t = lib.tensor(np.ascontiguousarray(a.swapaxes(-1, -2)), requires_grad=r)
            return t, t.transpose(-1, -2)
        t = lib.tensor(a, requires_grad=r)
        return t, t

    xs = [make(ng, i, a, r) for i, (a, r) in enumerate(zip(arrays, rg))]
    ts = [make(torch, i, a, r) for i, (a, r) in enumerate(zip(arrays, rg))]
    yn, yt = fn(ng, *[v for _, v in xs]), fn(torch, *[v for _, v in ts])
    assert tuple(yn.shape) == tuple(yt.shape)
    assert yn.dtype.name == str(yt.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(yn), _np(yt), **tol(dt))
    g = rng.standard_normal(tuple(yt.shape)).astype(_np(yt).dtype)
    yn.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))
    for (xn, _), (xt, _) in zip(xs, ts):
        if xt.grad is None:
            assert xn.grad is None or not np.any(_np(xn.grad))
            continue
        assert xn.grad is not None
        np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), **tol(dt))


def F(lib):
    return NF if lib is ng else TF


# ---------------------------------------------------------------- gelu
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(dt, approximate):
    check(lambda lib, x: F(lib).gelu(x, approximate=approximate), [R(4, 6, lo=-5, hi=5)], dt)
    check(lambda lib, x: F(lib).gelu(x, approximate=approximate), [R(3, 5)], dt, transpose=(0,))
    check(lambda lib, x: lib.nn.GELU(approximate)(x), [np.asarray(0.7)], dt)


def test_gelu_empty_and_errors():
    assert NF.gelu(ng.zeros(0, 3)).shape == (0, 3)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        NF.gelu(ng.ones(2), approximate="fast")
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        NF.gelu(ng.tensor([1, 2]))
    assert repr(ng.nn.GELU("tanh")) == repr(torch.nn.GELU("tanh"))
