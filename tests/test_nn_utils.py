"""nn.utils (gradient clipping, parameters <-> vector), buffers and the containers, against PyTorch."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbgrad as ng
from nbgrad import nn

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

R = np.random.default_rng(0)
SHAPES = [(3, 4), (5,), (2, 1, 3)]


def _params(lib, dtype, grads):
    ps = []
    for g in grads:
        p = lib.nn.Parameter(lib.tensor(np.zeros(g.shape), dtype=dtype))
        p.grad = lib.tensor(g, dtype=dtype)
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, -math.inf, 0, "inf"])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_clip_grad_norm_matches_torch(norm_type, dt):
    grads = [R.standard_normal(s) * 3 for s in SHAPES]
    grads[1][2] = 0.0
    pn, pt = _params(ng, getattr(ng, dt), grads), _params(torch, getattr(torch, dt), grads)
    tn = nn.utils.clip_grad_norm_(pn, 1.5, norm_type=norm_type)
    tt = torch.nn.utils.clip_grad_norm_(pt, 1.5, norm_type=norm_type)
    assert isinstance(tn, ng.Tensor) and tn.shape == () and str(tn.dtype).endswith(dt)
    tol = 1e-5 if dt == "float32" else 1e-12
    np.testing.assert_allclose(tn.item(), tt.item(), rtol=tol)
    for a, b in zip(pn, pt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


def test_clip_grad_norm_forms_and_errors():
    g = R.standard_normal((4,))
    # one tensor, a generator, parameters without grad, no parameters at all
    p = _params(ng, ng.float64, [g])[0]
    q = nn.Parameter(ng.zeros(3))
    total = nn.utils.clip_grad_norm_(p, 10.0)
    np.testing.assert_allclose(total.item(), np.linalg.norm(g), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-12)  # under max_norm: unchanged
    total = nn.utils.clip_grad_norm_((x for x in [p, q]), 0.5)
    np.testing.assert_allclose(np.linalg.norm(p.grad.numpy()), 0.5, rtol=1e-5)
    assert q.grad is None
    z = nn.utils.clip_grad_norm_([], 1.0)
    assert z.item() == 0.0 and z.dtype == ng.float32
    # mixed dtypes: the total is float64, as torch.stack promotes
    mixed = _params(ng, ng.float32, [g]) + _params(ng, ng.float64, [g])
    assert nn.utils.clip_grad_norm_(mixed, 1.0).dtype == ng.float64
    # non-finite norms
    bad = _params(ng, ng.float32, [np.array([1.0, np.nan])])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is non-finite"):
        nn.utils.clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    assert np.isnan(nn.utils.clip_grad_norm_(bad, 1.0, foreach=True).item())
    with pytest.warns(FutureWarning):
        nn.utils.clip_grad_norm(p, 1.0)
    # get_total_norm + clip_grads_with_norm_ is clip_grad_norm_ in two steps
    a, b = _params(ng, ng.float64, [g * 5]), _params(ng, ng.float64, [g * 5])
    t = nn.utils.get_total_norm([x.grad for x in a])
    nn.utils.clip_grads_with_norm_(a, 1.0, t)
    nn.utils.clip_grad_norm_(b, 1.0)
    np.testing.assert_array_equal(a[0].grad.numpy(), b[0].grad.numpy())


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_clip_grad_value_matches_torch(dt):
    grads = [R.standard_normal(s) for s in SHAPES]
    pn, pt = _params(ng, getattr(ng, dt), grads), _params(torch, getattr(torch, dt), grads)
    pn.append(nn.Parameter(ng.zeros(2)))  # no grad: skipped
    assert nn.utils.clip_grad_value_(pn, 0.5) is None
    torch.nn.utils.clip_grad_value_(pt, 0.5)
    for a, b in zip(pn, pt):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_parameters_vector_roundtrip_matches_torch():
    mn, mt = nn.Linear(3, 2, dtype=ng.float64), torch.nn.Linear(3, 2, dtype=torch.float64)
    mn.load_state_dict({k: v.detach().numpy() for k, v in mt.state_dict().items()})
    vn, vt = nn.utils.parameters_to_vector(mn.parameters()), torch.nn.utils.parameters_to_vector(mt.parameters())
    np.testing.assert_array_equal(vn.detach().numpy(), vt.detach().numpy())
    # differentiable, as torch's
    gw = R.standard_normal(8)
    (vn * ng.tensor(gw)).sum().backward()
    (vt * torch.tensor(gw)).sum().backward()
    np.testing.assert_array_equal(mn.weight.grad.numpy(), mt.weight.grad.numpy())
    new = np.arange(8.0)
    nn.utils.vector_to_parameters(ng.tensor(new), mn.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), mt.parameters())
    for a, b in zip(mn.parameters(), mt.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert isinstance(mn.weight, nn.Parameter) and mn.weight.requires_grad
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], mn.parameters())


def test_clip_grad_norm_on_cuda():
    if not ng.cuda.is_available():
        pytest.skip("no CUDA (nor the simulator)")
    g = np.array([3.0, -4.0])
    p = nn.Parameter(ng.zeros(2, dtype=ng.float64, device="cuda"))
    p.grad = ng.tensor(g, device="cuda")
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert total.device.type == "cuda"
    np.testing.assert_allclose(total.item(), 5.0, rtol=1e-12)
    np.testing.assert_allclose(p.grad.cpu().numpy(), g / (5 + 1e-6), rtol=1e-12)


# ------------------------------------------------------------------ buffers


def _with_buffers(lib):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("cache", lib.ones(3), persistent=False)
            self.register_buffer("none", None)

    return M()


def test_buffers_and_state_dict_keys_match_torch():
    mn, mt = _with_buffers(ng), _with_buffers(torch)
    assert list(mn.state_dict()) == list(mt.state_dict()) == ["steps", "lin.weight", "lin.bias"]
    assert [n for n, _ in mn.named_buffers()] == [n for n, _ in mt.named_buffers()] == ["steps", "cache"]
    assert len(list(mn.buffers())) == 2
    # a buffer can be replaced by assignment (it stays a buffer) and not by a non-tensor
    mn.steps = ng.full((1,), 7.0)
    assert mn.state_dict()["steps"].item() == 7.0
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'steps'"):
        mn.steps = 3
    # persistent again when registered again
    mn.register_buffer("cache", ng.ones(3))
    assert "cache" in mn.state_dict()
    bad = [("a.b", ng.ones(1), KeyError, "buffer name can.+t contain"),
           ("", ng.ones(1), KeyError, "buffer name can.+t be empty string"),
           ("lin", ng.ones(1), KeyError, "attribute 'lin' already exists"),
           ("x", 3, TypeError, "cannot assign 'int' object to buffer 'x' \\(torch Tensor or None required\\)")]
    for name, value, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            mn.register_buffer(name, value)
        with pytest.raises(exc, match=msg):  # (the same error from torch)
            mt.register_buffer(name, torch.ones(1) if isinstance(value, ng.Tensor) else value)


def test_register_parameter_and_add_module_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'p'"):
        m.register_parameter("p", ng.ones(1))
    with pytest.raises(KeyError, match="attribute 'in_features' already exists"):
        m.register_parameter("in_features", nn.Parameter(ng.ones(1)))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(KeyError, match='module name can.+t contain ".", got: a.b'):
        m.add_module("a.b", nn.ReLU())


# ------------------------------------------------------------------ containers


def _containers(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(2)])
            self.heads = lib.nn.ModuleDict({"a": lib.nn.Linear(2, 1), "b": lib.nn.BatchNorm1d(2)})
            self.plist = lib.nn.ParameterList([lib.ones(2), lib.nn.Parameter(lib.zeros(3))])
            self.pdict = lib.nn.ParameterDict({"w": lib.ones(2, 2)})
            self.unflat = lib.nn.Unflatten(1, (2, 2))

    return Net()


def test_container_state_dict_keys_match_torch():
    mn, mt = _containers(ng), _containers(torch)
    assert list(mn.state_dict()) == list(mt.state_dict())
    assert [n for n, _ in mn.named_parameters()] == [n for n, _ in mt.named_parameters()]
    # torch's weights load into nbgrad's model
    res = mn.load_state_dict({k: v.detach().numpy() for k, v in mt.state_dict().items()})
    assert repr(res) == "<All keys matched successfully>"
    assert all(isinstance(p, nn.Parameter) for p in mn.plist) and len(mn.plist) == 2
    x = R.standard_normal((3, 4))
    np.testing.assert_array_equal(mn.unflat(ng.tensor(x)).numpy(), mt.unflat(torch.tensor(x)).numpy())
    assert repr(mn.unflat) == repr(mt.unflat)
    assert repr(mn.layers) == repr(mt.layers)  # (0-1): 2 x Linear(...)


def test_module_list_and_dict_ops():
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    ml.append(nn.Sigmoid()).extend([nn.Identity()])
    ml.insert(1, nn.Linear(1, 1))
    assert [type(m).__name__ for m in ml] == ["ReLU", "Linear", "Tanh", "Sigmoid", "Identity"]
    assert isinstance(ml[-1], nn.Identity) and len(ml[1:3]) == 2 and isinstance(ml[1:3], nn.ModuleList)
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3"] and isinstance(ml[0], nn.Linear)
    assert isinstance(ml.pop(0), nn.Linear) and len(ml) == 3
    ml[0] = nn.ReLU()
    assert isinstance(ml[0], nn.ReLU)
    with pytest.raises(IndexError, match="index 7 is out of range"):
        ml[7]
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        ml.append(3)
    assert len(ml + nn.ModuleList([nn.ReLU()])) == 4
    md = nn.ModuleDict([("x", nn.ReLU())])
    md["y"] = nn.Tanh()
    assert list(md) == list(md.keys()) == ["x", "y"] and "y" in md and len(md) == 2
    assert isinstance(md.pop("x"), nn.ReLU) and list(md.keys()) == ["y"]
    with pytest.raises(KeyError, match="module name can.+t contain"):
        md["a.b"] = nn.ReLU()
    pd = nn.ParameterDict()
    pd["k"] = ng.ones(2)
    assert isinstance(pd["k"], nn.Parameter) and list(pd.keys()) == ["k"] and "k" in pd
    del pd["k"]
    assert len(pd) == 0 and list(pd.state_dict()) == []
    pl = nn.ParameterList()
    pl.append(ng.zeros(1))
    pl[0] = ng.ones(2)
    assert pl[0].shape == (2,) and list(pl.state_dict()) == ["0"]


def test_state_dict_prefix_and_keep_vars_match_torch():
    mn, mt = _containers(ng), _containers(torch)
    assert list(mn.state_dict(prefix="net.")) == list(mt.state_dict(prefix="net."))
    kn, kt = mn.state_dict(keep_vars=True), mt.state_dict(keep_vars=True)
    assert kn["layers.0.weight"] is mn.layers[0].weight and kt["layers.0.weight"] is mt.layers[0].weight
    assert not mn.state_dict()["layers.0.weight"].requires_grad
    dest = {}
    assert mn.state_dict(destination=dest, prefix="p.") is dest and list(dest) == list(mt.state_dict(prefix="p."))



@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 32), max_norm=st.floats(0.01, 100.0), norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]))
def test_clip_grad_norm_property(seed, max_norm, norm_type):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s) * rng.uniform(0.01, 10) for s in SHAPES]
    pn, pt = _params(ng, ng.float64, grads), _params(torch, torch.float64, grads)
    tn = nn.utils.clip_grad_norm_(pn, max_norm, norm_type)
    tt = torch.nn.utils.clip_grad_norm_(pt, max_norm, norm_type)
    np.testing.assert_allclose(tn.item(), tt.item(), rtol=1e-12)
    after = nn.utils.get_total_norm([p.grad for p in pn], norm_type).item()
    assert after <= max_norm * (1 + 1e-9) or math.isclose(after, tn.item(), rel_tol=1e-12)
    for a, b in zip(pn, pt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_assigning_none_or_a_wrong_type_to_a_child():
    for lib in (ng, torch):
        m = lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.ReLU())
        with pytest.raises(TypeError, match="cannot assign 'int' as child module '0'"):
            setattr(m, "0", 3)
        setattr(m, "0", None)
        assert [n for n, _ in m.named_modules()] == ["", "1"] and list(m.state_dict()) == []
