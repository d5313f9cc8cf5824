"""Autograd behaviour of nbgrad against PyTorch's (the seed tutorial and beyond)."""

import gc
import weakref

import numpy as np
import pytest

import nbgrad as ng
from nbgrad import nn


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is the oracle")


# ------------------------------------------------------------------ seed tutorial
def _seed_arrays():
    rng = np.random.default_rng(0)
    return rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)


def test_seed_tutorial_values_match_torch():
    torch = _torch()
    wa, ba = _seed_arrays()
    x, y = ng.ones(5), ng.zeros(3)
    w = ng.tensor(wa, requires_grad=True)
    b = ng.tensor(ba, requires_grad=True)
    z = ng.matmul(x, w) + b
    loss = nn.functional.binary_cross_entropy_with_logits(z, y)
    assert z.grad_fn.name == "AddBackward0"
    assert loss.grad_fn.name == "BinaryCrossEntropyWithLogitsBackward0"
    assert repr(loss.grad_fn).startswith("<BinaryCrossEntropyWithLogitsBackward0 object at 0x")
    loss.backward()

    tw = torch.tensor(wa, requires_grad=True)
    tb = torch.tensor(ba, requires_grad=True)
    tz = torch.matmul(torch.ones(5), tw) + tb
    tl = torch.nn.functional.binary_cross_entropy_with_logits(tz, torch.zeros(3))
    tl.backward()
    assert loss.item() == pytest.approx(tl.item(), rel=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert w.grad.dtype == ng.float32
    assert z.grad_fn.next_functions[1][0].name == "AccumulateGrad"
    assert z.grad_fn.next_functions[1][0].variable is b


def test_seed_tutorial_vjp_accumulates_and_zeroes():
    inp = ng.eye(5, requires_grad=True)
    out = (inp + 1).pow(2)
    expected = np.full((5, 5), 2.0) + 2 * np.eye(5)
    out.backward(ng.ones_like(inp), retain_graph=True)
    np.testing.assert_array_equal(inp.grad.numpy(), expected)
    out.backward(ng.ones_like(inp), retain_graph=True)
    np.testing.assert_array_equal(inp.grad.numpy(), 2 * expected)
    inp.grad.zero_()
    out.backward(ng.ones_like(inp), retain_graph=True)
    np.testing.assert_array_equal(inp.grad.numpy(), expected)


def test_seed_tutorial_example_runs():
    import pathlib
    import runpy

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "seed_tutorial.py"
    runpy.run_path(str(path), run_name="__main__")


def test_training_tutorial_example_runs(capsys, monkeypatch):
    import pathlib
    import runpy
    import sys

    monkeypatch.setattr(sys, "argv", ["training_tutorial.py"])
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "training_tutorial.py"
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    losses = [float(line.split()[1]) for line in out.splitlines() if line.startswith("loss:")]
    assert len(losses) == 8 and all(abs(v - np.log(10)) < 0.1 for v in losses) and out.rstrip().endswith("Done!")


# ------------------------------------------------------------------ graph structure
def test_grad_fn_names_and_next_functions():
    a = ng.randn(2, 3, requires_grad=True)
    b = ng.randn(3, 4, requires_grad=True)
    c = a @ b
    assert c.grad_fn.name == "MmBackward0"
    (n0, i0), (n1, i1) = c.grad_fn.next_functions
    assert n0.name == n1.name == "AccumulateGrad"
    assert n0.variable is a and n1.variable is b and i0 == i1 == 0
    s = c.sum()
    assert s.grad_fn.name == "SumBackward0"
    assert s.grad_fn.next_functions[0][0] is c.grad_fn
    assert (a * 2).grad_fn.name == "MulBackward0"
    assert a.exp().grad_fn.name == "ExpBackward0"
    assert a.is_leaf and not c.is_leaf
    # a tensor that does not require grad contributes a None edge
    d = ng.randn(2, 3) + a
    assert d.grad_fn.next_functions[0][0] is None


def test_grad_fn_names_match_torch():
    torch = _torch()
    ta = torch.randn(2, 3, requires_grad=True)
    a = ng.tensor(ta.detach().numpy(), requires_grad=True)
    for f in (lambda t: t + 1, lambda t: t * t, lambda t: t.exp(), lambda t: t.sum(), lambda t: t.mean(),
              lambda t: t - 1, lambda t: t / 2, lambda t: t.pow(2)):
        assert f(a).grad_fn.name == type(f(ta).grad_fn).__name__


def test_retain_grad():
    x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    z = (y * y).sum()
    z.backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * y.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.detach().numpy())


