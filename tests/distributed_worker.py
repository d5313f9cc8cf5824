"""Run by tests/test_distributed.py under mpiexec: `python distributed_worker.py MODE OUT_DIR`.

mode "main": many checks in one MPI job (each start of a job costs seconds); every rank writes
OUT_DIR/rank<r>.json, {check name: {"ok": bool, "detail": str}}, which the pytest side asserts
on one test per check. A check runs its collectives before it asserts anything, so a failed
assertion on one rank does not leave the others waiting. The fault modes end the job on
purpose ("raise", "sysexit", "exit", "timeout"); "no_init" never calls init_process_group."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any, Callable

import numpy as np

import nbgrad as ng
import nbgrad.distributed as dist
from nbgrad.nn.parallel import DistributedDataParallel as DDP
from nbgrad.distributed.collectives import ranks_text
from nbgrad.nn.parallel import bucket_assignment

MODE, OUT = sys.argv[1], sys.argv[2]
RESULTS: dict[str, dict] = {}
R, N = 0, 1  # rank and world size, set once the group is up


def check(name: str) -> Callable[[Callable[[], Any]], None]:
    def run(fn: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        try:
            fn()
            RESULTS[name] = {"ok": True, "detail": ""}
        except Exception:
            RESULTS[name] = {"ok": False, "detail": f"rank {R}: " + traceback.format_exc()[-3000:]}
        RESULTS[name]["seconds"] = round(time.perf_counter() - t0, 3)
    return run


def write() -> None:
    with open(os.path.join(OUT, f"rank{R}.json"), "w") as f:
        json.dump(RESULTS, f)


def data(r: int, shape: tuple, dtype: str, seed: int = 0) -> np.ndarray:
    """Rank r's input: small values, so products and int64 sums stay exact."""
    rng = np.random.default_rng(1000 * seed + r)
    if dtype == "int64":
        return rng.integers(-3, 4, shape).astype(np.int64)
    return (rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)).astype(dtype)


def close(got: Any, want: np.ndarray, dtype: str = "float64") -> None:
    got = got.numpy() if isinstance(got, ng.Tensor) else np.asarray(got)
    if dtype == "int64" or want.dtype.kind in "ib":
        assert got.dtype == want.dtype and np.array_equal(got, want), f"got {got}, want {want}"
    else:
        tol = 1e-5 if dtype == "float32" else 1e-12
        assert got.dtype == want.dtype and np.allclose(got, want, rtol=tol, atol=tol), f"got {got}, want {want}"


def expect_error(kind: type, *words: str) -> Any:
    class Ctx:
        def __enter__(self) -> None:
            return None

        def __exit__(self, et: Any, ev: Any, tb: Any) -> bool:
            assert et is not None, f"expected {kind.__name__}, nothing raised"
            assert issubclass(et, kind), f"expected {kind.__name__}, got {et.__name__}: {ev}"
            for w in words:
                assert w in str(ev), f"{w!r} not in the message: {ev}"
            return True
    return Ctx()


REF = {
    dist.ReduceOp.SUM: lambda a: a.sum(0), dist.ReduceOp.PRODUCT: lambda a: a.prod(0),
    dist.ReduceOp.MAX: lambda a: a.max(0), dist.ReduceOp.MIN: lambda a: a.min(0),
}


def ref_reduce(op: dist.ReduceOp, stacked: np.ndarray) -> np.ndarray:
    if op is dist.ReduceOp.AVG:
        s = stacked.sum(0)
        if s.dtype.kind == "f":
            return (s / stacked.shape[0]).astype(s.dtype)
        q = np.abs(s) // stacked.shape[0]
        return np.where(s < 0, -q, q)
    return REF[op](stacked).astype(stacked.dtype)


# --------------------------------------------------------------------------- collectives

