"""Finite-difference gradient checks (float64, tiny shapes) for every differentiable op.
Inputs are kept away from kinks and domain edges."""

from __future__ import annotations


import numpy as np
import pytest

import nbgrad as ng
import nbgrad.nn.functional as NF


def T(a):
    return ng.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def rnd(*shape, seed=0, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def pos(*shape, seed=0):
    return rnd(*shape, seed=seed, lo=0.5, hi=2.0)


def distinct(*shape, seed=0):
    n = int(np.prod(shape))
    v = (np.random.default_rng(seed).permutation(n) - n / 2 + 0.37) * 0.3
    return v.reshape(shape)


def MASK():  # made at call time, on the default device (tests/test_cuda.py runs these on CUDA)
    return ng.tensor(np.array([[True, False, True], [False, True, True]]))


def TGT():
    return ng.tensor(np.array([2, 0, 1]))

CASES = {
    "add_bcast": (lambda a, b: a + b, [rnd(2, 3), rnd(3, seed=1)]),
    "sub_bcast": (lambda a, b: a - b, [rnd(2, 1, 3), rnd(2, 1, seed=1)]),
    "rsub": (lambda a: 2 - a, [rnd(3)]),
    "mul_bcast": (lambda a, b: a * b, [rnd(2, 3), rnd(2, 1, seed=1)]),
    "div": (lambda a, b: a / b, [rnd(2, 3), pos(3, seed=1)]),
    "rdiv": (lambda a: 2 / a, [pos(3)]),
    "neg": (lambda a: -a, [rnd(3)]),
    "pow_num": (lambda a: a ** 2.5, [pos(3)]),
    "pow_tensor": (lambda a, b: a ** b, [pos(2, 3), rnd(3, seed=1)]),
    "rpow": (lambda a: 2 ** a, [rnd(3)]),
    "exp": (ng.exp, [rnd(3)]),
    "log": (ng.log, [pos(3)]),
    "sqrt": (ng.sqrt, [pos(3)]),
    "abs": (ng.abs, [distinct(2, 3)]),
    "sin": (ng.sin, [rnd(3)]),
    "cos": (ng.cos, [rnd(3)]),
    "tanh": (ng.tanh, [rnd(3)]),
    "sigmoid": (ng.sigmoid, [rnd(3)]),
    "relu": (ng.relu, [distinct(2, 3)]),
    "clamp_min": (lambda a: a.clamp(min=0.05), [distinct(2, 3)]),
    "clamp_max": (lambda a: a.clamp(max=0.05), [distinct(2, 3)]),
    "clamp_both": (lambda a: ng.clamp(a, -0.25, 0.25), [distinct(2, 3)]),
    "maximum": (ng.maximum, [distinct(2, 3), distinct(2, 3, seed=1) + 0.01]),
    "minimum": (ng.minimum, [distinct(2, 3), distinct(2, 3, seed=1) + 0.01]),
    "where": (lambda a, b: ng.where(MASK(), a, b), [rnd(2, 3), rnd(3, seed=1)]),
    "dot": (lambda a, b: a @ b, [rnd(3), rnd(3, seed=1)]),
    "mv": (lambda a, b: a @ b, [rnd(2, 3), rnd(3, seed=1)]),
    "vm": (lambda a, b: a @ b, [rnd(3), rnd(3, 2, seed=1)]),
    "mm": (lambda a, b: a @ b, [rnd(2, 3), rnd(3, 2, seed=1)]),
    "bmm": (lambda a, b: a @ b, [rnd(2, 2, 3), rnd(2, 3, 2, seed=1)]),
    "bmm_bcast": (lambda a, b: a @ b, [rnd(2, 2, 3), rnd(3, 2, seed=1)]),
    "bmm_bcast4": (lambda a, b: a @ b, [rnd(2, 1, 2, 3), rnd(2, 3, 2, seed=1)]),
    "sum": (lambda a: a.sum(), [rnd(2, 3)]),
    "sum_dim": (lambda a: a.sum(1, keepdim=True), [rnd(2, 3)]),
    "sum_dims": (lambda a: a.sum((0, 2)), [rnd(2, 3, 2)]),
    "mean": (lambda a: a.mean(), [rnd(2, 3)]),
    "mean_dim": (lambda a: a.mean(-1), [rnd(2, 3)]),
    "max_all": (lambda a: a.max(), [distinct(2, 3)]),
    "min_all": (lambda a: a.min(), [distinct(2, 3)]),
    "max_dim": (lambda a: a.max(1).values, [distinct(2, 3)]),
    "min_dim": (lambda a: a.min(0, keepdim=True).values, [distinct(2, 3)]),
    "var": (lambda a: a.var(), [rnd(2, 3)]),
    "var_dim": (lambda a: a.var(1, keepdim=True), [rnd(2, 3)]),
    "var_corr0": (lambda a: a.var(0, correction=0), [rnd(3, 2)]),
    "std": (lambda a: a.std(), [rnd(2, 3)]),
    "std_dim": (lambda a: a.std(1, unbiased=False), [rnd(2, 3)]),
    "softmax": (lambda a: ng.softmax(a, 1), [rnd(2, 3)]),
    "softmax0": (lambda a: ng.softmax(a, 0), [rnd(2, 3)]),
    "log_softmax": (lambda a: ng.log_softmax(a, -1), [rnd(2, 3)]),
    "logsumexp": (lambda a: ng.logsumexp(a, 1), [rnd(2, 3)]),
    "logsumexp_keep": (lambda a: ng.logsumexp(a, (0, 1), keepdim=True), [rnd(2, 3)]),
    "reshape": (lambda a: a.reshape(3, 2) * ng.tensor(np.arange(6.0).reshape(3, 2)), [rnd(2, 3)]),
    "view": (lambda a: a.view(-1), [rnd(2, 3)]),
    "transpose": (lambda a: a.transpose(0, 1), [rnd(2, 3)]),
    "permute": (lambda a: a.permute(2, 0, 1), [rnd(2, 3, 2)]),
    "T": (lambda a: a.T, [rnd(2, 3)]),
    "mT": (lambda a: a.mT, [rnd(2, 2, 3)]),
    "unsqueeze": (lambda a: a.unsqueeze(1), [rnd(2, 3)]),
    "squeeze": (lambda a: a.squeeze(1), [rnd(2, 1, 3)]),
    "flatten": (lambda a: a.flatten(), [rnd(2, 3)]),
    "expand": (lambda a: a.expand(2, 2, 3), [rnd(1, 3)]),
    "getitem_int_slice": (lambda a: a[1, ::2], [rnd(3, 4)]),
    "getitem_none_ellipsis": (lambda a: a[None, ..., 1:], [rnd(2, 3)]),
    "getitem_int_array": (lambda a: a[[0, 2, 0]], [rnd(3, 2)]),
    "getitem_bool": (lambda a: a[MASK()], [rnd(2, 3)]),
    "cat": (lambda a, b: ng.cat([a, b], 1), [rnd(2, 3), rnd(2, 2, seed=1)]),
    "stack": (lambda a, b: ng.stack([a, b], 1), [rnd(2, 3), rnd(2, 3, seed=1)]),
    "clone": (lambda a: a.clone(), [rnd(2, 3)]),
    "mse": (lambda a: NF.mse_loss(a, ng.tensor(np.ones((2, 3)))), [rnd(2, 3)]),
    "l1": (lambda a: NF.l1_loss(a, ng.tensor(np.zeros((2, 3)))), [distinct(2, 3)]),
    "bce": (lambda a: NF.binary_cross_entropy(a, ng.tensor(np.array([[1.0, 0.0, 0.3]] * 2))), [rnd(2, 3, lo=0.1, hi=0.9)]),
    "bce_logits": (lambda a: NF.binary_cross_entropy_with_logits(a, ng.tensor(np.array([[1.0, 0.0, 0.3]] * 2)),
                                                                reduction="sum"), [rnd(2, 3) * 3]),
    "mse_target": (lambda a, b: NF.mse_loss(a, b, reduction="sum"), [rnd(2, 3), rnd(2, 3, seed=1)]),
    "bce_target": (lambda a, b: NF.binary_cross_entropy(a, b), [rnd(2, 3, lo=0.1, hi=0.9), rnd(2, 3, seed=1, lo=0, hi=1)]),
    "bce_logits_target": (lambda a, b: NF.binary_cross_entropy_with_logits(a, b, reduction="none"),
                          [rnd(2, 3) * 3, rnd(2, 3, seed=1, lo=0, hi=1)]),
    "cross_entropy": (lambda a: NF.cross_entropy(a, TGT()), [rnd(3, 4)]),
    "nll": (lambda a: NF.nll_loss(a, TGT(), reduction="sum"), [rnd(3, 4)]),
    "nll_none": (lambda a: NF.nll_loss(a, TGT(), reduction="none"), [rnd(3, 4)]),
    "chain": (lambda a, b: ((a * b).tanh() @ b.T).softmax(-1).log().sum(0), [rnd(2, 3), rnd(2, 3, seed=1)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    fn, arrays = CASES[name]
    assert ng.autograd.gradcheck(fn, [T(a) for a in arrays])
