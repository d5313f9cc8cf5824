"""Loss modules (issue 16): PyTorch's classes and arguments, over nn.functional (torch.nn.modules.loss)."""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from .. import functional as F
from ..module import (  # noqa: F401
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, Module, MSELoss, NLLLoss, _Loss,
)


class HuberLoss(_Loss):
    fn = staticmethod(F.huber_loss)

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction, delta=delta)


class SmoothL1Loss(_Loss):
    fn = staticmethod(F.smooth_l1_loss)

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(reduction, size_average=size_average, reduce=reduce, beta=beta)


class SoftMarginLoss(_Loss):
    fn = staticmethod(F.soft_margin_loss)

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction, size_average=size_average, reduce=reduce)


class KLDivLoss(_Loss):
    fn = staticmethod(F.kl_div)

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(reduction, size_average=size_average, reduce=reduce, log_target=log_target)


class PoissonNLLLoss(_Loss):
    fn = staticmethod(F.poisson_nll_loss)

    def __init__(self, log_input: bool = True, full: bool = False, size_average: Any = None, eps: float = 1e-8,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction, log_input=log_input, full=full, size_average=size_average, eps=eps,
                         reduce=reduce)


class HingeEmbeddingLoss(_Loss):
    fn = staticmethod(F.hinge_embedding_loss)

    def __init__(self, margin: float = 1.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction, margin=margin, size_average=size_average, reduce=reduce)


class GaussianNLLLoss(_Loss):
    fn = staticmethod(F.gaussian_nll_loss)

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction, full=full, eps=eps)

    def forward(self, input: Tensor, target: Tensor, var: Any) -> Tensor:  # noqa: A002
        return F.gaussian_nll_loss(input, target, var, reduction=self.reduction, **self.options)


class _PairLoss(_Loss):
    """A loss of two inputs and a target (or three inputs)."""

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return type(self).fn(input1, input2, target, reduction=self.reduction, **self.options)


class MarginRankingLoss(_PairLoss):
    fn = staticmethod(F.margin_ranking_loss)

    def __init__(self, margin: float = 0.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction, margin=margin, size_average=size_average, reduce=reduce)


class CosineEmbeddingLoss(_PairLoss):
    fn = staticmethod(F.cosine_embedding_loss)

    def __init__(self, margin: float = 0.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction, margin=margin, size_average=size_average, reduce=reduce)


class TripletMarginLoss(_PairLoss):
    fn = staticmethod(F.triplet_margin_loss)

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction, margin=margin, p=p, eps=eps, swap=swap, size_average=size_average,
                         reduce=reduce)

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, reduction=self.reduction, **self.options)


__all__ = [
    "CosineEmbeddingLoss", "GaussianNLLLoss", "HingeEmbeddingLoss", "HuberLoss", "KLDivLoss", "MarginRankingLoss",
    "PoissonNLLLoss", "SmoothL1Loss", "SoftMarginLoss", "TripletMarginLoss",
]
