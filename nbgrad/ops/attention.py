"""Attention (issue 17): scaled_dot_product_attention and multi-head attention's forward,
composed of matmul, softmax, where and dropout (their table entries give the gradients)."""

from __future__ import annotations

import math
import numpy as np

from .. import creation as _C
from . import linalg as _L
from ..tensor import Tensor
from .elementwise import where
from .layers import dropout


def _causal(L: int, S: int, like: Tensor) -> Tensor:
    return _C.tensor(np.tril(np.ones((L, S), dtype=bool)), device=like.device)


def _mask_scores(scores: Tensor, attn_mask: Tensor | None, allowed: bool) -> Tensor:
    """scores with a mask applied: a bool mask (True where attention is allowed if `allowed`,
    else True where it is not) sets the others to -inf; a float mask is added."""
    if attn_mask is None:
        return scores
    if attn_mask.dtype.name == "bool":
        return where(attn_mask, scores, -math.inf) if allowed else where(attn_mask, -math.inf, scores)
    return scores + attn_mask


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value over (..., L, E), (..., S, E), (..., S, Ev),
    batch dims broadcast; a bool attn_mask is True where attention is allowed; dropout_p is
    applied to the attention weights."""
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must have at least 2 dimensions")
    if enable_gqa and min(query.ndim, key.ndim, value.ndim) >= 3:  # key / value heads shared by groups of query heads
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
        key = key.repeat_interleave(hq // hk, -3) if hk != hq else key
        value = value.repeat_interleave(hq // hv, -3) if hv != hq else value
    if query.dtype != key.dtype or query.dtype != value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{query.dtype.name} key.dtype: {key.dtype.name} and value.dtype: {value.dtype.name} instead.")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"Expected query and key to have the same embedding dimension, but got query "
                           f"{list(query.shape)} and key {list(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"Expected key and value to have the same sequence length, but got key "
                           f"{list(key.shape)} and value {list(value.shape)}")
    L, S = query.shape[-2], key.shape[-2]
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if is_causal:
        attn_mask = _causal(L, S, query)
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = _mask_scores((query @ key.transpose(-2, -1)) * s, attn_mask, allowed=True)
    w = scores.softmax(-1)
    if dropout_p > 0.0:
        w = dropout(w, dropout_p, True)
    return w @ value


def _float_mask(mask: Tensor | None, like: Tensor) -> Tensor | None:
    """An MHA mask (bool: True where attention is NOT allowed) as an additive float mask."""
    if mask is None or mask.dtype.name != "bool":
        return mask
    return where(mask, -math.inf, 0.0).to(like.dtype)


def multi_head_attention(query: Tensor, key: Tensor, value: Tensor, num_heads: int, in_proj_weight: Tensor,
                         in_proj_bias: Tensor | None, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                         dropout_p: float, training: bool, key_padding_mask: Tensor | None = None,
                         need_weights: bool = True, attn_mask: Tensor | None = None,
                         average_attn_weights: bool = True) -> tuple[Tensor, Tensor | None]:
    """PyTorch's multi_head_attention_forward on batch-first inputs (N, L, E), (N, S, E): the
    output (N, L, E) and the attention weights (N, L, S) averaged over heads (or (N, H, L, S)),
    or None when need_weights is False."""
    N, L, E = query.shape
    S = key.shape[1]
    H = num_heads
    hd = E // H
    w = in_proj_weight
    b = (None, None, None) if in_proj_bias is None else (in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:])
    q = _L.linear(query, w[:E], b[0]).reshape(N, L, H, hd).permute(0, 2, 1, 3)
    k = _L.linear(key, w[E:2 * E], b[1]).reshape(N, S, H, hd).permute(0, 2, 1, 3)
    v = _L.linear(value, w[2 * E:], b[2]).reshape(N, S, H, hd).permute(0, 2, 1, 3)
    mask = _float_mask(attn_mask, query)
    if mask is not None:
        if mask.ndim == 2:
            if tuple(mask.shape) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(mask.shape)}, but should be {(L, S)}.")
        elif mask.ndim == 3:
            if tuple(mask.shape) != (N * H, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(mask.shape)}, but should be "
                                   f"{(N * H, L, S)}.")
            mask = mask.reshape(N, H, L, S)
        else:
            raise RuntimeError(f"attn_mask's dimension {mask.ndim} is not supported")
    kpm = _float_mask(key_padding_mask, query)
    if kpm is not None:
        if tuple(kpm.shape) != (N, S):
            raise RuntimeError(f"expecting key_padding_mask shape of {(N, S)}, but got {tuple(kpm.shape)}")
        kpm = kpm.reshape(N, 1, 1, S)
        mask = kpm if mask is None else mask + kpm
    scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores + mask
    weights = scores.softmax(-1)
    if training and dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    out = (weights @ v).permute(0, 2, 1, 3).reshape(N, L, E)
    out = _L.linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        return out, None
    return out, (weights.mean(1) if average_attn_weights else weights)
