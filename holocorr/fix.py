"""Explicit repair of dead, hot and non-finite detector pixels.

holocorr rejects NaN/inf everywhere (a :class:`~holocorr.errors.DataError`)
instead of propagating them. :func:`fix_pixels` is the explicit remedy: it
replaces the pixels the user names (a mask), the non-finite ones and,
optionally, isolated outliers by the median of their valid neighbours, and
records which pixels it changed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ._provenance import provenance
from ._validate import as_dataarray, check_choice, check_positive
from .errors import DataError, ParameterError, ShapeError

__all__ = ["fix_pixels"]

#: half-widths of the neighbourhoods tried in turn (3x3, 5x5, 7x7)
_RADII = (1, 2, 3)
#: 1 / Phi^-1(3/4): MAD to standard deviation of a normal distribution
_MAD_TO_SIGMA = 1.4826


# ----------------------------------------------------------------------------- kernels
def _neighbour_median(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Median of the valid 8 neighbours of every pixel (NaN where none), float64."""
    m, n = img.shape
    pad = np.full((m + 2, n + 2), np.nan)
    pad[1:-1, 1:-1] = np.where(valid, img, np.nan)
    shifts = [pad[1 + dy : 1 + dy + m, 1 + dx : 1 + dx + n] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neighbourhoods
        return np.nanmedian(np.stack(shifts), axis=0)


def _outliers(img: np.ndarray, valid: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels deviating from their 8-neighbour median by > threshold robust sigmas."""
    resid = img.astype(np.float64) - _neighbour_median(img, valid)
    ok = valid & np.isfinite(resid)
    if not ok.any():
        return np.zeros_like(valid)
    r = resid[ok]
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(r - np.median(r))))
    # a noise-free image has MAD ~ 0: do not flag rounding differences
    scale = float(np.median(np.abs(img[valid]))) if valid.any() else 0.0
    floor = 100.0 * float(np.finfo(img.dtype).eps) * max(scale, 1.0)
    sigma = max(sigma, floor)
    out = np.zeros_like(valid)
    out[ok] = np.abs(r) > threshold * sigma
    return out


def _replace(img: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Replace `bad` pixels by the median of valid neighbours (3x3, then 5x5, 7x7).

    Only originally valid pixels serve as neighbours, so the result does not
    depend on the order of the repairs. Returns the repaired copy and the
    positions that had no valid neighbour within 7x7.
    """
    out = img.copy()
    m, n = img.shape
    rmax = _RADII[-1]
    pad = np.full((m + 2 * rmax, n + 2 * rmax), np.nan)
    pad[rmax:-rmax, rmax:-rmax] = np.where(bad, np.nan, img)
    ys, xs = np.nonzero(bad)
    for r in _RADII:
        if ys.size == 0:
            break
        off = np.arange(-r, r + 1)
        dy, dx = (a.ravel() for a in np.meshgrid(off, off, indexing="ij"))
        vals = pad[ys[:, None] + rmax + dy[None, :], xs[:, None] + rmax + dx[None, :]]
        found = np.isfinite(vals).any(axis=1)
        if found.any():
            out[ys[found], xs[found]] = np.nanmedian(vals[found], axis=1)
        ys, xs = ys[~found], xs[~found]
    return out, list(zip(ys.tolist(), xs.tolist(), strict=True))


# ----------------------------------------------------------------------------- wrapper
def _mask_array(mask: Any, shape: tuple[int, ...], dims: tuple[str, ...]) -> np.ndarray:
    if isinstance(mask, xr.DataArray):
        if tuple(mask.dims) not in (dims, dims[-2:]):
            raise ShapeError(
                f"mask has dims {mask.dims}; expected {dims[-2:]} or {dims}. Transpose or rename it to match the data."
            )
        mask = mask.values
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise DataError(
            f"mask has dtype {m.dtype}; expected a boolean array (True = bad pixel). "
            "Convert it explicitly, e.g. mask != 0."
        )
    if m.shape not in (shape, shape[-2:]):
        raise ShapeError(
            f"mask has shape {m.shape}; expected {shape[-2:]} (one mask for every frame)"
            + (f" or {shape}" if len(shape) > 2 else "")
            + ". Use a mask made on the same detector grid as the data."
        )
    return np.broadcast_to(m, shape)


def fix_pixels(
    data: xr.DataArray | np.ndarray,
    *,
    mask: xr.DataArray | np.ndarray | None = None,
    threshold: float | None = None,
    method: str = "median",
    max_fraction: float = 0.25,
) -> xr.DataArray:
    """Replace dead, hot and non-finite pixels by the median of their neighbours.

    The pixels replaced in each frame are the union of

    * the pixels where `mask` is True (known dead or hot detector pixels),
    * every non-finite pixel (NaN, +inf, -inf),
    * when `threshold` is given, the pixels whose value deviates from the
      median of their 8 neighbours (3x3 without the centre; masked and
      non-finite neighbours left out) by more than `threshold` robust
      standard deviations, sigma = 1.4826 MAD of these residuals over the
      frame (Rousseeuw & Croux, J. Am. Stat. Assoc. 88, 1273 (1993),
      doi:10.1080/01621459.1993.10476408).

    Each such pixel becomes the median of the valid (not replaced) pixels in
    its 3x3 neighbourhood; when there are none, of its 5x5 and then its 7x7
    neighbourhood. Only original valid pixels are used as neighbours, so the
    result does not depend on the order of the repairs.

    This is a cosmetic repair for a *few* bad pixels; it invents values. For
    quantitative work prefer masking the affected region in the analysis.

    Parameters
    ----------
    data : (M, N) or (frame, M, N) DataArray or ndarray
        Image or stack of images [any units]. Not modified.
    mask : (M, N) or (frame, M, N) bool DataArray or ndarray, optional
        True marks a bad pixel. An (M, N) mask applies to every frame.
    threshold : float, optional
        Outlier threshold in robust standard deviations (e.g. 5). None (the
        default) replaces only masked and non-finite pixels.
    method : {"median"}
        Replacement method (only the neighbour median for now).
    max_fraction : float
        Largest allowed fraction of replaced pixels per frame (default 0.25).

    Returns
    -------
    xarray.DataArray
        A new DataArray with the same dims, coords and attrs; float32 stays
        float32, float64 stays float64, integer input becomes float32
        (float64 above 2**24). Added: the bool non-index coordinate
        ``fixed`` over the data's dims (True where a pixel was replaced),
        ``attrs["fixed_pixels"]`` (the number replaced; a list with one
        count per frame for a stack) and ``attrs["holocorr"]`` (provenance).

    Raises
    ------
    ShapeError
        Data that are not (M, N) or (frame, M, N); a mask of another shape.
    DataError
        Complex or non-numeric data, a mask that is not boolean, more than
        `max_fraction` of a frame bad, a bad pixel without any valid pixel
        in its 7x7 neighbourhood.
    ParameterError
        A non-positive `threshold`, `max_fraction` outside (0, 1], or an
        unknown `method`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> img = xr.DataArray(np.arange(25.0, dtype="float32").reshape(5, 5),
    ...                    dims=("y", "x"))
    >>> bad = img.copy()
    >>> bad[2, 2] = np.nan
    >>> fixed = fix_pixels(bad)
    >>> float(fixed[2, 2]), fixed.attrs["fixed_pixels"], fixed.dtype
    (12.0, 1, dtype('float32'))
    """
    da = as_dataarray(data, name="data", dims=("y", "x"), leading=("frame",))
    check_choice("method", method, ("median",))
    if threshold is not None:
        threshold = check_positive("threshold", threshold, unit="robust sigmas")
    max_fraction = check_positive("max_fraction", max_fraction)
    if max_fraction > 1.0:
        raise ParameterError(f"max_fraction is {max_fraction}; expected a fraction in (0, 1], e.g. 0.25.")
    values = np.asarray(da.data)
    if values.dtype.kind == "c":
        raise DataError(
            f"data are complex ({values.dtype}); fix_pixels repairs real detector "
            "images. Fix the hologram before reconstruction."
        )
    if values.dtype.kind == "b":
        raise DataError("data are boolean; expected a numeric image (counts or intensities).")
    if values.dtype.kind in "iu":
        big = values.size and float(np.max(np.abs(values.astype(np.float64)))) > 2**24
        values = values.astype(np.float64 if big else np.float32)
    if min(values.shape[-2:]) < 1:
        raise ShapeError(f"data have shape {values.shape}; expected a non-empty image.")
    bad_given = np.zeros(values.shape, dtype=bool) if mask is None else _mask_array(mask, values.shape, tuple(da.dims))

    frames = values.reshape((-1,) + values.shape[-2:])
    given = bad_given.reshape(frames.shape)
    out = np.empty_like(frames)
    fixed = np.zeros(frames.shape, dtype=bool)
    for k in range(frames.shape[0]):
        img = frames[k]
        bad = given[k] | ~np.isfinite(img)
        if threshold is not None:
            bad |= _outliers(img, ~bad, threshold)
        where = f" in frame {k}" if frames.shape[0] > 1 else ""
        frac = float(bad.mean())
        if frac > max_fraction:
            raise DataError(
                f"{int(bad.sum())} of {bad.size} pixels ({100 * frac:.1f} %){where} are "
                f"bad (masked, non-finite or outliers); at most {100 * max_fraction:.0f} % "
                "may be replaced. This is not a few dead pixels; check the data "
                "(or the mask, or raise threshold)."
            )
        out[k], lonely = _replace(img, bad)
        if lonely:
            raise DataError(
                f"{len(lonely)} bad pixel(s){where}, e.g. (y, x) = {lonely[0]}, have no "
                "valid pixel within their 7x7 neighbourhood, so no value can be "
                "estimated. Crop the bad region or mask it in the analysis instead."
            )
        fixed[k] = bad

    counts = [int(c) for c in fixed.sum(axis=(1, 2))]
    result = xr.DataArray(out.reshape(values.shape), dims=da.dims, coords=da.coords, attrs=dict(da.attrs), name=da.name)
    result = result.assign_coords(
        fixed=(
            da.dims,
            fixed.reshape(values.shape),
            {"units": "1", "long_name": "pixel replaced by fix_pixels"},
        )
    )
    result.attrs["fixed_pixels"] = counts if values.ndim == 3 else counts[0]
    result.attrs["holocorr"] = provenance(
        "fix_pixels",
        {"threshold": threshold, "method": method, "max_fraction": max_fraction},
        {"data": da, "mask": None if mask is None else np.asarray(bad_given)},
    )
    return result
