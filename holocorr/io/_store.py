"""holocorr's own formats: NetCDF4 (``.nc``, h5netcdf) and Zarr (``.zarr``).

Encoding on disk (format version 1):

* complex variables are stored as real arrays with one extra trailing dim
  ``holocorr_complex_part`` of length 2 (real, imaginary) and the attr
  ``holocorr_complex_dtype`` (e.g. ``"complex64"``), so any netCDF tool can
  read them; :func:`decode_dataset` rebuilds the complex dtype exactly;
* attrs that netCDF/Zarr cannot hold are JSON strings (see ``_attrs``);
* a saved DataArray is a Dataset with global attrs ``holocorr_object =
  "DataArray"`` and ``holocorr_dataarray_name`` (JSON, so ``None`` survives).

Writes are atomic: the data go to a hidden temporary file or directory in the
target's folder, are flushed to disk, and only then renamed onto the target.
An existing Zarr store (a directory, which ``rename`` cannot replace) is
moved aside to ``.<name>.old-<id>`` first and the new one renamed into
place; if the process dies between these two renames, :func:`recover_store`
(called by load and save) puts the old store back.

Zarr chunks are compressed with Zstandard (level 3) with a content checksum,
so that a corrupted chunk is reported when read instead of giving wrong
numbers; NetCDF files are written uncompressed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._validate import warn
from ..errors import DataError, FileFormatError, HolocorrError, HolocorrWarning
from ._attrs import JSON_PREFIX, decode_attrs, encode_attrs, to_json
from ._common import out_of_memory

__all__ = ["encode_dataset", "decode_dataset", "read_store", "write_atomic", "recover_store"]

COMPLEX_DIM = "holocorr_complex_part"
COMPLEX_ATTR = "holocorr_complex_dtype"
OBJECT_ATTR = "holocorr_object"
NAME_ATTR = "holocorr_dataarray_name"
VERSION_ATTR = "holocorr_format_version"
#: Zarr stores written by save list their arrays here; every chunk of them is on disk
MANIFEST_ATTR = "holocorr_zarr_arrays"
_DEFAULT_NAME = "data"
#: Zstandard level of Zarr chunks (1-22; 3 is zstd's own default, fast to write and read)
ZARR_ZSTD_LEVEL = 3


# ----------------------------------------------------------------------------- encoding
def _split_complex(var: xr.Variable) -> xr.Variable:
    """Complex variable -> real variable with a trailing (real, imag) dim."""
    data = var.data
    real_dtype = np.empty((), dtype=var.dtype).real.dtype
    if isinstance(data, np.ndarray) and data.flags.c_contiguous:
        parts = data.view(real_dtype).reshape(data.shape + (2,))  # zero-copy
    elif isinstance(data, np.ndarray):
        parts = np.stack([data.real, data.imag], axis=-1)
    else:  # dask or other duck arrays
        import dask.array as dsa

        parts = dsa.stack([data.real, data.imag], axis=-1)
    return xr.Variable(var.dims + (COMPLEX_DIM,), parts)


def _join_complex(var: xr.Variable, dtype: np.dtype) -> xr.Variable:
    data = var.data
    if isinstance(data, np.ndarray):
        arr = np.ascontiguousarray(data, dtype=np.empty((), dtype).real.dtype)
        joined = arr.view(dtype)[..., 0]  # zero-copy when contiguous
    else:
        real = data[..., 0]
        imag = data[..., 1]
        joined = real.astype(dtype) + imag.astype(dtype) * dtype.type(1j)
    return xr.Variable(var.dims[:-1], joined)


def _encode_variable(name: Any, var: xr.Variable, *, keep_arrays: bool, index: bool) -> xr.Variable:
    attrs = dict(var.attrs)
    if var.dtype.kind == "c":
        if index:
            raise DataError(
                f"the dimension coordinate {name!r} is complex; coordinates must be real. "
                "Store complex values as a data variable instead."
            )
        out = _split_complex(var)
        attrs[COMPLEX_ATTR] = np.dtype(var.dtype).name
    else:
        out = xr.Variable(var.dims, var.data)
    out.attrs = encode_attrs(attrs, keep_arrays=keep_arrays)
    out.encoding = {}
    return out


def encode_dataset(obj: xr.DataArray | xr.Dataset, *, keep_arrays: bool) -> xr.Dataset:
    """Return a new Dataset ready for ``to_netcdf``/``to_zarr``; `obj` is untouched.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
    keep_arrays : bool
        Keep numeric 1-D array attrs native (netCDF) instead of JSON (Zarr).

    Returns
    -------
    xarray.Dataset
    """
    if isinstance(obj, xr.DataArray):
        taken = set(obj.coords) | set(obj.dims)
        usable = isinstance(obj.name, str) and obj.name and "/" not in obj.name
        name = obj.name if usable else _DEFAULT_NAME  # the real name is kept in NAME_ATTR
        while name in taken:
            name = "_" + name
        ds = obj.to_dataset(name=name, promote_attrs=False)
        global_attrs: dict[str, Any] = {
            OBJECT_ATTR: "DataArray",
            NAME_ATTR: JSON_PREFIX + to_json(obj.name),
        }
    else:
        ds = obj
        global_attrs = {OBJECT_ATTR: "Dataset"}
        for n in ds.variables:
            if not isinstance(n, str) or "/" in n:
                raise DataError(
                    f"variable name {n!r} cannot be stored: netCDF and Zarr need string "
                    "names without '/'. Rename it, e.g. ds.rename({old: new})."
                )
    indexes = set(ds.indexes)
    variables = {
        n: _encode_variable(n, v, keep_arrays=keep_arrays, index=n in indexes)
        for n, v in ds.variables.items()
    }
    coord_names = [n for n in ds.coords]
    attrs = encode_attrs(
        dict(ds.attrs) if isinstance(obj, xr.Dataset) else {}, keep_arrays=keep_arrays
    )
    attrs.update(global_attrs)
    attrs[VERSION_ATTR] = 1
    out = xr.Dataset(
        {n: v for n, v in variables.items() if n not in coord_names},
        coords={n: v for n, v in variables.items() if n in coord_names},
        attrs=attrs,
    )
    return out


def decode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Invert :func:`encode_dataset` (complex variables, JSON attrs).

    Parameters
    ----------
    ds : xarray.Dataset
        As opened from a file.

    Returns
    -------
    xarray.Dataset
    """
    data_vars = {}
    coords = {}
    for n, var in ds.variables.items():
        attrs = dict(var.attrs)
        dtype = attrs.pop(COMPLEX_ATTR, None)
        split = bool(var.dims) and var.dims[-1] == COMPLEX_DIM and var.shape[-1] == 2
        if split and var.dtype.kind == "f":
            # the attr names the dtype; if it was lost, the parts' precision tells it
            want = np.dtype(str(dtype)) if dtype is not None else np.result_type(var.dtype, np.complex64)
            if want.kind != "c" or np.empty((), want).real.dtype.itemsize < var.dtype.itemsize:
                raise DataError(
                    f"variable {n!r} is stored as (real, imaginary) parts but its "
                    f"{COMPLEX_ATTR} attribute is {dtype!r}, not a complex dtype; the file is damaged."
                )
            new = _join_complex(var, want)
        else:
            new = xr.Variable(var.dims, var.data)
        new.attrs = decode_attrs(attrs)
        new.encoding = dict(var.encoding)
        (coords if n in ds.coords else data_vars)[n] = new
    out = xr.Dataset(data_vars, coords=coords, attrs=decode_attrs(ds.attrs))
    out.encoding = dict(ds.encoding)
    return out


