"""Hologram series: many files (or one stack) as one lazy (frame, y, x) DataArray.

:func:`open_series` reads only the files' headers when called; the pixels
are read by dask tasks, chunk by chunk, wherever the computation runs (a
thread, a local process or a cluster worker that sees the same files). The
task graph holds file paths, never pixel data, so a series far larger than
memory streams through a computation with one chunk per worker in flight.
"""

from __future__ import annotations

import datetime as _dt
import functools
import glob as _glob
import json
import math
import os
import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._options import OPTIONS
from .._provenance import provenance
from .._validate import axis_step, check_choice, warn
from ..errors import (
    CalibrationError,
    FileFormatError,
    HolocorrError,
    HolocorrWarning,
    ParameterError,
    ShapeError,
    UncalibratedWarning,
)
from ._common import OWN_FORMATS, extension

__all__ = ["open_series", "FRAME_COORDS"]

#: per-frame coordinates taken from file metadata: name -> (units, long_name)
FRAME_COORDS = {
    "time_s": ("s", "acquisition time from the first frame"),
    "bias_v": ("V", "bias voltage"),
    "exposure_s": ("s", "exposure time"),
}
_GLOB_CHARS = re.compile(r"[*?\[]")
#: target bytes per chunk for chunks="auto"
_AUTO_CHUNK_BYTES = 64 * 2**20
#: warnings are process-global state: only one reader thread may change the filters at a time
_WARN_LOCK = threading.Lock()


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(p))]


def _resolve(paths: Any) -> list[Path]:
    if isinstance(paths, bytes):
        paths = os.fsdecode(paths)
    if isinstance(paths, str | os.PathLike):
        text = os.path.expanduser(os.fspath(paths))
        if not text:
            raise ParameterError("paths_or_glob is an empty string; give a glob such as 'run1/*.dm4'.")
        if _GLOB_CHARS.search(text) and not os.path.exists(text):
            found = [Path(p) for p in _glob.glob(text)]
            found = [p for p in found if p.suffix.lower() != "" or p.is_dir()]
            if not found:
                raise FileFormatError(
                    f"no files match {text!r} (the current folder is '{os.getcwd()}'). Check the "
                    "pattern, e.g. 'cycle01/holo_*.dm4'."
                )
            return [p.absolute() for p in sorted(found, key=_natural_key)]
        return [Path(text).absolute()]
    if isinstance(paths, Sequence):
        out = []
        for p in paths:
            if isinstance(p, bytes):
                p = os.fsdecode(p)
            if not isinstance(p, str | os.PathLike):
                raise ParameterError(
                    f"paths_or_glob must be a glob, a path or a list of paths; found a {type(p).__name__} in the list."
                )
            out.append(Path(os.path.expanduser(os.fspath(p))).absolute())
        if not out:
            raise ParameterError("paths_or_glob is an empty list; give at least one file.")
        return out
    raise ParameterError(f"paths_or_glob must be a glob, a path or a list of paths, got {type(paths).__name__}.")


# ----------------------------------------------------------------------------- reading
def _load(path: Path, *, lazy: bool, variable: str | None) -> xr.DataArray:
    """holocorr.load without holocorr's warnings (reported once per series instead)."""
    from ._api import load

    kw: dict[str, Any] = {"lazy": lazy}
    if extension(path) in OWN_FORMATS:
        if variable is not None:
            kw["variable"] = variable
        return load(path, **kw)  # holocorr's own stores emit no calibration warnings
    kw["checksum"] = False
    with _WARN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", HolocorrWarning)
        return load(path, **kw)


@functools.lru_cache(maxsize=8)
def _open_stack(path: str, variable: str | None, mtime_ns: int, size: int) -> xr.DataArray:
    """Open a stack file lazily, once per process (again when the file changes)."""
    return _load(Path(path), lazy=True, variable=variable)


