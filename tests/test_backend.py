"""The CPU backend: serial and parallel kernels agree, cache fallback, device errors."""

import os

import numpy as np
import pytest

import nbgrad as ng
from nbgrad.backends import get_backend
from nbgrad.backends.cpu import _numba_setup
from nbgrad.backends.cpu.kernels import elementwise as cpu_kernels


def test_parallel_and_serial_kernels_agree():
    be = get_backend("cpu")
    rng = np.random.default_rng(0)
    n = cpu_kernels.parallel_threshold("mul") * 2
    a = rng.standard_normal(n)
    b = rng.standard_normal(n)
    big = be.elementwise("mul", [a, b], a.shape, a.dtype)
    small = np.concatenate([be.elementwise("mul", [a[i:i + 1024], b[i:i + 1024]], (1024,), a.dtype)
                            for i in range(0, n, 1024)])
    np.testing.assert_array_equal(big, small)
    np.testing.assert_array_equal(big, a * b)


def test_large_sum_matches_numpy():
    be = get_backend("cpu")
    x = np.random.default_rng(1).standard_normal((300, 400))
    np.testing.assert_allclose(be.sum(x, (0,), False), x.sum(0), rtol=1e-12)
    np.testing.assert_allclose(be.sum(x, (1,), True), x.sum(1, keepdims=True), rtol=1e-12)


def test_cache_dir_fallback_when_source_is_read_only(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(_numba_setup.os, "access", lambda *a: False)
    _numba_setup.ensure_cache_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "nbgrad" / "numba")
    assert os.path.isdir(os.environ["NUMBA_CACHE_DIR"])


