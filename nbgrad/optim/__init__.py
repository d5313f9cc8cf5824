"""nbgrad.optim: PyTorch's optimizers (SGD, Adam, AdamW, Adamax, NAdam, RMSprop, Adagrad) with their
update rules (run under no_grad), parameter groups and state dicts, and lr_scheduler."""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, Adamax, AdamW, NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "RMSprop", "lr_scheduler"]
