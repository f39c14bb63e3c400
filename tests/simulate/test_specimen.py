"""Reference-specimen simulator: ground-truth maps and holograms against known answers."""

import json
import math

import numpy as np
import pytest
import xarray as xr
from scipy import constants as sc

from holocorr.errors import DataError, HolocorrError, ParameterError, ShapeError
from holocorr.holography import reconstruct
from holocorr.simulate._hologram import carrier_frequency
from holocorr.simulate._specimen import holograms, specimen


def ce_codata(kv):
    """C_E from SCIENCE.md's formula with CODATA constants (independent of holocorr)."""
    e0 = sc.m_e * sc.c**2
    eu = sc.e * kv * 1e3
    lam = sc.h / math.sqrt(2 * sc.m_e * eu * (1 + eu / (2 * e0)))  # m
    return 2 * math.pi / (lam * 1e9 * kv * 1e3) * (e0 + eu) / (2 * e0 + eu)  # rad/(V nm)


CE = ce_codata(300.0)
LAM_LATSPO = 169.35  # holocorr's Iakoubovskii value at 300 kV (SCIENCE.md table: 169 nm)
LAM_PT = 103.23  # (SCIENCE.md table: 103 nm)
# a small specimen: x from -150 to 874 nm, full thickness from 264 nm down
SMALL = dict(shape=(128, 256), pixel_size_nm=4.0, vacuum_width_nm=64.0, edge_width_nm=200.0)


def at(ds, var, x, y=None):
    """Value of `var` at (x, y) nm; y defaults to the pivot row (middle of the full lamella)."""
    y = ds.attrs["pivot_y_nm"] if y is None else y
    return float(ds[var].sel(x=x, y=y, method="nearest"))


def crossings(profile, coord, level):
    """Coordinates where a monotonic 1-D profile crosses `level` (linear interpolation)."""
    p = np.asarray(profile, float)
    if p[-1] < p[0]:
        p, coord = p[::-1], coord[::-1]
    return float(np.interp(level, p, coord))


# ----------------------------------------------------------------- specimen: layer values
def test_layer_values_far_from_interfaces():
    ds = specimen(state="charged", **SMALL)
    t = 150.0
    # Pt, electrode, LATSPO at the pivot row
    assert at(ds, "li", -100) == pytest.approx(0.0, abs=1e-9)
    assert at(ds, "li", 200) == pytest.approx(2.3, abs=1e-9)
    assert at(ds, "li", 700) == pytest.approx(1.3, abs=1e-9)
    assert at(ds, "mip", -100) == pytest.approx(30.0, abs=1e-9)
    assert at(ds, "mip", 200) == pytest.approx(12.5 + 0.3 * 1.0, abs=1e-9)
    assert at(ds, "mip", 700) == pytest.approx(12.5, abs=1e-9)
    assert at(ds, "electrode_potential", -100) == pytest.approx(0.0, abs=1e-9)
    assert at(ds, "electrode_potential", 200) == pytest.approx(-1.0, abs=1e-9)
    assert at(ds, "electrode_potential", 700) == pytest.approx(0.0, abs=1e-9)
    assert at(ds, "potential", 200) == pytest.approx(11.8, abs=1e-9)
    assert at(ds, "potential", -100) == pytest.approx(30.0, abs=1e-9)
    for x in (-100, 200, 700):
        assert at(ds, "thickness", x) == pytest.approx(t, abs=1e-9)
        assert at(ds, "phase", x) == pytest.approx(CE * at(ds, "potential", x) * t, rel=1e-5)
    np.testing.assert_allclose(ds.potential, ds.mip + ds.electrode_potential, atol=1e-12)
    # SCIENCE.md numbers, read from the maps: phi(LATSPO) = 12.24 rad at 300 kV, 150 nm
    assert at(ds, "phase", 700) == pytest.approx(12.24, abs=0.005)
    assert at(ds, "phase", -100) == pytest.approx(CE * 30.0 * t, rel=1e-5)  # 29.37 rad


