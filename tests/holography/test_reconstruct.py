"""Reconstruction against ground truth from holocorr.simulate and independent formulas."""

import json
import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from holocorr.errors import (
    DataError,
    HolocorrWarning,
    ParameterError,
    ReconstructionError,
    ShapeError,
)
from holocorr.holography import Sideband, find_sideband, fringe_statistics, reconstruct
from holocorr.simulate import carrier_frequency, hologram


def grid(ny, nx, pixel_nm=0.5):
    return {
        "y": xr.DataArray(np.arange(ny) * pixel_nm, dims="y", attrs={"units": "nm", "long_name": "y"}),
        "x": xr.DataArray(np.arange(nx) * pixel_nm, dims="x", attrs={"units": "nm", "long_name": "x"}),
    }


def make_object(ny, nx, pixel_nm=0.5):
    """Smooth phase spanning > 2 pi: wedge, two blobs, a smoothed step and a vacuum strip."""
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    phi = 3.0 * (xx / nx)
    phi += 4.0 * np.exp(-((yy - 0.4 * ny) ** 2 + (xx - 0.6 * nx) ** 2) / (2 * (0.1 * nx) ** 2))
    phi += 2.5 * np.exp(-((yy - 0.7 * ny) ** 2 + (xx - 0.3 * nx) ** 2) / (2 * (0.06 * nx) ** 2))
    phi += 1.5 * 0.5 * (1 + np.tanh((yy - 0.25 * ny) / 8.0))
    phi *= 0.5 * (1 + np.tanh((xx - 0.12 * nx) / 6.0))  # vacuum strip on the left
    dist = 0.4 * np.sin(2 * np.pi * xx / nx + 0.3) * np.cos(np.pi * yy / ny)
    return xr.DataArray(phi, dims=("y", "x"), coords=grid(ny, nx, pixel_nm)), dist


def wrapped_rms(a, b, margin):
    e = np.angle(np.exp(1j * (a - b)))[margin:-margin, margin:-margin]
    return float(np.sqrt(np.mean((e - e.mean()) ** 2)))


# ----------------------------------------------------------------- accuracy, noise-free
@pytest.mark.parametrize("shape", [(1024, 1024), (768, 1024), (1001, 999)])
@pytest.mark.parametrize("spacing,angle", [(3.3, -20.0), (3.9, 37.0), (4.5, 120.0), (4.2, 90.0), (3.6, 0.0)])
def test_noise_free_phase_error(shape, spacing, angle):
    phi, dist = make_object(*shape)
    side = "upper" if angle >= 0 else "lower"
    h = hologram(phi, spacing_px=spacing, angle_deg=angle, contrast=0.25, distortion=dist, mtf_sigma=0.5)
    r = hologram(0 * phi, spacing_px=spacing, angle_deg=angle, contrast=0.25, distortion=dist, mtf_sigma=0.5)
    ds = reconstruct(h, r, sideband=side, unwrap=False, output_shape=shape)
    assert wrapped_rms(ds.phase.values, phi.values, 48) <= 0.02
    # natural output size: compare on the output grid (sample j at j*N/M px)
    ds2 = reconstruct(h, r, sideband=side, unwrap=False)
    truth = phi.interp(y=ds2.y, x=ds2.x).values
    my, mx = ds2.phase.shape
    m = int(48 * my / shape[0]) + 1
    assert wrapped_rms(ds2.phase.values, truth, m) <= 0.02
    # amplitude is the object amplitude (1) after division by the reference
    assert abs(float(ds.amplitude[48:-48, 48:-48].mean()) - 1.0) < 2e-3


def test_positive_potential_gives_positive_phase():
    phi, _ = make_object(256, 256)
    for angle in (10.0, 90.0, 170.0):
        h = hologram(phi, spacing_px=4.0, angle_deg=angle, contrast=0.3)
        r = hologram(0 * phi, spacing_px=4.0, angle_deg=angle, contrast=0.3)
        ds = reconstruct(h, r, unwrap=False, output_shape=(256, 256))
        # the blob centre lies +7.3 rad above vacuum; the opposite sign would be 2.3 rad off (mod 2 pi)
        truth = float(phi[102, 154] - phi[128, 20])
        d = float(ds.phase[102, 154] - ds.phase[128, 20])
        assert abs(np.angle(np.exp(1j * (d - truth)))) < 0.02
        assert abs(np.angle(np.exp(1j * (-d - truth)))) > 1.0


