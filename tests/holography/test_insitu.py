"""Phase noise yardstick (Monte Carlo) and in-situ potential change against ground truth."""

import math

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage, special

from holocorr.errors import CalibrationError, HolocorrWarning, ParameterError, ShapeError
from holocorr.holography import interaction_constant, reconstruct
from holocorr.holography.insitu import potential_change
from holocorr.holography.noise import aperture_area, detection_limit, phase_noise
from holocorr.simulate import hologram

C_E = interaction_constant(300.0)


def coords(ny, nx, step=1.0):
    return {
        "y": xr.DataArray(np.arange(ny) * step, dims="y", attrs={"units": "nm", "long_name": "y"}),
        "x": xr.DataArray(np.arange(nx) * step, dims="x", attrs={"units": "nm", "long_name": "x"}),
    }


# ------------------------------------------------------------------ noise yardstick
@pytest.mark.parametrize("dose,contrast,with_ref", [(50, 0.2, False), (200, 0.3, True), (20, 0.25, True)])
def test_yardstick_matches_monte_carlo(dose, contrast, with_ref):
    """The yardstick agrees with the spread of reconstructed vacuum phases within 10 %."""
    n = 256
    flat = xr.DataArray(np.zeros((n, n)), dims=("y", "x"), coords=coords(n, n))
    rng = np.random.default_rng(5)
    sds, yards = [], []
    for _ in range(4):
        kw = dict(spacing_px=4.3, angle_deg=25.0, contrast=contrast, dose=dose, rng=rng)
        h = hologram(flat, **kw)
        r = hologram(flat, **kw) if with_ref else None
        ds = reconstruct(h, r, unwrap=False, output_shape=(n, n))
        noise = phase_noise(ds, vacuum={"x": (48, 208), "y": (48, 208)})
        sds.append(noise.measured_rad)
        yards.append(noise.yardstick_rad)
    assert np.mean(sds) == pytest.approx(np.mean(yards), rel=0.10)
    # independent closed form for the vacuum: 2 * pi R^2 / (mu^2 D) per state (hard-edge area)
    R = 1 / (4.3 * 3)
    closed = math.sqrt((2 if with_ref else 1) * 2 * math.pi * R**2 / (contrast**2 * dose))
    assert yards[0] == pytest.approx(closed, rel=0.06)  # tanh edge vs hard edge area


def test_aperture_area_and_detection_limit():
    assert aperture_area((0.1, 0.05), edge="hard") == pytest.approx(math.pi * 0.1 * 0.05, rel=1e-4)
    # a Gaussian edge exp(-rho^2 ln2): integral of w^2 = pi R^2 / (2 ln 2)
    assert aperture_area((0.1, 0.1), edge="gaussian") == pytest.approx(math.pi * 0.01 / (2 * math.log(2)), rel=1e-3)
    d = detection_limit(0.02, thickness=100.0, beam_energy_kv=200.0)
    assert d["rad"] == pytest.approx(0.06)
    assert d["volts"] == pytest.approx(0.06 / (7.2884e-3 * 100.0), rel=1e-4)
    with pytest.raises(CalibrationError, match="beam_energy_kv"):
        detection_limit(0.02, thickness=100.0)
    with pytest.raises(ParameterError, match="sigma_rad"):
        detection_limit(-1.0)
    with pytest.raises(ShapeError, match="reconstruct"):
        phase_noise(xr.Dataset())


