"""ng.save / ng.load (safetensors files, read by PyTorch's safetensors.torch and written by it) and
Module.load_state_dict (torch's messages, all or nothing)."""

import io
import math

import numpy as np
import pytest

import nbgrad as ng
from nbgrad import nn

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
stt = pytest.importorskip("safetensors.torch")

R = np.random.default_rng(0)


def _net(lib, dtype=None):
    kw = {} if dtype is None else {"dtype": dtype}
    return lib.nn.Sequential(lib.nn.Linear(3, 4, **kw), lib.nn.BatchNorm1d(4, **kw), lib.nn.ReLU(),
                             lib.nn.Linear(4, 2, **kw))


def _train_a_little(m, lib):
    m(lib.tensor(R.standard_normal((5, 3)), dtype=m[0].weight.dtype)).sum().backward()  # updates the running stats


def _same(ma, mb):
    for (ka, a), (kb, b) in zip(ma.state_dict().items(), mb.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()), err_msg=ka)


def test_state_dict_roundtrip(tmp_path):
    for dt in (ng.float32, ng.float64):
        a, b = _net(ng, dt), _net(ng, dt)
        _train_a_little(a, ng)
        path = tmp_path / "model.safetensors"
        ng.save(a.state_dict(), path)
        sd = ng.load(path)
        assert list(sd) == list(a.state_dict())
        assert sd["1.num_batches_tracked"].dtype == ng.int64 and sd["0.weight"].dtype == dt
        b.load_state_dict(sd)
        _same(a, b)


