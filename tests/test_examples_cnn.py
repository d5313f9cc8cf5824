"""examples/cnn_digits.py: the same CNN (one definition, built in each library) trained for a few
steps in nbgrad and in PyTorch from the same initial weights and the same batches (nbgrad's
DataLoader), float64, dropout 0: losses, gradients and the weights and running statistics after
the last step agree. Then a short run of the example itself: accuracy far above chance, and the
checkpoint it writes reads back in nbgrad and in PyTorch."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import nbgrad as ng
from nbgrad.utils.data import DataLoader, TensorDataset

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
pytest.importorskip("sklearn", reason="the digits come from scikit-learn")

_PATH = pathlib.Path(__file__).resolve().parent.parent / "examples" / "cnn_digits.py"
_spec = importlib.util.spec_from_file_location("cnn_digits", _PATH)
cnn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cnn)


def test_cnn_matches_torch_step_by_step():
    images, labels = cnn.load_data()
    ds = TensorDataset(ng.tensor(images[:96].astype(np.float64)), ng.tensor(labels[:96]))
    batches = [(x.numpy(), y.numpy()) for x, y in
               DataLoader(ds, batch_size=32, shuffle=True, generator=ng.Generator().manual_seed(1))]
    assert len(batches) == 3
    tm = cnn.make_model(torch, dropout=0.0).double()
    nm = cnn.make_model(ng, dropout=0.0).double()
    nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert list(nm.state_dict()) == list(tm.state_dict())
    steps = 4
    ns, _, _ = cnn.make_training(ng, nm, steps, lr=1e-2, weight_decay=1e-2)
    ts, _, _ = cnn.make_training(torch, tm, steps, lr=1e-2, weight_decay=1e-2)
    ln, lt = [], []
    for i in range(steps):
        x, y = batches[i % len(batches)]
        ln.append(float(ns(ng.tensor(x), ng.tensor(y)).item()))
        lt.append(float(ts(torch.tensor(x), torch.tensor(y)).item()))
        if i == 0:  # the gradients of the first step (still there after opt.step)
            for (k, a), (_, b) in zip(nm.named_parameters(), tm.named_parameters()):
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=k)
    np.testing.assert_allclose(ln, lt, rtol=1e-7)
    assert ln[-1] < ln[0]
    for (k, a), (_, b) in zip(nm.state_dict().items(), tm.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-9, err_msg=k)


def test_cnn_example_short_run_and_checkpoint(tmp_path):
    import safetensors.torch as stt

    path = str(tmp_path / "cnn.safetensors")
    res = cnn.main(["--epochs", "3", "--checkpoint", path])
    assert res["accuracy"] > 0.8  # chance is 0.1
    assert res["reloaded_accuracy"] == res["accuracy"] and res["losses"][-1] < res["losses"][0]
    # PyTorch reads the checkpoint: its copy of the model gives nbgrad's outputs
    flat = stt.load_file(path)
    tm = cnn.make_model(torch)
    tm.load_state_dict({k[len("model."):]: v for k, v in flat.items() if k.startswith("model.")})
    nm = cnn.make_model(ng)
    nm.load_state_dict(ng.load(path)["model"])
    x = cnn.load_data()[0][:50]
    tm.eval(), nm.eval()
    np.testing.assert_allclose(nm(ng.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    assert any(k.startswith("optimizer.state.") for k in flat)