def test_nonleaf_grad_warns_and_is_none():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None


def test_register_hook_on_leaf_modifies_grad():
    x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0, 30.0])


def test_register_hook_on_nonleaf_modifies_grad():
    torch = _torch()
    x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * 2)
    y.sum().backward()
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ty = tx * tx
    ty.register_hook(lambda g: g * 2)
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_register_hook_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ng.ones(2).register_hook(lambda g: g)


def test_autograd_grad_leaves_dot_grad_untouched():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    w = ng.tensor([3.0, 4.0], requires_grad=True)
    out = (x * w).sum()
    gx, gw = ng.autograd.grad(out, (x, w))
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_unused_input():
    x = ng.tensor([1.0], requires_grad=True)
    u = ng.tensor([1.0], requires_grad=True)
    out = (x * 2).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        ng.autograd.grad(out, (x, u), retain_graph=True)
    gx, gu = ng.autograd.grad(out, (x, u), allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_diamond_graph_accumulates():
    torch = _torch()
    xa = np.array([0.5, -1.0, 2.0], dtype=np.float64)
    x = ng.tensor(xa, requires_grad=True)
    a = x.exp()
    b = x * x
    (a * b + x).sum().backward()
    tx = torch.tensor(xa, requires_grad=True)
    (tx.exp() * (tx * tx) + tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_same_tensor_twice_in_one_op():
    x = ng.tensor([3.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.item() == 6.0


# ------------------------------------------------------------------ grad mode
def test_no_grad_context_and_decorator():
    x = ng.ones(2, requires_grad=True)
    assert ng.is_grad_enabled()
    with ng.no_grad():
        assert not ng.is_grad_enabled()
        y = x * 2
        with ng.enable_grad():
            assert ng.is_grad_enabled()
            z = x * 2
    assert ng.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @ng.no_grad()
    def f(t):
        assert not ng.is_grad_enabled()
        return t * 2

    assert not f(x).requires_grad
    assert ng.is_grad_enabled()

    @ng.enable_grad()
    def g(t):
        return t * 2

    with ng.no_grad():
        assert g(x).requires_grad
        assert not ng.is_grad_enabled()


def test_set_grad_enabled():
    x = ng.ones(2, requires_grad=True)
    with ng.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ng.is_grad_enabled()
    with ng.set_grad_enabled(True):
        assert (x * 2).requires_grad
    ng.set_grad_enabled(False)
    try:
        assert not ng.is_grad_enabled()
    finally:
        ng.set_grad_enabled(True)
    assert ng.is_grad_enabled()

    @ng.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert ng.is_grad_enabled()
    assert not f(x).requires_grad
    assert ng.is_grad_enabled()


def test_no_grad_restores_on_exception():
    with pytest.raises(ValueError):
        with ng.no_grad():
            raise ValueError
    assert ng.is_grad_enabled()


def test_detach():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])
    # shares storage, like torch
    with ng.no_grad():
        d.add_(1)
    np.testing.assert_array_equal(y.detach().numpy(), [3.0, 5.0])


# ------------------------------------------------------------------ errors
def test_second_backward_without_retain_graph():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_nonscalar_backward_needs_gradient():
    x = ng.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ng.ones(1).sum().backward()


def test_requires_grad_on_nonleaf():
    x = ng.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad = False


def test_requires_grad_on_int_tensor():
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        ng.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        ng.tensor([1, 2], requires_grad=True)


def test_inplace_on_saved_tensor():
    torch = _torch()
    x = ng.ones(3, requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError) as ei:
        y.sum().backward()
    msg = str(ei.value)
    assert "modified by an inplace operation" in msg
    assert "ExpBackward0" in msg
    assert "is at version 1; expected version 0 instead" in msg
    tx = torch.ones(3, requires_grad=True)
    ty = tx.exp()
    ty.add_(1)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0 instead"):
        ty.sum().backward()


def test_inplace_on_leaf_requiring_grad():
    x = ng.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.mul_(2)
    with ng.no_grad():
        x.add_(1)  # allowed under no_grad
    np.testing.assert_array_equal(x.detach().numpy(), [2.0, 2.0, 2.0])


def test_inplace_on_nonleaf_is_differentiable():
    torch = _torch()
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(3)
    y.sum().backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = tx * 2
    ty.mul_(3)
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


# ------------------------------------------------------------------ the step engine
def _mlp_graph():
    a = ng.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = ng.tensor(np.arange(12, dtype=np.float32).reshape(3, 4) / 10, requires_grad=True)
    loss = (a @ b).sum()
    return a, b, loss


def test_backward_pass_steps():
    a, b, loss = _mlp_graph()
    bp = ng.autograd.backward_pass(loss, record_values=True)
    steps = list(bp)
    assert bp.finished
    names = [s.node.name for s in steps]
    assert names[:2] == ["SumBackward0", "MmBackward0"]
    assert sorted(names[2:]) == ["AccumulateGrad", "AccumulateGrad"]
    for i, s in enumerate(steps):
        assert isinstance(s, ng.autograd.Step)
        assert s.index == i
        assert len(s.grads_in) == 1
        assert len(s.grads_out) == len(s.node.next_functions)
    assert steps[0].grads_in[0].shape == ()
    assert [g.shape for g in steps[1].grads_out] == [(2, 3), (3, 4)]
    assert steps[0].accumulations == [] and steps[1].accumulations == []
    accs = {id(s.accumulations[0].tensor): s.accumulations[0] for s in steps[2:]}
    for t in (a, b):
        acc = accs[id(t)]
        assert acc.before is None
        np.testing.assert_array_equal(acc.after, t.grad.numpy())
        np.testing.assert_array_equal(acc.delta, t.grad.numpy())

    # a second pass records the before/after of accumulation
    a2, b2, loss2 = _mlp_graph()
    loss2.backward(retain_graph=True)
    first = a2.grad.numpy().copy()
    steps2 = list(ng.autograd.backward_pass(loss2, record_values=True))
    acc = [s.accumulations[0] for s in steps2 if s.accumulations and s.accumulations[0].tensor is a2][0]
    np.testing.assert_array_equal(acc.before, first)
    np.testing.assert_array_equal(acc.after, 2 * first)


def test_backward_pass_same_as_backward():
    a, b, loss = _mlp_graph()
    for _ in ng.autograd.backward_pass(loss):
        pass
    a2, b2, loss2 = _mlp_graph()
    loss2.backward()
    np.testing.assert_array_equal(a.grad.numpy(), a2.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), b2.grad.numpy())


def test_backward_pass_step_by_step_and_release():
    a, b, loss = _mlp_graph()
    bp = ng.autograd.backward_pass(loss)
    assert bp.ready() == [loss.grad_fn]
    s = bp.step()
    assert s.node is loss.grad_fn and bp.is_done(loss.grad_fn)
    bp.run()
    assert bp.finished
    with pytest.raises(StopIteration):
        bp.step()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_diamond_in_step_engine_runs_each_node_once():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = (y * y + y).sum()
    names = [s.node.name for s in ng.autograd.backward_pass(z)]
    assert names.count("MulBackward0") == 2  # y*y and x*2, each once
    assert names.count("AccumulateGrad") == 1
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.detach().numpy() + 2)


