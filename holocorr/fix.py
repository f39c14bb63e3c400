"""Explicit repair of dead, hot and non-finite detector pixels.

holocorr rejects NaN/inf everywhere (a :class:`~holocorr.errors.DataError`)
instead of propagating them. :func:`fix_pixels` is the explicit remedy: it
replaces the pixels the user names (a mask), the non-finite ones and,
optionally, isolated outliers by the median of their valid neighbours, and
records which pixels it changed.
"""

from __future__ import annotations

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
#: a flagged pixel must lie beyond its neighbours' trimmed range by more than
#: this many times that range (the extremes of plain fringes reach 0.44)
_SPIKE_FACTOR = 0.5
#: smallest robust sigma as a fraction of the local level (median of the neighbours)
_REL_FLOOR = 1e-3
#: units (lower case) of data taken to be electron counts (Poisson noise floor)
_COUNT_UNITS = frozenset({"counts", "count", "e", "e-", "electrons", "electron", "e/px", "electrons/px"})


def _neighbours(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(8, M, N) float64 values of the 8 neighbours of every pixel, NaN where not valid."""
    m, n = img.shape
    pad = np.full((m + 2, n + 2), np.nan)
    pad[1:-1, 1:-1] = np.where(valid, img, np.nan)
    return np.stack(
        [pad[1 + dy : 1 + dy + m, 1 + dx : 1 + dx + n] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    )


def _spikes(
    x: np.ndarray,
    neighbours_ok: np.ndarray,
    test: np.ndarray,
    threshold: float,
    sigma: float | None,
    *,
    trim: bool,
    counts: bool,
    quantum: float,
    eps: float,
) -> tuple[np.ndarray, float]:
    """Pixels of `test` that meet conditions 1 and 2 of :func:`fix_pixels`, and the sigma used.

    `x` is the float64 image; only pixels in `neighbours_ok` serve as
    neighbours. `sigma` None: estimate it (1.4826 MAD of the residuals of
    the tested pixels).
    """
    s = np.sort(_neighbours(x, neighbours_ok), axis=0)  # NaN (invalid, outside) sorted last
    k = np.isfinite(s).sum(axis=0)
    kk = np.maximum(k, 1)

    def take(idx: np.ndarray) -> np.ndarray:
        return np.take_along_axis(s, np.clip(idx, 0, 7)[None], axis=0)[0]

    med = 0.5 * (take((kk - 1) // 2) + take(kk // 2))
    cut = np.where(kk >= 7, 1, 0) if trim else 0  # drop the largest and smallest neighbour
    hi = take(kk - 1 - cut)
    lo = take(np.broadcast_to(cut, kk.shape))
    resid = x - med
    ok = test & (k >= 5) & np.isfinite(resid)  # corners (3 neighbours) only extrapolate
    if not ok.any():
        return np.zeros_like(test), 0.0 if sigma is None else sigma
    if sigma is None:
        r = resid[ok]
        sigma = _MAD_TO_SIGMA * float(np.median(np.abs(r - np.median(r))))
    # floors: float rounding, integer steps, 0.1 % of the local level, shot noise of counts
    local = np.abs(np.nan_to_num(med))
    floor = np.maximum(max(eps, quantum), _REL_FLOOR * local)
    if counts:
        floor = np.maximum(floor, np.sqrt(local))
    width = _SPIKE_FACTOR * (hi - lo)
    with np.errstate(invalid="ignore"):
        far = np.abs(resid) > threshold * np.maximum(sigma, floor)
        spike = (x - hi > width) | (lo - x > width)
    return ok & far & spike, sigma


def _outliers(
    img: np.ndarray, valid: np.ndarray, threshold: float, *, counts: bool = False, quantum: float = 0.0
) -> np.ndarray:
    """Isolated spikes (alone or in pairs) among the `valid` pixels; see :func:`fix_pixels`.

    First pass: every valid pixel is tested against its valid neighbours,
    with the largest and smallest neighbour left out (a bad neighbour must
    not hide a pixel). Second pass: each candidate is tested again against
    the neighbours that are not candidates, without leaving any out; this
    drops pixels that were candidates only because a bad neighbour pushed
    their true peer out of the trimmed range.
    """
    x = img.astype(np.float64)
    level = float(np.median(np.abs(x[valid]))) if valid.any() else 0.0
    eps = 100.0 * float(np.finfo(img.dtype).eps) * max(level, 1.0)
    kw = {"counts": counts, "quantum": quantum, "eps": eps}
    cand, sigma = _spikes(x, valid, valid, threshold, None, trim=True, **kw)
    if not cand.any():
        return cand
    final, _ = _spikes(x, valid & ~cand, cand, threshold, sigma, trim=False, **kw)
    return final


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
    * when `threshold` is given, isolated outliers (hot or dead pixels,
      alone or in pairs): pixels that meet both of

      1. the value deviates from the median of its valid 8 neighbours (3x3
         without the centre; masked and non-finite neighbours left out) by
         more than `threshold` robust standard deviations, sigma = 1.4826 MAD
         of these residuals over the frame (Rousseeuw & Croux, J. Am. Stat.
         Assoc. 88, 1273 (1993), doi:10.1080/01621459.1993.10476408), but
         at least the floors below;
      2. the value lies outside the range [lo, hi] of its valid neighbours
         by more than 0.5 (hi - lo), i.e. it is a spike, not a slope. So that
         a bad pair does not hide itself, the largest and the smallest
         neighbour are first left out of [lo, hi] (with 7 or more valid
         neighbours); each pixel found that way is then tested again with
         all neighbours except the other pixels found.

      Pixels with fewer than 5 valid neighbours (the image corners) are not
      tested. The floors keep sigma from collapsing to ~0 on noise-free or
      quantised data, where the MAD measures only the image's own
      curvature: sigma is at least 0.1 % of the local level (the
      neighbours' median), 100 float epsilons times the typical value, 1 for
      integer data (a deviation of less than `threshold` steps is never an
      outlier) and, for data whose ``attrs["units"]`` are counts
      (``"counts"``, ``"e"``, ``"electrons"``, ...), the shot noise
      sqrt(local level) the pixel has as electron counts. Condition 2 never
      holds at the extremes of evenly sampled fringes (they pass the trimmed
      range of their neighbours by at most 0.44 of it), so a noise-free
      hologram gives no false alarms even where its fringe residuals make
      the MAD ~0. It does hold for a dead pixel (value 0) in fringes of
      contrast up to about 0.5 and for a pixel at 3 times the mean in
      fringes of contrast up to 0.6. At a smooth maximum a pixel passes its
      neighbours by about (hi - lo), so there only the floors (or the noise)
      keep it: a noise-free image that is not in counts can still have
      pixels flagged at sharp peaks (curvature above `threshold` x 0.1 % of
      the level per pixel). Larger clusters of bad pixels must be given as
      `mask`.

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
        Outlier threshold in robust standard deviations (e.g. 5; see
        conditions 1 and 2 above). None (the default) replaces only masked
        and non-finite pixels.
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
    quantum = 1.0 if values.dtype.kind in "iu" else 0.0
    counts = str(da.attrs.get("units", "")).strip().lower() in _COUNT_UNITS
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
            bad |= _outliers(img, ~bad, threshold, counts=counts, quantum=quantum)
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
