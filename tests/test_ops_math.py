"""The elementwise math family (issue 16) against PyTorch: values and gradients (non-uniform
upstream gradients, float32 and float64, broadcasting, a non-contiguous input, 0-d and empty
inputs), float64 gradcheck, values at the domain edges (nan / inf), integer and bool dtypes,
PyTorch's errors, in-place variants and operators, and a few ops on CUDA (the simulator)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbgrad as ng

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")


def _np(t):
    if isinstance(t, ng.Tensor):
        return t.detach().cpu().numpy()
    return np.zeros(tuple(t.shape)) if t._is_zerotensor() else t.detach().numpy()  # (torch's sgn gradient)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _tol(dt, scale=1.0):
    if isinstance(scale, tuple):  # (float32's, float64's)
        scale = scale[dt == np.float64]
    return dict(rtol=2e-5 * scale, atol=2e-6 * scale) if dt == np.float32 else dict(rtol=1e-11 * scale,
                                                                                        atol=1e-12 * scale)


# name: (nbgrad fn, torch fn, (lo, hi) of the inputs that take gradients, tolerance scale); torch's
# float64 trigamma (digamma's derivative) is good to 5e-10 only (nbgrad's agrees with scipy's to 1e-16)
def _u(name, lo=-2.0, hi=2.0, scale=1.0, **kw):
    return (lambda x: getattr(ng, name)(x, **kw), lambda x: getattr(torch, name)(x, **kw), (lo, hi), scale)


UNARY = {
    "tan": _u("tan", -1.2, 1.2), "asin": _u("asin", -0.9, 0.9), "acos": _u("acos", -0.9, 0.9),
    "atan": _u("atan"), "sinh": _u("sinh"), "cosh": _u("cosh"), "asinh": _u("asinh"),
    "acosh": _u("acosh", 1.1, 4.0), "atanh": _u("atanh", -0.9, 0.9), "log2": _u("log2", 0.1, 4.0),
    "log10": _u("log10", 0.1, 4.0), "log1p": _u("log1p", -0.9, 4.0), "expm1": _u("expm1"), "exp2": _u("exp2"),
    "erf": _u("erf"), "erfc": _u("erfc"), "erfinv": _u("erfinv", -0.95, 0.95, 5),
    "lgamma": _u("lgamma", 0.1, 5.0, 5), "digamma": _u("digamma", 0.1, 5.0, (5, 100)), "rsqrt": _u("rsqrt", 0.2, 4.0),
    "reciprocal": _u("reciprocal", 0.2, 4.0), "floor": _u("floor"), "ceil": _u("ceil"), "round": _u("round"),
    "trunc": _u("trunc"), "frac": _u("frac"), "sign": _u("sign"), "sgn": _u("sgn"), "square": _u("square"),
    "round_decimals": _u("round", decimals=1), "round_decimals_neg": _u("round", -300, 300, decimals=-2),
    "polygamma1": (lambda x: ng.polygamma(1, x), lambda x: torch.polygamma(1, x), (0.2, 5.0), (5, 100)),
    "polygamma3": (lambda x: ng.polygamma(3, x), lambda x: torch.polygamma(3, x), (0.5, 5.0), 5),
    "nan_to_num": _u("nan_to_num"),
}
# rounding ops are flat: keep their inputs off the steps (and halves for round)
_OFF_STEPS = {"floor", "ceil", "round", "trunc", "frac", "round_decimals", "round_decimals_neg", "sign", "sgn"}


def _inputs(name, shape, dt, seed=0):
    lo, hi = UNARY[name][2]
    x = _rng(seed).uniform(lo, hi, shape)
    if name in _OFF_STEPS:
        x = np.where(np.abs(x - np.round(x * 10) / 10) < 0.02, x + 0.03, x)
    return x.astype(dt)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients(name, dt):
    """float32 on a contiguous input; float64 on a transposed (non-contiguous) one, and gradcheck."""
    fn, tfn, _, scale = UNARY[name]
    a = _inputs(name, (4, 3), dt)
    g = _rng(1).standard_normal((3, 4) if dt == np.float64 else (4, 3)).astype(dt)
    x, tx = ng.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    xi, txi = (x.t(), tx.t()) if dt == np.float64 else (x, tx)
    if dt == np.float64:
        assert not xi.is_contiguous()
    y, ty = fn(xi), tfn(txi)
    assert y.dtype == getattr(ng, str(ty.dtype)[6:]) and y.shape == ty.shape
    np.testing.assert_allclose(_np(y), _np(ty), **_tol(dt, scale))
    y.backward(ng.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(x.grad), _np(tx.grad), **_tol(dt, scale))
    if dt == np.float64:
        assert ng.autograd.gradcheck(fn, [ng.tensor(_inputs(name, (5,), dt, 2), requires_grad=True)])


EDGES = np.array([-np.inf, -3.0, -2.5, -1.0, -0.5, -0.0, 0.0, 1e-30, 1e-8, 0.5, 1.0, 1.5, 2.5, 7.0, 1e30, np.inf,
                  np.nan])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_edges_match_torch(name, dt):
    """nan / inf / signed zeros at the domain edges, as PyTorch."""
    fn, tfn, _, scale = UNARY[name]
    a = EDGES.astype(dt)
    y, ty = _np(fn(ng.tensor(a))), _np(tfn(torch.tensor(a)))
    if name.startswith("polygamma"):  # at the poles torch's float32 sum is a huge finite number, not inf;
        keep = ~((a <= 0) & (a == np.floor(a))) & (a != -np.inf)  # at -inf torch says nan or inf by n
        y, ty = y[keep], ty[keep]
    np.testing.assert_allclose(y, ty, **_tol(dt, 10 * scale), equal_nan=True)
    np.testing.assert_array_equal(np.signbit(y[y == 0]), np.signbit(ty[ty == 0]))


def _same_outcome(fn, tfn, *arrays):
    """The same dtype and values as torch, or the same kind of exception."""
    try:
        ty = tfn(*(torch.tensor(a) for a in arrays))
    except (RuntimeError, NotImplementedError, TypeError) as e:
        with pytest.raises(type(e)):
            fn(*(ng.tensor(a) for a in arrays))
        return None
    y = fn(*(ng.tensor(a) for a in arrays))
    assert str(y.dtype)[7:] == str(ty.dtype)[6:], (y.dtype, ty.dtype)
    np.testing.assert_allclose(_np(y).astype(np.float64), _np(ty).astype(np.float64), rtol=1e-6, equal_nan=True)
    return y


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_integer_bool_zero_dim_and_empty(name):
    fn, tfn, _, _ = UNARY[name]
    ints = np.array([1, 2, 5]) if name.startswith("polygamma") else np.array([-3, -1, 0, 1, 2, 5])  # (torch's
    for a in (ints, np.array([True, False]), np.array(3, np.int32)):  # float32 polygamma is finite at the poles)
        _same_outcome(fn, tfn, a)
    for a in (np.array(_inputs(name, (), np.float64)), np.zeros((0, 3), np.float32)):
        x, tx = ng.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = fn(x), tfn(tx)
        assert tuple(y.shape) == tuple(ty.shape)
        np.testing.assert_allclose(_np(y), _np(ty), rtol=1e-6)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(_np(x.grad), _np(tx.grad), rtol=1e-6)


def test_unary_methods_inplace_and_nodes():
    x = ng.tensor([0.3, -0.6, 1.7])
    for name in ("tan", "asin", "erfinv", "floor", "frac", "sign", "square", "exp2", "log1p", "arcsinh"):
        assert np.allclose(_np(getattr(x, name)()), _np(getattr(ng, name)(x)), equal_nan=True)
        y = x.clone()
        assert getattr(y, name + "_")() is y
        np.testing.assert_allclose(_np(y), _np(getattr(ng, name)(x)), equal_nan=True)
    np.testing.assert_allclose(_np(x.clone().round_(decimals=1)), [0.3, -0.6, 1.7], rtol=1e-6)
    np.testing.assert_allclose(_np(x.abs().polygamma(2)), _np(torch.tensor(_np(x)).abs().polygamma(2)), rtol=1e-5)
    names = {f.__name__: f for f in (ng.fix, ng.arccos, ng.arctan2, ng.divide)}
    assert names == {"trunc": ng.trunc, "acos": ng.acos, "atan2": ng.atan2, "div": ng.div}
    xr = ng.tensor([0.5, 2.5], requires_grad=True)
    for f, node in ((ng.tan, "TanBackward0"), (ng.floor, "FloorBackward0"), (lambda t: ng.round(t, decimals=1),
                    "RoundBackward1"), (ng.sign, "SignBackward0"), (lambda t: ng.polygamma(2, t), "PolygammaBackward0"),
                    (lambda t: ng.polygamma(0, t), "PolygammaBackward0")):
        assert f(xr).grad_fn.name == node
    assert ng.floor(ng.tensor([1, 2])).grad_fn is None


def test_inplace_unary_on_a_graph_matches_torch():
    a = np.array([0.3, -0.6, 0.8])
    g = np.array([1.0, -2.0, 0.5])
    outs = []
    for lib in (ng, torch):
        x = lib.tensor(a, requires_grad=True)
        y = x * 2
        y.tan_()
        w = y * x
        w.floor_()  # zero gradient from here on
        z = x * 1
        z.erfinv_()
        (y + w + z).backward(lib.tensor(g))
        outs.append((_np(y), _np(w), _np(z), _np(x.grad)))
    for u, v in zip(*outs):
        np.testing.assert_allclose(u, v, rtol=1e-12)
    with pytest.raises(RuntimeError, match="can't be cast"):
        ng.tensor([1, 2]).tan_()


def test_unary_errors():
    with pytest.raises(TypeError, match=r"tan\(\): argument 'input' \(position 1\) must be Tensor, not list"):
        ng.tan([1.0])
    with pytest.raises(RuntimeError, match="does not support negative n"):
        ng.polygamma(-1, ng.tensor([1.0]))
    with pytest.raises(TypeError, match="argument 'n' .* must be int, not float"):
        ng.polygamma(1.5, ng.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="\"frac_cpu\" not implemented for 'Long'"):
        ng.frac(ng.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"floor_vml_cpu\" not implemented for 'Bool'"):
        ng.floor(ng.tensor([True]))
    with pytest.raises(NotImplementedError, match="\"round_cpu\" not implemented for 'Long'"):
        ng.round(ng.tensor([1]), decimals=1)


# ---------------------------------------------------------------- binary
def _b(name, lo=-2.0, hi=2.0, lo2=None, hi2=None, scale=1.0, grad=True, **kw):
    return (lambda a, b: getattr(ng, name)(a, b, **kw), lambda a, b: getattr(torch, name)(a, b, **kw),
            (lo, hi), (lo if lo2 is None else lo2, hi if hi2 is None else hi2), scale, grad)


BINARY = {
    "atan2": _b("atan2"), "hypot": _b("hypot"), "fmod": _b("fmod", -5, 5, 0.7, 2.0),
    "fmod_neg": _b("fmod", -5, 5, -2.0, -0.7), "remainder": _b("remainder", -5, 5, 0.7, 2.0),
    "remainder_neg": _b("remainder", -5, 5, -2.0, -0.7), "logaddexp": _b("logaddexp", -30, 30),
    "logaddexp2": _b("logaddexp2", -30, 30), "xlogy": _b("xlogy", -2, 2, 0.1, 3.0),
    "div_trunc": _b("div", -5, 5, -2.0, 2.0, rounding_mode="trunc"),
    "div_floor": _b("div", -5, 5, -2.0, 2.0, rounding_mode="floor"),
    "floor_divide": _b("floor_divide", -5, 5, 0.7, 2.0, grad=False),
}


def _binary_inputs(name, dt, sa=(3, 1), sb=(4,)):
    (lo, hi), (lo2, hi2) = BINARY[name][2:4]
    a = _rng(3).uniform(lo, hi, sa)
    b = _rng(4).uniform(lo2, hi2, sb)
    if name.startswith(("fmod", "remainder", "div", "floor")):  # keep a / b off the integers (the steps)
        b = np.where(np.abs(b) < 0.3, 0.5, b)
        q = a / b
        a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.1 * b, a)
    return a.astype(dt), b.astype(dt)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcast_values_and_gradients(name, dt):
    fn, tfn, _, _, scale, grad = BINARY[name]
    a, b = _binary_inputs(name, dt, (3, 4) if name.startswith(("fmod", "rem", "div", "floor")) else (3, 1))
    g = _rng(5).standard_normal((3, 4)).astype(dt)
    x, y = ng.tensor(a, requires_grad=True), ng.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    r, tr = fn(x, y), tfn(tx, ty)
    assert r.dtype == getattr(ng, str(tr.dtype)[6:]) and tuple(r.shape) == (3, 4)
    np.testing.assert_allclose(_np(r), _np(tr), **_tol(dt, scale))
    r.backward(ng.tensor(g))
    if grad:
        tr.backward(torch.tensor(g))
        np.testing.assert_allclose(_np(x.grad), _np(tx.grad), **_tol(dt, scale))
        np.testing.assert_allclose(_np(y.grad), _np(ty.grad), **_tol(dt, scale))
    else:  # torch has no derivative for floor_divide; nbgrad's is zero (as div(rounding_mode="floor"))
        assert not np.any(_np(x.grad)) and not np.any(_np(y.grad))
    if dt == np.float64 and grad:
        a, b = _binary_inputs(name, dt, (2, 3), (3,))
        assert ng.autograd.gradcheck(fn, [ng.tensor(a, requires_grad=True), ng.tensor(b, requires_grad=True)])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_number_operands_non_contiguous_and_zero_dim(name):
    fn, tfn, _, _, scale, grad = BINARY[name]
    a, b = _binary_inputs(name, np.float32, (2, 3), (3,))
    num = float(b[0])
    x, tx = ng.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    r, tr = _same_outcome(lambda u: fn(u, num), lambda u: tfn(u, num), a), None
    if r is not None:  # (atan2, hypot, logaddexp and logaddexp2 take a tensor `other` only, as PyTorch)
        r, tr = fn(x.t(), num), tfn(tx.t(), num)
        assert r.dtype == ng.float32
        np.testing.assert_allclose(_np(r), _np(tr), **_tol(np.float32, scale))
    if grad and r is not None:
        r.sum().backward()
        tr.sum().backward()
        np.testing.assert_allclose(_np(x.grad), _np(tx.grad), **_tol(np.float32, scale))
    z, tz = fn(ng.tensor(a[0, 0]), ng.tensor(b[:2].astype(np.float64))), tfn(torch.tensor(a[0, 0]),
                                                                             torch.tensor(b[:2].astype(np.float64)))
    assert str(z.dtype)[7:] == str(tz.dtype)[6:] and tuple(z.shape) == (2,)
    np.testing.assert_allclose(_np(z), _np(tz), rtol=1e-6)
    e, te = fn(ng.zeros((0, 3)), ng.ones(3)), tfn(torch.zeros((0, 3)), torch.ones(3))
    assert tuple(e.shape) == tuple(te.shape) == (0, 3)


EDGE2 = np.array([-np.inf, -2.5, -1.0, -0.0, 0.0, 1.0, 3.0, np.inf, np.nan])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_edges_match_torch(name, dt):
    fn, tfn = BINARY[name][:2]
    a, b = EDGE2[:, None].astype(dt), EDGE2[None, :].astype(dt)
    r, tr = _np(fn(ng.tensor(a), ng.tensor(b))), _np(tfn(torch.tensor(a), torch.tensor(b)))
    np.testing.assert_allclose(r, tr, rtol=1e-6, atol=1e-7 if dt == np.float32 else 1e-15, equal_nan=True)
    zero = (r == 0) & (tr == 0)
    np.testing.assert_array_equal(np.signbit(r[zero]), np.signbit(tr[zero]))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_integer_operands(name):
    fn, tfn = BINARY[name][:2]
    a = np.array([[-7], [-3], [0], [5], [8]])
    b = np.array([3, -2, 4])
    _same_outcome(fn, tfn, a, b)
    _same_outcome(fn, tfn, a.astype(np.int32), b.astype(np.int32))
    _same_outcome(fn, tfn, np.array([True, False]), np.array([True, True]))
    _same_outcome(fn, tfn, a, b.astype(np.float32))


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "div_trunc", "div_floor"])
def test_integer_division_by_zero_raises(name):
    fn, tfn = BINARY[name][:2]
    for b in (ng.tensor([1, 0, 2]), 0):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn(ng.tensor([4, 5, 6]), b)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        tfn(torch.tensor([4, 5, 6]), 0)
    assert np.isnan(_np(fn(ng.tensor([4.0]), 0.0))[0]) == np.isnan(_np(tfn(torch.tensor([4.0]), 0.0))[0])


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=8), st.integers(-50, 50).filter(bool))
@settings(max_examples=30, deadline=None)
def test_integer_division_identities(a, b):
    """floor_divide * b + remainder == a, and div(trunc) * b + fmod == a, exactly (as Python's // and %)."""
    x = ng.tensor(a)
    np.testing.assert_array_equal(_np(ng.floor_divide(x, b) * b + ng.remainder(x, b)), a)
    np.testing.assert_array_equal(_np(ng.div(x, b, rounding_mode="trunc") * b + ng.fmod(x, b)), a)
    np.testing.assert_array_equal(_np(x // b), [v // b for v in a])
    np.testing.assert_array_equal(_np(x % b), [v % b for v in a])


def test_number_first_operands_and_operators():
    a = np.array([0.7, 1.9, -2.3])
    g = np.array([1.0, -1.0, 2.0])
    def f(lib, x):
        return lib.remainder(2.5, x) + lib.xlogy(2.0, x.abs()) + x % 0.8 + (x // 0.6) * x + 3 % x + 5 // x

    x = ng.tensor(a, requires_grad=True)
    y = f(ng, x)
    y.backward(ng.tensor(g))
    np.testing.assert_allclose(_np(y), _np(f(torch, torch.tensor(a))), rtol=1e-12)
    # torch cannot differentiate remainder(number, tensor) nor floor_divide: the gradient is -floor(2.5 / x)
    # (and 3 % x's), zero for floor_divide
    expected = -np.floor(2.5 / a) + 2.0 / a + 1 + a // 0.6 - np.floor(3 / a)
    np.testing.assert_allclose(_np(x.grad), expected * g, rtol=1e-12)
    y = ng.tensor([5.0, -5.0])
    y %= 3
    y //= 2
    np.testing.assert_allclose(_np(y), [1.0, 0.0])
    q = ng.tensor([7.0, -7.0])
    q.div_(2, rounding_mode="floor")
    np.testing.assert_allclose(_np(q), [3.0, -4.0])
    assert ng.div(ng.tensor([7.0], requires_grad=True), 2, rounding_mode="trunc").grad_fn.name == "DivBackward2"


def test_binary_errors():
    with pytest.raises(NotImplementedError, match="\"hypot_cpu\" not implemented for 'Long'"):
        ng.hypot(ng.tensor([1]), ng.tensor([2]))
    with pytest.raises(NotImplementedError, match="\"logaddexp_cpu\" not implemented for 'Long'"):
        ng.logaddexp(ng.tensor([1]), ng.tensor([2]))
    with pytest.raises(NotImplementedError, match="\"fmod_cpu\" not implemented for 'Bool'"):
        ng.fmod(ng.tensor([True]), ng.tensor([True]))
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor' but found 'x'"):
        ng.div(ng.tensor([1.0]), 2, rounding_mode="x")
    with pytest.raises(TypeError, match=r"atan2\(\): argument 'input' \(position 1\) must be Tensor, not int"):
        ng.atan2(2, ng.tensor([1.0]))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        ng.atan2(ng.ones(3), ng.ones(2))
    with pytest.raises(TypeError, match="at least one"):
        ng.xlogy(1.0, 2.0)


# ---------------------------------------------------------------- lerp, nan_to_num, clamp with tensor bounds
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("tensor_weight", [False, True])
def test_lerp_matches_torch(dt, tensor_weight):
    a, b = _rng(6).standard_normal((3, 1)).astype(dt), _rng(7).standard_normal((4,)).astype(dt)
    w = _rng(8).uniform(-0.5, 1.5, (3, 4)).astype(dt) if tensor_weight else 0.7
    g = _rng(9).standard_normal((3, 4)).astype(dt)
    res = []
    for lib in (ng, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True) if tensor_weight else w
        r = lib.lerp(x, y, wt)
        r.backward(lib.tensor(g))
        res.append([_np(r), _np(x.grad), _np(y.grad)] + ([_np(wt.grad)] if tensor_weight else []))
    for u, v in zip(*res):
        np.testing.assert_allclose(u, v, **_tol(dt))
    if dt == np.float64:
        ws = [ng.tensor(w, requires_grad=True)] if tensor_weight else []
        f = (lambda x, y, w: ng.lerp(x, y, w)) if tensor_weight else (lambda x, y: ng.lerp(x, y, 0.7))
        assert ng.autograd.gradcheck(f, [ng.tensor(a, requires_grad=True), ng.tensor(b, requires_grad=True)] + ws)


def test_lerp_errors_and_inplace():
    x = ng.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        ng.lerp(x, x.double(), 0.5)
    with pytest.raises(RuntimeError, match="expected dtype float for `weight` but got dtype double"):
        ng.lerp(x, x, x.double())
    with pytest.raises(NotImplementedError, match="\"lerp_kernel_scalar\" not implemented for 'Long'"):
        ng.lerp(ng.tensor([1]), ng.tensor([2]), 0.5)
    y = x.clone()
    assert y.lerp_(ng.tensor([3.0, 4.0]), 0.5) is y
    np.testing.assert_allclose(_np(y), [2.0, 3.0])


def test_nan_to_num_matches_torch():
    a = np.array([np.nan, np.inf, -np.inf, 1.5, -0.5])
    for dt in (np.float32, np.float64):
        for kw in ({}, {"nan": 2.0, "posinf": 9.0}, {"neginf": -7.0}):
            np.testing.assert_array_equal(_np(ng.nan_to_num(ng.tensor(a.astype(dt)), **kw)),
                                          _np(torch.nan_to_num(torch.tensor(a.astype(dt)), **kw)))
    g = np.arange(5.0)
    x, tx = ng.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    x.nan_to_num(1.0).backward(ng.tensor(g))
    tx.nan_to_num(1.0).backward(torch.tensor(g))
    np.testing.assert_array_equal(_np(x.grad), _np(tx.grad))
    y = ng.tensor(a)
    y.nan_to_num_()
    assert np.isfinite(_np(y)).all()


CLAMPS = {
    "both": (lambda lib, x, lo, hi: lib.clamp(x, lo, hi), True, True),
    "min": (lambda lib, x, lo, hi: lib.clamp(x, min=lo), True, False),
    "max": (lambda lib, x, lo, hi: lib.clamp(x, max=hi), False, True),
    "clip_method": (lambda lib, x, lo, hi: x.clip(lo, hi), True, True),
}


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CLAMPS))
def test_clamp_tensor_bounds_match_torch(name, dt):
    """Broadcast bounds, min > max in places (max wins), ties, gradients to x and to each bound."""
    fn, use_lo, use_hi = CLAMPS[name]
    a = np.array([[0.5, 1.0, 2.0, 3.0, -1.0], [2.0, -3.0, 0.0, 1.5, 4.0]], dt)
    lo = np.array([1.0, 1.0, 2.5, 0.0, 0.0], dt)
    hi = np.array([[2.0], [1.5]], dt) * np.array([1.0, 2.0, 0.6, 1.0, 0.5], dt)
    g = _rng(10).standard_normal(a.shape).astype(dt)
    res = []
    for lib in (ng, torch):
        x, tl, th = (lib.tensor(v, requires_grad=True) for v in (a, lo, hi))
        r = fn(lib, x, tl if use_lo else None, th if use_hi else None)
        r.backward(lib.tensor(g))
        res.append([_np(r), _np(x.grad)] + [_np(t.grad) for t, u in ((tl, use_lo), (th, use_hi)) if u])
    for u, v in zip(*res):
        np.testing.assert_allclose(u, v, **_tol(dt))
    if dt == np.float64:
        bounds = [ng.tensor(v + 0.05, requires_grad=True) for v, u in ((lo, use_lo), (hi, use_hi)) if u]

        def f(x, *bs):
            it = iter(bs)
            return fn(ng, x, next(it) if use_lo else None, next(it) if use_hi else None)

        assert ng.autograd.gradcheck(f, [ng.tensor(a + 0.02, requires_grad=True)] + bounds)


def test_clamp_edges_dtypes_errors_and_inplace():
    a = np.array([1.0, np.nan, 5.0, -2.0])
    for lo, hi in ((2.0, 1.0), (np.nan, 2.0), (0.0, np.nan)):  # min > max and nan bounds, numbers and tensors
        np.testing.assert_array_equal(_np(ng.clamp(ng.tensor(a), lo, hi)), _np(torch.clamp(torch.tensor(a), lo, hi)))
        np.testing.assert_array_equal(_np(ng.clamp(ng.tensor(a), ng.tensor(lo), ng.tensor(hi))),
                                      _np(torch.clamp(torch.tensor(a), torch.tensor(lo), torch.tensor(hi))))
    i = np.array([1, 5, 9])
    for lo, hi in ((np.array([2]), np.array([7])), (np.array([2.5]), None)):
        _same_outcome(lambda x, lo, *h: ng.clamp(x, lo, *h), lambda x, lo, *h: torch.clamp(x, lo, *h),
                      *([i, lo] + ([hi] if hi is not None else [])))
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        ng.clamp(ng.tensor([1.0]), ng.tensor([0.0]), 1.0)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        ng.clamp(ng.tensor([1.0]))
    x, lo = ng.tensor([0.5, 2.0], requires_grad=True), ng.tensor([1.0, 1.0], requires_grad=True)
    y = x * 1
    y.clamp_(lo, None)
    y.backward(ng.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(_np(y), [1.0, 2.0])
    np.testing.assert_array_equal(_np(x.grad), [0.0, 2.0])
    np.testing.assert_array_equal(_np(lo.grad), [1.0, 0.0])
    z = ng.tensor([0.5, 3.0])
    z.clip_(max=ng.tensor(1.0))
    np.testing.assert_array_equal(_np(z), [0.5, 1.0])


# ---------------------------------------------------------------- predicates, logical, bitwise, closeness
PRED_IN = [EDGES.astype(np.float32), EDGES, np.array([-2, 0, 7]), np.array([True, False])]


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not"])
def test_predicates_match_torch(name):
    for a in PRED_IN:
        y = _same_outcome(getattr(ng, name), getattr(torch, name), a)
        assert y.dtype == ng.bool and y.grad_fn is None
        assert getattr(ng.tensor(a), name)().dtype == ng.bool
    assert getattr(ng, name)(ng.tensor(1.5, requires_grad=True)).requires_grad is False


LOGICAL = ["logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor"]


@pytest.mark.parametrize("name", LOGICAL)
def test_logical_and_bitwise_match_torch(name):
    ints = np.array([[0, 1, -3, 12], [5, 6, 0, -1]])
    pairs = [(ints, np.array([3, 0, -3, 10])), (ints.astype(np.int32), ints[::-1].astype(np.int32)),
             (ints > 0, np.array([True, False, True, True])), (ints, ints[:, :1] > 2),
             (ints.astype(np.float32), ints), (np.array(2), ints)]
    for a, b in pairs:
        _same_outcome(getattr(ng, name), getattr(torch, name), a, b)
    y = ng.tensor(ints.astype(np.int64))
    assert getattr(y, name + "_")(ng.tensor([3, 0, -3, 10])) is y
    np.testing.assert_array_equal(_np(y), _np(getattr(torch.tensor(ints), name)(torch.tensor([3, 0, -3, 10]))))


def test_bitwise_not_operators_and_errors():
    i, b = np.array([3, -7, 0, 5]), np.array([True, False, True, False])
    for a in (i, b, i.astype(np.int8), np.array(4)):
        _same_outcome(ng.bitwise_not, torch.bitwise_not, a)
    x, tx = ng.tensor(i), torch.tensor(i)
    m, tm = ng.tensor(b), torch.tensor(b)
    for f in (lambda u, v: u & v, lambda u, v: u | 6, lambda u, v: 6 ^ u, lambda u, v: ~v, lambda u, v: (u & 1) | v,
              lambda u, v: v ^ True, lambda u, v: 2 & u, lambda u, v: 1 | v):
        r, tr = f(x, m), f(tx, tm)
        assert str(r.dtype)[7:] == str(tr.dtype)[6:]
        np.testing.assert_array_equal(_np(r), _np(tr))
    y = ng.tensor(i)
    y &= 6
    y |= 1
    y ^= 2
    np.testing.assert_array_equal(_np(y), ((i & 6) | 1) ^ 2)
    f = ng.tensor([1.0])
    for fn, msg in ((lambda: f & 1, "bitwise_and_cpu"), (lambda: ~f, "bitwise_not_cpu"),
                    (lambda: ng.bitwise_or(ng.tensor([1]), 1.5), "bitwise_or_cpu"), (lambda: f ^ f, "bitwise_xor_cpu")):
        with pytest.raises(NotImplementedError, match=f"\"{msg}\" not implemented for 'Float'"):
            fn()
    m2 = ng.tensor(b)
    m2.logical_not_()
    np.testing.assert_array_equal(_np(m2), ~b)


CLOSE = [np.array([1.0, 1.0 + 1e-6, 1.1, np.inf, np.inf, -np.inf, np.nan, np.nan, 0.0, 1e-9]),
         np.array([1.0, 1.0, 1.0, np.inf, -np.inf, -np.inf, np.nan, 1.0, 1e-9, 0.0])]


@pytest.mark.parametrize("kw", [{}, {"equal_nan": True}, {"rtol": 0.2}, {"rtol": 0.0, "atol": 0.0},
                                {"atol": 1e-8, "rtol": 1e-3, "equal_nan": True}])
def test_isclose_allclose_match_torch(kw):
    for dt in (np.float32, np.float64):
        a, b = (c.astype(dt) for c in CLOSE)
        r, tr = ng.isclose(ng.tensor(a), ng.tensor(b), **kw), torch.isclose(torch.tensor(a), torch.tensor(b), **kw)
        np.testing.assert_array_equal(_np(r), _np(tr))
        assert r.dtype == ng.bool
        for s in (slice(0, 2), slice(2, 4), slice(0, 1), slice(6, 7)):
            assert ng.allclose(ng.tensor(a[s]), ng.tensor(b[s]), **kw) == torch.allclose(
                torch.tensor(a[s]), torch.tensor(b[s]), **kw)
    i = np.array([1, 5, 100])
    np.testing.assert_array_equal(_np(ng.isclose(ng.tensor(i), ng.tensor(i + 1), **kw)),
                                  _np(torch.isclose(torch.tensor(i), torch.tensor(i + 1), **kw)))
    assert ng.tensor(a).isclose(ng.tensor(a), **kw).dtype == ng.bool


def test_closeness_errors_and_equal():
    with pytest.raises(RuntimeError, match="Long did not match Float"):
        ng.isclose(ng.tensor([1]), ng.tensor([1.0]))
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero, but got -1"):
        ng.isclose(ng.tensor([1.0]), ng.tensor([1.0]), rtol=-1)
    for a, b in (([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 2.5]), ([1], [1.0]), ([1.0], [[1.0]]),
                 ([np.nan], [np.nan]), ([], [])):
        assert ng.equal(ng.tensor(a), ng.tensor(b)) == torch.equal(torch.tensor(a), torch.tensor(b))
    assert ng.tensor([1.0, 2.0]).equal(ng.tensor([1.0, 2.0])) is True


# ---------------------------------------------------------------- the float32 log1p (softplus, logsigmoid)
def test_float32_log1p_softplus_logsigmoid_match_torch():
    """The CPU's vectorised float32 log1p, through the ops that use it, over a wide range."""
    r = _rng(11)
    x = np.concatenate([r.standard_normal(2000) * 10, r.uniform(-1, 1, 2000) * 1e-6, [-1.0, -0.999999, 0.0, -0.0,
                        1e-40, 3e38, np.inf, -np.inf, np.nan, -2.0, 88.0, -104.0, 20.0, -20.0]]).astype(np.float32)
    F, TF = ng.nn.functional, torch.nn.functional
    for f, tf, atol in ((F.softplus, TF.softplus, 1e-37), (F.logsigmoid, TF.logsigmoid, 1e-37),
                        (lambda t: t.log1p(), torch.log1p, 1e-37),
                        (lambda t: F.softplus(t, 2.0, 5.0), lambda t: TF.softplus(t, 2.0, 5.0), 1e-37),
                        (lambda t: ng.logaddexp(t, t * 0.5), lambda t: torch.logaddexp(t, t * 0.5), 1e-7)):
        np.testing.assert_allclose(_np(f(ng.tensor(x))), _np(tf(torch.tensor(x))), rtol=3e-7, atol=atol,
                                   equal_nan=True)  # (logaddexp's sum cancels near 0: 1 ulp of its terms)
    a, b = r.standard_normal(300).astype(np.float32) * 5, r.uniform(0, 1, 300).astype(np.float32)
    y = _np(F.binary_cross_entropy_with_logits(ng.tensor(a), ng.tensor(b), reduction="none"))
    ref = _np(TF.binary_cross_entropy_with_logits(torch.tensor(a, dtype=torch.float64),
                                                  torch.tensor(b, dtype=torch.float64), reduction="none"))
    assert np.all(np.abs(y - ref) <= 2 * np.spacing(np.abs(a) + 1))  # (its terms cancel: ulps of |x|)


@given(st.floats(-0.9999899864196777, 1.0000000150474662e30, width=32))
@settings(max_examples=200, deadline=None)
def test_float32_log1p_within_two_ulp(v):
    y = _np(ng.log1p(ng.tensor(np.array([v], np.float32))))[0]
    ref = np.log1p(np.float64(np.float32(v)))
    assert abs(np.float64(y) - ref) <= 2 * np.spacing(np.float32(abs(ref))) + 1e-45


# ---------------------------------------------------------------- CUDA (the simulator in CI)
cuda = pytest.mark.skipif(not ng.cuda.is_available(), reason="no CUDA (or simulator)")


@cuda
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # (the simulator's inf - inf)
def test_cuda_math_ops_match_torch():
    a = np.array([[0.3, -0.7, 1.9]])
    b = np.array([[1.3], [-0.6]])
    g = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]])
    fns = [lambda L, x, y: L.erfinv(x * 0.4) + L.tan(y) * x.floor(),
           lambda L, x, y: L.fmod(x, y) + L.remainder(x, y) + L.logaddexp(x, y) + L.xlogy(x.abs(), y.abs()),
           lambda L, x, y: L.clamp(x, y - 1, y + 0.5) + L.lerp(x, y, 0.3) + L.nn.functional.softplus(x * y)]
    for fn in fns:
        res = []
        for L, kw in ((ng, {"device": "cuda"}), (torch, {})):
            x, y = L.tensor(a, requires_grad=True, **kw), L.tensor(b, requires_grad=True, **kw)
            r = fn(L, x, y)
            r.backward(L.tensor(g, **kw))
            res.append([_np(r), _np(x.grad), _np(y.grad)])
        for u, v in zip(*res):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)
    i = ng.tensor([-7, 5, 6], device="cuda")
    np.testing.assert_array_equal(_np(i // 2), [-4, 2, 3])
    np.testing.assert_array_equal(_np(ng.fmod(i, 4)), [-3, 1, 2])
    np.testing.assert_array_equal(_np((i & 6) ^ 1), [1 ^ (-7 & 6), 5, 7])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        i % ng.tensor([1, 0, 1], device="cuda")
    f = ng.tensor([1.0, np.nan, np.inf], device="cuda")
    np.testing.assert_array_equal(_np(ng.isclose(f, f, equal_nan=True)), [True, True, True])
    np.testing.assert_array_equal(_np(f.isfinite()), [True, False, False])
