"""Input checks and small helpers shared by the correlation modules."""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._validate import spatial_units_to_nm, user_stacklevel
from ..errors import (
    CalibrationError,
    DataError,
    ParameterError,
    ShapeError,
    UncalibratedWarning,
)
from . import _kernels as _k

#: dims accepted for 1-D profiles, in order of preference
POSITION_DIMS = ("distance", "x")


@dataclasses.dataclass
class Prof:
    """A checked 1-D profile: positions ascending, in nm (or px when uncalibrated)."""

    x: np.ndarray
    y: np.ndarray
    err: np.ndarray | None
    pos_units: str  # "nm" or "px"
    units: str | None
    dim: str
    name: str
    da: xr.DataArray
    dtype: np.dtype

    @property
    def step(self) -> float:
        return float(np.median(np.diff(self.x)))


def as_rng(rng: Any) -> np.random.Generator:
    """Return a numpy Generator from None, an int seed or a Generator."""
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ParameterError(f"rng seed must be >= 0, got {rng!r}.")
        return np.random.default_rng(int(rng))
    raise ParameterError(f"rng must be None, a non-negative int seed or a numpy.random.Generator, got {rng!r}.")


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """Return `value` as int if it is an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_level(level: Any) -> float:
    """Confidence level in (0, 1)."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.5 <= float(level) < 1:
        raise ParameterError(f"level must be a number in [0.5, 1), e.g. 0.95, got {level!r}.")
    return float(level)