def _read_frames(items: tuple, shape: tuple[int, int], dtype: str, on_error: str, variable: str | None) -> np.ndarray:
    """Dask task: read the frames of one chunk. ``items`` = ((path, index_in_file or -1, frame), ...)."""
    import dask

    out = None
    i = 0
    while i < len(items):
        path, _, _ = items[i]
        j = i
        while j < len(items) and items[j][0] == path:
            j += 1
        try:
            with dask.config.set(scheduler="sync"):
                if items[i][1] < 0:  # a file holding one image
                    da = _load(Path(path), lazy=False, variable=variable)
                    vals = np.asarray(da.values)[None]
                else:  # frames of a stack: consecutive indices
                    st = os.stat(path)
                    da = _open_stack(path, variable, st.st_mtime_ns, st.st_size)
                    first, last = items[i][1], items[j - 1][1]
                    vals = np.asarray(da[first : last + 1].values)
            if vals.shape[1:] != tuple(shape):
                raise ShapeError(f"it holds {vals.shape[1:]} px frames, the series {tuple(shape)}")
            if i == 0 and j == len(items) and vals.dtype == np.dtype(dtype):
                return vals  # the whole chunk from one read: no copy
            if out is None:
                out = np.empty((len(items),) + tuple(shape), dtype=dtype)
            out[i:j] = vals
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad frame file
            if on_error == "raise":
                frames = ", ".join(str(it[2]) for it in items[i:j])
                raise FileFormatError(
                    f"cannot read frame(s) {frames} of the series from '{path}': "
                    f"{type(exc).__name__}: {exc}. Replace the file, or open the series with "
                    "on_error='skip' to carry on without it (the frame becomes NaN and is flagged)."
                ) from None
            if out is None:
                out = np.empty((len(items),) + tuple(shape), dtype=dtype)
            out[i:j] = np.nan
        i = j
    return out


# ----------------------------------------------------------------------------- metadata
def _time_from_metadata(attrs: Mapping) -> float | None:
    """Acquisition time [s since the epoch] from HyperSpy metadata General.date/time."""
    text = attrs.get("metadata_json")
    if not isinstance(text, str):
        return None
    try:
        gen = json.loads(text).get("General", {})
    except (json.JSONDecodeError, AttributeError):
        return None
    date, time = gen.get("date"), gen.get("time")
    if not isinstance(date, str) or not isinstance(time, str):
        return None
    try:
        stamp = _dt.datetime.fromisoformat(f"{date}T{time}")
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.UTC)
    return stamp.timestamp()


def _frame_value(attrs: Mapping, name: str) -> float:
    v = attrs.get(name)
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        return math.nan
    return float(v)


def _scan(paths: list[Path], variable: str | None, on_error: str):
    """Open each file lazily: frames, shapes, dtypes, calibration and per-frame metadata."""
    from tqdm.auto import tqdm

    entries = []
    skipped: list[tuple[str, str]] = []
    uncalibrated = []
    show = OPTIONS["progress"] and len(paths) >= 200
    for p in tqdm(paths, desc="scanning series", unit="file", disable=not show):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", HolocorrWarning)
                da = _load(p, lazy=True, variable=variable) if extension(p) in OWN_FORMATS else None
                if da is None:
                    from ._api import load

                    da = load(p, lazy=True, checksum=False)
            if any(issubclass(w.category, UncalibratedWarning) for w in caught):
                uncalibrated.append(p.name)
            if da.ndim == 2 and da.dims == ("y", "x"):
                n = 1
            elif da.ndim == 3 and da.dims == ("frame", "y", "x"):
                n = da.sizes["frame"]
            else:
                raise ShapeError(
                    f"'{p}' holds data with dims {da.dims}; a series needs (y, x) images or "
                    "(frame, y, x) stacks of holograms."
                )
            if da.dtype.kind not in "iuf":
                raise FileFormatError(f"'{p}' holds {da.dtype} data; a hologram series needs real numbers.")
        except HolocorrError as exc:
            if on_error == "raise":
                if isinstance(exc, ShapeError):
                    raise
                raise FileFormatError(
                    f"cannot open '{p}' as a frame of the series: {exc} Replace or remove the file, "
                    "or pass on_error='skip' to carry on without it."
                ) from exc
            skipped.append((str(p), str(exc).splitlines()[0]))
            continue
        entries.append((p, da, n))
    return entries, skipped, uncalibrated


def _step(p: Path, da: xr.DataArray, dim: str) -> tuple[float, str]:
    """axis_step, with the file named in its error (a damaged file can hold any coordinates)."""
    try:
        return axis_step(da, dim)
    except HolocorrError as exc:
        raise type(exc)(f"'{p}' cannot be a frame of the series: {exc}") from exc


