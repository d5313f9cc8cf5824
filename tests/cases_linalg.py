"""Second-derivative cases of the linear algebra ops (issue 16), tiny: (fn, arrays, no-grad indices)."""

from __future__ import annotations

import numpy as np

from torch_scenarios import lib_of as _L


def _r(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, shape)


A, B, V = _r(2, 3), _r(3, 2, seed=1), _r(3, seed=2)
INF = float("inf")


def _cdist(a, b, p=2.0):  # torch has no double backward for cdist: compare with its composed form
    L = _L(a)
    if L.__name__ == "nbgrad":
        return L.cdist(a, b, p)
    return L.linalg.vector_norm(a.unsqueeze(-2) - b.unsqueeze(-3), p, -1)


CASES = {
    "mm": (lambda a, b: _L(a).mm(a, b).tanh(), [A, B]),
    "bmm": (lambda a, b: _L(a).bmm(a, b) ** 2, [_r(2, 2, 3), _r(2, 3, 2, seed=1)]),
    "dot": (lambda a, b: _L(a).dot(a, b) ** 2, [V, _r(3, seed=3)]),
    "mv": (lambda a, v: _L(a).mv(a, v).sin(), [A, V]),
    "addmm": (lambda c, a, b: _L(a).addmm(c, a, b, beta=0.5, alpha=2.0).tanh(), [_r(2, 2, seed=4), A, B]),
    "addmv": (lambda c, a, v: _L(a).addmv(c, a, v, beta=-1.0, alpha=0.5) ** 2, [_r(2, seed=4), A, V]),
    "baddbmm": (lambda c, a, b: _L(a).baddbmm(c, a, b, alpha=1.5).sin(), [_r(2, 2, seed=5), _r(2, 2, 3),
                                                                         _r(2, 3, 2, seed=1)]),
    "einsum_matmul": (lambda a, b: _L(a).einsum("ij,jk->ik", a, b).tanh(), [A, B]),
    "einsum_bilinear": (lambda x, w, y: _L(x).einsum("bn,anm,bm->ba", x, w, y) ** 2,
                        [_r(2, 3), _r(2, 3, 2, seed=1), _r(2, 2, seed=2)]),
    "einsum_attention": (lambda q, k: _L(q).einsum("bhqd,bhkd->bhqk", q, k).softmax(-1),
                         [_r(1, 2, 2, 3), _r(1, 2, 3, 3, seed=1)]),
    "einsum_diagonal": (lambda a: _L(a).einsum("...ii->...i", a).sin(), [_r(2, 3, 3)]),
    "einsum_trace": (lambda a, b: _L(a).einsum("ij,ji", a, b) ** 2, [A, B]),
    "tensordot": (lambda a, b: _L(a).tensordot(a, b, ([0, 2], [1, 0])).tanh(), [_r(2, 3, 2), _r(2, 2, 3, seed=1)]),
    "kron": (lambda a, b: _L(a).kron(a, b).sin(), [_r(2, 2), _r(2, 3, seed=1)]),
    "vector_norm_2": (lambda a: _L(a).linalg.vector_norm(a, 2, 1), [A]),
    "vector_norm_3": (lambda a: _L(a).linalg.vector_norm(a, 3, 0, keepdim=True), [A]),
    "vector_norm_1.5": (lambda a: _L(a).linalg.vector_norm(a, 1.5), [A]),
    "vector_norm_0.5": (lambda a: _L(a).linalg.vector_norm(a, 0.5, 1), [A]),
    "vector_norm_inf": (lambda a: _L(a).linalg.vector_norm(a, INF, 1) ** 2, [A]),
    "matrix_norm_fro": (lambda a: _L(a).linalg.matrix_norm(a) ** 3, [A]),
    "matrix_norm_1": (lambda a: _L(a).linalg.matrix_norm(a, 1) ** 2, [A]),
    "matrix_norm_-inf": (lambda a: _L(a).linalg.matrix_norm(a, -INF) ** 2, [A]),
    "norm": (lambda a: a.norm(p=4, dim=1), [A]),
    "cdist_2": (lambda a, b: _cdist(a, b), [_r(3, 2), _r(2, 2, seed=1)]),
    "cdist_3": (lambda a, b: _cdist(a, b, 3.0), [_r(3, 2), _r(2, 2, seed=1)]),
    "cdist_mm": (lambda a, b: _L(a).cdist(a, b, compute_mode="use_mm_for_euclid_dist"), [_r(3, 2), _r(2, 2, seed=1)]),
    "trace": (lambda a: _L(a).trace(a @ a.T) ** 2, [A]),
    "diagonal": (lambda a: a.diagonal(1, 0, 2).sin(), [_r(3, 2, 4)]),
    "diag": (lambda v: (_L(v).diag(v, -1) @ _L(v).diag(v * v, -1)).sum(), [V]),
    "diag_embed": (lambda a: _L(a).diag_embed(a, 1).sin() @ _L(a).diag_embed(a, 1).mT, [A]),
    "inner": (lambda a, b: _L(a).inner(a, b).sin(), [_r(2, 3), _r(4, 3)]),
    "ger": (lambda v: v.ger(v * v).sin(), [V]),
}