def test_exact_carrier_removal_without_reference():
    """A vacuum hologram with a sub-pixel carrier: no residual ramp without a reference."""
    ny, nx = 512, 512
    flat = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"), coords=grid(ny, nx))
    h = hologram(flat, spacing_px=4.37, angle_deg=33.3, contrast=0.3)
    ds = reconstruct(h, unwrap=False, output_shape=(ny, nx))
    p = ds.phase.values.astype(float)[32:-32, 32:-32]
    yy, xx = np.mgrid[0 : p.shape[0], 0 : p.shape[1]]
    design = np.c_[np.ones(p.size), yy.ravel(), xx.ravel()]
    slope = np.linalg.lstsq(design, p.ravel(), rcond=None)[0][1:]
    # a 0.4 px carrier error would leave ~3.6 rad across 512 px (SCIENCE.md)
    assert np.abs(slope).max() * 512 < 0.01
    # what is left is Gibbs ringing from the non-periodic image border, which
    # decays inwards (a reference hologram divides it out)
    assert np.ptp(p[96:-96, 96:-96]) < 0.01


def test_amplitude_normalisation_without_reference():
    # a whole number of fringes across the image: no edge leakage, so the
    # normalisation can be checked exactly everywhere
    ny, nx = 256, 256
    yy, xx = np.mgrid[0:ny, 0:nx]
    amp = 0.8 + 0.15 * np.cos(2 * np.pi * yy / ny)
    flat = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"))
    h = hologram(flat, amp, spacing_px=4.0, angle_deg=90, contrast=0.3, dose=None)
    ds = reconstruct(h, unwrap=False, output_shape=(ny, nx))
    # wave = mu I0 A with I0 = 0.5 (noise-free convention of the simulator)
    np.testing.assert_allclose(ds.amplitude.values, 0.3 * 0.5 * amp, rtol=1e-4)
    assert ds.amplitude.attrs["units"] == "counts"


# ----------------------------------------------------------------- accuracy with noise
def plain_full_fft(h, r, freq, radius_frac, smoothness=0.05):
    """Independent reference: full complex FFT, tanh aperture on the full grid, obj/ref."""
    ny, nx = h.shape
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.fftfreq(nx)[None, :]
    R = radius_frac * math.hypot(*freq)
    q = np.hypot(fy - freq[0], fx - freq[1])
    w = 0.5 * (1 - np.tanh((q - R) / (0.5 * smoothness * R)))
    yy, xx = np.mgrid[0:ny, 0:nx]
    carrier = np.exp(-2j * np.pi * (freq[0] * yy + freq[1] * xx))
    o = np.fft.ifft2(np.fft.fft2(h) * w) * carrier
    rr = np.fft.ifft2(np.fft.fft2(r) * w) * carrier
    return np.angle(o / rr)


@pytest.mark.parametrize("dose,contrast", [(50, 0.15), (200, 0.3), (100, 0.2)])
def test_noisy_phase_error_matches_plain_division_and_yardstick(dose, contrast):
    ny, nx = 512, 512
    phi, dist = make_object(ny, nx)
    rng = np.random.default_rng(7)
    kw = dict(spacing_px=4.1, angle_deg=62.0, contrast=contrast, distortion=dist, dose=dose)
    h = hologram(phi, rng=rng, **kw)
    r = hologram(0 * phi, rng=rng, **kw)
    ds = reconstruct(h, r, unwrap=False, output_shape=(ny, nx))
    ours = wrapped_rms(ds.phase.values, phi.values, 40)
    sb = Sideband.from_frequency(carrier_frequency(4.1, 62.0))
    plain = wrapped_rms(
        plain_full_fft(h.values.astype(float), r.values.astype(float), sb.frequency, 1 / 3), phi.values, 40
    )
    assert ours == pytest.approx(plain, rel=0.05)
    # shot-noise yardstick: var = 2 * 2 A_eff / (mu^2 n) (object + equal-dose reference),
    # A_eff = integral of w^2 over the aperture in (cycles/px)^2 (= pi R^2 for a hard edge)
    R = math.hypot(*sb.frequency) / 3
    rho = np.linspace(0, 2, 20001)
    w = 0.5 * (1 - np.tanh((rho - 1) / 0.025))
    a_eff = float(np.trapezoid(w**2 * 2 * np.pi * rho, rho)) * R**2
    yardstick = math.sqrt(2 * 2 * a_eff / (contrast**2 * dose))
    assert ours == pytest.approx(yardstick, rel=0.12)


