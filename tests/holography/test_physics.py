"""Tests of holocorr.holography.physics against independent numbers.

Reference values: the tables in SCIENCE.md (lambda, C_E, lambda_in), the
non-relativistic wavelength, the momentum form of the relativistic
wavelength, Kirkland's form of the interaction constant, and synthetic
phase/amplitude maps built from known potential and thickness maps.
"""

import json
import math

import numpy as np
import pytest
import xarray as xr
from scipy import constants as sc

from holocorr.errors import (
    CalibrationError,
    DataError,
    ParameterError,
    ShapeError,
    UncalibratedWarning,
)
from holocorr.holography.physics import (
    interaction_constant,
    mean_free_path,
    phase_to_potential,
    thickness_from_amplitude,
    wavelength,
)

# --------------------------------------------------------------------------- #
# independent reference formulas (not the code under test)
# --------------------------------------------------------------------------- #


def lambda_from_momentum_nm(kv):
    """lambda = h c / sqrt(T^2 + 2 T m c^2): relativistic momentum from kinetic energy T."""
    t = sc.e * kv * 1e3
    mc2 = sc.m_e * sc.c**2
    return sc.h * sc.c / math.sqrt(t * t + 2 * t * mc2) * 1e9


def sigma_kirkland_rad_per_v_nm(kv):
    """C_E = 2 pi m e lambda / h^2 with the relativistic mass m = gamma m0 (Kirkland)."""
    gamma = 1 + sc.e * kv * 1e3 / (sc.m_e * sc.c**2)
    lam_m = lambda_from_momentum_nm(kv) * 1e-9
    return 2 * math.pi * gamma * sc.m_e * sc.e * lam_m / sc.h**2 * 1e-9  # per V per nm


def grid(ny=24, nx=32, step=2.0):
    y = xr.DataArray(np.arange(ny) * step, dims="y", attrs={"units": "nm", "long_name": "y"})
    x = xr.DataArray(np.arange(nx) * step, dims="x", attrs={"units": "nm", "long_name": "x"})
    return {"y": y, "x": x}


def smooth_map(ny, nx, lo, hi, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx]
    f = np.sin(2 * np.pi * xx / nx * rng.uniform(0.5, 2)) * np.cos(2 * np.pi * yy / ny)
    f = f + 0.1 * rng.standard_normal((ny, nx))
    f = (f - f.min()) / (f.max() - f.min())
    return lo + (hi - lo) * f


# --------------------------------------------------------------------------- #
# wavelength and interaction constant
# --------------------------------------------------------------------------- #
SCIENCE_TABLE = [  # kV, lambda (pm), C_E (mrad / (V nm)); SCIENCE.md
    (80, 4.1757, 10.087),
    (200, 2.5079, 7.2884),
    (300, 1.9687, 6.5262),
]


@pytest.mark.parametrize(("kv", "lam_pm", "ce_mrad"), SCIENCE_TABLE)
def test_science_table(kv, lam_pm, ce_mrad):
    assert wavelength(kv) * 1e3 == pytest.approx(lam_pm, rel=1e-4)
    assert interaction_constant(kv) * 1e3 == pytest.approx(ce_mrad, rel=1e-4)
    assert isinstance(wavelength(kv), float)
    assert isinstance(interaction_constant(kv), float)


@pytest.mark.parametrize("kv", [1, 30, 80, 120, 200, 300, 1000, 3000])
def test_independent_relativistic_forms(kv):
    assert wavelength(kv) == pytest.approx(lambda_from_momentum_nm(kv), rel=1e-12)
    assert interaction_constant(kv) == pytest.approx(sigma_kirkland_rad_per_v_nm(kv), rel=1e-12)


def test_non_relativistic_limit_at_1kv():
    u = 1e3
    lam_nr = sc.h / math.sqrt(2 * sc.m_e * sc.e * u) * 1e9
    rel = 1 - wavelength(1) / lam_nr
    # within 0.1 %, and the relativistic correction (eU / 4 m c^2 = 0.049 %) is applied
    assert 0 < rel < 1e-3
    assert rel == pytest.approx(sc.e * u / (4 * sc.m_e * sc.c**2), rel=2e-3)
    # C_E -> 2 pi / (2 lambda U) = pi / (lambda U) non-relativistically
    assert interaction_constant(1) == pytest.approx(math.pi / (lam_nr * u), rel=2e-3)


