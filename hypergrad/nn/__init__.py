"""hypergrad.nn (in progress)."""
