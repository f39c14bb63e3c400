"""Tests of the SR-EELS / STEM-EELS forward models against independent ground truth.

The simulator is imported from its module until holocorr.simulate exports it.
"""

import json
import math

import numpy as np
import pytest
import xarray as xr
from scipy.integrate import cumulative_trapezoid

from holocorr._provenance import array_hash
from holocorr.errors import CalibrationError, DataError, ParameterError, ShapeError
from holocorr.simulate import specimen
from holocorr.simulate._eels import EDGES, sr_eels, stem_eels

LI_E, LI_N = 1.3, 2.3  # Li per formula unit in LATSPO and in the electrode (SCIENCE.md)


@pytest.fixture(scope="module")
def spec():
    # x from -150 to 1125 nm, full-thickness lamella below y = 164 nm, pivot y ~ 320 nm
    return specimen(shape=(96, 256), pixel_size_nm=5.0)


@pytest.fixture(scope="module")
def clean(spec):
    """Noise-free frame, 10 nm rows, default options."""
    return sr_eels(spec, position_sampling_nm=10.0, noise=False)


def _zlp_integral(row, e, shift):
    """Mirror method: twice the counts below the peak centre (cumulative trapezoid)."""
    cum = cumulative_trapezoid(np.asarray(row, np.float64), initial=0.0)
    idx = (shift - e[0]) / (e[1] - e[0])
    return 2.0 * np.interp(idx, np.arange(e.size), cum)


def _peak(rows, e):
    """Peak centre: parabola through the log counts of the 3 top channels (exact for a Gaussian)."""
    rows = np.asarray(rows, np.float64)
    i = rows.argmax(axis=-1)
    take = lambda k: np.log(np.take_along_axis(rows, (i + k)[..., None], axis=-1)[..., 0])  # noqa: E731
    ym, y0, yp = take(-1), take(0), take(1)
    return e[i] + (e[1] - e[0]) * 0.5 * (ym - yp) / (ym - 2 * y0 + yp)


# --------------------------------------------------------------------------- #
# data contract
# --------------------------------------------------------------------------- #
def test_dims_coords_units_dtype(spec, clean):
    ds = clean
    assert ds.core_loss.dims == ("x", "energy")
    assert ds.low_loss.dims == ("x", "energy_low")
    n_rows = int(math.floor((1125.0 + 150.0) / 10.0))
    assert ds.sizes["x"] == n_rows and ds.sizes["energy"] == 2800 and ds.sizes["energy_low"] == 2000
    np.testing.assert_allclose(ds.energy.values[[0, -1]], [20.0, 159.95], atol=1e-9)
    np.testing.assert_allclose(ds.energy_low.values[[0, -1]], [-5.0, 94.95], atol=1e-9)
    np.testing.assert_allclose(ds.x.values[[0, 1]], [-145.0, -135.0], atol=1e-9)
    for name in list(ds.data_vars) + list(ds.coords):
        assert "units" in ds[name].attrs and "long_name" in ds[name].attrs, name
        if name in ds.data_vars:
            assert ds[name].dtype == np.float32, name
    assert ds.energy.attrs["units"] == "eV" and ds.energy.attrs["long_name"] == "energy loss"
    assert ds.x.attrs["units"] == "nm"
    for k in (
        "li_true",
        "t_over_lambda_true",
        "energy_shift_true",
        "li_k_single_true",
        "ti3_fraction_true",
    ):
        assert ds[k].dims == ("x",)
    assert ds.attrs["beam_energy_kv"] == 300.0
    assert ds.attrs["dose_e_per_row"] == 1e7 and ds.attrs["low_loss_dose"] == 1e5
    rec = json.loads(ds.attrs["holocorr"])
    assert rec["function"] == "simulate.sr_eels"
    assert rec["parameters"]["slit_width_nm"] == 20.0
    assert tuple(ds.attrs["edges"]) == EDGES


def test_float64_option(spec):
    ds = sr_eels(spec, position_sampling_nm=100.0, noise=False, dtype="float64")
    assert all(ds[v].dtype == np.float64 for v in ds.data_vars)


