"""register / Registration against synthetic pairs with a known shift (and rotation).

Fixed: a 2 nm/px potential-like map of 400 x 600 nm. Moving: a 5 nm/px map of
300 x 800 nm (another field of view), the same specimen moved by SHIFT,
either the same modality (blur 12 nm instead of 10 nm) or a Li-like map with
inverted, unrelated region levels. Noise on both.
"""

import json
import math

import numpy as np
import pytest
from _reg_scenes import NORMAL, TANGENT, dataarray, li, potential, rotated, shifted

from holocorr.errors import (
    CalibrationError,
    DataError,
    HolocorrWarning,
    ParameterError,
    ReconstructionError,
    ShapeError,
)
from holocorr.registration import Registration, register

SHIFT = (13.7, -21.3)  # nm, (dy, dx)


def pair(features, moving_kind, *, seed=0, dtype=np.float64):
    fixed = dataarray(potential(features, 10.0), 2.0, (200, 300), noise=0.05, rng=seed, dtype=dtype)
    fn = potential(features, 12.0) if moving_kind == "potential" else li(features, 12.0)
    moving = dataarray(
        shifted(fn, SHIFT), 5.0, (60, 160), origin=(20.0, -80.0), noise=0.05, rng=100 + seed, dtype=dtype
    )
    return moving, fixed


def normal_component(v):
    return v[0] * NORMAL[0] + v[1] * NORMAL[1]


@pytest.mark.parametrize("method,kind", [("phase", "potential"), ("mutual_information", "li")])
def test_single_interface_normal_shift_and_unconstrained_tangent(method, kind):
    moving, fixed = pair(False, kind)
    with pytest.warns(HolocorrWarning, match="not constrained"):
        reg = register(moving, fixed, method=method)
    err_n = normal_component(reg.shift_nm) - normal_component(SHIFT)
    assert abs(err_n) < 1.0
    # the constrained direction is the interface normal; its error is honest
    strong = reg.principal_directions[0]
    assert abs(normal_component(strong)) > 0.9999
    sig_n = reg.principal_errors_nm[0]
    assert 0 < sig_n < 0.5 and abs(err_n) < 4 * sig_n + 0.05
    assert reg.error_along(TANGENT) == math.inf and reg.error_along(strong) == pytest.approx(sig_n)
    assert reg.error_nm == (math.inf, math.inf)  # the tilted interface mixes both axes
    assert reg.constrained == (True, False) and reg.condition == math.inf
    weak = reg.principal_directions[1]
    assert abs(weak[0] * TANGENT[0] + weak[1] * TANGENT[1]) > 0.999


@pytest.mark.parametrize("method,kind", [("phase", "potential"), ("mutual_information", "li")])
def test_error_estimate_matches_the_scatter(method, kind):
    """Over noise realisations the normal-shift errors scatter as reported (within a factor 1.7)."""
    errs, sigmas = [], []
    for seed in range(10, 20):
        moving, fixed = pair(False, kind, seed=seed)
        with pytest.warns(HolocorrWarning):
            reg = register(moving, fixed, method=method)
        errs.append(normal_component(reg.shift_nm) - normal_component(SHIFT))
        sigmas.append(reg.principal_errors_nm[0])
    ratio = np.std(errs, ddof=1) / np.mean(sigmas)
    assert 1 / 1.7 < ratio < 1.7
    assert abs(np.mean(errs)) < 3 * np.std(errs, ddof=1) / math.sqrt(len(errs)) + 0.05  # unbiased


def test_interface_method():
    moving, fixed = pair(False, "li")
    reg = register(moving, fixed, method="interface")
    assert abs(normal_component(reg.shift_nm) - normal_component(SHIFT)) < 1.0
    assert reg.error_along(TANGENT) == math.inf and 0 < reg.principal_errors_nm[0] < 0.5
    assert abs(normal_component(reg.principal_directions[0])) > 0.9999
    # the shift is along the fixed interface's (fitted) normal only
    n = reg.principal_directions[0]
    assert abs(reg.shift_nm[0] * n[1] - reg.shift_nm[1] * n[0]) < 1e-9
    assert reg.info["interface_fixed"]["model"] == "line"
    with pytest.raises(ReconstructionError):
        register(moving, dataarray(lambda y, x: 0 * x + 0 * y, 2.0, (100, 100), noise=0.1), method="interface")


