"""Convolution and pooling (issue 17) against PyTorch: values and gradients (input, weight, bias)
with non-uniform upstream gradients, float32 and float64, strides / padding / dilation / groups,
padding modes, non-contiguous inputs, torch's errors, the modules (parameter names, init,
state_dict round trips), gradcheck in float64, and the CUDA backend on the simulator."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbgrad as ng
import nbgrad.nn.functional as F
from tests.torch_scenarios import error_of

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional


def R(*shape, seed=0):
    return np.random.default_rng(seed + 31 * len(shape) + sum(shape)).standard_normal(shape)


def tol(dt):
    return dict(rtol=1e-4, atol=1e-4) if dt == np.float32 else dict(rtol=1e-9, atol=1e-10)


def run_both(fn_ng, fn_t, arrays, dt=np.float64, grads=None, transform=None, device="cpu"):
    """fn on both libraries; compares the output and the gradients of every float input for a
    random upstream gradient. transform(t) makes an input non-contiguous (same values)."""
    arrays = [np.asarray(a, dt) for a in arrays]
    grads = [True] * len(arrays) if grads is None else grads
    xs = [ng.tensor(a, requires_grad=g, device=device) for a, g in zip(arrays, grads)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    xi, ti = (xs, ts) if transform is None else ([transform(x) for x in xs], [transform(t) for t in ts])
    yn, yt = fn_ng(*xi), fn_t(*ti)
    single = not isinstance(yt, tuple)
    yns, yts = ((yn,), (yt,)) if single else (yn, yt)
    for a, b in zip(yns, yts):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), **tol(dt))
    if not any(grads):
        return yn, yt
    g = np.random.default_rng(5).standard_normal(tuple(yts[0].shape)).astype(dt)
    yns[0].backward(ng.tensor(g, device=device))
    yts[0].backward(torch.tensor(g))
    for x, t, r in zip(xs, ts, grads):
        if r:
            assert x.grad is not None
            np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), **tol(dt))
    return yn, yt


CONV2D = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(padding=(2, 0), stride=(1, 2)),
    dict(dilation=2, padding=2),
    dict(dilation=(2, 1), stride=(2, 3), padding=(1, 2)),
    dict(groups=2),
    dict(groups=4, padding=1, stride=2),
    dict(padding="same"),
    dict(padding="same", dilation=(1, 2)),
    dict(padding="valid", stride=2),
]


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kw", CONV2D, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "plain")
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(kw, dt, bias):
    groups = kw.get("groups", 1)
    x, w, b = R(2, 4, 7, 6), R(8, 4 // groups, 3, 2), R(8)
    if bias:
        run_both(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw), [x, w, b], dt)
    else:
        run_both(lambda x, w: F.conv2d(x, w, **kw), lambda x, w: TF.conv2d(x, w, **kw), [x, w], dt)


def test_conv2d_unbatched_and_one_image():
    run_both(lambda x, w, b: F.conv2d(x, w, b, padding=1), lambda x, w, b: TF.conv2d(x, w, b, padding=1),
             [R(3, 5, 5), R(2, 3, 3, 3), R(2)])
    run_both(lambda x, w: F.conv2d(x, w, stride=2, groups=3), lambda x, w: TF.conv2d(x, w, stride=2, groups=3),
             [R(1, 3, 6, 5), R(6, 1, 2, 2)])


def test_conv2d_non_contiguous_inputs():
    def tr(t):  # a transposed view of the same values' transpose
        return t.transpose(-1, -2).contiguous().transpose(-1, -2) if t.ndim == 4 else t
    # a permuted (channels-last-like) input and a transposed weight
    run_both(lambda x, w, b: F.conv2d(x.permute(0, 3, 1, 2), w.transpose(2, 3), b, padding=1),
             lambda x, w, b: TF.conv2d(x.permute(0, 3, 1, 2), w.transpose(2, 3), b, padding=1),
             [R(2, 5, 6, 3), R(4, 3, 2, 3), R(4)])
    run_both(lambda x, w: F.conv2d(x[:, :, ::2, 1:], w, stride=(1, 2)),
             lambda x, w: TF.conv2d(x[:, :, ::2, 1:], w, stride=(1, 2)), [R(2, 3, 9, 8), R(2, 3, 2, 2)],
             transform=tr)


def test_conv2d_input_without_grad_and_weight_without_grad():
    run_both(lambda x, w, b: F.conv2d(x, w, b, padding=1), lambda x, w, b: TF.conv2d(x, w, b, padding=1),
             [R(2, 3, 5, 5), R(4, 3, 3, 3), R(4)], grads=[False, True, True])
    run_both(lambda x, w: F.conv2d(x, w), lambda x, w: TF.conv2d(x, w), [R(2, 3, 5, 5), R(4, 3, 3, 3)],
             grads=[True, False])


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, groups=2, padding=2),
                                dict(padding="same"), dict(stride=3)], ids=str)
def test_conv1d_matches_torch(kw):
    g = kw.get("groups", 1)
    for dt in (np.float64, np.float32):
        run_both(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: TF.conv1d(x, w, b, **kw),
                 [R(2, 4, 11), R(6, 4 // g, 3), R(6)], dt)
    run_both(lambda x, w: F.conv1d(x, w, **kw), lambda x, w: TF.conv1d(x, w, **kw), [R(4, 11), R(2, 4 // g, 3)])


@pytest.mark.parametrize("kw", [dict(), dict(stride=2), dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2), dilation=1),
                                dict(dilation=2, padding=1), dict(groups=2, stride=2, output_padding=1),
                                dict(dilation=3, output_padding=2)], ids=str)
def test_conv_transpose2d_matches_torch(kw):
    g = kw.get("groups", 1)
    for dt in (np.float64, np.float32):
        run_both(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
                 [R(2, 4, 5, 4), R(4, 6 // g, 3, 2), R(6)], dt)


def test_conv_transpose1d_and_unbatched():
    run_both(lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
             lambda x, w, b: TF.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
             [R(2, 3, 6), R(3, 2, 3), R(2)])
    run_both(lambda x, w: F.conv_transpose2d(x, w, stride=2), lambda x, w: TF.conv_transpose2d(x, w, stride=2),
             [R(3, 4, 4), R(3, 2, 2, 2)])


# ---------------------------------------------------------------- errors
def _conv_errors(lib):
    Fm = F if lib is ng else TF
    x = lib.tensor(R(2, 3, 5, 5))
    w = lib.tensor(R(4, 3, 3, 3))
    cases = {
        "2d input": lambda: Fm.conv2d(lib.tensor(R(2, 3)), w),
        "channels": lambda: Fm.conv2d(x, lib.tensor(R(4, 2, 3, 3))),
        "groups channels": lambda: Fm.conv2d(x, lib.tensor(R(4, 1, 3, 3)), groups=2),
        "groups weight": lambda: Fm.conv2d(x, lib.tensor(R(3, 1, 3, 3)), groups=2),
        "dtype": lambda: Fm.conv2d(x.float(), w),
        "bias": lambda: Fm.conv2d(x, w, lib.tensor(R(3))),
        "kernel too big": lambda: Fm.conv2d(x, lib.tensor(R(4, 3, 7, 7))),
        "same strided": lambda: Fm.conv2d(x, w, stride=2, padding="same"),
        "bad padding string": lambda: Fm.conv2d(x, w, padding="foo"),
        "stride 0": lambda: Fm.conv2d(x, w, stride=0),
        "negative padding": lambda: Fm.conv2d(x, w, padding=-1),
        "conv1d channels": lambda: Fm.conv1d(lib.tensor(R(2, 3)), lib.tensor(R(4, 3, 3))),
        "transposed channels": lambda: Fm.conv_transpose2d(x, lib.tensor(R(4, 2, 3, 3))),
        "output padding": lambda: Fm.conv_transpose2d(x, lib.tensor(R(3, 2, 3, 3)), stride=2, output_padding=2),
        "pool pad": lambda: Fm.max_pool2d(x, 3, padding=2),
        "pool 2d input": lambda: Fm.max_pool2d(lib.tensor(R(3, 5)), 3),
        "pool too small": lambda: Fm.max_pool2d(x, 7),
        "avg pad": lambda: Fm.avg_pool2d(x, 3, padding=2),
        "interpolate nothing": lambda: Fm.interpolate(x),
        "interpolate both": lambda: Fm.interpolate(x, size=3, scale_factor=2.0),
    }
    return cases


_MESSAGES = {
    "2d input": "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 3]",
    "channels": "expected input[2, 3, 5, 5] to have 2 channels, but got 3 channels instead",
    "groups channels": "Given groups=2, weight of size [4, 1, 3, 3], expected input[2, 3, 5, 5] to have 2 channels",
    "groups weight": "expected weight to be divisible by 2 at dimension 0",
    "dtype": "Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same",
    "bias": "expected bias to be 1-dimensional with 4 elements, but got bias of size [3] instead",
    "kernel too big": "Kernel size can't be greater than actual input size",
    "same strided": "padding='same' is not supported for strided convolutions",
    "bad padding string": "Invalid padding string: 'foo'",
    "stride 0": "non-positive stride is not supported",
    "negative padding": "negative padding is not supported",
    "conv1d channels": "expected input[1, 2, 3] to have 3 channels, but got 2 channels instead",
    "transposed channels": "Given transposed=1, weight of size [4, 2, 3, 3], expected input[2, 3, 5, 5] to have 4",
    "output padding": "output padding must be smaller than either stride or dilation",
    "pool pad": "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1",
    "pool 2d input": "non-empty 3D or 4D (batch mode) tensor expected for input",
    "pool too small": "Output size is too small",
    "avg pad": "pad should be at most half of effective kernel size",
    "interpolate nothing": "either size or scale_factor should be defined",
    "interpolate both": "only one of size or scale_factor should be defined",
}


@pytest.mark.parametrize("name", sorted(_MESSAGES))
def test_errors_as_torch(name):
    ours, theirs = _conv_errors(ng)[name], _conv_errors(torch)[name]
    assert error_of(ours) == error_of(theirs) is not None
    assert error_of(theirs, _MESSAGES[name]) and error_of(ours, _MESSAGES[name]), (name, _why(ours))


def _why(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return str(e)
    return None


def _sorted_sets(msg: str | None) -> str | None:
    """A message with each {...} set literal's items sorted (a set prints in hash order, which
    differs between two sets of the same strings)."""
    import re

    return None if msg is None else re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", msg)


def test_module_errors_as_torch():
    for kw in (dict(groups=2, in_channels=3, out_channels=4), dict(groups=2, in_channels=4, out_channels=3),
               dict(in_channels=4, out_channels=4, padding_mode="foo"),
               dict(in_channels=4, out_channels=4, padding="same", stride=2)):
        kw = dict(kernel_size=3, **kw)
        a, b = _sorted_sets(_why(lambda: ng.nn.Conv2d(**kw))), _sorted_sets(_why(lambda: torch.nn.Conv2d(**kw)))
        assert a == b and a is not None, (kw, a, b)
    with pytest.raises(NotImplementedError, match="bilinear"):
        F.interpolate(ng.zeros(1, 1, 2, 2), scale_factor=2, mode="bilinear")


# ---------------------------------------------------------------- modules
def _copy_params(m_ng, m_t):
    with torch.no_grad():
        for name, p in m_ng.named_parameters():
            dict(m_t.named_parameters())[name].copy_(torch.tensor(p.detach().numpy()))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"], ids=str)
def test_conv2d_module_padding_modes(mode, padding):
    kw = dict(kernel_size=(3, 2), padding=padding, padding_mode=mode, dilation=(1, 2) if padding == "same" else 1)
    m = ng.nn.Conv2d(2, 3, **kw).double()
    mt = torch.nn.Conv2d(2, 3, **kw).double()
    _copy_params(m, mt)
    run_both(lambda x: m(x), lambda x: mt(x), [R(2, 2, 5, 6)])
    run_both(lambda x: m(x), lambda x: mt(x), [R(2, 5, 6)])  # unbatched
    assert m.weight.grad is not None
    np.testing.assert_allclose(m.weight.grad.numpy(), mt.weight.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(m.bias.grad.numpy(), mt.bias.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_conv1d_module_padding_modes():
    for mode in ("zeros", "reflect", "replicate", "circular"):
        m = ng.nn.Conv1d(2, 3, 3, padding=2, padding_mode=mode, stride=2).double()
        mt = torch.nn.Conv1d(2, 3, 3, padding=2, padding_mode=mode, stride=2).double()
        _copy_params(m, mt)
        run_both(lambda x: m(x), lambda x: mt(x), [R(2, 2, 7)])


@pytest.mark.parametrize("cls,args", [("Conv2d", (4, 6, 3)), ("Conv1d", (4, 6, 5)), ("ConvTranspose2d", (4, 6, 3)),
                                      ("ConvTranspose1d", (4, 6, 3))])
def test_module_parameters_and_init(cls, args):
    m = getattr(ng.nn, cls)(*args, groups=2)
    mt = getattr(torch.nn, cls)(*args, groups=2)
    assert list(m.state_dict()) == list(mt.state_dict()) == ["weight", "bias"]
    assert tuple(m.weight.shape) == tuple(mt.weight.shape) and m.weight.dtype == ng.float32
    fan_in = mt.weight.shape[1] * math.prod(mt.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)
    for p in (m.weight, m.bias):
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound
        if v.size >= 16:  # (a few bias values may all be small by chance)
            assert np.abs(v).max() > 0.5 * bound
    assert repr(m) == repr(mt)
    m2 = getattr(ng.nn, cls)(*args, groups=2, bias=False)
    assert list(m2.state_dict()) == ["weight"] and m2.bias is None
    assert repr(m2) == repr(getattr(torch.nn, cls)(*args, groups=2, bias=False))
    # torch's state_dict loads into nbgrad's module and gives torch's output
    sd = {k: ng.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()}
    m.load_state_dict(sd)
    x = R(2, 4, 9, 8) if cls.endswith("2d") else R(2, 4, 9)
    np.testing.assert_allclose(m(ng.tensor(x.astype(np.float32))).detach().numpy(),
                               mt(torch.tensor(x.astype(np.float32))).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_conv_transpose2d_output_size():
    m = ng.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    mt = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    _copy_params(m, mt)
    run_both(lambda x: m(x, output_size=[10, 9]), lambda x: mt(x, output_size=[10, 9]), [R(2, 2, 5, 5)])
    with pytest.raises(ValueError):
        m(ng.tensor(R(2, 2, 5, 5)), output_size=[14, 14])


# ---------------------------------------------------------------- pooling
MAXPOOL = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2)),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, ceil_mode=True, padding=1),
    dict(kernel_size=2, dilation=2, stride=1),
    dict(kernel_size=(3, 2), dilation=(1, 2), padding=(1, 1), stride=2, ceil_mode=True),
]


@pytest.mark.parametrize("kw", MAXPOOL, ids=str)
def test_max_pool2d_matches_torch(kw):
    for dt in (np.float64, np.float32):
        run_both(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [R(2, 3, 7, 6)], dt)
    run_both(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [R(3, 7, 6)])  # unbatched
    # torch's indices
    yn, yt = run_both(lambda x: F.max_pool2d(x, return_indices=True, **kw),
                      lambda x: TF.max_pool2d(x, return_indices=True, **kw), [R(2, 3, 7, 6)])
    assert yn[1].dtype == ng.int64
    np.testing.assert_array_equal(yn[1].numpy(), yt[1].numpy())


def test_max_pool2d_ties_nan_and_inf_as_torch():
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, np.nan, 2.0], [-np.inf, -np.inf, 3.0]]]])
    for k, s in ((2, 1), (3, 1), (2, 2)):
        a = F.max_pool2d(ng.tensor(x), k, s, return_indices=True, ceil_mode=True)
        b = TF.max_pool2d(torch.tensor(x), k, s, return_indices=True, ceil_mode=True)
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    # an all -inf window gives -inf and its first index
    y = np.full((1, 1, 2, 2), -np.inf)
    np.testing.assert_array_equal(F.max_pool2d(ng.tensor(y), 2, return_indices=True)[1].numpy(),
                                  TF.max_pool2d(torch.tensor(y), 2, return_indices=True)[1].numpy())


def test_max_pool_overlapping_windows_share_gradient():
    run_both(lambda x: F.max_pool2d(x, 3, 1, padding=1), lambda x: TF.max_pool2d(x, 3, 1, padding=1),
             [np.arange(25.0).reshape(1, 1, 5, 5) % 7])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=2, dilation=2), dict(kernel_size=3, stride=1)], ids=str)
def test_max_pool1d_matches_torch(kw):
    run_both(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), [R(2, 3, 9)])
    run_both(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), [R(3, 9)])
    a = F.max_pool1d(ng.tensor(R(2, 3, 9)), return_indices=True, **kw)[1]
    b = TF.max_pool1d(torch.tensor(R(2, 3, 9)), return_indices=True, **kw)[1]
    np.testing.assert_array_equal(a.numpy(), b.numpy())


AVGPOOL = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(3, 1), ceil_mode=True),
    dict(kernel_size=2, divisor_override=3),
]


@pytest.mark.parametrize("kw", AVGPOOL, ids=str)
def test_avg_pool2d_matches_torch(kw):
    for dt in (np.float64, np.float32):
        run_both(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), [R(2, 3, 7, 6)], dt)
    run_both(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), [R(3, 7, 6)])


def test_avg_pool1d_matches_torch():
    for kw in (dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)):
        run_both(lambda x: F.avg_pool1d(x, **kw), lambda x: TF.avg_pool1d(x, **kw), [R(2, 3, 8)])


@pytest.mark.parametrize("size", [1, 2, (3, 2), (5, 7), (None, 3), (7, 6)], ids=str)
def test_adaptive_avg_pool2d_matches_torch(size):
    for dt in (np.float64, np.float32):
        run_both(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size),
                 [R(2, 3, 7, 6)], dt)
    run_both(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), [R(3, 7, 6)])


def test_adaptive_avg_pool1d_matches_torch():
    for size in (1, 3, 4):
        run_both(lambda x: F.adaptive_avg_pool1d(x, size), lambda x: TF.adaptive_avg_pool1d(x, size), [R(2, 3, 8)])


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(scale_factor=1.5), dict(scale_factor=(0.5, 3)),
                                dict(size=(5, 13)), dict(size=4), dict(scale_factor=0.7, recompute_scale_factor=True),
                                dict(scale_factor=2.3)], ids=str)
def test_interpolate_nearest_matches_torch(kw):
    run_both(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), [R(2, 3, 5, 6)])
    kw1 = {k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}
    run_both(lambda x: F.interpolate(x, **kw1), lambda x: TF.interpolate(x, **kw1), [R(2, 3, 7)])


def test_pooling_modules():
    x = R(2, 3, 8, 7)
    pairs = [
        (ng.nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (ng.nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
        (ng.nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3))),
        (ng.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (ng.nn.Upsample(size=(5, 9), mode="nearest"), torch.nn.Upsample(size=(5, 9), mode="nearest")),
    ]
    for a, b in pairs:
        run_both(lambda t: a(t), lambda t: b(t), [x])
        assert repr(a) == repr(b)
    a, b = ng.nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True)
    np.testing.assert_array_equal(a(ng.tensor(x))[1].numpy(), b(torch.tensor(x))[1].numpy())
    run_both(lambda t: ng.nn.MaxPool1d(3, 2)(t), lambda t: torch.nn.MaxPool1d(3, 2)(t), [R(2, 3, 9)])
    run_both(lambda t: ng.nn.AvgPool1d(3, 2)(t), lambda t: torch.nn.AvgPool1d(3, 2)(t), [R(2, 3, 9)])
    run_both(lambda t: ng.nn.AdaptiveAvgPool1d(4)(t), lambda t: torch.nn.AdaptiveAvgPool1d(4)(t), [R(2, 3, 9)])


# ---------------------------------------------------------------- gradcheck, graph structure
def test_gradcheck_float64():
    cases = [
        (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)), [R(1, 2, 5, 5), R(3, 2, 2, 2), R(3)]),
        (lambda x, w, b: F.conv2d(x, w, b, groups=2, padding="same"), [R(2, 2, 4, 4), R(4, 1, 3, 2), R(4)]),
        (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, output_padding=1), [R(1, 2, 3, 3), R(2, 2, 2, 2), R(2)]),
        (lambda x: F.max_pool2d(x, 2, 1), [np.random.default_rng(0).permutation(32).reshape(1, 2, 4, 4) * 0.1]),
        (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [R(1, 2, 5, 5)]),
        (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [R(1, 2, 5, 5)]),
    ]
    for fn, arrays in cases:
        xs = [ng.tensor(a, requires_grad=True) for a in arrays]
        assert ng.autograd.gradcheck(fn, xs, atol=1e-6, rtol=1e-4)


def test_node_names_and_saved_columns():
    x = ng.tensor(R(2, 1, 5, 5))
    w = ng.tensor(R(4, 1, 2, 2), requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert y.grad_fn.name == "ConvolutionBackward0"
    z = F.conv2d(x, w.detach())  # nothing takes a gradient: no node
    assert z.grad_fn is None
    p = F.max_pool2d(ng.tensor(R(1, 2, 4, 4), requires_grad=True), 2)
    assert p.grad_fn.name == "MaxPool2DWithIndicesBackward0"


def test_inputs_are_not_modified():
    x0, w0 = R(2, 3, 5, 5), R(4, 3, 3, 3)
    x, w = ng.tensor(x0.copy(), requires_grad=True), ng.tensor(w0.copy(), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.detach().numpy(), x0)
    np.testing.assert_array_equal(w.detach().numpy(), w0)


def test_larger_batch_takes_the_parallel_kernels():
    # big enough for the parallel variants of im2col / col2im / max pool
    run_both(lambda x, w, b: F.max_pool2d(F.conv2d(x, w, b, padding=1).relu(), 2),
             lambda x, w, b: TF.max_pool2d(TF.conv2d(x, w, b, padding=1).relu(), 2),
             [R(16, 8, 24, 24), R(16, 8, 3, 3), R(16)], np.float32)


# ---------------------------------------------------------------- CUDA (simulator)
cuda = pytest.mark.skipif(not ng.cuda.is_available(), reason="no CUDA (or simulator)")


@cuda
def test_cuda_conv_and_pool_match_torch():
    run_both(lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2), lambda x, w, b: TF.conv2d(x, w, b, padding=1,
                                                                                                 groups=2),
             [R(2, 2, 5, 5), R(2, 1, 3, 3), R(2)], device="cuda")
    run_both(lambda x, w, b: F.conv2d(x, w, b, stride=2, dilation=(1, 2)),
             lambda x, w, b: TF.conv2d(x, w, b, stride=2, dilation=(1, 2)),
             [R(1, 2, 5, 5), R(3, 2, 2, 2), R(3)], np.float32, device="cuda")
    run_both(lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1),
             lambda x, w: TF.conv_transpose2d(x, w, stride=2, output_padding=1),
             [R(1, 2, 3, 3), R(2, 2, 2, 2)], device="cuda")


@cuda
def test_cuda_pooling_matches_torch():
    x = np.random.default_rng(1).permutation(50).reshape(1, 2, 5, 5) * 0.3
    yn, yt = run_both(lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True, ceil_mode=True),
                      lambda x: TF.max_pool2d(x, 3, 2, 1, return_indices=True, ceil_mode=True), [x], device="cuda")
    np.testing.assert_array_equal(yn[1].cpu().numpy(), yt[1].numpy())
    run_both(lambda x: F.avg_pool2d(x, 2, 1, 1, count_include_pad=False),
             lambda x: TF.avg_pool2d(x, 2, 1, 1, count_include_pad=False), [x], device="cuda")
    run_both(lambda x: F.adaptive_avg_pool2d(x, 2), lambda x: TF.adaptive_avg_pool2d(x, 2), [x], device="cuda")


@cuda
def test_cuda_max_pool_double_backward():
    x0 = np.random.default_rng(2).permutation(50).reshape(2, 1, 5, 5) * 0.3
    v0 = R(2, 1, 4, 4)
    out = {}
    for lib, Fm, dev in ((ng, F, "cuda"), (torch, TF, None)):
        kw = {"device": dev} if dev else {}
        x = lib.tensor(x0, requires_grad=True, **kw)
        v = lib.tensor(v0, requires_grad=True, **kw)
        (g,) = lib.autograd.grad(Fm.max_pool2d(x * x, 2, 1), x, v, create_graph=True)
        out[lib.__name__] = lib.autograd.grad((g * g).sum(), (x, v))
    for a, b in zip(out["nbgrad"], out["torch"]):
        np.testing.assert_allclose(a.cpu().numpy(), b.numpy(), rtol=1e-9, atol=1e-10)