def test_array_input_keeps_shape():
    kv = np.array([[80.0, 200.0, 300.0]])
    lam = wavelength(kv)
    ce = interaction_constant(kv)
    assert lam.shape == (1, 3) and ce.shape == (1, 3)
    np.testing.assert_allclose(lam[0] * 1e3, [r[1] for r in SCIENCE_TABLE], rtol=1e-4)
    np.testing.assert_allclose(ce[0] * 1e3, [r[2] for r in SCIENCE_TABLE], rtol=1e-4)
    assert wavelength([200, 300]).shape == (2,)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (0, "> 0 kV"),
        (-300, "> 0 kV"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("300", "number in kV"),
        (True, "number in kV"),
        (None, "real number"),
        (300 + 0j, "real number"),
        (300000, "plausible range 1-3000 kV"),
        (0.5, "plausible range 1-3000 kV"),
        (np.array([200.0, np.nan]), "finite"),
        ([], "empty"),
    ],
)
def test_bad_beam_energy(bad, match):
    with pytest.raises(ParameterError, match=match):
        wavelength(bad)
    with pytest.raises(ParameterError, match=match):
        interaction_constant(bad)


# --------------------------------------------------------------------------- #
# phase_to_potential
# --------------------------------------------------------------------------- #
def make_phase(dtype=np.float64, kv=300.0, frames=None):
    ny, nx = 24, 32
    c = grid(ny, nx)
    v = smooth_map(ny, nx, 5.0, 30.0, 1)  # V
    t = smooth_map(ny, nx, 50.0, 200.0, 2)  # nm
    ce = sigma_kirkland_rad_per_v_nm(kv)
    phi = ce * v * t
    if frames:
        phi = np.stack([phi * (k + 1) for k in range(frames)])
        ph = xr.DataArray(
            phi.astype(dtype),
            dims=("frame", "y", "x"),
            coords={"frame": np.arange(frames), **c},
        )
    else:
        ph = xr.DataArray(phi.astype(dtype), dims=("y", "x"), coords=c)
    ph.attrs.update(units="rad", long_name="phase", beam_energy_kv=kv, exposure_s=2.0)
    tda = xr.DataArray(t, dims=("y", "x"), coords=c, attrs={"units": "nm"})
    return ph, v, t, tda


def test_phase_to_potential_round_trip_float64():
    ph, v, t, tda = make_phase()
    before = ph.copy(deep=True)
    t_before = tda.copy(deep=True)
    out = phase_to_potential(ph, thickness=tda)
    np.testing.assert_allclose(out.values, v, rtol=1e-6)
    assert out.dtype == np.float64
    assert out.name == "potential"
    assert out.attrs["units"] == "V"
    assert out.attrs["long_name"] == "projected-average potential"
    assert out.attrs["beam_energy_kv"] == 300.0
    assert out.attrs["exposure_s"] == 2.0  # microscope metadata carried over
    assert out.dims == ph.dims
    xr.testing.assert_identical(out.coords.to_dataset(), ph.coords.to_dataset())
    assert out.x.attrs["units"] == "nm"
    rec = json.loads(out.attrs["holocorr"])
    assert rec["function"] == "holography.phase_to_potential"
    assert rec["parameters"]["beam_energy_kv"] == 300.0
    assert set(rec["inputs"]) == {"phase", "thickness"}
    # inputs untouched
    xr.testing.assert_identical(ph, before)
    xr.testing.assert_identical(tda, t_before)


def test_phase_to_potential_round_trip_float32_keeps_dtype():
    ph, v, t, _ = make_phase(dtype=np.float32)
    out = phase_to_potential(ph, thickness=t.astype(np.float32))  # ndarray map
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.values, v, rtol=1e-5)


