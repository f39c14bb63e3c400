"""Regions of interest given in physical coordinates: one parser for every module.

A region is a dict of coordinate ranges in the data's own units, e.g.
``{"x": slice(0, 40)}`` or ``{"x": (0, 40), "y": (10, 90)}`` (bounds are
inclusive, either order, None for open), and becomes a boolean (y, x) mask.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .errors import ParameterError

__all__ = ["region_mask", "mask_or_region"]


def _bounds(dim: str, spec: Any, name: str, units: str) -> tuple[Any, Any]:
    if isinstance(spec, slice):
        if spec.step is not None:
            raise ParameterError(f"{name}[{dim!r}] must not have a step, got {spec!r}.")
        lo, hi = spec.start, spec.stop
    elif isinstance(spec, tuple | list) and len(spec) == 2:
        lo, hi = spec
    else:
        raise ParameterError(
            f"{name}[{dim!r}] must be a slice(start, stop) or a (start, stop) pair in "
            f"{units or 'the data units'}, got {spec!r}."
        )
    for v in (lo, hi):
        bad = isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v)
        if v is not None and bad:
            raise ParameterError(
                f"{name}[{dim!r}] bounds must be finite numbers in {units or 'the data units'} or None, got {spec!r}."
            )
    return lo, hi


def region_mask(region: Any, like: xr.DataArray, *, name: str = "region") -> tuple[np.ndarray, dict]:
    """Boolean (y, x) mask of the pixels of `like` inside a coordinate region.

    Parameters
    ----------
    region : dict
        Core dim name (``"y"``/``"x"``) to a ``slice(start, stop)`` or a
        ``(start, stop)`` pair in the coordinate's units; bounds inclusive,
        in either order, None for open.
    like : xarray.DataArray
        Data whose last two dims are the core dims; missing coords mean
        pixel indices.
    name : str
        Argument name used in messages.

    Returns
    -------
    mask : (M, N) bool ndarray
        True inside the region.
    record : dict
        ``{dim: [start, stop]}`` for attrs and provenance.

    Raises
    ------
    ParameterError
        For a non-dict, an empty dict, unknown dims, bad bounds or a region
        that selects no pixel (the message gives the coordinate's range).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((3, 4)), dims=("y", "x"),
    ...                   coords={"x": [0.0, 0.5, 1.0, 1.5]})
    >>> region_mask({"x": slice(0.4, 1.0)}, da)[0].sum()
    np.int64(6)
    """
    core = tuple(like.dims[-2:])
    if not isinstance(region, Mapping):
        raise ParameterError(
            f"{name} must be a dict of coordinate ranges, e.g. {{'x': slice(0, 40)}} in the "
            f"data's units, got {type(region).__name__}."
        )
    if not region:
        raise ParameterError(f"{name}={{}} is empty; give e.g. {{'x': slice(0, 40)}} in the data's units.")
    mask = np.ones(tuple(like.sizes[d] for d in core), dtype=bool)
    record: dict[str, Any] = {}
    for dim, spec in region.items():
        if dim not in core:
            allowed = " and ".join(repr(d) for d in core)
            raise ParameterError(f"{name} names dim {dim!r}; only {allowed} are allowed, e.g. {{'x': slice(0, 40)}}.")
        if dim in like.coords:
            c = np.asarray(like[dim].values, dtype=np.float64)
            units = str(like[dim].attrs.get("units", ""))
        else:
            c = np.arange(like.sizes[dim], dtype=np.float64)
            units = "px"
        lo, hi = _bounds(dim, spec, name, units)
        a = -np.inf if lo is None else float(lo)
        b = np.inf if hi is None else float(hi)
        a, b = min(a, b), max(a, b)
        sel = (c >= a) & (c <= b)
        if not sel.any():
            raise ParameterError(
                f"{name} {dim}=[{lo}, {hi}] selects no pixels: the {dim!r} coordinate runs "
                f"from {c.min():.6g} to {c.max():.6g}{' ' + units if units else ''}. Give the "
                "range in the data's coordinate units (bounds are inclusive)."
            )
        shape = [1, 1]
        shape[core.index(dim)] = sel.size
        mask &= sel.reshape(shape)
        record[dim] = [lo, hi]
    return mask, record


def mask_or_region(
    mask: Any, like: xr.DataArray, shape: tuple[int, ...], *, name: str = "mask"
) -> tuple[np.ndarray, Any]:
    """Return a boolean map from a region dict (see :func:`region_mask`) or a boolean array of `shape`.

    Returns
    -------
    (mask, record)
        The boolean map and what to record in provenance (the region's
        record, or ``"mask"`` for a given array).

    Raises
    ------
    ParameterError
        For anything else, or a boolean map of another shape.
    """
    if isinstance(mask, Mapping):
        return region_mask(mask, like, name=name)
    m = np.asarray(getattr(mask, "values", mask))
    if m.dtype != bool or m.shape != tuple(shape):
        raise ParameterError(
            f"{name} must be a region dict or a boolean (y, x) map of shape {tuple(shape)}, got "
            f"dtype {m.dtype} shape {m.shape}."
        )
    return m, name
