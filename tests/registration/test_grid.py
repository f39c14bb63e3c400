"""Common grids, anti-aliasing, grid checks and resolution matching against analytic truth."""

import json
import math

import numpy as np
import pytest
import xarray as xr
from _reg_scenes import dataarray
from scipy.optimize import curve_fit
from scipy.special import erf

from holocorr.errors import CalibrationError, DataError, ParameterError, ShapeError
from holocorr.registration import check_same_grid, match_resolution, to_common_grid


def smooth(y, x):
    return np.sin(2 * np.pi * y / 200.0) * np.cos(2 * np.pi * x / 300.0)


def test_common_grid_coords_values_and_copy():
    a = dataarray(smooth, 2.0, (100, 150), origin=(1.0, -3.0), dtype=np.float32)  # y 1..199, x -3..295
    b = dataarray(smooth, 5.0, (30, 40), origin=(10.0, 20.0))  # y 10..155, x 20..215
    a2, b2 = to_common_grid(a, b)
    # grid of the coarsest map (5 nm, anchored at its first pixel) over the intersection
    np.testing.assert_allclose(a2["y"].values, 10.0 + 5.0 * np.arange(30), atol=1e-12)
    np.testing.assert_allclose(a2["x"].values, 20.0 + 5.0 * np.arange(40), atol=1e-12)
    assert a2["x"].attrs["units"] == "nm" and a2["y"].attrs["long_name"] == "y"
    np.testing.assert_array_equal(b2.values, b.values)  # on its own grid: copied, not interpolated
    # the 2 nm map, anti-aliased and interpolated: the smooth field within 0.5 % of its amplitude
    # (Gaussian sigma 0.5 sqrt(2.5^2 - 1) * 2 nm = 2.29 nm damps these waves by < 0.3 %)
    truth = smooth(a2["y"].values[:, None], a2["x"].values[None, :])
    assert np.max(np.abs(a2.values - truth)) < 5e-3
    assert a2.dtype == np.float32 and b2.dtype == np.float64
    rec = json.loads(a2.attrs["holocorr"])
    assert rec["function"] == "registration.to_common_grid" and rec["parameters"]["spacing"] == [5.0, 5.0]
    assert "valid" not in a2.coords  # intersection: everything measured


def test_common_grid_explicit_spacing_and_micrometres():
    a = dataarray(smooth, 2.0, (60, 60))
    b = dataarray(lambda y, x: smooth(1e3 * y, 1e3 * x), 0.004, (40, 40), units="um")  # 4 nm pixels in um
    a2, b2 = to_common_grid(a, b, spacing=(3.0, 2.5))
    np.testing.assert_allclose(a2["y"].values, 3.0 * np.arange(40), atol=1e-9)  # 0..117 nm within both
    np.testing.assert_allclose(a2["x"].values, 2.5 * np.arange(48), atol=1e-9)
    truth = smooth(a2["y"].values[:, None], a2["x"].values[None, :])
    for out in (a2, b2):
        err = np.abs(out.values - truth)
        assert err[3:-3, 3:-3].max() < 1e-3  # cubic spline inside; its boundary condition costs
        assert err.max() < 1e-2  # up to ~0.5 % of the amplitude in the last cell


def test_downsampling_is_anti_aliased():
    # 1 nm pixels -> 5 nm: a checkerboard at the old Nyquist frequency and a 7 nm wave
    n = 400
    fine_check = dataarray(lambda y, x: np.cos(np.pi * y) * np.cos(np.pi * x), 1.0, (n, n))
    wave = dataarray(lambda y, x: np.cos(2 * np.pi * x / 7.0) + 0 * y, 1.0, (n, n))
    (chk,) = to_common_grid(fine_check, spacing=5.0)
    (wv,) = to_common_grid(wave, spacing=5.0)
    # plain sampling aliases the checkerboard to +/-1 everywhere
    naive = fine_check.sel(y=chk["y"], x=chk["x"])
    assert float(np.std(naive.values)) > 0.9
    assert float(np.std(chk.values[5:-5, 5:-5])) < 1e-3
    # the 7 nm wave is damped by the documented Gaussian, sigma = 0.5 sqrt(5^2 - 1) old px
    sigma = 0.5 * math.sqrt(24.0)
    damp = math.exp(-2 * math.pi**2 * sigma**2 / 7.0**2)
    amp = math.sqrt(2.0) * float(np.std(wv.values[5:-5, 5:-5]))
    assert amp == pytest.approx(damp, rel=0.1)
    assert amp < 0.1


def test_union_extent_marks_what_was_measured():
    a = dataarray(smooth, 2.0, (50, 50))  # 0..98 nm
    b = dataarray(smooth, 2.0, (50, 50), origin=(40.0, 60.0))  # y 40..138, x 60..158
    a2, b2 = to_common_grid(a, b, extent="union")
    assert a2.sizes == {"y": 70, "x": 80}
    va = a2["valid"].values
    assert va.sum() == 50 * 50 and b2["valid"].values.sum() == 50 * 50
    assert np.all(np.isnan(a2.values[~va])) and np.all(np.isfinite(a2.values[va]))
    assert a2["valid"].attrs["units"] == "1"
    np.testing.assert_allclose(a2.values[va].reshape(50, 50), a.values)  # same grid: exact copy


