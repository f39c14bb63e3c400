"""Public entry points of holocorr.io: :func:`load`, :func:`load_dataset`, :func:`save`."""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import DataError, FileFormatError, ParameterError
from ._common import OWN_FORMATS, RSCIIO_FORMATS, check_readable, extension
from ._guard import preflight
from ._rsciio import read_rsciio
from ._store import (
    NAME_ATTR,
    OBJECT_ATTR,
    VERSION_ATTR,
    encode_dataset,
    is_zarr_store,
    protected_paths,
    read_store,
    recover_store,
    write_atomic,
)

__all__ = ["load", "load_dataset", "save"]


def _as_path(path: Any, name: str = "path") -> Path:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str | os.PathLike):
        raise ParameterError(
            f"{name} must be a file path (str or pathlib.Path), got {type(path).__name__}."
        )
    text = os.fspath(path)
    if not text:
        raise ParameterError(f"{name} is an empty string; give a file path.")
    return Path(text).expanduser().absolute()


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {value!r}.")
    return value


def _describe_vars(ds: xr.Dataset) -> str:
    return "\n".join(
        f"  {n!r}: dims={tuple(v.dims)}, shape={tuple(v.shape)}, dtype={v.dtype}"
        for n, v in ds.data_vars.items()
    )


def load(
    path: str | os.PathLike,
    *,
    index: int | None = None,
    signal: str | None = None,
    variable: str | None = None,
    lazy: bool = False,
    checksum: bool = True,
    **reader_kwargs: Any,
) -> xr.DataArray:
    """Read a microscope or holocorr file into a calibrated :class:`xarray.DataArray`.

    Microscope formats are read with RosettaSciIO: Gatan ``.dm3``/``.dm4``,
    ``.emd`` (Thermo Fisher Velox and NCEM/Berkeley), HyperSpy ``.hspy``/
    ``.hdf5``, ``.tif``/``.tiff`` and ``.mrc``. holocorr's own ``.nc``
    (NetCDF4) and ``.zarr`` files written by :func:`save` are read back
    exactly (dtype, including complex64, coords and attrs).

    Axes are named by what they measure: two axes with length units become
    ``y``, ``x`` (coords in nm, converted from µm, Å, pm, m, ...); an axis in
    eV/keV becomes ``energy`` (eV, placed last); two reciprocal-length axes
    without real-space ones become ``ky``, ``kx`` (1/nm); any other axis is
    ``frame`` (time axes in s). So an image is ``(y, x)``, a stack
    ``(frame, y, x)``, a spectrum ``(energy,)``, a spectrum image
    ``(y, x, energy)`` and an SR-EELS frame ``(y, energy)``. Axes of length 1
    are dropped. Without a usable calibration (no or unknown units with scale 1,
    ``"<undefined>"`` units, a zero, negative or NaN scale) an axis gets pixel
    coordinates (units ``"px"``) and an
    :class:`~holocorr.errors.UncalibratedWarning` says how to calibrate.

    Parameters
    ----------
    path : str or path-like
        The file (a ``.zarr`` store is a directory).
    index : int, optional
        Which data set to read from a file holding several (RosettaSciIO
        order; the error for a multi-signal file lists them).
    signal : str, optional
        Pick the data set by its title instead of `index`.
    variable : str, optional
        For ``.nc``/``.zarr`` files holding several data variables: which one.
    lazy : bool
        Keep the data on disk as a dask array (read on demand). The file must
        stay in place while the array is used.
    checksum : bool
        For microscope files, record the SHA-256 of the file in
        ``attrs["source_sha256"]`` (reads the file once more; turn off for very
        large lazy loads). ``.nc``/``.zarr`` files keep the attrs they were
        saved with and are not hashed.
    **reader_kwargs
        Options passed on to the RosettaSciIO reader (e.g. ``select_type`` for
        Velox EMD, ``dataset_path`` for NCEM EMD).

    Returns
    -------
    xarray.DataArray
        The data in the file's dtype (native byte order). Coords carry
        ``attrs["units"]`` (``"nm"``, ``"1/nm"``, ``"eV"``, ``"s"`` or
        ``"px"``) and ``attrs["long_name"]``. For microscope files the attrs hold
        ``units`` and ``long_name`` of the values, ``original_filename``,
        ``source_path`` (absolute), ``source_sha256``, ``reader``, and where
        the file has them ``beam_energy_kv`` [kV], ``biprism_voltage_v`` [V],
        ``exposure_s`` [s], ``magnification``, ``signal_type``, ``title``; the
        file's full metadata as JSON strings ``original_metadata_json`` and
        ``metadata_json`` (HyperSpy's mapped tree); and ``holocorr``
        (provenance).

    Raises
    ------
    FileFormatError
        For a missing path, a directory, an empty, truncated or corrupt file
        (among them headers that declare more data than the file holds, HDF5
        metadata the HDF5 library would never finish reading, and a ``.zarr``
        store saved by :func:`save` that lost a chunk or an array), data that
        do not fit in memory, an unknown extension, or a file holding several
        data sets when neither `index` nor `signal` (or `variable`) is given.
    ParameterError
        For a bad `index`, `signal` or `variable`, or options that do not apply
        to the format.

    Warns
    -----
    UncalibratedWarning
        When spatial or energy axes get pixel coordinates.
    HolocorrWarning
        When a ``.zarr`` store had been moved aside by an interrupted
        :func:`save` and was put back (see :func:`save`).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, xarray as xr
    >>> import holocorr
    >>> tmp = tempfile.TemporaryDirectory()
    >>> nm = {"units": "nm", "long_name": "x"}
    >>> phase = xr.DataArray(
    ...     np.zeros((4, 4), np.float32), dims=("y", "x"),
    ...     coords={"y": ("y", 0.25 * np.arange(4), nm), "x": ("x", 0.25 * np.arange(4), nm)},
    ...     attrs={"units": "rad", "long_name": "phase"})
    >>> path = holocorr.save(phase, os.path.join(tmp.name, "phase.nc"))
    >>> back = holocorr.load(path)
    >>> back.dtype, float(back.x[1]), back.x.attrs["units"]
    (dtype('float32'), 0.25, 'nm')
    >>> tmp.cleanup()
    """
    p = _as_path(path)
    ext = extension(p)
    _check_bool("lazy", lazy)
    _check_bool("checksum", checksum)
    if ext == ".zarr":
        recover_store(p)
    check_readable(p, ext)
    if ext in OWN_FORMATS:
        if reader_kwargs or index is not None or signal is not None:
            given = sorted(reader_kwargs) + [
                n for n, v in (("index", index), ("signal", signal)) if v is not None
            ]
            raise ParameterError(
                f"option(s) {given} do not apply to {ext} files; use variable=<name> to "
                "choose a data variable, or holocorr.io.load_dataset for all of them."
            )
        if ext == ".nc":
            preflight(p, lazy=lazy, checksum=False)
        ds = read_store(p, ext, lazy=lazy)
        return _dataarray_from_store(ds, p, variable)
    if variable is not None:
        raise ParameterError(
            f"variable= applies to .nc/.zarr files; for {ext} files use index= or signal=."
        )
    # reader options (e.g. MRC navigation_shape) can change what the file must hold
    sha256 = preflight(p, lazy=lazy, checksum=checksum, ext="" if reader_kwargs else ext)
    return read_rsciio(
        p,
        ext,
        index=index,
        signal=signal,
        lazy=lazy,
        checksum=checksum,
        reader_kwargs=reader_kwargs,
        sha256=sha256,
    )