def check_length(name: str, value: Any) -> float | None:
    """Return an optional positive finite length (nm) as float, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be a positive number in nm (or None), got {value!r}.")
    return float(value)


def _coord_units_factor(units: Any, *, what: str) -> tuple[float, str]:
    """Return (factor to nm, 'nm') for a length unit, (1, 'px') for pixels."""
    if units is None:
        return 1.0, "nm"
    u = str(units).strip()
    if u.lower() in ("px", "pixel", "pixels"):
        return 1.0, "px"
    f = spatial_units_to_nm(u)
    if f is None:
        raise CalibrationError(
            f"{what} has units {units!r}; expected a length such as 'nm' (or 'px' for "
            f"uncalibrated data). Fix the attribute, e.g. da['{what.split()[-1]}'].attrs['units'] = 'nm'."
        )
    return f, "nm"


def as_profile(data: Any, *, name: str, min_size: int = 10) -> Prof:
    """Check a 1-D profile and return it with ascending positions in nm.

    Accepts a 1-D DataArray over ``distance`` or ``x`` with a numeric
    coordinate (units a length, nm assumed when missing; ``px`` allowed) and
    an optional ``profile_error`` coordinate along the same dim, or a plain
    1-D ndarray (pixel positions, UncalibratedWarning).
    """
    if isinstance(data, xr.Dataset):
        raise ShapeError(
            f"{name} is an xarray.Dataset; pass one 1-D profile (a DataArray over 'distance'), "
            f"e.g. ds['{next(iter(data.data_vars), 'potential')}']."
        )
    if not isinstance(data, xr.DataArray):
        if isinstance(data, str | bytes):
            raise DataError(f"{name} is a string; expected a 1-D numeric profile.")
        try:
            arr = np.asarray(data)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"{name} could not be converted to a numeric array ({exc}).") from exc
        if arr.ndim != 1:
            raise ShapeError(
                f"{name} has shape {arr.shape}; expected a 1-D profile. Extract one from a map "
                "with holocorr.correlation.profile."
            )
        warnings.warn(
            f"{name} is a plain array without positions: using pixel positions. Pass an "
            "xarray.DataArray over 'distance' with coordinates in nm to get physical units.",
            UncalibratedWarning,
            stacklevel=user_stacklevel(),
        )
        data = xr.DataArray(
            arr,
            dims=("distance",),
            coords={"distance": ("distance", np.arange(arr.size, dtype=np.float64), {"units": "px"})},
        )
    da = data
    if da.ndim != 1:
        raise ShapeError(
            f"{name} has dims {da.dims}; expected a 1-D profile over 'distance' (or 'x'). "
            "Extract one from a (y, x) map with holocorr.correlation.profile."
        )
    dim = da.dims[0]
    if dim not in POSITION_DIMS:
        raise ShapeError(
            f"{name} is over {dim!r}; expected 'distance' (or 'x'). Rename it, e.g. "
            f"{name}.rename({{{dim!r}: 'distance'}})."
        )
    if dim not in da.coords:
        raise CalibrationError(
            f"{name} has no {dim!r} coordinate, so its positions are unknown. Assign one in nm, "
            f"e.g. {name}.assign_coords({dim}=step_nm * np.arange({name}.size))."
        )
    if da.dtype.kind not in "iuf":
        raise DataError(f"{name} has dtype {da.dtype}; expected real numbers.")
    factor, pos_units = _coord_units_factor(da[dim].attrs.get("units"), what=f"{name} coordinate {dim}")
    try:
        x = np.asarray(da[dim].values, dtype=np.float64) * factor
    except (TypeError, ValueError) as exc:
        raise CalibrationError(
            f"{name} coordinate {dim!r} is not numeric ({da[dim].dtype}); expected positions in nm."
        ) from exc
    if not np.all(np.isfinite(x)):
        raise CalibrationError(f"{name} coordinate {dim!r} has NaN or infinite positions.")
    y = np.asarray(da.values, dtype=np.float64)
    err = None
    if "profile_error" in da.coords and da["profile_error"].dims == (dim,):
        err = np.asarray(da["profile_error"].values, dtype=np.float64)
    if y.size and not np.any(np.isfinite(y)):
        raise DataError(f"{name} is all NaN (or infinite); there is nothing to compare.")
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s) of {y.size} (first at "
            f"{dim} = {x[np.argmax(bad)]:.6g} {pos_units}). Drop them, e.g. "
            f"{name}.dropna('{dim}'), or crop the profile."
        )
    if y.size < min_size:
        raise ShapeError(
            f"{name} has {y.size} samples; at least {min_size} are needed. Use a finer step or a longer profile."
        )
    d = np.diff(x)
    if np.all(d < 0):
        x, y = x[::-1].copy(), y[::-1].copy()
        err = None if err is None else err[::-1].copy()
    elif not np.all(d > 0):
        raise CalibrationError(
            f"{name} coordinate {dim!r} is not strictly monotonic (repeated or unsorted "
            f"positions); sort it with {name}.sortby('{dim}') and remove duplicates."
        )
    if err is not None:
        if not np.all(np.isfinite(err)) or np.any(err <= 0):
            raise DataError(
                f"{name}.profile_error must be finite and > 0 everywhere (it is the 1-sigma "
                "error of each sample); fix it or drop the coordinate with "
                f"{name}.drop_vars('profile_error')."
            )
    units = da.attrs.get("units")
    return Prof(
        x=x,
        y=y,
        err=err,
        pos_units=pos_units,
        units=None if units is None else str(units),
        dim=dim,
        name=name,
        da=da,
        dtype=da.dtype,
    )


def check_not_constant(y: np.ndarray, name: str, where: str = "") -> None:
    """DataError for a constant profile (zero variance)."""
    if y.size and float(np.ptp(y)) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
        raise DataError(
            f"{name} is constant{where} (all values {float(y[0]):.6g}); a constant profile has "
            "no shape to compare or fit. Check that the right profile was passed."
        )


@dataclasses.dataclass
class Grid:
    """Two profiles on their common grid over the overlap."""

    x: np.ndarray
    a: np.ndarray
    b: np.ndarray
    ea: np.ndarray | None
    eb: np.ndarray | None
    step: float
    lo: float
    hi: float


def common_grid(pa: Prof, pb: Prof, *, step: float | None, min_samples: int = 10, method: str = "box") -> Grid:
    """Resample two profiles onto a common grid over their overlap.

    The grid is the coarser profile's own samples within the overlap (so the
    coarser profile is not interpolated at all) unless `step` is given, in
    which case it starts at the overlap's lower end. The finer profile is
    box-averaged (or interpolated) by :func:`_kernels.resample`; with
    ``method="linear"`` both are linearly interpolated (point sampling).
    """
    if pa.pos_units != pb.pos_units:
        raise CalibrationError(
            f"{pa.name} has positions in {pa.pos_units} but {pb.name} in {pb.pos_units}; both "
            "need a length calibration (nm) to be compared. Calibrate the pixel profile."
        )
    lo, hi = max(pa.x[0], pb.x[0]), min(pa.x[-1], pb.x[-1])
    u = pa.pos_units
    if hi <= lo:
        raise ShapeError(
            f"{pa.name} ({pa.x[0]:.6g} to {pa.x[-1]:.6g} {u}) and {pb.name} ({pb.x[0]:.6g} to "
            f"{pb.x[-1]:.6g} {u}) do not overlap. Check that both use the same distance origin "
            "(e.g. 0 at the interface) and units."
        )
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    if step is None:
        coarse = pa if pa.step >= pb.step * (1 + 1e-6) else pb
        if abs(pa.step - pb.step) <= 1e-6 * pa.step:
            coarse = pa if pa.x[0] <= pb.x[0] else pb
        sel = (coarse.x >= lo - tol) & (coarse.x <= hi + tol)
        grid = coarse.x[sel]
        gstep = coarse.step
    else:
        gstep = step
        n = int(math.floor((hi - lo) / step + 1e-9)) + 1
        grid = lo + step * np.arange(n)
    if grid.size < min_samples:
        raise ShapeError(
            f"{pa.name} and {pb.name} overlap only from {lo:.6g} to {hi:.6g} {u}: "
            f"{grid.size} common sample(s) at a {gstep:.4g} {u} step, fewer than "
            f"{min_samples}. Extend the profiles or use a finer step."
        )
    box = method == "box"
    ya, ea = _k.resample(pa.x, pa.y, pa.err, grid, gstep, box=box)
    yb, eb = _k.resample(pb.x, pb.y, pb.err, grid, gstep, box=box)
    return Grid(x=grid, a=ya, b=yb, ea=ea, eb=eb, step=gstep, lo=float(lo), hi=float(hi))


def tuple2(v) -> tuple[float, float]:
    """Make a 2-tuple of Python floats."""
    return (float(v[0]), float(v[1]))