def test_pristine_has_no_electrode_layer():
    ds = specimen(state="pristine", **SMALL)
    inside = (ds.thickness > 0) & (ds.distance > 30)
    np.testing.assert_allclose(ds.li.where(inside, drop=True), 1.3, atol=1e-12)
    np.testing.assert_allclose(ds.mip.where(inside, drop=True), 12.5, atol=1e-12)
    assert float(np.abs(ds.electrode_potential).max()) == 0.0
    assert at(ds, "li", -100) == pytest.approx(0.0, abs=1e-9)


def test_delta_phase_and_potential_step_charged_minus_pristine():
    ch = specimen(state="charged", **SMALL)
    pr = specimen(state="pristine", **SMALL)
    dpot = ch.potential - pr.potential
    dphi = ch.phase - pr.phase
    # inside the lithiated layer: -1.0 V electrode potential + 0.3 V MIP = -0.7 V
    for x in (100, 200, 280):
        assert at(ch, "potential", x) - at(pr, "potential", x) == pytest.approx(-0.7, abs=1e-6)
        assert float(dphi.sel(x=x, y=ch.attrs["pivot_y_nm"], method="nearest")) == pytest.approx(
            -0.685, abs=0.005
        )
    # = C_E t (k_MIP * 1.0 + dV) = 6.5262e-3 * 150 * (-0.7)
    assert at(ch, "phase", 200) - at(pr, "phase", 200) == pytest.approx(CE * 150 * -0.7, rel=1e-5)
    # no change in the LATSPO bulk and in the Pt
    for x in (-100, 700):
        assert float(dpot.sel(x=x, y=ch.attrs["pivot_y_nm"], method="nearest")) == pytest.approx(
            0, abs=1e-9
        )
    truth = json.loads(ch.attrs["truth"])
    assert truth["li_front_nm"] == 400.0
    assert truth["potential_step_charged_minus_pristine_v"] == pytest.approx(-0.7)
    assert truth["delta_phase_charged_minus_pristine_rad"] == pytest.approx(-0.685, abs=0.001)
    assert truth["phase_latspo_rad"] == pytest.approx(12.24, abs=0.005)
    assert truth["interaction_constant_rad_per_v_nm"] == pytest.approx(6.5262e-3, abs=1e-7)
    assert truth["thickness_nm"] == 150.0
    assert json.loads(pr.attrs["truth"])["li_front_nm"] is None


def test_erf_blur_midpoint_and_10_90_width():
    ds = specimen(shape=(24, 4096), pixel_size_nm=0.25, vacuum_width_nm=0.5, edge_width_nm=1.0)
    row = ds.isel(y=-1)
    x = ds.x.values
    # electrode/electrolyte front (sigma 20 nm): Li from 2.3 to 1.3, midpoint 1.8 at x = 400
    sel = (x > 250) & (x < 550)
    li = row.li.values[sel]
    assert crossings(li, x[sel], 1.8) == pytest.approx(400.0, abs=0.01)
    w = abs(crossings(li, x[sel], 1.3 + 0.1) - crossings(li, x[sel], 2.3 - 0.1))
    assert w == pytest.approx(2.5631 * 20.0, abs=0.05)
    # Pt interface (sigma 5 nm): MIP from 30 to 12.8, midpoint 21.4 at x = 0
    sel = (x > -60) & (x < 60)
    mip = row.mip.values[sel]
    assert crossings(mip, x[sel], 21.4) == pytest.approx(0.0, abs=0.01)
    w = abs(crossings(mip, x[sel], 12.8 + 0.1 * 17.2) - crossings(mip, x[sel], 30 - 0.1 * 17.2))
    assert w == pytest.approx(2.5631 * 5.0, abs=0.02)
    # Li at the Pt interface is halfway between Pt (0) and the electrode (2.3)
    assert float(row.li.sel(x=0.0)) == pytest.approx(1.15, abs=1e-6)


