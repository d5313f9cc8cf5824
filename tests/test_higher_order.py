"""Higher-order gradients: every derivative in the table differentiated again, against PyTorch
(second derivatives with non-uniform upstream gradients, including with respect to the upstream
gradient itself) and against finite differences (gradgradcheck, float64)."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng
import nbgrad.nn.functional as NF

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional


def _np(x):
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return x.detach().cpu().numpy()


def R(*shape, seed=1, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(lo, hi, shape)


def P(*shape, seed=1):
    return R(*shape, seed=seed, lo=0.5, hi=2.0)


def U(*shape, seed=1):
    return R(*shape, seed=seed, lo=0.1, hi=0.9)


def tol(dt):
    return dict(rtol=2e-4, atol=2e-4) if dt == np.float32 else dict(rtol=1e-8, atol=1e-8)


def second_order(fn_ng, fn_t, arrays, dt=np.float64, nograd=(), seed=0):
    """First derivatives with create_graph, then the gradient of <first derivatives, w> with
    respect to the inputs and the upstream gradient v: both libraries, compared."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=dt) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    rg = [a.dtype.kind == "f" and i not in nograd for i, a in enumerate(arrays)]
    xs = [ng.tensor(a, requires_grad=r) for a, r in zip(arrays, rg)]
    ts = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, rg)]
    yn, yt = fn_ng(*xs), fn_t(*ts)
    np.testing.assert_allclose(_np(yn), _np(yt), **tol(dt))
    v = rng.standard_normal(tuple(yt.shape)).astype(_np(yt).dtype)
    vn, vt = ng.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    dn = [x for x, r in zip(xs, rg) if r]
    dtt = [t for t, r in zip(ts, rg) if r]
    gn = ng.autograd.grad(yn, dn, vn, create_graph=True, allow_unused=True)
    gt = torch.autograd.grad(yt, dtt, vt, create_graph=True, allow_unused=True)
    ws = [rng.standard_normal(tuple(t.shape)) for t in dtt]
    for a, b in zip(gn, gt):
        if b is None:
            assert a is None or not np.any(_np(a))
        else:
            np.testing.assert_allclose(_np(a), _np(b), **tol(dt))
    sn = sum((g * ng.tensor(w.astype(dt))).sum() for g, w in zip(gn, ws) if g is not None and g.requires_grad)
    st = sum((g * torch.tensor(w.astype(dt))).sum() for g, w in zip(gt, ws) if g is not None and g.requires_grad)
    if isinstance(st, int):  # the first derivatives do not depend on anything: nothing more to check
        return
    assert not isinstance(sn, int), "torch's first derivatives have a graph, nbgrad's do not"
    hn = ng.autograd.grad(sn, dn + [vn], allow_unused=True)
    ht = torch.autograd.grad(st, dtt + [vt], allow_unused=True)
    for a, b in zip(hn, ht):
        if b is None:
            assert a is None or not np.any(_np(a)), "nbgrad has a nonzero gradient where torch has none"
        elif a is None:
            assert not np.any(_np(b)), "torch has a nonzero second derivative that nbgrad lacks"
        else:
            assert a.shape == b.shape
            np.testing.assert_allclose(_np(a), _np(b), **tol(dt))


def _nll(lib, x, t):
    F = NF if lib is ng else TF
    return F.nll_loss(x.log_softmax(-1), t)


