"""Input checks and xarray plumbing shared by the public EELS functions."""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._validate import axis_step, user_stacklevel
from ..errors import (
    CalibrationError,
    DataError,
    HolocorrWarning,
    ParameterError,
    ShapeError,
)

ENERGY = "energy"
_ENERGY_UNITS = {"ev": 1.0, "kev": 1e3, "mev": 1e-3}
_AS_SPECTRA = "holocorr.eels.as_spectra(data, energy_axis=..., offset_ev=..., dispersion_ev=...)"


@dataclasses.dataclass
class Spectra:
    """A validated spectrum array flattened to (pixels, channels)."""

    da: xr.DataArray  # the user's DataArray, energy moved last
    values: np.ndarray  # (P, n) float32/float64, a view when possible
    energy: np.ndarray  # (n,) float64 [eV]
    step: float  # dispersion [eV/channel]
    dims: tuple[str, ...]  # non-energy dims, in order
    shape: tuple[int, ...]  # their sizes
    original_dims: tuple[str, ...]

    @property
    def n_pixels(self) -> int:
        return self.values.shape[0]

    def coords(self) -> dict[str, Any]:
        """Coordinates of the non-energy dims (for results without energy)."""
        out = {}
        for name, c in self.da.coords.items():
            if ENERGY not in c.dims and set(c.dims) <= set(self.dims):
                out[name] = c
        return out

    def unflatten(self, a: np.ndarray, name: str, units: str, long_name: str, **attrs) -> xr.DataArray:
        """Per-pixel values (P,) -> DataArray on the non-energy dims."""
        arr = np.asarray(a).reshape(self.shape)
        return xr.DataArray(
            arr,
            dims=self.dims,
            coords=self.coords(),
            name=name,
            attrs={"units": units, "long_name": long_name, **attrs},
        )


def stream_hasher(sp: Spectra):
    """Return an xxh3 hasher primed like ``array_hash`` for sp's energy-last array.

    Feeding it the rows of ``sp.values`` in order gives exactly
    ``array_hash(sp.da)``; None when the values are not a C-contiguous
    native array (then hash the usual way).
    """
    import xxhash

    v = sp.values
    if not (v.flags.c_contiguous and v.dtype.isnative) or v.dtype.hasobject:
        return None
    h = xxhash.xxh3_128()
    h.update(f"{v.dtype.str}{tuple(sp.shape) + (v.shape[1],)}".encode())
    return h


def input_hash(sp: Spectra) -> str:
    """array_hash of the spectra with energy last (the layout every EELS function uses)."""
    from .._provenance import array_hash

    return array_hash(sp.values.reshape(sp.shape + (sp.values.shape[1],)))


def finish_hash(h, sp: Spectra) -> str:
    return input_hash(sp) if h is None else "xxh3_128:" + h.hexdigest()


def float_values(arr: np.ndarray, name: str) -> np.ndarray:
    """Real float32/float64 array: ints -> float32 when exact, else float64."""
    if arr.dtype.kind == "c":
        raise DataError(
            f"{name} is complex ({arr.dtype}); expected real counts. Use the real part "
            "or the modulus, whichever your detector records."
        )
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise DataError(f"{name} has dtype {arr.dtype}; expected real numbers (counts).")
    if arr.dtype.kind in "iu":
        big = arr.dtype.itemsize > 2 and arr.size and (int(arr.max()) > 2**24 or int(arr.min()) < -(2**24))
        return arr.astype(np.float64 if big else np.float32)
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    return arr


def energy_axis(da: xr.DataArray, name: str) -> tuple[np.ndarray, float]:
    """Energy coordinate [eV] (converted from keV/meV) and its uniform step."""
    if ENERGY not in da.coords:
        raise CalibrationError(
            f"{name} has an 'energy' dim but no energy coordinate; calibrate it with "
            f"{_AS_SPECTRA} or da.assign_coords(energy=offset + dispersion * np.arange(n))."
        )
    units = str(da[ENERGY].attrs.get("units", "")).strip()
    factor = _ENERGY_UNITS.get(units.lower())
    if factor is None:
        raise CalibrationError(
            f"{name}'s energy coordinate has units {units or 'none'!r}; expected 'eV'. "
            f"Calibrate it with {_AS_SPECTRA}, or set da.energy.attrs['units'] = 'eV' if "
            "the values already are eV."
        )
    step, _ = axis_step(da, ENERGY)
    e = np.asarray(da[ENERGY].values, dtype=np.float64) * factor
    return e, step * factor