def test_input_not_modified(spec):
    before = {k: array_hash(v) for k, v in spec.data_vars.items()}
    attrs = dict(spec.attrs)
    sr_eels(spec, position_sampling_nm=100.0, rng=1)
    assert {k: array_hash(v) for k, v in spec.data_vars.items()} == before
    assert dict(spec.attrs) == attrs


# --------------------------------------------------------------------------- #
# ground truth along the slit
# --------------------------------------------------------------------------- #
def test_truth_profiles_follow_specimen(spec, clean):
    ds = clean
    # 150 nm at the Iakoubovskii lambda of the specimen (169.4 nm LATSPO, 103.2 nm Pt at 300 kV)
    lam_l, lam_p = spec.attrs["mean_free_path_latspo_nm"], spec.attrs["mean_free_path_pt_nm"]
    np.testing.assert_allclose(
        ds.t_over_lambda_true.sel(x=[205.0, 805.0]), 150.0 / lam_l, rtol=1e-5
    )
    np.testing.assert_allclose(ds.t_over_lambda_true.sel(x=-105.0), 150.0 / lam_p, rtol=1e-5)
    np.testing.assert_allclose(ds.li_true.sel(x=[105.0, 205.0]), LI_N, rtol=1e-5)
    np.testing.assert_allclose(ds.li_true.sel(x=[705.0, 1005.0]), LI_E, rtol=1e-5)
    np.testing.assert_allclose(ds.li_true.sel(x=-105.0), 0.0, atol=1e-6)
    # erf front at 400 nm (sigma 20 nm): half way between 2.3 and 1.3 at x = 400 nm
    prof = ds.li_true.sel(x=slice(100.0, None))
    front = np.interp(0.5 * (LI_E + LI_N), prof.values[::-1], prof.x.values[::-1])
    assert abs(front - 400.0) < 1.0
    # charge balance: each extra Li reduces one of the 1.8 Ti per formula unit
    np.testing.assert_allclose(ds.ti3_fraction_true.sel(x=205.0), 1.0 / 1.8, rtol=1e-5)
    np.testing.assert_allclose(ds.ti3_fraction_true.sel(x=805.0), 0.0, atol=1e-6)


def test_energy_shift_truth_is_quadratic(clean):
    x = clean.x.values
    u = 2.0 * (x - 0.5 * (x[0] + x[-1])) / (x[-1] - x[0])
    np.testing.assert_allclose(clean.energy_shift_true.values, 1.5 * u**2, atol=1e-6)
    assert clean.energy_shift_true.values.max() == pytest.approx(1.5, abs=1e-6)


def test_zlp_peak_equals_energy_shift(clean):
    pk = _peak(clean.low_loss.values, clean.energy_low.values)
    err = np.abs(pk - clean.energy_shift_true.values)
    assert err.max() < 2e-3  # eV; measured 1e-4


def test_energy_shift_moves_core_and_low_loss_alike(spec):
    # rows in homogeneous LATSPO differ only by their shift (0 in the middle, 1.5 eV at the ends)
    ds = sr_eels(
        spec,
        x_range_nm=(600.0, 1100.0),
        position_sampling_nm=10.0,
        noise=False,
        energy_offset_ev=0.3,
    )
    mid, end = ds.sizes["x"] // 2, -1
    ds_mid, ds_end = (float(ds.energy_shift_true[i]) for i in (mid, end))
    d = ds_end - ds_mid
    assert d == pytest.approx(1.5, abs=0.01)
    for var, dim in (("core_loss", "energy"), ("low_loss", "energy_low")):
        e = ds[dim].values
        ref = np.interp(e - d, e, ds[var].values[mid].astype(np.float64))
        sel = (e > e[0] + 3) & (e < e[-1] - 3)
        got = ds[var].values[end].astype(np.float64)
        assert np.max(np.abs(got[sel] - ref[sel])) < 3e-3 * ref[sel].max()