def test_check_same_grid():
    a = dataarray(smooth, 2.0, (20, 30))
    check_same_grid(a, a * 2.0)
    with pytest.raises(ShapeError, match="to_common_grid"):
        check_same_grid(a, dataarray(smooth, 2.0, (20, 30), origin=(0.0, 1.0)))
    with pytest.raises(ShapeError, match="shape"):
        check_same_grid(a, dataarray(smooth, 2.0, (20, 31)))
    px = xr.DataArray(
        np.zeros((20, 30)),
        dims=("y", "x"),
        coords={"y": ("y", np.arange(20.0), {"units": "px"}), "x": ("x", np.arange(30.0), {"units": "px"})},
    )
    with pytest.raises(CalibrationError, match="mix"):
        check_same_grid(a, px)


def _erf_edge(sigma):
    return lambda y, x: 0.5 * (1 + erf((x - 100.3) / (math.sqrt(2) * sigma))) + 0 * y


def _fit_sigma(da):
    x = da["x"].values
    prof = da.values.mean(axis=0)
    popt, _ = curve_fit(lambda x, x0, s: 0.5 * (1 + erf((x - x0) / (math.sqrt(2) * s))), x, prof, p0=(100, 5))
    return popt[0], abs(popt[1])


def test_match_resolution_blurs_sharper_to_target():
    fwhm_per_sigma = 2 * math.sqrt(2 * math.log(2))
    a = dataarray(_erf_edge(3.0), 1.0, (20, 200))
    b = dataarray(_erf_edge(8.0), 2.0, (20, 100))
    a2, b2 = match_resolution(a, b, fwhm=(3.0 * fwhm_per_sigma, 8.0 * fwhm_per_sigma))
    x0, s = _fit_sigma(a2)
    assert s == pytest.approx(8.0, abs=0.05) and x0 == pytest.approx(100.3, abs=0.05)
    np.testing.assert_array_equal(b2.values, b.values)
    assert a2.attrs["psf_fwhm_nm"] == pytest.approx(8.0 * fwhm_per_sigma)
    # the same through attrs: psf_fwhm_nm (Gaussian) and the holography resolution_nm = 1/R,
    # whose amplitude PSF 2 J1(v)/v has FWHM 0.7051/R (here 12 nm -> sigma 5.096 nm)
    sig_d = 12.0 / fwhm_per_sigma
    c = dataarray(_erf_edge(4.0), 1.0, (20, 200))
    d = dataarray(_erf_edge(sig_d), 1.0, (20, 200))
    c.attrs["psf_fwhm_nm"] = 4.0 * fwhm_per_sigma
    d.attrs["resolution_nm"] = 12.0 / 0.70513
    d2, c2 = match_resolution(d, c)
    assert _fit_sigma(c2)[1] == pytest.approx(sig_d, abs=0.05)
    np.testing.assert_array_equal(d2.values, d.values)
    assert json.loads(c2.attrs["holocorr"])["parameters"]["blurred"] is True


def test_bad_inputs():
    good = dataarray(smooth, 2.0, (20, 20))
    no_x = good.drop_vars("x")
    with pytest.raises(CalibrationError, match="no 'x' coordinate"):
        to_common_grid(good, no_x)
    no_units = good.copy()
    no_units["x"].attrs.pop("units")
    with pytest.raises(CalibrationError, match="units"):
        to_common_grid(no_units)
    px = good.assign_coords(x=("x", np.arange(20.0), {"units": "px"}))
    with pytest.raises(CalibrationError, match="pixels"):
        to_common_grid(good, px)
    volts = good.assign_coords(x=("x", np.arange(20.0), {"units": "V"}))
    with pytest.raises(CalibrationError, match="not a length"):
        to_common_grid(volts)
    bad = good.copy()
    bad[3, 4] = np.nan
    with pytest.raises(DataError, match="NaN"):
        to_common_grid(good, bad)
    with pytest.raises(ShapeError, match="dims"):
        to_common_grid(good.rename(y="row"))
    with pytest.raises(ShapeError, match="do not overlap"):
        to_common_grid(good, dataarray(smooth, 2.0, (20, 20), origin=(0.0, 500.0)))
    with pytest.raises(ParameterError, match="extent"):
        to_common_grid(good, extent="all")
    with pytest.raises(ParameterError, match="spacing"):
        to_common_grid(good, spacing=-1.0)
    with pytest.raises(ParameterError, match="at least one"):
        to_common_grid()
    with pytest.raises(ParameterError, match="resolution of b is unknown"):
        match_resolution(good, good, fwhm=(3.0, None))
    with pytest.raises(ParameterError, match="fwhm"):
        match_resolution(good, good, fwhm=(3.0, -1.0))
