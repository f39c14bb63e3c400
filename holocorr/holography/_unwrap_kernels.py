"""Numpy kernels for phase unwrapping, residues and ramp fitting (pixels, no xarray).

Every function here takes and returns plain numpy arrays of one 2-D image
(axis 0 = y = rows, axis 1 = x = columns). Nothing is validated: the public
wrappers in :mod:`holocorr.holography.phase` check the inputs first.
Computations run in float64; the wrappers cast back to the input dtype.

References
----------
.. [1] M. A. Herráez, D. R. Burton, M. J. Lalor and M. A. Gdeisat, "Fast
   two-dimensional phase-unwrapping algorithm based on sorting by reliability
   following a noncontinuous path", Appl. Opt. 41, 7437 (2002),
   doi:10.1364/AO.41.007437 (used through ``skimage.restoration.unwrap_phase``).
.. [2] D. C. Ghiglia and L. A. Romero, "Robust two-dimensional weighted and
   unweighted phase unwrapping that uses fast transforms and iterative
   methods", J. Opt. Soc. Am. A 11, 107 (1994), doi:10.1364/JOSAA.11.000107.
.. [3] R. M. Goldstein, H. A. Zebker and C. L. Werner, "Satellite radar
   interferometry: two-dimensional phase unwrapping", Radio Sci. 23, 713
   (1988), doi:10.1029/RS023i004p00713 (residues).
"""

from __future__ import annotations

from math import comb

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

__all__ = [
    "TWO_PI",
    "wrap",
    "residue_map",
    "count_discontinuities",
    "label_regions",
    "unwrap_quality",
    "unwrap_least_squares",
    "align_offset",
    "poly_terms",
    "fit_surface",
]

TWO_PI = 2.0 * np.pi


def wrap(a: np.ndarray) -> np.ndarray:
    """Wrap phase values to [-π, π] (float64).

    Parameters
    ----------
    a : ndarray [rad]

    Returns
    -------
    ndarray [rad]
        ``a - 2π·round(a / 2π)``.
    """
    a = np.asarray(a, dtype=np.float64)
    return a - TWO_PI * np.round(a / TWO_PI)