def test_phase_to_potential_science_numbers():
    # SCIENCE.md: 300 kV, 150 nm, LATSPO 12.5 V -> 12.24 rad; charged - pristine
    # = (-1.0 V electrode + 0.3 V MIP) -> -0.685 rad. Phases are rounded there.
    c = grid(8, 8)
    ph = xr.DataArray(np.full((8, 8), 12.24), dims=("y", "x"), coords=c, attrs={"units": "rad"})
    out = phase_to_potential(ph, thickness=150.0, beam_energy_kv=300)
    assert float(out.mean()) == pytest.approx(12.5, abs=0.01)
    assert out.attrs["thickness_nm"] == 150.0
    dph = ph.copy(data=np.full((8, 8), -0.685))
    assert float(phase_to_potential(dph, thickness=150, beam_energy_kv=300).mean()) == (
        pytest.approx(-0.70, abs=0.001)
    )


def test_phase_to_potential_stack_with_2d_thickness_map():
    ph, v, t, tda = make_phase(frames=3)
    out = phase_to_potential(ph, thickness=tda)
    assert out.dims == ("frame", "y", "x")
    for k in range(3):
        np.testing.assert_allclose(out.isel(frame=k).values, v * (k + 1), rtol=1e-6)


def test_phase_units_and_thickness_units_are_converted():
    ph, v, t, tda = make_phase()
    mph = ph * 1e3
    mph.attrs.update(ph.attrs, units="mrad")
    t_um = tda / 1e3
    t_um.attrs["units"] = "µm"
    out = phase_to_potential(mph, thickness=t_um)
    np.testing.assert_allclose(out.values, v, rtol=1e-6)
    bad = ph.copy()
    bad.attrs["units"] = "V"
    with pytest.raises(CalibrationError, match="expected 'rad'"):
        phase_to_potential(bad, thickness=100.0)
    t_px = tda.copy()
    t_px.attrs["units"] = "counts"
    with pytest.raises(CalibrationError, match="expected a length"):
        phase_to_potential(ph, thickness=t_px)


def test_beam_energy_from_argument_when_attrs_missing():
    ph, v, t, tda = make_phase(kv=200.0)
    del ph.attrs["beam_energy_kv"]
    out = phase_to_potential(ph, thickness=tda, beam_energy_kv=200)
    np.testing.assert_allclose(out.values, v, rtol=1e-6)
    assert out.attrs["beam_energy_kv"] == 200.0
    with pytest.raises(CalibrationError, match=r"beam_energy_kv=.*attrs\['beam_energy_kv'\]"):
        phase_to_potential(ph, thickness=tda)


def test_beam_energy_conflict_and_bad_attr():
    ph, _, _, tda = make_phase(kv=300.0)
    with pytest.raises(CalibrationError, match="disagrees"):
        phase_to_potential(ph, thickness=tda, beam_energy_kv=200)
    # agreeing values are fine
    phase_to_potential(ph, thickness=tda, beam_energy_kv=300.0)
    ph2 = ph.copy()
    ph2.attrs["beam_energy_kv"] = 300000.0
    with pytest.raises(CalibrationError, match="plausible range"):
        phase_to_potential(ph2, thickness=tda)
    with pytest.raises(ParameterError, match="> 0 kV"):
        phase_to_potential(ph, thickness=tda, beam_energy_kv=-1)


def test_plain_ndarray_phase_warns_and_works():
    _, v, t, _ = make_phase()
    phi = sigma_kirkland_rad_per_v_nm(300) * v * t
    with pytest.warns(UncalibratedWarning):
        out = phase_to_potential(phi, thickness=t, beam_energy_kv=300)
    np.testing.assert_allclose(out.values, v, rtol=1e-6)
    assert out.x.attrs["units"] == "px"


@pytest.mark.parametrize("bad", [0, -10.0, float("nan"), float("inf"), "100", True])
def test_bad_scalar_thickness(bad):
    ph, _, _, _ = make_phase()
    with pytest.raises(ParameterError, match="thickness"):
        phase_to_potential(ph, thickness=bad)


