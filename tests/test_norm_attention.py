"""Layers of issue 17 against PyTorch: gelu, normalisation (layer/rms/group/batch norm with their
running statistics), dropout, embedding, scaled dot-product attention, MultiheadAttention and
TransformerEncoderLayer: values, gradients under non-uniform upstream gradients, float32 and
float64, state_dict keys and values loaded from torch's modules, train/eval, torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbgrad as ng
import nbgrad.nn.functional as NF

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]


def tol(dt):
    return dict(rtol=2e-5, atol=2e-5) if dt == np.float32 else dict(rtol=1e-10, atol=1e-10)


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x.detach().cpu().numpy() if isinstance(x, ng.Tensor) else x)


def R(*shape, seed=1, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(lo, hi, shape)


def check(fn, arrays, dt, nograd=(), seed=0, transpose=()):
    """fn(lib, *tensors) in both libraries on the same inputs: outputs and input gradients under a
    random upstream gradient. Indices in `transpose` are passed as non-contiguous (transposed) views."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=dt) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    rg = [a.dtype.kind == "f" and i not in nograd for i, a in enumerate(arrays)]

    def make(lib, i, a, r):
        if i in transpose:
            t = lib.tensor(np.ascontiguousarray(a.swapaxes(-1, -2)), requires_grad=r)
            return t, t.transpose(-1, -2)
        t = lib.tensor(a, requires_grad=r)
        return t, t

    xs = [make(ng, i, a, r) for i, (a, r) in enumerate(zip(arrays, rg))]
    ts = [make(torch, i, a, r) for i, (a, r) in enumerate(zip(arrays, rg))]
    yn, yt = fn(ng, *[v for _, v in xs]), fn(torch, *[v for _, v in ts])
    assert tuple(yn.shape) == tuple(yt.shape)
    assert yn.dtype.name == str(yt.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(yn), _np(yt), **tol(dt))
    g = rng.standard_normal(tuple(yt.shape)).astype(_np(yt).dtype)
    yn.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))
    for (xn, _), (xt, _) in zip(xs, ts):
        if xt.grad is None:
            assert xn.grad is None or not np.any(_np(xn.grad))
            continue
        assert xn.grad is not None
        np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), **tol(dt))


def F(lib):
    return NF if lib is ng else TF


# ---------------------------------------------------------------- gelu
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(dt, approximate):
    check(lambda lib, x: F(lib).gelu(x, approximate=approximate), [R(4, 6, lo=-5, hi=5)], dt)
    check(lambda lib, x: F(lib).gelu(x, approximate=approximate), [R(3, 5)], dt, transpose=(0,))
    check(lambda lib, x: lib.nn.GELU(approximate)(x), [np.asarray(0.7)], dt)


def test_gelu_empty_and_errors():
    assert NF.gelu(ng.zeros(0, 3)).shape == (0, 3)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        NF.gelu(ng.ones(2), approximate="fast")
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        NF.gelu(ng.tensor([1, 2]))
    assert repr(ng.nn.GELU("tanh")) == repr(torch.nn.GELU("tanh"))


# ---------------------------------------------------------------- normalisation
@pytest.mark.parametrize("dt", DTYPES)
def test_layer_norm(dt):
    ln = lambda ns, **kw: (lambda lib, x, *wb: F(lib).layer_norm(x, ns, *wb, **kw))  # noqa: E731
    check(ln((5,)), [R(4, 5), R(5, seed=2), R(5, seed=3)], dt)
    check(ln((3, 5), eps=1e-3), [R(2, 3, 5), R(3, 5, seed=2), R(3, 5, seed=3)], dt)
    check(ln((4,)), [R(3, 2, 4)], dt)  # no affine
    check(ln((4,)), [R(2, 4, 4), R(4, seed=2)], dt, transpose=(0,))  # non-contiguous input, weight only
    check(ln((6,)), [R(1, 6, lo=3, hi=3.0001)], dt)  # almost constant rows: eps dominates