def _check_grid(entries) -> tuple[tuple[int, int], xr.DataArray]:
    p0, da0, _ = entries[0]
    shape = (da0.sizes["y"], da0.sizes["x"])
    steps = {}
    for dim in ("y", "x"):
        steps[dim] = _step(p0, da0, dim)
    for p, da, _ in entries[1:]:
        s = (da.sizes["y"], da.sizes["x"])
        if s != shape:
            raise ShapeError(
                f"frames of different shapes in one series: '{p.name}' is {s[0]}x{s[1]} px, the "
                f"first frame '{p0.name}' {shape[0]}x{shape[1]} px. A series must come from one "
                "detector area and binning; open the two sizes as separate series."
            )
        for dim in ("y", "x"):
            st, un = _step(p, da, dim)
            st0, un0 = steps[dim]
            if un != un0 or not math.isclose(st, st0, rel_tol=1e-6):
                raise CalibrationError(
                    f"'{p.name}' has {dim} steps of {st:g} {un}, the first frame '{p0.name}' "
                    f"{st0:g} {un0}: the magnification changed within the series. Open the parts "
                    "as separate series."
                )
    return shape, da0


def _user_coord(name: str, value: Any, n_total: int, keep: np.ndarray, paths_per_frame: list[str]):
    if callable(value):
        vals = np.asarray([value(p) for p in paths_per_frame], dtype=np.float64)
        return vals
    try:
        vals = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"coords[{name!r}] must be numbers (one per frame) or a function of the file path, "
            f"got {type(value).__name__}."
        ) from exc
    if vals.ndim == 0:
        return np.full(int(keep.sum()), float(vals))
    if vals.shape != (n_total,):
        raise ParameterError(
            f"coords[{name!r}] has {vals.size} value(s); the series has {n_total} frame(s) "
            "(count frames before any file is skipped)."
        )
    return vals[keep]


