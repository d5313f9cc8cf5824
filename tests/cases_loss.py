"""Second-derivative cases of the composed losses (issue 16), tiny: (fn, arrays, no-grad indices)."""

from __future__ import annotations

import numpy as np

from torch_scenarios import functional_of as _F

X = np.array([[-1.5, -0.7, 0.3], [1.2, 0.4, -1.1]])
Y = np.array([[0.5, -1.2, 0.9], [-0.3, 1.7, 0.2]])
PROBS = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
POS = np.array([[0.4, 2.5, 1.3], [3.1, 0.6, 1.8]])
SIGN = np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]])
X4 = np.array([[[-1.0, 0.4], [0.6, -0.2], [1.3, 0.1]], [[0.2, -0.9], [-0.5, 1.1], [0.8, 0.3]]])  # (2, 3, 2)
T4 = np.array([[0, 2], [1, 1]])
W3 = np.array([0.5, 2.0, 1.2])

CASES = {
    "ce_label_smoothing": (lambda x, t, w: _F(x).cross_entropy(x, t, w, ignore_index=1, label_smoothing=0.2),
                           [X, np.array([2, 0]), W3], (2,)),
    "ce_probs": (lambda x, t: _F(x).cross_entropy(x, t, label_smoothing=0.1), [X, PROBS]),
    "ce_kdim": (lambda x, t: _F(x).cross_entropy(x, t, reduction="none"), [X4, T4]),
    "nll_kdim": (lambda x, t: _F(x).nll_loss(x.log_softmax(1), t, reduction="sum"), [X4, T4]),
    "bce_logits_pos_weight": (lambda x, y, pw: _F(x).binary_cross_entropy_with_logits(x, y, pos_weight=pw),
                              [X, PROBS, W3], (2,)),
    "kl_div": (lambda x, y: _F(x).kl_div(x, y, reduction="batchmean"), [X, PROBS]),
    "kl_div_log_target": (lambda x, y: _F(x).kl_div(x, y, reduction="sum", log_target=True), [X, Y]),
    "huber": (lambda x, y: _F(x).huber_loss(x, y, delta=0.9), [X, Y]),
    "smooth_l1": (lambda x, y: _F(x).smooth_l1_loss(x, y, reduction="none", beta=0.8), [X, Y]),
    "soft_margin": (lambda x, y: _F(x).soft_margin_loss(x, y), [X, SIGN], (1,)),
    "margin_ranking": (lambda a, b, y: _F(a).margin_ranking_loss(a * a, b, y, 0.3, reduction="sum"),
                       [X, Y, SIGN]),
    "triplet": (lambda a, p, n: _F(a).triplet_margin_loss(a, p, n, 2.5, p=3, swap=True, reduction="none"),
                [X, Y, Y[::-1].copy()]),
    "poisson_nll_full": (lambda x, y: _F(x).poisson_nll_loss(x, y, full=True), [X, POS]),
    "poisson_nll_not_log": (lambda x, y: _F(x).poisson_nll_loss(x, y, log_input=False), [POS, POS[::-1].copy()]),
    "gaussian_nll": (lambda x, y, v: _F(x).gaussian_nll_loss(x, y, v, full=True), [X, Y, POS[:, :1]]),
    "cosine_embedding": (lambda a, b, y: _F(a).cosine_embedding_loss(a, b, y, -0.9, reduction="none"),
                         [X, Y, np.array([1.0, -1.0])], (2,)),
    "hinge_embedding": (lambda x, y: _F(x).hinge_embedding_loss(x * x, y, 1.5, reduction="sum"), [X, SIGN], (1,)),
}
