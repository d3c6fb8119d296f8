"""The indexing op family (being written)."""
