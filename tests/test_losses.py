"""Losses of issue 16 against PyTorch: cross_entropy with label smoothing, class-probability targets
and (N, C, d1, ...) inputs, nll_loss (N, C, d1, ...), binary_cross_entropy_with_logits(pos_weight),
kl_div, huber, smooth_l1, soft_margin, margin_ranking, triplet_margin, poisson_nll, gaussian_nll,
cosine / hinge embedding; values and gradients under non-uniform upstream gradients (float32 and
float64, every reduction), float64 gradcheck, the loss modules, torch's errors, CUDA (simulator)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nbgrad as ng
import nbgrad.nn.functional as NF

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

from torch_scenarios import functional_of as F  # noqa: E402
from torch_scenarios import lib_of  # noqa: E402

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]


def tol(dt):
    return dict(rtol=2e-5, atol=2e-5) if dt == np.float32 else dict(rtol=1e-10, atol=1e-10)


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return x.detach().cpu().numpy()


def R(*shape, seed=1, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(lo, hi, shape)


def U(*shape, seed=1):
    return R(*shape, seed=seed, lo=0.1, hi=0.9)


def P(*shape, seed=1):  # rows of class probabilities along dim 1 (dim 0 for one row)
    a = R(*shape, seed=seed, lo=0.1, hi=1.0)
    return a / a.sum(1 if a.ndim > 1 else 0, keepdims=True)


def S(*shape, seed=1):  # +-1 labels
    return np.where(R(*shape, seed=seed) > 0, 1.0, -1.0)


T5 = np.array([0, 3, 1, 4, 2, 1])  # targets of R(6, 5); class 1 twice (ignore_index=1 drops two rows)
T3D = np.array([[[0, 2], [4, 1], [2, 2]], [[3, 0], [1, 4], [2, 0]]])  # targets of R(2, 5, 3, 2)
W5 = np.array([0.5, 2.0, 1.0, 1.5, 0.7])


def _quiet(fn):
    def run(*a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kl_div's 'mean', huber's broadcast warnings (tested below)
            return fn(*a)
    return run


# name: (fn(x, ..., reduction) on tensors of either library, arrays, indices that take no gradient)
CASES = {
    "ce_label_smoothing": (lambda x, t, red: F(x).cross_entropy(x, t, reduction=red, label_smoothing=0.2),
                           [R(6, 5), T5], ()),
    "ce_label_smoothing_weight_ignore": (
        lambda x, t, w, red: F(x).cross_entropy(x, t, w, ignore_index=1, reduction=red, label_smoothing=0.3),
        [R(6, 5), T5, W5], (2,)),
    "ce_label_smoothing_one_row": (lambda x, t, red: F(x).cross_entropy(x, t, reduction=red, label_smoothing=0.1),
                                   [R(5), np.array(3)], ()),
    "ce_probs": (lambda x, t, red: F(x).cross_entropy(x, t, reduction=red), [R(4, 5), P(4, 5)], ()),
    "ce_probs_weight_smoothing": (
        lambda x, t, w, red: F(x).cross_entropy(x, t, w, reduction=red, label_smoothing=0.25), [R(4, 5), P(4, 5), W5],
        (2,)),
    "ce_probs_one_row": (lambda x, t, red: F(x).cross_entropy(x, t, reduction=red), [R(5), P(5)], ()),
    "ce_probs_kdim": (lambda x, t, red: F(x).cross_entropy(x, t, reduction=red), [R(2, 3, 4), P(2, 3, 4)], ()),
    "ce_kdim": (lambda x, t, red: F(x).cross_entropy(x, t, reduction=red), [R(2, 5, 3, 2), T3D], ()),
    "ce_kdim_weight_ignore": (lambda x, t, w, red: F(x).cross_entropy(x, t, w, ignore_index=2, reduction=red),
                              [R(2, 5, 3, 2), T3D, W5], (2,)),
    "ce_kdim_smoothing": (
        lambda x, t, w, red: F(x).cross_entropy(x, t, w, ignore_index=0, reduction=red, label_smoothing=0.2),
        [R(2, 5, 3, 2), T3D, W5], (2,)),
    "ce_3d": (lambda x, t, red: F(x).cross_entropy(x, t, reduction=red), [R(2, 5, 3), T3D[:, :, 0]], ()),
    "nll_kdim": (lambda x, t, w, red: F(x).nll_loss(x, t, w, ignore_index=4, reduction=red),
                 [R(2, 5, 3, 2), T3D, W5], (2,)),
    "nll_5d": (lambda x, t, red: F(x).nll_loss(x, t, reduction=red), [R(2, 5, 3, 1, 2), T3D[:, :, None]], ()),
    "bce_logits_pos_weight": (
        lambda x, y, pw, red: F(x).binary_cross_entropy_with_logits(x, y, reduction=red, pos_weight=pw),
        [R(4, 3), U(4, 3), R(3, lo=0.2, hi=3)], (2,)),
    "bce_logits_pos_weight_weight": (
        lambda x, y, w, pw, red: F(x).binary_cross_entropy_with_logits(x, y, w, reduction=red, pos_weight=pw),
        [R(4, 3), U(4, 3), R(4, 1, lo=0.5, hi=2), R(3, lo=0.2, hi=3)], (2, 3)),
    "kl_div": (_quiet(lambda x, y, red: F(x).kl_div(x, y, reduction=red)), [R(3, 4), P(3, 4)], ()),
    "kl_div_log_target": (_quiet(lambda x, y, red: F(x).kl_div(x, y, reduction=red, log_target=True)),
                          [R(3, 4), R(3, 4, seed=2)], ()),
    "huber": (lambda x, y, red: F(x).huber_loss(x, y, reduction=red, delta=0.8), [R(3, 4), R(3, 4, seed=2)], ()),
    "huber_broadcast": (_quiet(lambda x, y, red: F(x).huber_loss(x, y, reduction=red)), [R(3, 4), R(4, seed=2)], ()),
    "smooth_l1": (lambda x, y, red: F(x).smooth_l1_loss(x, y, reduction=red, beta=0.6),
                  [R(3, 4), R(3, 4, seed=2)], ()),
    "smooth_l1_beta0": (lambda x, y, red: F(x).smooth_l1_loss(x, y, reduction=red, beta=0.0),
                        [R(3, 4), R(3, 4, seed=2)], ()),
    "soft_margin": (lambda x, y, red: F(x).soft_margin_loss(x, y, reduction=red), [R(3, 4), S(3, 4, seed=2)], (1,)),
    "margin_ranking": (lambda a, b, y, red: F(a).margin_ranking_loss(a, b, y, 0.4, reduction=red),
                       [R(6), R(6, seed=2), S(6, seed=3)], ()),
    "triplet": (lambda a, p, n, red: F(a).triplet_margin_loss(a, p, n, reduction=red),
                [R(4, 3), R(4, 3, seed=2), R(4, 3, seed=3)], ()),
    "triplet_p1_swap": (lambda a, p, n, red: F(a).triplet_margin_loss(a, p, n, 2.0, p=1, swap=True, reduction=red),
                        [R(4, 3), R(4, 3, seed=2), R(4, 3, seed=3)], ()),
    "triplet_p3_swap_1d": (lambda a, p, n, red: F(a).triplet_margin_loss(a, p, n, 0.5, p=3, swap=True,
                                                                         reduction=red),
                           [R(3), R(3, seed=2), R(3, seed=3)], ()),
    "poisson_nll": (lambda x, y, red: F(x).poisson_nll_loss(x, y, reduction=red), [R(3, 4), U(3, 4) * 4], ()),
    "poisson_nll_full": (lambda x, y, red: F(x).poisson_nll_loss(x, y, full=True, reduction=red),
                         [R(3, 4), U(3, 4) * 4], ()),
    "poisson_nll_not_log": (lambda x, y, red: F(x).poisson_nll_loss(x, y, log_input=False, full=True, eps=0.1,
                                                                     reduction=red),
                            [U(3, 4) * 3, U(3, 4, seed=2) * 4], ()),
    "gaussian_nll": (lambda x, y, v, red: F(x).gaussian_nll_loss(x, y, v, reduction=red),
                     [R(3, 4), R(3, 4, seed=2), U(3, 4, seed=3)], ()),
    "gaussian_nll_full_var_short": (lambda x, y, v, red: F(x).gaussian_nll_loss(x, y, v, full=True, reduction=red),
                                    [R(3, 4), R(3, 4, seed=2), U(3, seed=3)], ()),
    "gaussian_nll_var_one_and_eps": (lambda x, y, v, red: F(x).gaussian_nll_loss(x, y, v, eps=0.3, reduction=red),
                                     [R(2, 3, 4), R(2, 3, 4, seed=2), U(2, 1, 4, seed=3)], ()),
    "cosine_embedding": (lambda a, b, y, red: F(a).cosine_embedding_loss(a, b, y, 0.2, reduction=red),
                         [R(4, 3), R(4, 3, seed=2), S(4, seed=3)], (2,)),
    "cosine_embedding_1d": (lambda a, b, y, red: F(a).cosine_embedding_loss(a, b, y, -0.5, reduction=red),
                            [R(3), R(3, seed=2), np.array(-1.0)], (2,)),
    "hinge_embedding": (lambda x, y, red: F(x).hinge_embedding_loss(x, y, 0.7, reduction=red),
                        [R(3, 4), S(3, 4, seed=2)], (1,)),
}


def _tensors(lib, arrays, dt, nograd):
    arrays = [np.asarray(a, dtype=dt) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    return [lib.tensor(a, requires_grad=a.dtype.kind == "f" and i not in nograd) for i, a in enumerate(arrays)]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("red", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_torch(name, red, dt):
    fn, arrays, nograd = CASES[name]
    xs, ts = _tensors(ng, arrays, dt, nograd), _tensors(torch, arrays, dt, nograd)
    yn, yt = fn(*xs, red), fn(*ts, red)
    assert tuple(yn.shape) == tuple(yt.shape)
    assert yn.dtype.name == str(yt.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(yn), _np(yt), **tol(dt))
    g = np.random.default_rng(3).standard_normal(tuple(yt.shape)).astype(_np(yt).dtype)
    yn.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))
    for xn, xt in zip(xs, ts):
        if xt.grad is None:
            assert xn.grad is None or not np.any(_np(xn.grad))
        else:
            np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), **tol(dt))


# var clamped below eps without a gradient of the clamp (torch's): finite differences see 0 there
CLAMPED = {"gaussian_nll_var_one_and_eps": (2,)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_gradcheck(name):
    fn, arrays, nograd = CASES[name]
    xs = _tensors(ng, arrays, np.float64, nograd + CLAMPED.get(name, ()))
    assert ng.autograd.gradcheck(lambda *a: fn(*a, "none"), xs)
    assert ng.autograd.gradcheck(lambda *a: fn(*a, "mean"), xs)


def test_byte_class_targets_as_torch():
    x = R(3, 4)
    t = np.array([0, 3, 1], np.uint8)
    kws = [dict(), dict(label_smoothing=0.3, ignore_index=1)]  # (torch refuses a Byte target with weight here)
    for fn, kw in [("nll_loss", kws[0]), ("cross_entropy", kws[0]), ("cross_entropy", kws[1])]:
        yn = getattr(NF, fn)(ng.tensor(x), ng.tensor(t), **kw)
        yt = getattr(TF, fn)(torch.tensor(x), torch.tensor(t), **kw)
        np.testing.assert_allclose(yn.item(), yt.item(), rtol=1e-12)


def test_plain_cross_entropy_keeps_its_fused_nodes():
    x = ng.tensor(R(6, 5), requires_grad=True)
    y = NF.cross_entropy(x, ng.tensor(T5))
    assert y.grad_fn.name == "NllLossBackward0"
    assert y.grad_fn.next_functions[0][0].name == "LogSoftmaxBackward0"


def test_cross_entropy_class_dim_is_dim_1():
    """A (N, C, L) input's classes are dim 1: the result is torch's, not the last dim's softmax."""
    x0 = R(2, 3, 4)
    t = np.array([[0, 2, 1, 1], [2, 0, 0, 1]])
    yn = NF.cross_entropy(ng.tensor(x0), ng.tensor(t), reduction="none")
    yt = TF.cross_entropy(torch.tensor(x0), torch.tensor(t), reduction="none")
    np.testing.assert_allclose(_np(yn), _np(yt), rtol=1e-12)


