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

# start-up and memory spawn interpreters: tested below with nbgrad (and numpy) only
SPAWNING = ("startup", "startup_cold", "memory")
QUICK_CASES = [c for c in B.ALL_CASES if c not in SPAWNING]


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
    res = B.run_case(case, libs, repeats=2, warmup=1, quick=True, log=lambda *_: None)
    assert res["case"] == case and res["unit"] == "s"
    assert not res["skipped"], res["skipped"]
    assert set(res["libs"]) == set(libs) & set(B.case_spec(case, True)[1])  # (conv2d: no autograd peer)
    for lib, r in res["libs"].items():
        assert r["n"] == 2 and r["median"] >= 0 and r["first_call_s"] >= 0, lib
    assert res["libs"]["nbgrad"]["ratio_to_nbgrad"] == pytest.approx(1.0)
    # after warm-up the libraries were timed A B C D A B C D
    assert res["order"] == list(res["libs"]) * 2
    assert B.is_alternating(res["order"])


def test_is_alternating():
    assert B.is_alternating(["a", "b", "a", "b"])
    assert not B.is_alternating(["a", "a", "b", "b"])
    assert not B.is_alternating(["a", "b", "a"])
    assert not B.is_alternating([])


@pytest.mark.parametrize("case", ["startup", "startup_cold"])
def test_startup_runs(case, libs):
    res = B.run_case(case, {"nbgrad": libs["nbgrad"]}, repeats=1, warmup=1, quick=True, log=lambda *_: None)
    assert not res["skipped"], res["skipped"]
    assert res["libs"]["nbgrad"]["median"] > 0


def test_memory_runs(libs):
    sub = {k: libs[k] for k in ("nbgrad", "numpy")}
    res = B.run_case("memory", sub, repeats=1, warmup=1, quick=True, log=lambda *_: None)
    assert not res["skipped"], res["skipped"]
    assert res["unit"] == "MiB" and res["order"] == ["nbgrad", "numpy"]
    for r in res["libs"].values():
        assert r["peak_mib"] > 0 and r["step_mib"] >= 0


def test_progress_bar_writes_to_stream():
    import io
    buf = io.StringIO()
    p = B.Progress(4, stream=buf)
    p.line("case a")
    for _ in range(4):
        p.tick("x")
    p.close()
    assert "case a" in buf.getvalue() and "%" in buf.getvalue()


def test_main_quick_writes_json(tmp_path, capsys):
    out = B.main(["--quick", "--cases", "tutorial,sum", "--repeats", "1", "--out", str(tmp_path), "--threads", "2"])
    assert [r["case"] for r in out["results"]] == ["tutorial", "sum"]
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["results"][0]["libs"]["nbgrad"]["n"] == 1
    assert data["results"][0]["alternating"]
    th = data["meta"]["threads"]
    assert th["env"]["NUMBA_NUM_THREADS"] == "2" and th["env"]["OMP_NUM_THREADS"] == "2"
    assert "torch.get_num_threads" in th or importlib.util.find_spec("torch") is None
    assert any(t["case"] == "tutorial" for t in data["targets"])
    assert (tmp_path / "results.md").read_text().startswith("| case |")
    assert (tmp_path / "results.png").exists() == (importlib.util.find_spec("matplotlib") is not None)
    captured = capsys.readouterr()
    printed = captured.out
    assert "x nbgrad" in printed and "nbgrad/torch" in printed and "targets" in printed
    assert "alternated" in printed
    assert "%" in captured.err  # the progress bar


def test_missing_peer_is_skipped_with_message(capsys, monkeypatch):
    real_import = __import__

    def fake_import(name, *a, **k):
        if name == "autograd":
            raise ImportError("pretend autograd is missing")
        return real_import(name, *a, **k)
    monkeypatch.setattr("builtins.__import__", fake_import)
    B.main(["--quick", "--cases", "tutorial", "--repeats", "1", "--no-write"])
    assert "skipping autograd: not available" in capsys.readouterr().out


def test_baseline_nbgrad_runs_alongside(libs, tmp_path):
    """--baseline DIR: an nbgrad from another folder (here this one) timed in the same run."""
    import nbgrad

    root = os.path.dirname(os.path.dirname(os.path.abspath(nbgrad.__file__)))
    base = B.load_baseline(root)
    assert base is not nbgrad and base.__name__ == "nbgrad_baseline"
    res = B.run_case("tutorial", {"nbgrad": libs["nbgrad"], B.BASELINE: base}, repeats=2, warmup=1,
                     quick=True, log=lambda *_: None)
    assert set(res["libs"]) == {"nbgrad", B.BASELINE} and B.is_alternating(res["order"])
    assert "nbgrad/baseline" in B.slowdowns([res])
    res = B.run_case("startup", {B.BASELINE: base}, repeats=1, warmup=1, quick=True, log=lambda *_: None)
    assert not res["libs"] and not res["skipped"]  # fresh-interpreter cases leave the baseline out


def test_case_selection():
    assert B.resolve_cases("mlp", large=False) == ["mlp_S", "mlp_M"]
    assert B.resolve_cases("mlp", large=True) == ["mlp_S", "mlp_M", "mlp_L"]
    assert B.resolve_cases("reductions,tutorial", large=False)[-1] == "tutorial"
    assert "mlp_L" not in B.resolve_cases(None, large=False)
    with pytest.raises(SystemExit):
        B.resolve_cases("nope", large=False)


def test_gpu_check_runs_on_the_simulator(tmp_path):
    """benches/gpu_check.py (what a GPU session runs) end to end at --tiny sizes on the CUDA
    simulator, so a session with a GPU does not spend its minutes on a Python error."""
    import subprocess

    pytest.importorskip("numba.cuda")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", NBGRAD_CUDA_LAUNCH="4,2",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "gpu.json"
    r = subprocess.run([sys.executable, "-m", "benches.gpu_check", "--tiny", "--out", str(out)], cwd=root, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert {"elementwise", "matmul_fp32", "mlp_step", "tiny_op", "fast_launch"} <= set(res)
    assert res["mlp_step"]["nbgrad_s"] > 0 and "no_split_k_s" in res["mlp_step"]
    mm = res["matmul_fp32"]  # the four float32 tile variants agree with NumPy
    diffs = [v for k, v in mm.items() if k.endswith("_max_abs_diff_vs_numpy")]
    assert len(diffs) == 4 and max(diffs) < 1e-3, mm


def test_cuda_host_cost_runs_without_a_gpu(tmp_path):
    """benches/cuda_host.py: nbgrad's CUDA ops on fake device memory with launches stubbed out
    (not the simulator), against the CPU peers, with each op's launch count."""
    import subprocess

    pytest.importorskip("numba.cuda")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_ENABLE_CUDASIM", "NBGRAD_CUDA_LAUNCH")}
    env["PYTHONPATH"] = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    out = tmp_path / "host.json"
    r = subprocess.run([sys.executable, "-m", "benches.cuda_host", "--quick", "--repeats", "1", "--out", str(out)],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["x + y"]["launches"] == 1 and res["MLP step 32-64-10, batch 16"]["launches"] == 16
    assert all(row["nbgrad cuda (host)"] > 0 and row["nbgrad cpu"] > 0 for row in res.values())