# --------------------------------------------------------------------------- #
# thickness, plural scattering and conservation
# --------------------------------------------------------------------------- #
def test_zero_loss_fraction_is_poisson(spec):
    ds = sr_eels(spec, position_sampling_nm=25.0, noise=False, edges=())
    e = ds.energy_low.values
    for i in range(ds.sizes["x"]):
        zl = _zlp_integral(ds.low_loss.values[i], e, float(ds.energy_shift_true[i]))
        p0 = math.exp(-float(ds.t_over_lambda_true[i]))
        # the mirror method also counts the few plasmon losses below the peak centre: ~1e-3 in
        # LATSPO, ~1e-2 in Pt with its broad (Gamma = 25 eV) Drude losses reaching down to 0 eV
        rtol = 2e-3 if ds.x[i] > 50.0 else 1.5e-2
        assert zl / ds.attrs["low_loss_dose"] == pytest.approx(p0, rel=rtol)


def test_log_ratio_thickness(spec):
    ds = sr_eels(
        spec, position_sampling_nm=25.0, noise=False, edges=(), low_loss_energy=(-5.0, 300.0)
    )
    e = ds.energy_low.values
    tau = np.array(
        [
            math.log(row.sum(dtype=np.float64) / _zlp_integral(row, e, s))
            for row, s in zip(ds.low_loss.values, ds.energy_shift_true.values, strict=True)
        ]
    )
    rel = tau / ds.t_over_lambda_true.values - 1
    assert np.abs(rel).max() < 0.01  # measured 3.5e-3 (Pt), 9e-4 (LATSPO)


def test_log_ratio_bias_of_short_frames_as_documented(spec):
    ds = sr_eels(
        spec,
        x_range_nm=(700.0, 800.0),
        position_sampling_nm=50.0,
        noise=False,
        edges=(),
        low_loss_energy=(-5.0, 45.0),
        non_isochromaticity_ev=0.0,
    )
    e = ds.energy_low.values
    row = ds.low_loss.values[0]
    tau = math.log(row.sum(dtype=np.float64) / _zlp_integral(row, e, 0.0))
    assert tau / float(ds.t_over_lambda_true[0]) - 1 == pytest.approx(-0.247, abs=0.01)


def test_low_loss_holds_all_electrons(spec):
    ds = sr_eels(
        spec,
        position_sampling_nm=100.0,
        noise=False,
        edges=(),
        low_loss_energy=(-5.0, 600.0),
        low_loss_dose=1e4,
    )
    frac = ds.low_loss.sum("energy_low").values / 1e4
    np.testing.assert_allclose(frac, 1.0, atol=2e-3)


def test_plural_scattering_conserves_edge_counts(spec):
    # the Li-K edge alone: difference of runs with and without it; over a frame that holds its
    # (E^-4) tail, plural scattering only moves its counts, so they equal the single-scattering ones
    kw = dict(
        x_range_nm=(100.0, 900.0),
        position_sampling_nm=200.0,
        noise=False,
        energy=(20.0, 660.0),
        li_window_ev=(50.0, 650.0),
        non_isochromaticity_ev=0.0,
    )
    with_li = sr_eels(spec, edges=("Li K",), **kw)
    without = sr_eels(spec, edges=(), **kw)
    diff = (with_li.core_loss.astype(np.float64) - without.core_loss).sum("energy").values
    truth = with_li.li_k_single_true.values.astype(np.float64)
    assert with_li.t_over_lambda_true.values.min() > 0.8  # strongly plural
    np.testing.assert_allclose(diff, truth, rtol=3e-3)


def test_li_signal_proportional_to_li(spec, clean):
    e_row, l_row = clean.sel(x=205.0), clean.sel(x=805.0)
    assert float(e_row.t_over_lambda_true) == pytest.approx(
        float(l_row.t_over_lambda_true), rel=1e-6
    )
    ratio = float(e_row.li_k_single_true) / float(l_row.li_k_single_true)
    assert ratio == pytest.approx(LI_N / LI_E, rel=0.01)
    # the same from the plural-scattered spectra: Li-K part of the frame, electrode / LATSPO
    kw = dict(position_sampling_nm=10.0, noise=False, non_isochromaticity_ev=0.0)
    li = sr_eels(spec, edges=("Li K",), **kw)
    none = sr_eels(spec, edges=(), **kw)
    part = (
        (li.core_loss.astype(np.float64) - none.core_loss)
        .sel(energy=slice(50.0, 160.0))
        .sum("energy")
    )
    assert float(part.sel(x=205.0) / part.sel(x=805.0)) == pytest.approx(LI_N / LI_E, rel=0.01)
    assert float(part.sel(x=-105.0)) == 0.0


