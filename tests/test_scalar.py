import gc
import math
import os
import random
import sys

import numpy as np
import pytest

import nbgrad.scalar as S
from nbgrad.scalar import Value
from nbgrad.scalar import nn as snn

micrograd_engine = pytest.importorskip("micrograd.engine")
micrograd_nn = pytest.importorskip("micrograd.nn")

MV = micrograd_engine.Value

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benches.bench_scalar import compiled_demo, loss_fn, make_moons  # noqa: E402  (micrograd's demo)


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


def hinge_step(model, MVcls, X, y):
    """micrograd's demo loss and the model's outputs (the benchmark's loss_fn)."""
    return loss_fn(model, MVcls, X, y, with_scores=True)


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


# --- micrograd's demo: MLP(2, [16, 16, 1]), 100 two-moons points, hinge loss + L2 ------------------

DEMO_STEPS = 2


def _demo_model(nn_mod):
    random.seed(1337)
    return nn_mod.MLP(2, [16, 16, 1])


def _demo_run(nn_mod, V):
    """DEMO_STEPS SGD steps of the demo; per step: loss, parameter grads, parameters after the update."""
    model = _demo_model(nn_mod)
    X, y = make_moons()
    out = []
    for k in range(DEMO_STEPS):
        total = loss_fn(model, V, X, y)
        model.zero_grad()
        total.backward()
        grads = [p.grad for p in model.parameters()]
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
        out.append((total.data, grads, [p.data for p in model.parameters()]))
    return out


@pytest.fixture(scope="module")
def demo_micrograd():
    return _demo_run(micrograd_nn, MV)


def _demo_compiled():
    return compiled_demo(*make_moons())


def test_demo_matches_micrograd(demo_micrograd):
    got = _demo_run(snn, Value)
    for (lm, gm, pm), (ls, gs, ps) in zip(demo_micrograd, got):
        assert abs(lm - ls) < 1e-12
        assert np.max(np.abs(np.subtract(gm, gs))) < 1e-12
        assert np.max(np.abs(np.subtract(pm, ps))) < 1e-12


def test_demo_compiled_matches_eager_and_micrograd(demo_micrograd):
    cf, w = _demo_compiled()
    eager = _demo_run(snn, Value)
    for k, ((lm, _, _), (le, ge, pe)) in enumerate(zip(demo_micrograd, eager)):
        loss, g = cf(w)
        assert abs(loss - le) < 1e-12 and abs(loss - lm) < 1e-12
        assert np.max(np.abs(g - ge)) < 1e-12
        w -= (1.0 - 0.9 * k / 100) * g
        assert np.max(np.abs(w - pe)) < 1e-12


def test_demo_vs_torch_float64():
    torch = pytest.importorskip("torch")
    model = _demo_model(snn)
    X, y = make_moons()
    total = loss_fn(model, Value, X, y)
    total.backward()
    tensors = []
    for layer in model.layers:
        W = torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        tensors.append((W, b))
    h = torch.tensor(X, dtype=torch.float64)
    for i, (W, b) in enumerate(tensors):
        h = h @ W.T + b
        if i < len(tensors) - 1:
            h = torch.relu(h)
    scores = h[:, 0]
    yt = torch.tensor(y, dtype=torch.float64)
    params = [t for pair in tensors for t in pair]
    loss_t = torch.relu(1 - yt * scores).mean() + 1e-4 * sum((p * p).sum() for p in params)
    loss_t.backward()
    assert abs(total.data - loss_t.item()) < 1e-12
    torch_grads = []
    for W, b in tensors:  # parameters() order: per neuron, its weights then its bias
        for j in range(W.shape[0]):
            torch_grads += W.grad[j].tolist() + [b.grad[j].item()]
    assert np.max(np.abs(np.subtract([p.grad for p in model.parameters()], torch_grads))) < 1e-12