# ------------------------------------------------------------------ memory
def test_unreferenced_graph_is_freed_without_gc():
    gc.disable()
    try:
        x = ng.randn(200, 200, requires_grad=True)
        h = (x.exp() * 2).sum()
        node_ref = weakref.ref(h.grad_fn)
        inner_ref = weakref.ref(h.grad_fn.next_functions[0][0])
        del h
        assert node_ref() is None
        assert inner_ref() is None
        # after backward too
        h = (x.exp() * 2).sum()
        node_ref = weakref.ref(h.grad_fn)
        h.backward()
        del h
        assert node_ref() is None
    finally:
        gc.enable()


# ------------------------------------------------------------------ dtypes / repr / creation
def test_dtypes():
    assert ng.tensor([1.0]).dtype == ng.float32
    assert ng.tensor([1]).dtype == ng.int64
    assert ng.tensor([True]).dtype == ng.bool
    assert ng.tensor(np.zeros(2)).dtype == ng.float64
    assert ng.tensor(np.zeros(2, dtype=np.float32)).dtype == ng.float32
    t = ng.tensor([1.5, 2.5])
    assert t.double().dtype == ng.float64
    assert t.double().float().dtype == ng.float32
    assert t.long().dtype == ng.int64
    assert t.long().tolist() == [1, 2]
    assert t.to(ng.float64).dtype == ng.float64
    assert t.to(dtype=ng.float64).dtype == ng.float64
    assert t.to("cpu") is t
    assert t.to(ng.tensor([1])).dtype == ng.int64
    assert t.is_floating_point() and not t.long().is_floating_point()