@pytest.mark.parametrize("method,kind", [("phase", "potential"), ("mutual_information", "li")])
def test_features_full_shift(method, kind):
    moving, fixed = pair(True, kind, seed=1)
    reg = register(moving, fixed, method=method)
    err = np.subtract(reg.shift_nm, SHIFT)
    assert np.all(np.abs(err) < 1.0)
    assert np.all(np.isfinite(reg.error_nm)) and max(reg.error_nm) < 0.6
    assert np.all(np.abs(err) < 4 * np.asarray(reg.error_nm) + 0.05)
    assert reg.rotation_deg == 0.0 and math.isnan(reg.rotation_error_deg)
    assert reg.spacing_nm == 5.0 and reg.method == method
    assert 1.0 <= reg.condition < 20.0


def test_rotation_and_apply():
    center, theta, t0 = (150.0, 300.0), 1.5, (8.0, -12.0)
    fixed = dataarray(potential(True, 10.0), 2.0, (200, 300), noise=0.05, rng=2)
    fn = li(True, 12.0)
    moving = dataarray(
        rotated(fn, center, theta, t0), 5.0, (60, 160), origin=(20.0, -80.0), noise=0.05, rng=3, dtype=np.float32
    )
    reg = register(moving, fixed, method="mutual_information", rotation=True)
    assert reg.rotation_deg == pytest.approx(theta, abs=0.1)
    assert 0 < reg.rotation_error_deg < 0.2
    th, c = math.radians(reg.rotation_deg), np.asarray(reg.center_nm)
    rot = np.array([[math.cos(th), math.sin(th)], [-math.sin(th), math.cos(th)]])
    th0 = math.radians(theta)
    rot0 = np.array([[math.cos(th0), math.sin(th0)], [-math.sin(th0), math.cos(th0)]])
    for p in [(50.0, 50.0), (250.0, 300.0), (100.0, 600.0), (300.0, 500.0)]:
        p = np.array(p)
        truth = np.asarray(center) + rot0 @ (p - center) + t0
        est = c + rot @ (p - c) + np.asarray(reg.shift_nm)
        assert np.linalg.norm(est - truth) < 1.0
    # resampled onto the fixed grid, the moving map is the Li scene in the fixed frame
    out = reg.apply(moving, like=fixed)
    assert out.dtype == np.float32 and out.dims == ("y", "x")
    assert "valid" not in out.coords and out["x"].attrs["units"] == "nm"
    yy, xx = np.meshgrid(out["y"].values, out["x"].values, indexing="ij")
    resid = out.values - fn(yy, xx)
    assert float(np.sqrt(np.mean(resid**2))) < 0.05  # the noise level
    full = reg.apply(moving, outside="nan")
    v = full["valid"].values
    assert full.shape == fixed.shape and 0 < v.sum() < v.size
    assert np.all(np.isnan(full.values[~v])) and np.all(np.isfinite(full.values[v]))
    # the crop is the largest fully covered rectangle inside the valid area
    assert out.size <= v.sum()
    rec = json.loads(out.attrs["registration"])
    assert rec["method"] == "mutual_information"


def test_apply_without_rotation_is_exact_for_a_smooth_map():
    moving, fixed = pair(True, "potential", seed=4)
    reg = register(moving, fixed)
    smooth = dataarray(lambda y, x: np.sin(y / 40.0) + np.cos(x / 55.0), 5.0, (60, 160), origin=(20.0, -80.0))
    out = reg.apply(smooth, like=fixed)
    yy, xx = np.meshgrid(out["y"].values, out["x"].values, indexing="ij")
    sy, sx = reg.shift_nm
    truth = np.sin((yy - sy) / 40.0) + np.cos((xx - sx) / 55.0)
    err = np.abs(out.values - truth)
    # cubic spline: 1e-3 further than 3 moving pixels (8 fixed ones) from the moving map's edge
    assert err[8:-8, 8:-8].max() < 1e-3 and err.max() < 1e-2
    # covered: moving y 20..315 and x -80..715 shifted by SHIFT, on the fixed grid 0..398 x 0..598
    assert out["y"].values[0] >= 20.0 + sy - 1e-6 and out["y"].values[-1] <= 315.0 + sy + 1e-6
    assert out["x"].values[0] == 0.0 and out["x"].values[-1] == 598.0


