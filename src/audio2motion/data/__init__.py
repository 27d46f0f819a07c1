"""Data sets: the synthetic generator, the generic folder format and the Lightning data module."""
