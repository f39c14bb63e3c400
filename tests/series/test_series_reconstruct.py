"""holocorr.series.reconstruct: same waves as holography.reconstruct, lazily; references; bad input."""

import json

import numpy as np
import pytest
import xarray as xr
from _series_synth import coords

from holocorr.errors import DataError, ParameterError, ShapeError
from holocorr.holography import reconstruct as reconstruct_one
from holocorr.series import ReferenceWave, prepare_reference, reconstruct
from holocorr.simulate import hologram

KW = dict(spacing_px=4.3, angle_deg=35.0, contrast=0.3)


@pytest.fixture(scope="module")
def stack():
    n = 96
    c = coords(n, n)
    yy, xx = np.mgrid[0:n, 0:n]
    phis = [0.3 * k * np.exp(-((yy - 48.0) ** 2 + (xx - 55.0 - 2 * k) ** 2) / 200.0) for k in range(5)]
    frames = [hologram(xr.DataArray(p, dims=("y", "x"), coords=c), **KW) * np.float32(100.0) for p in phis]
    holo = xr.concat(frames, dim="frame").assign_attrs(beam_energy_kv=300.0)
    ref = hologram(xr.DataArray(np.zeros((n, n)), dims=("y", "x"), coords=c), **KW) * np.float32(100.0)
    return holo, ref, phis


@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"output_shape": (96, 96), "apodize": 0.2},
        {"reference_smoothing": 2.0, "fresnel_filter": 0.3, "radius": 0.3},
    ],
)
def test_same_waves_as_single_reconstruction(stack, opts):
    holo, ref, _ = stack
    ds = reconstruct(holo.chunk({"frame": 2}), ref, **opts)
    assert ds.wave.chunks[0] == (2, 2, 1)  # lazy, one task per frame chunk
    one = reconstruct_one(holo, ref, unwrap=False, **opts)
    w, w1 = ds.wave.values, one.wave.values
    good = np.isfinite(w)  # pixels where an apodised reference is weak carry no data
    assert good.mean() > 0.7
    dphi = np.angle(w[good] * np.conj(w1[good]))
    assert np.abs(dphi).max() < 1e-5  # rad
    np.testing.assert_allclose(np.abs(w[good]), np.abs(w1[good]), rtol=1e-4)
    assert ds.wave.dtype == np.complex64 and ds.phase.dtype == np.float32
    assert ds.attrs["sideband"] == one.attrs["sideband"]
    assert ds.x.attrs["units"] == "nm" and ds.phase.attrs["units"] == "rad"
    assert ds.wave.attrs["beam_energy_kv"] == 300.0
    assert json.loads(ds.attrs["holocorr"])["function"] == "series.reconstruct"


def test_phase_and_contrast_against_ground_truth(stack):
    holo, ref, phis = stack
    ds = reconstruct(holo.chunk({"frame": 3}), ref, output_shape=(96, 96), apodize=0.2)
    phase = ds.phase.values
    for k in (2, 4):
        d = phase[k] - phase[k][48, 22]  # vacuum at the left (inside the apodised border)
        assert d[48, 55 + 2 * k] == pytest.approx(phis[k][48, 55 + 2 * k], abs=0.01)
    # the fringe contrast of each frame (no amplitude contrast): mu = 0.3
    np.testing.assert_allclose(ds.fringe_contrast.values, 0.3, atol=0.005)
    assert ds.frame_ok.values.all()


def test_without_reference_and_integer_counts(stack):
    holo, _, _ = stack
    counts = holo.astype(np.uint16)
    ds = reconstruct(counts.chunk({"frame": 2}), None)
    one = reconstruct_one(counts, None, unwrap=False)
    np.testing.assert_allclose(ds.wave.values, one.wave.values, rtol=2e-4, atol=1e-2)
    assert ds.wave.dtype == np.complex64 and ds.wave.attrs["units"] == "counts"


def test_prepared_reference_is_reused(stack):
    holo, ref, _ = stack
    prepared = prepare_reference(ref, output_shape=(48, 48))
    assert isinstance(prepared, ReferenceWave) and prepared.output_shape == (48, 48)
    a = reconstruct(holo, prepared).wave.values
    b = reconstruct(holo, ref, output_shape=(48, 48)).wave.values
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ParameterError, match=r"\['output_shape'\] cannot be combined with a ReferenceWave"):
        reconstruct(holo, prepared, output_shape=(64, 64))
    small = prepare_reference(ref.isel(y=slice(0, 64), x=slice(0, 64)))
    with pytest.raises(ShapeError, match="prepared on"):
        reconstruct(holo, small)


def test_bad_input(stack):
    holo, ref, _ = stack
    with pytest.raises(ShapeError, match="reference has shape"):
        reconstruct(holo, ref.isel(x=slice(0, 80)))
    with pytest.raises(ShapeError, match="expected \\('frame', 'y', 'x'\\)"):
        reconstruct(holo.isel(frame=0), ref)
    with pytest.raises(DataError, match="complex"):
        reconstruct(holo.astype(np.complex64), ref)
    with pytest.raises(ParameterError, match="on_error"):
        reconstruct(holo, ref, on_error="ignore")
    with pytest.raises(ParameterError, match="radius"):
        reconstruct(holo, ref, radius=0.7)
    bad = holo.copy()
    bad[3, 5, 5] = np.nan
    lazy = reconstruct(bad.chunk({"frame": 2}), ref)  # nothing computed yet
    with pytest.raises(DataError, match="frame 3 of the series has 1 NaN"):
        lazy.wave.compute()
    flagged = reconstruct(bad.chunk({"frame": 2}), ref, on_error="skip")
    assert flagged.frame_ok.values.tolist() == [True, True, True, False, True]
    assert np.isnan(flagged.wave.values[3]).all() and np.isfinite(flagged.wave.values[2]).all()