def test_reference_smoothing_reduces_noise():
    ny, nx = 512, 512
    phi, dist = make_object(ny, nx)
    rng = np.random.default_rng(3)
    kw = dict(spacing_px=4.0, angle_deg=30.0, contrast=0.2, distortion=dist, dose=20)
    h = hologram(phi, rng=rng, **kw)
    r = hologram(0 * phi, rng=rng, **kw)
    plain = reconstruct(h, r, unwrap=False, output_shape=(ny, nx))
    smooth = reconstruct(h, r, unwrap=False, output_shape=(ny, nx), reference_smoothing=8.0)
    e_plain = wrapped_rms(plain.phase.values, phi.values, 40)
    e_smooth = wrapped_rms(smooth.phase.values, phi.values, 40)
    assert e_smooth <= 0.8 * e_plain


@pytest.mark.parametrize("n,plain_max,apod_max", [(128, 0.05, 0.004), (256, 0.01, 0.0005)])
def test_apodize_removes_edge_ringing(n, plain_max, apod_max):
    """A carrier not periodic across the image rings from the borders; a Tukey taper stops it."""
    yy, xx = np.mgrid[0:n, 0:n]
    phi = xr.DataArray(np.exp(-((yy - n / 2) ** 2 + (xx - n / 2) ** 2) / 400.0), dims=("y", "x"))
    kw = dict(spacing_px=4.2, angle_deg=60, contrast=0.3)
    h, r = hologram(phi, **kw), hologram(0 * phi, **kw)
    plain = reconstruct(h, r, output_shape=(n, n), unwrap=False)
    apod = reconstruct(h, r, output_shape=(n, n), unwrap=False, apodize=0.2)
    c = n // 2
    assert abs(float(plain.phase[c, c]) - 1.0) < plain_max
    assert abs(float(apod.phase[c, c]) - 1.0) < apod_max
    inner = slice(n // 4, 3 * n // 4)
    assert np.abs(apod.phase.values[inner, inner] - phi.values[inner, inner]).max() < apod_max
    with pytest.raises(ParameterError, match="apodize"):
        reconstruct(h, r, apodize=0.7)


def test_fresnel_filter_removes_streak():
    """Fresnel fringes parallel to the interference fringes leave a ripple the filter removes."""
    ny, nx = 512, 512
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    f = np.asarray(carrier_frequency(4.0, 0.0))
    # biprism edge fringes: amplitude ripple along the carrier direction (x), decaying from the edge
    ripple = 0.2 * np.cos(2 * np.pi * (xx / 20.0)) * np.exp(-xx / 60.0)
    flat = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"))
    h = hologram(flat, 1 + ripple, spacing_px=4.0, angle_deg=0.0, contrast=0.3)
    r = hologram(flat, spacing_px=4.0, angle_deg=0.0, contrast=0.3)
    plain = reconstruct(h, r, unwrap=False, output_shape=(ny, nx))
    filt = reconstruct(h, r, unwrap=False, output_shape=(ny, nx), fresnel_filter=3)
    band = slice(20, 120)
    amp_err_plain = np.std(plain.amplitude.values[100:400, band])
    amp_err_filt = np.std(filt.amplitude.values[100:400, band])
    assert amp_err_filt < 0.25 * amp_err_plain
    assert f[1] > 0


# ----------------------------------------------------------------- sideband detection
def _cases(n, rng):
    shapes = [(512, 512), (511, 601), (600, 400)]
    for i in range(n):
        yield shapes[i % 3], float(rng.uniform(2.5, 12.0)), float(rng.uniform(-180, 180))


def _bin_error(sb, shape, spacing, angle):
    f = np.asarray(carrier_frequency(spacing, angle))
    got = np.asarray(sb.frequency)
    err = min(
        np.abs(got - f).max(axis=None) if False else np.max(np.abs((got - f) * shape)),
        np.max(np.abs((got + f) * shape)),
    )
    return float(err)


def _vacuumish(shape, rng):
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    amp = 0.9 + 0.1 * np.cos(2 * np.pi * yy / shape[0] + rng.uniform(0, 6)) * np.sin(2 * np.pi * xx / shape[1])
    return xr.DataArray(np.zeros(shape), dims=("y", "x")), amp


def test_find_sideband_subpixel_at_one_electron_per_pixel():
    rng = np.random.default_rng(11)
    errors = []
    for shape, s, a in _cases(30, rng):
        flat, amp = _vacuumish(shape, rng)
        h = hologram(flat, amp, spacing_px=s, angle_deg=a, contrast=0.3, dose=1.0, mtf_sigma=0.4, rng=rng)
        errors.append(_bin_error(find_sideband(h), shape, s, a))
    assert np.median(errors) <= 0.05
    assert max(errors) < 0.5


def test_find_sideband_no_gross_failure_at_low_dose():
    rng = np.random.default_rng(12)
    for shape, s, a in _cases(15, rng):
        flat, amp = _vacuumish(shape, rng)
        h = hologram(flat, amp, spacing_px=s, angle_deg=a, contrast=0.3, dose=0.05, rng=rng)
        assert _bin_error(find_sideband(h), shape, s, a) < 1.0


def test_sideband_fields_calibrated_and_sides():
    ny, nx = 200, 300
    flat = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"), coords=grid(ny, nx, 0.25))
    h = hologram(flat, spacing_px=5.0, angle_deg=70.0, contrast=0.22)
    up = find_sideband(h)
    low = find_sideband(h, side="lower")
    assert up.side == "upper" and low.side == "lower"
    assert up.frequency[0] < 0
    np.testing.assert_allclose(low.frequency, -np.asarray(up.frequency), atol=1e-12)
    assert up.spacing_px == pytest.approx(5.0, abs=2e-3)
    assert up.spacing_nm == pytest.approx(1.25, abs=5e-4)
    assert up.angle_deg == pytest.approx(70.0, abs=0.05)
    assert low.angle_deg == pytest.approx(-110.0, abs=0.05)
    assert up.contrast == pytest.approx(0.22, abs=2e-3)
    assert up.flipped().frequency == low.frequency or np.allclose(up.flipped().frequency, low.frequency)
    # with a reference, the carrier comes from the reference
    phi, _ = make_object(ny, nx)
    obj = hologram(phi * 3, spacing_px=5.0, angle_deg=70.0, contrast=0.22)
    with_ref = find_sideband(obj, reference=h)
    np.testing.assert_allclose(with_ref.frequency, up.frequency, atol=1e-9)


def test_fringe_statistics_contrast_with_mtf():
    ny, nx = 256, 256
    flat = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"), coords=grid(ny, nx, 0.3))
    s, sigma = 4.0, 0.8
    h = hologram(flat, spacing_px=s, angle_deg=15, contrast=0.3, mtf_sigma=sigma, dose=400, rng=1)
    st_ = fringe_statistics(h)
    expected = 0.3 * math.exp(-2 * math.pi**2 * sigma**2 / s**2)  # SCIENCE.md MTF factor
    assert st_["contrast"] == pytest.approx(expected, rel=0.02)
    assert st_["spacing_nm"] == pytest.approx(1.2, rel=1e-3)
    assert st_["mean_counts"] == pytest.approx(400, rel=0.01)


# ----------------------------------------------------------------- output grid, attrs
def test_output_coords_span_field_of_view_and_attrs():
    ny, nx = 300, 240
    phi, _ = make_object(ny, nx, pixel_nm=0.4)
    phi.attrs["beam_energy_kv"] = 300.0
    h = hologram(phi, spacing_px=4.0, angle_deg=50.0, contrast=0.3)
    r = hologram(0 * phi, spacing_px=4.0, angle_deg=50.0, contrast=0.3)
    ds = reconstruct(h, r, unwrap=False)
    my, mx = ds.phase.shape
    np.testing.assert_allclose(ds.y.values, np.arange(my) * ny / my * 0.4)
    np.testing.assert_allclose(ds.x.values, np.arange(mx) * nx / mx * 0.4)
    assert ds.x.attrs["units"] == "nm" and ds.phase.attrs["units"] == "rad"
    assert ds.wave.dtype == np.complex64 and ds.phase.dtype == np.float32
    assert ds.attrs["beam_energy_kv"] == 300.0
    assert ds.attrs["resolution_nm"] == pytest.approx(3 * 4.0 * 0.4, rel=1e-6)
    prov = json.loads(ds.attrs["holocorr"])
    assert prov["function"] == "holography.reconstruct" and prov["inputs"]["reference"].startswith("xxh3")
    sb = json.loads(ds.attrs["sideband"])
    assert sb["spacing_px"] == pytest.approx(4.0, abs=1e-3)
    # the natural size holds the aperture: output sampling finer than the resolution
    assert ds.attrs["output_pixel_size"][0] < ds.attrs["resolution_nm"] / 2


def test_frame_stack_shares_reference():
    ny, nx = 256, 256
    phi, dist = make_object(ny, nx)
    frames = [hologram(phi * k, spacing_px=4.0, angle_deg=30, contrast=0.3, distortion=dist) for k in (0.5, 1.0)]
    stack = xr.concat(frames, dim="frame").assign_coords(frame=[0, 1])
    r = hologram(0 * phi, spacing_px=4.0, angle_deg=30, contrast=0.3, distortion=dist)
    ds = reconstruct(stack, r, unwrap=False, output_shape=(ny, nx))
    assert ds.phase.dims == ("frame", "y", "x")
    for k, scale in enumerate((0.5, 1.0)):
        assert wrapped_rms(ds.phase.values[k], scale * phi.values, 24) < 0.02


# ----------------------------------------------------------------- properties
@settings(max_examples=15, deadline=None)
@given(out=st.tuples(st.integers(40, 200), st.integers(40, 200)))
def test_amplitude_independent_of_output_shape(out):
    # whole fringes across the image (160/4 and 144/4), so the sideband is exact
    ny, nx = 160, 144
    flat = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"))
    yy, xx = np.mgrid[0:ny, 0:nx]
    amp = 0.8 + 0.1 * np.cos(2 * np.pi * xx / nx)
    h = hologram(flat, amp, spacing_px=4.0, angle_deg=90.0, contrast=0.3)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HolocorrWarning)  # small boxes truncate the aperture
        ds = reconstruct(h, unwrap=False, output_shape=out)
    # amplitude = mu I0 A at the output sample positions x_j = j * nx / Mx, for any size
    x_out = np.arange(out[1]) * nx / out[1]
    expected = 0.3 * 0.5 * (0.8 + 0.1 * np.cos(2 * np.pi * x_out / nx))
    np.testing.assert_allclose(ds.amplitude.values, np.broadcast_to(expected, ds.amplitude.shape), rtol=1e-4)


