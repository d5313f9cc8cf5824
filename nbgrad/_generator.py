"""ng.Generator: a seeded random stream of its own (PyTorch's torch.Generator), for samplers,
random_split and the creation functions' generator= argument. It draws on the host (NumPy's
PCG64), so a given seed gives the same numbers every run, though not PyTorch's numbers."""

from __future__ import annotations

import json
import secrets
from typing import Any

import numpy as np

from . import creation as _C  # (creation imports this module: read at call time)
from ._device import device as _dev

_DEFAULT_SEED = 67280421310721  # (a fresh torch.Generator's initial_seed())


class Generator:
    def __init__(self, device: Any = "cpu") -> None:
        d = _dev(device)
        if d.type != "cpu":
            raise RuntimeError(f"nbgrad.Generator draws on the host: device must be 'cpu', got '{d}'")
        self.device = d
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reseed (any integer in [-2**63, 2**64); a negative one wraps as in PyTorch); returns self."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if not -(2 ** 63) <= seed < 2 ** 64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed % 2 ** 64
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        s = secrets.randbits(64)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        """The stream's state as a uint8 tensor (set_state takes it back)."""
        raw = json.dumps({"seed": self._seed, "state": self._rng.bit_generator.state}).encode()
        return _C.tensor(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> Generator:
        raw = np.asarray(new_state.numpy() if hasattr(new_state, "numpy") else new_state, dtype=np.uint8).tobytes()
        try:
            st = json.loads(raw.decode())
            rng = np.random.default_rng()
            rng.bit_generator.state = st["state"]
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError("Generator.set_state: not a state from Generator.get_state()") from e
        self._seed, self._rng = int(st["seed"]), rng
        return self

    def __repr__(self) -> str:
        return f"<nbgrad.Generator object, seed {self._seed}>"


def rng_of(generator: Generator | None) -> np.random.Generator:
    """The NumPy stream a draw uses: the generator's, or nbgrad's global one (ng.manual_seed)."""
    if generator is None:
        return _C._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a nbgrad.Generator, got {type(generator).__name__}")
    return generator._rng