def test_li_single_scattering_in_thin_specimen(spec):
    # a 2 nm film has t/lambda = 0.012: the Li-K counts recorded in the window are the single
    # ones times the fraction exp(-t/lambda) that suffers no further (valence) loss
    thin = specimen(shape=(96, 256), pixel_size_nm=5.0, thickness_nm=2.0)
    kw = dict(
        x_range_nm=(700.0, 800.0),
        position_sampling_nm=50.0,
        noise=False,
        non_isochromaticity_ev=0.0,
    )
    li = sr_eels(thin, edges=("Li K",), **kw)
    none = sr_eels(thin, edges=(), **kw)
    diff = (li.core_loss.astype(np.float64) - none.core_loss).sel(energy=slice(55.0, 74.99))
    tau = li.t_over_lambda_true.values.astype(np.float64)
    assert tau == pytest.approx(2.0 / thin.attrs["mean_free_path_latspo_nm"], rel=1e-5)
    expect = li.li_k_single_true.values * np.exp(-tau)
    np.testing.assert_allclose(diff.sum("energy"), expect, rtol=2e-3)  # measured 6e-4
    # and it scales with the thickness (areal density) and the dose
    thick = sr_eels(spec, edges=(), dose=2e7, **kw)
    np.testing.assert_allclose(
        thick.li_k_single_true / li.li_k_single_true, 150.0 / 2.0 * 2.0, rtol=1e-5
    )


def test_ti3_changes_ti_edge_onset(spec):
    kw = dict(
        x_range_nm=(150.0, 250.0),
        position_sampling_nm=50.0,
        noise=False,
        non_isochromaticity_ev=0.0,
        edges=("Ti M2,3",),
    )
    red = sr_eels(spec, **kw)
    ox = sr_eels(spec, ti3_fraction=0.0, **kw)
    assert float(ox.ti3_fraction_true[0]) == 0.0
    assert float(red.ti3_fraction_true[0]) == pytest.approx(1.0 / 1.8, rel=1e-5)
    none = sr_eels(spec, **{**kw, "edges": ()})
    # Ti3+ starts 1.6 eV below Ti4+: the Ti part of the spectrum just above 33 eV grows
    below = slice(33.2, 34.4)
    part_red = float((red.core_loss - none.core_loss)[0].sel(energy=below).sum())
    part_ox = float((ox.core_loss - none.core_loss)[0].sel(energy=below).sum())
    assert part_red > 3.0 * part_ox > 0
    half = sr_eels(spec, ti3_fraction=0.5, **kw)
    assert float(half.ti3_fraction_true[0]) == pytest.approx(0.5, rel=1e-5)


def test_tilted_interface_slit_follows_normal():
    tilted = specimen(shape=(256, 256), pixel_size_nm=5.0, interface_tilt_deg=20.0)
    ds = sr_eels(
        tilted, x_range_nm=(-100.0, 900.0), position_sampling_nm=10.0, noise=False, edges=("Li K",)
    )
    prof = ds.li_true.sel(x=slice(100.0, None))
    front = np.interp(0.5 * (LI_E + LI_N), prof.values[::-1], prof.x.values[::-1])
    assert abs(front - 400.0) < 2.0
    np.testing.assert_allclose(ds.li_true.sel(x=205.0), LI_N, rtol=1e-4)


