"""The engine lets a leaf keep a fresh gradient array as its .grad without a copy (PyTorch's
AccumulateGrad steals a gradient whose use count is 1), told partly by reference counts
(nbgrad/backends/ownership.py). These tests pin down when it may (the array is the one the
node made) and when it must not (someone else can reach the memory), and that breaking the
reference count check makes them fail.

The arrays a node makes are observed through weak references taken by a wrapper around the
node's apply: a weak reference adds no reference, and the wrapper is no hook, so the engine
decides as it would unobserved (a hook that sees a gradient stops the engine keeping it)."""

from __future__ import annotations

import sys
import weakref
from typing import Any, Callable

import numpy as np
import pytest

import nbgrad as ng
from nbgrad.autograd import Function
from nbgrad.autograd.engine import BufferReuse
from nbgrad.autograd.function import accumulate_grad_node
from nbgrad.backends.cpu import backend as cpu_backend
from nbgrad.backends.ownership import SoleHolder


def _leaf(*shape: int, seed: int = 0) -> ng.Tensor:
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return ng.tensor(a, requires_grad=True)


def _const(*shape: int, seed: int = 1) -> ng.Tensor:
    return ng.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _made(node: Any) -> list[list[Any]]:
    """Weak references to the gradient arrays node's backward returns, one list per run."""
    made: list[list[Any]] = []
    apply = node.apply

    def spy(grads: tuple) -> tuple:
        outs = apply(grads)
        made.append([None if g is None else weakref.ref(g._data) for g in outs])
        return outs

    node.apply = spy
    return made


def _refs_now(view: Any) -> int:
    """References to view.base seen from a frame holding one local to it (as SoleHolder.refs)."""
    holder = view.base
    return sys.getrefcount(holder)


def _sample() -> np.ndarray:
    return np.empty((2, 3)).T


# ------------------------------------------------------------------ SoleHolder itself
def test_calibration_is_what_the_interpreter_counts() -> None:
    h = SoleHolder("base", _sample)
    assert h.sole == _refs_now(_sample())
    assert cpu_backend._BASE.sole == h.sole
    assert h.sole >= 2  # at least the view's own reference and getrefcount's argument


def test_fresh_view_is_sole() -> None:
    h = SoleHolder("base", _sample)
    v = np.empty((4, 5)).T
    assert h.is_sole(v)
    r = np.ones(12).reshape(3, 4)
    assert h.is_sole(r)


def _second_view(v: np.ndarray) -> Any:
    return v.base[:2]


def _in_list(v: np.ndarray) -> Any:
    return [v.base]


def _closure(v: np.ndarray) -> Any:
    b = v.base
    return lambda: b


def _numpy_view(v: np.ndarray) -> Any:
    return v.base.view()


def _reshaped(v: np.ndarray) -> Any:
    return v.base.reshape(-1)


def _in_dict(v: np.ndarray) -> Any:
    return {"k": v.base}


@pytest.mark.parametrize("keep", [_second_view, _in_list, _closure, _numpy_view, _reshaped, _in_dict])
def test_another_reference_to_the_memory_is_seen(keep: Callable[[np.ndarray], Any]) -> None:
    h = SoleHolder("base", _sample)
    v = np.empty((4, 5)).T
    kept = keep(v)
    assert not h.is_sole(v)
    if isinstance(kept, np.ndarray):
        assert h.is_sole(v, extra=1)  # another view the caller accounts for
    del kept
    assert h.is_sole(v)  # counted now, not remembered


def test_cpu_is_private() -> None:
    be = cpu_backend.CpuBackend.is_private
    fresh = np.ones((3, 4))
    assert be(None, fresh)  # a kernel's own array
    # (not inside the assert: pytest keeps the assert's intermediate values, a reference)
    dense = be(None, np.ones((4, 3)).T)  # a dense view of all of a fresh array
    assert dense
    v = np.ones((4, 3)).T
    w = v.base.reshape(-1)
    assert not be(None, v)  # w reaches the memory
    assert be(None, v, w)  # ... unless w is the one `other` the caller gives
    del w
    assert be(None, v)
    assert not be(None, np.ones((4, 6))[:, :3])  # part of a larger array
    assert not be(None, np.broadcast_to(np.ones(3), (4, 3)))  # a broadcast view


def test_cuda_storage_holder_without_gpu() -> None:
    pytest.importorskip("numba.cuda.core", reason="the CUDA backend needs numba-cuda")
    from nbgrad.backends.cuda.array import CudaArray
    from nbgrad.backends.cuda.backend import _STORAGE, CudaBackend
    from nbgrad.backends.cuda.pool import Storage

    class Pool:  # a pool that takes nothing back (Storage.__del__ returns its buffer here)
        def give_back(self, key: Any, buf: Any) -> None:
            pass

    def view(s: Storage) -> CudaArray:
        return CudaArray(s, (2, 3), (3, 1), 0, np.dtype(np.float32), None)

    g = view(Storage(None, None, Pool()))
    holder = g._storage
    assert _STORAGE.sole == sys.getrefcount(holder)  # the view's, `holder`, getrefcount's argument
    del holder
    assert _STORAGE.is_sole(g) and CudaBackend.is_private(None, g)
    h = view(g._storage)  # a second view of the buffer
    assert not CudaBackend.is_private(None, g)
    assert CudaBackend.is_private(None, g, h)
    del h
    assert CudaBackend.is_private(None, g)
    assert not CudaBackend.is_private(None, view(Storage(None, None, None)))  # memory no pool owns