def test_space_charge_drop():
    kw = dict(
        shape=(24, 1024),
        pixel_size_nm=0.5,
        vacuum_width_nm=0.5,
        edge_width_nm=1.0,
        pt_extent_nm=100.0,
        pt_blur_nm=0.01,
    )
    base = specimen(**kw)
    sc_ = specimen(space_charge_v=1.3, space_charge_width_nm=10.0, **kw)
    row = (sc_.electrode_potential - base.electrode_potential).isel(y=-1)
    # 1.3 V at the interface, 90 % of it gone within 10 nm: 1.3 * 10**(-d/10)
    for d, want in (
        (0.5, 1.3 * 10**-0.05),
        (10.0, 0.13),
        (20.0, 0.013),
        (5.0, 1.3 / math.sqrt(10)),
    ):
        assert float(row.sel(x=d)) == pytest.approx(want, rel=1e-6)
    assert float(row.sel(x=-20.0)) == pytest.approx(0.0, abs=1e-12)  # nothing inside Pt
    # pristine: no electrode potential at all
    pr = specimen(state="pristine", space_charge_v=1.3, **kw)
    assert float(np.abs(pr.electrode_potential).max()) == 0.0


def test_thickness_vacuum_edge_and_amplitude():
    ds = specimen(**SMALL)
    vac = ds.where(ds.y <= 64.0, drop=True)
    assert vac.sizes["y"] == 17
    for v in ("thickness", "li", "mip", "potential", "electrode_potential", "phase"):
        assert float(np.abs(vac[v]).max()) == 0.0, v
    assert float(vac.amplitude.min()) == 1.0
    # raised-cosine edge: half thickness at the middle of the 200 nm ramp (y = 164 nm)
    assert at(ds, "thickness", 700, y=164.0) == pytest.approx(75.0, abs=1e-9)
    assert at(ds, "thickness", 700, y=264.0) == pytest.approx(150.0, abs=1e-9)
    # amplitude = exp(-t / (2 lambda_in)) with lambda_in of LATSPO and Pt at 300 kV
    assert at(ds, "mean_free_path", 700) == pytest.approx(LAM_LATSPO, abs=0.01)
    assert at(ds, "mean_free_path", -100) == pytest.approx(LAM_PT, abs=0.01)
    assert at(ds, "mean_free_path", 700) == pytest.approx(169.0, rel=0.01)  # SCIENCE.md table
    assert at(ds, "mean_free_path", -100) == pytest.approx(103.0, rel=0.01)
    assert at(ds, "amplitude", 700) == pytest.approx(math.exp(-150 / (2 * LAM_LATSPO)), abs=1e-4)
    assert at(ds, "amplitude", -100) == pytest.approx(math.exp(-150 / (2 * LAM_PT)), abs=1e-4)
    assert at(ds, "amplitude", 700, y=164.0) == pytest.approx(
        math.exp(-75 / (2 * LAM_LATSPO)), abs=1e-4
    )
    np.testing.assert_allclose(
        ds.amplitude, np.exp(-ds.thickness / (2 * ds.mean_free_path)), rtol=1e-12
    )
    assert float(ds.mean_free_path.min()) > 0


@pytest.mark.parametrize("direction,axis", [(90.0, "y"), (0.0, "x")])
def test_wedge_slope(direction, axis):
    ds = specimen(wedge_nm_per_um=50.0, wedge_direction_deg=direction, **SMALL)
    y0 = ds.attrs["pivot_y_nm"]
    assert at(ds, "thickness", 0.0, y=y0) == pytest.approx(150.0, abs=0.1)
    if axis == "y":
        t1, t2 = at(ds, "thickness", 700, y=300.0), at(ds, "thickness", 700, y=500.0)
        assert (t2 - t1) / 200.0 == pytest.approx(0.05, rel=1e-9)  # 50 nm per um
    else:
        t1, t2 = at(ds, "thickness", 102.0, y=400.0), at(ds, "thickness", 702.0, y=400.0)
        assert (t2 - t1) / 600.0 == pytest.approx(0.05, rel=1e-9)
    with pytest.raises(ParameterError, match="thickness negative"):
        specimen(wedge_nm_per_um=-400.0, wedge_direction_deg=0.0, **SMALL)


