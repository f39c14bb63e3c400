"""align / correct_phase_drift / average on synthetic waves with known answers; bad input."""

import json

import numpy as np
import pytest
import xarray as xr
from _series_synth import coords, shifted_texture, texture

from holocorr.errors import DataError, ParameterError, ShapeError
from holocorr.series import align, apply_drift, average, correct_phase_drift

N = 128


def waves_of(frames, step=0.5, **per_frame):
    c = coords(N, N, step)
    ds = xr.Dataset(
        {"wave": (("frame", "y", "x"), np.asarray(frames, np.complex64))}, coords={**c, "frame": np.arange(len(frames))}
    )
    for k, v in per_frame.items():
        ds[k] = ("frame", np.asarray(v))
    return ds


@pytest.fixture(scope="module")
def obj():
    spectra = texture((N, N), seed=3, phase_rms=0.6, logamp_rms=0.3)
    return spectra


def test_align_known_shifts_and_failed_frame(obj):
    rng = np.random.default_rng(0)
    shifts = [(0.0, 0.0), (3.3, -7.6), (-12.25, 4.5), (0.4, 0.2)]
    frames = []
    for dy, dx in shifts:
        phi, amp = shifted_texture(obj, (N, N), dy, dx)
        frames.append(amp * np.exp(1j * phi) + 0.02 * (rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N))))
    frames.append(np.exp(1j * rng.normal(size=(N, N))) * rng.uniform(0.5, 1.5, (N, N)))  # unrelated frame
    out = align(waves_of(frames), max_error_px=0.5)
    np.testing.assert_allclose(out.drift.values[:4] / 0.5, shifts, atol=0.05)
    assert out.alignment_ok.values.tolist() == [True, True, True, True, False]
    assert np.isnan(out.wave.values[4]).all()
    # frame 2's content drifted by (-12.25, +4.5) px and is moved back by (+12.25, -4.5): the top
    # 13 rows and the right 5 columns (plus the spline's 2 px) come from outside the frame: NaN
    w2 = out.wave.values[2]
    assert np.isnan(w2[:13]).all() and np.isnan(w2[:, -5:]).all()
    assert np.isfinite(w2[15:, :-7]).all()
    inner = np.isfinite(w2)
    ref = out.wave.values[0]
    assert np.abs(w2[inner] - ref[inner]).max() < 0.2 and np.abs(w2[inner] - ref[inner]).mean() < 0.05
    avg = average(out)
    assert avg.exclusion_reason.values[4].startswith("alignment failed")
    assert int(avg.n_frames) == 4
    # the series mean as template: the same drifts (relative to frame 0)
    mean = align(waves_of(frames), reference="mean", max_error_px=0.5)
    np.testing.assert_allclose(mean.drift.values[:4] / 0.5, shifts, atol=0.05)
    assert mean.alignment_ok.values.tolist() == [True, True, True, True, False]
    # a known drift can be applied to another series
    again = apply_drift(waves_of(frames[:4]), out.drift.isel(frame=slice(0, 4)))
    np.testing.assert_array_equal(np.isnan(again.wave.values), np.isnan(out.wave.values[:4]))


def test_align_bad_input(obj):
    ds = waves_of([np.ones((N, N))] * 2)
    with pytest.raises(ParameterError, match="on='phase'"):
        align(ds, on="phase")
    with pytest.raises(ParameterError, match="upsample"):
        align(ds, upsample=0)
    with pytest.raises(ParameterError, match="reference=5"):
        align(ds, reference=5)
    with pytest.raises(ShapeError, match="Dataset returned by holocorr.series.reconstruct"):
        align(ds.wave.values)
    with pytest.raises(ShapeError, match=r"expected \('frame', 'y', 'x'\)"):
        align(ds.isel(frame=0))
    with pytest.raises(ParameterError, match="drift has shape"):
        apply_drift(ds, np.zeros((3, 2)))


