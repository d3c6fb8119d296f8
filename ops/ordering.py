"""The ordering op family (being written)."""
