"""nn.Module API, loss modules and optimisers of nbgrad against PyTorch."""

import math
from collections import OrderedDict

import numpy as np
import pytest

import nbgrad as ng
from nbgrad import nn, optim


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is the oracle")


def _mlp(lib, dtype=None):
    kw = {} if dtype is None else {"dtype": dtype}
    return lib.nn.Sequential(lib.nn.Linear(4, 8, **kw), lib.nn.ReLU(), lib.nn.Linear(8, 3, **kw))


# ------------------------------------------------------------------ Module API
def test_module_parameters_and_names():
    m = _mlp(ng)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    params = list(m.parameters())
    assert len(params) == 4 and all(isinstance(p, nn.Parameter) for p in params)
    assert all(p.requires_grad and p.is_leaf for p in params)
    assert [type(c).__name__ for c in m.children()] == ["Linear", "ReLU", "Linear"]
    assert [type(c).__name__ for c in m.modules()] == ["Sequential", "Linear", "ReLU", "Linear"]
    assert [n for n, _ in m.named_modules()] == ["", "0", "1", "2"]
    assert len(m) == 3 and isinstance(m[0], nn.Linear)
    assert list(m[0].parameters(recurse=False))[0] is m[0].weight


def test_linear_shapes_and_init_bounds():
    lin = nn.Linear(5, 3)
    assert lin.weight.shape == (3, 5) and lin.bias.shape == (3,)
    assert lin.weight.dtype == ng.float32
    assert np.abs(lin.weight.detach().numpy()).max() <= 1 / np.sqrt(5)
    assert nn.Linear(5, 3, bias=False).bias is None
    assert nn.Linear(5, 3, dtype=ng.float64).weight.dtype == ng.float64
    out = lin(ng.randn(7, 5))
    assert out.shape == (7, 3)
    assert out.grad_fn is not None


def test_linear_matches_torch():
    torch = _torch()
    tl = torch.nn.Linear(4, 3)
    lin = nn.Linear(4, 3)
    lin.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    xa = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    x = ng.tensor(xa)
    tx = torch.tensor(xa)
    lin(x).sum().backward()
    tl(tx).sum().backward()
    np.testing.assert_allclose(lin(x).detach().numpy(), tl(tx).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lin.weight.grad.numpy(), tl.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(lin.bias.grad.numpy(), tl.bias.grad.numpy(), rtol=1e-5)


def test_train_eval():
    m = _mlp(ng)
    assert m.training and all(c.training for c in m.modules())
    assert m.eval() is m
    assert not m.training and not any(c.training for c in m.modules())
    m.train()
    assert all(c.training for c in m.modules())


def test_module_zero_grad():
    m = _mlp(ng)
    m(ng.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and (p.grad.numpy() == 0).all() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_state_dict_keys_match_torch():
    torch = _torch()
    sd = _mlp(ng).state_dict()
    tsd = _mlp(torch).state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd.keys()) == list(tsd.keys())
    for k in sd:
        assert sd[k].shape == tuple(tsd[k].shape)
        assert not sd[k].requires_grad


def test_load_state_dict_roundtrip():
    a, b = _mlp(ng), _mlp(ng)
    b.load_state_dict(a.state_dict())
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())
        assert pa is not pb
    # still parameters requiring grad, and training still works
    assert all(p.requires_grad for p in b.parameters())
    bad = OrderedDict(a.state_dict())
    bad.pop("2.bias")
    with pytest.raises(RuntimeError, match="Missing key"):
        b.load_state_dict(bad)
    bad["extra"] = ng.ones(1)
    missing, unexpected = b.load_state_dict(bad, strict=False)
    assert list(missing) == ["2.bias"] and list(unexpected) == ["extra"]
    with pytest.raises(RuntimeError, match="size mismatch"):
        b.load_state_dict({**a.state_dict(), "0.bias": ng.ones(5)})


