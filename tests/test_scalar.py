import math
import random

import numpy as np
import pytest

import nbgrad.scalar as S
from nbgrad.scalar import Value
from nbgrad.scalar import nn as snn

micrograd_engine = pytest.importorskip("micrograd.engine")
micrograd_nn = pytest.importorskip("micrograd.nn")

MV = micrograd_engine.Value


def big_expr(V):
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return a, b, g


def test_micrograd_sanity_check():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xm = MV(-4.0)
    zm = 2 * xm + 2 + xm
    qm = zm.relu() + zm * xm
    hm = (zm * zm).relu()
    ym = hm + qm + qm * xm
    ym.backward()
    assert y.data == ym.data
    assert x.grad == xm.grad


def test_micrograd_more_ops_vs_micrograd_and_torch():
    torch = pytest.importorskip("torch")
    a, b, g = big_expr(Value)
    am, bm, gm = big_expr(MV)
    assert abs(g.data - gm.data) < 1e-12
    assert abs(a.grad - am.grad) < 1e-12
    assert abs(b.grad - bm.grad) < 1e-12
    # torch float64 version of the same expression
    at = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    c = at + bt
    d = at * bt + bt**3
    c = c + c + 1
    c = c + 1 + c + (-at)
    d = d + d * 2 + (bt + at).relu()
    d = d + 3 * d + (bt - at).relu()
    e = c - d
    f = e**2
    gt = f / 2.0
    gt = gt + 10.0 / f
    gt.backward()
    assert abs(g.data - gt.item()) < 1e-6
    assert abs(a.grad - at.grad.item()) < 1e-6
    assert abs(b.grad - bt.grad.item()) < 1e-6


BINOPS = [
    ("add", lambda x, y: x + y),
    ("sub", lambda x, y: x - y),
    ("mul", lambda x, y: x * y),
    ("div", lambda x, y: x / y),
]


@pytest.mark.parametrize("name,f", BINOPS)
@pytest.mark.parametrize("xv,yv", [(1.5, -2.25), (-0.7, 3.1), (2.0, 2.0)])
def test_binop_vs_micrograd(name, f, xv, yv):
    for mode in ("vv", "vn", "nv"):
        x, y = Value(xv), Value(yv)
        xm, ym = MV(xv), MV(yv)
        if mode == "vv":
            o, om = f(x, y), f(xm, ym)
        elif mode == "vn":
            o, om = f(x, yv), f(xm, yv)
        else:
            o, om = f(xv, y), f(xv, ym)
        o.backward()
        om.backward()
        assert abs(o.data - om.data) < 1e-12
        assert abs(x.grad - xm.grad) < 1e-12
        assert abs(y.grad - ym.grad) < 1e-12


@pytest.mark.parametrize("p", [2, 3, -1, 0.5, -2.5])
def test_pow_vs_micrograd(p):
    x, xm = Value(1.7), MV(1.7)
    o, om = x**p, xm**p
    o.backward()
    om.backward()
    assert abs(o.data - om.data) < 1e-12
    assert abs(x.grad - xm.grad) < 1e-12


@pytest.mark.parametrize("xv", [-1.3, 0.0, 2.2])
def test_neg_relu_vs_micrograd(xv):
    x, xm = Value(xv), MV(xv)
    o, om = (-x).relu() + x.relu() * 3, (-xm).relu() + xm.relu() * 3
    o.backward()
    om.backward()
    assert o.data == om.data
    assert x.grad == xm.grad


def test_same_value_twice():
    x, xm = Value(3.0), MV(3.0)
    o, om = x * x + x, xm * xm + xm
    o.backward()
    om.backward()
    assert x.grad == xm.grad == 7.0


def fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


UNARY = [
    ("tanh", lambda v: v.tanh(), math.tanh),
    ("exp", lambda v: v.exp(), math.exp),
    ("log", lambda v: v.log(), math.log),
    ("sigmoid", lambda v: v.sigmoid(), lambda t: 1 / (1 + math.exp(-t))),
    ("poly", lambda v: (v * v * 3 - v / 2 + 1) ** 2, lambda t: (3 * t * t - t / 2 + 1) ** 2),
    ("chain", lambda v: ((v.tanh() + 2).log() * v.exp()).sigmoid() / (1 + v * v),
     lambda t: (1 / (1 + math.exp(-(math.log(math.tanh(t) + 2) * math.exp(t))))) / (1 + t * t)),
]