def collective_checks() -> None:
    ops = [dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN, dist.ReduceOp.PRODUCT]
    for dt in ("float32", "float64", "int64"):
        for op in ops:
            @check(f"all_reduce_{op.name}_{dt}")
            def _(op: dist.ReduceOp = op, dt: str = dt) -> None:
                t = ng.tensor(data(R, (3, 4), dt))
                dist.all_reduce(t, op)
                close(t, ref_reduce(op, np.stack([data(r, (3, 4), dt) for r in range(N)])), dt)
                assert t._version.value == 1

    @check("all_reduce_noncontiguous")
    def _() -> None:
        base = ng.tensor(data(R, (4, 6), "float64"))
        view = base.T[1:5]  # a strided view: the result goes into base's memory, the rest untouched
        before = base.numpy().copy()
        dist.all_reduce(view, dist.ReduceOp.SUM)
        want = before.copy()
        want.T[1:5] = np.stack([data(r, (4, 6), "float64") for r in range(N)]).sum(0).T[1:5]
        close(base, want)
        assert view._version.value >= 1 and base._version.value >= 1

    @check("all_reduce_async")
    def _() -> None:
        ts = [ng.tensor(data(R, (5,), "float64", seed=s)) for s in range(3)]
        works = [dist.all_reduce(t, dist.ReduceOp.MAX, async_op=True) for t in ts]
        assert all(isinstance(w, dist.Work) for w in works)
        deadline = time.monotonic() + 10
        while not works[0].is_completed():
            assert time.monotonic() < deadline
        for w in works:
            assert w.wait() is True and w.is_completed()
        assert works[1].result() == [ts[1]]
        for s, t in enumerate(ts):
            close(t, np.stack([data(r, (5,), "float64", seed=s) for r in range(N)]).max(0))

    @check("all_reduce_async_noncontiguous_avg")
    def _() -> None:
        t = ng.tensor(data(R, (3, 4), "float32")).T
        w = dist.all_reduce(t, dist.ReduceOp.AVG, async_op=True)
        w.wait()
        close(t, ref_reduce(dist.ReduceOp.AVG, np.stack([data(r, (3, 4), "float32").T for r in range(N)])), "float32")

    @check("all_reduce_bool")
    def _() -> None:
        t = ng.tensor(np.array([R == 0, False, True]))
        dist.all_reduce(t, dist.ReduceOp.MAX)
        u = ng.tensor(np.array([R == 0, True, True]))
        dist.all_reduce(u, dist.ReduceOp.MIN)
        close(t, np.array([True, False, True]))
        close(u, np.array([N == 1, True, True]))

    @check("broadcast")
    def _() -> None:
        src = N - 1
        t = ng.tensor(data(R, (2, 3), "int64"))
        dist.broadcast(t, src)
        u = ng.tensor(data(R, (3, 2), "float64")).T  # non-contiguous
        w = dist.broadcast(u, src=0, async_op=True)
        w.wait()
        close(t, data(src, (2, 3), "int64"), "int64")
        close(u, data(0, (3, 2), "float64").T)

    @check("all_gather")
    def _() -> None:
        x = ng.tensor(data(R, (2, 2), "float32"))
        outs = [ng.zeros(2, 2) for _ in range(N)]
        dist.all_gather(outs, x)
        outs2 = [ng.zeros(2, 2) for _ in range(N)]
        dist.all_gather(outs2, x, async_op=True).wait()
        for r in range(N):
            close(outs[r], data(r, (2, 2), "float32"), "float32")
            close(outs2[r], data(r, (2, 2), "float32"), "float32")

    @check("all_gather_into_tensor")
    def _() -> None:
        x = ng.tensor(data(R, (2, 3), "int64"))
        cat = ng.zeros(2 * N, 3, dtype=ng.int64)
        dist.all_gather_into_tensor(cat, x)
        stacked = ng.zeros(N, 2, 3, dtype=ng.int64)
        dist.all_gather_into_tensor(stacked, x, async_op=True).wait()
        inplace = ng.zeros(2 * N, 3, dtype=ng.int64)
        inplace[2 * R: 2 * R + 2] = x
        dist.all_gather_into_tensor(inplace, inplace[2 * R: 2 * R + 2])  # the input is a view of the output
        want = np.stack([data(r, (2, 3), "int64") for r in range(N)])
        close(cat, want.reshape(2 * N, 3), "int64")
        close(stacked, want, "int64")
        close(inplace, want.reshape(2 * N, 3), "int64")

    @check("reduce_scatter_tensor")
    def _() -> None:
        inp = ng.tensor(data(R, (2 * N, 3), "float64"))
        out = ng.zeros(2, 3, dtype=ng.float64)
        dist.reduce_scatter_tensor(out, inp)
        out_avg = ng.zeros(2, 3, dtype=ng.float64)
        dist.reduce_scatter_tensor(out_avg, inp, dist.ReduceOp.AVG, async_op=True).wait()
        total = np.stack([data(r, (2 * N, 3), "float64") for r in range(N)]).sum(0)
        close(out, total[2 * R: 2 * R + 2])
        close(out_avg, total[2 * R: 2 * R + 2] / N)

    @check("reduce")
    def _() -> None:
        dst = N - 1
        t = ng.tensor(data(R, (4,), "int64"))
        dist.reduce(t, dst, dist.ReduceOp.SUM)
        u = ng.tensor(data(R, (4,), "float32"))
        dist.reduce(u, dst=0, op=dist.ReduceOp.MIN, async_op=True).wait()
        allx = np.stack([data(r, (4,), "int64") for r in range(N)])
        close(t, allx.sum(0) if R == dst else data(R, (4,), "int64"), "int64")
        allu = np.stack([data(r, (4,), "float32") for r in range(N)])
        close(u, allu.min(0) if R == 0 else data(R, (4,), "float32"), "float32")

    @check("gather")
    def _() -> None:
        dst = N - 1
        x = ng.tensor(data(R, (3,), "float64"))
        lst = [ng.zeros(3, dtype=ng.float64) for _ in range(N)] if R == dst else None
        dist.gather(x, lst, dst=dst)
        lst0 = [ng.zeros(3, dtype=ng.float64) for _ in range(N)] if R == 0 else None
        dist.gather(x, lst0, async_op=True).wait()  # dst defaults to 0
        if R == dst:
            for r in range(N):
                close(lst[r], data(r, (3,), "float64"))
        if R == 0:
            for r in range(N):
                close(lst0[r], data(r, (3,), "float64"))

    @check("scatter")
    def _() -> None:
        src = N - 1
        out = ng.zeros(2, 2, dtype=ng.int64)
        lst = [ng.tensor(data(100 + r, (2, 2), "int64")) for r in range(N)] if R == src else None
        dist.scatter(out, lst, src=src)
        out2 = ng.zeros(2, 2, dtype=ng.int64).T
        lst2 = [ng.tensor(data(200 + r, (2, 2), "int64")) for r in range(N)] if R == 0 else None
        dist.scatter(out2, lst2, async_op=True).wait()
        close(out, data(100 + R, (2, 2), "int64"), "int64")
        close(out2, data(200 + R, (2, 2), "int64"), "int64")

    @check("send_recv")
    def _() -> None:
        nxt, prv = (R + 1) % N, (R - 1) % N
        x = ng.tensor(data(R, (3,), "float64"))
        got = ng.zeros(3, dtype=ng.float64)
        sw = dist.isend(x, nxt, tag=7)
        who = dist.recv(got, src=None, tag=7)  # any source
        sw.wait()
        got2 = ng.zeros(4, 2, dtype=ng.float64).T  # non-contiguous receive
        rw = dist.irecv(got2, prv, tag=8)
        dist.send(ng.tensor(data(R, (2, 4), "float64")), nxt, tag=8)
        rw.wait()
        assert who == prv, (who, prv)
        assert rw.source_rank() == prv
        close(got, data(prv, (3,), "float64"))
        close(got2, data(prv, (2, 4), "float64"))

    @check("work_wait_timeout")
    def _() -> None:
        import datetime

        if R == 0:
            got = ng.zeros(2)
            w = dist.irecv(got, 1, tag=11)
            with expect_error(dist.DistBackendError, "timed out after 0.2 s"):
                w.wait(timeout=datetime.timedelta(seconds=0.2))  # rank 1 sends only after the barrier
            assert not w.is_completed()
        dist.barrier()
        if R == 1:
            dist.send(ng.full((2,), 5.0), 0, tag=11)
        if R == 0:
            assert w.wait() and w.is_completed()
            close(got, np.full(2, 5.0, np.float32), "float32")

    @check("send_to_self_raises")
    def _() -> None:
        with expect_error(ValueError, "should not be the same as the rank of the current process"):
            dist.send(ng.ones(2), R)

    @check("recv_size_mismatch")
    def _() -> None:
        if R == 0:
            dist.send(ng.ones(4), 1, tag=9)
            dist.send(ng.ones(4), 1, tag=9)
        elif R == 1:
            with expect_error(dist.DistError, "sent 4 elements", "has 3"):
                dist.recv(ng.zeros(3), 0, tag=9)
            dist.recv(ng.zeros(4), 0, tag=9)  # the probed message is still there
            dist.recv(ng.zeros(4), 0, tag=9)

    @check("barrier")
    def _() -> None:
        dist.barrier()
        w = dist.barrier(async_op=True)
        w.wait()
        assert w.is_completed()

    @check("mismatched_shapes_raise_on_every_rank")
    def _() -> None:
        t = ng.ones(3 + (R == N - 1))
        with expect_error(RuntimeError, "all_reduce", f"{ranks_text(list(range(N - 1)))}: float32 [3]",
                          f"rank {N - 1}: float32 [4]"):
            dist.all_reduce(t)
        u = ng.ones(3, dtype=ng.float64 if R == 0 else ng.float32)
        with expect_error(RuntimeError, "broadcast", "float64", "float32"):
            dist.broadcast(u, 0)
        with expect_error(RuntimeError, "all_reduce", "op=SUM", "op=MAX"):
            dist.all_reduce(ng.ones(2), dist.ReduceOp.MAX if R == 0 else dist.ReduceOp.SUM)
        v = ng.ones(2)
        dist.all_reduce(v)  # the group still works after the errors
        close(v, np.full(2, N, np.float32), "float32")

    @check("invalid_arguments_raise_on_every_rank")
    def _() -> None:
        lst = [ng.zeros(2) for _ in range(N)]
        with expect_error(ValueError, "gather", f"invalid arguments on {ranks_text(list(range(1, N)))} (rank 0: ",
                          "must NOT be specified on non-destination ranks"):
            dist.gather(ng.ones(2), lst, dst=0)  # every rank passes a list: wrong on all but 0
        bad = [ng.zeros(2) for _ in range(N + (R == 0))]
        with expect_error(ValueError, "all_gather", "rank 0: tensor_list has"):
            dist.all_gather(bad, ng.ones(2))
        with expect_error(ValueError, "reduce_scatter_tensor", "elements"):
            dist.reduce_scatter_tensor(ng.zeros(2), ng.zeros(2 * N + (R == 0)))
        with expect_error(ValueError, "src=" + str(N)):
            dist.broadcast(ng.ones(2), N)
        with expect_error(ValueError, "broadcast", f"rank {N - 1}: unsupported operation: more than one element"):
            dist.broadcast(ng.ones(3).expand(2, 3) if R == N - 1 else ng.ones(2, 3), 0)  # an expanded view on one rank

    @check("cuda_collectives_host_path")
    def _() -> None:
        if not ng.cuda.is_available():
            raise RuntimeError("no CUDA (not even the simulator): NUMBA_ENABLE_CUDASIM=1 expected")
        assert not dist.group.WORLD.cuda_aware  # the mpich wheel: device memory goes through the host
        t = ng.tensor(data(R, (2, 3), "float32"), device="cuda")
        dist.all_reduce(t, dist.ReduceOp.SUM)
        u = ng.tensor(data(R, (3, 2), "float64"), device="cuda").T
        dist.all_reduce(u, dist.ReduceOp.AVG, async_op=True).wait()
        b = ng.tensor(data(R, (4,), "int64"), device="cuda")
        dist.broadcast(b, N - 1)
        g = ng.zeros(2 * N, 3, device="cuda")
        dist.all_gather_into_tensor(g, t)
        s = ng.zeros(1, 3, device="cuda")
        dist.reduce_scatter_tensor(s, ng.ones(N, 3, device="cuda"))
        total = np.stack([data(r, (2, 3), "float32") for r in range(N)]).sum(0)
        close(t.cpu(), total, "float32")
        close(u.cpu(), np.stack([data(r, (3, 2), "float64").T for r in range(N)]).mean(0))
        close(b.cpu(), data(N - 1, (4,), "int64"), "int64")
        close(g.cpu(), np.tile(total, (N, 1)), "float32")
        close(s.cpu(), np.full((1, 3), N, np.float32), "float32")
        assert t.device.type == "cuda" and t._version.value == 1


