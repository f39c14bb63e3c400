"""EELS kernels: numpy in, numpy out, channels and eV; no xarray, no validation.

Spectra are 2-D arrays ``(n_pixels, n_channels)`` with the energy axis last.
Every kernel is vectorised over pixels; no per-pixel Python loops except over
small groups (unique integer shifts, unique active sets).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

__all__ = [
    "logmoments",
    "fit_loglinear",
    "linear_background",
    "solve_constrained",
    "peak_position",
    "shift_rows",
    "mirror_zlp",
    "tail_extrapolation",
    "area_resample",
    "fourier_log",
    "fourier_ratio",
    "gaussian_ft",
]

_TINY = 1e-300


# --------------------------------------------------------------------------- #
# log-linear (power-law / exponential) Poisson maximum likelihood
# --------------------------------------------------------------------------- #
def logmoments(r: np.ndarray, u: np.ndarray, w: np.ndarray | None = None):
    """Moments of u under the weights w_i exp(-r u_i), for every r.

    Returns log Z, mean M1 and variance V (each shape ``r.shape``), where
    Z(r) = sum_i w_i exp(-r u_i). Computed in chunks with a max-shift so that
    no exponential overflows.
    """
    r = np.asarray(r, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    lw = 0.0 if w is None else np.log(np.asarray(w, dtype=np.float64))
    out_z = np.empty(r.size)
    out_m = np.empty(r.size)
    out_v = np.empty(r.size)
    step = max(1, 2_000_000 // max(1, u.size))
    for a in range(0, r.size, step):
        rr = r[a : a + step]
        ex = -np.outer(rr, u) + lw
        mx = ex.max(axis=1, keepdims=True)
        e = np.exp(ex - mx)
        z = e.sum(axis=1)
        m1 = (e @ u) / z
        m2 = (e @ (u * u)) / z
        out_z[a : a + step] = np.log(z) + mx[:, 0]
        out_m[a : a + step] = m1
        out_v[a : a + step] = np.maximum(m2 - m1 * m1, 1e-300)
    return out_z, out_m, out_v


def fit_loglinear(
    s0: np.ndarray, s1: np.ndarray, u_fit: np.ndarray, u_ext: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Poisson maximum-likelihood fit of mu_i = A exp(-r u_i) from two sums per pixel.

    For Poisson counts y_i the likelihood equations of this model are
    sum y_i = sum mu_i and sum y_i u_i = sum mu_i u_i, so the fit depends on
    the data only through s0 = sum y_i and s1 = sum y_i u_i (one pass over the
    data). The exponent solves g(r) = s1/s0 with g(r) the mean of u under
    weights exp(-r u), which falls monotonically with r; g and the other
    r-dependent sums are tabulated (a coarse grid, then a fine grid spanning
    the pixels' exponents) and linearly interpolated.

    Parameters
    ----------
    s0, s1 : (P,) float64
        Sums of counts and of counts x u over the fit channels.
    u_fit : (n,) float64
        Feature (ln E for a power law, E for an exponential) on the fit
        channels, centred (mean 0) for accuracy.
    u_ext : (m,) float64, optional
        The same feature on the channels to extrapolate to (same centring).

    Returns
    -------
    dict
        ``r`` exponents, ``log_a`` (mu_i = exp(log_a - r u_i)), and with
        `u_ext`: ``b`` (sum of mu over those channels), ``var_b_unit``
        (its variance for unit gain, from the inverse Fisher information:
        b^2 / s0 * (1 + (M1_ext - M1_fit)^2 / V_fit)), ``clipped`` (pixels
        whose exponent fell outside the table).
    """
    span = float(u_fit.max() - u_fit.min())
    m = s1 / s0
    r1 = np.linspace(-60.0, 60.0, 241) / span
    _, g1, _ = logmoments(r1, u_fit)
    # g decreases with r; np.interp needs increasing abscissae.
    r_est = np.interp(m, g1[::-1], r1[::-1])
    clipped = (m >= g1[0]) | (m <= g1[-1])
    d1 = r1[1] - r1[0]
    lo = max(float(np.min(r_est)) - 2 * d1, float(r1[0]))
    hi = min(float(np.max(r_est)) + 2 * d1, float(r1[-1]))
    if hi - lo < 1e-9:
        lo, hi = lo - d1, hi + d1
    r2 = np.linspace(lo, hi, 513)
    lzf, g2, vf = logmoments(r2, u_fit)
    r = np.interp(m, g2[::-1], r2[::-1])
    # one bracket search for every table below
    j = np.clip(np.searchsorted(r2, r) - 1, 0, r2.size - 2)
    t = (r - r2[j]) / (r2[j + 1] - r2[j])

    def lerp(tab):
        return tab[j] + t * (tab[j + 1] - tab[j])

    out: dict[str, np.ndarray] = {"r": r, "clipped": clipped}
    out["log_a"] = np.log(np.maximum(s0, _TINY)) - lerp(lzf)
    if u_ext is not None and u_ext.size:
        lze, me, _ = logmoments(r2, u_ext)
        d = lerp(lze - lzf)
        f = lerp(1.0 + (me - g2) ** 2 / vf)
        b = s0 * np.exp(d)
        out["b"] = b
        out["var_b_unit"] = b * b * f / np.maximum(s0, _TINY)
    return out