def test_empty_probability_target_mean_is_nan():
    y = NF.cross_entropy(ng.zeros(0, 3), ng.zeros(0, 3))
    assert np.isnan(y.item()) and np.isnan(TF.cross_entropy(torch.zeros(0, 3), torch.zeros(0, 3)).item())


def test_kl_div_batchmean_and_its_mean_warning():
    x, y = R(3, 4), P(3, 4)
    for kw in (dict(reduction="batchmean"), dict(reduction="batchmean", log_target=True)):
        yn = NF.kl_div(ng.tensor(x), ng.tensor(y), **kw)
        yt = TF.kl_div(torch.tensor(x), torch.tensor(y), **kw)
        np.testing.assert_allclose(yn.item(), yt.item(), rtol=1e-12)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        NF.kl_div(ng.tensor(x), ng.tensor(y))


def test_huber_weight_and_broadcast_warning():
    x, y, w = R(3, 4), R(3, 4, seed=2), U(3, 4, seed=3)
    for red in REDUCTIONS:
        yn = NF.huber_loss(ng.tensor(x), ng.tensor(y), red, 0.5, ng.tensor(w))
        yt = TF.huber_loss(torch.tensor(x), torch.tensor(y), red, 0.5, torch.tensor(w))
        np.testing.assert_allclose(_np(yn), _np(yt), rtol=1e-12)
    with pytest.warns(UserWarning, match="different to the input size"):
        NF.huber_loss(ng.tensor(x), ng.tensor(y[0]))
    with pytest.warns(UserWarning, match="different to the input size"):
        NF.smooth_l1_loss(ng.tensor(x), ng.tensor(y[0]))


