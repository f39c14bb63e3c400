"""Input checks shared by every public function.

Each check raises a :class:`~holocorr.errors.HolocorrError` subclass whose
message names the problem and the fix. Kernels never validate; wrappers call
these first.
"""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .errors import (
    CalibrationError,
    DataError,
    ParameterError,
    ShapeError,
    UncalibratedWarning,
)

__all__ = [
    "as_dataarray",
    "real_image",
    "check_finite",
    "check_choice",
    "check_positive",
    "axis_step",
    "spatial_units_to_nm",
    "user_stacklevel",
]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

#: factors that convert a real-space length unit to nm (keys are matched
#: as given, then lower-cased; both micro signs U+00B5 and U+03BC and both
#: angstrom signs U+00C5 and U+212B are listed)
_LENGTH_TO_NM = {
    "nm": 1.0,
    "nanometer": 1.0,
    "nanometers": 1.0,
    "nanometre": 1.0,
    "nanometres": 1.0,
    "um": 1e3,
    "\u00b5m": 1e3,
    "\u03bcm": 1e3,
    "micron": 1e3,
    "microns": 1e3,
    "micrometer": 1e3,
    "micrometers": 1e3,
    "micrometre": 1e3,
    "micrometres": 1e3,
    "mm": 1e6,
    "millimeter": 1e6,
    "millimeters": 1e6,
    "millimetre": 1e6,
    "millimetres": 1e6,
    "m": 1e9,
    "meter": 1e9,
    "meters": 1e9,
    "metre": 1e9,
    "metres": 1e9,
    "a": 0.1,
    "\u00e5": 0.1,
    "\u00c5": 0.1,
    "\u212b": 0.1,
    "angstrom": 0.1,
    "angstroms": 0.1,
    "\u00e5ngstr\u00f6m": 0.1,
    "\u00e5ngstr\u00f6ms": 0.1,
    "pm": 1e-3,
    "picometer": 1e-3,
    "picometers": 1e-3,
    "picometre": 1e-3,
    "picometres": 1e-3,
}


