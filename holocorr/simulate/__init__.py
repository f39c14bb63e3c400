"""Forward models with ground truth: holograms, the reference specimen (and SR-EELS)."""

from ._hologram import carrier_frequency, hologram
from ._specimen import holograms, specimen

__all__ = ["hologram", "carrier_frequency", "specimen", "holograms"]
