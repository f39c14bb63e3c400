"""Read microscope files through RosettaSciIO into contract-valid DataArrays.

RosettaSciIO (``rsciio``) returns, per signal, a dict with ``data``, ``axes``
(name, size, scale, offset, units, navigate), ``metadata`` (HyperSpy's
metadata tree), ``original_metadata`` (the file's own tags) and sometimes a
``mapping`` from original to HyperSpy metadata that HyperSpy would apply. This
module turns such a dict into an :class:`xarray.DataArray` with dims named by
what the axes measure, coordinates in nm / eV, and microscope metadata in
attrs.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._provenance import file_sha256, provenance
from .._validate import spatial_units_to_nm
from ..errors import FileFormatError, HolocorrError, ParameterError, UncalibratedWarning
from ._attrs import to_json
from ._common import RSCIIO_FORMATS, out_of_memory, supported_text, warn_user

__all__ = ["read_rsciio"]

_ENERGY_TO_EV = {"ev": 1.0, "kev": 1e3, "mev": 1e-3}
_TIME_TO_S = {
    "s": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ns": 1e-9,
    "min": 60.0,
}
_UNDEFINED_UNITS = {"", "<undefined>", "undefined", "none", "px", "pixel", "pixels", "1"}


def _clean_units(units: Any) -> str:
    if units is None:
        return ""
    u = str(units).strip()
    # ImageJ writes micro as an escaped sequence
    return u.replace("\\u00B5", "µ").replace("\\u00b5", "µ")


def _reciprocal_factor(units: str) -> float | None:
    """Factor converting a reciprocal length unit (1/Å, nm^-1, ...) to 1/nm."""
    u = units.replace(" ", "")
    base = None
    if u.startswith("1/"):
        base = u[2:]
    elif u.endswith("^-1"):
        base = u[:-3]
    elif u.endswith("-1"):
        base = u[:-2]
    if not base:
        return None
    f = spatial_units_to_nm(base)
    return None if f is None else 1.0 / f


@dataclass
class _Axis:
    index: int
    size: int
    name: str
    units: str
    scale: float
    offset: float
    navigate: bool
    values: np.ndarray | None = None  # non-uniform axis values, if any
    kind: str = "other"  # length, reciprocal, energy, time, other
    factor: float = 1.0
    dim: str = ""
    calibrated: bool = True
    reason: str = ""

    def classify(self) -> None:
        u = self.units
        if (f := spatial_units_to_nm(u)) is not None:
            self.kind, self.factor = "length", f
        elif u.lower() in _ENERGY_TO_EV:
            self.kind, self.factor = "energy", _ENERGY_TO_EV[u.lower()]
        elif (f := _reciprocal_factor(u)) is not None:
            self.kind, self.factor = "reciprocal", f
        elif u in _TIME_TO_S:
            self.kind, self.factor = "time", _TIME_TO_S[u]
        self.calibrated, self.reason = self._check_calibration()

    def _check_calibration(self) -> tuple[bool, str]:
        if self.kind == "other" and self.units.lower() in _UNDEFINED_UNITS:
            return False, (f"unknown units {self.units!r}" if self.units else "no units")
        if self.values is not None:
            v = self.values
            ok = v.size == self.size and np.all(np.isfinite(v))
            if ok and v.size > 1 and not (np.all(np.diff(v) > 0) or np.all(np.diff(v) < 0)):
                ok = False
            return (True, "") if ok else (False, "non-monotonic or non-finite axis values")
        if not math.isfinite(self.scale) or self.scale <= 0:
            return False, f"scale {self.scale!r} is not a positive number"
        if self.kind == "other" and self.scale == 1.0:
            return False, f"scale 1 with unknown units {self.units!r}"
        return True, ""


def _axes_from_dict(sig: Mapping[str, Any], shape: tuple[int, ...], path: Path) -> list[_Axis]:
    raw = list(sig.get("axes") or [])
    if len(raw) != len(shape):
        raise FileFormatError(
            f"cannot read '{path}': the reader described {len(raw)} axes for data of "
            f"shape {shape}; the file is probably corrupt or truncated."
        )
    if all("index_in_array" in a for a in raw):
        raw = sorted(raw, key=lambda a: int(a["index_in_array"]))
    axes = []
    for i, a in enumerate(raw):
        values = None
        if a.get("axis") is not None:
            values = np.asarray(a["axis"], dtype=np.float64).reshape(-1)
        scale = a.get("scale", 1.0)
        offset = a.get("offset", 0.0)
        try:
            scale = float(scale) if scale is not None else 1.0
        except (TypeError, ValueError):
            scale = float("nan")
        try:
            offset = float(offset) if offset is not None else 0.0
        except (TypeError, ValueError):
            offset = 0.0
        if not math.isfinite(offset):
            offset = 0.0
        ax = _Axis(
            index=i,
            size=int(shape[i]),
            name=str(a.get("name") or ""),
            units=_clean_units(a.get("units")),
            scale=scale,
            offset=offset,
            navigate=bool(a.get("navigate", False)),
            values=values,
        )
        ax.classify()
        axes.append(ax)
    return axes


_SPECTRUM_TYPES = ("eels", "eds", "edx", "spectrum", "cl")


def _name_dims(axes: list[_Axis], signal_type: str) -> None:
    """Give every axis a dim name (see module docstring of holocorr.io)."""
    energy = [a for a in axes if a.kind == "energy"]
    for a in energy[1:]:
        a.kind = "other"
    if energy:
        energy[0].dim = "energy"
    rest = [a for a in axes if not a.dim]
    length = [a for a in rest if a.kind == "length"]
    recip = [a for a in rest if a.kind == "reciprocal"]
    # real-space pair
    if len(length) >= 2:
        length[-2].dim, length[-1].dim = "y", "x"
        if len(recip) >= 2:
            recip[-2].dim, recip[-1].dim = "ky", "kx"
    elif len(recip) >= 2 and not length:
        recip[-2].dim, recip[-1].dim = "ky", "kx"
    else:
        candidates = [a for a in rest if a.kind != "time"]
        if len(candidates) >= 2:
            signal = [a for a in candidates if not a.navigate]
            pair = signal[-2:] if len(signal) >= 2 else candidates[-2:]
            pair[0].dim, pair[1].dim = "y", "x"
        elif len(candidates) == 1:
            a = candidates[0]
            if energy:
                # (position, energy), e.g. SR-EELS; a navigation axis without
                # units is a series of spectra instead
                if a.kind == "length" or not a.navigate:
                    a.dim = "y"
            elif len(axes) == 1:
                spectrum = any(t in signal_type.lower() for t in _SPECTRUM_TYPES)
                if a.kind == "length" or not spectrum:
                    a.dim = "x"
                else:
                    a.dim = "energy"
            elif a.kind == "length" or not a.navigate:
                a.dim = "x"
    leftovers = [a for a in axes if not a.dim]
    for k, a in enumerate(leftovers):
        a.dim = "frame" if k == 0 else f"frame_{k}"
    # spatial pairs are calibrated together or not at all
    for pair in (("y", "x"), ("ky", "kx")):
        members = [a for a in axes if a.dim in pair]
        if any(not a.calibrated for a in members):
            for a in members:
                if a.calibrated:
                    a.calibrated, a.reason = False, "the other image axis is uncalibrated"
        for a in members:
            if a.calibrated and a.kind not in ("length", "reciprocal"):
                a.calibrated, a.reason = False, f"units {a.units!r} are not a length"
    for a in axes:
        if a.dim == "energy" and a.calibrated and a.kind != "energy":
            a.calibrated, a.reason = False, f"units {a.units!r} are not an energy"


_LONG_NAMES = {
    "y": "y",
    "x": "x",
    "ky": "spatial frequency ky",
    "kx": "spatial frequency kx",
    "energy": "energy loss",
}


def _coord(a: _Axis) -> tuple[np.ndarray, dict[str, str]]:
    idx = np.arange(a.size, dtype=np.float64)
    base = "frame" if a.dim.startswith("frame") else a.dim
    long_name = _LONG_NAMES.get(base, base)
    if not a.calibrated:
        return idx, {"units": "px", "long_name": long_name}
    vals = a.values if a.values is not None else a.offset + a.scale * idx
    if a.kind == "length":
        units = "nm"
    elif a.kind == "reciprocal":
        units = "1/nm"
    elif a.kind == "energy":
        units = "eV"
    elif a.kind == "time":
        units, long_name = "s", "time"
    else:
        units = a.units
    vals = (
        np.asarray(vals, dtype=np.float64) * a.factor
        if a.factor != 1.0
        else np.asarray(vals, dtype=np.float64)
    )
    return vals, {"units": units, "long_name": long_name}


def _get_path(tree: Any, dotted: str) -> Any:
    """Look up ``"A.B C.D"`` in nested dicts, accepting ``_`` for spaces."""
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            raise KeyError(dotted)
        if part in node:
            node = node[part]
            continue
        for k in node:
            if str(k).replace(" ", "_") == part.replace(" ", "_"):
                node = node[k]
                break
        else:
            raise KeyError(dotted)
    return node


def _set_path(tree: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def _apply_mapping(metadata: dict, original: Mapping, mapping: Mapping | None) -> dict:
    """Apply RosettaSciIO's original->metadata mapping as HyperSpy would."""
    if not mapping:
        return metadata
    for src, target in mapping.items():
        try:
            dst, fn = target
            value = _get_path(original, src)
            if fn is not None:
                value = fn(value)
            if value is not None:
                _set_path(metadata, dst, value)
        except Exception:  # noqa: BLE001 - a mapping that does not fit this file is skipped
            continue
    return metadata


