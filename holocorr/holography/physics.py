"""Electron-optical constants and conversions of holographic phase and amplitude.

* :func:`wavelength` and :func:`interaction_constant` give the relativistic
  electron wavelength and the interaction constant C_E for an acceleration
  voltage.
* :func:`phase_to_potential` turns a phase map into the projected-average
  potential V = phi / (C_E t).
* :func:`thickness_from_amplitude` turns a reconstructed amplitude into a
  thickness map t = -2 lambda_in ln(A / A_vac).
* :func:`mean_free_path` estimates the inelastic mean free path lambda_in from
  the density (Iakoubovskii et al. 2008) or the composition (Malis et al. 1988).

Sign convention: a positive projected potential gives a positive phase, so a
positive phase gives a positive potential here.
"""

from __future__ import annotations

import functools
import json
import numbers
import re
from importlib import resources
from typing import Any

import numpy as np
import xarray as xr

from .._provenance import provenance
from .._region import region_mask
from .._validate import (
    as_dataarray,
    check_choice,
    check_finite,
    check_positive,
    real_image,
    spatial_units_to_nm,
)
from ..errors import CalibrationError, DataError, ParameterError, ShapeError
from . import _physics_kernels as _k

__all__ = [
    "wavelength",
    "interaction_constant",
    "phase_to_potential",
    "thickness_from_amplitude",
    "mean_free_path",
]

#: plausible acceleration voltages, kV
_KV_RANGE = (1.0, 3000.0)

_RESAMPLE_HINT = (
    "resample it onto the grid of {like} first, e.g. with "
    "holocorr.registration.to_common_grid or `{name}.interp_like({like})`"
)


# --------------------------------------------------------------------------- #
# beam energy
# --------------------------------------------------------------------------- #
def _beam_energy(value: Any, *, name: str = "beam_energy_kv") -> np.ndarray:
    """Return `value` as a float64 array of checked acceleration voltages in kV."""
    if isinstance(value, str | bytes) or isinstance(value, bool | np.bool_):
        raise ParameterError(f"{name} must be a number in kV (e.g. 300), got {value!r}.")
    try:
        arr = np.asarray(getattr(value, "values", value))
    except Exception as exc:  # pragma: no cover - numpy raises many things
        raise ParameterError(f"{name} must be a number in kV, got {value!r}.") from exc
    if arr.dtype.kind not in "iuf":
        raise ParameterError(
            f"{name} must be a real number in kV (e.g. 300), got {value!r} (dtype {arr.dtype})."
        )
    if arr.size == 0:
        raise ParameterError(f"{name} is empty; give at least one voltage in kV.")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must be finite, got {value!r}.")
    if np.any(arr <= 0):
        raise ParameterError(
            f"{name} must be > 0 kV (the acceleration voltage, e.g. 300), got {value!r}."
        )
    lo, hi = _KV_RANGE
    if np.any((arr < lo) | (arr > hi)):
        raise ParameterError(
            f"{name}={value!r} is outside the plausible range {lo:g}-{hi:g} kV of "
            "electron microscopes. Give the acceleration voltage in kV "
            "(300 for a 300 kV microscope, not 300000)."
        )
    return arr


def _scalar_kv(value: Any, *, name: str = "beam_energy_kv") -> float:
    arr = _beam_energy(value, name=name)
    if arr.ndim != 0 and arr.size != 1:
        raise ParameterError(f"{name} must be a single voltage in kV, got shape {arr.shape}.")
    return float(arr.reshape(()))


