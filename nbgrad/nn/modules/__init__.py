"""PyTorch's torch.nn.modules paths (the modules themselves live in nbgrad/nn/module.py)."""

from . import module
