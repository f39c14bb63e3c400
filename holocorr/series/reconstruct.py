"""Reconstruction of hologram series, lazily, frame chunk by frame chunk."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .._options import get_options
from .._provenance import array_hash, provenance
from .._validate import as_dataarray, check_choice, check_positive, real_image, user_stacklevel
from ..errors import DataError, HolocorrWarning, ParameterError, ShapeError
from ..holography import _kernels as HK
from ..holography.reconstruct import (
    _MIN_PX,
    DEFAULT_SPACING_RANGE,
    MICROSCOPE_ATTRS,
    Sideband,
    _check_spacing_range,
    _output_coords,
    _output_shape,
    _pixel_size_nm,
    _radius_pair,
    _sideband_from,
    _spectrum,
    json_sideband,
)
from . import _kernels as K
from ._common import check_on_error, input_id

__all__ = ["ReferenceWave", "prepare_reference", "reconstruct"]

_SIDES = ("upper", "lower")
#: reference-wave magnitude, relative to its median, below which output pixels hold no data
_WEAK_REFERENCE = 0.2


@dataclasses.dataclass(frozen=True, eq=False)
class ReferenceWave:
    """A vacuum reference prepared once for a whole series.

    Holds everything a frame's reconstruction needs besides the frame: the
    carrier, the aperture, the output grid and ``factor`` = 1 / (reference
    wave), the unnormalised reference sideband without carrier correction
    (the residual carrier and the normalisation cancel in the object /
    reference ratio). Make it with :func:`prepare_reference` and pass it as
    the `reference` of :func:`reconstruct` to reuse it across runs.

    Attributes
    ----------
    sideband : Sideband
        Carrier [cycles/px] measured on the reference.
    shape : (M, N)
        Hologram shape [px].
    radius : (ry, rx)
        Aperture semi-axes [cycles/px].
    output_shape : (My, Mx)
        Output grid [px].
    edge, smoothness : str, float
        Aperture edge.
    fresnel_width : float or None
        Width of the removed Fresnel stripe [FFT px].
    apodize : float or None
        Tukey taper fraction per side.
    factor : (My, Mx) complex ndarray
        1 / reference wave (complex64 for float32 data); NaN where the
        reference wave is weaker than 1/5 of its median (no data there).
    pixel_size_nm : (dy, dx) or None
        Hologram pixel size [nm] (None: uncalibrated).
    attrs : dict
        The reference's microscope metadata.
    parameters : dict
        The options used (for provenance).
    reference_hash : str
        Content hash of the reference hologram.
    """

    sideband: Sideband
    shape: tuple[int, int]
    radius: tuple[float, float]
    output_shape: tuple[int, int]
    edge: str
    smoothness: float
    fresnel_width: float | None
    apodize: float | None
    factor: np.ndarray
    pixel_size_nm: tuple[float, float] | None
    attrs: dict
    parameters: dict
    reference_hash: str

    def window(self, dtype) -> tuple[np.ndarray, np.ndarray] | None:
        """Separable apodisation window (wy, wx), or None."""
        if self.apodize is None:
            return None
        return (HK.tukey(self.shape[0], self.apodize, dtype), HK.tukey(self.shape[1], self.apodize, dtype))


def _options(sideband, radius, edge, smoothness, fresnel_filter, reference_smoothing, apodize, spacing_range) -> dict:
    explicit = isinstance(sideband, Sideband)
    if not explicit:
        check_choice("sideband", sideband, _SIDES)
    check_choice("edge", edge, HK.EDGES)
    smoothness = check_positive("smoothness", smoothness)
    spacing_range = _check_spacing_range(spacing_range)

    def opt(name, value, unit):
        if value is None or value is False:
            return None
        return check_positive(name, value, unit=unit)

    fresnel = opt("fresnel_filter", fresnel_filter, "px")
    ref_sigma = opt("reference_smoothing", reference_smoothing, "px")
    apod = opt("apodize", apodize, "")
    if apod is not None and apod > 0.5:
        raise ParameterError(f"apodize must be in (0, 0.5] (fraction of each side tapered), got {apodize!r}.")
    return dict(
        sideband=sideband,
        radius=radius,
        edge=edge,
        smoothness=smoothness,
        fresnel=fresnel,
        ref_sigma=ref_sigma,
        apodize=apod,
        spacing_range=spacing_range,
    )


def _geometry(sb: Sideband, shape, o: dict, output_shape):
    freq = sb.frequency
    rad = _radius_pair(o["radius"], math.hypot(*freq))
    fresnel = o["fresnel"]
    if fresnel is not None and fresnel < 1:
        fresnel = fresnel * max(rad[0] * shape[0], rad[1] * shape[1])
    natural = HK.natural_output_shape(shape, rad, o["edge"], o["smoothness"])
    out_shape = _output_shape(output_shape, natural)
    need = HK.required_box(shape, rad, o["edge"], o["smoothness"])
    if out_shape[0] < need[0] or out_shape[1] < need[1]:
        warnings.warn(
            f"output_shape {out_shape} is smaller than the aperture ({need} px needed): the "
            "aperture is truncated to the output box, which lowers the resolution. "
            "Use a larger output_shape or a smaller radius.",
            HolocorrWarning,
            stacklevel=user_stacklevel(),
        )
    return freq, rad, fresnel, out_shape


def prepare_reference(
    reference,
    *,
    sideband="upper",
    radius=1 / 3,
    edge: str = "tanh",
    smoothness: float = 0.05,
    output_shape: tuple[int, int] | None = None,
    fresnel_filter: float | None = None,
    reference_smoothing: float | None = None,
    apodize: float | None = None,
    spacing_range: Sequence[float] = DEFAULT_SPACING_RANGE,
) -> ReferenceWave:
    """Measure the carrier on a vacuum reference and compute its wave once.

    Parameters
    ----------
    reference : (M, N) DataArray or ndarray [counts]
        Vacuum reference hologram recorded with the same optics as the series.
    sideband, radius, edge, smoothness, output_shape, fresnel_filter, reference_smoothing, apodize, spacing_range
        As for :func:`holocorr.holography.reconstruct`.

    Returns
    -------
    ReferenceWave

    Raises
    ------
    ShapeError, DataError
        For a reference that is not one finite real image of at least 16x16 px.
    ReconstructionError
        When the reference has no fringes.
    ParameterError
        For bad options.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from holocorr.simulate import hologram
    >>> flat = xr.DataArray(np.zeros((64, 64)), dims=("y", "x"))
    >>> ref = prepare_reference(hologram(flat, spacing_px=4.0, angle_deg=30, contrast=0.3),
    ...                         output_shape=(64, 64))
    >>> round(ref.sideband.spacing_px, 3), ref.output_shape
    (4.0, (64, 64))
    """
    o = _options(sideband, radius, edge, smoothness, fresnel_filter, reference_smoothing, apodize, spacing_range)
    rda = as_dataarray(reference, name="reference", dims=("y", "x"), leading=())
    rarr = real_image(rda, name="reference", min_size=_MIN_PX)
    return _prepare(rda, rarr, o, output_shape, rarr.dtype)


def _prepare(rda: xr.DataArray, rarr: np.ndarray, o: dict, output_shape, dtype) -> ReferenceWave:
    shape = rarr.shape
    rdt = np.dtype(np.float64 if np.dtype(dtype) == np.float64 else np.float32)
    rarr = rarr.astype(rdt, copy=False)
    ref_hash = array_hash(rarr)
    if o["apodize"] is not None:
        win = HK.tukey(shape[0], o["apodize"], rdt)[:, None] * HK.tukey(shape[1], o["apodize"], rdt)[None, :]
        rarr = rarr * win
    rhalf = _spectrum(rarr, "reference")
    pixel_nm = _pixel_size_nm(rda)
    if isinstance(o["sideband"], Sideband):
        sb = o["sideband"]
    else:
        sb = _sideband_from(rarr, rhalf, o["sideband"], o["spacing_range"], "reference", pixel_nm)
    freq, rad, fresnel, out_shape = _geometry(sb, shape, o, output_shape)
    kw = dict(edge=o["edge"], smoothness=o["smoothness"], fresnel_width=fresnel)
    if o["ref_sigma"] is None:
        rpatch, _ = HK.sideband_patch(rhalf, shape, freq, rad, out_shape, **kw)
    else:
        rpatch, _ = HK.sideband_patch(rhalf, shape, freq, rad, out_shape, smoothing_sigma=o["ref_sigma"], **kw)
    rwave = HK.patch_to_wave(rpatch, shape, freq, correct_carrier=False, normalise=False)
    mag = np.abs(rwave)
    if not np.all(mag > 0):
        raise DataError(
            f"the reference wave vanishes at {int((mag <= 0).sum())} output pixel(s); the "
            "reference has no fringes there. Use a vacuum reference covering the field of view."
        )
    # Where the reference wave is weak (outside the biprism overlap, or in an
    # apodised border) the ratio is noise: those output pixels carry no data.
    weak = mag < _WEAK_REFERENCE * float(np.median(mag))
    factor = np.where(weak, np.nan, 1.0 / rwave).astype(np.result_type(rdt, np.complex64))
    params = {
        "sideband": o["sideband"],
        "radius": o["radius"],
        "edge": o["edge"],
        "smoothness": o["smoothness"],
        "output_shape": list(out_shape),
        "fresnel_filter": o["fresnel"],
        "reference_smoothing": o["ref_sigma"],
        "apodize": o["apodize"],
        "spacing_range": list(o["spacing_range"]),
    }
    attrs = {k: rda.attrs[k] for k in MICROSCOPE_ATTRS if k in rda.attrs}
    return ReferenceWave(
        sideband=sb,
        shape=(int(shape[0]), int(shape[1])),
        radius=rad,
        output_shape=out_shape,
        edge=o["edge"],
        smoothness=o["smoothness"],
        fresnel_width=fresnel,
        apodize=o["apodize"],
        factor=factor,
        pixel_size_nm=pixel_nm,
        attrs=attrs,
        parameters=params,
        reference_hash=ref_hash,
    )


def _series_array(series) -> xr.DataArray:
    if isinstance(series, xr.Dataset):
        raise ShapeError(
            "series is an xarray.Dataset; pass the hologram DataArray (frame, y, x), e.g. from holocorr.open_series."
        )
    da = as_dataarray(series, name="series", dims=("y", "x"), leading=("frame",))
    if da.dims != ("frame", "y", "x"):
        raise ShapeError(
            f"series has dims {da.dims}; expected ('frame', 'y', 'x'). For one hologram use "
            "holocorr.holography.reconstruct, or add a frame dim with da.expand_dims('frame')."
        )
    if da.dtype.kind == "c":
        raise DataError(f"series is complex ({da.dtype}); expected real hologram intensities.")
    if da.dtype.kind not in "iuf":
        raise DataError(f"series has dtype {da.dtype}; expected real numbers.")
    if da.sizes["frame"] < 1 or min(da.sizes["y"], da.sizes["x"]) < _MIN_PX:
        raise ShapeError(f"series has shape {tuple(da.shape)}; need at least one frame of {_MIN_PX}x{_MIN_PX} px.")
    return da


def reconstruct(
    series,
    reference=None,
    *,
    sideband="upper",
    radius=1 / 3,
    edge: str = "tanh",
    smoothness: float = 0.05,
    output_shape: tuple[int, int] | None = None,
    fresnel_filter: float | None = None,
    reference_smoothing: float | None = None,
    apodize: float | None = None,
    spacing_range: Sequence[float] = DEFAULT_SPACING_RANGE,
    on_error: str = "raise",
) -> xr.Dataset:
    """Reconstruct every frame of a hologram series, lazily over frame chunks.

    The carrier is measured, and the reference wave computed, once (on the
    reference, or on the first frame without one); each frame then costs one
    real FFT, the sideband box and one small inverse FFT
    (:func:`holocorr.holography.reconstruct` gives the same waves for the
    same options). The work is an :func:`xarray.apply_ufunc` with
    ``dask="parallelized"`` over the ``frame`` chunks of a dask-backed series
    (for example from :func:`holocorr.open_series`): nothing is computed
    until the result is, and then it runs on whatever dask scheduler is
    active (threads, a ``dask.distributed`` cluster), one FFT thread per
    task. A numpy-backed series is reconstructed at once.

    Parameters
    ----------
    series : (frame, M, N) DataArray [counts]
        Hologram series; chunks along ``frame`` set the task size (y and x
        are put in one chunk).
    reference : (M, N) DataArray or ndarray, or ReferenceWave, optional
        Vacuum reference hologram, or a :class:`ReferenceWave` prepared
        earlier (then the aperture options are those it was prepared with
        and must not be given again).
    sideband, radius, edge, smoothness, output_shape, fresnel_filter, reference_smoothing, apodize, spacing_range
        As for :func:`holocorr.holography.reconstruct`.
    on_error : {"raise", "skip"}
        A frame with NaN/inf values (an unreadable file read with
        ``open_series(..., on_error="skip")`` is all NaN) raises
        :class:`~holocorr.errors.DataError` when computed, or with "skip"
        gives a NaN wave and ``frame_ok = False``.

    Returns
    -------
    xarray.Dataset
        ``wave`` (frame, y, x) complex64 for float32 (and integer) input
        [1 with a reference, counts without; NaN where the reference wave is
        weaker than 1/5 of its median, e.g. in an apodised border, so that
        no data is made up there]; ``amplitude`` and ``phase``
        [rad, wrapped to (-pi, pi]] derived from it; per frame
        ``fringe_contrast`` [1] and ``frame_ok``. Coordinates as in
        :func:`holocorr.holography.reconstruct` plus the series' frame
        coordinates (``time_s``, ``bias_v``, ...). Attrs: ``sideband``,
        aperture and resolution, ``holocorr`` (provenance) and the
        microscope metadata.

    Raises
    ------
    ShapeError
        For a series that is not (frame, y, x), or a reference of another shape.
    DataError
        For complex or non-numeric data, a reference with NaN/inf or no
        signal; frames with NaN/inf when computed (unless ``on_error="skip"``).
    ParameterError
        For bad options, or options given together with a ReferenceWave.
    ReconstructionError
        When no fringes are found on the reference (or the first frame).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from holocorr.simulate import hologram
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> phi = np.exp(-((yy - 32.0) ** 2 + (xx - 32.0) ** 2) / 100.0)
    >>> kw = dict(spacing_px=4.0, angle_deg=30, contrast=0.3)
    >>> frames = [hologram(xr.DataArray(phi + c, dims=("y", "x")), **kw) for c in (0.0, 0.5)]
    >>> series = xr.concat(frames, dim="frame").chunk({"frame": 1})
    >>> ref = hologram(xr.DataArray(0 * phi, dims=("y", "x")), **kw)
    >>> ds = reconstruct(series, ref, output_shape=(64, 64), apodize=0.2)
    >>> ds.wave.dims, ds.wave.dtype, ds.wave.chunks is not None
    (('frame', 'y', 'x'), dtype('complex64'), True)
    >>> dphi = ds.phase.isel(frame=1) - ds.phase.isel(frame=0)
    >>> round(float(dphi[32, 32]), 3)
    0.5
    """
    on_error = check_on_error(on_error)
    da = _series_array(series)
    shape = (da.sizes["y"], da.sizes["x"])
    work = np.dtype(np.float64 if da.dtype == np.float64 else np.float32)
    if isinstance(reference, ReferenceWave):
        given = {
            "sideband": sideband != "upper",
            "radius": radius != 1 / 3,
            "edge": edge != "tanh",
            "smoothness": smoothness != 0.05,
            "output_shape": output_shape is not None,
            "fresnel_filter": fresnel_filter is not None,
            "reference_smoothing": reference_smoothing is not None,
            "apodize": apodize is not None,
            "spacing_range": tuple(spacing_range) != tuple(DEFAULT_SPACING_RANGE),
        }
        clash = sorted(k for k, v in given.items() if v)
        if clash:
            raise ParameterError(
                f"option(s) {clash} cannot be combined with a ReferenceWave: its aperture and grid "
                "are fixed. Prepare another one with holocorr.series.prepare_reference(...)."
            )
        ref = reference
        if tuple(ref.shape) != shape:
            raise ShapeError(
                f"the ReferenceWave was prepared on {ref.shape} px holograms; the series frames are "
                f"{shape} px. Prepare it from a reference of the series' shape."
            )
        if ref.factor.real.dtype != work:
            ref = dataclasses.replace(ref, factor=ref.factor.astype(np.result_type(work, np.complex64)))
        geo, with_ref = ref, True
    else:
        o = _options(sideband, radius, edge, smoothness, fresnel_filter, reference_smoothing, apodize, spacing_range)
        if reference is not None:
            rda = as_dataarray(reference, name="reference", dims=("y", "x"), leading=())
            rarr = real_image(rda, name="reference", min_size=_MIN_PX)
            if rarr.shape != shape:
                raise ShapeError(
                    f"reference has shape {rarr.shape}; it must be one image of the series' frame "
                    f"shape {shape} (same detector area and binning)."
                )
            geo, with_ref = _prepare(rda, rarr, o, output_shape, work), True
        else:
            if o["ref_sigma"] is not None:
                raise ParameterError("reference_smoothing needs a reference hologram.")
            first = real_image(da.isel(frame=0).compute(), name="series frame 0", min_size=_MIN_PX)
            first = first.astype(work, copy=False)
            if o["apodize"] is not None:
                first = first * (
                    HK.tukey(shape[0], o["apodize"], work)[:, None] * HK.tukey(shape[1], o["apodize"], work)[None, :]
                )
            half = _spectrum(first, "series frame 0")
            sb = (
                o["sideband"]
                if isinstance(o["sideband"], Sideband)
                else _sideband_from(
                    first, half, o["sideband"], o["spacing_range"], "series frame 0", _pixel_size_nm(da)
                )
            )
            freq, rad, fresnel, out_shape = _geometry(sb, shape, o, output_shape)
            ramp = HK.carrier_ramp(shape, out_shape, freq, np.result_type(work, np.complex64))
            factor = ramp / np.float32(shape[0] * shape[1])
            params = {
                "sideband": o["sideband"],
                "radius": o["radius"],
                "edge": o["edge"],
                "smoothness": o["smoothness"],
                "output_shape": list(out_shape),
                "fresnel_filter": o["fresnel"],
                "reference_smoothing": None,
                "apodize": o["apodize"],
                "spacing_range": list(o["spacing_range"]),
            }
            geo, with_ref = (
                ReferenceWave(
                    sideband=sb,
                    shape=shape,
                    radius=rad,
                    output_shape=out_shape,
                    edge=o["edge"],
                    smoothness=o["smoothness"],
                    fresnel_width=fresnel,
                    apodize=o["apodize"],
                    factor=factor.astype(ramp.dtype),
                    pixel_size_nm=_pixel_size_nm(da),
                    attrs={},
                    parameters=params,
                    reference_hash="",
                ),
                False,
            )
    if da.chunks is not None and (len(da.chunks[1]) > 1 or len(da.chunks[2]) > 1):
        da = da.copy(data=da.data.rechunk({1: -1, 2: -1}))  # coords stay in memory
    # the frame numbers, for messages
    fcoord = da["frame"].values if "frame" in da.coords else np.arange(da.sizes["frame"])
    try:
        fnum = np.asarray(fcoord, dtype=np.int64)
    except (TypeError, ValueError):
        fnum = np.arange(da.sizes["frame"])
    index = xr.DataArray(fnum, dims="frame")
    if da.chunks is not None:
        index = index.chunk({"frame": da.chunks[0]})
    factor = xr.DataArray(geo.factor, dims=("oy", "ox"))
    cdt = np.result_type(work, np.complex64)
    kwargs = dict(
        shape=shape,
        freq=tuple(geo.sideband.frequency),
        radius=tuple(geo.radius),
        out_shape=tuple(geo.output_shape),
        edge=geo.edge,
        smoothness=geo.smoothness,
        fresnel_width=geo.fresnel_width,
        window=geo.window(work),
        dtype=work.name,
        on_error=on_error,
        # one FFT thread per dask task; an in-memory stack is one call: all threads
        threads=1 if da.chunks is not None else get_options()["fft_threads"],
    )
    wave, contrast, ok = xr.apply_ufunc(
        K.reconstruct_block,
        da.variable,
        index.variable,
        factor.variable,
        input_core_dims=[["y", "x"], [], ["oy", "ox"]],
        output_core_dims=[["oy", "ox"], [], []],
        kwargs=kwargs,
        dask="parallelized",
        output_dtypes=[cdt, work, bool],
    )
    wave = xr.Variable(("frame", "y", "x"), wave.data)
    coords = _output_coords(da, shape, geo.output_shape)
    ds = xr.Dataset(coords=coords)
    ds["wave"] = xr.DataArray(
        wave, dims=("frame", "y", "x"), attrs={"long_name": "object wave", "units": "1" if with_ref else "counts"}
    )
    ds["fringe_contrast"] = xr.DataArray(
        contrast, dims=("frame",), attrs={"long_name": "fringe contrast", "units": "1"}
    )
    ds["frame_ok"] = xr.DataArray(
        ok, dims=("frame",), attrs={"long_name": "frame reconstructed (finite values)", "units": "1"}
    )
    ds = with_derived(ds)
    pixel_nm = geo.pixel_size_nm
    rad = geo.radius
    out_shape = geo.output_shape
    rnm = None if pixel_nm is None else (rad[0] / pixel_nm[0], rad[1] / pixel_nm[1])
    params = dict(geo.parameters)
    params["on_error"] = on_error
    attrs = {
        k: v
        for k, v in da.attrs.items()
        if k not in ("units", "long_name", "holocorr", "source_files", "skipped_files")
    }
    attrs.update(geo.attrs if with_ref else {})
    attrs.update(
        {
            "sideband": json_sideband(geo.sideband),
            "aperture_radius_per_px": list(rad),
            "resolution_px": 1.0 / min(rad),
            "edge": geo.edge,
            "output_pixel_size": [
                shape[0] / out_shape[0] * (pixel_nm[0] if pixel_nm else 1.0),
                shape[1] / out_shape[1] * (pixel_nm[1] if pixel_nm else 1.0),
            ],
            "output_pixel_size_units": "nm" if pixel_nm else "px",
            "hologram_shape": list(shape),
            "sign_convention": "positive projected potential gives positive phase on the upper sideband",
            "holocorr": provenance(
                "series.reconstruct", params, {"series": input_id(da), "reference": geo.reference_hash or None}
            ),
        }
    )
    if rnm is not None:
        attrs["aperture_radius_per_nm"] = list(rnm)
        attrs["resolution_nm"] = 1.0 / min(rnm)
    ds.attrs.update({k: v for k, v in attrs.items() if v is not None})
    meta = {k: ds.attrs[k] for k in MICROSCOPE_ATTRS if k in ds.attrs}
    for name in ("wave", "amplitude", "phase"):
        ds[name].attrs.update(meta)
    return ds


def with_derived(ds: xr.Dataset) -> xr.Dataset:
    """(Re)derive ``amplitude`` and wrapped ``phase`` from ``wave`` (lazily for dask data)."""
    w = ds["wave"]
    units = w.attrs.get("units", "1")
    ds = ds.copy()
    ds["amplitude"] = xr.apply_ufunc(np.abs, w, dask="allowed").assign_attrs(long_name="amplitude", units=units)
    ds["phase"] = xr.apply_ufunc(np.angle, w, dask="allowed").assign_attrs(long_name="phase (wrapped)", units="rad")
    return ds
