"""The backend contract (backends/contract.py): a device that implements only the primitives
runs every fused op through the generic fallbacks, and they agree with the CPU's kernels."""

from __future__ import annotations

import ast
import inspect
import math
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbgrad as ng
from nbgrad.backends import Backend, get_backend, with_ellipsis
from nbgrad.backends.contract import PRIMITIVES, Fused
from nbgrad.backends.plan import (broadcast_layout, diagonal_layout, expand_dims_layout, index_layout, permute_layout,
                                  reshape_strides, squeeze_layout, swapaxes_layout)
from nbgrad.tensor import Tensor

CPU = get_backend("cpu")


class MinimalBackend(Fused):
    """A device with the primitives only (the CPU's, borrowed one by one): every fused op is a fallback."""

    name = "minimal"
    device_type = "minimal"

    def __getattr__(self, name: str):
        if name in PRIMITIVES:
            return getattr(CPU, name)
        raise AttributeError(name)


MIN = MinimalBackend()
# nbgrad's devices are cpu and cuda: MIN's tensors report the CPU as theirs (ops compare devices)
sys.modules[Tensor.__module__]._DEVICES[MIN.name] = ng.device("cpu")


def on_min(a, requires_grad=False) -> Tensor:
    t = Tensor._wrap(MIN.asarray(np.asarray(a)), MIN)
    return t.requires_grad_() if requires_grad else t


def test_the_protocol_is_primitives_plus_fused():
    protocol = {n for n, v in vars(Backend).items() if callable(v) and not n.startswith("_")}
    fused = {n for n, v in vars(Fused).items() if callable(v) and not n.startswith("_")}
    assert protocol - set(PRIMITIVES) - fused <= {"to_dlpack", "dlpack_device"}  # interop: optional
    assert not set(PRIMITIVES) & fused
    for name in fused:  # the CPU overrides or inherits each fused op; the fallback runs on MIN
        assert callable(getattr(CPU, name)) and callable(getattr(MIN, name))


def test_the_devices_keep_their_kernels():
    """The kernel families' fallbacks are for a new device: the CPU and CUDA override each one."""
    from nbgrad.backends.cpu import CpuBackend
    from nbgrad.backends.cuda import CudaBackend

    for name in ("im2col", "col2im", "max_pool2d", "plane_scatter", "plane_gather", "index_add_axis", "check_index",
                 "cumulative", "sort", "searchsorted"):
        assert name in vars(Fused) and name not in PRIMITIVES
        for cls in (CpuBackend, CudaBackend):
            assert getattr(cls, name) is not getattr(Fused, name), (cls.__name__, name)


def test_fallbacks_use_only_primitives():
    src = inspect.getsource(Fused)
    calls = {w.split("(")[0] for w in src.replace("self.", " self.").split() if w.startswith("self.")}
    names = {c[5:] for c in calls}
    fused = {n for n in vars(Fused)}
    assert names <= set(PRIMITIVES) | fused | {"foreach", "can_capture"}, names - set(PRIMITIVES) - fused


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_family(dt, axis, log):
    x = RNG.standard_normal((5, 7)).astype(dt)
    x[2] = -np.inf if axis in (1, -1) else x[2]
    g = RNG.standard_normal((5, 7)).astype(dt)
    tol = dict(rtol=1e-5, atol=1e-6) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
    y = CPU.softmax(x, axis % 2, log)
    np.testing.assert_allclose(MIN.softmax(x, axis % 2, log), y, **tol)
    if not np.isinf(x).any():
        np.testing.assert_allclose(MIN.softmax_backward(y, g, axis % 2, log), CPU.softmax_backward(y, g, axis % 2, log),
                                   **tol)
    np.testing.assert_allclose(MIN.logsumexp(x, axis % 2), CPU.logsumexp(x, axis % 2), **tol)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("mean", [False, True])