def test_phase_drift_uses_the_vacuum_when_the_specimen_changes():
    """Bias step: the specimen (x < 32 nm) gains 0.8 rad from frame 3 on; offsets only from vacuum."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:N, 0:N]
    specimen = xx < 64
    base = np.exp(1j * 0.5 * np.sin(yy / 9.0) * specimen)
    offsets = np.array([0.0, 3.0, -2.9, 1.4, -0.7, 2.2])  # biprism drift [rad]
    frames = []
    for k, th in enumerate(offsets):
        step = 0.8 * specimen if k >= 3 else 0.0
        noise = 0.02 * (rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N)))
        frames.append(base * np.exp(1j * (step + th)) + noise)
    ds = waves_of(frames)
    vac = correct_phase_drift(ds, region={"x": (34.0, 63.5)})  # nm: the right half
    np.testing.assert_allclose(vac.phase_offset.values, offsets, atol=0.01)
    assert vac.phase_offset.attrs["units"] == "rad"
    assert (vac.phase_offset_error.values[1:] < 0.005).all()
    # over the whole field the step leaks into the offsets (half the field moved by 0.8 rad)
    whole = correct_phase_drift(ds)
    assert np.abs(whole.phase_offset.values[3:] - offsets[3:]).min() > 0.2
    # after the vacuum correction, the specimen shows the bias step and the vacuum nothing
    ph = np.angle(vac.wave.values[4] * np.conj(vac.wave.values[0]))
    assert np.median(ph[:, :60]) == pytest.approx(0.8, abs=0.01)
    assert np.median(ph[:, 70:]) == pytest.approx(0.0, abs=0.01)


def test_phase_drift_with_tilts():
    yy, xx = np.mgrid[0:N, 0:N]
    base = np.exp(1j * 0.7 * np.cos(xx / 11.0) * np.sin(yy / 13.0))
    offsets = np.array([0.0, -3.1, 2.0, 0.5])
    tilts = np.array([[0.0, 0.0], [0.004, -0.006], [-0.008, 0.002], [0.003, 0.003]])  # rad/px
    cy = cx = (N - 1) / 2
    frames = [
        base * np.exp(1j * (th + ty * (yy - cy) + tx * (xx - cx))) for th, (ty, tx) in zip(offsets, tilts, strict=True)
    ]
    out = correct_phase_drift(waves_of(frames), tilt=True)
    np.testing.assert_allclose(out.phase_offset.values, offsets, atol=1e-3)
    np.testing.assert_allclose(out.phase_tilt.values * 0.5, tilts, atol=2e-5)  # rad/nm -> rad/px
    assert out.phase_tilt.attrs["units"] == "rad/nm"
    d = np.angle(out.wave.values[2] * np.conj(out.wave.values[0]))
    assert np.abs(d).max() < 1e-3


def test_phase_drift_bad_input():
    ds = waves_of([np.ones((N, N))] * 2, frame_ok=[False, True])
    with pytest.raises(DataError, match="reference frame"):
        correct_phase_drift(ds)
    with pytest.raises(ParameterError, match="selects no pixel|no pixel"):
        correct_phase_drift(ds, reference=1, region={"x": (500.0, 600.0)})
    with pytest.raises(ParameterError, match="tilt"):
        correct_phase_drift(ds, tilt="yes")


def test_average_weights_noise_and_exclusions():
    rng = np.random.default_rng(2)
    n = 40
    phi0 = 0.3
    noise = 0.1 * rng.normal(size=(n, N, N))
    frames = np.exp(1j * (phi0 + noise))
    contrast = np.full(n, 0.3)
    contrast[7] = 0.1  # a frame with lost fringes
    ds = waves_of(frames, fringe_contrast=contrast)
    avg = average(ds)
    assert int(avg.n_frames) == n - 1
    assert avg.used.values.sum() == n - 1 and not avg.used.values[7]
    assert avg.exclusion_reason.values[7].startswith("low fringe contrast (0.100 < 0.7 x median 0.300)")
    assert json.loads(avg.attrs["excluded_frames"]) == {"low fringe contrast": [7]}
    # per-pixel spread of one frame's phase: 0.1 rad; standard error 0.1/sqrt(39)
    assert float(avg.phase_std.mean()) == pytest.approx(0.1, rel=0.02)
    assert float(avg.phase_sem.mean()) == pytest.approx(0.1 / np.sqrt(n - 1), rel=0.02)
    assert float(avg.phase.mean()) == pytest.approx(phi0, abs=1e-3)
    assert avg.phase.attrs["units"] == "rad" and avg.x.attrs["units"] == "nm"
    # weights: frame phases 0 and 1 rad, weights 3:1 -> mean wave phase arg(3 + e^i)
    two = waves_of([np.ones((N, N)), np.exp(1j * np.ones((N, N)))])
    w = average(two, weights=[3.0, 1.0], unwrap=False)
    assert float(w.phase[5, 5]) == pytest.approx(np.angle(3 + np.exp(1j)), abs=1e-6)
    assert float(w.phase_sem[5, 5]) == pytest.approx(
        float(w.phase_std[5, 5]) * np.sqrt(10) / 4, rel=1e-5
    )  # std sqrt(sum a^2)/sum a
    zero = average(two, weights=xr.DataArray([1.0, 0.0], dims="frame", coords={"frame": [0, 1]}))
    assert zero.exclusion_reason.values.tolist() == ["", "zero weight"]


def test_average_bad_input():
    ds = waves_of([np.ones((N, N))] * 3, frame_ok=[False, False, False])
    with pytest.raises(DataError, match="no usable frame"):
        average(ds)
    ok = waves_of([np.ones((N, N))] * 3)
    with pytest.raises(ParameterError, match=r"weights has shape \(2,\)"):
        average(ok, weights=[1.0, 2.0])
    with pytest.raises(ParameterError, match="finite and >= 0"):
        average(ok, weights=[1.0, -1.0, 1.0])
    with pytest.raises(ParameterError, match="crop"):
        average(ok, crop="yes")
