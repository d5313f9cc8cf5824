"""PyTorch's behaviour at the edges (issue 16), each against torch: out-of-range dims, NumPy-style
keyword aliases (axis=, keepdims=), clamp with min > max, min / max of bool tensors, integer
powers, creation from bad input, empty-tensor reductions, degenerate var / std, 0-d tensors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nbgrad as ng

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

from torch_scenarios import to_numpy  # noqa: E402


def _run(fn, lib):
    """('ok', value) or (exception type, message) of fn(lib)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", fn(lib)
    except Exception as e:  # noqa: BLE001 - which error is the point
        return type(e), str(e)


def _same_error(fn, same_message=True):
    (en, mn), (et, mt) = _run(fn, ng), _run(fn, torch)
    assert et != "ok", f"torch raises nothing: {mt}"
    assert en != "ok", f"nbgrad raises nothing, torch {et.__name__}: {mt}"
    assert issubclass(en, et), (en, mn, et, mt)
    if same_message:
        assert mn == mt


def _same_value(fn, **tol):
    (kn, vn), (kt, vt) = _run(fn, ng), _run(fn, torch)
    assert kt == "ok", vt
    assert kn == "ok", vn
    for a, b in zip(vn if isinstance(vn, tuple) else (vn,), vt if isinstance(vt, tuple) else (vt,)):
        a, b = to_numpy(a), to_numpy(b)
        assert np.shape(a) == np.shape(b)
        assert np.asarray(a).dtype == np.asarray(b).dtype, (np.asarray(a).dtype, np.asarray(b).dtype)
        np.testing.assert_allclose(a, b, **tol)


def X(lib):
    return lib.arange(6.0).reshape(2, 3)


# ---------------------------------------------------------------- out-of-range dims: one IndexError everywhere
OUT_OF_RANGE = {
    "cat": lambda L: L.cat([X(L), X(L)], 2),
    "cat_negative": lambda L: L.cat([X(L), X(L)], -3),
    "stack": lambda L: L.stack([X(L), X(L)], 3),
    "stack_negative": lambda L: L.stack([X(L), X(L)], -4),
    "squeeze": lambda L: X(L).squeeze(2),
    "squeeze_dims": lambda L: X(L).squeeze((0, 2)),
    "unsqueeze": lambda L: X(L).unsqueeze(3),
    "sum": lambda L: X(L).sum(2),
    "sum_dims": lambda L: X(L).sum((0, -3)),
    "mean": lambda L: X(L).mean(-3),
    "max": lambda L: X(L).max(2),
    "min": lambda L: X(L).min(-3),
    "argmax": lambda L: X(L).argmax(2),
    "argmin": lambda L: X(L).argmin(-3),
    "softmax": lambda L: X(L).softmax(2),
    "log_softmax": lambda L: X(L).log_softmax(-3),
    "softmax_0d": lambda L: L.tensor(1.5).softmax(1),
    "log_softmax_0d": lambda L: L.tensor(1.5).log_softmax(-2),
    "logsumexp": lambda L: X(L).logsumexp(2),
    "var": lambda L: X(L).var(2),
    "std": lambda L: X(L).std(-3),
    "transpose": lambda L: X(L).transpose(0, 2),
    "transpose_0d": lambda L: L.tensor(1.0).transpose(0, 1),
    "flatten": lambda L: X(L).flatten(0, 2),
    "flatten_start": lambda L: X(L).flatten(2),
    "flatten_0d": lambda L: L.tensor(1.0).flatten(1),
    "permute": lambda L: X(L).permute(0, 2),
    "movedim": lambda L: X(L).movedim(0, 2),
    "split": lambda L: X(L).split(1, 2),
    "chunk": lambda L: X(L).chunk(2, 2),
    "narrow": lambda L: X(L).narrow(2, 0, 1),
    "unbind": lambda L: X(L).unbind(2),
    "flip": lambda L: X(L).flip(2),
    "roll": lambda L: X(L).roll(1, 2),
    "gather": lambda L: X(L).gather(2, L.zeros(2, 3, dtype=L.int64)),
    "index_select": lambda L: X(L).index_select(2, L.tensor([0])),
    "size": lambda L: X(L).size(2),
    "normalize": lambda L: L.nn.functional.normalize(X(L), dim=2),
    "glu": lambda L: L.nn.functional.glu(X(L), 2),
    "softmin": lambda L: L.nn.functional.softmin(X(L), 2),
    "cosine_similarity": lambda L: L.nn.functional.cosine_similarity(X(L), X(L), dim=2),
}


