"""Optimizers (RMSprop, Adagrad, Adamax, NAdam and the fused ones), parameter groups, optimizer
state dicts and the learning-rate schedulers against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
W0, B0 = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
X = RNG.standard_normal((5, 3))


def _params(lib, dtype=np.float64):
    if lib is ng:
        return [ng.tensor(W0.astype(dtype), requires_grad=True), ng.tensor(B0.astype(dtype), requires_grad=True)]
    return [torch.tensor(W0.astype(dtype), requires_grad=True), torch.tensor(B0.astype(dtype), requires_grad=True)]


def _loss(lib, ps, step):
    x = lib.tensor(X.astype(np.float64 if ps[0].dtype == lib.float64 else np.float32)) * (1 + 0.1 * step)
    h = lib.matmul(x, ps[0]) + ps[1]
    return (h.tanh() * h).sum() + (ps[1] * ps[1] * ps[1]).sum() * 0.1


def _run(lib, make, steps=8, params=None, opt=None, start=0):
    ps = params if params is not None else _params(lib)
    opt = opt if opt is not None else make(lib.optim, ps)
    for s in range(start, start + steps):
        opt.zero_grad()
        _loss(lib, ps, s).backward()
        opt.step()
    return ps, opt


CONFIGS = {
    "rmsprop": lambda o, p: o.RMSprop(p, lr=0.01),
    "rmsprop_all": lambda o, p: o.RMSprop(p, lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.8,
                                          centered=True),
    "rmsprop_max": lambda o, p: o.RMSprop(p, lr=0.01, momentum=0.5, maximize=True),
    "adagrad": lambda o, p: o.Adagrad(p, lr=0.1),
    "adagrad_all": lambda o, p: o.Adagrad(p, lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3,
                                          eps=1e-6),
    "adamax": lambda o, p: o.Adamax(p, lr=0.05),
    "adamax_all": lambda o, p: o.Adamax(p, lr=0.05, betas=(0.7, 0.9), weight_decay=0.1, eps=1e-4, maximize=True),
    "nadam": lambda o, p: o.NAdam(p, lr=0.05),
    "nadam_wd": lambda o, p: o.NAdam(p, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01),
    "nadam_dwd": lambda o, p: o.NAdam(p, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
    "sgd": lambda o, p: o.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda o, p: o.Adam(p, lr=0.05, weight_decay=0.01),
    "adamw": lambda o, p: o.AdamW(p, lr=0.05),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_optimizer_matches_torch_float64(name):
    ps, _ = _run(ng, CONFIGS[name])
    tps, _ = _run(torch, CONFIGS[name])
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", ["rmsprop_all", "adagrad_all", "adamax", "nadam"])
def test_optimizer_matches_torch_float32(name):
    ps, _ = _run(ng, CONFIGS[name], params=_params(ng, np.float32))
    tps, _ = _run(torch, CONFIGS[name], params=_params(torch, np.float32))
    for p, tp in zip(ps, tps):
        assert p.dtype == ng.float32
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["rmsprop_all", "adagrad_all", "adamax_all", "nadam_wd", "sgd", "adam"])
def test_param_groups_with_own_options(name):
    def make(o, p):
        opt = CONFIGS[name](o, [{"params": [p[0]], "lr": 0.03}])
        opt.add_param_group({"params": [p[1]], "weight_decay": 0.2})
        return opt

    ps, opt = _run(ng, make)
    tps, topt = _run(torch, make)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert [g["weight_decay"] for g in opt.param_groups] == [g["weight_decay"] for g in topt.param_groups]
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_state_dict_layout_and_resume(name):
    make = CONFIGS[name]
    ps, opt = _run(ng, make, steps=3)
    tps, topt = _run(torch, make, steps=3)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd["state"]) == list(tsd["state"])
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for i, st in sd["state"].items():
        assert set(st) == set(tsd["state"][i]), (st.keys(), tsd["state"][i].keys())
        for k, v in st.items():
            tv = tsd["state"][i][k]
            got = v.numpy() if isinstance(v, ng.Tensor) else np.asarray(v)
            np.testing.assert_allclose(got, tv.detach().numpy(), rtol=1e-6 if k == "mu_product" else 1e-11,
                                       atol=1e-12, err_msg=k)
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        for k, v in g.items():
            if k in tg and k not in ("foreach", "differentiable", "fused", "capturable"):
                assert v == tg[k], k
    # resume: a fresh optimizer over copies of the parameters, loaded from the state dict
    ps2 = [ng.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    opt2 = make(ng.optim, ps2)
    opt2.load_state_dict(sd)
    _run(ng, make, steps=4, params=ps2, opt=opt2, start=3)
    _run(ng, make, steps=4, params=ps, opt=opt, start=3)
    _run(torch, make, steps=4, params=tps, opt=topt, start=3)
    for p, p2, tp in zip(ps, ps2, tps):
        np.testing.assert_array_equal(p.detach().numpy(), p2.detach().numpy())
        np.testing.assert_allclose(p2.detach().numpy(), tp.detach().numpy(), rtol=1e-11, atol=1e-12)


def test_load_torch_optimizer_state_dict():
    tps, topt = _run(torch, CONFIGS["adam"], steps=3)
    ps = [ng.tensor(t.detach().numpy().copy(), requires_grad=True) for t in tps]
    opt = CONFIGS["adam"](ng.optim, ps)
    opt.load_state_dict(topt.state_dict())
    _run(ng, CONFIGS["adam"], steps=3, params=ps, opt=opt, start=3)
    _run(torch, CONFIGS["adam"], steps=3, params=tps, opt=topt, start=3)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-11, atol=1e-12)


def test_load_state_dict_errors_and_state_access():
    ps, opt = _run(ng, CONFIGS["adam"], steps=1)
    assert opt.state[ps[0]]["step"] == 1 and opt.state[id(ps[0])] is opt.state[ps[0]]
    other = ng.optim.Adam([ps[0]])
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        other.load_state_dict(opt.state_dict())
    two = ng.optim.Adam([{"params": [ps[0]]}, {"params": [ps[1]]}])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        two.load_state_dict(opt.state_dict())


def test_param_group_errors():
    p = ng.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        ng.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        ng.optim.SGD([p, 3.0], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        ng.optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors"):
        ng.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        ng.optim.RMSprop([])
    tp = torch.zeros(2, requires_grad=True)
    for make, msg in [(lambda o, q: o.RMSprop(q, alpha=-1), "Invalid alpha value: -1"),
                      (lambda o, q: o.RMSprop(q, momentum=-1), "Invalid momentum value: -1"),
                      (lambda o, q: o.Adagrad(q, lr_decay=-1), "Invalid lr_decay value: -1"),
                      (lambda o, q: o.Adagrad(q, initial_accumulator_value=-1),
                       "Invalid initial_accumulator_value value: -1"),
                      (lambda o, q: o.Adamax(q, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
                      (lambda o, q: o.NAdam(q, momentum_decay=-1), "Invalid momentum_decay value: -1"),
                      (lambda o, q: o.NAdam(q, eps=-1), "Invalid epsilon value: -1"),
                      (lambda o, q: o.Adam(q, lr=-1), "Invalid learning rate: -1")]:
        for o, q in ((ng.optim, [p]), (torch.optim, [tp])):
            with pytest.raises(ValueError, match=msg.replace("(", "\\(")):
                make(o, q)


def test_zero_grad_and_closure():
    ps = _params(ng)
    opt = ng.optim.NAdam(ps)
    _loss(ng, ps, 0).backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)

    def closure():
        opt.zero_grad()
        loss = _loss(ng, ps, 0)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, ng.Tensor) and opt.state[ps[0]]["step"] == 1


@pytest.mark.skipif(not ng.cuda.is_available(), reason="no CUDA (simulator)")
@pytest.mark.parametrize("name", ["rmsprop_all", "adagrad_all", "adamax_all", "nadam_wd"])
def test_optimizer_cuda_matches_cpu(name):
    def run(device):
        w = ng.tensor(W0[:2, :2].copy(), device=device, requires_grad=True)
        opt = CONFIGS[name](ng.optim, [w])
        for s in range(3):
            opt.zero_grad()
            ((w * w * w).sum() * (1 + s) + w.sum()).backward()
            opt.step()
        return w.detach().cpu().numpy(), opt

    got, opt = run("cuda")
    np.testing.assert_allclose(got, run("cpu")[0], rtol=1e-12, atol=1e-13)
    st = opt.state_dict()["state"][0]
    assert all(v.device.type == "cuda" for v in st.values() if isinstance(v, ng.Tensor))


# ------------------------------------------------------------------ learning-rate schedulers
def _two_groups(lib, opt="SGD"):
    a = (ng.zeros(2, requires_grad=True) if lib is ng else torch.zeros(2, requires_grad=True))
    b = (ng.zeros(3, requires_grad=True) if lib is ng else torch.zeros(3, requires_grad=True))
    kw = {"momentum": 0.9} if opt == "SGD" else {}
    return getattr(lib.optim, opt)([{"params": [a]}, {"params": [b], "lr": 0.3}], lr=0.1, **kw)


SCHEDULERS = {
    "step": lambda s, o: s.StepLR(o, step_size=7, gamma=0.5),
    "multistep": lambda s, o: s.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "exponential": lambda s, o: s.ExponentialLR(o, gamma=0.93),
    "cosine": lambda s, o: s.CosineAnnealingLR(o, T_max=13, eta_min=0.01),
    "linear": lambda s, o: s.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=17),
    "lambda": lambda s, o: s.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 / (1 + e)]),
    "onecycle": lambda s, o: s.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=50),
    "onecycle_3": lambda s, o: s.OneCycleLR(o, max_lr=0.4, epochs=5, steps_per_epoch=10, pct_start=0.25,
                                            anneal_strategy="linear", three_phase=True),
    "sequential": lambda s, o: s.SequentialLR(o, [s.LinearLR(o, start_factor=0.1, total_iters=10),
                                                  s.CosineAnnealingLR(o, T_max=20),
                                                  s.ExponentialLR(o, gamma=0.9)], milestones=[10, 30]),
}


def _lr_sequence(lib, name, opt="SGD", steps=50):
    o = _two_groups(lib, opt)
    s = SCHEDULERS[name](lib.optim.lr_scheduler, o)
    seq = [s.get_last_lr()]
    moms = []
    for _ in range(steps - 1 if name.startswith("onecycle") else steps):
        o.step()
        s.step()
        seq.append(s.get_last_lr())
        moms.append([g.get("momentum", g.get("betas", (None,))[0]) for g in o.param_groups])
    return seq, moms, s, o


@pytest.mark.parametrize("opt", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_lr_sequence_matches_torch(name, opt):
    seq, moms, s, o = _lr_sequence(ng, name, opt)
    tseq, tmoms, ts, to = _lr_sequence(torch, name, opt)
    np.testing.assert_allclose(np.array(seq, float), np.array(tseq, float), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(np.array(moms, float), np.array(tmoms, float), rtol=1e-13, atol=1e-15)
    assert [g["lr"] for g in o.param_groups] == pytest.approx([g["lr"] for g in to.param_groups], rel=1e-13)
    assert [g["initial_lr"] for g in o.param_groups] == pytest.approx([g["initial_lr"] for g in to.param_groups])
    sd, tsd = s.state_dict(), ts.state_dict()
    assert set(sd) <= set(tsd) | {"_is_initial"} and sd["last_epoch"] == tsd["last_epoch"]


def test_scheduler_state_dict_resume():
    seq, _, s, o = _lr_sequence(ng, "cosine", steps=20)
    o2 = _two_groups(ng)
    o2.load_state_dict(o.state_dict())
    s2 = ng.optim.lr_scheduler.CosineAnnealingLR(o2, T_max=13, eta_min=0.01, last_epoch=19)
    s2.load_state_dict(s.state_dict())
    for _ in range(10):
        s.step()
        s2.step()
        assert s.get_last_lr() == s2.get_last_lr()


def test_onecycle_too_many_steps_and_errors():
    _, _, s, o = _lr_sequence(ng, "onecycle")
    s.step()
    with pytest.raises(ValueError, match="Tried to step 51 times. The specified number of total steps is 50"):
        s.step()
    o = _two_groups(ng)
    sch = ng.optim.lr_scheduler
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        sch.OneCycleLR(o, max_lr=0.1)
    with pytest.raises(ValueError, match="max_lr must have the same length as optimizer.param_groups"):
        sch.OneCycleLR(o, max_lr=[0.1], total_steps=5)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sch.LinearLR(o, start_factor=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        sch.LambdaLR(o, [lambda e: 1.0])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sch.StepLR(object(), 3)
    with pytest.raises(ValueError, match="one more than the number of milestone points"):
        sch.SequentialLR(o, [sch.StepLR(o, 3)], milestones=[2])
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        sch.ReduceLROnPlateau(o, factor=1.0)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        sch.StepLR(_two_groups(ng), 3, last_epoch=4)


@pytest.mark.parametrize("kw", [{}, {"mode": "max", "factor": 0.5, "patience": 2, "cooldown": 3, "threshold": 0.1,
                                     "threshold_mode": "abs", "min_lr": [0.01, 0.05]}])
def test_reduce_lr_on_plateau_matches_torch(kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.96, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7] * 3
    out = []
    for lib in (ng, torch):
        o = _two_groups(lib)
        s = lib.optim.lr_scheduler.ReduceLROnPlateau(o, **kw)
        seq = []
        for m in metrics:
            o.step()
            s.step(m)
            seq.append(s.get_last_lr())
        out.append((seq, s.num_bad_epochs, s.best))
    assert out[0] == out[1]
