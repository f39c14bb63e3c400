"""Per-frame phase offsets (biprism drift) and tilts, by angular synchronisation."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .._provenance import provenance
from .._region import region_mask
from .._validate import check_positive
from ..errors import DataError, ParameterError
from . import _kernels as K
from ._common import AXIS_COORD, as_waves, compute, input_id, per_frame, steps_nm
from .reconstruct import with_derived

__all__ = ["correct_phase_drift"]


def _independent_fraction(ds: xr.Dataset) -> float:
    """Independent samples per output pixel of the band-limited wave (<= 1)."""
    try:
        ry, rx = (float(v) for v in ds.attrs["aperture_radius_per_px"])
        hy, hx = (float(v) for v in ds.attrs["hologram_shape"])
    except (KeyError, TypeError, ValueError):
        return 1.0
    my, mx = ds.sizes["y"], ds.sizes["x"]
    return min(1.0, math.pi * ry * rx * (hy / my) * (hx / mx))


def _wrap(a: np.ndarray) -> np.ndarray:
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def correct_phase_drift(
    waves,
    *,
    region=None,
    tilt: bool = False,
    reference: int = 0,
    max_iter: int = 20,
    tol: float = 1e-4,
) -> xr.Dataset:
    """Remove each frame's constant phase offset (biprism drift), and optionally its tilt.

    The offsets of all frames are found together by angular
    synchronisation (Singer, Appl. Comput. Harmon. Anal. 30, 20 (2011),
    doi:10.1016/j.acha.2010.02.001): the pairwise offsets
    arg sum(w_k conj(w_l)) over the fit region form a Hermitian matrix whose
    leading eigenvector holds exp(i theta_k). It is found by power iteration
    without forming the matrix: each pass over the data measures every
    frame against the consensus sum of the corrected frames and rebuilds the
    consensus, starting from the reference frame, until the offsets change
    by less than `tol`. Offsets of any size (also beyond +-pi) are handled
    and no frame's noise dominates. With ``tilt=True`` a phase ramp per
    frame is fitted too (weighted least squares of the residual phase).

    Fit over a region whose phase does not change along the series: the
    vacuum, or, when the specimen does not change (one bias step), the
    whole common area. The offsets are relative to the reference frame.
    Frames with ``frame_ok`` or ``alignment_ok`` False are left out (their
    offset is NaN).

    Parameters
    ----------
    waves : xarray.Dataset
        Series of waves (:func:`holocorr.series.reconstruct`, usually after
        :func:`holocorr.series.align`).
    region : dict or bool mask, optional
        Fit region: coordinate ranges in the data's units (e.g.
        ``{"x": slice(0, 40)}`` nm) or a (y, x) bool mask. None: every pixel
        with data in each frame.
    tilt : bool
        Also fit and remove a phase tilt per frame.
    reference : int
        Position of the frame whose phase is kept (offset 0).
    max_iter : int
        Most passes over the data.
    tol : float
        Convergence: largest change of an offset between passes [rad].

    Returns
    -------
    xarray.Dataset
        The input with corrected ``wave`` (``amplitude``, ``phase``
        re-derived) and per frame ``phase_offset`` [rad] (what was
        removed), ``phase_offset_error`` [rad, 1 sigma: residual phase spread
        over the region / sqrt(independent samples)], and with `tilt`
        ``phase_tilt`` (frame, axis) [rad per coordinate unit]. Attrs:
        ``phase_drift`` (iterations, fit centre).

    Raises
    ------
    ShapeError, DataError
        For input that is not a series of waves, or an unusable reference frame.
    ParameterError
        For bad options or an empty region.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> obj = np.exp(1j * np.sin(xx / 5.0) + 0.1j * yy)
    >>> offsets = np.array([0.0, 2.5, -3.0])
    >>> waves = xr.Dataset({"wave": (("frame", "y", "x"),
    ...                     (obj[None] * np.exp(1j * offsets)[:, None, None]).astype(np.complex64))})
    >>> out = correct_phase_drift(waves)
    >>> np.round(out.phase_offset.values, 4).tolist()
    [0.0, 2.5, -3.0]
    """
    ds = as_waves(waves)
    if not isinstance(tilt, bool):
        raise ParameterError(f"tilt must be True or False, got {tilt!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ParameterError(f"max_iter must be a positive integer, got {max_iter!r}.")
    tol = check_positive("tol", tol, unit="rad")
    n = ds.sizes["frame"]
    if isinstance(reference, bool) or not isinstance(reference, int | np.integer) or not -n <= reference < n:
        raise ParameterError(f"reference must be a frame position of this {n}-frame series, got {reference!r}.")
    ref = int(reference) % n
    wave = ds["wave"]
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    like = wave.isel(frame=0, drop=True)
    if region is None:
        mask = np.ones((ny, nx), dtype=bool)
        record = None
    elif isinstance(region, dict):
        mask, record = region_mask(region, like, name="region")
    else:
        mask = np.asarray(getattr(region, "values", region))
        if mask.dtype != bool or mask.shape != (ny, nx):
            raise ParameterError(f"region must be a dict of coordinate ranges or a bool mask of shape {(ny, nx)}.")
        if not mask.any():
            raise ParameterError("region selects no pixel.")
        record = "mask"
    weight = mask.astype(np.float64)
    cy, cx = (float(v.mean()) for v in np.nonzero(mask))
    yy = np.arange(ny, dtype=np.float64) - cy
    xx = np.arange(nx, dtype=np.float64) - cx
    ok = np.ones(n, dtype=bool)
    for name in ("frame_ok", "alignment_ok"):
        if name in ds:
            ok &= np.asarray(compute(ds[name]).values, dtype=bool)
    if not ok[ref]:
        raise DataError(f"the reference frame (position {ref}) is flagged unusable; choose another reference.")
    mean = np.asarray(compute(wave.isel(frame=ref)).values, dtype=np.complex128)
    if not np.isfinite(mean[mask]).any():
        raise DataError(f"the reference frame (position {ref}) has no data inside the region.")
    mean = np.where(np.isfinite(mean), mean, 0)

    okv = xr.Variable("frame", ok)
    wv = wave.variable
    if wave.chunks is not None:
        okv = okv.chunk({"frame": wave.chunks[0]})
    tilts = np.zeros((n, 2))
    offsets = np.full(n, np.nan)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported below
        tv = xr.Variable(("frame", "axis"), tilts)
        if wave.chunks is not None:
            tv = tv.chunk({"frame": wave.chunks[0]})
        res, corrected = xr.apply_ufunc(
            K.sync_block,
            wv,
            okv,
            tv,
            xr.Variable(("my", "mx"), mean),
            xr.Variable(("my", "mx"), weight),
            input_core_dims=[["y", "x"], [], ["axis"], ["my", "mx"], ["my", "mx"]],
            output_core_dims=[["field"], ["y", "x"]],
            kwargs={"yy": yy, "xx": xx, "fit_tilt": tilt},
            dask="parallelized",
            dask_gufunc_kwargs={
                "output_sizes": {"field": 6},
                "meta": (np.empty((0, 0), np.float64), np.empty((0, 0, 0), np.complex128)),
            },
        )
        res, new_mean = compute(xr.DataArray(res), xr.DataArray(corrected).sum("frame"))
        res = np.asarray(res.values)
        new_offsets = res[:, 0]
        change = np.nanmax(np.abs(_wrap(new_offsets - offsets))) if np.isfinite(offsets).any() else np.inf
        if tilt:
            change = max(change, float(np.nanmax(np.abs(res[:, 1:3] - tilts) * [ny, nx])))
        offsets = new_offsets
        tilts = np.where(np.isfinite(res[:, 1:3]), res[:, 1:3], 0.0)
        mean = np.asarray(new_mean.values)
        if change < tol:
            break
    offsets = _wrap(offsets - offsets[ref])
    tilts = tilts - tilts[ref]
    # the correction actually applied: the offset is relative to the reference frame
    fraction = _independent_fraction(ds)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.sqrt(res[:, 3] / np.maximum(res[:, 5] * fraction, 1.0))
    applied_off = np.where(ok, offsets, np.nan)
    applied_tilt = np.where(ok[:, None], tilts, np.nan)
    ov = xr.Variable("frame", np.nan_to_num(applied_off))
    tv = xr.Variable(("frame", "axis"), np.nan_to_num(applied_tilt))
    if wave.chunks is not None:
        ov = ov.chunk({"frame": wave.chunks[0]})
        tv = tv.chunk({"frame": wave.chunks[0]})
    fixed = xr.apply_ufunc(
        K.phase_ramp_block,
        wv,
        ov,
        tv,
        input_core_dims=[["y", "x"], [], ["axis"]],
        output_core_dims=[["y", "x"]],
        kwargs={"yy": yy, "xx": xx},
        dask="parallelized",
        output_dtypes=[wave.dtype],
    )
    out = ds.copy()
    out["wave"] = xr.DataArray(fixed, coords=wave.coords, attrs=wave.attrs)
    out = with_derived(out)
    out["phase_offset"] = per_frame(
        applied_off, ds, long_name="phase offset removed (relative to the reference frame)", units="rad"
    )
    out["phase_offset_error"] = per_frame(
        np.where(ok, err, np.nan), ds, long_name="phase offset error (1 sigma)", units="rad"
    )
    if tilt:
        sy, sx, units = steps_nm(ds)
        out["phase_tilt"] = per_frame(
            applied_tilt / np.array([sy, sx]),
            ds,
            long_name="phase tilt removed",
            units=f"rad/{units}",
            extra_dims=("axis",),
            extra_coords=AXIS_COORD,
        )
    out.attrs["phase_drift"] = (
        f"angular synchronisation over {int(mask.sum())} px, {iterations} pass(es), reference frame "
        f"position {ref}, tilt fit {'on' if tilt else 'off'} (centre at pixel ({cy:.1f}, {cx:.1f}))"
    )
    out.attrs["holocorr"] = provenance(
        "series.correct_phase_drift",
        {"region": record, "tilt": tilt, "reference": ref, "max_iter": max_iter, "tol": tol},
        {"waves": input_id(ds)},
    )
    return out