def test_bad_thickness_maps():
    ph, _, t, tda = make_phase()
    t2 = tda.copy()
    t2[0, 0] = 0.0
    t2[3, 4] = -5.0
    with pytest.raises(DataError, match="2 pixel"):
        phase_to_potential(ph, thickness=t2)
    t3 = t.copy()
    t3[1, 1] = np.nan
    with pytest.raises(DataError, match="1 NaN"):
        phase_to_potential(ph, thickness=t3)
    shifted = tda.assign_coords(x=tda.x + 1.0)
    with pytest.raises(CalibrationError, match="interp_like"):
        phase_to_potential(ph, thickness=shifted)
    with pytest.raises(CalibrationError, match="to_common_grid"):
        phase_to_potential(ph, thickness=tda.isel(x=slice(0, 10)))
    with pytest.raises(ShapeError, match="does not broadcast"):
        phase_to_potential(ph, thickness=np.ones((5, 5)))
    with pytest.raises(ShapeError, match="must be one of"):
        phase_to_potential(ph, thickness=tda.rename(x="z"))
    with pytest.raises(DataError, match="real numbers"):
        phase_to_potential(ph, thickness=np.full(t.shape, "a"))


def test_bad_phase_values():
    ph, _, _, tda = make_phase()
    bad = ph.copy()
    bad[2, 2] = np.inf
    with pytest.raises(DataError, match="NaN or infinite"):
        phase_to_potential(bad, thickness=tda)
    with pytest.raises(DataError, match="complex"):
        phase_to_potential(ph.astype(np.complex128), thickness=tda)
    with pytest.raises(ShapeError):
        phase_to_potential(ph.rename(x="energy"), thickness=100.0)


# --------------------------------------------------------------------------- #
# thickness_from_amplitude
# --------------------------------------------------------------------------- #
LAM = 169.0  # nm, LATP at 300 kV (SCIENCE.md)


def make_amplitude(avac=0.8, dtype=np.float64):
    ny, nx = 20, 40
    c = grid(ny, nx, step=2.0)  # x from 0 to 78 nm
    t = smooth_map(ny, nx, 20.0, 180.0, 3)
    x = c["x"].values
    t[:, x <= 20.0] = 0.0  # vacuum strip, x in [0, 20] nm
    amp = avac * np.exp(-t / (2 * LAM))
    da = xr.DataArray(amp.astype(dtype), dims=("y", "x"), coords=c, attrs={"beam_energy_kv": 300.0})
    return da, t


def test_thickness_round_trip_vacuum_region():
    amp, t = make_amplitude(0.8)
    before = amp.copy(deep=True)
    out = thickness_from_amplitude(amp, mean_free_path=LAM, vacuum={"x": slice(0, 20)})
    np.testing.assert_allclose(out.values, t, atol=1e-6)
    assert out.name == "thickness"
    assert out.attrs["units"] == "nm"
    assert out.attrs["long_name"] == "thickness"
    assert out.attrs["vacuum_amplitude"] == pytest.approx(0.8, rel=1e-12)
    assert out.attrs["mean_free_path_nm"] == LAM
    assert out.attrs["beam_energy_kv"] == 300.0
    xr.testing.assert_identical(out.coords.to_dataset(), amp.coords.to_dataset())
    rec = json.loads(out.attrs["holocorr"])
    assert rec["function"] == "holography.thickness_from_amplitude"
    assert rec["parameters"]["vacuum"]["region"] == {"x": [0, 20]}
    assert json.loads(out.attrs["vacuum"])["n_pixels"] == 20 * 11
    xr.testing.assert_identical(amp, before)


def test_thickness_other_vacuum_forms():
    amp, t = make_amplitude(0.8)
    by_value = thickness_from_amplitude(amp, mean_free_path=LAM, vacuum=0.8)
    np.testing.assert_allclose(by_value.values, t, atol=1e-6)
    mask = amp.x <= 20.0  # DataArray (x,) bool, broadcast over y
    by_mask = thickness_from_amplitude(amp, mean_free_path=LAM, vacuum=mask)
    np.testing.assert_allclose(by_mask.values, t, atol=1e-6)
    np_mask = np.zeros(amp.shape, bool)
    np_mask[:, :3] = True
    by_np = thickness_from_amplitude(amp, mean_free_path=LAM, vacuum=np_mask)
    np.testing.assert_allclose(by_np.values, t, atol=1e-6)
    assert "vacuum_mask" in json.loads(by_np.attrs["holocorr"])["inputs"]
    # tuple bounds, given in reverse order
    by_tuple = thickness_from_amplitude(amp, mean_free_path=LAM, vacuum={"x": (20, 0)})
    np.testing.assert_allclose(by_tuple.values, t, atol=1e-6)
    # already-normalised amplitude, default vacuum=None
    norm = amp / 0.8
    by_none = thickness_from_amplitude(norm, mean_free_path=LAM)
    np.testing.assert_allclose(by_none.values, t, atol=1e-6)
    assert by_none.attrs["vacuum_amplitude"] == 1.0


