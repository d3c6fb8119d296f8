"""hypergrad.optim (in progress)."""
