"""Ramp removal against phases built from known coefficients (in nm coordinates)."""

import json

import numpy as np
import pytest
import xarray as xr

from holocorr.errors import DataError, ParameterError, ShapeError, UncalibratedWarning
from holocorr.holography.phase import remove_ramp, unwrap

PX = 0.37  # nm per pixel
NM = {"units": "nm", "long_name": "distance"}


def _grid(ny, nx, x0=0.0, y0=0.0, px=PX):
    return np.arange(ny) * px + y0, np.arange(nx) * px + x0


def _da(values, y, x, attrs=None):
    values = np.asarray(values)
    coords = {"y": ("y", y, NM), "x": ("x", x, NM)}
    dims = ("y", "x")
    if values.ndim == 3:
        dims = ("frame", "y", "x")
        coords["frame"] = (
            "frame",
            np.arange(values.shape[0]),
            {"units": "1", "long_name": "frame"},
        )
    return xr.DataArray(
        values, dims=dims, coords=coords, attrs=attrs or {"units": "rad", "long_name": "phase"}
    )


def _object(y, x, xc, yc, radius, height=2.5):
    """Compact bump (zero outside `radius` nm) and the vacuum mask outside it."""
    r2 = (x[None, :] - xc) ** 2 + (y[:, None] - yc) ** 2
    obj = np.where(r2 < radius**2, height * (1 - r2 / radius**2) ** 2, 0.0)
    return obj, r2 > (radius + 0.5) ** 2


def test_plane_recovered_with_vacuum_mask_and_object_intact():
    # x starts at 5 nm, so the offset a (value at x = y = 0) is an extrapolation
    y, x = _grid(150, 200, x0=5.0, y0=-3.0)
    a, b, c = 0.8, 0.045, -0.031  # rad, rad/nm, rad/nm
    obj, vacuum = _object(y, x, xc=40.0, yc=25.0, radius=12.0)
    phase = a + b * x[None, :] + c * y[:, None] + obj
    da = _da(phase, y, x)
    before = da.copy(deep=True)
    out = remove_ramp(da, mask=vacuum)
    xr.testing.assert_identical(da, before)
    got = out.attrs["ramp_coefficients"]
    assert abs(got[0] - a) < 1e-6 and abs(got[1] - b) < 1e-6 and abs(got[2] - c) < 1e-6
    assert out.attrs["ramp_terms"] == ["1", "x", "y"]
    assert out.attrs["ramp_units"] == ["rad", "rad/nm", "rad/nm"]
    assert "x = 0 nm" in out.attrs["ramp_origin"]
    assert out.attrs["ramp_points"] == int(vacuum.sum())
    assert out.attrs["ramp_rms"] < 1e-9
    np.testing.assert_allclose(out.values, obj, rtol=0, atol=1e-9)  # object left intact
    assert out.attrs["units"] == "rad"
    assert out.attrs["long_name"] == "phase (ramp removed)"
    np.testing.assert_array_equal(out["x"].values, x)
    rec = json.loads(out.attrs["holocorr"])
    assert rec["function"] == "holography.remove_ramp"
    assert rec["parameters"]["order"] == 1
    np.testing.assert_allclose(rec["parameters"]["ramp_coefficients"], [a, b, c], atol=1e-6)


def test_default_fits_whole_image():
    y, x = _grid(40, 50)
    phase = -1.2 + 0.2 * x[None, :] + 0.1 * y[:, None]
    out = remove_ramp(_da(phase, y, x))
    np.testing.assert_allclose(out.attrs["ramp_coefficients"], [-1.2, 0.2, 0.1], atol=1e-9)
    assert out.attrs["ramp_points"] == 40 * 50
    # with an object and no mask, the fit is the plain least-squares plane of all pixels
    obj, _ = _object(y, x, xc=9.0, yc=7.0, radius=3.0)
    out = remove_ramp(_da(phase + obj, y, x))
    xx, yy = np.meshgrid(x, y)
    design = np.stack([np.ones(xx.size), xx.ravel(), yy.ravel()], axis=1)
    ref = np.linalg.lstsq(design, (phase + obj).ravel(), rcond=None)[0]
    np.testing.assert_allclose(out.attrs["ramp_coefficients"], ref, atol=1e-9)
    assert out.attrs["ramp_coefficients"][0] > -1.2 + 1e-3  # biased by the object