def _dataarray_from_store(ds: xr.Dataset, path: Path, variable: str | None) -> xr.DataArray:
    names = list(ds.data_vars)
    if variable is not None:
        if variable not in ds.data_vars:
            raise ParameterError(
                f"'{path}' has no data variable {variable!r}; it holds:\n{_describe_vars(ds)}"
            )
        chosen = variable
    elif len(names) == 1:
        chosen = names[0]
    elif not names:
        raise FileFormatError(f"'{path}' holds no data variables (only coordinates).")
    else:
        raise FileFormatError(
            f"'{path}' holds {len(names)} data variables:\n{_describe_vars(ds)}\n"
            "Choose one with holocorr.load(path, variable=<name>), or read them all "
            "with holocorr.io.load_dataset(path)."
        )
    da = ds[chosen]
    if ds.attrs.get(OBJECT_ATTR) == "DataArray":
        name = ds.attrs.get(NAME_ATTR, chosen)
        if name is not None and not isinstance(name, str | int | float):
            name = chosen  # a garbled name attribute: keep the variable's name
        da = da.rename(name)
    da.encoding["source"] = str(path)
    return da


def load_dataset(path: str | os.PathLike, *, lazy: bool = False) -> xr.Dataset:
    """Read a whole ``.nc``/``.zarr`` file (every variable) as an :class:`xarray.Dataset`.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save` (or another xarray-readable NetCDF/Zarr).
    lazy : bool
        Keep the data on disk as dask arrays.

    Returns
    -------
    xarray.Dataset
        Complex variables, coords and attrs exactly as saved. A file saved
        from a DataArray gives a one-variable Dataset.

    Raises
    ------
    FileFormatError
        For missing, corrupt or non-NetCDF/Zarr files (also a ``.zarr``
        store saved by :func:`save` that lost a chunk or an array).

    Warns
    -----
    HolocorrWarning
        When a ``.zarr`` store had been moved aside by an interrupted
        :func:`save` and was put back (see :func:`save`).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, xarray as xr
    >>> from holocorr.io import load_dataset, save
    >>> tmp = tempfile.TemporaryDirectory()
    >>> ds = xr.Dataset({"wave": (("y", "x"), np.ones((2, 3), np.complex64))})
    >>> path = save(ds, os.path.join(tmp.name, "wave.zarr"))
    >>> load_dataset(path)["wave"].dtype
    dtype('complex64')
    >>> tmp.cleanup()
    """
    p = _as_path(path)
    ext = extension(p)
    _check_bool("lazy", lazy)
    if ext in RSCIIO_FORMATS:
        raise FileFormatError(
            f"load_dataset reads holocorr's .nc and .zarr files; read '{p.name}' with "
            "holocorr.load."
        )
    if ext == ".zarr":
        recover_store(p)
    check_readable(p, ext)
    if ext == ".nc":
        preflight(p, lazy=lazy, checksum=False)
    ds = read_store(p, ext, lazy=lazy)
    if ds.attrs.get(OBJECT_ATTR) == "DataArray":
        ds.attrs = {
            k: v for k, v in ds.attrs.items() if k not in (OBJECT_ATTR, NAME_ATTR, VERSION_ATTR)
        }
    else:
        ds.attrs = {k: v for k, v in ds.attrs.items() if k not in (OBJECT_ATTR, VERSION_ATTR)}
    return ds


