"""Shared helpers of holocorr.io: the format table, path checks and warnings."""

from __future__ import annotations

import os
from pathlib import Path

from .._validate import warn
from ..errors import FileFormatError

__all__ = [
    "RSCIIO_FORMATS",
    "OWN_FORMATS",
    "supported_text",
    "extension",
    "check_readable",
    "warn_user",
    "out_of_memory",
]

#: file extension -> (RosettaSciIO plugin module, human-readable format name)
RSCIIO_FORMATS: dict[str, tuple[str, str]] = {
    ".dm3": ("rsciio.digitalmicrograph", "Gatan DigitalMicrograph 3"),
    ".dm4": ("rsciio.digitalmicrograph", "Gatan DigitalMicrograph 4"),
    ".emd": ("rsciio.emd", "EMD (Thermo Fisher Velox or NCEM/Berkeley)"),
    ".hspy": ("rsciio.hspy", "HyperSpy HDF5"),
    ".hdf5": ("rsciio.hspy", "HyperSpy HDF5"),
    ".tif": ("rsciio.tiff", "TIFF"),
    ".tiff": ("rsciio.tiff", "TIFF"),
    ".mrc": ("rsciio.mrc", "MRC"),
}

#: formats holocorr writes itself
OWN_FORMATS: dict[str, str] = {
    ".nc": "NetCDF4 (holocorr.save)",
    ".zarr": "Zarr directory store (holocorr.save)",
}


def supported_text() -> str:
    """Return a one-line list of the supported file extensions.

    Returns
    -------
    str
    """
    exts = sorted(set(RSCIIO_FORMATS) | set(OWN_FORMATS))
    return "supported formats: " + ", ".join(exts)


def extension(path: Path) -> str:
    """Return the lower-case extension of `path` (``".zarr"`` also for ``x.zarr/``).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    str
    """
    return path.suffix.lower()


def check_readable(path: Path, ext: str) -> None:
    """Raise FileFormatError unless `path` is an existing, non-empty file of a known kind.

    Parameters
    ----------
    path : pathlib.Path
        The file (or ``.zarr`` directory).
    ext : str
        Its lower-case extension.

    Raises
    ------
    FileFormatError
        For an unknown extension, a missing path, a directory where a file is
        expected (or a file where a ``.zarr`` directory is) and empty files.
    """
    if ext not in RSCIIO_FORMATS and ext not in OWN_FORMATS:
        raise FileFormatError(
            f"cannot read '{path}': the extension {ext or '(none)'!r} is not a known "
            f"format; {supported_text()}. Rename the file if it has the wrong extension."
        )
    if not path.exists():
        raise FileFormatError(
            f"cannot read '{path}': no such file or directory. Check the path "
            f"(the current folder is '{os.getcwd()}')."
        )
    if ext == ".zarr":
        if not path.is_dir():
            raise FileFormatError(
                f"cannot read '{path}': a .zarr store is a directory, but this is a file."
            )
        return
    if path.is_dir():
        raise FileFormatError(f"cannot read '{path}': it is a directory, expected a {ext} file.")
    if path.stat().st_size == 0:
        raise FileFormatError(
            f"cannot read '{path}': the file is empty (0 bytes); it was probably not "
            "written completely. Copy it again from the microscope PC."
        )


def warn_user(message: str, category: type[Warning]) -> None:
    """Warn with a stack level that points at the user's line.

    Parameters
    ----------
    message : str
    category : type of Warning
    """
    warn(message, category)


def out_of_memory(path: Path, exc: BaseException) -> FileFormatError:
    """Return the FileFormatError for a reader that ran out of memory on `path`.

    A corrupt header (a bit flip in a dimension or a strip count) makes a
    reader ask for terabytes; a genuinely large data set may not fit either.
    The message names the file and both ways out.

    Parameters
    ----------
    path : pathlib.Path
    exc : BaseException
        The MemoryError raised by the reader.

    Returns
    -------
    FileFormatError
    """
    try:
        size = f"{path.stat().st_size:,} bytes on disk"
    except OSError:
        size = "size unknown"
    return FileFormatError(
        f"cannot read '{path}' ({size}): the reader ran out of memory ({exc}). If the "
        "file is much smaller than that, its header is corrupt (it declares more data "
        "than it holds): copy it again from the microscope PC. A data set that really is "
        "larger than memory can be read with lazy=True."
    )