def window_sums(
    y: np.ndarray,
    fit: tuple[int, int],
    cols: np.ndarray,
    ext: tuple[int, int] | None,
    *,
    hasher=None,
    chunk: int = 512,
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """One cache-friendly pass: fit-window products, window sum, minimum (and hash).

    For blocks of `chunk` spectra: y[:, fit] @ cols, the sum over
    y[:, ext], the minimum over both windows, and (with `hasher`, an
    ``xxhash`` object) the bytes of the whole rows, so that every value is
    read from memory once. float32 data are summed in float32 by BLAS (the
    fit-window features are centred, which keeps the products accurate).

    Returns
    -------
    prod : (P, c) float64
    tsum : (P,) float64 or None
    minimum : float (NaN when a NaN was met)
    """
    p = y.shape[0]
    f0, f1 = fit
    prod = np.empty((p, cols.shape[1]), dtype=y.dtype)
    tsum = None
    ones = None
    if ext is not None:
        tsum = np.empty(p, dtype=y.dtype)
        ones = np.ones(ext[1] - ext[0], dtype=y.dtype)
    mn = np.inf
    for a in range(0, p, chunk):
        blk = y[a : a + chunk]
        if hasher is not None:
            hasher.update(blk.reshape(-1).view(np.uint8))
        fb = blk[:, f0:f1]
        prod[a : a + chunk] = fb @ cols
        m = fb.min()
        if ext is not None:
            eb = blk[:, ext[0] : ext[1]]
            tsum[a : a + chunk] = eb @ ones
            m = min(m, eb.min())
        if not m >= mn:  # also catches NaN
            mn = m
    return prod.astype(np.float64), (None if tsum is None else tsum.astype(np.float64)), float(mn)


def linear_background(
    y_fit: np.ndarray,
    basis_fit: np.ndarray,
    weights: np.ndarray,
    c_ext: np.ndarray,
) -> dict[str, np.ndarray]:
    """Weighted linear least squares with a design shared by every pixel.

    theta = G y with G = (X^T W X)^-1 X^T W; the extrapolated background is
    B = c^T theta and its variance for unit gain is sum_i (c^T G)_i^2 y_i
    (the sandwich estimator with Poisson variance y_i), exact for any
    weights. One matrix product over the data gives both.

    Parameters
    ----------
    y_fit : (P, n)
        Counts on the fit channels (float32 or float64).
    basis_fit : (n, k) float64
        Basis functions on the fit channels.
    weights : (n,) float64
        Weights (1 / expected variance, up to a constant).
    c_ext : (k,) float64
        Sums of the basis functions over the extrapolation channels.

    Returns
    -------
    dict
        ``theta`` (P, k), ``b`` (P,), ``var_b_unit`` (P,).
    """
    x = basis_fit
    scale = np.sqrt(np.sum(weights[:, None] * x * x, axis=0))
    scale[scale == 0] = 1.0
    xs = x / scale
    a = xs.T @ (weights[:, None] * xs)
    g = np.linalg.solve(a, (weights[:, None] * xs).T)  # (k, n)
    g = g / scale[:, None]
    h = c_ext @ g  # (n,)
    cols = np.concatenate([g.T, (h * h)[:, None]], axis=1).astype(y_fit.dtype)
    res = (y_fit @ cols).astype(np.float64)
    k = x.shape[1]
    theta = res[:, :k]
    return {"theta": theta, "b": theta @ c_ext, "var_b_unit": res[:, k]}


# --------------------------------------------------------------------------- #
# bounded linear least squares, vectorised over pixels
# --------------------------------------------------------------------------- #
def _thin_matmul(x: np.ndarray, m: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Product x @ m of a tall x (P, k) and a small m (k, c), in blocks of rows.

    Each block is small enough for one BLAS thread: a multithreaded product
    of a thin matrix gains little, and on a busy machine each call can stall
    for milliseconds while OpenBLAS wakes its threads (measured: 5-12 ms per
    call on a loaded 2-core machine, for products that take 0.1 ms).
    """
    p = x.shape[0]
    if out is None:
        out = np.empty((p, m.shape[1]), dtype=np.result_type(x, m))
    # OpenBLAS runs a product of m n k multiply-adds on floor(m n k / 2^18)
    # threads (at most the cores): below 2^19, on one
    step = max(1, ((1 << 19) - 1) // max(1, m.shape[0] * m.shape[1]))
    if p <= step:
        return np.matmul(x, m, out=out)
    for c0 in range(0, p, step):
        np.matmul(x[c0 : c0 + step], m, out=out[c0 : c0 + step])
    return out


def _codes(free: np.ndarray) -> np.ndarray:
    return free.astype(np.int64) @ (1 << np.arange(free.shape[1], dtype=np.int64))


class _Patterns:
    """Solutions restricted to free sets for a design shared by every pixel.

    One k x k table per free set met: A_FF^-1 (transposed) on the free rows
    and columns, zeros elsewhere, so theta = b @ table is the solution on the
    free set with the held coefficients exactly 0. Tables are made in
    batches (one stacked inverse per free-set size, each A_FF^-1 computed as
    ``np.linalg.inv(A[F, F])``) and kept for the whole solve.
    """

    def __init__(self, a: np.ndarray):
        k = a.shape[0]
        self.a = a
        self.k = k
        self.bits = 1 << np.arange(k, dtype=np.int64)
        # free set -> table row: a dense lookup for small k, a dict otherwise
        self.lut = np.full(1 << k, -1, dtype=np.int64) if k <= 16 else None
        self.index: dict[int, int] = {}
        self.tab = np.zeros((16, k, k))
        self.n = 0

    def ids(self, codes: np.ndarray) -> np.ndarray:
        """Table rows of the free sets `codes` (tables made for the new ones)."""
        if self.lut is not None:
            ids = self.lut[codes]
            miss = ids < 0
            if miss.any():
                self._add(np.unique(codes[miss]))
                ids = self.lut[codes]
            return ids
        uniq, inv = np.unique(codes, return_inverse=True)
        new = [c for c in uniq.tolist() if c not in self.index]
        if new:
            self._add(np.array(new, dtype=np.int64))
        return np.array([self.index[c] for c in uniq.tolist()], dtype=np.int64)[inv]

    def _add(self, new: np.ndarray) -> None:
        k, n0, m = self.k, self.n, new.size
        if n0 + m > self.tab.shape[0]:
            tab = np.zeros((max(2 * self.tab.shape[0], n0 + m), k, k))
            tab[:n0] = self.tab[:n0]
            self.tab = tab
        fsets = ((new[:, None] >> np.arange(k)) & 1).astype(bool)
        sizes = fsets.sum(axis=1)
        for size in np.unique(sizes).tolist():
            if size == 0:
                continue  # all held: the zero table
            sel = np.flatnonzero(sizes == size)
            f = np.nonzero(fsets[sel])[1].reshape(sel.size, size)
            inv = np.linalg.inv(self.a[f[:, :, None], f[:, None, :]])
            rows = (n0 + sel)[:, None, None]
            self.tab[rows, f[:, None, :], f[:, :, None]] = inv
        if self.lut is not None:
            self.lut[new] = n0 + np.arange(m)
        else:
            self.index.update(zip(new.tolist(), range(n0, n0 + m), strict=True))
        self.n += m

    def solve(self, b: np.ndarray, free: np.ndarray) -> np.ndarray:
        """Solutions (P, k): A_FF^-1 b_F on each row's free set F, 0 elsewhere."""
        p = b.shape[0]
        if p == 0:
            return np.zeros((0, self.k))
        codes = free.astype(np.int64) @ self.bits
        if p == 1 or not (codes != codes[0]).any():
            g = int(self.ids(codes[:1])[0])  # (may grow self.tab)
            return _thin_matmul(b, self.tab[g])
        ids = self.ids(codes)
        # group the rows by free set (a radix sort for 16-bit keys)
        order = np.argsort(ids.astype(np.uint16) if self.n <= 1 << 16 else ids, kind="stable")
        sid = ids[order]
        starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
        ends = np.r_[starts[1:], p]
        bs = b[order]
        ts = np.empty((p, self.k))
        big = ends - starts >= _GROUP
        tab = self.tab
        # large groups: one product each; the rest: one batched product
        for st, en, g in zip(starts[big].tolist(), ends[big].tolist(), sid[starts[big]].tolist(), strict=True):
            _thin_matmul(bs[st:en], tab[g], out=ts[st:en])
        if not big.all():
            small = np.flatnonzero(np.repeat(~big, ends - starts))
            ts[small] = np.matmul(bs[small, None, :], tab[sid[small]])[:, 0, :]
        theta = np.empty((p, self.k))
        theta[order] = ts
        return theta


_GROUP = 8  # free-set groups at least this large get their own matrix product


def _solve_masked(a: np.ndarray, b: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Per-pixel A: the masked systems F A F + (I - F), F = diag(free), in one batched solve.

    Their solution is A_FF^-1 b_F on the free set and 0 elsewhere.
    """
    p, k = b.shape
    theta = np.zeros((p, k))
    eye = np.eye(k)
    for c0 in range(0, p, 8192):
        fr = free[c0 : c0 + 8192]
        both = fr[:, :, None] & fr[:, None, :]
        m = np.where(both, a[c0 : c0 + 8192], eye)
        rhs = np.where(fr, b[c0 : c0 + 8192], 0.0)
        theta[c0 : c0 + 8192] = np.linalg.solve(m, rhs[:, :, None])[:, :, 0]
    return theta


def solve_constrained(
    a: np.ndarray,
    b: np.ndarray,
    constrained: np.ndarray,
    *,
    max_iter: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Minimise theta^T A theta - 2 b^T theta with theta_j >= 0 for constrained j.

    This is the normal-equation form of a (weighted) least-squares problem
    per pixel, so after one pass over the data every step works on k x k
    matrices only. Every pixel's result is its exact minimiser, found by
    active-set steps that all pixels take at once; a pixel stops when its
    free set passes the optimality (KKT) test: the free constrained
    coefficients of the reduced solution are positive and no held one has a
    gradient that would lower the objective (above 1e-10 max|b|).

    A warm start comes first: every pixel starts from the free set of the
    problem of the summed pixels (shared A), or of its own unconstrained
    solution, and a few cheap steps drop all negative coefficients at once
    and free the held one with the largest gradient. The pixels not yet at
    the optimum then go from a feasible point through the Lawson-Hanson
    iteration: the reduced problem on the free set is solved; a pixel whose
    solution leaves the feasible region steps towards it until the first
    coefficient reaches 0, which leaves the free set; a feasible pixel frees
    the held coefficient with the largest gradient, or is done when none
    would lower the objective. Pixels still running after `max_iter` steps
    (3 k by default; cycling by round-off) are solved one by one with
    scipy's bounded-variable least squares (BVLS).

    With a shared A the reduced solutions use one A_FF^-1 per free set (a
    product per group of pixels with the same free set); with a per-pixel A
    one batched solve of masked systems.

    Parameters
    ----------
    a : (k, k) or (P, k, k)
        X^T W X, shared or per pixel.
    b : (P, k)
        X^T W y per pixel.
    constrained : (k,) bool
        Which coefficients must be >= 0.
    max_iter : int, optional
        Lawson-Hanson steps before the exact fallback.

    Returns
    -------
    theta : (P, k)
    free : (P, k) bool
        The free (not held at zero) set of each pixel.
    n_fallback : int
        Pixels solved by the exact fallback.
    """
    shared = a.ndim == 2
    p, k = b.shape
    cons = np.asarray(constrained, dtype=bool)
    b = np.asarray(b, dtype=np.float64)
    free = np.ones((p, k), dtype=bool)
    pat = _Patterns(a) if shared else None
    at = np.ascontiguousarray(a.T) if shared else None

    def solve(aa, bb, fr):
        return pat.solve(bb, fr) if shared else _solve_masked(aa, bb, fr)

    def matvec(aa, th):
        return _thin_matmul(th, at) if shared else np.einsum("pkl,pl->pk", aa, th)

    if p == 0:
        return np.zeros((0, k)), free, 0
    if not cons.any():
        return solve(a, b, free), free, 0
    max_iter = 3 * k if max_iter is None else max_iter
    tol = 1e-10 * np.maximum(np.abs(b).max(axis=1), _TINY)
    theta = np.zeros((p, k))
    if shared and p > 1:
        # the free set of the summed problem, a start shared by all pixels
        _, f0, _ = solve_constrained(a, b.sum(axis=0, keepdims=True), cons, max_iter=max_iter)
        fr = np.broadcast_to(f0, (p, k)).copy()
    else:
        # the positive coefficients of the unconstrained solution
        fr = ~cons[None, :] | (solve(a, b, free) > 0)
    # running pixels: original index, b, tolerance, free set (and own A)
    idx, bt, tl, aa = np.arange(p), b, tol, a
    # warm-start steps: drop every negative coefficient at once, free the best
    # held one; a pixel whose free set passes the optimality test is done
    for step in range(_WARM):
        s = solve(aa, bt, fr)
        neg = cons & fr & (s <= 0)
        anyneg = neg.any(axis=1)
        th = np.where(neg, 0.0, s)
        grad = bt - matvec(aa, th)
        cand = cons & ~fr & (grad > tl[:, None])
        anycand = cand.any(axis=1)
        busy = anyneg | anycand
        if not busy.all():
            done = np.flatnonzero(~busy)
            theta[idx[done]] = s[done]
            free[idx[done]] = fr[done]
        fr &= ~neg
        # the last step leaves a feasible Lawson-Hanson state: th >= 0 on fr
        more = np.flatnonzero(anycand if step < _WARM - 1 else anycand & ~anyneg)
        fr[more, np.argmax(np.where(cand[more], grad[more], -np.inf), axis=1)] = True
        if not busy.all():
            idx, bt, tl, fr, th = idx[busy], bt[busy], tl[busy], fr[busy], th[busy]
            aa = aa if shared else aa[busy]
        if idx.size == 0:
            break
    for _ in range(max_iter):
        if idx.size == 0:
            break
        sol = solve(aa, bt, fr)
        bad = cons & fr & (sol <= 0)
        infeasible = bad.any(axis=1)
        keep = infeasible.copy()
        # infeasible pixels: step from th towards sol until a coefficient hits 0
        if infeasible.any():
            ti, si, bi = th[infeasible], sol[infeasible], bad[infeasible]
            ratio = np.where(bi, ti / np.maximum(ti - si, _TINY), np.inf)
            jmin = np.argmin(ratio, axis=1)
            alpha = np.clip(ratio[np.arange(ratio.shape[0]), jmin], 0.0, 1.0)
            new = ti + alpha[:, None] * (si - ti)
            lim = 1e-12 * np.maximum(np.abs(new).max(axis=1, keepdims=True), _TINY)
            hit = cons & (new <= lim)
            hit[np.arange(hit.shape[0]), jmin] = True
            new[hit] = 0.0
            th[infeasible] = new
            fr[infeasible] &= ~hit
        # feasible pixels: accept, then free the best held coefficient or finish
        ok = ~infeasible
        if ok.any():
            so, fo = sol[ok], fr[ok]
            th[ok] = so
            grad = bt[ok] - matvec(aa if shared else aa[ok], so)
            cand = cons & ~fo & (grad > tl[ok, None])
            more = cand.any(axis=1)
            j = np.argmax(np.where(cand, grad, -np.inf), axis=1)
            r_ok = np.flatnonzero(ok)
            fr[r_ok[more], j[more]] = True
            fin = r_ok[~more]
            theta[idx[fin]] = so[~more]
            free[idx[fin]] = fo[~more]
            keep[r_ok[more]] = True
        if not keep.all():
            idx, bt, tl, fr, th = idx[keep], bt[keep], tl[keep], fr[keep], th[keep]
            aa = aa if shared else aa[keep]
    if idx.size:
        theta[idx], free[idx] = _exact(aa, bt, cons, shared)
    theta[~free] = 0.0
    return theta, free, int(idx.size)


_WARM = 6  # warm-start steps before the Lawson-Hanson iteration


def _exact(a, b, cons, shared):
    """Exact bounded least squares for a few pixels (scipy's BVLS on the k x k problem).

    theta^T A theta - 2 b^T theta = |L^T theta - L^-1 b|^2 - const with
    A = L L^T, so each pixel is a small bounded least-squares problem.
    """
    from scipy.optimize import lsq_linear

    p, k = b.shape
    lb = np.where(cons, 0.0, -np.inf)
    theta = np.zeros((p, k))
    for i in range(p):
        ai = a if shared else a[i]
        try:
            low = np.linalg.cholesky(ai)
        except np.linalg.LinAlgError:
            low = np.linalg.cholesky(ai + 1e-12 * np.trace(ai) * np.eye(k))
        rhs = np.linalg.solve(low, b[i])
        theta[i] = lsq_linear(low.T, rhs, bounds=(lb, np.inf), method="bvls", tol=1e-12).x
    free = ~(cons[None, :] & (theta <= 0))
    theta[~free] = 0.0
    return theta, free


def covariance(a: np.ndarray, m: np.ndarray, free: np.ndarray, combos: np.ndarray | None = None) -> np.ndarray:
    """Variances of linear combinations of the coefficients (sandwich covariance).

    The covariance on each pixel's active set F is A_F^-1 M_F A_F^-1
    (coefficients held at zero contribute nothing), so a combination g has
    the variance h^T M_F h with h = A_F^-1 g_F. A combination whose
    coefficients are all held at zero gets the variance it has in the
    unconstrained fit (A^-1 instead of A_F^-1).

    Parameters
    ----------
    a : (k, k) or (P, k, k)
        X^T W X.
    m : (P, k, k)
        X^T W diag(var y) W X per pixel.
    free : (P, k) bool
        Active sets.
    combos : (k, q), optional
        Columns of combination weights (default: the identity).

    Returns
    -------
    (P, q) variances.
    """
    shared = a.ndim == 2
    p, k = free.shape
    g = np.eye(k) if combos is None else np.asarray(combos, dtype=np.float64)
    q = g.shape[1]

    def quad(h, mm):  # h: (k', q) or (P, k', q); mm: (P, k', k') -> (P, q)
        return np.sum(h * (mm @ h), axis=-2)

    if shared:
        var_full = quad(np.linalg.solve(a, g), m)
    else:
        var_full = quad(np.linalg.solve(a, np.broadcast_to(g, (p, k, q))), m)
    var = np.zeros((p, q))
    codes = _codes(free)
    for code in np.unique(codes):
        f = np.flatnonzero((int(code) >> np.arange(k)) & 1)
        idx = np.flatnonzero(codes == code)
        if f.size == 0:
            continue
        if f.size == k:
            var[idx] = var_full[idx]
            continue
        mf = m[idx][:, f][:, :, f]
        if shared:
            h = np.linalg.solve(a[np.ix_(f, f)], g[f])
        else:
            h = np.linalg.solve(a[idx][:, f][:, :, f], np.broadcast_to(g[f], (idx.size, f.size, q)))
        var[idx] = quad(h, mf)
    none_active = (free.astype(np.float64) @ (g != 0)) == 0
    var = np.where(none_active, var_full, var)
    return np.maximum(var, 0.0)


def pattern_variances(
    y: np.ndarray,
    wx: np.ndarray,
    a: np.ndarray,
    free: np.ndarray,
    combos: np.ndarray,
    *,
    chunk: int = 4096,
    on_block=None,
) -> np.ndarray:
    """Sandwich variances h^T (X^T W diag(y) W X) h for a shared design, from the data.

    For each pixel with active set F, h = A_F^-1 g_F (one stacked solve per
    active-set size), and the variance is sum_i y_i (W X h)_i^2: with the
    pixels grouped by active set, one float64 product of their spectra with
    the (n, q) table (W X h)^2 of that set. The terms are all >= 0, so the
    sums are exact to float64 rounding (no k x k matrix per pixel, no
    cancellation). A combination with no active coefficient gets its
    unconstrained variance. The groups are gathered in blocks of rows;
    ``on_block(rows, yb)`` is called first with every block of `chunk`
    contiguous spectra (for the chi-square). Unit gain.

    Parameters
    ----------
    y : (P, n)
        Counts (float32 or float64).
    wx : (n, k)
        W X (the weighted design).
    a : (k, k)
        X^T W X.
    free : (P, k) bool
        Active sets.
    combos : (k, q)
        Columns of combination weights.

    Returns
    -------
    (P, q) variances.
    """
    p, k = free.shape
    q = combos.shape[1]
    if on_block is not None:
        for c0 in range(0, p, chunk):
            rows = slice(c0, min(p, c0 + chunk))
            on_block(rows, y[rows])
    codes = _codes(free)
    uniq, which = np.unique(codes, return_inverse=True)
    fsets = ((uniq[:, None] >> np.arange(k)) & 1).astype(bool)
    h_tab = np.zeros((uniq.size, k, q))
    sizes = fsets.sum(axis=1)
    for size in np.unique(sizes).tolist():
        if size == 0:
            continue
        sel = np.flatnonzero(sizes == size)
        f = np.nonzero(fsets[sel])[1].reshape(sel.size, size)
        h_tab[sel[:, None], f, :] = np.linalg.solve(a[f[:, :, None], f[:, None, :]], combos[f])
    none_active = (fsets.astype(np.float64) @ (combos != 0)) == 0  # (U, q)
    h_tab = np.where(none_active[:, None, :], np.linalg.solve(a, combos)[None], h_tab)
    wx = np.ascontiguousarray(wx, dtype=np.float64)
    # pixels in the order of their active sets, gathered a block at a time
    order = np.argsort(which, kind="stable")
    ends = np.cumsum(np.bincount(which, minlength=uniq.size))
    var_sorted = np.empty((p, q))
    g, step = 0, max(1, _GATHER_BYTES // max(1, 8 * y.shape[1]))
    for s0 in range(0, p, step):
        s1 = min(p, s0 + step)
        yg = np.asarray(y[order[s0:s1]], dtype=np.float64)
        while g < uniq.size:
            g0, g1 = max(int(ends[g - 1]) if g else 0, s0), min(int(ends[g]), s1)
            if g1 > g0:
                w = wx @ h_tab[g]
                _thin_matmul(yg[g0 - s0 : g1 - s0], w * w, out=var_sorted[g0:g1])
            if ends[g] > s1:
                break
            g += 1
    var = np.empty((p, q))
    var[order] = var_sorted
    return np.maximum(var, 0.0)


_GATHER_BYTES = 1 << 22  # float64 spectra gathered at a time by pattern_variances


# --------------------------------------------------------------------------- #
# peaks, shifts, zero-loss peak
# --------------------------------------------------------------------------- #
def peak_position(y: np.ndarray, *, lo: int = 0, hi: int | None = None, return_var: bool = False):
    """Sub-channel position of the highest peak in channels [lo, hi) of each row.

    The maximum channel is refined by a weighted least-squares parabola
    through ln(y) over the channels within +-h of it (a Gaussian fit to the
    top of the peak: exact for a Gaussian), with h ~ 0.3 FWHM of the median
    peak (at least 1 channel). The refinement is limited to +-h channels.

    Returns
    -------
    pos : (P,) float64
        Peak positions [channels].
    fwhm : (P,) float64
        Full width at half maximum [channels] by linear interpolation.
    response : dict
        With `return_var`: ``offsets`` (channels around the maximum),
        ``grad`` (P, 2h+1) the derivative of the position with respect to
        the counts there, and ``vals`` those counts (Poisson variances).
    """
    p, n = y.shape
    hi = n if hi is None else hi
    seg = y[:, lo:hi]
    i0 = np.argmax(seg, axis=1) + lo
    rows = np.arange(p)
    top = y[rows, i0].astype(np.float64)
    fwhm = _fwhm(y, i0, top)
    h = int(max(1, min(6, round(0.3 * float(np.median(fwhm))))))
    offs = np.arange(-h, h + 1)
    idx = np.clip(i0[:, None] + offs[None, :], 0, n - 1)
    vals = y[rows[:, None], idx].astype(np.float64)
    ln = np.log(np.maximum(vals, 1e-12 * np.maximum(top[:, None], 1e-300)))
    wts = np.maximum(vals, 0.0) + 1e-12
    xo = offs.astype(np.float64)[None, :]
    s = [np.sum(wts * xo**j, axis=1) for j in range(5)]
    t = [np.sum(wts * ln * xo**j, axis=1) for j in range(3)]
    # normal equations for c0 + c1 x + c2 x^2
    mat = np.stack(
        [np.stack([s[0], s[1], s[2]], -1), np.stack([s[1], s[2], s[3]], -1), np.stack([s[2], s[3], s[4]], -1)], -2
    )
    rhs = np.stack(t, -1)
    c = np.linalg.solve(mat + 1e-12 * np.eye(3) * s[0][:, None, None], rhs[..., None])[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = -c[:, 1] / (2.0 * c[:, 2])
        # linear response of the vertex to each count (delta method with
        # d ln y = dy / y and the weights y): dd/dy_j = J M^-1 x_j
        jac = np.stack([np.zeros(p), -1.0 / (2.0 * c[:, 2]), c[:, 1] / (2.0 * c[:, 2] ** 2)], -1)
        jm = np.einsum("pi,pij->pj", jac, np.linalg.inv(mat))
        grad = jm[:, 0:1] + jm[:, 1:2] * xo + jm[:, 2:3] * xo**2  # (P, 2h+1)
    ok = np.isfinite(d) & (c[:, 2] < 0) & (np.abs(d) <= h) & np.all(np.isfinite(grad), axis=1)
    d = np.where(ok, d, 0.0)
    grad = np.where(ok[:, None], grad, 0.0)
    if return_var:
        return i0 + d, fwhm, {"offsets": offs, "grad": grad, "vals": np.maximum(vals, 0.0), "i_max": i0}
    return i0 + d, fwhm
    return i0 + d, fwhm


def _fwhm(y: np.ndarray, i0: np.ndarray, top: np.ndarray) -> np.ndarray:
    """FWHM [channels] around channel i0 of every row (linear interpolation)."""
    p, n = y.shape
    half = 0.5 * top
    out = np.empty(p)
    # walk outward in blocks; spectra are short, so a vectorised scan is fine
    above = y >= half[:, None]
    j = np.arange(n)[None, :]
    right_break = np.where((~above) & (j > i0[:, None]), j, n).min(axis=1)
    left_break = np.where((~above) & (j < i0[:, None]), j, -1).max(axis=1)
    rows = np.arange(p)
    r_in = np.clip(right_break - 1, 0, n - 1)
    l_in = np.clip(left_break + 1, 0, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        yr0 = y[rows, r_in].astype(np.float64)
        yr1 = y[rows, np.clip(right_break, 0, n - 1)].astype(np.float64)
        fr = np.where(right_break < n, (yr0 - half) / (yr0 - yr1), 0.0)
        yl0 = y[rows, l_in].astype(np.float64)
        yl1 = y[rows, np.clip(left_break, 0, n - 1)].astype(np.float64)
        fl = np.where(left_break >= 0, (yl0 - half) / (yl0 - yl1), 0.0)
    out = (r_in + np.nan_to_num(fr)) - (l_in - np.nan_to_num(fl))
    return np.maximum(out, 1.0)


def shift_rows(y: np.ndarray, shift_ch: np.ndarray, start: int, stop: int) -> np.ndarray:
    """out[p, j] = y[p, start + j + shift_ch[p]] by linear interpolation.

    Rows with the same integer part of the shift are handled together (few
    groups), so no index arrays of the data's size are built.

    Parameters
    ----------
    y : (P, n)
    shift_ch : (P,) float64
        Shifts [channels]; start + shift and stop - 1 + shift + 1 must stay in
        [0, n - 1] (the caller crops accordingly).
    start, stop : int
        Output channel range on the original grid.

    Returns
    -------
    (P, stop - start) array of y's dtype.
    """
    p, n = y.shape
    m = stop - start
    out = np.empty((p, m), dtype=y.dtype)
    k = np.floor(shift_ch).astype(np.int64)
    f = (shift_ch - k).astype(y.dtype)
    for kk in np.unique(k):
        rows = np.flatnonzero(k == kk)
        a0 = start + int(kk)
        lo = y[rows, a0 : a0 + m]
        if a0 + m + 1 <= n:
            up = y[rows, a0 + 1 : a0 + m + 1]
        else:  # last column only used with weight f == 0 at the axis end
            up = np.concatenate([y[rows, a0 + 1 : n], y[rows, n - 1 : n]], axis=1)
        ff = f[rows][:, None]
        out[rows] = lo + ff * (up - lo)
    return out


def mirror_zlp(y: np.ndarray, pos: np.ndarray, response: dict | None = None) -> dict[str, np.ndarray]:
    """Zero-loss intensity by mirroring the energy-gain side of the peak.

    Channel i covers [i - 1/2, i + 1/2]. With the peak at sub-channel
    position x = i_p + d, the part of the spectrum below x is
    G + (d + 1/2) c (G the sum of the channels below i_p, c = y[i_p]); a
    symmetric zero-loss peak has twice that intensity. The energy-gain side
    holds no inelastic intensity, so this rule needs no model of the peak
    and no cut-off; it assumes a symmetric peak (true for the Gaussian-like
    peak of a cold or monochromated gun and for the detector blur; a
    Schottky tail on the loss side is counted as inelastic).

    With `response` (from :func:`peak_position`), the variance of I0 includes
    the uncertainty of the peak position, which moves the mirror line, and
    its correlation with G and c (they share counts).

    Returns
    -------
    dict
        ``i0`` zero-loss intensity, ``it`` total intensity, ``var_i0``,
        ``var_it``, ``cov`` (unit gain, Poisson), ``g``, ``c``, ``f``.
    """
    p, n = y.shape
    ip = np.clip(np.floor(pos + 0.5).astype(np.int64), 0, n - 1)
    f = np.clip(pos - ip + 0.5, 0.0, 1.0)
    rows = np.arange(p)
    c = y[rows, ip].astype(np.float64)
    g = np.empty(p)
    for i in np.unique(ip):
        r = np.flatnonzero(ip == i)
        g[r] = y[r, :i].sum(axis=1, dtype=np.float64)
    it = y.sum(axis=1, dtype=np.float64)
    i0 = 2.0 * (g + f * c)
    loss = it - g - c
    var_i0 = 4.0 * np.maximum(g, 0) + 4.0 * f * f * np.maximum(c, 0)
    cov = 2.0 * np.maximum(g, 0) + 2.0 * f * np.maximum(c, 0)
    if response is not None:
        # the peak position x moves the mirror line: I0 = 2 (G + (x - i_p + 1/2) c),
        # with x correlated with G and c through the counts it was fitted to
        offs, gr, vals = response["offsets"], response["grad"], response["vals"]
        var_x = np.sum(vals * gr * gr, axis=1)
        # fitted channels below the split channel belong to G, the split one is c
        chans = response["i_max"][:, None] + offs[None, :]
        below = chans < ip[:, None]
        at = chans == ip[:, None]
        cov_gx = np.sum(np.where(below, vals * gr, 0.0), axis=1)
        cov_cx = np.sum(np.where(at, vals * gr, 0.0), axis=1)
        var_i0 = var_i0 + 4.0 * (c * c * var_x + 2.0 * c * cov_gx + 2.0 * c * f * cov_cx)
        cov = cov + 2.0 * c * np.sum(vals * gr, axis=1)
    var_it = np.maximum(g, 0) + np.maximum(c, 0) + np.maximum(loss, 0)
    return {"i0": i0, "it": it, "var_i0": var_i0, "var_it": var_it, "cov": cov, "g": g, "c": c, "f": f}


def tail_extrapolation(
    y_tail: np.ndarray, e_tail: np.ndarray, e_end: float, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Intensity beyond the last channel from a power law fitted to the tail.

    A Poisson power-law fit A E^-r to `y_tail` (counts per channel of width
    `step`) is integrated from the end of the axis to infinity:
    A E_end^(1-r) / ((r - 1) step). It is trusted only where the tail looks
    like a valence-loss tail: 2 <= r <= 8 and a reduced Poisson chi-square
    of the fit below 2 (an edge inside the fitted range, or a rising
    spectrum, fails this); other pixels get 0.

    Returns
    -------
    extra : (P,) counts
    r : (P,) exponents
    """
    lu = np.log(e_tail)
    c = float(lu.mean())
    u = lu - c
    yt = y_tail.astype(np.float64)
    s0 = yt.sum(axis=1)
    s1 = yt @ u
    ok = s0 > 0
    r = np.zeros(s0.shape)
    extra = np.zeros(s0.shape)
    if ok.any():
        fit = fit_loglinear(s0[ok], s1[ok], u)
        rr = fit["r"]
        mu = np.exp(fit["log_a"][:, None] - rr[:, None] * u[None, :])
        chi2 = np.sum((yt[ok] - mu) ** 2 / np.maximum(mu, 1.0), axis=1) / max(u.size - 2, 1)
        # mu_i = exp(log_a - r u_i) counts per channel = A E^-r step, with
        # u = ln E - c  ->  A step = exp(log_a + r c)
        la = fit["log_a"] + rr * c
        good = (rr >= 2.0) & (rr <= 8.0) & (chi2 < 2.0)
        safe = np.where(good, rr - 1.0, 1.0)
        ex = np.where(good, np.exp(la + (1.0 - rr) * math.log(e_end) - np.log(safe)) / step, 0.0)
        r[ok] = rr
        extra[ok] = ex
    return extra, r


def area_resample(y: np.ndarray, e_in: np.ndarray, step_in: float, centres: np.ndarray, step_out: float) -> np.ndarray:
    """Integrate each row's counts over output channels (area preserving).

    Channel i of `y` covers [e_in[i] - step_in/2, e_in[i] + step_in/2]; the
    cumulative counts at the channel boundaries are interpolated linearly
    (uniform density within a channel) at the output boundaries
    ``centres[p, m] -+ step_out/2``. Outside the input range the density is 0.

    Parameters
    ----------
    y : (P, n)
    e_in : (n,)
    centres : (P, M) or (M,)
        Output channel centres, per row or shared.

    Returns
    -------
    (P, M) float64
    """
    p, n = y.shape
    edges = np.concatenate([[e_in[0] - 0.5 * step_in], e_in + 0.5 * step_in])
    cum = np.zeros((p, n + 1))
    np.cumsum(y, axis=1, dtype=np.float64, out=cum[:, 1:])
    c = np.broadcast_to(centres, (p,) + np.shape(centres)[-1:])
    lo = c - 0.5 * step_out
    hi = c + 0.5 * step_out
    out = np.empty(c.shape)
    for i in range(p):
        out[i] = np.interp(hi[i], edges, cum[i]) - np.interp(lo[i], edges, cum[i])
    return out


# --------------------------------------------------------------------------- #
# Fourier deconvolution
# --------------------------------------------------------------------------- #
def gaussian_ft(nfft: int, fwhm_ch: float) -> np.ndarray:
    """Rfft of a unit-area Gaussian of FWHM `fwhm_ch` [channels] centred at channel 0."""
    sigma = fwhm_ch / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    nu = np.fft.rfftfreq(nfft)
    return np.exp(-2.0 * (math.pi * sigma * nu) ** 2)


def _taper_pad(y: np.ndarray, nfft: int, ntaper: int) -> np.ndarray:
    """Pad rows to `nfft` with a cosine decay of the last value (no end jump)."""
    p, n = y.shape
    out = np.zeros((p, nfft))
    out[:, :n] = y
    t = min(ntaper, nfft - n)
    if t > 0:
        w = 0.5 * (1 + np.cos(np.pi * (np.arange(1, t + 1) / (t + 1))))
        out[:, n : n + t] = y[:, -1:] * w[None, :]
    return out


def fourier_log(
    y: np.ndarray, zlp: np.ndarray, pos: np.ndarray, i0: np.ndarray, fwhm_ch: np.ndarray | float
) -> np.ndarray:
    """Fourier-log single-scattering distribution, reconvolved with a Gaussian.

    S = I0 F^-1[ G(nu) ln(J(nu) / Z(nu)) ] (Egerton 2011, Sec. 4.2), with J
    the spectrum, Z the zero-loss peak, G a unit-area Gaussian and the phase
    of the complex logarithm unwrapped along nu. The result is placed back
    on the input channels (loss 0 at the zero-loss position `pos`).
    """
    p, n = y.shape
    nfft = sfft.next_fast_len(2 * n, real=True)
    jy = sfft.rfft(_taper_pad(y, nfft, n), axis=1)
    zy = sfft.rfft(_taper_pad(zlp, nfft, 0), axis=1)
    ratio = jy / np.where(np.abs(zy) > 0, zy, 1e-300)
    lg = np.log(np.maximum(np.abs(ratio), 1e-300)) + 1j * np.unwrap(np.angle(ratio), axis=1)
    # ln(J/Z) is the transform of S/I0 with loss measured from channel 0;
    # remove the linear phase of the zero-loss position that J/Z already
    # cancels, then move loss 0 to `pos`.
    g = np.broadcast_to(np.atleast_1d(fwhm_ch), (p,))
    nu = np.fft.rfftfreq(nfft)
    out = np.empty((p, n))
    for i in range(p):
        spec = i0[i] * gaussian_ft(nfft, float(g[i])) * lg[i]
        spec = spec * np.exp(-2j * np.pi * nu * pos[i])
        out[i] = sfft.irfft(spec, n=nfft)[:n]
    return out


def fourier_ratio(
    core: np.ndarray,
    low: np.ndarray,
    offset_ch: float,
    i0: np.ndarray,
    fwhm_ch: np.ndarray | float,
) -> np.ndarray:
    """Fourier-ratio deconvolution of core-loss rows by low-loss rows.

    K = F^-1[ I0 G(nu) J(nu) / L(nu) ] (Egerton 2011, Sec. 4.3). With the
    core-loss axis starting at E_c0 and the low-loss axis at E_l0 (same
    dispersion), channel k of the ratio is at loss E_c0 - E_l0 + k dE; the
    phase factor exp(+2 pi i nu d), d = E_l0 / dE = `offset_ch`, puts the
    result back on the core-loss channels.

    Parameters
    ----------
    core : (P, n)
    low : (P, m) or (1, m)
    offset_ch : float
        E_l0 / dE [channels] (negative when the low-loss axis starts below 0).
    i0 : (P,) or (1,)
        Zero-loss intensities of the low-loss rows.
    fwhm_ch : float or (P,)
        Reconvolution Gaussian FWHM [channels].
    """
    p, n = core.shape
    m = low.shape[1]
    nfft = sfft.next_fast_len(2 * (n + m), real=True)
    jc = sfft.rfft(_taper_pad(core, nfft, n), axis=1)
    ll = sfft.rfft(_taper_pad(low, nfft, 0), axis=1)
    nu = np.fft.rfftfreq(nfft)
    phase = np.exp(2j * np.pi * nu * offset_ch)
    g = np.broadcast_to(np.atleast_1d(fwhm_ch), (p,))
    i0b = np.broadcast_to(np.atleast_1d(i0), (p,))
    out = np.empty((p, n))
    for i in range(p):
        li = ll[i if ll.shape[0] > 1 else 0]
        safe = np.where(np.abs(li) > 0, li, 1e-300)
        spec = i0b[i] * gaussian_ft(nfft, float(g[i])) * jc[i] / safe * phase
        out[i] = sfft.irfft(spec, n=nfft)[:n]
    return out