def _out(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x


def wavelength(beam_energy_kv: float | np.ndarray) -> float | np.ndarray:
    """Relativistic electron wavelength.

    lambda = h / sqrt(2 m0 e U (1 + e U / (2 m0 c^2))), with CODATA constants
    from :mod:`scipy.constants`.

    Parameters
    ----------
    beam_energy_kv : float or array_like
        Acceleration voltage U [kV], between 1 and 3000 kV.

    Returns
    -------
    float or numpy.ndarray
        Wavelength [nm]; a float for a scalar input, a float64 array of the
        input's shape otherwise.

    Raises
    ------
    ParameterError
        For non-numeric, NaN/inf, zero or negative voltages, or voltages
        outside 1-3000 kV (for example volts given instead of kV).

    References
    ----------
    .. [1] L. Reimer and H. Kohl, *Transmission Electron Microscopy*, 5th ed.,
       Springer (2008), Sec. 2.1, doi:10.1007/978-0-387-40093-8.

    Examples
    --------
    >>> round(wavelength(300) * 1e3, 4)  # pm
    1.9687
    """
    return _out(_k.wavelength_nm(_beam_energy(beam_energy_kv)))


def interaction_constant(beam_energy_kv: float | np.ndarray) -> float | np.ndarray:
    """Interaction constant C_E relating phase to projected potential.

    C_E = (2 pi / (lambda U)) (E0 + eU) / (2 E0 + eU), with E0 = m0 c^2, so
    that phi = C_E integral V dz.

    Parameters
    ----------
    beam_energy_kv : float or array_like
        Acceleration voltage U [kV], between 1 and 3000 kV.

    Returns
    -------
    float or numpy.ndarray
        C_E [rad / (V nm)]; a float for a scalar input.

    Raises
    ------
    ParameterError
        For non-numeric, NaN/inf, zero or negative voltages, or voltages
        outside 1-3000 kV.

    References
    ----------
    .. [1] H. Lichte and M. Lehmann, "Electron holography - basics and
       applications", Rep. Prog. Phys. 71, 016102 (2008),
       doi:10.1088/0034-4885/71/1/016102.

    Examples
    --------
    >>> round(interaction_constant(300) * 1e3, 4)  # mrad / (V nm)
    6.5262
    """
    return _out(_k.interaction_constant_rad_per_v_nm(_beam_energy(beam_energy_kv)))


# --------------------------------------------------------------------------- #
# maps and grids
# --------------------------------------------------------------------------- #
def _check_same_grid(other: xr.DataArray, like: xr.DataArray, *, name: str, like_name: str) -> None:
    hint = _RESAMPLE_HINT.format(like=like_name, name=name)
    for d in other.dims:
        if d not in like.dims:
            raise ShapeError(
                f"{name} has dims {other.dims}; {like_name} has {like.dims}. Every dim of "
                f"{name} must be one of {like_name}'s dims."
            )
        if other.sizes[d] != like.sizes[d]:
            raise CalibrationError(
                f"{name} has {other.sizes[d]} points along {d!r} but {like_name} has "
                f"{like.sizes[d]}; {hint}."
            )
        if d not in other.coords or d not in like.coords:
            continue
        ou = other[d].attrs.get("units")
        lu = like[d].attrs.get("units")
        a = np.asarray(other[d].values)
        b = np.asarray(like[d].values)
        if ou is not None and lu is not None and str(ou) != str(lu):
            raise CalibrationError(
                f"the {d!r} coordinate of {name} is in {ou!r} but that of {like_name} is in "
                f"{lu!r}; {hint}."
            )
        if a.dtype.kind in "iuf" and b.dtype.kind in "iuf":
            scale = float(np.max(np.abs(np.diff(b)))) if b.size > 1 else 1.0
            same = np.allclose(a, b, rtol=1e-9, atol=1e-6 * (scale or 1.0))
        else:
            same = bool(np.array_equal(a, b))
        if not same:
            raise CalibrationError(
                f"{name} and {like_name} have different {d!r} coordinates "
                f"({name}: {_span(a)}, {like_name}: {_span(b)}); {hint}."
            )


def _span(c: np.ndarray) -> str:
    if c.dtype.kind in "iuf":
        return f"{float(c[0]):.6g} to {float(c[-1]):.6g}"
    return f"{c[0]!r} to {c[-1]!r}"


def _broadcast_to_like(other: xr.DataArray, like: xr.DataArray) -> np.ndarray:
    """Values of `other` (dims a subset of like's) reshaped to broadcast against like."""
    order = [d for d in like.dims if d in other.dims]
    vals = np.asarray(other.transpose(*order).values)
    shape = [like.sizes[d] if d in other.dims else 1 for d in like.dims]
    return vals.reshape(shape)


def _length_factor(da: xr.DataArray, *, name: str) -> float:
    units = da.attrs.get("units")
    if units is None:
        return 1.0
    f = spatial_units_to_nm(units)
    if f is None:
        raise CalibrationError(
            f"{name} has units {units!r}; expected a length (nm). Convert it or set "
            f"{name}.attrs['units'] = 'nm'."
        )
    return f


def _positive_map(value: Any, *, name: str, like: xr.DataArray, like_name: str) -> tuple[Any, Any]:
    """Check a positive length in nm given as a number or a map.

    Returns ``(values, original_map)`` where `values` is a float or a float64
    array broadcastable to `like`, and `original_map` is the user's map (for
    hashing) or None for a scalar.
    """
    if isinstance(value, xr.Dataset):
        raise ParameterError(f"{name} is an xarray.Dataset; pass one of its variables.")
    if isinstance(value, xr.DataArray) and value.ndim == 0:
        value = float(value.values) * _length_factor(value, name=name)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = float(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        return check_positive(name, value, unit="nm"), None
    if isinstance(value, xr.DataArray):
        _check_same_grid(value, like, name=name, like_name=like_name)
        factor = _length_factor(value, name=name)
        arr = np.asarray(value.values)
        kind_ok = arr.dtype.kind in "iuf"
        shaped = _broadcast_to_like(value, like) if kind_ok else None
    elif isinstance(value, np.ndarray | list | tuple):
        arr = np.asarray(value)
        kind_ok = arr.dtype.kind in "iuf"
        factor = 1.0
        shaped = arr
        if kind_ok:
            try:
                ok = np.broadcast_shapes(arr.shape, like.shape) == like.shape
            except ValueError:
                ok = False
            if not ok:
                raise ShapeError(
                    f"{name} has shape {arr.shape}, which does not broadcast to the data's "
                    f"shape {like.shape} (dims {like.dims}); give a map of shape "
                    f"{like.shape[-2:]} or a single number in nm."
                )
    else:
        raise ParameterError(
            f"{name} must be a positive number in nm or a map (xarray.DataArray on the "
            f"data's grid, or ndarray), got {type(value).__name__}."
        )
    if not kind_ok:
        raise DataError(f"{name} has dtype {arr.dtype}; expected real numbers in nm.")
    shaped = np.asarray(shaped, dtype=np.float64) * factor
    check_finite(shaped, name=name)
    bad = ~(shaped > 0)
    if bad.any():
        raise DataError(
            f"{name} has {int(bad.sum())} pixel(s) <= 0 nm (of {bad.size}; minimum "
            f"{float(shaped.min()):.4g} nm); it must be > 0 everywhere. Crop the data to "
            f"where {name} is known, or set a floor, e.g. {name}.clip(min=1.0)."
        )
    return shaped, value


_PHASE_UNITS = {"rad": 1.0, "radian": 1.0, "radians": 1.0, "mrad": 1e-3}


# --------------------------------------------------------------------------- #
# phase -> potential
# --------------------------------------------------------------------------- #
def phase_to_potential(
    phase: xr.DataArray | np.ndarray,
    *,
    thickness: float | xr.DataArray | np.ndarray,
    beam_energy_kv: float | None = None,
) -> xr.DataArray:
    """Projected-average potential V = phi / (C_E t) from a phase map.

    In the phase-object approximation phi(x, y) = C_E integral V(x, y, z) dz,
    which for a specimen of thickness t is C_E V t with V the potential
    averaged along the beam (mean inner potential plus any electrostatic
    potential).

    Parameters
    ----------
    phase : (y, x) or (frame, y, x) xarray.DataArray or ndarray [rad]
        Unwrapped phase, positive for a positive potential. ``attrs["units"]``
        may be ``"rad"`` (default when missing) or ``"mrad"``. A plain ndarray
        gets pixel coordinates and an :class:`~holocorr.errors.UncalibratedWarning`.
    thickness : float or xarray.DataArray or ndarray [nm]
        Specimen thickness: a positive number, or a map broadcastable to the
        phase. A DataArray map must be on the phase's grid (same coordinates);
        its ``attrs["units"]`` may be any length unit (nm assumed when missing).
    beam_energy_kv : float, optional
        Acceleration voltage [kV]. Defaults to ``phase.attrs["beam_energy_kv"]``.

    Returns
    -------
    xarray.DataArray
        ``"potential"`` [V] with the phase's dims and coords and the phase's
        dtype (float32 stays float32); attrs ``units``, ``long_name``,
        ``beam_energy_kv``, ``interaction_constant_rad_per_v_nm`` and the
        provenance record ``holocorr``.

    Raises
    ------
    CalibrationError
        When no beam energy is known, when the argument and
        ``phase.attrs["beam_energy_kv"]`` disagree, when a thickness map is on
        a different grid, or when units are not understood.
    ParameterError
        For a scalar thickness <= 0 or NaN, or an implausible beam energy.
    DataError
        For NaN/inf phase values, or a thickness map with non-positive or
        NaN pixels (the message gives the count).
    ShapeError
        For a phase with the wrong dims or a thickness map that does not
        broadcast.

    Notes
    -----
    The result is only as good as the phase-object approximation; dynamical
    diffraction lowers the phase of crystalline regions near zone axes.
    Dividing by a noisy thickness map biases the result upwards (the mean of
    1/t exceeds 1/mean t): smooth the map to the resolution first, or use a
    median thickness (measured on the reference data: +4 % with the raw
    amplitude-derived map, +0.7 % after 15 px smoothing).

    References
    ----------
    .. [1] H. Lichte and M. Lehmann, Rep. Prog. Phys. 71, 016102 (2008),
       doi:10.1088/0034-4885/71/1/016102.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> phase = xr.DataArray(np.full((4, 4), 12.24), dims=("y", "x"),
    ...                      attrs={"units": "rad", "beam_energy_kv": 300.0})
    >>> v = phase_to_potential(phase, thickness=150.0)
    >>> round(float(v[0, 0]), 2), v.attrs["units"]
    (12.5, 'V')
    """
    da = as_dataarray(phase, name="phase")
    arr = real_image(da, name="phase", min_size=1)
    check_finite(arr, name="phase")
    units = da.attrs.get("units")
    if units is None:
        phase_factor = 1.0
    else:
        key = str(units).strip().lower()
        if key not in _PHASE_UNITS:
            raise CalibrationError(
                f"phase has units {units!r}; expected 'rad' (or 'mrad'). Convert it "
                "to radians or fix phase.attrs['units']."
            )
        phase_factor = _PHASE_UNITS[key]
    kv = _resolve_beam_energy(da, beam_energy_kv)
    t, t_map = _positive_map(thickness, name="thickness", like=da, like_name="phase")
    ce = float(_k.interaction_constant_rad_per_v_nm(kv))
    inv = phase_factor / (ce * np.asarray(t, dtype=np.float64))
    v = _k.potential_from_phase(arr, inv)
    params = {
        "thickness_nm": t if t_map is None else "map",
        "beam_energy_kv": kv,
        "phase_units": units if units is not None else "rad (assumed)",
    }
    attrs = _carry_attrs(da)
    attrs.update(
        units="V",
        long_name="projected-average potential",
        beam_energy_kv=kv,
        interaction_constant_rad_per_v_nm=ce,
    )
    if t_map is None:
        attrs["thickness_nm"] = float(t)
    attrs["holocorr"] = provenance(
        "holography.phase_to_potential", params, {"phase": da, "thickness": t_map}
    )
    return xr.DataArray(v, dims=da.dims, coords=da.coords, name="potential", attrs=attrs)


def _carry_attrs(da: xr.DataArray) -> dict[str, Any]:
    drop = {"units", "long_name", "standard_name", "holocorr"}
    return {k: v for k, v in da.attrs.items() if k not in drop}


def _resolve_beam_energy(da: xr.DataArray, beam_energy_kv: Any) -> float:
    attr = da.attrs.get("beam_energy_kv")
    if beam_energy_kv is None and attr is None:
        raise CalibrationError(
            "the beam energy is unknown: pass beam_energy_kv= (e.g. 300 for 300 kV) or "
            "set phase.attrs['beam_energy_kv'] (holocorr.load fills it from the file's "
            "metadata when present)."
        )
    given = None if beam_energy_kv is None else _scalar_kv(beam_energy_kv)
    stored = None
    if attr is not None:
        try:
            stored = _scalar_kv(attr, name="phase.attrs['beam_energy_kv']")
        except ParameterError as exc:
            raise CalibrationError(
                f"{exc} Fix the attribute or remove it and pass beam_energy_kv=."
            ) from exc
    if given is not None and stored is not None and not np.isclose(given, stored, rtol=1e-6):
        raise CalibrationError(
            f"beam_energy_kv={given:g} disagrees with phase.attrs['beam_energy_kv']="
            f"{stored:g}. Correct the attribute (or drop the argument) so that both agree."
        )
    return given if given is not None else stored  # type: ignore[return-value]


# --------------------------------------------------------------------------- #
# amplitude -> thickness
# --------------------------------------------------------------------------- #
def _vacuum_amplitude(vacuum: Any, amp: xr.DataArray, arr: np.ndarray) -> tuple[Any, dict, Any]:
    """Return (A_vac broadcastable to arr, description for attrs/provenance, mask for hash)."""
    if vacuum is None:
        return 1.0, {"kind": "none (amplitude already normalised, A_vac = 1)"}, None
    if isinstance(vacuum, bool | np.bool_):
        raise ParameterError(
            f"vacuum={vacuum!r} is ambiguous; give None, a vacuum amplitude (number), a "
            "boolean mask (True = vacuum) or a region such as {'x': slice(0, 40)}."
        )
    if isinstance(vacuum, numbers.Real) or (
        isinstance(vacuum, np.ndarray) and vacuum.ndim == 0 and vacuum.dtype.kind in "iuf"
    ):
        value = check_positive("vacuum", float(vacuum))
        return value, {"kind": "value", "vacuum_amplitude": value}, None
    if isinstance(vacuum, dict):
        mask, record = region_mask(vacuum, amp, name="vacuum")
        desc = {"kind": "region", "region": record}
        mask_for_hash = None
    elif isinstance(vacuum, xr.DataArray | np.ndarray | list):
        m = vacuum if isinstance(vacuum, xr.DataArray) else np.asarray(vacuum)
        if np.asarray(getattr(m, "values", m)).dtype.kind != "b":
            raise ParameterError(
                f"vacuum array has dtype {np.asarray(getattr(m, 'values', m)).dtype}; expected "
                "a boolean mask (True = vacuum), e.g. vacuum=amplitude.x < 40. For a known "
                "vacuum amplitude pass a number."
            )
        if isinstance(m, xr.DataArray):
            _check_same_grid(m, amp, name="vacuum", like_name="amplitude")
            mask = _broadcast_to_like(m, amp)
        else:
            try:
                ok = np.broadcast_shapes(m.shape, arr.shape) == arr.shape
            except ValueError:
                ok = False
            if not ok:
                raise ShapeError(
                    f"vacuum mask has shape {m.shape}, which does not broadcast to the "
                    f"amplitude's shape {arr.shape}; give a (y, x) mask."
                )
            mask = m
        desc = {"kind": "mask"}
        mask_for_hash = np.asarray(getattr(m, "values", m))
    else:
        raise ParameterError(
            f"vacuum must be None, a number, a boolean mask or a dict of coordinate "
            f"slices, got {type(vacuum).__name__}."
        )
    full = np.broadcast_to(mask, arr.shape)
    counts = full.sum(axis=(-2, -1))
    if np.any(counts == 0):
        where = ""
        if arr.ndim > 2:
            where = f" in frame(s) {np.flatnonzero(np.ravel(counts == 0)).tolist()[:10]}"
        raise ParameterError(
            f"the vacuum mask/region selects no pixel{where}; mark at least one vacuum "
            "pixel (True) or pass the vacuum amplitude as a number."
        )
    sums = np.where(full, arr, 0).sum(axis=(-2, -1), dtype=np.float64)
    avac = sums / counts
    desc["n_pixels"] = int(np.max(counts)) if np.ndim(counts) else int(counts)
    value = float(avac) if np.ndim(avac) == 0 else avac.tolist()
    desc["vacuum_amplitude"] = value
    return np.asarray(avac)[..., None, None], desc, mask_for_hash


def thickness_from_amplitude(
    amplitude: xr.DataArray | np.ndarray,
    *,
    mean_free_path: float | xr.DataArray | np.ndarray,
    vacuum: Any = None,
) -> xr.DataArray:
    """Specimen thickness t = -2 lambda_in ln(A / A_vac) from a holographic amplitude.

    Inelastically scattered electrons do not interfere with the reference
    wave, so the hologram's sideband carries only the elastic (zero-loss)
    part: the intensity A^2 falls as exp(-t / lambda_in) and the amplitude
    as exp(-t / (2 lambda_in)) [1]_, hence the factor 2.

    Parameters
    ----------
    amplitude : (y, x) or (frame, y, x) xarray.DataArray or ndarray
        Reconstructed amplitude ``|psi|`` (dimensionless), > 0 everywhere. A plain
        ndarray gets pixel coordinates and an UncalibratedWarning.
    mean_free_path : float or xarray.DataArray or ndarray [nm]
        Inelastic mean free path lambda_in (see :func:`mean_free_path`): a
        positive number or a map on the amplitude's grid.
    vacuum : None, float, boolean mask or dict, optional
        The vacuum amplitude A_vac:

        * ``None`` (default): A_vac = 1, for an amplitude already normalised
          by a vacuum reference hologram;
        * a positive number: A_vac itself;
        * a boolean DataArray/ndarray (True = vacuum) broadcastable to the
          amplitude: A_vac is the mean amplitude there (per frame for stacks);
        * a dict of coordinate ranges in the data's units, e.g.
          ``{"x": slice(0, 40)}`` (bounds inclusive, either order): A_vac is
          the mean amplitude in that region (per frame for stacks).

    Returns
    -------
    xarray.DataArray
        ``"thickness"`` [nm], same dims, coords and float dtype as the
        amplitude; attrs ``units``, ``long_name``, ``vacuum_amplitude`` (a
        float, or a list per frame), ``vacuum``, ``mean_free_path_nm`` and
        the provenance record ``holocorr``. Pixels brighter than the vacuum
        give negative thickness (noise); they are kept, not clipped.

    Raises
    ------
    DataError
        For amplitudes <= 0 or NaN/inf (the message gives the count), or a
        mean-free-path map with non-positive or NaN pixels.
    ParameterError
        For a non-positive mean free path or vacuum amplitude, an empty
        vacuum mask or region, or a vacuum of an unknown kind.
    CalibrationError
        For a map or mask on a different grid from the amplitude.
    ShapeError
        For wrong dims or masks/maps that do not broadcast.

    Notes
    -----
    Elastic scattering outside the sideband (or objective) aperture also
    lowers the amplitude, so lambda_in from :func:`mean_free_path` (inelastic
    only) is an upper bound of the effective attenuation length; calibrate it
    on a region of known thickness when accuracy matters.

    References
    ----------
    .. [1] M. R. McCartney and M. Gajdardziska-Josifovska, "Absolute measurement
       of normalized thickness, t/lambda_i, from off-axis electron holography",
       Ultramicroscopy 53, 283-289 (1994).
    .. [2] H. Lichte and M. Lehmann, Rep. Prog. Phys. 71, 016102 (2008),
       doi:10.1088/0034-4885/71/1/016102.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> amp = xr.DataArray(np.full((4, 4), 0.8 * np.exp(-150 / (2 * 169))), dims=("y", "x"))
    >>> t = thickness_from_amplitude(amp, mean_free_path=169.0, vacuum=0.8)
    >>> round(float(t[0, 0]), 6), t.attrs["units"]
    (150.0, 'nm')
    """
    da = as_dataarray(amplitude, name="amplitude")
    arr = real_image(da, name="amplitude", min_size=1)
    check_finite(arr, name="amplitude")
    nonpos = arr <= 0
    if nonpos.any():
        first = tuple(int(i) for i in np.argwhere(nonpos)[0])
        raise DataError(
            f"amplitude has {int(nonpos.sum())} value(s) <= 0 (of {arr.size}; first at "
            f"index {first}); the logarithm needs positive amplitudes. Mask or crop those "
            "pixels (e.g. holes or the biprism shadow), or check the reconstruction "
            "(reference-wave division, sideband aperture)."
        )
    mfp, mfp_map = _positive_map(
        mean_free_path, name="mean_free_path", like=da, like_name="amplitude"
    )
    avac, vdesc, mask_for_hash = _vacuum_amplitude(vacuum, da, arr)
    t = _k.thickness_from_ratio(arr, avac, mfp)
    attrs = _carry_attrs(da)
    attrs.update(
        units="nm",
        long_name="thickness",
        vacuum_amplitude=vdesc.get("vacuum_amplitude", 1.0),
        vacuum=json.dumps(vdesc, sort_keys=True),
        mean_free_path_nm=float(mfp) if mfp_map is None else "map (see holocorr provenance)",
    )
    params = {"mean_free_path_nm": float(mfp) if mfp_map is None else "map", "vacuum": vdesc}
    attrs["holocorr"] = provenance(
        "holography.thickness_from_amplitude",
        params,
        {"amplitude": da, "mean_free_path": mfp_map, "vacuum_mask": mask_for_hash},
    )
    return xr.DataArray(t, dims=da.dims, coords=da.coords, name="thickness", attrs=attrs)


# --------------------------------------------------------------------------- #
# inelastic mean free path
# --------------------------------------------------------------------------- #
# fmt: off
_ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn "
    "Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce "
    "Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn "
    "Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr"
).split()
# fmt: on
_Z = {sym: z for z, sym in enumerate(_ELEMENTS, start=1)}
_TOKEN = re.compile(r"[A-Z][a-z]?|\(|\)|\d+(?:\.\d*)?|\.\d+")

#: plausible densities of solids, g/cm^3 (osmium, the densest, is 22.6)
_DENSITY_RANGE = (0.05, 25.0)


@functools.lru_cache(maxsize=1)
def _materials() -> dict[str, dict[str, Any]]:
    text = resources.files("holocorr").joinpath("data/imfp_materials.json").read_text("utf-8")
    return json.loads(text)["materials"]


def _lookup_material(material: Any) -> tuple[str, dict[str, Any]]:
    table = _materials()
    if isinstance(material, str):
        key = material.strip().lower()
        for name, entry in table.items():
            if key == name.lower() or key in (a.lower() for a in entry.get("aliases", ())):
                return name, entry
    names = []
    for name, entry in table.items():
        names.append(name)
        names.extend(entry.get("aliases", ()))
    raise ParameterError(
        f"material={material!r} is not in the built-in table; choose one of "
        f"{', '.join(repr(n) for n in names)}, or give density= (g/cm^3) directly."
    )


def _parse_formula(formula: str) -> dict[str, float]:
    text = formula.replace(" ", "")
    tokens = _TOKEN.findall(text)
    if not text or "".join(tokens) != text:
        raise ParameterError(
            f"composition={formula!r} is not a chemical formula holocorr can read; use "
            "element symbols with optional counts and parentheses, e.g. 'LiCoO2' or "
            "'Li1.3Al0.3Ti1.7(PO4)3', or a dict such as {'Li': 1, 'Co': 1, 'O': 2}."
        )
    stack: list[dict[str, float]] = [{}]
    i = 0

    def count_at(j: int) -> tuple[float, int]:
        if j < len(tokens) and tokens[j][0] in "0123456789.":
            return float(tokens[j]), j + 1
        return 1.0, j

    while i < len(tokens):
        tok = tokens[i]
        if tok == "(":
            stack.append({})
            i += 1
        elif tok == ")":
            if len(stack) == 1:
                raise ParameterError(f"composition={formula!r} has an unmatched ')'.")
            group = stack.pop()
            n, i = count_at(i + 1)
            for el, c in group.items():
                stack[-1][el] = stack[-1].get(el, 0.0) + c * n
        elif tok[0].isalpha():
            if tok not in _Z:
                raise ParameterError(f"composition={formula!r}: unknown element {tok!r}.")
            n, i = count_at(i + 1)
            stack[-1][tok] = stack[-1].get(tok, 0.0) + n
        else:
            raise ParameterError(
                f"composition={formula!r}: a count ({tok}) must follow an element or ')'."
            )
    if len(stack) != 1:
        raise ParameterError(f"composition={formula!r} has an unmatched '('.")
    return stack[0]


def _composition(composition: Any) -> dict[str, float]:
    if isinstance(composition, str):
        comp = _parse_formula(composition)
    elif isinstance(composition, dict):
        comp = {}
        for el, n in composition.items():
            if el not in _Z:
                raise ParameterError(f"composition has unknown element {el!r}.")
            comp[el] = check_positive(f"composition[{el!r}]", n)
    else:
        raise ParameterError(
            "composition must be a formula string (e.g. 'LiCoO2') or a dict of atoms per "
            f"formula unit (e.g. {{'Li': 1, 'Co': 1, 'O': 2}}), got {type(composition).__name__}."
        )
    if not comp or not any(v > 0 for v in comp.values()):
        raise ParameterError(f"composition={composition!r} contains no atoms.")
    return comp


def _z_eff_malis(comp: dict[str, float]) -> float:
    total = sum(comp.values())
    num = sum(n / total * _Z[el] ** 1.3 for el, n in comp.items())
    den = sum(n / total * _Z[el] ** 0.3 for el, n in comp.items())
    return num / den


def mean_free_path(
    *,
    beam_energy_kv: float,
    collection_angle_mrad: float | None = None,
    convergence_angle_mrad: float = 0.0,
    density: float | None = None,
    composition: str | dict[str, float] | None = None,
    material: str | None = None,
    method: str = "iakoubovskii",
) -> float:
    """Inelastic mean free path lambda_in of fast electrons.

    ``method="iakoubovskii"`` (default) uses the density-only
    parameterisation of Iakoubovskii et al. [1]_ (as given by Egerton [3]_)::

        1/lambda = 11 rho^0.3 / (200 F E0)
                   * ln[ (a^2 + b^2 + 2 tE^2 + |a^2 - b^2|)
                         / (a^2 + b^2 + 2 tC^2 + |a^2 - b^2|) * tC^2 / tE^2 ]

    with lambda in nm, rho in g/cm^3, E0 in keV, a = convergence and b =
    collection semi-angle, tC = 20 mrad (a fixed constant of the model, not
    an aperture), tE = 5.5 rho^0.3 / (F E0) mrad and
    F = (1 + E0/1022) / (1 + E0/511)^2.

    * With ``collection_angle_mrad=None`` (default) b -> infinity and the
      logarithm becomes ln(tC^2 / tE^2): the *total* inelastic mean free
      path. This is the one that governs the holographic amplitude, because
      an inelastic event at any angle removes the electron from the
      interfering wave, and it is the variant used for the table in
      SCIENCE.md (e.g. LiCoO2 123 nm at 200 kV).
    * For a finite b >= a (EELS with a spectrometer aperture) the result is
      independent of a and larger than the total value (6-7 % larger at
      b = 20 mrad = tC for the built-in materials).
    * For a > b (convergent beam wider than the collection aperture) b drops
      out and the convergence angle sets the effective cut-off; that regime
      is not tested against data here.

    ``method="malis"`` uses Malis, Cheng & Egerton [2]_:
    lambda = 106 F E0 / (E_m ln(2 b E0 / E_m)), E_m = 7.6 Z_eff^0.36 eV,
    Z_eff = sum f_i Z_i^1.3 / sum f_i Z_i^0.3 (f_i atomic fractions). It
    needs the composition and a finite collection angle, and has no
    convergence-angle term (a non-zero `convergence_angle_mrad` is refused).

    Parameters
    ----------
    beam_energy_kv : float
        Acceleration voltage [kV] (E0 in keV).
    collection_angle_mrad : float or None, optional
        Collection semi-angle b [mrad]; None (default) for no limiting
        aperture (b -> infinity, total inelastic mean free path). Required
        for ``method="malis"``.
    convergence_angle_mrad : float, optional
        Illumination convergence semi-angle a [mrad] (default 0, parallel
        illumination). Only used by ``"iakoubovskii"`` with a finite b.
    density : float, optional
        Density rho [g/cm^3]; overrides the density of `material`.
    composition : str or dict, optional
        Chemical formula (``"LiCoO2"``, ``"Li1.3Al0.3Ti1.7(PO4)3"``) or atoms
        per formula unit; overrides the composition of `material`. Used by
        ``method="malis"`` only.
    material : str, optional
        One of the built-in materials (case-insensitive): ``"LATP"`` (alias
        ``"LATSPO"``, rho = 2.9 g/cm^3, an assumption), ``"LiCoO2"`` (5.05),
        ``"Pt"`` (21.45), ``"Si"`` (2.33), ``"Li"`` (0.534) and ``"C"``
        (amorphous carbon, 2.0, an assumption). The table with its sources is
        ``holocorr/data/imfp_materials.json``.
    method : {"iakoubovskii", "malis"}
        The parameterisation.

    Returns
    -------
    float
        lambda_in [nm].

    Raises
    ------
    ParameterError
        For a missing or implausible density (outside 0.05-25 g/cm^3, for
        example kg/m^3 given instead of g/cm^3), unknown material or element,
        non-positive angles, an implausible beam energy, or a missing
        composition/collection angle for ``"malis"``.

    Notes
    -----
    Iakoubovskii et al. quote an accuracy of roughly 10 % and Malis et al.
    of about 20 %. With the built-in densities the SCIENCE.md values are
    reproduced within 1 %: LATP 141.0/169.4 nm (table 140/169; the rounded
    table values fit rho = 2.93-2.95 g/cm^3 slightly better), LiCoO2
    122.9/147.5 (123/148) and Pt 86.3/103.2 (86/103) nm at 200/300 kV.

    References
    ----------
    .. [1] K. Iakoubovskii, K. Mitsuishi, Y. Nakayama and K. Furuya, "Thickness
       measurements with electron energy loss spectroscopy", Microsc. Res.
       Tech. 71, 626-631 (2008), doi:10.1002/jemt.20597.
    .. [2] T. Malis, S. C. Cheng and R. F. Egerton, "EELS log-ratio technique
       for specimen-thickness measurement in the TEM", J. Electron Microsc.
       Tech. 8, 193-200 (1988), doi:10.1002/jemt.1060080206.
    .. [3] R. F. Egerton, *Electron Energy-Loss Spectroscopy in the Electron
       Microscope*, 3rd ed., Springer (2011), Sec. 5.1,
       doi:10.1007/978-1-4419-9583-4.

    Examples
    --------
    >>> round(mean_free_path(beam_energy_kv=300, material="Pt"))
    103
    >>> round(mean_free_path(beam_energy_kv=200, density=5.05))
    123
    """
    kv = _scalar_kv(beam_energy_kv)
    check_choice("method", method, ("iakoubovskii", "malis"))
    mat_density = mat_comp = None
    if material is not None:
        _, entry = _lookup_material(material)
        mat_density = entry["density_g_cm3"]
        mat_comp = entry["formula"]
    beta = None
    if collection_angle_mrad is not None:
        beta = check_positive("collection_angle_mrad", collection_angle_mrad, unit="mrad")
    alpha = check_positive(
        "convergence_angle_mrad", convergence_angle_mrad, unit="mrad", allow_zero=True
    )
    for name, ang in (("collection_angle_mrad", beta), ("convergence_angle_mrad", alpha)):
        if ang is not None and ang > 1000.0:
            raise ParameterError(
                f"{name}={ang:g} mrad is not a small angle (> 1 rad); give the semi-angle "
                "in mrad, or collection_angle_mrad=None for no limiting aperture."
            )
    if method == "iakoubovskii":
        rho = density if density is not None else mat_density
        if rho is None:
            raise ParameterError(
                "mean_free_path needs the density: pass density= (g/cm^3) or material= "
                "(e.g. 'LiCoO2'); with only a composition use method='malis'."
            )
        rho = check_positive("density", rho, unit="g/cm^3")
        lo, hi = _DENSITY_RANGE
        if not lo <= rho <= hi:
            raise ParameterError(
                f"density={rho:g} g/cm^3 is outside the range of solids ({lo:g}-{hi:g} "
                "g/cm^3); give it in g/cm^3 (e.g. 2.33 for Si, not 2330 kg/m^3)."
            )
        return _k.imfp_iakoubovskii_nm(rho, kv, beta_mrad=beta, alpha_mrad=alpha)
    # malis
    comp_in = composition if composition is not None else mat_comp
    if comp_in is None:
        raise ParameterError(
            "method='malis' needs the composition: pass composition= (e.g. 'LiCoO2') or material=."
        )
    if beta is None:
        raise ParameterError(
            "method='malis' needs a finite collection_angle_mrad (its formula diverges "
            "for an unlimited angle); use method='iakoubovskii' for the total mean free path."
        )
    if alpha > 0:
        raise ParameterError(
            "method='malis' has no convergence-angle term; leave convergence_angle_mrad=0 "
            "(or replace beta by an effective collection angle yourself)."
        )
    z_eff = _z_eff_malis(_composition(comp_in))
    em = 7.6 * z_eff**0.36
    if 2.0 * beta * kv / em <= np.e:
        raise ParameterError(
            f"collection_angle_mrad={beta:g} is too small for the Malis formula at "
            f"{kv:g} kV (needs 2 beta E0 / E_m >> 1); use a larger angle."
        )
    return _k.imfp_malis_nm(z_eff, kv, beta_mrad=beta)