@pytest.mark.parametrize("dt", DTYPES)
def test_layer_norm_affine_fused(dt):
    """With weight and / or bias, layer_norm is one node (NativeLayerNormBackward1: a fused forward
    and one backward pass for all three gradients) and agrees with torch; rows enough for several
    blocks of the column sums, and for the parallel kernels; gradients asked for only in part."""
    ln = lambda ns: (lambda lib, x, *wb: F(lib).layer_norm(x, ns, *wb))  # noqa: E731
    check(ln((7,)), [R(40, 7), R(7, seed=2), R(7, seed=3)], dt)
    check(ln((3, 5)), [R(37, 3, 5), R(3, 5, seed=2), R(3, 5, seed=3)], dt, transpose=(0,))
    check(lambda lib, x, b: F(lib).layer_norm(x, (4,), None, b), [R(33, 2, 4), R(4, seed=3)], dt)
    check(ln((6,)), [R(9, 6), R(6, seed=2), R(6, seed=3)], dt, nograd=(1,))
    check(ln((6,)), [R(9, 6), R(6, seed=2), R(6, seed=3)], dt, nograd=(0,))
    check(ln((6,)), [R(9, 6), R(6, seed=2), R(6, seed=3)], dt, nograd=(0, 2))
    # 1M elements (the parallel kernels), against torch in float64 (its float32 column sums drift)
    x0, w0, b0, g0 = R(2100, 512), R(512, seed=2), R(512, seed=3), R(2100, 512, seed=4)
    x, w, b = (ng.tensor(a.astype(dt), requires_grad=True) for a in (x0, w0, b0))
    NF.layer_norm(x, (512,), w, b).backward(ng.tensor(g0.astype(dt)))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    TF.layer_norm(xt, (512,), wt, bt).backward(torch.tensor(g0))
    for u, v in ((x, xt), (w, wt), (b, bt)):
        np.testing.assert_allclose(_np(u.grad), _np(v.grad), rtol=1e-5 if dt == np.float32 else 1e-10,
                                   atol=1e-4 if dt == np.float32 else 1e-10)
    x = ng.tensor(R(3, 4).astype(dt), requires_grad=True)
    assert NF.layer_norm(x, (4,), ng.ones(4, dtype=x.dtype, requires_grad=True)).grad_fn.name == \
        "NativeLayerNormBackward1"
    assert NF.layer_norm(x, (4,)).grad_fn.name == "NativeLayerNormBackward0"
    assert ng.ops.derivatives()["NativeLayerNormBackward1"].startswith("input, weight, bias: layer_norm_affine_backward(")


def test_layer_norm_affine_column_sums_are_deterministic():
    """The weight and bias gradients sum fixed blocks of rows in float64: the same bits on every run."""
    x0, g0 = R(300, 64), R(300, 64, seed=5)
    grads = []
    for _ in range(2):
        x = ng.tensor(x0.astype(np.float32), requires_grad=True)
        w, b = ng.ones(64, requires_grad=True), ng.zeros(64, requires_grad=True)
        NF.layer_norm(x, (64,), w, b).backward(ng.tensor(g0.astype(np.float32)))
        grads.append((w.grad.numpy(), b.grad.numpy()))
    for u, v in zip(*grads):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_allclose(grads[0][1], g0.sum(0), rtol=1e-6, atol=1e-5)


def test_layer_norm_affine_double_backward():
    """Second derivatives of the affine layer_norm (for x, weight and bias) against torch's."""
    x0, w0, b0, v0 = R(5, 2, 3), R(2, 3, seed=2), R(2, 3, seed=3), R(5, 2, 3, seed=4)
    outs = []
    for lib in (ng, torch):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = F(lib).layer_norm(x, (2, 3), w, b, eps=1e-3)
        gs = lib.autograd.grad(y, (x, w, b), lib.tensor(v0), create_graph=True)
        s = (gs[0] ** 2).sum() + (gs[1] * lib.tensor(w0)).sum() + (gs[0] * x).sum()
        outs.append([_np(t) for t in (*gs, *lib.autograd.grad(s, (x, w)))])
    for u, v in zip(*outs):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-9)


