"""Smoke test of the benchmark suite: every case runs once at --quick sizes and returns results.

No timing assertions: only that each library that is installed produced a timed result.
"""

from __future__ import annotations

import importlib.util
import json
import os

import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benches import run as B  # noqa: E402

QUICK_CASES = [c for c in B.ALL_CASES if c != "startup"]  # start-up spawns interpreters: skipped here


@pytest.fixture(autouse=True)
def _restore_env():
    """B.main() sets thread env vars; keep them from leaking into other tests' subprocesses."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def libs():
    libs, _skipped = B.load_libs(B.LIBS)
    assert "nbgrad" in libs and "numpy" in libs
    return libs


@pytest.mark.parametrize("case", QUICK_CASES)
def test_case_runs_quick(case, libs):
    res = B.run_case(case, libs, repeats=1, warmup=1, quick=True, log=lambda *_: None)
    assert res["case"] == case
    assert not res["skipped"], res["skipped"]
    assert set(res["libs"]) == set(libs)
    for lib, r in res["libs"].items():
        assert r["n"] == 1 and r["median_s"] >= 0, lib
    assert res["libs"]["nbgrad"]["ratio_to_nbgrad"] == pytest.approx(1.0)


def test_main_quick_writes_json(tmp_path, capsys):
    out = B.main(["--quick", "--cases", "tutorial,sum", "--repeats", "1", "--out", str(tmp_path)])
    assert [r["case"] for r in out["results"]] == ["tutorial", "sum"]
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["results"][0]["libs"]["nbgrad"]["n"] == 1
    assert "torch.get_num_threads" in data["meta"]["threads"] or importlib.util.find_spec("torch") is None
    printed = capsys.readouterr().out
    assert "x nbgrad" in printed and "nbgrad/torch" in printed


def test_missing_peer_is_skipped_with_message(capsys, monkeypatch):
    real_import = __import__

    def fake_import(name, *a, **k):
        if name == "autograd":
            raise ImportError("pretend autograd is missing")
        return real_import(name, *a, **k)
    monkeypatch.setattr("builtins.__import__", fake_import)
    B.main(["--quick", "--cases", "tutorial", "--repeats", "1", "--no-write"])
    assert "skipping autograd: not available" in capsys.readouterr().out


def test_case_selection():
    assert B.resolve_cases("mlp", large=False) == ["mlp_S", "mlp_M"]
    assert B.resolve_cases("mlp", large=True) == ["mlp_S", "mlp_M", "mlp_L"]
    assert B.resolve_cases("reductions,tutorial", large=False)[-1] == "tutorial"
    assert "mlp_L" not in B.resolve_cases(None, large=False)
    with pytest.raises(SystemExit):
        B.resolve_cases("nope", large=False)
