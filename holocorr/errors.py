"""Exceptions and warnings raised by holocorr.

Every error caused by user input is a :class:`HolocorrError` (a
:class:`ValueError`), and its message says what was wrong, what was expected
and how to fix it. The subclasses let callers catch one family of problems.
"""

from __future__ import annotations

__all__ = [
    "HolocorrError",
    "ShapeError",
    "DataError",
    "ParameterError",
    "CalibrationError",
    "FileFormatError",
    "ReconstructionError",
    "HolocorrWarning",
    "UncalibratedWarning",
]


class HolocorrError(ValueError):
    """Base class of every holocorr error caused by input data or parameters."""


class ShapeError(HolocorrError):
    """Wrong dimensionality, size or grid (for example a 1-D hologram)."""


class DataError(HolocorrError):
    """Values that cannot be used: NaN/inf, complex where real is needed, non-numeric."""


class ParameterError(HolocorrError):
    """An option is out of range or not one of the allowed choices."""


class CalibrationError(HolocorrError):
    """Missing, inconsistent or impossible calibration (units, scale, beam energy)."""


class FileFormatError(HolocorrError):
    """A file is missing, unreadable, truncated or of an unsupported format."""


class ReconstructionError(HolocorrError):
    """The data do not allow the requested reconstruction (for example no fringes)."""


class HolocorrWarning(UserWarning):
    """Base class of holocorr warnings: something the user should look at."""


class UncalibratedWarning(HolocorrWarning):
    """Data without a physical calibration were given pixel coordinates."""