def test_nbgrad_file_loads_in_torch_and_back(tmp_path):
    m = _net(ng)
    _train_a_little(m, ng)
    path = str(tmp_path / "m.safetensors")
    ng.save(m.state_dict(), path)
    tsd = stt.load_file(path)
    assert set(tsd) == set(m.state_dict())
    tm = _net(torch)
    tm.load_state_dict(tsd)  # torch's module takes nbgrad's state dict as it is
    tm.eval(), m.eval()
    x = R.standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(m(ng.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    # and a file written by torch's safetensors loads in nbgrad
    tm2 = _net(torch)
    tm2(torch.tensor(R.standard_normal((5, 3)), dtype=torch.float32))
    tpath = str(tmp_path / "t.safetensors")
    stt.save_file(tm2.state_dict(), tpath, metadata={"format": "pt"})
    sd = ng.load(tpath)
    assert set(sd) == set(tm2.state_dict()) and all(isinstance(v, ng.Tensor) for v in sd.values())
    m2 = _net(ng)
    m2.load_state_dict(sd)
    m2.eval(), tm2.eval()
    np.testing.assert_allclose(m2(ng.tensor(x)).detach().numpy(), tm2(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    # a bool and an int tensor, a file-like object
    buf = io.BytesIO()
    buf.write(stt.save({"mask": torch.tensor([True, False]), "i": torch.arange(3, dtype=torch.int32)}))
    buf.seek(0)
    got = ng.load(buf)
    assert got["mask"].dtype == ng.bool and got["mask"].tolist() == [True, False] and got["i"].dtype == ng.int32


def test_optimizer_state_roundtrip(tmp_path):
    def make():
        m = nn.Linear(3, 2, dtype=ng.float64)
        m.load_state_dict({"weight": ng.tensor(np.arange(6.0).reshape(2, 3) / 10), "bias": ng.zeros(2, dtype=ng.float64)})
        opt = ng.optim.Adam(m.parameters(), lr=0.1, betas=(0.8, 0.9))
        return m, opt

    def step(m, opt, i):
        opt.zero_grad()
        x = ng.tensor(np.random.default_rng(i).standard_normal((4, 3)))
        (m(x) ** 2).sum().backward()
        opt.step()

    m, opt = make()
    for i in range(3):
        step(m, opt, i)
    path = tmp_path / "ckpt.safetensors"
    ng.save({"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 3, "note": "after 3 steps"}, path)
    flat = stt.load_file(str(path))
    assert "optim.state.0.exp_avg" in flat and "model.weight" in flat
    ck = ng.load(path)
    assert ck["epoch"] == 3 and ck["note"] == "after 3 steps"
    assert ck["optim"]["param_groups"][0]["betas"] == (0.8, 0.9) and list(ck["optim"]["state"]) == [0, 1]
    m2, opt2 = make()
    m2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["optim"])
    for i in range(3, 5):
        step(m, opt, i)
        step(m2, opt2, i)
    _same(m, m2)


def test_plain_values_and_structure(tmp_path):
    p = nn.Parameter(ng.ones(2))
    obj = {"t": ng.arange(3), "nested": {"a": [ng.zeros(1), 2, (3.5, None)], 7: "int key"},
           "floats": [math.inf, -math.inf], "dtype": ng.float64, "dev": ng.device("cpu"), "p": p,
           "g": ng.ones(2).requires_grad_(), "__under": 1, "np": np.float32(1.5)}
    buf = io.BytesIO()
    ng.save(obj, buf)
    buf.seek(0)
    back = ng.load(buf)
    assert back["t"].tolist() == [0, 1, 2] and back["nested"][7] == "int key"
    assert back["nested"]["a"][1:] == [2, (3.5, None)] and back["nested"]["a"][0].tolist() == [0.0]
    assert back["floats"] == [math.inf, -math.inf] and back["dtype"] == ng.float64 and back["dev"] == ng.device("cpu")
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad and back["g"].requires_grad
    assert back["__under"] == 1 and back["np"] == 1.5
    # a tensor by itself
    ng.save(ng.tensor([[1.0, 2.0]]), tmp_path / "t")
    assert ng.load(tmp_path / "t").tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match="two tensors would be stored under the same name 'a.b'"):
        ng.save({"a.b": ng.ones(1), "a": {"b": ng.ones(1)}}, io.BytesIO())
    with pytest.raises(TypeError, match="cannot store a set"):
        ng.save({"x": {1, 2}}, io.BytesIO())


def test_bad_files_give_clear_errors_and_change_nothing(tmp_path):
    m = _net(ng)
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    good = tmp_path / "good.safetensors"
    ng.save(_net(ng).state_dict(), good)
    raw = good.read_bytes()
    cases = {"truncated.safetensors": raw[:-10], "header_cut.safetensors": raw[:20], "empty.bin": b"",
             "text.txt": b"this is not a checkpoint at all, just some words"}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(RuntimeError, match=f"{name} is not a safetensors checkpoint, or it is truncated"):
            m.load_state_dict(ng.load(path))
    tpath = tmp_path / "pickle.pt"
    torch.save(_net(torch).state_dict(), tpath)
    with pytest.raises(RuntimeError, match="pickle.pt is not a safetensors checkpoint"):
        ng.load(tpath)
    half = tmp_path / "half.safetensors"
    stt.save_file({"w": torch.ones(2, dtype=torch.float16)}, str(half))
    with pytest.raises(RuntimeError, match="tensor 'w' in .*half.safetensors has dtype F16, which nbgrad has no dtype"):
        ng.load(half)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_map_location_cuda(tmp_path):
    if not ng.cuda.is_available():
        pytest.skip("no CUDA (nor the simulator)")
    ng.save({"w": ng.tensor([1.0, 2.0], device="cuda")}, tmp_path / "c")
    w = ng.load(tmp_path / "c", map_location="cuda")["w"]
    assert w.device.type == "cuda" and w.cpu().tolist() == [1.0, 2.0]
    assert ng.load(tmp_path / "c")["w"].device.type == "cpu"


# ------------------------------------------------------------------ load_state_dict


def _errors(sd_n, sd_t, strict=True):
    mn, mt = _net(ng), _net(torch)
    with pytest.raises(RuntimeError) as en:
        mn.load_state_dict(sd_n, strict=strict)
    with pytest.raises(RuntimeError) as et:
        mt.load_state_dict(sd_t, strict=strict)
    assert str(en.value) == str(et.value).replace("torch.Size", "nbgrad.Size")
    return str(en.value)


def _both(edit):
    sn, st = _net(ng).state_dict(), _net(torch).state_dict()
    edit(sn, ng)
    edit(st, torch)
    return sn, st


def test_load_state_dict_messages_match_torch():
    msg = _errors(*_both(lambda sd, lib: sd.pop("3.bias")))
    assert msg == 'Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "3.bias". '

    def many(sd, lib):
        sd.pop("0.weight"), sd.pop("1.running_var")
        sd["9.extra"], sd["0.nope"], sd["3"] = lib.ones(1), lib.ones(1), lib.ones(1)
        sd["3.weight"] = lib.ones(2, 5)

    msg = _errors(*_both(many))
    assert "Unexpected key(s) in state_dict: \"9.extra\", \"3\", \"0.nope\"." in msg and "size mismatch for 3.weight" in msg
    _errors(*_both(lambda sd, lib: sd.__setitem__("0.bias", lib.ones(5))), strict=False)  # shapes: even non-strict
    lin_n, lin_t = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    for m in (lin_n, lin_t):
        with pytest.raises(RuntimeError) as e:
            m.load_state_dict({"weight": m.weight.detach()})
        assert str(e.value).startswith("Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: ")
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>."):
        lin_n.load_state_dict([])


def test_load_state_dict_is_all_or_nothing():
    m = _net(ng)
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    sd = {k: ng.ones(v.shape, dtype=v.dtype) for k, v in _net(ng).state_dict().items()}
    sd["3.bias"] = ng.ones(7)  # the last entry is wrong: nothing before it is loaded either
    with pytest.raises(RuntimeError, match="size mismatch for 3.bias"):
        m.load_state_dict(sd)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    sd.pop("3.bias")
    with pytest.raises(RuntimeError, match="Missing key"):
        m.load_state_dict(sd)
    assert m.state_dict()["0.weight"].numpy().tolist() == before["0.weight"].tolist()


def test_load_state_dict_results_and_options_match_torch():
    sn, st = _both(lambda sd, lib: (sd.pop("0.bias"), sd.__setitem__("x.y", lib.ones(1))))
    rn, rt = _net(ng).load_state_dict(sn, strict=False), _net(torch).load_state_dict(st, strict=False)
    assert rn.missing_keys == rt.missing_keys and rn.unexpected_keys == rt.unexpected_keys
    assert repr(rn) == repr(rt) and tuple(rn) == tuple(rt)
    assert repr(_net(ng).load_state_dict(_net(ng).state_dict())) == "<All keys matched successfully>"
    # values cast to the parameter's dtype; a [1] loads into a 0-dim buffer; assign takes the tensors
    m = _net(ng, ng.float64)
    sd = {k: v.float() if v.is_floating_point() else v for k, v in _net(ng).state_dict().items()}
    sd["1.num_batches_tracked"] = ng.tensor([5])
    m.load_state_dict(sd)
    assert m[0].weight.dtype == ng.float64 and m[1].num_batches_tracked.shape == () and m[1].num_batches_tracked.item() == 5
    w = ng.ones(4, 3)
    m.load_state_dict({**m.state_dict(), "0.weight": w}, assign=True)
    assert isinstance(m[0].weight, nn.Parameter) and m[0].weight.requires_grad and m[0].weight.dtype == ng.float32
    # NumPy arrays and torch tensors are accepted as values
    m.load_state_dict({k: v.detach().numpy() for k, v in _net(torch).state_dict().items()})