# ------------------------------------------------------------------ the engine keeps fresh arrays
def test_fresh_products_are_kept_without_a_copy() -> None:
    a, b = _leaf(3, 4), _leaf(3, 4, seed=1)
    y = a * b
    made = _made(y.grad_fn)
    y.sum().backward()
    ga, gb = made[0]
    assert a.grad._data is ga() and b.grad._data is gb()
    np.testing.assert_allclose(a.grad.numpy(), b.detach().numpy())
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy())


def test_a_dense_view_of_a_fresh_array_is_kept() -> None:
    # ViewBackward returns a reshape of MulBackward's product: a view, told private by the
    # reference count of its base
    a, c = _leaf(3, 4), _const(12)
    t = a.reshape(12)
    made = _made(t.grad_fn)
    (t * c).sum().backward()
    g = made[0][0]()
    assert a.grad._data is g and g.base is not None
    np.testing.assert_allclose(a.grad.numpy(), c.numpy().reshape(3, 4))


def test_a_second_backward_accumulates_in_place() -> None:
    a, c = _leaf(3, 4), _const(3, 4)
    loss = (a * c).sum()
    loss.backward(retain_graph=True)
    first, mem = a.grad, a.grad._data
    loss.backward()
    assert a.grad is first and a.grad._data is mem
    np.testing.assert_allclose(a.grad.numpy(), 2 * c.numpy())


# ------------------------------------------------------------------ ... and never one someone else holds
def _check_private(grad: ng.Tensor, held: ng.Tensor, expected: np.ndarray) -> None:
    """grad's memory is not held's: writing into grad leaves held as it was."""
    assert not np.shares_memory(grad._data, held._data)
    with ng.no_grad():
        grad.add_(1.0)
    np.testing.assert_allclose(held.detach().numpy(), expected)


def test_not_kept_when_a_leaf_hook_holds_it() -> None:
    a, c = _leaf(3, 4), _const(3, 4)
    held: list[ng.Tensor] = []
    a.register_hook(held.append)
    loss = (a * c).sum()
    loss.backward(retain_graph=True)
    _check_private(a.grad, held[0], c.numpy())
    loss.backward()  # accumulates in place into a.grad
    np.testing.assert_allclose(held[0].numpy(), c.numpy())


def test_not_kept_when_a_non_leaf_hook_holds_it() -> None:
    a, b = _leaf(3, 4), _leaf(3, 4, seed=1)
    y = a + b
    held: list[ng.Tensor] = []
    y.register_hook(held.append)
    (y * 2).sum().backward()
    _check_private(a.grad, held[0], np.full((3, 4), 2.0))
    _check_private(b.grad, held[0], np.full((3, 4), 2.0))


def _hooked_view_case() -> None:
    # ViewBackward returns a reshape of its incoming gradient, which the hook holds: only the
    # reference count of that array's holder tells that a.grad may not be the reshape
    a, c = _leaf(3, 4), _const(12)
    y = a.reshape(12)
    held: list[ng.Tensor] = []
    y.register_hook(held.append)
    loss = (y * c).sum()
    loss.backward(retain_graph=True)
    assert not np.shares_memory(a.grad._data, held[0]._data)
    loss.backward()
    np.testing.assert_allclose(held[0].numpy(), c.numpy())


def test_not_kept_when_a_hook_holds_the_array_it_views() -> None:
    _hooked_view_case()


def test_not_kept_when_a_node_hook_holds_it() -> None:
    a, c = _leaf(3, 4), _const(3, 4)
    y = a * c
    held: list[tuple] = []
    y.grad_fn.register_hook(lambda gi, go: held.append(gi))
    (y * 1.0).sum().backward()
    _check_private(a.grad, held[0][0], c.numpy())


def test_not_kept_when_a_node_prehook_holds_it() -> None:
    a, b = _leaf(3, 4), _leaf(3, 4, seed=1)
    y = a + b
    held: list[tuple] = []
    y.grad_fn.register_prehook(lambda go: held.append(go))
    (y * 3).sum().backward()
    _check_private(a.grad, held[0][0], np.full((3, 4), 3.0))
    _check_private(b.grad, held[0][0], np.full((3, 4), 3.0))