@pytest.mark.parametrize("name,fv,ff", UNARY)
@pytest.mark.parametrize("xv", [0.3, 1.1, 2.5])
def test_unary_finite_difference(name, fv, ff, xv):
    x = Value(xv)
    o = fv(x)
    o.backward()
    assert abs(o.data - ff(xv)) < 1e-12
    assert abs(x.grad - fd(ff, xv)) < 1e-6 * max(1.0, abs(x.grad))


@pytest.mark.parametrize("name,fv,ff", UNARY)
def test_unary_vs_torch(name, fv, ff):
    torch = pytest.importorskip("torch")

    xv = 0.8
    x = Value(xv)
    o = fv(x)
    o.backward()
    xt = torch.tensor(xv, dtype=torch.float64, requires_grad=True)
    tmap = {"tanh": torch.tanh, "exp": torch.exp, "log": torch.log, "sigmoid": torch.sigmoid}
    if name in tmap:
        ot = tmap[name](xt)
    elif name == "poly":
        ot = (xt * xt * 3 - xt / 2 + 1) ** 2
    else:
        ot = torch.sigmoid(torch.log(torch.tanh(xt) + 2) * torch.exp(xt)) / (1 + xt * xt)
    ot.backward()
    assert abs(o.data - ot.item()) < 1e-12
    assert abs(x.grad - xt.grad.item()) < 1e-12


def test_grad_accumulates_like_micrograd():
    x, xm = Value(2.0), MV(2.0)
    for _ in range(2):
        (x * x).backward()
        (xm * xm).backward()
    assert x.grad == xm.grad == 8.0
    x.grad = 0
    assert x.grad == 0.0


def test_data_setter_and_repr():
    x = Value(2.0)
    y = x * 3
    x.data -= 0.5
    assert x.data == 1.5
    assert y.data == 6.0
    assert repr(x) == "Value(data=1.5, grad=0.0)"
    assert y._op == "*"
    assert {p.data for p in y._prev} == {1.5, 3.0}


