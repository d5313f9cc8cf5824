"""ng.device: a device name ('cpu', 'cuda:0') that compares equal to its string."""

from __future__ import annotations

from typing import Any


class device(str):  # noqa: N801  (PyTorch's name)
    def __new__(cls, type_or_name: Any, index: int | None = None) -> device:
        s = str(type_or_name)
        if index is not None:
            s = f"{s}:{int(index)}"
        kind = s.split(":")[0]
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {s}")
        return super().__new__(cls, s)

    @property
    def type(self) -> str:
        return self.split(":")[0]

    @property
    def index(self) -> int | None:
        return int(self.split(":")[1]) if ":" in self else None

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")