def test_retain_grad_gets_its_own_copy() -> None:
    a, b = _leaf(3, 4), _leaf(3, 4, seed=1)
    y = a + b
    y.retain_grad()
    (y * 2).sum().backward()
    assert y.grad is not None
    _check_private(a.grad, y.grad, np.full((3, 4), 2.0))
    _check_private(b.grad, y.grad, np.full((3, 4), 2.0))


def test_one_array_to_two_leaves_is_kept_by_one() -> None:
    a, b = _leaf(3, 4), _leaf(3, 4, seed=1)
    y = a + b
    made = _made(y.grad_fn)
    (y * 2).sum().backward()
    g = made[0][0]()
    assert made[0][1]() is g  # AddBackward0 gives both inputs one array
    assert (a.grad._data is g) + (b.grad._data is g) == 1  # exactly one leaf keeps it
    _check_private(a.grad, b.grad, np.full((3, 4), 2.0))


def test_a_broadcast_gradient_is_copied() -> None:
    a = _leaf(3, 4)
    a.sum().backward()  # SumBackward's gradient is a broadcast of one value
    assert a.grad._data.strides != (0, 0)
    with ng.no_grad():
        a.grad.add_(ng.arange(12.0).reshape(3, 4))
    np.testing.assert_allclose(a.grad.numpy(), 1 + np.arange(12.0).reshape(3, 4))


def test_an_expanded_gradient_is_copied() -> None:
    a, c = _leaf(3), _const(4, 3)
    (a.expand(4, 3) * c).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), c.numpy().sum(0), rtol=1e-6)
    assert a.grad._data.flags.writeable and a.grad._data.strides == (4,)


def test_a_saved_value_is_never_kept() -> None:
    # MulBackward0 saves b; a gradient that is b's array must not become a's .grad
    a, b = _leaf(3, 4), _leaf(3, 4, seed=1)
    node = (a * b).grad_fn
    g = ng.Tensor._wrap(b._data, b._backend)
    reuse = BufferReuse(b._backend)
    nxt = accumulate_grad_node(a)
    nexts = node.next_functions
    assert not reuse.fresh(nxt, g, None, (g, None), nexts, node, True, set())
    other = ng.Tensor._wrap(np.ones((3, 4), np.float32), b._backend)
    assert reuse.fresh(nxt, other, None, (other, None), nexts, node, True, set())  # the control


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_gives_each_leaf_its_own_grad() -> None:
    a, b = _leaf(3), _leaf(3, seed=1)
    y = a + b
    (y * y).sum().backward(create_graph=True)
    assert a.grad is not b.grad and a.grad.requires_grad
    expected = 2 * (a + b).detach().numpy()
    _check_private(a.grad, b.grad, expected)
    (gg,) = ng.autograd.grad(b.grad.sum(), [a])  # b.grad still differentiable: d/da sum(2(a+b))
    np.testing.assert_allclose(gg.numpy(), np.full(3, 2.0))


def test_a_custom_function_result_is_not_kept() -> None:
    held = np.ones((3, 4), np.float32)
    view_of = np.ones(12, np.float32)

    class Own(Function):
        @staticmethod
        def forward(ctx: Any, x: ng.Tensor) -> ng.Tensor:
            return x * 1

        @staticmethod
        def backward(ctx: Any, g: ng.Tensor) -> ng.Tensor:
            return ng.from_numpy(held)

    class View(Function):
        @staticmethod
        def forward(ctx: Any, x: ng.Tensor) -> ng.Tensor:
            return x * 1

        @staticmethod
        def backward(ctx: Any, g: ng.Tensor) -> ng.Tensor:
            return ng.from_numpy(view_of.reshape(3, 4))

    for fn, mem in ((Own, held), (View, view_of)):
        a = _leaf(3, 4)
        fn.apply(a).sum().backward()
        assert not np.shares_memory(a.grad._data, mem)
        with ng.no_grad():
            a.grad.add_(1.0)
        np.testing.assert_allclose(mem, 1.0)


def _optimizer_case() -> None:
    a, c = _leaf(3, 4), _const(12)
    held: list[ng.Tensor] = []
    opt = ng.optim.SGD([a], lr=0.1, momentum=0.9, weight_decay=0.1)
    for _ in range(2):
        y = a.reshape(12)
        y.register_hook(held.append)
        (y * c).sum().backward()  # the second accumulates in place into a.grad
        opt.step()
    assert len(held) == 2
    for h in held:
        np.testing.assert_allclose(h.numpy(), c.numpy())


def test_optimizer_steps_leave_a_held_gradient_alone() -> None:
    _optimizer_case()


# ------------------------------------------------------------------ the tests see a broken check
def test_a_broken_reference_count_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SoleHolder, "is_sole", lambda self, view, extra=0: True)
    with pytest.raises(AssertionError):
        _hooked_view_case()
    with pytest.raises(AssertionError):
        _optimizer_case()
    with pytest.raises(AssertionError):
        test_another_reference_to_the_memory_is_seen(_second_view)
