"""Shape, split, index and scatter ops (issue 16) against PyTorch: forward values, gradients
under non-uniform upstream gradients, float32 / float64, non-contiguous inputs, 0-d / empty
inputs, negative dims, views sharing storage and version counter, and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng
import nbgrad.nn.functional as NF

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


# ------------------------------------------------------------------ 2. index and scatter
I = np.array  # index arrays (int64 unless said)
IDX2 = I([[0, 1, 1], [2, 0, 0], [3, 3, 1]])  # (3, 3) into a dim of size 4, with duplicates in each row
ROWS = I([2, 0, 2, 1])  # into a dim of size 3, 2 twice

INDEX_CASES = {
    "gather": (lambda x, i: x.gather(1, i), [R(3, 4), IDX2]),
    "gather_dim0": (lambda x, i: lib(x).gather(x, 0, i), [R(3, 4), I([[0, 2, 1, 0], [2, 2, 0, 1]])]),
    "gather_neg_dim_smaller_index": (lambda x, i: x.gather(-1, i), [R(3, 4), I([[1], [0]])]),
    "gather_3d": (lambda x, i: x.gather(1, i), [R(2, 3, 2), I([[[0, 1], [2, 2]], [[1, 0], [0, 0]]])]),
    "gather_0d": (lambda x, i: x.gather(0, i), [R(), I([0, 0])]),
    "gather_empty": (lambda x, i: x.gather(1, i), [R(3, 4), np.zeros((3, 0), np.int64)]),
    "scatter_src": (lambda x, i, s: x.scatter(1, i, s), [R(3, 4), I([[0, 1], [2, 3], [3, 0]]), R(3, 2, seed=4)]),
    # (torch's backward fails for a src larger than index: src's gradient is checked separately)
    "scatter_bigger_src": (lambda x, i, s: x.scatter(0, i, s), [R(3, 4), I([[0, 1, 2], [1, 2, 0]]), R(3, 4, seed=4)],
                           (2,)),
    "scatter_value": (lambda x, i: x.scatter(1, i, 2.5), [R(3, 4), IDX2]),
    "scatter_value_kw": (lambda x, i: lib(x).scatter(x, 1, i, value=-1.0), [R(3, 4), IDX2]),
    "scatter_add": (lambda x, i, s: x.scatter_add(1, i, s), [R(3, 4), IDX2, R(3, 3, seed=4)]),
    "scatter_add_fn_bigger_src": (lambda x, i, s: lib(x).scatter_add(x, 0, i, s),
                                  [R(3, 4), I([[0, 0, 2], [0, 2, 0]]), R(3, 4, seed=4)], (2,)),
    "scatter_add_dup_dim0": (lambda x, i, s: x.scatter_add(0, i, s), [R(2, 3), I([[1, 1, 1], [1, 0, 1]]),
                                                                       R(2, 3, seed=5)]),
    "index_select": (lambda x, i: x.index_select(0, i), [R(3, 4), ROWS]),
    "index_select_dim1": (lambda x, i: lib(x).index_select(x, -1, i), [R(3, 4), I([3, 3, 0])]),
    "index_select_0d_index": (lambda x, i: x.index_select(1, i), [R(3, 4), I(2)]),
    "index_select_empty": (lambda x, i: x.index_select(0, i), [R(3, 4), np.zeros(0, np.int64)]),
    "index_add": (lambda x, i, s: x.index_add(0, i, s), [R(3, 4), ROWS, R(4, 4, seed=4)]),
    "index_add_alpha": (lambda x, i, s: lib(x).index_add(x, 1, i, s, alpha=-2.5), [R(3, 4), I([1, 1, 0]),
                                                                                    R(3, 3, seed=4)]),
    "index_copy": (lambda x, i, s: x.index_copy(1, i, s), [R(3, 4), I([3, 0]), R(3, 2, seed=4)]),
    "index_fill": (lambda x, i: x.index_fill(1, i, -3.0), [R(3, 4), I([1, -1, 1])]),
    "masked_fill": (lambda x, m: x.masked_fill(m, 7.0), [R(3, 4), R(3, 4, seed=9) > 0]),
    "masked_fill_broadcast_mask": (lambda x, m: lib(x).masked_fill(x, m, -1.0), [R(3, 4), R(4, seed=9) > 0]),
    "masked_select": (lambda x, m: x.masked_select(m), [R(3, 4), R(3, 4, seed=9) > 0]),
    "masked_select_broadcast": (lambda x, m: lib(x).masked_select(x, m), [R(4), R(3, 4, seed=9) > 0]),
    "masked_scatter": (lambda x, m, s: x.masked_scatter(m, s), [R(3, 4), R(3, 4, seed=9) > 0, R(13, seed=3)]),
    "masked_scatter_broadcast": (lambda x, m, s: x.masked_scatter(m, s), [R(3, 4), R(4, seed=9) > 0,
                                                                           R(3, 4, seed=3)]),
    "take_along_dim": (lambda x, i: lib(x).take_along_dim(x, i, 1), [R(3, 4), I([[1], [3], [0]])]),
    "take_along_dim_broadcast": (lambda x, i: x.take_along_dim(i, dim=1), [R(3, 4), I([[1, 2, 2]])]),
    "take_along_dim_none": (lambda x, i: lib(x).take_along_dim(x, i), [R(3, 4), I([11, 0, 5, 5])]),
    "take_along_dim_argsort": (lambda x: lib(x).take_along_dim(x, lib(x).tensor(np.argsort(_np(x), 1)), 1),
                               [R(3, 4)]),
    "take": (lambda x, i: x.take(i), [R(3, 4), I([[0, 11], [-1, 5], [5, 3]])]),
    "setitem_advanced_y": (lambda x, y: _setitem(x, (lib(x).tensor([0, 2]),), y), [R(3, 4), R(2, 4, seed=3)]),
    "setitem_mask_y": (lambda x, y: _setitem(x, lib(x).tensor(_np(x) > 0), y), [R(3, 4), R(seed=3)]),
    "setitem_broadcast_y": (lambda x, y: _setitem(x, (slice(None), lib(x).tensor([1, 3])), y),
                            [R(3, 4), R(2, seed=3)]),
    "setitem_basic_y": (lambda x, y: _setitem(x, (slice(1, None), 2), y), [R(3, 4), R(2, seed=3)]),
    "setitem_duplicates": (lambda x, y: _setitem(x, (lib(x).tensor([1, 1]),), y), [R(3, 4), R(4, seed=3)]),
    "getitem_tuple_sequence": (lambda x: x[((1, 0),)], [R(3, 4)]),
    "getitem_tuple_sequence_2d": (lambda x: x[((1, 0), (2, 3))], [R(3, 4)]),
}


def _setitem(x, idx, y):
    z = x * 1.0
    z[idx] = y
    return z * 2


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(INDEX_CASES))
def test_index_ops(name, dt):
    fn, arrays, *nograd = INDEX_CASES[name]
    check(fn, arrays, dt, nograd=nograd[0] if nograd else ())


def test_scatter_src_larger_than_index_gets_a_zero_padded_gradient():
    i = ng.tensor(I([[0, 0, 2], [0, 2, 0]]))
    for op in ("scatter", "scatter_add"):
        s = ng.tensor(R(3, 4, seed=4), requires_grad=True)
        g = R(3, 4, seed=6)
        getattr(ng.zeros(3, 4, dtype=ng.float64), op)(0, i, s).backward(ng.tensor(g))
        want = np.zeros((3, 4))
        want[:2, :3] = np.take_along_axis(g[:, :3], i.numpy(), 0)  # (scatter too: torch's formula, a gather)
        np.testing.assert_allclose(s.grad.numpy(), want)


@pytest.mark.parametrize("name", ["gather", "scatter_add", "index_select", "index_add", "masked_fill", "take",
                                  "scatter_src", "index_copy"])
def test_index_ops_non_contiguous(name):
    fn, arrays = INDEX_CASES[name][:2]
    # the same values through a transposed (non-contiguous) view
    check(lambda xt, *rest: fn(xt.mT, *rest), [np.ascontiguousarray(arrays[0].T)] + arrays[1:])


SCATTER_REDUCE = [(r, s) for r in ("sum", "prod", "mean", "amax", "amin") for s in (True, False)]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduce,include_self", SCATTER_REDUCE)
def test_scatter_reduce(reduce, include_self, dt):
    src = R(3, 3, seed=4)
    src[1, 1] = src[1, 2]  # a tie (amax / amin share the gradient)
    x = R(3, 4)
    x[0, 1] = 10.0 if reduce == "amin" else -10.0  # self loses at some positions
    check(lambda x, i, s: x.scatter_reduce(1, i, s, reduce, include_self=include_self), [x, IDX2, src], dt)
    check(lambda x, i, s: lib(x).scatter_reduce(x, 0, i, s, reduce, include_self=include_self),
          [R(3, 4), I([[0, 0, 2, 2], [0, 1, 2, 0]]), R(2, 4, seed=5)], dt)


def test_scatter_reduce_prod_with_zeros():
    x, src = R(3, 4), R(3, 3, seed=4)
    x[1, 2] = 0.0
    src[0, 0] = 0.0
    for include_self in (True, False):
        check(lambda x, i, s: x.scatter_reduce(1, i, s, "prod", include_self=include_self), [x, IDX2, src])


def test_scatter_reduce_integers():
    x, i, s = I([1, 2, 3]), I([0, 0, 2]), I([1, 2, 4])
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for inc in (True, False):
            a = ng.tensor(x).scatter_reduce(0, ng.tensor(i), ng.tensor(s), reduce, include_self=inc)
            b = torch.tensor(x).scatter_reduce(0, torch.tensor(i), torch.tensor(s), reduce, include_self=inc)
            assert a.tolist() == b.tolist(), (reduce, inc)


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_reduce_modes_without_grad():
    x, i = R(3, 4), IDX2
    for reduce in ("add", "multiply"):
        a = ng.tensor(x).scatter(1, ng.tensor(i), ng.tensor(R(3, 3, seed=2)), reduce=reduce)
        b = torch.tensor(x).scatter(1, torch.tensor(i), torch.tensor(R(3, 3, seed=2)), reduce=reduce)
        np.testing.assert_allclose(_np(a), _np(b))
    with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
        ng.tensor(x, requires_grad=True).scatter(1, ng.tensor(i), 2.0, reduce="add")


def test_index_fill_with_a_tensor_value_takes_its_gradient():
    for dt in DTYPES:
        check(lambda x, v, i: x.index_fill(1, i, v), [R(3, 4), R(), I([1, 3, 1])], dt)
        check(lambda x, v, m: x.masked_fill(m, v), [R(3, 4), R(), R(3, 4, seed=9) > 0], dt)


INPLACE = {
    "scatter_": lambda x, i, s: x.scatter_(1, i[:, :2], s[:, :2]),
    "scatter_add_": lambda x, i, s: x.scatter_add_(1, i, s),
    "scatter_reduce_": lambda x, i, s: x.scatter_reduce_(1, i, s, "amax", include_self=False),
    "index_add_": lambda x, i, s: x.index_add_(1, i[0], s, alpha=2),
    "index_copy_": lambda x, i, s: x.index_copy_(1, i[0, :1], s[:, :1]),
    "index_fill_": lambda x, i, s: x.index_fill_(1, i[1], 5.0),
    "masked_fill_": lambda x, i, s: x.masked_fill_(x > 0, s[0, 0]),
    "masked_scatter_": lambda x, i, s: x.masked_scatter_(x > 0, s),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_variants(name):
    def fn(x, i, s):
        y = x * 1.0
        r = INPLACE[name](y, i, s)
        assert r is y
        return y * 3

    check(fn, [R(3, 4), I([[0, 1, 2], [2, 0, 0], [3, 3, 1]]), R(3, 3, seed=4)])


def test_inplace_variant_on_a_view_moves_the_base():
    for L in (ng, torch):
        base = L.zeros(3, 4)
        v = base[1:]
        ver = (lambda t: t._version.value) if L is ng else (lambda t: t._version)
        v0 = ver(base)
        v.index_fill_(1, L.tensor([0, 2]), 1.0)
        assert ver(base) == v0 + 1
        assert _np(base).sum() == 4.0


def test_nonzero_and_argwhere():
    a = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, -1.0]])
    for fn in (lambda L, x: L.nonzero(x), lambda L, x: x.nonzero(), lambda L, x: L.argwhere(x),
               lambda L, x: x.argwhere(), lambda L, x: L.nonzero(x[0] != 0)):
        a1, b1 = fn(ng, ng.tensor(a)), fn(torch, torch.tensor(a))
        assert a1.dtype.name == "int64" and a1.tolist() == b1.tolist()
    for x in (a, np.zeros((2, 0)), np.array(3.0), np.array(0.0)):
        t1, t2 = ng.nonzero(ng.tensor(x), as_tuple=True), torch.nonzero(torch.tensor(x), as_tuple=True)
        assert [u.tolist() for u in t1] == [u.tolist() for u in t2]
        assert tuple(ng.nonzero(ng.tensor(x)).shape) == tuple(torch.nonzero(torch.tensor(x)).shape)


def test_index_ops_with_int32_indices_where_torch_takes_them():
    x = R(3, 4)
    i = IDX2.astype(np.int32)
    check(lambda x, i: x.gather(1, i), [x, i])
    check(lambda x, i: x.index_select(0, i), [x, ROWS.astype(np.int32)])
    check(lambda x, i, s: x.scatter_add(1, i, s), [x, i, R(3, 3, seed=2)])


IDX_ERRORS = [
    (lambda x, i: x.gather(1, i.float()), "Expected dtype int32/int64 for index"),
    (lambda x, i: x.gather(1, i + 4), "out of bounds for dimension 1 with size 4"),
    (lambda x, i: x.gather(1, i - 1), "index -1 is out of bounds"),
    (lambda x, i: x.gather(1, i[0]), "same number of dimensions"),
    (lambda x, i: x.gather(1, lib(x).zeros(4, 2, dtype=lib(x).int64)), "Size does not match at dimension 0"),
    (lambda x, i: x.scatter_add(1, i + 3, x), "out of bounds for dimension 1 with size 4"),
    (lambda x, i: x.scatter(1, i, x.double()), "Expected self.dtype to be equal to src.dtype"),
    (lambda x, i: x.scatter(1, i.float(), 1.0), "Expected dtype int32/int64 for index"),
    (lambda x, i: x.scatter_reduce(1, i, x, "foo"), "reduce argument must be either sum, prod, mean, amax or amin"),
    (lambda x, i: x.scatter(1, i, x, reduce="mean"), "reduce argument must be either add or multiply"),
    (lambda x, i: x.index_select(0, i[0] + 2), "index out of range in self"),
    (lambda x, i: x.index_select(0, i[0] - 1), "index out of range in self"),
    (lambda x, i: x.index_select(0, i), "Index is supposed to be a vector"),
    (lambda x, i: x.index_select(0, i[0].float()), "Expected dtype int32 or int64 for index"),
    (lambda x, i: x.index_add(0, i[0] + 2, x[:2]), "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x, i: x.index_add(0, i[0], x[:2, :3]), "source tensor shape must match"),
    (lambda x, i: x.index_add(0, i[0], x[:2].double()), "must have the same scalar type"),
    (lambda x, i: x.index_copy(0, i[0].int(), x[:2]), "Expected a long tensor for index"),
    (lambda x, i: x.index_copy(0, i[0] + 2, x[:2]), "index 3 is out of bounds"),
    (lambda x, i: x.index_fill(0, i[0] + 2, 1.0), "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x, i: x.index_fill(0, i[0].int(), 1.0), "Expected dtype int64 for index"),
    (lambda x, i: x.index_fill(0, i[0], x[0]), "0-dimensional value tensor"),
    (lambda x, i: x.masked_fill(x, 1.0), "only supports boolean masks"),
    (lambda x, i: x.masked_fill(x > 0, x[0]), "0-dimensional value tensor"),
    (lambda x, i: x.masked_fill_(lib(x).ones(2, 3, 4, dtype=lib(x).bool), 1.0), "doesn't match the broadcast shape"),
    (lambda x, i: x.masked_scatter(x > -10, x[0]), "Number of elements of source < number of ones in mask"),
    (lambda x, i: x.take(i + 12), "out of range: tried to access index 12 on a tensor of 12 elements"),
    (lambda x, i: x.take(i.int()), "Expected a long tensor for index"),
    (lambda x, i: x.take_along_dim(i.int(), 1), "dtype of indices should be Long"),
]


@pytest.mark.parametrize("k", range(len(IDX_ERRORS)))
def test_index_errors(k):
    fn, match = IDX_ERRORS[k]
    same_error(fn, [R(3, 4).astype(np.float32), I([[0, 1], [2, 0]])], match)


def test_duplicate_indices_accumulate_in_scatter_add_and_index_add():
    x = np.zeros(3)
    i = I([1, 1, 1, 0, 1])
    s = np.arange(1.0, 6.0)
    assert ng.tensor(x).scatter_add(0, ng.tensor(i), ng.tensor(s)).tolist() == [4.0, 11.0, 0.0]
    assert ng.tensor(x).index_add(0, ng.tensor(i), ng.tensor(s)).tolist() == [4.0, 11.0, 0.0]


def test_big_gather_and_index_add_run_the_parallel_kernels():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((300, 64)).astype(np.float32)
    i = rng.integers(0, 300, 20000)
    wn, wt = ng.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    g = rng.standard_normal((20000, 64)).astype(np.float32)
    wn.index_select(0, ng.tensor(i)).backward(ng.tensor(g))
    wt.index_select(0, torch.tensor(i)).backward(torch.tensor(g))
    np.testing.assert_allclose(_np(wn.grad), _np(wt.grad), rtol=1e-4, atol=1e-3)
    ii = np.ascontiguousarray(np.broadcast_to(i[:, None], (20000, 64)))
    a = ng.tensor(w).gather(0, ng.tensor(ii))
    np.testing.assert_allclose(_np(a), w[i])


SETITEM_INTO_CONSTANT = {
    "mask": lambda L, y: (L.tensor(R(3, 4)) > 0, y[0, 0]),
    "advanced": lambda L, y: ((L.tensor([2, 0]),), y[:2]),
    "advanced_broadcast": lambda L, y: ((slice(None), L.tensor([1, 1, 3])), y[0, :1]),
    "tuple_sequence": lambda L, y: (((2, 0),), y[1]),
    "basic": lambda L, y: ((1, slice(1, 3)), y[2, :2]),
}


@pytest.mark.parametrize("name", sorted(SETITEM_INTO_CONSTANT))
def test_setitem_into_a_constant_takes_values_gradient(name):
    def run(L):
        y = L.tensor(R(3, 4, seed=2), requires_grad=True)
        z = L.zeros(3, 4, dtype=L.float64)
        idx, v = SETITEM_INTO_CONSTANT[name](L, y)
        z[idx] = v
        (z * L.tensor(R(3, 4, seed=4))).sum().backward()
        return z, y.grad

    (zn, gn), (zt, gt) = run(ng), run(torch)
    np.testing.assert_allclose(_np(zn), _np(zt))
    np.testing.assert_allclose(_np(gn), _np(gt))


def test_setitem_iadd_with_duplicate_indices_writes_once_as_torch():
    for L in (ng, torch):
        z = L.zeros(4)
        z[L.tensor([1, 1, 2])] += 1.0
        assert z.tolist() == [0.0, 1.0, 1.0, 0.0]


# ------------------------------------------------------------------ gradcheck and properties
GRADCHECK = {
    "gather": lambda x: x.gather(1, ng.tensor(IDX2[:, ::-1] % 3)),
    "scatter_add": lambda x: ng.zeros(3, 5, dtype=ng.float64).scatter_add(1, ng.tensor(IDX2), x[:, :3]),
    "scatter_reduce_amin": lambda x: x.scatter_reduce(1, ng.tensor(IDX2), x[:, 1:] * 2, "amin"),
    "index_add": lambda x: x.index_add(0, ng.tensor([0, 0, 2]), x * 3),
    "index_select": lambda x: x.index_select(1, ng.tensor([4, 0, 4])),
    "masked_select": lambda x: x.masked_select(x > 0),
    "split": lambda x: x.split([2, 3], 1)[1] * x.chunk(5, 1)[0],
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_float64(name):
    x = ng.tensor(R(3, 5), requires_grad=True)
    assert ng.autograd.gradcheck(GRADCHECK[name], [x])


hyp = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _array_and_dim(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    seed = draw(st.integers(0, 1000))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return np.random.default_rng(seed).standard_normal(shape), dim, seed


@settings(max_examples=25, deadline=None)
@given(_array_and_dim(), st.integers(1, 4))
def test_property_cat_of_split_is_identity(ad, size):
    a, dim, _ = ad
    x = ng.tensor(a)
    for pieces in (x.split(size, dim), x.chunk(size, dim), x.tensor_split(size, dim)):
        np.testing.assert_array_equal(ng.cat(list(pieces), dim).numpy(), a)
    np.testing.assert_array_equal(ng.stack(x.unbind(dim), dim).numpy(), a)


@settings(max_examples=25, deadline=None)
@given(_array_and_dim())
def test_property_gather_of_argsort_sorts_and_scatter_inverts_it(ad):
    a, dim, _ = ad
    order = ng.tensor(np.argsort(a, axis=dim, kind="stable"))
    x = ng.tensor(a)
    s = x.gather(dim, order)
    np.testing.assert_array_equal(s.numpy(), np.sort(a, axis=dim))
    np.testing.assert_array_equal(ng.zeros_like(x).scatter(dim, order, s).numpy(), a)
    np.testing.assert_array_equal(x.take_along_dim(order, dim).numpy(), s.numpy())


@settings(max_examples=25, deadline=None)
@given(_array_and_dim(), st.integers(0, 6))
def test_property_index_add_and_scatter_add_match_numpy_add_at(ad, n):
    a, dim, seed = ad
    d = dim % a.ndim
    rng = np.random.default_rng(seed + 1)
    idx = rng.integers(0, a.shape[d], n)
    src_shape = a.shape[:d] + (n,) + a.shape[d + 1:]
    src = rng.standard_normal(src_shape)
    want = a.copy()
    np.add.at(want, (slice(None),) * d + (idx,), src)
    got = ng.tensor(a).index_add(dim, ng.tensor(idx), ng.tensor(src))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    full = np.broadcast_to(idx.reshape((1,) * d + (n,) + (1,) * (a.ndim - d - 1)), src_shape).copy()
    got2 = ng.tensor(a).scatter_add(dim, ng.tensor(full), ng.tensor(src))
    np.testing.assert_allclose(got2.numpy(), want, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ CUDA (the simulator, tiny sizes)
CUDA_CASES = ["gather", "gather_3d", "scatter_src", "scatter_value", "scatter_add", "scatter_add_dup_dim0",
              "index_select", "index_add_alpha", "index_copy", "index_fill", "masked_fill", "masked_scatter", "take"]


def _cuda():
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device and no simulator")


@pytest.mark.parametrize("name", CUDA_CASES)
def test_index_ops_on_cuda(name):
    _cuda()
    fn, arrays = INDEX_CASES[name][:2]
    ng.set_default_device("cuda")
    try:
        check(fn, arrays)
    finally:
        ng.set_default_device("cpu")


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_on_cuda(reduce):
    _cuda()
    ng.set_default_device("cuda")
    try:
        check(lambda x, i, s: x.scatter_reduce(1, i, s, reduce, include_self=False), [R(3, 4), IDX2, R(3, 3, seed=4)])
    finally:
        ng.set_default_device("cpu")


def test_index_out_of_range_on_cuda_is_flagged():
    _cuda()
    x = ng.zeros(3, 4, device="cuda")
    with pytest.raises(IndexError, match="index out of range"):
        x.gather(1, ng.tensor([[0, 4]], device="cuda")).cpu()
    with pytest.raises(IndexError, match="index out of range"):
        x.index_add(0, ng.tensor([3], device="cuda"), ng.ones(1, 4, device="cuda")).cpu()
    assert x.index_select(0, ng.tensor([2], device="cuda")).cpu().tolist() == [[0.0] * 4]  # the flag was reset


# ------------------------------------------------------------------ 3. shape and repeat
def _F(x):
    return NF if isinstance(x, ng.Tensor) else TF


SHAPES = {
    "flip": (lambda x: x.flip(0), (3, 4)),
    "flip_dims": (lambda x: lib(x).flip(x, (0, -1)), (2, 3, 4)),
    "flip_none": (lambda x: x.flip(()), (3, 4)),
    "flip_0d": (lambda x: x.flip(0), ()),
    "fliplr": (lambda x: lib(x).fliplr(x), (3, 4)),
    "flipud": (lambda x: x.flipud(), (3, 4)),
    "roll": (lambda x: x.roll(1, 1), (3, 4)),
    "roll_neg_big": (lambda x: lib(x).roll(x, -7, -1), (3, 4)),
    "roll_tuple": (lambda x: x.roll((1, -2), (0, 1)), (3, 4)),
    "roll_flat": (lambda x: x.roll(5), (3, 4)),
    "roll_same_dim_twice": (lambda x: x.roll((1, 1), (1, 1)), (3, 4)),
    "repeat": (lambda x: x.repeat(2, 3), (3, 4)),
    "repeat_more_dims": (lambda x: x.repeat(2, 1, 3), (3, 4)),
    "repeat_zero": (lambda x: x.repeat(2, 0, 1), (3, 4)),
    "repeat_0d": (lambda x: x.repeat(3), ()),
    "tile": (lambda x: lib(x).tile(x, (2,)), (3, 4)),
    "tile_more": (lambda x: x.tile(2, 1, 2), (3, 4)),
    "repeat_interleave_int": (lambda x: x.repeat_interleave(2), (3, 4)),
    "repeat_interleave_dim": (lambda x: lib(x).repeat_interleave(x, 3, dim=-1), (3, 4)),
    "repeat_interleave_tensor": (lambda x: x.repeat_interleave(lib(x).tensor([1, 0, 2]), dim=0, output_size=3),
                                 (3, 4)),
    "repeat_interleave_one_tensor": (lambda x: x.repeat_interleave(lib(x).tensor([2]), dim=1), (3, 4)),
    "expand_as": (lambda x: x.expand_as(lib(x).zeros(2, 3, 4)), (3, 1)),
    "view_as": (lambda x: x.view_as(lib(x).zeros(4, 3)), (3, 4)),
    "broadcast_to": (lambda x: lib(x).broadcast_to(x, (2, 3, 4)), (3, 1)),
    "broadcast_to_minus1": (lambda x: x.broadcast_to((2, -1, 4)), (3, 1)),
    "broadcast_tensors": (lambda x: lib(x).broadcast_tensors(x, x[0], lib(x).zeros(2, 1, 1)), (3, 4)),
    "ravel": (lambda x: x.mT.ravel(), (3, 4)),
    "ravel_fn": (lambda x: lib(x).ravel(x), (3, 4)),
    "squeeze_tuple": (lambda x: x.squeeze((0, -1, 2)), (1, 3, 1, 1)),
    "squeeze_tuple_fn": (lambda x: lib(x).squeeze(x, (1,)), (1, 3, 1, 1)),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_ops(name, dt):
    fn, shape = SHAPES[name]
    check(fn, [R(*shape)], dt)
    if len(shape) == 2 and name != "view_as":  # (a view of a transpose is torch's error too)
        check(lambda x: fn(x.mT), [R(*shape[::-1], seed=2)], dt)  # non-contiguous


PADS = [
    ((3, 4), (1, 2), "constant", None), ((3, 4), (1, 2, 0, 1), "constant", 2.5), ((3, 4), (-1, 2, 2, -1), "constant", 0),
    ((2, 3, 4), (1, 1, 1, 1, 1, 1), "constant", -1.0), ((3, 4), (0, 0), "constant", None),
    ((3, 4), (-1, -1, -1, 0), "constant", None), ((3,), (2, 0), "constant", None), ((0, 2), (1, 1), "constant", None),
    ((1, 1, 5, 5), (0, 2, 3, 2), "reflect", None), ((5, 5, 5), (0, 2), "reflect", None),
    ((1, 1, 3, 4, 5), (1, 2, 2, 1, 1, 2), "reflect", None), ((3, 3, 3, 3), (-1, 2, 2, -1), "reflect", None),
    ((1, 1, 5, 5), (3, -3, 0, -3), "reflect", None), ((1, 1, 5, 5), (3, -5, 1, -5), "reflect", None),
    ((1, 1, 5, 5), (0, 0, 0, -5), "reflect", None), ((1, 1, 5, 5), (4, 4, 0, 4), "reflect", None),
    ((2, 5), (4, 1), "reflect", None), ((1, 1, 5, 5), (0, 2, 3, 2), "replicate", None),
    ((1, 1, 5, 5, 5), (1, 2, 3, 4, 1, 2), "replicate", None), ((3, 3, 3, 3), (-1, 2, 2, -1), "replicate", None),
    ((1, 1, 5, 5), (3, 11, 0, 30), "replicate", None), ((1, 1, 5, 5), (3, -5, 1, -5), "replicate", None),
    ((1, 1, 5, 5), (0, 2, 3, 2), "circular", None), ((1, 1, 5, 5), (5, 5, 0, 5), "circular", None),
    ((3, 3, 3, 3), (-1, 2, 2, -1), "circular", None), ((2, 3, 4), (1, 2), "circular", None),
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("k", range(len(PADS)))
def test_pad(k, dt):
    shape, p, mode, value = PADS[k]
    kw = {} if value is None else {"value": value}
    check(lambda x: _F(x).pad(x, p, mode=mode, **kw), [R(*shape)], dt)


PAD_ERRORS = [
    ((1, 3, 3), (3, 3), "reflect", "Padding size should be less than the corresponding input dimension"),
    ((1, 3, 3), (4, 0), "circular", "wrapping around more than once"),
    ((3,), (1, 1), "reflect", "not supported for 1D input tensor"),
    ((2, 3), (1, 1, 1, 1), "replicate", "not supported for 2D input tensor"),
    ((1, 2, 3, 3, 3, 3), (1, 1), "replicate", "not supported for 6D input tensor"),
    ((1, 3, 3), (1,), "constant", "Padding length must be divisible by 2"),
    ((1, 3, 3), (1, 1) * 4, "constant", "Padding length should be less than or equal to two times"),
    ((1, 3, 3), (-2, -2), "constant", "length must be non-negative"),
    ((1, 3, 3), (1, 1), "foo", "Unrecognised padding mode foo"),
    ((0, 3), (1, 1), "replicate", "Expected 2D or 3D (batch mode) tensor"),
]


@pytest.mark.parametrize("k", range(len(PAD_ERRORS)))
def test_pad_errors(k):
    shape, p, mode, match = PAD_ERRORS[k]
    same_error(lambda x: _F(x).pad(x, p, mode=mode), [np.zeros(shape)], match)
    if mode == "reflect":
        same_error(lambda x: _F(x).pad(x, (1, 1), mode=mode, value=2.0), [np.zeros((2, 3))], "doesn't take in value")


SHAPE_ERRORS = [
    (lambda x: x.repeat(2), "can not be smaller than number of dimensions"),
    (lambda x: x.roll((1, 2), (0,)), "shifts and dimensions must align"),
    (lambda x: x.flip((0, 0)), "appears multiple times"),
    (lambda x: lib(x).fliplr(x[0]), "Input must be >= 2-d"),
    (lambda x: x.broadcast_to((3, 3)), "must match the existing size"),
    (lambda x: x.repeat_interleave(lib(x).tensor([1, 2, 3]), dim=0), "repeats must have the same size"),
    (lambda x: x.repeat_interleave(lib(x).tensor([1, -2]), dim=0), "repeats can not be negative"),
    (lambda x: x.repeat_interleave(lib(x).tensor([1, 2]), dim=0, output_size=4), "allocated size does not match"),
    (lambda x: lib(x).broadcast_tensors(x, x[:1, :2]), "shape mismatch"),
]


@pytest.mark.parametrize("k", range(len(SHAPE_ERRORS)))
def test_shape_errors(k):
    fn, match = SHAPE_ERRORS[k]
    same_error(fn, [np.zeros((2, 3))], match)


def test_repeat_interleave_of_repeats_alone_and_flip_roll_copies():
    assert ng.repeat_interleave(ng.tensor([1, 0, 3])).tolist() == torch.repeat_interleave(
        torch.tensor([1, 0, 3])).tolist()
    x = ng.arange(6.0).reshape(2, 3)
    for y in (x.flip(0), x.roll(0, 1), x.flip(())):
        assert not np.shares_memory(y._data, x._data)
    assert tuple(ng.broadcast_shapes((2, 1), (3,))) == tuple(torch.broadcast_shapes((2, 1), (3,)))


@pytest.mark.parametrize("name", ["flip_dims", "roll_tuple", "repeat", "repeat_interleave_tensor", "broadcast_to"])
def test_shape_ops_on_cuda(name):
    _cuda()
    fn, shape = SHAPES[name]
    ng.set_default_device("cuda")
    try:
        check(fn, [R(*shape)])
        check(lambda x: _F(x).pad(x, (1, 2, 2, 1), mode="reflect"), [R(1, 3, 4)])
    finally:
        ng.set_default_device("cpu")