def test_nll_rows(weighted, mean):
    x = RNG.standard_normal((6, 4))
    t = np.array([0, 3, -100, 2, 1, 3])
    w = RNG.random(4) + 0.5 if weighted else None
    per_c, valid_c = CPU.nll_forward(x, t, -100, w)
    per, valid = MIN.nll_forward(x, t, -100, w)
    np.testing.assert_allclose(per, per_c, rtol=1e-12)
    np.testing.assert_allclose(valid, valid_c, rtol=1e-12)
    logp, per2, _ = MIN.log_softmax_nll(x, t, -100, w)
    np.testing.assert_allclose(logp, CPU.softmax(x, 1, True), rtol=1e-12)
    loss, n = MIN.nll_reduce(per2, valid, mean)
    loss_c, n_c = CPU.nll_reduce(*CPU.log_softmax_nll(x, t, -100, w)[1:], mean)
    np.testing.assert_allclose(loss, loss_c, rtol=1e-12)
    g = np.asarray(0.7) if mean else RNG.standard_normal(6)
    np.testing.assert_allclose(MIN.nll_backward(g, t, 4, -100, w, n if mean else None),
                               CPU.nll_backward(g, t, 4, -100, w, n_c if mean else None), rtol=1e-12)
    with pytest.raises(IndexError, match="Target 9 is out of bounds"):
        MIN.nll_forward(x, np.array([0, 9, 1, 1, 1, 1]), -100, w)


def test_layer_norm_and_products():
    x = RNG.standard_normal((3, 4, 6)).astype(np.float32)
    g = RNG.standard_normal((3, 4, 6)).astype(np.float32)
    y, rstd = MIN.layer_norm(x, 6, 1e-5)
    yc, rstdc = CPU.layer_norm(x, 6, 1e-5)
    np.testing.assert_allclose(y, yc, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rstd, rstdc, rtol=1e-5)
    np.testing.assert_allclose(MIN.layer_norm_backward(g, yc, rstdc, 6), CPU.layer_norm_backward(g, yc, rstdc, 6),
                               rtol=1e-4, atol=1e-5)
    w, b0 = RNG.standard_normal(6).astype(np.float32), RNG.standard_normal(6).astype(np.float32)
    for wb in ((w, b0), (w, None), (None, b0)):
        out, mean, rstd = MIN.layer_norm_affine(x, *wb, 6, 1e-5)
        outc, meanc, rstdc = CPU.layer_norm_affine(x, *wb, 6, 1e-5)
        for u, v in ((out, outc), (mean, meanc), (rstd, rstdc)):
            np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)
        for need in (True, False):
            got = MIN.layer_norm_affine_backward(g, x, wb[0], meanc, rstdc, 6, need)
            want = CPU.layer_norm_affine_backward(g, x, wb[0], meanc, rstdc, 6, need)
            assert (got[0] is None) == (want[0] is None) == (not need)
            for u, v in zip(got, want):
                if u is not None:
                    np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)
    a, b, bias = RNG.standard_normal((3, 5)), RNG.standard_normal((5, 2)), RNG.standard_normal(2)
    np.testing.assert_allclose(MIN.addmm(bias, a, b), a @ b + bias, rtol=1e-12)
    idx = np.array([[2], [0], [1]])
    np.testing.assert_array_equal(MIN.scatter_along_axis((3, 4), idx, np.ones((3, 1)), 1),
                                  CPU.scatter_along_axis((3, 4), idx, np.ones((3, 1)), 1))
    np.testing.assert_array_equal(MIN.index_select(a, 1, np.array([4, 0, 0])), a[:, [4, 0, 0]])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        MIN.check_unit_interval(np.array([0.5, 1.5]))


