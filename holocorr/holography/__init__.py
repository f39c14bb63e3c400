"""Off-axis electron holography: sideband detection, reconstruction, phase tools and physics.

Sign convention: with the default ``sideband="upper"``, a positive projected
potential gives a positive phase (see :mod:`holocorr.holography.reconstruct`).
"""

from .insitu import potential_change, register_waves
from .noise import PhaseNoise, aperture_area, detection_limit, phase_noise
from .phase import remove_ramp, residues, unwrap
from .physics import (
    interaction_constant,
    mean_free_path,
    phase_to_potential,
    thickness_from_amplitude,
    wavelength,
)
from .reconstruct import Sideband, find_sideband, fringe_statistics, reconstruct

__all__ = [
    "Sideband",
    "find_sideband",
    "fringe_statistics",
    "reconstruct",
    "unwrap",
    "residues",
    "remove_ramp",
    "wavelength",
    "interaction_constant",
    "phase_to_potential",
    "thickness_from_amplitude",
    "mean_free_path",
    "PhaseNoise",
    "phase_noise",
    "detection_limit",
    "aperture_area",
    "potential_change",
    "register_waves",
]
