"""Phase noise of a reconstruction: the shot-noise yardstick, measurement and detection limit."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from typing import Any

import numpy as np
import xarray as xr

from .._region import region_mask
from .._validate import check_choice, check_positive
from ..errors import CalibrationError, ParameterError, ShapeError
from . import _kernels as K
from .physics import interaction_constant

__all__ = ["PhaseNoise", "phase_noise", "detection_limit", "aperture_area"]


def aperture_area(
    radius: tuple[float, float], *, edge: str = "tanh", smoothness: float = 0.05, smoothing_sigma: float | None = None
) -> float:
    """Noise-equivalent area of a sideband aperture, integral of w(q)^2 d^2q [(cycles/px)^2].

    White shot noise of variance n per pixel passes the aperture with
    variance n times this area; for a hard circular aperture of radius R it
    is pi R^2.

    Parameters
    ----------
    radius : (ry, rx)
        Aperture semi-axes [cycles/px].
    edge, smoothness : str, float
        Aperture edge as in :func:`holocorr.holography.reconstruct`.
    smoothing_sigma : float, optional
        Extra Gaussian low-pass of the wave, sigma [px] (reference smoothing).

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        For a radius that is not a pair of finite numbers in (0, 0.5]
        cycles/px, an unknown edge, a non-positive smoothness or a negative
        smoothing sigma.

    Examples
    --------
    >>> round(aperture_area((0.1, 0.1), edge="hard") / (3.14159265 * 0.01), 4)
    1.0
    """
    ry, rx = _radius_pair(radius)
    check_choice("edge", edge, K.EDGES)
    smoothness = check_positive("smoothness", smoothness)
    if smoothing_sigma is False:  # as reconstruct's reference_smoothing=False: none
        smoothing_sigma = None
    if smoothing_sigma is not None:
        smoothing_sigma = check_positive("smoothing_sigma", smoothing_sigma, unit="px", allow_zero=True)
    rho = np.linspace(0.0, K.edge_extent(edge, smoothness) + 0.5, 40001)
    w = K.aperture_weights(rho, edge, smoothness)
    integrand = w**2 * 2.0 * np.pi * rho
    if smoothing_sigma:
        r_mean = math.sqrt(ry * rx)
        integrand = integrand * np.exp(-4.0 * np.pi**2 * smoothing_sigma**2 * (r_mean * rho) ** 2)
    return float(np.trapezoid(integrand, rho)) * ry * rx


def _radius_pair(radius: Any) -> tuple[float, float]:
    """(ry, rx) [cycles/px], each a finite number in (0, 0.5]."""
    msg = f"radius must be a pair (ry, rx) of aperture semi-axes in (0, 0.5] cycles/px, got {radius!r}"
    if isinstance(radius, str | bytes) or not hasattr(radius, "__len__") or len(radius) != 2:
        raise ParameterError(msg + ".")
    pair = []
    for r in radius:
        if isinstance(r, bool) or not isinstance(r, numbers.Real):
            raise ParameterError(msg + ".")
        pair.append(float(r))
    if not all(math.isfinite(r) and 0 < r <= 0.5 for r in pair):
        raise ParameterError(msg + " (the 'aperture_radius_per_px' attr of a reconstruction).")
    return pair[0], pair[1]


@dataclasses.dataclass(frozen=True)
class PhaseNoise:
    """Phase noise of a reconstruction.

    Attributes
    ----------
    yardstick_rad : float
        Shot-noise standard deviation of the phase per output pixel in vacuum
        (A = 1) [rad], NaN when the dose is unknown.
    measured_rad : float
        Standard deviation of the phase over the vacuum region after removing
        a plane [rad], NaN when no region was given.
    map : xarray.DataArray or None
        Shot-noise standard deviation per pixel [rad] using the local
        amplitude, sqrt((1 + A^2)/(2 A^2)) times the object term plus the
        reference term; None without a dose.
    contrast : float
        Fringe contrast used.
    dose_e_per_px : float
        Electrons per pixel in vacuum used (NaN if unknown).
    cell_area_px : float
        Area of one resolution cell [px^2] = 1 / aperture area.
    n_pixels : int
        Pixels in the vacuum region.
    """

    yardstick_rad: float
    measured_rad: float
    map: xr.DataArray | None
    contrast: float
    dose_e_per_px: float
    cell_area_px: float
    n_pixels: int

    @property
    def sigma_rad(self) -> float:
        """The measured value when available, else the yardstick [rad]."""
        return self.measured_rad if math.isfinite(self.measured_rad) else self.yardstick_rad

    def detection_limit(
        self, *, thickness: float | None = None, beam_energy_kv: float | None = None, k: float = 3.0
    ) -> dict:
        """k-sigma detection limit [rad] and, given a thickness, [V].

        Parameters
        ----------
        thickness : float, optional
            Specimen thickness [nm].
        beam_energy_kv : float, optional
            Beam energy [kV]; needed with `thickness`.
        k : float
            Number of standard deviations (3 by default).

        Returns
        -------
        dict
            ``rad`` and, with a thickness, ``volts``.
        """
        return detection_limit(self.sigma_rad, thickness=thickness, beam_energy_kv=beam_energy_kv, k=k)


def detection_limit(
    sigma_rad: float, *, thickness: float | None = None, beam_energy_kv: float | None = None, k: float = 3.0
) -> dict:
    """Smallest detectable phase (k sigma) [rad] and potential change [V].

    A potential change dV over a thickness t shifts the phase by C_E dV t,
    so the limit in volts is k sigma / (C_E t).

    Parameters
    ----------
    sigma_rad : float
        Phase standard deviation [rad].
    thickness : float, optional
        Specimen thickness [nm].
    beam_energy_kv : float, optional
        Beam energy [kV]; required with `thickness`.
    k : float
        Number of standard deviations.

    Returns
    -------
    dict
        ``{"rad": k sigma, "volts": k sigma / (C_E t)}`` (volts only with a
        thickness).

    Raises
    ------
    ParameterError
        For non-positive sigma, thickness, k or beam energy.

    Examples
    --------
    >>> d = detection_limit(0.01, thickness=150.0, beam_energy_kv=300.0)
    >>> round(d["rad"], 3), round(d["volts"], 4)
    (0.03, 0.0306)
    """
    sigma = check_positive("sigma_rad", sigma_rad, unit="rad")
    k = check_positive("k", k)
    out = {"rad": k * sigma}
    if thickness is not None:
        t = check_positive("thickness", thickness, unit="nm")
        if beam_energy_kv is None:
            raise CalibrationError("a detection limit in volts needs beam_energy_kv= (e.g. 300).")
        out["volts"] = k * sigma / (float(interaction_constant(beam_energy_kv)) * t)
    return out


def _attr_json(ds: xr.Dataset, key: str) -> Any:
    v = ds.attrs.get(key)
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return None
    return v


def phase_noise(
    data,
    *,
    vacuum: Any = None,
    dose: float | None = None,
    reference_dose: float | None = None,
    contrast: float | None = None,
) -> PhaseNoise:
    """Shot-noise yardstick and measured phase noise of a reconstruction.

    The yardstick (Lichte; Harscher & Lichte 1996; Roeder et al.,
    Ultramicroscopy 144, 32 (2014), doi:10.1016/j.ultramic.2014.04.002) is
    sigma^2 = (1 + A^2) / (mu^2 A^2 N_cell) with N_cell = dose x cell area and
    the cell area 1 / integral w^2 d^2q of the aperture w. A reference of
    dose D_r adds 2 / (mu^2 N_cell,r) (smaller with reference smoothing).

    Parameters
    ----------
    data : xarray.Dataset
        A result of :func:`~holocorr.holography.reconstruct` (its attrs hold
        the sideband, aperture, and the hologram's ``dose_e_per_px``).
    vacuum : dict or bool mask, optional
        Vacuum region, e.g. ``{"x": slice(0, 40)}`` in the data's units, or a
        boolean (y, x) mask; the measured noise is the standard deviation of
        the phase there after removing a least-squares plane.
    dose : float, optional
        Electrons per pixel in vacuum of the object hologram; default
        ``data.attrs["dose_e_per_px"]``.
    reference_dose : float, optional
        Electrons per pixel of the reference; default: `dose` when the
        reconstruction used a reference.
    contrast : float, optional
        Fringe contrast; default: the one measured for the sideband.

    Returns
    -------
    PhaseNoise

    Raises
    ------
    ShapeError
        When `data` is not a reconstruction Dataset.
    ParameterError
        For bad doses, contrast or region.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from holocorr.simulate import hologram
    >>> from holocorr.holography import reconstruct
    >>> flat = xr.DataArray(np.zeros((256, 256)), dims=("y", "x"))
    >>> ds = reconstruct(hologram(flat, spacing_px=4, angle_deg=30, contrast=0.3, dose=100, rng=1),
    ...                  unwrap=False)
    >>> n = phase_noise(ds, vacuum={"x": (40, 200), "y": (40, 200)})
    >>> abs(n.measured_rad / n.yardstick_rad - 1) < 0.1
    True
    """
    if not isinstance(data, xr.Dataset) or "phase" not in data or "sideband" not in data.attrs:
        raise ShapeError(
            "phase_noise needs the Dataset returned by holocorr.holography.reconstruct "
            "(with 'phase' and the 'sideband' attrs)."
        )
    sb = _attr_json(data, "sideband") or {}
    mu = contrast if contrast is not None else sb.get("contrast", math.nan)
    mu = check_positive("contrast", mu)
    if contrast is not None and mu > 1:
        raise ParameterError(f"contrast must be a fringe contrast in (0, 1], got {contrast!r}.")
    params = _attr_json(data, "holocorr") or {}
    p = params.get("parameters", {})
    has_ref = bool(params.get("inputs", {}).get("reference"))
    rad = data.attrs.get("aperture_radius_per_px")
    if rad is None:
        raise ShapeError("the Dataset has no 'aperture_radius_per_px' attr; pass a reconstruction result.")
    edge = data.attrs.get("edge", "tanh")
    smooth = float(p.get("smoothness", 0.05))
    area = aperture_area(tuple(rad), edge=edge, smoothness=smooth)
    dose_v = dose if dose is not None else data.attrs.get("dose_e_per_px")
    if dose_v is None:
        var_obj = math.nan
    else:
        dose_v = check_positive("dose", dose_v, unit="e-/px")
        var_obj = 2.0 * area / (mu**2 * dose_v)  # vacuum, A = 1
    var_ref = 0.0
    if has_ref and dose_v is not None:
        rd = check_positive("reference_dose", reference_dose if reference_dose is not None else dose_v, unit="e-/px")
        ref_area = aperture_area(tuple(rad), edge=edge, smoothness=smooth, smoothing_sigma=p.get("reference_smoothing"))
        var_ref = 2.0 * ref_area / (mu**2 * rd)
    yard = math.sqrt(var_obj + var_ref) if math.isfinite(var_obj) else math.nan
    nmap = None
    if math.isfinite(var_obj):
        amp = np.asarray(data["amplitude"].values, dtype=np.float64)
        a = amp if has_ref else amp / max(float(np.median(amp)), 1e-30)
        a = np.maximum(a, 1e-6)
        sig = np.sqrt(var_obj * (1.0 + a**2) / (2.0 * a**2) + var_ref)
        nmap = xr.DataArray(
            sig.astype(data["phase"].dtype),
            dims=data["phase"].dims,
            coords=data["phase"].coords,
            attrs={"units": "rad", "long_name": "phase noise (shot-noise yardstick)"},
        )
    measured, npx = math.nan, 0
    if vacuum is not None:
        phase = data["phase"]
        if phase.ndim != 2:
            raise ShapeError("measure the noise of one frame at a time (select it with .isel(frame=k)).")
        if isinstance(vacuum, dict):
            mask, _ = region_mask(vacuum, phase, name="vacuum")
        else:
            mask = np.asarray(getattr(vacuum, "values", vacuum))
            if mask.dtype != bool or mask.shape != phase.shape:
                raise ParameterError(
                    f"vacuum must be a dict of coordinate ranges or a bool mask of shape {phase.shape}."
                )
        npx = int(mask.sum())
        if npx < 10:
            raise ParameterError(f"the vacuum region has {npx} pixels; at least 10 are needed.")
        yy, xx = np.nonzero(mask)
        vals = np.asarray(phase.values, dtype=np.float64)[mask]
        design = np.c_[np.ones(npx), yy, xx]
        resid = vals - design @ np.linalg.lstsq(design, vals, rcond=None)[0]
        measured = float(np.sqrt(np.sum(resid**2) / max(npx - 3, 1)))
    return PhaseNoise(
        yardstick_rad=yard,
        measured_rad=measured,
        map=nmap,
        contrast=float(mu),
        dose_e_per_px=float(dose_v) if dose_v is not None else math.nan,
        cell_area_px=1.0 / area,
        n_pixels=npx,
    )