@pytest.mark.parametrize("name", sorted(OUT_OF_RANGE))
def test_out_of_range_dim_is_torchs_index_error(name):
    _same_error(OUT_OF_RANGE[name])


DIM_ERRORS = {
    "sum_repeated_dim": lambda L: X(L).sum((0, 0)),
    "sum_repeated_negative_dim": lambda L: X(L).sum((1, -1)),
    "permute_duplicate": lambda L: X(L).permute(1, 1),
    "permute_length": lambda L: X(L).permute(1, 0, 2),
    "flatten_start_after_end": lambda L: L.ones(2, 3, 4).flatten(2, 1),
    "cat_0d": lambda L: L.cat([L.tensor(1.0), L.tensor(2.0)]),
    "size_0d": lambda L: L.tensor(1.0).size(0),
}


@pytest.mark.parametrize("name", sorted(DIM_ERRORS))
def test_dim_errors_as_torch(name):
    _same_error(DIM_ERRORS[name])


DIM_VALUES = {  # what a 0-d tensor or a negative dim gives
    "softmax_0d": lambda L: L.tensor(1.5).softmax(-1),
    "sum_0d": lambda L: L.tensor(1.5).sum(0),
    "flatten_0d": lambda L: L.tensor(1.5).flatten(-1),
    "transpose_0d": lambda L: L.tensor(1.5).transpose(-1, 0),
    "squeeze_negative": lambda L: L.ones(2, 1).squeeze(-1),
    "stack_negative": lambda L: L.stack([X(L), X(L)], -1),
    "cat_negative": lambda L: L.cat([X(L), X(L)], -2),
    "permute_negative": lambda L: X(L).permute(-1, 0),
    "size_negative": lambda L: X(L).size(-1),
    "max_0d_dim": lambda L: tuple(L.tensor(2.5).max(0)),
}


@pytest.mark.parametrize("name", sorted(DIM_VALUES))
def test_dim_values_as_torch(name):
    _same_value(DIM_VALUES[name])


# ---------------------------------------------------------------- NumPy-style aliases
ALIASES = {
    "sum_axis": lambda L: X(L).sum(axis=1),
    "sum_fn_axis": lambda L: L.sum(X(L), axis=1),
    "sum_keepdims": lambda L: X(L).sum(1, keepdims=True),
    "sum_axis_tuple": lambda L: X(L).sum(axis=(0, 1)),
    "mean_axis_keepdims": lambda L: X(L).mean(axis=0, keepdims=True),
    "mean_fn": lambda L: L.mean(X(L), axis=-1, keepdims=True),
    "max_axis": lambda L: tuple(X(L).max(axis=0)),
    "min_axis_keepdims": lambda L: tuple(X(L).min(axis=1, keepdims=True)),
    "argmax_axis": lambda L: X(L).argmax(axis=0),
    "argmin_axis_keepdims": lambda L: X(L).argmin(axis=1, keepdims=True),
    "var_axis": lambda L: X(L).var(axis=0, keepdims=True),
    "std_axis": lambda L: X(L).std(axis=1),
    "softmax_axis": lambda L: X(L).softmax(axis=0),
    "log_softmax_axis": lambda L: X(L).log_softmax(axis=1),
    "logsumexp_axis": lambda L: X(L).logsumexp(axis=0, keepdims=True),
    "cat_axis": lambda L: L.cat([X(L), X(L)], axis=1),
    "stack_axis": lambda L: L.stack([X(L), X(L)], axis=2),
    "squeeze_axis": lambda L: L.ones(2, 1).squeeze(axis=1),
    "unsqueeze_axis": lambda L: X(L).unsqueeze(axis=1),
    "cumsum_axis": lambda L: X(L).cumsum(axis=1),
    "cumprod_fn_axis": lambda L: L.cumprod(X(L), axis=0),
    "cummax_axis": lambda L: tuple(X(L).cummax(axis=1)),
    "logcumsumexp_axis": lambda L: X(L).logcumsumexp(axis=0),
    "prod_axis_keepdims": lambda L: X(L).prod(axis=1, keepdims=True),
    "sort_axis": lambda L: tuple(X(L).sort(axis=0, descending=True)),
    "argsort_axis": lambda L: X(L).argsort(axis=1),
    "topk_axis": lambda L: tuple(X(L).topk(2, axis=1)),
    "kthvalue_axis_keepdims": lambda L: tuple(X(L).kthvalue(1, axis=0, keepdims=True)),
    "median_axis": lambda L: tuple(X(L).median(axis=1)),
    "any_axis_keepdims": lambda L: (X(L) > 2).any(axis=1, keepdims=True),
    "all_axis": lambda L: (X(L) > 0).all(axis=0),
    "count_nonzero_axis": lambda L: X(L).count_nonzero(axis=1),
}


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_numpy_keyword_aliases(name):
    _same_value(ALIASES[name])