def test_thickness_mean_free_path_map_and_units():
    amp, t = make_amplitude(1.0)
    lam_map = smooth_map(*amp.shape, 80.0, 170.0, 4)
    a = np.exp(-t / (2 * lam_map))
    da = amp.copy(data=a)
    lam_da = xr.DataArray(lam_map, dims=("y", "x"), coords=amp.coords, attrs={"units": "nm"})
    out = thickness_from_amplitude(da, mean_free_path=lam_da)
    np.testing.assert_allclose(out.values, t, atol=1e-6)
    lam_a = lam_da * 10
    lam_a.attrs["units"] = "Å"
    out_a = thickness_from_amplitude(da, mean_free_path=lam_a)
    np.testing.assert_allclose(out_a.values, t, atol=1e-6)


def test_thickness_stack_per_frame_vacuum_and_float32():
    a1, t = make_amplitude(0.8)
    a2, _ = make_amplitude(0.5)
    stack = xr.concat([a1, a2], dim="frame").astype(np.float32)
    out = thickness_from_amplitude(stack, mean_free_path=LAM, vacuum={"x": slice(None, 20)})
    assert out.dtype == np.float32
    assert out.dims == ("frame", "y", "x")
    np.testing.assert_allclose(out.attrs["vacuum_amplitude"], [0.8, 0.5], rtol=1e-6)
    for k in range(2):
        # float32 log: absolute error about 2 lambda * 1e-7 per unit ratio
        np.testing.assert_allclose(out.isel(frame=k).values, t, atol=2e-4)


def test_plain_ndarray_amplitude_warns():
    amp, t = make_amplitude(0.8)
    with pytest.warns(UncalibratedWarning):
        out = thickness_from_amplitude(amp.values, mean_free_path=LAM, vacuum={"x": (0, 10)})
    np.testing.assert_allclose(out.values, t, atol=1e-6)  # pixels 0..10 are vacuum


