"""hypergrad.utils: helpers around the core (`torch.utils`); `data` loads training data."""

from . import data

__all__ = ["data"]
