"""Shape, split, index and scatter ops (issue 16) against PyTorch: forward values, gradients
under non-uniform upstream gradients, float32 / float64, non-contiguous inputs, 0-d / empty
inputs, negative dims, views sharing storage and version counter, and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

from test_ops_oracle import DTYPES, _np, tol  # noqa: E402


def _outs(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def lib(x):
    return ng if isinstance(x, ng.Tensor) else torch


def check(fn, arrays, dt=np.float64, grad=True, seed=0, nograd=(), transpose=()):
    """fn(*tensors) in both libraries (fn picks the library with lib(x)): the same outputs
    (tensor or sequence of tensors) and the same input gradients for a random upstream gradient.
    transpose: indices of arrays given as transposed (non-contiguous) views."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=dt) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    rg = [grad and a.dtype.kind == "f" and i not in nograd for i, a in enumerate(arrays)]

    def make(L, a, r, i):
        if i in transpose:
            t = L.tensor(np.ascontiguousarray(a.T), requires_grad=r)
            return t, t.mT if a.ndim == 2 else t.permute(*range(a.ndim - 1, -1, -1))
        t = L.tensor(a, requires_grad=r)
        return t, t

    xn = [make(ng, a, r, i) for i, (a, r) in enumerate(zip(arrays, rg))]
    xt = [make(torch, a, r, i) for i, (a, r) in enumerate(zip(arrays, rg))]
    yn, yt = _outs(fn(*[v for _, v in xn])), _outs(fn(*[v for _, v in xt]))
    assert len(yn) == len(yt)
    for a, b in zip(yn, yt):
        assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
        assert a.dtype.name == str(b.dtype).replace("torch.", ""), (a.dtype, b.dtype)
        np.testing.assert_allclose(_np(a), _np(b), **tol(dt))
    if not grad or not any(rg):
        return
    pairs = [(a, b) for a, b in zip(yn, yt) if b.requires_grad]
    if not pairs:
        return
    gs = [rng.standard_normal(tuple(b.shape)).astype(_np(b).dtype) for _, b in pairs]
    ng.autograd.backward([a for a, _ in pairs], [ng.tensor(g) for g in gs])
    torch.autograd.backward([b for _, b in pairs], [torch.tensor(g) for g in gs])
    for (ln, _), (lt, _) in zip(xn, xt):
        if lt.grad is None:
            assert ln.grad is None or not np.any(_np(ln.grad))
            continue
        assert ln.grad is not None
        assert tuple(ln.grad.shape) == tuple(lt.grad.shape)
        np.testing.assert_allclose(_np(ln.grad), _np(lt.grad), **tol(dt))


def same_error(fn, arrays, match=None):
    """fn raises the same exception type in both libraries (and nbgrad's message contains match)."""
    with pytest.raises(Exception) as et:
        fn(*[torch.tensor(a) for a in arrays])
    with pytest.raises(Exception) as en:
        fn(*[ng.tensor(a) for a in arrays])
    assert isinstance(en.value, type(et.value)) or type(et.value).__name__ == type(en.value).__name__, (
        et.value, en.value)
    if match is not None:
        assert match in str(en.value), str(en.value)


def R(*shape, seed=1):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(-2, 2, shape)


# ------------------------------------------------------------------ 1. split and join
SPLITS = {
    "split_int": lambda x: lib(x).split(x, 2, 1),
    "split_int_uneven": lambda x: x.split(3, dim=-1),
    "split_list": lambda x: lib(x).split(x, [1, 0, 3], 1),
    "split_dim0": lambda x: x.split(2),
    "chunk": lambda x: lib(x).chunk(x, 3, 1),
    "chunk_more_than_size": lambda x: x.chunk(7, -1),
    "chunk_dim0": lambda x: x.chunk(2, 0),
    "unbind": lambda x: lib(x).unbind(x, 1),
    "unbind_neg": lambda x: x.unbind(-2),
    "narrow": lambda x: lib(x).narrow(x, 1, 1, 2),
    "narrow_neg_start": lambda x: x.narrow(-1, -3, 2),
    "tensor_split_sections": lambda x: lib(x).tensor_split(x, 3, 1),
    "tensor_split_indices": lambda x: lib(x).tensor_split(x, [1, 5, 9, 3], dim=1),
    "tensor_split_neg": lambda x: x.tensor_split((-2,), 1),
    "movedim": lambda x: lib(x).movedim(x, 0, 1),
    "moveaxis_tuple": lambda x: lib(x).moveaxis(x.unsqueeze(0), (0, 1), (2, 0)),
    "swapaxes": lambda x: lib(x).swapaxes(x, 0, -1),
    "swapdims": lambda x: x.swapdims(1, 0),
    "unflatten": lambda x: lib(x).unflatten(x, 1, (2, -1)),
    "unflatten_method": lambda x: x.unflatten(-1, (1, 4)),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(SPLITS))
