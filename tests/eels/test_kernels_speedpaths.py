"""The fast paths of the EELS fitting kernels against independent answers.

`solve_constrained` groups pixels by free set, keeps one A_FF^-1 table per
free set, warm-starts from the summed problem and finishes with
Lawson-Hanson steps; `pattern_variances` groups pixels by active set and
sums y_i (W X h)_i^2. Each path is checked against scipy's BVLS, the KKT
conditions or a per-pixel float64 formula.
"""

import numpy as np
import pytest
from scipy.optimize import lsq_linear

from holocorr.eels import _kernels as K


def _problem(rng, n, k, p, *, collinear=0.0, scale=1.0):
    x = rng.normal(size=(n, k))
    if collinear:
        x[:, 1] = x[:, 0] + collinear * rng.normal(size=n)
    theta = rng.normal(size=(p, k)) * scale
    y = theta @ x.T + 0.3 * scale * rng.normal(size=(p, n))
    return x, y


def _bvls(x, y, cons):
    lb = np.where(cons, 0.0, -np.inf)
    return lsq_linear(x, y, bounds=(lb, np.inf), method="bvls", tol=1e-14).x


def _assert_kkt(a, b, cons, theta, free, *, free_tol=1e-9):
    """Feasible, zero gradient on the free set, no held coefficient that would lower the objective."""
    a3 = np.broadcast_to(a, (b.shape[0],) + a.shape[-2:])
    grad = b - np.einsum("pkl,pl->pk", a3, theta)
    scale = np.abs(b).max(axis=1, keepdims=True)
    assert np.all(theta[:, cons] >= 0)
    assert np.all(theta[~free] == 0)
    assert np.all(theta[free & cons[None, :]] > 0)
    assert np.all(np.abs(grad[free]) <= free_tol * np.broadcast_to(scale, grad.shape)[free])
    held = ~free & cons[None, :]
    assert np.all(grad[held] <= 1e-10 * np.broadcast_to(scale, grad.shape)[held])


def test_shared_design_many_free_sets_matches_bvls():
    # 3000 pixels whose optima use dozens of free sets, some met by one or two
    # pixels (the batched path) and some by hundreds (one product per set)
    rng = np.random.default_rng(1)
    n, k, p = 40, 8, 3000
    x, y = _problem(rng, n, k, p)
    cons = np.array([True, True, True, True, True, True, False, False])
    a, b = x.T @ x, y @ x
    th, free, n_fb = K.solve_constrained(a, b, cons)
    assert n_fb == 0
    codes, counts = np.unique(K._codes(free), return_counts=True)
    assert codes.size >= 40 and counts.min() < K._GROUP <= counts.max()
    _assert_kkt(a, b, cons, th, free)
    for i in range(0, p, 97):
        np.testing.assert_allclose(th[i], _bvls(x, y[i], cons), atol=1e-9 * np.abs(th[i]).max())


def test_near_collinear_design_reaches_the_bvls_objective():
    # columns 0 and 1 differ by 1e-3 noise: A has a condition number ~1e7, the
    # optimum is flat along their difference, so compare objective values
    rng = np.random.default_rng(2)
    n, k, p = 80, 6, 400
    x, y = _problem(rng, n, k, p, collinear=1e-3, scale=30.0)
    cons = np.array([True, True, False, True, True, True])
    a, b = x.T @ x, y @ x
    th, free, _ = K.solve_constrained(a, b, cons)
    _assert_kkt(a, b, cons, th, free, free_tol=1e-6)
    for i in range(0, p, 13):
        ref = _bvls(x, y[i], cons)
        obj = float(np.sum((y[i] - x @ th[i]) ** 2))
        obj_ref = float(np.sum((y[i] - x @ ref) ** 2))
        assert obj <= obj_ref * (1 + 1e-10)


def test_single_pixel_all_pixels_alike_and_zero_rows():
    rng = np.random.default_rng(3)
    x, y = _problem(rng, 30, 5, 1)
    cons = np.ones(5, dtype=bool)
    a = x.T @ x
    th1, fr1, _ = K.solve_constrained(a, y @ x, cons)
    np.testing.assert_allclose(th1[0], _bvls(x, y[0], cons), atol=1e-10 * np.abs(th1).max())
    # the same spectrum in every pixel: one free set, the single-product path
    b = np.repeat(y @ x, 500, axis=0)
    th, fr, _ = K.solve_constrained(a, b, cons)
    np.testing.assert_allclose(th, np.repeat(th1, 500, axis=0), rtol=1e-12, atol=1e-12 * np.abs(th1).max())
    assert np.all(fr == fr1)
    # an empty spectrum: theta = 0 is the optimum (no coefficient can lower the objective)
    b[7] = 0.0
    th, fr, _ = K.solve_constrained(a, b, cons)
    assert np.all(th[7] == 0) and not fr[7].any()