def _check_object_variables(obj: xr.DataArray | xr.Dataset) -> None:
    """Refuse object-dtype variables that NetCDF/Zarr cannot store (mixed or non-scalar values)."""
    items = list(obj.coords.items())
    items += [(obj.name, obj)] if isinstance(obj, xr.DataArray) else list(obj.data_vars.items())
    for name, var in items:
        if var.dtype != object:
            continue
        kinds = set()
        for v in np.asarray(var.values).ravel():
            if isinstance(v, numbers.Number):
                kinds.add("number")
            elif isinstance(v, str | bytes):
                kinds.add("text")
            else:
                kinds.add(type(v).__name__)
        if len(kinds) > 1 or kinds - {"number", "text"}:
            label = "the data" if name is None else f"variable {name!r}"
            raise DataError(
                f"{label} is an object array holding {', '.join(sorted(kinds))} values; NetCDF and Zarr store "
                "numbers or strings only. Convert it first, e.g. da.astype(float) or da.astype(str)."
            )


def _is_within(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def save(
    obj: xr.DataArray | xr.Dataset,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] | None = None,
) -> Path:
    """Write a DataArray or Dataset to NetCDF4 (``.nc``) or Zarr (``.zarr``), atomically.

    The format follows the extension. ``.nc`` is NetCDF4/HDF5 written with
    h5netcdf; ``.zarr`` is a Zarr directory store. Complex variables are
    stored as real arrays with a trailing (real, imaginary) dimension of
    length 2 that any NetCDF/Zarr tool can read, and :func:`load` restores
    the complex dtype (complex64 stays complex64). Attrs that NetCDF cannot
    hold (dict, list, None, bool, nested values) are stored as JSON strings
    and decoded by :func:`load`, so attrs and coords (with their attrs)
    round-trip; tuples come back as lists. ``.nc`` data are written
    uncompressed (fast, and readable by every netCDF tool); ``.zarr`` chunks
    are compressed with Zstandard (level 3) with a content checksum, so that
    a chunk corrupted on disk is reported by :func:`load` instead of being
    read as wrong numbers.

    The file is first written to a hidden temporary file (or directory) in
    the same folder, flushed to disk, and then renamed onto `path`, so an
    interrupted save never leaves a half-written file: either the old file or
    the complete new one is there. Replacing an existing ``.zarr`` store (a
    directory) takes two renames: the old store is first moved aside to a
    hidden ``.<name>.old-<id>`` folder, then the new one is renamed into
    place. If the process dies between the two, `path` is missing for a
    moment; the next :func:`load` or :func:`save` of `path` finds the
    moved-aside store, puts it back (the complete previous version, as if
    the save had not started) and says so with a
    :class:`~holocorr.errors.HolocorrWarning`.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        What to save; it is not modified.
    path : str or path-like
        Destination ending in ``.nc`` or ``.zarr``; its folder must exist.
    overwrite : bool
        Replace an existing file (default False: refuse).
    inputs : iterable of path-like, optional
        Files this result was computed from. They are never overwritten, nor
        is any file recorded in `obj`'s attrs ``source_path`` (set by
        :func:`load`), ``original_filename`` or in its ``encoding["source"]``
        — not even with ``overwrite=True``.

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Raises
    ------
    FileFormatError
        For another extension, a missing folder, an existing target without
        `overwrite`, a target that is one of the inputs, or a failed write
        (the old target is then left unchanged).
    ParameterError
        When `obj` is not a DataArray/Dataset or options have the wrong type.
    DataError
        For data that cannot be stored (complex dimension coordinates,
        non-string variable names, object arrays mixing numbers and
        strings or holding other objects).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, xarray as xr
    >>> import holocorr
    >>> tmp = tempfile.TemporaryDirectory()
    >>> wave = xr.DataArray(np.full((2, 2), 1 + 2j, np.complex64), dims=("y", "x"),
    ...                     attrs={"units": "1", "long_name": "wave", "notes": {"a": None}})
    >>> path = holocorr.save(wave, os.path.join(tmp.name, "wave.nc"))
    >>> back = holocorr.load(path)
    >>> back.dtype, complex(back[0, 0]), back.attrs["notes"]
    (dtype('complex64'), (1+2j), {'a': None})
    >>> tmp.cleanup()
    """
    if not isinstance(obj, xr.DataArray | xr.Dataset):
        raise ParameterError(
            f"save needs an xarray.DataArray or xarray.Dataset, got {type(obj).__name__}; "
            "wrap arrays with xarray.DataArray(..., dims=('y', 'x'), coords=...)."
        )
    _check_bool("overwrite", overwrite)
    if isinstance(inputs, str | bytes | os.PathLike):
        inputs = [inputs]
    target = _as_path(path)
    ext = extension(target)
    if ext not in OWN_FORMATS:
        raise FileFormatError(
            f"cannot save to '{target}': holocorr writes .nc (NetCDF4) and .zarr (Zarr) "
            f"files, not {ext or 'files without extension'}. Change the extension."
        )
    if not target.parent.is_dir():
        raise FileFormatError(
            f"cannot save to '{target}': the folder '{target.parent}' does not exist. "
            "Create it first, e.g. os.makedirs(folder, exist_ok=True)."
        )
    if ext == ".zarr":
        recover_store(target)
    exists = target.exists() or target.is_symlink()
    protected = protected_paths(obj, inputs)
    for p in protected:
        same = False
        try:
            same = exists and p.exists() and os.path.samefile(p, target)
        except OSError:
            same = False
        if same or (exists and ext == ".zarr" and p.exists() and _is_within(p, target)):
            raise FileFormatError(
                f"refusing to write '{target}': it is an input of this data ('{p}'), and "
                "overwriting it would destroy the raw data (overwrite=True does not "
                "change this). Save under another name."
            )
    if exists:
        if not overwrite:
            raise FileFormatError(
                f"'{target}' already exists; pass overwrite=True to replace it, or choose "
                "another name."
            )
        if ext == ".nc" and target.is_dir():
            raise FileFormatError(f"cannot save to '{target}': it is a directory, not a .nc file.")
        if ext == ".zarr" and not is_zarr_store(target):
            raise FileFormatError(
                f"refusing to replace '{target}': it is not a Zarr store (no zarr.json or "
                ".zgroup inside), so holocorr will not delete it. Choose another name."
            )
    _check_object_variables(obj)
    encoded = encode_dataset(obj, keep_arrays=(ext == ".nc"))
    write_atomic(encoded, target, ext, replace=exists and overwrite)
    return target