def test_tilted_interface_front_on_rotated_line():
    tilt = 20.0
    ds = specimen(
        shape=(128, 1024),
        pixel_size_nm=1.0,
        vacuum_width_nm=8.0,
        edge_width_nm=8.0,
        interface_tilt_deg=tilt,
    )
    y0 = ds.attrs["pivot_y_nm"]
    a = math.radians(tilt)
    x = ds.x.values
    for iy in (30, 70, 120):
        y = float(ds.y[iy])
        li = ds.li.values[iy]
        sel = (x > 200) & (x < 650)
        front = crossings(li[sel], x[sel], 1.8)
        assert front == pytest.approx((400 - (y - y0) * math.sin(a)) / math.cos(a), abs=0.05)
        sel = (x > -120) & (x < 120)
        pt = crossings(ds.mip.values[iy][sel], x[sel], 21.4)
        assert pt == pytest.approx(-(y - y0) * math.tan(a), abs=0.05)
    # the 'distance' variable is the perpendicular distance to the rotated line
    xx, yy = np.meshgrid(x, ds.y.values)
    np.testing.assert_allclose(ds.distance, xx * math.cos(a) + (yy - y0) * math.sin(a), atol=1e-9)


@pytest.mark.parametrize("kappa", [0.5, -0.5])
def test_curved_interface_front_on_circle(kappa):
    # kappa [1/um] -> R = 1/kappa = +-2000 nm, centre at (R, y0): LATSPO side for kappa > 0
    ds = specimen(
        shape=(256, 512),
        pixel_size_nm=2.0,
        vacuum_width_nm=8.0,
        edge_width_nm=8.0,
        interface_curvature_per_um=kappa,
    )
    r = 1e3 / kappa
    y0 = ds.attrs["pivot_y_nm"]
    x = ds.x.values
    for iy in (20, 128, 250):
        y = float(ds.y[iy])
        sel = (x > 250) & (x < 700)
        front = crossings(ds.li.values[iy][sel], x[sel], 1.8)
        assert math.hypot(front - r, y - y0) == pytest.approx(abs(r - 400.0), abs=0.1)
        sel = (x > -100) & (x < 150)
        pt = crossings(ds.mip.values[iy][sel], x[sel], 21.4)
        assert math.hypot(pt - r, y - y0) == pytest.approx(abs(r), abs=0.1)
    # 'distance' is the signed distance to that circle, > 0 on the LATSPO side
    xx, yy = np.meshgrid(x, ds.y.values)
    want = math.copysign(1.0, kappa) * (abs(r) - np.hypot(xx - r, yy - y0))
    np.testing.assert_allclose(ds.distance, want, atol=1e-6)
    with pytest.raises(ParameterError, match="centre of curvature"):
        specimen(shape=(256, 512), pixel_size_nm=2.0, interface_curvature_per_um=4 * kappa)