@pytest.mark.parametrize("hyper", [
    dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
    dict(momentum=0.9, dampening=0.1, weight_decay=0.01, nesterov=False, maximize=True),
    dict(momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True, maximize=False),
])
def test_sgd_step(hyper):
    x0, d = RNG.standard_normal(7), RNG.standard_normal(7)
    out = []
    for be in (CPU, MIN):
        x, buf = x0.copy(), np.zeros(7)
        for first in (True, False):
            be.sgd_step(x, d, buf if hyper["momentum"] else None, lr=0.1, first=first, **hyper)
        out.append(x)
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12)


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_adam_step(decoupled, maximize):
    x0, d = RNG.standard_normal(7).astype(np.float32), RNG.standard_normal(7).astype(np.float32)
    out = []
    for be in (CPU, MIN):
        x, m, v = x0.copy(), np.zeros(7, np.float32), np.zeros(7, np.float32)
        for step in (1, 2, 3):
            be.adam_step(x, d, m, v, step=step, lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1,
                         decoupled=decoupled, maximize=maximize)
        out.append((x, m, v))
    for a, b in zip(out[1], out[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_model_trains_on_a_device_with_primitives_only():
    """An MLP with LayerNorm, cross-entropy and Adam: the same losses and parameters on the
    minimal device as on the CPU, step by step."""
    rng = np.random.default_rng(1)
    params0 = [rng.standard_normal((6, 8)) * 0.3, np.zeros(8), np.ones(8), np.zeros(8),
               rng.standard_normal((8, 3)) * 0.3, np.zeros(3)]
    X, T = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
    F = ng.nn.functional
    runs = []
    for make in (lambda a, rg=False: ng.tensor(a, requires_grad=rg), on_min):
        ps = [make(p.copy(), True) for p in params0]
        opt = ng.optim.Adam(ps, lr=0.05)
        x, t = make(X), make(T)
        losses = []
        for _ in range(4):
            opt.zero_grad()
            h = F.layer_norm(x @ ps[0] + ps[1], (8,), ps[2], ps[3]).relu()
            loss = F.cross_entropy(h @ ps[4] + ps[5], t) + F.log_softmax(h, dim=1).logsumexp(1).mean() * 0
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert all(p._backend is ps[0]._backend for p in ps)
        runs.append((losses, [p.detach()._backend.to_numpy(p._data) for p in ps]))
    assert runs[1][0][0] > runs[1][0][-1]
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-10)
    for a, b in zip(runs[1][1], runs[0][1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ views: plan.py's layouts and as_strided

def test_views_cross_the_interface_as_numbers():
    """No `view(x, numpy_fn)` primitive, and no op hands a backend a lambda or a NumPy function."""
    assert "view" not in PRIMITIVES and not hasattr(Backend, "view") and not hasattr(CPU, "view")
    assert {"as_strided", "strides"} <= set(PRIMITIVES)
    ops = pathlib.Path(ng.__file__).parent / "ops"
    bad = []
    for path in sorted(ops.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            if not ((isinstance(owner, ast.Name) and owner.id in ("be", "backend"))
                    or (isinstance(owner, ast.Attribute) and owner.attr == "_backend")):
                continue
            for a in list(node.args) + [k.value for k in node.keywords]:
                np_fn = (isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name) and a.value.id == "np"
                         and callable(getattr(np, a.attr, None)) and not isinstance(getattr(np, a.attr), type))
                if isinstance(a, ast.Lambda) or np_fn or node.func.attr == "view":
                    bad.append(f"{path.name}:{node.lineno}")
    assert not bad, bad


def _imports(tree: ast.AST) -> list[tuple[int, list[str], bool]]:
    """(line, the imported module's dotted parts, inside a function?) of each import."""
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f) if n is not f}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mods = [(node.module or "").split(".") + [a.name] for a in node.names]
        elif isinstance(node, ast.Import):
            mods = [a.name.split(".") for a in node.names]
        else:
            continue
        out += [(node.lineno, m, id(node) in inner) for m in mods]
    return out


# The core modules import each other's modules at module level (module aliases where two of them
# import each other), never inside a function: no hidden import circle.
CORE = ["ops/*.py", "autograd/*.py", "creation.py", "_dtype.py", "_methods.py", "_generator.py", "nn/module.py",
        "nn/_backward_hook.py", "nn/modules/sparse.py", "utils/data/*.py", "serialization.py"]
# (file, module) imported inside a function on purpose:
KEPT_INNER_IMPORTS = {
    # grad_helpers imports every ops module by name, and each of them imports derivatives_table first:
    # it is loaded when the first formula runs, once they all exist
    ("ops/derivatives_table.py", "nbgrad.ops.grad_helpers"),
    ("ops/linalg.py", "nbgrad.ops.grad_helpers"),
    # nbgrad.scalar loads numba's JIT (~130 ms at import): only for a scalar Value's backward call
    ("autograd/graph.py", "nbgrad.scalar.steps"),
    # nbgrad.distributed is loaded only when used (a DistributedSampler without num_replicas / rank)
    ("utils/data/distributed.py", "nbgrad.distributed"),
}


def _inner_nbgrad_imports(path: pathlib.Path, root: pathlib.Path) -> list[tuple[int, str]]:
    """(line, the absolute module) of each import of an nbgrad module inside a function of path."""
    rel = path.relative_to(root)
    package = ["nbgrad", *rel.parts[:-1]]  # (an __init__.py's package is its folder too)
    out = []
    for f in ast.walk(ast.parse(path.read_text())):
        if not isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(f):
            if isinstance(node, ast.Import):
                out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "nbgrad"]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                    out += [(node.lineno, mod if node.module else f"{mod}.{a.name}") for a in node.names]
                elif (node.module or "").split(".")[0] == "nbgrad":
                    out.append((node.lineno, node.module))
    return sorted(set(out))


