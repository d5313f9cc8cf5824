"""A LeNet-style CNN on scikit-learn's bundled 8x8 handwritten digits (sklearn.datasets.load_digits).

    python examples/cnn_digits.py                 # 15 epochs, ~10-15 s on one core, ~99% held out
    python examples/cnn_digits.py --epochs 5 --checkpoint /tmp/cnn.safetensors

Two blocks of Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d, then Dropout and two Linear layers.
The 1,797 images are split 80/20 with random_split (a seeded ng.Generator), batched by a
shuffling DataLoader, trained with AdamW under a OneCycleLR schedule; a tqdm bar (when tqdm is
installed) shows the epochs. At the end a summary line gives the held-out accuracy, the model
and optimizer are saved with ng.save (safetensors: PyTorch's safetensors.torch.load_file reads
it too), loaded back into a fresh model, and that model's accuracy is checked to be the same.

The model is written once against the torch-shaped API (`make_model(lib)`), so the same code
builds it in nbgrad or PyTorch: tests/test_examples_cnn.py trains both from the same weights and
batches and checks that losses and gradients agree."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """The digits as (N, 1, 8, 8) float32 images in [0, 1] and int64 labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32)[:, None], d.target.astype(np.int64)


def make_model(lib: Any, dropout: float = 0.25, width: int = 16) -> Any:
    """The CNN as a `lib.nn.Module` (lib: nbgrad or torch)."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),           # 16 x 4 x 4
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * width, 64), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(64, 10),
    )


def make_training(lib: Any, model: Any, total_steps: int, lr: float, weight_decay: float) -> tuple[Any, Any, Any]:
    """AdamW under OneCycleLR: `step(x, y)` runs one update and returns the loss."""
    opt = lib.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        return loss

    return step, opt, sched


def accuracy(lib: Any, model: Any, loader: Any) -> float:
    model.eval()
    right = total = 0
    with lib.no_grad():
        for x, y in loader:
            right += int((model(x).argmax(1) == y).sum().item())
            total += int(y.shape[0])
    model.train()
    return right / total


def _bar(it: Any, **kw: Any) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # (tqdm is optional: pip install nbgrad[examples])
        return it
    return tqdm(it, **kw)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--weight-decay", type=float, default=1e-2)
    ap.add_argument("--dropout", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint", default="cnn_digits.safetensors", help="where ng.save writes the model ('' to skip)")
    args = ap.parse_args(argv)

    import nbgrad as ng
    from nbgrad.utils.data import DataLoader, TensorDataset, random_split

    ng.manual_seed(args.seed)
    images, labels = load_data()
    data = TensorDataset(ng.tensor(images), ng.tensor(labels))
    train, held = random_split(data, [0.8, 0.2], generator=ng.Generator().manual_seed(args.seed))
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=ng.Generator().manual_seed(args.seed))
    held_loader = DataLoader(held, batch_size=512)
    model = make_model(ng, args.dropout)
    step, opt, _ = make_training(ng, model, args.epochs * len(loader), args.lr, args.weight_decay)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{len(data)} digits ({len(train)} train, {len(held)} held out), {n_params:,} parameters")
    t0 = time.perf_counter()
    losses: list[float] = []
    bar = _bar(range(args.epochs), desc="cnn_digits", unit="epoch")
    for _ in bar:
        epoch = [float(step(x, y).item()) for x, y in loader]
        losses.append(float(np.mean(epoch)))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if hasattr(bar, "close"):
        bar.close()
    elapsed = time.perf_counter() - t0
    acc = accuracy(ng, model, held_loader)
    print(f"cnn_digits: {args.epochs} epochs ({args.epochs * len(loader)} steps) in {elapsed:.1f}s: "
          f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, held-out accuracy {100 * acc:.2f}% ({len(held)} digits)")
    result = {"accuracy": acc, "losses": losses, "seconds": elapsed}
    if args.checkpoint:
        ng.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epochs": args.epochs}, args.checkpoint)
        fresh = make_model(ng, args.dropout)
        fresh.load_state_dict(ng.load(args.checkpoint)["model"])
        again = accuracy(ng, fresh, held_loader)
        print(f"saved {args.checkpoint}; reloaded into a fresh model: held-out accuracy {100 * again:.2f}%")
        result["reloaded_accuracy"] = again
    return result


if __name__ == "__main__":
    main()
