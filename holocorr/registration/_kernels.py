"""Registration kernels: numpy in, numpy out, lengths in pixels of one grid.

Nothing here knows about xarray, coordinates in nm or user input; the public
wrappers in :mod:`.grid`, :mod:`.interface` and :mod:`.align` validate,
convert units and attach provenance.

Conventions
-----------
* Images are (M, N) float64 arrays indexed ``[iy, ix]``; vectors are (dy, dx).
* A shift ``t`` means ``fixed(r) ~ moving(r - t)``: the content at ``p`` in the
  moving image sits at ``p + t`` in the fixed one (the convention of
  ``scipy.ndimage.shift(moving, t)`` and of skimage's ``phase_cross_correlation``).
* With a rotation ``theta`` about the centre ``c`` the map is
  ``r = c + R(theta) (p - c) + t`` with ``R`` turning +x toward +y.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .._fft import irfft2, next_fast_len, rfft2

#: noise correlation length [px of the registration grid] assumed by the
#: significance test of :func:`error_estimate`
NOISE_LENGTH_PX = 2

# --------------------------------------------------------------------------- #
# resampling
# --------------------------------------------------------------------------- #


def antialias_sigma(ratio: float) -> float:
    """Gaussian pre-filter sigma [old px] before sampling with `ratio` = new/old step.

    sigma = 0.5 sqrt(ratio^2 - 1): a sampled map is treated as already carrying
    a Gaussian blur of half its own pixel, and the filter adds what is missing
    to reach half the new pixel (Gaussians add in quadrature). The transfer
    function at the new Nyquist frequency is then at most exp(-pi^2/8) ~ 0.29,
    and at the old Nyquist frequency exp(-pi^2 (ratio^2 - 1) / 8).
    No filter when upsampling (ratio <= 1).
    """
    return 0.5 * math.sqrt(ratio * ratio - 1.0) if ratio > 1.0 else 0.0


def prefilter(img: np.ndarray, sigma_yx: tuple[float, float]) -> np.ndarray:
    """Gaussian low-pass (edge mode 'nearest'); returns `img` itself for sigma 0."""
    if sigma_yx[0] <= 0 and sigma_yx[1] <= 0:
        return img
    return ndimage.gaussian_filter(img, sigma=sigma_yx, mode="nearest", truncate=4.0)


def resample_axes(img: np.ndarray, iy: np.ndarray, ix: np.ndarray, *, order: int = 3) -> np.ndarray:
    """Sample `img` at the outer product of fractional indices `iy` x `ix`.

    `iy`, `ix` are arithmetic sequences (the output is a regular grid);
    cubic B-spline interpolation, edges continued with the nearest value.
    """
    diy = float(iy[1] - iy[0]) if iy.size > 1 else 1.0
    dix = float(ix[1] - ix[0]) if ix.size > 1 else 1.0
    return ndimage.affine_transform(
        img,
        np.array([diy, dix]),
        offset=(float(iy[0]), float(ix[0])),
        output_shape=(iy.size, ix.size),
        order=order,
        mode="nearest",
        prefilter=order > 1,
    )


def inside(idx: np.ndarray, n: int, tol: float = 1e-6) -> np.ndarray:
    """Return True where a fractional index lies within the sampled range [0, n-1]."""
    return (idx >= -tol) & (idx <= n - 1 + tol)


def fill_invalid(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Copy of `img` with invalid pixels set to the nearest valid value."""
    if valid.all():
        return img.copy()
    idx = ndimage.distance_transform_edt(~valid, return_distances=False, return_indices=True)
    return img[tuple(idx)]


