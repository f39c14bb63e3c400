"""Attribute encoding: arbitrary metadata -> netCDF/Zarr-safe attrs and back.

NetCDF attributes may only be strings, numbers or 1-D arrays of numbers; Zarr
attributes must be JSON. Everything else (dicts, None, bools, lists, nested
values) is stored as a string ``"holocorr-json:<JSON text>"`` and decoded by
:func:`decode_attrs`, so attrs written by :func:`holocorr.save` round-trip.
"""

from __future__ import annotations

import enum
import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["JSON_PREFIX", "json_safe", "to_json", "encode_attrs", "decode_attrs"]

#: prefix of string attrs that hold JSON-encoded values
JSON_PREFIX = "holocorr-json:"

#: arrays inside metadata larger than this are summarised, not listed
_MAX_LISTED = 4096

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def json_safe(value: Any, _depth: int = 0) -> Any:
    """Convert a metadata tree into plain JSON types (dict, list, str, number, bool, None).

    Numpy scalars become Python numbers, small arrays lists, large arrays a
    short description, NaN/inf the strings ``"nan"``/``"inf"``/``"-inf"``,
    bytes text (or hex), and any other object its ``str``.

    Parameters
    ----------
    value : object
        A (nested) metadata value, e.g. RosettaSciIO's ``original_metadata``.

    Returns
    -------
    object
        A value that :func:`json.dumps` accepts with ``allow_nan=False``.
    """
    if _depth > 64:
        return "<nested too deep>"
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return str(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    if isinstance(value, numbers.Complex):
        return str(complex(value))
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, _depth + 1) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            text = raw.rstrip(b"\x00").decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and text.isprintable():
            return text
        return "hex:" + raw[:_MAX_LISTED].hex()
    if isinstance(value, np.ndarray):
        if value.size <= _MAX_LISTED and value.dtype.kind in "biufcUS":
            return json_safe(value.tolist(), _depth + 1)
        return f"<array shape={value.shape} dtype={value.dtype}>"
    if isinstance(value, np.generic):
        return json_safe(value.item(), _depth + 1)
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # dask and other arrays
        return f"<array shape={tuple(value.shape)} dtype={value.dtype}>"
    return str(value)


def to_json(value: Any) -> str:
    """Return compact JSON text of :func:`json_safe` ``(value)``.

    Parameters
    ----------
    value : object
        Any metadata value.

    Returns
    -------
    str
        Standard JSON (no NaN tokens), non-ASCII characters kept as they are.
    """
    return json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False)


def _is_plain_number(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int):
        return _INT64_MIN <= value <= _INT64_MAX
    return isinstance(value, float | np.integer | np.floating)


def encode_attrs(attrs: Mapping[Any, Any], *, keep_arrays: bool) -> dict[str, Any]:
    """Return attrs that netCDF and Zarr can store, JSON-encoding the rest.

    Strings and real numbers are kept. 1-D numeric (non-boolean) arrays are
    kept when `keep_arrays` (netCDF stores them natively), otherwise stored
    as JSON with their dtype so they come back as arrays. Everything else
    (dict, list, tuple, None, bool, complex, nested values, strings that
    happen to start with the marker) becomes ``"holocorr-json:..."``.

    Parameters
    ----------
    attrs : mapping
        The attrs of a variable, coordinate or Dataset.
    keep_arrays : bool
        Keep numeric 1-D arrays as they are (True for netCDF).

    Returns
    -------
    dict
        Attrs with str keys and storable values.
    """
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        k = str(key)
        if isinstance(value, str):
            out[k] = JSON_PREFIX + json.dumps(value) if value.startswith(JSON_PREFIX) else value
        elif _is_plain_number(value):
            out[k] = value
        elif isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.ndim == 1:
            if keep_arrays and value.size > 0:
                out[k] = value
            else:
                out[k] = JSON_PREFIX + json.dumps(
                    {"__ndarray__": json_safe(value), "dtype": value.dtype.str}, allow_nan=False
                )
        else:
            out[k] = JSON_PREFIX + to_json(value)
    return out


def _decode_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(JSON_PREFIX):
        try:
            decoded = json.loads(value[len(JSON_PREFIX) :])
        except json.JSONDecodeError:
            return value
        if isinstance(decoded, dict) and set(decoded) == {"__ndarray__", "dtype"}:
            dt = np.dtype(decoded["dtype"])
            vals = [float(v) if isinstance(v, str) else v for v in decoded["__ndarray__"]]
            return np.asarray(vals, dtype=dt)
        return decoded
    return value


def decode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Invert :func:`encode_attrs`.

    Parameters
    ----------
    attrs : mapping
        Attrs as read from a file.

    Returns
    -------
    dict
        Attrs with JSON-encoded values decoded (dict, list, None, bool, ...).
    """
    return {k: _decode_value(v) for k, v in attrs.items()}