def as_spectra_array(data: Any, *, name: str, min_channels: int = 8, need_energy_coord: bool = True) -> Spectra:
    """Validate spectra (energy dim anywhere) and flatten them to (P, n)."""
    if isinstance(data, xr.Dataset):
        raise ShapeError(
            f"{name} is an xarray.Dataset; pass one of its variables, e.g. "
            f"ds[{next(iter(data.data_vars), 'counts')!r}]."
        )
    if not isinstance(data, xr.DataArray):
        if isinstance(data, np.ndarray | list | tuple):
            raise ShapeError(
                f"{name} is a plain array, so holocorr cannot tell which axis is the "
                f"energy loss. Declare it with {_AS_SPECTRA} (a DataArray with an "
                "'energy' dim in eV)."
            )
        raise DataError(f"{name} must be an xarray.DataArray of counts, got {type(data).__name__}.")
    if ENERGY not in data.dims:
        raise ShapeError(
            f"{name} has dims {data.dims} and no 'energy' dim. Declare the energy-loss "
            f"axis with {_AS_SPECTRA} (energy_axis= a dim name or position), or rename it: "
            "da.rename({'<dim>': 'energy'}) with an energy coordinate in eV."
        )
    n = data.sizes[ENERGY]
    if n < min_channels:
        raise ShapeError(f"{name} has {n} energy channel(s); at least {min_channels} are needed.")
    if need_energy_coord:
        e, step = energy_axis(data, name)
    else:
        e, step = np.arange(n, dtype=np.float64), 1.0
    if any(s == 0 for s in data.shape):
        raise ShapeError(f"{name} is empty (shape {data.shape}).")
    da = data.transpose(..., ENERGY) if data.dims[-1] != ENERGY else data
    dims = tuple(d for d in da.dims if d != ENERGY)
    shape = tuple(da.sizes[d] for d in dims)
    arr = float_values(np.asarray(da.data), name)
    values = arr.reshape(-1, n)
    return Spectra(da=da, values=values, energy=e, step=step, dims=dims, shape=shape, original_dims=tuple(data.dims))


def window_indices(
    energy: np.ndarray, step: float, window: Any, *, name: str, min_channels: int = 3
) -> tuple[int, int]:
    """Channel range [i0, i1) whose centres lie inside `window` = (lo, hi) eV.

    Raises ParameterError for a malformed, reversed or out-of-axis window.
    """
    try:
        lo, hi = window
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a (start, stop) pair in eV, e.g. (44, 54), got {window!r}.") from exc
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ParameterError(f"{name} bounds must be finite numbers in eV, got {window!r}.")
    lo, hi = float(lo), float(hi)
    if hi <= lo:
        raise ParameterError(f"{name}=({lo:g}, {hi:g}) eV is reversed or empty; give (start, stop) with start < stop.")
    tol = 0.5 * step + 1e-9 * abs(step)
    if lo < energy[0] - tol or hi > energy[-1] + tol:
        raise ParameterError(
            f"{name}=({lo:g}, {hi:g}) eV lies outside the energy axis, which runs from "
            f"{energy[0]:.6g} to {energy[-1]:.6g} eV. Choose a window inside it or "
            "acquire a wider range."
        )
    eps = 1e-9 * step
    i0 = int(np.searchsorted(energy, lo - eps, side="left"))
    i1 = int(np.searchsorted(energy, hi + eps, side="right"))
    if i1 - i0 < min_channels:
        raise ParameterError(
            f"{name}=({lo:g}, {hi:g}) eV covers {i1 - i0} channel(s) of {step:.4g} eV; "
            f"at least {min_channels} are needed. Widen it."
        )
    return i0, i1


def check_same_grid(sp: Spectra, other: Spectra, *, name: str, allow_single: bool = True) -> bool:
    """Check `other` (e.g. a low-loss frame) lies on the same spatial grid as `sp`.

    Returns True when `other` is a single spectrum to broadcast.
    """
    if allow_single and other.dims == ():
        return True
    if set(other.dims) != set(sp.dims) or any(other.da.sizes[d] != sp.da.sizes[d] for d in sp.dims):
        got = dict(zip(other.dims, other.shape, strict=True))
        want = dict(zip(sp.dims, sp.shape, strict=True))
        raise ShapeError(
            f"{name} has spatial dims {got}, but the spectra have {want}; it must be "
            "recorded on the same spatial grid (same slit rows / scan positions), or be one "
            "spectrum with only an 'energy' dim."
        )
    for d in sp.dims:
        if d in sp.da.coords and d in other.da.coords:
            a = np.asarray(sp.da[d].values, dtype=np.float64)
            b = np.asarray(other.da[d].values, dtype=np.float64)
            ua = sp.da[d].attrs.get("units")
            ub = other.da[d].attrs.get("units")
            span = max(float(np.ptp(a)), 1e-12) if a.size > 1 else 1.0
            if ua != ub or not np.allclose(a, b, rtol=0, atol=1e-6 * span + 1e-9):
                raise ShapeError(
                    f"{name}'s {d!r} coordinate ({b[0]:.6g} ... {b[-1]:.6g} {ub}) differs from "
                    f"the spectra's ({a[0]:.6g} ... {a[-1]:.6g} {ua}); the two frames must "
                    "share one spatial grid. Interpolate one onto the other (da.interp_like) "
                    "or fix the calibration."
                )
    return False