def test_unconstrained_problem_is_the_plain_solution():
    rng = np.random.default_rng(4)
    x, y = _problem(rng, 50, 7, 300)
    a, b = x.T @ x, y @ x
    th, free, n_fb = K.solve_constrained(a, b, np.zeros(7, dtype=bool))
    np.testing.assert_allclose(th, np.linalg.solve(a, b.T).T, rtol=1e-10, atol=1e-12)
    assert free.all() and n_fb == 0


def test_more_than_16_coefficients_match_bvls():
    # beyond 16 coefficients the free sets are looked up in a dict, not a table
    rng = np.random.default_rng(5)
    n, k, p = 90, 18, 120
    x, y = _problem(rng, n, k, p)
    cons = np.ones(k, dtype=bool)
    cons[[3, 11]] = False
    a, b = x.T @ x, y @ x
    th, free, _ = K.solve_constrained(a, b, cons)
    _assert_kkt(a, b, cons, th, free)
    for i in range(0, p, 11):
        np.testing.assert_allclose(th[i], _bvls(x, y[i], cons), atol=1e-9 * np.abs(th[i]).max())


def test_per_pixel_designs_match_bvls():
    rng = np.random.default_rng(6)
    n, k, p = 40, 5, 200
    x, y = _problem(rng, n, k, p)
    w = rng.uniform(0.5, 2.0, size=(p, n))
    cons = np.array([True, False, True, True, True])
    a = np.einsum("pn,nk,nl->pkl", w, x, x)
    b = np.einsum("pn,pn,nk->pk", w, y, x)
    th, free, _ = K.solve_constrained(a, b, cons)
    _assert_kkt(a, b, cons, th, free)
    for i in range(0, p, 9):
        sw = np.sqrt(w[i])
        np.testing.assert_allclose(th[i], _bvls(x * sw[:, None], y[i] * sw, cons), atol=1e-9 * np.abs(th[i]).max())


def test_exact_fallback_after_zero_lawson_hanson_steps(monkeypatch):
    # two warm-start steps and max_iter=0: every pixel not yet at its optimum
    # goes to BVLS, and the pixels the warm steps finished are exact too
    rng = np.random.default_rng(7)
    n, k, p = 40, 8, 400
    x, y = _problem(rng, n, k, p)
    cons = np.ones(k, dtype=bool)
    a, b = x.T @ x, y @ x
    th_ref, free_ref, _ = K.solve_constrained(a, b, cons)
    monkeypatch.setattr(K, "_WARM", 2)
    th, free, n_fb = K.solve_constrained(a, b, cons, max_iter=0)
    assert 0 < n_fb < p
    np.testing.assert_allclose(th, th_ref, atol=1e-8 * np.abs(th_ref).max())
    assert np.all(th >= 0) and np.all(th[~free] == 0)
    # BVLS may leave a coefficient at +1e-17 instead of 0: compare free sets up to that
    assert np.all((free == free_ref) | (np.abs(th) < 1e-12 * np.abs(th_ref).max()))


def test_free_set_tables_grow_on_the_single_set_path():
    # regression: a new free set met on the one-set path after the table had
    # filled up (16 entries) used to index the table before it grew
    rng = np.random.default_rng(8)
    k = 6
    x = rng.normal(size=(30, k))
    a = x.T @ x
    pat = K._Patterns(a)
    sets = np.array([[(c >> j) & 1 for j in range(k)] for c in range(1, 17)], dtype=bool)
    pat.ids(K._codes(sets))
    assert pat.n == 16 == pat.tab.shape[0]
    f = np.array([1, 1, 1, 1, 1, 0], dtype=bool)  # code 31, not among 1..16
    b = rng.normal(size=(4, k))
    th = pat.solve(b, np.broadcast_to(f, (4, k)))
    expect = np.zeros((4, k))
    expect[:, f] = np.linalg.solve(a[np.ix_(f, f)], b[:, f].T).T
    np.testing.assert_allclose(th, expect, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 3, 4), (5000, 15, 15), (300, 801, 8), (70, 15, 801)])
