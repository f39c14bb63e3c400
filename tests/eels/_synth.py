"""Synthetic EELS data with known truth, independent of holocorr.eels.

The edge shapes here deliberately differ from the library's rational
"delayed edge" curves (holocorr/eels/edges.py): saturating-exponential onsets
with power-law decays and gamma-function bumps, with onsets and maxima moved
by 0.3-1 eV, so that tests of the quantification are not circular.

Physics of the forward model (all on a fine 0.02 eV grid):

* valence single-scattering distribution p(E): a Drude loss function
  E G Ep^2 / ((E^2 - Ep^2)^2 + (E G)^2), unit area (tail ~ E^-3);
* low loss per incident electron: L = Z * exp(tau (p - 1)) (Poisson plural
  scattering, evaluated exactly in Fourier space), Z a Gaussian zero-loss
  peak; ZLP fraction exp(-tau);
* core loss per incident electron: L + S * L with S = tau * sum_k n_k s_k the
  single-scattering edges (areal density ~ n t ~ n tau lambda);
* a row shift d: a feature at true loss E is recorded at E + d;
* counts = I x (integral over each channel), then Poisson noise.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.special import erf

FINE = 0.04
GRID = np.arange(-40.0, 420.0, FINE)


def _gauss_blur(f, sigma):
    if sigma <= 0:
        return f
    t = np.arange(-6 * sigma, 6 * sigma + FINE, FINE)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    return np.convolve(f, g / g.sum(), mode="same")


def _step_decay(e, e0, rise, power):
    u = np.clip(e - e0, 0, None)
    return np.where(e > e0, (1 - np.exp(-u / rise)) * (e0 / np.maximum(e, e0)) ** power, 0.0)


def _gamma_bump(e, e0, width, k):
    u = np.clip(e - e0, 0, None) / width
    return np.where(e > e0, u**k * np.exp(k * (1 - u)), 0.0)


_CACHE: dict = {}


def _cached(name, build):
    if name not in _CACHE:
        _CACHE[name] = build()
    return _CACHE[name]


def edge_li(e):
    """Li K: onset 55.8 eV, saturating onset, E^-3 decay (max ~61.5 eV)."""
    f = _cached("li", lambda: _gauss_blur(_step_decay(GRID, 55.8, 3.0, 3.0), 0.7))
    return f[_idx(e)]


def edge_ti(e):
    """Ti M2,3: gamma bump from 33.8 eV peaking at 46.8 eV plus a weak step."""
    f = _cached(
        "ti", lambda: _gauss_blur(_gamma_bump(GRID, 33.8, 13.0, 2.0) + 0.25 * _step_decay(GRID, 33.8, 4.0, 3.0), 1.2)
    )
    return f[_idx(e)]


def edge_ti3(e):
    """Ti3+ M2,3: the Ti4+ shape moved 1.4 eV down and 10 % narrower."""
    f = _cached(
        "ti3", lambda: _gauss_blur(_gamma_bump(GRID, 32.4, 11.7, 2.0) + 0.25 * _step_decay(GRID, 32.4, 4.0, 3.0), 1.2)
    )
    return f[_idx(e)]


def edge_co(e):
    """Co M2,3: onset 59.8 eV, bump peaking at 64 eV plus a step."""
    f = _cached(
        "co", lambda: _gauss_blur(_gamma_bump(GRID, 59.8, 4.2, 1.5) + 0.3 * _step_decay(GRID, 59.8, 2.0, 3.0), 0.9)
    )
    return f[_idx(e)]


def edge_pt(e):
    """Pt O3 / O2 / N7: weak, broad bumps."""
    f = _cached(
        "pt",
        lambda: _gauss_blur(
            _gamma_bump(GRID, 51.5, 7.0, 1.0)
            + 0.5 * _gamma_bump(GRID, 65.0, 7.0, 1.0)
            + 0.5 * _gamma_bump(GRID, 71.0, 8.0, 1.0),
            1.5,
        ),
    )
    return f[_idx(e)]


def edge_p(e):
    """P L2,3: onset 135.2 eV, fast step with E^-2.5 decay and a bump 10 eV above."""
    f = _cached(
        "p", lambda: _gauss_blur(_step_decay(GRID, 135.2, 1.5, 2.5) + 0.6 * _gamma_bump(GRID, 135.2, 10.0, 2.0), 0.8)
    )
    return f[_idx(e)]


def _delayed(e, e0, delta, m, power):
    """(1 - exp(-(u/delta)^m)) (E/E0)^-power: a smooth delayed rise and a power-law tail."""
    u = np.clip(e - e0, 0, None)
    return np.where(e > e0, (1 - np.exp(-((u / delta) ** m))) * (e0 / np.maximum(e, e0)) ** power, 0.0)


def _family_b():
    """A second, independent family: smooth delayed rises with power-law tails."""
    return {
        "li": _gauss_blur(0.4 * _step_decay(GRID, 56.8, 0.8, 4.0) + _delayed(GRID, 56.8, 4.5, 1.0, 4.0), 0.5),
        "ti": _gauss_blur(_delayed(GRID, 34.8, 8.5, 2.0, 4.5), 1.0),
        "ti3": _gauss_blur(_delayed(GRID, 33.2, 7.5, 2.0, 4.5), 1.0),
        "co": _gauss_blur(_delayed(GRID, 59.3, 3.0, 2.0, 5.0), 0.8),
        "pt": _gauss_blur(
            _delayed(GRID, 51.9, 6.0, 2.0, 3.0)
            + 0.5 * _delayed(GRID, 65.5, 6.0, 2.0, 3.0)
            + 0.6 * _delayed(GRID, 71.3, 6.0, 2.0, 3.0),
            1.5,
        ),
        "p": _gauss_blur(0.3 * _step_decay(GRID, 135.8, 1.0, 3.0) + _delayed(GRID, 135.8, 9.0, 1.0, 3.0), 0.8),
    }


FAMILY = "a"


def use_family(name):
    """Select the edge-shape family ("a" or "b") used by spectra_row."""
    global FAMILY
    FAMILY = name


def _edge(name, e):
    if FAMILY == "a":
        return EDGE_FUNCS[name](e)
    if "family_b" not in _CACHE:
        fb = _family_b()
        _CACHE["family_b"] = {k: v / v.max() for k, v in fb.items()}
    f = _CACHE["family_b"][name]
    # same peak height as family "a" so that the scales keep their meaning
    return f[_idx(e)] * float(EDGE_FUNCS[name](GRID).max())


def _idx(e):
    return np.clip(np.rint((np.asarray(e) - GRID[0]) / FINE).astype(int), 0, GRID.size - 1)


EDGE_FUNCS = {"li": edge_li, "ti": edge_ti, "ti3": edge_ti3, "co": edge_co, "pt": edge_pt, "p": edge_p}
#: cross-section-like scale of each edge (so that the edges have realistic jump ratios)
SCALE = {"li": 0.0012, "ti": 0.0030, "ti3": 0.0030, "co": 0.0040, "pt": 0.0010, "p": 0.0012}


def drude(e, ep=24.0, gamma=8.0, extra=0.6):
    """Drude loss function plus a smooth extra valence tail ~E^-3.3 (unit: arbitrary)."""
    ee = np.clip(e, 1e-6, None)
    d = ee * gamma * ep**2 / ((ee**2 - ep**2) ** 2 + (ee * gamma) ** 2)
    # extra tail with weight `extra` relative to the Drude term at 60 eV
    d60 = 60 * gamma * ep**2 / ((3600 - ep**2) ** 2 + (60 * gamma) ** 2)
    t = (ee / 60.0) ** -3.3 / (1 + (0.8 * ep / ee) ** 6)
    return np.where(e > 0, d + extra * d60 * t, 0.0)


def _fft_conv_kernel(tau, zlp_fwhm, ep=24.0, gamma=8.0):
    """Low-loss per incident electron on GRID (per eV), exact Poisson plural scattering."""
    n = GRID.size
    key = ("p", ep, gamma)
    if key not in _CACHE:
        pp = drude(np.arange(n) * FINE, ep, gamma)
        _CACHE[key] = np.fft.rfft(pp / pp.sum())
    phat = _CACHE[key]
    sig = zlp_fwhm / 2.3548
    i0 = int(round(-GRID[0] / FINE))
    # ZLP centred at index 0 (circular), so the product places loss 0 at index 0
    k = np.arange(n)
    kk = np.where(k < n // 2, k, k - n) * FINE
    z = np.exp(-0.5 * (kk / sig) ** 2)
    z /= z.sum()
    lhat = np.fft.rfft(z) * np.exp(tau * (phat - 1.0))
    return lhat, i0


def spectra_row(tau, comp, *, zlp_fwhm=0.9, ep=24.0, gamma=8.0):
    """(low loss, core loss) per incident electron per eV on GRID for one composition."""
    lhat, i0 = _fft_conv_kernel(tau, zlp_fwhm, ep, gamma)
    n = GRID.size
    low = np.roll(np.fft.irfft(lhat, n), i0) / FINE
    s = np.zeros(n)
    for name, amount in comp.items():
        if amount:
            s += tau * amount * SCALE[name] * _edge(name, GRID)
    # S * L: S is a density in loss; convolve (per eV) with the low-loss kernel
    core_edges = np.fft.irfft(np.fft.rfft(s) * lhat, n)
    return low, low + core_edges, core_edges


def bin_counts(f, energy, step, shift=0.0):
    """Integrate a per-eV density on GRID over channels centred at `energy` (+ shift)."""
    cum = np.concatenate([[0.0], np.cumsum(f) * FINE])
    edges = np.concatenate([[GRID[0] - FINE / 2], GRID + FINE / 2])
    lo = energy - step / 2 + shift
    hi = energy + step / 2 + shift
    return np.interp(hi, edges, cum) - np.interp(lo, edges, cum)


def energy_da(values, energy, dims, coords=None):
    c = {"energy": ("energy", energy, {"units": "eV", "long_name": "energy loss"})}
    for k, v in (coords or {}).items():
        c[k] = (k, v, {"units": "nm", "long_name": k})
    return xr.DataArray(values, dims=dims, coords=c, attrs={"units": "counts", "long_name": "counts"})


def li_profile(x, *, front=400.0, blur=20.0, pt_blur=5.0, li_el=2.3, li_bulk=1.3):
    """Li per formula unit across Pt | electrode (0..front) | LATSPO."""
    in_material = 0.5 * (1 + erf(x / (np.sqrt(2) * pt_blur)))
    step = 0.5 * (1 + erf((x - front) / (np.sqrt(2) * blur)))
    return in_material * (li_el + (li_bulk - li_el) * step)


def sr_eels_frame(
    *,
    x=None,
    core_energy=(30.0, 160.0, 0.1),
    low_energy=(-10.0, 150.0, 0.1),
    dose=3e7,
    low_dose=3e6,
    shift_max=2.0,
    tau_latspo=0.6,
    tau_pt=1.1,
    seed=0,
    noise=True,
    front=400.0,
    lco=False,
    ti3=0.5,
    dtype=np.float64,
):
    """Synthetic SR-EELS core-loss and low-loss frames (dims x, energy) with truth.

    Pt (x < 0) | electrode 0..front (Li 2.3) | LATSPO (Li 1.3); Ti 1.7 and P 3
    outside Pt; a wedge in t/lambda; a non-uniform illumination along the slit;
    a quadratic energy shift of up to `shift_max` eV; Poisson noise; a
    fraction `ti3` of the electrode's Ti is Ti3+ (another M2,3 shape). With
    `lco` the electrode is LiCoO2 instead (Co M2,3 in 0..front, no Ti).
    """
    rng = np.random.default_rng(seed)
    if x is None:
        x = np.arange(-100.0, 800.0 + 1e-9, 5.0)
    ce = np.arange(core_energy[0], core_energy[1], core_energy[2])
    le = np.arange(low_energy[0], low_energy[1], low_energy[2])
    li = li_profile(x, front=front)
    in_mat = 0.5 * (1 + erf(x / (np.sqrt(2) * 5.0)))
    tau = in_mat * (tau_latspo + 0.15 * x / 800.0) + (1 - in_mat) * tau_pt
    illum = 1.0 + 0.25 * np.cos(2 * np.pi * x / 1400.0)
    xc = 0.5 * (x[0] + x[-1])
    half = 0.5 * (x[-1] - x[0])
    shift = shift_max * ((x - xc) / half) ** 2 - 0.3 * shift_max
    core = np.empty((x.size, ce.size))
    tau_total = np.empty(x.size)
    low = np.empty((x.size, le.size))
    el = 0.5 * (1 + erf((x - front) / (np.sqrt(2) * 20.0)))  # 1 in LATSPO
    if lco:
        ti = in_mat * 1.7 * el
        ti3_amount = np.zeros_like(x)
        co = in_mat * 1.0 * (1 - el)
    else:
        ti3_amount = in_mat * 1.7 * ti3 * (1 - el)
        ti = in_mat * 1.7 - ti3_amount
        co = np.zeros_like(x)
    for i in range(x.size):
        comp = {
            "li": li[i],
            "ti": ti[i],
            "ti3": ti3_amount[i],
            "co": co[i],
            "pt": 3.0 * (1 - in_mat[i]),
            "p": 3.0 * in_mat[i],
        }
        ep, gamma = (24.0, 8.0) if in_mat[i] > 0.5 else (30.0, 20.0)
        lo_f, co_f, _ = spectra_row(tau[i], comp, ep=ep, gamma=gamma)
        # the low-loss frame is the same spectrum at a lower dose (edges included, as recorded)
        low[i] = low_dose * illum[i] * bin_counts(co_f, le, low_energy[2], -shift[i])
        # t/lambda of everything the low-loss frame holds (valence + edges)
        tau_total[i] = tau[i] + np.log(
            low[i].sum() / (low_dose * illum[i] * bin_counts(lo_f, le, low_energy[2], -shift[i]).sum())
        )
        core[i] = dose * illum[i] * bin_counts(co_f, ce, core_energy[2], -shift[i])
    if noise:
        core = rng.poisson(np.maximum(core, 0)).astype(float)
        low = rng.poisson(np.maximum(low, 0)).astype(float)
    truth = {
        "x": x,
        "li": li,
        "tau": tau,
        "tau_total": tau_total,
        "shift": shift,
        "illum": illum,
        "ti": ti,
        "co": co,
        "ti3": ti3_amount,
    }
    return (
        energy_da(core.astype(dtype), ce, ("x", "energy"), {"x": x}),
        energy_da(low.astype(dtype), le, ("x", "energy"), {"x": x}),
        truth,
    )