def test_load_state_dict_from_torch():
    torch = _torch()
    tm = _mlp(torch)
    m = _mlp(ng)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    xa = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(m(ng.tensor(xa)).detach().numpy(), tm(torch.tensor(xa)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_repr():
    r = repr(_mlp(ng))
    assert r.startswith("Sequential(")
    assert "(0): Linear(in_features=4, out_features=8, bias=True)" in r
    assert "(1): ReLU()" in r
    assert "Linear(in_features=2, out_features=1, bias=False)" == repr(nn.Linear(2, 1, bias=False))
    assert repr(nn.Parameter(ng.ones(1))).startswith("Parameter containing:\ntensor(")


def test_custom_module_registers_submodules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.scale = nn.Parameter(ng.ones(1))

        def forward(self, x):
            return self.fc(x) * self.scale

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    net(ng.randn(4, 3)).sum().backward()
    assert net.scale.grad is not None


# ------------------------------------------------------------------ losses
def _loss_inputs(rng, kind):
    x = rng.standard_normal((6, 4))
    if kind == "class":
        return x, rng.integers(0, 4, 6)
    if kind == "prob":
        return 1 / (1 + np.exp(-x)), rng.random((6, 4))
    if kind == "logp":
        return x - np.log(np.exp(x).sum(1, keepdims=True)), rng.integers(0, 4, 6)
    return x, rng.random((6, 4))


@pytest.mark.parametrize("name,kind", [
    ("MSELoss", "real"), ("L1Loss", "real"), ("CrossEntropyLoss", "class"), ("NLLLoss", "logp"),
    ("BCELoss", "prob"), ("BCEWithLogitsLoss", "real"),
])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_match_torch(name, kind, reduction):
    torch = _torch()
    rng = np.random.default_rng(0)
    xa, ya = _loss_inputs(rng, kind)
    x = ng.tensor(xa, requires_grad=True)
    tx = torch.tensor(xa, requires_grad=True)
    loss = getattr(nn, name)(reduction=reduction)(x, ng.tensor(ya))
    tloss = getattr(torch.nn, name)(reduction=reduction)(tx, torch.tensor(ya))
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-10, atol=1e-12)
    gw = rng.standard_normal(tuple(tloss.shape))
    loss.backward(ng.tensor(gw))
    tloss.backward(torch.tensor(gw))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    if reduction != "none":
        assert loss.grad_fn.name == type(tloss.grad_fn).__name__ or name in ("L1Loss",)


def test_activation_modules():
    torch = _torch()
    xa = np.random.default_rng(2).standard_normal((3, 5))
    for name, kw in [("ReLU", {}), ("Tanh", {}), ("Sigmoid", {}), ("Softmax", {"dim": 1}),
                     ("LogSoftmax", {"dim": 1}), ("Identity", {}), ("Flatten", {})]:
        out = getattr(nn, name)(**kw)(ng.tensor(xa)).numpy()
        tout = getattr(torch.nn, name)(**kw)(torch.tensor(xa)).numpy()
        np.testing.assert_allclose(out, tout, rtol=1e-12, atol=1e-14, err_msg=name)


# ------------------------------------------------------------------ optimisers vs torch
def _train(lib, make_opt, sd, steps=20):
    model = _mlp(lib, lib.float64)
    if lib is ng:
        model.load_state_dict(sd)
    else:
        import torch

        model.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    rng = np.random.default_rng(0)
    X = lib.tensor(rng.standard_normal((16, 4)))
    y = lib.tensor(rng.integers(0, 3, 16))
    opt = make_opt(lib.optim, model.parameters())
    loss_fn = lib.nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    params = [p.detach().cpu().numpy() for p in model.parameters()]
    return losses, params


OPTIMIZERS = {
    "sgd": lambda o, p: o.SGD(p, lr=0.1),
    "sgd_momentum": lambda o, p: o.SGD(p, lr=0.1, momentum=0.9),
    "sgd_nesterov": lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "sgd_nesterov_wd": lambda o, p: o.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-2),
    "sgd_wd_dampening": lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=1e-2),
    "sgd_maximize": lambda o, p: o.SGD(p, lr=0.01, momentum=0.5, maximize=True),
    "sgd_wd_no_momentum": lambda o, p: o.SGD(p, lr=0.1, weight_decay=1e-2),
    "adam": lambda o, p: o.Adam(p, lr=1e-2),
    "adam_wd": lambda o, p: o.Adam(p, lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2),
    "adamw": lambda o, p: o.AdamW(p, lr=1e-2),
    "adamw_wd": lambda o, p: o.AdamW(p, lr=1e-2, weight_decay=0.1, eps=1e-6),
}


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_training_trajectory_matches_torch(opt_name):
    torch = _torch()
    torch.manual_seed(0)
    tm = _mlp(torch, torch.float64)
    sd = {k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}
    losses, params = _train(ng, OPTIMIZERS[opt_name], sd)
    tlosses, tparams = _train(torch, OPTIMIZERS[opt_name], sd)
    np.testing.assert_allclose(losses, tlosses, rtol=1e-8, atol=1e-8)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p, tp, rtol=1e-8, atol=1e-8)
    assert losses[-1] < losses[0] or opt_name == "sgd_maximize"


