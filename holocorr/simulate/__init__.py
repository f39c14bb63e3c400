"""Forward models with ground truth: holograms (and, later, specimens and SR-EELS)."""

from ._hologram import carrier_frequency, hologram

__all__ = ["hologram", "carrier_frequency"]
