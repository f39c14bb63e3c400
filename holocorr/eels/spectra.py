"""Declare which axis of a frame is the energy loss and calibrate it."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._validate import spatial_units_to_nm, user_stacklevel
from ..errors import CalibrationError, DataError, ParameterError, ShapeError, UncalibratedWarning
from ._common import ENERGY, energy_coord, float_values

__all__ = ["as_spectra"]


def _finite(name: str, v: Any, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ParameterError(f"{name} must be a finite number, got {v!r}.")
    if positive and v <= 0:
        raise ParameterError(
            f"{name} must be > 0, got {v!r}. For an energy axis that runs backwards on the "
            "detector, flip the data along that axis (np.flip) instead."
        )
    return float(v)


def as_spectra(
    data: Any,
    *,
    energy_axis: int | str | None = None,
    offset_ev: float | None = None,
    dispersion_ev: float | None = None,
    energies_ev: Sequence[float] | np.ndarray | None = None,
    dims: Sequence[str] | None = None,
    pixel_size_nm: float | Sequence[float] | None = None,
) -> xr.DataArray:
    """Declare the energy-loss axis of a frame and calibrate it; energy goes last.

    Use it for SR-EELS frames, spectrum images and EFTEM series whose file
    does not say which axis is the energy loss, or whose energy calibration
    (offset, dispersion) is missing or wrong.

    Parameters
    ----------
    data : xarray.DataArray or array_like
        The frame, e.g. a ``holocorr.load`` result with dims ``(y, x)`` or
        ``(y, energy)``, or a plain ndarray.
    energy_axis : int or str, optional
        The axis (position, or dim name of a DataArray) holding the energy
        loss. Default: the ``energy`` dim of a DataArray, else the last axis.
    offset_ev : float, optional
        Energy loss [eV] of the first channel. Required with `dispersion_ev`
        unless the energy coordinate is already in eV.
    dispersion_ev : float, optional
        Energy step [eV/channel], > 0.
    energies_ev : array_like, optional
        Explicit energies [eV], one per channel (e.g. the slit centres of an
        EFTEM series); instead of `offset_ev`/`dispersion_ev`.
    dims : sequence of str, optional
        New names of the non-energy dims in their order, e.g. ``("x",)`` for
        the slit axis of an SR-EELS frame (the convention: ``x`` runs across
        the interface). Default: kept for a DataArray; ``("x",)``,
        ``("y", "x")`` or ``("frame", "y", "x")`` for an ndarray.
    pixel_size_nm : float or sequence of float, optional
        Pixel size [nm] of the non-energy dims (one value for all, or one per
        dim); coordinates then start at 0 nm. Without it an ndarray gets
        pixel coordinates and an :class:`~holocorr.errors.UncalibratedWarning`.

    Returns
    -------
    xarray.DataArray
        The same values with dims ``(..., energy)``, an ``energy``
        coordinate in eV (``long_name`` "energy loss") and spatial
        coordinates with units. The input is not modified.

    Raises
    ------
    ShapeError
        For an unknown energy axis, a wrong number of `dims`, or an empty
        axis.
    CalibrationError
        When no energy calibration is known or given, or `energies_ev` of
        the wrong length, not finite or not strictly ascending.
    DataError
        For non-numeric data.
    ParameterError
        For conflicting options, a non-positive, NaN or non-numeric
        dispersion, offset or pixel size.

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.ones((200, 1024), dtype=np.float32)     # slit rows x channels
    >>> da = as_spectra(frame, energy_axis=1, offset_ev=30.0, dispersion_ev=0.05,
    ...                 dims=("x",), pixel_size_nm=2.5)
    >>> da.dims, float(da.energy[1]), da.energy.attrs["units"], float(da.x[2])
    (('x', 'energy'), 30.05, 'eV', 5.0)
    """
    if isinstance(data, xr.Dataset):
        raise ShapeError("data is an xarray.Dataset; pass one of its variables.")
    if isinstance(data, xr.DataArray):
        da = data
    else:
        if isinstance(data, str | bytes):
            raise DataError("data is a string; expected a numeric array.")
        try:
            arr = np.asarray(data)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"data could not be converted to an array ({exc}).") from exc
        float_values(arr, "data")  # type check only
        if arr.ndim < 1:
            raise ShapeError("data is a scalar; expected spectra with an energy axis.")
        da = xr.DataArray(arr, dims=tuple(f"dim_{i}" for i in range(arr.ndim)))
    plain = not isinstance(data, xr.DataArray)
    # ---- which axis is energy
    if energy_axis is None:
        edim = ENERGY if ENERGY in da.dims else da.dims[-1]
    elif isinstance(energy_axis, str):
        if energy_axis not in da.dims:
            raise ShapeError(f"energy_axis={energy_axis!r} is not one of the dims {da.dims}.")
        edim = energy_axis
    elif isinstance(energy_axis, numbers.Integral) and not isinstance(energy_axis, bool):
        if not -da.ndim <= energy_axis < da.ndim:
            raise ShapeError(f"energy_axis={energy_axis} is out of range for {da.ndim} axes (shape {da.shape}).")
        edim = da.dims[int(energy_axis)]
    else:
        raise ParameterError(f"energy_axis must be an int, a dim name or None, got {energy_axis!r}.")
    if edim != ENERGY and ENERGY in da.dims:
        raise ShapeError(
            f"energy_axis={energy_axis!r} selects dim {edim!r}, but the data already have an "
            "'energy' dim; rename one of them first."
        )
    n = da.sizes[edim]
    if any(k == 0 for k in da.shape):
        raise ShapeError(f"data is empty (shape {da.shape}); expected spectra with at least one channel.")
    # ---- energy coordinate
    if energies_ev is not None and (offset_ev is not None or dispersion_ev is not None):
        raise ParameterError("give either energies_ev or offset_ev/dispersion_ev, not both.")
    if energies_ev is not None:
        raw = np.asarray(energies_ev)
        if isinstance(energies_ev, str | bytes) or raw.dtype.kind not in "iuf":
            raise CalibrationError(f"energies_ev must be numbers in eV (one per channel), got {energies_ev!r:.60}.")
        e = raw.astype(np.float64).reshape(-1)
        if e.size != n:
            raise CalibrationError(f"energies_ev has {e.size} value(s) but the energy axis has {n} channel(s).")
        if not np.all(np.isfinite(e)):
            raise CalibrationError("energies_ev contains NaN or infinite values.")
        if np.any(np.diff(e) <= 0):
            raise CalibrationError(
                "energies_ev must be strictly ascending (eV); for images or channels recorded from high "
                "to low loss, flip the data along the energy axis (np.flip) together with energies_ev."
            )
    elif offset_ev is not None or dispersion_ev is not None:
        old = None
        if edim in da.coords and str(da[edim].attrs.get("units", "")).lower() == "ev":
            old = np.asarray(da[edim].values, dtype=np.float64)
        if dispersion_ev is None:
            if old is None or n < 2:
                raise CalibrationError("offset_ev needs dispersion_ev (eV per channel) too.")
            disp = float(old[1] - old[0])
        else:
            disp = _finite("dispersion_ev", dispersion_ev, positive=True)
        off = float(old[0]) if offset_ev is None and old is not None else None
        if offset_ev is not None:
            off = _finite("offset_ev", offset_ev)
        if off is None:
            raise CalibrationError("dispersion_ev needs offset_ev (eV of the first channel) too.")
        e = off + disp * np.arange(n, dtype=np.float64)
    else:
        if edim in da.coords and str(da[edim].attrs.get("units", "")).strip().lower() == "ev":
            e = np.asarray(da[edim].values, dtype=np.float64)
        elif edim in da.coords and str(da[edim].attrs.get("units", "")).strip().lower() == "kev":
            e = np.asarray(da[edim].values, dtype=np.float64) * 1e3
        else:
            raise CalibrationError(
                f"the energy axis {edim!r} has no calibration in eV; give offset_ev= (eV of "
                "the first channel) and dispersion_ev= (eV per channel), or energies_ev=."
            )
    # ---- rename and order dims
    da = da.rename({edim: ENERGY}) if edim != ENERGY else da
    others = [d for d in da.dims if d != ENERGY]
    if dims is None:
        if plain:
            defaults = {1: ("x",), 2: ("y", "x"), 3: ("frame", "y", "x")}
            if len(others) not in defaults and others:
                raise ShapeError(f"data has {len(others)} non-energy axes; give their names with dims=.")
            new = defaults.get(len(others), ())
        else:
            new = tuple(others)
    else:
        new = (dims,) if isinstance(dims, str) else tuple(dims)
        if len(new) != len(others) or not all(isinstance(d, str) for d in new):
            raise ShapeError(
                f"dims={dims!r} must name the {len(others)} non-energy axes ({', '.join(others) or 'none'}) in order."
            )
        if ENERGY in new or len(set(new)) != len(new):
            raise ShapeError(f"dims={dims!r} must be distinct and must not contain 'energy'.")
    da = da.rename(dict(zip(others, new, strict=True))) if others else da
    da = da.transpose(*new, ENERGY)
    coords = {ENERGY: energy_coord(e)}
    if pixel_size_nm is not None:
        ps = (pixel_size_nm,) * len(new) if isinstance(pixel_size_nm, numbers.Real) else tuple(pixel_size_nm)
        if len(ps) != len(new):
            raise ParameterError(
                f"pixel_size_nm needs one value or {len(new)} (one per non-energy dim), got {pixel_size_nm!r}."
            )
        for d, s in zip(new, ps, strict=True):
            s = _finite("pixel_size_nm", s, positive=True)
            coords[d] = xr.DataArray(
                s * np.arange(da.sizes[d], dtype=np.float64), dims=(d,), attrs={"units": "nm", "long_name": d}
            )
    else:
        missing = []
        for d in new:
            if d in da.coords:
                units = da[d].attrs.get("units")
                if units is None:
                    missing.append(d)
                f = spatial_units_to_nm(units)
                if f is not None and f != 1.0:
                    coords[d] = xr.DataArray(
                        np.asarray(da[d].values, dtype=np.float64) * f, dims=(d,), attrs={**da[d].attrs, "units": "nm"}
                    )
                continue
            coords[d] = xr.DataArray(
                np.arange(da.sizes[d], dtype=np.float64), dims=(d,), attrs={"units": "px", "long_name": d}
            )
            missing.append(d)
        if missing:
            warnings.warn(
                f"the spatial axes {tuple(missing)} have no length calibration: using pixel "
                "coordinates. Give pixel_size_nm= for positions in nm.",
                UncalibratedWarning,
                stacklevel=user_stacklevel(),
            )
    out = da.assign_coords(coords)
    for d in new:
        out[d].attrs.setdefault("long_name", d)
        out[d].attrs.setdefault("units", "px")
    out.attrs = dict(da.attrs)
    out.attrs.setdefault("units", "counts")
    out.attrs.setdefault("long_name", "counts")
    return out