def largest_rectangle(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Largest axis-aligned all-True rectangle: (y0, y1, x0, x1), end exclusive.

    The classic histogram-stack algorithm, O(M N).
    """
    ny, nx = mask.shape
    heights = np.zeros(nx, dtype=np.int64)
    best = (0, 0, 0, 0, 0)  # area, y0, y1, x0, x1
    for iy in range(ny):
        heights = np.where(mask[iy], heights + 1, 0)
        stack: list[int] = []
        for ix in range(nx + 1):
            h = heights[ix] if ix < nx else 0
            start = ix
            while stack and heights[stack[-1]] >= h:
                top = stack.pop()
                height = int(heights[top])
                left = stack[-1] + 1 if stack else 0
                area = height * (ix - left)
                if area > best[0]:
                    best = (area, iy - height + 1, iy + 1, left, ix)
                start = top
            del start
            stack.append(ix)
    return best[1], best[2], best[3], best[4]


# --------------------------------------------------------------------------- #
# similarity searches over integer shifts (global search)
# --------------------------------------------------------------------------- #


def masked_ncc(f: np.ndarray, vf: np.ndarray, g: np.ndarray, vg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised cross-correlation of f(r) and g(r - u) over the masks' overlap.

    Padfield's masked NCC (IEEE TIP 21, 2706 (2012), doi:10.1109/TIP.2011.2181402)
    for all integer shifts u at once with six zero-padded FFT correlations.

    Returns
    -------
    ncc, count : (2M-1, 2N-1) ndarrays
        ``ncc[uy + M - 1, ux + N - 1]`` and the number of overlapping pixels.
    """
    m, n = f.shape
    f0 = np.where(vf, f - f[vf].mean(), 0.0)
    g0 = np.where(vg, g - g[vg].mean(), 0.0)
    mf, mg = vf.astype(np.float64), vg.astype(np.float64)
    shape = (next_fast_len(2 * m - 1, True), next_fast_len(2 * n - 1, True))

    def spec(a: np.ndarray) -> np.ndarray:
        pad = np.zeros(shape)
        pad[:m, :n] = a
        return rfft2(pad)

    F, F2, MF = spec(f0), spec(f0 * f0), spec(mf)
    G, G2, MG = spec(g0), spec(g0 * g0), spec(mg)

    def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # C(u) = sum_r a(r + u) b(r), reordered so that u runs from -(M-1) to M-1
        c = irfft2(a * np.conj(b), shape)
        iy = np.arange(-(m - 1), m) % shape[0]
        ix = np.arange(-(n - 1), n) % shape[1]
        return c[np.ix_(iy, ix)]

    # with u the displacement of g: sum_r f(r) g(r - u) = sum_r' f(r' + u) g(r')
    count = np.rint(corr(MF, MG))
    sf, sg = corr(F, MG), corr(MF, G)
    sff, sgg, sfg = corr(F2, MG), corr(MF, G2), corr(F, G)
    with np.errstate(invalid="ignore", divide="ignore"):
        cnt = np.maximum(count, 1.0)
        num = sfg - sf * sg / cnt
        vf_ = sff - sf * sf / cnt
        vg_ = sgg - sg * sg / cnt
        tiny = 1e-10 * (float(np.sum(f0 * f0)) * float(np.sum(g0 * g0))) ** 0.5 + 1e-300
        den = np.sqrt(np.clip(vf_, 0, None) * np.clip(vg_, 0, None))
        ncc = np.where(den > tiny, num / den, 0.0)
    ncc[count < 2] = 0.0
    return np.clip(ncc, -1.0, 1.0), count


def quantize(img: np.ndarray, valid: np.ndarray, nbins: int) -> np.ndarray:
    """Bin indices 0..nbins-1 over the 0.5-99.5 percentile range; -1 outside `valid`."""
    v = img[valid]
    lo, hi = np.percentile(v, [0.5, 99.5])
    if hi <= lo:
        hi = lo + 1.0
    q = np.floor((img - lo) / (hi - lo) * nbins).astype(np.int64)
    q = np.clip(q, 0, nbins - 1)
    q[~valid] = -1
    return q


def nmi(qa: np.ndarray, qb: np.ndarray, u: tuple[int, int], nbins: int, min_count: int) -> float:
    """Normalised mutual information (H(A) + H(B)) / H(A, B) of a(r) and b(r - u).

    Studholme, Hill & Hawkes, Pattern Recognit. 32, 71 (1999),
    doi:10.1016/S0031-3203(98)00091-0. Returns -inf below `min_count` pairs.
    """
    m, n = qa.shape
    uy, ux = u
    ya, yb = slice(max(0, uy), min(m, m + uy)), slice(max(0, -uy), min(m, m - uy))
    xa, xb = slice(max(0, ux), min(n, n + ux)), slice(max(0, -ux), min(n, n - ux))
    a, b = qa[ya, xa], qb[yb, xb]
    ok = (a >= 0) & (b >= 0)
    cnt = int(ok.sum())
    if cnt < min_count:
        return -math.inf
    joint = np.bincount(a[ok] * nbins + b[ok], minlength=nbins * nbins).reshape(nbins, nbins)
    p = joint / cnt
    pa, pb = p.sum(1), p.sum(0)

    def ent(x: np.ndarray) -> float:
        x = x[x > 0]
        return float(-np.sum(x * np.log(x)))

    hab = ent(p.ravel())
    return (ent(pa) + ent(pb)) / hab if hab > 0 else 1.0


def block_reduce(img: np.ndarray, valid: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return k x k block means; a block is valid only when all its pixels are."""
    m, n = (img.shape[0] // k) * k, (img.shape[1] // k) * k
    a = img[:m, :n].reshape(m // k, k, n // k, k).mean(axis=(1, 3))
    v = valid[:m, :n].reshape(m // k, k, n // k, k).all(axis=(1, 3))
    return a, v


# --------------------------------------------------------------------------- #
# local refinement (Gauss-Newton) and the error estimate
# --------------------------------------------------------------------------- #


class _Window:
    """Gaussian-windowed local statistics over the overlap pixels of one sample."""

    def __init__(self, shape: tuple[int, int], iy: np.ndarray, ix: np.ndarray, sigma_w: float) -> None:
        self.shape, self.iy, self.ix, self.sigma_w = shape, iy, ix, sigma_w
        mask = np.zeros(shape)
        mask[iy, ix] = 1.0
        self.wsum = np.maximum(self._filt(mask), 1e-12)

    def _filt(self, img: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(img, self.sigma_w, mode="constant")[self.iy, self.ix]

    def mean(self, v: np.ndarray) -> np.ndarray:
        img = np.zeros(self.shape)
        img[self.iy, self.ix] = v
        return self._filt(img) / self.wsum


def local_fit(win: _Window, x: np.ndarray, y: np.ndarray, eps: float | None = None):
    """Slope and offset of the windowed regression y ~ a x + b at each pixel."""
    mx, my = win.mean(x), win.mean(y)
    cov = win.mean(x * y) - mx * my
    var = np.maximum(win.mean(x * x) - mx * mx, 0.0)
    if eps is None:
        eps = float(np.median(var)) + 1e-300
    a = cov / (var + eps)
    return a, my - a * mx, eps


def local_affine_map(pair: Pair, s: dict, sigma_w: float | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Locally affine relation f ~ a(r) m + b(r) from Gaussian-windowed regressions.

    Window sigma `sigma_w` px (default ``pair.window``: twice the edge
    width of the fixed map, at least 2 px, so that each window holds both
    sides of an edge; normalised convolution over the overlap).
    Near any single edge two contrasts are affinely related whatever the
    sign or size of their steps, so inverted and nonlinear contrasts are
    matched edge by edge (a local normalised cross-correlation; Hermosillo,
    Chefd'Hotel & Faugeras, Int. J. Comput. Vis. 50, 329 (2002)). The
    variance in the slope's denominator is regularised by its median, so
    flat noisy areas get small slopes.
    """
    if sigma_w is None:
        sigma_w = pair.window
    win = _Window(pair.shape, s["iy"], s["ix"], sigma_w)
    a, b, eps = local_fit(win, s["m"], s["f"])
    return a * s["m"] + b, a, {"sigma_window_px": sigma_w, "window": win, "eps": eps}


def project_local(win: _Window, cols: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    """Columns minus their local regression on x (variable projection).

    The local offset and slope re-fit at every step absorb the part of a
    shift that looks like a change of local mean or contrast, so the
    Jacobian that matters is the part orthogonal to them (Golub & Pereyra,
    SIAM J. Numer. Anal. 10, 413 (1973); Kaufman's approximation).
    """
    out = np.empty_like(cols)
    for i in range(cols.shape[1]):
        a, b, _ = local_fit(win, x, cols[:, i], eps)
        out[:, i] = cols[:, i] - (a * x + b)
    return out


def rot(phi: float) -> np.ndarray:
    """Rotation by `phi` [rad] from +x toward +y, acting on (y, x) vectors."""
    c, s = math.cos(phi), math.sin(phi)
    return np.array([[c, s], [-s, c]])


def drot(phi: float) -> np.ndarray:
    """Return the derivative of :func:`rot` with respect to phi."""
    c, s = math.cos(phi), math.sin(phi)
    return np.array([[-s, c], [-c, -s]])


def edge_width(img: np.ndarray, valid: np.ndarray) -> float:
    """Typical edge sigma [px] of an image from its gradient and Laplacian energies.

    For an erf edge of sigma s seen through Gaussian derivatives of scale
    w, the gradient and Laplacian energies E1, E2 obey E1 / E2 = 2 (s^2 +
    w^2), so s(w) = sqrt(E1 / (2 E2) - w^2). Noise raises E2 more than E1
    and pulls s(w) down at small w, so w grows geometrically from 1 px
    (factor 1.5) until it exceeds twice the largest s(w) seen, which is
    returned. Corners and narrow features give smaller values than long
    straight edges; it is a scale for windows, not a measurement.
    """
    best, w = 0.0, 1.0
    while w <= 48.0 and w <= max(2.0 * best, 4.0):
        gy = ndimage.gaussian_filter(img, w, order=(1, 0), mode="nearest")
        gx = ndimage.gaussian_filter(img, w, order=(0, 1), mode="nearest")
        lap = ndimage.gaussian_laplace(img, w, mode="nearest")
        e1 = float(np.sum((gy * gy + gx * gx)[valid]))
        e2 = float(np.sum((lap * lap)[valid]))
        if not e2 > 0:
            break
        best = max(best, math.sqrt(max(e1 / (2.0 * e2) - w * w, 0.0)))
        w *= 1.5
    return max(best, 0.5)


class Pair:
    """Fixed and moving images on one grid, smoothed and ready for least squares.

    Parameters
    ----------
    f, vf, m, vm : (M, N) ndarrays
        Images (invalid pixels filled) and validity masks.
    sigma : float
        Gaussian smoothing [px] applied to both before comparison; the masks
        are eroded by 4 sigma + 1 px so that no filled value leaks in.
    """

    def __init__(self, f, vf, m, vm, *, sigma: float) -> None:
        erode = int(math.ceil(4.0 * sigma)) + 1
        self.shape = f.shape
        self.fs = ndimage.gaussian_filter(f, sigma, mode="nearest")
        fgy = ndimage.gaussian_filter(f, sigma, order=(1, 0), mode="nearest")
        fgx = ndimage.gaussian_filter(f, sigma, order=(0, 1), mode="nearest")
        ms = ndimage.gaussian_filter(m, sigma, mode="nearest")
        self.mc = ndimage.spline_filter(ms, order=3, mode="nearest")
        self.mgy = ndimage.spline_filter(
            ndimage.gaussian_filter(m, sigma, order=(1, 0), mode="nearest"), order=3, mode="nearest"
        )
        self.mgx = ndimage.spline_filter(
            ndimage.gaussian_filter(m, sigma, order=(0, 1), mode="nearest"), order=3, mode="nearest"
        )
        self.vf = ndimage.binary_erosion(vf, iterations=erode, border_value=0)
        self.vm = ndimage.binary_erosion(vm, iterations=erode, border_value=0).astype(np.float64)
        ry, rx = np.nonzero(self.vf)
        self.ry, self.rx = ry, rx
        self.r = np.stack([ry, rx], axis=1).astype(np.float64)
        self.fr = self.fs[ry, rx]
        self.gr = np.stack([fgy[ry, rx], fgx[ry, rx]], axis=1)
        self.center = np.array([(f.shape[0] - 1) / 2.0, (f.shape[1] - 1) / 2.0])
        self.edge_width = edge_width(f, vf)
        self.window = max(2.0, 2.0 * self.edge_width)

    def sample(self, params: np.ndarray, rotation: bool) -> dict:
        """Sample the moving image and its derivatives where the fixed pixels map to."""
        t = params[:2]
        theta = params[2] if rotation else 0.0
        d = self.r - self.center - t
        p = self.center + d @ rot(-theta).T
        ok = ndimage.map_coordinates(self.vm, p.T, order=0, mode="constant", cval=0.0) > 0.5
        p = p[ok]
        mv = ndimage.map_coordinates(self.mc, p.T, order=3, mode="nearest", prefilter=False)
        gy = ndimage.map_coordinates(self.mgy, p.T, order=3, mode="nearest", prefilter=False)
        gx = ndimage.map_coordinates(self.mgx, p.T, order=3, mode="nearest", prefilter=False)
        grad = np.stack([gy, gx], axis=1)  # d m / d p
        # dp/dt = -R(-theta); dp/dtheta = -drot(-theta) d
        jt = -grad @ rot(-theta)
        cols = [jt]
        if rotation:
            dp_dth = -(d[ok] @ drot(-theta).T)
            cols.append(np.sum(grad * dp_dth, axis=1)[:, None])
        return {
            "ok": ok,
            "m": mv,
            "jac_m": np.concatenate(cols, axis=1),
            "f": self.fr[ok],
            "gf": self.gr[ok],
            "iy": self.ry[ok],
            "ix": self.rx[ok],
            "d": d[ok],
            "theta": theta,
        }


class Lags:
    """Bartlett-weighted spatial lag sums over the pixels of one overlap (spatial HAC).

    For images a, b that are zero outside the overlap,
    ``sum_d w(d) sum_r a(r) b(r + d)`` over lags |dy|, |dx| <= L with the
    product Bartlett kernel w = (1 - |dy|/(L+1)) (1 - |dx|/(L+1)), which
    keeps variance estimates positive (Conley, J. Econometrics 92, 1 (1999)).
    """

    def __init__(self, shape: tuple[int, int], iy: np.ndarray, ix: np.ndarray, lag: int) -> None:
        self.shape, self.iy, self.ix, self.lag = shape, iy, ix, int(lag)
        self.pad = (next_fast_len(shape[0] + lag, True), next_fast_len(shape[1] + lag, True))
        w1 = 1.0 - np.abs(np.arange(-lag, lag + 1)) / (lag + 1.0)
        self.w = w1[:, None] * w1[None, :]
        mask = np.zeros(self.pad)
        mask[iy, ix] = 1.0
        self._m = rfft2(mask)
        self.count = self._corr(self._m, self._m)  # pairs at each lag

    def _spec(self, v: np.ndarray) -> np.ndarray:
        img = np.zeros(self.pad)
        img[self.iy, self.ix] = v
        return rfft2(img)

    def _corr(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        c = irfft2(np.conj(a) * b, self.pad)
        ly = np.arange(-self.lag, self.lag + 1) % self.pad[0]
        lx = np.arange(-self.lag, self.lag + 1) % self.pad[1]
        return c[np.ix_(ly, lx)]

    def acf(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        """sum_r a(r) b(r + d) for every lag d (unweighted)."""
        sa = self._spec(a)
        return self._corr(sa, sa if b is None else self._spec(b))

    def long_run(self, a: np.ndarray, b: np.ndarray | None = None) -> float:
        """Weighted lag sum: the long-run covariance of sum a and sum b."""
        c = self.acf(a, b)
        if b is not None:
            c = 0.5 * (c + c[::-1, ::-1])
        return float(np.sum(self.w * c))

    def product_variance(self, x: np.ndarray, y: np.ndarray) -> float:
        """Variance of sum x y for independent zero-mean fields x and y."""
        cx, cy = self.acf(x), self.acf(y)
        n = np.maximum(np.rint(self.count), 1.0)
        return float(np.sum(self.w * cx * cy / n))


def correlation_length(
    shape: tuple[int, int], iy: np.ndarray, ix: np.ndarray, e: np.ndarray, max_lag: int = 20
) -> float:
    """Lag [px] at which the autocorrelation of e first drops below 0.1 (along y or x)."""
    lags = Lags(shape, iy, ix, max_lag)
    c = lags.acf(e - e.mean()) / np.maximum(np.rint(lags.count), 1.0)
    c0 = c[max_lag, max_lag]
    if c0 <= 0:
        return 1.0
    for k in range(1, max_lag + 1):
        rho = max(c[max_lag + k, max_lag], c[max_lag, max_lag + k]) / c0
        if rho < 0.1:
            return float(k)
    return float(max_lag)


def affine_map(m: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Least-squares f ~ a m + b; returns g(m), g'(m) and the coefficients."""
    mm, fm = m.mean(), f.mean()
    var = float(np.mean((m - mm) ** 2))
    a = float(np.mean((m - mm) * (f - fm)) / var) if var > 0 else 0.0
    b = float(fm - a * mm)
    return a * m + b, np.full_like(m, a), {"slope": a, "offset": b}


def apply_mapping(mapping: str, pair: Pair, s: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """Return g(m), g'(m) and coefficients for ``"affine"`` or ``"local"`` (locally affine)."""
    if mapping == "local":
        return local_affine_map(pair, s)
    return affine_map(s["m"], s["f"])


def _scales(pair: Pair, npar: int) -> np.ndarray:
    """Parameter scales to px: 1 for shifts, half the diagonal for the rotation [rad]."""
    scale = np.ones(npar)
    if npar == 3:
        scale[2] = 0.5 * math.hypot(*pair.shape)
    return scale


def _fixed_jacobian(s: dict, rotation: bool) -> np.ndarray:
    """Return the fixed image's counterpart of the model Jacobian (same chain rule).

    At alignment g'(m) grad m(p) = R(-theta) grad f(r), so replacing the
    moving gradient by the fixed one gives K with E[J^T K] = J0^T J0 for
    noise that is independent between the maps.
    """
    theta = s["theta"]
    gf = s["gf"] @ rot(-theta).T
    cols = [-gf @ rot(-theta)]
    if rotation:
        dp_dth = -(s["d"] @ drot(-theta).T)
        cols.append(np.sum(gf * dp_dth, axis=1)[:, None])
    return np.concatenate(cols, axis=1)


def information(js: np.ndarray, ks: np.ndarray, lags: Lags, k_sigma: float | np.ndarray = 3.0) -> dict:
    """Shared-structure information of the parameters and its significance.

    T = sym(J^T K), the cross structure tensor (J from the moving image, K
    from the fixed one, scaled alike; columns in px units). With J = S + n_J
    and K = S + n_K for the shared signal S and noise independent between
    the maps, the eigenvalue along v, sum (J v)(K v), has the noise variance
    var(sum S (n_J + n_K)) + var(sum n_J n_K). Both are estimated from the
    difference D = J - K = n_J - n_K (model misfit adds to it, which errs on
    the safe side): the first by the long-run variance of sum (J v)(D v) or
    of sum (K v)(D v), whichever is smaller (J and K both stand in for S;
    each adds a noise-only part), the second by that of a product of two
    fields with half the autocorrelation of D v (an upper bound), see
    :class:`Lags`. Direction i is significant when its eigenvalue exceeds
    ``k_sigma[i]`` of these spreads.
    """
    npar = js.shape[1]
    cross = 0.5 * (js.T @ ks + ks.T @ js)
    evals, evecs = np.linalg.eigh(cross)
    ks_arr = np.broadcast_to(np.asarray(k_sigma, dtype=np.float64), (npar,))
    signif = np.zeros(npar)
    for i in range(npar):
        v = evecs[:, i]
        x, y = js @ v, ks @ v
        d = x - y
        xd, yd = x * d, y * d
        # S (n_J + n_K) is estimated by J D or K D; each adds a noise-only
        # part of positive expected variance, so the smaller is kept
        lr = min(lags.long_run(xd - xd.mean()), lags.long_run(yd - yd.mean()))
        var = lr + lags.product_variance(d / math.sqrt(2.0), d / math.sqrt(2.0))
        spread = math.sqrt(max(var, 0.0))
        if spread <= 0:
            spread = 1e-12 * (abs(evals[i]) + 1e-300)
        signif[i] = evals[i] / spread
    return {"evals": evals, "evecs": evecs, "significance": signif, "good": signif > ks_arr}


def gauss_newton(
    pair: Pair,
    params0: np.ndarray,
    *,
    mapping: str,
    rotation: bool,
    max_iter: int = 40,
    tol: float = 1e-2,
    max_step: float = 0.5,
) -> tuple[np.ndarray, int]:
    """Minimise sum (g(m(p(r))) - f(r))^2 over the shift (and rotation).

    Gauss-Newton steps with the cross structure tensor as the Hessian, taken
    only along the directions that the shared structure of the two maps
    constrains (:func:`information`, 3 sigma); along the others
    (e.g. along a straight interface) the objective is flat noise and the
    parameters keep their starting values. A trust region of `max_step` px
    per step; converged when a step changes the fit by less than `tol`
    standard errors (or moves by less than 1e-5 px).
    """
    params = np.array(params0, dtype=np.float64)
    scale = _scales(pair, params.size)
    it = 0
    lags = info = None
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        s = pair.sample(params, rotation)
        if s["m"].size < 16:
            break
        g, dg, coef = apply_mapping(mapping, pair, s)
        js = dg[:, None] * s["jac_m"] / scale
        ks = _fixed_jacobian(s, rotation) / scale
        if mapping == "local":
            js = project_local(coef["window"], js, s["m"], coef["eps"])
            ks = project_local(coef["window"], ks, s["f"], None)
        if info is None or it % 5 == 1:  # the informative directions change slowly
            if lags is None or lags.iy.size != s["iy"].size or np.any(lags.iy != s["iy"]) or np.any(lags.ix != s["ix"]):
                lags = Lags(pair.shape, s["iy"], s["ix"], 2 * NOISE_LENGTH_PX)
            info = information(js, ks, lags)
        if not info["good"].any():
            break
        basis = info["evecs"][:, info["good"]]
        e = g - s["f"]
        # Hessian: the cross tensor restricted to the informative subspace.
        # J^T J of the noisy moving gradient overestimates the curvature by the
        # noise-gradient energy (steps too short when the noise dominates the
        # gradients), while E[d(J^T e)/dt] = J0^T J0, which T estimates.
        cross = 0.5 * (js.T @ ks + ks.T @ js)
        h = basis.T @ cross @ basis
        step_r = -np.linalg.solve(h + 1e-9 * np.trace(h) * np.eye(h.shape[0]), basis.T @ (js.T @ e))
        step_s = basis @ step_r
        big = np.max(np.abs(step_s))
        if big > max_step:  # trust region [px]
            step_s *= max_step / big
            step_r *= max_step / big
        params = params + step_s / scale
        sig2 = float(e @ e) / max(e.size - params.size, 1)
        if float(step_r @ h @ step_r) < tol * tol * sig2 or np.max(np.abs(step_s)) < 1e-5:
            break
    return params, it


def error_estimate(
    pair: Pair, params: np.ndarray, *, mapping: str, rotation: bool, search_extent: tuple[float, float] = (0.0, 0.0)
) -> dict:
    """Covariance of the shift (and rotation) from the data, with unconstrained directions.

    * Information: the cross structure tensor T of :func:`information`, an
      estimate of the noise-free J^T J without the noise-gradient floor that
      makes a single image's structure tensor look informative along a
      straight interface.
    * Spread: the sandwich cov = T^-1 S T^-1 with S the long-run (spatial
      HAC, Bartlett window) covariance of J^T e (White 1980; Conley 1999);
      the window is 2 l + 2 px for the correlation length l of the
      residuals, so correlated noise and model misfit enlarge the errors.
    * A direction is unconstrained (infinite variance) unless its
      eigenvalue of T exceeds k = 3 + sqrt(2 ln N) noise spreads, where N =
      1 + (extent of the global search along it) / l_n counts the
      independent positions that the search chose from (the best of N
      noise-only positions would otherwise pass a plain 3-sigma test); the
      noise spread uses a HAC window of 2 l_n with l_n = NOISE_LENGTH_PX
      (2 px): noise correlated over at most about 2 px of the grid after
      the 1 px smoothing (register maps with more strongly correlated
      noise, e.g. holograms' phase over the resolution cell, on a grid
      spacing near their resolution).

    Returns
    -------
    dict
        ``cov`` (finite part, parameter units), ``directions`` (columns, in
        parameter units), ``variances`` (along the directions, scaled
        units; inf for unconstrained), ``eigenvalues``, ``significance``,
        ``threshold``, ``residual_rms``, ``n`` (pixels), ``lag`` [px],
        ``correlation_length`` and ``noise_correlation_length`` [px],
        ``similarity`` (correlation of g(m) and f) and ``mapping``
        (coefficients).
    """
    s = pair.sample(params, rotation)
    npar = params.size
    scale_px = _scales(pair, npar)
    if s["m"].size < 16:
        inf = np.full(npar, math.inf)
        return {
            "cov": np.zeros((npar, npar)),
            "directions": np.eye(npar),
            "variances": inf,
            "eigenvalues": np.zeros(npar),
            "significance": np.zeros(npar),
            "threshold": np.full(npar, 3.0),
            "residual_rms": math.nan,
            "n": int(s["m"].size),
            "lag": 0,
            "correlation_length": math.nan,
            "similarity": math.nan,
            "mapping": {},
        }
    g, dg, coef = apply_mapping(mapping, pair, s)
    e = g - s["f"]
    # residual correlation length (noise and misfit) for the error bars; the
    # significance test assumes noise correlated over NOISE_LENGTH_PX
    ell = correlation_length(pair.shape, s["iy"], s["ix"], e)
    lag = int(min(max(2 * ell + 2, 4), 40))
    lags = Lags(pair.shape, s["iy"], s["ix"], lag)
    ell_n = NOISE_LENGTH_PX
    lags_n = Lags(pair.shape, s["iy"], s["ix"], 2 * NOISE_LENGTH_PX)
    js = dg[:, None] * s["jac_m"] / scale_px
    ks = _fixed_jacobian(s, rotation) / scale_px
    if mapping == "local":
        js = project_local(coef["window"], js, s["m"], coef["eps"])
        ks = project_local(coef["window"], ks, s["f"], None)
        coef = {"sigma_window_px": coef["sigma_window_px"]}
    cross = 0.5 * (js.T @ ks + ks.T @ js)
    _, evecs0 = np.linalg.eigh(cross)
    thr = np.empty(npar)
    for i in range(npar):
        v = evecs0[:2, i]
        extent = abs(v[0]) * search_extent[0] + abs(v[1]) * search_extent[1]
        thr[i] = 3.0 + math.sqrt(2.0 * math.log(1.0 + extent / max(ell_n, 1.0)))
    info = information(js, ks, lags_n, thr)
    evals, evecs, good = info["evals"], info["evecs"], info["good"]
    z = js * e[:, None]
    sand = np.array(
        [
            [lags.long_run(z[:, i], z[:, j]) if i != j else lags.long_run(z[:, i]) for j in range(npar)]
            for i in range(npar)
        ]
    )
    tinv = np.zeros((npar, npar))
    for i in np.nonzero(good)[0]:
        tinv += np.outer(evecs[:, i], evecs[:, i]) / evals[i]
    cov_s = tinv @ sand @ tinv
    variances = np.array([float(evecs[:, i] @ cov_s @ evecs[:, i]) if good[i] else math.inf for i in range(npar)])
    dmat = np.diag(1.0 / scale_px)
    cov = dmat @ cov_s @ dmat
    fc = s["f"] - s["f"].mean()
    gc = g - g.mean()
    den = math.sqrt(float(np.sum(fc * fc) * np.sum(gc * gc)))
    return {
        "cov": cov,
        "directions": dmat @ evecs,
        "variances": variances,
        "eigenvalues": evals,
        "significance": info["significance"],
        "threshold": thr,
        "residual_rms": float(np.sqrt(np.mean(e * e))),
        "n": int(e.size),
        "lag": lag,
        "correlation_length": ell,
        "noise_correlation_length": ell_n,
        "similarity": float(np.sum(fc * gc) / den) if den > 0 else 0.0,
        "mapping": coef,
    }


# --------------------------------------------------------------------------- #
# interface detection
# --------------------------------------------------------------------------- #


def structure_tensor(gy: np.ndarray, gx: np.ndarray) -> np.ndarray:
    """Sum of the gradient outer products, [[gy gy, gy gx], [gy gx, gx gx]]."""
    return np.array([[np.sum(gy * gy), np.sum(gy * gx)], [np.sum(gy * gx), np.sum(gx * gx)]])


def huber_polyfit(s: np.ndarray, t: np.ndarray, deg: int, *, c: float = 1.345, max_iter: int = 50) -> dict:
    """Robust polynomial fit t ~ sum_k beta_k s^k (Huber M-estimate by IRLS).

    Huber, Ann. Math. Statist. 35, 73 (1964). The residual scale is the MAD;
    the covariance sigma^2 (X^T W X)^-1 is inflated by (1 + rho)/(1 - rho)
    for the lag-1 autocorrelation rho of the residuals along s (an AR(1)
    effective-sample-size correction; Bretherton et al., J. Climate 12, 1990
    (1999)).
    """
    x = np.vander(s, deg + 1, increasing=True)
    w = np.ones_like(t)
    beta = np.linalg.lstsq(x, t, rcond=None)[0]
    scale = 0.0
    for _ in range(max_iter):
        r = t - x @ beta
        scale = 1.4826 * float(np.median(np.abs(r - np.median(r))))
        scale = max(scale, 1e-9 * (1.0 + float(np.max(np.abs(t)))))
        a = np.abs(r) / (c * scale)
        w_new = np.where(a <= 1.0, 1.0, 1.0 / np.maximum(a, 1e-300))
        sw = np.sqrt(w_new)
        beta_new = np.linalg.lstsq(x * sw[:, None], t * sw, rcond=None)[0]
        done = np.allclose(beta_new, beta, rtol=0, atol=1e-10 * (1 + np.abs(beta).max()))
        beta, w = beta_new, w_new
        if done:
            break
    r = t - x @ beta
    npar = deg + 1
    dof = max(float(np.sum(w)) - npar, 1.0)
    sigma2 = float(np.sum(w * r * r)) / dof
    xtwx = x.T @ (x * w[:, None])
    cov = sigma2 * np.linalg.pinv(xtwx)
    inl = np.abs(r) <= 3.0 * scale
    rho = 0.0
    ri = r[inl]
    if ri.size > 4:
        rc = ri - ri.mean()
        den = float(np.sum(rc * rc))
        rho = float(np.sum(rc[1:] * rc[:-1]) / den) if den > 0 else 0.0
    rho = min(max(rho, 0.0), 0.9)
    cov = cov * (1.0 + rho) / (1.0 - rho)
    return {"beta": beta, "cov": cov, "scale": scale, "weights": w, "inliers": inl, "residuals": r, "rho": rho}


def centroid_positions(
    d: np.ndarray, start: np.ndarray, half: float, *, max_iter: int = 20, tol: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row centroid of the positive part of `d` in a window re-centred on itself.

    The window is a box of half width `half` [px] with linear edges, so the
    centroid moves continuously with the window centre; a constant baseline
    then biases nothing at the fixed point (the window is centred on it).

    Returns
    -------
    pos : (rows,) ndarray
        Positions [px along the row]; NaN where the window left the row.
    ok : (rows,) bool ndarray
    """
    nrow, ncol = d.shape
    j = np.arange(ncol, dtype=np.float64)[None, :]
    w = np.clip(d, 0.0, None)
    pos = np.array(start, dtype=np.float64)
    for _ in range(max_iter):
        win = np.clip(half + 0.5 - np.abs(j - pos[:, None]), 0.0, 1.0)
        ww = w * win
        tot = ww.sum(axis=1)
        new = np.where(tot > 0, (ww * j).sum(axis=1) / np.where(tot > 0, tot, 1.0), pos)
        moved = np.abs(new - pos)
        pos = new
        if np.nanmax(moved) < tol:
            break
    ok = (pos - half >= 0) & (pos + half <= ncol - 1) & np.isfinite(pos)
    win = np.clip(half + 0.5 - np.abs(j - pos[:, None]), 0.0, 1.0)
    ok &= (w * win).sum(axis=1) > 0
    return np.where(ok, pos, np.nan), ok


def mean_profile(d: np.ndarray, centers: np.ndarray, rows: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Average of rows of `d` re-sampled at offsets -half..half around `centers`."""
    off = np.arange(-half, half + 1, dtype=np.float64)
    acc = np.zeros(off.size)
    n = 0
    cols = np.arange(d.shape[1], dtype=np.float64)
    for i in rows:
        acc += np.interp(centers[i] + off, cols, d[i], left=np.nan, right=np.nan)
        n += 1
    return off, acc / max(n, 1)


def gaussian_width(off: np.ndarray, prof: np.ndarray) -> tuple[float, float]:
    """(sigma, amplitude) of a Gaussian peak at 0 fitted to a profile (with a constant)."""
    from scipy.optimize import curve_fit

    ok = np.isfinite(prof)
    off, prof = off[ok], prof[ok]
    if prof.size < 5 or not np.any(prof > 0):
        return math.nan, 0.0
    amp0 = float(prof.max() - np.median(prof))
    above = off[prof - np.median(prof) > 0.5 * amp0]
    sig0 = max(0.5 * (above.max() - above.min()) / 1.1774, 0.7) if above.size else 2.0

    def model(x, a, s, c0):
        return a * np.exp(-0.5 * (x / s) ** 2) + c0

    try:
        popt, _ = curve_fit(model, off, prof, p0=(amp0, sig0, float(np.median(prof))), maxfev=2000)
    except (RuntimeError, ValueError):
        return sig0, amp0
    return abs(float(popt[1])), float(popt[0])