def user_stacklevel() -> int:
    """Return the ``warnings.warn`` stacklevel of the first frame outside holocorr.

    Call it as ``warnings.warn(msg, cls, stacklevel=user_stacklevel())``
    directly in the warning function: the warning then points at the user's
    line however many holocorr wrappers lie in between (doctests and tests
    count as user code).

    Returns
    -------
    int
    """
    frame = sys._getframe(1)  # the function that calls warnings.warn: level 1
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PKG_DIR):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointing at the user's line (first frame outside holocorr).

    Parameters
    ----------
    message : str
        The warning text (what happened and what to do).
    category : type of Warning
        Usually a :class:`~holocorr.errors.HolocorrWarning` subclass.
    """
    warnings.warn(message, category, stacklevel=user_stacklevel())


def spatial_units_to_nm(units: str | None) -> float | None:
    """Return the factor converting `units` to nm, or None if not a length unit.

    Parameters
    ----------
    units : str or None
        A length unit such as ``"nm"``, ``"µm"`` or ``"Å"``.

    Returns
    -------
    float or None
        Multiply values in `units` by this to get nm.
    """
    if units is None:
        return None
    u = str(units).strip()
    if u in _LENGTH_TO_NM:
        return _LENGTH_TO_NM[u]
    return _LENGTH_TO_NM.get(u.lower())


def _pixel_coord(n: int, dim: str) -> xr.DataArray:
    return xr.DataArray(
        np.arange(n, dtype=np.float64),
        dims=(dim,),
        attrs={"units": "px", "long_name": dim},
    )


def as_dataarray(
    data: Any,
    *,
    name: str,
    dims: Sequence[str] = ("y", "x"),
    leading: Sequence[str] = ("frame",),
) -> xr.DataArray:
    """Turn user input into a DataArray whose last dims are `dims`.

    A plain ndarray is treated as uncalibrated: it gets pixel coordinates
    (units ``"px"``) and an :class:`~holocorr.errors.UncalibratedWarning`
    that points at the user's line, the first one outside holocorr (shown
    once per calling line by Python's default filter). At most the dims in
    `leading` may come first.

    Parameters
    ----------
    data : xarray.DataArray or array_like
        The user's data.
    name : str
        The argument's name, used in messages.
    dims : sequence of str
        The required trailing (core) dims, e.g. ``("y", "x")``.
    leading : sequence of str
        Dims allowed before the core dims, e.g. ``("frame",)``.

    Returns
    -------
    xarray.DataArray
        A DataArray (the same object when `data` already is one with the
        right dims; never a modified copy of the user's data).

    Raises
    ------
    ShapeError
        When the number or names of dims do not fit.
    DataError
        When `data` is not numeric.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 3)), dims=("y", "x"))
    >>> as_dataarray(da, name="image") is da
    True
    """
    dims = tuple(dims)
    if isinstance(data, xr.Dataset):
        raise ShapeError(
            f"{name} is an xarray.Dataset; pass one of its variables, "
            f"e.g. ds['{next(iter(data.data_vars), 'phase')}']."
        )
    if isinstance(data, xr.DataArray):
        da = data
        if da.ndim < len(dims) or tuple(da.dims[-len(dims) :]) != dims:
            raise ShapeError(
                f"{name} has dims {da.dims}; expected the last dims to be {dims} "
                f"(optionally preceded by {tuple(leading)}). Rename or transpose, "
                f"e.g. da.transpose(..., {', '.join(repr(d) for d in dims)})."
            )
        extra = da.dims[: da.ndim - len(dims)]
        if len(extra) > len(leading) or any(d not in leading for d in extra):
            raise ShapeError(
                f"{name} has dims {da.dims}; only {tuple(leading)} may precede {dims}."
            )
        if da.dtype.kind not in "biufc":
            raise DataError(
                f"{name} has dtype {da.dtype}; expected a numeric array "
                "(integer counts or floating-point)."
            )
        return da
    if isinstance(data, str | bytes):
        raise DataError(f"{name} is a string ({data!r:.60}); expected a numeric array.")
    try:
        arr = np.asarray(data)
    except Exception as exc:  # noqa: BLE001 - numpy raises many things (ragged lists...)
        raise DataError(
            f"{name} could not be converted to a numeric array ({exc}); "
            "pass an xarray.DataArray or a rectangular numeric ndarray."
        ) from exc
    if arr.dtype.kind not in "biufc":
        raise DataError(
            f"{name} has dtype {arr.dtype}; expected a numeric array "
            "(integer counts or floating-point)."
        )
    ndim_ok = len(dims) <= arr.ndim <= len(dims) + len(leading)
    if not ndim_ok:
        raise ShapeError(
            f"{name} has {arr.ndim} dimension(s) with shape {arr.shape}; expected "
            f"{len(dims)} ({', '.join(dims)})"
            + (
                f" or up to {len(dims) + len(leading)} with leading {tuple(leading)}"
                if leading
                else ""
            )
            + "."
        )
    all_dims = tuple(leading[: arr.ndim - len(dims)]) + dims
    # Python's default warning filter shows this once per calling line.
    warnings.warn(
        f"{name} is a plain array without calibration: using pixel coordinates. "
        "Pass an xarray.DataArray from holocorr.load (or with coords in nm) "
        "to get physical units.",
        UncalibratedWarning,
        stacklevel=user_stacklevel(),
    )
    coords = {d: _pixel_coord(n, d) for d, n in zip(all_dims, arr.shape, strict=True)}
    return xr.DataArray(arr, dims=all_dims, coords=coords)


def real_image(da: xr.DataArray, *, name: str, min_size: int = 8) -> np.ndarray:
    """Return the values of `da` as a real floating ndarray, checked.

    float32 stays float32, float64 stays float64; integers become float32
    when they fit exactly (up to 2**24) and float64 otherwise. The user's
    array is never modified (a view is returned when no conversion is
    needed; callers must not write to it).

    Parameters
    ----------
    da : xarray.DataArray
        Image or stack with core dims last.
    name : str
        Argument name for messages.
    min_size : int
        Smallest allowed length of the last two axes, in pixels.

    Returns
    -------
    numpy.ndarray
        Real float32 or float64 array.

    Raises
    ------
    DataError
        For complex, boolean or non-numeric values.
    ShapeError
        For images smaller than `min_size` along y or x, or empty arrays.
    """
    arr = np.asarray(da.data if isinstance(da, xr.DataArray) else da)
    if arr.dtype.kind == "c":
        raise DataError(
            f"{name} is complex ({arr.dtype}); expected real intensities. "
            "If this is already a reconstructed wave, use its amplitude or phase."
        )
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise DataError(f"{name} has dtype {arr.dtype}; expected real numbers.")
    if arr.size == 0:
        raise ShapeError(f"{name} is empty (shape {arr.shape}); expected an image.")
    if arr.ndim < 2:
        raise ShapeError(
            f"{name} has shape {arr.shape}; expected an image with two axes (y, x) "
            f"of at least {min_size} pixels each."
        )
    if min(arr.shape[-2:]) < min_size:
        raise ShapeError(
            f"{name} has shape {arr.shape}; each image axis needs at least {min_size} pixels."
        )
    if arr.dtype.kind in "iu":
        big = (
            arr.dtype.itemsize > 2
            and arr.size
            and (int(arr.max()) > 2**24 or int(arr.min()) < -(2**24))
        )
        arr = arr.astype(np.float64 if big else np.float32)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    return arr


def check_finite(arr: np.ndarray, *, name: str) -> None:
    """Raise DataError naming how many and where NaN/inf values are.

    Parameters
    ----------
    arr : numpy.ndarray
        Array to check.
    name : str
        Argument name for messages.

    Raises
    ------
    DataError
        When any element is NaN or infinite.
    """
    bad = ~np.isfinite(arr)
    if bad.any():
        n = int(bad.sum())
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{name} has {n} NaN or infinite value(s) (first at index {first}). "
            "Replace them explicitly with holocorr.fix_pixels (median of valid neighbours), "
            "or crop them away."
        )


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return `value` if it is one of `allowed`, else raise ParameterError.

    Parameters
    ----------
    name : str
        Option name.
    value : object
        The given value.
    allowed : iterable
        The allowed values.

    Returns
    -------
    object
        `value`, unchanged.

    Raises
    ------
    ParameterError
        Listing the allowed values.
    """
    allowed = tuple(allowed)
    if not any(_same_choice(value, a) for a in allowed):
        raise ParameterError(
            f"{name}={value!r} is not allowed; choose one of {', '.join(repr(a) for a in allowed)}."
        )
    return value


