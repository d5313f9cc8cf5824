"""PyTorch's autograd semantics, scenario by scenario against torch (the areas of torch's
test_autograd.py: in-place and versions, retain_graph, retain_grad, hooks, grad / backward
with inputs, saved-tensor hooks, grad mode), autograd.functional, and training steps that
differentiate gradients (a WGAN-GP penalty step, a MAML inner step)."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

from torch_scenarios import T, both, error_of  # noqa: E402


# ---------------------------------------------------------------- in place
def test_augmented_assignment_is_in_place():
    def scenario(lib):
        x = T(lib, [1.0, 2.0, 3.0])
        v = x[1:]
        ident = id(x)
        v0 = x._version if lib is torch else x._version.value
        x += 1
        x *= 2
        x -= 1
        x /= 2
        x **= 2
        v1 = x._version if lib is torch else x._version.value
        return {"same": id(x) == ident, "x": x, "view": v, "versions": v1 - v0}

    both(scenario)


def test_manual_sgd_loop_of_the_tutorial():
    def scenario(lib):
        w = T(lib, [[0.5, -0.2], [0.1, 0.3]], requires_grad=True)
        b = T(lib, [0.0, 0.1], requires_grad=True)
        x, y = T(lib, [[1.0, 2.0], [3.0, -1.0]]), T(lib, [[0.0, 1.0], [1.0, 0.0]])
        losses = []
        for _ in range(3):
            loss = ((x @ w + b - y) ** 2).mean()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
                b -= 0.1 * b.grad
                w.grad.zero_()
                b.grad.zero_()
            losses.append(float(loss))
        return {"w": w, "b": b, "losses": losses, "leaf": w.is_leaf}

    both(scenario)


def test_inplace_on_leaf_and_modified_saved_tensor_errors():
    def scenario(lib):
        w = T(lib, [1.0, 2.0], requires_grad=True)
        out = {"leaf": error_of(lambda: w.add_(1))}

        def modified():
            y = w * 2
            z = y.exp()
            y.add_(1)
            z.sum().backward()

        out["saved"] = error_of(modified)
        return out

    both(scenario)


def test_second_backward_needs_only_what_was_not_freed():
    def scenario(lib):
        b = T(lib, [1.0, 2.0], requires_grad=True)
        y = (b + 1).sum()
        y.backward()
        y.backward()  # nothing saved: works in torch
        z = (b * b).sum()
        z.backward()
        return {"g": b.grad, "err": error_of(z.backward)}

    both(scenario)


def test_retain_grad_then_inplace_gives_the_latest_version():
    def scenario(lib):
        x = T(lib, [1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        (y * T(lib, [1.0, 2.0, 3.0])).sum().backward()
        return {"yg": y.grad, "xg": x.grad}

    both(scenario)


def test_requires_grad_and_detach_rules():
    def scenario(lib):
        a = T(lib, [1.0], requires_grad=True) * 2
        a.requires_grad_()  # a non-leaf that requires grad already: no-op
        v = T(lib, [1.0, 2.0, 3.0])[1:]
        return {"nonleaf_false": error_of(lambda: a.requires_grad_(False)), "detach_view": error_of(v.detach_),
                "int": error_of(lambda: lib.tensor([1, 2]).requires_grad_())}

    both(scenario)


def test_no_grad_decorates_generators():
    def scenario(lib):
        @lib.no_grad()
        def gen():
            yield lib.is_grad_enabled()
            yield lib.is_grad_enabled()

        g = gen()
        first = next(g)
        between = lib.is_grad_enabled()
        return {"seen": (first, between, next(g))}

    both(scenario)


# ---------------------------------------------------------------- grad / backward
def test_backward_several_roots_and_inputs():
    def scenario(lib):
        x = T(lib, [1.0, 2.0], requires_grad=True)
        w = T(lib, [3.0, 4.0], requires_grad=True)
        h = x * w
        a, b = h.sum(), (h * h).sum()
        lib.autograd.backward([a, b], [T(lib, 2.0), T(lib, 0.5)], retain_graph=True)
        out = {"x": x.grad, "w": w.grad}
        x.grad = None
        w.grad = None
        b.backward(inputs=[w], retain_graph=True)
        out["x_untouched"] = x.grad is None
        out["only_w"] = w.grad
        b.backward(inputs=[h])
        out["nonleaf_input"] = h.grad
        return out

    both(scenario)


def test_grad_allow_unused_and_materialize():
    def scenario(lib):
        x = T(lib, [1.0, 2.0], requires_grad=True)
        u = T(lib, [5.0], requires_grad=True)
        y = (x * x).sum()
        out = {"unused_error": error_of(lambda: lib.autograd.grad(y, [x, u], retain_graph=True))}
        g = lib.autograd.grad(y, [x, u], allow_unused=True, retain_graph=True)
        out["none"] = g[1] is None
        g = lib.autograd.grad(y, [x, u], materialize_grads=True)
        out["zeros"] = g[1]
        return out

    both(scenario)


def test_grad_of_an_intermediate_and_a_leaf_below_it():
    def scenario(lib):
        x = T(lib, [1.0, 2.0], requires_grad=True)
        h = x.exp()
        y = (h * h).sum()
        gh, gx = lib.autograd.grad(y, [h, x])
        return {"gh": gh, "gx": gx, "xgrad": x.grad is None}

    both(scenario)


def test_backward_create_graph_gives_differentiable_grad():
    def scenario(lib):
        import warnings

        x = T(lib, [1.0, 2.0], requires_grad=True)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            (x ** 3).sum().backward(create_graph=True)
        warned = any("reference cycle" in str(m.message) for m in w)
        g1 = x.grad
        gg = lib.autograd.grad(g1.sum(), x, retain_graph=True)[0]
        (x ** 3).sum().backward(create_graph=True)
        return {"warned": warned, "g": x.grad, "rg": x.grad.requires_grad, "gg": gg}

    both(scenario)


# ---------------------------------------------------------------- hooks
def test_tensor_node_and_prehooks_order_and_replacement():
    def scenario(lib):
        log = []
        x = T(lib, [1.0, 2.0], requires_grad=True)
        y = x * 3
        z = (y * y).sum()
        y.register_hook(lambda g: log.append(("tensor", float(g.sum()))) or g * 2)
        y.grad_fn.register_prehook(lambda go: log.append(("pre", float(go[0].sum()))))
        y.grad_fn.register_hook(lambda gi, go: log.append(("post", float(gi[0].sum()), float(go[0].sum())))
                                or (gi[0] + 1, gi[1]))
        x.register_hook(lambda g: log.append(("leaf", float(g.sum()))))
        h = x.register_post_accumulate_grad_hook(lambda t: log.append(("acc", float(t.grad.sum()))))
        z.backward()
        h.remove()
        return {"log": log, "xg": x.grad}

    both(scenario)


def test_saved_tensors_hooks_pack_and_unpack():
    def scenario(lib):
        packed = []

        def pack(t):
            packed.append(tuple(t.shape))
            return t.detach() * 1  # a copy

        def unpack(t):
            return t

        x = T(lib, [1.0, 2.0, 3.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (x * x).exp().sum()
        y.backward()
        return {"packed": packed, "xg": x.grad}

    both(scenario)


def test_gradcheck_runs_with_grad_enabled_and_can_return_false():
    def scenario(lib):
        seen = []

        def f(x):
            y = x * 2
            y.register_hook(lambda g: seen.append(1))  # needs grad mode inside gradcheck
            return y

        x = T(lib, [1.0, 2.0], requires_grad=True)
        ok = lib.autograd.gradcheck(f, (x,))

        class Wrong(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 3

        bad = lib.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False)
        return {"ok": ok, "hooked": bool(seen), "bad": bad, "raises": error_of(lambda: lib.autograd.gradcheck(
            Wrong.apply, (x,)))}

    a, b = scenario(ng), scenario(torch)
    assert (a["ok"], a["hooked"], a["bad"]) == (b["ok"], b["hooked"], b["bad"]) == (True, True, False)
    assert a["raises"] == "GradcheckError" and b["raises"] == "GradcheckError"


# ---------------------------------------------------------------- autograd.functional
def _mlp_loss(lib):
    x = T(lib, np.random.default_rng(0).standard_normal((4, 3)))
    y = T(lib, [[0.0], [1.0], [1.0], [0.0]])

    def loss(w1, w2):
        return ((x @ w1).tanh() @ w2 - y).pow(2).mean()

    return loss


def test_functional_api_matches_torch():
    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((3, 5)), rng.standard_normal((5, 1))
    v1, v2 = rng.standard_normal((3, 5)), rng.standard_normal((5, 1))

    def scenario(lib):
        F = lib.autograd.functional
        loss = _mlp_loss(lib)
        W = (T(lib, w1), T(lib, w2))
        V = (T(lib, v1), T(lib, v2))
        out = {}
        out["hessian"] = [h for row in F.hessian(loss, W) for h in row]
        out["hvp"] = list(F.hvp(loss, W, V)[1])
        out["vhp"] = list(F.vhp(loss, W, V)[1])
        out["vjp"] = list(F.vjp(loss, W)[1])

        def f(a):
            return (a.exp() * a).sum(0)

        a = T(lib, w1[:2])
        out["jacobian"] = F.jacobian(f, a)
        out["jvp"] = F.jvp(f, a, T(lib, v1[:2]))[1]
        out["vjp_f"] = F.vjp(f, a, T(lib, [1.0, -1.0, 2.0, 0.5, 3.0]))[1]
        return out

    both(scenario, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- training steps through gradients
def test_wgan_gp_penalty_steps_match_torch():
    rng = np.random.default_rng(3)
    W1, b1, W2 = rng.standard_normal((8, 4)) * 0.5, rng.standard_normal(8) * 0.1, rng.standard_normal((1, 8)) * 0.5
    real, fake, eps = rng.standard_normal((6, 4)), rng.standard_normal((6, 4)), rng.uniform(size=(6, 1))

    def scenario(lib):
        nn = lib.nn
        critic = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1, bias=False)).double()
        with lib.no_grad():
            critic[0].weight.copy_(T(lib, W1))
            critic[0].bias.copy_(T(lib, b1))
            critic[2].weight.copy_(T(lib, W2))
        opt = lib.optim.Adam(critic.parameters(), lr=1e-2)
        losses = []
        for step in range(3):
            r, f = T(lib, real + step * 0.1), T(lib, fake)
            x = (T(lib, eps) * r + (1 - T(lib, eps)) * f).requires_grad_(True)
            (g,) = lib.autograd.grad(critic(x).sum(), x, create_graph=True)
            penalty = ((g.pow(2).sum(1).sqrt() - 1) ** 2).mean()
            loss = critic(f).mean() - critic(r).mean() + 10 * penalty
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss))
        return {"losses": losses, "w": critic[0].weight, "w2": critic[2].weight}

    both(scenario, rtol=1e-9, atol=1e-11)


def test_maml_inner_step_matches_torch():
    rng = np.random.default_rng(4)
    w0, xs, ys, xq, yq = (rng.standard_normal(s) for s in ((3, 1), (5, 3), (5, 1), (5, 3), (5, 1)))

    def scenario(lib):
        w = T(lib, w0, requires_grad=True)
        meta = lib.optim.SGD([w], lr=0.1)
        losses = []
        for _ in range(3):
            inner = ((T(lib, xs) @ w - T(lib, ys)) ** 2).mean()
            (g,) = lib.autograd.grad(inner, w, create_graph=True)
            fast = w - 0.05 * g  # one inner SGD step, kept differentiable
            outer = ((T(lib, xq) @ fast - T(lib, yq)) ** 2).mean()
            meta.zero_grad()
            outer.backward()
            meta.step()
            losses.append(float(outer))
        return {"losses": losses, "w": w}

    both(scenario, rtol=1e-10)


# ---------------------------------------------------------------- the step engine
def test_undo_restores_buffers_grads_and_saved_tensors():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    w = ng.tensor([3.0, -1.0], requires_grad=True)
    y = ((x * w).exp() * x).sum()
    bp = ng.autograd.backward_pass(y, record_values=True)
    steps = [bp.step() for _ in range(bp.total)]
    assert bp.finished and x.grad is not None
    final = (x.grad.numpy().copy(), w.grad.numpy().copy())
    while bp.can_undo:
        bp.undo()
    assert x.grad is None and w.grad is None and bp.next_node() is y.grad_fn
    for s in steps:  # replay gives the same steps and the same gradients
        assert bp.step().node is s.node
    np.testing.assert_array_equal(x.grad.numpy(), final[0])
    np.testing.assert_array_equal(w.grad.numpy(), final[1])
    bp.undo()  # the last AccumulateGrad: its leaf's .grad goes back to its previous value
    bp.step()
    np.testing.assert_array_equal(w.grad.numpy(), final[1])


# ---------------------------------------------------------------- more of torch's test_autograd areas
def test_function_returning_its_input_or_none():
    def scenario(lib):
        class Id2(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        class NoGrad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return None

        out = {}
        for shape in ((1,), ()):
            v = lib.ones(shape, dtype=lib.float64, requires_grad=True)
            Id2.apply(v).backward()
            out[f"v{len(shape)}"] = v.grad
        x = lib.ones(1, dtype=lib.float64, requires_grad=True)
        NoGrad.apply(x).backward()
        out["none_propagates"] = x.grad is None
        out["unused"] = lib.autograd.grad(NoGrad.apply(x), x, allow_unused=True)[0] is None
        return out

    both(scenario)


def test_wrong_gradient_shape_from_a_function_is_an_error():
    def scenario(lib):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return lib.ones(10, dtype=lib.float64)

        x = T(lib, np.ones((5, 5)), requires_grad=True)
        return {"err": error_of(lambda: Bad.apply(x).sum().backward(), "expected shape")}

    both(scenario)


def test_accumulation_in_place_without_create_graph_out_of_place_with_it():
    def scenario(lib):
        out = {}
        for cg in (False, True):
            x = T(lib, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
            y = x + 2
            y.backward(lib.ones(2, 2, dtype=lib.float64), retain_graph=True)
            first = x.grad
            first_value = x.grad.detach().clone()
            y.backward(lib.ones(2, 2, dtype=lib.float64), create_graph=cg)
            out[f"same_object_{cg}"] = x.grad is first
            out[f"first_now_{cg}"] = first
            out[f"first_value_{cg}"] = first_value
        return out

    both(scenario)


def test_hessian_vector_product_through_backward_create_graph():
    def scenario(lib):
        x = T(lib, [[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
        y = T(lib, [[2.0, 1.0], [-1.0, 0.25]], requires_grad=True)
        z = x ** 2 + y * x + y ** 2
        z.backward(lib.ones(2, 2, dtype=lib.float64), create_graph=True)
        xg, yg = x.grad.detach().clone(), y.grad.detach().clone()
        (2 * x.grad + y.grad).backward(lib.ones(2, 2, dtype=lib.float64))
        return {"xg": xg, "yg": yg, "x_after": x.grad, "y_after": y.grad}

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the create_graph reference-cycle warning (checked elsewhere)
        both(scenario)


def test_grad_of_a_non_leaf_in_a_loop_and_shape_mismatch_message():
    def scenario(lib):
        y = T(lib, [[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
        x = T(lib, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        g_out = lib.ones(2, 2, dtype=lib.float64)
        for _ in range(3):
            (gx,) = lib.autograd.grad(x ** 2 + y * x + y ** 2, x, grad_outputs=g_out, create_graph=True)
            x = x + 0.05 * gx
        err = error_of(lambda: lib.autograd.grad(x.sum() * 1, x, grad_outputs=lib.ones(2)))
        return {"x": x, "y_grad_none": y.grad is None, "err": err}

    both(scenario)


def test_sum_to_an_empty_dim():
    def scenario(lib):
        a = lib.zeros(4, 0, dtype=lib.float64, requires_grad=True)
        b = T(lib, np.ones((4, 1)), requires_grad=True)
        (a + b).sum().backward()
        return {"a": a.grad, "b": b.grad}

    both(scenario)
