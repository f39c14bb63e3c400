"""The one FFT entry point of holocorr.

All transforms act on the last two axes. Single precision stays single
(float32 -> complex64); double stays double. Two engines:

* ``scipy.fft`` (pocketfft): no planning, used whenever no FFTW plan is known.
* pyFFTW: FFTW plans built by ``pyfftw.builders``-style planning, cached per
  thread and per (transform, shape, dtype, threads), with FFTW wisdom stored
  on disk so that a measured plan costs nothing the next time (also in a new
  process).

With the default ``fft_backend="auto"`` pyFFTW is used only when FFTW wisdom
for that exact transform is already stored (``FFTW_WISDOM_ONLY`` planning),
so a first call never spends seconds planning; :func:`plan_fft` measures and
stores plans ahead of time. On this project's 2-core test machine a measured
FFTW plan for a 4096x4096 float32 rfft2 ran about 10 % faster than pocketfft;
an FFTW_ESTIMATE plan ran about 50 % slower, which is why estimate plans are
not used automatically. With ``"auto"`` a stack ``(..., M, N)`` without a
planned batch transform runs frame by frame through the planned ``(M, N)``
transform.

FFTW objects are never called through ``pyfftw.FFTW.__call__``: it scales
forward transforms by 1/N when ``normalise_idft=False`` and copies a
mismatched input into the array of the *previous* call. Each plan instead
keeps private scratch arrays; the engine points the plan at the caller's
arrays (or copies into scratch), executes, applies the scipy ``norm``
scaling itself and points the plan back at its scratch arrays, so no
reference to user data is kept.
"""

from __future__ import annotations

import math
import numbers
import os
import threading
from pathlib import Path

import numpy as np
import scipy.fft as sfft

from . import _atomic
from ._options import OPTIONS
from .errors import DataError, ParameterError, ShapeError

try:  # pragma: no cover - exercised by the import itself
    import pyfftw

    _HAVE_PYFFTW = True
except ImportError:  # pragma: no cover
    pyfftw = None
    _HAVE_PYFFTW = False

__all__ = ["rfft2", "fft2", "ifft2", "irfft2", "next_fast_len", "plan_fft"]

_KINDS = ("rfft2", "irfft2", "fft2", "ifft2")
_NORMS = ("backward", "forward", "ortho")
_local = threading.local()
# Guards FFTW planning, wisdom import/export and the bookkeeping below.
_wisdom_lock = threading.RLock()
#: wisdom folders already read in this process (the option may change)
_loaded_dirs: set[str] = set()
#: bumped whenever new wisdom becomes known, so that a shape found without
#: wisdom is looked up again only after that
_generation = 0
_FLAGS = {"estimate": "FFTW_ESTIMATE", "measure": "FFTW_MEASURE", "patient": "FFTW_PATIENT"}


class _Plan:
    """An FFTW object with its private scratch arrays."""

    __slots__ = ("fftw", "s_in", "s_out", "c2r")

    def __init__(self, fftw, s_in: np.ndarray, s_out: np.ndarray, c2r: bool) -> None:
        self.fftw = fftw
        self.s_in = s_in
        self.s_out = s_out
        self.c2r = c2r

    def execute(self, src: np.ndarray, out: np.ndarray) -> None:
        """Transform `src` into `out` (unnormalised); `src` is never written."""
        s_in = self.s_in
        direct = (
            not self.c2r  # FFTW c2r transforms destroy their input
            and src.dtype == s_in.dtype
            and src.shape == s_in.shape
            and src.strides == s_in.strides
            and src.ctypes.data % src.dtype.alignment == 0
        )
        if not direct:
            np.copyto(s_in, src, casting="unsafe")
            src = s_in
        fftw = self.fftw
        try:
            fftw.update_arrays(src, out)
            fftw.execute()
        finally:
            fftw.update_arrays(s_in, self.s_out)


def next_fast_len(n: int, real: bool = False) -> int:
    """Smallest length >= `n` that the FFT engines handle fast.

    That is the next 5-smooth number (factors 2, 3, 5) for real transforms
    and the next 11-smooth number for complex ones (pocketfft's rule).

    Parameters
    ----------
    n : int
        Required length (> 0).
    real : bool
        Whether the transform is real-input.

    Returns
    -------
    int

    Examples
    --------
    >>> next_fast_len(1021)
    1024
    """
    return int(sfft.next_fast_len(int(n), real=real))


def _wisdom_dir() -> Path:
    d = OPTIONS["fft_wisdom_dir"]
    if d is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "holocorr")
    return Path(d)