def hinge_step(model, MVcls, X, y, alpha=1e-4):
    inputs = [list(map(MVcls, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    return data_loss + reg_loss, scores


def _data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).tolist()
    y = [1 if a * b > 0 else -1 for a, b in X]
    return X, y


def test_mlp_matches_micrograd():
    random.seed(1337)
    mm = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ms = snn.MLP(2, [16, 16, 1])
    assert repr(ms) == repr(mm)
    pm, ps = mm.parameters(), ms.parameters()
    assert len(pm) == len(ps) == 337
    assert [p.data for p in pm] == [p.data for p in ps]
    X, y = _data()
    for k in range(3):
        lm, sm = hinge_step(mm, MV, X, y)
        ls, ss = hinge_step(ms, Value, X, y)
        for a, b in zip(sm, ss):
            assert abs(a.data - b.data) < 1e-12
        assert abs(lm.data - ls.data) < 1e-12
        mm.zero_grad()
        ms.zero_grad()
        lm.backward()
        ls.backward()
        for a, b in zip(pm, ps):
            assert abs(a.grad - b.grad) < 1e-12
        lr = 1.0 - 0.9 * k / 100
        for p in pm:
            p.data -= lr * p.grad
        for p in ps:
            p.data -= lr * p.grad
    for a, b in zip(pm, ps):
        assert abs(a.data - b.data) < 1e-12


def test_mlp_single_points_and_layer_repr():
    random.seed(7)
    lm = micrograd_nn.Layer(3, 2, nonlin=False)
    random.seed(7)
    ls = snn.Layer(3, 2, nonlin=False)
    assert repr(lm) == repr(ls)
    for x in ([0.1, -0.2, 0.3], [1.0, 2.0, -3.0]):
        om, os_ = lm(x), ls(x)
        assert [o.data for o in om] == [o.data for o in os_]


def test_compiled_equals_eager():
    def f(x, y, z):
        return ((x * y + z.tanh()) ** 2 / (1 + z.exp()) - (x - y).relu() + (y * y + 1).log() + x.sigmoid() * 3)

    cf = S.compile(f)
    rng = np.random.default_rng(3)
    for _ in range(6):
        vals = rng.normal(size=3)
        xs = [Value(v) for v in vals]
        out = f(*xs)
        out.backward()
        co, cg = cf(*vals)
        assert abs(co - out.data) < 1e-12
        for v, g in zip(xs, cg):
            assert abs(v.grad - g) < 1e-12
    assert cf.num_nodes > 0


def test_compiled_mlp_equals_eager():
    random.seed(1337)
    m = snn.MLP(2, [4, 4, 1])
    params = m.parameters()
    X, y = _data(5)

    def loss(*ps):
        old = m.load_parameters(ps)
        try:
            return hinge_step(m, Value, X, y)[0]
        finally:
            m.load_parameters(old)

    cf = S.compile(loss)
    for _ in range(2):
        co, cg = cf(*[p.data for p in params])
        m.zero_grad()
        ls = hinge_step(m, Value, X, y)[0]
        ls.backward()
        assert abs(co - ls.data) < 1e-12
        assert np.allclose(cg, [p.grad for p in params], atol=1e-12, rtol=0)
        for p in params:
            p.data -= 0.1 * p.grad


def test_compile_guard_raises():
    def branchy(x):
        if x.data > 0:
            return x * 2
        return x

    def branchy2(x):
        return x * 2 if x else x

    def branchy3(x):
        return x * 2 if x > 0 else x

    for fn in (branchy, branchy2, branchy3):
        with pytest.raises(TypeError, match="cannot branch"):
            S.compile(fn)(1.0)
    # eager still works after a failed trace
    v = Value(1.0)
    assert v.data == 1.0 and bool(v)


def test_backward_steps_records():
    x = Value(2.0)
    y = Value(3.0)
    z = (x * y + x).relu()
    steps = list(S.backward_steps(z))
    names = [s.node.name for s in steps]
    assert names == ["ReluBackward0", "AddBackward0", "MulBackward0", "AccumulateGrad", "AccumulateGrad"]
    assert [s.index for s in steps] == sorted((s.index for s in steps), reverse=True)
    assert steps[0].grads_in == (1.0,)
    assert steps[2].grads_out == (3.0, 2.0)
    add = steps[1].node
    assert [n.name for n, _ in add.next_functions] == ["MulBackward0", "AccumulateGrad"]
    leaf_grads = {s.index: s.grads_in[0] for s in steps if s.node.name == "AccumulateGrad"}
    z.backward()
    assert leaf_grads == {x._i: x.grad, y._i: y.grad}


@pytest.fixture
def small_tape():
    """A fresh tape with a small compaction limit; the previous tape is restored after."""
    old = S.engine._T

    def make(capacity=1 << 12, limit=1 << 16):
        S.reset_tape(capacity=capacity, limit=limit)
        return S.engine._T

    yield make
    S.engine._set_tape(old)
    S._tape.TAPE = old


def test_tape_bounded_over_training(small_tape):
    T = small_tape()
    random.seed(1337)
    model = snn.MLP(2, [16, 16, 1])
    X, y = _data(20)
    sizes = []
    total_loss = None
    for k in range(50):
        total_loss, _ = hinge_step(model, Value, X, y)
        model.zero_grad()
        total_loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        sizes.append(S.tape_size())
    assert T.compactions > 0
    assert max(sizes[25:]) <= T.limit
    assert max(sizes[25:]) <= max(sizes[:25]) * 1.01 + 1
    # params survive compaction with correct data/grad
    assert len(model.parameters()) == 337
    assert all(math.isfinite(p.data) and math.isfinite(p.grad) for p in model.parameters())


def test_compaction_mid_forward_matches_micrograd(small_tape):
    small_tape(capacity=64, limit=2000)
    random.seed(1337)
    mm = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ms = snn.MLP(2, [16, 16, 1])
    pm, ps = mm.parameters(), ms.parameters()
    X, y = _data(10, seed=5)
    lm = ls = None
    for k in range(5):
        lm, _ = hinge_step(mm, MV, X, y)
        ls, _ = hinge_step(ms, Value, X, y)
        assert abs(lm.data - ls.data) < 1e-12
        mm.zero_grad()
        ms.zero_grad()
        lm.backward()
        ls.backward()
        for p in pm:
            p.data -= 0.05 * p.grad
        for p in ps:
            p.data -= 0.05 * p.grad
    T = S.engine._T
    assert T.compactions >= 5
    for a, b in zip(pm, ps):
        assert abs(a.data - b.data) < 1e-12
        assert abs(a.grad - b.grad) < 1e-12
    assert S.tape_size() < 4 * 7000