# --------------------------------------------------------------------------- DDP

class Net(ng.nn.Module):
    """A small float64 MLP; spare: with a parameter its forward never uses and one it uses on request."""

    def __init__(self, hidden: int = 7, spare: bool = False) -> None:
        super().__init__()
        self.fc1 = ng.nn.Linear(5, hidden)
        self.fc2 = ng.nn.Linear(hidden, 3)
        if spare:
            self.unused = ng.nn.Parameter(ng.zeros(4, dtype=ng.float64))
            self.extra = ng.nn.Parameter(ng.ones(3, dtype=ng.float64) * 0.5)
        self.double()

    def forward(self, x: ng.Tensor, use_extra: bool = False) -> ng.Tensor:
        h = self.fc2(self.fc1(x).tanh())
        return h * self.extra if use_extra else h


def make_net(seed: int, **kw: Any) -> Net:
    ng.manual_seed(seed)
    return Net(**kw)


def batch(step: int, r: int, micro: int = 0, b: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(10_000 + 100 * step + 10 * micro + r)
    return rng.standard_normal((b, 5)), rng.standard_normal((b, 3))


def loss_of(model: Any, x: np.ndarray, y: np.ndarray, **kw: Any) -> ng.Tensor:
    return ng.nn.functional.mse_loss(model(ng.tensor(x), **kw), ng.tensor(y))


def params_of(model: Any) -> dict[str, np.ndarray]:
    return {n: p.detach().numpy().copy() for n, p in model.named_parameters()}


def make_opt(kind: str, params: Any) -> Any:
    return ng.optim.SGD(params, lr=0.1, momentum=0.9) if kind == "sgd" else ng.optim.Adam(params, lr=0.01)


def reference(kind: str, steps: int, micro: int, extra_on: set[int] = frozenset(), per_rank: bool = False) -> dict:
    """Single-process training on the ranks' batches put together (one process, no MPI)."""
    model = make_net(0, spare=per_rank)
    opt = make_opt(kind, model.parameters())
    for s in range(steps):
        opt.zero_grad()
        for m in range(micro):
            if per_rank:  # the mean over ranks of each rank's mean loss (the ranks' forwards differ)
                loss = sum(loss_of(model, *batch(s, r, m), use_extra=r in extra_on) for r in range(N)) / N
            else:
                xs, ys = zip(*(batch(s, r, m) for r in range(N)))
                loss = loss_of(model, np.concatenate(xs), np.concatenate(ys))
            loss.backward()
        opt.step()
    return params_of(model)


def ddp_train(kind: str, steps: int, micro: int, find_unused: bool = False, extra_on: set[int] = frozenset(),
              cap_mb: float = 25) -> tuple[dict, Any]:
    model = DDP(make_net(R, spare=find_unused), bucket_cap_mb=cap_mb, find_unused_parameters=find_unused)
    opt = make_opt(kind, model.parameters())
    for s in range(steps):
        opt.zero_grad()
        for m in range(micro):
            x, y = batch(s, R, m)
            if m < micro - 1:
                with model.no_sync():
                    loss_of(model, x, y, use_extra=R in extra_on).backward()
            else:
                loss_of(model, x, y, use_extra=R in extra_on).backward()
        opt.step()
    return params_of(model.module), model


def assert_params(got: dict, want: dict, skip: tuple = ()) -> None:
    for n, w in want.items():
        if n in skip:
            continue
        assert np.allclose(got[n], w, rtol=1e-10, atol=1e-12), f"{n}: max diff {np.abs(got[n] - w).max()}"


def ddp_checks() -> None:
    for kind in ("sgd", "adam"):
        for micro in (1, 2):
            name = f"ddp_equals_single_process_{kind}" + ("_no_sync" if micro > 1 else "")

            @check(name)
            def _(kind: str = kind, micro: int = micro) -> None:
                got, model = ddp_train(kind, 5, micro, cap_mb=0.0002)  # small buckets: several allreduces
                assert len(model.buckets) > 1
                assert_params(got, reference(kind, 5, micro))

    @check("ddp_find_unused_parameters")
    def _() -> None:
        got, model = ddp_train("sgd", 5, 1, find_unused=True, extra_on={0})  # extra: used on rank 0 only
        want = reference("sgd", 5, 1, extra_on={0}, per_rank=True)
        assert model.module.unused.grad is None  # used by no rank: its .grad is left alone
        assert model.module.extra.grad is not None
        assert_params(got, want)

    @check("ddp_unused_without_find_unused_raises")
    def _() -> None:
        model = DDP(make_net(0, spare=True))
        with expect_error(RuntimeError, "find_unused_parameters=True", f"got no gradient on rank {R}: extra, unused"):
            loss_of(model, *batch(0, R)).backward()

    @check("ddp_no_sync_keeps_local_grads")
    def _() -> None:
        model = DDP(make_net(R))  # rank 0's initial parameters win
        local = make_net(0)
        x, y = batch(0, R)
        with model.no_sync():
            loss_of(model, x, y).backward()
        loss_of(local, x, y).backward()
        for (n, p), q in zip(model.module.named_parameters(), local.parameters()):
            if q.grad is not None:
                close(p.grad, q.grad.numpy())

    @check("ddp_broadcasts_rank0_state_and_checks_layout")
    def _() -> None:
        model = DDP(make_net(100 + R))
        w = model.module.fc1.weight.detach()
        allw = [ng.zeros(*w.shape, dtype=ng.float64) for _ in range(N)]
        dist.all_gather(allw, w)
        keys = list(model.state_dict())
        with expect_error(RuntimeError, "DistributedDataParallel", "rank 0:", "fc1.weight float64 [8, 5]"):
            DDP(make_net(0, hidden=7 + (R == 0)))
        for a in allw:
            close(a, make_net(100).fc1.weight.detach().numpy())
        assert keys[0] == "module.fc1.weight" and all(k.startswith("module.") for k in keys), keys

    @check("ddp_buckets_order_overlap_and_events")
    def _() -> None:
        net = make_net(0)
        model = DDP(net, bucket_cap_mb=0.00015)  # 157 bytes: fc2's two parameters, then fc1's
        names = [n for n, _ in net.named_parameters()]
        sizes = [p.numel() * 8 for p in net.parameters()]
        want = bucket_assignment(sizes, int(0.00015 * 1024 * 1024))
        assert want == [[3, 2], [1, 0]], want
        log: list[tuple] = []
        for n, p in net.named_parameters():
            p.register_post_accumulate_grad_hook(lambda t, n=n: log.append(("grad", n)))
        handle = dist.register_comm_observer(lambda e: log.append((e.phase, e.bucket, e.names, e.nbytes, e.iteration)))
        loss_of(model, *batch(0, R)).backward()
        log.append(("backward returned",))
        handle.remove()
        loss_of(model, *batch(1, R)).backward()  # no observer any more
        assert model.buckets == [tuple(names[i] for i in b) for b in want], (model.buckets, want)
        assert [list(b) for b in model.bucket_indices] == want
        starts = [e for e in log if e[0] == "start"]
        dones = [e for e in log if e[0] == "done"]
        assert [e[1] for e in starts] == list(range(len(want))), log
        assert sorted(e[1] for e in dones) == list(range(len(want))), log
        assert max(log.index(e) for e in dones) < log.index(("backward returned",))  # all done before it returned
        for e in starts:
            assert e[2] == model.buckets[e[1]] and e[3] == sum(sizes[i] for i in want[e[1]]) and e[4] == 0
        # overlap: bucket 0 (the last layer) started before the first layer's weight had its gradient
        assert log.index(starts[0]) < log.index(("grad", "fc1.weight")), log

    @check("distributed_sampler_shards")
    def _() -> None:
        from nbgrad.utils.data import DistributedSampler

        s = DistributedSampler(list(range(10)), shuffle=True, seed=3)
        s.set_epoch(2)
        mine = list(s)
        got = [ng.zeros(len(mine), dtype=ng.int64) for _ in range(N)]
        dist.all_gather(got, ng.tensor(np.array(mine, dtype=np.int64)))
        everyone = [x for g in got for x in g.tolist()]
        assert len(mine) == -(-10 // N) and s.num_replicas == N and s.rank == R
        assert set(everyone) == set(range(10)) and len(everyone) == len(mine) * N

    @check("ddp_cuda_host_path")
    def _() -> None:
        if not ng.cuda.is_available():
            raise RuntimeError("no CUDA (not even the simulator): NUMBA_ENABLE_CUDASIM=1 expected")
        ng.manual_seed(R)
        net = ng.nn.Linear(3, 2).double().cuda()
        model = DDP(net)
        x = ng.tensor(np.random.default_rng(R).standard_normal((2, 3)), device="cuda")
        model(x).sum().backward()
        g = net.weight.grad.cpu().numpy()
        want = sum(np.random.default_rng(r).standard_normal((2, 3)).sum(0) for r in range(N)) / N
        assert net.weight.grad.device.type == "cuda"
        close(g, np.tile(want, (2, 1)))


# --------------------------------------------------------------------------- modes

def main() -> None:
    global R, N

    @check("collective_before_init_raises_torch_error")
    def _() -> None:
        with expect_error(ValueError, "Default process group has not been initialized, please make sure to call "
                                      "init_process_group."):
            dist.all_reduce(ng.ones(2))
        with expect_error(ValueError, "Default process group has not been initialized"):
            dist.get_rank()

    @check("other_backends_raise")
    def _() -> None:
        for b in ("gloo", "nccl"):
            with expect_error(ValueError, "'mpi'", repr(b)):
                dist.init_process_group(b)
        assert not dist.is_initialized()

    dist.init_process_group("mpi", timeout=60)
    R, N = dist.get_rank(), dist.get_world_size()

    @check("init_twice_raises")
    def _() -> None:
        with expect_error(ValueError, "trying to initialize the default process group twice!"):
            dist.init_process_group("mpi")
        assert dist.is_initialized() and dist.get_backend() == "mpi"
        assert int(os.environ.get("PMI_SIZE", N)) == N

    collective_checks()
    ddp_checks()
    dist.barrier()
    write()
    dist.destroy_process_group()
    assert not dist.is_initialized()


def fault(mode: str) -> None:
    global R, N
    dist.init_process_group("mpi", timeout=5 if mode == "timeout" else None)
    R, N = dist.get_rank(), dist.get_world_size()
    t = ng.ones(4)
    for i in range(3):
        dist.all_reduce(t)
    if R == 1:
        if mode == "raise":
            raise ValueError("injected failure on rank 1")
        if mode == "sysexit":
            sys.exit(4)
        if mode == "exit":
            os._exit(3)
        if mode == "timeout":
            time.sleep(60)  # stuck: rank 0's all_reduce gives up after the group's timeout
    dist.all_reduce(t)  # rank 1 never gets here
    print(f"rank {R}: unexpected: all_reduce finished", flush=True)


def no_init() -> None:
    """Under mpiexec but no init_process_group: a plain single process."""
    @check("no_init_is_one_process")
    def _() -> None:
        assert not dist.is_initialized() and dist.is_available()
        with expect_error(ValueError, "Default process group has not been initialized"):
            dist.get_world_size()
        model = ng.nn.Linear(2, 1)
        model(ng.ones(3, 2)).sum().backward()  # nothing distributed about it
        assert model.weight.grad is not None
        assert "mpi4py.MPI" not in sys.modules  # MPI is not even initialized

    global R
    R = int(os.environ.get("PMI_RANK", "0"))
    write()


if __name__ == "__main__":
    if MODE == "main":
        main()
    elif MODE == "no_init":
        no_init()
    else:
        fault(MODE)