def _load_wisdom() -> None:
    """Import the wisdom files of the current wisdom folder (once per folder).

    A file FFTW refuses (truncated, damaged, another FFTW version) is ignored
    with a :class:`~holocorr.errors.HolocorrWarning`; missing or unreadable
    files are ignored silently.
    """
    global _generation
    if not _HAVE_PYFFTW:  # pragma: no cover
        return
    d = _wisdom_dir()
    key = os.fspath(d)
    if key in _loaded_dirs:
        return
    with _wisdom_lock:
        if key in _loaded_dirs:
            return
        parts = []
        for suffix in ("d", "f", "l"):
            try:
                parts.append((d / f"fftw_wisdom_{suffix}.txt").read_bytes())
            except OSError:  # missing or unreadable: nothing to import
                parts.append(b"")
        try:
            # FFTW imports a wisdom string atomically: corrupt text is refused
            # (False) and leaves the wisdom already known untouched.
            ok = tuple(pyfftw.import_wisdom(tuple(parts)))
        except Exception:  # noqa: BLE001 - corrupt wisdom is only a lost speed-up
            ok = (False,) * len(parts)
        if any(ok):
            _generation += 1
        _loaded_dirs.add(key)
    refused = [f"fftw_wisdom_{s}.txt" for s, part, good in zip("dfl", parts, ok, strict=True) if part and not good]
    if refused:
        from ._validate import warn
        from .errors import HolocorrWarning

        warn(
            f"ignored the FFTW wisdom file(s) {refused} in '{d}': FFTW cannot read them (truncated, "
            "damaged or written by another FFTW version). Results are not affected; only stored "
            "FFT plans are not reused. Delete the file(s), or run holocorr.plan_fft(shape) to "
            "rewrite them.",
            HolocorrWarning,
        )


def _save_wisdom() -> None:
    """Write the process's wisdom to the wisdom folder; failures are ignored."""
    _load_wisdom()  # merge what the folder already holds before replacing it
    d = _wisdom_dir()
    with _wisdom_lock:
        blobs = pyfftw.export_wisdom()
    try:
        d.mkdir(parents=True, exist_ok=True)
        for suffix, blob in zip(("d", "f", "l"), blobs, strict=True):
            # temp file + rename: a killed process never leaves a truncated wisdom
            # file (no fsync: it is a cache, and FFTW refuses a damaged one anyway)
            _atomic.write_bytes(d / f"fftw_wisdom_{suffix}.txt", blob, fsync=False)
    except OSError:  # read-only or missing folder: plans still work, they are just not kept
        return


def _plans() -> dict:
    cache = getattr(_local, "plans", None)
    if cache is None:
        cache = _local.plans = {}
    return cache


def _get_plan(kind: str, shape: tuple, dtype: np.dtype, threads: int, *, plan_if_missing: bool):
    """Return a cached :class:`_Plan` for this thread, or None if none can be had.

    Without `plan_if_missing` only stored wisdom is used (``FFTW_WISDOM_ONLY``),
    so the call never spends time planning; a miss is remembered until new
    wisdom becomes known.
    """
    global _generation
    key = (kind, shape, np.dtype(dtype).str, threads)
    plans = _plans()
    hit = plans.get(key)
    if isinstance(hit, _Plan):
        return hit
    _load_wisdom()
    if hit is not None and not plan_if_missing and hit == _generation:
        return None  # known miss, and no wisdom has arrived since
    in_arr, out_arr, direction = _plan_arrays(kind, shape, dtype)
    if plan_if_missing:
        flags: tuple[str, ...] = (_FLAGS[OPTIONS["fft_planner"]],)
    else:
        flags = (_FLAGS["measure"], "FFTW_WISDOM_ONLY")
    with _wisdom_lock:
        try:
            fftw = pyfftw.FFTW(
                in_arr,
                out_arr,
                axes=(-2, -1),
                direction=direction,
                flags=flags + ("FFTW_UNALIGNED",),
                threads=threads,
            )
        except RuntimeError:  # no wisdom for this transform
            plans[key] = _generation
            return None
        if plan_if_missing:
            _generation += 1
    if plan_if_missing:
        _save_wisdom()
    plan = _Plan(fftw, in_arr, out_arr, kind == "irfft2")
    plans[key] = plan
    return plan