# ------------------------------------------------------------------ potential change
def _states(shift=(2.3, -1.7), dose=400.0, rng=0):
    ny, nx = 192, 320
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    t = 150.0 * 0.5 * (1 + special.erf((xx - 40.0) / (math.sqrt(2) * 3.0)))  # vacuum for x < 40 nm
    # a few thickness bumps (particles) give the amplitude structure along y for registration
    bumps = np.random.default_rng(42).uniform((20, 60), (ny - 20, nx - 20), size=(20, 2))
    for by, bx in bumps:
        t += 40.0 * np.exp(-((yy - by) ** 2 + (xx - bx) ** 2) / (2 * 8.0**2)) * (t > 1)
    mip = 12.5
    step = 0.5 * (special.erf((xx - 150.0) / (math.sqrt(2) * 6.0)) - special.erf((xx - 250.0) / (math.sqrt(2) * 6.0)))
    dv_true = -0.7 * step
    lam = 169.0
    phi_p = C_E * mip * t
    phi_c = C_E * (mip + dv_true) * t
    amp = np.exp(-t / (2 * lam))
    # drift of the specimen between the two recordings
    phi_c_s = ndimage.shift(phi_c, shift, order=3, mode="nearest")
    amp_c_s = ndimage.shift(amp, shift, order=3, mode="nearest")
    c = coords(ny, nx)
    dist = 0.3 * np.sin(2 * np.pi * xx / nx) * np.cos(np.pi * yy / ny)
    g = np.random.default_rng(rng)
    kw = dict(spacing_px=4.4, angle_deg=55.0, contrast=0.3, dose=dose, distortion=dist, rng=g, mtf_sigma=0.4)

    def rec(phi, a):
        P = xr.DataArray(phi, dims=("y", "x"), coords=c, attrs={"beam_energy_kv": 300.0})
        h = hologram(P, a, **kw)
        r = hologram(0 * P, **kw)
        return reconstruct(h, r, output_shape=(ny, nx))

    return rec(phi_c_s, amp_c_s), rec(phi_p, amp), dv_true, t


def test_potential_change_recovers_step_and_drift():
    charged, pristine, dv_true, t = _states()
    out = potential_change(charged, pristine, thickness=150.0, vacuum={"x": (5, 30)})
    sy, sx = out.attrs["registration_shift_px"]
    ey, ex = out.attrs["registration_error_nm"]  # 1 nm/px
    # the reported uncertainty is honest (truth within 3 sigma) and useful (< 0.5 px)
    assert abs(sy + 2.3) < 3 * ey and abs(sx - 1.7) < 3 * ex
    assert ey < 0.5 and ex < 0.5
    dv = out.delta_potential
    assert dv.attrs["units"] == "V"
    # thickness bumps: the test divides by the nominal 150 nm, so use a robust centre
    inside = dv.sel(x=slice(175, 225)).isel(y=slice(20, -20))
    outside = dv.sel(x=slice(60, 120)).isel(y=slice(20, -20))
    assert float(inside.median()) == pytest.approx(-0.7, abs=0.02)
    assert float(outside.median()) == pytest.approx(0.0, abs=0.02)
    # MIP * t cancels: the raw phases differ by ~12 rad, the change is only C_E * 0.7 * 150 = 0.69 rad
    assert float(out.delta_phase.sel(x=slice(175, 225)).median()) == pytest.approx(-C_E * 0.7 * 150, abs=0.02)
    # the noise estimate agrees with the measured spread in a flat region (within 20 %)
    resid = dv - xr.DataArray(-0.7 * 0, dims=())  # the truth outside the layer is 0 V
    flat = resid.sel(x=slice(70, 130)).isel(y=slice(20, -20)).values
    measured = float(np.sqrt(np.mean(flat**2)))
    assert float(out.noise.sel(x=slice(70, 130)).mean()) == pytest.approx(measured, rel=0.2)
    assert out.attrs["registration_shift_nm"][0] == pytest.approx(sy * 1.0)  # 1 nm/px


def test_potential_change_thickness_map_and_no_vacuum_warning():
    charged, pristine, dv_true, t = _states(shift=(0.0, 0.0), dose=2000.0, rng=1)
    tmap = xr.DataArray(np.maximum(t, 1.0), dims=("y", "x"), coords=pristine.phase.coords, attrs={"units": "nm"})
    out = potential_change(charged, pristine, thickness=tmap, vacuum={"x": (5, 30)}, register=False)
    # with the true thickness map the bumps divide out exactly
    assert float(out.delta_potential.sel(x=slice(175, 225)).mean()) == pytest.approx(-0.7, abs=0.01)
    with pytest.warns(HolocorrWarning, match="no vacuum region"):
        potential_change(charged, pristine, thickness=150.0, register=False)