def test_param_groups():
    torch = _torch()
    torch.manual_seed(1)
    tm = _mlp(torch, torch.float64)
    sd = {k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}

    def make(o, params):
        params = list(params)
        return o.SGD([{"params": params[:2], "lr": 0.5}, {"params": params[2:]}], lr=0.1, momentum=0.9)

    losses, _ = _train(ng, make, sd, steps=5)
    tlosses, _ = _train(torch, make, sd, steps=5)
    np.testing.assert_allclose(losses, tlosses, rtol=1e-8, atol=1e-8)


def test_optimizer_zero_grad():
    m = _mlp(ng)
    opt = optim.SGD(m.parameters(), lr=0.1)
    m(ng.randn(2, 4)).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and (p.grad.numpy() == 0).all() for p in m.parameters())
    m(ng.randn(2, 4)).sum().backward()
    opt.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in m.parameters())
    m(ng.randn(2, 4)).sum().backward()
    opt.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_optimizer_step_skips_params_without_grad_and_keeps_leaves():
    m = _mlp(ng)
    before = [p.detach().numpy().copy() for p in m.parameters()]
    opt = optim.Adam(m.parameters())
    opt.step()
    for b, p in zip(before, m.parameters()):
        np.testing.assert_array_equal(b, p.detach().numpy())
    m(ng.randn(2, 4)).sum().backward()
    opt.step()
    assert all(p.is_leaf and p.requires_grad and p.grad_fn is None for p in m.parameters())


def test_optimizer_errors():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(_mlp(ng).parameters(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD(_mlp(ng).parameters(), lr=-1)


def test_module_delattr():
    m = _mlp(ng)
    del m[0].bias
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "2.weight", "2.bias"]
    with pytest.raises(AttributeError):
        m[0].bias


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xshape,bias", [((6, 4), True), ((6, 4), False), ((4,), True), ((2, 5, 4), True)])
def test_functional_linear_matches_torch(dtype, xshape, bias):
    """F.linear: the fused AddmmBackward0 (2-D input with a bias) and the matmul + add path
    (anything else), against torch with a non-uniform upstream gradient, every input requiring grad."""
    torch = _torch()
    rng = np.random.default_rng(3)
    xa, wa, ba = (rng.standard_normal(s).astype(dtype) for s in (xshape, (3, 4), (3,)))
    x, w = ng.tensor(xa, requires_grad=True), ng.tensor(wa, requires_grad=True)
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    b, tb = (ng.tensor(ba, requires_grad=True), torch.tensor(ba, requires_grad=True)) if bias else (None, None)
    out, tout = ng.nn.functional.linear(x, w, b), torch.nn.functional.linear(tx, tw, tb)
    if len(xshape) == 2 and bias:
        assert out.grad_fn.name == tout.grad_fn.name() == "AddmmBackward0"
    g = rng.standard_normal(tout.shape).astype(dtype)
    out.backward(ng.tensor(g))
    tout.backward(torch.tensor(g))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **tol)
    for a, ta in ((x, tx), (w, tw)) + (((b, tb),) if bias else ()):
        assert a.grad.dtype == ng.float32 if dtype == np.float32 else ng.float64
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), **tol)