def test_demo_finite_differences():
    cf, w = _demo_compiled()
    _, g = cf(w)
    h = 1e-6
    for j in np.linspace(0, len(w) - 1, 12).astype(int):
        e = np.zeros_like(w)
        e[j] = h
        num = (cf(w + e)[0] - cf(w - e)[0]) / (2 * h)
        assert abs(num - g[j]) < 1e-6 * max(1.0, abs(g[j]))


# --- compiled functions: the guard, captured Values, bad input ---------------------------------------


def test_compiled_reads_captured_values_at_each_call():
    w = Value(2.0)
    z = w * 3  # made outside fn: a constant node of the program, read from its handle
    cf = S.compile(lambda x: x * w + z)
    assert cf(4.0)[0] == 14.0
    w.data = 5.0  # eager semantics: z keeps its data
    out, g = cf(4.0)
    x = Value(4.0)
    eager = x * w + z
    eager.backward()
    assert out == eager.data == 26.0
    assert g[0] == x.grad == 5.0
    z.data = -1.0
    assert cf(4.0)[0] == 19.0


def test_compiled_bad_input():
    cf = S.compile(lambda x, y: x * y)
    assert cf(2.0, 3.0)[0] == 6.0
    assert cf(np.array([2.0, 4.0], np.float32))[0] == 8.0  # converted, not a new kernel specialisation
    assert cf(np.arange(4.0)[::2] + 2)[0] == 8.0  # strided view
    with pytest.raises(TypeError, match="expects 2 inputs, got 3"):
        cf(1.0, 2.0, 3.0)
    with pytest.raises(TypeError, match="1-D"):
        cf(np.ones((2, 2)))
    with pytest.raises(TypeError, match="numbers"):
        cf("a", 1.0)
    with pytest.raises(TypeError, match="single Value"):
        S.compile(lambda x: 3.0)(1.0)


def test_compile_guard_refuses_every_call():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2 if x.data > 0 else x

    cf = S.compile(f)
    for _ in range(2):  # every call tries to trace again and refuses again: never a half-made program
        with pytest.raises(TypeError, match="cannot branch"):
            cf(1.0)
    assert cf.program is None and len(calls) == 2


# --- eager: bad input, edge cases of the fused Neuron, tape bookkeeping -----------------------------


def test_eager_bad_input():
    with pytest.raises(ValueError):
        Value("abc")
    with pytest.raises(TypeError):
        Value(None)
    with pytest.raises(TypeError):
        Value([1.0, 2.0])
    with pytest.raises(AssertionError, match="int/float powers"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError):
        Value(-1.0).log()
    with pytest.raises(ZeroDivisionError):
        Value(0.0) ** -1
    with pytest.raises(ValueError, match="complex"):
        Value(-8.0) ** (1 / 3)
    v = Value(2.0)
    v.backward()  # the tape is still usable after the errors
    assert v.grad == 1.0


def test_neuron_edge_cases_match_micrograd():
    for nin, nonlin, x in ((0, True, []), (0, False, []), (3, False, [0.5, -1.0, 2.0]), (2, True, (1.5, -0.5))):
        random.seed(11)
        nm = micrograd_nn.Neuron(nin, nonlin=nonlin)
        random.seed(11)
        ns = snn.Neuron(nin, nonlin=nonlin)
        om, os_ = nm(list(x)), ns(x)
        assert om.data == os_.data
        om.backward()
        os_.backward()
        assert [p.grad for p in nm.parameters()] == [p.grad for p in ns.parameters()]
    # non-Value weights: the generic path
    ns = snn.Neuron(2)
    ns.w = [0.5, Value(2.0)]
    assert ns([Value(1.0), 3.0]).data == 6.5


def test_tape_keeps_no_handle_alive():
    v = Value(1.0)
    assert sys.getrefcount(v) == 2  # the local name and getrefcount's argument
    assert (v * 2)._t is S.engine._T


