"""Helpers shared by the series wrappers: input checks, per-frame records, dask glue."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._provenance import array_hash
from .._validate import axis_step, check_choice
from ..errors import DataError, ParameterError, ShapeError

__all__ = ["as_waves", "is_lazy", "compute", "input_id", "steps_nm", "per_frame", "ON_ERROR"]

ON_ERROR = ("raise", "skip")


def check_on_error(on_error: Any) -> str:
    """Validate the ``on_error`` option."""
    return check_choice("on_error", on_error, ON_ERROR)


def is_lazy(obj: xr.DataArray | xr.Dataset) -> bool:
    """Return True when `obj` (or any of its data variables) is backed by dask."""
    if isinstance(obj, xr.Dataset):
        return any(v.chunks is not None for v in obj.data_vars.values())
    return obj.chunks is not None


def compute(*objs):
    """Compute xarray/dask objects together in one pass (numpy ones pass through)."""
    lazy = [i for i, o in enumerate(objs) if is_lazy(o)]
    out = list(objs)
    if lazy:
        import dask

        done = dask.compute(*[objs[i] for i in lazy])
        for i, d in zip(lazy, done, strict=True):
            out[i] = d
    return out[0] if len(out) == 1 else tuple(out)


def as_waves(waves: Any, name: str = "waves") -> xr.Dataset:
    """Return a series Dataset with a complex ``wave`` on dims (frame, y, x).

    Accepts the Dataset of :func:`holocorr.series.reconstruct` (or of a later
    step) or a complex DataArray (frame, y, x).

    Raises
    ------
    ShapeError
        For anything else.
    """
    if isinstance(waves, xr.DataArray):
        if waves.dtype.kind != "c":
            raise DataError(
                f"{name} is a real DataArray ({waves.dtype}); expected the complex waves "
                "(frame, y, x) of holocorr.series.reconstruct."
            )
        waves = waves.to_dataset(name="wave")
    if not isinstance(waves, xr.Dataset) or "wave" not in waves.data_vars:
        raise ShapeError(
            f"{name} must be the Dataset returned by holocorr.series.reconstruct (with a complex "
            "'wave' on dims (frame, y, x)), got " + type(waves).__name__ + "."
        )
    w = waves["wave"]
    if w.dims != ("frame", "y", "x"):
        raise ShapeError(
            f"{name}.wave has dims {w.dims}; expected ('frame', 'y', 'x'). For a single "
            "reconstruction use holocorr.holography functions instead."
        )
    if w.dtype.kind != "c":
        raise DataError(f"{name}.wave has dtype {w.dtype}; expected complex waves.")
    if w.sizes["frame"] < 1:
        raise ShapeError(f"{name} holds no frames.")
    if w.chunks is not None:
        ychunks, xchunks = w.chunks[1], w.chunks[2]
        if len(ychunks) > 1 or len(xchunks) > 1:
            waves = waves.chunk({"y": -1, "x": -1})
    return waves


def input_id(obj: xr.DataArray | xr.Dataset) -> str:
    """Return a content identifier of a (possibly lazy) input, without computing it.

    The provenance record in ``attrs["holocorr"]`` when present (it holds the
    input hashes of the step that made `obj`), else the dask graph name, else
    a hash of the values.
    """
    rec = obj.attrs.get("holocorr")
    if isinstance(rec, str) and rec:
        return "provenance:" + array_hash(np.frombuffer(rec.encode(), dtype=np.uint8))
    data = obj["wave"].data if isinstance(obj, xr.Dataset) and "wave" in obj else getattr(obj, "data", None)
    if hasattr(data, "dask"):
        return "dask:" + str(data.name)
    return array_hash(np.asarray(data))


def steps_nm(ds: xr.Dataset | xr.DataArray) -> tuple[float, float, str]:
    """(dy, dx, units) of the y/x coordinates (units as found, e.g. "nm" or "px")."""
    sy, uy = axis_step(ds, "y")
    sx, ux = axis_step(ds, "x")
    if uy != ux:
        raise ParameterError(f"y and x coordinates have different units ({uy!r}, {ux!r}).")
    return sy, sx, uy


def per_frame(
    values: np.ndarray,
    ds: xr.Dataset,
    *,
    long_name: str,
    units: str,
    extra_dims: tuple[str, ...] = (),
    extra_coords: dict | None = None,
) -> xr.DataArray:
    """Return a per-frame DataArray on `ds`'s frame coordinate."""
    dims = ("frame",) + extra_dims
    coords = {"frame": ds["frame"]} if "frame" in ds.coords else {}
    if extra_coords:
        coords.update(extra_coords)
    return xr.DataArray(values, dims=dims, coords=coords, attrs={"long_name": long_name, "units": units})


AXIS_COORD = {"axis": xr.DataArray(["y", "x"], dims="axis", attrs={"long_name": "image axis", "units": "1"})}