def test_ill_conditioned_registration_is_reported():
    """One straight edge constrains only the shift across it: warn instead of trusting it."""
    ny, nx = 128, 192
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    t = 150.0 * 0.5 * (1 + special.erf((xx - 60.0) / (math.sqrt(2) * 3.0)))
    c = coords(ny, nx)
    kw = dict(spacing_px=4.4, angle_deg=55.0, contrast=0.3, dose=500.0)

    def rec(a, seed):
        P = xr.DataArray(C_E * 12.5 * t, dims=("y", "x"), coords=c, attrs={"beam_energy_kv": 300.0})
        g = np.random.default_rng(seed)
        return reconstruct(hologram(P, a, rng=g, **kw), hologram(0 * P, rng=g, **kw), output_shape=(ny, nx))

    a = np.exp(-t / 338.0)
    with pytest.warns(
        HolocorrWarning, match=r"registration is uncertain.*least constrained along \(dy, dx\) = \(-?1.00, -?0.0\d\)"
    ):
        out = potential_change(rec(a, 1), rec(a, 2), thickness=150.0, vacuum={"x": (5, 40)})
    assert not np.isfinite(out.attrs["registration_error_nm"][0])  # along the edge: undetermined
    assert out.attrs["registration_error_nm"][1] < 0.5  # across it: determined
    assert abs(out.attrs["registration_shift_px"][0]) < 0.05  # the undetermined component is not applied


def test_potential_change_bad_input():
    charged, pristine, _, _ = _states(shift=(0.0, 0.0))
    with pytest.raises(ShapeError, match="reconstruct"):
        potential_change(charged.phase, pristine, thickness=150.0, vacuum={"x": (5, 30)})
    with pytest.raises(ShapeError, match="same output_shape"):
        potential_change(charged.isel(x=slice(0, 100)), pristine, thickness=150.0)
    other = pristine.assign_coords(x=pristine.x * 2)
    with pytest.raises(CalibrationError, match="sampling"):
        potential_change(charged, other, thickness=150.0)
    with pytest.raises(ParameterError, match="thickness"):
        potential_change(charged, pristine, thickness=0.0, vacuum={"x": (5, 30)})
    with pytest.raises(ParameterError, match="selects no pixels"):
        potential_change(charged, pristine, thickness=150.0, vacuum={"x": (5000, 6000)})
    with pytest.raises(CalibrationError, match="beam energy"):
        potential_change(charged, pristine, thickness=150.0, vacuum={"x": (5, 30)}, beam_energy_kv=200.0)


def test_phase_only_inputs_give_the_same_change():
    """Without the complex waves the unwrapped phases are shifted and subtracted instead."""
    charged, pristine, _, t = _states(shift=(1.5, -2.0), dose=2000.0, rng=3)
    tmap = xr.DataArray(np.maximum(t, 1.0), dims=("y", "x"), coords=pristine.phase.coords, attrs={"units": "nm"})
    via_waves = potential_change(charged, pristine, thickness=tmap, vacuum={"x": (5, 30)})
    via_phase = potential_change(
        charged.drop_vars("wave"), pristine.drop_vars("wave"), thickness=tmap, vacuum={"x": (5, 30)}
    )
    a = via_waves.delta_potential.isel(y=slice(20, -20), x=slice(20, -20))
    b = via_phase.delta_potential.isel(y=slice(20, -20), x=slice(20, -20))
    assert float(np.abs(a - b).median()) < 0.01
    assert float(a.sel(x=slice(175, 225)).median()) == pytest.approx(-0.7, abs=0.02)
    assert float(b.sel(x=slice(175, 225)).median()) == pytest.approx(-0.7, abs=0.02)