def test_labels_and_attrs():
    ds = specimen(**SMALL)
    for name in list(ds.data_vars) + ["y", "x"]:
        assert ds[name].attrs.get("units"), name
        assert ds[name].attrs.get("long_name"), name
    assert ds.x.attrs["units"] == "nm" and ds.y.attrs["units"] == "nm"
    assert set(ds.data_vars) >= {
        "li",
        "mip",
        "electrode_potential",
        "potential",
        "thickness",
        "mean_free_path",
        "phase",
        "amplitude",
        "distance",
    }
    assert ds.attrs["beam_energy_kv"] == 300.0
    assert ds.attrs["interaction_constant"] == pytest.approx(CE, rel=1e-4)
    assert ds.attrs["state"] == "charged" and ds.attrs["electrode_thickness_nm"] == 400.0
    assert json.loads(ds.attrs["holocorr"])["function"] == "simulate.specimen"
    assert float(ds.x[0]) == -150.0 and float(ds.x[1] - ds.x[0]) == 4.0
    assert all(ds[v].dtype == np.float64 for v in ds.data_vars)
    # 200 kV: C_E and the mean free paths follow the beam energy
    d2 = specimen(beam_energy_kv=200.0, **SMALL)
    assert d2.attrs["interaction_constant"] == pytest.approx(ce_codata(200.0), rel=1e-4)
    assert at(d2, "mean_free_path", 700) == pytest.approx(140.0, rel=0.01)


@pytest.mark.parametrize(
    "kw,err,match",
    [
        (dict(state="discharged"), ParameterError, "state='discharged' is not allowed"),
        (dict(thickness_nm=-5.0), ParameterError, "thickness_nm must be finite and >= 0"),
        (dict(pt_blur_nm=0.0), ParameterError, "pt_blur_nm must be finite and > 0"),
        (dict(interface_blur_nm=-1.0), ParameterError, "interface_blur_nm"),
        (dict(shape=(8, 256)), ShapeError, "too small"),
        (dict(shape=(64,)), ShapeError, "pair of integers"),
        (dict(shape=(64.0, 128)), ShapeError, "pair of integers"),
        (dict(pixel_size_nm=0.0), ParameterError, "pixel_size_nm"),
        (dict(pixel_size_nm=float("nan")), ParameterError, "pixel_size_nm"),
        (dict(k_mip_v_per_li=float("nan")), ParameterError, "k_mip_v_per_li must be finite"),
        (
            dict(electrode_potential_v="-1"),
            ParameterError,
            "electrode_potential_v must be a real number",
        ),
        (dict(li_electrode=-1.0), ParameterError, "li_electrode"),
        (dict(beam_energy_kv=300000.0), ParameterError, "plausible range"),
        (dict(interface_tilt_deg=90.0), ParameterError, r"\(-90, 90\)"),
        (dict(vacuum_width_nm=400.0, edge_width_nm=200.0), ParameterError, "no full-thickness"),
        (dict(mfp_pt_nm=0.0), ParameterError, "mfp_pt_nm"),
        (dict(space_charge_width_nm=0.0), ParameterError, "space_charge_width_nm"),
    ],
)
def test_specimen_bad_inputs(kw, err, match):
    args = {**SMALL, **kw}
    with pytest.raises(err, match=match):
        specimen(**args)


def test_specimen_is_keyword_only():
    with pytest.raises(TypeError):
        specimen((64, 64))  # noqa


# ----------------------------------------------------------------- holograms
# 320 x 512 px at 2 nm: Pt from x = -250, vacuum above y = 100 nm, a 200 nm wide edge ramp
# (within the sideband bandwidth), full thickness below y = 300 nm.
HOLO = dict(
    shape=(320, 512),
    pixel_size_nm=2.0,
    vacuum_width_nm=100.0,
    edge_width_nm=200.0,
    pt_extent_nm=250.0,
)
SHAPE = HOLO["shape"]
M = 40  # px kept clear of the image borders (ringing of a non-periodic hologram)


@pytest.fixture(scope="module")
def charged():
    return specimen(state="charged", **HOLO)


@pytest.fixture(scope="module")
def pristine():
    return specimen(state="pristine", **HOLO)


def interior(spec):
    """Masks of regions far from interfaces, the lamella edge and the image borders."""
    d = spec.distance.values
    y = np.broadcast_to(spec.y.values[:, None], d.shape)
    keep = np.zeros(d.shape, bool)
    keep[M:-M, M:-M] = True
    full = keep & (y >= 300.0 + 20.0)
    return {
        "electrode": full & (d > 100) & (d < 340),  # Pt step ringing reaches ~70 nm
        "latspo": full & (d > 460),
        "vacuum": (y >= 20.0)
        & (y <= 90.0)
        & np.pad(np.ones((d.shape[0], d.shape[1] - 2 * M), bool), ((0, 0), (M, M))),
    }


