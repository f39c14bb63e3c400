"""Sideband detection and off-axis hologram reconstruction (public wrappers).

Sign convention
---------------
A hologram I0 [1 + A^2 + 2 mu A cos(2 pi q_c.r + phi)] carries the object
wave A exp(+i phi) on the sideband at +q_c and its conjugate at -q_c. holocorr
calls "upper" the sideband drawn above the centre of a centred FFT displayed
with the origin at the top (fy < 0 cycles/px; on the fx axis, the one with
fx > 0). With :func:`holocorr.simulate.hologram` at carrier angles in
[0, 180) degrees the upper sideband returns +phi, so a positive projected
potential gives a positive phase. Real instruments may put the object on the
other side: choose ``sideband="lower"`` (or ``Sideband.flipped()``), which
negates the phase exactly.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .. import _fft
from .._provenance import array_hash, provenance
from .._validate import (
    as_dataarray,
    axis_step,
    check_choice,
    check_finite,
    check_positive,
    real_image,
    spatial_units_to_nm,
    user_stacklevel,
)
from ..errors import (
    CalibrationError,
    DataError,
    HolocorrWarning,
    ParameterError,
    ReconstructionError,
    ShapeError,
)
from . import _kernels as K

__all__ = ["Sideband", "find_sideband", "fringe_statistics", "reconstruct"]

_SIDES = ("upper", "lower")
#: Hologram attrs copied onto every output variable.
MICROSCOPE_ATTRS = ("beam_energy_kv", "biprism_voltage_v", "exposure_s", "dose_e_per_px", "magnification")
_MIN_PX = 16
#: Default search band for the carrier: fringe spacings of 2.2 to 16 px.
DEFAULT_SPACING_RANGE = (2.2, 16.0)
#: Peak-to-median power ratio below which an image is said to have no fringes.
# Peak over median of the 3x3-summed, Hann-windowed power in the search band.
# Pure Poisson noise gave 4.3-8.1 (30 images, 128^2 to 2048^2); holograms at
# 0.05 e-/px gave 28-60 on 512^2 (7-14 on 256^2, where fringes and noise
# cannot be told apart). 12 separates the two.
_MIN_PEAK_RATIO = 12.0


@dataclasses.dataclass(frozen=True)
class Sideband:
    """A sideband of an off-axis hologram.

    Attributes
    ----------
    frequency : (fy, fx) tuple of float
        Carrier frequency [cycles/px], sub-pixel; fy along rows (y), fx
        along columns (x).
    side : {"upper", "lower"}
        Which of the two sidebands (see the module's sign convention).
    contrast : float
        Fringe contrast, 2 sqrt(sideband power - noise) / mean intensity
        (= (Imax - Imin)/(Imax + Imin) in vacuum).
    spacing_px : float
        Fringe spacing [px].
    angle_deg : float
        Carrier direction [deg], counter-clockwise from +x with y up on
        screen.
    spacing_nm : float or None
        Fringe spacing [nm] when the image is calibrated in length units.
    frequency_per_nm : (fy, fx) tuple of float or None
        Carrier [1/nm] when calibrated.
    shape : (M, N) tuple of int
        Shape [px] of the image the sideband was measured on.
    """

    frequency: tuple[float, float]
    side: str
    contrast: float
    spacing_px: float
    angle_deg: float
    spacing_nm: float | None = None
    frequency_per_nm: tuple[float, float] | None = None
    shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        # A Sideband built by hand is used as given by reconstruct: check it
        # here, so that a NaN or zero carrier cannot reach the kernels.
        try:
            fy, fx = (float(self.frequency[0]), float(self.frequency[1]))
            n = len(self.frequency)
        except (TypeError, ValueError, IndexError) as exc:
            raise ParameterError(
                f"Sideband frequency must be a pair (fy, fx) in cycles/px, got {self.frequency!r}."
            ) from exc
        f = math.hypot(fy, fx)
        if n != 2 or not math.isfinite(f) or f <= 0 or f > 0.5 * math.sqrt(2):
            raise ParameterError(
                f"Sideband frequency {self.frequency!r} cycles/px is not a valid carrier "
                "(need a finite (fy, fx) with 0 < |q| <= 0.71 cycles/px); use find_sideband or "
                "Sideband.from_frequency."
            )
        check_choice("side", self.side, _SIDES)

    @classmethod
    def from_frequency(
        cls,
        frequency: tuple[float, float],
        *,
        side: str = "upper",
        contrast: float = math.nan,
        pixel_size_nm: tuple[float, float] | None = None,
        shape: tuple[int, int] | None = None,
    ) -> Sideband:
        """Build a Sideband from a carrier frequency in cycles/px.

        Parameters
        ----------
        frequency : (fy, fx)
            Carrier [cycles/px].
        side : {"upper", "lower"}
            Label of the side.
        contrast : float
            Fringe contrast if known.
        pixel_size_nm : (dy, dx), optional
            Pixel size [nm] to fill the calibrated fields.
        shape : (M, N), optional
            Image shape [px].

        Returns
        -------
        Sideband

        Examples
        --------
        >>> sb = Sideband.from_frequency((-0.25, 0.0), pixel_size_nm=(0.5, 0.5))
        >>> sb.spacing_px, sb.angle_deg, sb.spacing_nm
        (4.0, 90.0, 2.0)
        """
        fy, fx = (float(frequency[0]), float(frequency[1]))
        f = math.hypot(fy, fx)
        if not math.isfinite(f) or f <= 0 or f > 0.5 * math.sqrt(2):
            raise ParameterError(
                f"sideband frequency {frequency!r} cycles/px is not a valid carrier (need 0 < |q| <= 0.71 cycles/px)."
            )
        check_choice("side", side, _SIDES)
        snm = fnm = None
        if pixel_size_nm is not None:
            fnm = (fy / pixel_size_nm[0], fx / pixel_size_nm[1])
            snm = 1.0 / math.hypot(*fnm)
        return cls(
            frequency=(fy, fx),
            side=side,
            contrast=float(contrast),
            spacing_px=1.0 / f,
            angle_deg=math.degrees(math.atan2(-fy, fx)),
            spacing_nm=snm,
            frequency_per_nm=fnm,
            shape=None if shape is None else (int(shape[0]), int(shape[1])),
        )

    def flipped(self) -> Sideband:
        """Return the other sideband (frequency negated), whose phase is negated.

        Returns
        -------
        Sideband
        """
        other = "lower" if self.side == "upper" else "upper"
        fy, fx = self.frequency
        return dataclasses.replace(
            self,
            frequency=(-fy, -fx),
            side=other,
            angle_deg=math.degrees(math.atan2(fy, -fx)),
            frequency_per_nm=None
            if self.frequency_per_nm is None
            else (-self.frequency_per_nm[0], -self.frequency_per_nm[1]),
        )


# --------------------------------------------------------------------------- helpers
def _pixel_size_nm(da: xr.DataArray) -> tuple[float, float] | None:
    """(dy, dx) in nm, or None for pixel coordinates."""
    out = []
    for dim in ("y", "x"):
        step, units = axis_step(da, dim)
        if units == "px":
            return None
        f = spatial_units_to_nm(units)
        if f is None:
            raise CalibrationError(
                f"coordinate {dim!r} has units {units!r}, which is not a length; "
                "holograms need y/x coordinates in nm (or 'px')."
            )
        out.append(step * f)
    return (out[0], out[1])


def _hologram_array(data, name: str) -> tuple[xr.DataArray, np.ndarray]:
    da = as_dataarray(data, name=name, dims=("y", "x"), leading=("frame",))
    arr = real_image(da, name=name, min_size=_MIN_PX)
    return da, arr


def _check_spacing_range(spacing_range) -> tuple[float, float]:
    try:
        lo, hi = (float(spacing_range[0]), float(spacing_range[1]))
    except (TypeError, ValueError, IndexError) as exc:
        raise ParameterError(f"spacing_range must be (min_px, max_px), got {spacing_range!r}.") from exc
    if not (2.0 <= lo < hi) or not math.isfinite(hi):
        raise ParameterError(f"spacing_range must satisfy 2 <= min < max (px), got {spacing_range!r}.")
    return lo, hi


def _spectrum(arr: np.ndarray, name: str) -> np.ndarray:
    half = _fft.rfft2(arr)
    # Any NaN/inf pixel makes the DC term (the sum) non-finite: an O(1)
    # check; the full scan only runs to report where.
    if not np.all(np.isfinite(half[..., 0, 0])):
        check_finite(arr, name=name)
    return half


def _locate(image: np.ndarray, half: np.ndarray, side: str, spacing_range, name: str):
    lo, hi = spacing_range
    fy0, fx0, ratio, crop = K.coarse_carrier(image, fmin=1.0 / hi, fmax=1.0 / lo)
    # `not ratio >= ...`: a flat image gives ratio NaN (0/0), which must fail too
    if not math.isfinite(fy0) or not ratio >= _MIN_PEAK_RATIO:
        raise ReconstructionError(
            f"no interference fringes found in {name}: the strongest peak with a "
            f"spacing of {lo:g}-{hi:g} px is only {ratio:.1f}x the median power "
            f"(need > {_MIN_PEAK_RATIO:g}). Check that this is an off-axis hologram, "
            "or widen spacing_range, or give the sideband explicitly."
        )
    ny, nx = image.shape
    crop_px = min(ny, nx, 1024)
    search = int(math.ceil(max(ny, nx) / crop_px)) + 2
    fy, fx = K.refine_carrier(half, (ny, nx), fy0, fx0, search)
    return K.orient(fy, fx, side, (ny, nx)), crop


def find_sideband(
    hologram,
    *,
    side: str = "upper",
    reference=None,
    spacing_range: Sequence[float] = DEFAULT_SPACING_RANGE,
) -> Sideband:
    """Find the carrier frequency of an off-axis hologram to sub-pixel precision.

    A Hann-windowed central crop (at most 1024 px per axis) gives a rough
    carrier outside the centre band; the peak is then located in the full
    spectrum and refined per axis with the exact Hann two-bin estimator.

    Parameters
    ----------
    hologram : (M, N) DataArray or ndarray [counts]
        Hologram; with a leading ``frame`` dim the first frame is used.
    side : {"upper", "lower"}
        Which sideband (see the module docstring for the convention).
    reference : (M, N) DataArray or ndarray, optional
        Vacuum reference hologram. When given, the carrier is measured on it
        (it has no object to spread the sideband).
    spacing_range : (min_px, max_px)
        Fringe spacings searched [px] (default 2.2-16 px).

    Returns
    -------
    Sideband
        Frequency [cycles/px], spacing [px, nm], angle [deg] and contrast.

    Raises
    ------
    ShapeError, DataError
        For input that is not a finite real 2-D (or frame stack) image of at
        least 16x16 px, or a reference of another shape.
    ReconstructionError
        When no fringes are found.
    ParameterError
        For an unknown side or a bad spacing_range.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from holocorr.simulate import hologram
    >>> phi = xr.DataArray(np.zeros((128, 128)), dims=("y", "x"))
    >>> sb = find_sideband(hologram(phi, spacing_px=4.3, angle_deg=30, contrast=0.3))
    >>> round(sb.spacing_px, 3), round(sb.angle_deg, 2), round(sb.contrast, 2)
    (4.3, 30.0, 0.3)
    """
    check_choice("side", side, _SIDES)
    spacing_range = _check_spacing_range(spacing_range)
    da, arr = _hologram_array(hologram, "hologram")
    image = arr[(0,) * (arr.ndim - 2)] if arr.ndim > 2 else arr
    src_name, src = "hologram", image
    if reference is not None:
        rda, rarr = _hologram_array(reference, "reference")
        if rarr.ndim != 2 or rarr.shape != image.shape:
            raise ShapeError(
                f"reference has shape {rarr.shape}; it must be one image of the hologram's shape {image.shape}."
            )
        src_name, src = "reference", rarr
    half = _spectrum(src, src_name)
    return _sideband_from(src, half, side, spacing_range, src_name, _pixel_size_nm(da))


def _sideband_from(image, half, side, spacing_range, name, pixel_nm) -> Sideband:
    (fy, fx), crop = _locate(image, half, side, spacing_range, name)
    radius = math.hypot(fy, fx) / 3.0
    contrast = K.contrast_from_crop(crop, fy, fx, radius)
    return Sideband.from_frequency((fy, fx), side=side, contrast=contrast, pixel_size_nm=pixel_nm, shape=image.shape)


def fringe_statistics(hologram, *, spacing_range: Sequence[float] = DEFAULT_SPACING_RANGE) -> dict:
    """Carrier, fringe spacing, contrast and counts of a hologram.

    Parameters
    ----------
    hologram : (M, N) DataArray or ndarray [counts]
        Hologram (first frame of a stack).
    spacing_range : (min_px, max_px)
        Fringe spacings searched [px].

    Returns
    -------
    dict
        ``frequency_px`` (fy, fx) [cycles/px] of the upper sideband,
        ``frequency_per_nm`` [1/nm] or None, ``spacing_px`` [px],
        ``spacing_nm`` [nm] or None, ``angle_deg`` [deg], ``contrast``,
        ``mean_counts`` [counts/px] and ``sideband_snr`` (sideband amplitude
        over the shot-noise amplitude per frequency bin).

    Raises
    ------
    ShapeError, DataError, ReconstructionError
        As for :func:`find_sideband`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from holocorr.simulate import hologram
    >>> phi = xr.DataArray(np.zeros((96, 128)), dims=("y", "x"))
    >>> st = fringe_statistics(hologram(phi, spacing_px=5, angle_deg=100, contrast=0.2))
    >>> round(st["spacing_px"], 3), round(st["contrast"], 3), round(st["mean_counts"], 3)
    (5.0, 0.2, 1.0)
    """
    sb = find_sideband(hologram, spacing_range=spacing_range)
    da, arr = _hologram_array(hologram, "hologram")
    image = arr[(0,) * (arr.ndim - 2)] if arr.ndim > 2 else arr
    mean = float(image.mean(dtype=np.float64))
    n = image.size
    # Shot noise: sqrt(total counts) per bin; sideband peak ~ contrast/2 * total.
    snr = 0.5 * sb.contrast * math.sqrt(mean * n) if mean > 0 else math.nan
    return {
        "frequency_px": sb.frequency,
        "frequency_per_nm": sb.frequency_per_nm,
        "spacing_px": sb.spacing_px,
        "spacing_nm": sb.spacing_nm,
        "angle_deg": sb.angle_deg,
        "contrast": sb.contrast,
        "mean_counts": mean,
        "sideband_snr": snr,
    }


# --------------------------------------------------------------------------- reconstruct
def _radius_pair(radius, fabs: float) -> tuple[float, float]:
    if isinstance(radius, bool | str | bytes):
        raise ParameterError(f"radius must be a number or a pair (ry, rx), got {radius!r}.")
    if isinstance(radius, numbers.Real):
        pair = (float(radius), float(radius))
    else:
        try:
            pair = tuple(float(r) for r in radius)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"radius must be a number or a pair (ry, rx), got {radius!r}.") from exc
        if len(pair) != 2:
            raise ParameterError(f"radius must be a number or a pair (ry, rx), got {radius!r}.")
    for r in pair:
        if not math.isfinite(r) or r <= 0:
            raise ParameterError(
                f"radius must be > 0 (a fraction of the carrier distance |q_c|), got {radius!r}; "
                "1/3 is the usual choice."
            )
        if r > 0.5:
            raise ParameterError(
                f"radius {r:g} x |q_c| is so large that the aperture reaches into the centre band "
                "(allowed: up to 0.5; 1/3 is the usual choice)."
            )
    return (pair[0] * fabs, pair[1] * fabs)


def _output_shape(output_shape, natural: tuple[int, int]) -> tuple[int, int]:
    if output_shape is None:
        return natural
    try:
        shp = tuple(int(s) for s in output_shape)
        ok = len(shp) == 2 and all(int(s) == s for s in output_shape)
    except (TypeError, ValueError):
        ok = False
    if not ok or min(shp) < 8:
        raise ParameterError(f"output_shape must be None or two integers >= 8 (rows, columns), got {output_shape!r}.")
    return shp


def _optional_positive(name: str, value, unit: str) -> float | None:
    if value is None or value is False:
        return None
    return check_positive(name, value, unit=unit)


def reconstruct(
    hologram,
    reference=None,
    *,
    sideband="upper",
    radius=1 / 3,
    edge: str = "tanh",
    smoothness: float = 0.05,
    output_shape: tuple[int, int] | None = None,
    unwrap: bool = True,
    fresnel_filter: float | None = None,
    reference_smoothing: float | None = None,
    apodize: float | None = None,
    spacing_range: Sequence[float] = DEFAULT_SPACING_RANGE,
) -> xr.Dataset:
    """Reconstruct the object wave of an off-axis hologram by sideband filtering.

    FFT of the hologram; an aperture around the (sub-pixel) carrier; the
    sideband is moved to the origin, the residual sub-pixel carrier removed
    exactly, and an inverse FFT of the aperture box gives the complex wave on
    an output grid spanning the same field of view. With a vacuum reference
    the object wave is divided by the reference wave, which removes the
    distortion phase and the fringe contrast.

    Parameters
    ----------
    hologram : (M, N) or (frame, M, N) DataArray or ndarray [counts]
        Object hologram(s). Coordinates in nm are carried to the output.
    reference : (M, N) DataArray or ndarray, optional
        Vacuum reference hologram recorded with the same optics. Its wave is
        computed once and shared by all frames; the carrier is measured on it.
    sideband : {"upper", "lower"} or Sideband
        Sideband to use (module docstring: sign convention) or an explicit
        carrier.
    radius : float or (float, float)
        Aperture radius as a fraction of ``|q_c|`` (a pair gives the semi-axes
        along fy and fx of an elliptical aperture). At most 0.5.
    edge : {"tanh", "butterworth", "gaussian", "hard"}
        Aperture edge; every soft edge passes 1/2 at the radius. "tanh" is
        ``0.5 (1 - tanh((|q| - R)/(0.5 smoothness R)))``, the conventional
        choice of other tools, so results compare one-to-one.
    smoothness : float
        Width of the tanh edge relative to R; the Butterworth order is
        round(1/smoothness).
    output_shape : (int, int), optional
        Output shape [px]. None gives the smallest fast FFT size holding the
        aperture. The amplitude does not depend on it.
    unwrap : bool
        Unwrap the phase (quality-guided) when True.
    fresnel_filter : float, optional
        Remove the biprism's Fresnel-fringe streak through the sideband: the
        width of the removed stripe along the carrier direction in FFT
        pixels (>= 1), or as a fraction of the aperture radius (< 1). The
        stripe's centre (within one width of the carrier) is kept.
    reference_smoothing : float, optional
        Gaussian low-pass of the reference wave, sigma in hologram pixels.
        The reference's phase varies slowly, so this removes most of the
        reference's shot noise from the result.
    apodize : float, optional
        Taper the hologram (and reference) edges with a Tukey window over
        this fraction of each side (0 < apodize <= 0.5) before the FFT. A
        carrier that is not periodic across the image makes the sideband
        filter ring from the borders; dividing by the reference cancels that
        ringing only where the object phase is zero, leaving an error
        proportional to the phase (measured on a 1 rad blob at the centre:
        3 % error in a 128 px image and 0.6 % in a 256 px one; with
        apodize=0.2, 0.3 % and 0.015 %).
        Off by default so results compare one-to-one with other tools.
    spacing_range : (min_px, max_px)
        Fringe spacings searched when locating the carrier [px].

    Returns
    -------
    xarray.Dataset
        ``wave`` (complex64 for float32 input), ``amplitude`` and ``phase``
        [rad] on dims (y, x) (with a leading ``frame`` for stacks) and
        coordinates in the hologram's units at the output sampling (sample j
        at y0 + j (M/My) dy). Without a reference the amplitude is
        contrast x I0 x A [counts]; with one it is A (1 in vacuum). Attrs:
        ``sideband`` (JSON of the Sideband), ``aperture_radius_per_px``,
        ``aperture_radius_per_nm``, ``resolution_nm`` (1/R), ``edge``,
        ``output_pixel_size``, ``holocorr`` (provenance) and the hologram's
        microscope metadata (``beam_energy_kv``, ``biprism_voltage_v``,
        ``exposure_s``, ``dose_e_per_px``), which each variable carries too.

    Raises
    ------
    ShapeError
        1-D or > 3-D input, images under 16x16 px, reference of another shape.
    DataError
        NaN/inf pixels, complex or non-numeric input, a reference wave that
        vanishes somewhere.
    ParameterError
        Bad radius, edge, sideband, output_shape or filter options.
    ReconstructionError
        No fringes found.

    References
    ----------
    Lichte & Lehmann, Rep. Prog. Phys. 71, 016102 (2008),
    doi:10.1088/0034-4885/71/1/016102.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from holocorr.simulate import hologram
    >>> yy, xx = np.mgrid[0:128, 0:128]
    >>> phi = xr.DataArray(np.exp(-((yy - 64.0)**2 + (xx - 64.0)**2) / 400.0),
    ...                    dims=("y", "x"))
    >>> ref = hologram(0 * phi, spacing_px=4.2, angle_deg=60, contrast=0.3)
    >>> ds = reconstruct(hologram(phi, spacing_px=4.2, angle_deg=60, contrast=0.3),
    ...                  ref, output_shape=(128, 128), apodize=0.2)
    >>> round(float(ds.phase[64, 64] - ds.phase[64, 12]), 2)
    1.0
    """
    # ---- validate
    explicit = isinstance(sideband, Sideband)
    if not explicit:
        check_choice("sideband", sideband, _SIDES)
    check_choice("edge", edge, K.EDGES)
    smoothness = check_positive("smoothness", smoothness)
    if not isinstance(unwrap, bool):
        raise ParameterError(f"unwrap must be True or False, got {unwrap!r}.")
    spacing_range = _check_spacing_range(spacing_range)
    fresnel = _optional_positive("fresnel_filter", fresnel_filter, "px")
    ref_sigma = _optional_positive("reference_smoothing", reference_smoothing, "px")
    apod = _optional_positive("apodize", apodize, "")
    if apod is not None and apod > 0.5:
        raise ParameterError(f"apodize must be in (0, 0.5] (fraction of each side tapered), got {apodize!r}.")
    da, arr = _hologram_array(hologram, "hologram")
    shape = arr.shape[-2:]
    rarr = None
    if reference is not None:
        _, rarr = _hologram_array(reference, "reference")
        if rarr.ndim != 2 or rarr.shape != shape:
            raise ShapeError(
                f"reference has shape {rarr.shape}; it must be one image of the "
                f"hologram's shape {shape} (same detector area and binning)."
            )
        if rarr.dtype != arr.dtype:
            rarr = rarr.astype(np.result_type(rarr.dtype, arr.dtype))
            arr = arr.astype(rarr.dtype)
    if ref_sigma is not None and rarr is None:
        raise ParameterError("reference_smoothing needs a reference hologram.")
    pixel_nm = _pixel_size_nm(da)
    in_hash = array_hash(arr)
    ref_hash = None if rarr is None else array_hash(rarr)
    if apod is not None:
        window = K.tukey(shape[0], apod, arr.dtype)[:, None] * K.tukey(shape[1], apod, arr.dtype)[None, :]
        arr = arr * window
        rarr = None if rarr is None else rarr * window

    # ---- spectra and carrier
    half = _spectrum(arr, "hologram")
    rhalf = None if rarr is None else _spectrum(rarr, "reference")
    if explicit:
        sb = sideband
        if sb.shape is not None and tuple(sb.shape) != tuple(shape):
            warnings.warn(
                f"the Sideband was measured on a {sb.shape} image; this hologram is {shape}. "
                "Its frequency in cycles/px is used as it is.",
                HolocorrWarning,
                stacklevel=user_stacklevel(),
            )
    else:
        src, shalf, name = (
            (rarr, rhalf, "reference")
            if rarr is not None
            else (arr[(0,) * (arr.ndim - 2)], half[(0,) * (arr.ndim - 2)], "hologram")
        )
        sb = _sideband_from(src, shalf, sideband, spacing_range, name, pixel_nm)
    freq = sb.frequency
    fabs = math.hypot(*freq)
    rad = _radius_pair(radius, fabs)
    if fresnel is not None and fresnel < 1:
        fresnel = fresnel * max(rad[0] * shape[0], rad[1] * shape[1])
    natural = K.natural_output_shape(shape, rad, edge, smoothness)
    out_shape = _output_shape(output_shape, natural)
    need = K.required_box(shape, rad, edge, smoothness)
    if out_shape[0] < need[0] or out_shape[1] < need[1]:
        warnings.warn(
            f"output_shape {out_shape} is smaller than the aperture ({need} px needed): the "
            "aperture is truncated to the output box, which lowers the resolution. "
            "Use a larger output_shape or a smaller radius.",
            HolocorrWarning,
            stacklevel=user_stacklevel(),
        )

    # ---- waves
    kw = dict(edge=edge, smoothness=smoothness, fresnel_width=fresnel)
    patch, weights = K.sideband_patch(half, shape, freq, rad, out_shape, **kw)
    if rhalf is None:
        wave = K.patch_to_wave(patch, shape, freq, correct_carrier=True)
    else:
        if ref_sigma is None:
            rpatch, _ = K.sideband_patch(rhalf, shape, freq, rad, out_shape, weights=weights, **kw)
        else:
            rpatch, _ = K.sideband_patch(rhalf, shape, freq, rad, out_shape, smoothing_sigma=ref_sigma, **kw)
        # The residual carrier and the normalisation are the same in both
        # waves and cancel in the ratio.
        wave = K.patch_to_wave(patch, shape, freq, correct_carrier=False, normalise=False)
        rwave = K.patch_to_wave(rpatch, shape, freq, correct_carrier=False, normalise=False)
        ramp = np.abs(rwave)
        if not np.all(ramp > 0):
            raise DataError(
                f"the reference wave vanishes at {int((ramp <= 0).sum())} output pixel(s); the "
                "reference has no fringes there. Use a vacuum reference covering the field of view."
            )
        # Gibbs ringing from the image border (the carrier is not periodic
        # across it) weakens the first ~2 resolution lengths; judge inside.
        # An apodizing taper weakens its own border on purpose.
        taper = apod or 0.0
        by = min(ramp.shape[-2] // 3, math.ceil((2.0 / min(rad) + taper * shape[0]) * out_shape[0] / shape[0]))
        bx = min(ramp.shape[-1] // 3, math.ceil((2.0 / min(rad) + taper * shape[1]) * out_shape[1] / shape[1]))
        inner = ramp[by : ramp.shape[-2] - by, bx : ramp.shape[-1] - bx]
        weak = inner < 0.2 * float(np.median(inner[::4, ::4]))
        if weak.mean() > 1e-3:
            warnings.warn(
                f"the reference wave is weaker than 1/5 of its median at {int(weak.sum())} output "
                "pixel(s) (no or faint fringes there, e.g. outside the biprism overlap); amplitude "
                "and phase there are unreliable. Crop to the overlap region or use another reference.",
                HolocorrWarning,
                stacklevel=user_stacklevel(),
            )
        wave /= rwave
    amplitude = np.abs(wave)
    phase = np.angle(wave)

    # ---- coordinates and attrs
    coords = _output_coords(da, shape, out_shape)
    dims = da.dims
    ds = xr.Dataset(coords=coords)
    ds["wave"] = xr.DataArray(
        wave, dims=dims, attrs={"long_name": "object wave", "units": "1" if rarr is not None else "counts"}
    )
    ds["amplitude"] = xr.DataArray(
        amplitude, dims=dims, attrs={"long_name": "amplitude", "units": "1" if rarr is not None else "counts"}
    )
    ds["phase"] = xr.DataArray(phase, dims=dims, attrs={"long_name": "phase", "units": "rad"})
    if unwrap:
        from .phase import unwrap as _unwrap

        unwrapped = _unwrap(ds["phase"])
        ds["phase"] = unwrapped.assign_attrs(long_name="phase", units="rad")
    rnm = None if pixel_nm is None else (rad[0] / pixel_nm[0], rad[1] / pixel_nm[1])
    params = {
        "sideband": sideband if explicit else sideband,
        "radius": radius,
        "edge": edge,
        "smoothness": smoothness,
        "output_shape": list(out_shape),
        "unwrap": unwrap,
        "fresnel_filter": fresnel_filter,
        "reference_smoothing": reference_smoothing,
        "apodize": apodize,
        "spacing_range": list(spacing_range),
    }
    attrs = {k: v for k, v in da.attrs.items() if k not in ("units", "long_name", "holocorr")}
    attrs.update(
        {
            "sideband": json_sideband(sb),
            "aperture_radius_per_px": list(rad),
            "aperture_radius_per_nm": None if rnm is None else list(rnm),
            "resolution_nm": None if rnm is None else 1.0 / min(rnm),
            "resolution_px": 1.0 / min(rad),
            "edge": edge,
            "output_pixel_size": [
                shape[0] / out_shape[0] * (pixel_nm[0] if pixel_nm else 1.0),
                shape[1] / out_shape[1] * (pixel_nm[1] if pixel_nm else 1.0),
            ],
            "output_pixel_size_units": "nm" if pixel_nm else "px",
            "sign_convention": "positive projected potential gives positive phase on the upper sideband",
            "holocorr": provenance("holography.reconstruct", params, {"hologram": in_hash, "reference": ref_hash}),
        }
    )
    ds.attrs.update({k: v for k, v in attrs.items() if v is not None})
    # Microscope metadata travels with each variable, so that e.g.
    # phase_to_potential(ds.phase, ...) finds the beam energy.
    meta = {k: da.attrs[k] for k in MICROSCOPE_ATTRS if k in da.attrs}
    for name in ("wave", "amplitude", "phase"):
        ds[name].attrs.update(meta)
    return ds


def json_sideband(sb: Sideband) -> str:
    """JSON string of a Sideband (for attrs, which must stay netCDF-safe)."""
    import json

    return json.dumps(dataclasses.asdict(sb))


def _output_coords(da: xr.DataArray, shape, out_shape) -> dict:
    coords = {}
    for dim, n, m in zip(("y", "x"), shape, out_shape, strict=True):
        step, units = axis_step(da, dim)
        if dim in da.coords:
            c0 = float(da[dim].values[0])
            cattrs = dict(da[dim].attrs)
        else:
            c0, cattrs = 0.0, {"units": "px"}
        cattrs.setdefault("long_name", dim)
        cattrs.setdefault("units", units)
        coords[dim] = xr.DataArray(c0 + np.arange(m) * (n / m) * step, dims=(dim,), attrs=cattrs)
    for name, c in da.coords.items():
        if name not in ("y", "x") and not (set(c.dims) & {"y", "x"}):
            coords[name] = c
    return coords
