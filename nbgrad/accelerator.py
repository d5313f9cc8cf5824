"""ng.accelerator: PyTorch's device-agnostic queries (`torch.accelerator`), for code such as
`device = ng.accelerator.current_accelerator().type if ng.accelerator.is_available() else "cpu"`.
nbgrad's only accelerator is CUDA."""

from __future__ import annotations

from . import cuda
from ._device import device


def is_available() -> bool:
    return cuda.is_available()


def current_accelerator() -> device | None:
    """device('cuda') where a GPU (or the simulator) is usable, else None."""
    return device("cuda") if cuda.is_available() else None


def device_count() -> int:
    return cuda.device_count()


def current_device_index() -> int:
    return cuda.current_device()


def synchronize() -> None:
    cuda.synchronize()
