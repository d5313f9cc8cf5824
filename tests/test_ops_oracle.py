"""Compare nbgrad against PyTorch (the oracle) for every op: forward values and
input gradients under a non-uniform upstream gradient."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng
import nbgrad.nn.functional as NF

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]


def tol(dt):
    return dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-10, atol=1e-10)


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x.detach().cpu().numpy() if isinstance(x, ng.Tensor) else x)


def check(fn_ng, fn_t, arrays, dt, grad=True, seed=0, tfn=None, out_index=None, nograd=()):
    """Run fn on identical inputs in both libraries; compare outputs and grads."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=dt) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    rg = [grad and a.dtype.kind == "f" and i not in nograd for i, a in enumerate(arrays)]
    xs = [ng.tensor(a, requires_grad=r) for a, r in zip(arrays, rg)]
    ts = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, rg)]
    yn, yt = fn_ng(*xs), fn_t(*ts)
    if out_index is not None:
        yn, yt = yn[out_index], yt[out_index]
    assert tuple(yn.shape) == tuple(yt.shape)
    assert str(yn.dtype.name) == str(yt.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(yn), _np(yt), **tol(dt))
    if not grad:
        return
    g = rng.standard_normal(tuple(yt.shape)).astype(_np(yt).dtype)
    yn.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))
    for xn, xt in zip(xs, ts):
        if xt.grad is None:
            continue
        assert xn.grad is not None
        assert tuple(xn.grad.shape) == tuple(xt.grad.shape)
        np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), **tol(dt))


def R(*shape, seed=1, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(lo, hi, shape)


def P(*shape, seed=1):
    return R(*shape, seed=seed, lo=0.5, hi=2.0)


# ------------------------------------------------------------------ binary
BIN_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((2, 3), ())]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("sa,sb", BIN_SHAPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_binary(op, sa, sb, dt):
    if op == "pow":
        a, b = P(*sa, seed=2), R(*sb, seed=3)
    elif op == "div":
        a, b = R(*sa, seed=2), P(*sb, seed=3)
    else:
        a, b = R(*sa, seed=2), R(*sb, seed=3)
    f = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
         "div": lambda x, y: x / y, "pow": lambda x, y: x ** y}
    if op in f:
        check(f[op], f[op], [a, b], dt)
    else:
        check(getattr(ng, op), getattr(torch, op), [a, b], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_add_sub_alpha(dt):
    check(lambda x, y: ng.add(x, y, alpha=2.5), lambda x, y: torch.add(x, y, alpha=2.5), [R(3), R(3, seed=4)], dt)
    check(lambda x, y: ng.sub(x, y, alpha=2.5), lambda x, y: torch.sub(x, y, alpha=2.5), [R(3), R(3, seed=4)], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_maximum_ties(dt):
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 0.0, 3.0])
    check(ng.maximum, torch.maximum, [a, b], dt)
    check(ng.minimum, torch.minimum, [a, b], dt)


def test_maximum_nan_propagates():
    a = ng.tensor([np.nan, 1.0, 2.0])
    b = ng.tensor([0.0, np.nan, 1.0])
    for f in (ng.maximum, ng.minimum):
        out = f(a, b).cpu().numpy()
        assert np.isnan(out[0]) and np.isnan(out[1])


