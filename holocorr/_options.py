"""Global options, changed through the :func:`set_options` context manager."""

from __future__ import annotations

import numbers
import os
from typing import Any

from .errors import ParameterError

__all__ = ["set_options", "get_options"]

_FFT_BACKENDS = ("auto", "scipy", "pyfftw")
_FFT_PLANNERS = ("estimate", "measure", "patient")

OPTIONS: dict[str, Any] = {
    "fft_threads": max(1, os.cpu_count() or 1),
    "fft_backend": "auto",
    "fft_planner": "measure",
    "fft_wisdom_dir": None,
    "progress": True,
}


def _check(name: str, value: Any) -> Any:
    if name == "fft_threads":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ParameterError(
                f"fft_threads must be a positive integer, got {value!r}; "
                "use for example set_options(fft_threads=2)."
            )
        value = int(value)
    elif name == "fft_backend":
        if value not in _FFT_BACKENDS:
            raise ParameterError(f"fft_backend must be one of {_FFT_BACKENDS}, got {value!r}.")
    elif name == "fft_planner":
        if value not in _FFT_PLANNERS:
            raise ParameterError(f"fft_planner must be one of {_FFT_PLANNERS}, got {value!r}.")
    elif name == "fft_wisdom_dir":
        if value is not None and not isinstance(value, str | os.PathLike):
            raise ParameterError(f"fft_wisdom_dir must be a folder path or None, got {value!r}.")
    elif name == "progress":
        if not isinstance(value, bool):
            raise ParameterError(f"progress must be True or False, got {value!r}.")
    return value


class set_options:  # noqa: N801  (named like xarray.set_options)
    """Set holocorr options globally or, as a context manager, temporarily.

    Parameters
    ----------
    fft_threads : int
        Threads used by every FFT (default: the number of CPU cores).
    fft_backend : {"auto", "scipy", "pyfftw"}
        ``"auto"`` uses a pyFFTW plan when FFTW wisdom for that transform is
        already stored (planning is then instant) and ``scipy.fft`` otherwise,
        so no call ever waits seconds for planning. ``"pyfftw"`` always uses
        pyFFTW (planning with `fft_planner` on first use of a shape and storing
        the wisdom); ``"scipy"`` never does.
    fft_planner : {"estimate", "measure", "patient"}
        FFTW planner effort used when holocorr plans with pyFFTW.
    fft_wisdom_dir : str or None
        Folder for stored FFTW wisdom (default: ``$XDG_CACHE_HOME/holocorr``
        or ``~/.cache/holocorr``).
    progress : bool
        Show tqdm progress bars on long work (default True).

    Raises
    ------
    ParameterError
        For an unknown option or a value out of range.

    Examples
    --------
    >>> import holocorr
    >>> with holocorr.set_options(fft_threads=1):
    ...     holocorr.get_options()["fft_threads"]
    1
    """

    def __init__(self, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(OPTIONS))
        if unknown:
            raise ParameterError(f"unknown option(s) {unknown}; the options are {sorted(OPTIONS)}.")
        new = {k: _check(k, v) for k, v in kwargs.items()}  # all checked before any is set
        self._old = {k: OPTIONS[k] for k in new}
        OPTIONS.update(new)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, *exc: object) -> None:
        OPTIONS.update(self._old)


def get_options() -> dict[str, Any]:
    """Return a copy of the current holocorr options.

    Returns
    -------
    dict
        Option name to value; see :func:`set_options`.
    """
    return dict(OPTIONS)
