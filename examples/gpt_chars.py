"""A character-level GPT trained on the text of Python's own help topics (pydoc_data.topics).

    python examples/gpt_chars.py                  # ~300 steps, a couple of minutes on 2 cores
    python examples/gpt_chars.py --steps 50 --layers 2 --embd 32

Token and position embeddings, a few blocks of causal self-attention and a GELU MLP (pre-norm
LayerNorm, residuals), a final LayerNorm and a linear head; AdamW with a cosine learning-rate
schedule and gradient-norm clipping. A tqdm bar shows the loss; at the end a summary line gives
the first and last training loss and a held-out loss, then a sampled text is printed.

The model is written once against the torch-shaped API (`make_model(lib, ...)`), so the same code
builds it in nbgrad or in PyTorch: tests/test_examples_gpt.py trains both from the same weights
and batches and checks that the losses agree step by step."""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np


def load_text() -> str:
    from pydoc_data.topics import topics

    return "".join(topics[k] for k in sorted(topics))


class Vocab:
    def __init__(self, text: str) -> None:
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def encode(self, s: str) -> np.ndarray:
        return np.array([self.index[c] for c in s], dtype=np.int64)

    def decode(self, ids: Any) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def make_model(lib: Any, vocab_size: int, block_size: int, n_embd: int, n_head: int, n_layer: int,
               dropout: float = 0.0) -> Any:
    """The GPT as a `lib.nn.Module` (lib: nbgrad or torch)."""
    nn, F = lib.nn, lib.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(n_embd, 3 * n_embd)
            self.proj = nn.Linear(n_embd, n_embd)
            self.drop = nn.Dropout(dropout)

        def forward(self, x: Any) -> Any:
            B, T, C = x.shape
            hd = C // n_head
            qkv = self.qkv(x).reshape(B, T, 3, n_head, hd).permute(2, 0, 3, 1, 4)  # (3, B, H, T, hd)
            y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True,
                                               dropout_p=dropout if self.training else 0.0)
            return self.drop(self.proj(y.transpose(1, 2).reshape(B, T, C)))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(n_embd)
            self.attn = CausalSelfAttention()
            self.ln2 = nn.LayerNorm(n_embd)
            self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd),
                                     nn.Dropout(dropout))

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block_size = block_size
            self.tok = nn.Embedding(vocab_size, n_embd)
            self.pos = nn.Embedding(block_size, n_embd)
            self.drop = nn.Dropout(dropout)
            self.blocks = nn.Sequential(*[Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.head = nn.Linear(n_embd, vocab_size)

        def forward(self, idx: Any, targets: Any = None) -> Any:
            B, T = idx.shape
            pos = lib.arange(T, device=idx.device)
            x = self.drop(self.tok(idx) + self.pos(pos))
            logits = self.head(self.ln_f(self.blocks(x)))
            if targets is None:
                return logits
            return logits, F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))

    return GPT()


def init_weights(lib: Any, model: Any, seed: int = 0) -> None:
    """GPT-2's initialisation (N(0, 0.02) weights, zero biases, unit LayerNorms), drawn with NumPy so
    that both libraries can start from the same values."""
    rng = np.random.default_rng(seed)
    state = {}
    for k, v in model.state_dict().items():
        shape = tuple(v.shape)
        if k.endswith("bias"):
            state[k] = np.zeros(shape)
        elif ".ln" in k or k.startswith("ln"):
            state[k] = np.ones(shape)
        else:
            state[k] = rng.normal(0.0, 0.02, shape)
    dt = next(iter(model.parameters())).dtype
    model.load_state_dict({k: lib.tensor(v, dtype=dt) for k, v in state.items()})


def batches(data: np.ndarray, block_size: int, batch_size: int, seed: int):
    """An endless stream of (inputs, targets) windows of the data, drawn by a seeded NumPy generator."""
    rng = np.random.default_rng(seed)
    while True:
        starts = rng.integers(0, len(data) - block_size - 1, batch_size)
        x = np.stack([data[s:s + block_size] for s in starts])
        y = np.stack([data[s + 1:s + block_size + 1] for s in starts])
        yield x, y


