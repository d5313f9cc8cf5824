"""PyTorch's behaviour at the edges (issue 16), each against torch: out-of-range dims, NumPy-style
keyword aliases (axis=, keepdims=), clamp with min > max, min / max of bool tensors, integer
powers, creation from bad input, empty-tensor reductions, degenerate var / std, 0-d tensors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nbgrad as ng

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

from torch_scenarios import to_numpy  # noqa: E402


def _run(fn, lib):
    """('ok', value) or (exception type, message) of fn(lib)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", fn(lib)
    except Exception as e:  # noqa: BLE001 - which error is the point
        return type(e), str(e)


def _same_error(fn, same_message=True):
    (en, mn), (et, mt) = _run(fn, ng), _run(fn, torch)
    assert et != "ok", f"torch raises nothing: {mt}"
    assert en != "ok", f"nbgrad raises nothing, torch {et.__name__}: {mt}"
    assert issubclass(en, et), (en, mn, et, mt)
    if same_message:
        assert mn == mt


def _same_value(fn, **tol):
    (kn, vn), (kt, vt) = _run(fn, ng), _run(fn, torch)
    assert kt == "ok", vt
    assert kn == "ok", vn
    for a, b in zip(vn if isinstance(vn, tuple) else (vn,), vt if isinstance(vt, tuple) else (vt,)):
        a, b = to_numpy(a), to_numpy(b)
        assert np.shape(a) == np.shape(b)
        assert np.asarray(a).dtype == np.asarray(b).dtype, (np.asarray(a).dtype, np.asarray(b).dtype)
        np.testing.assert_allclose(a, b, **tol)


def X(lib):
    return lib.arange(6.0).reshape(2, 3)


# ---------------------------------------------------------------- out-of-range dims: one IndexError everywhere
OUT_OF_RANGE = {
    "cat": lambda L: L.cat([X(L), X(L)], 2),
    "cat_negative": lambda L: L.cat([X(L), X(L)], -3),
    "stack": lambda L: L.stack([X(L), X(L)], 3),
    "stack_negative": lambda L: L.stack([X(L), X(L)], -4),
    "squeeze": lambda L: X(L).squeeze(2),
    "squeeze_dims": lambda L: X(L).squeeze((0, 2)),
    "unsqueeze": lambda L: X(L).unsqueeze(3),
    "sum": lambda L: X(L).sum(2),
    "sum_dims": lambda L: X(L).sum((0, -3)),
    "mean": lambda L: X(L).mean(-3),
    "max": lambda L: X(L).max(2),
    "min": lambda L: X(L).min(-3),
    "argmax": lambda L: X(L).argmax(2),
    "argmin": lambda L: X(L).argmin(-3),
    "softmax": lambda L: X(L).softmax(2),
    "log_softmax": lambda L: X(L).log_softmax(-3),
    "softmax_0d": lambda L: L.tensor(1.5).softmax(1),
    "log_softmax_0d": lambda L: L.tensor(1.5).log_softmax(-2),
    "logsumexp": lambda L: X(L).logsumexp(2),
    "var": lambda L: X(L).var(2),
    "std": lambda L: X(L).std(-3),
    "transpose": lambda L: X(L).transpose(0, 2),
    "transpose_0d": lambda L: L.tensor(1.0).transpose(0, 1),
    "flatten": lambda L: X(L).flatten(0, 2),
    "flatten_start": lambda L: X(L).flatten(2),
    "flatten_0d": lambda L: L.tensor(1.0).flatten(1),
    "permute": lambda L: X(L).permute(0, 2),
    "movedim": lambda L: X(L).movedim(0, 2),
    "split": lambda L: X(L).split(1, 2),
    "chunk": lambda L: X(L).chunk(2, 2),
    "narrow": lambda L: X(L).narrow(2, 0, 1),
    "unbind": lambda L: X(L).unbind(2),
    "flip": lambda L: X(L).flip(2),
    "roll": lambda L: X(L).roll(1, 2),
    "gather": lambda L: X(L).gather(2, L.zeros(2, 3, dtype=L.int64)),
    "index_select": lambda L: X(L).index_select(2, L.tensor([0])),
    "size": lambda L: X(L).size(2),
    "normalize": lambda L: L.nn.functional.normalize(X(L), dim=2),
    "glu": lambda L: L.nn.functional.glu(X(L), 2),
    "softmin": lambda L: L.nn.functional.softmin(X(L), 2),
    "cosine_similarity": lambda L: L.nn.functional.cosine_similarity(X(L), X(L), dim=2),
}


@pytest.mark.parametrize("name", sorted(OUT_OF_RANGE))
def test_out_of_range_dim_is_torchs_index_error(name):
    _same_error(OUT_OF_RANGE[name])


DIM_ERRORS = {
    "sum_repeated_dim": lambda L: X(L).sum((0, 0)),
    "sum_repeated_negative_dim": lambda L: X(L).sum((1, -1)),
    "permute_duplicate": lambda L: X(L).permute(1, 1),
    "permute_length": lambda L: X(L).permute(1, 0, 2),
    "flatten_start_after_end": lambda L: L.ones(2, 3, 4).flatten(2, 1),
    "cat_0d": lambda L: L.cat([L.tensor(1.0), L.tensor(2.0)]),
    "size_0d": lambda L: L.tensor(1.0).size(0),
}


@pytest.mark.parametrize("name", sorted(DIM_ERRORS))
def test_dim_errors_as_torch(name):
    _same_error(DIM_ERRORS[name])


DIM_VALUES = {  # what a 0-d tensor or a negative dim gives
    "softmax_0d": lambda L: L.tensor(1.5).softmax(-1),
    "sum_0d": lambda L: L.tensor(1.5).sum(0),
    "flatten_0d": lambda L: L.tensor(1.5).flatten(-1),
    "transpose_0d": lambda L: L.tensor(1.5).transpose(-1, 0),
    "squeeze_negative": lambda L: L.ones(2, 1).squeeze(-1),
    "stack_negative": lambda L: L.stack([X(L), X(L)], -1),
    "cat_negative": lambda L: L.cat([X(L), X(L)], -2),
    "permute_negative": lambda L: X(L).permute(-1, 0),
    "size_negative": lambda L: X(L).size(-1),
    "max_0d_dim": lambda L: tuple(L.tensor(2.5).max(0)),
}


@pytest.mark.parametrize("name", sorted(DIM_VALUES))
def test_dim_values_as_torch(name):
    _same_value(DIM_VALUES[name])
