"""Numerical kernels of series processing: numpy in, numpy out, pixel units.

Each function works on one block of frames, shape ``(k, ...)``, as handed
over by :func:`xarray.apply_ufunc` with ``dask="parallelized"``; nothing here
knows about xarray, dask, files or units. FFTs run with one thread: inside a
dask task the parallelism comes from the scheduler, and FFT threads would
only compete with the other tasks for the cores.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from scipy import ndimage

from .. import _fft
from ..errors import DataError
from ..holography import _kernels as HK

#: registration result columns (see :func:`register_block`)
REG_FIELDS = ("dy", "dx", "err_y", "err_x", "corr_error", "ok")


# --------------------------------------------------------------------------- reconstruction
def reconstruct_block(
    frames: np.ndarray,
    index: np.ndarray,
    factor: np.ndarray,
    *,
    shape: tuple[int, int],
    freq: tuple[float, float],
    radius: tuple[float, float],
    out_shape: tuple[int, int],
    edge: str,
    smoothness: float,
    fresnel_width: float | None,
    window: tuple[np.ndarray, np.ndarray] | None,
    dtype: str,
    on_error: str,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reconstruct a block of holograms with a fixed carrier, aperture and reference.

    For each frame: one real FFT, the aperture-weighted sideband box
    (:func:`holocorr.holography._kernels.sideband_patch`), one small inverse
    FFT, times `factor`. With a reference, `factor` is 1 / (reference wave),
    both unnormalised and without carrier correction (residual carrier and
    normalisation cancel in the ratio, as in
    :func:`holocorr.holography.reconstruct`); without one it is the exact
    sub-pixel carrier ramp over Ny Nx.

    Parameters
    ----------
    frames : (k, Ny, Nx) real ndarray
        Holograms (counts). Never modified.
    index : (k,) int ndarray
        Frame numbers, for messages.
    factor : (My, Mx) complex ndarray
        Per-pixel factor applied to each unnormalised wave.
    shape, freq, radius, out_shape, edge, smoothness, fresnel_width
        Geometry as in :func:`holocorr.holography._kernels.sideband_patch`.
    window : (wy, wx) or None
        Separable apodisation window applied to each frame.
    dtype : {"float32", "float64"}
        Working precision.
    on_error : {"raise", "skip"}
        What to do with a frame holding NaN/inf (e.g. an unreadable file):
        raise :class:`~holocorr.errors.DataError`, or return NaN and ok=False.
    threads : int
        FFT threads (1 inside dask tasks).

    Returns
    -------
    wave : (k, My, Mx) complex ndarray
        Object waves (complex64 for float32).
    contrast : (k,) real ndarray
        Fringe contrast 2 rms|sideband| / mean intensity of each frame
        (mu for a vacuum hologram; mu rms(A) with an object of amplitude A).
    ok : (k,) bool ndarray
        False for frames with NaN/inf values.
    """
    rdt = np.dtype(dtype)
    cdt = np.result_type(rdt, np.complex64)
    k = frames.shape[0]
    my, mx = out_shape
    wave = np.empty((k, my, mx), dtype=cdt)
    contrast = np.empty(k, dtype=rdt)
    ok = np.ones(k, dtype=bool)
    win2 = None if window is None else window[0][:, None] * window[1][None, :]
    # a taper w scales the sideband rms by sqrt(<w^2>) and the mean by <w>: undo it
    wfix = 1.0
    if window is not None:
        wy, wx = (np.asarray(v, np.float64) for v in window)
        wfix = float(wy.mean() * wx.mean() / math.sqrt((wy**2).mean() * (wx**2).mean()))
    kw = dict(edge=edge, smoothness=smoothness, fresnel_width=fresnel_width)
    for i in range(k):
        f = np.asarray(frames[i])
        if f.dtype != rdt:
            f = f.astype(rdt)
        if win2 is not None:
            f = f * win2
        half = _fft.rfft2(f, threads=threads)
        dc = half[0, 0]
        if not np.isfinite(dc):
            if on_error == "raise":
                bad = int(np.count_nonzero(~np.isfinite(f)))
                raise DataError(
                    f"frame {int(index[i])} of the series has {bad} NaN or infinite value(s) "
                    "(an unreadable file gives an all-NaN frame). Replace or drop that frame, or "
                    "pass on_error='skip' to flag it and leave it out of averages."
                )
            wave[i] = np.nan
            contrast[i] = np.nan
            ok[i] = False
            continue
        patch, _ = HK.sideband_patch(half, shape, freq, radius, out_shape, **kw)
        w = _fft.ifft2(patch, threads=1, norm="forward")  # unnormalised inverse
        mean = float(dc.real)
        rms = math.sqrt(float(np.mean(w.real.astype(np.float64) ** 2 + w.imag.astype(np.float64) ** 2)))
        contrast[i] = 2.0 * rms / mean * wfix if mean > 0 else 0.0
        np.multiply(w, factor, out=wave[i])
    return wave, contrast, ok


