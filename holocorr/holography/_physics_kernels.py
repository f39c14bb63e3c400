"""Numpy kernels for electron-optical constants and phase/amplitude conversions.

Pure functions on numbers and ndarrays, SI-derived units stated per function.
No validation, no xarray: the public wrappers in
:mod:`holocorr.holography.physics` check inputs and attach units and
provenance.
"""

from __future__ import annotations

import numpy as np
from scipy import constants as _sc

__all__ = [
    "wavelength_nm",
    "interaction_constant_rad_per_v_nm",
    "characteristic_angle_mrad",
    "relativistic_factor_f",
    "imfp_iakoubovskii_nm",
    "imfp_malis_nm",
    "potential_from_phase",
    "thickness_from_ratio",
]

#: electron rest energy m0 c^2 in J
_E0_J = _sc.m_e * _sc.c**2
#: electron rest energy in keV (511 keV, used by the Malis/Iakoubovskii factor F
#: with the rounded constants 511 and 1022 of the original papers)
_REST_KEV_PAPER = 511.0


def wavelength_nm(beam_energy_kv: np.ndarray | float) -> np.ndarray | float:
    """Relativistic electron wavelength in nm for an acceleration voltage in kV.

    lambda = h / sqrt(2 m0 e U (1 + e U / (2 m0 c^2))), CODATA constants.
    """
    u = np.asarray(beam_energy_kv, dtype=np.float64) * 1e3
    eu = _sc.e * u
    lam_m = _sc.h / np.sqrt(2.0 * _sc.m_e * eu * (1.0 + eu / (2.0 * _E0_J)))
    return lam_m * 1e9


def interaction_constant_rad_per_v_nm(beam_energy_kv: np.ndarray | float) -> np.ndarray | float:
    """Interaction constant C_E in rad / (V nm).

    C_E = (2 pi / (lambda U)) (E0 + eU) / (2 E0 + eU), lambda in nm, U in V.
    """
    u = np.asarray(beam_energy_kv, dtype=np.float64) * 1e3
    eu = _sc.e * u
    return (2.0 * np.pi / (wavelength_nm(beam_energy_kv) * u)) * (_E0_J + eu) / (2.0 * _E0_J + eu)


def relativistic_factor_f(e0_kev: float) -> float:
    """Relativistic factor F = (1 + E0/1022) / (1 + E0/511)^2 of Malis et al. (E0 in keV)."""
    return (1.0 + e0_kev / (2.0 * _REST_KEV_PAPER)) / (1.0 + e0_kev / _REST_KEV_PAPER) ** 2


def characteristic_angle_mrad(density_g_cm3: float, e0_kev: float) -> float:
    """Iakoubovskii's effective characteristic angle theta_E = 5.5 rho^0.3 / (F E0), mrad."""
    return 5.5 * density_g_cm3**0.3 / (relativistic_factor_f(e0_kev) * e0_kev)


def imfp_iakoubovskii_nm(
    density_g_cm3: float,
    e0_kev: float,
    *,
    beta_mrad: float | None,
    alpha_mrad: float = 0.0,
    theta_c_mrad: float = 20.0,
) -> float:
    """Inelastic mean free path (nm) after Iakoubovskii et al. (2008).

    1/lambda = 11 rho^0.3 / (200 F E0)
               * ln[ (a^2 + b^2 + 2 tE^2 + |a^2 - b^2|) / (a^2 + b^2 + 2 tC^2 + |a^2 - b^2|)
                     * tC^2 / tE^2 ]

    ``beta_mrad=None`` is the limit of an unlimited collection angle, where the
    logarithm becomes ln(tC^2 / tE^2).
    """
    f = relativistic_factor_f(e0_kev)
    te2 = characteristic_angle_mrad(density_g_cm3, e0_kev) ** 2
    tc2 = theta_c_mrad**2
    log_term = np.log(tc2 / te2)
    if beta_mrad is not None:
        a2 = alpha_mrad**2
        b2 = beta_mrad**2
        d = abs(a2 - b2)
        log_term = log_term + np.log((a2 + b2 + 2.0 * te2 + d) / (a2 + b2 + 2.0 * tc2 + d))
    inv = 11.0 * density_g_cm3**0.3 / (200.0 * f * e0_kev) * log_term
    return float(1.0 / inv)


def imfp_malis_nm(z_eff: float, e0_kev: float, *, beta_mrad: float) -> float:
    """Total inelastic mean free path (nm) after Malis, Cheng & Egerton (1988).

    lambda = 106 F E0 / (E_m ln(2 beta E0 / E_m)), E_m = 7.6 Z_eff^0.36 eV,
    E0 in keV, beta in mrad.
    """
    em = 7.6 * z_eff**0.36
    f = relativistic_factor_f(e0_kev)
    return float(106.0 * f * e0_kev / (em * np.log(2.0 * beta_mrad * e0_kev / em)))


def potential_from_phase(phase: np.ndarray, inv_ce_t: np.ndarray | float) -> np.ndarray:
    """V = phase * 1 / (C_E t), computed in the dtype of `phase`.

    `inv_ce_t` is 1 / (C_E t) in V/rad, a float or an array broadcastable to
    `phase`; it is cast to phase's dtype so float32 stays float32.
    """
    factor = np.asarray(inv_ce_t, dtype=np.float64).astype(phase.dtype, copy=False)
    return phase * factor


def thickness_from_ratio(
    amplitude: np.ndarray, vacuum_amplitude: np.ndarray | float, mfp_nm: np.ndarray | float
) -> np.ndarray:
    """Thickness t = -2 lambda ln(A / A_vac) in nm, in the dtype of `amplitude`."""
    dt = amplitude.dtype
    avac = np.asarray(vacuum_amplitude, dtype=np.float64).astype(dt, copy=False)
    mfp = np.asarray(mfp_nm, dtype=np.float64).astype(dt, copy=False)
    return (np.asarray(-2.0, dtype=dt) * mfp) * np.log(amplitude / avac)
