"""find_interface and distance_coordinate against analytic interfaces (lines and circles)."""

import json
import math

import numpy as np
import pytest
import xarray as xr
from _reg_scenes import circle_distance, dataarray
from scipy.special import erfc

from holocorr.errors import CalibrationError, ParameterError, ReconstructionError, ShapeError, UncalibratedWarning
from holocorr.registration import distance_coordinate, find_interface

S2 = math.sqrt(2.0)


def step_map(pivot, tilt_deg, kappa, *, sigma=8.0, step=2.0, shape=(150, 250), noise=0.05, rng=0, origin=(0.0, 0.0)):
    """Potential-like step: 11.5 on the -n side, 12.5 on the +n (electrolyte) side, erf of `sigma`."""

    def fn(y, x):
        return 11.5 + 0.5 * erfc(-circle_distance(y, x, pivot, tilt_deg, kappa) / (S2 * sigma))

    return dataarray(fn, step, shape, origin, noise=noise, rng=rng)


def true_normal_angle(point, pivot, tilt_deg, kappa):
    h = 1e-4
    py, px = point
    gy = (circle_distance(py + h, px, pivot, tilt_deg, kappa) - circle_distance(py - h, px, pivot, tilt_deg, kappa)) / (
        2 * h
    )
    gx = (circle_distance(py, px + h, pivot, tilt_deg, kappa) - circle_distance(py, px - h, pivot, tilt_deg, kappa)) / (
        2 * h
    )
    return math.degrees(math.atan2(gy, gx))


@pytest.mark.parametrize("tilt,kappa", [(7.0, 0.0), (-10.0, 1.0 / 1500.0), (83.0, -1.0 / 2500.0)])
def test_position_angle_and_curvature(tilt, kappa):
    pivot = (150.0, 250.0)
    side = "+x" if abs(tilt) < 45 else "+y"
    da = step_map(pivot, tilt, kappa)
    itf = find_interface(da, hint={"electrolyte_side": side})
    # the reported point lies on the true interface, the normal along the true normal
    assert abs(float(circle_distance(*itf.point, pivot, tilt, kappa))) < 1.0
    assert abs(float(circle_distance(*itf.point, pivot, tilt, kappa))) < 4 * itf.position_error + 0.05
    assert itf.angle_deg == pytest.approx(true_normal_angle(itf.point, pivot, tilt, kappa), abs=0.5)
    assert math.hypot(*itf.normal) == pytest.approx(1.0)
    assert itf.axis == ("x" if abs(tilt) < 45 else "y")
    if kappa == 0:
        assert itf.model == "line" and itf.curvature == 0.0
    else:
        assert itf.model == "quadratic"
        assert itf.curvature == pytest.approx(kappa, abs=4 * itf.curvature_error)
        assert abs(itf.curvature - kappa) < 0.1 * abs(kappa)
    assert itf.width == pytest.approx(8.0, abs=0.5)  # the erf sigma
    assert itf.normal_from == "electrolyte_side" and itf.units == "nm"


def test_uncertainties_match_the_scatter():
    """Reported 1-sigma errors agree with the spread over noise realisations (within a factor 1.6)."""
    pivot, tilt = (100.0, 160.0), 7.0
    pos, ang, perr, aerr = [], [], [], []
    for seed in range(16):
        itf = find_interface(step_map(pivot, tilt, 0.0, shape=(100, 160), noise=0.1, rng=seed))
        pos.append(float(circle_distance(*itf.point, pivot, tilt, 0.0)))
        ang.append(itf.angle_deg - tilt)
        perr.append(itf.position_error)
        aerr.append(itf.angle_error_deg)
    assert abs(np.mean(pos)) < 3 * np.std(pos) / 4 + 0.02  # unbiased
    assert 1 / 1.6 < np.std(pos, ddof=1) / np.mean(perr) < 1.6
    assert 1 / 1.6 < np.std(ang, ddof=1) / np.mean(aerr) < 1.6