# --------------------------------------------------------------------------- images for alignment
def phase_gradient_magnitude(wave: np.ndarray) -> np.ndarray:
    """|grad phi| [rad/px] of complex waves, from wrapped neighbour differences.

    Centred differences arg(w[j+1] conj w[j-1]) / 2 (one-sided at the
    borders) are insensitive to phase wrapping and to a constant phase
    offset, so the image does not change with the biprism phase drift.

    Parameters
    ----------
    wave : (..., M, N) complex ndarray

    Returns
    -------
    (..., M, N) real ndarray
    """
    w = np.asarray(wave)
    gy = np.empty(w.shape, dtype=w.real.dtype)
    gx = np.empty(w.shape, dtype=w.real.dtype)
    gy[..., 1:-1, :] = 0.5 * np.angle(w[..., 2:, :] * np.conj(w[..., :-2, :]))
    gy[..., 0, :] = np.angle(w[..., 1, :] * np.conj(w[..., 0, :]))
    gy[..., -1, :] = np.angle(w[..., -1, :] * np.conj(w[..., -2, :]))
    gx[..., :, 1:-1] = 0.5 * np.angle(w[..., :, 2:] * np.conj(w[..., :, :-2]))
    gx[..., :, 0] = np.angle(w[..., :, 1] * np.conj(w[..., :, 0]))
    gx[..., :, -1] = np.angle(w[..., :, -1] * np.conj(w[..., :, -2]))
    return np.hypot(gy, gx)


def alignment_image(wave: np.ndarray, on: str) -> np.ndarray:
    """Image used for registration: amplitude or phase-gradient magnitude (float64), or the wave.

    For ``on="wave"`` the complex wave itself (complex128) is returned; its
    correlation is taken in magnitude, so a constant phase offset between
    frames does not matter.
    """
    if on == "amplitude":
        return np.abs(wave).astype(np.float64)
    if on == "wave":
        return np.asarray(wave, dtype=np.complex128)
    return phase_gradient_magnitude(wave).astype(np.float64)


# --------------------------------------------------------------------------- registration
#: fraction of each side tapered by the registration window
TAPER = 0.25


def taper2(shape: tuple[int, int]) -> np.ndarray:
    """Tukey window (cosine tapers over TAPER of each side) for registration.

    A flat top uses more of the image than a Hann window: on simulated
    series the shift scatter fell from 0.051 to 0.032 px (amplitude) and
    0.034 to 0.024 px (phase gradient).
    """
    return HK.tukey(shape[0], TAPER, np.float64)[:, None] * HK.tukey(shape[1], TAPER, np.float64)[None, :]


def _structure(img: np.ndarray) -> np.ndarray:
    """Gradient structure tensor sum(Re grad grad^H) (no BLAS: see _one_blas_thread)."""
    gy, gx = np.gradient(img)
    syy = float(np.sum(gy.real**2 + gy.imag**2)) if np.iscomplexobj(img) else float(np.sum(gy * gy))
    sxx = float(np.sum(gx.real**2 + gx.imag**2)) if np.iscomplexobj(img) else float(np.sum(gx * gx))
    syx = float(np.sum(np.real(gy * np.conj(gx)))) if np.iscomplexobj(img) else float(np.sum(gy * gx))
    return np.array([[syy, syx], [syx, sxx]])


