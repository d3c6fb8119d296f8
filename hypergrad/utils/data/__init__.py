"""hypergrad.utils.data (in progress)."""
