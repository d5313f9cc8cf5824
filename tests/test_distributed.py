"""nbgrad.distributed and DistributedDataParallel, on MPI (mpi4py + the mpich wheel).

The multi-rank checks run in a few mpiexec jobs (tests/distributed_worker.py: one job per
world size packs all the checks; each rank writes its results to JSON) and each check is
asserted in a test of its own. Jobs run on this machine only (the fork launcher, UCX on
shared memory) and each has a timeout. The pure parts (bucket assignment, the sampler, the
engine's final callbacks, the errors before init) run in-process."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import nbgrad as ng
import nbgrad.distributed as dist
from nbgrad.autograd.engine import queue_callback
from nbgrad.nn.parallel import bucket_assignment

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "distributed_worker.py")


def _mpi_missing() -> str | None:
    from nbgrad.distributed.run import mpiexec_path

    if importlib.util.find_spec("mpi4py") is None:
        return 'mpi4py is not installed (pip install -e ".[distributed]")'
    try:
        mpiexec_path()
    except FileNotFoundError as e:
        return str(e)
    return None


MPI_MISSING = _mpi_missing()
needs_mpi = pytest.mark.skipif(MPI_MISSING is not None, reason=MPI_MISSING or "")
JOB_TIMEOUT_S = 150  # one job of all the checks, 3 ranks on 2 busy cores included


def mpiexec_cmd(n: int, *args: str) -> list[str]:
    from nbgrad.distributed.run import mpiexec_path

    return [mpiexec_path(), "-launcher", "fork", "-hosts", "localhost", "-n", str(n), sys.executable, WORKER, *args]


def job_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")  # the ranks import this tree's nbgrad
    env.setdefault("UCX_TLS", "self,sm")  # loopback: shared memory only, no network transport
    env.setdefault("NUMBA_NUM_THREADS", "1")  # several ranks share the cores
    return env


def run_job(n: int, mode: str, out: str, timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    try:
        p = subprocess.run(mpiexec_cmd(n, mode, out), env=job_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"mpiexec -n {n} ({mode}) ran past {timeout} s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}")
    return p, time.monotonic() - t0


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder every xdist worker of this session sees (so each job runs once per session)."""
    base = tmp_path_factory.getbasetemp()
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    d = os.path.join(str(base.parent), f"nbgrad-mpi-{run}") if run else os.path.join(str(base), "nbgrad-mpi")
    os.makedirs(d, exist_ok=True)
    return d