def test_dtype_conversion_is_differentiable():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert x.grad.dtype == ng.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_repr():
    r = repr(ng.tensor([1.0, 2.0], requires_grad=True))
    assert r.startswith("tensor([1") and "requires_grad=True" in r
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    r = repr(x + 1)
    assert "grad_fn=<AddBackward0>" in r and "requires_grad" not in r
    assert "dtype=nbgrad.float64" in repr(ng.tensor([1.0], dtype=ng.float64)) or "float64" in repr(
        ng.tensor([1.0], dtype=ng.float64))
    assert "float" not in repr(ng.tensor([1.0]))
    assert repr(ng.tensor([1, 2])) == "tensor([1, 2])"


def test_creation_functions():
    assert ng.ones(2, 3).shape == (2, 3) and ng.ones(2, 3).numpy().sum() == 6
    assert ng.ones((2, 3)).shape == (2, 3)
    assert ng.zeros(4).numpy().sum() == 0 and ng.zeros(4).dtype == ng.float32
    f = ng.full((2, 2), 7.0)
    assert f.shape == (2, 2) and (f.numpy() == 7).all()
    assert ng.full((2,), 3).dtype == ng.int64
    assert ng.empty(3, 2).shape == (3, 2)
    r = ng.rand(1000)
    assert r.dtype == ng.float32 and 0 <= r.numpy().min() and r.numpy().max() < 1
    n = ng.randn(2000, dtype=ng.float64)
    assert n.dtype == ng.float64 and abs(n.numpy().mean()) < 0.15
    ri = ng.randint(0, 5, (100,))
    assert ri.dtype == ng.int64 and ri.numpy().min() >= 0 and ri.numpy().max() < 5
    np.testing.assert_array_equal(ng.eye(3).numpy(), np.eye(3))
    assert ng.eye(2, 3).shape == (2, 3)
    assert ng.arange(5).dtype == ng.int64 and ng.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert ng.arange(0.0, 1.0, 0.25).dtype == ng.float32
    np.testing.assert_allclose(ng.arange(1, 10, 3).numpy(), [1, 4, 7])
    np.testing.assert_allclose(ng.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1.0])
    x = ng.randn(2, 3, dtype=ng.float64)
    for like in (ng.ones_like, ng.zeros_like, ng.empty_like, ng.rand_like, ng.randn_like):
        y = like(x)
        assert y.shape == (2, 3) and y.dtype == ng.float64 and not y.requires_grad
    assert (ng.full_like(x, 2.0).numpy() == 2).all()
    assert ng.ones(2, requires_grad=True).requires_grad
    assert ng.zeros_like(x, requires_grad=True).requires_grad


def test_manual_seed_determinism():
    ng.manual_seed(123)
    a = (ng.randn(5).numpy(), ng.rand(3).numpy(), ng.randint(0, 10, (4,)).numpy())
    ng.manual_seed(123)
    b = (ng.randn(5).numpy(), ng.rand(3).numpy(), ng.randint(0, 10, (4,)).numpy())
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    ng.manual_seed(124)
    assert not np.array_equal(ng.randn(5).numpy(), a[0])
    ng.manual_seed(0)
    l1 = nn.Linear(3, 2)
    ng.manual_seed(0)
    l2 = nn.Linear(3, 2)
    np.testing.assert_array_equal(l1.weight.detach().numpy(), l2.weight.detach().numpy())


# ------------------------------------------------------------------ fixes found while porting
def test_autograd_grad_runs_leaf_hooks():
    torch = _torch()
    x = ng.ones(3, requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (gx,) = ng.autograd.grad((x * 3).sum(), x)
    tx = torch.ones(3, requires_grad=True)
    tx.register_hook(lambda g: g * 10)
    (tgx,) = torch.autograd.grad((tx * 3).sum(), tx)
    np.testing.assert_allclose(gx.numpy(), tgx.numpy())
    assert x.grad is None


@pytest.mark.parametrize("how", ["setitem", "fill_", "zero_", "copy_"])
def test_overwriting_nonleaf_blocks_gradient(how):
    torch = _torch()

    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        if how == "setitem":
            y[0] = 0.0
        elif how == "fill_":
            y.fill_(5.0)
        elif how == "zero_":
            y.zero_()
        else:
            y.copy_(lib.tensor([7.0, 8.0, 9.0]))
        (y * y).sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    for a, b in zip(run(ng), run(torch)):
        np.testing.assert_allclose(a, b)


def test_data_is_not_version_tracked():
    x = ng.ones(3, requires_grad=True)
    y = x.exp()
    y.data.add_(1)  # torch: not seen by autograd
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, np.e + 1), rtol=1e-6)