def test_split_family(name, dt):
    check(SPLITS[name], [R(3, 4)], dt)
    check(SPLITS[name], [R(3, 4, seed=3)], dt, transpose=(0,))


JOINS = {
    "hstack_1d": lambda a, b: lib(a).hstack([a[0], b[0]]),
    "hstack_2d": lambda a, b: lib(a).hstack((a, b)),
    "vstack_1d": lambda a, b: lib(a).vstack([a[0], b[1]]),
    "vstack_2d": lambda a, b: lib(a).vstack([a, b]),
    "dstack": lambda a, b: lib(a).dstack([a, b]),
    "dstack_1d": lambda a, b: lib(a).dstack([a[0], b[0]]),
    "column_stack": lambda a, b: lib(a).column_stack([a[:, 0], b, a[:, 1]]),
    "column_stack_0d": lambda a, b: lib(a).column_stack([a[0, 0], b[0, 1]]),
    "atleast": lambda a, b: lib(a).atleast_3d(a[0, 0]) * 2 + lib(a).atleast_2d(b[0]).sum() + lib(a).atleast_1d(a[1, 1]),
    "atleast_seq": lambda a, b: lib(a).atleast_2d([a[0, 0], b]),
    "atleast_3d_2d": lambda a, b: lib(a).atleast_3d(a, b[0]),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(JOINS))
def test_join_family(name, dt):
    check(JOINS[name], [R(3, 4), R(3, 4, seed=2)], dt)


def test_split_pieces_are_views_sharing_the_version_counter():
    for L in (ng, torch):
        base = L.zeros(4, 6)
        pieces = [*base.split(2, 1), *base.chunk(2), *base.unbind(1), base.narrow(0, 1, 2), *base.tensor_split(3)]
        ver = (lambda t: t._version.value) if L is ng else (lambda t: t._version)
        v0 = ver(base)
        pieces[0].add_(1)
        assert ver(base) == v0 + 1
        assert all(ver(p) == ver(base) for p in pieces)
        assert all(p._base is base for p in pieces)
        assert float(base[:, :2].sum()) == 8.0


def test_inplace_on_a_narrow_or_tensor_split_piece_flows_gradient():
    def run(L):
        x = L.tensor(R(4, 3), requires_grad=True)
        y = x * 2
        y.narrow(0, 1, 2).mul_(x[:2].detach() + 1)
        y.tensor_split(2)[0].mul_(3)
        (y * L.tensor(R(4, 3, seed=5))).sum().backward()
        return x.grad

    np.testing.assert_allclose(_np(run(ng)), _np(run(torch)))


@pytest.mark.parametrize("fn", [lambda y: y.split(2)[1], lambda y: y.split([1, 3])[1], lambda y: y.chunk(2)[1],
                                lambda y: y.unbind()[3]])
def test_inplace_on_a_multi_output_view_with_grad_is_an_error(fn):
    msgs = []
    for L in (ng, torch):
        y = L.tensor(R(4, 3), requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="output of a function that returns multiple views") as e:
            fn(y).mul_(2)
        msgs.append(str(e.value).split(" is a view")[0])
        with L.no_grad():
            fn(y).mul_(2)  # allowed without grad
    assert msgs[0] == msgs[1]


def test_unbind_and_empty_split():
    for L in (ng, torch):
        assert [tuple(p.shape) for p in L.zeros(0, 3).split(0)] == [(0, 3)]
        assert [tuple(p.shape) for p in L.zeros(0).chunk(3)] == [(0,), (0,), (0,)]
        assert L.zeros(2, 0).unbind(1) == ()
    check(lambda x: x.split(1), [R(0, 2)])
    check(lambda x: lib(x).tensor_split(x, 3), [R(2)])


@pytest.mark.parametrize("fn,match", [
    (lambda x: x.split(0), "split_size can only be 0"),
    (lambda x: x.split(-1), "non-negative"),
    (lambda x: x.split([1, 1]), "split_sizes to sum exactly to 3"),
    (lambda x: x.chunk(0), "greater than 0"),
    (lambda x: x.narrow(0, 2, 2), "exceeds dimension size"),
    (lambda x: x.narrow(0, 5, 0), "start out of range"),
    (lambda x: x.unflatten(0, (2, -1)), "don't multiply up"),
    (lambda x: lib(x).movedim(x.reshape(1, 3), (0, 0), (1, 0)), "repeated dim"),
    (lambda x: x.tensor_split(0), "larger than 0"),
    (lambda x: lib(x).hstack([]), "non-empty TensorList"),
    (lambda x: x.split(1, 2), "Dimension out of range"),
    (lambda x: x.unbind(1), "Dimension out of range"),
    (lambda x: lib(x).swapaxes(x, 0, 3), "Dimension out of range"),
])
def test_split_errors(fn, match):
    same_error(fn, [np.zeros(3)], match)