def test_layer_norm_empty_and_errors():
    assert NF.layer_norm(ng.zeros(0, 4), (4,)).shape == (0, 4)
    x = ng.ones(2, 3)
    for call, typ, msg in [
        (lambda: NF.layer_norm(x, (4,)), RuntimeError,
         r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of size\[2, 3\]"),
        (lambda: NF.layer_norm(x, (3,), ng.ones(4)), RuntimeError, "Expected weight to be of same shape as normalized_shape"),
        (lambda: NF.layer_norm(x, (3,), None, ng.ones(2)), RuntimeError, "Expected bias to be of same shape"),
    ]:
        with pytest.raises(typ, match=msg):
            call()


@pytest.mark.parametrize("dt", DTYPES)
def test_rms_norm(dt):
    check(lambda lib, x, w: F(lib).rms_norm(x, (5,), w), [R(4, 5), R(5, seed=2)], dt)
    check(lambda lib, x: F(lib).rms_norm(x, (2, 3), eps=1e-3), [R(4, 2, 3)], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_group_norm(dt):
    check(lambda lib, x, w, b: F(lib).group_norm(x, 2, w, b), [R(3, 4, 5), R(4, seed=2), R(4, seed=3)], dt)
    check(lambda lib, x: F(lib).group_norm(x, 3, eps=1e-3), [R(2, 6, 2, 2)], dt)
    check(lambda lib, x, w, b: F(lib).group_norm(x, 1, w, b), [R(2, 3), R(3, seed=2), R(3, seed=3)], dt)
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        NF.group_norm(ng.ones(2, 3, 4), 2)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        ng.nn.GroupNorm(2, 3)


@pytest.mark.parametrize("dt", DTYPES)
def test_batch_norm_functional(dt):
    def train(lib, x, w, b):
        return F(lib).batch_norm(x, None, None, w, b, training=True)

    def evaluate(lib, x, w, b):
        rm, rv = lib.tensor(np.array([0.1, -0.2, 0.3], dt)), lib.tensor(np.array([1.5, 0.5, 2.0], dt))
        return F(lib).batch_norm(x, rm, rv, w, b, training=False)

    for fn in (train, evaluate):
        check(fn, [R(5, 3), R(3, seed=2), R(3, seed=3)], dt)
        check(fn, [R(2, 3, 4), R(3, seed=2), R(3, seed=3)], dt)
        check(fn, [R(2, 3, 2, 2), R(3, seed=2), R(3, seed=3)], dt)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        NF.batch_norm(ng.ones(1, 3), None, None, training=True)


def _modules(lib, cls, *args, **kw):
    return getattr(lib.nn, cls)(*args, **kw)


NORM_MODULES = [
    ("LayerNorm", ((5,),), {}, (4, 5)),
    ("LayerNorm", ((2, 5),), {"bias": False}, (3, 2, 5)),
    ("LayerNorm", (5,), {"elementwise_affine": False}, (4, 5)),
    ("RMSNorm", ((5,),), {}, (4, 5)),
    ("RMSNorm", (5,), {"eps": 1e-3, "elementwise_affine": False}, (4, 5)),
    ("GroupNorm", (2, 4), {}, (3, 4, 3)),
    ("GroupNorm", (2, 4), {"affine": False}, (3, 4)),
    ("GroupNorm", (1, 4), {"bias": False}, (3, 4, 2)),
    ("BatchNorm1d", (3,), {}, (6, 3)),
    ("BatchNorm1d", (3,), {"momentum": None}, (4, 3, 5)),
    ("BatchNorm1d", (3,), {"affine": False, "momentum": 0.3}, (6, 3)),
    ("BatchNorm1d", (3,), {"track_running_stats": False}, (6, 3)),
    ("BatchNorm1d", (3,), {"bias": False}, (6, 3)),
    ("BatchNorm2d", (3,), {}, (2, 3, 2, 3)),
    ("BatchNorm2d", (3,), {"momentum": None, "eps": 1e-3}, (2, 3, 2, 2)),
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("cls,args,kw,shape", NORM_MODULES, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(NORM_MODULES)])
def test_norm_modules_train_eval_state_dict(cls, args, kw, shape, dt):
    """Torch's module and ours: the same state_dict keys and initial values; torch's (perturbed)
    values loaded into ours by key; then three train steps (outputs, input and parameter gradients,
    running statistics) and eval mode."""
    tm, nm = _modules(torch, cls, *args, **kw).to(getattr(torch, np.dtype(dt).name)), _modules(ng, cls, *args, **kw)
    nm = nm.double() if dt == np.float64 else nm
    assert list(nm.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(_np(nm.state_dict()[k]), _np(v))
        assert nm.state_dict()[k].dtype.name == str(v.dtype).replace("torch.", "")
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.tensor(R(*p.shape, seed=5, lo=-0.5, hi=0.5), dtype=p.dtype))
    nm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    assert repr(nm) == repr(tm)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = rng.standard_normal(shape).astype(dt) * 2 + 1
        g = rng.standard_normal(shape).astype(dt)
        xn, xt = ng.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yn, yt = nm(xn), tm(xt)
        np.testing.assert_allclose(_np(yn), _np(yt), **tol(dt))
        yn.backward(ng.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), **tol(dt))
        for (kn, pn), (kt, pt) in zip(nm.named_parameters(), tm.named_parameters()):
            assert kn == kt
            np.testing.assert_allclose(_np(pn.grad), _np(pt.grad), **tol(dt))
        for k, v in tm.state_dict().items():
            np.testing.assert_allclose(_np(nm.state_dict()[k]), _np(v), **tol(dt))
    nm.eval()
    tm.eval()
    x = rng.standard_normal(shape).astype(dt)
    np.testing.assert_allclose(_np(nm(ng.tensor(x))), _np(tm(torch.tensor(x))), **tol(dt))


def test_batch_norm_errors():
    for cls, bad in (("BatchNorm1d", (2, 3, 4, 5)), ("BatchNorm2d", (2, 3))):
        with pytest.raises(ValueError) as e:
            getattr(ng.nn, cls)(3)(ng.ones(*bad))
        with pytest.raises(ValueError) as et:
            getattr(torch.nn, cls)(3)(torch.ones(*bad))
        assert str(e.value) == str(et.value)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        NF.batch_norm(ng.ones(2, 3), ng.zeros(4), ng.ones(4), training=False)


def test_layer_norm_fused_third_derivatives():
    """The fused row kernels' entries: third-order derivatives of layer_norm match torch's on a
    composed layer norm (torch's own layer_norm double backward is not differentiable correctly
    once more: its third derivative here differs from the composition's, ours agrees)."""
    a = R(2, 4)
    xs, xt = ng.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    w = R(2, 4, seed=4)

    def composed(x):
        xc = x - x.mean(-1, keepdim=True)
        return xc / ((xc * xc).mean(-1, keepdim=True) + 1e-5).sqrt()

    yn = (NF.layer_norm(xs, (4,)) ** 3 * ng.tensor(w)).sum()
    yt = (composed(xt) ** 3 * torch.tensor(w)).sum()
    for _ in range(3):
        (yn,) = ng.autograd.grad(yn, xs, create_graph=True)
        (yt,) = torch.autograd.grad(yt, xt, create_graph=True)
        np.testing.assert_allclose(_np(yn), _np(yt), rtol=1e-9, atol=1e-9)
        yn, yt = (yn * yn).sum(), (yt * yt).sum()


# ---------------------------------------------------------------- CUDA (simulator), tiny sizes
def _cuda_check(fn, arrays):
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device and no simulator")
    ng.set_default_device("cuda")
    try:
        check(fn, arrays, np.float32)
    finally:
        ng.set_default_device("cpu")


def test_cuda_gelu():
    _cuda_check(lambda lib, x: F(lib).gelu(x) + F(lib).gelu(x, approximate="tanh"), [R(2, 3)])


def test_cuda_layer_norm():
    _cuda_check(lambda lib, x, w, b: F(lib).layer_norm(x, (5,), w, b), [R(3, 5), R(5, seed=2), R(5, seed=3)])
    _cuda_check(lambda lib, x, b: F(lib).layer_norm(x, (2, 3), None, b), [R(4, 2, 3), R(2, 3, seed=3)])


# ---------------------------------------------------------------- dropout
@pytest.mark.parametrize("dt", DTYPES)
def test_dropout_statistics_and_gradient(dt):
    ng.manual_seed(0)
    x = ng.tensor(R(200, 100).astype(dt), requires_grad=True)
    y = NF.dropout(x, 0.3)
    assert y.dtype == x.dtype
    kept = _np(y) != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01  # 20,000 draws: 4 standard deviations is 0.013
    np.testing.assert_allclose(_np(y)[kept], (_np(x) / 0.7)[kept], rtol=1e-6)
    g = R(200, 100, seed=3).astype(dt)
    y.backward(ng.tensor(g))
    np.testing.assert_allclose(_np(x.grad), np.where(kept, g / 0.7, 0), rtol=1e-6)
    ng.manual_seed(0)
    np.testing.assert_array_equal(_np(NF.dropout(x, 0.3)), _np(y))  # seeded
    assert NF.dropout(x, 0.3, training=False) is x
    np.testing.assert_array_equal(_np(NF.dropout(x, 1.0)), 0)
    np.testing.assert_array_equal(_np(NF.dropout(x, 0.0)), _np(x))


def test_dropout_modules_train_eval_inplace_and_errors():
    ng.manual_seed(1)
    m = ng.nn.Dropout(0.5)
    x = ng.ones(64, 64)
    assert 0.4 < (_np(m(x)) == 0).mean() < 0.6
    m.eval()
    assert m(x) is x
    assert repr(m) == repr(torch.nn.Dropout(0.5))
    z = ng.ones(50, 40)
    out = NF.dropout(z, 0.5, inplace=True)
    assert out is z and set(np.unique(_np(z))) <= {0.0, 2.0}
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got"):
            ng.nn.Dropout(p)
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            NF.dropout(x, p)
    # channel dropout: whole channels are zeroed together
    y = ng.nn.Dropout2d(0.5)(ng.ones(8, 16, 3, 3))
    per_channel = _np(y).reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    y = ng.nn.Dropout1d(0.5)(ng.ones(4, 10, 5))
    assert np.all((_np(y) == 0).all(-1) | (_np(y) == 2).all(-1))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        NF.dropout1d(ng.ones(2, 3, 4, 5))


# ---------------------------------------------------------------- embedding
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"max_norm": 1.0},
                                {"max_norm": 0.5, "norm_type": 1.0, "padding_idx": 0}])
