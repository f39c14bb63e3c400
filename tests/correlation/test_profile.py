"""profile(): band-averaged line profiles and distance-binned profiles of maps."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from _corr_synth import step
from scipy import ndimage

from holocorr.correlation import profile
from holocorr.errors import (
    CalibrationError,
    DataError,
    ParameterError,
    ShapeError,
    UncalibratedWarning,
)


def _map(values, pix=1.0, units="V"):
    ny, nx = values.shape
    coords = {
        "y": ("y", pix * np.arange(ny), {"units": "nm", "long_name": "y"}),
        "x": ("x", pix * np.arange(nx), {"units": "nm", "long_name": "x"}),
    }
    return xr.DataArray(values, dims=("y", "x"), coords=coords, attrs={"units": units, "long_name": "v"})


def test_tilted_step_profile_matches_erf():
    # interface through (y0, x0) with its normal at 30 deg from +x; erf sigma 4 nm
    pix = 0.5
    ny, nx = 240, 320
    y = pix * np.arange(ny)[:, None]
    x = pix * np.arange(nx)[None, :]
    th = math.radians(30.0)
    y0, x0 = 60.0, 80.0
    d = (x - x0) * math.cos(th) + (y - y0) * math.sin(th)
    m = _map(step(d, 0.0, 4.0, height=2.0, offset=-1.0), pix)
    # a 60 nm line along the normal, centred on the interface point
    start = (y0 - 30 * math.sin(th), x0 - 30 * math.cos(th))
    end = (y0 + 30 * math.sin(th), x0 + 30 * math.cos(th))
    p = profile(m, start=start, end=end, width=10.0)
    s = p["distance"].values
    expected = step(s - 30.0, 0.0, 4.0, height=2.0, offset=-1.0)
    # bilinear interpolation of an erf 8 px wide: < 2e-3 of a 2 V step
    assert np.max(np.abs(p.values - expected)) < 2e-3
    assert p["distance"].attrs["units"] == "nm"
    assert s[0] == 0.0 and s[-1] == pytest.approx(60.0)
    assert np.allclose(np.diff(s), pix)  # default step = pixel size
    # the band is parallel to the interface: no scatter across it
    assert np.max(p["profile_error"].values) < 1e-3
    assert p.attrs["profile_lines"] == 20 and p.attrs["profile_width_nm"] == 10.0
    # the path coordinates follow the line
    assert p["x"].values[-1] == pytest.approx(end[1]) and p["y"].values[0] == pytest.approx(start[0])
    assert json.loads(p.attrs["holocorr"])["function"] == "correlation.profile"


def test_band_error_white_noise_on_pixels():
    # odd width on integer rows: every band sample is one pixel, independent
    rng = np.random.default_rng(1)
    m = _map(rng.standard_normal((60, 400)))
    p = profile(m, start=(30.0, 0.0), end=(30.0, 399.0), width=21.0)
    assert p.attrs["profile_lines"] == 21
    se = float(np.mean(p["profile_error"].values))
    assert se == pytest.approx(1 / math.sqrt(21), rel=0.08)
    # and the profile values (independent columns) scatter by that much
    assert float(np.std(p.values)) == pytest.approx(1 / math.sqrt(21), rel=0.12)


def test_band_error_accounts_for_interpolation_correlation():
    # even width: samples fall between rows, each the mean of two rows, and
    # neighbours share a row (correlation 0.5). var(mean) = (19 + 2/4) / 400.
    rng = np.random.default_rng(2)
    m = _map(rng.standard_normal((60, 400)))
    p = profile(m, start=(30.0, 0.0), end=(30.0, 399.0), width=20.0)
    truth = math.sqrt(19.5) / 20
    assert float(np.mean(p["profile_error"].values)) == pytest.approx(truth, rel=0.10)
    assert float(np.std(p.values)) == pytest.approx(truth, rel=0.12)
    # a naive std / sqrt(n) would be too small by sqrt(2 x 19.5 / 20)
    naive = math.sqrt(0.5) / math.sqrt(20)
    assert float(np.mean(p["profile_error"].values)) > 1.25 * naive


def test_band_error_correlated_noise_matches_scatter():
    # noise correlated over ~2 px: the error must follow the actual scatter of
    # band means (positions 8 px apart are nearly independent)
    rng = np.random.default_rng(3)
    vals = []
    errs = []
    for _ in range(4):
        noise = ndimage.gaussian_filter(rng.standard_normal((80, 820)), 2.0)
        p = profile(_map(noise), start=(40.0, 5.0), end=(40.0, 805.0), width=30.0, step=8.0)
        vals.append(p.values)
        errs.append(p["profile_error"].values)
    actual = float(np.std(np.concatenate(vals)))
    reported = float(np.mean(np.concatenate(errs)))
    assert reported == pytest.approx(actual, rel=0.15)


def test_distance_mode_bins_a_tilted_distance_coordinate():
    rng = np.random.default_rng(4)
    ny, nx = 120, 200
    y = np.arange(ny)[:, None] * 1.0
    x = np.arange(nx)[None, :] * 1.0
    th = math.radians(20.0)
    d = (x - 100.0) * math.cos(th) + (y - 60.0) * math.sin(th)
    vals = step(d, 0.0, 6.0, height=1.0) + 0.05 * rng.standard_normal((ny, nx))
    m = _map(vals).assign_coords(distance=(("y", "x"), d, {"units": "nm"}))
    p = profile(m, along="distance", step=2.0, mask={"y": (20, 100)})
    s = p["distance"].values
    assert np.allclose(s % 2.0, 0.0)
    inner = np.abs(s) < 60
    # bins are 2 nm wide: their mean of an erf is the erf at the centre to < 1e-3
    # (curvature) plus the noise, 0.05 / sqrt(n) per bin (n >= 80 pixels)
    assert np.all(p["n_samples"].values[inner] >= 80)
    err = p["profile_error"].values[inner]
    assert np.all(np.abs(p.values[inner] - step(s[inner], 0.0, 6.0)) < 5 * err + 2e-3)
    # white noise: error = 0.05 / sqrt(n) (correlation length 1 px)
    assert np.median(err * np.sqrt(p["n_samples"].values[inner])) == pytest.approx(0.05, rel=0.15)
    assert p.attrs["profile_mode"] == "distance"


def test_distance_mode_error_exact_on_a_large_offset():
    """Bin errors from squared residuals: an offset 1e8 times the noise changes nothing.

    Known answer per bin: the sample std (numpy, two-pass) of its pixels
    over sqrt(n / (L min(L, w))), L the reported correlation length. The
    one-pass variance sum(v^2)/n - mean^2 was off by 250 % here.
    """
    rng = np.random.default_rng(6)
    ny, nx = 40, 60
    noise = 0.01 * rng.standard_normal((ny, nx))
    d = (np.arange(nx)[None, :] - 30.0) * 0.9 + 0.3 * (np.arange(ny)[:, None] - 20.0)
    dist = (("y", "x"), d, {"units": "nm", "long_name": "distance"})
    p0 = profile(_map(noise).assign_coords(distance=dist), along="distance", step=2.0)
    p1 = profile(_map(noise + 1e6).assign_coords(distance=dist), along="distance", step=2.0)
    np.testing.assert_allclose(p1.profile_error.values, p0.profile_error.values, rtol=1e-6)
    np.testing.assert_allclose(p1.values - 1e6, p0.values, atol=1e-9)
    big = p1.attrs["profile_correlation_length_px"]
    assert big == pytest.approx(p0.attrs["profile_correlation_length_px"], rel=1e-6)
    k = np.rint(d / 2.0)
    for centre, err, n in zip(p1.distance.values, p1.profile_error.values, p1.n_samples.values, strict=True):
        v = (noise + 1e6)[k == centre / 2.0]
        assert v.size == n
        expected = np.std(v, ddof=1) / math.sqrt(max(n / (big * min(big, 2.0)), 1.0))
        assert err == pytest.approx(expected, rel=1e-6)


def test_two_line_band_error_is_the_sample_std():
    """Two lines on pixel rows 20 and 21: error = |m20 - m21| / sqrt(2) (std, ddof 1), for m and 1 - m alike.

    tau cannot be measured from two samples (their residuals are r and -r);
    the error is s, tau = 4/3. Before, m and 1 - m gave s and s / sqrt(2)
    depending on rounding.
    """
    rng = np.random.default_rng(7)
    vals = rng.standard_normal((40, 60))
    for m in (vals, 1.0 - vals):
        p = profile(_map(m), start=(20.5, 0.0), end=(20.5, 59.0), width=2.0)
        assert p.attrs["profile_lines"] == 2
        assert p.attrs["profile_tau"] == pytest.approx(4.0 / 3.0, rel=1e-15)
        np.testing.assert_allclose(p.values, 0.5 * (m[20] + m[21]), rtol=0, atol=1e-12)
        np.testing.assert_allclose(p.profile_error.values, np.abs(m[20] - m[21]) / math.sqrt(2.0), rtol=1e-12)


def test_two_line_band_error_follows_the_scatter_of_white_noise():
    """A tilted two-line band (lines 1 px apart) over white noise: band means scatter by 0.91 s.

    Expected (bilinear weights, fractional row positions uniform): the two
    samples have variances v = (1-f)^2 + f^2 and covariance f (1-f), so
    var(mean) = E[v + c] / 2 = 5/12 and E[s^2] = E[v - c] = 1/2 (times the
    same column-interpolation factor): ratio sqrt(5/6) = 0.913. Measured
    0.88; with s / sqrt(2) it would be 1.24.
    """
    rng = np.random.default_rng(5)
    vals, errs = [], []
    for _ in range(4):
        p = profile(_map(rng.standard_normal((60, 800))), start=(20.0, 5.0), end=(40.0, 795.0), width=2.0, step=3.0)
        vals.append(p.values)
        errs.append(p.profile_error.values)
    v, e = np.concatenate(vals), np.concatenate(errs)
    ratio = math.sqrt(np.mean(v**2) / np.mean(e**2))
    assert ratio == pytest.approx(math.sqrt(5.0 / 6.0), rel=0.08)


def test_distance_mode_leaves_out_nan_distance():
    m = _map(np.ones((20, 30)) * np.arange(30)[None, :])
    d = np.broadcast_to(np.arange(30.0)[None, :], (20, 30)).copy()
    d[:, :10] = np.nan  # e.g. vacuum
    p = profile(m.assign_coords(distance=(("y", "x"), d, {"units": "nm"})), along="distance")
    assert p["distance"].values[0] == 10.0
    assert np.allclose(p.values, p["distance"].values)


def test_float32_in_float32_out():
    m = _map(np.tile(np.linspace(0, 1, 50, dtype=np.float32), (20, 1)))
    p = profile(m, start=(10, 0), end=(10, 49), width=4)
    assert p.dtype == np.float32
    assert p["profile_error"].dtype == np.float32


def test_plain_array_warns_and_uses_pixels():
    with pytest.warns(UncalibratedWarning):
        p = profile(np.tile(np.arange(40.0), (10, 1)), start=(5, 0), end=(5, 39), width=4)
    assert p["distance"].attrs["units"] == "px"
    assert np.allclose(p.values, np.arange(40.0))


def test_dict_points_equal_tuple_points():
    m = _map(np.random.default_rng(5).standard_normal((30, 40)))
    a = profile(m, start={"y": 5, "x": 2}, end={"y": 20, "x": 30}, width=3)
    b = profile(m, start=(5, 2), end=(20, 30), width=3)
    assert np.array_equal(a.values, b.values)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({}, ParameterError, "start="),
        ({"start": (5, 5), "end": (5, 5.2)}, ParameterError, "distinct"),
        ({"start": (500, 500), "end": (600, 600)}, ParameterError, "outside the map"),
        ({"start": (1, 1), "end": (5, 5), "mask": {"x": (0, 3)}}, ParameterError, "only with along"),
        ({"along": "distance", "width": 3}, ParameterError, "do not give start"),
        ({"along": "dist"}, ParameterError, "not allowed"),
        ({"start": (1, 1), "end": (5, 5), "width": -2}, ParameterError, "positive"),
        ({"start": (1, "a"), "end": (5, 5)}, ParameterError, "finite numbers"),
        ({"start": {"y": 1}, "end": (5, 5)}, ParameterError, "keys"),
        ({"along": "distance"}, CalibrationError, "distance"),
    ],
)
def test_bad_options(kwargs, exc, match):
    m = _map(np.zeros((20, 20)))
    with pytest.raises(exc, match=match):
        profile(m, **kwargs)


def test_bad_maps():
    m = _map(np.zeros((20, 20)))
    with pytest.raises(DataError, match="NaN"):
        profile(m.where(m.x < 10), start=(1, 1), end=(5, 5))
    with pytest.raises(ShapeError, match="dims"):
        profile(m.rename(x="q"), start=(1, 1), end=(5, 5))
    bad = m.assign_coords(x=("x", np.r_[np.arange(10.0), np.arange(10.0) * 2 + 20], {"units": "nm"}))
    with pytest.raises(CalibrationError, match="uniformly"):
        profile(bad, start=(1, 1), end=(5, 5))
    ev = m.copy()
    ev["x"].attrs["units"] = "eV"
    with pytest.raises(CalibrationError, match="length"):
        profile(ev, start=(1, 1), end=(5, 5))
    with pytest.raises(ParameterError, match="boolean"):
        profile(m.assign_coords(distance=(("y", "x"), np.zeros((20, 20)))), along="distance", mask=np.ones(3))
