"""nbgrad.nn: modules, parameters, losses and nn.functional."""

from . import functional, init, modules, parallel
from .module import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Flatten, Identity, L1Loss, Linear, LogSoftmax,
    Module, MSELoss, NLLLoss, Parameter, ReLU, Sequential, Sigmoid, Softmax, Tanh,
)

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Flatten", "Identity", "L1Loss", "Linear",
    "LogSoftmax", "MSELoss", "Module", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Softmax", "Tanh", "functional", "init", "modules", "parallel",
]

# activations and losses (issue 16)
from .modules.activation_fns import *  # noqa: E402, F403
from .modules.activation_fns import __all__ as _act_all  # noqa: E402

__all__ += _act_all