def test_embedding(dt, kw):
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    w = R(6, 3, seed=4)
    wn, wt = ng.tensor(w.astype(dt), requires_grad=True), torch.tensor(w.astype(dt), requires_grad=True)
    yn, yt = NF.embedding(ng.tensor(idx), wn, **kw), TF.embedding(torch.tensor(idx), wt, **kw)
    np.testing.assert_allclose(_np(yn), _np(yt), **tol(dt))
    np.testing.assert_allclose(_np(wn), _np(wt), **tol(dt))  # max_norm renormalised the same rows in place
    g = R(2, 3, 3, seed=5).astype(dt)
    yn.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(wn.grad), _np(wt.grad), **tol(dt))


def test_embedding_module_state_dict_from_pretrained_and_errors():
    tm = torch.nn.Embedding(7, 4, padding_idx=3)
    nm = ng.nn.Embedding(7, 4, padding_idx=3)
    assert list(nm.state_dict()) == list(tm.state_dict()) == ["weight"]
    np.testing.assert_array_equal(_np(nm.weight)[3], 0)
    assert repr(nm) == repr(tm)
    nm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    idx = np.array([1, 3, 6, 3])
    np.testing.assert_array_equal(_np(nm(ng.tensor(idx))), _np(tm(torch.tensor(idx))))
    e = ng.nn.Embedding.from_pretrained(ng.tensor(R(3, 2)))
    assert not e.weight.requires_grad and e.num_embeddings == 3
    assert ng.nn.Embedding.from_pretrained(ng.tensor(R(3, 2)), freeze=False).weight.requires_grad
    w = ng.ones(5, 3)
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices' to have one of the following"):
        NF.embedding(ng.ones(2), w)
    with pytest.raises(IndexError, match="index out of range in self"):
        NF.embedding(ng.tensor([5]), w)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        ng.nn.Embedding(5, 3, padding_idx=5)
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        ng.nn.Embedding.from_pretrained(ng.ones(3))
    assert NF.embedding(ng.tensor(np.zeros((0, 2), np.int64)), w).shape == (0, 2, 3)