def _one_blas_thread():
    """Limit BLAS to one thread (threadpoolctl when installed).

    Inside a dask task the cores are already busy with other tasks; a
    multi-threaded BLAS call then oversubscribes them (measured: a 10x slower
    upsampled correlation on a loaded 2-core machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _smooth(img: np.ndarray, sigma: float) -> np.ndarray:
    img = np.asarray(img)
    if sigma <= 0:
        return img.astype(np.complex128 if np.iscomplexobj(img) else np.float64)
    if np.iscomplexobj(img):
        return ndimage.gaussian_filter(img.real.astype(np.float64), sigma) + 1j * ndimage.gaussian_filter(
            img.imag.astype(np.float64), sigma
        )
    return ndimage.gaussian_filter(img.astype(np.float64), sigma)


def _fill(img: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """NaN pixels replaced by the mean of the finite ones."""
    if finite.all():
        return img
    return np.where(finite, img, img[finite].mean())


def _shift(img: np.ndarray, shift, order: int = 3) -> np.ndarray:
    if np.iscomplexobj(img):
        return ndimage.shift(img.real, shift, order=order, mode="nearest") + 1j * ndimage.shift(
            img.imag, shift, order=order, mode="nearest"
        )
    return ndimage.shift(img, shift, order=order, mode="nearest")


def register_pair(
    fixed: np.ndarray, moving: np.ndarray, *, upsample: int, window: np.ndarray | None = None, sigma: float = 1.0
) -> tuple[float, float, float, float, float]:
    """Sub-pixel shift that maps `moving` onto `fixed`, with its uncertainty.

    Phase correlation (Guizar-Sicairos, Thurman & Fienup, Opt. Lett. 33, 156
    (2008), doi:10.1364/OL.33.000156, via
    :func:`skimage.registration.phase_cross_correlation`) of the lightly
    smoothed (Gaussian `sigma` px), tapered images. A taper that stays
    put while the content moves biases large shifts towards zero, so the
    whole-pixel shift is found first, the moving image is moved by it, and
    only the small remainder is measured by the upsampled correlation. The
    uncertainty is the Cramer-Rao-type estimate of
    :func:`holocorr.holography.register_waves`: covariance 2 s^2 A_c T^-1
    from the noise-corrected gradient structure tensor T of the fixed image,
    the residual noise variance s^2 per image and its correlation area A_c.
    Complex images (waves) are correlated in magnitude, so a constant phase
    between them does not matter.

    Parameters
    ----------
    fixed, moving : (M, N) real or complex ndarray
        Images; NaN pixels (no data) get zero weight.
    upsample : int
        Shift resolution 1/upsample px.
    window : (M, N) ndarray, optional
        Taper (default :func:`taper2`).
    sigma : float
        Gaussian pre-smoothing [px].

    Returns
    -------
    dy, dx : float
        Shift to apply to `moving` [px].
    err_y, err_x : float
        One standard deviation [px] (inf along a direction the images do
        not determine).
    corr_error : float
        Normalised RMS error of the correlation (0 = identical images).
    """
    from skimage.registration import phase_cross_correlation

    fa, fb = np.isfinite(fixed), np.isfinite(moving)
    a = _smooth(_fill(fixed, fa), sigma)
    b = _smooth(_fill(moving, fb), sigma)
    win = taper2(a.shape) if window is None else window
    wa = win * fa if not fa.all() else win
    am = (a - a[fa].mean()) * wa
    coarse, _, _ = phase_cross_correlation(am, (b - b[fb].mean()) * (win * fb), upsample_factor=1, normalization=None)
    coarse = np.round(np.asarray(coarse, dtype=np.float64))
    bs = _shift(b, coarse, order=1)  # whole pixels: an exact copy
    fbs = _shift(fb.astype(np.float64), coarse, order=0) > 0.5 if not fb.all() else fb
    with _one_blas_thread():
        res, corr_error, _ = phase_cross_correlation(
            am, (bs - bs[fbs].mean()) * (win * fbs), upsample_factor=upsample, normalization=None
        )
    total = coarse + np.asarray(res, dtype=np.float64)
    corr_error = float(corr_error)
    # uncertainty from the residual after alignment
    m = max(int(4 * sigma), 2) + int(math.ceil(max(abs(total[0]), abs(total[1]))))
    if a.shape[0] - 2 * m < 8 or a.shape[1] - 2 * m < 8:
        m = 2
    inner = (slice(m, a.shape[0] - m), slice(m, a.shape[1] - m))
    bs = _shift(b, total)
    both = fa & (_shift(fb.astype(np.float64), total, order=1) > 0.999 if not fb.all() else fb)
    ai, bi = a[inner], bs[inner]
    ok_in = both[inner]
    if not ok_in.all():
        ai = np.where(ok_in, ai, ai[ok_in].mean())
        bi = np.where(ok_in, bi, ai[ok_in].mean())
    if np.iscomplexobj(ai):
        # a constant phase between the two waves is not a mismatch
        c = np.sum(np.conj(bi) * ai)
        bi = bi * (c / abs(c) if abs(c) > 0 else 1.0)
    resid = ai - bi
    resid = resid - resid.mean()
    tensor = _structure(ai) - 0.5 * _structure(resid)
    evals, evecs = np.linalg.eigh(tensor)
    # noise variance per image and per real component
    noise_var = float(np.mean(np.abs(resid) ** 2)) / (4.0 if np.iscomplexobj(resid) else 2.0)
    power = np.abs(np.fft.fft2(resid)) ** 2
    acf = np.real(np.fft.ifft2(power))
    area = float(np.sum(np.clip(acf / acf.flat[0], 0.0, None))) if acf.flat[0] > 0 else 1.0
    c = 2.0 * noise_var * area
    var = np.zeros(2)
    for j in range(2):
        v = evecs[:, j]
        if evals[j] > 0:
            var += v**2 * c / evals[j]
        else:
            var += np.where(np.abs(v) > 0.1, math.inf, 0.0)
    err = np.sqrt(var)
    return float(total[0]), float(total[1]), float(err[0]), float(err[1]), corr_error


def register_block(wave: np.ndarray, template: np.ndarray, *, on: str, upsample: int, sigma: float = 1.0) -> np.ndarray:
    """Register every frame of a block onto a template image.

    Parameters
    ----------
    wave : (k, M, N) complex ndarray
        Waves (NaN = no data; frames with data on less than half of the
        grid are reported as failed).
    template : (M, N) real or complex ndarray
        The alignment image of the reference (NaN where it has no data).
    on : {"amplitude", "phase_gradient"}
        Image registered (see :func:`alignment_image`).
    upsample : int
        Shift resolution 1/upsample px.
    sigma : float
        Gaussian pre-smoothing [px].

    Returns
    -------
    (k, 6) float64 ndarray
        Columns :data:`REG_FIELDS`: shift to apply (dy, dx) [px], its 1-sigma
        error [px], correlation error and ok (1.0 or 0.0).
    """
    k = wave.shape[0]
    out = np.full((k, len(REG_FIELDS)), np.nan)
    win = taper2(template.shape)
    for i in range(k):
        w = wave[i]
        finite = np.isfinite(w)
        if finite.mean() < 0.5:  # unreadable frame, or too little left
            out[i, 5] = 0.0
            continue
        img = alignment_image(np.where(finite, w, 0), on)
        img = np.where(finite, img, np.nan)
        out[i, :5] = register_pair(template, img, upsample=upsample, window=win, sigma=sigma)
        out[i, 5] = 1.0
    return out


# --------------------------------------------------------------------------- applying shifts
def coverage_box(shape: tuple[int, int], shift: tuple[float, float]) -> tuple[int, int, int, int]:
    """Rows [y0, y1) and columns [x0, x1) that a frame shifted by `shift` px still covers.

    Output pixel p holds input pixel p - shift, so it is covered when
    0 <= p - shift <= n - 1 (rounded outwards to whole pixels).
    """
    (ny, nx), (sy, sx) = shape, shift
    y0 = int(math.ceil(max(sy, 0.0)))
    y1 = ny - int(math.ceil(max(-sy, 0.0)))
    x0 = int(math.ceil(max(sx, 0.0)))
    x1 = nx - int(math.ceil(max(-sx, 0.0)))
    return y0, max(y0, y1), x0, max(x0, x1)


def shift_block(wave: np.ndarray, shifts: np.ndarray, *, method: str = "spline") -> np.ndarray:
    """Shift each complex wave by `shifts` px; pixels the frame does not cover become NaN.

    ``method="spline"`` interpolates the real and imaginary parts with cubic
    B-splines (local: a wild value near the border, e.g. where an apodised
    reference is weak, stays where it is). ``"fourier"`` multiplies the DFT
    by exp(-2 pi i (ky sy + kx sx)), exact for a periodic band-limited wave
    but it spreads border artefacts over the whole frame. Rows and columns
    that the shift brings in from outside (:func:`coverage_box`, plus the
    spline's 2 px reach) are set to NaN.

    Parameters
    ----------
    wave : (k, M, N) complex ndarray
    shifts : (k, 2) real ndarray
        Shift (dy, dx) [px] to apply to each frame; a NaN shift gives an
        all-NaN frame.
    method : {"spline", "fourier"}

    Returns
    -------
    (k, M, N) complex ndarray (same dtype as `wave`)
    """
    k, ny, nx = wave.shape
    out = np.full(wave.shape, np.nan, dtype=wave.dtype)
    rdt = wave.real.dtype
    fy = np.fft.fftfreq(ny).astype(np.float64)
    fx = np.fft.fftfreq(nx).astype(np.float64)
    for i in range(k):
        sy, sx = float(shifts[i, 0]), float(shifts[i, 1])
        if not (math.isfinite(sy) and math.isfinite(sx)):
            continue
        w = wave[i]
        if sy == 0.0 and sx == 0.0:
            out[i] = w
            continue
        bad = ~np.isfinite(w)
        w0 = np.where(bad, 0, w)
        if method == "fourier":
            spec = _fft.fft2(w0, threads=1)
            spec *= np.exp(-2j * np.pi * fy * sy).astype(spec.dtype)[:, None]
            spec *= np.exp(-2j * np.pi * fx * sx).astype(spec.dtype)[None, :]
            shifted = _fft.ifft2(spec, threads=1)
            margin = 0
        else:
            shifted = ndimage.shift(w0.real.astype(np.float64), (sy, sx), order=3, mode="nearest") + 1j * ndimage.shift(
                w0.imag.astype(np.float64), (sy, sx), order=3, mode="nearest"
            )
            margin = 2 if (sy % 1.0 or sx % 1.0) else 0
        y0, y1, x0, x1 = coverage_box((ny, nx), (sy, sx))
        if margin:
            y0 = min(y0 + (margin if sy > 0 else 0), ny)
            y1 = max(y1 - (margin if sy < 0 else 0), y0)
            x0 = min(x0 + (margin if sx > 0 else 0), nx)
            x1 = max(x1 - (margin if sx < 0 else 0), x0)
        out[i, y0:y1, x0:x1] = shifted[y0:y1, x0:x1]
        # pixels that were NaN in the input stay NaN where they land
        if bad.any():
            moved = ndimage.shift(bad.astype(rdt), (sy, sx), order=1, mode="constant", cval=1.0) > 1e-3
            out[i][moved] = np.nan
    return out


def image_block(wave: np.ndarray, anchor: np.ndarray, *, on: str) -> np.ndarray:
    """Alignment images of a block of waves (NaN where the wave is NaN).

    For ``on="wave"`` each wave is also turned by the constant phase that
    best matches it to `anchor` (the biprism phase drift), so that waves can
    be averaged into a template.
    """
    cplx = on == "wave"
    out = np.empty(wave.shape, dtype=np.complex128 if cplx else np.float64)
    for i in range(wave.shape[0]):
        w = wave[i]
        bad = ~np.isfinite(w)
        img = alignment_image(np.where(bad, 0, w), on)
        if cplx:
            c = np.sum(np.conj(np.where(bad, 0, anchor)) * img)
            img = img * (np.conj(c) / abs(c) if abs(c) > 0 else 1.0)
        img[bad] = np.nan
        out[i] = img
    return out


# --------------------------------------------------------------------------- phase corrections
def phase_ramp_block(
    wave: np.ndarray, offset: np.ndarray, tilt: np.ndarray, *, yy: np.ndarray, xx: np.ndarray
) -> np.ndarray:
    """Multiply each wave by exp(-i (offset + tilt_y yy + tilt_x xx)).

    Parameters
    ----------
    wave : (k, M, N) complex ndarray
    offset : (k,) real ndarray [rad]
    tilt : (k, 2) real ndarray [rad/px]
    yy, xx : (M,) and (N,) real ndarrays
        Pixel positions relative to the fit centre [px].

    Returns
    -------
    (k, M, N) complex ndarray (dtype of `wave`)
    """
    out = np.empty_like(wave)
    for i in range(wave.shape[0]):
        ey = np.exp(-1j * (float(offset[i]) + float(tilt[i, 0]) * yy))
        ex = np.exp(-1j * float(tilt[i, 1]) * xx)
        ramp = (ey[:, None] * ex[None, :]).astype(wave.dtype)
        np.multiply(wave[i], ramp, out=out[i])
    return out


def sync_block(
    wave: np.ndarray,
    ok: np.ndarray,
    tilt: np.ndarray,
    mean: np.ndarray,
    weight: np.ndarray,
    *,
    yy: np.ndarray,
    xx: np.ndarray,
    fit_tilt: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """One step of angular synchronisation of the frames of a block against a consensus wave.

    With R_k = w_k exp(-i t_k.r) conj(m) over the fit region (weights
    `weight`), the pairwise sum c_k = sum weight R_k gives the frame's
    constant phase offset arg(c_k) against the consensus m (Singer, Appl.
    Comput. Harmon. Anal. 30, 20 (2011), doi:10.1016/j.acha.2010.02.001:
    the consensus built from the corrected frames makes this the power
    iteration of the pairwise-offset matrix). With `fit_tilt`, the residual
    d_k = arg(R_k conj(c_k)) is fitted by a + t_y y + t_x x (weights
    weight |R_k|) and the tilt updated. Returns the frames corrected with the
    new offsets and tilts, whose sum is the next consensus.

    Parameters
    ----------
    wave : (k, M, N) complex ndarray
        Waves (NaN = no data).
    ok : (k,) bool ndarray
        Frames to use (the others give zeros and NaN offsets).
    tilt : (k, 2) real ndarray
        Current tilts [rad/px].
    mean : (M, N) complex ndarray
        Current consensus wave.
    weight : (M, N) real ndarray
        Region weights (0 outside).
    yy, xx : 1-D real ndarrays
        Pixel positions from the fit centre [px].
    fit_tilt : bool
        Also fit a phase tilt per frame.

    Returns
    -------
    result : (k, 6) float64 ndarray
        Columns: offset [rad], tilt_y, tilt_x [rad/px], residual variance of
        d [rad^2], sum of the weights, and the number of region pixels used.
    corrected : (k, M, N) complex128 ndarray
        w_k exp(-i (offset_k + t_k.r)) with NaN set to 0 (zeros for unused frames).
    """
    k = wave.shape[0]
    res = np.full((k, 6), np.nan)
    corrected = np.zeros(wave.shape, dtype=np.complex128)
    cm = np.conj(np.asarray(mean, dtype=np.complex128))
    for i in range(k):
        if not ok[i]:
            continue
        raw = np.asarray(wave[i], dtype=np.complex128)
        finite = np.isfinite(raw)
        w = np.where(finite, raw, 0)
        ty, tx = float(tilt[i, 0]), float(tilt[i, 1])
        ramp = np.exp(-1j * ty * yy)[:, None] * np.exp(-1j * tx * xx)[None, :]
        r = w * ramp * cm
        c = np.sum(weight * r)
        if not abs(c) > 0:
            continue
        theta = math.atan2(c.imag, c.real)
        a = weight * np.abs(r)
        d = np.angle(r * complex(math.cos(theta), -math.sin(theta)))
        s1 = float(np.sum(a))
        if fit_tilt and s1 > 0:
            ay = a * yy[:, None]
            ax = a * xx[None, :]
            mat = np.array(
                [
                    [s1, np.sum(ay), np.sum(ax)],
                    [np.sum(ay), np.sum(ay * yy[:, None]), np.sum(ay * xx[None, :])],
                    [np.sum(ax), np.sum(ay * xx[None, :]), np.sum(ax * xx[None, :])],
                ]
            )
            rhs = np.array([np.sum(a * d), np.sum(ay * d), np.sum(ax * d)])
            try:
                da, dty, dtx = np.linalg.solve(mat, rhs)
            except np.linalg.LinAlgError:
                da = dty = dtx = 0.0
            theta += da
            ty += dty
            tx += dtx
            d = d - (da + dty * yy[:, None] + dtx * xx[None, :])
        var = float(np.sum(a * d * d) / s1) if s1 > 0 else math.nan
        res[i] = (theta, ty, tx, var, s1, float(np.count_nonzero((weight > 0) & finite)))
        ey = np.exp(-1j * (theta + ty * yy))
        ex = np.exp(-1j * tx * xx)
        corrected[i] = w * (ey[:, None] * ex[None, :])
    return res, corrected