def test_cuda_without_gpu_is_a_clear_error():
    """Without the simulator and without a GPU, device='cuda' says what is missing."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = ("import nbgrad as ng\ntry:\n    ng.ones(3, device='cuda')\nexcept RuntimeError as e:\n    print(e)\n"
            "print(ng.cuda.is_available())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    if out.strip().endswith("True"):
        pytest.skip("this machine has a usable GPU")
    assert "cannot use device 'cuda'" in out
    assert "numba-cuda" in out or "no usable NVIDIA GPU" in out or "could not start" in out


def test_unknown_device():
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        ng.ones(3, device="tpu")


def test_every_node_has_a_formula():
    from nbgrad.autograd.function import Node

    missing = []
    stack = list(Node.__subclasses__())
    while stack:
        c = stack.pop()
        stack.extend(c.__subclasses__())
        if not c.name.startswith("_") and c.name != "Node" and not c.formula:
            missing.append(c.name)
    assert not missing
    table = ng.ops.derivatives()
    assert table["MulBackward0"] == "self: grad * other; other: grad * self"
    assert "AccumulateGrad" in table


def test_autograd_layer_never_imports_numba():
    import ast
    import pathlib

    root = pathlib.Path(ng.__file__).parent
    for folder in ("autograd", "ops", "nn", "optim"):
        for f in (root / folder).glob("*.py"):
            tree = ast.parse(f.read_text())
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                    assert not any(n.startswith("numba") for n in names), f


def test_generated_elementwise_kernels_are_up_to_date():
    from nbgrad.backends.cpu import codegen

    assert codegen.TARGET.read_text() == codegen.source(), "run: python -m nbgrad.backends.cpu.codegen"


# ------------------------------------------------------------------ the CPU kernels' special paths
# (broadcasts read in place, Fortran and mixed layouts, vectorised float32 transcendentals,
# parallel sums) against NumPy
_BCAST = [((512, 4096), (4096,)), ((512, 4096), (512, 1)), ((4, 5, 6), (5, 6)), ((4, 5, 6), (4, 1, 1)),
          ((4, 5, 6), (4, 1, 6)), ((300, 300), ()), ((3,), (1,)), ((2, 1), (1, 3)), ((2, 1), (2,)),
          ((70000,), (1,)), ((1, 70000), (70000,)), ((70000, 1), (1, 1, 1))]


@pytest.mark.parametrize("sa,sb", _BCAST, ids=str)
def test_cpu_elementwise_broadcast_paths(sa, sb):
    from nbgrad.backends.cpu import CpuBackend

    be, rng = CpuBackend(), np.random.default_rng(0)
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    shape = np.broadcast_shapes(sa, sb)
    for op, ref in (("add", np.add), ("tanh_bw", lambda g, y: g * (1 - y * y)), ("mul", np.multiply)):
        for x, y in ((a, b), (b, a)):
            np.testing.assert_allclose(be.elementwise(op, [x, y], shape, np.float32), ref(x, y), rtol=1e-6, atol=1e-6)
    r = be.elementwise("where", [a > 0, a, np.float32(0)], a.shape, np.float32)
    np.testing.assert_array_equal(r, np.where(a > 0, a, 0))


def test_cpu_layouts_and_float32_transcendentals():
    from nbgrad.backends.cpu import CpuBackend

    be, rng = CpuBackend(), np.random.default_rng(1)
    x = rng.standard_normal((3, 70000)).astype(np.float32) * 4
    refs = (("exp", np.exp), ("tanh", np.tanh), ("sigmoid", lambda v: 1 / (1 + np.exp(-v.astype(np.float64)))))
    for op, ref in refs:
        for arr in (x, x[:, ::2], x.T):  # contiguous, strided, Fortran order
            np.testing.assert_allclose(be.elementwise(op, [arr], arr.shape, np.float32), ref(arr), rtol=4e-7, atol=0)
    m = rng.standard_normal((300, 200)).astype(np.float32)
    f = np.asfortranarray(rng.standard_normal((300, 200)).astype(np.float32))
    for p, q in ((m, f), (f, m), (f, f), (m.T, f.T)):  # mixed C / Fortran 2-D operands
        np.testing.assert_allclose(be.elementwise("sub", [p, q], p.shape, np.float32), p - q, rtol=1e-6)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 100.0, -100.0, 1e-40], np.float32)
    for op, ref in refs:
        with np.errstate(over="ignore"):
            want = ref(specials).astype(np.float32)
        np.testing.assert_allclose(be.elementwise(op, [specials], specials.shape, np.float32), want,
                                   rtol=4e-7, atol=1e-45)


@pytest.mark.parametrize("shape,axes", [((4096, 1024), (1,)), ((4096, 1024), (0,)), ((7, 300, 50), (1,)),
                                        ((7, 300, 50), (0, 2)), ((100000,), (0,)), ((3, 100000), (1,)),
                                        ((100000, 3), (0,)), ((5,), (0,))], ids=str)
def test_cpu_sum_paths(shape, axes):
    from nbgrad.backends.cpu import CpuBackend

    be, rng = CpuBackend(), np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(be.sum(x, axes, False), x.astype(np.float64).sum(axis=axes), rtol=1e-6, atol=1e-5)
    xi = rng.integers(-5, 5, shape)
    np.testing.assert_array_equal(be.sum(xi, axes, True), xi.sum(axis=axes, keepdims=True))


def test_parallel_kernels_with_single_values_rows_and_in_place():
    """Sizes above the parallel thresholds: a single value (a 0-d array hoisted before the loop),
    a row operand (2-D kernels), and the in-place kernels SGD uses."""
    be = get_backend("cpu")
    rng = np.random.default_rng(2)
    n = cpu_kernels.parallel_threshold("mul") + 7
    x = rng.standard_normal(n).astype(np.float32)
    two = np.asarray(2.5, np.float32)
    np.testing.assert_array_equal(be.elementwise("mul", [x, two], x.shape, x.dtype), x * two)
    m = rng.standard_normal((n // 512 + 1, 512)).astype(np.float32)
    row = rng.standard_normal(512).astype(np.float32)
    np.testing.assert_array_equal(be.elementwise("add", [m, row], m.shape, m.dtype), m + row)
    p, d = x.copy(), rng.standard_normal(n).astype(np.float32)
    be.elementwise("sub_mul", [p, d, np.asarray(0.1, np.float32)], p.shape, p.dtype, out=p)
    np.testing.assert_allclose(p, x - d * np.float32(0.1), rtol=1e-6)
    t = rng.standard_normal(cpu_kernels.parallel_threshold("tanh") + 3).astype(np.float32)
    np.testing.assert_allclose(be.elementwise("tanh", [t], t.shape, t.dtype), np.tanh(t), atol=2e-7)


@pytest.mark.parametrize("threshold", [0, 1 << 40])  # the parallel and the serial variant
@pytest.mark.parametrize("A,K,B", [(1, 37, 5), (3, 11, 1), (40, 6, 3), (2, 9, 40)])
def test_index_kernels_split_work_without_races(threshold, A, K, B):
    """The CPU's gather / scatter / index_select / index_add kernels, as tasks over rows or
    destination blocks, against NumPy with repeated indices (accumulated in index order)."""
    from nbgrad.backends.cpu.kernels import index as KI

    rng = np.random.default_rng(A * 100 + K * 10 + B)
    x = rng.standard_normal((A, K, B))
    idx = rng.integers(0, K, (A, 2 * K, B))
    out = np.empty(idx.shape)
    KI.gather3(x, idx, out, threshold)
    np.testing.assert_array_equal(out, np.take_along_axis(x, idx, 1))
    src = rng.standard_normal(idx.shape)
    for mode, ufunc in ((1, np.add), (2, np.multiply), (3, np.fmax), (4, np.fmin)):
        dst, want = x.copy(), x.copy()
        KI.scatter3(dst, idx, src, mode, threshold)
        aa, _, bb = np.meshgrid(np.arange(A), np.arange(2 * K), np.arange(B), indexing="ij")
        ufunc.at(want, (aa, idx, bb), src)
        np.testing.assert_allclose(dst, want, rtol=1e-12)
    rows = rng.integers(0, K, 3 * K)
    sel = np.empty((A, rows.size, B))
    KI.index_select3(x, rows, sel, threshold)
    np.testing.assert_array_equal(sel, x[:, rows])
    dst, want = x.copy(), x.copy()
    add = rng.standard_normal((A, rows.size, B))
    KI.index_add3(dst, rows, add, 0.5, threshold)
    np.add.at(want, (slice(None), rows), 0.5 * add)
    np.testing.assert_allclose(dst, want, rtol=1e-12)


def test_cpu_copy_of_large_strided_views_runs_the_parallel_kernel():
    """Backend.copy of a large broadcast / transposed / sliced view (a leaf's first .grad from
    an expand) is a C-ordered copy equal to NumPy's, sharing no memory."""
    be = get_backend("cpu")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1300, 900)).astype(np.float32)
    for v in (np.broadcast_to(a[:, :1], a.shape), np.broadcast_to(a[0], a.shape), a[:, ::-1], a.T, a[::2]):
        c = be.copy(v)
        assert c.shape == v.shape and not np.shares_memory(c, v)
        np.testing.assert_array_equal(c, v)
    x = ng.tensor(a[:1100], requires_grad=True)
    x.sum(dim=1).sum().backward()
    assert x.grad.is_contiguous() and float(x.grad.numpy().min()) == 1.0 == float(x.grad.numpy().max())