def test_cuda_dropout_and_embedding():
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device and no simulator")
    ng.manual_seed(3)
    x = ng.ones(40, 10, device="cuda", requires_grad=True)
    y = NF.dropout(x, 0.25)
    assert y.is_cuda and set(np.unique(_np(y))) <= {0.0, np.float32(1 / 0.75)}
    assert 0.1 < (_np(y) == 0).mean() < 0.4
    _cuda_check(lambda lib, w: F(lib).embedding(lib.tensor([[0, 2], [2, 1]]), w, padding_idx=1), [R(3, 4)])


# ---------------------------------------------------------------- attention
def _sdpa(lib, *ts, **kw):
    return F(lib).scaled_dot_product_attention(*ts, **kw)


SDPA = {
    "plain": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)], {}),
    "causal": ([(2, 4, 5), (2, 4, 5), (2, 4, 3)], {"is_causal": True}),
    "causal_rect": ([(3, 5), (6, 5), (6, 2)], {"is_causal": True}),
    "scale": ([(1, 4, 3), (1, 5, 3), (1, 5, 3)], {"scale": 0.3}),
    "broadcast_batch": ([(2, 3, 4, 5), (1, 3, 6, 5), (2, 1, 6, 5)], {}),
    "bool_mask": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5)], {"attn_mask": "bool"}),
    "float_mask_broadcast": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5)], {"attn_mask": "float"}),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(SDPA))
