"""nbgrad-tui run under MPI: which rank debugs (the rank read from the launcher's environment,
--rank K), the other ranks running the script as plain Python, and DistributedDataParallel's
bucket allreduces in the event log of an exported call.

The unit tests set PMI_RANK / PMI_SIZE themselves (no mpiexec); two real jobs run under
`mpiexec -n 2` on this machine only (the fork launcher, UCX on shared memory, as
tests/test_distributed.py runs its jobs) and are skipped when MPI is missing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
TOOL = [sys.executable, "-m", "nbgrad_tui.cli"]
MPI_VARS = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMIX_SIZE")

PLAIN = """
import sys
import nbgrad as ng
w = ng.tensor([1.0, 2.0], requires_grad=True)
(w * w).sum().backward()
print("ran", sys.argv[1:], w.grad.numpy().tolist())
sys.exit(3)
"""

# DDP with two gradient buckets; each rank moves into a directory of its own (r0, r1) before
# training, so a relative --export DIR shows which ranks exported
DDP = """
import os
import nbgrad as ng
import nbgrad.distributed as dist
from nbgrad.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank = dist.get_rank()
os.makedirs(f"r{rank}", exist_ok=True)
os.chdir(f"r{rank}")
ng.manual_seed(0)
model = DDP(ng.nn.Sequential(ng.nn.Linear(3, 4), ng.nn.ReLU(), ng.nn.Linear(4, 2)), bucket_cap_mb=0.00005)
opt = ng.optim.SGD(model.parameters(), lr=0.1)
x = ng.randn(5, 3)
for _ in range(2):
    opt.zero_grad()
    model(x).pow(2).sum().backward()
    opt.step()
print(f"rank {rank} trained, buckets {len(model.buckets)}")
dist.destroy_process_group()
"""


def _script(tmp_path: Path, source: str, name: str = "script.py") -> str:
    p = tmp_path / name
    p.write_text(textwrap.dedent(source))
    return str(p)


@pytest.fixture
def no_mpi_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for v in MPI_VARS:
        monkeypatch.delenv(v, raising=False)
    return monkeypatch


def _main(*args: str) -> int:
    from nbgrad_tui.cli import main

    return main(list(args))


# ---------------------------------------------------------------------- unit: no mpiexec

def test_rank_from_the_environment() -> None:
    from nbgrad_tui.cli import mpi_rank

    assert mpi_rank({}) is None
    assert mpi_rank({"PMI_RANK": "1", "PMI_SIZE": "2"}) == (1, 2)
    assert mpi_rank({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4"}) == (3, 4)
    assert mpi_rank({"PMIX_RANK": "0"}) == (0, None)
    assert mpi_rank({"PMI_RANK": "x"}) is None


def test_another_rank_runs_the_script_plainly(tmp_path: Path, no_mpi_env: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    p = _script(tmp_path, PLAIN)
    d = tmp_path / "out"
    no_mpi_env.setenv("PMI_RANK", "1")
    no_mpi_env.setenv("PMI_SIZE", "2")
    assert _main("run", "--export", str(d), p, "a", "b") == 3  # the script's exit status
    out, err = capsys.readouterr()
    assert out == "ran ['a', 'b'] [2.0, 4.0]\n" and err == ""
    assert not d.exists()
    assert _main("run", "--rank", "1", "--export", str(d), p) == 3  # rank 1 picked: it exports
    assert {"backward-1.dot", "backward-1.json", "backward-1.svg"} <= set(os.listdir(d))
    log = json.loads((d / "backward-1.json").read_text())
    assert log["title"] == "script.py (rank 1 of 2)" and log["script"] == "script.py"


def test_rank_0_exports_and_says_which_rank(tmp_path: Path, no_mpi_env: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    p = _script(tmp_path, PLAIN)
    d = tmp_path / "out"
    no_mpi_env.setenv("PMI_RANK", "0")
    no_mpi_env.setenv("PMI_SIZE", "2")
    assert _main("run", "--export", str(d), p) == 3
    assert capsys.readouterr().out == "ran [] [2.0, 4.0]\n"
    log = json.loads((d / "backward-1.json").read_text())
    assert log["title"] == "script.py (rank 0 of 2)" and log["state"] == "finished"
    assert log["events"][0].startswith("backward pass over")


def test_rank_out_of_range_and_outside_mpi(tmp_path: Path, no_mpi_env: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    p = _script(tmp_path, PLAIN)
    d = tmp_path / "out"
    no_mpi_env.setenv("PMI_RANK", "1")
    no_mpi_env.setenv("PMI_SIZE", "2")
    assert _main("run", "--rank", "5", "--export", str(d), p) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--rank 5" in err and "2 ranks (0 to 1)" in err
    no_mpi_env.delenv("PMI_RANK")
    no_mpi_env.delenv("PMI_SIZE")
    assert _main("run", "--rank", "1", "--export", str(d), p) == 2  # not under MPI: only rank 0 exists
    out, err = capsys.readouterr()
    assert out == "" and "not an MPI job" in err and "mpiexec" in err
    assert not d.exists()
    assert _main("run", "--rank", "0", "--export", str(d), p) == 3  # --rank 0 outside MPI: as without it
    assert (d / "backward-1.json").exists()
    with pytest.raises(SystemExit) as e:
        _main("run", "--rank", "-1", p)
    assert e.value.code == 2 and "--rank takes an MPI rank" in capsys.readouterr().err


def test_another_rank_prints_the_errors_python_prints(tmp_path: Path) -> None:
    p = _script(tmp_path, """
        import nbgrad as ng

        def train():
            raise ValueError("boom")

        train()
    """, "bad.py")
    env = {k: v for k, v in os.environ.items() if k not in MPI_VARS}
    r = subprocess.run([*TOOL, "run", p], env={**env, "PMI_RANK": "1", "PMI_SIZE": "2"}, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL, start_new_session=True)  # no terminal
    plain = subprocess.run([sys.executable, p], capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.returncode == 1 and plain.stderr.endswith("ValueError: boom\n")


def test_comm_events_go_to_the_open_calls_log(tmp_path: Path, no_mpi_env: pytest.MonkeyPatch) -> None:
    """Without MPI: a hook emits CommEvents as DDP does; they become lines of the call's log."""
    p = _script(tmp_path, """
        import time
        import nbgrad as ng
        from nbgrad.distributed import CommEvent, observer

        def ev(phase, iteration):
            return CommEvent(phase, "all_reduce", "ddp", 0, iteration, 3000, ("weight", "bias"), 0, 2,
                             time.perf_counter())

        model = ng.nn.Linear(2, 1)
        x = ng.ones(1, 2)
        for it in range(2):
            h = model.bias.register_post_accumulate_grad_hook(
                lambda t, it=it: (observer.emit(ev("start", it)), observer.emit(ev("done", it))))
            model(x).sum().backward()
            h.remove()
        observer.emit(ev("start", 9))  # outside any backward call: in no log
        assert observer.has_observers()
    """)
    d = tmp_path / "out"
    from nbgrad.distributed import observer

    assert _main("run", "--export", str(d), "--calls", "2", p) == 0
    assert not observer.has_observers()  # removed when the debugger stopped
    assert not (d / "backward-1.json").exists()
    events = json.loads((d / "backward-2.json").read_text())["events"]
    comm = [e for e in events if e.startswith("all_reduce")]
    assert comm[0] == "all_reduce bucket 0 started: 2 params (model.weight, model.bias), 2.9 KiB, iteration 1"
    assert comm[1].startswith("all_reduce bucket 0 done: 2 params (model.weight, model.bias), 2.9 KiB, "
                              "iteration 1, ") and comm[1].endswith(" ms after its start")
    assert len(comm) == 2