def test_thin_matmul_is_the_matrix_product(shape):
    p, k, c = shape
    rng = np.random.default_rng(9)
    x, m = rng.normal(size=(p, k)), rng.normal(size=(k, c))
    expect = np.einsum("pk,kc->pc", x, m)
    np.testing.assert_allclose(K._thin_matmul(x, m), expect, rtol=1e-12, atol=1e-10)
    out = np.empty((p, c))
    assert K._thin_matmul(x, m, out=out) is out
    np.testing.assert_allclose(out, expect, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize(("dtype", "gather_rows"), [(np.float32, 10_000), (np.float64, 10_000), (np.float32, 7)])
def test_pattern_variances_match_the_sandwich_formula(dtype, gather_rows, monkeypatch):
    # var(g^T theta) = h^T X^T W diag(y) W X h with h = A_F^-1 g_F on the
    # active set F (the unconstrained A^-1 g when g has no active coefficient);
    # gather_rows=7: the active-set groups straddle many gathered blocks
    monkeypatch.setattr(K, "_GATHER_BYTES", gather_rows * 8 * 60)
    rng = np.random.default_rng(10)
    n, k, p = 60, 5, 700
    x = np.abs(rng.normal(size=(n, k))) + 0.1
    wgt = rng.uniform(0.2, 1.0, size=n)
    y = rng.poisson(200.0, size=(p, n)).astype(dtype)
    wx = wgt[:, None] * x
    a = x.T @ wx
    free = rng.random((p, k)) < 0.6
    free[:, 4] = True
    free[:5] = False  # nothing active: every combination gets its unconstrained variance
    combos = np.zeros((k, 3))
    combos[0, 0] = 1.0
    combos[[1, 2], 1] = [1.0, 2.0]
    combos[3, 2] = 1.0
    blocks = []

    def on_block(rows, yb):
        blocks.append((rows.start, rows.stop))
        np.testing.assert_array_equal(yb, y[rows])

    var = K.pattern_variances(y, wx, a, free, combos, chunk=128, on_block=on_block)
    assert blocks == [(s, min(p, s + 128)) for s in range(0, p, 128)]
    y64 = y.astype(np.float64)
    for i in range(p):
        f = np.flatnonzero(free[i])
        for j in range(combos.shape[1]):
            g = combos[:, j]
            h = np.zeros(k)
            if np.any(g[f] != 0):
                h[f] = np.linalg.solve(a[np.ix_(f, f)], g[f])
            else:
                h = np.linalg.solve(a, g)
            expect = float(np.sum(y64[i] * (wx @ h) ** 2))
            assert var[i, j] == pytest.approx(expect, rel=1e-12)


def test_float32_fit_matches_float64_within_a_small_fraction_of_sigma():
    """X^T W y from float32 counts: rounding of near-collinear columns must not move amplitudes
    (the plain float32 product moved them by up to 4.8 sigma on the benchmark cube)."""
    import warnings

    import xarray as xr

    from holocorr.eels import edge_shape, fit_edges

    rng = np.random.default_rng(3)
    e = 30.0 + 0.05 * np.arange(1200)
    mean = 4e4 * (e / 40.0) ** -3.2 + 3e3 * edge_shape("Ti M2,3", e) + 600 * edge_shape("Li K", e)
    counts = rng.poisson(np.broadcast_to(mean, (24, 24, e.size))).astype(np.float64)
    coords = {
        "y": ("y", np.arange(24.0), {"units": "nm"}),
        "x": ("x", np.arange(24.0), {"units": "nm"}),
        "energy": ("energy", e, {"units": "eV"}),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f64 = fit_edges(xr.DataArray(counts, dims=("y", "x", "energy"), coords=coords), window=(40.0, 80.0))
        f32 = fit_edges(
            xr.DataArray(counts.astype(np.float32), dims=("y", "x", "energy"), coords=coords), window=(40.0, 80.0)
        )
    d = np.abs(f32.amplitude.values.astype(np.float64) - f64.amplitude.values)
    sig = f64.amplitude_error.values
    ok = sig > 0
    assert np.max(d[ok] / sig[ok]) < 0.01