# --------------------------------------------------------------------------- #
# noise
# --------------------------------------------------------------------------- #
def test_poisson_mean_and_variance(spec):
    # 250 rows of homogeneous LATSPO without energy shift: 250 realisations of one spectrum
    kw = dict(
        x_range_nm=(600.0, 1100.0),
        position_sampling_nm=2.0,
        non_isochromaticity_ev=0.0,
        energy=(40.0, 90.0),
        dose=1e5,
    )
    noisy = sr_eels(spec, rng=3, **kw)
    model = sr_eels(spec, noise=False, **kw)
    mu = model.core_loss.values.astype(np.float64)
    assert np.ptp(mu, axis=0).max() < 1e-3 * mu.max()  # the rows are alike
    counts = noisy.core_loss.values.astype(np.float64)
    assert np.all(counts == np.round(counts))
    n = counts.shape[0]
    z = (counts.mean(axis=0) - mu[0]) / np.sqrt(mu[0] / n)
    assert abs(z.mean()) < 0.2 and 0.85 < np.mean(z**2) < 1.15  # 1000 channels
    ratio = counts.var(axis=0, ddof=1) / mu[0]
    assert ratio.mean() == pytest.approx(1.0, abs=0.03)


def test_seed_determinism(spec):
    kw = dict(position_sampling_nm=50.0)
    a = sr_eels(spec, rng=7, **kw)
    b = sr_eels(spec, rng=7, **kw)
    c = sr_eels(spec, rng=8, **kw)
    d = sr_eels(spec, rng=np.random.default_rng(7), **kw)
    for v in ("core_loss", "low_loss"):
        assert np.array_equal(a[v].values, b[v].values)
        assert np.array_equal(a[v].values, d[v].values)
        assert not np.array_equal(a[v].values, c[v].values)


# --------------------------------------------------------------------------- #
# STEM spectrum image
# --------------------------------------------------------------------------- #
def test_stem_eels_maps(spec):
    si = stem_eels(
        spec, shape=(6, 12), energy=(40.0, 90.0), noise=False, descan_ev=0.8, energy_offset_ev=0.2
    )
    assert si.core_loss.dims == ("y", "x", "energy") and si.core_loss.shape == (6, 12, 1000)
    assert si.low_loss.dims == ("y", "x", "energy_low")
    assert si.li_true.dims == ("y", "x") and si.core_loss.dtype == np.float32
    assert si.y.attrs["units"] == "nm" and si.x.attrs["units"] == "nm"
    # probe positions are cell centres of the full field
    x0, x1 = float(spec.x[0]), float(spec.x[-1])
    np.testing.assert_allclose(si.x.values, x0 + (np.arange(12) + 0.5) * (x1 - x0) / 12)
    # truths are the specimen maps at the probe positions (bilinear interpolation)
    pts = dict(y=si.y, x=si.x)
    np.testing.assert_allclose(si.li_true, spec.li.interp(**pts), rtol=1e-5, atol=1e-6)
    t_over_l = (spec.thickness / spec.mean_free_path).interp(**pts)
    np.testing.assert_allclose(si.t_over_lambda_true, t_over_l, rtol=1e-5, atol=1e-7)
    # descan: linear in x, +-0.8 eV at the scan ends, plus the offset
    xs = si.x.values
    expect = 0.2 + 0.8 * (xs - 0.5 * (xs[0] + xs[-1])) / (0.5 * (xs[-1] - xs[0]))
    np.testing.assert_allclose(si.energy_shift_true, np.broadcast_to(expect, (6, 12)), atol=1e-6)
    pk = _peak(si.low_loss.values, si.energy_low.values)
    assert np.abs(pk - si.energy_shift_true.values).max() < 2e-3
    # vacuum probe positions (top rows) hold only the zero-loss peak
    vac = si.t_over_lambda_true.values == 0
    assert vac.any()
    assert np.all(si.core_loss.values[vac] < 1e-6 * si.attrs["dose_e_per_position"])
    assert json.loads(si.attrs["holocorr"])["function"] == "simulate.stem_eels"


