"""Indexing kernels: scatter-add into a flat array (the backward of indexing)."""

from __future__ import annotations

import numpy as np

from ..dispatch import kernel


@kernel(nogil=True)
def _scatter_add_flat(dst, idx, src):
    for i in range(idx.size):
        dst[idx[i]] += src[i]


def scatter_add_flat(dst: np.ndarray, idx: np.ndarray, src: np.ndarray) -> None:
    _scatter_add_flat(dst, idx, src)
