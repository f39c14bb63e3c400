"""Forward models with ground truth: holograms, the reference specimen, SR-EELS and STEM-EELS."""

from ._eels import EDGES, sr_eels, stem_eels
from ._hologram import carrier_frequency, hologram
from ._specimen import holograms, specimen

__all__ = ["hologram", "carrier_frequency", "specimen", "holograms", "sr_eels", "stem_eels", "EDGES"]