def open_series(
    paths_or_glob,
    *,
    chunks: int | str = "auto",
    variable: str | None = None,
    coords: Mapping[str, Any] | None = None,
    on_error: str = "raise",
) -> xr.DataArray:
    """Open a hologram series as one lazy (frame, y, x) DataArray backed by dask.

    The files are opened lazily to read their shapes, calibration and
    metadata; pixels are read only when the result (or something computed
    from it) is, one chunk of frames per dask task. Any file
    :func:`holocorr.load` reads can be a frame: DM3/DM4, EMD, HSPY, TIFF,
    MRC, and holocorr's NetCDF (``.nc``) and Zarr (``.zarr``). A file may
    hold one image (y, x) or a stack (frame, y, x); one ``.nc`` or ``.zarr``
    stack opens the same way as a folder of single frames.

    Parameters
    ----------
    paths_or_glob : str, path-like or sequence of them
        A glob pattern (``"cycle01/holo_*.dm4"``, sorted naturally, so
        ``holo_2`` comes before ``holo_10``), one file, or a list of files
        in frame order.
    chunks : int or "auto"
        Frames per dask chunk. "auto" aims at about 64 MB per chunk (16
        frames of 1024x1024 float32, one frame of 4096x4096).
    variable : str, optional
        For ``.nc``/``.zarr`` files holding several variables: which one.
    coords : dict, optional
        Per-frame coordinates given by the user, e.g. ``{"bias_v": [...],
        "time_s": [...]}``: one number per frame (before skipping), one
        number for all, or a function of the file path. They take
        precedence over the same names found in the files.
    on_error : {"raise", "skip"}
        A file that cannot be opened raises
        :class:`~holocorr.errors.FileFormatError` naming it, or with "skip"
        is left out with one :class:`~holocorr.errors.HolocorrWarning`
        listing the skipped files (also in ``attrs["skipped_files"]``). A
        frame that opens but cannot be read when computed raises likewise
        (naming its file), or with "skip" becomes NaN, which
        ``holocorr.series.reconstruct(..., on_error="skip")`` flags. With
        "skip", integer data are read as float32 (NaN needs a float type).

    Returns
    -------
    xarray.DataArray
        Dims (frame, y, x), dask-backed, the files' dtype. Coordinates:
        ``frame`` (the frame number in the series, kept when files are
        skipped), ``y``/``x`` from the first file (nm when calibrated),
        ``source_file`` (path of each frame's file), and where the files
        carry them (attrs ``time_s``, ``bias_v``, ``exposure_s``, or the
        acquisition date and time of HyperSpy metadata) or `coords` gives
        them: ``time_s`` [s from the first frame], ``bias_v`` [V],
        ``exposure_s`` [s] (NaN for frames without the value). Attrs: the
        first file's units and microscope metadata, ``skipped_files`` and
        ``holocorr`` (provenance: the paths, sizes and modification times).

    Raises
    ------
    FileFormatError
        No file matches; a file cannot be opened (``on_error="raise"``);
        every file fails.
    ShapeError
        Frames of different shapes, or files that do not hold (y, x) images.
    CalibrationError
        Frames with different pixel sizes.
    ParameterError
        Bad `chunks`, `coords` or `on_error`.

    Warns
    -----
    UncalibratedWarning
        Once, when frames have no spatial calibration (pixel coordinates).
    HolocorrWarning
        Once, listing files skipped with ``on_error="skip"``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, xarray as xr
    >>> import holocorr
    >>> tmp = tempfile.TemporaryDirectory()
    >>> nm = {"units": "nm", "long_name": "x"}
    >>> for k in range(3):
    ...     img = xr.DataArray(np.full((16, 16), k, np.float32), dims=("y", "x"),
    ...                        coords={"y": ("y", np.arange(16.0), nm), "x": ("x", np.arange(16.0), nm)},
    ...                        attrs={"units": "counts", "long_name": "hologram", "bias_v": 0.5 * k})
    ...     _ = holocorr.save(img, os.path.join(tmp.name, f"holo_{k}.nc"))
    >>> s = open_series(os.path.join(tmp.name, "holo_*.nc"), chunks=2)
    >>> s.dims, s.chunks[0], s.bias_v.values.tolist()
    (('frame', 'y', 'x'), (2, 1), [0.0, 0.5, 1.0])
    >>> float(s.isel(frame=2).mean())
    2.0
    >>> tmp.cleanup()
    """
    import dask.array as dsa
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    check_choice("on_error", on_error, ("raise", "skip"))
    if variable is not None and not isinstance(variable, str):
        raise ParameterError(f"variable must be a variable name (str) or None, got {variable!r}.")
    if coords is not None and not isinstance(coords, Mapping):
        raise ParameterError(f"coords must be a dict of per-frame values, got {type(coords).__name__}.")
    paths = _resolve(paths_or_glob)
    entries, skipped, uncalibrated = _scan(paths, variable, on_error)
    if not entries:
        raise FileFormatError(
            f"none of the {len(paths)} file(s) could be opened; first problem: '{skipped[0][0]}': {skipped[0][1]}"
        )
    shape, da0 = _check_grid(entries)
    dtype = np.result_type(*[da.dtype for _, da, _ in entries])
    if on_error == "skip" and dtype.kind in "iu":
        dtype = np.dtype(np.float32)

    # frame table: one row per frame of the whole series (before skipping)
    items: list[tuple[str, int, int]] = []
    meta_rows: list[Mapping] = []
    keep_flags: list[bool] = []
    frame_paths: list[str] = []
    ok_paths = {str(p) for p, _, _ in entries}
    by_path = {str(p): (da, n) for p, da, n in entries}
    number = 0
    for p in paths:
        key = str(p)
        if key not in ok_paths:  # skipped files count as one frame each
            keep_flags.append(False)
            frame_paths.append(key)
            number += 1
            continue
        da, n = by_path[key]
        for j in range(n):
            items.append((key, j if da.ndim == 3 else -1, number))
            keep_flags.append(True)
            frame_paths.append(key)
            if da.ndim == 3:
                row = {
                    name: (
                        float(da[name].values[j])
                        if name in da.coords and da[name].dims == ("frame",)
                        else _frame_value(da.attrs, name)
                    )
                    for name in FRAME_COORDS
                }
            else:
                row = {name: _frame_value(da.attrs, name) for name in FRAME_COORDS}
            if math.isnan(row["time_s"]):
                row["time_s"] = _time_from_metadata(da.attrs) or math.nan
            meta_rows.append(row)
            number += 1
    keep = np.asarray(keep_flags)
    n = len(items)

    # chunks
    frame_bytes = shape[0] * shape[1] * dtype.itemsize
    if chunks == "auto":
        per = max(1, int(_AUTO_CHUNK_BYTES // frame_bytes))
    elif isinstance(chunks, int | np.integer) and not isinstance(chunks, bool) and chunks >= 1:
        per = int(chunks)
    else:
        raise ParameterError(f"chunks must be a positive number of frames per chunk or 'auto', got {chunks!r}.")
    per = min(per, n)
    bounds = list(range(0, n, per)) + [n]
    chunk_sizes = tuple(b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True))

    stats = []
    for p, _, _ in entries:
        st = p.stat()
        stats.append((str(p), st.st_size, st.st_mtime_ns))
    name = "open-series-" + tokenize(stats, shape, dtype.str, chunk_sizes, on_error, variable)
    layer = {
        (name, c, 0, 0): (_read_frames, tuple(items[a:b]), shape, dtype.str, on_error, variable)
        for c, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    }
    graph = HighLevelGraph.from_collections(name, layer, dependencies=())
    data = dsa.Array(graph, name, (chunk_sizes, (shape[0],), (shape[1],)), dtype=dtype)

    # coordinates
    frame_numbers = np.asarray([it[2] for it in items], dtype=np.int64)
    out_coords: dict[str, Any] = {
        "frame": xr.DataArray(
            frame_numbers, dims="frame", attrs={"units": "1", "long_name": "frame number in the series"}
        ),
        "source_file": xr.DataArray(
            np.asarray([it[0] for it in items]), dims="frame", attrs={"units": "1", "long_name": "source file"}
        ),
    }
    for dim in ("y", "x"):
        if dim in da0.coords:
            out_coords[dim] = xr.DataArray(np.asarray(da0[dim].values), dims=dim, attrs=dict(da0[dim].attrs))
    table = {k: np.asarray([r[k] for r in meta_rows], dtype=np.float64) for k in FRAME_COORDS}
    if np.isfinite(table["time_s"]).any():
        table["time_s"] = table["time_s"] - np.nanmin(table["time_s"])
    user = dict(coords or {})
    for cname, value in user.items():
        if not isinstance(cname, str) or cname in ("frame", "y", "x", "source_file"):
            raise ParameterError(f"coords may not set {cname!r}; give per-frame quantities such as 'bias_v'.")
        table[cname] = _user_coord(cname, value, len(keep), keep, [frame_paths[i] for i in np.flatnonzero(keep)])
    for cname, vals in table.items():
        if cname not in user and not np.isfinite(vals).any():
            continue
        units, long_name = FRAME_COORDS.get(cname, ("1", cname))
        if cname in user:
            source = "user"
        else:
            source = "file metadata" + ("" if np.isfinite(vals).all() else " (NaN where a file has none)")
        out_coords[cname] = xr.DataArray(
            vals, dims="frame", attrs={"units": units, "long_name": long_name, "source": source}
        )

    attrs = {
        k: v
        for k, v in da0.attrs.items()
        if k in ("units", "long_name", "beam_energy_kv", "biprism_voltage_v", "magnification", "signal_type", "reader")
    }
    attrs.setdefault("units", "counts")
    attrs.setdefault("long_name", "hologram intensity")
    if skipped:
        attrs["skipped_files"] = json.dumps([{"file": f, "reason": r} for f, r in skipped])
    attrs["holocorr"] = provenance(
        "io.open_series",
        {"chunks": chunks, "variable": variable, "on_error": on_error, "coords": sorted(user) if user else None},
        {"files": "files:" + tokenize(stats)},
    )
    out = xr.DataArray(data, dims=("frame", "y", "x"), coords=out_coords, name="hologram", attrs=attrs)
    if uncalibrated:
        warn(
            f"{len(uncalibrated)} frame file(s) of the series have no spatial calibration "
            f"(e.g. '{uncalibrated[0]}'): using pixel coordinates. Calibrate the files or assign "
            "coords in nm to get physical units.",
            UncalibratedWarning,
        )
    if skipped:
        listed = "; ".join(f"'{Path(f).name}': {r}" for f, r in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warn(
            f"skipped {len(skipped)} unreadable file(s) of the series (on_error='skip'): {listed}{more}. "
            "They are listed in attrs['skipped_files'].",
            HolocorrWarning,
        )
    return out