@settings(max_examples=10, deadline=None)
@given(angle=st.floats(0, 179), spacing=st.floats(3.0, 8.0), odd=st.booleans())
def test_sidebands_give_opposite_phases(angle, spacing, odd):
    n = 129 if odd else 128
    phi, _ = make_object(n, n)
    h = hologram(phi, spacing_px=spacing, angle_deg=angle, contrast=0.3)
    r = hologram(0 * phi, spacing_px=spacing, angle_deg=angle, contrast=0.3)
    up = reconstruct(h, r, sideband="upper", unwrap=False)
    low = reconstruct(h, r, sideband="lower", unwrap=False)
    np.testing.assert_allclose(np.angle(np.exp(1j * (up.phase.values + low.phase.values))), 0, atol=1e-4)


@settings(max_examples=10, deadline=None)
@given(dy=st.integers(-20, 20), dx=st.integers(-20, 20))
def test_shifted_object_gives_shifted_phase(dy, dx):
    n = 256
    yy, xx = np.mgrid[0:n, 0:n]
    # a periodic object (two broad blobs well inside, band-limited well within
    # the aperture), so rolling it creates no edge
    p = 3 * np.exp(-((yy - 110.0) ** 2 + (xx - 140.0) ** 2) / 450.0) - 2 * np.exp(
        -((yy - 150.0) ** 2 + (xx - 95.0) ** 2) / 300.0
    )
    h1 = hologram(xr.DataArray(p, dims=("y", "x")), spacing_px=4.2, angle_deg=40, contrast=0.3)
    h2 = hologram(
        xr.DataArray(np.roll(p, (dy, dx), axis=(0, 1)), dims=("y", "x")), spacing_px=4.2, angle_deg=40, contrast=0.3
    )
    r = hologram(xr.DataArray(0 * p, dims=("y", "x")), spacing_px=4.2, angle_deg=40, contrast=0.3)
    a = reconstruct(h1, r, unwrap=False, output_shape=(n, n)).phase.values
    b = reconstruct(h2, r, unwrap=False, output_shape=(n, n)).phase.values
    diff = np.angle(np.exp(1j * (np.roll(a, (dy, dx), axis=(0, 1)) - b)))[40:-40, 40:-40]
    # a one-pixel misplacement would give ~0.1 rad rms on these blobs
    assert np.sqrt(np.mean(diff**2)) < 0.01 and np.abs(diff).max() < 0.05


