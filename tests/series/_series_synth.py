"""Simulated hologram series with known drift, biprism phase drift and Poisson noise.

Imported by tests/series/test_*.py as ``_series_synth`` (a unique module name).
The object is analytic (Gaussian bumps of phase and amplitude), so a frame
drifted by (dy, dx) px is evaluated exactly at the shifted positions: the
ground truth carries no interpolation error.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from holocorr.simulate import hologram

SPACING, ANGLE, CONTRAST = 4.3, 35.0, 0.3
STEP_NM = 0.5

# (y, x, sigma, phase [rad], amplitude dip); positions in px
BUMPS = [
    (60, 70, 9.0, 1.2, 0.25),
    (150, 90, 12.0, -0.8, 0.15),
    (100, 170, 7.0, 0.9, 0.3),
    (190, 190, 10.0, 0.6, 0.2),
    (70, 190, 8.0, -0.7, 0.2),
    (180, 50, 6.0, 1.0, 0.25),
]


def coords(ny, nx, step=STEP_NM):
    return {
        d: xr.DataArray(np.arange(n) * step, dims=d, attrs={"units": "nm", "long_name": d})
        for d, n in (("y", ny), ("x", nx))
    }


def object_maps(shape, dy=0.0, dx=0.0, scale=1.0):
    """Phase [rad] and amplitude of the object with its content displaced by (dy, dx) px."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    phi = np.zeros(shape)
    amp = np.ones(shape)
    for y0, x0, s, p, a in BUMPS:
        g = np.exp(-((yy - y0 * ny / 256 - dy) ** 2 + (xx - x0 * nx / 256 - dx) ** 2) / (2 * (s * scale) ** 2))
        phi += p * g
        amp -= a * g
    return phi, amp


def series(n, *, shape=(256, 256), max_drift=20.0, max_offset=np.pi, dose=None, seed=0, dtype="float32"):
    """Holograms (frame, y, x) with per-frame drift and biprism phase offsets, plus truth.

    Returns
    -------
    holograms : DataArray (frame, y, x)
    reference : DataArray (y, x), noise-free vacuum reference
    truth : dict with drift_px (n, 2) and offset_rad (n,) (frame 0 has both 0)
    """
    rng = np.random.default_rng(seed)
    drift = rng.uniform(-max_drift, max_drift, size=(n, 2))
    drift[0] = 0.0
    offset = rng.uniform(-max_offset, max_offset, size=n)
    offset[0] = 0.0
    c = coords(*shape)
    kw = dict(spacing_px=SPACING, angle_deg=ANGLE, contrast=CONTRAST, dtype=dtype)
    frames = []
    for k in range(n):
        phi, amp = object_maps(shape, *drift[k])
        frames.append(
            hologram(xr.DataArray(phi + offset[k], dims=("y", "x"), coords=c), amp, dose=dose, rng=rng, **kw).values
        )
    holo = xr.DataArray(
        np.stack(frames),
        dims=("frame", "y", "x"),
        coords=c,
        name="hologram",
        attrs={"units": "counts", "long_name": "hologram intensity", "beam_energy_kv": 300.0},
    )
    ref = hologram(xr.DataArray(np.zeros(shape), dims=("y", "x"), coords=c), **kw)
    return holo, ref, {"drift_px": drift, "offset_rad": offset}


def texture(shape, *, kmax=0.045, phase_rms=0.8, logamp_rms=0.12, seed=0):
    """Periodic band-limited random object: Fourier coefficients (phase, log-amplitude) below kmax.

    A periodic band-limited object is shifted exactly by a Fourier phase
    ramp, so drifted frames carry no interpolation error. kmax [cycles/px]
    lies well inside the reconstruction aperture (|q_c|/3 = 0.078 for a
    4.3 px fringe spacing).
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    ky = np.fft.fftfreq(ny)[:, None]
    kx = np.fft.fftfreq(nx)[None, :]
    band = (np.hypot(ky, kx) < kmax) & (np.hypot(ky, kx) > 0)
    out = []
    for rms in (phase_rms, logamp_rms):
        spec = np.where(band, rng.normal(size=shape) + 1j * rng.normal(size=shape), 0)
        field = np.real(np.fft.ifft2(spec))
        out.append(spec * (rms / field.std()))
    return out  # spectra of phase and log-amplitude


def shifted_texture(spectra, shape, dy, dx):
    ny, nx = shape
    ramp = np.exp(-2j * np.pi * (np.fft.fftfreq(ny)[:, None] * dy + np.fft.fftfreq(nx)[None, :] * dx))
    phi = np.real(np.fft.ifft2(spectra[0] * ramp))
    amp = np.exp(np.real(np.fft.ifft2(spectra[1] * ramp)))
    return phi, amp


def texture_series(
    n,
    *,
    shape=(256, 256),
    max_drift=20.0,
    max_offset=np.pi,
    dose=500.0,
    seed=0,
    dtype="float32",
    vacuum_from=None,
    **tex,
):
    """Like :func:`series` with the periodic texture object; reference noise-free at the same dose.

    With `vacuum_from` (a fraction of the width) the object is multiplied by a
    smooth step that drifts with it, 1 left of x = vacuum_from * nx and 0 to the
    right (an erf edge 12 px wide, evaluated analytically at the drifted
    position), leaving vacuum on the right.
    """
    rng = np.random.default_rng(seed)
    spectra = texture(shape, seed=seed + 1000, **tex)
    drift = rng.uniform(-max_drift, max_drift, size=(n, 2))
    drift[0] = 0.0
    offset = rng.uniform(-max_offset, max_offset, size=n)
    offset[0] = 0.0
    c = coords(*shape)
    kw = dict(spacing_px=SPACING, angle_deg=ANGLE, contrast=CONTRAST, dtype=dtype)
    frames = []

    def obj(dy, dx):
        phi, amp = shifted_texture(spectra, shape, dy, dx)
        if vacuum_from is not None:
            from scipy.special import erfc

            x = np.arange(shape[1])[None, :] - dx
            m = 0.5 * erfc((x - vacuum_from * shape[1]) / 12.0)
            phi, amp = phi * m, np.exp(np.log(amp) * m)
        return phi, amp

    for k in range(n):
        phi, amp = obj(*drift[k])
        frames.append(
            hologram(xr.DataArray(phi + offset[k], dims=("y", "x"), coords=c), amp, dose=dose, rng=rng, **kw).values
        )
    holo = xr.DataArray(
        np.stack(frames),
        dims=("frame", "y", "x"),
        coords=c,
        name="hologram",
        attrs={"units": "counts", "long_name": "hologram intensity", "beam_energy_kv": 300.0},
    )
    ref = hologram(xr.DataArray(np.zeros(shape), dims=("y", "x"), coords=c), **kw)
    if dose is not None:
        ref = ref * np.float32(dose)
    phi0, amp0 = obj(0.0, 0.0)
    return holo, ref, {"drift_px": drift, "offset_rad": offset, "phase": phi0, "amplitude": amp0}


def ensure_series_command(monkeypatch):
    """Register `holocorr series` in the CLI parser (for this test) if it is not wired in yet."""
    import holocorr.cli as cli
    from holocorr.series.cli import add_series_command

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if getattr(a, "dest", None) == "command")
    if "series" in sub.choices:
        return
    original = cli.build_parser

    def build_parser():
        p = original()
        add_series_command(next(a for a in p._actions if getattr(a, "dest", None) == "command"))
        return p

    monkeypatch.setattr(cli, "build_parser", build_parser)
