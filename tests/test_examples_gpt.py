"""examples/gpt_chars.py: the same GPT (one definition, built in each library) trained for three
steps in nbgrad and in PyTorch from the same initial weights and batches, float64, dropout 0:
the losses agree step by step, and so do the weights after the last step."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import nbgrad as ng

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

_PATH = pathlib.Path(__file__).resolve().parent.parent / "examples" / "gpt_chars.py"
_spec = importlib.util.spec_from_file_location("gpt_chars", _PATH)
gpt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpt)

TEXT = "def f(x):\n    return x * 2  # a tiny corpus for a tiny model\n" * 4


def _train(lib, steps=3):
    vocab = gpt.Vocab(TEXT)
    data = vocab.encode(TEXT)
    model = gpt.make_model(lib, len(vocab.chars), block_size=8, n_embd=16, n_head=2, n_layer=2, dropout=0.0)
    model = model.double()
    gpt.init_weights(lib, model, seed=3)
    # larger than GPT-2's init, so the steps move the loss (and clipping acts: lr 1e-2, clip 0.5)
    with lib.no_grad():
        for k, p in model.named_parameters():
            if p.ndim == 2:
                p.mul_(10.0)
    step = gpt.make_training(lib, model, steps=steps, lr=1e-2, weight_decay=0.1, clip=0.5)
    stream = gpt.batches(data, 8, 4, seed=5)
    losses = []
    for _ in range(steps):
        x, y = next(stream)
        _, loss = model(lib.tensor(x), lib.tensor(y))
        step(loss)
        losses.append(float(loss.item()))
    return model, losses


def test_gpt_losses_match_torch_step_by_step():
    mn, ln = _train(ng)
    mt, lt = _train(torch)
    assert list(mn.state_dict()) == list(mt.state_dict())
    np.testing.assert_allclose(ln, lt, rtol=1e-6)
    assert ln[-1] < ln[0]
    for (k, a), (_, b) in zip(mn.state_dict().items(), mt.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-9, err_msg=k)


def test_gpt_sample_and_cosine_lr():
    vocab = gpt.Vocab(TEXT)
    model = gpt.make_model(ng, len(vocab.chars), block_size=8, n_embd=16, n_head=2, n_layer=1)
    text = gpt.sample(ng, model, vocab, "def", 12, seed=1)
    assert text.startswith("def") and len(text) == 15 and set(text) <= set(vocab.chars)
    assert gpt.cosine_lr(0, 10, 1.0, 0.1) == 1.0 and abs(gpt.cosine_lr(10, 10, 1.0, 0.1) - 0.1) < 1e-15
