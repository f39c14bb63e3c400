"""Numpy kernels for the statistics of profile and map comparisons.

Pure functions on ndarrays, positions in samples (or in the units of the
``x`` arrays passed in). No validation, no xarray, no units: the public
wrappers in :mod:`holocorr.correlation` check the inputs and attach
coordinates, units and provenance.

Contents
--------
* autocorrelation and effective sample sizes (1-D profiles, 2-D maps);
* Politis-White automatic block length and moving-block bootstrap indices;
* correlation, Deming regression and their vectorised bootstrap;
* resampling of profiles onto a common grid with error propagation;
* sub-sample lag from derivative-of-Gaussian cross-correlation;
* erf front models, their least-squares fit and a batched
  Levenberg-Marquardt refit for bootstrap resamples;
* an AR(1) noise model of fit residuals, corrected for the noise the fit
  absorbs, and AR(1) series for parametric (sieve) bootstraps.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, optimize, special, stats

__all__ = [
    "acf",
    "n_effective",
    "n_effective_maps",
    "t_pvalue",
    "fisher_ci",
    "block_length",
    "block_indices",
    "widen",
    "widen_ratio",
    "moments",
    "deming",
    "noise_sigma",
    "resample",
    "linear_weights",
    "lag_samples",
    "edge_sigma",
    "front_model",
    "front_jacobian",
    "front_start",
    "data_scale",
    "fit_front",
    "refit_batch",
    "ar1_residual_model",
    "ar1_series",
]

_SQRT2 = math.sqrt(2.0)
#: 10-90 % width of an erf step in units of its sigma: 2 * Phi^-1(0.9)
WIDTH_PER_SIGMA = 2.0 * float(special.ndtri(0.9))


# --------------------------------------------------------------------------- #
# autocorrelation and effective sample size
# --------------------------------------------------------------------------- #
def acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Biased sample autocorrelation rho(0..max_lag) along the last axis (FFT).

    rho(k) = sum_i (x_i - m)(x_{i+k} - m) / sum_i (x_i - m)^2, the standard
    (biased, positive-definite) estimator. A constant series gives nan.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    z = x - x.mean(axis=-1, keepdims=True)
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    f = np.fft.rfft(z, nfft, axis=-1)
    c = np.fft.irfft(f * np.conj(f), nfft, axis=-1)[..., : max_lag + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return c / c[..., :1]


def n_effective(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Effective sample size of the correlation of two autocorrelated series.

    N_eff = N / (1 + 2 sum_{k=1}^{K} rho_a(k) rho_b(k)), K = floor(N / 3)
    (the full Bartlett sum of Pyper & Peterman 1998; Bretherton et al. 1999
    give the AR(1) special case), clipped to [2, N].

    Returns (N_eff, K).
    """
    n = a.shape[-1]
    k = max(1, n // 3)
    ra = acf(a, k)
    rb = acf(b, k)
    s = float(np.sum(ra[1:] * rb[1:]))
    ne = n / (1.0 + 2.0 * s) if 1.0 + 2.0 * s > 0 else float(n)
    return float(min(max(ne, 2.0), n)), k


def n_effective_maps(a: np.ndarray, b: np.ndarray, mask: np.ndarray, frac: float = 3.0) -> float:
    """Clifford-Richardson-Hemon effective sample size of two masked maps.

    N_eff = N^2 / sum_h n(h) rho_a(h) rho_b(h): the sum runs over the 2-D
    lag vectors h within a third of the mask's extent along each axis, n(h)
    is the number of pixel pairs at lag h inside the mask and rho(h) the
    per-lag (unbiased) autocorrelation computed with FFTs. Every lag vector
    is its own distance class (no radial pooling). Clipped to [2, N].
    """
    m = mask.astype(np.float64)
    n = float(m.sum())
    ny, nx = m.shape
    shape = (2 * ny, 2 * nx)

    def _auto(z):
        f = np.fft.rfft2(z, shape)
        return np.fft.irfft2(f * np.conj(f), shape)

    za = np.where(mask, a - a[mask].mean(), 0.0)
    zb = np.where(mask, b - b[mask].mean(), 0.0)
    ca, cb = _auto(za), _auto(zb)
    npair = np.rint(_auto(m))
    hy = np.fft.fftfreq(shape[0], 1.0 / shape[0])
    hx = np.fft.fftfreq(shape[1], 1.0 / shape[1])
    ys, xs = np.nonzero(mask)
    ly = ys.max() - ys.min() + 1
    lx = xs.max() - xs.min() + 1
    win = (np.abs(hy)[:, None] <= ly / frac) & (np.abs(hx)[None, :] <= lx / frac) & (npair > 0.5)
    va, vb = ca[0, 0] / n, cb[0, 0] / n
    safe = np.maximum(npair, 1.0)
    ra = ca / safe / va
    rb = cb / safe / vb
    s = float(np.sum((npair * ra * rb)[win]))
    ne = n * n / s if s > 0 else n
    return float(min(max(ne, 2.0), n))


def t_pvalue(r: float, n_eff: float) -> float:
    """Two-sided p-value of a correlation r with a t-test on N_eff - 2 dof."""
    dof = n_eff - 2.0
    if dof <= 0 or not np.isfinite(r):
        return 1.0
    if abs(r) >= 1.0:
        return 0.0
    t = abs(r) * math.sqrt(dof / (1.0 - r * r))
    return float(2.0 * stats.t.sf(t, dof))


def fisher_ci(r: float, n_eff: float, level: float = 0.95) -> tuple[float, float]:
    """Fisher-z interval tanh(atanh r +- t_{q, N_eff-2} / sqrt(N_eff - 3)).

    (-1, 1) when N_eff <= 3 (no information on r).
    """
    if n_eff <= 3.0:
        return (-1.0, 1.0)
    q = float(stats.t.ppf(0.5 + level / 2.0, n_eff - 2.0))
    z = math.atanh(max(min(r, 1.0 - 1e-15), -1.0 + 1e-15))
    h = q / math.sqrt(n_eff - 3.0)
    return (math.tanh(z - h), math.tanh(z + h))


# --------------------------------------------------------------------------- #
# block bootstrap
# --------------------------------------------------------------------------- #
def block_length(x: np.ndarray) -> int:
    """Politis-White (2004) automatic block length with the Patton-Politis-White (2009) correction.

    The circular/moving block bootstrap optimum
    b = (2 G^2 / D)^(1/3) N^(1/3), G = sum_k lambda(k/M) |k| R(k),
    D = (4/3) g(0)^2, g(0) = sum_k lambda(k/M) R(k), with the flat-top
    kernel lambda(t) = 1 for |t| <= 1/2, 2 (1 - |t|) for 1/2 < |t| <= 1.
    M = 2 m, m the smallest lag after which K_N = max(5, sqrt(log10 N))
    consecutive autocorrelations are below 2 sqrt(log10 N / N). The result
    is rounded up and kept within [1, min(3 sqrt(N), N / 3)].
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 4:
        return 1
    kn = max(5, int(math.ceil(math.sqrt(math.log10(n)))))
    m_max = int(math.ceil(math.sqrt(n))) + kn
    b_max = max(1, int(math.ceil(min(3.0 * math.sqrt(n), n / 3.0))))
    lags = min(n - 1, m_max + kn + 1)
    z = x - x.mean()
    full = np.correlate(z, z, mode="full")[n - 1 : n + lags] / n
    if full[0] <= 0:
        return 1
    rho = full / full[0]
    thr = 2.0 * math.sqrt(math.log10(n) / n)
    m_hat = None
    for m in range(0, lags - kn + 1):
        if np.all(np.abs(rho[m + 1 : m + kn + 1]) < thr):
            m_hat = m
            break
    if m_hat is None:
        m_hat = m_max
    big_m = min(2 * max(m_hat, 1), lags)
    k = np.arange(-big_m, big_m + 1)
    t = np.abs(k) / big_m
    lam = np.where(t <= 0.5, 1.0, 2.0 * (1.0 - t))
    rk = full[np.abs(k)]
    g = float(np.sum(lam * np.abs(k) * rk))
    g0 = float(np.sum(lam * rk))
    if g0 <= 0 or g == 0:
        return 1
    d = 4.0 / 3.0 * g0 * g0
    b = (2.0 * g * g / d) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    return int(min(max(math.ceil(b), 1), b_max))


def block_indices(n: int, block: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) indices of a moving-block bootstrap (Kuensch 1989).

    Blocks of `block` consecutive samples start uniformly in [0, n - block]
    (no wrap-around, so the ends of a profile are never glued together) and
    are concatenated and cut to n samples.
    """
    block = int(min(max(block, 1), n))
    nb = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, nb))
    idx = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)
    return idx[:, :n]