def test_no_grad_bare_decorator():
    @ng.no_grad
    def f(t):
        return t * 2

    x = ng.ones(2, requires_grad=True)
    assert not f(x).requires_grad
    assert f.__name__ == "f"

    @ng.enable_grad
    def g(t):
        return t * 2

    with ng.no_grad():
        assert g(x).requires_grad
    assert ng.is_grad_enabled()


def test_register_hook_handle_remove():
    x = ng.ones(2, requires_grad=True)
    h = x.register_hook(lambda g: g * 10)
    y = x * 2
    hy = y.register_hook(lambda g: g * 3)
    h.remove()
    hy.remove()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


# ------------------------------------------------------------------ in-place ops on views (CopySlices)
def _inplace_view_cases(lib):
    T = lib.tensor
    a = np.arange(12.0).reshape(3, 4) / 7

    def run(body):
        x = T(a, requires_grad=True)
        y = x * 2 + 0
        body(y, x)
        (y * y).sum().backward()
        return y.detach().numpy(), x.grad.numpy(), y.grad_fn

    return [
        run(lambda y, x: y[1].mul_(x[0] * 3)),
        run(lambda y, x: y.t()[1:3].add_(x[:, 1:3].t())),
        run(lambda y, x: y[:, 2].zero_()),
        run(lambda y, x: y[0].__setitem__(slice(1, 3), 5.0)),
        run(lambda y, x: y.__setitem__((slice(None), 1), 0.5)),
        run(lambda y, x: y.unsqueeze(0)[0, 2].div_(x[2] + 1)),
    ]


def test_inplace_on_views_matches_torch():
    torch = pytest.importorskip("torch")
    for (yn, gn, fn), (yt, gt, ft) in zip(_inplace_view_cases(ng), _inplace_view_cases(torch)):
        np.testing.assert_allclose(yn, yt, rtol=1e-12)
        np.testing.assert_allclose(gn, gt, rtol=1e-12)
        assert fn.name == "CopySlices" and "CopySlices" in ft.name()


def test_inplace_on_view_of_leaf_raises():
    x = ng.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0].mul_(2)
    with ng.no_grad():
        x[0].mul_(2)
    assert x.tolist() == [2.0, 1.0, 1.0]


# ------------------------------------------------------------------ anomaly mode
def test_detect_anomaly_names_op_site_operands_and_origin():
    with ng.autograd.detect_anomaly():
        x = ng.tensor([1.0, -1.0, 2.0], requires_grad=True)
        y = x.log()  # the nan is born here
        z = (y * 2).exp()
        with pytest.raises(RuntimeError) as e:
            z.sum().backward()
    msg = str(e.value)
    assert msg.startswith("Function 'ExpBackward0' returned nan values in its 0th output.")
    assert "test_autograd.py" in msg and "z = (y * 2).exp()" in msg  # the forward traceback
    assert "born in the forward pass in 'LogBackward0'" in msg and "nan=1" in msg
    assert y.grad_fn.forward_finite is False and z.grad_fn.forward_finite is False
    assert not ng.autograd.is_anomaly_enabled()


def test_set_detect_anomaly_and_finite_graphs_pass():
    ng.autograd.set_detect_anomaly(True)
    try:
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        (x.log() * 3).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [3.0, 1.5])
    finally:
        ng.autograd.set_detect_anomaly(False)
    x = ng.tensor([0.0], requires_grad=True)
    (x.sqrt()).sum().backward()  # without anomaly mode: inf flows silently, as in PyTorch
    assert np.isinf(x.grad.numpy()[0])


