"""nbgrad.utils: data-loading helpers (nbgrad.utils.data)."""

from . import data

__all__ = ["data"]