def test_order0_offset_only():
    y, x = _grid(60, 80)
    obj, vacuum = _object(y, x, xc=15.0, yc=11.0, radius=6.0)
    out = remove_ramp(_da(1.75 + obj, y, x), mask=vacuum, order=0)
    assert len(out.attrs["ramp_coefficients"]) == 1
    assert abs(out.attrs["ramp_coefficients"][0] - 1.75) < 1e-9
    assert out.attrs["ramp_units"] == ["rad"]
    np.testing.assert_allclose(out.values, obj, atol=1e-9)


def test_order2_quadratic_with_offset_origin():
    y, x = _grid(90, 120, x0=100.0, y0=50.0)
    coef = [0.5, -0.02, 0.03, 4e-4, -2.5e-4, 1.5e-4]  # 1, x, y, x², xy, y²
    X, Y = x[None, :], y[:, None]
    surface = (
        coef[0] + coef[1] * X + coef[2] * Y + coef[3] * X**2 + coef[4] * X * Y + coef[5] * Y**2
    )
    obj, vacuum = _object(y, x, xc=120.0, yc=66.0, radius=8.0)
    out = remove_ramp(_da(surface + obj, y, x), mask=vacuum, order=2)
    got = np.array(out.attrs["ramp_coefficients"])
    np.testing.assert_allclose(got, coef, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got[1:], coef[1:], rtol=1e-6)
    assert out.attrs["ramp_terms"] == ["1", "x", "y", "x^2", "x*y", "y^2"]
    assert out.attrs["ramp_units"] == [
        "rad",
        "rad/nm",
        "rad/nm",
        "rad/nm^2",
        "rad/nm^2",
        "rad/nm^2",
    ]
    np.testing.assert_allclose(out.values, obj, atol=1e-8)


def test_region_in_nm():
    y, x = _grid(100, 160)  # x from 0 to 58.83 nm
    a, b, c = -0.4, 0.06, 0.015
    phase = a + b * x[None, :] + c * y[:, None]
    # a large object right of 25 nm: excluded by the region, would bias a full fit
    phase = phase + np.where(x[None, :] > 25.0, 1.0 + 0.1 * (x[None, :] - 25.0), 0.0)
    out = remove_ramp(_da(phase, y, x), region={"x": slice(0, 20)})
    np.testing.assert_allclose(out.attrs["ramp_coefficients"], [a, b, c], atol=1e-6)
    ncols = int(np.floor(20 / PX)) + 1  # x = 0 ... 19.98 nm, inclusive bounds
    assert out.attrs["ramp_points"] == 100 * ncols
    left = x <= 25.0
    np.testing.assert_allclose(out.values[:, left], 0.0, atol=1e-9)
    # y range too, combined with a mask (intersection)
    mask = np.ones(phase.shape, bool)
    mask[:, :5] = False
    out2 = remove_ramp(
        _da(phase, y, x), region={"x": slice(None, 20.0), "y": slice(10, 30)}, mask=mask
    )
    np.testing.assert_allclose(out2.attrs["ramp_coefficients"], [a, b, c], atol=1e-6)
    nrows = int(np.sum((y >= 10) & (y <= 30)))
    assert out2.attrs["ramp_points"] == nrows * (ncols - 5)
    rec = json.loads(out2.attrs["holocorr"])
    assert rec["parameters"]["region"] == {"x": [None, 20.0], "y": [10, 30]}


def test_frame_stack_per_frame_coefficients():
    y, x = _grid(50, 70)
    truth = [(0.1, 0.02, -0.05), (-2.0, 0.0, 0.1), (3.0, -0.07, 0.01)]
    obj, vacuum = _object(y, x, xc=12.0, yc=9.0, radius=4.0)
    stack = np.stack([a + b * x[None, :] + c * y[:, None] + obj for a, b, c in truth])
    out = remove_ramp(_da(stack.astype(np.float32), y, x), mask=vacuum)
    assert out.dims == ("frame", "y", "x") and out.dtype == np.float32
    got = np.array(out.attrs["ramp_coefficients"])
    assert got.shape == (3, 3)
    np.testing.assert_allclose(got, truth, atol=2e-5)  # float32 data
    for f in range(3):
        np.testing.assert_allclose(out.values[f], obj, atol=2e-5)
    assert len(out.attrs["ramp_rms"]) == 3


def test_per_frame_mask():
    y, x = _grid(30, 40)
    stack = np.stack([0.5 + 0.1 * x[None, :] + 0 * y[:, None]] * 2)
    stack[1, :, 20:] += 5.0  # object in the right half of frame 1 only
    mask = np.ones(stack.shape, bool)
    mask[1, :, 20:] = False
    out = remove_ramp(_da(stack, y, x), mask=mask)
    np.testing.assert_allclose(out.attrs["ramp_coefficients"], [[0.5, 0.1, 0.0]] * 2, atol=1e-9)
    np.testing.assert_allclose(out.values[1, :, 20:], 5.0, atol=1e-9)


