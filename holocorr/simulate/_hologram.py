"""Forward model of an off-axis electron hologram (ground truth for tests)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from .._provenance import provenance
from .._validate import as_dataarray, check_finite, check_positive
from ..errors import DataError, ParameterError, ShapeError

__all__ = ["hologram", "carrier_frequency"]


def carrier_frequency(spacing_px: float, angle_deg: float) -> tuple[float, float]:
    """Carrier (fy, fx) in cycles/px for a fringe spacing and carrier angle.

    The angle is that of the carrier wave vector, counter-clockwise from +x
    with y pointing up on screen (rows increase downwards), so
    ``fx = cos(angle) / spacing`` and ``fy = -sin(angle) / spacing``.
    Angles in [0, 180) put the object phase +phi on holocorr's "upper"
    sideband.

    Parameters
    ----------
    spacing_px : float
        Fringe spacing in pixels.
    angle_deg : float
        Carrier angle in degrees.

    Returns
    -------
    (fy, fx) : tuple of float
        Cycles per pixel.

    Raises
    ------
    ParameterError
        For a spacing that is not a finite number > 0 px, or an angle that
        is not a finite number.

    Examples
    --------
    >>> carrier_frequency(4.0, 90.0)
    (-0.25, 0.0)
    """
    spacing_px = check_positive("spacing_px", spacing_px, unit="px")
    angle_deg = _angle(angle_deg)
    a = math.radians(angle_deg)
    fx = math.cos(a) / spacing_px
    fy = -math.sin(a) / spacing_px
    return (0.0 if abs(fy) < 1e-15 else fy, 0.0 if abs(fx) < 1e-15 else fx)


def _angle(angle_deg: Any) -> float:
    if isinstance(angle_deg, bool) or not isinstance(angle_deg, numbers.Real) or not math.isfinite(angle_deg):
        raise ParameterError(f"angle_deg must be a finite number of degrees, got {angle_deg!r}.")
    return float(angle_deg)


def _real_field(v: Any, name: str) -> np.ndarray:
    """`v` as a float64 ndarray; complex, bool, string or object values are refused."""
    if isinstance(v, str | bytes):
        raise DataError(f"{name} is a string ({v!r:.40}); expected a real array.")
    raw = np.asarray(getattr(v, "values", v))
    if raw.dtype.kind == "c":
        raise DataError(f"{name} must be real; got complex values ({raw.dtype}).")
    if raw.dtype.kind not in "iuf":
        raise DataError(f"{name} has dtype {raw.dtype}; expected real numbers.")
    return raw.astype(np.float64)


def hologram(
    phase,
    amplitude=None,
    *,
    spacing_px: float,
    angle_deg: float,
    contrast: float,
    dose: float | None = None,
    mtf_sigma: float = 0.0,
    distortion=None,
    rng=None,
    dtype="float32",
) -> xr.DataArray:
    """Simulate an off-axis hologram of a known object wave.

    I(r) = I0 [1 + A(r)^2 + 2 mu A(r) cos(2 pi q_c.r + phi(r) + phi_d(r))]
    (Lichte & Lehmann, Rep. Prog. Phys. 71, 016102 (2008),
    doi:10.1088/0034-4885/71/1/016102), with r the pixel centre
    (row, column) in px and q_c from :func:`carrier_frequency`. The image is
    then blurred by a Gaussian detector PSF (`mtf_sigma`, px), which lowers
    the recorded contrast by about exp(-2 pi^2 sigma^2 / s^2) (for sigma of
    1 px or more; the sampled kernel of a smaller sigma blurs less: 0.82
    instead of 0.78 at sigma = 0.5 px, s = 4.5 px), and, when `dose` is given,
    replaced by Poisson counts.

    Parameters
    ----------
    phase : (M, N) DataArray or ndarray [rad]
        Object phase phi. Coordinates of a DataArray are kept.
    amplitude : (M, N) array_like or None
        Object amplitude A (1 in vacuum); None means 1 everywhere.
    spacing_px : float
        Fringe spacing [px], > 2.
    angle_deg : float
        Carrier angle [deg] (see :func:`carrier_frequency`).
    contrast : float
        Fringe contrast mu in (0, 1].
    dose : float, optional
        Mean electrons per pixel where A = 1 (I0 = dose / 2). None gives a
        noise-free image with I0 = 0.5 (mean 1 in vacuum).
    mtf_sigma : float
        Gaussian PSF sigma [px]; 0 for none.
    distortion : (M, N) array_like, optional
        Distortion phase phi_d [rad] of lenses and camera, to be shared with
        the vacuum reference.
    rng : numpy.random.Generator or int, optional
        Random source for the Poisson noise.
    dtype : {"float32", "float64"}
        Output dtype.

    Returns
    -------
    xarray.DataArray
        Intensity [counts] with dims (y, x), attrs with the parameters,
        ``carrier_frequency`` (fy, fx) in cycles/px and provenance.

    Raises
    ------
    ShapeError, DataError, ParameterError
        For a phase that is not a finite 2-D real image, mismatched
        amplitude/distortion shapes or parameters out of range.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> phi = xr.DataArray(np.zeros((64, 64)), dims=("y", "x"))
    >>> h = hologram(phi, spacing_px=4, angle_deg=0, contrast=0.3)
    >>> round(float(h.mean()), 6), round(float(h.max()), 6)
    (1.0, 1.3)
    """
    ph = as_dataarray(phase, name="phase", leading=())
    phi = _real_field(ph, "phase")
    check_finite(phi, name="phase")
    if min(phi.shape) < 4:
        raise ShapeError(f"phase has shape {phi.shape}; need at least 4x4 pixels.")
    spacing_px = check_positive("spacing_px", spacing_px, unit="px")
    if spacing_px <= 2.0:
        raise ParameterError(f"spacing_px must exceed 2 px (Nyquist), got {spacing_px}.")
    angle_deg = _angle(angle_deg)
    contrast = check_positive("contrast", contrast)
    if contrast > 1:
        raise ParameterError(f"contrast must be in (0, 1], got {contrast}.")
    mtf_sigma = check_positive("mtf_sigma", mtf_sigma, unit="px", allow_zero=True)
    if dtype not in ("float32", "float64"):
        raise ParameterError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")

    def _field(v, name, default):
        if v is None:
            return default
        arr = _real_field(v, name)
        if arr.shape != phi.shape:
            raise ShapeError(f"{name} has shape {arr.shape}; it must match phase {phi.shape}.")
        check_finite(arr, name=name)
        return arr

    amp = _field(amplitude, "amplitude", 1.0)
    if np.any(np.asarray(amp) < 0):
        raise DataError("amplitude must be >= 0 everywhere.")
    dist = _field(distortion, "distortion", 0.0)

    fy, fx = carrier_frequency(spacing_px, angle_deg)
    ny, nx = phi.shape
    yy = np.arange(ny, dtype=np.float64)[:, None]
    xx = np.arange(nx, dtype=np.float64)[None, :]
    i0 = 0.5 if dose is None else 0.5 * check_positive("dose", dose, unit="e-/px")
    carrier = 2.0 * np.pi * (fy * yy + fx * xx)
    intensity = i0 * (1.0 + amp**2 + 2.0 * contrast * amp * np.cos(carrier + phi + dist))
    if mtf_sigma > 0:
        intensity = ndimage.gaussian_filter(intensity, mtf_sigma, mode="wrap")
    if dose is not None:
        try:
            gen = np.random.default_rng(rng)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"rng must be a numpy.random.Generator, a non-negative int seed or None, got {rng!r}."
            ) from exc
        intensity = gen.poisson(intensity).astype(np.float64)
    out = xr.DataArray(
        intensity.astype(dtype),
        dims=("y", "x"),
        coords={k: ph.coords[k] for k in ("y", "x") if k in ph.coords},
        name="hologram",
        attrs={
            "units": "counts",
            "long_name": "hologram intensity",
            "spacing_px": float(spacing_px),
            "angle_deg": float(angle_deg),
            "contrast": float(contrast),
            "carrier_frequency": [fy, fx],
            "mtf_sigma_px": float(mtf_sigma),
        },
    )
    if dose is not None:
        out.attrs["dose_e_per_px"] = float(dose)
    for key in ("beam_energy_kv", "biprism_voltage_v"):
        if key in ph.attrs:
            out.attrs[key] = ph.attrs[key]
    out.attrs["holocorr"] = provenance(
        "simulate.hologram",
        {
            "spacing_px": spacing_px,
            "angle_deg": angle_deg,
            "contrast": contrast,
            "dose": dose,
            "mtf_sigma": mtf_sigma,
            "rng": rng if isinstance(rng, int) else None,
            "dtype": dtype,
        },
        {
            "phase": phi,
            "amplitude": None if amplitude is None else amp,
            "distortion": None if distortion is None else dist,
        },
    )
    return out