def recon(h, **kw):
    return reconstruct(h.object, h.reference, output_shape=SHAPE, unwrap=False, **kw)


def phase_error(ds, spec, masks):
    """Wrapped (recovered - vacuum offset - truth) [rad]."""
    ph = ds.phase.values.astype(np.float64)
    offset = np.angle(np.exp(1j * ph[masks["vacuum"]]).mean())
    return np.angle(np.exp(1j * (ph - offset - spec.phase.values)))


def test_reconstructed_phase_matches_specimen_noise_free(charged):
    masks = interior(charged)
    h = holograms(charged, dose=None, biprism_fresnel=False)
    err = phase_error(recon(h), charged, masks)
    for region in ("electrode", "latspo"):
        assert masks[region].sum() > 3000
        e = err[masks[region]]
        assert np.abs(e).max() < 0.05, region  # measured 0.018 / 0.038
        assert abs(e.mean()) < 0.02, region


def test_reconstruction_at_dose_500(charged, pristine):
    masks = interior(charged)
    hc = holograms(charged, dose=500.0, rng=11)
    hp = holograms(pristine, dose=500.0, rng=12)
    rc, rp = recon(hc), recon(hp)
    err = phase_error(rc, charged, masks)
    for region in ("electrode", "latspo"):
        e = err[masks[region]]
        assert abs(e.mean()) < 0.05, region  # measured |mean| <= 0.01
        assert 0.02 < e.std() < 0.1, region  # shot noise ~0.05 rad per pixel
    # the amplitude gives exp(-t / 2 lambda_in) of LATSPO
    a = rc.amplitude.values[masks["latspo"]]
    assert float(np.mean(a)) == pytest.approx(math.exp(-150 / (2 * LAM_LATSPO)), abs=0.02)
    # in-situ difference charged - pristine: -0.685 rad in the layer, 0 in the LATSPO
    dphi = np.angle(np.exp(1j * (rc.phase.values.astype(float) - rp.phase.values.astype(float))))
    vac = np.angle(np.exp(1j * dphi[masks["vacuum"]]).mean())
    assert float(np.mean(dphi[masks["electrode"]] - vac)) == pytest.approx(-0.685, abs=0.05)
    assert float(np.mean(dphi[masks["latspo"]] - vac)) == pytest.approx(0.0, abs=0.05)


def fresnel_factor(shape, angle_deg, a=0.2, d0=40.0, ell=50.0):
    """The documented model: F = 1 + a sum_k exp(i pi (d_k/d0)^2 - d_k/l), d_k along the carrier."""
    th = math.radians(angle_deg)
    ii, jj = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    u = -math.sin(th) * ii + math.cos(th) * jj  # carrier direction in (row, column)
    f = 1.0 + 0j
    for d in (u - u.min(), u.max() - u):
        f = f + a * np.exp(1j * np.pi * (d / d0) ** 2 - d / ell)
    return f


