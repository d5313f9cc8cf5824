"""Convolution layers (issue 17): Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, with
PyTorch's arguments, parameter names and initialisation (kaiming_uniform(a=sqrt(5)) on the
weight, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same bound)."""

from __future__ import annotations

import math
from typing import Any

from ... import creation as C
from ...ops import conv as CV
from ...tensor import Tensor
from ..module import Module, Parameter

_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None, output_padding: Any = 0) -> None:
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in CV._tuple(stride, nd, "stride")):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _MODES:
            raise ValueError(f"padding_mode must be one of {set(_MODES)}, but got padding_mode='{padding_mode}'")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = CV._tuple(kernel_size, nd, "kernel_size")
        self.stride = CV._tuple(stride, nd, "stride")
        self.padding = padding if isinstance(padding, str) else CV._tuple(padding, nd, "padding")
        self.dilation = CV._tuple(dilation, nd, "dilation")
        self.output_padding = CV._tuple(output_padding, nd, "output_padding")
        self.groups, self.padding_mode, self.transposed = groups, padding_mode, self._transposed
        if isinstance(self.padding, str):  # torch's _reversed_padding_repeated_twice for 'same'
            rev: list = [0, 0] * nd
            if self.padding == "same":
                for d, k, i in zip(self.dilation, self.kernel_size, range(nd - 1, -1, -1)):
                    total = d * (k - 1)
                    rev[2 * i] = total // 2
                    rev[2 * i + 1] = total - total // 2
        else:
            rev = [p for p in reversed(self.padding) for _ in range(2)]
        self._reversed_padding_repeated_twice = rev
        shape = ((in_channels, out_channels // groups) if self._transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        fan_in = shape[1] * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        dt = dtype or "float32"
        self.weight = Parameter((C.rand(*shape, dtype="float64") * (2 * bound) - bound).to(dt).to(device or "cpu"))
        if bias:
            self.bias = Parameter((C.rand(out_channels, dtype="float64") * (2 * bound) - bound).to(dt)
                                  .to(device or "cpu"))
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        fn = CV.conv2d if self._nd == 2 else CV.conv1d
        if self.padding_mode != "zeros":
            unbatched = x.ndim == self._nd + 1
            xb = x.unsqueeze(0) if unbatched else x
            xb = CV.pad_nd(xb, tuple(self._reversed_padding_repeated_twice), self.padding_mode)
            y = fn(xb, weight, bias, self.stride, 0, self.dilation, self.groups)
            return y.squeeze(0) if unbatched else y
        return fn(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.weight, self.bias)


class Conv1d(_Conv):
    _nd = 1


class Conv2d(_Conv):
    _nd = 2


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        if isinstance(padding, str):
            raise ValueError(f"padding must be an int or a tuple of ints for {type(self).__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding)

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple:
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = tuple(int(s) for s in output_size)[-nd:]
        out = []
        for i in range(nd):
            natural = ((x.shape[x.ndim - nd + i] - 1) * self.stride[i] - 2 * self.padding[i]
                       + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = size[i] - natural
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(f"requested an output size of {list(size)}, but valid sizes range from "
                                 f"{natural} to {natural + max(self.stride[i], self.dilation[i]) - 1} "
                                 f"(for an input of {list(x.shape[2:])})")
            out.append(extra)
        return tuple(out)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        fn = CV.conv_transpose2d if self._nd == 2 else CV.conv_transpose1d
        return fn(x, self.weight, self.bias, self.stride, self.padding, self._output_padding(x, output_size),
                  self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    _nd = 2
