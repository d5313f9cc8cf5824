"""Second-derivative cases of the shape / split / index / scatter ops (issue 16), picked up by
tests/test_higher_order.py: name: (fn, arrays, indices of arrays that take no gradient).
fn gets nbgrad or torch tensors; the outer tanh / products make the second derivatives non-zero."""

from __future__ import annotations

import numpy as np


from torch_scenarios import functional_of as _F, lib_of as _L  # noqa: E402


def R(*shape, seed=1):
    return np.random.default_rng(seed + 7 * len(shape)).uniform(-1, 1, shape)


IDX = np.array([[0, 1, 1], [2, 0, 0]])  # (2, 3) into a dim of size 3
ROWS = np.array([1, 0, 1])

CASES = {
    "gather": (lambda x, i: x.gather(1, i).tanh() * x.gather(1, i), [R(2, 3), IDX], (1,)),
    "scatter_src": (lambda x, s, i: x.scatter(1, i[:, :1], s[:, :1]).tanh() * x, [R(2, 3), R(2, 3, seed=2), IDX],
                    (2,)),
    "scatter_value": (lambda x, i: x.scatter(1, i, 0.5).tanh() * x, [R(2, 3), IDX], (1,)),
    "scatter_add": (lambda x, s, i: x.scatter_add(1, i, s).tanh() * s.sum(), [R(2, 3), R(2, 3, seed=2), IDX], (2,)),
    "scatter_reduce_mean": (lambda x, s, i: x.scatter_reduce(1, i, s, "mean").tanh() * x,
                            [R(2, 3), R(2, 3, seed=2), IDX], (2,)),
    "scatter_reduce_amax": (lambda x, s, i: x.scatter_reduce(1, i, s, "amax", include_self=False).tanh() * x,
                            [R(2, 3), R(2, 3, seed=2), IDX], (2,)),
    "scatter_reduce_prod": (lambda x, s, i: x.scatter_reduce(1, i, s, "prod").tanh() * x,
                            [R(2, 3), R(2, 3, seed=2), IDX], (2,)),
    "index_select": (lambda x, i: x.index_select(0, i).tanh() * x.index_select(0, i), [R(2, 3), ROWS[:2]], (1,)),
    "index_add": (lambda x, s, i: x.index_add(1, i, s, alpha=2.0).tanh() * s.sum(), [R(2, 3), R(2, 3, seed=2), ROWS],
                  (2,)),
    "index_copy": (lambda x, s, i: x.index_copy(1, i[:2], s[:, :2]).tanh() * x, [R(2, 3), R(2, 3, seed=2), ROWS],
                   (2,)),
    "index_fill": (lambda x, i: x.index_fill(1, i, 0.3).tanh() * x, [R(2, 3), ROWS], (1,)),
    "index_fill_tensor_value": (lambda x, v, i: x.index_fill(1, i, v).tanh() * v, [R(2, 3), R(), ROWS], (2,)),
    "masked_fill_tensor_value": (lambda x, v: x.masked_fill(x > 0, v).tanh() * x, [R(2, 3), R()]),
    "masked_scatter": (lambda x, s: x.masked_scatter(x > 0, s).tanh() * x, [R(2, 3), R(6, seed=3)]),
    "take": (lambda x: x.take(_L(x).tensor([[0, 5], [5, -1]])).tanh() * x.sum(), [R(2, 3)]),
    "split_cat": (lambda x: _L(x).cat([p.tanh() for p in x.split([1, 2], 1)][::-1], 1) * x, [R(2, 3)]),
    "flip": (lambda x: x.flip(0, 1).tanh() * x, [R(2, 3)]),
    "roll": (lambda x: x.roll((1, -1), (0, 1)).tanh() * x, [R(2, 3)]),
    "roll_flat": (lambda x: x.roll(2).tanh() * x.flip(-1), [R(2, 3)]),
    "repeat_tile": (lambda x: x.repeat(2, 1).tanh() * x.tile(2, 1), [R(2, 3)]),
    "repeat_interleave": (lambda x: x.repeat_interleave(2, dim=1).tanh().sum(1) * x[:, 0], [R(2, 3)]),
    "pad_constant": (lambda x: _F(x).pad(x, (1, -1, 0, 2), value=0.5).tanh() * _F(x).pad(x, (1, -1, 0, 2)),
                     [R(2, 3)]),
    "pad_reflect": (lambda x: _F(x).pad(x, (2, 1), mode="reflect").tanh() ** 2, [R(1, 2, 3)]),
    "pad_circular": (lambda x: _F(x).pad(x, (1, 2), mode="circular").tanh() ** 2, [R(1, 2, 3)]),
    "unbind_stack": (lambda x: _L(x).stack(x.unbind(1)[::-1]).tanh() * x.T, [R(2, 3)]),
    "select": (lambda x: x.select(1, -1).tanh() * x.select(0, 0).sum(), [R(2, 3)]),
}