def _same_choice(value: Any, a: Any) -> bool:
    if value is a:
        return True
    if isinstance(value, str) or isinstance(a, str):
        return isinstance(value, str) and isinstance(a, str) and value == a
    # numbers compare by value (numpy integers too), but True is not 1
    if isinstance(value, numbers.Number) and isinstance(a, numbers.Number):
        if isinstance(value, bool | np.bool_) != isinstance(a, bool | np.bool_):
            return False
        return bool(value == a)
    return False


def check_positive(name: str, value: Any, *, unit: str = "", allow_zero: bool = False) -> float:
    """Return `value` as float if it is a finite positive real number.

    Parameters
    ----------
    name : str
        Option name for messages.
    value : object
        The given value.
    unit : str
        Unit named in messages.
    allow_zero : bool
        Accept 0.

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        For non-numbers, NaN/inf, negative (or zero) values.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"{name} must be a number{' in ' + unit if unit else ''}, got {value!r}."
        )
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        limit = ">= 0" if allow_zero else "> 0"
        raise ParameterError(
            f"{name} must be finite and {limit}{' ' + unit if unit else ''}, got {value!r}."
        )
    return v


def axis_step(da: xr.DataArray, dim: str) -> tuple[float, str]:
    """Return the uniform step of coord `dim` and its units.

    Parameters
    ----------
    da : xarray.DataArray
        Data with a 1-D coordinate `dim` (missing means pixels).
    dim : str
        Dimension name.

    Returns
    -------
    step : float
        Coordinate step (units of the coord).
    units : str
        ``attrs["units"]`` of the coord (``"px"`` when missing).

    Raises
    ------
    CalibrationError
        For non-numeric, non-finite, descending, non-uniform or zero-step
        coordinates.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros(4), dims=("x",),
    ...                   coords={"x": ("x", 0.5 * np.arange(4), {"units": "nm"})})
    >>> axis_step(da, "x")
    (0.5, 'nm')
    """
    if dim not in da.coords:
        return 1.0, "px"
    units = str(da[dim].attrs.get("units", "px"))
    try:
        c = np.asarray(da[dim].values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(
            f"coordinate {dim!r} has dtype {da[dim].dtype}; expected numbers "
            f"(positions in {units}). Assign a numeric coordinate, e.g. "
            f"da.assign_coords({dim}=step * np.arange(da.sizes[{dim!r}]))."
        ) from exc
    if not np.all(np.isfinite(c)):
        raise CalibrationError(
            f"coordinate {dim!r} contains NaN or infinite values; assign finite, "
            "uniformly spaced positions."
        )
    if c.size < 2:
        return 1.0, units
    d = np.diff(c)
    step = float(np.mean(d))
    if not np.any(d):
        raise CalibrationError(
            f"coordinate {dim!r} has zero step (all values {c[0]:g} {units}); "
            "assign distinct, uniformly spaced positions."
        )
    if step <= 0:
        raise CalibrationError(
            f"coordinate {dim!r} is not ascending (step {step:.6g} {units}); "
            f"sort it (da.sortby({dim!r})) or fix the calibration."
        )
    if np.max(np.abs(d - step)) > 1e-3 * abs(step):
        raise CalibrationError(
            f"coordinate {dim!r} is not uniformly spaced (steps from {d.min():.6g} "
            f"to {d.max():.6g} {units}); resample it onto a uniform grid first."
        )
    return step, units