def test_leaf_grads_never_alias_each_other_or_the_callers_gradient():
    """A leaf may keep a fresh gradient array as its .grad (no copy); never a shared one."""
    a = ng.ones(3, requires_grad=True)
    b = ng.ones(3, requires_grad=True)
    g = ng.tensor([1.0, 2.0, 3.0])
    (a + b).backward(g)  # AddBackward0 gives the same array to both inputs
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    assert not np.shares_memory(a.grad.numpy(), g.numpy())
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 2.0, 3.0] and g.tolist() == [1.0, 2.0, 3.0]
    w = ng.ones(2, 3, requires_grad=True)
    x = ng.ones(4, 2)
    kept = []
    w.register_hook(lambda t: kept.append(t))
    (x @ w).sum().backward()
    (x @ w).sum().backward()  # accumulates into the first .grad
    assert w.grad.tolist() == [[8.0] * 3] * 2 and kept[0].tolist() == [[4.0] * 3] * 2


def test_leaves_keep_fresh_view_gradients_without_copies(monkeypatch):
    """Like PyTorch's AccumulateGrad stealing a gradient with use count 1: a weight's gradient
    that arrives as the transpose of a fresh product, or a bias's as a reshaped sum, becomes
    .grad without a copy; a view of anything someone else holds is still copied."""
    from nbgrad.backends.cpu import CpuBackend

    copies = []
    real_copy = CpuBackend.copy
    monkeypatch.setattr(CpuBackend, "copy", lambda self, x: copies.append(x.shape) or real_copy(self, x))
    lin = ng.nn.Linear(4, 3)
    x = ng.randn(5, 4)
    lin(x).relu().sum().backward()
    assert copies == []
    assert lin.weight.grad.is_contiguous() and lin.weight.grad.shape == (3, 4)
    np.testing.assert_allclose(lin.bias.grad.numpy(), ((x.numpy() @ lin.weight.detach().numpy().T
                                                        + lin.bias.detach().numpy()) > 0).sum(0))
    w = ng.ones(3, 2, requires_grad=True)
    g = ng.arange(6.0).reshape(2, 3)
    w.T.backward(g)  # the gradient is a view of the caller's g: copied
    assert copies and not np.shares_memory(w.grad.numpy(), g.numpy())
    w.grad.zero_()
    assert g.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_contiguous_and_is_contiguous_match_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(6.0).reshape(2, 3)
    for f in (lambda t: t, lambda t: t.T, lambda t: t[:, 1:]):
        x, tx = f(ng.tensor(a, requires_grad=True)), f(torch.tensor(a, requires_grad=True))
        assert x.is_contiguous() == tx.is_contiguous()
        c, tc = x.contiguous(), tx.contiguous()
        assert c.is_contiguous() and (c is x) == (tc is tx)
        assert c is x or c.grad_fn.name == tc.grad_fn.name()
        c.sum().backward()
        tc.sum().backward()
        np.testing.assert_array_equal(c.detach().numpy(), tc.detach().numpy())


def test_gradient_given_to_several_inputs_is_kept_by_one_leaf_at_most(monkeypatch):
    """AddBackward0 hands one fresh array to both inputs: one leaf may keep it (the other
    consumers only read it), never two, and values stay right after in-place edits of .grad."""
    from nbgrad.backends.cpu import CpuBackend

    copies = []
    real_copy = CpuBackend.copy
    monkeypatch.setattr(CpuBackend, "copy", lambda self, x: copies.append(x.shape) or real_copy(self, x))
    a, b, c = (ng.tensor([1.0, 2.0, 3.0], requires_grad=True) for _ in range(3))
    ((a * 1.5 + b) * 2).sum().backward()  # b keeps the array that MulBackward0 (of a) then reads
    assert copies == []
    b.grad.zero_()
    assert a.grad.tolist() == [3.0, 3.0, 3.0]
    ((a + c) * 2).sum().backward()  # two leaves get the same array: one of them copies
    assert len(copies) == 1 and not np.shares_memory(a.grad.numpy(), c.grad.numpy())
    assert a.grad.tolist() == [5.0, 5.0, 5.0] and c.grad.tolist() == [2.0, 2.0, 2.0]
    kept = []
    d = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
    e = d * 1.5
    e.register_hook(lambda t: kept.append(t))  # a consumer with a hook: nobody keeps the array
    ((e + b) * 2).sum().backward()
    b.grad.zero_()
    assert kept[0].tolist() == [2.0, 2.0, 2.0]