def _wrapped_gradients(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return wrapped forward differences gx (M, N-1) along x and gy (M-1, N) along y."""
    return wrap(np.diff(p, axis=1)), wrap(np.diff(p, axis=0))


def residue_map(p: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Residues (phase singularities) of a wrapped phase on the grid of 2x2 loops.

    The loop of pixels ``(i, j) -> (i, j+1) -> (i+1, j+1) -> (i+1, j) -> (i, j)``
    (``+x, +y, -x, -y`` in index order) sums the wrapped differences; the sum
    is 0 or ±2π and the residue is that sum / 2π. With x to the right and y
    upward this loop is counter-clockwise, so ``atan2(y - y0, x - x0)`` gives
    +1 at the loop holding ``(x0, y0)``.

    Parameters
    ----------
    p : (M, N) ndarray [rad]
        Wrapped (or unwrapped) phase.
    valid : (M, N) bool ndarray, optional
        Loops with any corner outside `valid` are set to 0.

    Returns
    -------
    (M-1, N-1) int8 ndarray
        +1, -1 or 0 per loop.
    """
    gx, gy = _wrapped_gradients(p)
    s = gx[:-1, :] + gy[:, 1:] - gx[1:, :] - gy[:, :-1]
    r = np.rint(s / TWO_PI).astype(np.int8)
    if valid is not None:
        ok = valid[:-1, :-1] & valid[:-1, 1:] & valid[1:, :-1] & valid[1:, 1:]
        r[~ok] = 0
    return r


def count_discontinuities(u: np.ndarray, valid: np.ndarray | None = None) -> int:
    """Count neighbour pairs (along x or y) whose difference exceeds π in magnitude.

    Parameters
    ----------
    u : (M, N) ndarray [rad]
        Unwrapped phase.
    valid : (M, N) bool ndarray, optional
        Only pairs with both pixels valid count.

    Returns
    -------
    int
    """
    bx = np.abs(np.diff(u, axis=1)) > np.pi
    by = np.abs(np.diff(u, axis=0)) > np.pi
    if valid is not None:
        bx &= valid[:, 1:] & valid[:, :-1]
        by &= valid[1:, :] & valid[:-1, :]
    return int(bx.sum()) + int(by.sum())


def label_regions(valid: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 4-connected regions of valid pixels (0 = excluded).

    Parameters
    ----------
    valid : (M, N) bool ndarray

    Returns
    -------
    labels : (M, N) int ndarray
    n : int
        Number of regions.
    """
    labels, n = ndimage.label(valid)
    return labels, int(n)


def unwrap_quality(p: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Reliability-sorted quality-guided unwrapping (Herráez et al. 2002).

    Uses :func:`skimage.restoration.unwrap_phase` with a fixed seed; excluded
    pixels are passed as a masked array and come back as NaN. Each connected
    region gets an arbitrary multiple of 2π (fix it with :func:`align_offset`).

    Parameters
    ----------
    p : (M, N) ndarray [rad]
        Wrapped phase in [-π, π].
    valid : (M, N) bool ndarray, optional

    Returns
    -------
    (M, N) float64 ndarray [rad]
    """
    from skimage.restoration import unwrap_phase

    p = np.ascontiguousarray(p, dtype=np.float64)
    if valid is None or valid.all():
        return np.asarray(unwrap_phase(p, rng=0), dtype=np.float64)
    out = unwrap_phase(np.ma.array(p, mask=~valid), rng=0)
    out = np.array(np.ma.getdata(out), dtype=np.float64)
    out[~valid] = np.nan
    return out


def _poisson_dct(rho: np.ndarray) -> np.ndarray:
    """Solve the 5-point Laplacian with Neumann boundaries, L φ = rho, by DCT-II.

    The mean (null-space) component is set to zero. Eigenvalues of L on the
    DCT-II basis are ``2cos(πm/M) + 2cos(πn/N) - 4`` (Ghiglia & Romero 1994).
    """
    m, n = rho.shape
    r = sfft.dctn(rho, type=2, norm="ortho")
    ky = 2.0 * np.cos(np.pi * np.arange(m) / m) - 2.0
    kx = 2.0 * np.cos(np.pi * np.arange(n) / n) - 2.0
    denom = ky[:, None] + kx[None, :]
    denom[0, 0] = 1.0
    r /= denom
    r[0, 0] = 0.0
    return sfft.idctn(r, type=2, norm="ortho")


def _divergence(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Backward-difference divergence of edge fields gx (M, N-1), gy (M-1, N)."""
    m, n = gy.shape[0] + 1, gx.shape[1] + 1
    rho = np.zeros((m, n))
    rho[:, :-1] += gx
    rho[:, 1:] -= gx
    rho[:-1, :] += gy
    rho[1:, :] -= gy
    return rho


def unwrap_least_squares(
    p: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    tol: float = 1e-9,
    maxiter: int = 500,
) -> tuple[np.ndarray, int, bool]:
    """Least-squares unwrapping (Ghiglia & Romero 1994), not yet congruent.

    Minimises ``Σ w (D φ - W(D p))²`` over all neighbour pairs, where ``W``
    wraps to [-π, π] and the binary weight ``w`` is 1 when both pixels are
    valid. Without exclusions this is the Poisson equation with Neumann
    boundaries, solved exactly by one DCT-II; with exclusions it is solved
    by conjugate gradients preconditioned with that DCT solver.

    Parameters
    ----------
    p : (M, N) ndarray [rad]
        Wrapped phase.
    valid : (M, N) bool ndarray, optional
    tol : float
        Relative residual at which the conjugate gradients stop.
    maxiter : int
        Maximum conjugate-gradient iterations.

    Returns
    -------
    phi : (M, N) float64 ndarray [rad]
        Smooth solution, defined up to a constant per connected region
        (NaN at excluded pixels).
    iterations : int
        Conjugate-gradient iterations (1 for the direct solve).
    converged : bool
    """
    p = np.asarray(p, dtype=np.float64)
    gx, gy = _wrapped_gradients(p)
    if valid is None or valid.all():
        return _poisson_dct(_divergence(gx, gy)), 1, True

    wx = (valid[:, 1:] & valid[:, :-1]).astype(np.float64)
    wy = (valid[1:, :] & valid[:-1, :]).astype(np.float64)
    # Solve A φ = b with A = -div(w D ·) (positive semi-definite) and b = -div(w g).
    b = -_divergence(wx * gx, wy * gy)

    def apply_a(x: np.ndarray) -> np.ndarray:
        return -_divergence(wx * np.diff(x, axis=1), wy * np.diff(x, axis=0))

    def precondition(r: np.ndarray) -> np.ndarray:
        return -_poisson_dct(r)

    x = np.zeros_like(b)
    r = b.copy()
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        out = x
        out[~valid] = np.nan
        return out, 0, True
    z = precondition(r)
    d = z.copy()
    rz = float(np.vdot(r, z))
    converged = False
    it = 0
    for it in range(1, maxiter + 1):  # noqa: B007 - `it` is reported
        ad = apply_a(d)
        dad = float(np.vdot(d, ad))
        if dad <= 0.0:
            converged = float(np.linalg.norm(r)) <= tol * bnorm
            break
        alpha = rz / dad
        x += alpha * d
        r -= alpha * ad
        if float(np.linalg.norm(r)) <= tol * bnorm:
            converged = True
            break
        z = precondition(r)
        rz_new = float(np.vdot(r, z))
        d = z + (rz_new / rz) * d
        rz = rz_new
    x[~valid] = np.nan
    return x, it, converged


def _pick_band(n: np.ndarray) -> int:
    """Most common integer in `n`; ties go to the value nearest the median, then the smaller.

    The chosen value is the shift (in units of 2π) added to the result, so
    "smaller" means the lower of the tied results.
    """
    values, counts = np.unique(n, return_counts=True)
    best = values[counts == counts.max()]
    if best.size == 1:
        return int(best[0])
    med = float(np.median(n))
    order = np.lexsort((best, np.abs(best - med)))
    return int(best[order[0]])


def align_offset(
    u: np.ndarray,
    wrapped: np.ndarray,
    labels: np.ndarray,
    n_regions: int,
    *,
    congruent: bool,
) -> np.ndarray:
    """Fix the free constant of an unwrapped phase, region by region.

    First (for non-congruent input) each region is shifted by the circular
    mean of ``u - wrapped`` so that ``u - wrapped`` sits near multiples of
    2π. When `congruent`, ``u`` is then replaced by ``wrapped + 2π·round((u -
    wrapped)/2π)``. Finally each region is shifted by the multiple ``2π·k``
    that makes the result equal (congruent) or closest (not congruent) to the
    wrapped input on the largest number of pixels: ``k`` is the most common
    value of ``round((wrapped - u)/2π)``; ties go to the value nearest the
    median, then to the smaller one (the lower result).

    Parameters
    ----------
    u : (M, N) ndarray [rad]
        Unwrapped phase (NaN where excluded).
    wrapped : (M, N) ndarray [rad]
        The wrapped input in [-π, π].
    labels : (M, N) int ndarray
        Regions from :func:`label_regions` (0 = excluded).
    n_regions : int
    congruent : bool
        Make the result differ from `wrapped` by exact multiples of 2π.

    Returns
    -------
    (M, N) float64 ndarray [rad]
        A new array.
    """
    u = np.array(u, dtype=np.float64)
    if n_regions == 0:
        return u
    flat = labels.ravel()
    sel = flat > 0
    idx = np.flatnonzero(sel)
    lab = flat[idx]
    uf = u.ravel()[idx]
    wf = wrapped.ravel()[idx]
    # circular mean of u - wrapped per region
    dlt = uf - wf
    c = np.bincount(lab, weights=np.cos(dlt), minlength=n_regions + 1)
    s = np.bincount(lab, weights=np.sin(dlt), minlength=n_regions + 1)
    shift = np.arctan2(s, c)
    uf = uf - shift[lab]
    if congruent:
        uf = wf + TWO_PI * np.rint((uf - wf) / TWO_PI)
    bands = np.rint((wf - uf) / TWO_PI).astype(np.int64)
    order = np.argsort(lab, kind="stable")
    splits = np.flatnonzero(np.diff(lab[order])) + 1
    k = np.zeros(n_regions + 1)
    for group in np.split(order, splits):
        k[lab[group[0]]] = _pick_band(bands[group])
    uf = uf + TWO_PI * k[lab]
    out = np.full(u.size, np.nan)
    out[idx] = uf
    return out.reshape(u.shape)


def poly_terms(order: int) -> list[tuple[int, int]]:
    """Exponents ``(i, j)`` of the monomials ``x**i * y**j`` up to total degree `order`.

    Parameters
    ----------
    order : int

    Returns
    -------
    list of (int, int)
        Ordered ``1, x, y, x², x·y, y², ...``.
    """
    return [(d - j, j) for d in range(order + 1) for j in range(d + 1)]


def fit_surface(
    values: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    use: np.ndarray,
    order: int,
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Least-squares polynomial surface over the pixels in `use`.

    The fit runs on centred, scaled coordinates for conditioning; the
    coefficients are then converted exactly to monomials of the given
    coordinates (origin at ``x = 0, y = 0``).

    Parameters
    ----------
    values : (M, N) ndarray
    x : (N,) ndarray
        Column coordinates.
    y : (M,) ndarray
        Row coordinates.
    use : (M, N) bool ndarray
        Pixels that enter the fit.
    order : int
        Total polynomial degree (0, 1, 2, ...).

    Returns
    -------
    coefficients : (K,) float64 ndarray
        In the order of :func:`poly_terms`.
    surface : (M, N) float64 ndarray
        The fitted surface on the whole grid.
    rank : int
        Rank of the design matrix (< K means the points cannot fix the surface).
    rms : float
        Root-mean-square residual over the fitted pixels.
    """
    terms = poly_terms(order)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rows, cols = np.nonzero(use)
    xs, ys = x[cols], y[rows]
    x0, y0 = float(xs.mean()), float(ys.mean())
    sx = float(np.abs(xs - x0).max()) or 1.0
    sy = float(np.abs(ys - y0).max()) or 1.0
    uu, vv = (xs - x0) / sx, (ys - y0) / sy
    design = np.stack([uu**i * vv**j for i, j in terms], axis=1)
    a, _, rank, _ = np.linalg.lstsq(design, np.asarray(values, np.float64)[rows, cols], rcond=None)
    resid = np.asarray(values, np.float64)[rows, cols] - design @ a
    rms = float(np.sqrt(np.mean(resid**2)))
    ug = ((x - x0) / sx)[None, :]
    vg = ((y - y0) / sy)[:, None]
    surface = np.zeros((y.size, x.size))
    for c, (i, j) in zip(a, terms, strict=True):
        surface = surface + c * (ug**i * vg**j)
    # convert Σ a_ij ((x-x0)/sx)^i ((y-y0)/sy)^j to Σ c_kl x^k y^l
    pos = {t: n for n, t in enumerate(terms)}
    coef = np.zeros(len(terms))
    for c, (i, j) in zip(a, terms, strict=True):
        scale = c / (sx**i * sy**j)
        for k in range(i + 1):
            for m in range(j + 1):
                coef[pos[(k, m)]] += (
                    scale * comb(i, k) * (-x0) ** (i - k) * comb(j, m) * (-y0) ** (j - m)
                )
    return coef, surface, int(rank), rms
