"""Numerical kernels of off-axis holography: numpy in, numpy out, pixel units.

Nothing here knows about xarray, files, units or plots. Frequencies are in
cycles per pixel, ``(fy, fx)`` with ``fy`` along rows (axis -2) and ``fx``
along columns (axis -1). Spectra are the unnormalised forward DFT of the real
hologram as returned by :func:`holocorr._fft.rfft2` (the half plane
``kx >= 0``); the other half follows from Hermitian symmetry,
``F[-ky, -kx] = conj(F[ky, kx])``.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from .. import _fft

EDGES = ("tanh", "butterworth", "gaussian", "hard")


# --------------------------------------------------------------------------- spectra
def gather(half: np.ndarray, shape: tuple[int, int], ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
    """Values of the full 2-D spectrum at the outer product of signed bins.

    Parameters
    ----------
    half : (..., Ny, Nx//2 + 1) complex ndarray
        rfft2 half spectrum.
    shape : (Ny, Nx)
        Shape of the real image.
    ky, kx : 1-D int ndarrays
        Signed bin indices (any integers; taken modulo the image size).

    Returns
    -------
    (..., len(ky), len(kx)) complex ndarray
    """
    ny, nx = shape
    ky = np.asarray(ky, dtype=np.intp)
    kxm = np.asarray(kx, dtype=np.intp) % nx
    pos = kxm <= nx // 2
    out = np.empty(half.shape[:-2] + (ky.size, kxm.size), dtype=half.dtype)
    # columns in the stored half plane, and mirrored ones (kx < 0): conj(F[-ky, -kx])
    col_sets = (
        (np.flatnonzero(pos), kxm[pos], ky % ny, False),
        (np.flatnonzero(~pos), nx - kxm[~pos], (-ky) % ny, True),
    )
    for out_cols, src_cols, src_rows, mirror in col_sets:
        if out_cols.size == 0:
            continue
        col_runs = _runs(src_cols)
        for o0, o1, rs in _runs(src_rows):
            for p0, p1, cs in col_runs:
                block = half[..., rs, cs]
                oc = out_cols[p0:p1]
                if oc[-1] - oc[0] == oc.size - 1:
                    oc = slice(int(oc[0]), int(oc[-1]) + 1)
                out[..., o0:o1, oc] = np.conj(block) if mirror else block
    return out


def _runs(idx: np.ndarray) -> list[tuple[int, int, slice]]:
    """Split indices into runs of step +1 or -1: (out_start, out_stop, source slice)."""
    n = idx.size
    if n == 0:
        return []
    runs = []
    a = 0
    d = np.diff(idx)
    while a < n:
        if a == n - 1:
            runs.append((a, n, slice(int(idx[a]), int(idx[a]) + 1)))
            break
        step = int(d[a])
        if step not in (1, -1):
            runs.append((a, a + 1, slice(int(idx[a]), int(idx[a]) + 1)))
            a += 1
            continue
        bad = np.flatnonzero(d[a:] != step)
        b = a + 1 + (int(bad[0]) if bad.size else n - 1 - a)
        first, last = int(idx[a]), int(idx[b - 1])
        sl = slice(first, last + 1) if step == 1 else slice(first, (last - 1) if last > 0 else None, -1)
        runs.append((a, b, sl))
        a = b
    return runs


def tukey(n: int, fraction: float, dtype) -> np.ndarray:
    """Tukey window: cosine tapers over `fraction` of `n` at each end, 1 between."""
    w = np.ones(n, dtype=np.float64)
    m = int(round(fraction * n))
    if m > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(m) + 0.5) / m)
        w[:m] = ramp
        w[n - m :] = ramp[::-1]
    return w.astype(dtype)


def _hann_taper(n: int, dtype) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(dtype)


@functools.lru_cache(maxsize=16)
def _spectral_mask(shape: tuple[int, int], fmin: float, fmax: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ny, nx = shape
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.rfftfreq(nx)[None, :]
    r = np.hypot(fy, fx)
    mask = (r >= fmin) & (r <= fmax)
    mask.flags.writeable = False
    return mask, fy, fx


@dataclasses.dataclass(frozen=True)
class CropSpectrum:
    """Hann-windowed spectrum of a central crop, kept for contrast estimates."""

    half: np.ndarray  # rfft2 of (crop - mean) * window
    shape: tuple[int, int]  # crop shape
    mean: float  # mean intensity of the crop
    window_sum: float  # sum of the 2-D window
    window_sq_sum: float  # sum of its square


def coarse_carrier(
    image: np.ndarray, *, fmin: float, fmax: float, max_crop: int = 1024
) -> tuple[float, float, float, CropSpectrum]:
    """Rough carrier frequency from a Hann-windowed central crop.

    Parameters
    ----------
    image : (Ny, Nx) real ndarray
        Hologram.
    fmin, fmax : float
        Search band of |q| in cycles/px (excludes the centre band).
    max_crop : int
        Largest crop used per axis (px); resolution is 1/crop cycles/px.

    Returns
    -------
    fy, fx : float
        Carrier in cycles/px, in the half plane fx >= 0.
    peak_to_background : float
        Peak power over the median power in the search band (about 1 for an
        image without fringes).
    crop : CropSpectrum
        The windowed crop spectrum, for :func:`contrast_from_crop`.
    """
    ny, nx = image.shape
    cy, cx = min(ny, max_crop), min(nx, max_crop)
    y0, x0 = (ny - cy) // 2, (nx - cx) // 2
    crop = image[y0 : y0 + cy, x0 : x0 + cx]
    mean = float(crop.mean(dtype=np.float64))
    wy, wx = _hann_taper(cy, crop.dtype), _hann_taper(cx, crop.dtype)
    crop = (crop - crop.dtype.type(mean)) * wy[:, None] * wx[None, :]
    half = _fft.rfft2(crop)
    power = half.real**2 + half.imag**2
    # A 3x3 box sum makes the peak robust at very low dose (the sideband is
    # then a few bins wide after the Hann window).
    p = power.copy()
    p[1:-1, :] += power[:-2, :] + power[2:, :]
    p[0, :] += power[-1, :] + power[1, :]
    p[-1, :] += power[-2, :] + power[0, :]
    q = p.copy()
    q[:, 1:-1] += p[:, :-2] + p[:, 2:]
    mask, fy, fx = _spectral_mask((cy, cx), fmin, fmax)
    info = CropSpectrum(
        half,
        (cy, cx),
        mean,
        float(wy.sum(dtype=np.float64) * wx.sum(dtype=np.float64)),
        float((wy.astype(np.float64) ** 2).sum() * (wx.astype(np.float64) ** 2).sum()),
    )
    if not mask.any():
        return math.nan, math.nan, 0.0, info
    masked = np.where(mask, q, -np.inf)
    iy, ix = np.unravel_index(int(np.argmax(masked)), masked.shape)
    vals = q[mask]
    background = float(np.median(vals[:: max(1, vals.size // 20000)]))
    # a zero background with a non-zero peak is a noise-free hologram; a zero
    # peak (a flat image: no power anywhere in the band) has no fringes at all
    peak = float(q[iy, ix])
    ratio = peak / background if background > 0 else (math.inf if peak > 0 else 0.0)
    return float(fy[iy, 0]), float(fx[0, ix]), ratio, info


def refine_carrier(
    half: np.ndarray, shape: tuple[int, int], fy0: float, fx0: float, search: int
) -> tuple[float, float]:
    """Sub-bin carrier from the full-size spectrum around a rough estimate.

    The Hann-windowed spectrum is obtained exactly from the unwindowed one by
    the 3-tap kernel (-1/4, 1/2, -1/4) per axis; the peak bin is found within
    `search` bins of the estimate and refined per axis with the exact
    two-bin ratio estimator of a Hann-windowed tone, delta = (2a - 1)/(1 + a)
    with a the neighbour-to-peak magnitude ratio (Grandke, IEEE Trans.
    Instrum. Meas. 32, 350 (1983)).

    Parameters
    ----------
    half : (Ny, Nx//2 + 1) complex ndarray
        rfft2 of the hologram.
    shape : (Ny, Nx)
        Image shape.
    fy0, fx0 : float
        Rough carrier in cycles/px.
    search : int
        Half width of the search window in bins.

    Returns
    -------
    fy, fx : float
        Carrier in cycles/px.
    """
    ny, nx = shape
    cy, cx = int(round(fy0 * ny)), int(round(fx0 * nx))
    ky = np.arange(cy - search - 1, cy + search + 2)
    kx = np.arange(cx - search - 1, cx + search + 2)
    raw = gather(half, shape, ky, kx).astype(np.complex128)
    win = 0.5 * raw[1:-1, :] - 0.25 * (raw[:-2, :] + raw[2:, :])
    win = 0.5 * win[:, 1:-1] - 0.25 * (win[:, :-2] + win[:, 2:])
    mag = np.abs(win)
    # Peak away from the window border so both neighbours exist.
    inner = mag[1:-1, 1:-1]
    iy, ix = np.unravel_index(int(np.argmax(inner)), inner.shape)
    iy += 1
    ix += 1
    dy = _hann_delta(mag[iy - 1, ix], mag[iy, ix], mag[iy + 1, ix], ny)
    dx = _hann_delta(mag[iy, ix - 1], mag[iy, ix], mag[iy, ix + 1], nx)
    by = ky[1:-1][iy]
    bx = kx[1:-1][ix]
    return (by + dy) / ny, (bx + dx) / nx


def _hann_ratio(delta: float, n: int, m: int) -> float:
    """|X[m]| / |X[0]| of the N-point DFT of a periodic-Hann-windowed tone.

    The tone lies `delta` bins above bin 0. Exact for the DFT (no large-N
    approximation): with G(nu) = sum_n exp(2 pi i nu n / N), the windowed
    spectrum is 0.5 G(delta - m) - 0.25 G(delta - m + 1) - 0.25 G(delta - m - 1)
    and every G shares the numerator exp(2 pi i delta) - 1.
    """

    def x(k: int) -> complex:
        def g(nu: float) -> complex:
            return 1.0 / (np.exp(2j * np.pi * nu / n) - 1.0)

        return 0.5 * g(delta - k) - 0.25 * g(delta - k + 1) - 0.25 * g(delta - k - 1)

    return abs(x(m)) / abs(x(0))


def _hann_delta(a: float, b: float, c: float, n: int) -> float:
    """Sub-bin offset of a Hann-windowed tone from the peak and neighbour magnitudes.

    Inverts the exact DFT magnitude ratio of the larger neighbour (0.5 at
    delta = 0, 1 at delta = 1/2) by bracketed root finding.
    """
    if b <= 0:
        return 0.0
    sign, r = (1.0, c / b) if c >= a else (-1.0, a / b)
    m = 1 if sign > 0 else -1
    lo, hi = 1e-9, 0.5 - 1e-9
    f_lo = _hann_ratio(sign * lo, n, m) - r
    f_hi = _hann_ratio(sign * hi, n, m) - r
    if f_lo >= 0:
        return 0.0
    if f_hi <= 0:
        return sign * 0.5
    from scipy.optimize import brentq

    d = brentq(lambda d: _hann_ratio(sign * d, n, m) - r, lo, hi, xtol=1e-10)
    return float(sign * d)


def orient(fy: float, fx: float, side: str, shape: tuple[int, int]) -> tuple[float, float]:
    """Return the carrier of the requested side.

    "upper" is the sideband drawn above the centre in a centred FFT shown
    with the origin at the top (fy < 0); when the carrier lies on the fx
    axis (|fy| below half a bin), the one with fx > 0.
    """
    ny, _ = shape
    upper = fy < -0.5 / ny or (abs(fy) <= 0.5 / ny and fx > 0)
    if (side == "upper") != upper:
        return -fy, -fx
    return fy, fx


def contrast_from_crop(crop: CropSpectrum, fy: float, fx: float, radius: float) -> float:
    """Fringe contrast 2 sqrt(P_sb - P_noise) / mean from the windowed crop spectrum.

    P_sb is the power of the Hann-windowed crop spectrum summed over a disc of
    `radius` cycles/px around the carrier (the window keeps the leakage of a
    non-integer carrier inside the disc). By Parseval it equals
    N sum(w^2) |c|^2 for a sideband of complex amplitude c, N the number of
    crop pixels. The noise power per bin is the median power (over ln 2,
    the median of an exponential distribution) in an equal disc rotated by 90
    degrees, where there is neither sideband nor centre band. For an object
    of unit amplitude the result is (Imax - Imin)/(Imax + Imin); otherwise it
    is 2 mu rms(A) / (1 + <A^2>), window-weighted over the crop.
    """
    if crop.mean <= 0:
        return 0.0
    cy, cx = crop.shape

    def disc_power(ky0: float, kx0: float) -> np.ndarray:
        ry, rx = radius * cy, radius * cx
        ky = np.arange(int(math.floor(ky0 - ry)), int(math.ceil(ky0 + ry)) + 1)
        kx = np.arange(int(math.floor(kx0 - rx)), int(math.ceil(kx0 + rx)) + 1)
        vals = gather(crop.half, crop.shape, ky, kx)
        inside = ((ky[:, None] - ky0) / cy) ** 2 + ((kx[None, :] - kx0) / cx) ** 2 <= radius**2
        return np.abs(vals[inside]).astype(np.float64) ** 2

    p_sb = disc_power(fy * cy, fx * cx)
    p_noise = disc_power(-fx * cy, fy * cx)  # rotated by 90 degrees
    noise = float(np.median(p_noise)) / math.log(2.0) if p_noise.size else 0.0
    signal = max(float(p_sb.sum()) - noise * p_sb.size, 0.0)
    amp = math.sqrt(signal / (cy * cx * crop.window_sq_sum))
    return 2.0 * amp / crop.mean


# --------------------------------------------------------------------------- apertures
def edge_extent(edge: str, smoothness: float) -> float:
    """Radius (in units of the aperture radius) beyond which the weight is < ~3e-3."""
    if edge == "hard":
        return 1.0
    if edge == "tanh":
        return 1.0 + 1.5 * smoothness
    if edge == "butterworth":
        n = butterworth_order(smoothness)
        return 1.0 + 3.0 / n
    return 2.9  # gaussian: exp(-rho^2 ln 2) < 3e-3


def butterworth_order(smoothness: float) -> int:
    """Order n of the Butterworth edge, 1/(1 + rho^(2n)), n = round(1/smoothness)."""
    return max(1, int(round(1.0 / smoothness)))


def aperture_weights(rho: np.ndarray, edge: str, smoothness: float) -> np.ndarray:
    """Aperture transmission for normalised radius rho = |q - q_c| / R.

    Every soft edge passes one half at rho = 1:

    * tanh: 0.5 (1 - tanh((rho - 1) / (0.5 smoothness)))
    * butterworth: 1 / (1 + rho^(2n)), n = round(1 / smoothness)
    * gaussian: exp(-rho^2 ln 2)
    * hard: 1 for rho <= 1, else 0
    """
    if edge == "tanh":
        return 0.5 * (1.0 - np.tanh((rho - 1.0) / (0.5 * smoothness)))
    if edge == "butterworth":
        n = butterworth_order(smoothness)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + rho ** (2 * n))
    if edge == "gaussian":
        return np.exp(-(rho**2) * math.log(2.0))
    return (rho <= 1.0).astype(rho.dtype)


def natural_output_shape(
    shape: tuple[int, int], radius: tuple[float, float], edge: str, smoothness: float
) -> tuple[int, int]:
    """Smallest fast FFT shape whose box holds the whole aperture (px)."""
    ext = edge_extent(edge, smoothness)
    out = []
    for n, r in zip(shape, radius, strict=True):
        half_width = math.ceil(ext * r * n)
        out.append(min(_fft.next_fast_len(2 * half_width + 2), max(n, 2 * half_width + 2)))
    return tuple(out)


def required_box(shape: tuple[int, int], radius: tuple[float, float], edge: str, smoothness: float) -> tuple[int, int]:
    """Box (px) needed to hold the aperture out to half transmission's tail."""
    ext = edge_extent(edge, smoothness)
    return tuple(2 * math.ceil(ext * r * n) + 1 for n, r in zip(shape, radius, strict=True))


# --------------------------------------------------------------------------- waves
def sideband_patch(
    half: np.ndarray,
    shape: tuple[int, int],
    freq: tuple[float, float],
    radius: tuple[float, float],
    out_shape: tuple[int, int],
    *,
    edge: str,
    smoothness: float,
    fresnel_width: float | None = None,
    smoothing_sigma: float | None = None,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Aperture-filtered sideband, laid out in FFT order for an inverse FFT.

    Parameters
    ----------
    half : (..., Ny, Nx//2 + 1) complex ndarray
        rfft2 of the hologram(s).
    shape : (Ny, Nx)
        Image shape.
    freq : (fy, fx)
        Carrier in cycles/px (sub-bin).
    radius : (ry, rx)
        Aperture semi-axes in cycles/px.
    out_shape : (My, Mx)
        Output shape; the box of My x Mx bins around the carrier bin.
    edge, smoothness : str, float
        Aperture edge (see :func:`aperture_weights`).
    fresnel_width : float, optional
        Width (bins) of a stripe along the carrier direction, through the
        sideband, that is removed outside a central disc of the same radius.
    smoothing_sigma : float, optional
        Gaussian low-pass of the wave, sigma in input pixels (real space).
    weights : ndarray, optional
        Precomputed weights of a previous call with the same geometry.

    Returns
    -------
    patch : (..., My, Mx) complex ndarray
        Weighted spectrum, DC (the carrier bin) at index [0, 0].
    weights : (My, Mx) real ndarray
        The weights used (for reuse).
    """
    ny, nx = shape
    my, mx = out_shape
    cy, cx = freq[0] * ny, freq[1] * nx
    k0y, k0x = int(round(cy)), int(round(cx))
    dy = np.rint(np.fft.fftfreq(my) * my).astype(np.intp)
    dx = np.rint(np.fft.fftfreq(mx) * mx).astype(np.intp)
    patch = gather(half, shape, k0y + dy, k0x + dx)
    if weights is None:
        rdt = np.float32 if patch.dtype == np.complex64 else np.float64
        weights = _weights(
            tuple(shape),
            (float(freq[0]), float(freq[1])),
            (float(radius[0]), float(radius[1])),
            tuple(out_shape),
            edge,
            float(smoothness),
            None if fresnel_width is None else float(fresnel_width),
            None if smoothing_sigma is None else float(smoothing_sigma),
            np.dtype(rdt).str,
        )
    patch *= weights
    return patch, weights


@functools.lru_cache(maxsize=8)
def _weights(shape, freq, radius, out_shape, edge, smoothness, fresnel_width, smoothing_sigma, dtype) -> np.ndarray:
    """Aperture weights on the output box (cached: series reuse one geometry)."""
    ny, nx = shape
    my, mx = out_shape
    cy, cx = freq[0] * ny, freq[1] * nx
    k0y, k0x = int(round(cy)), int(round(cx))
    dy = np.rint(np.fft.fftfreq(my) * my)
    dx = np.rint(np.fft.fftfreq(mx) * mx)
    qy = (((k0y + dy) - cy) / ny).astype(dtype)  # cycles/px from the exact carrier
    qx = (((k0x + dx) - cx) / nx).astype(dtype)
    rho = np.sqrt((qy[:, None] / np.float32(radius[0])) ** 2 + (qx[None, :] / np.float32(radius[1])) ** 2)
    w = aperture_weights(rho.astype(dtype), edge, smoothness)
    if fresnel_width:
        fn = math.hypot(freq[0], freq[1])
        uy, ux = freq[0] / fn, freq[1] / fn  # unit vector along the carrier
        # distances in bins along/perpendicular to the carrier
        along = (qy[:, None] * ny) * uy + (qx[None, :] * nx) * ux
        perp = -(qy[:, None] * ny) * ux + (qx[None, :] * nx) * uy
        w = w * ~((np.abs(perp) < 0.5 * fresnel_width) & (np.abs(along) > fresnel_width))
    if smoothing_sigma:
        w = w * np.exp(-2.0 * np.pi**2 * smoothing_sigma**2 * (qy[:, None] ** 2 + qx[None, :] ** 2))
    w = np.ascontiguousarray(w, dtype=dtype)
    w.flags.writeable = False
    return w


def patch_to_wave(
    patch: np.ndarray,
    shape: tuple[int, int],
    freq: tuple[float, float],
    *,
    correct_carrier: bool = True,
    normalise: bool = True,
) -> np.ndarray:
    """Inverse FFT of a sideband patch to the complex wave on the output grid.

    The result is normalised so that a hologram
    I0 [1 + A^2 + 2 mu A cos(2 pi q.r + phi)] gives mu I0 A exp(i phi),
    independent of the output shape. Output sample j lies at input position
    j Ny / My (px) along y, likewise along x. With `correct_carrier` the
    residual sub-bin carrier exp(2 pi i (q - q_bin).r) is removed exactly.
    Without `normalise` the 1/(Ny Nx) factor is left out (it cancels in an
    object/reference ratio).
    """
    ny, nx = shape
    my, mx = patch.shape[-2:]
    wave = _fft.ifft2(patch, norm="forward")
    if normalise:
        wave *= 1.0 / (ny * nx)
    if correct_carrier:
        wave *= carrier_ramp(shape, (my, mx), freq, wave.dtype)
    return wave


def carrier_ramp(shape: tuple[int, int], out_shape: tuple[int, int], freq: tuple[float, float], dtype) -> np.ndarray:
    """exp(-2 pi i (q - q_bin).r) on the output grid (r in input px)."""
    ny, nx = shape
    my, mx = out_shape
    ry = (freq[0] * ny - round(freq[0] * ny)) / ny
    rx = (freq[1] * nx - round(freq[1] * nx)) / nx
    yy = np.arange(my) * (ny / my)
    xx = np.arange(mx) * (nx / mx)
    ey = np.exp(-2j * np.pi * ry * yy)
    ex = np.exp(-2j * np.pi * rx * xx)
    return (ey[:, None] * ex[None, :]).astype(dtype)