def widen(estimate: float, samples: np.ndarray, n_blocks: float, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap `samples`, widened about `estimate`.

    The distances from the estimate to the percentile limits are multiplied
    by t_{q, nu} / z_q with nu = n_blocks - 1: the block bootstrap's variance
    estimate rests on only about N / L independent blocks. (nan, nan) when
    fewer than 10 finite samples remain.
    """
    s = samples[np.isfinite(samples)]
    if s.size < 10:
        return (math.nan, math.nan)
    alpha = 1.0 - level
    lo, hi = np.percentile(s, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    nu = max(n_blocks - 1.0, 1.0)
    f = float(stats.t.ppf(1 - alpha / 2, nu) / stats.norm.ppf(1 - alpha / 2))
    return (float(estimate - f * (estimate - lo)), float(estimate + f * (hi - estimate)))


def widen_ratio(estimate: float, samples: np.ndarray, n_blocks: float, level: float = 0.95) -> tuple[float, float]:
    """:func:`widen` for a slope (a ratio of scales), on log|slope|.

    A slope of b on a turns into its reciprocal when a and b swap, and into
    slope / alpha when a is scaled by alpha. Percentile limits follow both
    maps (they commute with monotone transforms), but a linear stretch
    about the estimate does not. On log|slope| both maps are a negation and
    a shift, with which the stretch commutes, so the interval of the
    swapped comparison is exactly the reciprocal one.

    A few samples may have the other sign (resamples that hold almost no
    correlation): a slope changes sign through 0 or through infinity, so
    those of smaller magnitude than the estimate count as below every
    same-sign sample (log|slope| = -inf) and the others as above
    (+inf); both rules map into each other under s -> 1/s. When so many
    have the other sign that a percentile limit falls among them, the sign
    itself is uncertain, the interval must contain 0 and it is the linear
    :func:`widen` of the samples (as it is for an estimate of 0).
    """
    s = samples[np.isfinite(samples)]
    if s.size < 10:
        return (math.nan, math.nan)
    if not (math.isfinite(estimate) and estimate != 0.0):
        return widen(estimate, s, n_blocks, level)
    sign = math.copysign(1.0, estimate)
    t = s * sign
    pos = t > 0
    n, n_pos = t.size, int(np.count_nonzero(pos))
    n_low = int(np.count_nonzero(~pos & (np.abs(t) < abs(estimate))))  # crossed zero
    n_high = n - n_pos - n_low  # crossed infinity
    alpha = 1.0 - level
    i_lo = math.floor((n - 1) * alpha / 2)
    i_hi = math.ceil((n - 1) * (1 - alpha / 2))
    if n_pos < 2 or n_low > i_lo or n_high > n - 1 - i_hi:
        return widen(estimate, s, n_blocks, level)
    logs = np.log(t[pos])
    # stand-ins below / above every same-sign sample; the percentile limits
    # fall among the same-sign samples, so their value does not matter
    logs = np.concatenate([np.full(n_low, logs.min()), logs, np.full(n_high, logs.max())])
    lo, hi = widen(math.log(abs(estimate)), logs, n_blocks, level)
    a, b = sign * math.exp(lo), sign * math.exp(hi)
    return (min(a, b), max(a, b))


# --------------------------------------------------------------------------- #
# correlation and errors-in-variables regression
# --------------------------------------------------------------------------- #
def moments(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central second moments (s_aa, s_bb, s_ab) along the last axis."""
    za = a - a.mean(axis=-1, keepdims=True)
    zb = b - b.mean(axis=-1, keepdims=True)
    n = a.shape[-1]
    return (za * za).sum(-1) / n, (zb * zb).sum(-1) / n, (za * zb).sum(-1) / n


def deming(saa, sbb, sab, ratio: float):
    """Deming slope of b on a for the error-variance ratio var(e_b) / var(e_a).

    beta = (s_bb - l s_aa + sqrt((s_bb - l s_aa)^2 + 4 l s_ab^2)) / (2 s_ab)
    (Deming 1943; Fuller 1987, eq. 1.3.7). ratio -> inf gives OLS of b on a,
    ratio -> 0 the inverse OLS; ratio = 1 is orthogonal regression.
    """
    saa, sbb, sab = np.asarray(saa), np.asarray(sbb), np.asarray(sab)
    d = sbb - ratio * saa
    with np.errstate(invalid="ignore", divide="ignore"):
        return (d + np.sqrt(d * d + 4.0 * ratio * sab * sab)) / (2.0 * sab)


def noise_sigma(y: np.ndarray) -> float:
    """White-noise standard deviation from second differences (robust).

    sigma = 1.4826 median|D2 y - median D2 y| / sqrt(6), D2 the second
    difference: a smooth signal cancels and the few samples on a sharp
    front do not move the median. Correlated noise is underestimated.
    """
    d2 = y[2:] - 2.0 * y[1:-1] + y[:-2]
    if d2.size == 0:
        return math.nan
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    return 1.4826 * mad / math.sqrt(6.0)


# --------------------------------------------------------------------------- #
# resampling onto a common grid
# --------------------------------------------------------------------------- #
def resample(
    x: np.ndarray, y: np.ndarray, err: np.ndarray | None, grid: np.ndarray, step: float, box: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Values (and propagated 1-sigma errors) of a profile at `grid` points.

    Where the profile is sampled at least 1.5x finer than `step`, a grid
    value is the mean of the samples within +-step/2 (box average, so the
    noise falls as it should; errors add in quadrature / n). Elsewhere
    (coarser or equal sampling, or an empty box) the value is linearly
    interpolated, with errors sqrt((1-w)^2 e0^2 + w^2 e1^2). Errors are
    treated as independent between samples. ``box=False`` always interpolates.
    """
    dx = float(np.median(np.diff(x))) if x.size > 1 else step
    out = np.interp(grid, x, y)
    j = np.clip(np.searchsorted(x, grid, side="right") - 1, 0, x.size - 2)
    w = np.clip((grid - x[j]) / (x[j + 1] - x[j]), 0.0, 1.0)
    eout = None
    if err is not None:
        eout = np.sqrt(((1.0 - w) * err[j]) ** 2 + (w * err[j + 1]) ** 2)
    if box and step >= 1.5 * dx:
        lo = np.searchsorted(x, grid - 0.5 * step, side="left")
        hi = np.searchsorted(x, grid + 0.5 * step, side="right")
        cnt = hi - lo
        cs = np.concatenate([[0.0], np.cumsum(y)])
        ok = cnt > 0
        out = np.where(ok, (cs[hi] - cs[lo]) / np.maximum(cnt, 1), out)
        if err is not None:
            ce = np.concatenate([[0.0], np.cumsum(err * err)])
            eout = np.where(ok, np.sqrt(np.maximum(ce[hi] - ce[lo], 0.0)) / np.maximum(cnt, 1), eout)
    return out, eout


def linear_weights(x: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left indices j and weights w such that y(grid) = (1-w) y[j] + w y[j+1]."""
    j = np.clip(np.searchsorted(x, grid, side="right") - 1, 0, x.size - 2)
    w = np.clip((grid - x[j]) / (x[j + 1] - x[j]), 0.0, 1.0)
    return j, w


# --------------------------------------------------------------------------- #
# lag
# --------------------------------------------------------------------------- #
def lag_samples(a: np.ndarray, b: np.ndarray, sigma: float, max_lag: int, sign: float = 0.0) -> np.ndarray:
    """Sub-sample lag of b relative to a (b(i) ~ a(i - lag)), batched on the first axis.

    Both rows are filtered with a derivative of Gaussian (sigma in samples,
    edges continued by the nearest value) and median-removed; the
    cross-correlation c(k) = sum_i a'(i) b'(i + k) is computed with FFTs for
    |k| <= max_lag; its extremum (the maximum for sign > 0, the minimum for
    sign < 0, the largest |c| for sign = 0) is refined by a parabola
    through the three samples around it.
    """
    a = np.atleast_2d(a)
    b = np.atleast_2d(b)
    da = ndimage.gaussian_filter1d(a, sigma, axis=-1, order=1, mode="nearest")
    db = ndimage.gaussian_filter1d(b, sigma, axis=-1, order=1, mode="nearest")
    # the median is the baseline slope away from fronts: removing it (not the
    # mean, which includes the fronts) leaves no triangular bias towards lag 0
    da = da - np.median(da, axis=-1, keepdims=True)
    db = db - np.median(db, axis=-1, keepdims=True)
    n = a.shape[-1]
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    c = np.fft.irfft(np.conj(np.fft.rfft(da, nfft, axis=-1)) * np.fft.rfft(db, nfft, axis=-1), nfft, axis=-1)
    max_lag = int(min(max_lag, n - 2))
    ks = np.arange(-max_lag, max_lag + 1)
    cc = c[:, ks % nfft]
    if sign > 0:
        score = cc
    elif sign < 0:
        score = -cc
    else:
        score = np.abs(cc)
    i = np.argmax(score, axis=-1)
    i = np.clip(i, 1, ks.size - 2)
    rows = np.arange(cc.shape[0])
    y0, y1, y2 = score[rows, i - 1], score[rows, i], score[rows, i + 1]
    den = y0 - 2.0 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.where(den < 0, 0.5 * (y0 - y2) / den, 0.0)
    off = np.clip(off, -0.5, 0.5)
    return ks[i] + off


# --------------------------------------------------------------------------- #
# erf fronts
# --------------------------------------------------------------------------- #
# Parameter vectors (sigma as its log so that it stays positive):
#   erf:        [offset, step, x0, log sigma]
#   double_erf: [offset, step1, x1, log sigma1, step2, x2, log sigma2]
N_PARAMS = {"erf": 4, "double_erf": 7}


def _phi_cdf(u):
    return 0.5 * special.erfc(-u / _SQRT2)


def _phi_pdf(u):
    return np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)


def front_model(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Evaluate the erf or double-erf model; p (..., 4) or (..., 7), x (n,)."""
    p = np.asarray(p, dtype=np.float64)
    out = p[..., 0:1] + 0.0 * x
    for j in range(1, p.shape[-1], 3):
        u = (x - p[..., j + 1 : j + 2]) / np.exp(p[..., j + 2 : j + 3])
        out = out + p[..., j : j + 1] * _phi_cdf(u)
    return out


def front_jacobian(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Return the Jacobian d model / d p, shape (..., n, n_params)."""
    p = np.asarray(p, dtype=np.float64)
    shape = p.shape[:-1] + (x.size, p.shape[-1])
    jac = np.empty(shape)
    jac[..., 0] = 1.0
    for j in range(1, p.shape[-1], 3):
        s = np.exp(p[..., j + 2 : j + 3])
        u = (x - p[..., j + 1 : j + 2]) / s
        pdf = _phi_pdf(u)
        step = p[..., j : j + 1]
        jac[..., j] = _phi_cdf(u)
        jac[..., j + 1] = -step * pdf / s
        jac[..., j + 2] = -step * pdf * u
    return jac


def _smoothed_derivative(x: np.ndarray, y: np.ndarray, s_px: float) -> np.ndarray:
    ys = ndimage.gaussian_filter1d(y, s_px, mode="nearest")
    return np.gradient(ys, x)


def _edge_guess(x, d, y_step, dx, s_nm):
    i = int(np.argmax(np.abs(d)))
    peak = abs(float(d[i]))
    s_eff = abs(y_step) / (math.sqrt(2.0 * math.pi) * peak) if peak > 0 else 5 * dx
    sigma = math.sqrt(max(s_eff * s_eff - s_nm * s_nm, dx * dx))
    return i, sigma


def edge_sigma(x: np.ndarray, y: np.ndarray) -> float:
    """Rough erf sigma of the steepest edge: |step| / (sqrt(2 pi) max|dy/dx|), deblurred."""
    n = x.size
    m = max(3, n // 10)
    step = float(np.mean(y[-m:]) - np.mean(y[:m]))
    s_px = max(1.0, n / 100.0)
    dx = float(np.median(np.diff(x)))
    d = _smoothed_derivative(x, y, s_px)
    return _edge_guess(x, d, step, dx, s_px * dx)[1]


def front_start(x: np.ndarray, y: np.ndarray, model: str) -> list[np.ndarray]:
    """Return starting parameter vectors from plateau means and a smoothed derivative."""
    n = x.size
    dx = float(np.median(np.diff(x)))
    m = max(3, n // 10)
    left, right = float(np.mean(y[:m])), float(np.mean(y[-m:]))
    s_px = max(1.0, n / 100.0)
    d = _smoothed_derivative(x, y, s_px)
    span = float(x[-1] - x[0])
    if model == "erf":
        step = right - left
        i, sigma = _edge_guess(x, d, step, dx, s_px * dx)
        sigma = min(sigma, span / 4)
        return [np.array([left, step, x[i], math.log(sigma * f)]) for f in (1.0, 0.5, 2.0)]
    # double_erf: the two largest extrema of the smoothed derivative
    i1 = int(np.argmax(np.abs(d)))
    amp = abs(float(d[i1]))
    # width of the first peak at half maximum, to mask it out
    half = np.abs(d) >= 0.5 * amp
    lo = i1
    while lo > 0 and half[lo - 1]:
        lo -= 1
    hi = i1
    while hi < n - 1 and half[hi + 1]:
        hi += 1
    pad = max(3, 2 * (hi - lo + 1))
    d2 = np.abs(d).copy()
    d2[max(0, i1 - pad) : min(n, i1 + pad + 1)] = 0.0
    i2 = int(np.argmax(d2)) if d2.max() > 0 else (n - 1 - i1)
    ia, ib = sorted((i1, i2))
    if ib - ia < 3:
        ib = min(n - 1, ia + max(3, n // 4))
    mid = float(np.median(y[ia + (ib - ia) // 4 : ib - (ib - ia) // 4 + 1]))
    s1, s2 = mid - left, right - mid
    _, sig1 = _edge_guess(x, d[: (ia + ib) // 2 + 1], s1, dx, s_px * dx)
    _, sig2 = _edge_guess(x, d[(ia + ib) // 2 :], s2, dx, s_px * dx)
    sep = float(x[ib] - x[ia])
    sig1, sig2 = min(sig1, sep / 2), min(sig2, sep / 2)
    starts = []
    for f in (1.0, 0.5, 2.0):
        starts.append(np.array([left, s1, x[ia], math.log(sig1 * f), s2, x[ib], math.log(sig2 * f)]))
    return starts


def _bounds(x: np.ndarray, model: str) -> tuple[np.ndarray, np.ndarray]:
    dx = float(np.median(np.diff(x)))
    span = float(x[-1] - x[0])
    lo_s, hi_s = math.log(dx / 20.0), math.log(span)
    k = N_PARAMS[model]
    lo = np.full(k, -np.inf)
    hi = np.full(k, np.inf)
    for j in range(1, k, 3):
        lo[j + 1], hi[j + 1] = x[0], x[-1]
        lo[j + 2], hi[j + 2] = lo_s, hi_s
    return lo, hi


def _to_unit(p: np.ndarray, c: float, s: float) -> np.ndarray:
    """Parameters of the model of (y - c) / s from those of y (offset and steps rescaled)."""
    q = np.array(p, dtype=np.float64, copy=True)
    q[..., 0] = (q[..., 0] - c) / s
    q[..., 1::3] = q[..., 1::3] / s
    return q


def _from_unit(q: np.ndarray, c: float, s: float) -> np.ndarray:
    """Inverse of :func:`_to_unit`."""
    p = np.array(q, dtype=np.float64, copy=True)
    p[..., 0] = c + s * p[..., 0]
    p[..., 1::3] = s * p[..., 1::3]
    return p


def _relative_weights(w: np.ndarray | None, n: int) -> tuple[np.ndarray, float]:
    """Weights scaled to unit root-mean-square, and that rms (1 for no weights)."""
    if w is None:
        return np.ones(n), 1.0
    rms = float(np.sqrt(np.mean(w * w)))
    if not (rms > 0 and math.isfinite(rms)):  # pragma: no cover - weights are 1 / positive errors
        return np.asarray(w, dtype=np.float64), 1.0
    return w / rms, rms


def data_scale(y: np.ndarray) -> tuple[float, float]:
    """(centre, scale) of data for a scale-free fit: the median and the 5-95 % percentile range.

    Both are equivariant, c(alpha y + beta) = alpha c(y) + beta and
    s(alpha y + beta) = |alpha| s(y), so the standardised data (y - c) / s
    are the same (up to sign) for any units and offset. The range falls
    back to max - min when more than 90 % of the values are equal, and to 1
    for constant data.
    """
    c = float(np.median(y))
    lo, hi = np.percentile(y, [5.0, 95.0])
    s = float(hi - lo)
    if not s > 0:
        s = float(np.max(y) - np.min(y))
    if not (s > 0 and math.isfinite(s)):
        s = 1.0
    return c, s


def fit_front(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, model: str) -> tuple[np.ndarray, float]:
    """Least-squares fit of the erf / double-erf model (scipy least_squares, several starts).

    `w` are weights 1/sigma (None for unweighted). Returns (p, cost) with
    cost = sum of squared weighted residuals; the edges of a double erf are
    ordered x1 <= x2.

    The fit runs on standardised data, (y - c) / s with c, s from
    :func:`data_scale` and the weights scaled to unit rms, and the offset
    and steps are mapped back. least_squares stops on absolute tolerances
    (its gradient tolerance gtol scales as the data squared), so fitting y
    itself ended at points that depended on the data's units and offset:
    scaling a profile by 1e-6 moved a front by up to 0.027 nm and its width
    by 1.4 %. On standardised data the end point is the same for any
    alpha y + beta (to rounding).
    """
    lo, hi = _bounds(x, model)
    c, sc = data_scale(y)
    yu = (y - c) / sc
    ww, wrms = _relative_weights(w, y.size)
    best = None
    for p0 in front_start(x, yu, model):
        p0 = np.clip(p0, lo, hi)

        def fun(p):
            return (front_model(x, p) - yu) * ww

        def jac(p):
            return front_jacobian(x, p) * ww[:, None]

        try:
            res = optimize.least_squares(fun, p0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac", max_nfev=400)
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - degenerate starts
            continue
        cost = float(np.sum(res.fun**2))
        if best is None or cost < best[1]:
            best = (res.x, cost)
    if best is None:  # pragma: no cover
        raise RuntimeError("front fit failed from every start")
    p = _from_unit(best[0], c, sc)
    if model == "double_erf" and p[2] > p[5]:
        p = np.concatenate([p[:1], p[4:7], p[1:4]])
    return p, best[1] * (sc * wrms) ** 2


def refit_batch(
    x: np.ndarray, ys: np.ndarray, w: np.ndarray | None, p0: np.ndarray, model: str, n_iter: int = 40
) -> np.ndarray:
    """Batched Levenberg-Marquardt refit of many resampled profiles at once.

    ys (B, n) are the resampled data, p0 (k,) the fit to the original data
    (the starting point of every row). Parameters are kept inside the
    bounds of :func:`fit_front` by clipping. Returns (B, k); rows that did
    not converge to a finite point are nan.

    Like :func:`fit_front` it works on standardised data: (ys - c) / s with
    c the fitted offset and s the largest fitted step (weights scaled to
    unit rms), so that its small fixed damping (1e-12) means the same for
    data in any units.
    """
    lo, hi = _bounds(x, model)
    c = float(p0[0])
    sc = float(np.max(np.abs(p0[1::3])))
    if not (sc > 0 and math.isfinite(sc)):  # pragma: no cover - a fit without a step
        c, sc = data_scale(ys)
    ww, _ = _relative_weights(w, x.size)
    ys = (ys - c) / sc
    bsz = ys.shape[0]
    p = np.tile(_to_unit(p0, c, sc), (bsz, 1))
    mu = np.full(bsz, 1e-3)

    def cost_of(pp):
        r = (front_model(x, pp) - ys) * ww
        return r, np.sum(r * r, axis=-1)

    r, cost = cost_of(p)
    eye = np.eye(p0.size)
    for _ in range(n_iter):
        jac = front_jacobian(x, p) * ww[:, None]
        jtj = np.einsum("bni,bnj->bij", jac, jac)
        jtr = np.einsum("bni,bn->bi", jac, r)
        diag = np.einsum("bii->bi", jtj)
        a = jtj + mu[:, None, None] * (diag[:, :, None] * eye + 1e-12 * eye)
        try:
            delta = -np.linalg.solve(a, jtr[..., None])[..., 0]
        except np.linalg.LinAlgError:  # pragma: no cover - singular rows
            delta = -np.array([np.linalg.lstsq(ai, bi, rcond=None)[0] for ai, bi in zip(a, jtr, strict=True)])
        pn = np.clip(p + delta, lo, hi)
        rn, cn = cost_of(pn)
        good = np.isfinite(cn) & (cn < cost)
        p = np.where(good[:, None], pn, p)
        r = np.where(good[:, None], rn, r)
        small = np.abs(cost - np.where(good, cn, cost)) <= 1e-10 * np.maximum(cost, 1e-300)
        cost = np.where(good, cn, cost)
        mu = np.where(good, mu / 3.0, mu * 4.0)
        if np.all(small | (mu > 1e10)):
            break
    p = _from_unit(p, c, sc)
    p[~np.all(np.isfinite(p), axis=-1)] = np.nan
    if model == "double_erf":
        swap = p[:, 2] > p[:, 5]
        p[swap] = np.concatenate([p[swap, :1], p[swap, 4:7], p[swap, 1:4]], axis=-1)
    return p


# --------------------------------------------------------------------------- #
# AR(1) noise model of fit residuals
# --------------------------------------------------------------------------- #
def _ar1_apply(q: np.ndarray, rho: float) -> np.ndarray:
    """R @ q for the AR(1) correlation matrix R_ij = rho^|i-j| (columns of q)."""
    from scipy.signal import lfilter

    if rho == 0.0:
        return q.copy()
    f = lfilter([1.0], [1.0, -rho], q, axis=0)
    b = lfilter([1.0], [1.0, -rho], q[::-1], axis=0)[::-1]
    return f + b - q


def ar1_residual_model(z: np.ndarray, jac: np.ndarray) -> tuple[float, float]:
    """AR(1) noise (variance s2, lag-1 correlation rho) behind least-squares residuals.

    A fit absorbs the part of the noise that lies in its tangent space (the
    columns of the Jacobian J), so residuals underrepresent correlated,
    low-frequency noise. With H = Q Q^T the hat matrix (Q orthonormal, from
    J = QR) and R(rho) the AR(1) correlation matrix, the residual moments
    have expectations E[r.r] = s2 (N - tr(Q^T R Q)) and
    E[sum r_i r_i+1] = s2 tr(S (I - H) R (I - H)), S the shift. Both are
    matched to the observed moments: rho by root finding on their ratio,
    then s2.
    """
    n = z.size
    q, _ = np.linalg.qr(jac)
    v0 = float(z @ z)
    v1 = float(z[:-1] @ z[1:])
    if v0 <= 0:
        return 0.0, 0.0
    sq = np.vstack([q[1:], np.zeros((1, q.shape[1]))])  # (S q)_i = q_{i+1}
    a = q.T @ sq

    def moments(rho):
        rq = _ar1_apply(q, rho)
        b = q.T @ rq
        e0 = n - float(np.trace(b))
        t1 = float(np.sum(rq * sq))  # tr(Q^T R S Q)
        t2 = float(np.sum(q[:-1] * rq[1:]))  # tr(Q^T S R Q)
        e1 = (n - 1) * rho - t1 - t2 + float(np.trace(a @ b))
        return e0, e1

    target = v1 / v0

    def h(rho):
        e0, e1 = moments(rho)
        return e1 / e0 - target

    lo, hi = -0.9, 0.995
    hlo, hhi = h(lo), h(hi)
    if hlo >= 0:
        rho = lo
    elif hhi <= 0:
        rho = hi
    else:
        rho = float(optimize.brentq(h, lo, hi, xtol=1e-6))
    e0, _ = moments(rho)
    return v0 / max(e0, 1.0), rho


def ar1_series(n: int, rho: float, s2: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, n) stationary AR(1) noise with variance s2 and lag-1 correlation rho."""
    from scipy.signal import lfilter

    e = rng.standard_normal((size, n))
    e[:, 0] /= math.sqrt(max(1.0 - rho * rho, 1e-12))
    x = lfilter([1.0], [1.0, -rho], e, axis=-1)
    return x * math.sqrt(s2 * max(1.0 - rho * rho, 1e-12))