def test_biprism_fresnel_fringes_cancel(charged):
    masks = interior(charged)
    # angle 135: the overlap edges cut the top-left and bottom-right (LATSPO) corners
    kw = dict(angle_deg=135.0, dose=None, fresnel_amplitude=0.3)
    h0 = holograms(charged, biprism_fresnel=False, **kw)
    h1 = holograms(charged, biprism_fresnel=True, **kw)
    f = fresnel_factor(SHAPE, 135.0, a=0.3)
    zone = masks["latspo"] & (np.abs(f - 1) > 0.03)
    assert zone.sum() > 2000
    # the fringes are in the holograms: the vacuum reference is modulated by |F|
    # (noise-free: I = 1/2 (1 + |F|^2 + 2 mu |F| cos(...)))
    r0, r1 = h0.reference.values.astype(float), h1.reference.values.astype(float)
    assert np.abs(r1 / r0 - 1)[zone].max() > 0.08  # measured 0.10
    # without the reference division they stay in the reconstructed amplitude ...
    a1 = reconstruct(h1.object, output_shape=SHAPE, unwrap=False).amplitude.values
    a0 = reconstruct(h0.object, output_shape=SHAPE, unwrap=False).amplitude.values
    assert np.abs(a1 / a0 - 1)[zone].max() > 0.06  # measured 0.09
    # ... and the division by the reference removes them from phase and amplitude
    rec0, rec1 = recon(h0), recon(h1)
    err0, err1 = phase_error(rec0, charged, masks), phase_error(rec1, charged, masks)
    for region in (zone, masks["latspo"], masks["electrode"]):
        rms0 = float(np.sqrt(np.mean(err0[region] ** 2)))
        rms1 = float(np.sqrt(np.mean(err1[region] ** 2)))
        assert rms1 < rms0 + 0.005  # measured ~0.005 both
        assert np.abs(err1[region]).max() < 0.05
    amp_err = np.abs(rec1.amplitude.values / rec0.amplitude.values - 1)[zone]
    assert amp_err.max() < 0.01


def test_default_distortion_is_documented_and_shared(charged):
    ny, nx = SHAPE
    v = (np.arange(ny)[:, None] - (ny - 1) / 2) / ((ny - 1) / 2)
    u = (np.arange(nx)[None, :] - (nx - 1) / 2) / ((nx - 1) / 2)
    want = 0.2 * u**2 - 0.15 * v**2 + 0.1 * u * v + 0.1 * np.sin(np.pi * (u + 0.5 * v) + 0.3)
    h = holograms(charged, dose=None, biprism_fresnel=False, dtype="float64")
    np.testing.assert_allclose(h.distortion, want, atol=1e-12)
    assert 0.2 < np.ptp(want) < 1.0
    # the reference alone carries it (up to a plane: the carrier is measured from the data)
    ph = reconstruct(h.reference, output_shape=SHAPE, unwrap=False).phase.values.astype(float)
    diff = np.angle(np.exp(1j * (ph - want)))[M:-M, M:-M]
    yy, xx = np.mgrid[M : ny - M, M : nx - M]
    a = np.c_[np.ones(diff.size), yy.ravel(), xx.ravel()]
    res = diff.ravel() - a @ np.linalg.lstsq(a, diff.ravel(), rcond=None)[0]
    assert res.std() < 0.01
    # with distortion=None the reference is flat
    h0 = holograms(charged, dose=None, biprism_fresnel=False, distortion=None)
    assert float(np.abs(h0.distortion).max()) == 0.0
    # a user array is used as given and not modified
    mine = np.full(SHAPE, 0.25)
    keep = mine.copy()
    h2 = holograms(charged, dose=None, distortion=mine)
    np.testing.assert_array_equal(mine, keep)
    np.testing.assert_allclose(h2.distortion, 0.25)


def test_determinism_noise_and_dtype(charged):
    kw = dict(dose=200.0)
    before = charged.copy(deep=True)
    a = holograms(charged, rng=5, **kw)
    b = holograms(charged, rng=5, **kw)
    c = holograms(charged, rng=6, **kw)
    assert charged.identical(before)
    np.testing.assert_array_equal(a.object.values, b.object.values)
    np.testing.assert_array_equal(a.reference.values, b.reference.values)
    assert not np.array_equal(a.object.values, c.object.values)
    assert not np.array_equal(a.reference.values, c.reference.values)
    g = holograms(charged, rng=np.random.default_rng(5), **kw)
    np.testing.assert_array_equal(g.object.values, a.object.values)
    assert a.object.dtype == np.float32 and a.reference.dtype == np.float32
    assert holograms(charged, rng=5, dtype="float64", **kw).object.dtype == np.float64
    # object and reference carry independent Poisson noise: in vacuum both have the
    # same expected image, so var(object - reference) = 2 x mean counts
    vac = interior(charged)["vacuum"]
    diff = (a.object.values.astype(float) - a.reference.values.astype(float))[vac]
    mean = 0.5 * (a.object.values.astype(float) + a.reference.values.astype(float))[vac].mean()
    assert diff.var() / (2 * mean) == pytest.approx(1.0, abs=0.1)
    assert mean == pytest.approx(200.0, rel=0.05)