def test_scaled_dot_product_attention(name, dt):
    shapes, kw = SDPA[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    mask = kw.get("attn_mask")
    if mask == "bool":
        m = rng.random((4, 6)) > 0.4
        m[:, 0] = True  # (no row fully masked)
        arrays.append(m)
    elif mask == "float":
        arrays.append(rng.standard_normal((3, 1, 6)))
    extra = {k: v for k, v in kw.items() if k != "attn_mask"}

    def fn(lib, q, k, v, *m):
        return _sdpa(lib, q, k, v, *m, **extra)

    check(fn, arrays, dt, nograd=(3,))
    check(fn, arrays, dt, nograd=(3,), transpose=(1,))


def test_scaled_dot_product_attention_dropout_and_errors():
    q = ng.tensor(R(2, 8, 4), requires_grad=True)
    ng.manual_seed(0)
    a = NF.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    ng.manual_seed(0)
    np.testing.assert_array_equal(_np(NF.scaled_dot_product_attention(q, q, q, dropout_p=0.5)), _np(a))
    assert not np.allclose(_np(a), _np(NF.scaled_dot_product_attention(q, q, q)))
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        NF.scaled_dot_product_attention(q, q, q, attn_mask=ng.ones(8, 8), is_causal=True)
    with pytest.raises(RuntimeError, match="Expected query, key, and value to have the same dtype"):
        NF.scaled_dot_product_attention(q, q.float(), q)


def test_causal_attention_second_derivatives():
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 3, 2)) for _ in range(3)]
    w = rng.standard_normal((2, 3, 2))
    out = []
    for lib in (ng, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = (_sdpa(lib, *ts, is_causal=True) * lib.tensor(w)).sum()
        gs = lib.autograd.grad(y, ts, create_graph=True)
        s = sum((g * g).sum() for g in gs)
        out.append([_np(h) for h in lib.autograd.grad(s, ts)] + [_np(g) for g in gs])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def _mha_pair(dt, **kw):
    tm = torch.nn.MultiheadAttention(8, 2, **kw).to(getattr(torch, np.dtype(dt).name))
    nm = ng.nn.MultiheadAttention(8, 2, **kw)
    nm = nm.double() if dt == np.float64 else nm
    assert list(nm.state_dict()) == list(tm.state_dict())
    nm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return nm, tm


MHA = {
    "self": ({}, {}),
    "batch_first": ({"batch_first": True}, {}),
    "no_bias": ({"bias": False}, {}),
    "per_head_weights": ({}, {"average_attn_weights": False}),
    "key_padding": ({"batch_first": True}, {"key_padding_mask": "kpm"}),
    "bool_attn_mask": ({}, {"attn_mask": "bool"}),
    "float_attn_mask_3d": ({}, {"attn_mask": "float3d"}),
    "causal_hint": ({"batch_first": True}, {"attn_mask": "causal", "is_causal": True, "need_weights": False}),
    "padding_and_mask": ({"batch_first": True}, {"attn_mask": "bool", "key_padding_mask": "kpm"}),
    "unbatched": ({}, {"unbatched": True}),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(MHA))
def test_multihead_attention(name, dt):
    init, call = MHA[name]
    call = dict(call)
    nm, tm = _mha_pair(dt, **init)
    rng = np.random.default_rng(1)
    L, S, N = 4, 5, 3
    unbatched = call.pop("unbatched", False)
    batch_first = init.get("batch_first", False)
    if unbatched:
        shapes = [(L, 8), (S, 8), (S, 8)]
    else:
        shapes = [(N, L, 8), (N, S, 8), (N, S, 8)] if batch_first else [(L, N, 8), (S, N, 8), (S, N, 8)]
    if call.get("attn_mask") == "causal":
        shapes[1] = shapes[2] = shapes[0]
        S = L
    masks = {}
    kpm = rng.random((N, S)) > 0.6
    kpm[:, 0] = False  # (no row fully masked)
    am = rng.random((L, S)) > 0.7
    am[:, 0] = False
    for key in ("attn_mask", "key_padding_mask"):
        v = call.pop(key, None)
        if v == "kpm":
            masks[key] = kpm
        elif v == "bool":
            masks[key] = am
        elif v == "float3d":
            masks[key] = rng.standard_normal((N * 2, L, S))
        elif v == "causal":
            masks[key] = np.triu(np.ones((L, L), bool), 1)

    def run(lib, m, *arrs):
        ts = [lib.tensor(a.astype(dt), requires_grad=True) for a in arrs]
        mk = {k: lib.tensor(v.astype(dt) if v.dtype.kind == "f" else v) for k, v in masks.items()}
        out, w = m(*ts, **mk, **call)
        return ts, out, w

    arrays = [rng.standard_normal(s) for s in shapes]
    tn, on, wn = run(ng, nm, *arrays)
    tt, ot, wt = run(torch, tm, *arrays)
    np.testing.assert_allclose(_np(on), _np(ot), **tol(dt))
    assert (wn is None) == (wt is None)
    if wt is not None:
        np.testing.assert_allclose(_np(wn), _np(wt), **tol(dt))
    g = rng.standard_normal(tuple(ot.shape)).astype(dt)
    (on * ng.tensor(g)).sum().backward()
    (ot * torch.tensor(g)).sum().backward()
    for a, b in zip(tn, tt):
        np.testing.assert_allclose(_np(a.grad), _np(b.grad), **tol(dt))
    for (kn, pn), (kt, pt) in zip(nm.named_parameters(), tm.named_parameters()):
        assert kn == kt
        np.testing.assert_allclose(_np(pn.grad), _np(pt.grad), **tol(dt))


def test_multihead_attention_init_and_errors():
    m = ng.nn.MultiheadAttention(16, 4)
    bound = np.sqrt(6 / (16 + 48))  # xavier_uniform over (3E, E)
    w = _np(m.in_proj_weight)
    assert w.shape == (48, 16) and np.abs(w).max() <= bound and w.std() > bound / 3
    np.testing.assert_array_equal(_np(m.in_proj_bias), 0)
    np.testing.assert_array_equal(_np(m.out_proj.bias), 0)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        ng.nn.MultiheadAttention(10, 3)
    x = ng.ones(3, 2, 16)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is \(2, 2\), but should be \(3, 3\)"):
        m(x, x, x, attn_mask=ng.zeros(2, 2))
    with pytest.raises(RuntimeError, match=r"expecting key_padding_mask shape of \(2, 3\)"):
        m(x, x, x, key_padding_mask=ng.zeros(3, 3))


TEL = {
    "post_relu": {},
    "pre_gelu_batch_first": {"norm_first": True, "activation": "gelu", "batch_first": True},
    "post_gelu_masked": {"activation": "gelu", "masks": True},
    "no_bias": {"bias": False, "norm_first": True},
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(TEL))
def test_transformer_encoder_layer(name, dt):
    kw = dict(TEL[name])
    masks = kw.pop("masks", False)
    tm = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw).to(getattr(torch, np.dtype(dt).name))
    nm = ng.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw)
    nm = nm.double() if dt == np.float64 else nm
    assert list(nm.state_dict()) == list(tm.state_dict())
    with torch.no_grad():
        for p in tm.parameters():  # (non-trivial norms)
            p.add_(torch.tensor(R(*p.shape, seed=2, lo=-0.2, hi=0.2), dtype=p.dtype))
    nm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 8) if kw.get("batch_first") else (5, 2, 8)).astype(dt)
    mk = {}
    if masks:
        causal = np.triu(np.ones((5, 5), bool), 1)
        kpm = np.zeros((2, 5), bool)
        kpm[1, 3:] = True
        mk = {"src_mask": causal, "src_key_padding_mask": kpm}
    xn, xt = ng.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yn = nm(xn, **{k: ng.tensor(v) for k, v in mk.items()})
    yt = tm(xt, **{k: torch.tensor(v) for k, v in mk.items()})
    np.testing.assert_allclose(_np(yn), _np(yt), **tol(dt))
    g = rng.standard_normal(x.shape).astype(dt)
    yn.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), **tol(dt))
    for (kn, pn), (kt, pt) in zip(nm.named_parameters(), tm.named_parameters()):
        assert kn == kt
        np.testing.assert_allclose(_np(pn.grad), _np(pt.grad), **tol(dt), err_msg=kn)


def test_transformer_encoder_layer_dropout_train_eval():
    m = ng.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = ng.tensor(R(4, 2, 8).astype(np.float32))
    ng.manual_seed(0)
    a = m(x)
    ng.manual_seed(0)
    np.testing.assert_array_equal(_np(m(x)), _np(a))
    m.eval()
    np.testing.assert_array_equal(_np(m(x)), _np(m(x)))
    assert not np.allclose(_np(m(x)), _np(a))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        ng.nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_cuda_attention():
    _cuda_check(lambda lib, q, k, v: _sdpa(lib, q, k, v, is_causal=True), [R(1, 3, 2), R(1, 3, 2, seed=2),
                                                                             R(1, 3, 2, seed=3)])