def test_functional_linear_errors_match_torch():
    torch = _torch()
    for xs, ws, bs in (((6, 5), (3, 4), (3,)), ((6, 4), (3, 4), (2,))):
        a, b, c = (np.ones(s, np.float32) for s in (xs, ws, bs))
        with pytest.raises(RuntimeError) as te:
            torch.nn.functional.linear(torch.tensor(a), torch.tensor(b), torch.tensor(c))
        with pytest.raises(RuntimeError) as ne:
            ng.nn.functional.linear(ng.tensor(a), ng.tensor(b), ng.tensor(c))
        if xs[1] != ws[1]:
            assert str(ne.value) == str(te.value)
    with pytest.raises(RuntimeError, match="dtype"):
        ng.nn.functional.linear(ng.ones(2, 4), ng.ones(3, 4, dtype=ng.float64), ng.ones(3))


@pytest.mark.parametrize("tgt", [[0, 4, -3], [0, -3, 7], [-100, 2, 9]])
def test_out_of_range_targets_raise_like_torch(tgt):
    torch = _torch()
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(IndexError) as te:
        torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(tgt))
    with pytest.raises(IndexError) as ne:
        ng.nn.functional.cross_entropy(ng.tensor(x), ng.tensor(tgt))
    assert str(ne.value).startswith(str(te.value)[:-1])  # "Target 4 is out of bounds" (+ " for 4 classes.")


def test_cross_entropy_graph_matches_torch():
    """One fused forward, but PyTorch's two nodes: NllLossBackward0 over LogSoftmaxBackward0."""
    torch = _torch()
    xa = np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32)
    loss = ng.nn.functional.cross_entropy(ng.tensor(xa, requires_grad=True), ng.tensor([0, 2, 1, 2]))
    tloss = torch.nn.functional.cross_entropy(torch.tensor(xa, requires_grad=True), torch.tensor([0, 2, 1, 2]))
    names = [loss.grad_fn.name, loss.grad_fn.next_functions[0][0].name]
    tnames = [tloss.grad_fn.name(), tloss.grad_fn.next_functions[0][0].name()]
    assert names == tnames == ["NllLossBackward0", "LogSoftmaxBackward0"]
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)


def test_nn_init_matches_torch_in_distribution_and_errors():
    """Same names, formulas and errors as torch.nn.init (the random streams differ)."""
    torch = _torch()
    for name, kw in [("uniform_", dict(a=-2, b=3)), ("normal_", dict(mean=1, std=2)),
                     ("xavier_uniform_", dict(gain=2.0)), ("xavier_normal_", {}),
                     ("kaiming_uniform_", dict(a=math.sqrt(5))), ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu"))]:
        w = nn.Parameter(ng.zeros(200, 300))
        tw = torch.nn.Parameter(torch.zeros(200, 300))
        assert getattr(nn.init, name)(w, **kw) is w and w.requires_grad and w.grad_fn is None
        getattr(torch.nn.init, name)(tw, **kw)
        a, ta = w.detach().numpy(), tw.detach().numpy()
        assert abs(a.mean() - ta.mean()) < 0.05 * max(ta.std(), 1) and abs(a.std() / ta.std() - 1) < 0.05
        assert abs(a.min() - ta.min()) < 0.05 * ta.std() or name.endswith("normal_")
    for name, val in [("zeros_", 0.0), ("ones_", 1.0)]:
        w = ng.ones(3, requires_grad=True)
        assert getattr(nn.init, name)(w).tolist() == [val] * 3
    assert nn.init.constant_(ng.ones(2), 0.5).tolist() == [0.5, 0.5]
    for g in ("relu", "tanh", "linear", "sigmoid"):
        assert nn.init.calculate_gain(g) == pytest.approx(torch.nn.init.calculate_gain(g))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.2))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(ng.ones(3))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        torch.nn.init.xavier_uniform_(torch.ones(3))