def test_only_backends_reach_a_device():
    """Outside nbgrad/backends, no module imports a device's package (they call get_backend and
    the contract), tensor.py imports nothing inside its functions, and the other core modules no
    nbgrad module (no hidden import circle) but the few KEPT_INNER_IMPORTS."""
    root = pathlib.Path(ng.__file__).parent
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] == "backends":
            continue
        for line, mod, _ in _imports(ast.parse(path.read_text())):
            if any(mod[i:i + 2] == ["backends", dev] for i in range(len(mod)) for dev in ("cpu", "cuda")):
                bad.append(f"{rel}:{line} {'.'.join(mod)}")
    assert not bad, bad
    tensor_py = ast.parse((root / "tensor.py").read_text())
    inner = [f"tensor.py:{line} {'.'.join(mod)}" for line, mod, in_fn in _imports(tensor_py) if in_fn]
    assert not inner, inner
    files = sorted({p for pattern in CORE for p in root.glob(pattern)})
    assert len(files) > 30, files
    found = {(p.relative_to(root).as_posix(), line, mod) for p in files for line, mod in _inner_nbgrad_imports(p, root)}
    inner = sorted(f"{rel}:{line} {mod}" for rel, line, mod in found if (rel, mod) not in KEPT_INNER_IMPORTS)
    assert not inner, inner
    stale = KEPT_INNER_IMPORTS - {(rel, mod) for rel, _, mod in found}
    assert not stale, f"no longer imported inside a function (drop them from KEPT_INNER_IMPORTS): {sorted(stale)}"


def _strided(a: np.ndarray, kind: int) -> np.ndarray:
    """a itself, transposed, or read backwards (a negative stride): inputs of every layout."""
    return (a, a.T, a[::-1])[kind] if a.ndim else a


def test_cpu_as_strided_positions_views_of_any_input():
    base = np.arange(60.0).reshape(3, 4, 5)
    for kind in range(3):
        x = _strided(base, kind)
        for index in [(1,), (slice(None, None, -1), 2), (Ellipsis, slice(3, 0, -2)), (-1, None, slice(1, 3)), ()]:
            shape, strides, off = index_layout(x.shape, CPU.strides(x), index)
            v = CPU.as_strided(x, shape, strides, off)
            np.testing.assert_array_equal(v, x[with_ellipsis(index)])
            assert np.shares_memory(v, base)