def test_compaction_keeps_values_hidden_by_gc_freeze(small_tape):
    T = small_tape(capacity=64, limit=500)
    x = Value(1.5)
    y = x * 1.0 + 0.0
    ix, iy = x._i, y._i
    gc.freeze()  # x and y become invisible to gc.get_objects(): compaction must neither drop nor move them
    try:
        z = y
        for _ in range(1000):
            z = z * 1.0 + 0.0
        assert T.compactions > 0 and T.floor > 0
        assert (x._i, y._i) == (ix, iy)
        z.backward()
        assert z.data == 1.5 and x.grad == 1.0
    finally:
        gc.unfreeze()
    x2 = z2 = Value(2.5)
    for _ in range(1000):
        z2 = z2 * 1.0 + 0.0
    assert T.floor == 0 or gc.get_freeze_count()  # everything visible again (unless Python started frozen)
    z2.backward()
    assert z2.data == 2.5 and x2.grad == 1.0
    assert x.data == 1.5 and x.grad == 1.0 and y.data == 1.5


def test_kernels_live_with_their_helpers():
    # Numba's cache is keyed on a kernel's own source file: a cached kernel in another file keeps
    # a stale inlined copy of a changed helper (seen with the old compile._replay). Keep them together.
    from nbgrad.scalar import _tape

    for kernel in (_tape.replay_kernel, _tape._backward_kernel):
        assert kernel.py_func.__module__ == _tape.local_grads.py_func.__module__ == _tape.op_forward.py_func.__module__


def test_scalar_local_derivatives_agree_with_the_tensor_table():
    """The scalar engine's Numba kernel (its own local_grads) and the tensor engine's derivatives
    table give the same local derivative for every op they share, and the scalar nodes show the
    table's formula."""
    import nbgrad as ng
    from nbgrad.scalar import _tape
    from nbgrad.scalar.steps import ScalarBackwardPass

    rng = np.random.default_rng(5)
    ops = {
        _tape.ADD: (lambda a, b: a + b, 2), _tape.MUL: (lambda a, b: a * b, 2), _tape.POW: (lambda a: a ** 3.0, 1),
        _tape.RELU: (lambda a: a.relu(), 1), _tape.TANH: (lambda a: a.tanh(), 1), _tape.EXP: (lambda a: a.exp(), 1),
        _tape.LOG: (lambda a: a.log(), 1), _tape.SIGMOID: (lambda a: a.sigmoid(), 1),
    }
    assert set(ops) == set(_tape.BACKWARD_NAMES) - {_tape.LEAF}
    for op, (f, n) in ops.items():
        for _ in range(5):
            xs = rng.uniform(0.2, 2.0, n) * rng.choice([1, -1] if op != _tape.LOG else [1], n)
            vs = [Value(float(x)) for x in xs]
            out = f(*vs)
            assert ScalarBackwardPass(out).nodes[0].formula == ng.ops.derivatives()[_tape.BACKWARD_NAMES[op]]
            out.backward()
            ts = [ng.tensor(float(x), dtype=ng.float64, requires_grad=True) for x in xs]
            y = f(*ts)
            grads = ng.autograd.grad(y, ts, create_graph=True)
            for v, g in zip(vs, grads):
                np.testing.assert_allclose(v.grad, g.item(), rtol=1e-12)


def test_scalar_pass_node_of_and_constants():
    from nbgrad.scalar import Value
    from nbgrad.scalar.steps import ScalarBackwardPass

    a = Value(2.0)
    b = a * 3 + a  # the 3 is a constant: a leaf no variable holds
    bp = ScalarBackwardPass(b)
    assert bp.node_of(b) is bp.nodes[0] and bp.node_of(a).variable is a
    leaves = [n for n in bp.nodes if n.name == "AccumulateGrad"]
    assert sorted(n.constant for n in leaves) == [False, True]
    assert bp.node_of(Value(1.0)) is None  # not in the graph
