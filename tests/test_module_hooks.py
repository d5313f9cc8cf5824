"""Module hooks against PyTorch: the same calls, in the same order, with the same arguments, and
returned values replacing inputs, outputs and gradients the same way."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nbgrad as ng  # noqa: E402
from nbgrad.nn.modules import module as ng_module  # noqa: E402

LIBS = {"torch": torch, "ng": ng}


def _tensor(lib, a, requires_grad=False):
    return lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _global(lib):
    return torch.nn.modules.module if lib is torch else ng_module


def _two_in_two_out(lib):
    """A module with (tensor, tensor, int) inputs and a (tensor, tensor) output."""

    class TwoByTwo(lib.nn.Module):
        def forward(self, a, b, k):
            return a * b * k, (a + b).sin()

    return TwoByTwo()


def _mlp(lib):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    w = np.random.default_rng(1)
    with (torch.no_grad() if lib is torch else ng.no_grad()):
        for p in m.parameters():
            p.copy_(_tensor(lib, w.normal(size=tuple(p.shape))).to(p.dtype))
    return m


def _both(fn):
    """fn(lib) for torch and for nbgrad."""
    return fn(torch), fn(ng)


def _assert_same(a, b):
    """Equal logs: names and numbers (arrays compared to 1e-6, None where None)."""
    assert len(a) == len(b), (a, b)
    for x, y in zip(a, b):
        if isinstance(x, (tuple, list)):
            _assert_same(x, y)
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert x is not None and y is not None, (x, y)
            np.testing.assert_allclose(np.asarray(y, np.float64), np.asarray(x, np.float64), rtol=1e-6, atol=1e-8)
        else:
            assert x == y, (a, b)


def _grads(gs):
    return tuple(_np(g) for g in gs)


def test_forward_hook_order_and_arguments():
    def run(lib):
        log = []
        m = _mlp(lib)
        g1 = _global(lib).register_module_forward_pre_hook(lambda mod, args: log.append(("gpre", type(mod).__name__)))
        g2 = _global(lib).register_module_forward_hook(
            lambda mod, args, out: log.append(("gpost", type(mod).__name__, tuple(out.shape))))
        lin = m[0]
        lin.register_forward_pre_hook(lambda mod, args: log.append(("pre-a", tuple(args[0].shape))))
        lin.register_forward_pre_hook(lambda mod, args: log.append(("pre-b",)), prepend=True)
        lin.register_forward_hook(lambda mod, args, out: log.append(("post-a", _np(out))))
        lin.register_forward_hook(lambda mod, args, kw, out: log.append(("post-kw", sorted(kw))), with_kwargs=True)
        lin.register_forward_hook(lambda mod, args, out: log.append(("post-first",)), prepend=True)
        m(_tensor(lib, np.ones((2, 3))).float())
        g1.remove()
        g2.remove()
        m(_tensor(lib, np.ones((2, 3))).float())  # only the module's own hooks now
        return log

    _assert_same(*_both(run))


def test_forward_hooks_replace_inputs_and_outputs():
    def run(lib):
        m = _mlp(lib)
        x = _tensor(lib, np.arange(6.0).reshape(2, 3)).float()
        outs = []
        h1 = m[0].register_forward_pre_hook(lambda mod, args: args[0] * 2)  # a non-tuple: wrapped
        outs.append(_np(m(x)))
        h1.remove()
        h2 = m[0].register_forward_pre_hook(lambda mod, args, kw: ((args[0] + 1,), kw), with_kwargs=True)
        outs.append(_np(m(x)))
        h2.remove()
        h3 = m[2].register_forward_hook(lambda mod, args, out: out * 0 + 7)
        outs.append(_np(m(x)))
        h3.remove()
        outs.append(_np(m(x)))  # hooks removed: the plain result
        return outs

    _assert_same(*_both(run))


def test_pre_hook_with_kwargs_must_return_a_pair():
    m = ng.nn.Linear(2, 2)
    m.register_forward_pre_hook(lambda mod, args, kw: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        m(ng.ones(1, 2))


def test_always_call_forward_hooks_run_when_forward_raises():
    def run(lib):
        log = []

        class Boom(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        m = Boom()
        m.register_forward_hook(lambda mod, args, out: log.append("plain"))
        m.register_forward_hook(lambda mod, args, out: log.append(("always", out)), always_call=True)
        g = _global(lib).register_module_forward_hook(lambda mod, args, out: log.append("global-always"),
                                                     always_call=True)
        try:
            with pytest.raises(ValueError, match="boom"):
                m(_tensor(lib, [1.0]))
        finally:
            g.remove()
        return log

    _assert_same(*_both(run))


def _backward_log(lib, module_fn, inputs_fn, *, pre_scale=None, grad_in_scale=None, loss_fn=None):
    """Hooks on module_fn(lib): their calls (module, grad_input, grad_output) and the leaves' grads."""
    log = []
    m = module_fn(lib)

    def pre(mod, go):
        log.append(("pre", _grads(go)))
        if pre_scale is not None:
            return tuple(None if g is None else g * pre_scale for g in go)

    def full(mod, gi, go):
        log.append(("full", _grads(gi), _grads(go)))
        if grad_in_scale is not None:
            return tuple(None if g is None else g * grad_in_scale for g in gi)

    m.register_full_backward_pre_hook(pre)
    m.register_full_backward_hook(full)
    leaves, args = inputs_fn(lib)
    out = m(*args)
    loss = loss_fn(lib, out) if loss_fn else out.sum()
    loss.backward()
    log.append(("leaf grads", _grads([t.grad for t in leaves])))
    return log