def reorder_like(other: Spectra, sp: Spectra) -> np.ndarray:
    """`other`'s values with its spatial dims in `sp`'s order, flattened (P, m)."""
    if other.dims == sp.dims:
        return other.values
    da = other.da.transpose(*sp.dims, ENERGY)
    return float_values(np.asarray(da.data), "low_loss").reshape(-1, other.values.shape[1])


def check_finite_window(y: np.ndarray, *, name: str, energy: np.ndarray, dims, shape) -> None:
    """Raise DataError naming the first NaN/inf in a (P, n) window."""
    bad = ~np.isfinite(y)
    if bad.any():
        p, j = np.argwhere(bad)[0]
        raise DataError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s) in the channels used "
            f"(first at {_where(p, dims, shape)}, {energy[j]:.4g} eV). Replace them "
            "(interpolate bad channels) or crop them away."
        )


def check_counts(y: np.ndarray, *, name: str, energy: np.ndarray, dims, shape, what: str) -> None:
    """Raise DataError for negative values or all-zero spectra in a (P, n) window."""
    neg = y < 0
    if neg.any():
        p, j = np.argwhere(neg)[0]
        raise DataError(
            f"{name} has {int(neg.sum())} negative value(s) in the {what} (first "
            f"{float(y[p, j]):.4g} at {_where(p, dims, shape)}, {energy[j]:.4g} eV). "
            "Poisson statistics need counts >= 0: undo an over-subtracted dark reference "
            "or bias offset (or add it back) before quantification."
        )
    zero = ~(y > 0).any(axis=1)
    if zero.any():
        p = int(np.flatnonzero(zero)[0])
        raise DataError(
            f"{name} has {int(zero.sum())} all-zero spectrum/spectra in the {what} (first at "
            f"{_where(p, dims, shape)}). Crop or mask empty pixels (vacuum, holes) before "
            "quantification."
        )


def _where(p: int, dims, shape) -> str:
    if not dims:
        return "the spectrum"
    idx = np.unravel_index(int(p), shape)
    return ", ".join(f"{d}={int(i)}" for d, i in zip(dims, idx, strict=True))


def check_gain(gain: Any, da: xr.DataArray) -> float:
    """Detector counts per electron: explicit, else attrs, else 1."""
    if gain is None:
        for key in ("counts_per_electron", "gain"):
            if key in da.attrs:
                gain = da.attrs[key]
                break
        else:
            return 1.0
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not (math.isfinite(gain) and gain > 0):
        raise ParameterError(f"gain must be a positive number of detector counts per electron, got {gain!r}.")
    return float(gain)


def output_dtype(values: np.ndarray) -> np.dtype:
    return np.dtype(np.float32) if values.dtype == np.float32 else np.dtype(np.float64)


def carry_attrs(da: xr.DataArray) -> dict[str, Any]:
    """Microscope metadata worth keeping on a result."""
    return {k: v for k, v in da.attrs.items() if k not in ("units", "long_name", "holocorr")}


def warn(message: str) -> None:
    warnings.warn(message, HolocorrWarning, stacklevel=user_stacklevel())


def energy_coord(e: np.ndarray) -> xr.DataArray:
    return xr.DataArray(e, dims=(ENERGY,), attrs={"units": "eV", "long_name": "energy loss"})


def rebuild(
    sp: Spectra,
    values2d: np.ndarray,
    energy: np.ndarray,
    *,
    name: str | None,
    units: str,
    long_name: str,
    attrs: dict[str, Any],
) -> xr.DataArray:
    """(P, m) values on a (possibly new) energy axis -> DataArray in the user's dim order."""
    coords = dict(sp.coords())
    coords[ENERGY] = energy_coord(energy)
    # non-dim coords along energy are dropped when the axis changed
    arr = values2d.reshape(sp.shape + (energy.size,))
    out = xr.DataArray(
        arr, dims=sp.dims + (ENERGY,), coords=coords, name=name, attrs={"units": units, "long_name": long_name, **attrs}
    )
    return out.transpose(*sp.original_dims)


def as_tuple_of_str(value: Sequence[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)