@pytest.mark.parametrize("dtype,wave_dtype", [("float32", np.complex64), ("float64", np.complex128)])
def test_dtype_preserved_and_inputs_untouched(dtype, wave_dtype):
    phi, _ = make_object(96, 96)
    h = hologram(phi, spacing_px=4.0, angle_deg=30, contrast=0.3, dtype=dtype)
    r = hologram(0 * phi, spacing_px=4.0, angle_deg=30, contrast=0.3, dtype=dtype)
    h0, r0 = h.copy(deep=True), r.copy(deep=True)
    ds = reconstruct(h, r, unwrap=False)
    assert ds.wave.dtype == wave_dtype
    assert ds.phase.dtype == np.dtype(dtype) and ds.amplitude.dtype == np.dtype(dtype)
    xr.testing.assert_identical(h, h0)
    xr.testing.assert_identical(r, r0)


def test_integer_counts_accepted():
    phi, _ = make_object(96, 96)
    h = hologram(phi, spacing_px=4.0, angle_deg=30, contrast=0.3, dose=300, rng=0)
    ds = reconstruct(h.astype(np.uint16), unwrap=False)
    assert ds.wave.dtype == np.complex64


# ----------------------------------------------------------------- bad input
def _good():
    phi, _ = make_object(64, 64)
    return hologram(phi, spacing_px=4.0, angle_deg=30, contrast=0.3)


