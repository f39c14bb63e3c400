"""Energy-filtered TEM (EFTEM) elemental maps: three-window and jump-ratio."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._provenance import array_hash, provenance
from .._validate import check_choice
from ..errors import CalibrationError, DataError, ParameterError, ShapeError
from ._common import _ENERGY_UNITS, ENERGY, carry_attrs, check_gain, float_values
from .edges import get_edge

__all__ = ["eftem_map"]

_METHODS = ("three-window", "jump-ratio")


def _series(series: Any) -> tuple[xr.DataArray, np.ndarray, np.ndarray]:
    if not isinstance(series, xr.DataArray):
        raise ShapeError(
            "series must be an xarray.DataArray with an 'energy' dim (the slit centre of each "
            "image, eV); build one with holocorr.eels.as_spectra(images, energy_axis=0, "
            "energies_ev=[...], dims=('y', 'x'))."
        )
    if ENERGY not in series.dims:
        raise ShapeError(f"series has dims {series.dims} and no 'energy' dim.")
    units = str(series[ENERGY].attrs.get("units", "")).strip() if ENERGY in series.coords else ""
    factor = _ENERGY_UNITS.get(units.lower())
    if factor is None:
        raise CalibrationError(
            f"series needs an 'energy' coordinate in eV (attrs['units'] = 'eV'; keV and meV are "
            f"converted) giving each image's slit centre; got units {units or 'none'!r}."
        )
    if series[ENERGY].dtype.kind not in "iuf":
        raise CalibrationError(f"series' energies have dtype {series[ENERGY].dtype}; expected numbers in eV.")
    e = np.asarray(series[ENERGY].values, dtype=np.float64).reshape(-1) * factor
    if e.size < 2:
        raise ParameterError(
            f"series has {e.size} image(s); an EFTEM map needs pre-edge and post-edge images "
            "(3 for three-window, 2 for jump-ratio)."
        )
    if not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise CalibrationError(
            "series' energies must be finite and strictly ascending; sort the images (series.sortby('energy'))."
        )
    da = series.transpose(ENERGY, ...)
    arr = float_values(np.asarray(da.data), "series")
    return da, arr, e


def _pick(e: np.ndarray, value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ParameterError(f"{name} must be an energy in eV, got {value!r}.")
    i = int(np.argmin(np.abs(e - float(value))))
    if abs(e[i] - float(value)) > 0.5:
        raise ParameterError(
            f"{name}={value!r} eV matches no image; the series has images at {', '.join(f'{v:g}' for v in e)} eV."
        )
    return i


def eftem_map(
    series: xr.DataArray,
    *,
    edge: str | float,
    method: str = "three-window",
    pre: Sequence[float] | float | None = None,
    post: float | None = None,
    gain: float | None = None,
) -> xr.Dataset:
    """Elemental map from an EFTEM image series (three-window or jump-ratio).

    Parameters
    ----------
    series : xarray.DataArray
        Energy-filtered images with dims ``(energy, y, x)`` (energy may be
        anywhere); the ``energy`` coordinate [eV] is each image's slit centre
        (any spacing). Counts, >= 0.
    edge : str or float
        Edge name (``"Li K"``, ``"P L2,3"``, ...; its onset separates pre-
        from post-edge images) or the onset energy [eV].
    method : {"three-window", "jump-ratio"}
        ``"three-window"``: a power law A E^-r through the two pre-edge
        images, extrapolated to the post-edge image and subtracted
        (signal [counts]). ``"jump-ratio"``: post-edge image / nearest
        pre-edge image (dimensionless, qualitative).
    pre : (E1, E2) or E, optional
        Pre-edge image energies [eV] (two for three-window, one for
        jump-ratio). Default: the images below the onset nearest to it.
    post : float, optional
        Post-edge image energy [eV]. Default: the first image at or above
        the onset.
    gain : float, optional
        Detector counts per electron (default: attrs or 1).

    Returns
    -------
    xarray.Dataset
        ``signal``/``signal_error`` (three-window) or ``jump_ratio``/
        ``jump_ratio_error``, on the non-energy dims, with Poisson errors
        propagated through the extrapolation; attrs record the energies
        used and provenance.

    Raises
    ------
    ShapeError
        No ``energy`` dim.
    CalibrationError
        Energies not in eV (or keV, meV: converted) or not ascending.
    ParameterError
        Unknown method or edge, not enough pre/post-edge images.
    DataError
        NaN/inf, negative or zero pre-edge counts.

    References
    ----------
    Egerton (2011), Sec. 2.6.5; Hofer et al., Ultramicroscopy 59, 15 (1995).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = np.array([48.0, 53.0, 62.0])
    >>> bg = 1e8 * e[:, None, None] ** -3.0 * np.ones((3, 4, 4))
    >>> img = bg + np.array([0, 0, 500.0])[:, None, None]     # 500 counts of edge
    >>> s = xr.DataArray(img, dims=("energy", "y", "x"),
    ...                  coords={"energy": ("energy", e, {"units": "eV"})})
    >>> round(float(eftem_map(s, edge="Li K").signal[0, 0]))
    500
    """
    check_choice("method", method, _METHODS)
    da, arr, e = _series(series)
    g = check_gain(gain, da)
    if isinstance(edge, str) or hasattr(edge, "parts"):
        onset = get_edge(edge).onset_ev
    elif isinstance(edge, numbers.Real) and not isinstance(edge, bool) and math.isfinite(edge):
        onset = float(edge)
    else:
        raise ParameterError(f"edge must be an edge name or an onset in eV, got {edge!r}.")
    n_pre = 2 if method == "three-window" else 1
    if pre is None:
        below = np.flatnonzero(e < onset)
        if below.size < n_pre:
            raise ParameterError(
                f"{method} needs {n_pre} pre-edge image(s) below the onset {onset:g} eV; the "
                f"series has images at {', '.join(f'{v:g}' for v in e)} eV."
            )
        ipre = list(below[-n_pre:])
    else:
        vals = [pre] if isinstance(pre, numbers.Real) else list(pre)
        if len(vals) != n_pre:
            raise ParameterError(f"{method} needs pre= with {n_pre} energy(ies), got {pre!r}.")
        ipre = sorted(_pick(e, v, "pre") for v in vals)
    if post is None:
        above = np.flatnonzero(e >= onset)
        if above.size == 0:
            raise ParameterError(f"no post-edge image at or above the onset {onset:g} eV.")
        ipost = int(above[0])
    else:
        ipost = _pick(e, post, "post")
    if len(set(ipre)) != n_pre or ipost in ipre or ipost < max(ipre):
        raise ParameterError(
            "the pre-edge images must be distinct and below the post-edge image "
            f"(pre at {[float(e[i]) for i in ipre]} eV, post at {float(e[ipost])} eV)."
        )
    used = [*ipre, ipost]
    imgs = arr[used].astype(np.float64)
    if not np.all(np.isfinite(imgs)):
        raise DataError("series has NaN or infinite pixels in the images used; fix or crop them.")
    if np.any(imgs < 0):
        raise DataError("series has negative counts in the images used; counts must be >= 0.")
    if np.any(imgs[:-1] <= 0):
        raise DataError(
            "a pre-edge image has pixels with zero counts; the power law needs counts > 0 "
            "(bin the images or crop empty regions)."
        )
    dt = np.float32 if arr.dtype == np.float32 else np.float64
    dims = tuple(d for d in da.dims if d != ENERGY)
    coords = {k: c for k, c in da.coords.items() if ENERGY not in c.dims}
    ds = xr.Dataset(coords=coords)
    i3 = imgs[-1]
    if method == "three-window":
        i1, i2 = imgs[0], imgs[1]
        e1, e2, e3 = e[ipre[0]], e[ipre[1]], e[ipost]
        l21, l32 = math.log(e2 / e1), math.log(e3 / e2)
        r = np.log(i1 / i2) / l21
        b3 = i2 * np.exp(-r * l32)
        q = l32 / l21
        var_b = b3**2 * (q**2 / i1 + (1 + q) ** 2 / i2)
        sig = i3 - b3
        err = np.sqrt(g * (i3 + var_b))
        ds["signal"] = xr.DataArray(sig.astype(dt), dims=dims, attrs={"units": "counts", "long_name": "edge signal"})
        ds["signal_error"] = xr.DataArray(
            err.astype(dt), dims=dims, attrs={"units": "counts", "long_name": "standard error of edge signal"}
        )
    else:
        i2 = imgs[0]
        jr = i3 / i2
        err = jr * np.sqrt(g * (1 / np.maximum(i3, 1e-300) + 1 / i2))
        ds["jump_ratio"] = xr.DataArray(jr.astype(dt), dims=dims, attrs={"units": "1", "long_name": "jump ratio"})
        ds["jump_ratio_error"] = xr.DataArray(
            err.astype(dt), dims=dims, attrs={"units": "1", "long_name": "standard error of jump ratio"}
        )
    ds.attrs.update(carry_attrs(da))
    ds.attrs.update(method=method, onset_ev=onset, pre_ev=[float(e[i]) for i in ipre], post_ev=float(e[ipost]), gain=g)
    params = {
        "edge": edge if isinstance(edge, str | float | int) else repr(edge),
        "method": method,
        "pre": [float(e[i]) for i in ipre],
        "post": float(e[ipost]),
        "gain": g,
    }
    ds.attrs["holocorr"] = provenance("eels.eftem_map", params, {"series": array_hash(arr)})
    return ds
