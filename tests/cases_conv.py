"""Second-derivative cases of convolution and pooling (issue 17), for tests/test_higher_order.py:
name: (fn, [arrays], indices of arrays that take no gradient); fn gets nbgrad or torch tensors.
Tiny (1 x 2 x 4 x 4) so that gradgradcheck stays quick."""

from __future__ import annotations

import numpy as np

import nbgrad as ng


from torch_scenarios import functional_of as _F, lib_of as _lib  # noqa: E402


def _pad(x, pads, mode):
    if isinstance(x, ng.Tensor):
        from nbgrad.ops.conv import pad_nd

        return pad_nd(x, pads, mode)
    return _F(x).pad(x, pads, mode=mode)


def R(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).uniform(-1.5, 1.5, shape)


def _distinct(*shape, seed=0):
    """Values far apart (max pooling's argmax stays put under finite differences)."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) * 0.37 - n * 0.15


def _max_pool_double(x, v):
    """A first derivative of a max pool taken inside (create_graph): its backward (the scatter)
    and that one's backward (the gather) are both differentiated again."""
    y = _F(x).max_pool2d(x * x, 2, 1)
    (gx,) = _lib(x).autograd.grad(y, x, v, create_graph=True)
    return gx * x


CASES = {
    "conv2d": (lambda x, w, b: _F(x).conv2d(x, w, b, padding=1).tanh(), [R(1, 2, 4, 4), R(3, 2, 2, 2), R(3)]),
    "conv2d_stride_dilation_groups": (
        lambda x, w, b: _F(x).conv2d(x * x, w, b, stride=2, padding=(1, 2), dilation=(1, 2), groups=2),
        [R(1, 2, 4, 4), R(4, 1, 2, 2), R(4)]),
    "conv2d_weight_squared": (lambda x, w: _F(x).conv2d(x, w * w, None, padding="same"), [R(1, 2, 4, 4), R(2, 2, 2, 3)]),
    "conv1d": (lambda x, w: _F(x).conv1d(x, w, stride=2, padding=1).sigmoid(), [R(1, 2, 5), R(2, 2, 3)]),
    "conv_transpose2d": (
        lambda x, w, b: _F(x).conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1).tanh(),
        [R(1, 2, 3, 3), R(2, 3, 2, 2), R(3)]),
    "conv_reflect": (lambda x, w: _F(x).conv2d(_pad(x, (1, 1, 2, 0), "reflect"), w) ** 2,
                     [R(1, 2, 4, 4), R(2, 2, 3, 3)]),
    "conv_circular_replicate": (
        lambda x: _pad(_pad(x, (1, 2, 1, 0), "circular"), (1, 1, 0, 2), "replicate").tanh(), [R(1, 2, 4, 4)]),
    "max_pool2d": (lambda x: _F(x).max_pool2d(x * x * x, 2, 1, ceil_mode=True), [_distinct(1, 2, 4, 4)]),
    "max_pool2d_padded": (lambda x: _F(x).max_pool2d(x, 3, 2, padding=1).tanh(), [_distinct(1, 2, 4, 4)]),
    "max_pool_double": (_max_pool_double, [_distinct(1, 2, 4, 4), R(1, 2, 3, 3)]),
    "max_pool1d": (lambda x: _F(x).max_pool1d(x, 2).sin(), [_distinct(1, 2, 5)]),
    "avg_pool2d": (lambda x: _F(x).avg_pool2d(x * x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                   [R(1, 2, 4, 4)]),
    "adaptive_avg_pool2d": (lambda x: _F(x).adaptive_avg_pool2d(x * x, (3, 2)), [R(1, 2, 4, 4)]),
    "interpolate_nearest": (lambda x: _F(x).interpolate(x, scale_factor=1.5).tanh(), [R(1, 2, 4, 4)]),
}
