"""Scans, triangles and order ops (issue 16) against PyTorch: forward values (and indices),
gradients under non-uniform upstream gradients, float32 / float64, several dims (negative too),
non-contiguous inputs, 0-d and empty inputs, ties and NaN, float64 gradcheck, the nodes' own
check, counting / searching ops, torch's errors, and the same ops on CUDA (simulator, tiny)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbgrad as ng

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

from test_ops_oracle import DTYPES  # noqa: E402
from test_ops_shape_index import check, same_error  # noqa: E402
from torch_scenarios import functional_of as _F, lib_of as _L  # noqa: E402


def R(*shape, seed=1):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(-2, 2, shape)


X = R(3, 4)
X3 = R(2, 3, 4)
Z = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.7, 0.0, 1.2], [2.0, -1.0, 0.5, 3.0]])  # no, one and two zeros a row
TIES = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, 0.0, 1.0, 1.0, 0.0]])
MODE = np.array([[3.0, 1.0, 1.0, 3.0, 2.0], [2.0, 2.0, 0.0, 1.0, 1.0], [4.0, 5.0, 6.0, 7.0, 8.0]])
NAN = np.array([[1.0, np.nan, -2.0, 0.5], [3.0, 2.0, np.nan, np.nan], [0.1, 0.2, 0.3, 0.4]])

# name: (fn, arrays, indices of arrays given as transposed views)
CASES = {
    "cumsum": (lambda x: x.cumsum(1), [X]),
    "cumsum_neg_dim": (lambda x: _L(x).cumsum(x, -3), [X3]),
    "cumsum_mid": (lambda x: x.cumsum(dim=1), [X3]),
    "cumsum_transposed": (lambda x: x.cumsum(1), [X], (0,)),
    "cumprod": (lambda x: x.cumprod(1), [X]),
    "cumprod_zeros": (lambda x: x.cumprod(-1), [Z]),
    "cumprod_zeros_dim0": (lambda x: _L(x).cumprod(x, 0), [Z]),
    "cumprod_zeros_transposed": (lambda x: x.cumprod(0), [Z], (0,)),
    "cummax": (lambda x: x.cummax(1), [X3]),
    "cummax_ties": (lambda x: _L(x).cummax(x, 1), [TIES]),
    "cummin": (lambda x: x.cummin(0), [X3]),
    "cummin_ties": (lambda x: x.cummin(-1), [TIES]),
    "cummax_nan": (lambda x: x.cummax(1), [NAN]),
    "logcumsumexp": (lambda x: x.logcumsumexp(-1), [X3]),
    "logcumsumexp_large": (lambda x: _L(x).logcumsumexp(x * 300, 0), [X]),
    "logcumsumexp_transposed": (lambda x: x.logcumsumexp(1), [X], (0,)),
    "tril": (lambda x: x.tril(), [X]),
    "tril_diag": (lambda x: _L(x).tril(x, 1), [X3]),
    "triu_neg": (lambda x: x.triu(-1), [X]),
    "triu_wide": (lambda x: x.triu(diagonal=2), [R(3, 5)]),
    "triu_transposed": (lambda x: x.triu(), [X], (0,)),
    "prod_all": (lambda x: x.prod(), [X]),
    "prod_dim": (lambda x: x.prod(1), [X3]),
    "prod_keepdim": (lambda x: _L(x).prod(x, -1, keepdim=True), [X3]),
    "prod_zeros_dim": (lambda x: x.prod(1), [Z]),
    "prod_zeros_dim0": (lambda x: x.prod(0), [Z]),
    "prod_one_zero_all": (lambda x: x.prod(), [Z[:1]]),
    "prod_two_zeros_all": (lambda x: x.prod(), [Z[1:2]]),
    "sort": (lambda x: x.sort(1), [X3]),
    "sort_desc_dim0": (lambda x: _L(x).sort(x, 0, descending=True), [X]),
    "sort_transposed": (lambda x: x.sort(), [X], (0,)),
    "sort_ties_stable": (lambda x: x.sort(stable=True), [TIES]),
    "sort_ties_desc": (lambda x: x.sort(dim=-1, descending=True, stable=True), [TIES]),
    "sort_nan": (lambda x: x.sort(dim=1, stable=True), [NAN]),
    "sort_nan_desc": (lambda x: x.sort(dim=1, descending=True, stable=True), [NAN]),
    "sort_long_row": (lambda x: x.sort(stable=True), [np.round(R(2, 300), 1)]),
    "topk": (lambda x: x.topk(2), [X3]),
    "topk_smallest_dim0": (lambda x: _L(x).topk(x, 2, dim=0, largest=False), [X]),
    "topk_all": (lambda x: x.topk(4, 1), [X]),
    "topk_long_row": (lambda x: x.topk(3), [R(2, 100)]),
    "topk_transposed": (lambda x: x.topk(2, 0), [X], (0,)),
    "kthvalue": (lambda x: x.kthvalue(2, 1), [X3]),
    "kthvalue_keepdim": (lambda x: _L(x).kthvalue(x, 3, -1, keepdim=True), [X]),
    "kthvalue_transposed": (lambda x: x.kthvalue(1, 0), [X], (0,)),
    "median_all": (lambda x: x.median(), [X]),
    "median_all_even": (lambda x: _L(x).median(x), [X3]),
    "median_dim_even": (lambda x: x.median(-1), [X3]),
    "median_dim_odd_keepdim": (lambda x: x.median(1, keepdim=True), [X3]),
    "median_nan": (lambda x: x.median(1), [NAN]),
    "median_transposed": (lambda x: x.median(0), [X], (0,)),
    "mode": (lambda x: x.mode(1), [MODE]),
    "mode_dim0_keepdim": (lambda x: _L(x).mode(x, 0, keepdim=True), [MODE.T.copy()]),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name, dt):
    fn, arrays, *tr = CASES[name]
    check(fn, arrays, dt=dt, transpose=tr[0] if tr else ())


GRADCHECK = ["cumsum_mid", "cumprod", "cumprod_zeros", "cumprod_zeros_dim0", "cummax", "cummin", "logcumsumexp",
             "tril_diag", "triu_neg", "prod_all", "prod_dim", "prod_zeros_dim", "prod_one_zero_all",
             "prod_two_zeros_all", "sort", "topk", "kthvalue", "median_all", "median_dim_even", "mode"]


def _first(y):
    return y[0] if isinstance(y, tuple) else y


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    fn, arrays, *_ = CASES[name]
    data = arrays[0] if name != "mode" else np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.5]])  # (no ties)
    x = ng.tensor(data, requires_grad=True)
    assert ng.autograd.gradcheck(lambda t: _first(fn(t)), [x])


_SMOOTH = [n for n in sorted(CASES) if not any(w in n for w in ("nan", "transposed", "ties", "mode", "long"))]


@pytest.mark.parametrize("name", _SMOOTH)  # (finite differences need no ties)
def test_node_check(name):
    fn, arrays, *_ = CASES[name]
    with ng.autograd.graph.keep_inputs():
        y = _first(fn(ng.tensor(arrays[0], requires_grad=True)))
    node = y.grad_fn
    while node.name in ("MulBackward0",):  # (logcumsumexp_large scales its input first)
        node = node.next_functions[0][0]
    assert ng.autograd.check_node(node).ok, node.name


def test_value_index_results_are_named_tuples():
    x = ng.tensor(X, requires_grad=True)
    for r in (x.sort(1), x.topk(2), x.cummax(0), x.cummin(1), x.kthvalue(1), x.median(1), x.mode(0)):
        v, i = r
        assert v is r.values and i is r.indices and r[0] is v
        assert i.dtype == ng.int64 and not i.requires_grad and v.requires_grad
    assert x.argsort().dtype == ng.int64 and not x.argsort().requires_grad


def test_nodes_are_named_as_torch():
    x = ng.tensor(X, requires_grad=True)
    xt = torch.tensor(X, requires_grad=True)
    for f in (lambda t: t.cumsum(0), lambda t: t.cumprod(1), lambda t: t.cummax(0)[0], lambda t: t.cummin(0)[0],
              lambda t: t.logcumsumexp(0), lambda t: t.tril(), lambda t: t.triu(), lambda t: t.prod(),
              lambda t: t.prod(0), lambda t: t.sort()[0], lambda t: t.topk(1)[0], lambda t: t.kthvalue(1)[0],
              lambda t: t.median(), lambda t: t.median(0)[0], lambda t: t.mode(0)[0]):
        assert f(x).grad_fn.name == type(f(xt).grad_fn).__name__


# ------------------------------------------------------------------ dtypes, 0-d and empty
INT = np.array([[3, -1, 2], [0, 4, 4]])


@pytest.mark.parametrize("fn", [
    lambda x: x.cumsum(1), lambda x: x.cumprod(0), lambda x: x.cummax(1), lambda x: x.cummin(0), lambda x: x.prod(),
    lambda x: x.prod(1), lambda x: x.sort(dim=1, stable=True), lambda x: x.topk(2), lambda x: x.kthvalue(2),
    lambda x: x.median(1), lambda x: x.mode(1), lambda x: x.tril(), lambda x: x.cumsum(1, dtype=_L(x).float64),
    lambda x: x.prod(dtype=_L(x).float64), lambda x: x.median(),
], ids=lambda f: "")
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_and_bool_inputs(fn, dtype):
    a = INT.astype(dtype) if dtype != "bool" else INT > 1
    try:
        fn(torch.tensor(a))
    except (RuntimeError, NotImplementedError):  # (topk, kthvalue and median take no bools)
        same_error(fn, [a])
        return
    check(fn, [a])


@pytest.mark.parametrize("fn", [
    lambda x: x.cumsum(0), lambda x: x.cumprod(-1), lambda x: x.cummax(0), lambda x: x.logcumsumexp(0),
    lambda x: x.prod(), lambda x: x.prod(0), lambda x: x.prod(0, keepdim=True), lambda x: x.sort(0),
    lambda x: x.topk(1), lambda x: x.topk(0), lambda x: x.kthvalue(1), lambda x: x.median(), lambda x: x.median(0),
    lambda x: x.mode(0), lambda x: x.argsort(),
], ids=lambda f: "")
def test_zero_dim(fn):
    check(fn, [np.array(1.7)])


@pytest.mark.parametrize("fn", [
    lambda x: x.cumsum(0), lambda x: x.cumsum(1), lambda x: x.cumprod(1), lambda x: x.cummax(0),
    lambda x: x.logcumsumexp(1), lambda x: x.tril(), lambda x: x.prod(), lambda x: x.prod(0), lambda x: x.prod(1),
    lambda x: x.sort(0), lambda x: x.sort(1), lambda x: x.topk(0, 0), lambda x: x.kthvalue(1, 1),
    lambda x: x.median(1), lambda x: x.mode(1),
], ids=lambda f: "")
def test_empty(fn):
    check(fn, [np.zeros((0, 3))])


def test_median_of_nothing_is_nan():
    assert np.isnan(ng.zeros(0).median().item()) and np.isnan(torch.zeros(0).median().item())


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("fn,arrays,match", [
    (lambda x: x.cumsum(2), [X], "Dimension out of range"),
    (lambda x: x.cummax(-3), [X], "Dimension out of range"),
    (lambda x: x.sort(5), [X], "Dimension out of range"),
    (lambda x: x.prod(2), [X], "Dimension out of range"),
    (lambda x: x.topk(5), [X], "selected index k out of range"),
    (lambda x: x.topk(-1), [X], "selected index k out of range"),
    (lambda x: x.kthvalue(5), [X], "selected number k out of range"),
    (lambda x: x.kthvalue(0, 0), [X], "selected number k out of range"),
    (lambda x: x.median(1), [np.zeros((2, 0))], "Expected reduction dim 1 to have non-zero size"),
    (lambda x: x.mode(1), [np.zeros((2, 0))], "Expected reduction dim 1 to have non-zero size"),
    (lambda x: x.kthvalue(1, 0), [np.zeros(0)], "Expected reduction dim 0 to have non-zero size"),
    (lambda x: x.tril(), [np.zeros(3)], "tril: input tensor must have at least 2 dimensions"),
    (lambda x: x.triu(), [np.array(1.0)], "triu: input tensor must have at least 2 dimensions"),
    (lambda x: x.logcumsumexp(0), [np.array([1, 2])], "not implemented for 'Long'"),
    (lambda x: _L(x).bincount(x), [np.array([1.0])], "not implemented for 'Double'"),
    (lambda x: _L(x).bincount(x), [np.array([1, -1])], "bincount only supports 1-d non-negative integral inputs."),
    (lambda x: _L(x).bincount(x), [np.array([[1]])], "bincount only supports 1-d non-negative integral inputs."),
    (lambda x: _L(x).bincount(x, minlength=-1), [np.array([1])], "minlength should be >= 0"),
    (lambda x, w: _L(x).bincount(x, w), [np.array([1]), np.array([1.0, 2.0])], "weights should be 1-d"),
    (lambda x: _L(x).histc(x), [np.array([1])], "not implemented for 'Long'"),
    (lambda x: _L(x).histc(x, bins=0), [X], "bins must be > 0"),
    (lambda x: _L(x).histc(x, min=2, max=1), [X], "max must be larger than min"),
    (lambda s, v: _L(s).searchsorted(s, v, side="left", right=True), [np.arange(3.0), X], "can't be set to opposites"),
    (lambda s, v: _L(s).searchsorted(s, v, side="mid"), [np.arange(3.0), X], "side can only be 'left' or 'right'"),
    (lambda s, v: _L(s).searchsorted(s, v), [np.ones((2, 3)), np.ones((3, 3))], "boundaries tensor should be 1 dim"),
    (lambda v, b: _L(v).bucketize(v, b), [X, np.ones((2, 3))], "boundaries tensor must be 1 dimension"),
    (lambda x: _F(x).one_hot(x), [np.array([1.0])], "one_hot is only applicable to index tensor of type LongTensor"),
    (lambda x: _F(x).one_hot(x), [np.array([-1])], "Class values must be non-negative."),
    (lambda x: _F(x).one_hot(x, 2), [np.array([3])], "Class values must be smaller than num_classes."),
    (lambda x: _F(x).one_hot(x), [np.zeros(0, np.int64)], "Can not infer total number of classes from empty tensor."),
])
def test_errors(fn, arrays, match):
    same_error(fn, arrays, match)


# ------------------------------------------------------------------ counting and searching
COUNTING = {
    "unique": (lambda x: _L(x).unique(x), [np.array([[3, 1, 3], [2, 1, 0]])]),
    "unique_inverse_counts": (lambda x: x.unique(return_inverse=True, return_counts=True),
                              [np.array([[3.0, 1.0], [3.0, -2.0]])]),
    "unique_dim": (lambda x: _L(x).unique(x, dim=0, return_inverse=True, return_counts=True),
                   [np.array([[1, 2], [0, 5], [1, 2]])]),
    "unique_empty": (lambda x: x.unique(return_counts=True), [np.zeros(0)]),
    "any": (lambda x: x.any(), [np.array([[0.0, 0.0], [0.0, 2.0]])]),
    "any_dim_keepdim": (lambda x: x.any(1, keepdim=True), [np.array([[0.0, 0.0], [0.0, np.nan]])]),
    "any_dims": (lambda x: _L(x).any(x, (0, 2)), [np.array([[[0, 1], [0, 0]]])]),
    "all": (lambda x: x.all(), [np.array([[1.0, -1.0], [3.0, 2.0]])]),
    "all_dim": (lambda x: x.all(0), [np.array([[1, 0, 2], [3, 1, 0]])]),
    "all_bool_empty": (lambda x: x.all(1), [np.zeros((2, 0), bool)]),
    "any_uint8": (lambda x: x.any(0), [np.array([[0, 3], [0, 0]], np.uint8)]),
    "count_nonzero": (lambda x: _L(x).count_nonzero(x), [np.array([[0.0, 2.0], [-1.0, 0.0]])]),
    "count_nonzero_dims": (lambda x: x.count_nonzero((0, -1)), [np.array([[[0, 2], [3, 0]], [[1, 1], [0, 0]]])]),
    "count_nonzero_dim": (lambda x: x.count_nonzero(dim=1), [np.array([[0, 2, 3], [0, 0, 1]])]),
    "one_hot": (lambda x: _F(x).one_hot(x), [np.array([[0, 3], [1, 1]])]),
    "one_hot_classes": (lambda x: _F(x).one_hot(x, num_classes=5), [np.array([0, 3, 1])]),
    "bincount": (lambda x: _L(x).bincount(x), [np.array([0, 3, 3, 1, 7])]),
    "bincount_minlength": (lambda x: x.bincount(minlength=10), [np.array([0, 3, 3, 1])]),
    "bincount_empty": (lambda x: x.bincount(minlength=2), [np.zeros(0, np.int64)]),
    "bincount_weights32": (lambda x, w: x.bincount(w), [np.array([0, 2, 2, 1]), np.array([0.5, 1, 2, 3], np.float32)]),
    "bincount_weights64": (lambda x, w: x.bincount(weights=w), [np.array([0, 2, 2]), np.array([0.5, 1.0, 2.0])]),
    "bincount_int_weights": (lambda x, w: x.bincount(w), [np.array([1, 1]), np.array([2, 3])]),
    "histc": (lambda x: _L(x).histc(x, bins=4, min=-1, max=1), [X]),
    "histc_data_range": (lambda x: x.histc(bins=5), [X3]),
    "histc_nan_outside": (lambda x: x.histc(bins=3, min=0, max=2), [np.array([0.0, 2.0, 1.0, np.nan, 5.0, -1.0])]),
    "histc_constant": (lambda x: x.histc(bins=3), [np.array([2.0, 2.0])]),
    "histc_f32": (lambda x: x.histc(bins=7), [R(20).astype(np.float32)]),
    "searchsorted": (lambda s, v: _L(s).searchsorted(s, v), [np.array([-1.0, 0.0, 0.5, 1.0, 1.0]), X]),
    "searchsorted_right": (lambda s, v: _L(s).searchsorted(s, v, right=True),
                           [np.array([1.0, 2.0, 2.0, 3.0]), np.array([[2.0, 0.0], [3.0, 9.0]])]),
    "searchsorted_side": (lambda s, v: _L(s).searchsorted(s, v, side="right"),
                          [np.array([1.0, 2.0, 2.0, 3.0]), np.array([2.0, np.nan, 1.0])]),
    "searchsorted_nd": (lambda s, v: _L(s).searchsorted(s, v), [np.sort(R(2, 3, 5), -1), R(2, 3, 4, seed=4)]),
    "searchsorted_int32": (lambda s, v: _L(s).searchsorted(s, v, out_int32=True), [np.array([1, 3, 5]),
                                                                                   np.array([0, 3, 6])]),
    "searchsorted_mixed": (lambda s, v: _L(s).searchsorted(s, v), [np.array([1, 3, 5]), np.array([2.5, 3.0])]),
    "searchsorted_sorter": (lambda s, v, o: _L(s).searchsorted(s, v, sorter=o),
                            [np.array([3.0, 1.0, 2.0]), np.array([1.5, 3.0]), np.array([1, 2, 0])]),
    "searchsorted_scalar": (lambda s: _L(s).searchsorted(s, 1.5), [np.array([1.0, 2.0])]),
    "bucketize": (lambda v, b: _L(v).bucketize(v, b), [X, np.array([-1.0, 0.0, 1.0])]),
    "bucketize_right": (lambda v, b: _L(v).bucketize(v, b, right=True), [np.array([0.0, 1.0, 2.0]),
                                                                         np.array([0.0, 1.0])]),
}


@pytest.mark.parametrize("name", sorted(COUNTING))
def test_counting_and_searching(name):
    fn, arrays = COUNTING[name]
    check(fn, arrays, dt=arrays[0].dtype if arrays[0].dtype.kind == "f" else np.float64, grad=False)


def test_counts_record_no_node():
    x = ng.tensor(X, requires_grad=True)
    for y in (x.any(), x.all(1), x.count_nonzero(), x.histc(4), ng.searchsorted(ng.tensor([0.0]), x), x.argsort(),
              ng.bincount(ng.tensor([0, 1]), x[0, :2])):
        assert y.grad_fn is None and not y.requires_grad


def test_sort_tie_order_is_stable_on_long_rows():
    a = np.random.default_rng(3).integers(0, 4, (3, 257)).astype(np.float64)
    v, i = ng.tensor(a).sort(1, descending=True)
    tv, ti = torch.tensor(a).sort(dim=1, descending=True, stable=True)
    assert np.array_equal(i.numpy(), ti.numpy()) and np.array_equal(v.numpy(), tv.numpy())


def test_topk_kthvalue_pick_an_equal_element_on_ties():
    x = ng.tensor(TIES)
    for r in (x.topk(2, largest=False), x.kthvalue(3, keepdim=True)):
        np.testing.assert_array_equal(np.take_along_axis(TIES, r.indices.numpy(), 1), r.values.numpy())


def test_inputs_are_not_modified():
    a = X.copy()
    x = ng.tensor(a)
    for f in (lambda t: t.sort(), lambda t: t.cumsum(0), lambda t: t.tril(), lambda t: t.median(0), lambda t: t.mode(1),
              lambda t: t.topk(2), lambda t: t.prod(1)):
        f(x)
    assert np.array_equal(x.numpy(), X)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(0, 40), st.integers(0, 2), st.booleans(), st.integers(0, 10**6))
def test_sort_and_cumsum_properties(rows, n, dim, desc, seed):
    """Random shapes: sort gives torch's stable order; cumsum's last element is the sum."""
    a = np.random.default_rng(seed).integers(-3, 4, (rows, n, 2)).astype(np.float32)
    v, i = ng.tensor(a).sort(dim, descending=desc)
    tv, ti = torch.tensor(a).sort(dim=dim, descending=desc, stable=True)
    assert np.array_equal(v.numpy(), tv.numpy()) and np.array_equal(i.numpy(), ti.numpy())
    c = ng.tensor(a).cumsum(dim).numpy()
    if a.shape[dim]:
        np.testing.assert_allclose(np.take(c, -1, axis=dim), a.sum(dim), rtol=1e-6, atol=1e-5)


# ------------------------------------------------------------------ CUDA (the simulator, tiny sizes)
CUDA_CASES = ["cumsum", "cumsum_mid", "cumprod_zeros", "cummax_ties", "cummin", "cummax_nan", "logcumsumexp",
              "tril_diag", "triu_neg", "prod_all", "prod_zeros_dim", "sort_ties_desc", "sort_nan", "topk", "kthvalue",
              "median_nan", "median_all", "mode"]


def _cuda():
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device and no simulator")


@pytest.mark.parametrize("name", CUDA_CASES)
def test_on_cuda(name):
    _cuda()
    fn, arrays, *_ = CASES[name]
    ng.set_default_device("cuda")
    try:
        check(fn, arrays)
    finally:
        ng.set_default_device("cpu")


@pytest.mark.parametrize("name", ["searchsorted_nd", "searchsorted_side", "bucketize", "bincount_weights32", "histc",
                                  "one_hot", "count_nonzero_dims", "any_dim_keepdim", "unique_inverse_counts"])
def test_counting_on_cuda(name):
    _cuda()
    fn, arrays = COUNTING[name]
    ng.set_default_device("cuda")
    try:
        check(fn, arrays, dt=arrays[0].dtype if arrays[0].dtype.kind == "f" else np.float64, grad=False)
    finally:
        ng.set_default_device("cpu")


def test_cuda_row_scan_and_sort_on_longer_rows():
    """Rows longer than a block (several chunks a thread, several merge passes), and int scans."""
    _cuda()
    a = np.random.default_rng(5).integers(-5, 5, (2, 37)).astype(np.float64)
    x = ng.tensor(a, device="cuda")
    np.testing.assert_allclose(x.cumsum(1).cpu().numpy(), np.cumsum(a, 1))
    v, i = x.sort(1, descending=True)
    tv, ti = torch.tensor(a).sort(dim=1, descending=True, stable=True)
    assert np.array_equal(v.cpu().numpy(), tv.numpy()) and np.array_equal(i.cpu().numpy(), ti.numpy())
    xi = ng.tensor(a.astype(np.int64), device="cuda")
    assert np.array_equal(xi.cumsum(1).cpu().numpy(), np.cumsum(a.astype(np.int64), 1))
    assert np.array_equal(xi.cummax(1).indices.cpu().numpy(), torch.tensor(a).cummax(1).indices.numpy())


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 30), st.integers(1, 9), st.booleans(), st.integers(0, 10**6))
def test_histc_and_searchsorted_properties(n, bins, right, seed):
    """Random float32 data on a grid (values on bin edges): histc's bins and searchsorted's
    positions as torch's."""
    rng = np.random.default_rng(seed)
    a = (rng.integers(-8, 9, n) / 4).astype(np.float32)
    lo, hi = float(rng.integers(-3, 0)), float(rng.integers(0, 3))
    for kw in ({"min": lo, "max": hi}, {}):
        np.testing.assert_array_equal(ng.tensor(a).histc(bins, **kw).numpy(), torch.tensor(a).histc(bins, **kw).numpy())
    s = np.sort(rng.integers(-4, 5, bins) / 2).astype(np.float32)
    np.testing.assert_array_equal(ng.searchsorted(ng.tensor(s), ng.tensor(a), right=right).numpy(),
                                  torch.searchsorted(torch.tensor(s), torch.tensor(a), right=right).numpy())