def test_the_debugger_does_not_import_mpi4py() -> None:
    code = ("import sys\nfrom nbgrad_tui.runner import Debugger\nd = Debugger('x', export_dir='.')\n"
            "d.start(); d.stop()\nassert 'mpi4py' not in sys.modules, 'mpi4py imported'\n"
            "from nbgrad.distributed import observer\nassert not observer.has_observers()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------- real: mpiexec -n 2

from test_distributed import needs_mpi  # noqa: E402  (its check that mpi4py and mpiexec are here)


def _job(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    from nbgrad.distributed.run import mpiexec_path

    env = dict(os.environ)
    # the ranks import this tree's nbgrad (after the caller's path, which may name the nbgrad_tui to test)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), ROOT) if p)
    env.setdefault("UCX_TLS", "self,sm")  # loopback: shared memory only
    env.setdefault("NUMBA_NUM_THREADS", "1")  # two ranks share the cores
    p = _script(tmp_path, DDP, "ddp_train.py")
    cmd = [mpiexec_path(), "-launcher", "fork", "-hosts", "localhost", "-n", "2", *TOOL, "run", *args, p]
    try:
        return subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"mpiexec -n 2 ran past 120 s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}")


def _check_exported(out: Path, rank: int) -> None:
    assert sorted(f for f in os.listdir(out) if f.endswith(".json")) == [
        "backward-1.json", "backward-2.json", "gradient-flow.json"]
    for call in (1, 2):
        log = json.loads((out / f"backward-{call}.json").read_text())
        assert log["title"] == f"ddp_train.py (rank {rank} of 2)" and log["state"] == "finished"
        comm = [e for e in log["events"] if e.startswith("all_reduce")]
        for b in (0, 1):  # two buckets: each started, then done, in DDP's iteration call - 1
            start = [e for e in comm if e.startswith(f"all_reduce bucket {b} started: ")]
            done = [e for e in comm if e.startswith(f"all_reduce bucket {b} done: ")]
            assert len(start) == len(done) == 1, comm
            assert comm.index(start[0]) < comm.index(done[0]) and f"iteration {call - 1}" in start[0]
        assert "model.module.2.bias" in comm[0], comm  # the user's names for the parameters
        assert len(comm) == 4, comm


@needs_mpi
@pytest.mark.parametrize("rank", [0, 1])
def test_under_mpiexec_one_rank_exports_with_ddp_events(tmp_path: Path, rank: int) -> None:
    r = _job(tmp_path, "--export", "out", *(["--rank", str(rank)] if rank else []))
    assert r.returncode == 0, r.stderr
    # (mpiexec forwards each rank's writes as they come: one rank's line and newline can be split by the other's)
    assert sorted(re.findall(r"rank \d trained, buckets \d", r.stdout)) == [
        "rank 0 trained, buckets 2", "rank 1 trained, buckets 2"], r.stdout
    assert "finished without calling" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    _check_exported(tmp_path / f"r{rank}" / "out", rank)
    assert not (tmp_path / f"r{1 - rank}" / "out").exists()  # the other rank exported nothing


def _pty_job(tmp_path: Path, *args: str, stdin_null: bool = False) -> Any:
    """`mpiexec -n 2 nbgrad-tui run ARGS ddp_train.py` in a terminal (a pty), as a user types it."""
    import shlex

    from benches.bench_tui import PtyRun
    from nbgrad.distributed.run import mpiexec_path

    p = _script(tmp_path, DDP, "ddp_train.py")
    cmd = [mpiexec_path(), "-launcher", "fork", "-hosts", "localhost", "-n", "2", *TOOL, "run", *args, p]
    line = f"cd {shlex.quote(str(tmp_path))} && exec {shlex.join(cmd)}" + (" < /dev/null" if stdin_null else "")
    pypath = os.pathsep.join(x for x in (os.environ.get("PYTHONPATH"), ROOT) if x)
    return PtyRun(["sh", "-c", line], 200, 50, env={"PYTHONPATH": pypath, "UCX_TLS": os.environ.get(
        "UCX_TLS", "self,sm"), "NUMBA_NUM_THREADS": "1"})


@needs_mpi
def test_under_mpiexec_rank_0_debugs_in_the_terminal(tmp_path: Path) -> None:
    """Hydra starts the ranks without a terminal: rank 0 draws on mpiexec's and gets the keys
    mpiexec passes on; c runs the call, and its allreduces are in the event log."""
    run = _pty_job(tmp_path)
    try:
        assert run.wait_for(rb"rank 0 of 2", timeout=60) is not None, run.out[-2000:]
        assert run.wait_for(rb"backward #1") is not None
        mark = run.send("c")
        assert run.wait_for(rb"bucket 1 done", start=mark, timeout=30) is not None, run.out[-2000:]
        mark = run.send("q")
        assert run.wait_for(rb"backward #2", start=mark, timeout=30) is not None
        mark = run.send("Q")
        assert run.wait_for(rb"rank 1 trained", timeout=30) is not None
    finally:
        rc = run.close()
    assert rc == 0
    assert not (tmp_path / "r0" / "out").exists() and not (tmp_path / "r1" / "out").exists()


@needs_mpi
def test_under_mpiexec_another_rank_needs_mpiexec_without_stdin(tmp_path: Path) -> None:
    run = _pty_job(tmp_path, "--rank", "1")  # mpiexec reads the keys: rank 1 would get none
    try:
        assert run.wait_for(rb"< /dev/null", timeout=60) is not None, run.out[-2000:]
    finally:
        rc = run.close()
    assert rc == 2 and b"rank 1 cannot get the debugger's keys" in run.out and b"trained" not in run.out


@needs_mpi
def test_under_mpiexec_without_a_terminal_the_job_ends(tmp_path: Path) -> None:
    """No terminal anywhere (a batch job) and no --export: rank 0 says so and leaves the process
    group, so the other ranks stop (nbgrad.distributed's fault handling) instead of waiting."""
    from nbgrad.distributed.run import mpiexec_path

    p = _script(tmp_path, DDP, "ddp_train.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(x for x in (os.environ.get("PYTHONPATH"), ROOT) if x),
           "NUMBA_NUM_THREADS": "1"}
    env.setdefault("UCX_TLS", "self,sm")
    r = subprocess.run([mpiexec_path(), "-launcher", "fork", "-hosts", "localhost", "-n", "2", *TOOL, "run", p],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL, start_new_session=True)
    assert r.returncode != 0 and "there is no terminal to draw the debugger on" in r.stderr, r.stderr
    assert r.stderr.count("nbgrad-tui:") == 1 and "trained" not in r.stdout
    assert "rank 1: " in r.stderr and "rank 0 has left the process group" in r.stderr


def test_debug_backward_logs_comm_events_too() -> None:
    """nbgrad_tui.debug_backward (the Python entry point) puts communication events in its log."""
    import time

    from nbgrad.distributed import CommEvent, observer
    from nbgrad_tui import debug_backward

    import nbgrad as ng

    model = ng.nn.Linear(2, 1)
    h = model.bias.register_post_accumulate_grad_hook(lambda t: observer.emit(CommEvent(
        "start", "all_reduce", "ddp", 0, 0, 12, ("weight", "bias"), 0, 2, time.perf_counter())))
    app = debug_backward(model(ng.ones(1, 2)).sum(), auto_continue=True, headless=True)  # names: this frame's
    h.remove()
    comm = [e for e in app.session.events if e.startswith("all_reduce")]
    assert comm == ["all_reduce bucket 0 started: 2 params (model.weight, model.bias), 12 B, iteration 0"], comm
    assert not observer.has_observers()
