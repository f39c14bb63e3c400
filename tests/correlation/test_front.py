"""fit_front(): erf fronts, layers and their bootstrap errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from _corr_synth import ar1, da, layer, step

from holocorr.correlation import Front, fit_front
from holocorr.errors import CalibrationError, DataError, ParameterError, ShapeError

WIDTH_PER_SIGMA = 2.5631031310892007  # 2 * Phi^-1(0.9), independent of the code


def test_width_constant():
    from scipy.stats import norm

    assert WIDTH_PER_SIGMA == pytest.approx(2 * norm.ppf(0.9), rel=1e-12)


def test_noiseless_erf_exact():
    x = np.arange(-50.0, 150.0, 1.5)
    f = fit_front(da(step(x, 37.3, 6.5, height=-2.0, offset=3.0), x, units="V"), n_boot=0)
    assert f.position_nm == pytest.approx(37.3, abs=1e-6)
    assert f.sigma_nm == pytest.approx(6.5, rel=1e-6)
    assert f.width_nm == pytest.approx(WIDTH_PER_SIGMA * 6.5, rel=1e-6)
    assert f.step == pytest.approx(-2.0, rel=1e-8) and f.offset == pytest.approx(3.0, rel=1e-8)
    assert f.units == "V" and f.position_units == "nm"
    assert math.isnan(f.position_err)  # no bootstrap asked


def test_noisy_erf_known_answer():
    rng = np.random.default_rng(11)
    x = np.arange(0.0, 300.0, 2.0)
    y = step(x, 140.0, 12.0, height=2.5, offset=-0.5) + 0.05 * rng.standard_normal(x.size)
    f = fit_front(da(y, x), rng=3)
    # Cramer-Rao bound of the position: 0.05 / sqrt(sum (b phi / sigma)^2) = 0.185 nm
    assert abs(f.position_nm - 140.0) < 0.6
    assert f.width_nm == pytest.approx(WIDTH_PER_SIGMA * 12.0, rel=0.06)
    assert f.step == pytest.approx(2.5, rel=0.02)
    assert f.position_err == pytest.approx(0.185, rel=0.25)
    lo, hi = f.position_ci
    assert lo < f.position_nm < hi
    assert f.noise_sigma == pytest.approx(0.05, rel=0.15)
    assert abs(f.noise_rho) < 0.2


def test_double_erf_layer():
    rng = np.random.default_rng(12)
    x = np.arange(-100.0, 600.0, 2.0)
    y = layer(x, 5.0, 20.0, 400.0) + 0.02 * rng.standard_normal(x.size)
    f = fit_front(da(y, x), model="double_erf", rng=1)
    e1, e2 = f.edges
    assert e1.position_nm == pytest.approx(0.0, abs=0.5)
    assert e2.position_nm == pytest.approx(400.0, abs=1.0)
    assert e1.width_nm == pytest.approx(WIDTH_PER_SIGMA * 5.0, rel=0.1)
    assert e2.width_nm == pytest.approx(WIDTH_PER_SIGMA * 20.0, rel=0.1)
    assert e1.step == pytest.approx(1.0, abs=0.02) and e2.step == pytest.approx(-1.0, abs=0.02)
    assert f.separation_nm == pytest.approx(400.0, abs=1.0)
    assert f.separation_ci[0] < 400.0 < f.separation_ci[1] or abs(f.separation_nm - 400) < 3 * f.separation_err
    # flat fields repeat the first edge
    assert f.position_nm == e1.position_nm and f.width_nm == e1.width_nm


@pytest.mark.slow
@pytest.mark.parametrize(("rho", "tol"), [(0.0, 0.25), (0.8, 0.3)])
def test_bootstrap_error_matches_actual_scatter(rho, tol):
    # repeated noise realisations: the reported position error must match the
    # actual scatter of the fitted positions (white and AR(1) noise)
    rng = np.random.default_rng(13)
    x = np.arange(0.0, 300.0, 2.0)
    truth = step(x, 140.0, 12.0, height=2.5, offset=-0.5)
    pos, err, cover = [], [], 0
    n = 50
    for i in range(n):
        noise = 0.05 * (ar1(x.size, rho, 1, rng)[0] if rho else rng.standard_normal(x.size))
        f = fit_front(da(truth + noise, x), n_boot=150, rng=i)
        pos.append(f.position_nm)
        err.append(f.position_err)
        cover += f.position_ci[0] <= 140.0 <= f.position_ci[1]
    actual = float(np.std(pos, ddof=1))
    reported = float(np.mean(err))
    print(f"rho={rho}: actual {actual:.3f} nm, reported {reported:.3f} nm, coverage {cover}/{n}")
    assert reported == pytest.approx(actual, rel=tol)
    assert cover >= 0.8 * n


def test_weights_from_profile_error():
    # noise 10x larger on the left half; the weighted fit uses profile_error
    rng = np.random.default_rng(14)
    x = np.arange(0.0, 200.0, 1.0)
    sig = np.where(x < 100, 0.2, 0.02)
    y = step(x, 120.0, 8.0) + sig * rng.standard_normal(x.size)
    fw = fit_front(da(y, x, err=sig), rng=1)
    assert abs(fw.position_nm - 120.0) < 0.5
    assert fw.noise_sigma == pytest.approx(1.0, rel=0.2)  # standardised residuals
    assert fw.position_err < 0.5


def test_model_method_and_dict():
    x = np.arange(0.0, 100.0, 1.0)
    y = step(x, 50.0, 5.0, height=1.0, offset=0.2)
    f = fit_front(da(y, x), n_boot=20, rng=0)
    assert np.allclose(f.model(x), y, atol=1e-6)
    assert f.model(xr.DataArray(x)).shape == x.shape
    d = f.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["model_name"] == "erf" and len(d["edges"]) == 1
    assert isinstance(f, Front)


def test_reproducible_with_seed():
    rng = np.random.default_rng(15)
    x = np.arange(0.0, 120.0, 1.0)
    p = da(step(x, 60.0, 4.0) + 0.05 * rng.standard_normal(x.size), x)
    a = fit_front(p, n_boot=50, rng=7)
    b = fit_front(p, n_boot=50, rng=7)
    assert a == b
    assert a.position_err == b.position_err


def test_within_restricts_the_fit():
    x = np.arange(-100.0, 600.0, 2.0)
    y = layer(x)
    f = fit_front(da(y, x), within=(200, 600), n_boot=0)
    assert f.position_nm == pytest.approx(400.0, abs=0.2)
    assert f.step == pytest.approx(-1.0, abs=0.01)


def test_x_dim_accepted_and_descending_sorted():
    x = np.arange(0.0, 100.0, 1.0)[::-1]
    p = xr.DataArray(step(x, 30.0, 3.0), dims="x", coords={"x": ("x", x, {"units": "um"})})
    f = fit_front(p, n_boot=0)
    assert f.position_nm == pytest.approx(30000.0, rel=1e-6)  # um -> nm


def test_bad_inputs():
    x = np.arange(0.0, 50.0, 1.0)
    with pytest.raises(ParameterError, match="model"):
        fit_front(da(step(x, 20, 2), x), model="tanh")
    with pytest.raises(DataError, match="constant"):
        fit_front(da(np.ones(50), x))
    with pytest.raises(DataError, match="NaN"):
        fit_front(da(np.r_[np.nan, step(x, 20, 2)[1:]], x))
    with pytest.raises(DataError, match="all NaN"):
        fit_front(da(np.full(50, np.nan), x))
    with pytest.raises(ShapeError, match="at least 8"):
        fit_front(da(step(x[:5], 2, 1), x[:5]))
    with pytest.raises(ShapeError, match="1-D"):
        fit_front(xr.DataArray(np.zeros((3, 20)), dims=("y", "x")))
    with pytest.raises(CalibrationError, match="no 'distance' coordinate"):
        fit_front(xr.DataArray(step(x, 20, 2), dims="distance"))
    with pytest.raises(ShapeError, match="within"):
        fit_front(da(step(x, 20, 2), x), within=(0, 3))
    with pytest.raises(ParameterError, match="n_boot"):
        fit_front(da(step(x, 20, 2), x), n_boot=-1)
    with pytest.raises(ParameterError, match="rng"):
        fit_front(da(step(x, 20, 2), x), rng="seed")
    with pytest.raises(DataError, match="profile_error"):
        fit_front(da(step(x, 20, 2), x, err=0.0))


def test_no_front_inside_the_profile():
    # a monotonic ramp whose steepest part is at the end: the erf edge runs off
    x = np.arange(0.0, 100.0, 1.0)
    y = np.exp(x / 10.0)
    with pytest.raises(DataError, match="no front found"):
        fit_front(da(y, x), n_boot=0)


# --------------------------------------------------------------------------- #
# units and offset (the fit runs on standardised data)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(("alpha", "beta"), [(1e-9, 0.0), (1e-9, 1e-3), (1e6, 3e9), (-1e-7, 5.0)])
def test_noiseless_erf_exact_in_any_units_and_offset(alpha, beta):
    """A step of 2 nV (or 2 MV, or flipped), on offsets up to 1e6 times the step, is fitted exactly.

    least_squares stops on absolute tolerances; fitted on the raw data, a
    2e-9 step stopped at its starting point (position off by 0.3 nm, sigma
    by 1 %).
    """
    x = np.arange(-50.0, 150.0, 1.5)
    y = alpha * step(x, 37.3, 6.5, height=-2.0, offset=3.0) + beta
    f = fit_front(da(y, x, units="V"), n_boot=0)
    assert f.position_nm == pytest.approx(37.3, abs=1e-6)
    assert f.sigma_nm == pytest.approx(6.5, rel=1e-6)
    assert f.step == pytest.approx(-2.0 * alpha, rel=1e-6)
    assert f.offset == pytest.approx(3.0 * alpha + beta, abs=1e-6 * abs(alpha))


def test_noisy_fit_and_bootstrap_the_same_in_nanovolts():
    """The same noisy step in V and in nV (plus an offset of 7 nV): same front and errors, same seed.

    Known answer: the front lies within 3 bootstrap errors of 140 nm. Fitted
    on the raw data the nV profile ended at its starting point (140.00 vs
    139.76 nm) with a 6 % larger bootstrap error.
    """
    rng = np.random.default_rng(11)
    x = np.arange(0.0, 300.0, 2.0)
    y = step(x, 140.0, 12.0, height=2.5, offset=-0.5) + 0.05 * rng.standard_normal(x.size)
    f_v = fit_front(da(y, x, units="V"), n_boot=50, rng=3)
    f_n = fit_front(da(1e-9 * y + 7e-9, x, units="V"), n_boot=50, rng=3)
    assert abs(f_v.position_nm - 140.0) < 3 * f_v.position_err
    assert f_n.position_nm == pytest.approx(f_v.position_nm, abs=1e-7)
    assert f_n.width_nm == pytest.approx(f_v.width_nm, rel=1e-8)
    assert f_n.step == pytest.approx(1e-9 * f_v.step, rel=1e-8)
    assert f_n.position_err == pytest.approx(f_v.position_err, rel=1e-6)
    assert f_n.width_err == pytest.approx(f_v.width_err, rel=1e-6)
    assert f_n.step_err == pytest.approx(1e-9 * f_v.step_err, rel=1e-6)