def test_autograd_grad_leaves_every_grad_untouched():
    torch = pytest.importorskip("torch")
    for lib in (ng, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        (g,) = lib.autograd.grad((x * w).sum(), [x])
        assert g.tolist() == [3.0, 4.0] and x.grad is None and w.grad is None


@pytest.mark.parametrize("make", [
    lambda l: l.tensor([1.0, 2.5]), lambda l: l.tensor([[1, 2], [30, 4]]), lambda l: l.tensor(3.0, requires_grad=True) * 2,
    lambda l: l.tensor([1e-5, 1e5]), lambda l: l.tensor([True, False]), lambda l: l.tensor([1.0], dtype=l.float64),
    lambda l: l.zeros(0), lambda l: l.zeros(0, 3), lambda l: l.tensor([], dtype=l.int64),
    lambda l: l.tensor([float("nan"), float("inf")]), lambda l: l.tensor([-1.5, float("nan")]),
    lambda l: l.arange(12.0).reshape(3, 4), lambda l: l.tensor([123456.0, 1.0]), lambda l: l.arange(30.0) / 7,
    lambda l: l.tensor([0.0, -0.0, 1.0]), lambda l: l.tensor(0.6931), lambda l: l.tensor([1e9, 1.0]),
    lambda l: l.tensor([[0.1234, -12.5], [3.0, 4.0]]), lambda l: l.tensor([1, 2], dtype=l.int32),
    lambda l: l.ones(2, 3, 4), lambda l: l.tensor([1.0, 2.0], requires_grad=True),
])
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(ng)).replace("nbgrad.", "torch.") == repr(make(torch))


def test_size_behaves_like_torch_size():
    torch = pytest.importorskip("torch")
    s, ts = ng.ones(2, 3, 4).shape, torch.ones(2, 3, 4).shape
    assert repr(s).replace("nbgrad", "torch") == repr(ts) and str(s).replace("nbgrad", "torch") == str(ts)
    assert s == ts == (2, 3, 4) and s[1:] == ts[1:] and type(s[1:]) is ng.Size and s[0] == 2
    assert s.numel() == ts.numel() and ng.ones(2, 3).size() == (2, 3) and ng.ones(2, 3).size(1) == 3


_ALIAS_OPS = [
    lambda L, a, b: a + b, lambda L, a, b: a * b, lambda L, a, b: a - b, lambda L, a, b: a.T.T,
    lambda L, a, b: (a.T + b.T).T, lambda L, a, b: a.reshape(-1).reshape(3, 4), lambda L, a, b: a.relu() + b,
    lambda L, a, b: a.exp() * 0.1 + b, lambda L, a, b: a.clone(), lambda L, a, b: a @ b.T @ a * 0.01,
    lambda L, a, b: a.sum(0, keepdim=True).expand(3, 4) + b, lambda L, a, b: L.cat([a[:1], b[1:]], 0),
    lambda L, a, b: a[:, [0, 1, 2, 3]] + b, lambda L, a, b: (a * 2).T.contiguous().T, lambda L, a, b: a + a,
]


def _alias_graph(L, leaves, seed):
    import random

    r = random.Random(seed)
    vals = list(leaves)
    for _ in range(6):
        vals.append(r.choice(_ALIAS_OPS)(L, r.choice(vals), r.choice(vals)))
    return sum(v.sum() * (i + 1) for i, v in enumerate(vals[len(leaves):]))