def _as_float(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _find_key(tree: Any, keys: Sequence[str], depth: int = 0) -> Any:
    """Depth-first search for the first value under one of `keys`."""
    if not isinstance(tree, Mapping) or depth > 6:
        return None
    for k in keys:
        if k in tree and not isinstance(tree[k], Mapping):
            return tree[k]
    for v in tree.values():
        found = _find_key(v, keys, depth + 1)
        if found is not None:
            return found
    return None


_DM_EXPOSURE = (
    "ImageList.TagGroup0.ImageTags.DataBar.Exposure Time (s)",
    "ImageList.TagGroup0.ImageTags.Acquisition.Parameters.High Level.Exposure (s)",
    "DetectorMetadata.ExposureTime",
)


def _instrument_attrs(md: Mapping, original: Mapping) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tem = md.get("Acquisition_instrument", {}) if isinstance(md, Mapping) else {}
    tem = tem.get("TEM", {}) if isinstance(tem, Mapping) else {}
    if not isinstance(tem, Mapping):
        tem = {}
    if (v := _as_float(tem.get("beam_energy"))) is not None and v > 0:
        out["beam_energy_kv"] = v
    biprism = tem.get("Biprism", {})
    if isinstance(biprism, Mapping) and (v := _as_float(biprism.get("voltage"))) is not None:
        out["biprism_voltage_v"] = v
    exposure = None
    for sub in ("Camera", "Detector"):
        if exposure is None and isinstance(tem.get(sub), Mapping):
            exposure = _as_float(_find_key(tem[sub], ("exposure", "exposure_time")))
    if exposure is None:
        exposure = _as_float(tem.get("exposure"))
    if exposure is None:
        for p in _DM_EXPOSURE:
            try:
                exposure = _as_float(_get_path(original, p))
            except KeyError:
                continue
            if exposure is not None:
                break
    if exposure is not None and exposure > 0:
        out["exposure_s"] = exposure
    if (v := _as_float(tem.get("magnification"))) is not None and v > 0:
        out["magnification"] = v
    return out


def _data_labels(md: Mapping, title: str) -> tuple[str, str]:
    """(long_name, units) of the data values from HyperSpy's Signal.quantity."""
    sig = md.get("Signal", {}) if isinstance(md, Mapping) else {}
    quantity = sig.get("quantity") if isinstance(sig, Mapping) else None
    if isinstance(quantity, str) and quantity.strip():
        m = re.match(r"^(.*?)\s*\((.+)\)\s*$", quantity.strip())
        if m:
            return (m.group(1) or "intensity"), m.group(2)
        return quantity.strip(), "a.u."
    return "intensity", "a.u."


def _reader(ext: str):
    module, _ = RSCIIO_FORMATS[ext]
    try:
        return importlib.import_module(module).file_reader, module
    except ImportError as exc:  # pragma: no cover - rsciio is a dependency
        raise FileFormatError(
            f"reading {ext} files needs RosettaSciIO's {module} plugin, which could not "
            f"be imported ({exc}). Install it with `pip install rosettasciio`."
        ) from exc


def _check_reader_kwargs(reader, module: str, kwargs: Mapping[str, Any]) -> None:
    params = inspect.signature(reader).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    allowed = [n for n in params if n not in ("filename", "lazy")]
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ParameterError(
            f"unknown option(s) {unknown} for {module}; holocorr.load accepts index=, "
            f"signal=, lazy=, checksum= and the reader's own options {allowed}."
        )


def _title(sig: Mapping) -> str:
    md = sig.get("metadata") or {}
    gen = md.get("General", {}) if isinstance(md, Mapping) else {}
    title = gen.get("title", "") if isinstance(gen, Mapping) else ""
    return str(title) if title else ""


def _describe(signals: Sequence[Mapping]) -> str:
    lines = []
    for i, s in enumerate(signals):
        shape = tuple(getattr(s.get("data"), "shape", ()))
        lines.append(f"  index={i}: title={_title(s)!r}, shape={shape}")
    return "\n".join(lines)


def _pick(signals: list, path: Path, index: int | None, signal: str | None) -> tuple[int, Mapping]:
    if not signals:
        raise FileFormatError(f"cannot read '{path}': the file holds no data set.")
    n = len(signals)
    if index is not None and signal is not None:
        raise ParameterError("pass either index= or signal=, not both.")
    if signal is not None:
        matches = [i for i, s in enumerate(signals) if _title(s) == signal]
        if len(matches) != 1:
            what = "no" if not matches else "several"
            raise ParameterError(
                f"'{path}' has {what} data set(s) titled {signal!r}; it holds:\n"
                f"{_describe(signals)}\nChoose one with index=<number>."
            )
        return matches[0], signals[matches[0]]
    if index is None:
        if n == 1:
            return 0, signals[0]
        raise FileFormatError(
            f"'{path}' holds {n} data sets:\n{_describe(signals)}\n"
            "Choose one with holocorr.load(path, index=<number>) or "
            "holocorr.load(path, signal=<title>)."
        )
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise ParameterError(f"index must be an integer, got {index!r}.")
    if not -n <= int(index) < n:
        raise ParameterError(
            f"index={index} is out of range: '{path}' holds {n} data set(s):\n{_describe(signals)}"
        )
    i = int(index) % n
    return i, signals[i]


def _native(data: Any) -> Any:
    dt = getattr(data, "dtype", None)
    if dt is None:
        return np.asarray(data)
    if dt.fields is not None:
        raise FileFormatError(
            f"the data have a structured dtype ({dt}), e.g. an RGB(A) image; holocorr "
            "needs a single-channel image or spectrum. Convert it to greyscale first."
        )
    if dt.kind not in "biufc":
        raise FileFormatError(f"the data have a non-numeric dtype ({dt}).")
    if not dt.isnative:
        data = data.astype(dt.newbyteorder("="))
    return data


def _squeeze(data: Any, axes: list[_Axis]) -> tuple[Any, list[_Axis]]:
    keep = [a for a in axes if a.size != 1]
    if len(keep) == len(axes) or not keep:
        return data, axes
    index = tuple(slice(None) if a.size != 1 else 0 for a in axes)
    data = data[index]
    for i, a in enumerate(keep):
        a.index = i
    return data, keep


def _mrc_uncalibrated(original: Mapping, axes: list[_Axis]) -> None:
    """MRC files without a cell size come back from rsciio with scale 1 'nm'."""
    hdr = original.get("std_header") if isinstance(original, Mapping) else None
    if not isinstance(hdr, Mapping) or "fei_header" in original:
        return
    for a in axes:
        if a.name not in ("x", "y"):
            continue
        length = _as_float(np.ravel(hdr.get("Xlen" if a.name == "x" else "Ylen", [0]))[0])
        n = _as_float(np.ravel(hdr.get("MX" if a.name == "x" else "MY", [0]))[0])
        if not length or not n:
            a.calibrated, a.reason = False, "the MRC header has no cell size"


def _to_dataarray(
    signals: Any,
    path: Path,
    ext: str,
    module: str,
    *,
    index: int | None,
    signal: str | None,
    lazy: bool,
    checksum: bool,
    reader_kwargs: Mapping[str, Any],
    sha256: str | None = None,
) -> tuple[xr.DataArray, list[str]]:
    """RosettaSciIO's signal list -> (DataArray, list of uncalibrated axes); see read_rsciio."""
    if isinstance(signals, Mapping):
        signals = [signals]
    signals = list(signals or [])
    chosen, sig = _pick(signals, path, index, signal)

    data = sig.get("data")
    if data is None or not hasattr(data, "shape"):
        raise FileFormatError(f"cannot read '{path}': the reader returned no array.")
    try:
        data = _native(data)
    except FileFormatError as exc:
        raise FileFormatError(f"cannot use '{path}': {exc}") from None
    shape = tuple(int(s) for s in data.shape)
    if data.ndim == 0 or 0 in shape:
        raise FileFormatError(f"cannot read '{path}': the data set is empty (shape {shape}).")
    axes = _axes_from_dict(sig, shape, path)
    for a in axes:
        if a.values is not None and a.values.size != a.size:
            a.values = None
            a.calibrated, a.reason = False, "axis values do not match the data size"
    metadata = dict(sig.get("metadata") or {})
    original = sig.get("original_metadata") or {}
    metadata = _apply_mapping(metadata, original, sig.get("mapping"))
    if ext == ".mrc":
        _mrc_uncalibrated(original, axes)
    data, axes = _squeeze(data, axes)

    signal_type = ""
    sig_md = metadata.get("Signal", {})
    if isinstance(sig_md, Mapping) and sig_md.get("signal_type"):
        signal_type = str(sig_md["signal_type"])
    _name_dims(axes, signal_type)

    order = (
        [a for a in axes if a.dim.startswith("frame")]
        + [a for d in ("y", "x", "ky", "kx") for a in axes if a.dim == d]
        + [a for a in axes if a.dim == "energy"]
    )
    if [a.index for a in order] != list(range(len(axes))):
        data = data.transpose([a.index for a in order])
    coords = {}
    uncal = []
    for a in order:
        vals, cattrs = _coord(a)
        coords[a.dim] = xr.Variable((a.dim,), vals, cattrs)
        if not a.calibrated and (a.dim in ("y", "x", "ky", "kx", "energy")):
            uncal.append(f"{a.dim} ({a.reason})")

    title = _title(sig)
    long_name, units = _data_labels(metadata, title)
    attrs: dict[str, Any] = {"units": units, "long_name": long_name}
    if title:
        attrs["title"] = title
    general = metadata.get("General", {}) if isinstance(metadata, Mapping) else {}
    attrs["original_filename"] = str(
        (general.get("original_filename") if isinstance(general, Mapping) else None) or path.name
    )
    attrs["source_path"] = str(path)
    if checksum:
        attrs["source_sha256"] = sha256 or file_sha256(path)
    if signal_type:
        attrs["signal_type"] = signal_type
    attrs.update(_instrument_attrs(metadata, original))
    if len(signals) > 1:
        attrs["signal_index"] = chosen
    try:
        import rsciio

        attrs["reader"] = f"{module} (RosettaSciIO {rsciio.__version__})"
    except Exception:  # pragma: no cover  # noqa: BLE001
        attrs["reader"] = module
    attrs["metadata_json"] = to_json(metadata)
    attrs["original_metadata_json"] = to_json(original)
    attrs["holocorr"] = provenance(
        "io.load",
        {
            "filename": path.name,
            "index": index,
            "signal": signal,
            "lazy": lazy,
            **{k: v for k, v in reader_kwargs.items()},
        },
        {"file": attrs.get("source_sha256")},
    )
    da = xr.DataArray(
        data, dims=[a.dim for a in order], coords=coords, attrs=attrs, name=title or None
    )
    da.encoding["source"] = str(path)
    return da, uncal


def read_rsciio(
    path: Path,
    ext: str,
    *,
    index: int | None,
    signal: str | None,
    lazy: bool,
    checksum: bool,
    reader_kwargs: Mapping[str, Any],
    sha256: str | None = None,
) -> xr.DataArray:
    """Read one signal of a microscope file into a DataArray (see holocorr.load).

    Parameters
    ----------
    path : pathlib.Path
        Absolute path of an existing, non-empty file.
    ext : str
        Lower-case extension, a key of ``RSCIIO_FORMATS``.
    index, signal : int or str or None
        Which data set of a multi-signal file to read.
    lazy : bool
        Ask the reader for a dask-backed array.
    checksum : bool
        Record ``source_sha256``.
    reader_kwargs : mapping
        Extra options for the RosettaSciIO reader.
    sha256 : str, optional
        The file's ``"sha256:<hex>"`` if already computed (see ``_guard``).

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    FileFormatError
        When the reader fails or the file holds several data sets.
    ParameterError
        For bad `index`, `signal` or reader options.
    """
    reader, module = _reader(ext)
    _check_reader_kwargs(reader, module, reader_kwargs)
    kwargs = dict(reader_kwargs)
    if "lazy" in inspect.signature(reader).parameters:
        kwargs["lazy"] = lazy
    try:
        signals = reader(str(path), **kwargs)
    except HolocorrError:
        raise
    except MemoryError as exc:  # a corrupt header asking for terabytes, or a huge file
        raise out_of_memory(path, exc) from exc
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes one clear error
        if reader_kwargs and isinstance(exc, TypeError) and "keyword" in str(exc):
            raise ParameterError(
                f"the {module} reader did not accept option(s) {sorted(reader_kwargs)}: "
                f"{exc}. See the RosettaSciIO documentation of this format."
            ) from exc
        fmt = RSCIIO_FORMATS[ext][1]
        if isinstance(exc, ImportError):
            hint = " or read only the images with select_type='images'" if ext == ".emd" else ""
            name = getattr(exc, "name", None)
            how = f"pip install {name}" if name else "install the package named above"
            raise FileFormatError(
                f"reading '{path}' as {fmt} needs an optional package: {exc}. "
                f"To fix it, {how}{hint}."
            ) from exc
        raise FileFormatError(
            f"cannot read '{path}' as {fmt}: {type(exc).__name__}: {exc}. The file may be "
            f"truncated, corrupt or not really a {ext} file ({supported_text()})."
        ) from exc
    try:
        da, uncal = _to_dataarray(
            signals, path, ext, module, index=index, signal=signal, lazy=lazy,
            checksum=checksum, reader_kwargs=reader_kwargs, sha256=sha256,
        )
    except (HolocorrError, Warning):
        raise
    except MemoryError as exc:
        raise out_of_memory(path, exc) from exc
    except Exception as exc:  # noqa: BLE001 - metadata a corrupt file made unusable
        raise FileFormatError(
            f"cannot read '{path}' as {RSCIIO_FORMATS[ext][1]}: the reader returned data "
            f"or metadata holocorr cannot interpret ({type(exc).__name__}: {exc}). The file "
            "is probably corrupt; copy it again from the microscope PC."
        ) from exc
    if uncal:
        warn_user(
            f"'{path.name}' has no usable spatial/energy calibration for "
            f"{', '.join(uncal)}: using pixel coordinates (units 'px'). To calibrate, "
            "assign coordinates yourself, e.g. for 0.25 nm/px: "
            "da = da.assign_coords(y=('y', 0.25 * np.arange(da.sizes['y']), "
            "{'units': 'nm', 'long_name': 'y'}), x=('x', 0.25 * np.arange(da.sizes['x']), "
            "{'units': 'nm', 'long_name': 'x'})).",
            UncalibratedWarning,
        )
    return da