def _plan_arrays(kind: str, shape: tuple, dtype: np.dtype):
    cdtype = np.result_type(dtype, np.complex64)
    rdtype = np.empty(0, cdtype).real.dtype
    if kind == "rfft2":
        out_shape = shape[:-1] + (shape[-1] // 2 + 1,)
        return (
            pyfftw.empty_aligned(shape, rdtype),
            pyfftw.empty_aligned(out_shape, cdtype),
            "FFTW_FORWARD",
        )
    if kind == "irfft2":
        in_shape = shape[:-1] + (shape[-1] // 2 + 1,)
        return (
            pyfftw.empty_aligned(in_shape, cdtype),
            pyfftw.empty_aligned(shape, rdtype),
            "FFTW_BACKWARD",
        )
    direction = "FFTW_FORWARD" if kind == "fft2" else "FFTW_BACKWARD"
    return pyfftw.empty_aligned(shape, cdtype), pyfftw.empty_aligned(shape, cdtype), direction


def _run(kind: str, a: np.ndarray, out_shape: tuple, out_dtype: np.dtype, threads: int):
    """Transform with pyFFTW if the backend option allows it, else return None.

    `out_shape` is the full output shape; the plan is looked up by the real
    (image) shape of the transform.
    """
    backend = OPTIONS["fft_backend"]
    if backend == "scipy" or not _HAVE_PYFFTW or getattr(_local, "in_dask", False) or a.size == 0:
        return None
    real_shape = out_shape if kind == "irfft2" else a.shape
    prec = np.dtype(np.float32) if out_dtype in (np.float32, np.complex64) else np.dtype(np.float64)
    plan = _get_plan(kind, real_shape, prec, threads, plan_if_missing=(backend == "pyfftw"))
    if plan is not None:
        out = np.empty(out_shape, out_dtype)
        plan.execute(a, out)
        return out
    if backend == "auto" and a.ndim > 2:
        # A stack without a planned batch transform: reuse the planned image transform.
        plan = _get_plan(kind, real_shape[-2:], prec, threads, plan_if_missing=False)
        if plan is not None:
            out = np.empty(out_shape, out_dtype)
            for idx in np.ndindex(*a.shape[:-2]):
                plan.execute(a[idx], out[idx])
            return out
    return None


def _threads(threads: int | None) -> int:
    th = OPTIONS["fft_threads"] if threads is None else threads
    if isinstance(th, bool) or not isinstance(th, numbers.Integral) or th < 1:
        raise ParameterError(
            f"threads must be a positive integer (or None for the fft_threads option), got {th!r}."
        )
    return int(th)


def _check_image_axes(a: np.ndarray, what: str) -> None:
    if a.ndim < 2 or 0 in a.shape[-2:]:
        raise ShapeError(
            f"{what} needs an array of shape (..., M, N) with M, N >= 1, got shape {a.shape}."
        )


def _check_norm(norm: str | None) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ParameterError(
            f"norm={norm!r} is not allowed; choose one of {', '.join(map(repr, _NORMS))}."
        )
    return norm


def rfft2(a: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """Real-input 2-D FFT over the last two axes (unnormalised forward).

    Parameters
    ----------
    a : (..., M, N) ndarray of float32 or float64
        Real input (float16 is computed in float32, integers in float64).
        Never modified.
    threads : int, optional
        Threads (default: ``fft_threads`` option).

    Returns
    -------
    (..., M, N//2 + 1) ndarray of complex64 or complex128

    Raises
    ------
    DataError
        For complex input (use :func:`fft2`).
    ShapeError
        For fewer than two axes or an empty image axis.

    Examples
    --------
    >>> import numpy as np
    >>> rfft2(np.ones((4, 6), np.float32))[0, 0]
    np.complex64(24+0j)
    """
    a = np.asarray(a)
    if a.dtype.kind == "c":
        raise DataError(f"rfft2 needs real input, got {a.dtype}; use fft2 for complex data.")
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    elif a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    _check_image_axes(a, "rfft2")
    th = _threads(threads)
    cd = np.dtype(np.complex64 if a.dtype == np.float32 else np.complex128)
    out = _run("rfft2", a, a.shape[:-1] + (a.shape[-1] // 2 + 1,), cd, th)
    if out is None:
        return sfft.rfft2(a, workers=th)
    return out


def irfft2(a: np.ndarray, shape: tuple[int, int], *, threads: int | None = None) -> np.ndarray:
    """Inverse of :func:`rfft2` with 1/(M N) normalisation.

    Parameters
    ----------
    a : (..., M, N//2 + 1) complex ndarray
        Half spectrum. Never modified.
    shape : (M, N)
        Output image shape.
    threads : int, optional
        Threads.

    Returns
    -------
    (..., M, N) real ndarray (float32 for complex64 input)

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(12.0).reshape(3, 4)
    >>> bool(np.allclose(irfft2(rfft2(img), img.shape), img))
    True
    """
    a = np.asarray(a)
    th = _threads(threads)
    if len(shape) != 2:
        raise ShapeError(f"irfft2 needs the output image shape (M, N), got {shape!r}.")
    m, n = (int(s) for s in shape)
    if a.ndim >= 2 and a.shape[-2:] == (m, n // 2 + 1) and m >= 1 and n >= 1:
        rd = np.dtype(np.float32) if a.dtype in (np.float32, np.complex64) else np.dtype(np.float64)
        out = _run("irfft2", a, a.shape[:-2] + (m, n), rd, th)
        if out is not None:
            out *= 1.0 / (m * n)
            return out
    # Other spectrum sizes are cropped or zero-padded exactly as scipy does.
    return sfft.irfft2(a, s=(m, n), workers=th)


def _c2c(kind: str, a: np.ndarray, threads: int | None, norm: str | None) -> np.ndarray:
    a = np.asarray(a)
    norm = _check_norm(norm)
    if a.dtype not in (np.complex64, np.complex128):
        if a.dtype.kind not in "biuf":
            raise DataError(f"{kind} needs numeric input, got {a.dtype}.")
        a = a.astype(np.complex64 if a.dtype in (np.float16, np.float32) else np.complex128)
    _check_image_axes(a, kind)
    th = _threads(threads)
    out = _run(kind, a, a.shape, a.dtype, th)
    if out is None:
        f = sfft.fft2 if kind == "fft2" else sfft.ifft2
        return f(a, workers=th, norm=norm)
    n = a.shape[-1] * a.shape[-2]
    if norm == "ortho":
        out *= 1.0 / math.sqrt(n)
    elif (norm == "backward") == (kind == "ifft2"):
        out *= 1.0 / n
    return out


def fft2(a: np.ndarray, *, threads: int | None = None, norm: str = "backward") -> np.ndarray:
    """Complex 2-D FFT over the last two axes (scipy.fft ``norm`` semantics).

    Parameters
    ----------
    a : (..., M, N) ndarray
        Input; real input is promoted to the matching complex type
        (float32 -> complex64). Never modified.
    threads : int, optional
        Threads.
    norm : {"backward", "forward", "ortho"}
        Normalisation as in :func:`scipy.fft.fft2`.

    Returns
    -------
    (..., M, N) complex ndarray

    Raises
    ------
    ParameterError
        For an unknown `norm`.
    """
    return _c2c("fft2", a, threads, norm)


def ifft2(a: np.ndarray, *, threads: int | None = None, norm: str = "backward") -> np.ndarray:
    """Inverse complex 2-D FFT over the last two axes (scipy.fft ``norm`` semantics).

    Parameters
    ----------
    a : (..., M, N) complex ndarray
        Spectrum. Never modified.
    threads : int, optional
        Threads.
    norm : {"backward", "forward", "ortho"}
        Normalisation as in :func:`scipy.fft.ifft2`.

    Returns
    -------
    (..., M, N) complex ndarray

    Raises
    ------
    ParameterError
        For an unknown `norm`.
    """
    return _c2c("ifft2", a, threads, norm)


def plan_fft(
    shape: tuple[int, int],
    *,
    dtype: str = "float32",
    threads: int | None = None,
    kinds: tuple[str, ...] = ("rfft2",),
) -> None:
    """Measure FFTW plans for `shape` now and store their wisdom on disk.

    Later calls of that transform (in this or any later process) then use
    pyFFTW with ``fft_backend="auto"`` at no planning cost; stacks
    ``(..., M, N)`` use the ``(M, N)`` plan frame by frame. Measuring a
    4096x4096 plan takes a few seconds once. The planner effort is the
    ``fft_planner`` option, the folder the ``fft_wisdom_dir`` option (an
    unwritable folder only means the wisdom is not kept).

    Parameters
    ----------
    shape : (M, N) tuple of int
        Image shape in pixels.
    dtype : {"float32", "float64"}
        Precision of the data.
    threads : int, optional
        Threads the plans are for (default: ``fft_threads`` option).
    kinds : tuple of {"rfft2", "irfft2", "fft2", "ifft2"}
        Transforms to plan.

    Raises
    ------
    ParameterError
        For an unknown kind or dtype, or a bad shape or thread count.

    Examples
    --------
    >>> import tempfile, holocorr
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with holocorr.set_options(fft_wisdom_dir=folder):
    ...         holocorr.plan_fft((64, 64), kinds=("rfft2", "irfft2"))
    """
    try:
        # (np.dtype(None) would be float64, hence the explicit None check)
        dt = None if dtype is None else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in ("float32", "float64"):
        raise ParameterError(f"dtype={dtype!r} is not allowed; choose one of 'float32', 'float64'.")
    if isinstance(kinds, str):
        kinds = (kinds,)
    for k in kinds:
        if k not in _KINDS:
            raise ParameterError(
                f"kind={k!r} is not allowed; choose one of {', '.join(map(repr, _KINDS))}."
            )
    try:
        ok = len(shape) == 2 and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in shape
        )
    except TypeError:
        ok = False
    if not ok:
        raise ParameterError(f"shape must be two positive integers (rows, columns), got {shape!r}.")
    th = _threads(threads)
    if not _HAVE_PYFFTW:  # pragma: no cover
        return
    for k in kinds:
        _get_plan(k, tuple(int(s) for s in shape), dt, th, plan_if_missing=True)
    _save_wisdom()  # also when every plan was already known: fill this folder