def test_stem_matches_sr_for_the_same_material(spec):
    kw = dict(energy=(40.0, 90.0), noise=False, dose=1e6)
    si = stem_eels(spec, shape=(2, 2), y_range_nm=(300.0, 340.0), x_range_nm=(780.0, 820.0), **kw)
    sr = sr_eels(
        spec, x_range_nm=(780.0, 820.0), position_sampling_nm=20.0, non_isochromaticity_ev=0.0, **kw
    )
    np.testing.assert_allclose(si.core_loss.values[0, 0], sr.core_loss.values[0], rtol=1e-5)
    np.testing.assert_allclose(
        si.li_k_single_true.values[0, 0], sr.li_k_single_true.values[0], rtol=1e-5
    )


# --------------------------------------------------------------------------- #
# bad inputs
# --------------------------------------------------------------------------- #
def test_bad_specimen(spec):
    with pytest.raises(DataError, match="xarray.Dataset returned by holocorr.simulate.specimen"):
        sr_eels(spec.li)
    with pytest.raises(DataError, match="lacks the variable"):
        sr_eels(spec.drop_vars("distance"))
    bad = spec.copy(deep=True)
    del bad.attrs["pt_blur_nm"]
    with pytest.raises(DataError, match="lacks the attribute"):
        stem_eels(bad)
    nan = spec.copy(deep=True)
    nan["thickness"][3, 4] = np.nan
    with pytest.raises(DataError, match="NaN"):
        sr_eels(nan)
    with pytest.raises(ShapeError, match="expected \\('y', 'x'\\)"):
        sr_eels(spec.transpose("x", "y"))
    px = spec.copy(deep=True)
    px["x"].attrs["units"] = "px"
    with pytest.raises(CalibrationError, match="expected a length"):
        sr_eels(px)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(energy=(60.0, 160.0)), "does not cover the Li-K edge"),
        (dict(energy=(20.0, 70.0)), "does not cover the Li-K edge"),
        (dict(energy=(160.0, 20.0)), "increasing"),
        (dict(low_loss_energy=(0.0, 45.0)), "zero-loss peak"),
        (dict(low_loss_energy=(-5.0, 2.0)), "zero-loss peak"),
        (dict(dose=-1.0), "dose"),
        (dict(dose=0.0), "dose"),
        (dict(low_loss_dose=float("nan")), "low_loss_dose"),
        (dict(dispersion_ev=0.6), "half the zero-loss FWHM"),
        (dict(edges=("Li K", "Co M2,3")), "edges="),
        (dict(li_onset_ev=56.5, li_max_ev=90.0), "maximum"),
        (dict(li_onset_ev=62.0, li_max_ev=60.0), "li_max_ev"),
        (dict(ti3_fraction=1.5), "ti3_fraction"),
        (dict(slit_width_nm=-1.0), "slit_width_nm"),
        (dict(slit_center_nm=10.0, slit_width_nm=100.0), "field of view"),
        (dict(x_range_nm=(0.0, 5000.0)), "field of view"),
        (dict(position_sampling_nm=2000.0), "row"),
        (dict(rng="seed"), "rng"),
        (dict(dtype="int16"), "dtype"),
        (dict(noise=1), "noise"),
        (dict(plasmon_latspo_ev=(24.0,)), "plasmon_latspo_ev"),
        (dict(non_isochromaticity_ev=float("inf")), "non_isochromaticity_ev"),
    ],
)
def test_bad_parameters(spec, kw, match):
    with pytest.raises(ParameterError, match=match):
        sr_eels(spec, **kw)


def test_bad_stem_parameters(spec):
    with pytest.raises(ShapeError, match="shape"):
        stem_eels(spec, shape=(1, 4))
    with pytest.raises(ShapeError, match="shape"):
        stem_eels(spec, shape=(4.0, 4))
    with pytest.raises(ParameterError, match="field of view"):
        stem_eels(spec, shape=(2, 2), y_range_nm=(-50.0, 100.0))
    with pytest.raises(ParameterError, match="descan_ev"):
        stem_eels(spec, shape=(2, 2), descan_ev="1")
    with pytest.raises(DataError, match="Dataset"):
        stem_eels(xr.DataArray(np.zeros((4, 4)), dims=("y", "x")), shape=(2, 2))