@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_random_graphs_never_alias_leaf_gradients(seed):
    """Leaves keep fresh gradient arrays without copies (views, pass-throughs, shared arrays):
    on random graphs, scaling one leaf's .grad in place never changes another's, and repeated
    and retained backward passes match torch."""
    torch = pytest.importorskip("torch")
    arrs = [np.random.default_rng(seed).standard_normal((3, 4)) for _ in range(3)]
    nl = [ng.tensor(a, requires_grad=True) for a in arrs]
    tl = [torch.tensor(a, requires_grad=True) for a in arrs]
    ln, lt = _alias_graph(ng, nl, seed), _alias_graph(torch, tl, seed)
    ln.backward(retain_graph=True)
    lt.backward(retain_graph=True)
    for k, x in enumerate(nl):
        if x.grad is not None:
            before = [y.grad.cpu().numpy().copy() for y in nl if y is not x and y.grad is not None]
            x.grad.mul_(3.0)
            tl[k].grad.mul_(3.0)
            assert all(np.array_equal(b, y.grad.cpu().numpy())
                       for b, y in zip(before, [y for y in nl if y is not x and y.grad is not None]))
    ln.backward()
    lt.backward()
    _alias_graph(ng, nl, seed).backward()
    _alias_graph(torch, tl, seed).backward()
    for x, t in zip(nl, tl):
        assert (x.grad is None) == (t.grad is None)
        if x.grad is not None:
            np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_dlpack_shares_cpu_memory_both_ways():
    torch = pytest.importorskip("torch")
    t = torch.arange(6.0).reshape(2, 3)
    x = ng.from_dlpack(t)
    x.mul_(2)  # the same memory
    assert t.tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]] and x.dtype == ng.float32
    back = torch.from_dlpack(x)
    back.add_(1)
    assert x.tolist() == [[1.0, 3.0, 5.0], [7.0, 9.0, 11.0]]
    assert x.__dlpack_device__() == t.__dlpack_device__()
    with pytest.raises(BufferError, match="require gradient"):
        torch.from_dlpack(ng.ones(2, requires_grad=True))
    assert ng.from_dlpack(np.arange(3)).tolist() == [0, 1, 2]

    class OnAnotherDevice:
        def __dlpack_device__(self):
            return (4, 0)  # kDLOpenCL

    with pytest.raises(RuntimeError, match="CPU and CUDA tensors, got DLPack device type 4"):
        ng.from_dlpack(OnAnotherDevice())


def test_copied_and_pickled_tensors_work_with_the_others():
    """deepcopy / pickle keep the one backend per device (they made a second 'cpu' that every
    op refused: "found at least two devices, cpu and cpu")."""
    import copy
    import pickle

    m = ng.nn.Linear(3, 2)
    m2 = copy.deepcopy(m)
    x = ng.ones(1, 3)
    np.testing.assert_array_equal(m2(x).detach().numpy(), m(x).detach().numpy())
    with ng.no_grad():
        m.weight.mul_(0)
    assert m2.weight.abs().sum().item() > 0  # an independent copy
    t = pickle.loads(pickle.dumps(ng.tensor([1.0, 2.0], requires_grad=True)))
    assert t.requires_grad and (t + ng.ones(2)).tolist() == [2.0, 3.0]


def test_post_accumulate_grad_hook_runs_after_each_accumulation():
    w = ng.ones(3, requires_grad=True)
    seen = []
    h = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    h.remove()
    (w * 3).sum().backward()
    assert seen == [[2.0] * 3, [5.0] * 3]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ng.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_backward_interceptor_sees_tensor_and_scalar_calls():
    from nbgrad.scalar import Value

    w = ng.ones(2, requires_grad=True)
    calls = []

    def intercept(call):
        calls.append(call.kind)
        if call.kind == "tensor":
            bp = call.make_pass()
            bp.step()
            bp.run()
        else:
            call.run()

    with ng.autograd.graph.register_backward_interceptor(intercept):
        (w * 3).sum().backward()
        v = Value(2.0)
        (v * v).backward()
    (w * 1).sum().backward()  # removed: runs directly
    assert calls == ["tensor", "scalar"]
    assert w.grad.tolist() == [4.0, 4.0] and v.grad == 4.0


def test_backward_interceptor_can_remove_itself_and_nests():
    from nbgrad.autograd import graph

    w = ng.ones(2, requires_grad=True)
    seen = []

    def outer(call):
        seen.append("outer")
        (w * 5).sum().backward()  # a backward call made by the interceptor goes to the one below
        handle.remove()  # while handling a call

    def inner(call):
        seen.append("inner")

    with graph.register_backward_interceptor(inner):
        handle = graph.register_backward_interceptor(outer)
        (w * 3).sum().backward()  # outer: not handled, so it runs as usual after outer returns
        (w * 7).sum().backward()  # outer is gone: inner is asked (and lets it run)
    assert seen == ["outer", "inner", "inner"] and not graph._INTERCEPTORS
    assert w.grad.tolist() == [15.0, 15.0]  # none was handled: all three ran as usual


def test_saved_tensor_sources_names_the_producers():
    from nbgrad.autograd.graph import saved_tensor_sources

    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = ng.log(x * 2.0)
    z = y * x
    assert saved_tensor_sources(z.grad_fn) == {"self": "LogBackward0", "other": None}
    z.sum().backward()
    assert saved_tensor_sources(z.grad_fn) == {}  # freed with the graph
