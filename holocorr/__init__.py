"""holocorr: electron holography, EELS and statistics for battery interfaces.

One labelled data model (xarray, coordinates in nm / 1/nm / eV) from raw
holograms and spectra to potentials, Li maps and honest statistics.
"""

from __future__ import annotations

from . import errors
from ._fft import plan_fft
from ._options import get_options, set_options
from ._version import __version__
from .errors import HolocorrError, HolocorrWarning

__all__ = [
    "__version__",
    "HolocorrError",
    "HolocorrWarning",
    "errors",
    "get_options",
    "set_options",
    "plan_fft",
    "load",
    "save",
    "open_series",
    "fix_pixels",
    "holography",
    "simulate",
    "registration",
    "correlation",
    "eels",
    "series",
    "pipeline",
    "plot",
]


def __getattr__(name: str):
    # Lazy subpackages keep `import holocorr` fast.
    import importlib

    if name in ("holography", "simulate", "io", "registration", "eels", "correlation", "series", "pipeline", "plot"):
        return importlib.import_module(f".{name}", __name__)
    if name == "fix_pixels":
        from .fix import fix_pixels

        return fix_pixels
    if name in ("load", "save", "open_series"):
        return getattr(importlib.import_module(".io", __name__), name)
    raise AttributeError(f"module 'holocorr' has no attribute {name!r}")