def test_hologram_labels(charged):
    h = holograms(charged, dose=100.0, rng=0)
    for name in ("object", "reference", "distortion", "y", "x"):
        assert h[name].attrs.get("units") and h[name].attrs.get("long_name"), name
    xr.testing.assert_identical(h.x, charged.x)
    xr.testing.assert_identical(h.y, charged.y)
    assert h.attrs["beam_energy_kv"] == 300.0
    assert h.attrs["dose_e_per_px"] == 100.0
    assert h.attrs["spacing_px"] == 4.5
    assert h.attrs["carrier_frequency"] == list(carrier_frequency(4.5, 45.0))
    assert h.attrs["biprism_fresnel"] == 1
    rec = json.loads(h.attrs["holocorr"])
    assert rec["function"] == "simulate.holograms" and rec["parameters"]["rng"] == 0
    assert json.loads(h.attrs["specimen_truth"])["li_front_nm"] == 400.0


@pytest.mark.parametrize(
    "kw,err,match",
    [
        (dict(spacing_px=2.0), ParameterError, "spacing_px must exceed 2"),
        (dict(contrast=1.5), ParameterError, "contrast must be in"),
        (dict(contrast=0.0), ParameterError, "contrast"),
        (dict(dose=-1.0), ParameterError, "dose"),
        (dict(mtf_sigma=float("nan")), ParameterError, "mtf_sigma"),
        (dict(distortion="wavy"), ParameterError, "distortion='wavy' is not allowed"),
        (dict(distortion=np.zeros((4, 4))), ShapeError, "must match the specimen"),
        (dict(distortion=np.full(SHAPE, np.nan)), DataError, "NaN"),
        (dict(biprism_fresnel="yes"), ParameterError, "biprism_fresnel must be True or False"),
        (dict(fresnel_amplitude=0.9), ParameterError, "fresnel_amplitude"),
        (dict(fresnel_scale_px=0.0), ParameterError, "fresnel_scale_px"),
        (dict(dtype="int16"), ParameterError, "dtype='int16' is not allowed"),
        (dict(rng="seed"), ParameterError, "rng must be"),
        (dict(angle_deg=float("inf")), ParameterError, "angle_deg"),
    ],
)
def test_holograms_bad_parameters(charged, kw, err, match):
    with pytest.raises(err, match=match):
        holograms(charged, **kw)


def test_holograms_bad_specimen(charged):
    with pytest.raises(DataError, match="must be the xarray.Dataset"):
        holograms(charged.phase)
    with pytest.raises(DataError, match="lacks the variable"):
        holograms(charged.drop_vars("amplitude"))
    with pytest.raises(ShapeError, match="expected \\('y', 'x'\\)"):
        holograms(charged.transpose("x", "y"))
    bad = charged.copy(deep=True)
    bad["phase"][5, 5] = np.nan
    with pytest.raises(DataError, match="NaN"):
        holograms(bad)
    bad = charged.copy(deep=True)
    bad["amplitude"][5, 5] = -0.1
    with pytest.raises(DataError, match=">= 0"):
        holograms(bad)
    with pytest.raises(ShapeError, match="at least 16x16"):
        holograms(charged.isel(y=slice(0, 8)))
    assert issubclass(ShapeError, HolocorrError)