def test_to_dict_is_json_and_registration_is_frozen():
    moving, fixed = pair(False, "potential")
    with pytest.warns(HolocorrWarning):
        reg = register(moving, fixed)
    d = reg.to_dict()
    text = json.dumps(d)
    assert json.loads(text)["error_nm"] == ["inf", "inf"]
    assert json.loads(reg.provenance)["function"] == "registration.register"
    assert isinstance(reg, Registration)
    with pytest.raises(AttributeError):
        reg.shift_nm = (0.0, 0.0)


def test_identical_grids_and_doctest_like_pair():
    moving, fixed = pair(True, "potential", seed=5)
    same = fixed.copy()
    reg = register(same, fixed)
    assert np.all(np.abs(reg.shift_nm) < 0.05)


def test_maps_without_shared_structure():
    n1 = dataarray(lambda y, x: 0 * x + 0 * y, 5.0, (60, 60), noise=1.0, rng=1)
    n2 = dataarray(lambda y, x: 0 * x + 0 * y, 5.0, (60, 60), noise=1.0, rng=2)
    with pytest.warns(HolocorrWarning, match="not constrained in any direction"):
        reg = register(n1, n2)
    assert reg.error_nm == (math.inf, math.inf) and reg.constrained == (False, False)
    flat = dataarray(lambda y, x: 1.0 + 0 * x + 0 * y, 5.0, (40, 40))
    with pytest.raises(DataError, match="constant"):
        register(flat, n2)
    small = dataarray(potential(True, 10.0), 5.0, (12, 12), origin=(30.0, 40.0), noise=0.01)
    with pytest.raises(ShapeError, match="usable pixels"):
        register(small, small)


def test_bad_inputs():
    moving, fixed = pair(True, "potential")
    with pytest.raises(ParameterError, match="method"):
        register(moving, fixed, method="ncc")
    with pytest.raises(ParameterError, match="upsample"):
        register(moving, fixed, upsample=0)
    with pytest.raises(ParameterError, match="min_overlap"):
        register(moving, fixed, min_overlap=1.5)
    with pytest.raises(ParameterError, match="rotation"):
        register(moving, fixed, rotation="yes")
    with pytest.raises(ParameterError, match="hint"):
        register(moving, fixed, hint="+x")
    with pytest.raises(ParameterError, match="max_shift_nm"):
        register(moving, fixed, max_shift_nm=(1.0, 2.0, 3.0))
    px = moving.assign_coords(x=("x", np.arange(160.0), {"units": "px"}), y=("y", np.arange(60.0), {"units": "px"}))
    with pytest.raises(CalibrationError, match="pixels"):
        register(px, fixed)
    with pytest.raises(CalibrationError, match="no 'y' coordinate"):
        register(moving.drop_vars("y"), fixed)
    with pytest.raises(ShapeError, match="min_overlap"):
        register(moving, fixed, min_overlap=1.0, max_shift_nm=5.0)
    with pytest.raises(ShapeError, match="dims"):
        register(moving.rename(x="col"), fixed)
    reg = register(moving, fixed)
    with pytest.raises(ParameterError, match="outside"):
        reg.apply(moving, outside="zero")
    with pytest.raises(ShapeError, match="does not cover"):
        reg.apply(dataarray(lambda y, x: 0 * x + 0 * y, 5.0, (20, 20), origin=(5000.0, 5000.0)), like=fixed)
    with pytest.raises(ParameterError, match="direction"):
        reg.error_along((0.0, 0.0))