CASES = {
    "add": (lambda x, y: x + 2 * y, [R(3, 4), R(4)]),
    "add_alpha": (lambda x, y: x.add(y, alpha=3) * x, [R(3, 4), R(3, 4, seed=2)]),
    "sub": (lambda x, y: (x - y) * (y - 1.5), [R(3, 4), R(3, 1)]),
    "rsub": (lambda x: (2 - x) * x, [R(5)]),
    "mul": (lambda x, y: x * y * x, [R(2, 3), R(3)]),
    "div": (lambda x, y: x / y, [R(2, 3), P(2, 3)]),
    "rdiv": (lambda x: 3 / x, [P(4)]),
    "pow_scalar": (lambda x: x ** 3, [R(5)]),
    "pow_half": (lambda x: x ** 0.5, [P(5)]),
    "pow_tensor": (lambda x, y: x ** y, [P(4), R(4)]),
    "rpow": (lambda y: 2.0 ** y, [R(4)]),
    "neg": (lambda x: -x * x, [R(4)]),
    "exp": (lambda x: x.exp(), [R(2, 3)]),
    "log": (lambda x: x.log(), [P(2, 3)]),
    "sqrt": (lambda x: x.sqrt(), [P(6)]),
    "abs": (lambda x: x.abs() * x, [R(6)]),
    "sin": (lambda x: x.sin(), [R(6)]),
    "cos": (lambda x: x.cos(), [R(6)]),
    "tanh": (lambda x: x.tanh(), [R(2, 3)]),
    "sigmoid": (lambda x: x.sigmoid(), [R(2, 3)]),
    "relu": (lambda x: x.relu() * x, [R(2, 3)]),
    "clamp": (lambda x: x.clamp(-1, 1) * x, [R(8)]),
    "maximum": (lambda x, y: x.maximum(y) * x, [R(6), R(6, seed=4)]),
    "minimum": (lambda x, y: x.minimum(y) * y, [R(6), R(6, seed=4)]),
    "where": (lambda x, y: _where(x, y), [R(6), R(6, seed=4)]),
    "sum": (lambda x: (x * x).sum(), [R(2, 3)]),
    "sum_dim": (lambda x: (x * x).sum(1), [R(2, 3)]),
    "sum_keepdim": (lambda x: (x * x).sum((0, 2), keepdim=True), [R(2, 3, 2)]),
    "mean": (lambda x: (x * x).mean(), [R(2, 3)]),
    "mean_dim": (lambda x: (x * x).mean(0), [R(2, 3)]),
    "max_all": (lambda x: (x * x).max(), [R(2, 3)]),
    "min_all": (lambda x: (x * x).min() * x, [R(2, 3)]),
    "max_dim": (lambda x: (x * x).max(1)[0], [R(2, 3)]),
    "min_dim_keep": (lambda x: (x * x).min(0, keepdim=True)[0], [R(2, 3)]),
    "var": (lambda x: x.var(1), [R(3, 4)]),
    "var_all": (lambda x: x.var(), [R(3, 4)]),
    "std": (lambda x: x.std(0, keepdim=True), [R(3, 4)]),
    "logsumexp": (lambda x: x.logsumexp(1), [R(3, 4)]),
    "softmax": (lambda x: x.softmax(-1), [R(3, 4)]),
    "softmax_dim0": (lambda x: x.softmax(0), [R(3, 4)]),
    "log_softmax": (lambda x: x.log_softmax(-1), [R(3, 4)]),
    "mm": (lambda a, b: (a @ b) * (a @ b), [R(2, 3), R(3, 4)]),
    "mv": (lambda a, b: (a @ b) ** 2, [R(2, 3), R(3)]),
    "vm": (lambda a, b: (a @ b) ** 2, [R(3), R(3, 2)]),
    "dot": (lambda a, b: (a @ b) ** 2, [R(3), R(3, seed=5)]),
    "bmm_broadcast": (lambda a, b: (a @ b) ** 2, [R(2, 2, 3), R(3, 2)]),
    "reshape": (lambda x: (x * x).reshape(3, 2).exp(), [R(2, 3)]),
    "unsqueeze_squeeze": (lambda x: (x * x).unsqueeze(1).squeeze(1), [R(2, 3)]),
    "permute": (lambda x: (x * x).permute(2, 0, 1), [R(2, 3, 2)]),
    "transpose": (lambda x: (x * x).transpose(0, 1), [R(2, 3)]),
    "expand": (lambda x: (x * x).expand(3, 2, 3), [R(2, 3)]),
    "getitem": (lambda x: (x * x)[1:, ::2], [R(3, 4)]),
    "getitem_advanced": (lambda x: (x * x)[[0, 2, 2]], [R(3, 4)]),
    "cat": (lambda x, y: _cat(x, y), [R(2, 3), R(1, 3)]),
    "stack": (lambda x, y: _stack(x, y), [R(2, 3), R(2, 3, seed=3)]),
    "clone": (lambda x: (x * x).clone(), [R(4)]),
    "setitem_advanced": (lambda x, v: _setitem(x, v), [R(4), R(2, seed=3)]),
    "log1p": (lambda x: x.log1p(), [P(4)]),
    "to_dtype": (lambda x: (x.float() * x.float()).double(), [R(4)]),
    "broadcast_sum_to": (lambda x, y: (x * y) * (x * y), [R(3, 1), R(1, 4)]),
}