@pytest.mark.parametrize("name,args", [("tril_", (1,)), ("triu_", (-1,)), ("cumsum_", (1,)), ("cumprod_", (0,))])
def test_inplace_variants(name, args):
    """x * 1 changed in place: the same values and input gradient as torch's."""
    g = R(3, 4, seed=5)
    out = []
    for L in (ng, torch):
        x = L.tensor(Z, requires_grad=True)
        y = x * 1.0
        r = getattr(y, name)(*args)
        assert r is y
        y.backward(L.tensor(g))
        out.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("desc", [False, True])
def test_long_rows_sort_as_torch(dt, desc):
    """Rows long enough for the CPU's radix sort: ties, NaN, infinities and signed zeros in
    torch's stable order, along the last dim and along dim 0."""
    a = np.random.default_rng(4).integers(-20, 20, (5, 300)).astype(dt) / 4
    a[0, 3], a[1, 5], a[1, 7], a[2, :], a[2, 4] = np.nan, -0.0, 0.0, np.inf, -np.inf
    a[3, ::7] = np.nan
    for arr, dim in ((a, 1), (np.ascontiguousarray(a.T), 0)):
        v, i = ng.tensor(arr).sort(dim, descending=desc)
        tv, ti = torch.tensor(arr).sort(dim=dim, descending=desc, stable=True)
        assert np.array_equal(i.numpy(), ti.numpy())
        assert np.array_equal(v.numpy(), tv.numpy(), equal_nan=True)
