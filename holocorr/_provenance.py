"""Provenance records: holocorr version, function, parameters and input hashes.

Every result carries ``attrs["holocorr"]``, a JSON string made here, so that a
saved number can be traced to the code and inputs that produced it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any

import numpy as np
import xxhash

from ._version import __version__

__all__ = ["array_hash", "file_sha256", "provenance", "jsonable"]


def array_hash(a: Any) -> str:
    """Content hash of an array: ``"xxh3_128:<hex>"`` over dtype, shape and bytes.

    xxHash3 is used for in-memory arrays because it runs at memory speed
    (a 64 MB hologram hashes in a few ms); files get SHA-256
    (:func:`file_sha256`).

    Parameters
    ----------
    a : array_like
        The array (a DataArray's values are used).

    Returns
    -------
    str
        The hash with its algorithm prefix.
    """
    arr = np.asarray(getattr(a, "data", a))
    h = xxhash.xxh3_128()
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(np.ascontiguousarray(arr).view(np.uint8).reshape(-1).data if arr.size else b"")
    return "xxh3_128:" + h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """Return ``"sha256:<hex>"`` of a file's bytes, read in 1 MiB blocks.

    Parameters
    ----------
    path : str or path-like
        File to hash.

    Returns
    -------
    str
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def jsonable(value: Any) -> Any:
    """Convert parameters (numpy scalars, tuples, dataclasses, paths) to JSON types.

    Parameters
    ----------
    value : object
        A parameter value.

    Returns
    -------
    object
        A JSON-serialisable equivalent (arrays become their hash).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) or hasattr(value, "dims"):
        return array_hash(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def provenance(function: str, parameters: dict[str, Any], inputs: dict[str, Any]) -> str:
    """Build the JSON provenance string stored in ``attrs["holocorr"]``.

    Parameters
    ----------
    function : str
        Qualified name of the public function, e.g. ``"holography.reconstruct"``.
    parameters : dict
        The call's options.
    inputs : dict
        Input name to array (hashed) or to an existing hash string.

    Returns
    -------
    str
        JSON with keys ``holocorr_version``, ``numpy_version``, ``function``,
        ``parameters`` and ``inputs``. No timestamp, so repeated runs give
        identical attrs.
    """
    hashes = {k: v if isinstance(v, str) else array_hash(v) for k, v in inputs.items() if v is not None}
    record = {
        "holocorr_version": __version__,
        "numpy_version": np.__version__,
        "function": function,
        "parameters": jsonable(parameters),
        "inputs": hashes,
    }
    return json.dumps(record, sort_keys=True)