def _two_inputs(lib):
    a = _tensor(lib, [[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    b = _tensor(lib, [[0.5, -2.0], [1.5, 4.0]])  # no grad: zeros in grad_input (PyTorch materializes them)
    return [a], (a, b, 3)


def _both_outputs(lib, out):
    return (out[0] * out[0]).sum() + (out[1] * 3).sum()


def test_full_backward_hooks_two_inputs_two_outputs():
    for kw in ({}, {"pre_scale": 2.0}, {"grad_in_scale": -0.5}):
        _assert_same(*_both(lambda lib: _backward_log(lib, _two_in_two_out, _two_inputs, loss_fn=_both_outputs, **kw)))


def test_full_backward_hooks_an_output_without_gradient():
    # only the first output reaches the loss: grad_output has None for the second
    def loss(lib, out):
        return out[0].sum()

    _assert_same(*_both(lambda lib: _backward_log(lib, _two_in_two_out, _two_inputs, loss_fn=loss)))


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_full_backward_hooks_on_layers_of_an_mlp():
    def inputs(lib):
        x = _tensor(lib, np.random.default_rng(2).normal(size=(5, 3))).float()  # data: no grad
        return [], (x,)

    def run(lib):
        log = []
        m = _mlp(lib)
        for name, sub in m.named_children():
            sub.register_full_backward_pre_hook(lambda mod, go, name=name: log.append(("pre", name, _grads(go))))
            sub.register_full_backward_hook(lambda mod, gi, go, name=name: log.append(("full", name, _grads(gi),
                                                                                         _grads(go))))
        _, (x,) = inputs(lib)
        (m(x) ** 2).sum().backward()
        log.append(("grads", _grads([p.grad for p in m.parameters()])))
        return log

    _assert_same(*_both(run))


def test_full_hook_warns_when_no_input_requires_grad():
    m = ng.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    out = m(ng.ones(1, 2))
    with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed with respect to"):
        out.sum().backward()


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_global_backward_hooks_and_removal():
    def run(lib):
        log = []
        glob = _global(lib)
        h1 = glob.register_module_full_backward_hook(lambda mod, gi, go: log.append(("gfull", type(mod).__name__)))
        h2 = glob.register_module_full_backward_pre_hook(lambda mod, go: log.append(("gpre", type(mod).__name__)))
        try:
            m = _mlp(lib)
            m[2].register_full_backward_hook(lambda mod, gi, go: log.append(("own", _grads(gi))))
            m(lib.ones(2, 3, requires_grad=True)).sum().backward()
        finally:
            h1.remove()
            h2.remove()
        m(lib.ones(2, 3, requires_grad=True)).sum().backward()  # the global hooks are gone; the module's own still runs
        return log

    _assert_same(*_both(run))


def test_backward_hook_wrong_length_raises():
    m = ng.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (None, None))
    out = m(ng.ones(1, 2, requires_grad=True))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        out.sum().backward()


def test_handles_remove_and_context_manager():
    m = ng.nn.Linear(2, 2)
    calls = []
    with m.register_forward_hook(lambda *a: calls.append(1)):
        m(ng.ones(1, 2))
    m(ng.ones(1, 2))
    assert calls == [1]
    assert not m._hooked  # back on the plain path


def test_hooked_module_nodes_keep_the_users_site():
    m = ng.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda *a: None)
    out = m(ng.ones(1, 2, requires_grad=True))  # this line
    sites = set()
    stack = [out.grad_fn]
    while stack:
        n = stack.pop()
        if n.site:
            sites.add((n.site[0], n.site[2]))
        stack.extend(nx for nx, _ in n.next_functions if nx is not None)
    assert sites == {(__file__, "test_hooked_module_nodes_keep_the_users_site")}