def test_alias_and_name_together_is_a_type_error():
    with pytest.raises(TypeError, match="multiple values for argument 'dim'"):
        X(ng).sum(1, axis=1) if False else X(ng).sum(dim=1, axis=1)


def test_alias_gradient():
    x = ng.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x.mean(axis=0, keepdims=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 0.5))


# ---------------------------------------------------------------- clamp, min / max of bool, integer powers
VALUES = {
    "clamp_min_above_max": lambda L: L.tensor([1.0, 5.0, -3.0, 0.0]).clamp(2.0, 0.0),
    "clamp_min_above_max_int": lambda L: L.tensor([1, 5, -3]).clamp(2, 0),
    "clamp_min_above_max_nan": lambda L: L.tensor([float("nan"), 1.0]).clamp(2.0, 0.0),
    "min_bool": lambda L: L.tensor([True, False, True]).min(),
    "max_bool": lambda L: L.tensor([False, True, False]).max(),
    "min_bool_all_true": lambda L: L.tensor([True, True]).min(),
    "max_bool_dim": lambda L: tuple(L.tensor([[True, False], [False, False]]).max(1)),
    "min_bool_dim": lambda L: tuple(L.tensor([[True, False], [True, True]]).min(0)),
    "min_uint8": lambda L: L.tensor([3, 1, 200], dtype=L.uint8).min(),
    "min_uint8_dim": lambda L: tuple(L.tensor([[3, 1], [200, 0]], dtype=L.uint8).min(1)),
    "argmin_uint8": lambda L: L.tensor([3, 1, 200], dtype=L.uint8).argmin(),
    "int_pow_zero": lambda L: L.tensor([1, 2, -3]) ** 0,
    "int_pow_positive": lambda L: L.tensor([1, 2, -3]).pow(3),
    "int_pow_negative_float": lambda L: L.tensor([1, 2, 4]) ** -1.0,
    "float_pow_negative_int": lambda L: L.tensor([1.0, 2.0]) ** -1,
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_values_as_torch(name):
    _same_value(VALUES[name])


def test_clamp_min_above_max_gradient_is_zero_as_torch():
    for lib in (ng, torch):
        x = lib.tensor([1.0, 5.0, -3.0, 0.0, 2.0], requires_grad=True)
        y = x.clamp(2.0, 0.0)
        y.backward(lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
        assert x.grad.tolist() == [0.0] * 5


ERRORS = {
    "int_negative_power": lambda L: L.tensor([1, 2]) ** -1,
    "int_negative_power_method": lambda L: L.tensor([1, 2]).pow(-2),
    "int32_negative_power": lambda L: L.tensor([1, 2], dtype=L.int32) ** -3,
    "tensor_none": lambda L: L.tensor(None),
    "tensor_list_none": lambda L: L.tensor([1.0, None]),
    "tensor_nested_none": lambda L: L.tensor([[1.0], [None]]),
    "tensor_none_with_dtype": lambda L: L.tensor([1.0, None], dtype=L.float32),
    "tensor_string": lambda L: L.tensor("abc"),
    "tensor_list_string": lambda L: L.tensor([1, "a"]),
    "arange_step_zero": lambda L: L.arange(0, 5, 0),
    "arange_float_step_zero": lambda L: L.arange(0.0, 1.0, 0.0),
    "arange_wrong_sign": lambda L: L.arange(5, 0),
    "arange_wrong_sign_float": lambda L: L.arange(5, 0, 1.5),
    "arange_infinite": lambda L: L.arange(0, float("inf")),
    "ones_float": lambda L: L.ones(2.5),
    "ones_bool": lambda L: L.ones(True),
    "zeros_float_in_tuple": lambda L: L.zeros((2, 2.5)),
    "empty_float_varargs": lambda L: L.empty(2, 2.5),
    "rand_float": lambda L: L.rand(2.5),
    "ones_negative": lambda L: L.ones(-1),
    "zeros_negative": lambda L: L.zeros(2, -3),
    "size_overflows": lambda L: L.ones(2 ** 40, 2 ** 30),
    "max_empty": lambda L: L.ones(0).max(),
    "min_empty": lambda L: L.ones(0, 3).min(),
    "max_empty_dim": lambda L: L.ones(0, 3).max(0),
    "argmax_empty": lambda L: L.ones(0).argmax(),
    "argmin_empty_dim": lambda L: L.ones(2, 0).argmin(1),
    "argmin_bool": lambda L: L.tensor([True, False, False]).argmin(),
    "argmax_bool_dim": lambda L: L.tensor([[True, False]]).argmax(1),
}
MESSAGE_DIFFERS = {"ones_bool", "zeros_float_in_tuple", "size_overflows"}  # type only (torch's own wording varies)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_torch(name):
    _same_error(ERRORS[name], same_message=name not in MESSAGE_DIFFERS)


def test_size_too_large_to_allocate_is_a_runtime_error_naming_it():
    for fn in (ng.empty, ng.zeros, ng.ones):
        with pytest.raises(RuntimeError, match=r"you tried to allocate 4611686018427387904 bytes"):
            fn(2 ** 59, dtype=ng.float64)  # 4 EiB: more than any address space
    with pytest.raises(RuntimeError, match=r"overflowed with sizes=\[1099511627776, 1073741824\]"):
        ng.ones(2 ** 40, 2 ** 30)
    with pytest.raises(RuntimeError, match=r"overflowed with sizes=\[4611686018427387904\]"):
        ng.full((2 ** 62,), 1.0)


# ---------------------------------------------------------------- empty reductions and degenerate statistics
EMPTY = {
    "sum": lambda L: L.ones(0).sum(),
    "sum_dim": lambda L: L.ones(0, 3).sum(0),
    "mean": lambda L: L.ones(0).mean(),
    "mean_dim": lambda L: L.ones(0, 3).mean(0),
    "mean_empty_result": lambda L: L.ones(0, 3).mean(1),
    "max_dim_of_nonempty_dim": lambda L: tuple(L.ones(0, 3).max(1)),
    "argmax_dim_of_nonempty_dim": lambda L: L.ones(0, 3).argmax(1),
    "logsumexp": lambda L: L.ones(0).logsumexp(0),
    "logsumexp_rows": lambda L: L.ones(2, 0).logsumexp(1),
    "logsumexp_keepdim": lambda L: L.ones(0, 3).logsumexp((0, 1), keepdim=True),
    "softmax": lambda L: L.ones(2, 0).softmax(1),
    "var": lambda L: L.ones(0).var(),
    "std_dim": lambda L: L.ones(0, 3).std(0),
    "var_one": lambda L: L.ones(1).var(),
    "std_correction_too_large": lambda L: L.tensor([1.0, 2.0]).std(correction=2),
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_and_degenerate_reductions(name):
    _same_value(EMPTY[name])


@pytest.mark.parametrize("f", ["var", "std"])
@pytest.mark.parametrize("n, correction", [(1, 1), (2, 2), (2, 3), (3, 5)])
def test_var_std_backward_without_degrees_of_freedom_is_nan(f, n, correction):
    res = []
    for lib in (ng, torch):
        x = lib.tensor(np.linspace(0.5, 2.0, n), requires_grad=True)
        with pytest.warns(UserWarning, match=r"degrees of freedom is <= 0"):
            y = getattr(x, f)(correction=correction)
        y.backward()
        res.append((y.item(), to_numpy(x.grad)))
    assert np.isinf(res[0][0]) or np.isnan(res[0][0])
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])
    assert np.isnan(res[0][1]).all() or np.isinf(res[0][1]).any()


def test_logsumexp_of_empty_backward():
    for lib in (ng, torch):
        x = lib.ones(2, 0, requires_grad=True)
        x.logsumexp(1).sum().backward()
        assert tuple(x.grad.shape) == (2, 0)


# ---------------------------------------------------------------- 0-d tensors and powers of zero
@pytest.mark.parametrize("f", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_of_a_0d_tensor(f, dim):
    out = []
    for lib in (ng, torch):
        x = lib.tensor(1.5, requires_grad=True)
        y = getattr(x, f)(dim)
        (g,) = lib.autograd.grad(y, x, lib.tensor(2.0), create_graph=True)
        out.append((y.shape, y.item(), g.item()))
    assert tuple(out[0][0]) == tuple(out[1][0]) == ()
    assert out[0][1:] == out[1][1:]


def test_pow_gradients_at_zero_base_as_torch():
    """d(x ** y)/dy is 0 where x == 0 and y >= 0 (torch masks 0 * log(0)); -inf where y < 0."""
    res = []
    for lib in (ng, torch):
        x = lib.tensor([0.0, 0.0, 0.0, 2.0, 0.0], requires_grad=True)
        y = lib.tensor([0.0, 1.0, -1.0, 0.0, 2.5], requires_grad=True)
        (x ** y).backward(lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
        e = lib.tensor([0.0, 1.0, -0.5], requires_grad=True)
        (0.0 ** e).sum().backward()
        b = lib.tensor([0.0, 3.0], requires_grad=True)
        (b ** 0.0).sum().backward()
        res.append([to_numpy(t.grad) for t in (x, y, e, b)])
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


def test_cpu_contiguous_keeps_a_0d_array_0d():
    be = ng.tensor(1.0)._backend
    for a in (np.asarray(2.5), np.float64(2.5)):
        out = be.contiguous(a)
        assert out.shape == () and out.flags.c_contiguous and float(out) == 2.5
    t = ng.tensor(np.asarray(3.0)).contiguous()
    assert t.shape == () and t.item() == 3.0
    x = np.arange(6.0).reshape(2, 3).T
    assert be.contiguous(x).flags.c_contiguous and (be.contiguous(x) == x).all()


# ---------------------------------------------------------------- CUDA (simulator), tiny sizes
def test_cuda_edges():
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device and no simulator")
    b = ng.tensor([[True, False], [True, True]], device="cuda")
    assert b.min().item() is False and b.max().item() is True
    assert b.min(1).values.cpu().tolist() == [False, True]
    u = ng.tensor([3, 1, 200], dtype=ng.uint8, device="cuda")
    assert u.min().item() == 1 and u.argmin().item() == 1
    assert ng.tensor([1.0, 5.0, -3.0], device="cuda").clamp(2.0, 0.0).cpu().tolist() == [0.0, 0.0, 0.0]
    assert ng.ones(2, 0, device="cuda").logsumexp(1).cpu().tolist() == [-np.inf, -np.inf]
    xc = ng.tensor([1.0, 5.0, -3.0], device="cuda", requires_grad=True)
    xc.clamp(ng.tensor([0.0, 0.0, -4.0], device="cuda"), ng.tensor([2.0, 3.0, -3.5], device="cuda")).sum().backward()
    assert xc.grad.cpu().tolist() == [1.0, 0.0, 0.0]
    x = ng.ones(2, 3, device="cuda")
    assert x.sum(axis=1, keepdims=True).cpu().tolist() == [[3.0], [3.0]]
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        ng.cat([x, x], 2)
    t = ng.tensor(2.5, device="cuda")
    assert t.contiguous().shape == () and t._backend.contiguous(t._data).shape == ()


# ---------------------------------------------------------------- properties
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

OPS_WITH_DIM = {
    "sum": lambda t, d: t.sum(d), "softmax": lambda t, d: t.softmax(d), "unsqueeze": lambda t, d: t.unsqueeze(d),
    "squeeze": lambda t, d: t.squeeze(d), "flatten": lambda t, d: t.flatten(d), "max": lambda t, d: t.max(d)[0],
    "transpose": lambda t, d: t.transpose(0, d), "cat": lambda t, d: _lib(t).cat([t, t], d),
    "stack": lambda t, d: _lib(t).stack([t, t], d), "logsumexp": lambda t, d: t.logsumexp(d),
}


def _lib(t):
    return ng if isinstance(t, ng.Tensor) else torch


@settings(max_examples=40, deadline=None)
@given(ndim=st.integers(0, 3), dim=st.integers(-5, 5), op=st.sampled_from(sorted(OPS_WITH_DIM)))
def test_any_dim_is_accepted_or_refused_as_torch(ndim, dim, op):
    shape = (2, 1, 3)[:ndim]
    f = OPS_WITH_DIM[op]
    (kn, vn), (kt, vt) = (_run(lambda L: f(L.ones(shape), dim), lib) for lib in (ng, torch))
    if kt == "ok":
        assert kn == "ok", vn
        assert tuple(vn.shape) == tuple(vt.shape)
    else:
        assert kn != "ok" and issubclass(kn, kt), (kn, vn, kt, vt)
        assert vn == vt


# ---------------------------------------------------------------- clamp with tensor bounds
CLAMP_X = np.array([[1.0, 5.0, -3.0, 0.0, 2.0, 0.5, 0.7, 1.0, 1.0]])
CLAMP_LO = np.array([[2.0, 0.0, -4.0, 0.0, 1.0, 0.5, 0.7, np.nan, 0.0]])  # ties, min > max, min == max, nan
CLAMP_HI = np.array([[0.0, 3.0, -3.5, 1.0, 2.0, 0.5, 0.6, 2.0, np.nan]])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("which", ["both", "min", "max", "broadcast"])
def test_clamp_with_tensor_bounds_as_torch(which, dt):
    res = []
    for lib in (ng, torch):
        x = lib.tensor(CLAMP_X.astype(dt).repeat(2, 0), requires_grad=True)
        lo = lib.tensor(CLAMP_LO.astype(dt), requires_grad=True)
        hi = lib.tensor((CLAMP_HI[0, :1] if which == "broadcast" else CLAMP_HI).astype(dt), requires_grad=True)
        args = {"both": (lo, hi), "min": (lo, None), "max": (None, hi), "broadcast": (lo, hi)}[which]
        y = x.clamp(*args)
        y.backward(lib.tensor(np.arange(1.0, 19.0).reshape(2, 9).astype(dt)))
        res.append([to_numpy(y)] + [None if t.grad is None else to_numpy(t.grad) for t in (x, lo, hi)])
    for a, b in zip(*res):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_clamp_with_tensor_bounds_gradcheck_and_in_place():
    x = ng.tensor([[0.3, -1.2, 2.5], [1.1, 0.0, -0.4]], dtype=ng.float64, requires_grad=True)
    lo = ng.tensor([-0.5, -1.0, 0.2], dtype=ng.float64, requires_grad=True)
    hi = ng.tensor([1.0, 0.5, 2.0], dtype=ng.float64, requires_grad=True)
    assert ng.autograd.gradcheck(lambda a, b, c: a.clamp(b, c), [x, lo, hi])
    assert ng.autograd.gradgradcheck(lambda a, b, c: a.clamp(b, c) * a, [x, lo, hi])
    y, t = x.detach().clone(), torch.tensor(x.detach().numpy())
    y.clamp_(lo.detach(), hi.detach())
    t.clamp_(torch.tensor(lo.detach().numpy()), torch.tensor(hi.detach().numpy()))
    np.testing.assert_array_equal(y.numpy(), t.numpy())


@pytest.mark.parametrize("args", [([1, 2],), ((2, 3),), (), ([[1.5, -2]],), (3,), (2, 0, 4)])
def test_legacy_tensor_constructor_matches_torch(args: tuple) -> None:
    """ng.Tensor(...) as torch.Tensor(...): a sequence is copied as float32, integer sizes give
    an uninitialised float32 tensor of that shape."""
    got, want = ng.Tensor(*args), torch.Tensor(*args)
    assert tuple(got.shape) == tuple(want.shape) and got.dtype == ng.float32
    if args and not all(isinstance(a, int) for a in args):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(TypeError, match="Tensor"):
        ng.Tensor([1], [2])