def _lib(t):
    return ng if isinstance(t, ng.Tensor) else torch


def _where(x, y):
    return _lib(x).where(x > 0, x * x, y * x)


def _cat(x, y):
    return _lib(x).cat([x * x, y * x[:1]], 0)


def _setitem(x, v):
    y = x * x
    y[[0, 2]] = v * x[1:3]
    return y * x


def _stack(x, y):
    return _lib(x).stack([x * y, y], 1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_match_torch(name):
    fn, arrays = CASES[name]
    second_order(fn, fn, arrays)


@pytest.mark.parametrize("name", ["mul", "div", "tanh", "sigmoid", "log_softmax", "mm", "var", "softmax"])
def test_second_derivatives_match_torch_float32(name):
    fn, arrays = CASES[name]
    second_order(fn, fn, arrays, dt=np.float32)


LOSSES = {
    "bce_logits": (lambda x, y: _F(x).binary_cross_entropy_with_logits(x, y), [R(4, 3), U(4, 3)]),
    "bce_logits_weight_sum": (lambda x, y, w: _F(x).binary_cross_entropy_with_logits(x, y, w, reduction="sum"),
                              [R(4, 3), U(4, 3), P(3)]),
    "bce": (lambda x, y: _F(x).binary_cross_entropy(x, y), [U(4, 3), U(4, 3, seed=3)]),
    "bce_none": (lambda x, y: _F(x).binary_cross_entropy(x, y, reduction="none"), [U(4, 3), U(4, 3, seed=3)]),
    "mse": (lambda x, y: _F(x).mse_loss(x * x, y), [R(4, 3), R(4, 3, seed=3)]),
    "nll": (lambda x, t: _F(x).nll_loss(x.log_softmax(-1), t), [R(5, 4), np.array([0, 3, 1, 1, 2])]),
    "cross_entropy": (lambda x, t: _F(x).cross_entropy(x, t), [R(5, 4), np.array([0, 3, 1, 1, 2])]),
    "cross_entropy_weight_ignore": (
        lambda x, t, w: _F(x).cross_entropy(x, t, weight=w, ignore_index=1), [R(5, 4), np.array([0, 3, 1, 1, 2]), P(4)]),
    "cross_entropy_none": (lambda x, t: _F(x).cross_entropy(x, t, reduction="none"), [R(5, 4), np.array([0, 3, 1, 1, 2])]),
    "linear": (lambda x, w, b: _F(x).linear(x, w, b).tanh(), [R(4, 3), R(2, 3), R(2)]),
}


def _F(t):
    return NF if isinstance(t, ng.Tensor) else TF


def _family_cases() -> dict:
    """The op families' cases, one module each (tests/cases_<family>.py, a dict CASES of
    name: (fn, arrays, indices of arrays that take no gradient)); fn gets nbgrad or torch tensors."""
    import importlib
    import pathlib

    out = {}
    for path in sorted(pathlib.Path(__file__).parent.glob("cases_*.py")):
        for name, case in importlib.import_module(path.stem).CASES.items():
            fn, arrays, *rest = case
            out[f"{path.stem[6:]}.{name}"] = (fn, arrays, tuple(rest[0]) if rest else ())
    return out


FAMILIES = _family_cases()


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_second_derivatives_match_torch(name):
    fn, arrays, nograd = FAMILIES[name]
    second_order(fn, fn, arrays, nograd=nograd)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_gradgradcheck(name):
    fn, arrays, nograd = FAMILIES[name]
    xs = _inputs(arrays, nograd)
    assert ng.autograd.gradgradcheck(fn, xs, atol=1e-5, rtol=1e-4)


def _inputs(arrays, nograd):
    return [ng.tensor(np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else a,
                      requires_grad=np.asarray(a).dtype.kind == "f" and i not in nograd) for i, a in enumerate(arrays)]


def _nograd_of(table, name):
    if table is FAMILIES:
        return FAMILIES[name][2]
    return _loss_nograd(table[name][1]) if table is LOSSES and name != "linear" else ()


def _loss_nograd(arrays):
    return tuple(range(2, len(arrays)))  # class / element weights take no gradient (as in torch)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_second_derivatives_match_torch(name):
    fn, arrays = LOSSES[name]
    second_order(fn, fn, arrays, nograd=() if name == "linear" else _loss_nograd(arrays))


def test_loss_weights_take_no_gradient():
    w = ng.ones(3, requires_grad=True)
    x = ng.tensor(U(4, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        NF.binary_cross_entropy(x, x.detach(), w)
    with pytest.raises(RuntimeError, match="'nll_loss_forward' is not differentiable"):
        NF.cross_entropy(x, ng.tensor([0, 1, 2, 0]), w)


def test_inplace_on_view_second_derivative():
    def f(x):
        y = x * 1.0
        y[1:] *= 2.0
        return (y * x).exp()

    def g(x):
        y = x * x
        y[1:].mul_(x[:2])
        return y * x

    second_order(f, f, [R(3)])
    second_order(g, g, [R(3)])


def test_third_derivative_of_tanh():
    a = np.linspace(-1.5, 1.5, 7)
    x, xt = ng.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = x.tanh().sum(), xt.tanh().sum()
    for _ in range(3):
        (y,) = ng.autograd.grad(y, x, create_graph=True)
        (yt,) = torch.autograd.grad(yt, xt, create_graph=True)
        np.testing.assert_allclose(_np(y), _np(yt), rtol=1e-12, atol=1e-12)
        y, yt = y.sum(), yt.sum()
    t = np.tanh(a)
    # the fourth derivative, against its closed form: d^4/dx^4 tanh = 8 t (1 - t^2) (2 - 3 t^2)
    np.testing.assert_allclose(_np(ng.autograd.grad(y, x)[0]), 8 * t * (1 - t**2) * (2 - 3 * t**2), rtol=1e-10)


GRADGRAD = ["mul", "div", "pow_tensor", "rpow", "exp", "log", "tanh", "sigmoid", "sqrt", "sin", "cos",
            "sum_dim", "max_dim", "var", "std", "logsumexp", "softmax", "log_softmax", "mm", "mv", "bmm_broadcast",
            "permute", "getitem_advanced", "cat", "stack", "where", "maximum", "clamp"]


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    fn, arrays = CASES[name]
    xs = [ng.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    assert ng.autograd.gradgradcheck(fn, xs, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["bce_logits", "bce", "mse", "cross_entropy_weight_ignore", "linear"])
def test_loss_gradgradcheck(name):
    fn, arrays = LOSSES[name]
    nograd = () if name == "linear" else _loss_nograd(arrays)
    xs = [ng.tensor(np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else a,
                    requires_grad=np.asarray(a).dtype.kind == "f" and i not in nograd) for i, a in enumerate(arrays)]
    assert ng.autograd.gradgradcheck(fn, xs, atol=1e-5, rtol=1e-4)


def test_gradgradcheck_reports_a_wrong_second_derivative():
    class BadSquare(ng.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()  # the right value, but it does not depend on x

    x = ng.tensor(R(3), requires_grad=True)
    assert ng.autograd.gradcheck(BadSquare.apply, [x])
    assert not ng.autograd.gradgradcheck(BadSquare.apply, [x], raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ng.autograd.gradgradcheck(BadSquare.apply, [x])


def test_every_table_entry_is_differentiated_twice_here():
    """Each node of the derivatives table is made by some case above, in a create_graph backward
    too (so every formula's own backward runs)."""
    from nbgrad.ops.derivatives_table import NODES

    seen: set[str] = set()

    def walk(t):
        stack = [t.grad_fn] if t is not None and t.grad_fn is not None else []
        done = set()
        while stack:
            n = stack.pop()
            if n is None or id(n) in done:
                continue
            done.add(id(n))
            seen.add(n.name)
            stack.extend(nx for nx, _ in n.next_functions)

    for table in (CASES, LOSSES, FAMILIES):
        for name, (fn, arrays, *_) in table.items():
            nograd = _nograd_of(table, name)
            xs = [ng.tensor(np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else a,
                            requires_grad=np.asarray(a).dtype.kind == "f" and i not in nograd)
                  for i, a in enumerate(arrays)]
            y = fn(*xs)
            walk(y)
            v = ng.tensor(np.random.default_rng(0).standard_normal(tuple(y.shape)), requires_grad=True)
            gs = ng.autograd.grad(y, [x for x in xs if x.requires_grad], v, create_graph=True, allow_unused=True)
            for g in gs:
                walk(g)
    x = ng.ones(3, requires_grad=True)
    y = x * 1
    y[1:] *= 2.0  # CopySlices
    gy = ng.autograd.grad(y, x, ng.ones(3, requires_grad=True), create_graph=True)[0]
    walk(y)
    walk(gy)
    # OnceDifferentiableBackward raises when run: test_custom_function.py covers it
    missing = sorted(set(NODES) - seen - {"OnceDifferentiableBackward"})
    assert not missing, f"table entries no test case makes: {missing}"


def test_check_node_on_every_node_of_the_cases():
    """autograd.check_node re-runs each node's forward expression from the table on float64 copies of
    its kept inputs and agrees with finite differences; a wrong custom Function is caught."""
    checked: set[str] = set()
    for table in (CASES, LOSSES, FAMILIES):
        for name, (fn, arrays, *_) in table.items():
            nograd = _nograd_of(table, name)
            with ng.autograd.graph.keep_inputs():
                xs = [ng.tensor(np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else a,
                                requires_grad=np.asarray(a).dtype.kind == "f" and i not in nograd)
                      for i, a in enumerate(arrays)]
                y = fn(*xs)
            stack, seen = [y.grad_fn], set()
            while stack:
                n = stack.pop()
                if n is None or id(n) in seen or n.name == "AccumulateGrad":
                    continue
                seen.add(id(n))
                stack.extend(nx for nx, _ in n.next_functions)
                if getattr(type(n), "forward", None) is None:
                    continue
                r = ng.autograd.check_node(n)
                assert r.ok, f"{name}: {r}"
                checked.add(n.name)
    assert len(checked) >= 45

    class Wrong(ng.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 3

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with ng.autograd.graph.keep_inputs():
        bad = Wrong.apply(ng.tensor([1.0, 2.0], requires_grad=True))
    r = ng.autograd.check_node(bad.grad_fn)
    assert not r.ok and abs(r.max_rel_error - 1 / 3) < 1e-6  # 2 where 3 is right
    with pytest.raises(RuntimeError, match="keep_inputs"):
        ng.autograd.check_node((ng.tensor([1.0], requires_grad=True) * 2).grad_fn)
