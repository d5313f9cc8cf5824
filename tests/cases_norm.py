"""Second-derivative cases of the layer ops (issue 17: gelu, normalisation, dropout, embedding,
attention), picked up by test_higher_order.py: name -> (fn, arrays, indices that take no grad)."""

from __future__ import annotations

import numpy as np



def R(*shape, seed=1, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(lo, hi, shape)


def P(*shape, seed=1):
    return R(*shape, seed=seed, lo=0.5, hi=2.0)


from torch_scenarios import functional_of as _F, lib_of as _lib  # noqa: E402


CASES = {
    "gelu": (lambda x: _F(x).gelu(x) * x, [R(2, 3)]),
    "gelu_tanh": (lambda x: _F(x).gelu(x, approximate="tanh") * x, [R(2, 3)]),
    "layer_norm": (lambda x, w, b: _F(x).layer_norm(x, (4,), w, b) * x, [R(3, 4), R(4, seed=2), R(4, seed=3)]),
    "layer_norm_2d": (lambda x: _F(x).layer_norm(x, (2, 3), eps=1e-3).exp(), [R(2, 2, 3)]),
    "rms_norm": (lambda x, w: _F(x).rms_norm(x, (4,), w, eps=1e-6) * x, [R(3, 4), R(4, seed=2)]),
    "group_norm": (lambda x, w, b: _F(x).group_norm(x, 2, w, b) * x, [R(2, 4, 3), R(4, seed=2), R(4, seed=3)]),
    "batch_norm_train": (lambda x, w, b: _F(x).batch_norm(x, None, None, w, b, training=True) * x,
                         [R(4, 3), R(3, seed=2), R(3, seed=3)]),
    # (padding_idx's missing gradient is what finite differences cannot see: test_norm_attention checks it)
    # (unmasked: check_node's finite differences of a where() against -inf are nan; test_norm_attention
    # compares a causal one's second derivatives with torch)
    "sdpa": (lambda q, k, v: _F(q).scaled_dot_product_attention(q, k, v), [R(1, 3, 2), R(1, 4, 2, seed=2),
                                                                            R(1, 4, 2, seed=3)]),
    "embedding": (lambda w: _F(w).embedding(_lib(w).tensor([[0, 2], [1, 2]]), w * w) * w[:2], [R(3, 2)]),
}