def test_thickness_bad_inputs():
    amp, _ = make_amplitude(0.8)
    bad = amp.copy()
    bad[0, 5] = 0.0
    bad[1, 5] = -0.1
    bad[2, 7] = 0.0
    with pytest.raises(DataError, match=r"3 value\(s\) <= 0.*crop.*reconstruction"):
        thickness_from_amplitude(bad, mean_free_path=LAM, vacuum=0.8)
    nan = amp.copy()
    nan[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        thickness_from_amplitude(nan, mean_free_path=LAM, vacuum=0.8)
    with pytest.raises(ParameterError, match="selects no pixel"):
        thickness_from_amplitude(amp, mean_free_path=LAM, vacuum=np.zeros(amp.shape, bool))
    with pytest.raises(ParameterError, match="selects no pixel.*runs from 0 to 78 nm"):
        thickness_from_amplitude(amp, mean_free_path=LAM, vacuum={"x": slice(500, 600)})
    with pytest.raises(ParameterError, match="only"):
        thickness_from_amplitude(amp, mean_free_path=LAM, vacuum={"frame": slice(0, 1)})
    with pytest.raises(ParameterError, match="boolean mask"):
        thickness_from_amplitude(amp, mean_free_path=LAM, vacuum=np.ones(amp.shape))
    with pytest.raises(ParameterError, match="ambiguous"):
        thickness_from_amplitude(amp, mean_free_path=LAM, vacuum=True)
    with pytest.raises(ParameterError, match="vacuum"):
        thickness_from_amplitude(amp, mean_free_path=LAM, vacuum=-0.8)
    with pytest.raises(ParameterError, match="vacuum must be"):
        thickness_from_amplitude(amp, mean_free_path=LAM, vacuum="left")
    with pytest.raises(ShapeError, match="does not broadcast"):
        thickness_from_amplitude(amp, mean_free_path=LAM, vacuum=np.ones((3, 3), bool))
    with pytest.raises(CalibrationError, match="interp_like"):
        thickness_from_amplitude(
            amp, mean_free_path=LAM, vacuum=(amp.x <= 20).assign_coords(x=amp.x + 0.5)
        )
    for lam in (0, -169.0, float("nan")):
        with pytest.raises(ParameterError, match="mean_free_path"):
            thickness_from_amplitude(amp, mean_free_path=lam, vacuum=0.8)
    with pytest.raises(DataError, match="complex"):
        thickness_from_amplitude(amp.astype(np.complex64), mean_free_path=LAM)


# --------------------------------------------------------------------------- #
# mean_free_path
# --------------------------------------------------------------------------- #
IMFP_TABLE = [  # SCIENCE.md: Iakoubovskii 2008, rounded to 1 nm
    ("LATP", 200, 140),
    ("LATP", 300, 169),
    ("LATSPO", 300, 169),
    ("LiCoO2", 200, 123),
    ("LiCoO2", 300, 148),
    ("Pt", 200, 86),
    ("Pt", 300, 103),
]


@pytest.mark.parametrize(("material", "kv", "expected"), IMFP_TABLE)
def test_mean_free_path_science_table(material, kv, expected):
    # Largest deviation is LATP at 200 kV: 141.0 nm vs 140 (0.7 %, density 2.9 assumed).
    assert mean_free_path(beam_energy_kv=kv, material=material) == pytest.approx(expected, rel=0.01)


def test_mean_free_path_density_matches_material():
    assert mean_free_path(beam_energy_kv=200, density=5.05) == pytest.approx(
        mean_free_path(beam_energy_kv=200, material="licoo2"), rel=1e-12
    )
    # explicit density overrides the table's
    assert mean_free_path(beam_energy_kv=200, material="LiCoO2", density=21.45) == (
        pytest.approx(mean_free_path(beam_energy_kv=200, material="Pt"), rel=1e-12)
    )


def test_mean_free_path_closed_form_large_angle_limit():
    # Hand evaluation of Iakoubovskii's b -> inf form for Si at 200 kV:
    # F = (1 + 200/1022)/(1 + 200/511)^2, tE = 5.5 rho^0.3/(F E0), tC = 20 mrad
    f = (1 + 200 / 1022) / (1 + 200 / 511) ** 2
    te = 5.5 * 2.33**0.3 / (f * 200)
    expected = 200 * f * 200 / (11 * 2.33**0.3 * math.log(20**2 / te**2))
    assert expected == pytest.approx(148.84, abs=0.01)
    assert mean_free_path(beam_energy_kv=200, material="Si") == pytest.approx(expected, rel=1e-12)


def test_mean_free_path_collection_angle_behaviour():
    total = mean_free_path(beam_energy_kv=300, material="LiCoO2")
    # a very large aperture converges to the total mean free path
    assert mean_free_path(
        beam_energy_kv=300, material="LiCoO2", collection_angle_mrad=1000
    ) == pytest.approx(total, rel=1e-3)
    # at b = tC = 20 mrad and a = 0 the log loses ln 2 (up to tE^2/b^2 ~ 1e-5)
    f = (1 + 300 / 1022) / (1 + 300 / 511) ** 2
    te = 5.5 * 5.05**0.3 / (f * 300)
    log_total = math.log(400 / te**2)
    b20 = mean_free_path(beam_energy_kv=300, material="LiCoO2", collection_angle_mrad=20)
    assert b20 / total == pytest.approx(log_total / (log_total - math.log(2)), rel=1e-4)
    assert b20 / total == pytest.approx(1.063, abs=0.002)
    # a <= b: convergence angle has no effect
    b20_a10 = mean_free_path(
        beam_energy_kv=300, material="LiCoO2", collection_angle_mrad=20, convergence_angle_mrad=10
    )
    assert b20_a10 == pytest.approx(b20, rel=1e-12)
    # a > b: collection angle drops out, a takes its role
    a30_b5 = mean_free_path(
        beam_energy_kv=300, material="LiCoO2", collection_angle_mrad=5, convergence_angle_mrad=30
    )
    a30_b10 = mean_free_path(
        beam_energy_kv=300, material="LiCoO2", collection_angle_mrad=10, convergence_angle_mrad=30
    )
    b30 = mean_free_path(beam_energy_kv=300, material="LiCoO2", collection_angle_mrad=30)
    assert a30_b5 == pytest.approx(a30_b10, rel=1e-12)
    assert a30_b5 == pytest.approx(b30, rel=1e-12)


def test_mean_free_path_malis():
    # Hand evaluation: Si, 200 kV, b = 10 mrad: E_m = 7.6 * 14^0.36 eV,
    # lambda = 106 F E0 / (E_m ln(2 b E0 / E_m)) = 125.333 nm
    assert mean_free_path(
        beam_energy_kv=200, material="Si", method="malis", collection_angle_mrad=10
    ) == pytest.approx(125.3335, rel=1e-5)
    # LiCoO2: Z_eff = sum f Z^1.3 / sum f Z^0.3 = 13.6486, 300 kV, 20 mrad -> 130.552 nm
    by_formula = mean_free_path(
        beam_energy_kv=300, composition="LiCoO2", method="malis", collection_angle_mrad=20
    )
    by_dict = mean_free_path(
        beam_energy_kv=300,
        composition={"Li": 1, "Co": 1, "O": 2},
        method="malis",
        collection_angle_mrad=20,
    )
    assert by_formula == pytest.approx(130.5521, rel=1e-5)
    assert by_dict == pytest.approx(by_formula, rel=1e-12)
    # parentheses are expanded: (PO4)3 == P3O12
    a = mean_free_path(
        beam_energy_kv=300,
        composition="Li1.3Al0.3Ti1.7(PO4)3",
        method="malis",
        collection_angle_mrad=20,
    )
    b = mean_free_path(
        beam_energy_kv=300, material="LATP", method="malis", collection_angle_mrad=20
    )
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs the density"),
        ({"composition": "LiCoO2"}, "needs the density"),
        ({"density": 2330.0}, "g/cm\\^3"),
        ({"density": 0.0}, "density"),
        ({"density": float("nan")}, "density"),
        ({"material": "unobtainium"}, "'LATSPO'.*'LiCoO2'"),
        ({"material": "Pt", "collection_angle_mrad": -5}, "collection_angle_mrad"),
        ({"material": "Pt", "collection_angle_mrad": 5000}, "not a small angle"),
        ({"material": "Pt", "convergence_angle_mrad": -1}, "convergence_angle_mrad"),
        ({"material": "Pt", "method": "tpp2m"}, "'iakoubovskii', 'malis'"),
        ({"material": "Pt", "method": "malis"}, "finite collection_angle_mrad"),
        ({"density": 3.0, "method": "malis", "collection_angle_mrad": 10}, "composition"),
        ({"composition": "LiXx2", "method": "malis", "collection_angle_mrad": 10}, "unknown"),
        ({"composition": "Li(PO4", "method": "malis", "collection_angle_mrad": 10}, "unmatched"),
        ({"composition": "li co", "method": "malis", "collection_angle_mrad": 10}, "formula"),
        ({"composition": 42, "method": "malis", "collection_angle_mrad": 10}, "formula string"),
        (
            {
                "material": "Si",
                "method": "malis",
                "collection_angle_mrad": 10,
                "convergence_angle_mrad": 2,
            },
            "convergence",
        ),
    ],
)
def test_mean_free_path_bad_inputs(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        mean_free_path(beam_energy_kv=200, **kwargs)


def test_mean_free_path_bad_beam_energy():
    with pytest.raises(ParameterError, match="plausible range"):
        mean_free_path(beam_energy_kv=200000, material="Pt")
    with pytest.raises(ParameterError, match="single voltage"):
        mean_free_path(beam_energy_kv=[200, 300], material="Pt")
