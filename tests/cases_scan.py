"""Second-derivative cases of the scans, triangles and order ops (issue 16), picked up by
tests/test_higher_order.py: name: (fn, arrays). fn gets nbgrad or torch tensors; the outer tanh
/ products make the second derivatives non-zero. Values have no ties (finite differences)."""

from __future__ import annotations

import numpy as np

from torch_scenarios import lib_of as _L  # noqa: E402

X = np.array([[-2.5, -0.7, 0.3, 1.9], [1.2, 2.9, -4.1, 0.6]]) / 2
Z = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.7, 0.0, 1.2], [0.9, -1.1, 0.5, 1.3]])  # no, one and two zeros a row

CASES = {
    "cumsum": (lambda x: x.cumsum(1).tanh() * x, [X]),
    "cumprod": (lambda x: _L(x).cumprod(x, 1), [X]),
    "cumprod_zeros": (lambda x: x.cumprod(-1) * x, [Z]),
    "cumprod_zeros_dim0": (lambda x: x.cumprod(0), [Z]),
    "cummax": (lambda x: x.cummax(1).values.tanh() * x, [X]),
    "cummin": (lambda x: _L(x).cummin(x, 0)[0].tanh() * x, [X]),
    "logcumsumexp": (lambda x: x.logcumsumexp(1), [X]),
    "logcumsumexp_dim0": (lambda x: x.logcumsumexp(0) * x, [X]),
    "tril": (lambda x: x.tril(1).tanh() * x, [X]),
    "triu": (lambda x: _L(x).triu(x, -1).tanh() * x, [X]),
    "prod_dim": (lambda x: x.prod(1), [X]),
    "prod_keepdim": (lambda x: x.prod(0, keepdim=True) * x, [X]),
    "prod_zeros": (lambda x: x.prod(1), [Z]),
    "prod_all": (lambda x: x.prod(), [X[:, :3]]),
    "prod_all_one_zero": (lambda x: x.prod(), [Z[0]]),
    "sort": (lambda x: x.sort(1).values.tanh() * x, [X]),
    "sort_desc": (lambda x: x.sort(0, descending=True)[0].tanh() * x, [X]),
    "topk": (lambda x: x.topk(2).values.tanh() * x[:, :2], [X]),
    "kthvalue": (lambda x: x.kthvalue(2, 1).values.tanh() * x.sum(1), [X]),
    "median": (lambda x: x.median().tanh() * x, [X]),
    "median_dim": (lambda x: x.median(1, keepdim=True).values.tanh() * x, [X]),
    "mode": (lambda x: x.mode(0).values.tanh() * x, [X]),
    "amax": (lambda x: x.amax((0, 1)).tanh() * x, [X]),
    "amin_dim": (lambda x: _L(x).amin(x, 1, keepdim=True).tanh() * x, [X]),
    "nansum": (lambda x: x.nansum(1).tanh() * x.sum(1), [X]),
    "nanmean": (lambda x: _L(x).nanmean(x * x, 0), [X]),
}