def test_gaussian_nll_scalar_var_and_clamped_gradient():
    x, y = R(3, 4), R(3, 4, seed=2)
    yn = NF.gaussian_nll_loss(ng.tensor(x), ng.tensor(y), 0.5)
    yt = TF.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), 0.5)
    np.testing.assert_allclose(yn.item(), yt.item(), rtol=1e-12)
    v0 = np.array([1e-9, 0.5, 2.0])  # the first held at eps: its gradient as torch's (not zero)
    vn, vt = ng.tensor(v0, requires_grad=True), torch.tensor(v0, requires_grad=True)
    NF.gaussian_nll_loss(ng.tensor(x[0, :3]), ng.tensor(y[0, :3]), vn).backward()
    TF.gaussian_nll_loss(torch.tensor(x[0, :3]), torch.tensor(y[0, :3]), vt).backward()
    np.testing.assert_allclose(_np(vn.grad), _np(vt.grad), rtol=1e-10)


# ---------------------------------------------------------------- errors as torch's
def _error(lib, fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(lib)
    except Exception as e:  # noqa: BLE001 - which error is the point
        return type(e), str(e)
    return None


ERRORS = {
    "bad_reduction_huber": lambda L: L.nn.functional.huber_loss(L.ones(2), L.ones(2), reduction="bad"),
    "bad_reduction_kl": lambda L: L.nn.functional.kl_div(L.ones(2), L.ones(2), reduction="bad"),
    "bad_reduction_ce": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.ones(2, 3), reduction="bad"),
    "bad_reduction_poisson": lambda L: L.nn.functional.poisson_nll_loss(L.ones(2), L.ones(2), reduction="x"),
    "bad_reduction_margin": lambda L: L.nn.functional.margin_ranking_loss(L.ones(2), L.ones(2), L.ones(2),
                                                                          reduction="x"),
    "bad_reduction_gaussian": lambda L: L.nn.functional.gaussian_nll_loss(L.ones(2), L.ones(2), L.ones(2),
                                                                          reduction="x"),
    "target_out_of_range": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.tensor([0, 3])),
    "target_out_of_range_kdim": lambda L: L.nn.functional.nll_loss(L.ones(2, 3, 2), L.tensor([[0, 1], [5, 1]])),
    "kdim_target_size": lambda L: L.nn.functional.nll_loss(L.ones(2, 3, 4), L.zeros(2, 5, dtype=L.int64)),
    "kdim_batch": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3, 4), L.zeros(3, 4, dtype=L.int64)),
    "probs_integer_target": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.zeros(2, 3, dtype=L.int64)),
    "probs_ignore_index": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.ones(2, 3), ignore_index=0),
    "probs_weight_size": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.ones(2, 3), L.ones(2)),
    "smoothing_range": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.tensor([0, 1]), label_smoothing=1.5),
    "smoothing_weight_size": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.tensor([0, 1]), L.ones(4),
                                                                     label_smoothing=0.1),
    "float_class_target": lambda L: L.nn.functional.nll_loss(L.ones(2, 3), L.zeros(2)),
    "int32_class_target": lambda L: L.nn.functional.nll_loss(L.ones(2, 3), L.zeros(2, dtype=L.int32)),
    "bool_class_target": lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.zeros(2, dtype=L.bool)),
    "nll_0d_input": lambda L: L.nn.functional.nll_loss(L.tensor(1.0), L.tensor(0)),
    "cross_entropy_0d_input": lambda L: L.nn.functional.cross_entropy(L.tensor(1.0), L.tensor(0)),
    "cross_entropy_0d_probs": lambda L: L.nn.functional.cross_entropy(L.tensor(1.0), L.tensor(0.5)),
    "pos_weight_grad": lambda L: L.nn.functional.binary_cross_entropy_with_logits(
        L.ones(2, 3), L.ones(2, 3), pos_weight=L.ones(3, requires_grad=True)),
    "pos_weight_shape": lambda L: L.nn.functional.binary_cross_entropy_with_logits(L.ones(2, 3), L.ones(2, 4)),
    "soft_margin_target_grad": lambda L: L.nn.functional.soft_margin_loss(L.ones(2), L.ones(2, requires_grad=True)),
    "huber_delta": lambda L: L.nn.functional.huber_loss(L.ones(2), L.ones(2), delta=0.0),
    "huber_weight_size": lambda L: L.nn.functional.huber_loss(L.ones(2), L.ones(2), weight=L.ones(3)),
    "smooth_l1_beta": lambda L: L.nn.functional.smooth_l1_loss(L.ones(2), L.ones(2), beta=-1.0),
    "triplet_margin": lambda L: L.nn.functional.triplet_margin_loss(L.ones(2, 3), L.ones(2, 3), L.ones(2, 3),
                                                                    margin=0.0),
    "triplet_ndim": lambda L: L.nn.functional.triplet_margin_loss(L.ones(2, 3), L.ones(2, 3), L.ones(3)),
    "margin_ranking_ndim": lambda L: L.nn.functional.margin_ranking_loss(L.ones(2), L.ones(2), L.ones(1, 2)),
    "gaussian_var_size": lambda L: L.nn.functional.gaussian_nll_loss(L.ones(3, 4), L.ones(3, 4), L.ones(2, 4)),
    "gaussian_var_negative": lambda L: L.nn.functional.gaussian_nll_loss(L.ones(2), L.ones(2), -L.ones(2)),
    "gaussian_scalar_var_negative": lambda L: L.nn.functional.gaussian_nll_loss(L.ones(2), L.ones(2), -1.0),
    "cosine_embedding_target_dims": lambda L: L.nn.functional.cosine_embedding_loss(L.ones(2, 3), L.ones(2, 3),
                                                                                    L.ones(2, 1)),
}
SAME_MESSAGE = {  # where nbgrad's message is torch's word for word
    "bad_reduction_huber", "bad_reduction_kl", "bad_reduction_ce", "bad_reduction_poisson", "bad_reduction_gaussian",
    "kdim_target_size", "kdim_batch", "probs_integer_target", "probs_ignore_index", "smoothing_range",
    "pos_weight_grad", "soft_margin_target_grad", "huber_delta", "huber_weight_size", "smooth_l1_beta",
    "triplet_margin", "triplet_ndim", "gaussian_var_size", "gaussian_var_negative", "gaussian_scalar_var_negative",
    "probs_weight_size", "smoothing_weight_size", "nll_0d_input", "cross_entropy_0d_input",
    "cross_entropy_0d_probs", "float_class_target", "int32_class_target", "bool_class_target",
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_torch(name):
    en, et = _error(ng, ERRORS[name]), _error(torch, ERRORS[name])
    assert et is not None and en is not None, (en, et)
    assert issubclass(en[0], et[0]), (en, et)
    if name in SAME_MESSAGE:
        assert en[1] == et[1]


# ---------------------------------------------------------------- modules
MODULES = [
    ("HuberLoss", dict(delta=0.5, reduction="sum"), [R(3, 4), R(3, 4, seed=2)]),
    ("SmoothL1Loss", dict(beta=0.3), [R(3, 4), R(3, 4, seed=2)]),
    ("SoftMarginLoss", dict(reduction="none"), [R(3, 4), S(3, 4)]),
    ("KLDivLoss", dict(reduction="batchmean", log_target=True), [R(3, 4), R(3, 4, seed=2)]),
    ("PoissonNLLLoss", dict(log_input=False, full=True), [U(3, 4), U(3, 4, seed=2) * 3]),
    ("HingeEmbeddingLoss", dict(margin=0.3), [R(3, 4), S(3, 4)]),
    ("GaussianNLLLoss", dict(full=True, eps=0.01), [R(3, 4), R(3, 4, seed=2), U(3, 1)]),
    ("MarginRankingLoss", dict(margin=0.2), [R(5), R(5, seed=2), S(5)]),
    ("CosineEmbeddingLoss", dict(margin=0.1, reduction="sum"), [R(4, 3), R(4, 3, seed=2), S(4)]),
    ("TripletMarginLoss", dict(margin=0.5, p=1.0, swap=True), [R(4, 3), R(4, 3, seed=2), R(4, 3, seed=3)]),
    ("CrossEntropyLoss", dict(label_smoothing=0.2, weight=W5), [R(6, 5), T5]),
    ("CrossEntropyLoss", dict(), [R(2, 5, 3, 2), T3D]),
    ("NLLLoss", dict(ignore_index=2), [R(2, 5, 3, 2), T3D]),
    ("BCEWithLogitsLoss", dict(pos_weight=R(3, lo=0.5, hi=2)), [R(4, 3), U(4, 3)]),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_loss_modules_match_torch(i):
    name, kw, arrays = MODULES[i]
    out = {}
    for lib in (ng, torch):
        opts = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        m = getattr(lib.nn, name)(**opts)
        xs = [lib.tensor(a, requires_grad=a.dtype.kind == "f" and j == 0) for j, a in enumerate(arrays)]
        y = m(*xs)
        y.sum().backward()
        out[lib] = (_np(y), _np(xs[0].grad), m.reduction)
    for a, b in zip(out[ng], out[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12) if isinstance(a, np.ndarray) else None
    assert out[ng][2] == out[torch][2]
    assert getattr(ng.nn.modules.loss, name) is getattr(ng.nn, name)


# ---------------------------------------------------------------- CUDA (simulator), tiny sizes
CUDA_CASES = ["ce_label_smoothing_weight_ignore", "ce_probs", "ce_kdim", "bce_logits_pos_weight", "huber",
              "triplet", "gaussian_nll"]


def test_cuda_losses():
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device and no simulator")
    for name in CUDA_CASES:
        fn, arrays, nograd = CASES[name]
        xc = [t.to("cuda").detach().requires_grad_(t.requires_grad) for t in _tensors(ng, arrays, np.float32, nograd)]
        xh = _tensors(ng, arrays, np.float32, nograd)
        yc, yh = fn(*xc, "mean"), fn(*xh, "mean")
        assert yc.is_cuda and lib_of(yc) is ng
        np.testing.assert_allclose(_np(yc), _np(yh), rtol=1e-5, atol=1e-6, err_msg=name)
        yc.backward()
        yh.backward()
        for a, b in zip(xc, xh):
            if b.grad is not None:
                np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-5, atol=1e-6, err_msg=name)


# ---------------------------------------------------------------- properties
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_pairs = hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4)),
                    elements=st.floats(-3, 3, allow_nan=False)).flatmap(
    lambda a: st.tuples(st.just(a), hnp.arrays(np.float64, a.shape, elements=st.floats(-3, 3, allow_nan=False))))


@settings(max_examples=30, deadline=None)
@given(xy=_pairs, k=st.floats(0.05, 2.0), smoothing=st.floats(0.0, 1.0), red=st.sampled_from(REDUCTIONS))
def test_parametrised_losses_match_torch_anywhere(xy, k, smoothing, red):
    """huber (delta), smooth_l1 (beta), soft targets with label smoothing: any inputs, any parameter."""
    x, y = xy
    p = np.exp(y) / np.exp(y).sum(1, keepdims=True)
    for fn in (lambda L, a, b: L.nn.functional.huber_loss(a, b, red, delta=k),
               lambda L, a, b: L.nn.functional.smooth_l1_loss(a, b, reduction=red, beta=k),
               lambda L, a, b: L.nn.functional.cross_entropy(a, L.tensor(p), reduction=red, label_smoothing=smoothing)):
        out = []
        for lib in (ng, torch):
            a = lib.tensor(x, requires_grad=True)
            v = fn(lib, a, lib.tensor(y))
            v.sum().backward()
            out.append((_np(v), _np(a.grad)))
        np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10, atol=1e-12)