def test_loss_modules_take_torch_arguments_and_sequential_slices():
    torch = _torch()
    x, y = np.array([0.2, 0.7], np.float32), np.array([0.0, 1.0], np.float32)
    w = np.array([1.0, 2.0], np.float32)
    assert nn.BCELoss(weight=ng.tensor(w))(ng.tensor(x), ng.tensor(y)).item() == pytest.approx(
        torch.nn.BCELoss(weight=torch.tensor(w))(torch.tensor(x), torch.tensor(y)).item(), rel=1e-6)
    logits, tgt = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], np.float32), np.array([1, -100])
    assert nn.CrossEntropyLoss(ignore_index=-100)(ng.tensor(logits), ng.tensor(tgt)).item() == pytest.approx(
        torch.nn.CrossEntropyLoss(ignore_index=-100)(torch.tensor(logits), torch.tensor(tgt)).item(), rel=1e-6)
    assert nn.CrossEntropyLoss(label_smoothing=0.1)(ng.tensor(logits), ng.tensor([1, 2])).item() == pytest.approx(
        torch.nn.CrossEntropyLoss(label_smoothing=0.1)(torch.tensor(logits), torch.tensor([1, 2])).item(), rel=1e-6)
    assert nn.CrossEntropyLoss(weight=ng.tensor([1.0, 2.0, 3.0]))(ng.tensor(logits), ng.tensor([1, 2])).item() == (
        pytest.approx(torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0]))(
            torch.tensor(logits), torch.tensor([1, 2])).item(), rel=1e-6))
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        ng.nn.functional.nll_loss(ng.tensor(logits), ng.tensor([1, 2]), weight=ng.ones(2))
    m = _mlp(ng)
    head = m[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is m[0]


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_sgd_momentum_on_strided_and_contiguous_parameters_matches_torch(dt):
    """A contiguous parameter takes the fused SGD kernel, a transposed one the separate kernels:
    both follow torch's update, in float32 and float64."""
    torch = _torch()
    rng = np.random.default_rng(3)
    a, b, g = rng.standard_normal((4, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 3))
    ps, tps = [], []
    for lib, out in ((ng, ps), (torch, tps)):
        dtype = getattr(lib, dt)
        x = lib.tensor(a, dtype=dtype).requires_grad_()
        y = lib.tensor(b, dtype=dtype).T.detach().requires_grad_()  # not contiguous
        opt = lib.optim.SGD([x, y], lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)
        for k in range(3):
            opt.zero_grad()
            ((x * y).sum() * 0 + (x * lib.tensor(g, dtype=dtype) * (k + 1)).sum() + (y * y).sum()).backward()
            opt.step()
        out += [x.detach().numpy(), y.detach().numpy()]
    assert not ps[1].flags.c_contiguous
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p, tp, rtol=1e-6 if dt == "float32" else 1e-12)


@pytest.mark.parametrize("momentum,nesterov,first", [(0.0, False, False), (0.9, False, True), (0.9, True, False)])
def test_parallel_and_serial_sgd_kernels_agree(momentum, nesterov, first):
    """The CPU backend picks the parallel SGD kernel only from 1M elements: both kernels, called
    directly on the same small arrays, give the same parameter and momentum buffer."""
    from nbgrad.backends.cpu.kernels import optim as cpu_optim

    rng = np.random.default_rng(5)
    x0, d, b0 = rng.standard_normal(37), rng.standard_normal(37), rng.standard_normal(37)
    scal = cpu_optim.sgd_scalars(np.dtype(np.float64), 0.1, momentum, 0.1, 1e-2)
    out = []
    for kernel in (cpu_optim.sgd_step, cpu_optim.sgd_step_serial):
        x, b = x0.copy(), b0.copy()
        kernel(x, d, b, *scal, False, nesterov, first)
        out.append((x, b))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
    assert not np.array_equal(out[0][0], x0)
    assert np.array_equal(out[0][1], b0) == (momentum == 0)  # the buffer is written only with momentum