@functools.lru_cache(maxsize=None)
def main_results(n: int, shared: str) -> list[dict]:
    """The ranks' results of the main job at world size n: run by the first worker that asks."""
    import fcntl

    out = os.path.join(shared, f"main{n}")
    with open(os.path.join(shared, f"main{n}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = os.path.join(out, "done.json")
        if not os.path.exists(done):
            os.makedirs(out, exist_ok=True)
            p, _ = run_job(n, "main", out, JOB_TIMEOUT_S)
            with open(done, "w") as f:
                json.dump({"returncode": p.returncode, "stdout": p.stdout[-4000:], "stderr": p.stderr[-6000:]}, f)
        with open(done) as f:
            job = json.load(f)
    files = [os.path.join(out, f"rank{r}.json") for r in range(n)]
    if job["returncode"] != 0 or not all(os.path.exists(f) for f in files):
        pytest.fail(f"mpiexec -n {n} main: exit code {job['returncode']}\nstdout:\n{job['stdout']}\n"
                    f"stderr:\n{job['stderr']}")
    res = []
    for f in files:
        with open(f) as fh:
            res.append(json.load(fh))
    return res


@pytest.fixture(scope="module")
def jobs_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("mpi"))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> str:
    return shared_dir(tmp_path_factory)


CHECKS = (
    [f"all_reduce_{op}_{dt}" for dt in ("float32", "float64", "int64") for op in ("SUM", "AVG", "MAX", "MIN", "PRODUCT")]
    + ["all_reduce_noncontiguous", "all_reduce_async", "all_reduce_async_noncontiguous_avg", "all_reduce_bool",
       "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter_tensor", "reduce", "gather", "scatter",
       "send_recv", "work_wait_timeout", "send_to_self_raises", "recv_size_mismatch", "barrier",
       "mismatched_shapes_raise_on_every_rank",
       "invalid_arguments_raise_on_every_rank", "cuda_collectives_host_path",
       "collective_before_init_raises_torch_error", "other_backends_raise", "init_twice_raises",
       "ddp_equals_single_process_sgd", "ddp_equals_single_process_sgd_no_sync", "ddp_equals_single_process_adam",
       "ddp_equals_single_process_adam_no_sync", "ddp_find_unused_parameters", "ddp_unused_without_find_unused_raises",
       "ddp_no_sync_keeps_local_grads", "ddp_broadcasts_rank0_state_and_checks_layout",
       "ddp_buckets_order_overlap_and_events", "distributed_sampler_shards", "ddp_cuda_host_path"]
)


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("name", CHECKS)
def test_multi_rank(name: str, n: int, shared: str) -> None:
    results = main_results(n, shared)
    missing = [r for r, res in enumerate(results) if name not in res]
    assert not missing, f"{name}: no result from ranks {missing}"
    failed = [res[name]["detail"] for res in results if not res[name]["ok"]]
    assert not failed, "\n".join(failed)


@needs_mpi
def test_every_check_is_asserted(shared: str) -> None:
    assert set(main_results(2, shared)[0]) == set(CHECKS)


# --------------------------------------------------------------------------- faults

def _fault(mode: str, n: int, jobs_dir: str, limit: float) -> tuple[subprocess.CompletedProcess, float]:
    out = os.path.join(jobs_dir, mode)
    os.makedirs(out, exist_ok=True)
    p, took = run_job(n, mode, out, limit + 30)
    assert p.returncode != 0, f"the job should have failed\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    assert "unexpected" not in p.stdout
    assert took < limit, f"took {took:.1f} s"
    return p, took


@needs_mpi
def test_fault_raise_aborts_all_ranks_naming_the_rank(jobs_dir: str) -> None:
    p, _ = _fault("raise", 3, jobs_dir, 25)
    assert "rank 1 failed: ValueError: injected failure on rank 1" in p.stderr, p.stderr


@needs_mpi
def test_fault_sys_exit_in_one_rank_fails_the_others(jobs_dir: str) -> None:
    p, _ = _fault("sysexit", 2, jobs_dir, 25)
    assert "rank 1 has left the process group" in p.stderr and "rank 0 failed" in p.stderr, p.stderr


@needs_mpi
def test_fault_hard_exit_ends_the_job(jobs_dir: str) -> None:
    p, _ = _fault("exit", 2, jobs_dir, 25)  # os._exit: mpiexec sees the process die and ends the others
    assert p.returncode == 3


@needs_mpi
def test_fault_stuck_rank_times_out(jobs_dir: str) -> None:
    p, _ = _fault("timeout", 2, jobs_dir, 35)
    assert "rank 0 failed: DistBackendError" in p.stderr and "timed out after 5 s" in p.stderr, p.stderr


@needs_mpi
def test_under_mpiexec_without_init_is_one_process(jobs_dir: str) -> None:
    out = os.path.join(jobs_dir, "no_init")
    os.makedirs(out, exist_ok=True)
    p, _ = run_job(2, "no_init", out, 60)
    assert p.returncode == 0, p.stderr
    for r in range(2):
        with open(os.path.join(out, f"rank{r}.json")) as f:
            res = json.load(f)["no_init_is_one_process"]
        assert res["ok"], res["detail"]


@needs_mpi
def test_example_trains(jobs_dir: str) -> None:
    cmd = [mpiexec_cmd(2)[0], "-launcher", "fork", "-hosts", "localhost", "-n", "2", sys.executable,
           os.path.join(ROOT, "examples", "ddp_train.py"), "--steps", "30"]
    p = subprocess.run(cmd, env=job_env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    losses = [float(line.split("loss")[1]) for line in lines if line.startswith("step")]
    assert len(losses) == 30 and np.mean(losses[-5:]) < np.mean(losses[:5])  # printed once (rank 0), and it learns
    assert lines[-1].startswith("done: 2 ranks, 30 steps") and "replicas identical: yes" in lines[-1], lines[-1]


@needs_mpi
def test_benchmark_runs_quick(tmp_path) -> None:
    p = subprocess.run([sys.executable, "-m", "benches.distributed", "--quick", "--out", str(tmp_path)], cwd=ROOT,
                       env=job_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    with open(tmp_path / "distributed.json") as f:
        res = json.load(f)
    assert {r["lib"] for r in res["allreduce"]} == {"nbgrad", "nbgrad_nocheck", "mpi4py", "torch_gloo"}
    assert all(r["busbw_GBps"] > 0 for r in res["allreduce"])
    assert {(r["ranks"], r["scaling"], r["variant"]) for r in res["mlp"] if r["lib"] == "nbgrad"} == {
        (1, "single", "single"), (1, "single", "ddp"), *((2, s, v) for s in ("weak", "strong")
                                                           for v in ("local", "ddp", "ddp_2buckets", "no_overlap"))}


# --------------------------------------------------------------------------- in-process

def test_collective_before_init_raises_torch_error() -> None:
    import torch.distributed as tdist

    for fn in (lambda m: m.get_rank(), lambda m: m.barrier()):
        with pytest.raises(ValueError) as ours:
            fn(dist)
        with pytest.raises(ValueError) as theirs:
            fn(tdist)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(ng.ones(2))
    assert not dist.is_initialized()


def test_unsupported_backend_names_what_is_supported() -> None:
    with pytest.raises(ValueError, match=r"supports the backends \['mpi'\], not 'gloo'"):
        dist.init_process_group(backend="gloo")
    assert not dist.is_initialized()


def test_bucket_assignment() -> None:
    mb = 1024 * 1024
    # parameters 0..4 in module order; the walk is 4, 3, 2, 1, 0; a bucket closes at >= the cap
    assert bucket_assignment([10, 10, 10, 10, 10], 25) == [[4, 3, 2], [1, 0]]
    assert bucket_assignment([10, 10, 10, 10, 10], 10) == [[4], [3], [2], [1], [0]]
    assert bucket_assignment([30 * mb, 1, 1, 40 * mb], 25 * mb) == [[3], [2, 1, 0]]  # big ones alone
    assert bucket_assignment([5, 5, 5, 5], 100) == [[3, 2, 1, 0]]
    # one open bucket per (dtype, device): a float32 bucket and a float64 bucket fill side by side
    keys = ["f64", "f32", "f64", "f32", "f64"]
    assert bucket_assignment([8, 4, 8, 4, 8], 16, keys) == [[4, 2], [3, 1], [0]]
    assert bucket_assignment([], 10) == []
    with pytest.raises(ValueError):
        bucket_assignment([1], 0)


def test_bucket_assignment_like_torch() -> None:
    """Same splits as PyTorch's reducer computes over the parameters in reverse order."""
    import torch
    import torch.distributed as tdist

    rng = np.random.default_rng(0)
    for _ in range(20):
        sizes = [int(s) for s in rng.integers(1, 400, rng.integers(1, 12))]
        cap = int(rng.integers(50, 1500))
        rev = [torch.zeros(s // 4 + 1) for s in sizes][::-1]
        nbytes = [t.numel() * 4 for t in rev][::-1]
        theirs, _ = tdist._compute_bucket_assignment_by_size(rev, [cap])
        theirs = [[len(sizes) - 1 - i for i in b] for b in theirs]
        assert bucket_assignment(nbytes, cap) == theirs, (nbytes, cap)


def test_queue_callback_runs_once_at_the_end_of_backward() -> None:
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = ng.tensor([3.0], requires_grad=True)
    log = []

    def hook(t: ng.Tensor) -> None:
        log.append(("grad", t.shape[0]))
        if len(log) == 1:
            queue_callback(lambda: log.append(("end", x.grad is not None and y.grad is not None)))

    x.register_post_accumulate_grad_hook(hook)
    y.register_post_accumulate_grad_hook(hook)
    ((x * 2).sum() + y.sum()).backward()
    assert sorted(log[:2]) == [("grad", 1), ("grad", 2)] and log[2:] == [("end", True)]
    with pytest.raises(RuntimeError, match="Final callbacks can only be installed during backward pass."):
        queue_callback(lambda: None)


def test_queue_callback_when_stepping() -> None:
    from nbgrad.autograd import backward_pass

    x = ng.tensor([1.0, 2.0], requires_grad=True)
    done = []
    x.register_post_accumulate_grad_hook(lambda t: queue_callback(lambda: done.append(True)))
    bp = backward_pass((x * 3).sum())
    while not bp.finished:
        assert not done
        bp.step()
    assert done == [True]


def test_distributed_sampler_like_torch() -> None:
    from torch.utils.data import DistributedSampler as TorchSampler

    from nbgrad.utils.data import DistributedSampler

    for n in (1, 7, 10, 12):
        for reps in (1, 3, 4):
            for drop in (False, True):
                for r in range(reps):
                    ours = DistributedSampler(range(n), reps, r, shuffle=False, drop_last=drop)
                    theirs = TorchSampler(range(n), reps, r, shuffle=False, drop_last=drop)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    s = [DistributedSampler(range(11), 3, r, seed=5) for r in range(3)]
    first = [list(x) for x in s]
    assert sorted(sum(first, [])) == sorted(list(range(11)) + [first[0][0]])  # disjoint, one index repeated
    for x in s:
        x.set_epoch(1)
    assert [list(x) for x in s] != first
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(range(5), 3, 3)


def test_ddp_needs_the_process_group() -> None:
    from nbgrad.nn.parallel import DistributedDataParallel

    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(ng.nn.Linear(2, 2))


def test_run_helper_builds_the_mpiexec_command() -> None:
    from nbgrad.distributed import run

    cmd = run.command(["-n", "4", "examples/ddp_train.py", "--steps", "3"])
    assert cmd[1:] == ["-n", "4", sys.executable, "examples/ddp_train.py", "--steps", "3"]
    assert run.command(["-n", "2", "--", "-m", "benches.distributed"])[1:] == [
        "-n", "2", sys.executable, "-m", "benches.distributed"]
