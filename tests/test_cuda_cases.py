"""Every op family's cases (tests/cases_*.py, the ones the second-derivative tests run against
torch) on the CUDA backend (the simulator in CI): values and input gradients, under a
non-uniform upstream gradient, equal the CPU's in float64."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import nbgrad as ng

MODULES = ("cases_math", "cases_act", "cases_loss", "cases_linalg", "cases_index", "cases_scan", "cases_norm",
           "cases_conv")
CASES = [(m, name) for m in MODULES for name in importlib.import_module(m).CASES]


def _run(case: tuple, device: str) -> tuple[list, list]:
    fn, arrays = case[0], case[1]
    nograd = case[2] if len(case) > 2 else ()
    ng.set_default_device(device)
    try:
        xs = [ng.tensor(np.asarray(a), requires_grad=np.asarray(a).dtype.kind == "f" and i not in nograd)
              for i, a in enumerate(arrays)]
        y = fn(*xs)
        y = y[0] if isinstance(y, (tuple, list)) else y
        out = y.detach().cpu().numpy()
        if y.requires_grad:
            g = np.random.default_rng(0).standard_normal(tuple(y.shape))
            y.backward(ng.tensor(g, dtype=y.dtype))
        return [out], [None if x.grad is None else x.grad.cpu().numpy() for x in xs]
    finally:
        ng.set_default_device("cpu")


@pytest.mark.skipif(not ng.cuda.is_available(), reason="no CUDA device and no simulator")
@pytest.mark.parametrize("module,name", CASES, ids=[f"{m[6:]}.{n}" for m, n in CASES])
def test_case_on_cuda_matches_cpu(module, name):
    case = importlib.import_module(module).CASES[name]
    (want,), want_grads = _run(case, "cpu")
    (got,), got_grads = _run(case, "cuda")
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    for a, b in zip(want_grads, got_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, equal_nan=True)