# ----------------------------------------------------------------------------- reading
def _open(path: Path, ext: str, lazy: bool) -> xr.Dataset:
    chunks = {} if lazy else None
    if ext == ".zarr":
        return xr.open_dataset(path, engine="zarr", consolidated=False, chunks=chunks)
    try:
        return xr.open_dataset(path, engine="h5netcdf", chunks=chunks)
    except Exception as first:  # noqa: BLE001 - maybe a netCDF3 file
        try:
            return xr.open_dataset(path, engine="scipy", chunks=chunks)
        except Exception:  # noqa: BLE001
            raise first from None


def read_store(path: Path, ext: str, *, lazy: bool) -> xr.Dataset:
    """Open a ``.nc``/``.zarr`` file written by holocorr (or any xarray-readable one).

    Parameters
    ----------
    path : pathlib.Path
    ext : str
        ``".nc"`` or ``".zarr"``.
    lazy : bool
        Keep the data on disk as dask arrays (the file stays open).

    Returns
    -------
    xarray.Dataset
        Decoded; ``encoding["source"]`` is the absolute path.

    Raises
    ------
    FileFormatError
        When the file cannot be opened or decoded (truncated, corrupt,
        garbled metadata, a chunk that fails its checksum, or a header that
        asks for more memory than there is).
    """
    kind = "NetCDF" if ext == ".nc" else "Zarr"
    try:
        ds = _open(path, ext, lazy)
        if ext == ".zarr":
            _check_zarr_complete(ds, path)
            ds.attrs.pop(MANIFEST_ATTR, None)
        if not lazy:
            ds = ds.load()
            ds.close()
    except HolocorrError:
        raise
    except MemoryError as exc:
        raise out_of_memory(path, exc) from exc
    except Exception as exc:  # noqa: BLE001
        raise FileFormatError(
            f"cannot read '{path}' as {kind}: {type(exc).__name__}: {exc}. The file may be "
            "truncated or corrupt, or not written by holocorr.save/xarray."
        ) from exc
    try:
        out = decode_dataset(ds)
    except Exception as exc:  # noqa: BLE001 - garbled holocorr attributes
        raise FileFormatError(
            f"cannot read '{path}' as {kind}: its holocorr encoding is damaged "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    out.encoding["source"] = str(path)
    for v in out.variables.values():
        v.encoding["source"] = str(path)
    return out


# ----------------------------------------------------------------------------- writing
def _fsync_path(path: Path) -> None:
    """Flush a file (errors raise: the caller must not publish it) or a folder (best effort)."""
    from .._atomic import fsync_dir, fsync_file

    if path.is_dir():
        fsync_dir(path)
    else:
        fsync_file(path)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            _fsync_path(Path(dirpath) / f)
        _fsync_path(Path(dirpath))


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _temp_sibling(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{tag}-{uuid.uuid4().hex[:12]}")


def _write_netcdf(ds: xr.Dataset, tmp: Path) -> None:
    ds.to_netcdf(tmp, engine="h5netcdf", format="NETCDF4")


def zarr_encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """Per-variable Zarr encoding: Zstandard (level 3) with a content checksum.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    dict
        ``{name: {"compressors": (ZstdCodec,)}}`` for every variable.
    """
    from zarr.codecs import ZstdCodec

    codec = ZstdCodec(level=ZARR_ZSTD_LEVEL, checksum=True)
    return {str(n): {"compressors": (codec,)} for n in ds.variables}


def _write_zarr(ds: xr.Dataset, tmp: Path) -> None:
    # every chunk is written (also all-fill ones), so a missing chunk file means damage
    ds = ds.copy()
    ds.attrs[MANIFEST_ATTR] = sorted(str(n) for n in ds.variables)
    ds.to_zarr(
        tmp,
        mode="w-",
        consolidated=False,
        zarr_format=3,
        encoding=zarr_encoding(ds),
        write_empty_chunks=True,
    )


def _check_zarr_complete(ds: xr.Dataset, path: Path) -> None:
    """Raise if a store written by save lost an array or a chunk file (see MANIFEST_ATTR)."""
    names = ds.attrs.get(MANIFEST_ATTR)
    if names is None:  # not written by holocorr.save (other writers skip all-fill chunks)
        return
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise FileFormatError(
            f"cannot read '{path}': its list of arrays (attribute {MANIFEST_ATTR!r}) is garbled; "
            "the store is damaged."
        )
    gone = [n for n in names if n not in ds.variables]
    if gone:
        raise FileFormatError(
            f"cannot read '{path}': the store is incomplete, array(s) {gone} are missing (their "
            "zarr.json was deleted or damaged). Copy the whole .zarr folder again."
        )
    import zarr

    group = zarr.open_group(str(path), mode="r")
    for n in names:
        arr = group[n]
        have, want = arr.nchunks_initialized, arr.nchunks
        if have < want:
            raise FileFormatError(
                f"cannot read '{path}': the store is incomplete, array {n!r} has {have} of its "
                f"{want} chunk files (a chunk was deleted, or the copy is incomplete). Copy the "
                "whole .zarr folder again."
            )


def is_zarr_store(path: Path) -> bool:
    """Return True if `path` is a directory that looks like a Zarr store (v2 or v3).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    bool
    """
    return path.is_dir() and any(
        (path / name).exists() for name in ("zarr.json", ".zgroup", ".zarray", ".zattrs")
    )


def _publish_new(tmp: Path, target: Path) -> None:
    """Rename `tmp` to a `target` that must not exist (no overwrite, even by a race)."""
    try:
        os.link(tmp, target)  # fails with FileExistsError if target appeared meanwhile
    except FileExistsError:
        raise FileFormatError(
            f"'{target}' appeared while it was being written; nothing was overwritten. "
            "Pass overwrite=True to replace it."
        ) from None
    except OSError:  # filesystems without hard links
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _swap_aside(tmp: Path, target: Path) -> None:
    """Replace the store `target` by `tmp` with two renames (old one moved aside first).

    If the process dies between the renames, `target` is missing and the
    previous store is ``.<name>.old-<id>``: :func:`recover_store` puts it back.
    """
    old = _temp_sibling(target, "old")
    os.rename(target, old)
    _fsync_path(target.parent)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    _fsync_path(target.parent)
    with contextlib.suppress(OSError):  # the new store is in place already
        _remove(old)


def _moved_aside(target: Path) -> list[Path]:
    """Return the stores an interrupted swap left as ``.<name>.old-<id>``, newest first."""
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    prefix = f".{target.name}.old-"
    found = [target.parent / n for n in names if n.startswith(prefix)]
    found = [p for p in found if is_zarr_store(p)]
    return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def recover_store(target: Path) -> Path | None:
    """Put back a Zarr store that a save interrupted between its two renames.

    A save that replaces an existing store moves the old store to
    ``.<name>.old-<id>`` and then the new one (complete and flushed) from
    ``.<name>.tmp-<id>`` onto `target`. A crash between the two
    leaves no `target`. If `target` is missing and such an old store exists,
    it is renamed back onto `target` (so the target holds the complete
    previous version, as if the save had never started) and a
    :class:`~holocorr.errors.HolocorrWarning` says so. The new data of the
    interrupted save, if any, are left where they are and named in the
    warning.

    Parameters
    ----------
    target : pathlib.Path
        Absolute path of a ``.zarr`` store.

    Returns
    -------
    pathlib.Path or None
        The restored folder's previous name, or None when nothing was done.
    """
    if target.exists() or target.is_symlink():
        return None
    for old in _moved_aside(target):
        try:
            os.rename(old, target)
        except OSError:  # another process restored it first, or the target appeared
            if target.exists():
                return None
            continue
        _fsync_path(target.parent)
        leftovers = sorted(
            n for n in os.listdir(target.parent) if n.startswith(f".{target.name}.tmp-")
        )
        extra = (
            f" The unfinished new version is in '{target.parent / leftovers[0]}'; check it "
            "and delete it, or save again."
            if leftovers
            else ""
        )
        warn(
            f"'{target}' was missing: a save replacing it was interrupted between its two "
            f"renames, and had moved the previous version aside to '{old.name}'. That "
            f"complete previous version has been put back as '{target.name}'.{extra}",
            HolocorrWarning,
        )
        return old
    return None


def write_atomic(ds: xr.Dataset, target: Path, ext: str, *, replace: bool) -> None:
    """Write `ds` to `target` so that a crash never leaves a half-written target.

    Parameters
    ----------
    ds : xarray.Dataset
        Already encoded (:func:`encode_dataset`).
    target : pathlib.Path
        Absolute destination path.
    ext : str
        ``".nc"`` or ``".zarr"``.
    replace : bool
        Whether an existing target may be replaced (checked by the caller).

    Raises
    ------
    FileFormatError
        When writing fails; the old target (if any) is left as it was and no
        temporary file remains.
    """
    tmp = _temp_sibling(target, "tmp")
    kind = "NetCDF" if ext == ".nc" else "Zarr"
    try:
        if ext == ".nc":
            _write_netcdf(ds, tmp)
            _fsync_path(tmp)
            if replace:
                os.replace(tmp, target)
            else:
                _publish_new(tmp, target)
        else:
            _write_zarr(ds, tmp)
            _fsync_tree(tmp)
            if target.exists() and replace:
                _swap_aside(tmp, target)
            else:
                os.rename(tmp, target)
        _fsync_path(target.parent)
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, HolocorrError) or not isinstance(exc, Exception):
            raise
        raise FileFormatError(
            f"could not write {kind} file '{target}': {type(exc).__name__}: {exc}. "
            "Nothing was changed on disk."
        ) from exc


def protected_paths(obj: xr.DataArray | xr.Dataset, inputs: Iterable[Any] | None) -> list[Path]:
    """Paths `save` must never overwrite: `inputs` and the files `obj` was loaded from.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
    inputs : iterable of path-like or None

    Returns
    -------
    list of pathlib.Path
    """
    found: list[Path] = []
    for p in inputs or ():
        found.append(Path(os.fspath(p)))
    holders: list[Any] = [obj]
    if isinstance(obj, xr.Dataset):
        holders += list(obj.variables.values())
    else:
        holders += [obj.variable]
    for h in holders:
        attrs = getattr(h, "attrs", {}) or {}
        src = attrs.get("source_path")
        if isinstance(src, str) and src:
            found.append(Path(src))
        else:
            orig = attrs.get("original_filename")
            if isinstance(orig, str) and orig:
                found.append(Path(orig))
        enc = getattr(h, "encoding", {}) or {}
        if isinstance(enc.get("source"), str):
            found.append(Path(enc["source"]))
    return found
