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

# ---------------------------------------------------------------- convolution and pooling (issue 17)
from .modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: E402
from .modules.pooling import (  # noqa: E402
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, Upsample, UpsamplingNearest2d,
)

__all__ += [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "ConvTranspose1d",
    "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "Upsample", "UpsamplingNearest2d",
]
# ---- layers (issue 17)
from .modules.activation import GELU, MultiheadAttention  # noqa: E402
from .modules.dropout import Dropout, Dropout1d, Dropout2d  # noqa: E402
from .modules.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm  # noqa: E402
from .modules.sparse import Embedding  # noqa: E402
from .modules.transformer import TransformerEncoderLayer  # noqa: E402

__all__ += ["GELU", "BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm", "RMSNorm", "Dropout", "Dropout1d",
            "Dropout2d", "Embedding", "MultiheadAttention", "TransformerEncoderLayer"]
# activations and losses (issue 16)
from .modules.activation_fns import *  # noqa: E402, F403
from .modules.activation_fns import __all__ as _act_all  # noqa: E402

__all__ += _act_all
# ---- utils, containers and buffers (issue 17, data)
from . import utils  # noqa: E402
from .modules.container import ModuleDict, ModuleList, ParameterDict, ParameterList  # noqa: E402
from .modules.flatten import Unflatten  # noqa: E402

__all__ += ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Unflatten", "utils"]
# ---- losses (issue 16)
from .modules.loss import *  # noqa: E402, F403
from .modules.loss import __all__ as _loss_all  # noqa: E402

__all__ += _loss_all
