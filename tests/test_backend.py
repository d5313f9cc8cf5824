"""The CPU backend: serial and parallel kernels agree, cache fallback, device errors."""

import os

import numpy as np
import pytest

import nbgrad as ng
from nbgrad.backends import _numba_setup, cpu_kernels, get_backend


def test_parallel_and_serial_kernels_agree():
    be = get_backend("cpu")
    rng = np.random.default_rng(0)
    n = cpu_kernels.PARALLEL_THRESHOLD * 2
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
    from nbgrad.backends import codegen

    assert codegen.TARGET.read_text() == codegen.source(), "run: python -m nbgrad.backends.codegen"
