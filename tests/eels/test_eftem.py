"""EFTEM three-window and jump-ratio maps against closed forms and Poisson scatter."""

import numpy as np
import pytest
import xarray as xr

from holocorr.eels import eftem_map


def series(edge, e=(48.0, 53.0, 62.0), shape=(40, 50), a=1e8, r=3.0, seed=None):
    e = np.asarray(e)
    mu = a * e[:, None, None] ** -r * np.ones((e.size,) + shape)
    mu = mu + np.asarray(edge)[:, None, None] * np.ones_like(mu)
    vals = mu if seed is None else np.random.default_rng(seed).poisson(mu).astype(float)
    return xr.DataArray(
        vals,
        dims=("energy", "y", "x"),
        coords={
            "energy": ("energy", e, {"units": "eV", "long_name": "energy loss"}),
            "y": ("y", np.arange(shape[0]) * 2.0, {"units": "nm", "long_name": "y"}),
            "x": ("x", np.arange(shape[1]) * 2.0, {"units": "nm", "long_name": "x"}),
        },
    )


def test_three_window_exact_for_power_law():
    ds = eftem_map(series([0, 0, 250.0]), edge="Li K")
    np.testing.assert_allclose(ds.signal.values, 250.0, rtol=1e-9)
    assert ds.attrs["pre_ev"] == [48.0, 53.0] and ds.attrs["post_ev"] == 62.0
    assert ds.signal.dims == ("y", "x") and ds.signal.attrs["units"] == "counts"


def test_three_window_errors_match_scatter():
    ds = eftem_map(series([0, 0, 250.0], seed=1), edge=55.0)
    z = (ds.signal.values - 250.0) / ds.signal_error.values
    assert 0.8 <= np.std(z) <= 1.25 and abs(np.mean(z)) < 0.1


def test_jump_ratio():
    s = series([0, 0, 250.0])
    ds = eftem_map(s, edge="Li K", method="jump-ratio")
    expected = (1e8 * 62.0**-3 + 250.0) / (1e8 * 53.0**-3)
    np.testing.assert_allclose(ds.jump_ratio.values, expected, rtol=1e-12)
    noisy = eftem_map(series([0, 0, 250.0], seed=2), edge="Li K", method="jump-ratio")
    z = (noisy.jump_ratio.values - expected) / noisy.jump_ratio_error.values
    assert 0.8 <= np.std(z) <= 1.25


def test_explicit_windows_and_float32():
    s = series([0, 0, 0, 300.0], e=(40.0, 46.0, 53.0, 62.0)).astype(np.float32)
    ds = eftem_map(s, edge="Li K", pre=(40.0, 53.0), post=62.0)
    assert ds.signal.dtype == np.float32
    assert float(ds.signal[0, 0]) == pytest.approx(300.0, rel=1e-4)
