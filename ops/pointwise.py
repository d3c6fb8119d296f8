"""The pointwise op family (being written)."""
