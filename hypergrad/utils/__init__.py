"""hypergrad.utils (in progress)."""
