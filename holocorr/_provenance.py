"""Provenance records: holocorr version, function, parameters and input hashes.

Every result carries ``attrs["holocorr"]``, a JSON string made here, so that a
saved number can be traced to the code and inputs that produced it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from typing import Any

import numpy as np
import xxhash

from ._version import __version__

__all__ = ["array_hash", "file_sha256", "provenance", "jsonable"]

#: memory addresses in reprs ("<function f at 0x7f...>") differ between runs
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def array_hash(a: Any) -> str:
    """Content hash of an array: ``"xxh3_128:<hex>"`` over dtype, shape and bytes.

    xxHash3 is used for in-memory arrays because it runs at memory speed
    (a 64 MB hologram hashes in a few ms); files get SHA-256
    (:func:`file_sha256`). The hash depends on the values, the dtype and the
    shape only: C or Fortran order, strided views and byte order do not
    change it. Object arrays are hashed through their JSON form.

    Parameters
    ----------
    a : array_like
        The array (a DataArray's values are used), or a scalar.

    Returns
    -------
    str
        The hash with its algorithm prefix.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> array_hash(a) == array_hash(np.asfortranarray(a))
    True
    """
    if isinstance(a, np.ndarray):
        arr = a
    elif hasattr(a, "dims") and hasattr(a, "data"):  # xarray DataArray / Variable
        arr = np.asarray(a.data)
    else:
        arr = np.asarray(a)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    h = xxhash.xxh3_128()
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    if arr.dtype.hasobject:
        h.update(json.dumps(jsonable(arr.tolist()), sort_keys=True).encode())
    elif arr.size:
        h.update(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
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

    The result is strict JSON (NaN and infinities become the strings
    ``"nan"``, ``"inf"``, ``"-inf"``) and the same for equal inputs in any
    process: sets are sorted and memory addresses are cut out of reprs.

    Parameters
    ----------
    value : object
        A parameter value.

    Returns
    -------
    object
        A JSON-serialisable equivalent (arrays become their hash, a Dataset
        a dict of its variables' hashes, other objects their repr).

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"sigma": np.float32(0.5), "shape": (4, 4), "bad": float("nan")})
    {'sigma': 0.5, 'shape': [4, 4], 'bad': 'nan'}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, np.generic):
        item = value.item()
        if isinstance(item, np.generic):  # e.g. longdouble has no exact Python type
            item = float(item) if np.issubdtype(value.dtype, np.floating) else repr(item)
        return jsonable(item)
    if hasattr(value, "data_vars") and hasattr(value, "dims"):  # xarray Dataset
        return {
            str(k): array_hash(v)
            for k, v in sorted(value.data_vars.items(), key=lambda kv: str(kv[0]))
        }
    if isinstance(value, np.ndarray) or hasattr(value, "dims"):
        return array_hash(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return _ADDRESS.sub("", repr(value))


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
        ``parameters`` and ``inputs`` (None inputs are left out). No
        timestamp, so repeated runs give identical attrs.

    Examples
    --------
    >>> import json, numpy as np
    >>> rec = json.loads(provenance("demo", {"sigma": 1.5}, {"image": np.zeros(3)}))
    >>> sorted(rec)
    ['function', 'holocorr_version', 'inputs', 'numpy_version', 'parameters']
    """
    hashes = {
        k: v if isinstance(v, str) else array_hash(v) for k, v in inputs.items() if v is not None
    }
    record = {
        "holocorr_version": __version__,
        "numpy_version": np.__version__,
        "function": function,
        "parameters": jsonable(parameters),
        "inputs": hashes,
    }
    return json.dumps(record, sort_keys=True, allow_nan=False)
