"""Sub-pixel drift of every frame of a series, measured and corrected."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._provenance import provenance
from .._validate import check_choice, check_positive
from ..errors import DataError, ParameterError
from . import _kernels as K
from ._common import AXIS_COORD, as_waves, compute, input_id, per_frame, steps_nm
from .reconstruct import with_derived

__all__ = ["align", "apply_drift"]

_ON = ("amplitude", "phase_gradient", "wave")
_SHIFT_METHODS = ("spline", "fourier")


def _register(wave: xr.DataArray, template: np.ndarray, *, on: str, upsample: int, sigma: float) -> np.ndarray:
    t = xr.DataArray(template, dims=("ty", "tx"))
    reg = xr.apply_ufunc(
        K.register_block,
        wave.variable,
        t.variable,
        input_core_dims=[["y", "x"], ["ty", "tx"]],
        output_core_dims=[["field"]],
        kwargs={"on": on, "upsample": upsample, "sigma": sigma},
        dask="parallelized",
        dask_gufunc_kwargs={"output_sizes": {"field": len(K.REG_FIELDS)}, "meta": np.empty((0, 0), np.float64)},
    )
    return np.asarray(compute(xr.DataArray(reg)).values)


def _shifted(wave: xr.DataArray, shifts_px: np.ndarray, method: str = "spline") -> xr.DataArray:
    s = xr.DataArray(np.asarray(shifts_px, dtype=np.float64), dims=("frame", "axis"))
    if wave.chunks is not None:
        s = s.chunk({"frame": wave.chunks[0]})
    out = xr.apply_ufunc(
        K.shift_block,
        wave.variable,
        s.variable,
        input_core_dims=[["y", "x"], ["axis"]],
        output_core_dims=[["y", "x"]],
        kwargs={"method": method},
        dask="parallelized",
        output_dtypes=[wave.dtype],
    )
    return xr.DataArray(out, coords=wave.coords, attrs=wave.attrs)


def _images(wave: xr.DataArray, anchor: np.ndarray, on: str) -> xr.DataArray:
    a = xr.DataArray(anchor, dims=("ty", "tx"))
    out = xr.apply_ufunc(
        K.image_block,
        wave.variable,
        a.variable,
        input_core_dims=[["y", "x"], ["ty", "tx"]],
        output_core_dims=[["y", "x"]],
        kwargs={"on": on},
        dask="parallelized",
        dask_gufunc_kwargs={"meta": np.empty((0, 0, 0), np.complex128 if on == "wave" else np.float64)},
    )
    return xr.DataArray(out, dims=wave.dims)


def _anchor_image(wave: xr.DataArray, index: int, on: str) -> np.ndarray:
    w = np.asarray(compute(wave.isel(frame=index)).values)
    finite = np.isfinite(w)
    if finite.mean() < 0.5:
        raise DataError(
            f"the reference frame (position {index}) is not usable (NaN values: unreadable or "
            "failed frame). Choose another with reference=<frame position>."
        )
    img = K.alignment_image(np.where(finite, w, 0), on)
    return np.where(finite, img, np.nan)


def align(
    waves,
    *,
    on: str = "amplitude",
    upsample: int = 20,
    reference: int | str = 0,
    max_error_px: float = 1.0,
    smoothing: float = 1.0,
    shift_method: str = "spline",
) -> xr.Dataset:
    """Measure the sub-pixel drift of every frame and shift the waves onto one grid.

    Each frame is registered on a template by upsampled phase correlation
    (Guizar-Sicairos et al., Opt. Lett. 33, 156 (2008),
    doi:10.1364/OL.33.000156), refined after a first shift so that large
    drifts are not biased by the taper; the error per frame is the
    Cramer-Rao-type estimate of :func:`holocorr.holography.register_waves`.
    The template is the reference frame, or with ``reference="mean"`` the
    mean of all frames after a first alignment on the first frame (a
    template with the noise of the whole series, at the cost of two more
    passes over the data; the drifts stay relative to the first frame, so
    its own noise remains a common offset of all of them). The waves are then
    shifted (cubic splines or Fourier); pixels a frame does not cover after
    its shift are NaN.

    Each pass computes the input again: for long series, write the
    reconstructed waves with :func:`holocorr.series.to_zarr` and align the
    stored waves (``holocorr.io.load_dataset(path, lazy=True)``).

    Parameters
    ----------
    waves : xarray.Dataset
        Result of :func:`holocorr.series.reconstruct` (or a later step).
    on : {"amplitude", "phase_gradient"}
        Image registered: the amplitude, or the magnitude of the phase
        gradient (for specimens with little amplitude contrast; it ignores
        constant phase offsets such as the biprism drift and phase wrapping).
    upsample : int
        Shift resolution 1/upsample output px (default 20).
    reference : int or "mean"
        Position of the reference frame (default 0), or "mean": the series
        mean after a first alignment on the first frame (more robust at very
        low dose; two more passes).
    max_error_px : float
        Frames whose 1-sigma shift error exceeds this [output px] are
        flagged ``alignment_ok = False`` (and become NaN).
    smoothing : float
        Gaussian pre-smoothing of the registered images [output px].
    shift_method : {"spline", "fourier"}
        How the waves are shifted: cubic-spline interpolation of the real
        and imaginary parts (default: local, so artefacts at the frame
        borders stay there), or the Fourier shift (exact for a periodic
        band-limited wave; use it for waves sampled near the aperture's
        Nyquist rate, i.e. the natural output shape).

    Returns
    -------
    xarray.Dataset
        The input with ``wave`` (and ``amplitude``, ``phase``) shifted, and
        per frame ``drift`` (frame, axis) [coordinate units, e.g. nm]: where
        the frame's content lies relative to the reference frame (the
        correction applied is minus this), ``drift_error`` [same units, 1
        sigma], ``alignment_error`` (normalised correlation error, 0 =
        perfect) and ``alignment_ok``. The reference frame has drift 0.

    Raises
    ------
    ShapeError, DataError
        For input that is not a series of waves, or an unusable reference frame.
    ParameterError
        For bad options.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> def blob(dy, dx):
    ...     return 1 - 0.5 * np.exp(-((yy - 30 - dy) ** 2 + (xx - 34 - dx) ** 2) / 40.0)
    >>> waves = xr.Dataset({"wave": (("frame", "y", "x"),
    ...                     np.stack([blob(0, 0), blob(2.5, -1.25)]).astype(np.complex64))})
    >>> out = align(waves, reference=0)
    >>> [round(float(v), 2) for v in out.drift.isel(frame=1).values]
    [2.5, -1.25]
    """
    ds = as_waves(waves)
    check_choice("on", on, _ON)
    if isinstance(upsample, bool) or not isinstance(upsample, int | np.integer) or upsample < 1:
        raise ParameterError(f"upsample must be a positive integer, got {upsample!r}.")
    upsample = int(upsample)
    max_error_px = check_positive("max_error_px", max_error_px, unit="px")
    smoothing = check_positive("smoothing", smoothing, unit="px", allow_zero=True)
    check_choice("shift_method", shift_method, _SHIFT_METHODS)
    n = ds.sizes["frame"]
    if isinstance(reference, str):
        check_choice("reference", reference, ("mean",))
        anchor = 0
    elif isinstance(reference, int | np.integer) and not isinstance(reference, bool):
        anchor = int(reference)
        if not -n <= anchor < n:
            raise ParameterError(f"reference={reference} is not a frame position of this {n}-frame series.")
        anchor %= n
    else:
        raise ParameterError(f"reference must be a frame position (int) or 'mean', got {reference!r}.")
    sy_nm, sx_nm, units = steps_nm(ds)
    wave = ds["wave"]

    template = _anchor_image(wave, anchor, on)
    reg = _register(wave, template, on=on, upsample=upsample, sigma=smoothing)
    if reference == "mean":
        good = (reg[:, 5] > 0) & (np.maximum(reg[:, 2], reg[:, 3]) <= max_error_px)
        shifts = np.where(good[:, None], reg[:, :2], np.nan)
        imgs = _images(_shifted(wave, shifts), template, on)
        mean = np.asarray(compute(imgs.mean("frame", skipna=True)).values)
        fill = np.nanmean(mean) if np.isfinite(mean).any() else 0.0
        template = np.where(np.isfinite(mean), mean, fill)
        reg = _register(wave, template, on=on, upsample=upsample, sigma=smoothing)
        if not reg[anchor, 5] > 0:
            raise DataError(
                f"the anchor frame (position {anchor}) could not be registered on the series mean; "
                "choose another reference frame."
            )
        reg[:, 0] -= reg[anchor, 0]
        reg[:, 1] -= reg[anchor, 1]
    ok = (reg[:, 5] > 0) & np.isfinite(reg[:, 0]) & (np.maximum(reg[:, 2], reg[:, 3]) <= max_error_px)
    shifts = np.where(ok[:, None], reg[:, :2], np.nan)
    shifts[anchor] = 0.0 if ok[anchor] else np.nan
    out = ds.copy()
    out["wave"] = _shifted(wave, shifts, shift_method)
    out = with_derived(out)
    drift_px = -reg[:, :2]
    scale = np.array([sy_nm, sx_nm])
    out["drift"] = per_frame(
        (drift_px * scale).astype(np.float64),
        ds,
        long_name="drift relative to the reference frame",
        units=units,
        extra_dims=("axis",),
        extra_coords=AXIS_COORD,
    )
    out["drift_error"] = per_frame(
        (reg[:, 2:4] * scale).astype(np.float64),
        ds,
        long_name="drift error (1 sigma)",
        units=units,
        extra_dims=("axis",),
        extra_coords=AXIS_COORD,
    )
    out["alignment_error"] = per_frame(
        reg[:, 4].astype(np.float64), ds, long_name="normalised correlation error", units="1"
    )
    out["alignment_ok"] = per_frame(ok, ds, long_name="frame aligned within max_error_px", units="1")
    params = {
        "on": on,
        "upsample": upsample,
        "reference": reference,
        "max_error_px": max_error_px,
        "smoothing": smoothing,
        "shift_method": shift_method,
    }
    out.attrs["alignment"] = (
        f"registered on the {on} {'series mean' if reference == 'mean' else 'of frame ' + str(anchor)}; "
        f"reference frame position {anchor}; {int((~ok).sum())} frame(s) failed"
    )
    out.attrs["holocorr"] = provenance("series.align", params, {"waves": input_id(ds)})
    return out


def apply_drift(waves, drift, *, shift_method: str = "spline") -> xr.Dataset:
    """Shift the waves of a series by a known drift (e.g. measured on another series).

    Parameters
    ----------
    waves : xarray.Dataset
        Series of waves (:func:`holocorr.series.reconstruct`).
    drift : (frame, axis) DataArray [coordinate units]
        Drift as returned by :func:`align` (content position relative to the
        reference frame); each frame is shifted by minus this. A NaN pair
        (a frame :func:`align` could not register) makes that frame NaN.
    shift_method : {"spline", "fourier"}
        As for :func:`align`.

    Returns
    -------
    xarray.Dataset
        Shifted waves (NaN where a frame does not cover), with ``drift``.

    Raises
    ------
    ShapeError, ParameterError
        For a drift that does not have one (y, x) pair per frame, is not
        numeric or is infinite.
    """
    ds = as_waves(waves)
    check_choice("shift_method", shift_method, _SHIFT_METHODS)
    sy, sx, units = steps_nm(ds)
    raw = np.asarray(getattr(drift, "values", drift))
    if isinstance(drift, str | bytes) or raw.dtype.kind not in "iuf":
        raise ParameterError(
            f"drift must be numbers (frame, axis) in the waves' coordinate units, e.g. align(...).drift; "
            f"got {drift!r:.60} (dtype {raw.dtype})."
        )
    d = raw.astype(np.float64)
    if d.shape != (ds.sizes["frame"], 2):
        raise ParameterError(
            f"drift has shape {d.shape}; expected ({ds.sizes['frame']}, 2): one (y, x) pair per frame."
        )
    if np.isinf(d).any():
        raise ParameterError(
            f"drift has {int(np.isinf(d).sum())} infinite value(s); give finite shifts (NaN marks a frame "
            "without a drift, which then becomes NaN, as align does for frames it could not register)."
        )
    if isinstance(drift, xr.DataArray) and drift.attrs.get("units", units) != units:
        raise ParameterError(f"drift is in {drift.attrs.get('units')!r} but the waves' coordinates are in {units!r}.")
    shifts = -d / np.array([sy, sx])
    out = ds.copy()
    out["wave"] = _shifted(ds["wave"], shifts, shift_method)
    out = with_derived(out)
    out["drift"] = per_frame(
        d,
        ds,
        long_name="drift relative to the reference frame",
        units=units,
        extra_dims=("axis",),
        extra_coords=AXIS_COORD,
    )
    out.attrs["holocorr"] = provenance("series.apply_drift", {}, {"waves": input_id(ds), "drift": d})
    return out