def _pair(a, requires_grad=False):
    return ng.tensor(a, requires_grad=requires_grad), on_min(a, requires_grad)


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_view_ops_on_a_device_with_primitives_only(kind):
    """permute, expand, slicing, diagonal, squeeze / unsqueeze and mT through MIN's fallbacks
    (plan + as_strided), forward and backward, agree with the CPU's NumPy views (diagonal's
    backward makes a tensor by device name, which MIN has not: forward only)."""
    a = _strided(RNG.standard_normal((4, 1, 3, 5)), kind).copy()
    fns = [lambda t: t.permute(2, 0, 3, 1) if t.ndim == 4 else t.T,
           lambda t: t.expand(2, *t.shape) * 1,
           lambda t: t[1:, ..., ::2] if t.ndim else t,
           lambda t: t[-1, 0] if t.ndim == 4 else t[0],
           lambda t: t.diagonal(1, 0, -1),
           lambda t: t.squeeze().unsqueeze(1).unsqueeze(-1),
           lambda t: t.mT.contiguous(),
           lambda t: t.flip(0).roll(1, -1),
           lambda t: t.transpose(0, 2).reshape(-1)]
    for fn in fns:
        (c, cx), (m, mx) = [(fn(t), t) for t in _pair(a, True)]
        assert m._backend is MIN and tuple(m.shape) == tuple(c.shape)
        np.testing.assert_array_equal(MIN.to_numpy(m._data), c.detach().numpy())
        if fn is fns[4]:
            continue
        g = RNG.standard_normal(c.shape)
        c.backward(ng.tensor(g))
        m.backward(on_min(g))
        np.testing.assert_allclose(MIN.to_numpy(mx.grad._data), cx.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="broadcast"):
        MIN.broadcast_to(np.zeros((2, 3)), (4, 3))


def test_linear_layer_on_a_device_with_primitives_only():
    x, w, b = RNG.standard_normal((6, 4)), RNG.standard_normal((3, 4)), RNG.standard_normal(3)
    outs = []
    for make in (lambda a: ng.tensor(a, requires_grad=True), lambda a: on_min(a, True)):
        ts = [make(v) for v in (x, w, b)]
        y = ng.nn.functional.linear(*ts)
        (y * y).sum().backward()
        outs.append([t._backend.to_numpy(v) for t, v in [(y, y._data)] + [(t, t.grad._data) for t in ts]])
    for m, c in zip(*outs[::-1]):
        np.testing.assert_allclose(m, c, rtol=1e-12)


