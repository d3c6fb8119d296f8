"""hypergrad.viz (in progress)."""