def test_float32_preserved_and_input_untouched():
    y, x = _grid(40, 48)
    phase = (0.3 + 0.05 * x[None, :] - 0.02 * y[:, None]).astype(np.float32)
    da = _da(phase, y, x, attrs={"units": "rad", "long_name": "phase (unwrapped)"})
    copy = phase.copy()
    out = remove_ramp(da)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(da.values, copy)
    np.testing.assert_allclose(out.attrs["ramp_coefficients"], [0.3, 0.05, -0.02], atol=1e-6)
    assert out.attrs["long_name"] == "phase (unwrapped, ramp removed)"


def test_plain_ndarray_in_pixels():
    rows, cols = np.mgrid[0:20, 0:30]
    phase = 0.2 + 0.03 * cols - 0.01 * rows
    with pytest.warns(UncalibratedWarning):
        out = remove_ramp(phase)
    np.testing.assert_allclose(out.attrs["ramp_coefficients"], [0.2, 0.03, -0.01], atol=1e-9)
    assert out.attrs["ramp_units"] == ["rad", "rad/px", "rad/px"]


def test_unwrap_then_remove_ramp_recovers_object():
    y, x = _grid(120, 150)
    obj, vacuum = _object(y, x, xc=30.0, yc=22.0, radius=9.0, height=14.0)
    truth = 0.3 + 0.35 * x[None, :] - 0.2 * y[:, None] + obj  # 33 rad across, many wraps
    wrapped = _da(np.angle(np.exp(1j * truth)), y, x)
    for method in ("quality", "least_squares"):
        flat = remove_ramp(unwrap(wrapped, method=method), mask=vacuum)
        np.testing.assert_allclose(flat.values, obj, atol=1e-9)
        b, c = flat.attrs["ramp_coefficients"][1:]
        assert abs(b - 0.35) < 1e-9 and abs(c + 0.2) < 1e-9


def test_bad_inputs():
    y, x = _grid(16, 20)
    good = _da(np.zeros((16, 20)), y, x)
    with pytest.raises(ShapeError, match=r"\(16, 20\)"):
        remove_ramp(good, mask=np.ones((20, 16), bool))
    with pytest.raises(ParameterError, match="no pixels"):
        remove_ramp(good, mask=np.zeros((16, 20), bool))
    two = np.zeros((16, 20), bool)
    two[3, 4] = two[5, 6] = True
    with pytest.raises(ParameterError, match="only 2 reference pixel.*at least 3"):
        remove_ramp(good, mask=two)
    with pytest.raises(ParameterError, match="rank"):
        remove_ramp(good, region={"x": slice(0.7, 0.8)})  # one column: x undetermined
    with pytest.raises(ParameterError, match="rank"):
        remove_ramp(good, region={"x": slice(0, 2), "y": slice(0.7, 1.2)}, order=2)
    with pytest.raises(DataError, match="bool"):
        remove_ramp(good, mask=np.ones((16, 20), int))
    nan = good.copy()
    nan[2, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        remove_ramp(nan)
    with pytest.raises(DataError, match="np.angle"):
        remove_ramp(good.astype(np.complex64))
    for order in (3, -1, 1.5, True, "1"):
        with pytest.raises(ParameterError, match="order"):
            remove_ramp(good, order=order)
    with pytest.raises(ParameterError, match="only 'y' and 'x'"):
        remove_ramp(good, region={"z": slice(0, 1)})
    with pytest.raises(ParameterError, match="slice"):
        remove_ramp(good, region={"x": 5})
    with pytest.raises(ParameterError, match="slice"):
        remove_ramp(good, region={"x": slice(0, 5, 2)})
    with pytest.raises(ParameterError, match="finite numbers"):
        remove_ramp(good, region={"x": slice("a", 5)})
    with pytest.raises(ParameterError, match=r"selects no pixels.*0 to 7.03 nm"):
        remove_ramp(good, region={"x": slice(50, 60)})
    with pytest.raises(ParameterError, match="dict"):
        remove_ramp(good, region=[slice(0, 1)])
    mask = np.zeros((16, 20), bool)
    mask[:, 15:] = True
    with pytest.raises(ParameterError, match="together select no pixels"):
        remove_ramp(good, mask=mask, region={"x": slice(0, 2)})
    with pytest.raises(ShapeError, match="dimension"):
        remove_ramp(np.zeros(10))
    with pytest.raises(ShapeError, match="at least 4"):
        remove_ramp(good.isel(x=slice(0, 3)))