def cosine_lr(step: int, total: int, base: float, eta_min: float) -> float:
    """CosineAnnealingLR's closed form: the learning rate of step `step` (0-based) of `total`."""
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * step / total)) / 2


def make_training(lib: Any, model: Any, steps: int, lr: float, weight_decay: float, clip: float) -> Any:
    """AdamW, a cosine schedule and clipping: `step(loss)` runs one update. The library's
    lr_scheduler.CosineAnnealingLR and nn.utils.clip_grad_norm_ are used where it has them, else
    the same formulas here."""
    opt = lib.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=weight_decay)
    sched_mod = getattr(lib.optim, "lr_scheduler", None)
    cosine = getattr(sched_mod, "CosineAnnealingLR", None)
    sched = cosine(opt, T_max=steps, eta_min=lr / 10) if cosine is not None else None
    utils = getattr(lib.nn, "utils", None)
    clip_fn = getattr(utils, "clip_grad_norm_", None) if utils is not None else None
    params = [p for p in model.parameters() if p.requires_grad]
    count = [0]

    def clip_by_hand() -> None:
        with lib.no_grad():
            total = math.sqrt(sum(float((p.grad * p.grad).sum().item()) for p in params if p.grad is not None))
            coef = min(clip / (total + 1e-6), 1.0)
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(coef)

    def step(loss: Any) -> None:
        opt.zero_grad()
        loss.backward()
        if clip_fn is not None:
            clip_fn(params, clip)
        else:
            clip_by_hand()
        if sched is None:
            for g in opt.param_groups:
                g["lr"] = cosine_lr(count[0], steps, lr, lr / 10)
        opt.step()
        if sched is not None:
            sched.step()
        count[0] += 1

    return step


def sample(lib: Any, model: Any, vocab: Vocab, prompt: str, length: int, seed: int = 0,
           temperature: float = 0.8) -> str:
    """`length` characters after prompt, each drawn from the model's softmax (NumPy's generator)."""
    rng = np.random.default_rng(seed)
    model.eval()
    ids = list(vocab.encode(prompt))
    with lib.no_grad():
        for _ in range(length):
            ctx = lib.tensor(np.array([ids[-model.block_size:]], dtype=np.int64))
            logits = model(ctx)[0, -1].double().numpy() / temperature
            p = np.exp(logits - logits.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return vocab.decode(ids)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--block-size", type=int, default=64)
    ap.add_argument("--embd", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--sample", type=int, default=300, help="characters to sample at the end")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import nbgrad as ng
    from tqdm import tqdm

    ng.manual_seed(args.seed)
    text = load_text()
    vocab = Vocab(text)
    data = vocab.encode(text)
    split = int(len(data) * 0.95)
    train, held = data[:split], data[split:]
    model = make_model(ng, len(vocab.chars), args.block_size, args.embd, args.heads, args.layers, args.dropout)
    init_weights(ng, model, args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    step = make_training(ng, model, args.steps, args.lr, args.weight_decay, args.clip)
    stream = batches(train, args.block_size, args.batch_size, args.seed)
    print(f"{len(text):,} characters, vocabulary {len(vocab.chars)}, {n_params:,} parameters")
    t0 = time.perf_counter()
    losses = []
    bar = tqdm(range(args.steps), desc="gpt_chars", unit="step")
    for _ in bar:
        x, y = next(stream)
        _, loss = model(ng.tensor(x), ng.tensor(y))
        step(loss)
        losses.append(float(loss.item()))
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    bar.close()
    elapsed = time.perf_counter() - t0
    model.eval()
    with ng.no_grad():
        hx, hy = next(batches(held, args.block_size, 4 * args.batch_size, args.seed + 1))
        held_loss = float(model(ng.tensor(hx), ng.tensor(hy))[1].item())
    model.train()
    tail = float(np.mean(losses[-10:]))
    print(f"gpt_chars: {args.steps} steps in {elapsed:.1f}s ({elapsed / args.steps * 1e3:.0f} ms/step): "
          f"loss {losses[0]:.3f} -> {tail:.3f} (mean of the last 10), held-out {held_loss:.3f}")
    if args.sample:
        print("--- sample ---")
        print(sample(ng, model, vocab, "The ", args.sample, args.seed))


if __name__ == "__main__":
    main()