@st.composite
def _arrays_and_views(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    a = np.arange(max(math.prod(shape), 1) * 2, dtype=np.float32)[: math.prod(shape)].reshape(shape)
    if a.ndim and draw(st.booleans()):  # a strided base: transposed, and read backwards on one dim
        a = np.transpose(a, draw(st.permutations(range(a.ndim))))
        d = draw(st.integers(0, a.ndim - 1))
        a = a[(slice(None),) * d + (slice(None, None, -1),)]
    def items(dims: tuple) -> list:  # an item for each of these dims (None adds one before it)
        out = []
        for n in dims:
            kind = draw(st.sampled_from(["int", "slice", "none"]) if n else st.sampled_from(["slice", "none"]))
            if kind == "int":
                out.append(draw(st.integers(-n, n - 1)))
            elif kind == "slice":
                out.append(slice(draw(st.none() | st.integers(-5, 5)), draw(st.none() | st.integers(-5, 5)),
                                 draw(st.sampled_from([None, 1, 2, 3, -1, -2]))))
            else:
                out += [None, slice(None)]
        return out

    lead = draw(st.integers(0, a.ndim))
    trail = draw(st.integers(0, a.ndim - lead))  # items after an Ellipsis index the last dims
    index = items(a.shape[:lead])
    if trail or draw(st.booleans()):
        index += [Ellipsis] + items(a.shape[a.ndim - trail:])
    return a, tuple(index), draw(st.permutations(range(a.ndim))), tuple(draw(st.permutations(shape)))


def _same_view(layout, got: np.ndarray, base: np.ndarray) -> None:
    shape, strides, off = layout
    assert shape == got.shape
    it = base.itemsize
    if got.size:  # (an empty array's strides are arbitrary)
        assert all(s * it == g for s, g, n in zip(strides, got.strides, shape) if n > 1), (strides, got.strides)
        assert off * it == got.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    np.testing.assert_array_equal(CPU.as_strided(base, *layout), got)


@settings(max_examples=50, deadline=None)
@given(_arrays_and_views())
def test_plan_layouts_are_numpys_views(case):
    a, index, perm, to = case
    st_ = CPU.strides(a)
    _same_view(index_layout(a.shape, st_, index), a[with_ellipsis(index)], a)
    _same_view(permute_layout(a.shape, st_, tuple(perm)), np.transpose(a, perm), a)
    if a.ndim >= 2:
        _same_view(diagonal_layout(a.shape, st_, 1, 0, a.ndim - 1), np.diagonal(a, 1, 0, a.ndim - 1), a)
        _same_view(swapaxes_layout(a.shape, st_, 0, a.ndim - 1), np.swapaxes(a, 0, -1), a)
    _same_view(expand_dims_layout(a.shape, st_, a.ndim), np.expand_dims(a, a.ndim), a)
    ones = tuple(d for d, n in enumerate(a.shape) if n == 1)
    _same_view(squeeze_layout(a.shape, st_, ones), np.squeeze(a, ones), a)
    _same_view(broadcast_layout(a.shape, st_, (2,) + a.shape), np.broadcast_to(a, (2,) + a.shape), a)
    # reshape: a view exactly where NumPy makes one without a copy
    try:
        want = a.reshape(to, copy=False)
    except ValueError:
        want = None
    got = reshape_strides(a.shape, st_, to)
    assert (got is None) == (want is None)
    if want is not None and a.size:
        _same_view((to, got, 0), want, a)
# ---------------------------------------------------------------- the kernel families' fallbacks (issue 15)
F = ng.nn.functional


def _on_cpu(a, requires_grad=False) -> Tensor:
    return ng.tensor(a, requires_grad=requires_grad)


def _host(t: Tensor) -> np.ndarray:
    return t._backend.to_numpy(t._data)


def _run(fn, *arrays, grad=True):
    """fn on tensors of `arrays` on the CPU and on MIN: each run's outputs, and the float inputs'
    gradients of sum(out * w) over the float outputs (w: the same random weights in both)."""
    runs = []
    for make in (_on_cpu, on_min):
        ts = [make(a.copy(), grad and a.dtype.kind == "f") for a in arrays]
        out = fn(*ts)
        outs = tuple(out) if isinstance(out, tuple) else (out,)
        assert all(o._backend is ts[0]._backend for o in outs)
        wr = np.random.default_rng(7)
        parts = [(o * make(wr.standard_normal(o.shape))).sum() for o in outs if o.requires_grad]
        if parts:
            sum(parts[1:], parts[0]).backward()
        runs.append(([_host(o) for o in outs], [_host(t.grad) for t in ts if t.requires_grad]))
    return runs


def _same(fn, *arrays, grad=True, exact=False, tol=1e-12):
    (cpu_out, cpu_g), (min_out, min_g) = _run(fn, *arrays, grad=grad)
    assert len(min_g) == len(cpu_g) and len(min_out) == len(cpu_out)
    for a, b in zip(min_out + min_g, cpu_out + cpu_g):
        assert a.dtype == b.dtype and a.shape == b.shape
        if exact or a.dtype.kind != "f":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.parametrize("stride, padding, dilation, groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), ((1, 2), (2, 1), (2, 1), 1), (1, 1, 2, 2), (2, "same", 1, 1),
])
def test_conv2d(stride, padding, dilation, groups):
    if padding == "same":
        stride = 1
    x, w, b = RNG.standard_normal((2, 4, 7, 6)), RNG.standard_normal((6, 4 // groups, 3, 2)), RNG.standard_normal(6)
    _same(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups), x, w, b)


def test_conv1d_and_transposed():
    x1, w1 = RNG.standard_normal((2, 3, 9)), RNG.standard_normal((4, 3, 3))
    _same(lambda x, w: F.conv1d(x, w, stride=2, padding=1, dilation=2), x1, w1)
    _same(lambda x, w: F.conv_transpose1d(x, w.transpose(0, 1), stride=2, padding=1, output_padding=1), x1, w1)
    x2, w2, b2 = RNG.standard_normal((2, 4, 5, 4)), RNG.standard_normal((4, 3, 3, 2)), RNG.standard_normal(6)
    _same(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
          x2, w2, b2)


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil", [
    (2, None, 0, 1, False), (3, 2, 1, 1, True), ((3, 2), (1, 2), (1, 1), (2, 1), False),
])
def test_max_pool(kernel, stride, padding, dilation, ceil):
    x = np.round(RNG.standard_normal((2, 3, 7, 6)) * 2) / 2  # ties
    x[0, 0, 1, 1:3] = np.nan  # a window's nans: torch's index is the last one
    x[1, 2, 2:5, :] = -np.inf
    _same(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode=ceil, return_indices=True), x)
    _same(lambda x: F.max_pool1d(x[:, :, 2], 3, 2, 1, return_indices=True), x)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_scans(dt):
    x = (np.round(RNG.standard_normal((4, 6, 5)) * 2) / 2).astype(dt)  # ties
    x[1, 2, 0] = x[2, 3:5, 1] = np.nan
    tol = 1e-5 if dt == np.float32 else 1e-12
    for d in (0, 1, -1):
        _same(lambda t: (t.cumsum(d), t.cumprod(d), t.logcumsumexp(d)), x, tol=tol)
        _same(lambda t: (*t.cummax(d), *t.cummin(d)), x, exact=True)
    n = RNG.integers(-3, 4, (3, 5))
    _same(lambda t: (t.cumsum(1), t.cumprod(0), *t.cummax(1)), n, exact=True)


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int64])
def test_order(dt):
    x = RNG.integers(-3, 4, (4, 9)).astype(dt)  # ties
    if dt != np.int64:
        x[1, [2, 5]] = np.nan
        x[2, 0] = -0.0
    for d in (0, 1):
        for desc in (False, True):
            _same(lambda t: (*t.sort(d, descending=desc), t.argsort(d, descending=desc)), x, exact=True)
        for largest in (False, True):
            _same(lambda t: tuple(t.topk(2, d, largest=largest)), x, exact=True)
    _same(lambda t: (t.kthvalue(3, 1)[0], t.median(1)[1]), x, exact=True)


def test_searchsorted_and_bucketize():
    seq = np.sort(RNG.integers(0, 5, (3, 8)).astype(np.float64), 1)  # repeated boundaries
    seq[0, -2:] = np.nan
    v = RNG.integers(-1, 7, (3, 5)).astype(np.float64)
    v[1, 1] = np.nan
    for right in (False, True):
        _same(lambda s, t: ng.searchsorted(s, t, right=right), seq, v, grad=False)
        _same(lambda s, t: ng.searchsorted(s[0], t, right=right), seq, v, grad=False)
        _same(lambda s, t: ng.bucketize(t, s[2], right=right, out_int32=True), seq, v, grad=False)


def test_index_add_and_checked_indices():
    x, src = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 3))
    idx = np.array([4, 0, 4])
    _same(lambda x, s, i: x.index_add(1, i, s, alpha=2.0), x, src, idx)
    _same(lambda x, i: (x.index_select(1, i), x.gather(1, i[None].repeat(4, 0))), x, idx)
    _same(lambda x, i: x[:, i - 5], x, idx)  # negative positions, wrapped by check_index
    for dev in (_on_cpu, on_min):
        with pytest.raises(IndexError, match="out of range"):
            dev(x).index_select(1, dev(np.array([0, 5])))