def test_sign_conventions_and_hints():
    pivot = (150.0, 250.0)
    da = step_map(pivot, 0.0, 0.0, noise=0.02)  # values increase toward +x
    up = find_interface(da)
    assert up.normal_from == "uphill" and up.normal == pytest.approx((0.0, 1.0), abs=2e-3)
    left = find_interface(da, hint="-x")
    assert left.normal == pytest.approx((0.0, -1.0), abs=2e-3)
    assert abs(left.angle_deg) == pytest.approx(180.0, abs=0.2)
    pt = find_interface(da, hint={"electrolyte_point": (10.0, 20.0)})
    assert pt.normal == pytest.approx((0.0, -1.0), abs=2e-3) and pt.normal_from == "electrolyte_point"
    # two steps: the region hint picks the weaker one
    two = da + 0.3 * (0.5 * erfc(-(da["x"] - 420.0) / (S2 * 6.0)))
    assert find_interface(two).point[1] == pytest.approx(250.0, abs=0.5)
    far = find_interface(two, hint={"region": {"x": (340, 498)}, "electrolyte_side": "+x"})
    assert far.point[1] == pytest.approx(420.0, abs=0.5)
    assert far.width == pytest.approx(6.0, abs=0.5)


def test_distance_coordinate_values_and_sign():
    pivot, tilt, kappa = (150.0, 250.0), -10.0, 1.0 / 1500.0
    da = step_map(pivot, tilt, kappa)
    itf = find_interface(da, hint={"electrolyte_side": "+x"})
    out = distance_coordinate(da, itf)
    d = out["distance"]
    assert d.dims == ("y", "x") and d.attrs["units"] == "nm"
    assert d.attrs["long_name"] == "distance from interface"
    assert json.loads(d.attrs["holocorr"])["function"] == "registration.distance_coordinate"
    truth = circle_distance(da["y"].values[:, None], da["x"].values[None, :], pivot, tilt, kappa)
    near = np.abs(truth) < 150
    assert np.max(np.abs(d.values - truth)[near]) < 1.0
    assert np.all(np.sign(d.values[np.abs(truth) > 5]) == np.sign(truth[np.abs(truth) > 5]))
    assert out.attrs == da.attrs and out is not da
    np.testing.assert_array_equal(out.values, da.values)
    # a map in um on the same frame gets the same distances (in nm)
    um = da.assign_coords(
        y=("y", da["y"].values / 1e3, {"units": "um"}), x=("x", da["x"].values / 1e3, {"units": "um"})
    )
    np.testing.assert_allclose(distance_coordinate(um, itf)["distance"].values, d.values, atol=1e-9)


def test_interfaces_that_cannot_be_found():
    noise = dataarray(lambda y, x: 0 * x + 0 * y, 2.0, (100, 100), noise=0.05, rng=3)
    with pytest.raises(ReconstructionError, match="no dominant straight interface"):
        find_interface(noise)
    flat = dataarray(lambda y, x: 1.0 + 0 * x + 0 * y, 2.0, (100, 100))
    with pytest.raises(ReconstructionError, match="flat"):
        find_interface(flat)
    blobs = dataarray(lambda y, x: np.sin(y / 20.0) * np.cos(x / 25.0), 2.0, (100, 100), noise=0.05)
    with pytest.raises(ReconstructionError, match="no dominant"):
        find_interface(blobs)
    weak = step_map((100.0, 100.0), 0.0, 0.0, shape=(100, 100), noise=2.0)
    with pytest.raises(ReconstructionError):
        find_interface(weak)


def test_bad_inputs():
    da = step_map((150.0, 250.0), 0.0, 0.0, noise=0.0)
    with pytest.raises(ParameterError, match="runs along the interface"):
        find_interface(da, hint={"electrolyte_side": "+y"})
    with pytest.raises(ParameterError, match="not allowed"):
        find_interface(da, hint={"side": "+x"})
    with pytest.raises(ParameterError, match="electrolyte_side"):
        find_interface(da, hint="left")
    with pytest.raises(ParameterError, match="within the interface width"):
        find_interface(da, hint={"electrolyte_point": (100.0, 251.0)})
    with pytest.raises(ParameterError, match="model"):
        find_interface(da, model="cubic")
    with pytest.raises(ShapeError):
        find_interface(da.expand_dims(frame=2))
    itf = find_interface(da)
    with pytest.raises(ParameterError, match="Interface"):
        distance_coordinate(da, {"point": (0, 0)})
    px = xr.DataArray(da.values, dims=("y", "x"))
    with pytest.raises(CalibrationError, match="px"):
        distance_coordinate(px, itf)
    with pytest.warns(UncalibratedWarning, match="without calibration"):
        px_itf = find_interface(da.values)  # a plain array: pixel units, found all the same
    assert px_itf.units == "px" and px_itf.point[1] == pytest.approx(125.0, abs=0.05)
