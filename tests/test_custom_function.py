"""Custom autograd Functions (ng.autograd.Function) against torch.autograd.Function: each
scenario runs in both libraries with the same code and their results are compared."""

from __future__ import annotations

import pytest

import nbgrad as ng

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

from torch_scenarios import T, both, error_of  # noqa: E402


def _t(lib, a, **kw):
    return T(lib, a, **kw)


def test_function_forward_backward_and_node():
    def scenario(lib):
        class MulAdd(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, k):
                ctx.k = k
                ctx.save_for_backward(x, y)
                return x * y * k, x + y

            @staticmethod
            def backward(ctx, g1, g2):
                x, y = ctx.saved_tensors
                ctx.seen = ctx.needs_input_grad
                return g1 * y * ctx.k + g2, g1 * x * ctx.k + g2, None

        x = _t(lib, [1.0, 2.0], requires_grad=True)
        y = _t(lib, [3.0, -4.0], requires_grad=True)
        a, b = MulAdd.apply(x, y, 3.0)
        node = a.grad_fn
        (a * _t(lib, [1.0, 2.0])).sum().add(b.sum() * 2).backward()
        return {"a": a, "b": b, "name": type(node).__name__, "same_node": b.grad_fn is node,
                "needs": node.seen, "xg": x.grad, "yg": y.grad, "nexts": len(node.next_functions)}

    both(scenario)


def test_function_double_backward_and_saved_output():
    def scenario(lib):
        class Exp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                r = x.exp()
                ctx.save_for_backward(r)  # an output: unpacked with this node as its grad_fn
                return r

            @staticmethod
            def backward(ctx, g):
                (r,) = ctx.saved_tensors
                return g * r

        x = _t(lib, [0.5, -1.0], requires_grad=True)
        (g,) = lib.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        return {"g": g, "h": h, "gradcheck": lib.autograd.gradcheck(Exp.apply, (x,)),
                "gradgradcheck": lib.autograd.gradgradcheck(Exp.apply, (x,))}

    both(scenario)


def test_mark_dirty_inplace_function():
    def scenario(lib):
        class Double_(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = _t(lib, [1.0, 2.0], requires_grad=True)
        w = x * 1
        o = Double_.apply(w)
        out = {"same": o is w, "name": type(o.grad_fn).__name__, "value": o}
        (o * o).sum().backward()
        out["xg"] = x.grad
        leaf = _t(lib, [1.0], requires_grad=True)
        out["leaf_error"] = error_of(lambda: Double_.apply(leaf), "leaf Variable")
        return out

    both(scenario)


def test_mark_non_differentiable_and_materialize_grads():
    def scenario(lib):
        class SortLike(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                idx = lib.tensor([1, 0])
                ctx.mark_non_differentiable(idx)
                return x * 2, idx

            @staticmethod
            def backward(ctx, g, gi):
                ctx.got = (gi is None, None if gi is None else float(gi.sum()))
                return g * 2

        class NoMaterialize(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 1, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                ctx.got = (g1 is None, g2 is None)
                return g1 if g1 is not None else g2 * 3

        x = _t(lib, [1.0, 2.0], requires_grad=True)
        v, i = SortLike.apply(x)
        v.sum().backward()
        node = v.grad_fn
        a, b = NoMaterialize.apply(x)
        node2 = b.grad_fn
        b.sum().backward()
        return {"i_rg": i.requires_grad, "v_rg": v.requires_grad, "got": node.got, "got2": node2.got, "xg": x.grad}

    both(scenario)


def test_once_differentiable():
    def scenario(lib):
        from_mod = ng.autograd if lib is ng else torch.autograd.function

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @from_mod.once_differentiable
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                ctx.grad_mode = lib.is_grad_enabled()
                return g * 2 * x

        x = _t(lib, [1.0, 3.0], requires_grad=True)
        y = Square.apply(x)
        node = y.grad_fn
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        return {"g": g, "grad_mode": node.grad_mode, "g_rg": g.requires_grad,
                "error": error_of(lambda: g.sum().backward(), "once_differentiable")}

    both(scenario)


def test_saved_tensors_are_version_checked_and_freed():
    def scenario(lib):
        class Id(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                ctx.saved_tensors
                return g

        x = _t(lib, [1.0, 2.0], requires_grad=True)
        w = x * 1
        y = Id.apply(w)
        with lib.no_grad():
            w.add_(1)
        out = {"version_error": error_of(lambda: y.sum().backward(), "modified by an inplace operation")}
        z = Id.apply(x)
        z.sum().backward()
        out["freed_error"] = error_of(lambda: z.sum().backward(), "second time")
        return out

    both(scenario)


def test_misuse_errors_match_torch():
    def scenario(lib):
        class TooMany(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g, g

        class GradForNumber(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g, g

        class SaveNumber(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(3)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g

        x = _t(lib, [1.0], requires_grad=True)
        return {"too_many": error_of(lambda: TooMany.apply(x).sum().backward(), "incorrect number of gradients"),
                "number": error_of(lambda: GradForNumber.apply(x, 2.0).sum().backward()),
                "save_number": error_of(lambda: SaveNumber.apply(x)),
                "legacy": error_of(lambda: TooMany()(x), "Legacy autograd function")}

    both(scenario)


def test_setup_context_style():
    def scenario(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x):
                return x ** 3

            @staticmethod
            def setup_context(ctx, inputs, output):
                (x,) = inputs
                ctx.save_for_backward(x)

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x ** 2

        x = _t(lib, [1.0, -2.0], requires_grad=True)
        Cube.apply(x).sum().backward()
        return {"xg": x.grad}

    both(scenario)


def test_custom_function_node_in_debugger_view():
    class Scale(ng.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = Scale.apply(x)
    node = y.grad_fn
    assert node.name == "ScaleBackward" and node.site[0] == __file__
    assert "0" in node.saved_arrays()
    assert ng.autograd.backward_pass(y.sum(), record_values=True).total == 3
