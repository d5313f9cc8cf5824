"""PyTorch's torch.nn.modules paths (the modules themselves live in nbgrad/nn/module.py)."""

from . import module
from . import loss  # noqa: E402, F401  (issue 16)
