"""Data-parallel training of a small MLP with DistributedDataParallel, on MPI.

    mpiexec -n 4 python examples/ddp_train.py              # 4 processes on this machine
    mpiexec -f hosts -n 8 python examples/ddp_train.py     # several machines (a hostfile)
    python examples/ddp_train.py                           # one process (world size 1)

The data is synthetic: 20 features, 4 classes given by a fixed random "teacher" network, so
the loss goes down. Each rank reads its own shard (DistributedSampler) of every epoch; DDP
averages the gradients, so the replicas stay identical. Rank 0 prints the loss averaged over
the ranks at every step and a summary line at the end. Options: --steps, --batch-size (per
rank), --lr, --hidden, --device (cpu or cuda)."""

from __future__ import annotations

import argparse
import time

import numpy as np

import nbgrad as ng
import nbgrad.distributed as dist
from nbgrad import nn
from nbgrad.nn.parallel import DistributedDataParallel as DDP
from nbgrad.utils.data import DistributedSampler

FEATURES, CLASSES, DATASET = 20, 4, 4096


def make_dataset(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The same on every rank: inputs, and the labels a random two-layer teacher gives them."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((DATASET, FEATURES)).astype(np.float32)
    w1, w2 = rng.standard_normal((FEATURES, 32)), rng.standard_normal((32, CLASSES))
    y = np.argmax(np.tanh(x @ w1) @ w2, axis=1)
    return x, y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32, help="per rank")
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()

    x, y = make_dataset()
    sampler = DistributedSampler(range(DATASET), shuffle=True, seed=0, drop_last=True)
    ng.manual_seed(rank)  # different on each rank on purpose: DDP starts every replica from rank 0's
    model = nn.Sequential(nn.Linear(FEATURES, args.hidden), nn.ReLU(), nn.Linear(args.hidden, args.hidden), nn.ReLU(),
                          nn.Linear(args.hidden, CLASSES)).to(args.device)
    model = DDP(model)
    opt = ng.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    t0 = time.perf_counter()
    step, epoch, loss_avg = 0, 0, float("nan")
    while step < args.steps:
        sampler.set_epoch(epoch)
        order = np.fromiter(sampler, dtype=np.int64)
        for start in range(0, len(order) - args.batch_size + 1, args.batch_size):
            if step == args.steps:
                break
            idx = order[start:start + args.batch_size]
            xb = ng.tensor(x[idx], device=args.device)
            yb = ng.tensor(y[idx], device=args.device)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()  # returns once the gradients are averaged over the ranks
            opt.step()
            seen = loss.detach().cpu()
            dist.all_reduce(seen, dist.ReduceOp.AVG)
            loss_avg = seen.item()
            if rank == 0:
                print(f"step {step:4d}  epoch {epoch}  loss {loss_avg:.4f}", flush=True)
            step += 1
        epoch += 1
    took = time.perf_counter() - t0

    # accuracy on the whole dataset, each rank scoring its shard; and a check that the replicas agree
    with ng.no_grad():
        mine = np.fromiter(DistributedSampler(range(DATASET), shuffle=False), dtype=np.int64)
        pred = model(ng.tensor(x[mine], device=args.device)).argmax(1).cpu().numpy()
        counts = ng.tensor(np.array([(pred == y[mine]).sum(), len(mine)], dtype=np.int64))
        dist.all_reduce(counts)
        w = model.module[0].weight.detach().cpu().sum().reshape(1)
        lo, hi = w.clone(), w.clone()
        dist.all_reduce(lo, dist.ReduceOp.MIN)
        dist.all_reduce(hi, dist.ReduceOp.MAX)
    correct, total = counts.tolist()
    if rank == 0:
        print(f"done: {world} rank{'s' if world > 1 else ''}, {step} steps of {args.batch_size} per rank "
              f"({args.batch_size * world} per step), final loss {loss_avg:.4f}, accuracy {100 * correct / total:.1f}%, "
              f"replicas identical: {'yes' if lo.item() == hi.item() else 'NO'}, {took:.2f} s", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
