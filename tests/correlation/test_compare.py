"""compare() and compare_maps(): honesty targets, invariances and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from _corr_synth import ar1, binom_ci, da, smooth_noise, step
from scipy import ndimage, stats

from holocorr.correlation import Comparison, compare, compare_maps
from holocorr.errors import CalibrationError, DataError, ParameterError, ShapeError

FAST = {"n_boot": 0, "front_model": None}


# --------------------------------------------------------------------------- #
# honesty targets
# --------------------------------------------------------------------------- #
def _false_positive_rate(gen, n_trials, rng):
    x = np.arange(gen(1, rng).shape[1]) * 2.0
    rej = naive = 0
    for _ in range(n_trials):
        a, b = gen(2, rng)
        c = compare(da(a, x), da(b, x), **FAST)
        rej += c.p_value < 0.05
        naive += stats.pearsonr(a, b).pvalue < 0.05
    return rej, naive


def test_false_positive_rate_ar1():
    # independent AR(1) profiles, rho = 0.95, N = 120 (issue #5 target: <= 0.10)
    rng = np.random.default_rng(100)
    n = 400
    rej, naive = _false_positive_rate(lambda k, r: ar1(120, 0.95, k, r), n, rng)
    lo, hi = binom_ci(rej, n)
    print(f"AR(1) 0.95, N=120: FPR {rej / n:.3f} (95% CI {lo:.3f}-{hi:.3f}); naive {naive / n:.3f}")
    assert rej / n <= 0.10
    assert naive / n > 0.45  # SCIENCE.md: naive Pearson ~0.61


def test_false_positive_rate_smoothed_noise():
    # not AR(1): Gaussian-smoothed noise, where the AR(1) formula fails
    rng = np.random.default_rng(101)
    n = 300
    rej, naive = _false_positive_rate(lambda k, r: smooth_noise(150, 5.0, k, r), n, rng)
    print(f"smoothed noise sigma=5 px, N=150: FPR {rej / n:.3f} {binom_ci(rej, n)}; naive {naive / n:.3f}")
    assert rej / n <= 0.10
    assert naive / n > 0.5


@pytest.mark.parametrize(("rho", "n"), [(0.9, 120), (0.95, 200)])
def test_r_interval_coverage(rho, n):
    # population correlation 0.6 between autocorrelated profiles (target >= 0.85)
    rng = np.random.default_rng(102)
    x = np.arange(n) * 2.0
    trials = 300
    cover = 0
    for _ in range(trials):
        u, v = ar1(n, rho, 2, rng)
        a = u
        b = 0.6 * u + 0.8 * v
        c = compare(da(a, x), da(b, x), **FAST)
        cover += c.r_ci[0] <= 0.6 <= c.r_ci[1]
    lo, hi = binom_ci(cover, trials)
    print(f"rho={rho}, N={n}: coverage {cover / trials:.3f} (95% CI {lo:.3f}-{hi:.3f})")
    assert cover / trials >= 0.85


def test_deming_slope_unbiased_ols_attenuated():
    # both profiles noisy: b = 2.5 s + e_b, a = s + e_a; reliability of a ~0.8
    rng = np.random.default_rng(103)
    x = np.arange(0.0, 400.0, 2.0)
    sl, sl_est, ols = [], [], []
    for _ in range(40):
        s = step(x, 200.0, 30.0) + 0.25 * ar1(x.size, 0.9, 1, rng)[0]
        a = s + 0.2 * rng.standard_normal(x.size)
        b = 2.5 * s + 0.3 * rng.standard_normal(x.size)
        # with the noise levels known (profile_error) ...
        c = compare(da(a, x, err=0.2), da(b, x, err=0.3), n_boot=0, front_model=None)
        # ... and estimated from the profiles
        c2 = compare(da(a, x), da(b, x), n_boot=0, front_model=None)
        sl.append(c.slope)
        sl_est.append(c2.slope)
        ols.append(c.slope_ols)
        assert c.error_ratio == pytest.approx(2.25)
    med, med2, medo = np.median(sl), np.median(sl_est), np.median(ols)
    print(f"Deming {med:.3f} (known errors), {med2:.3f} (estimated); OLS {medo:.3f}; truth 2.5")
    assert abs(med / 2.5 - 1) < 0.05
    assert abs(med2 / 2.5 - 1) < 0.05
    assert medo / 2.5 < 0.9  # attenuated by the noise of a
    assert np.mean(np.abs(np.array(sl) / 2.5 - 1) < 0.05) >= 0.8


def test_slope_interval_covers():
    rng = np.random.default_rng(104)
    x = np.arange(0.0, 400.0, 2.0)
    cover = 0
    n = 40
    for i in range(n):
        s = step(x, 200.0, 30.0) + 0.25 * ar1(x.size, 0.9, 1, rng)[0]
        a = s + 0.2 * rng.standard_normal(x.size)
        b = 2.5 * s + 0.3 * rng.standard_normal(x.size)
        c = compare(da(a, x, err=0.2), da(b, x, err=0.3), n_boot=400, front_model=None, rng=i)
        cover += c.slope_ci[0] <= 2.5 <= c.slope_ci[1]
    print(f"slope interval coverage {cover}/{n}")
    assert cover >= 0.8 * n


@pytest.mark.slow
def test_lag_12nm_on_2nm_and_8nm_grids():
    # b is a shifted by +12 nm, on a 4x coarser grid and with 4x the blur
    rng = np.random.default_rng(105)
    xa = np.arange(0.0, 400.0, 2.0)
    xb = np.arange(0.0, 400.0, 8.0)
    n = 40
    lags, cover = [], 0
    for i in range(n):
        a = da(step(xa, 200.0, 5.0) + 0.02 * rng.standard_normal(xa.size), xa, units="V")
        b = da(step(xb, 212.0, 20.0) + 0.02 * rng.standard_normal(xb.size), xb, units="1")
        c = compare(a, b, n_boot=300, n_boot_front=60, rng=i)
        lags.append(c.lag_nm)
        cover += c.lag_ci_nm[0] <= 12.0 <= c.lag_ci_nm[1]
        # the fronts agree with the lag
        assert c.position_diff_nm == pytest.approx(12.0, abs=3.0)
    err = np.abs(np.array(lags) - 12.0)
    print(f"lag: max error {err.max():.2f} nm, sd {np.std(lags):.2f} nm, coverage {cover}/{n}")
    assert np.all(err < 2.0)
    assert cover >= 0.8 * n


def test_lag_sign_and_negative_correlation():
    x = np.arange(0.0, 300.0, 1.0)
    a = da(step(x, 150.0, 6.0), x)
    b = da(-3.0 * step(x, 140.0, 6.0), x)  # anti-correlated, 10 nm to the left
    c = compare(a, b, **FAST)
    assert c.r < -0.95
    assert c.lag_nm == pytest.approx(-10.0, abs=0.3)
    assert c.slope == pytest.approx(-3.0, rel=0.05)


# --------------------------------------------------------------------------- #
# invariances
# --------------------------------------------------------------------------- #
def _pair(seed=106):
    rng = np.random.default_rng(seed)
    xa = np.arange(0.0, 300.0, 2.0)
    xb = np.arange(1.0, 310.0, 6.0)
    a = step(xa, 150.0, 8.0) + 0.05 * rng.standard_normal(xa.size)
    b = 2.0 * step(xb, 158.0, 15.0) + 0.1 * rng.standard_normal(xb.size)
    return da(a, xa, units="V"), da(b, xb, units="Li/f.u.")


def test_symmetric_in_its_arguments():
    a, b = _pair()
    ab = compare(a, b, n_boot=0, front_model=None)
    ba = compare(b, a, n_boot=0, front_model=None)
    assert ab.r == pytest.approx(ba.r, rel=1e-12)
    assert ab.n_effective == pytest.approx(ba.n_effective, rel=1e-12)
    assert ab.p_value == pytest.approx(ba.p_value, rel=1e-10)
    assert ab.spearman_rho == pytest.approx(ba.spearman_rho, rel=1e-12)
    assert ab.lag_nm == pytest.approx(-ba.lag_nm, abs=0.3)
    # Deming with the inverse error ratio is exactly the inverse slope
    assert ab.slope * ba.slope == pytest.approx(1.0, rel=1e-9)
    assert ab.error_ratio * ba.error_ratio == pytest.approx(1.0, rel=1e-9)


def test_invariant_to_affine_rescaling():
    a, b = _pair()
    ref = compare(a, b, n_boot=200, front_model=None, rng=1)
    a2 = (3.0 * a + 7.0).assign_attrs(a.attrs)
    b2 = (-2.0 * b + 1.0).assign_attrs(b.attrs)
    new = compare(a2, b2, n_boot=200, front_model=None, rng=1)
    assert new.r == pytest.approx(-ref.r, rel=1e-10)
    assert new.p_value == pytest.approx(ref.p_value, rel=1e-8)
    assert new.n_effective == pytest.approx(ref.n_effective, rel=1e-10)
    assert new.lag_nm == pytest.approx(ref.lag_nm, abs=1e-6)
    assert new.slope == pytest.approx(ref.slope * -2.0 / 3.0, rel=1e-9)
    assert new.slope_ci[0] == pytest.approx(ref.slope_ci[1] * -2.0 / 3.0, rel=1e-6)


def _log_widened(est, samples, n_blocks, level=0.95):
    """Independent formula: percentile limits of log|samples| stretched about log|est| by t/z."""
    q = 100 * (1 - level) / 2
    lo, hi = np.percentile(np.log(np.abs(samples)), [q, 100 - q])
    f = stats.t.ppf(1 - (1 - level) / 2, max(n_blocks - 1, 1)) / stats.norm.ppf(1 - (1 - level) / 2)
    c = math.log(abs(est))
    ends = sorted(math.copysign(math.exp(v), est) for v in (c - f * (c - lo), c + f * (hi - c)))
    return tuple(ends)


def test_slope_interval_widened_on_log_slope():
    """The slope interval is stretched on log|slope|: exact under s -> 1/s and s -> s/alpha.

    A linear stretch about the estimate (as for the lag) does not commute
    with s -> 1/s; compare(b, a) then gave (1.344, 3.055) for a reciprocal
    (1.251, 2.745) of compare(a, b).
    """
    from holocorr.correlation import _kernels as k

    rng = np.random.default_rng(9)
    z = 0.3 * rng.standard_normal(200)
    s = 1.7 * np.exp(np.concatenate([z, -z]))  # log-symmetric about 1.7
    got = k.widen_ratio(1.7, s, 6.0)
    assert got == pytest.approx(_log_widened(1.7, s, 6.0), rel=1e-12)
    # multiplicative: as far above 1.7 as below it in ratio, not in difference
    assert got[1] / 1.7 == pytest.approx(1.7 / got[0], rel=1e-9)
    assert got[1] - 1.7 > 1.2 * (1.7 - got[0])
    inv = k.widen_ratio(1 / 1.7, 1 / s, 6.0)
    assert inv == pytest.approx((1 / got[1], 1 / got[0]), rel=1e-12)
    neg = k.widen_ratio(-1.7e-3, -1e-3 * s, 6.0)
    assert neg == pytest.approx((-1e-3 * got[1], -1e-3 * got[0]), rel=1e-12)
    # a few draws of the other sign (resamples without correlation) count as
    # crossing zero (small) or infinity (large) and leave the limits among the rest
    mixed = s.copy()
    mixed[:3] = [-0.01, -0.2, -50.0]
    stand_in = s.copy()
    stand_in[:3] = [1e-9, 1e-9, 1e9]
    assert k.widen_ratio(1.7, mixed, 6.0) == pytest.approx(_log_widened(1.7, stand_in, 6.0), rel=1e-12)
    assert k.widen_ratio(1 / 1.7, 1 / mixed, 6.0) == pytest.approx(
        tuple(1 / v for v in _log_widened(1.7, stand_in, 6.0)[::-1]), rel=1e-12
    )
    # many of the other sign: the sign is uncertain, the (linear) interval holds 0
    many = s.copy()
    many[:40] *= -0.1
    lo, hi = k.widen_ratio(1.7, many, 6.0)
    assert lo < 0 < hi
    assert (lo, hi) == k.widen(1.7, many, 6.0)


def test_slope_interval_inverts_when_profiles_swap():
    """compare(b, a).slope_ci is the reciprocal of compare(a, b).slope_ci (same seed, same pairs)."""
    a, b = _pair()
    ab = compare(a, b, n_boot=400, front_model=None, rng=3)
    ba = compare(b, a, n_boot=400, front_model=None, rng=3)
    assert ab.slope * ba.slope == pytest.approx(1.0, rel=1e-12)
    assert ab.slope_ci == pytest.approx((1 / ba.slope_ci[1], 1 / ba.slope_ci[0]), rel=1e-9)
    assert ab.slope_ci[0] < ab.slope < ab.slope_ci[1]


def test_reproducible_with_fixed_rng():
    a, b = _pair()
    c1 = compare(a, b, n_boot=300, n_boot_front=40, rng=5)
    c2 = compare(a, b, n_boot=300, n_boot_front=40, rng=5)
    assert c1 == c2
    assert c1.to_dict() == c2.to_dict()
    c3 = compare(a, b, n_boot=300, n_boot_front=40, rng=6)
    assert c3.r == c1.r and c3.slope == c1.slope and c3.lag_nm == c1.lag_nm
    assert c3.slope_ci != c1.slope_ci


def test_grid_is_the_coarser_profile():
    a, b = _pair()
    c = compare(a, b, **FAST)
    assert c.grid_step_nm == pytest.approx(6.0)
    assert c.overlap_nm == (1.0, 298.0)
    assert c.distance[0] == 1.0 and np.allclose(np.diff(c.distance), 6.0)
    # the coarse profile b is used as is
    assert np.allclose(c.b, b.values[: c.b.size])


def test_units_converted_and_recorded():
    x = np.arange(0.0, 200.0, 2.0)
    a = da(step(x, 100, 5), x, units="V")
    b = xr.DataArray(
        step(x, 100, 5), dims="x", coords={"x": ("x", x / 1000.0, {"units": "µm"})}, attrs={"units": "rad"}
    )
    c = compare(a, b, **FAST)
    assert c.r == pytest.approx(1.0)
    assert c.slope_units == "(rad) / (V)"
    with pytest.raises(CalibrationError, match="px"):
        compare(a, b.assign_coords(x=("x", x, {"units": "px"})), **FAST)


def test_to_dict_and_dataset():
    a, b = _pair()
    c = compare(a, b, n_boot=100, n_boot_front=30, rng=1)
    d = c.to_dict()
    s = json.dumps(d, allow_nan=False)
    assert isinstance(c, Comparison) and s
    for key in (
        "r",
        "r_ci",
        "p_value",
        "n_effective",
        "spearman_rho",
        "slope",
        "slope_ci",
        "lag_nm",
        "lag_ci_nm",
        "position_diff_nm",
        "position_diff_ci",
    ):
        assert key in d
    assert d["front_a"]["position_ci"][0] < d["front_a"]["position_nm"]
    assert c.lag_ci == c.lag_ci_nm
    ds = c.to_dataset()
    assert ds["a"].attrs["units"] == "V" and ds["distance"].attrs["units"] == "nm"
    assert ds.attrs["r"] == c.r and ds.attrs["front_b_position_nm"] == c.front_b.position_nm
    assert json.loads(ds.attrs["holocorr"])["function"] == "correlation.compare"
    for v in ds.attrs.values():  # netCDF-storable attribute types
        assert isinstance(v, str | int | float | list)


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
def test_bad_profiles():
    x = np.arange(0.0, 100.0, 2.0)
    good = da(step(x, 50, 5), x)
    with pytest.raises(ShapeError, match="do not overlap"):
        compare(good, da(step(x, 50, 5), x + 500), **FAST)
    with pytest.raises(ShapeError, match="fewer than 10"):
        compare(good, da(step(x, 50, 5), x + 85), **FAST)
    with pytest.raises(DataError, match="constant"):
        compare(good, da(np.full(x.size, 2.0), x), **FAST)
    with pytest.raises(DataError, match="all NaN"):
        compare(good, da(np.full(x.size, np.nan), x), **FAST)
    with pytest.raises(DataError, match="dropna"):
        compare(good, da(np.r_[step(x, 50, 5)[:-1], np.nan], x), **FAST)
    with pytest.raises(CalibrationError, match="coordinate"):
        compare(good, xr.DataArray(step(x, 50, 5), dims="distance"), **FAST)
    with pytest.raises(ShapeError, match="1-D"):
        compare(good, xr.DataArray(np.zeros((4, 5)), dims=("y", "x")), **FAST)
    with pytest.raises(ShapeError, match="Dataset"):
        compare(good, xr.Dataset({"v": good}), **FAST)
    with pytest.raises(ShapeError, match="rename"):
        compare(good, good.rename(distance="energy"), **FAST)
    with pytest.raises(CalibrationError, match="length"):
        compare(good, good.assign_coords(distance=("distance", x, {"units": "eV"})), **FAST)
    with pytest.raises(ParameterError, match="n_boot"):
        compare(good, good, n_boot=-5)
    with pytest.raises(ParameterError, match="front_model"):
        compare(good, good, front_model="sigmoid")
    with pytest.raises(ParameterError, match="error_ratio"):
        compare(good, good, error_ratio=-1.0)


def test_constant_over_overlap_only():
    x = np.arange(0.0, 200.0, 2.0)
    a = da(np.where(x < 100, 0.0, step(x, 150, 5)), x)
    b = da(step(x, 50, 5), x - 100)  # overlap 0..98 where a is flat
    with pytest.raises(DataError, match="over the overlap"):
        compare(a, b, **FAST)


# --------------------------------------------------------------------------- #
# maps
# --------------------------------------------------------------------------- #
def _field(shape, sy, sx, rng):
    pad = 40
    e = rng.standard_normal((shape[0] + 2 * pad, shape[1] + 2 * pad))
    return ndimage.gaussian_filter(e, (sy, sx))[pad:-pad, pad:-pad]


def _map(v):
    ny, nx = v.shape
    return xr.DataArray(
        v,
        dims=("y", "x"),
        coords={"y": ("y", 2.0 * np.arange(ny), {"units": "nm"}), "x": ("x", 2.0 * np.arange(nx), {"units": "nm"})},
    )


@pytest.mark.parametrize(("sy", "sx"), [(4, 4), (2, 8)])
def test_map_false_positive_rate(sy, sx):
    rng = np.random.default_rng(107)
    n = 120
    rej = naive = 0
    for _ in range(n):
        a, b = _map(_field((48, 64), sy, sx, rng)), _map(_field((48, 64), sy, sx, rng))
        c = compare_maps(a, b, n_boot=0)
        rej += c.p_value < 0.05
        naive += stats.pearsonr(a.values.ravel(), b.values.ravel()).pvalue < 0.05
    print(f"maps sigma=({sy},{sx}) px: FPR {rej / n:.3f} {binom_ci(rej, n)}; naive {naive / n:.3f}")
    assert rej / n <= 0.12
    assert naive / n > 0.5


def test_map_slope_and_mask():
    rng = np.random.default_rng(108)
    s = _field((40, 60), 3, 3, rng)
    s /= s.std()
    a = _map(s + 0.3 * rng.standard_normal(s.shape))
    b = _map(-1.5 * s + 0.45 * rng.standard_normal(s.shape))
    c = compare_maps(a, b, n_boot=300, rng=1)
    assert c.slope == pytest.approx(-1.5, rel=0.08)
    assert c.slope_ols / -1.5 < 0.95
    assert c.slope_ci[0] < c.slope < c.slope_ci[1]
    assert c.r < -0.8 and c.p_value < 1e-3
    cm = compare_maps(a, b, mask={"x": (0, 40)}, n_boot=0)
    assert cm.n_pixels == 40 * 21
    json.dumps(c.to_dict(), allow_nan=False)
    assert c.to_dataset().attrs["r"] == c.r


def test_map_bad_inputs():
    rng = np.random.default_rng(109)
    a = _map(rng.standard_normal((20, 30)))
    with pytest.raises(CalibrationError, match="to_common_grid"):
        compare_maps(a, _map(rng.standard_normal((20, 31))))
    shifted = a.assign_coords(x=a.x + 3.0)
    with pytest.raises(CalibrationError, match="different 'x' grids"):
        compare_maps(a, shifted)
    with pytest.raises(ParameterError, match="at least 10"):
        compare_maps(a, a, mask={"x": (0, 2), "y": (0, 2)})
    with pytest.raises(DataError, match="constant"):
        compare_maps(a, a * 0 + 1)
    with pytest.raises(DataError, match="NaN"):
        compare_maps(a, a.where(a > -5).where(a.x > 2))
    with pytest.raises(ParameterError, match="boolean"):
        compare_maps(a, a, mask=np.ones((3, 3), bool))


def test_plain_arrays_warn():
    from holocorr.errors import UncalibratedWarning

    x = step(np.arange(50.0), 25, 3)
    with pytest.warns(UncalibratedWarning):
        c = compare(x, x + 0.01 * np.sin(np.arange(50.0)), **FAST)
    assert c.position_units == "px"
    assert math.isfinite(c.r)


def test_inputs_not_modified():
    a, b = _pair()
    a0, b0 = a.copy(deep=True), b.copy(deep=True)
    compare(a, b, n_boot=50, n_boot_front=20, rng=0)
    compare(b[::-1], a, n_boot=0, front_model=None)
    xr.testing.assert_identical(a, a0)
    xr.testing.assert_identical(b, b0)
