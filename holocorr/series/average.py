"""Weighted average of a series of waves, with per-pixel noise and a record of excluded frames."""

from __future__ import annotations

import json
import math

import numpy as np
import xarray as xr

from .._provenance import provenance
from .._validate import check_positive
from ..errors import DataError, ParameterError
from ._common import as_waves, compute, input_id

__all__ = ["average"]


def _frame_weights(weights, ds: xr.Dataset) -> np.ndarray:
    n = ds.sizes["frame"]
    if weights is None:
        return np.ones(n)
    if isinstance(weights, xr.DataArray):
        if weights.dims != ("frame",):
            raise ParameterError(f"weights has dims {weights.dims}; expected ('frame',).")
        if "frame" in weights.coords and "frame" in ds.coords:
            try:
                weights = weights.sel(frame=ds["frame"].values)
            except KeyError as exc:
                raise ParameterError("weights does not have a value for every frame of the series.") from exc
    try:
        w = np.asarray(getattr(weights, "values", weights), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"weights must be numbers, one per frame, got {type(weights).__name__}.") from exc
    if w.shape != (n,):
        raise ParameterError(f"weights has shape {w.shape}; expected ({n},), one per frame.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ParameterError("weights must be finite and >= 0.")
    return w


def _inner_box(full: np.ndarray) -> tuple[int, int, int, int] | None:
    """Find a large axis-aligned box inside the True region (trim the worst border line until none is False).

    Returns (y0, y1, x0, x1) or None when less than 2x2 pixels remain.
    """
    rows = np.flatnonzero(full.any(axis=1))
    cols = np.flatnonzero(full.any(axis=0))
    if rows.size < 2 or cols.size < 2:
        return None
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    while y1 - y0 >= 2 and x1 - x0 >= 2:
        sub = full[y0:y1, x0:x1]
        if sub.all():
            return y0, y1, x0, x1
        # missing pixels per border line, relative to its length
        bad = [(~sub[0]).mean(), (~sub[-1]).mean(), (~sub[:, 0]).mean(), (~sub[:, -1]).mean()]
        k = int(np.argmax(bad))
        if k == 0:
            y0 += 1
        elif k == 1:
            y1 -= 1
        elif k == 2:
            x0 += 1
        else:
            x1 -= 1
    return None


def average(
    waves,
    *,
    weights=None,
    min_relative_contrast: float = 0.7,
    crop: bool = True,
    unwrap: bool = True,
) -> xr.Dataset:
    """Average a series of (aligned, phase-corrected) waves and measure the noise per pixel.

    Frames are excluded, with the reason recorded, when they could not be
    read or reconstructed (``frame_ok`` False), failed the alignment
    (``alignment_ok`` False), have zero weight, or have a fringe contrast
    below `min_relative_contrast` times the median contrast of the series
    (beam blanked, lost fringes, a disturbed frame). The mean wave is the
    weighted mean of the remaining frames; the phase spread per pixel comes
    from a second pass over the data: the weighted standard deviation of
    d_k = arg(w_k conj(mean)) (reliability weights, unbiased), and the
    standard error of the averaged phase, phase_std sqrt(sum a^2) / sum a,
    which falls as 1/sqrt(N) for equal weights.

    Parameters
    ----------
    waves : xarray.Dataset
        Series of waves: :func:`holocorr.series.reconstruct`, usually after
        :func:`~holocorr.series.align` and
        :func:`~holocorr.series.correct_phase_drift`.
    weights : (frame,) array_like or DataArray, optional
        Weight of each frame (>= 0; e.g. exposure or inverse variance).
        None: equal weights.
    min_relative_contrast : float
        Frames whose ``fringe_contrast`` is below this fraction of the
        series median are excluded (0 turns the check off).
    crop : bool
        Keep only the pixels that every used frame covers after alignment
        (default); otherwise pixels covered by some frames are averaged over
        those, and pixels covered by none are NaN.
    unwrap : bool
        Unwrap the phase of the mean wave (quality-guided).

    Returns
    -------
    xarray.Dataset
        ``wave`` (y, x) the mean wave; ``phase`` [rad] its (unwrapped)
        phase; ``amplitude`` the mean of the frames' amplitudes;
        ``phase_std`` [rad] the per-pixel standard deviation of one frame's
        phase; ``phase_sem`` [rad] the standard error of ``phase``;
        ``frames_per_pixel``; ``n_frames`` (scalar) the number of frames
        used; per frame ``used``, ``weight`` and ``exclusion_reason`` ("" if
        used). Attrs: ``excluded_frames`` (JSON: reason -> frame numbers),
        ``n_frames_total``, ``crop`` and provenance; per-frame records of
        the input (drift, phase_offset, ...) are kept.

    Raises
    ------
    ShapeError, DataError
        For input that is not a series of waves, or no usable frame.
    ParameterError
        For bad weights or options.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> noise = 0.1 * rng.normal(size=(64, 32, 32))
    >>> waves = xr.Dataset({"wave": (("frame", "y", "x"), np.exp(1j * (0.5 + noise)).astype(np.complex64))})
    >>> avg = average(waves)
    >>> int(avg.n_frames), round(float(avg.phase.mean()), 2)
    (64, 0.5)
    >>> round(float(avg.phase_std.mean()), 2), round(float(avg.phase_sem.mean() * 8), 2)
    (0.1, 0.1)
    """
    ds = as_waves(waves)
    a = _frame_weights(weights, ds)
    minc = check_positive("min_relative_contrast", min_relative_contrast, allow_zero=True)
    for name, v in (("crop", crop), ("unwrap", unwrap)):
        if not isinstance(v, bool):
            raise ParameterError(f"{name} must be True or False, got {v!r}.")
    n = ds.sizes["frame"]
    frames = ds["frame"].values if "frame" in ds.coords else np.arange(n)
    reasons = np.array([""] * n, dtype=object)
    flags = {
        name: np.asarray(compute(ds[name]).values, dtype=bool) for name in ("frame_ok", "alignment_ok") if name in ds
    }
    contrast = np.asarray(compute(ds["fringe_contrast"]).values, dtype=np.float64) if "fringe_contrast" in ds else None

    def flag(mask, text):
        for i in np.flatnonzero(mask & (reasons == "")):
            reasons[i] = text if not callable(text) else text(i)

    if "frame_ok" in flags:
        flag(~flags["frame_ok"], "unreadable or non-finite frame")
    if "alignment_ok" in flags:
        err = None
        if "drift_error" in ds:
            err = np.asarray(compute(ds["drift_error"]).values)
        flag(
            ~flags["alignment_ok"],
            (
                lambda i: (
                    "alignment failed"
                    + (
                        f" (drift error {np.nanmax(err[i]):.3g} {ds['drift_error'].attrs.get('units', '')})"
                        if err is not None and np.isfinite(err[i]).any()
                        else ""
                    )
                )
            ),
        )
    flag(a == 0, "zero weight")
    if contrast is not None and minc > 0:
        good = (reasons == "") & np.isfinite(contrast)
        med = float(np.median(contrast[good])) if good.any() else math.nan
        if math.isfinite(med):
            low = np.isfinite(contrast) & (contrast < minc * med)
            flag(low, lambda i: f"low fringe contrast ({contrast[i]:.3f} < {minc:g} x median {med:.3f})")
    used = reasons == ""
    if not used.any():
        summary = sorted(set(reasons.tolist()))
        raise DataError(f"no usable frame to average: every frame was excluded ({'; '.join(summary)}).")
    aw = np.where(used, a, 0.0)

    wave = ds["wave"]
    av = xr.DataArray(aw, dims="frame")
    if wave.chunks is not None:
        av = av.chunk({"frame": wave.chunks[0]})
    finite = np.isfinite(wave)
    wz = wave.where(finite, 0)
    fa = finite * av
    s_w = (wz * av).sum("frame")
    s_abs = (np.abs(wz) * av).sum("frame")
    v1 = fa.sum("frame")
    v2 = (fa * av).sum("frame")
    count = (finite & (av > 0)).sum("frame")
    s_w, s_abs, v1, v2, count = compute(s_w, s_abs, v1, v2, count)
    s_w, s_abs, v1, v2 = (np.asarray(x.values) for x in (s_w, s_abs, v1, v2))
    count = np.asarray(count.values)
    n_used = int(used.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(v1 > 0, s_w / v1, np.nan)
        amp = np.where(v1 > 0, s_abs / v1, np.nan)
    # second pass: spread of the phase about the mean
    mv = xr.DataArray(mean.astype(np.complex128), dims=("y", "x"))
    d = xr.apply_ufunc(np.angle, wz * np.conj(mv), dask="allowed")
    s_dd = compute(((d * d) * fa).sum("frame"))
    s_dd = np.asarray(s_dd.values)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = v1 - v2 / np.where(v1 > 0, v1, np.nan)
        var = np.where(denom > 0, s_dd / denom, np.nan)
        std = np.sqrt(var)
        sem = np.where(v1 > 0, std * np.sqrt(v2) / v1, np.nan)

    ny, nx = mean.shape
    ysl, xsl = slice(0, ny), slice(0, nx)
    if crop:
        full = count == n_used
        box = _inner_box(full)
        if box is None:
            raise DataError(
                "the used frames have no common area after alignment (drifts larger than the field "
                "of view?); average with crop=False, or exclude the frames that drifted away."
            )
        ysl, xsl = slice(box[0], box[1]), slice(box[2], box[3])
    cdt = wave.dtype
    rdt = np.empty(0, cdt).real.dtype
    coords2d = {k: v for k, v in wave.coords.items() if set(v.dims) <= {"y", "x"}}
    out = xr.Dataset(coords=coords2d).isel(y=ysl, x=xsl, missing_dims="ignore")
    mean_c = mean[ysl, xsl].astype(cdt)
    wave_units = wave.attrs.get("units", "1")
    out["wave"] = xr.DataArray(mean_c, dims=("y", "x"), attrs={"long_name": "mean object wave", "units": wave_units})
    phase = xr.DataArray(
        np.angle(mean_c).astype(rdt),
        dims=("y", "x"),
        coords=out.coords,
        attrs={"long_name": "phase of the mean wave", "units": "rad"},
    )
    if unwrap:
        from ..holography.phase import unwrap as _unwrap

        finite2 = np.isfinite(mean_c)
        if finite2.all():
            phase = _unwrap(phase.fillna(0.0))
        elif finite2.any():
            phase = _unwrap(phase.fillna(0.0), mask=finite2)
        phase = phase.assign_attrs(long_name="phase of the mean wave", units="rad")
    out["phase"] = phase
    out["amplitude"] = xr.DataArray(
        amp[ysl, xsl].astype(rdt), dims=("y", "x"), attrs={"long_name": "mean amplitude", "units": wave_units}
    )
    out["phase_std"] = xr.DataArray(
        std[ysl, xsl].astype(rdt),
        dims=("y", "x"),
        attrs={"long_name": "phase standard deviation of one frame", "units": "rad"},
    )
    out["phase_sem"] = xr.DataArray(
        sem[ysl, xsl].astype(rdt),
        dims=("y", "x"),
        attrs={"long_name": "standard error of the averaged phase", "units": "rad"},
    )
    out["frames_per_pixel"] = xr.DataArray(
        count[ysl, xsl].astype(np.int32),
        dims=("y", "x"),
        attrs={"long_name": "frames averaged per pixel", "units": "1"},
    )
    out["n_frames"] = xr.DataArray(n_used, attrs={"long_name": "number of frames used", "units": "1"})
    fc = {"frame": ds["frame"]} if "frame" in ds.coords else {}
    out["used"] = xr.DataArray(used, dims="frame", coords=fc, attrs={"long_name": "frame used", "units": "1"})
    out["weight"] = xr.DataArray(aw, dims="frame", coords=fc, attrs={"long_name": "frame weight", "units": "1"})
    out["exclusion_reason"] = xr.DataArray(
        reasons.astype(str), dims="frame", coords=fc, attrs={"long_name": "why the frame was excluded", "units": "1"}
    )
    for name in (
        "drift",
        "drift_error",
        "alignment_error",
        "phase_offset",
        "phase_offset_error",
        "phase_tilt",
        "fringe_contrast",
    ):
        if name in ds:
            out[name] = compute(ds[name])
    excluded: dict[str, list] = {}
    for i in np.flatnonzero(~used):
        key = reasons[i].split(" (")[0]
        excluded.setdefault(key, []).append(
            int(frames[i]) if np.issubdtype(np.asarray(frames).dtype, np.integer) else int(i)
        )
    keep = (
        "beam_energy_kv",
        "biprism_voltage_v",
        "sideband",
        "aperture_radius_per_px",
        "aperture_radius_per_nm",
        "resolution_nm",
        "resolution_px",
        "output_pixel_size",
        "output_pixel_size_units",
        "sign_convention",
        "hologram_shape",
        "alignment",
        "phase_drift",
    )
    out.attrs.update({k: ds.attrs[k] for k in keep if k in ds.attrs})
    out.attrs["n_frames_total"] = int(n)
    out.attrs["excluded_frames"] = json.dumps(excluded, sort_keys=True)
    out.attrs["crop"] = json.dumps({"y": [ysl.start, ysl.stop], "x": [xsl.start, xsl.stop]})
    out.attrs["holocorr"] = provenance(
        "series.average",
        {"weights": None if weights is None else aw, "min_relative_contrast": minc, "crop": crop, "unwrap": unwrap},
        {"waves": input_id(ds)},
    )
    meta = {k: wave.attrs[k] for k in ("beam_energy_kv", "biprism_voltage_v") if k in wave.attrs}
    for name in ("wave", "phase", "amplitude"):
        out[name].attrs.update(meta)
    return out