@pytest.mark.parametrize(
    "bad,exc,match",
    [
        (np.zeros(100), ShapeError, "dimension"),
        (np.zeros((2, 2, 64, 64)), ShapeError, "dimension"),
        (np.zeros((0, 0)), ShapeError, "empty"),
        (np.zeros((8, 8)), ShapeError, "at least 16"),
        (np.ones((64, 64)) + 0j, DataError, "complex"),
        (np.array([["a"] * 64] * 64), DataError, "numeric"),
        (np.random.default_rng(0).poisson(50, (64, 64)).astype(float), ReconstructionError, "no interference fringes"),
    ],
)
def test_bad_holograms(bad, exc, match):
    import warnings

    with pytest.raises(exc, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plain arrays are uncalibrated
        reconstruct(bad)


def test_nan_and_inf_pixels_named():
    h = _good().copy()
    h[10, 12] = np.nan
    with pytest.raises(DataError, match=r"1 NaN or infinite value.*\(10, 12\)"):
        reconstruct(h)
    h[10, 12] = np.inf
    with pytest.raises(DataError, match="NaN or infinite"):
        find_sideband(h)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"radius": 0}, "radius must be > 0"),
        ({"radius": -0.2}, "radius must be > 0"),
        ({"radius": 0.7}, "centre band"),
        ({"radius": (0.3, 0.3, 0.3)}, "pair"),
        ({"edge": "cosine"}, "edge='cosine' is not allowed"),
        ({"sideband": "left"}, "sideband='left' is not allowed"),
        ({"output_shape": (0, 10)}, "output_shape"),
        ({"output_shape": (64,)}, "output_shape"),
        ({"output_shape": (64.5, 64)}, "output_shape"),
        ({"smoothness": 0}, "smoothness"),
        ({"fresnel_filter": -1}, "fresnel_filter"),
        ({"reference_smoothing": 4.0}, "needs a reference"),
        ({"spacing_range": (1, 5)}, "spacing_range"),
    ],
)
def test_bad_parameters(kw, match):
    with pytest.raises(ParameterError, match=match):
        reconstruct(_good(), **kw)


def test_reference_of_other_shape():
    phi, _ = make_object(64, 80)
    r = hologram(phi, spacing_px=4.0, angle_deg=30, contrast=0.3)
    with pytest.raises(ShapeError, match="same detector area"):
        reconstruct(_good(), r)


def test_reference_without_fringes_somewhere():
    h = _good()
    r = h.copy()
    r[:, 20:44] = float(r.mean())  # a flat band: no fringes there
    with pytest.warns(HolocorrWarning, match="reference wave is weaker"):
        reconstruct(h, r, unwrap=False, output_shape=(64, 64))
    r[:] = float(r.mean())  # no fringes anywhere
    with pytest.raises((DataError, ReconstructionError)):
        reconstruct(h, r, unwrap=False, output_shape=(64, 64))


def test_small_output_shape_warns():
    with pytest.warns(HolocorrWarning, match="aperture is truncated"):
        reconstruct(_good(), unwrap=False, output_shape=(8, 8))