SCALAR_FNS = [
    ("x+2", lambda x: x + 2), ("2+x", lambda x: 2 + x), ("x-2", lambda x: x - 2), ("2-x", lambda x: 2 - x),
    ("x*2.5", lambda x: x * 2.5), ("2.5*x", lambda x: 2.5 * x), ("x/2", lambda x: x / 2),
    ("2/x", lambda x: 2 / x), ("x**2", lambda x: x ** 2), ("x**3", lambda x: x ** 3), ("x**0.5", lambda x: x ** 0.5),
    ("x**-1.5", lambda x: x ** -1.5), ("x**0", lambda x: x ** 0), ("2**x", lambda x: 2 ** x),
    ("1.5**x", lambda x: 1.5 ** x), ("-x", lambda x: -x),
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name,f", SCALAR_FNS, ids=[s[0] for s in SCALAR_FNS])
def test_scalar_operands(name, f, dt):
    check(f, f, [P(3, 4)], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_zero_dim(dt):
    check(lambda x, y: x * y + x, lambda x, y: x * y + x, [np.array(1.5), R(3)], dt)
    check(lambda x: x * 3, lambda x: x * 3, [np.array(-0.7)], dt)


# ------------------------------------------------------------------ unary
UNARY = ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu"]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("op", UNARY)
def test_unary(op, dt):
    x = P(3, 4) if op in ("log", "sqrt") else R(3, 4)
    check(getattr(ng, op), getattr(torch, op), [x], dt)
    check(lambda t: getattr(t, op)(), lambda t: getattr(t, op)(), [x], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_sigmoid_extreme(dt):
    x = np.array([-100.0, -30.0, 0.0, 30.0, 100.0])
    check(ng.sigmoid, torch.sigmoid, [x], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kw", [dict(min=-0.5), dict(max=0.5), dict(min=-0.5, max=0.7)])
def test_clamp(kw, dt):
    check(lambda x: ng.clamp(x, **kw), lambda x: torch.clamp(x, **kw), [R(4, 5)], dt)
    check(lambda x: x.clamp(**kw), lambda x: x.clamp(**kw), [R(4, 5)], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_where(dt):
    c = R(3, 4, seed=9) > 0
    check(lambda x, y: ng.where(ng.tensor(c), x, y), lambda x, y: torch.where(torch.tensor(c), x, y),
          [R(3, 4), R(4, seed=5)], dt)
    check(lambda x: ng.where(ng.tensor(c), x, 0.0), lambda x: torch.where(torch.tensor(c), x, 0.0), [R(3, 4)], dt)


# ------------------------------------------------------------------ matmul
MM = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
      ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 5)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,))]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("sa,sb", MM)
def test_matmul(sa, sb, dt):
    check(lambda x, y: x @ y, lambda x, y: x @ y, [R(*sa), R(*sb, seed=3)], dt)


def test_matmul_errors():
    with pytest.raises(RuntimeError, match=r"float32.*float64|float64.*float32"):
        ng.ones(2, 3) @ ng.ones(3, 2, dtype=ng.float64)
    with pytest.raises(RuntimeError, match=r"2x3.*4x5"):
        ng.ones(2, 3) @ ng.ones(4, 5)


def test_broadcast_error():
    with pytest.raises(RuntimeError, match=r"\[3, 4\].*\[5\]"):
        ng.ones(3, 4) + ng.ones(5)


def test_type_promotion():
    x = ng.ones(3)
    assert (x + 1.5).dtype == ng.float32
    assert (1.5 * x).dtype == ng.float32
    assert (x + ng.ones(3, dtype=ng.float64)).dtype == ng.float64
    assert (ng.tensor([1, 2, 3]) + 1.5).dtype == ng.float32
    assert (ng.tensor([1, 2, 3]) + 1).dtype == ng.int64
    assert (x + ng.tensor(2.0, dtype=ng.float64)).dtype == ng.float32
    assert (ng.tensor([1, 2]) / ng.tensor([2, 4])).dtype == ng.float32


# ------------------------------------------------------------------ reductions
RED = [dict(), dict(dim=()), dict(dim=[1]), dict(dim=1), dict(dim=-1, keepdim=True), dict(dim=(0, 2)),
       dict(dim=(0, 2), keepdim=True)]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kw", RED, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_sum_mean(op, kw, dt):
    check(lambda x: getattr(x, op)(**kw), lambda x: getattr(x, op)(**kw), [R(2, 3, 4)], dt)
    check(lambda x: getattr(ng, op)(x, **kw), lambda x: getattr(torch, op)(x, **kw), [R(2, 3, 4)], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min(op, dt):
    x = np.random.default_rng(0).permutation(24).reshape(2, 3, 4) / 7.0
    check(lambda t: getattr(t, op)(), lambda t: getattr(t, op)(), [x], dt)
    for dim, keep in [(0, False), (1, True), (-1, False)]:
        check(lambda t: getattr(t, op)(dim=dim, keepdim=keep).values,
              lambda t: getattr(t, op)(dim=dim, keepdim=keep).values, [x], dt)
        check(lambda t: getattr(t, op)(dim, keep)[0], lambda t: getattr(t, op)(dim, keep)[0], [x], dt)
        ni = getattr(ng.tensor(x), op)(dim=dim, keepdim=keep).indices.cpu().numpy()
        ti = getattr(torch.tensor(x), op)(dim=dim, keepdim=keep).indices.numpy()
        np.testing.assert_array_equal(ni, ti)
    np.testing.assert_array_equal(ng.tensor(x).argmax(1).cpu().numpy(), torch.tensor(x).argmax(1).numpy())
    np.testing.assert_array_equal(ng.tensor(x).argmin().cpu().numpy(), torch.tensor(x).argmin().numpy())


@pytest.mark.parametrize("dt", DTYPES)
def test_max_all_ties(dt):
    x = np.array([[1.0, 3.0], [3.0, 0.0]])
    check(lambda t: t.max(), lambda t: t.max(), [x], dt)
    check(lambda t: t.min(), lambda t: t.min(), [-x], dt)


VAR = [dict(), dict(dim=1), dict(dim=1, keepdim=True), dict(dim=(0, 2)), dict(unbiased=False),
       dict(dim=0, correction=0), dict(dim=-1, correction=2), dict(dim=1, unbiased=True, keepdim=True)]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kw", VAR, ids=str)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std(op, kw, dt):
    check(lambda x: getattr(x, op)(**kw), lambda x: getattr(x, op)(**kw), [R(3, 4, 5)], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim, dt):
    x = R(3, 4, 5) * 3
    check(lambda t: ng.softmax(t, dim), lambda t: torch.softmax(t, dim), [x], dt)
    check(lambda t: ng.log_softmax(t, dim), lambda t: torch.log_softmax(t, dim), [x], dt)
    check(lambda t: t.softmax(dim), lambda t: t.softmax(dim), [x], dt)
    check(lambda t: NF.softmax(t, dim), lambda t: TF.softmax(t, dim), [x], dt)
    for kw in (dict(dim=dim), dict(dim=dim, keepdim=True)):
        check(lambda t: ng.logsumexp(t, **kw), lambda t: torch.logsumexp(t, **kw), [x], dt)
    check(lambda t: ng.logsumexp(t, (0, 2)), lambda t: torch.logsumexp(t, (0, 2)), [x], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_softmax_large(dt):
    x = np.array([[1000.0, 0.0, -1000.0], [50.0, 50.0, 49.0]])
    check(lambda t: ng.softmax(t, 1), lambda t: torch.softmax(t, 1), [x], dt)
    check(lambda t: ng.log_softmax(t, 1), lambda t: torch.log_softmax(t, 1), [x], dt)
    check(lambda t: ng.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1), [x], dt)


# ------------------------------------------------------------------ shape ops
SHAPE_FNS = [
    ("reshape", lambda t: t.reshape(4, 6)), ("reshape-1", lambda t: t.reshape(-1, 3)),
    ("view", lambda t: t.view(6, 4)), ("transpose", lambda t: t.transpose(0, 2)),
    ("transpose_neg", lambda t: t.transpose(-1, -2)), ("permute", lambda t: t.permute(2, 0, 1)),
    ("mT", lambda t: t.mT), ("unsqueeze", lambda t: t.unsqueeze(1)), ("unsqueeze-1", lambda t: t.unsqueeze(-1)),
    ("flatten", lambda t: t.flatten()), ("flatten1", lambda t: t.flatten(1)),
    ("squeeze", lambda t: t.unsqueeze(0).unsqueeze(3).squeeze()), ("squeeze_dim", lambda t: t.unsqueeze(2).squeeze(2)),
    ("expand", lambda t: t[:, :1, :].expand(2, 3, 4)), ("expand_lead", lambda t: t.expand(5, 2, 3, 4)),
    ("expand-1", lambda t: t[:1].expand(3, -1, -1)), ("clone", lambda t: t.clone()),
    ("T2d", lambda t: t[0].T), ("t", lambda t: t[1].t()),
    ("reshape_noncontig", lambda t: t.transpose(0, 1).reshape(-1)),
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name,f", SHAPE_FNS, ids=[s[0] for s in SHAPE_FNS])
def test_shape_ops(name, f, dt):
    check(f, f, [R(2, 3, 4)], dt)


IDX = [
    ("int", lambda t: t[1]), ("neg_int", lambda t: t[-1, 2]), ("slice", lambda t: t[:, 1:3]),
    ("step", lambda t: t[::2, ::2]), ("step_start", lambda t: t[1::2, 1:5:3]),
    ("none", lambda t: t[None, :, None]), ("ellipsis", lambda t: t[..., 1]), ("ellipsis_none", lambda t: t[0, ..., None]),
    ("int_array", lambda t: t[[0, 2, 2, 3]]), ("int_array_2d", lambda t: t[[0, 1, 0], [2, 2, 2]]),
    ("int_array_tensor", lambda t: t[_ix(t, [3, 3, 0])]), ("mixed", lambda t: t[1:, [0, 0, 2]]),
    ("bool", lambda t: t[_ix(t, MASK)]), ("bool_row", lambda t: t[_ix(t, np.array([True, False, True, True]))]),
    ("scalar_tensor_index", lambda t: t[0, 1]), ("int_then_array", lambda t: t[0, [1, 1, 3]]),
    ("array_int", lambda t: t[None, [2, 0, 2], 4]), ("bool_int", lambda t: t[_ix(t, np.array([True, False, True, True])), 1]),
]
MASK = np.array([[True, False, True, False, True]] * 2 + [[False] * 5] + [[True] * 5])


def _ix(t, a):
    return torch.tensor(a) if isinstance(t, torch.Tensor) else ng.tensor(a)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name,f", IDX, ids=[s[0] for s in IDX])
def test_getitem(name, f, dt):
    check(f, f, [R(4, 5)], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_stack(dim, dt):
    check(lambda a, b: ng.cat([a, b], dim), lambda a, b: torch.cat([a, b], dim), [R(2, 3), R(2, 3, seed=4)], dt)
    check(lambda a, b: ng.stack([a, b], dim), lambda a, b: torch.stack([a, b], dim), [R(2, 3), R(2, 3, seed=4)], dt)
    check(lambda a, b, c: ng.cat([a, b, c], 0), lambda a, b, c: torch.cat([a, b, c], 0),
          [R(2, 3), R(1, 3, seed=4), R(3, 3, seed=5)], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons(op, dt):
    a = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]])
    b = np.array([1.0, 0.0, 3.0])
    for other in (b, 2.0, 1):
        yn = getattr(ng.tensor(a.astype(dt)), op)(ng.tensor(other.astype(dt)) if isinstance(other, np.ndarray) else other)
        yt = getattr(torch.tensor(a.astype(dt)), op)(torch.tensor(other.astype(dt)) if isinstance(other, np.ndarray) else other)
        assert yn.dtype == ng.bool
        assert not yn.requires_grad
        np.testing.assert_array_equal(yn.cpu().numpy(), yt.numpy())
    sym = {"eq": "__eq__", "lt": "__lt__", "gt": "__gt__"}
    if op in sym:
        np.testing.assert_array_equal(getattr(ng.tensor(a), sym[op])(ng.tensor(b)).cpu().numpy(),
                                      getattr(torch.tensor(a), sym[op])(torch.tensor(b)).numpy())


# ------------------------------------------------------------------ losses
RED3 = ["mean", "sum", "none"]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("red", RED3)
def test_mse_l1(red, dt):
    check(lambda x, y: NF.mse_loss(x, y, reduction=red), lambda x, y: TF.mse_loss(x, y, reduction=red),
          [R(3, 4), R(3, 4, seed=3)], dt)
    check(lambda x, y: NF.l1_loss(x, y, reduction=red), lambda x, y: TF.l1_loss(x, y, reduction=red),
          [R(3, 4), R(3, 4, seed=3)], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("red", RED3)
def test_bce(red, dt):
    p = R(3, 4, lo=0.05, hi=0.95)
    y = (R(3, 4, seed=5) > 0).astype(float)
    check(lambda x, t: NF.binary_cross_entropy(x, t, reduction=red),
          lambda x, t: TF.binary_cross_entropy(x, t, reduction=red), [p, y], dt)
    ys = R(3, 4, seed=6, lo=0, hi=1)
    check(lambda x, t: NF.binary_cross_entropy(x, t, reduction=red),
          lambda x, t: TF.binary_cross_entropy(x, t, reduction=red), [p, ys], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("red", RED3)
def test_bce_logits(red, dt):
    x = np.array([[100.0, -100.0, 0.0, 3.0], [-40.0, 40.0, -0.5, 17.0]])
    y = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.3, 1.0]])
    check(lambda a, t: NF.binary_cross_entropy_with_logits(a, t, reduction=red),
          lambda a, t: TF.binary_cross_entropy_with_logits(a, t, reduction=red), [x, y], dt)
    y2 = 1 - y
    check(lambda a, t: NF.binary_cross_entropy_with_logits(a, t, reduction=red),
          lambda a, t: TF.binary_cross_entropy_with_logits(a, t, reduction=red), [x, y2], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("red", RED3)
def test_ce_nll(red, dt):
    x = R(5, 4) * 3
    tgt = np.array([0, 3, 3, 1, 2])
    check(lambda a, t: NF.cross_entropy(a, t, reduction=red), lambda a, t: TF.cross_entropy(a, t, reduction=red),
          [x, tgt], dt)
    check(lambda a, t: NF.nll_loss(a, t, reduction=red), lambda a, t: TF.nll_loss(a, t, reduction=red),
          [x, tgt], dt)
    tgt2 = np.array([0, -100, 3, 1, -100])
    check(lambda a, t: NF.cross_entropy(a, t, reduction=red, ignore_index=-100),
          lambda a, t: TF.cross_entropy(a, t, reduction=red, ignore_index=-100), [x, tgt2], dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("red", RED3)
def test_ce_nll_class_weights(red, dt):
    x = R(6, 4) * 3
    tgt = np.array([0, 3, -100, 1, 3, 2])
    w = np.array([1.0, 2.0, 0.5, 3.0])
    check(lambda a, t, c: NF.cross_entropy(a, t, weight=c, reduction=red),
          lambda a, t, c: TF.cross_entropy(a, t, weight=c, reduction=red), [x, tgt, w], dt, nograd=(2,))
    check(lambda a, t, c: NF.nll_loss(a, t, c, reduction=red), lambda a, t, c: TF.nll_loss(a, t, c, reduction=red),
          [x, tgt, w], dt, nograd=(2,))
    check(lambda a, t, c: NF.cross_entropy(a, t, c), lambda a, t, c: TF.cross_entropy(a, t, c),
          [x[0], np.array(3), w], dt, nograd=(2,))


@pytest.mark.parametrize("dt", DTYPES)
def test_std_zero(dt):
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    check(lambda t: t.std(1), lambda t: t.std(1), [x], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_ieee_special_values(dt):
    x = np.array([1.0, 0.0, -1.0], dtype=dt)
    for fn in (lambda t: t / 0.0, lambda t: 1.0 / t, lambda t: t.log(), lambda t: t.sqrt(), lambda t: t ** -1.0,
               lambda t: t ** 0.5):
        np.testing.assert_allclose(fn(ng.tensor(x)).cpu().numpy(), fn(torch.tensor(x)).numpy(), **tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("red", RED3)
def test_nll_all_ignored(red, dt):
    x = R(3, 4)
    tgt = np.array([-100, -100, -100])
    check(lambda a, t: NF.nll_loss(a, t, reduction=red), lambda a, t: TF.nll_loss(a, t, reduction=red), [x, tgt], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_ce_1d_and_weighted_bce_logits(dt):
    x = R(3, 4)
    check(lambda a, t: NF.cross_entropy(a, t), lambda a, t: TF.cross_entropy(a, t), [x[0], np.array(2)], dt)
    w = np.array([1.0, 2.0, 3.0, 4.0], dtype=dt)
    check(lambda a, t: NF.binary_cross_entropy_with_logits(a, t, weight=ng.tensor(w)),
          lambda a, t: TF.binary_cross_entropy_with_logits(a, t, weight=torch.tensor(w)),
          [x * 5, (x > 0).astype(float)], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_softmax_masked_rows(dt):
    m = np.array([[0.0, -np.inf, 1.0], [2.0, -np.inf, -np.inf]])
    check(lambda a: ng.softmax(a, 1), lambda a: torch.softmax(a, 1), [m], dt)
    check(lambda a: ng.logsumexp(a, 1), lambda a: torch.logsumexp(a, 1), [m], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_nondifferentiable_points_match_torch(dt):
    x = np.array([0.0, 1.0, -1.0, 0.5])
    for f in (lambda t: t.abs(), lambda t: t.relu(), lambda t: t.clamp(0.0, 1.0), lambda t: t.sqrt()[:2],
              lambda t: t ** 2, lambda t: t ** 0):
        check(f, f, [x], dt)


_ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]


@pytest.mark.parametrize("b", _ALL_DTYPES)
@pytest.mark.parametrize("a", _ALL_DTYPES)
def test_type_promotion_matches_torch_for_every_pair(a, b):
    """Dimensioned with dimensioned, with zero-dim, and with Python scalars (PyTorch's tiers)."""
    def pair(lib, x, y):
        return [lib.ones(2, dtype=getattr(lib, x)) + lib.ones(2, dtype=getattr(lib, y)),
                lib.ones(2, dtype=getattr(lib, x)) * lib.tensor(1, dtype=getattr(lib, y)),
                lib.ones(2, dtype=getattr(lib, x)) * 2, lib.ones(2, dtype=getattr(lib, x)) * 2.5,
                lib.where(lib.ones(2, dtype=lib.bool), lib.ones(2, dtype=getattr(lib, x)),
                          lib.ones(2, dtype=getattr(lib, y)))]
    got = [str(t.dtype).split(".")[-1] for t in pair(ng, a, b)]
    want = [str(t.dtype).split(".")[-1] for t in pair(torch, a, b)]
    assert got == want


@pytest.mark.parametrize("f", [
    lambda lib: lib.tensor([1, 2]).softmax(0),
    lambda lib: lib.tensor([1, 2]).log_softmax(0),
    lambda lib: lib.tensor([1, 2]).var(),
    lambda lib: lib.tensor([1, 2]).std(),
    lambda lib: 1 - lib.tensor([True]),
    lambda lib: lib.nn.functional.cross_entropy(lib.zeros(2, 3, dtype=lib.int64), lib.tensor([0, 1])),
])
def test_integer_inputs_are_refused_like_torch(f):
    with pytest.raises(Exception) as te:
        f(torch)
    with pytest.raises(type(te.value)) as ne:
        f(ng)
    assert str(ne.value) == str(te.value).splitlines()[0]


def test_fill_with_a_zero_dim_tensor_matches_torch():
    for lib in (ng, torch):
        t = lib.zeros(3)
        t.fill_(lib.tensor(2.5, dtype=lib.float64))
        assert t.tolist() == [2.5, 2.5, 2.5] and t.dtype == lib.float32
        with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor but got tensor with 1"):
            t.fill_(lib.tensor([2.0]))
    assert ng.ones(2, device="cpu").fill_(ng.tensor(4, device="cpu")).tolist() == [4.0, 4.0]
