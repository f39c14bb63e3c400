"""Forward models of SR-TEM-EELS and STEM-EELS around the Li-K edge (ground truth for tests).

:func:`sr_eels` turns a ground-truth specimen from
:func:`holocorr.simulate.specimen` into a spatially resolved EELS slit frame
(position x energy loss) across the Pt | electrode | LATSPO interface and its
matching low-loss frame. :func:`stem_eels` does the same for a small spectrum
image. Both use one spectrum model, described in :func:`sr_eels`.

The model is deliberately independent of :mod:`holocorr.eels` (the
quantifier), so that tests of the quantifier against these spectra are not
circular.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage
from scipy.optimize import brentq
from scipy.special import erfc

from .._fft import irfft2, next_fast_len, rfft2
from .._provenance import array_hash, provenance
from .._validate import axis_step, check_choice, check_positive, spatial_units_to_nm
from ..errors import CalibrationError, DataError, ParameterError, ShapeError
from ._specimen import specimen_map

__all__ = ["sr_eels", "stem_eels", "EDGES"]

# --------------------------------------------------------------------------- #
# constants and model tables
# --------------------------------------------------------------------------- #
#: electron rest energy m0 c^2 [eV] (CODATA 2018)
_M0C2_EV = 510_998.950
_SQRT2 = math.sqrt(2.0)
_N_A = 6.02214076e23

#: framework of the LATSPO-type material per formula unit,
#: Li(1+x+y) Al(y) Ti(2-y) Si(x) P(3-x) O12 with x = 0.1 (Si), y = 0.2 (Al),
#: so that Li = 1.3 as in SCIENCE.md. The Li itself comes from the specimen.
_FU = {"Al": 0.2, "Ti": 1.8, "Si": 0.1, "P": 2.9, "O": 12.0}
_MOLAR_MASS = {
    "Li": 6.94,
    "Al": 26.982,
    "Ti": 47.867,
    "Si": 28.085,
    "P": 30.974,
    "O": 15.999,
    "Pt": 195.084,
}
#: density of LATSPO [g/cm^3] (the value holocorr.holography.mean_free_path uses; an assumption)
_RHO_LATSPO = 2.9
_RHO_PT = 21.45
_M_FU = 1.3 * _MOLAR_MASS["Li"] + sum(n * _MOLAR_MASS[el] for el, n in _FU.items())
#: formula units of LATSPO per nm^3 (~4.54); assumed equal in the lithiated electrode
N_FU_PER_NM3 = _RHO_LATSPO * _N_A / _M_FU * 1e-21
#: Pt atoms per nm^3 (~66.2)
N_PT_PER_NM3 = _RHO_PT * _N_A / _MOLAR_MASS["Pt"] * 1e-21

#: valence model: Drude energy-loss function plus a phenomenological power-law
#: term a (E/Ep)^-r_tail / (1 + (Ep/E)^8) whose weight equals `_TAIL_RATIO`
#: times the Drude term at 60 eV
_TAIL_R = 3.5
_TAIL_RATIO = {"LATSPO": 0.75, "Pt": 0.4}
_TAIL_REF_EV = 60.0
#: the valence shape is normalised to unit area over (0, _E_NORM_EV]
_E_NORM_EV = 3000.0
#: cross sections are tabulated at this beam energy and scaled by 1/v^2 (Bethe)
_REF_KV = 300.0
#: integration window above the first onset that defines an edge's tabulated cross section [eV]
_SIGMA_WINDOW_EV = 30.0
#: rise length [eV] of the sharp "step" part of L2,3 edges
_STEP_RISE_EV = 1.0
_CHUNK = 256


@dataclass(frozen=True)
class _Component:
    onset: float  # eV
    maximum: float  # eV, position of the maximum of the delayed part times the tail
    r: float  # power-law tail exponent
    m: float  # rise exponent of the delayed part (1: sharp, 2: soft)
    step: float  # fraction of the sharp step part in [0, 1]
    weight: float  # relative weight inside a composite edge


@dataclass(frozen=True)
class _Edge:
    name: str
    species: str
    components: tuple[_Component, ...]
    sigma_nm2: float  # per atom, integrated over [onset, onset + 30 eV], 300 kV, beta ~ 10 mrad


def _edge_table(li_onset: float, li_max: float) -> tuple[_Edge, ...]:
    """Return the edge table (see :func:`sr_eels` for sources and what is phenomenological)."""
    return (
        _Edge("Li K", "li", (_Component(li_onset, li_max, 4.0, 1.0, 0.0, 1.0),), 8.0e-6),
        _Edge("Ti M2,3", "ti4", (_Component(34.6, 47.0, 4.0, 2.0, 0.0, 1.0),), 3.5e-5),
        _Edge("Ti M2,3", "ti3", (_Component(33.0, 45.0, 4.0, 2.0, 0.0, 1.0),), 3.5e-5),
        _Edge("Al L2,3", "al", (_Component(76.5, 95.0, 3.0, 1.0, 0.3, 1.0),), 8.0e-6),
        _Edge("Si L2,3", "si", (_Component(105.5, 130.0, 3.0, 1.0, 0.3, 1.0),), 6.0e-6),
        _Edge("P L2,3", "p", (_Component(135.5, 152.0, 3.0, 1.0, 0.3, 1.0),), 5.0e-6),
        _Edge(
            "Pt O/N",
            "pt",
            (
                _Component(51.7, 60.0, 3.0, 2.0, 0.0, 1.0),  # O3
                _Component(65.3, 74.0, 3.0, 2.0, 0.0, 0.5),  # O2
                _Component(71.1, 82.0, 3.0, 2.0, 0.0, 0.6),  # N7
                _Component(74.3, 85.0, 3.0, 2.0, 0.0, 0.4),  # N6
                _Component(101.7, 112.0, 3.0, 2.0, 0.0, 0.3),  # O1
            ),
            1.0e-6,
        ),
    )


#: the edges that can be selected with ``edges=`` (in model order)
EDGES = ("Li K", "Ti M2,3", "Al L2,3", "Si L2,3", "P L2,3", "Pt O/N")
_SPECIES = ("li", "ti4", "ti3", "al", "si", "p", "pt")


# --------------------------------------------------------------------------- #
# kernels (numpy in, numpy out; energies in eV, lengths in nm)
# --------------------------------------------------------------------------- #
def _beam(kv: float) -> tuple[float, float]:
    """Return (gamma, v^2/c^2) of the beam electrons."""
    gamma = 1.0 + kv * 1e3 / _M0C2_EV
    return gamma, 1.0 - 1.0 / gamma**2


@functools.lru_cache(maxsize=64)
def _delay_length(onset: float, maximum: float, r: float, m: float) -> float:
    """Return the rise length delta [eV] of a delayed edge maximum.

    delta puts the maximum of (1 - exp(-(u/delta)^m)) (E/E_on)^-r at `maximum`.

    With u = E - E_on and x = (u_max/delta)^m the condition d/dE ln(...) = 0
    at u_max reads x / (e^x - 1) = c with c = r u_max / (m E_max), which has a
    unique root for 0 < c < 1.
    """
    u = maximum - onset
    c = r * u / (m * maximum)
    if not (u > 0 and 0 < c < 1):
        raise ParameterError(
            f"an edge maximum at {maximum:g} eV cannot follow an onset at {onset:g} eV with a "
            f"E^-{r:g} tail: the maximum must lie above the onset and within "
            f"{m * maximum / r:.3g} eV of it; move the maximum closer to the onset."
        )
    x = brentq(lambda z: z / math.expm1(z) - c, 1e-12, 700.0, xtol=1e-14, rtol=1e-14)
    return u / x ** (1.0 / m)


def _component_shape(e: np.ndarray, c: _Component) -> np.ndarray:
    """Phenomenological edge shape (unnormalised), 0 below the onset."""
    u = np.maximum(e - c.onset, 0.0)
    delta = _delay_length(c.onset, c.maximum, c.r, c.m)
    delayed = -np.expm1(-((u / delta) ** c.m))
    rise = delayed if c.step == 0 else c.step * -np.expm1(-u / _STEP_RISE_EV) + (1 - c.step) * delayed
    with np.errstate(divide="ignore"):
        tail = (np.maximum(e, c.onset) / c.onset) ** (-c.r)
    return np.where(e > c.onset, rise * tail, 0.0)


def _edge_raw(e: np.ndarray, edge: _Edge) -> np.ndarray:
    return sum(c.weight * _component_shape(e, c) for c in edge.components)


def _fine_integral(f, lo: float, hi: float, step: float = 0.002) -> float:
    n = max(int(math.ceil((hi - lo) / step)), 2)
    e = np.linspace(lo, hi, n + 1)
    return float(np.trapezoid(f(e), e))


@functools.lru_cache(maxsize=64)
def _edge_norm(edge: _Edge) -> float:
    """Factor turning the raw shape into dsigma/dE [nm^2/eV] at 300 kV."""
    lo = min(c.onset for c in edge.components)
    area = _fine_integral(lambda e: _edge_raw(e, edge), lo, lo + _SIGMA_WINDOW_EV)
    return edge.sigma_nm2 / area


def _edge_dsigma(e: np.ndarray, edge: _Edge, kv: float) -> np.ndarray:
    """Differential cross section dsigma/dE [nm^2/eV] per atom at beam energy `kv`."""
    scale = _beam(_REF_KV)[1] / _beam(kv)[1]  # Bethe: sigma ~ 1/v^2
    return _edge_norm(edge) * scale * _edge_raw(e, edge)


def _drude(e: np.ndarray, ep: float, gamma_ev: float, kv: float, beta_mrad: float) -> np.ndarray:
    """Drude energy-loss function times the angular factor ln(1 + (beta/theta_E)^2).

    Egerton (2011), eqs. (3.40), (4.26): Im(-1/eps) = E Gamma Ep^2 /
    ((E^2 - Ep^2)^2 + (E Gamma)^2) and theta_E = E / (gamma m0 v^2).
    """
    g, b2 = _beam(kv)
    e = np.asarray(e, dtype=np.float64)
    pos = e > 0
    ee = np.where(pos, e, 1.0)
    elf = ee * gamma_ev * ep**2 / ((ee**2 - ep**2) ** 2 + (ee * gamma_ev) ** 2)
    theta_e = ee / (g * _M0C2_EV * b2)
    ang = np.log1p((beta_mrad * 1e-3 / theta_e) ** 2)
    return np.where(pos, elf * ang, 0.0)


def _tail(e: np.ndarray, ep: float) -> np.ndarray:
    e = np.asarray(e, dtype=np.float64)
    pos = e > 0
    ee = np.where(pos, e, 1.0)
    return np.where(pos, (ee / ep) ** (-_TAIL_R) / (1.0 + (ep / ee) ** 8), 0.0)


@functools.lru_cache(maxsize=64)
def _valence_consts(material: str, ep: float, gamma_ev: float, kv: float, beta_mrad: float) -> tuple[float, float]:
    """(tail weight a, normalisation N) of the valence shape of `material`."""
    ref = np.array([_TAIL_REF_EV])
    a = _TAIL_RATIO[material] * float(_drude(ref, ep, gamma_ev, kv, beta_mrad)[0] / _tail(ref, ep)[0])
    e = np.concatenate([np.linspace(1e-6, 200.0, 400_001)[:-1], np.geomspace(200.0, _E_NORM_EV, 20_001)])
    f = _drude(e, ep, gamma_ev, kv, beta_mrad) + a * _tail(e, ep)
    return a, float(np.trapezoid(f, e))


def _valence_shape(e: np.ndarray, material: str, ep: float, gamma_ev: float, kv: float, beta_mrad: float) -> np.ndarray:
    """Valence single-scattering shape p(E) [1/eV], unit area over (0, 3000 eV]."""
    a, norm = _valence_consts(material, ep, gamma_ev, kv, beta_mrad)
    return (_drude(e, ep, gamma_ev, kv, beta_mrad) + a * _tail(e, ep)) / norm


@dataclass(frozen=True)
class _Model:
    """Spectrum-model settings shared by every spectrum of one call."""

    kv: float
    beta_mrad: float
    zlp_sigma: float
    plasmons: tuple[tuple[float, float], tuple[float, float]]  # (Ep, Gamma) of LATSPO, Pt
    edges: tuple[_Edge, ...]  # the selected edges
    species_cols: tuple[int, ...]  # column in the areal-density table of each selected edge


def _frame(
    model: _Model,
    tau_mat: np.ndarray,
    areal: np.ndarray,
    shift: np.ndarray,
    start: float,
    step: float,
    n: int,
    dose: float,
) -> np.ndarray:
    """Return the expected counts of one frame for many spectra.

    Parameters
    ----------
    tau_mat : (K, 2) ndarray
        t/lambda carried by the LATSPO-type material and by Pt.
    areal : (K, 7) ndarray
        Atoms per nm^2 of the species in ``_SPECIES`` order.
    shift : (K,) ndarray
        Energy shift [eV] of each spectrum.
    start, step, n
        Frame channels E_j = start + j step [eV], j < n.
    dose : float
        Incident electrons per spectrum.

    Returns
    -------
    (K, n) float64 ndarray
        J = dose IFFT[ Z_hat exp(s_v_hat - tau) (1 + s_c_hat) ] on the frame
        channels (Z: Gaussian zero-loss peak at `shift`; s_v, s_c: valence and
        core-loss single-scattering probabilities per channel).
    """
    sig = model.zlp_sigma
    k = tau_mat.shape[0]
    smin, smax = (float(shift.min()), float(shift.max())) if k else (0.0, 0.0)
    e_need = min(start, smin - 12.0 * sig) - 1.0
    k0 = int(math.ceil((start - e_need) / step))
    e_lo = start - k0 * step
    n_grid = k0 + n
    loss_max = start + (n - 1) * step - (smin - 12.0 * sig) + 1.0
    m_max = int(math.ceil(loss_max / step)) + 1
    nfft = next_fast_len(2 * max(n_grid, m_max), real=True)
    loss = np.arange(nfft, dtype=np.float64) * step
    loss[m_max + 1 :] = 0.0  # single scattering beyond the needed range is not represented
    valid = loss > 0

    (ep_l, g_l), (ep_p, g_p) = model.plasmons
    pv = (
        np.stack(
            [
                _valence_shape(loss, "LATSPO", ep_l, g_l, model.kv, model.beta_mrad),
                _valence_shape(loss, "Pt", ep_p, g_p, model.kv, model.beta_mrad),
            ]
        )
        * step
        * valid
    )
    # 1-D transforms along energy through holocorr's 2-D FFT entry point (one row each)
    pv_hat = rfft2(pv[:, None, :])[:, 0, :]
    pc_hat = None
    if model.edges:
        pc = np.stack([_edge_dsigma(loss, ed, model.kv) for ed in model.edges]) * step * valid
        pc_hat = rfft2(pc[:, None, :])[:, 0, :]
    f = np.fft.rfftfreq(nfft, d=step)
    out = np.empty((k, n), dtype=np.float64)
    for lo in range(0, k, _CHUNK):
        hi = min(lo + _CHUNK, k)
        tau = tau_mat[lo:hi].sum(axis=1)
        log_k = tau_mat[lo:hi] @ pv_hat - tau[:, None]
        z_hat = np.exp(-2.0 * np.pi**2 * sig**2 * f**2 - 2j * np.pi * f * (shift[lo:hi, None] - e_lo))
        spec_hat = z_hat * np.exp(log_k)
        if pc_hat is not None:
            spec_hat = spec_hat * (1.0 + areal[lo:hi][:, list(model.species_cols)] @ pc_hat)
        j = irfft2(spec_hat[:, None, :], (1, nfft))[:, 0, :]
        out[lo:hi] = j[:, k0 : k0 + n]
    np.maximum(out, 0.0, out=out)  # round-off (~1e-16 of the dose) must not go negative
    out *= dose
    return out


def _li_single(model: _Model, li_edge: _Edge, n_li: np.ndarray, window: tuple[float, float], dose: float) -> np.ndarray:
    """Single-scattering Li-K counts in `window` (unshifted, unbroadened)."""
    integral = _fine_integral(lambda e: _edge_dsigma(e, li_edge, model.kv), *window)
    return dose * n_li * integral


# --------------------------------------------------------------------------- #
# the specimen: per-pixel composition maps
# --------------------------------------------------------------------------- #
_REQUIRED_VARS = ("li", "thickness", "mean_free_path", "distance")
_REQUIRED_ATTRS = ("pt_blur_nm", "mean_free_path_pt_nm", "li_electrolyte", "li_electrode")


def _specimen_grid(spec: Any) -> dict[str, Any]:
    """Validate a specimen Dataset and return its maps, grid and attrs."""
    if not isinstance(spec, xr.Dataset):
        raise DataError(
            "specimen must be the xarray.Dataset returned by holocorr.simulate.specimen "
            f"(with maps {', '.join(_REQUIRED_VARS)}), got {type(spec).__name__}."
        )
    missing = [v for v in _REQUIRED_VARS if v not in spec.data_vars]
    if missing:
        raise DataError(
            f"specimen lacks the variable(s) {missing}; it needs {list(_REQUIRED_VARS)} maps on "
            "dims (y, x) [nm grid], as made by holocorr.simulate.specimen."
        )
    missing = [a for a in _REQUIRED_ATTRS if a not in spec.attrs]
    if missing:
        raise DataError(
            f"specimen lacks the attribute(s) {missing}; make it with holocorr.simulate.specimen, which records them."
        )
    maps = {name: specimen_map(spec, name) for name in _REQUIRED_VARS}
    ny, nx = maps["li"].shape
    if ny < 2 or nx < 2:
        raise ShapeError(f"specimen maps have shape {(ny, nx)}; need at least 2x2 pixels.")
    if np.any(maps["thickness"] < 0) or np.any(maps["li"] < 0):
        raise DataError("specimen['thickness'] and specimen['li'] must be >= 0 everywhere.")
    if np.any(maps["mean_free_path"] <= 0):
        raise DataError("specimen['mean_free_path'] must be > 0 nm everywhere.")
    grid = {}
    for dim in ("y", "x"):
        if dim not in spec.coords:
            raise CalibrationError(f"specimen has no {dim!r} coordinate; it needs y and x coordinates in nm.")
        step, units = axis_step(spec["li"], dim)
        factor = spatial_units_to_nm(units)
        if factor is None:
            raise CalibrationError(f"specimen coordinate {dim!r} has units {units!r}; expected a length (nm).")
        grid[dim] = (float(spec[dim].values[0]) * factor, step * factor, int(spec.sizes[dim]))
    attrs = {}
    for a in _REQUIRED_ATTRS:
        v = spec.attrs[a]
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
            raise DataError(f"specimen.attrs[{a!r}] must be a finite number, got {v!r}.")
        attrs[a] = float(v)
    if attrs["pt_blur_nm"] <= 0 or attrs["mean_free_path_pt_nm"] <= 0:
        raise DataError("specimen.attrs 'pt_blur_nm' and 'mean_free_path_pt_nm' must be > 0.")
    kv = spec.attrs.get("beam_energy_kv", 300.0)
    if isinstance(kv, bool) or not isinstance(kv, numbers.Real) or not (0 < float(kv) < 1e4):
        raise DataError(f"specimen.attrs['beam_energy_kv'] must be a positive number, got {kv!r}.")
    attrs["beam_energy_kv"] = float(kv)
    for a in ("pivot_y_nm", "interface_tilt_deg"):
        v = spec.attrs.get(a)
        attrs[a] = None if v is None else float(v)
    return {"maps": maps, "grid": grid, "attrs": attrs}


def _composition(sg: dict[str, Any], ti3_fraction: float | None) -> dict[str, np.ndarray]:
    """Return per-pixel maps on which the spectra depend linearly.

    tau_l and tau_pt are the t/lambda carried by the LATSPO-type material and
    by Pt; li, ti4, ti3, al, si, p and pt the areal densities [atoms/nm^2] of
    the species; li_fu the specimen's Li per formula unit (for the truth).
    """
    m, a = sg["maps"], sg["attrs"]
    t, lam, d, li = m["thickness"], m["mean_free_path"], m["distance"], m["li"]
    tau = t / lam
    w_pt = 0.5 * erfc(d / (_SQRT2 * a["pt_blur_nm"]))
    w_l = 1.0 - w_pt
    share_pt = np.clip(w_pt * lam / a["mean_free_path_pt_nm"], 0.0, 1.0)
    tau_pt = tau * share_pt
    n_fu = N_FU_PER_NM3 * t * w_l
    li_l = np.where(w_l > 1e-9, li / np.maximum(w_l, 1e-9), a["li_electrolyte"])
    dli = np.maximum(li_l - a["li_electrolyte"], 0.0)
    if ti3_fraction is None:
        f3 = np.minimum(dli / _FU["Ti"], 1.0)
    else:
        span = a["li_electrode"] - a["li_electrolyte"]
        f3 = ti3_fraction * np.minimum(dli / span, 1.0) if span > 0 else np.zeros_like(dli)
    n_ti = n_fu * _FU["Ti"]
    return {
        "tau_l": tau - tau_pt,
        "tau_pt": tau_pt,
        "li": N_FU_PER_NM3 * t * li,  # Li atoms per nm^2 (li already holds the LATSPO fraction)
        "ti4": n_ti * (1.0 - f3),
        "ti3": n_ti * f3,
        "al": n_fu * _FU["Al"],
        "si": n_fu * _FU["Si"],
        "p": n_fu * _FU["P"],
        "pt": N_PT_PER_NM3 * t * w_pt,
        "li_fu": li,
    }


def _sample(sg: dict[str, Any], comp: dict[str, np.ndarray], yy: np.ndarray, xx: np.ndarray) -> dict[str, np.ndarray]:
    """Bilinear samples of every composition map at the points (yy, xx) [nm]."""
    (y0, dy, ny), (x0, dx, nx) = sg["grid"]["y"], sg["grid"]["x"]
    iy = (yy - y0) / dy
    ix = (xx - x0) / dx
    tol = 1e-6
    if iy.min() < -tol or iy.max() > ny - 1 + tol or ix.min() < -tol or ix.max() > nx - 1 + tol:
        raise ParameterError(
            f"the probed region (y {yy.min():.4g}..{yy.max():.4g} nm, x {xx.min():.4g}.."
            f"{xx.max():.4g} nm) leaves the specimen's field of view (y {y0:.4g}.."
            f"{y0 + (ny - 1) * dy:.4g} nm, x {x0:.4g}..{x0 + (nx - 1) * dx:.4g} nm); "
            "choose positions inside it (x_range_nm, y_range_nm, slit_width_nm, slit_center_nm)."
        )
    coords = np.stack([np.clip(iy, 0, ny - 1).ravel(), np.clip(ix, 0, nx - 1).ravel()])
    return {k: ndimage.map_coordinates(v, coords, order=1, mode="nearest").reshape(yy.shape) for k, v in comp.items()}


# --------------------------------------------------------------------------- #
# parameter checks
# --------------------------------------------------------------------------- #
def _real(name: str, value: Any, unit: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a real number{' in ' + unit if unit else ''}, got {value!r}.")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(f"{name} must be finite{' (' + unit + ')' if unit else ''}, got {value!r}.")
    return v


def _pair(name: str, value: Any, unit: str) -> tuple[float, float]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ParameterError(f"{name} must be a pair (first, last) in {unit}, got {value!r}.")
    a, b = (_real(name, v, unit) for v in value)
    if not b > a:
        raise ParameterError(f"{name} must be increasing (first < last) in {unit}, got {value!r}.")
    return a, b


def _axis(name: str, rng_ev: Any, dispersion: float) -> tuple[float, int]:
    lo, hi = _pair(name, rng_ev, "eV")
    n = int(round((hi - lo) / dispersion))
    if n < 16:
        raise ParameterError(
            f"{name}={rng_ev!r} with a dispersion of {dispersion:g} eV gives {n} channels; "
            "need at least 16 (widen the range or lower the dispersion)."
        )
    if n > 200_000:
        raise ParameterError(
            f"{name}={rng_ev!r} with a dispersion of {dispersion:g} eV gives {n} channels; at most "
            "200000 are supported (narrow the range or raise the dispersion)."
        )
    return lo, n


def _rng(rng: Any) -> np.random.Generator:
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"rng must be a numpy.random.Generator, a non-negative int seed or None, got {rng!r}."
        ) from exc


def _common(
    *,
    energy,
    dispersion_ev,
    low_loss_energy,
    low_loss_dispersion_ev,
    dose,
    low_loss_dose,
    zlp_fwhm_ev,
    collection_angle_mrad,
    plasmon_latspo_ev,
    plasmon_pt_ev,
    li_onset_ev,
    li_max_ev,
    li_window_ev,
    ti3_fraction,
    edges,
    noise,
    dtype,
    shifts_range,
    kv,
) -> dict[str, Any]:
    """Check the options shared by :func:`sr_eels` and :func:`stem_eels`."""
    disp = check_positive("dispersion_ev", dispersion_ev, unit="eV")
    disp_low = (
        disp
        if low_loss_dispersion_ev is None
        else check_positive("low_loss_dispersion_ev", low_loss_dispersion_ev, unit="eV")
    )
    fwhm = check_positive("zlp_fwhm_ev", zlp_fwhm_ev, unit="eV")
    if max(disp, disp_low) > fwhm / 2:
        raise ParameterError(
            f"the dispersion ({max(disp, disp_low):g} eV/channel) must be at most half the "
            f"zero-loss FWHM ({fwhm:g} eV) so that the peak is sampled; lower the dispersion."
        )
    start, n = _axis("energy", energy, disp)
    start_low, n_low = _axis("low_loss_energy", low_loss_energy, disp_low)
    dose = check_positive("dose", dose, unit="electrons")
    low_loss_dose = (
        dose / 100.0 if low_loss_dose is None else check_positive("low_loss_dose", low_loss_dose, unit="electrons")
    )
    beta = check_positive("collection_angle_mrad", collection_angle_mrad, unit="mrad")
    plasmons = []
    for name, val in (("plasmon_latspo_ev", plasmon_latspo_ev), ("plasmon_pt_ev", plasmon_pt_ev)):
        if not isinstance(val, tuple | list) or len(val) != 2:
            raise ParameterError(f"{name} must be a pair (energy, width) in eV, got {val!r}.")
        ep = check_positive(f"{name}[0] (plasmon energy)", val[0], unit="eV")
        gw = check_positive(f"{name}[1] (plasmon width)", val[1], unit="eV")
        plasmons.append((ep, gw))
    li_on = check_positive("li_onset_ev", li_onset_ev, unit="eV")
    li_mx = check_positive("li_max_ev", li_max_ev, unit="eV")
    if not li_on < li_mx:
        raise ParameterError(f"li_max_ev ({li_mx:g}) must lie above li_onset_ev ({li_on:g} eV).")
    table = _edge_table(li_on, li_mx)
    _delay_length(li_on, li_mx, table[0].components[0].r, table[0].components[0].m)
    win = _pair("li_window_ev", li_window_ev, "eV")
    if ti3_fraction is not None:
        ti3_fraction = check_positive("ti3_fraction", ti3_fraction, allow_zero=True)
        if ti3_fraction > 1:
            raise ParameterError(f"ti3_fraction must be in [0, 1] or None, got {ti3_fraction!r}.")
    if isinstance(edges, str):
        edges = (edges,)
    try:
        edges = tuple(edges)
    except TypeError as exc:
        raise ParameterError(f"edges must be a sequence of edge names from {EDGES}, got {edges!r}.") from exc
    for e in edges:
        check_choice("edges", e, EDGES)
    if not isinstance(noise, bool | np.bool_):
        raise ParameterError(f"noise must be True or False, got {noise!r}.")
    check_choice("dtype", dtype, ("float32", "float64"))
    smin, smax = shifts_range
    end = start + (n - 1) * disp
    if start > li_on - 2.0 or end < win[1]:
        raise ParameterError(
            f"energy={energy!r} does not cover the Li-K edge: the core-loss frame must start at "
            f"or below {li_on - 2.0:g} eV (2 eV before the Li-K onset) and reach the end of "
            f"li_window_ev ({win[1]:g} eV); e.g. energy=(20.0, 160.0)."
        )
    end_low = start_low + (n_low - 1) * disp_low
    if start_low > smin - 3.0 * fwhm or end_low < smax + 3.0 * fwhm:
        raise ParameterError(
            f"low_loss_energy={low_loss_energy!r} does not hold the whole zero-loss peak: with "
            f"energy shifts from {smin:.3g} to {smax:.3g} eV and FWHM {fwhm:g} eV it must span "
            f"{smin - 3 * fwhm:.3g}..{smax + 3 * fwhm:.3g} eV; widen it, e.g. (-5.0, 95.0)."
        )
    sel = tuple(i for i, ed in enumerate(table) if ed.name in edges)
    model = _Model(
        kv=kv,
        beta_mrad=beta,
        zlp_sigma=fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0))),
        plasmons=(plasmons[0], plasmons[1]),
        edges=tuple(table[i] for i in sel),
        species_cols=tuple(_SPECIES.index(table[i].species) for i in sel),
    )
    return {
        "disp": disp,
        "disp_low": disp_low,
        "start": start,
        "n": n,
        "start_low": start_low,
        "n_low": n_low,
        "dose": dose,
        "low_loss_dose": low_loss_dose,
        "fwhm": fwhm,
        "beta": beta,
        "plasmons": plasmons,
        "li_onset": li_on,
        "li_max": li_mx,
        "window": win,
        "ti3_fraction": ti3_fraction,
        "edges": edges,
        "model": model,
        "li_edge": table[0],
    }


def _shift_range(*values: float) -> tuple[float, float]:
    return min(values), max(values)


def _spectra(
    c: dict[str, Any],
    pts: dict[str, np.ndarray],
    shift: np.ndarray,
    gen: np.random.Generator,
    noise: bool,
    dtype: str,
) -> dict[str, np.ndarray]:
    """Frames and truths for flat lists of spectra (the first axis of every `pts` array)."""
    tau_mat = np.stack([pts["tau_l"], pts["tau_pt"]], axis=1)
    areal = np.stack([pts[s] for s in _SPECIES], axis=1)
    core = _frame(c["model"], tau_mat, areal, shift, c["start"], c["disp"], c["n"], c["dose"])
    low = _frame(
        c["model"],
        tau_mat,
        areal,
        shift,
        c["start_low"],
        c["disp_low"],
        c["n_low"],
        c["low_loss_dose"],
    )
    if noise:
        core = gen.poisson(core).astype(np.float64)
        low = gen.poisson(low).astype(np.float64)
    li_k = _li_single(c["model"], c["li_edge"], pts["li"], c["window"], c["dose"])
    n_ti = pts["ti3"] + pts["ti4"]
    ti3 = np.divide(pts["ti3"], n_ti, out=np.zeros_like(n_ti), where=n_ti > 0)
    return {
        "core_loss": core.astype(dtype),
        "low_loss": low.astype(dtype),
        "li_true": pts["li_fu"].astype(dtype),
        "t_over_lambda_true": (tau_mat.sum(axis=1)).astype(dtype),
        "energy_shift_true": shift.astype(dtype),
        "li_k_single_true": li_k.astype(dtype),
        "ti3_fraction_true": ti3.astype(dtype),
    }


_VAR_ATTRS = {
    "core_loss": ("counts", "core-loss intensity"),
    "low_loss": ("counts", "low-loss intensity"),
    "li_true": ("Li per formula unit", "true Li content"),
    "t_over_lambda_true": ("1", "true relative thickness t/lambda"),
    "energy_shift_true": ("eV", "true energy shift of the spectrum (zero-loss peak position)"),
    "li_k_single_true": ("counts", "true single-scattering Li-K intensity in li_window_ev"),
    "ti3_fraction_true": ("1", "true Ti3+ fraction of the Ti"),
}


def _energy_coords(c: dict[str, Any]) -> dict[str, xr.DataArray]:
    e = c["start"] + np.arange(c["n"], dtype=np.float64) * c["disp"]
    el = c["start_low"] + np.arange(c["n_low"], dtype=np.float64) * c["disp_low"]
    return {
        "energy": xr.DataArray(e, dims="energy", attrs={"units": "eV", "long_name": "energy loss"}),
        "energy_low": xr.DataArray(
            el,
            dims="energy_low",
            attrs={"units": "eV", "long_name": "energy loss (low-loss frame)"},
        ),
    }


def _shared_params(c, energy, low_loss_energy, low_loss_dispersion_ev, low_loss_dose, off, noise, rng, dtype) -> dict:
    """Provenance parameters common to sr_eels and stem_eels."""
    return {
        "energy": list(energy),
        "dispersion_ev": c["disp"],
        "low_loss_energy": list(low_loss_energy),
        "low_loss_dispersion_ev": low_loss_dispersion_ev,
        "dose": c["dose"],
        "low_loss_dose": low_loss_dose,
        "zlp_fwhm_ev": c["fwhm"],
        "collection_angle_mrad": c["beta"],
        "plasmon_latspo_ev": list(c["plasmons"][0]),
        "plasmon_pt_ev": list(c["plasmons"][1]),
        "energy_offset_ev": off,
        "li_onset_ev": c["li_onset"],
        "li_max_ev": c["li_max"],
        "li_window_ev": list(c["window"]),
        "ti3_fraction": c["ti3_fraction"],
        "edges": list(c["edges"]),
        "noise": bool(noise),
        "rng": rng if isinstance(rng, int) else None,
        "dtype": dtype,
    }


def _common_attrs(c: dict[str, Any], kv: float) -> dict[str, Any]:
    ep_l, ep_p = c["plasmons"]
    return {
        "beam_energy_kv": kv,
        "dispersion_ev": c["disp"],
        "low_loss_dispersion_ev": c["disp_low"],
        "zlp_fwhm_ev": c["fwhm"],
        "collection_angle_mrad": c["beta"],
        "plasmon_latspo_ev": list(ep_l),
        "plasmon_pt_ev": list(ep_p),
        "li_onset_ev": c["li_onset"],
        "li_max_ev": c["li_max"],
        "li_window_ev": list(c["window"]),
        "ti3_fraction": "charge balance" if c["ti3_fraction"] is None else c["ti3_fraction"],
        "edges": list(c["edges"]),
        "low_loss_dose": c["low_loss_dose"],
        "formula_units_per_nm3": N_FU_PER_NM3,
        "pt_atoms_per_nm3": N_PT_PER_NM3,
        "model": "J = dose * Z (x) exp-Poisson(valence, t/lambda) (x) (delta + core edges), "
        "see holocorr.simulate.sr_eels",
    }


# --------------------------------------------------------------------------- #
# public API
# --------------------------------------------------------------------------- #
def sr_eels(
    specimen: xr.Dataset,
    *,
    energy: tuple[float, float] = (20.0, 160.0),
    dispersion_ev: float = 0.05,
    low_loss_energy: tuple[float, float] = (-5.0, 95.0),
    low_loss_dispersion_ev: float | None = None,
    slit_width_nm: float = 20.0,
    slit_center_nm: float | None = None,
    position_sampling_nm: float | None = None,
    x_range_nm: tuple[float, float] | None = None,
    dose: float = 1e7,
    low_loss_dose: float | None = None,
    zlp_fwhm_ev: float = 1.0,
    collection_angle_mrad: float = 10.0,
    plasmon_latspo_ev: tuple[float, float] = (24.0, 10.0),
    plasmon_pt_ev: tuple[float, float] = (30.0, 25.0),
    non_isochromaticity_ev: float = 1.5,
    energy_offset_ev: float = 0.0,
    li_onset_ev: float = 56.5,
    li_max_ev: float = 62.0,
    li_window_ev: tuple[float, float] = (55.0, 75.0),
    ti3_fraction: float | None = None,
    edges: tuple[str, ...] = EDGES,
    noise: bool = True,
    rng: np.random.Generator | int | None = None,
    dtype: str = "float32",
) -> xr.Dataset:
    """Simulate an SR-TEM-EELS slit frame and its low-loss frame across the interface.

    **Geometry.** The slit runs along the interface normal through the point
    (x = 0, y = `slit_center_nm`) of the specimen, i.e. along
    n = (cos a, sin a) with a = the specimen's ``interface_tilt_deg``.
    Output row i has the position x_i [nm] along n (the distance from the
    Pt interface at the slit centre) and integrates the specimen over
    x_i +- `position_sampling_nm`/2 along n and +- `slit_width_nm`/2 along
    the interface, sampled at the specimen's pixel size with bilinear
    interpolation. The row's maps (t/lambda, areal densities of every
    element) are averaged first and the spectrum is computed from the
    averages. That is exact for everything linear in the maps (all edges);
    the non-linearity of plural scattering in t/lambda within one row (only
    where the thickness varies inside a row) is neglected.

    **Composition.** The LATSPO-type material is
    Li(1+x+y) Al(y) Ti(2-y) Si(x) P(3-x) O12 with x = 0.1 and y = 0.2
    (Li 1.3 per f.u. in LATSPO, SCIENCE.md), 4.54 formula units per nm^3
    (rho = 2.9 g/cm^3, an assumption also made for the lithiated
    electrode); Pt has 66.2 atoms per nm^3. The Li per formula unit is the
    specimen's ``li`` map. The Pt fraction is
    w_Pt = 1/2 erfc(distance / (sqrt2 pt_blur_nm)), as in the specimen.
    Where the LATSPO-type material holds more Li than the electrolyte
    (Delta Li per f.u. above ``li_electrolyte``), a fraction of its Ti is
    Ti3+: with ``ti3_fraction=None`` by charge balance, f = min(Delta Li / 1.8,
    1) (each inserted Li reduces one Ti4+, as Yamamoto et al. (2014) found;
    0.56 in the default electrode), otherwise `ti3_fraction` times
    min(Delta Li / (li_electrode - li_electrolyte), 1).

    **Spectrum model** (Egerton [1]_, ch. 3-4). Per spectrum, with
    tau = t/lambda from the specimen (its ``thickness / mean_free_path``):

    * zero-loss peak Z: a Gaussian of FWHM `zlp_fwhm_ev` centred at the
      spectrum's energy shift (no tails; a phenomenological instrument
      function);
    * valence single scattering s_v(E) = tau_LATSPO p_LATSPO(E) +
      tau_Pt p_Pt(E), tau split between the materials in proportion to
      their share of 1/lambda. Each p has unit area over 0-3000 eV and is
      the Drude energy-loss function times the aperture factor ([1]_ sec.
      3.3.1), E Gamma Ep^2 / ((E^2 - Ep^2)^2 + (E Gamma)^2)
      ln(1 + beta^2 / theta_E^2) with theta_E = E / (gamma m0 v^2), plus a
      *phenomenological* power-law term a (E/Ep)^-3.5 / (1 + (Ep/E)^8)
      worth 0.75 of the Drude term at 60 eV in LATSPO (0.4 in Pt). Above
      ~40 eV p falls like E^-r with r = 3.5-4: the power-law valence
      background. 6.6 % of p_LATSPO lies above 45 eV and 1.0 % above
      95 eV (19 % and 2.8 % for Pt). (Ep, Gamma) are `plasmon_latspo_ev`
      (24 eV, 10 eV; also used for the lithiated electrode, an assumption)
      and `plasmon_pt_ev` (30 eV, 25 eV: Pt's broad valence losses);
    * low-loss distribution L = Z (x) sum_n P_n (s_v/tau)^(x)n with Poisson
      weights P_n = exp(-tau) tau^n / n!, computed in Fourier space as
      Z_hat exp(s_v_hat - tau) ([1]_ sec. 4.1.1, the inverse of
      Fourier-log deconvolution). It holds exactly the fraction
      exp(-tau) in the zero-loss peak and, over all energies, all the
      electrons;
    * core-loss single scattering s_c(E) = sum_i N_i dsigma_i/dE, with N_i
      the areal density [atoms/nm^2] of element i and the
      phenomenological edge shapes below. The recorded spectrum is
      J = dose (L + s_c (x) L): every edge is convolved with the same
      low-loss distribution that the low-loss frame shows (the standard
      first-order plural-scattering model behind Fourier-ratio
      deconvolution, [1]_ sec. 4.2.1), so an edge keeps its counts. Both
      frames are windows of this one J, recorded with `dose` and
      `low_loss_dose`. The Poisson weights hold t/lambda; the core losses
      add their own scattering probability on top (about 0.1 t/lambda in
      LATSPO, mostly Ti M2,3, and 0.03 t/lambda in Pt).

    Edge shapes are phenomenological. For a component with onset E_on,
    u = E - E_on > 0 and::

        dsigma/dE ~ [s (1 - exp(-u / 1 eV)) + (1 - s) (1 - exp(-(u/delta)^m))] (E/E_on)^-r

    with delta chosen so that the delayed part times the tail peaks at
    E_max: a saw-tooth with a delayed maximum for K (m = 1), a soft, broad
    delayed maximum for M2,3 (m = 2), and a sharp step (fraction s) plus a
    delayed maximum for L2,3. sigma_30, the cross section per atom
    integrated over 30 eV above the onset at 300 kV for beta ~ 10 mrad, is
    scaled to other beam energies by 1/v^2 (Bethe). Onsets and maxima
    follow SCIENCE.md. The sigma_30 are plausible magnitudes (Bethe-type
    estimates within a factor of a few), not measured values, chosen so
    that Ti M2,3 dominates 40-70 eV and Li K is a small bump on its tail
    (Li K adds 3.5 % in LATSPO and 6 % in the electrode at 62-66 eV, Ti
    M2,3 adds 11 % at 47 eV and 16 % at 62 eV): the overlap that biases a
    pre-edge power-law background::

        edge       E_on [eV]           E_max [eV]      sigma_30 [nm^2]  m  s    r
        Li K       li_onset_ev (56.5)  li_max_ev (62)  8.0e-6           1  0    4
        Ti4+ M2,3  34.6                47              3.5e-5           2  0    4
        Ti3+ M2,3  33.0                45              3.5e-5           2  0    4
        Al L2,3    76.5                95              8.0e-6           1  0.3  3
        Si L2,3    105.5               130             6.0e-6           1  0.3  3
        P L2,3     135.5               152             5.0e-6           1  0.3  3
        Pt O/N     O3 51.7, O2 65.3, N7 71.1, N6 74.3, O1 101.7 (weights 1, 0.5,
                   0.6, 0.4, 0.3), maxima 8-11 eV above each onset, m = 2,
                   r = 3; sigma_30 = 1.0e-6 over 51.7-81.7 eV

    Co M2,3 is not modelled (the reference specimen has no LiCoO2 in the
    field of view).

    **Energy shift.** Row i is shifted by
    dE_i = `energy_offset_ev` + `non_isochromaticity_ev` (2 (x_i - x_mid) /
    (x_last - x_first))^2: the quadratic non-isochromaticity of the
    spectrometer across the slit, `non_isochromaticity_ev` at both ends of
    the slit relative to its middle. It is a distortion of the detector
    plane, so both frames (same spectrometer setting) shift alike: the
    zero-loss peak of row i lies at dE_i and every edge moves by dE_i.

    **Noise.** Poisson counts with `rng` (core-loss frame first, then the
    low-loss frame), or the expected counts with ``noise=False``.

    Parameters
    ----------
    specimen : xarray.Dataset
        Ground truth from :func:`holocorr.simulate.specimen`: maps ``li``,
        ``thickness`` [nm], ``mean_free_path`` [nm] and ``distance`` [nm] on
        (y, x) with coords in nm, and attrs ``pt_blur_nm``,
        ``mean_free_path_pt_nm``, ``li_electrolyte``, ``li_electrode``,
        ``beam_energy_kv`` (300 if missing), ``pivot_y_nm`` and
        ``interface_tilt_deg``.
    energy : (float, float)
        First channel and end of the core-loss frame [eV]; the frame has
        round((last - first) / dispersion_ev) channels. It must cover
        `li_onset_ev` - 2 eV to the end of `li_window_ev`.
    dispersion_ev : float
        Energy per channel [eV], at most half of `zlp_fwhm_ev`.
    low_loss_energy : (float, float)
        First channel and end of the low-loss frame [eV]; it must hold the
        whole zero-loss peak (3 FWHM either side of every shifted peak).
        See the Notes for the log-ratio bias of short frames.
    low_loss_dispersion_ev : float, optional
        Dispersion of the low-loss frame [eV]; None means `dispersion_ev`.
    slit_width_nm : float
        Width of the slit along the interface [nm], >= 0 (0: one line).
    slit_center_nm : float, optional
        y [nm] of the slit's centre line at x = 0; None takes the specimen's
        ``pivot_y_nm`` (the middle of the full-thickness lamella).
    position_sampling_nm : float, optional
        Row spacing along the slit [nm]; None takes the specimen's x pixel
        size.
    x_range_nm : (float, float), optional
        Range of positions along the slit [nm]; None takes the specimen's x
        range.
    dose : float
        Incident electrons per row during the core-loss exposure, > 0.
    low_loss_dose : float, optional
        Incident electrons per row during the low-loss exposure; None means
        `dose` / 100.
    zlp_fwhm_ev : float
        Zero-loss peak FWHM [eV], > 0.
    collection_angle_mrad : float
        Spectrometer collection semi-angle beta [mrad] of the valence model.
    plasmon_latspo_ev, plasmon_pt_ev : (float, float)
        Drude plasmon energy Ep and width Gamma [eV] of LATSPO (and the
        electrode) and of Pt.
    non_isochromaticity_ev : float
        Energy shift at both ends of the slit relative to its middle [eV]
        (quadratic in position).
    energy_offset_ev : float
        Energy shift common to all rows [eV] (e.g. drift-tube offset).
    li_onset_ev, li_max_ev : float
        Li-K onset and delayed maximum [eV]; the maximum must lie within
        li_max_ev/3 eV of the onset.
    li_window_ev : (float, float)
        Energy window [eV] of ``li_k_single_true``.
    ti3_fraction : float, optional
        Ti3+ fraction of the Ti in the fully lithiated electrode, in [0, 1];
        None uses charge balance (see above).
    edges : sequence of str
        Edges to include, from ``holocorr.simulate.EDGES`` = ("Li K",
        "Ti M2,3", "Al L2,3", "Si L2,3", "P L2,3", "Pt O/N"); the valence
        spectrum is always present. ``()`` gives valence scattering only.
    noise : bool
        Poisson noise (True) or expected counts (False).
    rng : numpy.random.Generator or int, optional
        Random source; the same seed gives bit-identical frames.
    dtype : {"float32", "float64"}
        Output dtype of every variable.

    Returns
    -------
    xarray.Dataset
        Coords ``x`` [nm] (position along the slit), ``energy`` and
        ``energy_low`` [eV, "energy loss"]. Variables:

        * ``core_loss`` (x, energy) [counts] and ``low_loss`` (x, energy_low)
          [counts]: the two frames;
        * ``li_true`` (x) [Li per formula unit]: the row-averaged ``li``;
        * ``t_over_lambda_true`` (x): the row-averaged t/lambda, the
          Poisson parameter of the model;
        * ``energy_shift_true`` (x) [eV]: the zero-loss peak position;
        * ``li_k_single_true`` (x) [counts]: dose N_Li integral of the Li-K
          dsigma/dE over `li_window_ev`, i.e. the single-scattering Li-K
          counts in that window before plural scattering, broadening and
          shift;
        * ``ti3_fraction_true`` (x): Ti3+/(Ti3+ + Ti4+) of the row.

        Attrs: every parameter, ``beam_energy_kv``, ``dose_e_per_row``,
        ``low_loss_dose``, ``slit_center_nm``, ``interface_tilt_deg``,
        the densities used and ``holocorr`` (provenance).

    Raises
    ------
    DataError
        When `specimen` is not a specimen Dataset (missing maps or attrs,
        NaN/inf, negative thickness).
    ShapeError
        For maps not on dims (y, x).
    CalibrationError
        For specimen coordinates that are missing, not lengths or not
        uniform.
    ParameterError
        For options out of range: an energy range that misses the Li-K
        edge or the zero-loss peak, dose <= 0, a slit that leaves the field
        of view, unknown edges, a bad `rng`...

    Notes
    -----
    The log-ratio t/lambda = ln(I_total / I_ZLP) of a frame misses the
    electrons scattered beyond its end, as in real data. For tau ~ 0.89
    (150 nm LATSPO) and no edges it is 3.3 % low over the default low-loss
    frame (-5 to 95 eV), 24 % low over -5 to 45 eV (the second and third
    plasmons at 48 and 72 eV fall outside) and within 0.1 % over -5 to
    300 eV (0.35 % in Pt). With all edges the core losses inside the frame
    add to it: +2 % over -5 to 95 eV. The default low-loss frame is
    100 eV wide (2000 channels, like a 2k camera at 0.05 eV/channel) for
    that reason.

    References
    ----------
    .. [1] R. F. Egerton, Electron Energy-Loss Spectroscopy in the Electron
       Microscope, 3rd ed., Springer (2011), doi:10.1007/978-1-4419-9583-4.
    .. [2] K. Yamamoto et al., J. Power Sources 266, 414 (2014)
       (SR-TEM-EELS of the in-situ negative electrode; Ti4+ -> Ti3+).
    .. [3] S. Saitoh et al., Phys. Chem. Chem. Phys. 20, 27521 (2018),
       doi:10.1039/C8CP03390K (Li-K delayed maximum).

    Examples
    --------
    >>> from holocorr.simulate import specimen
    >>> spec = specimen(shape=(64, 128), pixel_size_nm=10.0)
    >>> ds = sr_eels(spec, position_sampling_nm=50.0, rng=0)
    >>> ds.core_loss.dims, ds.core_loss.dtype
    (('x', 'energy'), dtype('float32'))
    >>> round(float(ds.li_true.sel(x=200, method="nearest")), 2)
    2.3
    """
    sg = _specimen_grid(specimen)
    at = sg["attrs"]
    (gy0, gdy, gny), (gx0, gdx, gnx) = sg["grid"]["y"], sg["grid"]["x"]
    width = check_positive("slit_width_nm", slit_width_nm, unit="nm", allow_zero=True)
    yc = at["pivot_y_nm"] if slit_center_nm is None else _real("slit_center_nm", slit_center_nm, "nm")
    if yc is None:
        yc = gy0 + 0.5 * (gny - 1) * gdy
    dx = (
        gdx if position_sampling_nm is None else check_positive("position_sampling_nm", position_sampling_nm, unit="nm")
    )
    u_lo, u_hi = (gx0, gx0 + (gnx - 1) * gdx) if x_range_nm is None else _pair("x_range_nm", x_range_nm, "nm")
    n_rows = int(math.floor((u_hi - u_lo) / dx + 1e-9))
    if n_rows < 2:
        raise ParameterError(
            f"x_range_nm {u_lo:g}..{u_hi:g} nm with position_sampling_nm={dx:g} gives "
            f"{n_rows} row(s); "
            "need at least 2 (use a finer sampling or a wider range)."
        )
    ni = _real("non_isochromaticity_ev", non_isochromaticity_ev, "eV")
    off = _real("energy_offset_ev", energy_offset_ev, "eV")
    c = _common(
        energy=energy,
        dispersion_ev=dispersion_ev,
        low_loss_energy=low_loss_energy,
        low_loss_dispersion_ev=low_loss_dispersion_ev,
        dose=dose,
        low_loss_dose=low_loss_dose,
        zlp_fwhm_ev=zlp_fwhm_ev,
        collection_angle_mrad=collection_angle_mrad,
        plasmon_latspo_ev=plasmon_latspo_ev,
        plasmon_pt_ev=plasmon_pt_ev,
        li_onset_ev=li_onset_ev,
        li_max_ev=li_max_ev,
        li_window_ev=li_window_ev,
        ti3_fraction=ti3_fraction,
        edges=edges,
        noise=noise,
        dtype=dtype,
        shifts_range=_shift_range(off, off + ni),
        kv=at["beam_energy_kv"],
    )
    gen = _rng(rng)

    # sample points: rows along the normal, sub-samples along the normal and the interface
    u = u_lo + (np.arange(n_rows) + 0.5) * dx
    pix = min(gdx, gdy)
    n_u = max(int(math.ceil(dx / pix)), 1)
    n_v = max(int(math.ceil(width / pix)) + 1, 1) if width > 0 else 1
    du = (np.arange(n_u) + 0.5) / n_u * dx - 0.5 * dx
    dv = np.linspace(-0.5 * width, 0.5 * width, n_v) if width > 0 else np.zeros(1)
    tilt = at["interface_tilt_deg"] or 0.0
    ca, sa = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
    uu = u[:, None, None] + du[None, :, None]
    vv = np.broadcast_to(dv[None, None, :], uu.shape[:2] + (n_v,))
    uu = np.broadcast_to(uu, vv.shape)
    xx = uu * ca - vv * sa
    yy = yc + uu * sa + vv * ca
    comp = _composition(sg, c["ti3_fraction"])
    samples = _sample(sg, comp, yy, xx)
    pts = {k: v.reshape(n_rows, -1).mean(axis=1) for k, v in samples.items()}
    half = 0.5 * (u[-1] - u[0])
    shift = off + ni * ((u - 0.5 * (u[0] + u[-1])) / half) ** 2

    out = _spectra(c, pts, shift, gen, noise, dtype)
    coords = {
        "x": xr.DataArray(
            u,
            dims="x",
            attrs={"units": "nm", "long_name": "distance from the Pt interface along the slit"},
        )
    }
    coords.update(_energy_coords(c))
    dims = {"core_loss": ("x", "energy"), "low_loss": ("x", "energy_low")}
    ds = xr.Dataset(
        {
            k: xr.DataArray(
                v,
                dims=dims.get(k, ("x",)),
                attrs={"units": _VAR_ATTRS[k][0], "long_name": _VAR_ATTRS[k][1]},
            )
            for k, v in out.items()
        },
        coords=coords,
    )
    params = {
        "slit_width_nm": width,
        "slit_center_nm": slit_center_nm,
        "position_sampling_nm": dx,
        "x_range_nm": [u_lo, u_hi],
        "non_isochromaticity_ev": ni,
        **_shared_params(c, energy, low_loss_energy, low_loss_dispersion_ev, low_loss_dose, off, noise, rng, dtype),
    }
    attrs = _common_attrs(c, at["beam_energy_kv"])
    attrs.update(
        {
            "dose_e_per_row": c["dose"],
            "slit_width_nm": width,
            "slit_center_nm": float(yc),
            "position_sampling_nm": dx,
            "x_range_nm": [u_lo, u_hi],
            "interface_tilt_deg": float(tilt),
            "non_isochromaticity_ev": ni,
            "energy_offset_ev": off,
            "noise": int(bool(noise)),
        }
    )
    if "truth" in specimen.attrs:
        attrs["specimen_truth"] = specimen.attrs["truth"]
    attrs["holocorr"] = provenance(
        "simulate.sr_eels",
        params,
        {
            "li": array_hash(sg["maps"]["li"]),
            "thickness": array_hash(sg["maps"]["thickness"]),
            "mean_free_path": array_hash(sg["maps"]["mean_free_path"]),
            "distance": array_hash(sg["maps"]["distance"]),
            "specimen": specimen.attrs.get("holocorr"),
        },
    )
    ds.attrs.update(attrs)
    return ds


def stem_eels(
    specimen: xr.Dataset,
    *,
    shape: tuple[int, int] = (24, 48),
    y_range_nm: tuple[float, float] | None = None,
    x_range_nm: tuple[float, float] | None = None,
    energy: tuple[float, float] = (20.0, 160.0),
    dispersion_ev: float = 0.05,
    low_loss_energy: tuple[float, float] = (-5.0, 95.0),
    low_loss_dispersion_ev: float | None = None,
    dose: float = 1e6,
    low_loss_dose: float | None = None,
    zlp_fwhm_ev: float = 1.0,
    collection_angle_mrad: float = 10.0,
    plasmon_latspo_ev: tuple[float, float] = (24.0, 10.0),
    plasmon_pt_ev: tuple[float, float] = (30.0, 25.0),
    descan_ev: float = 0.0,
    energy_offset_ev: float = 0.0,
    li_onset_ev: float = 56.5,
    li_max_ev: float = 62.0,
    li_window_ev: tuple[float, float] = (55.0, 75.0),
    ti3_fraction: float | None = None,
    edges: tuple[str, ...] = EDGES,
    noise: bool = True,
    rng: np.random.Generator | int | None = None,
    dtype: str = "float32",
) -> xr.Dataset:
    """Simulate a STEM-EELS spectrum image (core loss and low loss) of a specimen.

    The probe visits the centres of a regular `shape` grid over
    `y_range_nm` x `x_range_nm` and samples the specimen's maps there
    (bilinear interpolation; a point probe). Each probe position gets the
    spectrum model of :func:`sr_eels` (same composition, edges, valence and
    plural scattering, Poisson noise). Instead of the slit's
    non-isochromaticity the energy shift is
    `energy_offset_ev` + `descan_ev` (2 (x - x_mid) / (x_last - x_first)):
    a linear descan error along the fast scan direction x.

    Parameters
    ----------
    specimen : xarray.Dataset
        Ground truth from :func:`holocorr.simulate.specimen` (see
        :func:`sr_eels`).
    shape : (int, int)
        Probe positions (ny, nx), each >= 2.
    y_range_nm, x_range_nm : (float, float), optional
        Scanned region [nm]; None takes the specimen's full extent.
    energy, dispersion_ev, low_loss_energy, low_loss_dispersion_ev
        Frame energy axes, as in :func:`sr_eels`.
    dose : float
        Incident electrons per probe position in the core-loss exposure.
    low_loss_dose : float, optional
        Electrons per probe position in the low-loss exposure; None means
        `dose` / 100.
    zlp_fwhm_ev, collection_angle_mrad, plasmon_latspo_ev, plasmon_pt_ev
        As in :func:`sr_eels`.
    descan_ev : float
        Energy shift at the right edge of the scan relative to its middle
        [eV] (linear in x).
    energy_offset_ev : float
        Energy shift common to all positions [eV].
    li_onset_ev, li_max_ev, li_window_ev, ti3_fraction, edges, noise, rng, dtype
        As in :func:`sr_eels`.

    Returns
    -------
    xarray.Dataset
        ``core_loss`` (y, x, energy) and ``low_loss`` (y, x, energy_low)
        [counts], and the (y, x) truths ``li_true``, ``t_over_lambda_true``,
        ``energy_shift_true`` [eV], ``li_k_single_true`` [counts] and
        ``ti3_fraction_true``, on coords y, x [nm] and energy, energy_low
        [eV]. Attrs as in :func:`sr_eels` with ``dose_e_per_position``.

    Raises
    ------
    DataError, ShapeError, CalibrationError, ParameterError
        As in :func:`sr_eels`; ShapeError also for a bad `shape`.

    Examples
    --------
    >>> from holocorr.simulate import specimen
    >>> spec = specimen(shape=(64, 128), pixel_size_nm=10.0)
    >>> si = stem_eels(spec, shape=(4, 8), energy=(40.0, 90.0), rng=0)
    >>> si.core_loss.dims, si.core_loss.shape
    (('y', 'x', 'energy'), (4, 8, 1000))
    """
    sg = _specimen_grid(specimen)
    at = sg["attrs"]
    ok = (
        isinstance(shape, tuple | list)
        and len(shape) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in shape)
    )
    if not ok or min(shape) < 2:
        raise ShapeError(f"shape must be two integers >= 2 (probe rows, columns), got {shape!r}.")
    ny, nx = (int(v) for v in shape)
    if ny * nx > 1_000_000:
        raise ShapeError(f"shape {shape!r} has {ny * nx} probe positions; at most 1e6 are supported.")
    (gy0, gdy, gny), (gx0, gdx, gnx) = sg["grid"]["y"], sg["grid"]["x"]
    y_lo, y_hi = (gy0, gy0 + (gny - 1) * gdy) if y_range_nm is None else _pair("y_range_nm", y_range_nm, "nm")
    x_lo, x_hi = (gx0, gx0 + (gnx - 1) * gdx) if x_range_nm is None else _pair("x_range_nm", x_range_nm, "nm")
    ds_ = _real("descan_ev", descan_ev, "eV")
    off = _real("energy_offset_ev", energy_offset_ev, "eV")
    c = _common(
        energy=energy,
        dispersion_ev=dispersion_ev,
        low_loss_energy=low_loss_energy,
        low_loss_dispersion_ev=low_loss_dispersion_ev,
        dose=dose,
        low_loss_dose=low_loss_dose,
        zlp_fwhm_ev=zlp_fwhm_ev,
        collection_angle_mrad=collection_angle_mrad,
        plasmon_latspo_ev=plasmon_latspo_ev,
        plasmon_pt_ev=plasmon_pt_ev,
        li_onset_ev=li_onset_ev,
        li_max_ev=li_max_ev,
        li_window_ev=li_window_ev,
        ti3_fraction=ti3_fraction,
        edges=edges,
        noise=noise,
        dtype=dtype,
        shifts_range=_shift_range(off - abs(ds_), off + abs(ds_)),
        kv=at["beam_energy_kv"],
    )
    gen = _rng(rng)
    y = y_lo + (np.arange(ny) + 0.5) * (y_hi - y_lo) / ny
    x = x_lo + (np.arange(nx) + 0.5) * (x_hi - x_lo) / nx
    yy, xx = np.meshgrid(y, x, indexing="ij")
    comp = _composition(sg, c["ti3_fraction"])
    pts = {k: v.ravel() for k, v in _sample(sg, comp, yy, xx).items()}
    xm, half = 0.5 * (x[0] + x[-1]), 0.5 * (x[-1] - x[0])
    shift = (off + ds_ * (xx - xm) / half).ravel()
    out = _spectra(c, pts, shift, gen, noise, dtype)

    coords = {
        "y": xr.DataArray(y, dims="y", attrs={"units": "nm", "long_name": "probe position y"}),
        "x": xr.DataArray(x, dims="x", attrs={"units": "nm", "long_name": "probe position x"}),
    }
    coords.update(_energy_coords(c))
    data = {}
    for k, v in out.items():
        if k == "core_loss":
            arr, dims = v.reshape(ny, nx, -1), ("y", "x", "energy")
        elif k == "low_loss":
            arr, dims = v.reshape(ny, nx, -1), ("y", "x", "energy_low")
        else:
            arr, dims = v.reshape(ny, nx), ("y", "x")
        data[k] = xr.DataArray(arr, dims=dims, attrs={"units": _VAR_ATTRS[k][0], "long_name": _VAR_ATTRS[k][1]})
    ds = xr.Dataset(data, coords=coords)
    params = {
        "shape": [ny, nx],
        "y_range_nm": [y_lo, y_hi],
        "x_range_nm": [x_lo, x_hi],
        "descan_ev": ds_,
        **_shared_params(c, energy, low_loss_energy, low_loss_dispersion_ev, low_loss_dose, off, noise, rng, dtype),
    }
    attrs = _common_attrs(c, at["beam_energy_kv"])
    attrs.update(
        {
            "dose_e_per_position": c["dose"],
            "shape": [ny, nx],
            "y_range_nm": [y_lo, y_hi],
            "x_range_nm": [x_lo, x_hi],
            "descan_ev": ds_,
            "energy_offset_ev": off,
            "noise": int(bool(noise)),
        }
    )
    if "truth" in specimen.attrs:
        attrs["specimen_truth"] = specimen.attrs["truth"]
    attrs["holocorr"] = provenance(
        "simulate.stem_eels",
        params,
        {
            "li": array_hash(sg["maps"]["li"]),
            "thickness": array_hash(sg["maps"]["thickness"]),
            "mean_free_path": array_hash(sg["maps"]["mean_free_path"]),
            "distance": array_hash(sg["maps"]["distance"]),
            "specimen": specimen.attrs.get("holocorr"),
        },
    )
    ds.attrs.update(attrs)
    return ds
