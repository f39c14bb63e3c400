"""Overlap-aware quantification: linear edge models over a window, and Li maps."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.fft as sfft
import xarray as xr

from .._provenance import provenance
from .._validate import check_choice
from ..errors import CalibrationError, ParameterError
from . import _kernels as K
from . import _single
from ._common import (
    ENERGY,
    Spectra,
    as_spectra_array,
    carry_attrs,
    check_counts,
    check_finite_window,
    check_gain,
    check_same_grid,
    input_hash,
    output_dtype,
    reorder_like,
    warn,
    window_indices,
)
from .edges import EDGES, EdgeShape, get_edge
from .lowloss import ZLP, _check_lowloss_values, _check_zlp, tau_and_error, zlp_analysis

__all__ = ["fit_edges", "li_map", "DEFAULT_WINDOW"]

#: default fit window [eV] of fit_edges and li_map: from above the Ti M2,3
#: maximum's rising flank to below the Al L2,3 onset (76-78 eV in the oxide)
DEFAULT_WINDOW = (40.0, 75.0)
#: default window [eV] of li_map's "fourier-log" route: from just below the Ti
#: M2,3 maximum (45-50 eV) to below Al L2,3. Starting at 40 eV lets a Ti M2,3
#: shape unlike the built-in ones bend the background under Li K (measured on
#: three independent shape families: ratio bias <= 2.5 % at 45-75 eV, up to
#: +90 % at 40-75 eV for one of them)
SINGLE_WINDOW = (45.0, 75.0)
#: half-distance of the two LCPL exponents around the best single exponent
LCPL_HALF_WIDTH = 0.05
#: the same for the two power-law terms of the valence tail (background="plural")
TAIL_HALF_WIDTH = 1.0
#: fix the valence background's scale (the core/low-loss dose ratio) to its
#: median over the pixels (True), or fit it per pixel (False)
VALENCE_GLOBAL = True
#: median reduced chi-square above which fit_edges/li_map warn about a poor model
CHI2_WARN = 3.0
#: edges fitted as two copies shifted by -+ this many eV (their amplitudes are
#: summed), which absorbs chemical shifts and onset differences of ~1 eV
BASIS_SHIFTS_EV: dict[str, float] = {"Li K": 0.75, "Co M2,3": 0.75}
#: extra shape variants fitted with an edge (see _basis)
BASIS_VARIANTS: dict[str, tuple[dict, ...]] = {
    "Li K": ({"form": "delayed", "rise": 1.0, "tail": 3.5},),
    "Ti M2,3": ({"form": "delayed", "rise": 2.0, "tail": 4.0},),
    "Ti3+ M2,3": ({"form": "delayed", "rise": 2.0, "tail": 4.0},),
    "Pt O/N": ({"form": "delayed", "rise": 2.0, "tail": 3.0},),
    "Co M2,3": ({"form": "delayed", "rise": 2.0, "tail": 4.0},),
}
_BACKGROUNDS = ("auto", "plural", "lcpl", "powerlaw", None)
_CHUNK = 4096


# --------------------------------------------------------------------------- #
# components
# --------------------------------------------------------------------------- #
@dataclasses.dataclass
class _Comp:
    name: str
    kind: str  # "edge" | "reference" | "background"
    shape: EdgeShape | None = None
    ref_e: np.ndarray | None = None
    ref_y: np.ndarray | None = None
    basis_shift: float | None = None

    def record(self) -> dict[str, Any]:
        if self.kind == "edge":
            return {"kind": "edge", **self.shape.as_dict()}
        if self.kind == "reference":
            return {
                "kind": "reference",
                "name": self.name,
                "energy_range_ev": [float(self.ref_e[0]), float(self.ref_e[-1])],
            }
        return {"kind": "background", "name": self.name}


def _auto_edges(window: tuple[float, float]) -> list[EdgeShape]:
    lo, hi = window
    return [s for s in EDGES.values() if lo - 30.0 < s.onset_ev < hi - 2.0]


def _reference_comp(name: str, da: Any) -> _Comp:
    if not isinstance(da, xr.DataArray) or da.dims != (ENERGY,):
        raise ParameterError(f"reference component {name!r} must be a 1-D DataArray with an 'energy' dim in eV.")
    units = str(da[ENERGY].attrs.get("units", "")) if ENERGY in da.coords else ""
    if units != "eV":
        raise CalibrationError(f"reference component {name!r} needs an energy coordinate in eV (units {units!r}).")
    e = np.asarray(da[ENERGY].values, dtype=np.float64)
    y = np.asarray(da.values, dtype=np.float64)
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(y))):
        raise ParameterError(f"reference component {name!r} contains NaN or infinite values.")
    if e.size < 2 or np.any(np.diff(e) <= 0):
        raise CalibrationError(f"reference component {name!r} needs an ascending energy axis.")
    return _Comp(name=name, kind="reference", ref_e=e, ref_y=y)


def _parse_components(components: Any, window) -> tuple[list[_Comp], bool]:
    auto = components is None or (isinstance(components, str) and components == "auto")
    if auto:
        return [_Comp(s.name, "edge", s) for s in _auto_edges(window)], True
    items: list[tuple[str | None, Any]]
    if isinstance(components, Mapping):
        items = [(str(k), v) for k, v in components.items()]
    elif isinstance(components, str | EdgeShape | xr.DataArray):
        items = [(None, components)]
    elif isinstance(components, Sequence):
        items = [(None, v) for v in components]
    else:
        raise ParameterError(
            "components must be None/'auto', a list of edge names, EdgeShapes or reference "
            f"DataArrays, or a dict name -> one of those; got {type(components).__name__}."
        )
    out: list[_Comp] = []
    for k, (name, v) in enumerate(items):
        if isinstance(v, xr.DataArray):
            out.append(_reference_comp(name or str(v.name or f"reference {k}"), v))
        elif isinstance(v, str | EdgeShape):
            shp = get_edge(v)
            if name is not None and name != shp.name:
                shp = dataclasses.replace(shp, name=name)
            out.append(_Comp(shp.name, "edge", shp))
        else:
            raise ParameterError(f"component {v!r} is neither an edge name, an EdgeShape nor a DataArray.")
    if not out:
        raise ParameterError("components is empty; give at least one edge or reference.")
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise ParameterError(f"component names must be distinct, got {names}.")
    return out, False


# --------------------------------------------------------------------------- #
# design matrices
# --------------------------------------------------------------------------- #
def _edge_cols(comps: list[_Comp], e: np.ndarray) -> np.ndarray:
    cols = [c.shape(e) for c in comps if c.kind == "edge"]
    return np.stack(cols, axis=1) if cols else np.zeros((e.size, 0))


def _ref_cols(comps: list[_Comp], e: np.ndarray) -> np.ndarray:
    cols = []
    for c in comps:
        if c.kind != "reference":
            continue
        if c.ref_e[0] > e[0] + 1e-9 or c.ref_e[-1] < e[-1] - 1e-9:
            raise ParameterError(
                f"reference {c.name!r} covers {c.ref_e[0]:.4g}-{c.ref_e[-1]:.4g} eV but the fit "
                f"window needs {e[0]:.4g}-{e[-1]:.4g} eV."
            )
        cols.append(np.interp(e, c.ref_e, c.ref_y))
    return np.stack(cols, axis=1) if cols else np.zeros((e.size, 0))


def _bg_cols(kind: str | None, exps: Sequence[float], e: np.ndarray) -> np.ndarray:
    if kind is None:
        return np.zeros((e.size, 0))
    ec = float(np.sqrt(e[0] * e[-1]))
    if _derivative_pair(kind, exps):
        # span{E^-r1, E^-r2} for close r1, r2 = span{E^-r, E^-r ln E} to first
        # order; this basis is far better conditioned
        r = 0.5 * (exps[0] + exps[1])
        pl = (e / ec) ** (-r)
        return np.stack([pl, -pl * np.log(e / ec)], axis=1)
    return np.stack([(e / ec) ** (-r) for r in exps], axis=1)


def _derivative_pair(kind: str | None, exps: Sequence[float]) -> bool:
    return kind == "lcpl" and len(exps) == 2 and abs(exps[1] - exps[0]) <= 0.2


@dataclasses.dataclass
class _Kernels:
    """Per-pixel (or shared) low-loss kernels on the core-loss channel grid."""

    k: np.ndarray  # (P or 1, M): kernel at loss m * step, m = m_lo .. m_lo + M - 1
    m_lo: int
    m_hi: int


def _make_kernels(lo: Spectra, lvals: np.ndarray, z: ZLP, step: float, e_win: np.ndarray, lowest_ev: float) -> _Kernels:
    need = float(e_win[-1] - lowest_ev)
    have = float(lo.energy[-1] - np.max(z.pos_ev))
    if have < need - 1.0:
        warn(
            f"the low-loss frame reaches {have:.1f} eV above the zero-loss peak, but the model "
            f"needs {need:.1f} eV for the plural-scattering convolution; plural scattering "
            "beyond that is left out. Record a longer low-loss range."
        )
    m_hi = int(math.ceil(min(need, have + 0.5 * lo.step) / step))
    m_lo = -int(math.ceil(min(10.0, float(np.max(z.pos_ev) - lo.energy[0])) / step))
    m = np.arange(m_lo, m_hi + 1) * step
    centres = z.pos_ev[:, None] + m[None, :]
    k = K.area_resample(lvals, lo.energy, lo.step, centres, step) / z.i0[:, None]
    return _Kernels(k=k, m_lo=m_lo, m_hi=m_hi)


def _conv_cols(funcs: list, e_win: np.ndarray, step: float, ker: _Kernels, rows: slice) -> np.ndarray:
    """Functions of energy forward-convolved with the kernels of `rows`: (p, n, len(funcs))."""
    n = e_win.size
    span = ker.m_hi - ker.m_lo
    eg = e_win[0] + (np.arange(n + span) - ker.m_hi) * step
    shapes = np.stack([f(eg) for f in funcs], axis=1)  # (n + span, kf)
    kk = ker.k[rows] if ker.k.shape[0] > 1 else ker.k
    nfft = sfft.next_fast_len(n + 2 * span + 1, real=True)
    fs = sfft.rfft(shapes, nfft, axis=0)  # (f, kf)
    fk = sfft.rfft(kk, nfft, axis=1)  # (p, f)
    full = sfft.irfft(fk[:, :, None] * fs[None, :, :], nfft, axis=1)  # (p, nfft, kf)
    out = full[:, span : span + n, :]
    if ker.k.shape[0] == 1:  # one low loss for every pixel
        out = np.broadcast_to(out, (rows.stop - rows.start,) + out.shape[1:])
    return out


def _taper(e: np.ndarray, cut: float, half: float) -> np.ndarray:
    """1 below cut - half, 0 above cut + half, a raised cosine between."""
    t = np.clip((e - (cut - half)) / (2 * half), 0.0, 1.0)
    return 0.5 * (1 + np.cos(np.pi * t))


class _Valence:
    """Plural valence background from each pixel's low-loss spectrum.

    Fourier-log deconvolution of the low loss gives its single-scattering
    distribution s (reconvolved with a Gaussian of the zero-loss width).
    Below ``cut`` (a few eV under the first edge onset) s is purely valence;
    there it is kept (raised-cosine taper of half-width ``half``) as s_v.
    All scattering orders of s_v, V = I0 z (x) (exp*(s_v / I0) - delta),
    evaluated in Fourier space, are the valence background in the core-loss
    window that comes from losses below the cut (double and triple plasmons
    included); the valence losses above the cut are the convolved power-law
    tail columns of the model.
    """

    def __init__(self, lo: Spectra, lvals: np.ndarray, z: ZLP, cut: float, half: float):
        self.lo, self.lvals, self.z, self.cut, self.half = lo, lvals, z, cut, half

    def columns(self, rows: slice, e_win: np.ndarray, step: float) -> np.ndarray:
        lo, z = self.lo, self.z
        y = np.asarray(self.lvals[rows] if self.lvals.shape[0] > 1 else self.lvals, dtype=np.float64)
        sel = (lambda a: a[rows]) if self.lvals.shape[0] > 1 else (lambda a: a)
        pos, i0, fwhm = sel(z.pos_ch), sel(z.i0), sel(z.fwhm_ch)
        pos_ev = sel(z.pos_ev)
        m = y.shape[1]
        need = int(math.ceil((e_win[-1] - lo.energy[0] + 20.0) / lo.step))
        nfft = sfft.next_fast_len(max(2 * m, need), real=True)
        zl = _single.mirror_rows(y, pos)
        jy = sfft.rfft(_pad_taper(y, nfft), axis=1)
        zy = sfft.rfft(zl, nfft, axis=1)
        ratio = jy / np.where(np.abs(zy) > 0, zy, 1e-300)
        lg = np.log(np.maximum(np.abs(ratio), 1e-300)) + 1j * np.unwrap(np.angle(ratio), axis=1)
        nu = np.fft.rfftfreq(nfft)
        sig = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
        g = np.exp(-2.0 * (math.pi * sig[:, None] * nu[None, :]) ** 2)
        s = sfft.irfft(g * lg, nfft, axis=1)  # s / I0 on the loss grid (index 0 = loss 0)
        loss = np.arange(nfft) * lo.step
        c = _taper(loss, self.cut, self.half)
        c[nfft // 2 :] = 0.0  # negative losses (wrapped)
        sv = sfft.rfft(s * c[None, :], axis=1)
        zhat = zy / i0[:, None]
        v = sfft.irfft(i0[:, None] * zhat * np.expm1(sv), nfft, axis=1)  # on the low-loss axis
        e_ax = lo.energy[0] + np.arange(nfft) * lo.step
        centres = e_win[None, :] + pos_ev[:, None]
        out = K.area_resample(v, e_ax, lo.step, centres, step)
        if self.lvals.shape[0] == 1:  # one low loss for every pixel
            out = np.broadcast_to(out, (rows.stop - rows.start, out.shape[1]))
        return out


def _pad_taper(y: np.ndarray, nfft: int) -> np.ndarray:
    p, n = y.shape
    out = np.zeros((p, nfft))
    out[:, :n] = y
    t = min(n, nfft - n)
    if t > 0:
        w = 0.5 * (1 + np.cos(np.pi * np.arange(1, t + 1) / (t + 1)))
        out[:, n : n + t] = y[:, -1:] * w[None, :]
    return out


# --------------------------------------------------------------------------- #
# the linear fit
# --------------------------------------------------------------------------- #
@dataclasses.dataclass
class _Fit:
    theta: np.ndarray  # (P, q) component amplitudes (sums over their columns)
    var: np.ndarray  # (P, q) their variances
    chi2: np.ndarray  # (P,)
    n_fallback: int
    model: np.ndarray | None = None


def _check_chunk(yc: np.ndarray, sp: Spectra, e_win: np.ndarray, offset: int) -> None:
    if not (np.isfinite(yc).all() and yc.min() >= 0 and (yc.max(axis=1) > 0).all()):
        full = np.ones((offset + yc.shape[0], yc.shape[1]), dtype=yc.dtype)
        full[offset:] = yc
        kw = dict(name="spectra", energy=e_win, dims=sp.dims, shape=sp.shape)
        check_finite_window(full, **kw)
        check_counts(full, what="fit window", **kw)


def _weights(y: np.ndarray) -> np.ndarray:
    mean = np.zeros(y.shape[1])
    for a in range(0, y.shape[0], _CHUNK):
        mean += y[a : a + _CHUNK].sum(axis=0, dtype=np.float64)
    mean /= y.shape[0]
    floor = 1e-3 * float(mean.max()) + 1e-12
    return 1.0 / np.maximum(mean, floor)


def _solve(
    sp: Spectra,
    y: np.ndarray,
    e_win: np.ndarray,
    x_static: np.ndarray,
    cons: np.ndarray,
    gain: float,
    combos: np.ndarray,
    *,
    percols=None,
    n_per: int = 0,
    offset=None,
    keep_model: bool = False,
    check: bool = True,
) -> _Fit:
    """Fit y - offset = [per-pixel columns | static columns] theta for every pixel.

    `x_static` (n, k_s) holds columns shared by all pixels; ``percols(rows)``
    returns the (p, n, n_per) per-pixel columns (forward-convolved shapes,
    valence background) and ``offset(rows)`` a fixed (p, n) part of the model.
    `combos` (k, q) sums columns into the reported components.
    """
    p, n = y.shape
    k = x_static.shape[1] + n_per
    q = combos.shape[1]
    w = _weights(y)
    theta = np.zeros((p, q))
    var = np.zeros((p, q))
    chi2 = np.zeros(p)
    model = np.zeros((p, n)) if keep_model else None
    n_fb = 0
    if percols is None:
        # shared design: pass 1 gives X^T W y, pass 2 the variances and chi-square
        x = x_static
        s = np.sqrt(np.sum(w[:, None] * x * x, axis=0))
        s[s == 0] = 1.0
        xs = x / s
        wx = w[:, None] * xs
        a = xs.T @ wx
        # X^T W y in the data's precision, but in the orthonormalised basis
        # W X L^-T (A = L L^T): float32 rounding of near-collinear columns is
        # independent while their Poisson noise is correlated, so rounding the
        # plain products moved amplitudes by up to 4.8 sigma; in this basis it
        # stays below 6e-4 sigma of a float64 reference
        b = np.empty((p, k))
        low_a = np.linalg.cholesky(a)
        bb_t = np.linalg.solve(low_a, wx.T).T.astype(y.dtype)
        for c0 in range(0, p, _CHUNK):
            rows = slice(c0, min(p, c0 + _CHUNK))
            yc = y[rows]
            if offset is not None:
                yc = yc - offset(rows)
            bc = K._thin_matmul(yc, bb_t) @ low_a.T
            # NaN and negatives show in the minimum, +inf in the products, an
            # all-zero spectrum as a zero row of the products
            if check and not (yc.min() >= 0 and np.isfinite(bc).all() and (bc != 0).any(axis=1).all()):
                _check_chunk(np.asarray(yc, dtype=np.float64), sp, e_win, c0)
            b[rows] = bc
        th, fr, n_fb = K.solve_constrained(a, b, cons)
        gs = combos / s[:, None]
        theta = th @ gs
        xs_t = np.ascontiguousarray(xs.T, dtype=y.dtype)
        dof = np.maximum(n - fr.sum(axis=1), 1)

        def block(idx, yb):
            mod = K._thin_matmul(th[idx].astype(y.dtype), xs_t)
            if offset is not None:
                mod = mod + offset(idx)
            if keep_model:
                model[idx] = mod
            r = np.subtract(yb, mod)
            np.square(r, out=r)
            np.maximum(mod, 1.0, out=mod)
            np.divide(r, mod, out=r)
            chi2[idx] = r.sum(axis=1) / (gain * dof[idx])

        var = gain * K.pattern_variances(y, wx, a, fr, gs, on_block=block)
        return _Fit(theta, var, chi2, n_fb, model)
    chunk = max(1, min(_CHUNK, 2_000_000 // max(1, n * k)))
    for c0 in range(0, p, chunk):
        rows = slice(c0, min(p, c0 + chunk))
        yc = np.asarray(y[rows], dtype=np.float64)
        if check:
            _check_chunk(yc, sp, e_win, c0)
        xe = percols(rows)  # (pc, n, n_per)
        xc = np.concatenate([xe, np.broadcast_to(x_static, (xe.shape[0],) + x_static.shape)], axis=2)
        s = np.sqrt(np.einsum("n,pnk->k", w, xc * xc) / xc.shape[0])
        s[s == 0] = 1.0
        xs = xc / s
        wx = w[None, :, None] * xs
        yo = yc - offset(rows) if offset is not None else yc
        a = np.einsum("pnk,pnl->pkl", xs, wx)
        b = np.einsum("pn,pnk->pk", yo, wx)
        m = np.einsum("pn,pnk,pnl->pkl", yc, wx, wx) * gain
        th, fr, nf = K.solve_constrained(a, b, cons)
        gs = combos / s[:, None]
        theta[rows] = th @ gs
        var[rows] = K.covariance(a, m, fr, gs)
        n_fb += nf
        mod = np.einsum("pnk,pk->pn", xs, th)
        if offset is not None:
            mod = mod + (yc - yo)
        dof = np.maximum(n - fr.sum(axis=1), 1)
        chi2[rows] = np.sum((yc - mod) ** 2 / (gain * np.maximum(mod, 1.0)), axis=1) / dof
        if keep_model:
            model[rows] = mod
    return _Fit(theta, var, chi2, n_fb, model)


def _check_background(background: Any) -> str | None:
    return check_choice("background", background, _BACKGROUNDS)


def _check_exps(exps: Any, background: str | None) -> tuple[float, ...] | None:
    if exps is None:
        return None
    need = {"lcpl": 2, "plural": 2, "powerlaw": 1, None: 0, "auto": 2}[background]
    vals = (exps,) if isinstance(exps, numbers.Real) else tuple(exps)
    if len(vals) != need or not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in vals):
        raise ParameterError(
            f"background_exponents must be {need} finite number(s) for background={background!r}, got {exps!r}."
        )
    return tuple(float(v) for v in vals)


def _nonneg_mask(nonneg: Any, names: list[str], kinds: list[str]) -> np.ndarray:
    if nonneg is True:
        return np.array([kd in ("edge", "background") for kd in kinds])
    if nonneg is False or nonneg is None:
        return np.zeros(len(names), dtype=bool)
    want = [nonneg] if isinstance(nonneg, str) else list(nonneg)
    unknown = [v for v in want if v not in names and v != "background"]
    if unknown:
        raise ParameterError(
            f"nonneg names {unknown} are not components; the components are {names} (and 'background')."
        )
    return np.array(
        [(nm in want) or (kd == "background" and "background" in want) for nm, kd in zip(names, kinds, strict=True)]
    )


@dataclasses.dataclass
class _EdgeFit:
    fit: _Fit
    names: list[str]
    kinds: list[str]
    comps: list[_Comp]
    exps: tuple[float, ...]
    i0: int
    i1: int
    e_win: np.ndarray
    cons: np.ndarray
    background: str | None
    extra_attrs: dict[str, Any]


def _powerlaw_func(r: float, ec: float, cut: float | None, half: float):
    def f(e):
        out = np.zeros_like(e)
        lo = -math.inf if cut is None else cut - half
        ok = e > max(lo, 1e-6)
        val = (e[ok] / ec) ** (-r)
        if cut is not None:
            val = val * (1.0 - _taper(e[ok], cut, half))
        out[ok] = val
        return out

    return f


def _fit_summed(ysum: np.ndarray, cols: np.ndarray, cons: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted NNLS fit of the summed spectrum; returns (theta, weighted SSR)."""
    w = 1.0 / np.maximum(ysum, 1e-3 * ysum.max() + 1e-12)
    s = np.sqrt(np.sum(w[:, None] * cols * cols, axis=0))
    s[s == 0] = 1.0
    xs = cols / s
    a = xs.T @ (w[:, None] * xs)
    b = (ysum * w) @ xs
    th, _, _ = K.solve_constrained(a, b[None, :], cons)
    res = ysum - xs @ th[0]
    return th[0] / s, float(np.sum(w * res * res))


def _best_exponent(ysum, fixed_cols, make_bg) -> float:
    """Exponent r of a single power-law background that best fits the summed spectrum."""
    rs = np.arange(0.5, 8.0001, 0.1)
    ssr = np.empty(rs.size)
    for i, r in enumerate(rs):
        cols = np.concatenate([fixed_cols, make_bg(r)], axis=1)
        _, ssr[i] = _fit_summed(ysum, cols, np.ones(cols.shape[1], dtype=bool))
    j = int(np.argmin(ssr))
    if 0 < j < rs.size - 1:
        den = ssr[j - 1] - 2 * ssr[j] + ssr[j + 1]
        if den > 0:
            return float(rs[j] + 0.1 * 0.5 * (ssr[j - 1] - ssr[j + 1]) / den)
    return float(rs[j])


def _basis(comp: _Comp) -> list[EdgeShape]:
    """Return the columns of an edge component (their amplitudes are summed).

    The shape itself, or two copies shifted by -+ d eV (BASIS_SHIFTS_EV),
    plus variants in the other functional form (BASIS_VARIANTS): non-negative
    combinations of them follow onsets and tails that differ from the
    built-in shape, so that such differences stay in this component instead
    of leaking into another one.
    """
    d = BASIS_SHIFTS_EV.get(comp.shape.name, 0.0) if comp.basis_shift is None else comp.basis_shift
    out = [comp.shape] if not d else [comp.shape.shifted(-d), comp.shape.shifted(d)]
    for kw in BASIS_VARIANTS.get(comp.shape.name, ()):
        out.append(dataclasses.replace(comp.shape, **kw))
    return out


def _fit_edges(
    sp: Spectra,
    values: np.ndarray,
    energy: np.ndarray,
    window,
    comps: list[_Comp],
    background: str | None,
    exps,
    nonneg,
    gain: float,
    low: tuple | None,
    *,
    keep_model: bool = False,
) -> _EdgeFit:
    """Fit the edge model (shared by fit_edges and li_map).

    `low` is None or (lo, lvals, z, single) from _low_loss_setup.
    """
    i0, i1 = window_indices(energy, sp.step, window, name="window", min_channels=10)
    if energy[i0] <= 0:
        raise ParameterError("the fit window must lie above 0 eV.")
    e_win = energy[i0:i1]
    y = values[:, i0:i1]
    step = sp.step
    if background == "auto":
        background = "plural" if low is not None else "lcpl"
    if background == "plural" and low is None:
        raise ParameterError("background='plural' needs low_loss= (the valence background is computed from it).")
    ysum = np.zeros(e_win.size)
    for a in range(0, y.shape[0], _CHUNK):
        ysum += y[a : a + _CHUNK].sum(axis=0, dtype=np.float64)
    if not (np.all(np.isfinite(ysum)) and np.all(ysum >= 0)):
        for a in range(0, y.shape[0], _CHUNK):
            _check_chunk(np.asarray(y[a : a + _CHUNK], dtype=np.float64), sp, e_win, a)
    edges = [c for c in comps if c.kind == "edge"]
    refs = [c for c in comps if c.kind == "reference"]
    onsets = [min(b.onset_ev for b in _basis(c)) for c in edges]
    cut = (min(onsets) if onsets else e_win[0]) - 3.0
    half = 2.5
    ker = val = None
    extra: dict[str, Any] = {}
    if low is not None:
        lo, lvals, z, single = low
        ker = _make_kernels(lo, lvals, z, step, e_win, min([cut - half] + [o - 6 for o in onsets]))
        if background == "plural":
            val = _Valence(lo, lvals, z, cut, half)
    ec = float(np.sqrt(e_win[0] * e_win[-1]))
    mean_ker = None if ker is None else _Kernels(ker.k.mean(axis=0, keepdims=True), ker.m_lo, ker.m_hi)
    plural = background == "plural"

    def conv_mean(funcs):
        if not funcs:
            return np.zeros((e_win.size, 0))
        if mean_ker is None:
            return np.stack([f(e_win) for f in funcs], axis=1)
        return _conv_cols(funcs, e_win, step, mean_ker, slice(0, 1))[0]

    def bg_funcs(rs):
        return [_powerlaw_func(r, ec, cut if plural else None, half) for r in rs]

    static_ref = _ref_cols(refs, e_win)
    v_mean = None
    if val is not None:
        v_mean = np.zeros(e_win.size)
        for a in range(0, y.shape[0], 256):
            v_mean += val.columns(slice(a, min(y.shape[0], a + 256)), e_win, step).sum(axis=0)
    extra_v = [] if v_mean is None else [v_mean[:, None]]

    def edge_funcs(es):
        return [b for c in es for b in _basis(c)]

    def choose_exps(es):
        if background is None:
            return ()
        if exps is not None:
            return exps
        ef = edge_funcs(es)
        fixed = np.concatenate([conv_mean(ef), static_ref] + extra_v, axis=1)
        r0 = _best_exponent(ysum, fixed, lambda r: conv_mean([_powerlaw_func(r, ec, cut if plural else None, half)]))
        if background == "powerlaw":
            return (r0,)
        hw = TAIL_HALF_WIDTH if plural else LCPL_HALF_WIDTH
        return (r0 - hw, r0 + hw)

    exps_used = choose_exps(edges)
    # ---- columns and components
    efuncs = edge_funcs(edges)
    bfuncs = bg_funcs(exps_used) if (plural or ker is None) else []
    bnames = [f"background r={r:.3g}" for r in exps_used]
    if _derivative_pair(background, exps_used):
        rm = 0.5 * (exps_used[0] + exps_used[1])
        bnames = [f"background r={rm:.3g}", f"background r={rm:.3g} slope"]
    names = [c.name for c in edges] + [c.name for c in refs] + bnames
    kinds = ["edge"] * len(edges) + ["reference"] * len(refs) + ["background"] * len(bnames)
    cons_comp = _nonneg_mask(nonneg, names, kinds)
    if not plural and nonneg is True:
        # the LCPL pair r0 -+ 0.05 is a local expansion in the exponent: signed
        cons_comp = cons_comp & np.array([kd != "background" for kd in kinds])
    # column -> component index, in solver order
    col_comp = [i for i, c in enumerate(edges) for _ in _basis(c)]
    nb_first = len(edges) + len(refs)
    if ker is not None and plural:
        conv = efuncs + bfuncs
        conv_comp = col_comp + [nb_first + j for j in range(len(bfuncs))]
        static = static_ref
        static_comp = [len(edges) + j for j in range(len(refs))]
    elif ker is not None:
        conv = efuncs
        conv_comp = col_comp
        static = np.concatenate([static_ref, _bg_cols(background, exps_used, e_win)], axis=1)
        static_comp = [len(edges) + j for j in range(len(refs))] + [nb_first + j for j in range(len(bnames))]
    else:
        conv = []
        conv_comp = []
        static = np.concatenate(
            [
                np.stack([f(e_win) for f in efuncs], axis=1) if efuncs else np.zeros((e_win.size, 0)),
                static_ref,
                _bg_cols(background, exps_used, e_win),
            ],
            axis=1,
        )
        static_comp = col_comp + [len(edges) + j for j in range(len(refs))] + [nb_first + j for j in range(len(bnames))]
    q = len(names)

    def combos_for(comp_idx, extra_cols=0):
        g = np.zeros((len(comp_idx) + extra_cols, q + extra_cols))
        for c, i in enumerate(comp_idx):
            g[c, i] = 1.0
        for e in range(extra_cols):
            g[len(comp_idx) + e, q + e] = 1.0
        return g

    if ker is None:
        cons = cons_comp[static_comp] if static_comp else np.zeros(0, dtype=bool)
        fit = _solve(sp, y, e_win, static, cons, gain, combos_for(static_comp), keep_model=keep_model)
    else:
        nconv = len(conv)

        def percols(rows, with_v=False):
            cols = _conv_cols(conv, e_win, step, ker, rows)
            if with_v:
                cols = np.concatenate([cols, val.columns(rows, e_win, step)[:, :, None]], axis=2)
            return cols

        cons_conv = cons_comp[conv_comp] if conv_comp else np.zeros(0, dtype=bool)
        cons_static = cons_comp[static_comp] if static_comp else np.zeros(0, dtype=bool)
        if val is not None:
            # stage 1: the valence column free per pixel (>= 0) -> the dose ratio
            order = conv_comp + [q] + static_comp
            g1 = np.zeros((len(order), q + 1))
            for c, i in enumerate(order):
                g1[c, i] = 1.0
            c1 = np.concatenate([cons_conv, [True], cons_static])
            f1 = _solve(
                sp,
                y,
                e_win,
                static,
                c1,
                gain,
                g1,
                percols=lambda rows: percols(rows, True),
                n_per=nconv + 1,
                keep_model=keep_model and low[3],
            )
            kv = f1.theta[:, q]
            if low[3] or not VALENCE_GLOBAL:
                fit = _Fit(f1.theta[:, :q], f1.var[:, :q], f1.chi2, f1.n_fallback, f1.model)
                extra["valence_scale"] = "per pixel (one low-loss spectrum for all)"
            else:
                good = np.isfinite(kv) & (kv > 0)
                ratio = float(np.median(kv[good])) if good.any() else 0.0
                extra["valence_scale"] = ratio
                if good.any() and ratio > 0:
                    extra["valence_scale_spread"] = float(np.std(kv[good]) / ratio)
                fit = _solve(
                    sp,
                    y,
                    e_win,
                    static,
                    np.concatenate([cons_conv, cons_static]),
                    gain,
                    combos_for(conv_comp + static_comp),
                    percols=percols,
                    n_per=nconv,
                    offset=lambda rows: ratio * val.columns(rows, e_win, step),
                    keep_model=keep_model,
                    check=False,
                )
        else:
            fit = _solve(
                sp,
                y,
                e_win,
                static,
                np.concatenate([cons_conv, cons_static]),
                gain,
                combos_for(conv_comp + static_comp),
                percols=percols,
                n_per=nconv,
                keep_model=keep_model,
            )
    med = float(np.median(fit.chi2))
    if med > CHI2_WARN:
        hint = "give low_loss= so that plural scattering is modelled, " if low is None else ""
        warn(
            f"the model describes the spectra poorly (median reduced chi-square {med:.3g}): "
            f"{hint}check the energy alignment and calibration, and the components "
            f"({', '.join(names)}). Amplitudes and errors are unreliable."
        )
    if val is not None:
        extra["valence_cut_ev"] = float(cut)
    extra["edge_basis"] = json.dumps({c.name: [b.as_dict() for b in _basis(c)] for c in edges})
    return _EdgeFit(
        fit=fit,
        names=names,
        kinds=kinds,
        comps=edges + refs,
        exps=tuple(exps_used),
        i0=i0,
        i1=i1,
        e_win=e_win,
        cons=cons_comp,
        background=background,
        extra_attrs=extra,
    )


def _low_loss_setup(sp: Spectra, low_loss: Any, gain: float):
    lo = as_spectra_array(low_loss, name="low_loss")
    single = check_same_grid(sp, lo, name="low_loss")
    _check_lowloss_values(lo, "low_loss")
    lvals = lo.values if single else reorder_like(lo, sp)
    if lvals is not lo.values:
        lo = dataclasses.replace(lo, values=lvals)
    z = zlp_analysis(lo)
    _check_zlp(z, "low_loss")
    return lo, lvals, z, single


def fit_edges(
    spectra: xr.DataArray,
    *,
    components: Any = None,
    window: tuple[float, float] = DEFAULT_WINDOW,
    low_loss: xr.DataArray | None = None,
    background: str | None = "auto",
    background_exponents: Sequence[float] | float | None = None,
    nonneg: bool | Sequence[str] = True,
    gain: float | None = None,
    return_model: bool = False,
) -> xr.Dataset:
    """Fit a linear model (background + edge shapes) to every spectrum over a window.

    The model over `window` is a background plus one or more columns per
    component: built-in edge shapes (:mod:`holocorr.eels.edges`), user
    reference spectra (MLLS), or both. With `low_loss` the edge columns are
    forward-convolved with each spectrum's own low-loss distribution
    (normalised to its zero-loss intensity), which includes plural
    scattering and the energy resolution, and the valence background is
    modelled from the low loss too. Every pixel is fitted at once (see
    Notes).

    Parameters
    ----------
    spectra : xarray.DataArray
        Core-loss counts with an ``energy`` dim in eV (uniform, ascending) and
        any other dims (``x`` for an SR-EELS frame, ``y, x`` for a spectrum
        image). Align the energy axis first (:func:`align_energy`) when it
        drifts.
    components : None, "auto", list or dict
        None/"auto": the built-in edges with onsets between 30 eV below the
        window and 2 eV below its end (for the default window Li K, Ti M2,3,
        Ti3+ M2,3, Co M2,3 and Pt O/N); absent ones fit to ~0 under the
        non-negativity constraint. A list of edge names, EdgeShapes or 1-D
        reference DataArrays (``energy`` in eV, used as they are: not
        convolved), or a dict name -> one of those.
    window : (start, stop)
        Fit window [eV]. Default 40-75 eV.
    low_loss : xarray.DataArray, optional
        Low-loss counts on the same spatial grid (or one spectrum for all).
    background : {"auto", "plural", "lcpl", "powerlaw", None}
        ``"auto"``: ``"plural"`` with a low loss, else ``"lcpl"``.
        ``"plural"``: the valence background computed from the low loss
        (see Notes) plus two power-law terms for the valence losses above
        the first edge onset (exponents r0 -+ 1), forward-convolved like the
        edges. ``"lcpl"``: a1 (E/Ec)^-r1 + a2 (E/Ec)^-r2, a linear
        combination of power laws (Cueva et al. 2012) with exponents close
        enough (r1,2 = r0 -+ 0.05, coefficients of either sign) that the
        pair spans E^-r0 and its derivative in r: every pixel gets in effect
        its own power-law exponent near r0, by linear least squares.
        ``"powerlaw"``: one power law (E/Ec)^-r0. r0 is the single exponent
        that best fits the summed spectrum together with the edges. None: no
        background (references include it).
    background_exponents : float or (r1, r2), optional
        Fixed exponent(s) instead of the r0-derived ones.
    nonneg : bool or sequence of str
        Which amplitudes are constrained >= 0: True (default) all edge and
        background amplitudes, False none, or a list of component names
        (``"background"`` for the background terms).
    gain : float, optional
        Detector counts per electron (default: attrs ``counts_per_electron``
        or ``gain``, else 1).
    return_model : bool
        Also return the fitted model over the window.

    Returns
    -------
    xarray.Dataset
        ``amplitude`` (component, ...) [counts: for an edge, its counts in
        the first 30 eV above the onset of single scattering per zero-loss
        electron (with a low loss) or as recorded (without); for a
        reference, a multiple of it; for a background term, counts at the
        geometric mean of the window], ``amplitude_error`` (standard error),
        ``reduced_chi2`` (Poisson chi-square per degree of freedom; >> 1
        signals a poor model and triggers a warning above 3), coordinates
        ``component`` and ``component_kind``; with `return_model` also
        ``model`` (..., energy) over the window. Attrs record the window,
        the components and the shapes of every column, the background and
        its exponents, the valence scale, the constraints, the gain and
        provenance.

    Raises
    ------
    ShapeError
        No ``energy`` dim; low loss on another spatial grid.
    CalibrationError
        Energy axis without eV units, descending or not uniform; reference
        without eV axis.
    ParameterError
        Window reversed or outside the axis; unknown components; bad options.
    DataError
        NaN/inf, negative counts or all-zero spectra in the window.

    Notes
    -----
    **Edge columns.** Each built-in edge is fitted as a small basis whose
    amplitudes are summed into its reported amplitude: Li K and Co M2,3 as
    two copies shifted by -+0.75 eV, and every edge also in the second
    ("delayed") functional form of :mod:`holocorr.eels.edges`. All columns
    have unit area over the first 30 eV, so the sum is the edge's counts
    whatever mixture of shapes fits, and an edge whose true onset, delay or
    tail differs from the built-in curve keeps that difference instead of
    passing it to a neighbouring edge (see ``BASIS_SHIFTS_EV`` and
    ``BASIS_VARIANTS`` in this module).

    **Plural valence background** (``"plural"``). Fourier-log deconvolution
    of each low-loss spectrum gives its single-scattering distribution s;
    below a cut 3 eV under the lowest edge onset s is purely valence. All
    its scattering orders, V = I0 z (x) (exp*(s_v/I0) - delta), evaluated in
    Fourier space, are the valence background in the window that comes from
    below the cut (double and triple plasmons included); its scale (the
    dose ratio of the two frames, one number per frame pair) is fitted per
    pixel first and then fixed to the median. Valence losses above the cut
    are the two convolved power-law columns.

    **Solver.** The fit minimises sum_i w_i (y_i - (X theta)_i)^2 per pixel
    with weights w = 1 / (mean spectrum of all pixels), the Poisson variance
    up to a pixel-wise factor. Non-negativity is enforced by an active-set
    iteration vectorised over pixels (pixels sharing an active set are
    solved together; a pixel that does not settle in 40 steps is solved
    exactly by bounded-variable least squares). With a shared design (no low
    loss) one pass over the data gives X^T W y; variances come from a second
    pass grouped by active set. Standard errors are from the Poisson
    sandwich covariance A_F^-1 (X^T W diag(y) W X)_F A_F^-1 on each pixel's
    active set F (exact for any weighting); a component held at 0 reports
    the error it has in the unconstrained fit.

    The built-in shapes are phenomenological: amplitudes are relative, not
    absolute numbers of atoms.

    References
    ----------
    Hofer & Kothleitner, Microsc. Microanal. Microstruct. 4, 539 (1993);
    Leapman & Swyt, Ultramicroscopy 26, 393 (1988) (MLLS);
    Cueva et al., Microsc. Microanal. 18, 667 (2012),
    doi:10.1017/S1431927612000244; Egerton (2011), Sec. 4.1-4.5.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from holocorr.eels import edge_shape
    >>> e = 30.0 + 0.1 * np.arange(600)
    >>> y = 3e8 * e**-3.0 + 2e4 * edge_shape("Ti M2,3", e) + 5e3 * edge_shape("Li K", e)
    >>> da = xr.DataArray(y, dims="energy",
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> ds = fit_edges(da, components=["Ti M2,3", "Li K"], background="powerlaw",
    ...                background_exponents=3.0)
    >>> round(float(ds.amplitude.sel(component="Li K")) / 5000, 2)
    1.01
    """
    background = _check_background(background)
    exps = _check_exps(background_exponents, background)
    if not isinstance(return_model, bool):
        raise ParameterError(f"return_model must be True or False, got {return_model!r}.")
    sp = as_spectra_array(spectra, name="spectra", min_channels=10)
    g = check_gain(gain, sp.da)
    window_indices(sp.energy, sp.step, window, name="window", min_channels=10)
    comps, auto = _parse_components(components, window)
    low = None
    low_hash = None
    if low_loss is not None:
        low = _low_loss_setup(sp, low_loss, g)
        low_hash = input_hash(low[0])
    ef = _fit_edges(sp, sp.values, sp.energy, window, comps, background, exps, nonneg, g, low, keep_model=return_model)
    ds = _edge_dataset(sp, ef, output_dtype(sp.values))
    if return_model:
        coords = dict(sp.coords())
        coords[ENERGY] = xr.DataArray(ef.e_win, dims=(ENERGY,), attrs={"units": "eV", "long_name": "energy loss"})
        ds["model"] = xr.DataArray(
            ef.fit.model.reshape(sp.shape + (ef.e_win.size,)).astype(output_dtype(sp.values)),
            dims=sp.dims + (ENERGY,),
            coords=coords,
            attrs={"units": "counts", "long_name": "fitted model"},
        )
    params = {
        "components": [c.record() for c in ef.comps],
        "window": list(window),
        "background": background,
        "background_exponents": background_exponents,
        "nonneg": nonneg,
        "gain": g,
        "auto": auto,
    }
    ds.attrs.update(_fit_attrs(ef, window, g, convolved=low is not None))
    ds.attrs["holocorr"] = provenance("eels.fit_edges", params, {"spectra": input_hash(sp), "low_loss": low_hash})
    return ds


def _edge_dataset(sp: Spectra, ef: _EdgeFit, dt) -> xr.Dataset:
    k = len(ef.names)
    comp = xr.DataArray(
        np.array(ef.names, dtype=object), dims=("component",), attrs={"long_name": "model component", "units": "1"}
    )
    kind = xr.DataArray(
        np.array(ef.kinds, dtype=object), dims=("component",), attrs={"long_name": "component kind", "units": "1"}
    )
    coords = {"component": comp, "component_kind": kind, **sp.coords()}
    amp = ef.fit.theta.T.reshape((k,) + sp.shape).astype(dt)
    err = np.sqrt(ef.fit.var).T.reshape((k,) + sp.shape).astype(dt)
    dims = ("component",) + sp.dims
    ds = xr.Dataset(coords=coords)
    ds["amplitude"] = xr.DataArray(amp, dims=dims, attrs={"units": "counts", "long_name": "fitted amplitude"})
    ds["amplitude_error"] = xr.DataArray(
        err, dims=dims, attrs={"units": "counts", "long_name": "standard error of amplitude"}
    )
    ds["reduced_chi2"] = sp.unflatten(ef.fit.chi2.astype(dt), "reduced_chi2", "1", "reduced chi-square (Poisson)")
    ds.attrs.update(carry_attrs(sp.da))
    return ds


def _fit_attrs(ef: _EdgeFit, window, gain, *, convolved: bool) -> dict[str, Any]:
    extra = {k: v for k, v in ef.extra_attrs.items() if v is not None}
    return {
        **extra,
        "window_ev": [float(window[0]), float(window[1])],
        "window_channels_ev": [float(ef.e_win[0]), float(ef.e_win[-1])],
        "components": json.dumps([c.record() for c in ef.comps]),
        "background": str(ef.background),
        "background_exponents": [float(r) for r in ef.exps],
        "nonneg": json.dumps([nm for nm, c in zip(ef.names, ef.cons, strict=True) if c]),
        "gain": gain,
        "plural_scattering_convolution": convolved,
        "n_exact_fallback": ef.fit.n_fallback,
        "median_reduced_chi2": float(np.median(ef.fit.chi2)),
        "edge_shapes": "phenomenological (holocorr.eels.edges); amplitudes are relative",
    }


# --------------------------------------------------------------------------- #
# li_map
# --------------------------------------------------------------------------- #
def _single_attrs(res: dict, window, comps: list[_Comp], gain: float, shape_window: float) -> dict[str, Any]:
    return {
        "window_ev": [float(window[0]), float(window[1])],
        "window_channels_ev": [float(res["e_win"][0]), float(res["e_win"][-1])],
        "components": json.dumps([c.record() for c in comps]),
        "edge_basis": json.dumps({c.name: [b.as_dict() for b in _basis(c)] for c in comps}),
        "background": "fourier-log",
        "background_model": "LCPL (three power laws) on the Fourier-log single-scattering distribution",
        "background_exponents": [float(r) for r in res["exps"]],
        "dose_ratio": float(res["dec_ratio"]),
        "splice_ev": float(res["dec"]["splice_ev"]),
        "dose_ratio_overlap_ev": [float(v) for v in res["dec"]["overlap_ev"]],
        "shape_window_nm": shape_window,
        "shape_window_spectra": [int(v) for v in res["shape_sizes"]],
        "nonneg": json.dumps([c.name for c in comps]),
        "gain": gain,
        "plural_scattering_convolution": False,
        "median_reduced_chi2": float(np.median(res["chi2"])),
        "edge_shapes": "phenomenological (holocorr.eels.edges); amplitudes are relative",
    }


def _single_dataset(sp: Spectra, res: dict, dt) -> xr.Dataset:
    names = ["Li K", "other edges", "background"]
    kinds = ["edge", "edge", "background"]
    scale = np.array([1.0 / sp.step, 1.0, 1.0])  # Li K in counts (see _single.two_stage_fit)
    amp = res["theta"] * scale
    err = np.sqrt(res["theta_var"]) * scale
    comp = xr.DataArray(
        np.array(names, dtype=object), dims=("component",), attrs={"long_name": "model component", "units": "1"}
    )
    kind = xr.DataArray(
        np.array(kinds, dtype=object), dims=("component",), attrs={"long_name": "component kind", "units": "1"}
    )
    ds = xr.Dataset(coords={"component": comp, "component_kind": kind, **sp.coords()})
    dims = ("component",) + sp.dims
    for v, arr, ln in (("amplitude", amp, "amplitude"), ("amplitude_error", err, "standard error of amplitude")):
        ds[v] = xr.DataArray(
            arr.T.reshape((len(names),) + sp.shape).astype(dt),
            dims=dims,
            attrs={"units": "counts", "long_name": ln},
        )
    ds["reduced_chi2"] = sp.unflatten(res["chi2"].astype(dt), "reduced_chi2", "1", "reduced chi-square of the fit")
    return ds


def _single_ok(sp: Spectra, energy: np.ndarray, low: tuple | None, comps: list[_Comp]) -> str | None:
    """Why the Fourier-log path cannot run (None when it can)."""
    if low is None:
        return "it needs low_loss="
    if any(c.kind != "edge" for c in comps):
        return "reference-spectrum components are measured with plural scattering"
    lo, _, z, _ = low
    ov = _single.overlap_ev(float(energy[0]), float(np.min(lo.energy[-1] - z.pos_ev)))
    if ov < _single.MIN_OVERLAP_EV:
        return (
            f"the low-loss frame overlaps the core-loss range by {max(ov, 0.0):.3g} eV "
            f"(>= {_single.MIN_OVERLAP_EV:g} eV needed to measure the dose ratio)"
        )
    return None


def _shape_sizes(sp: Spectra, width_nm: float) -> list[int]:
    """Odd neighbourhood sizes [spectra] spanning ~`width_nm` along each spatial dim."""
    out = []
    for d in sp.dims:
        step = 1.0
        if d in sp.da.coords and sp.da.sizes[d] > 1 and str(sp.da[d].attrs.get("units", "")) == "nm":
            c = np.asarray(sp.da[d].values, dtype=np.float64)
            step = float(abs(c[-1] - c[0]) / (c.size - 1)) or 1.0
        k = max(1, int(round(width_nm / step)))
        out.append(min(k + (k % 2 == 0), max(1, sp.da.sizes[d])))
    return out


def _li_single(sp: Spectra, values, energy, window, comps: list[_Comp], low: tuple, gain: float, shape_window: float):
    """Li K amplitude from the spliced, Fourier-log deconvolved spectra (see holocorr.eels._single)."""
    lo, lvals, z, _ = low
    # the window lies in the core-loss range (below it only the low-loss dose exists)
    k0, k1 = window_indices(energy, sp.step, window, name="window", min_channels=10)
    dec = _single.splice_and_deconvolve(
        values,
        energy,
        sp.step,
        np.asarray(lvals, dtype=np.float64),
        lo.energy,
        lo.step,
        z.pos_ev,
        z.fwhm_ch,
        keep=(k0, k1),
    )
    i0, i1 = dec["s_slice"]
    e_win = dec["energy"][i0:i1]
    edges = [c for c in comps if c.kind == "edge"]
    shapes = [(k, b) for k, c in enumerate(edges) for b in _basis(c)]
    cols = np.stack([b(e_win) for _, b in shapes], axis=1)
    col_comp = np.array([k for k, _ in shapes])
    li_comp = [c.name for c in edges].index(EDGES["Li K"].name)
    sizes = _shape_sizes(sp, shape_window)
    res = _single.two_stage_fit(
        dec["s"], dec["j"][:, i0:i1], e_win, sp.step, cols, col_comp, li_comp, sp.shape, sizes, gain
    )
    res["shape_sizes"] = sizes
    res["li_var"] = _single.li_variance(
        res["li_weights"], i0, dec, np.asarray(z.fwhm_ch, dtype=np.float64) * (lo.step / sp.step), gain
    )
    res.update(dec_ratio=dec["ratio"], i0_core=dec["i0"], e_win=e_win, names=[c.name for c in edges], dec=dec)
    if abs(dec["ratio_far"] / dec["ratio"] - 1) > 0.03:
        warn(
            f"the core-loss/low-loss count ratio is {dec['ratio']:.4g} just above {dec['splice_ev']:.4g} eV but "
            f"{dec['ratio_far']:.4g} at {dec['overlap_ev'][1]:.4g} eV: the two frames do not hold the same spectrum "
            "(saturation, a non-linear detector, or another area?). The splice uses the first value; check the "
            "frames, or pass background='plural'."
        )
    return res


_METHODS = ("model", "integrate")
_ALIGN = ("auto", "zlp", "none")


def _neighbour_error_scale(li: np.ndarray, err: np.ndarray) -> float:
    """max(1, s): s^2 = median(d^2 / (e_i^2 + e_j^2)) / 0.455 over neighbour pairs (last axis)."""
    d = np.diff(li, axis=-1)
    v = err[..., 1:] ** 2 + err[..., :-1] ** 2
    ok = np.isfinite(d) & np.isfinite(v) & (v > 0) & (li[..., 1:] != 0) & (li[..., :-1] != 0)
    if ok.sum() < 10:
        return 1.0
    s2 = float(np.median(d[ok] ** 2 / v[ok])) / 0.4549364231195724
    return max(1.0, math.sqrt(s2))


def _region_mask(region: Any, sp: Spectra) -> np.ndarray:
    if not isinstance(region, Mapping) or not region:
        raise ParameterError("reference must be a dict of coordinate ranges, e.g. {'x': (500, 800)} in nm.")
    mask = np.ones(sp.shape, dtype=bool)
    for dim, rng in region.items():
        if dim not in sp.dims:
            raise ParameterError(f"reference names dim {dim!r}; the spectra's dims are {sp.dims}.")
        try:
            lo, hi = (float(rng[0]), float(rng[1]))
        except (TypeError, ValueError, IndexError) as exc:
            raise ParameterError(f"reference[{dim!r}] must be a (start, stop) pair, got {rng!r}.") from exc
        lo, hi = min(lo, hi), max(lo, hi)
        c = (
            np.asarray(sp.da[dim].values, dtype=np.float64)
            if dim in sp.da.coords
            else np.arange(sp.da.sizes[dim], dtype=np.float64)
        )
        sel = (c >= lo) & (c <= hi)
        if not sel.any():
            raise ParameterError(
                f"reference {dim}=({lo:g}, {hi:g}) selects nothing; the coordinate runs from "
                f"{c.min():.6g} to {c.max():.6g}."
            )
        shape = [1] * len(sp.dims)
        shape[sp.dims.index(dim)] = sel.size
        mask = mask & sel.reshape(shape)
    return mask.reshape(-1)


def li_map(
    spectra: xr.DataArray,
    *,
    low_loss: xr.DataArray | None = None,
    method: str = "model",
    window: tuple[float, float] | None = None,
    background_window: tuple[float, float] = (44.0, 54.0),
    components: Any = None,
    normalisation: str = "auto",
    align: str = "auto",
    background: str | None = "auto",
    nonneg: bool | Sequence[str] | None = None,
    reference: Mapping[str, tuple[float, float]] | None = None,
    reference_value: float = 1.0,
    gain: float | None = None,
    calibrate_errors: bool = True,
    shape_window: float = 40.0,
) -> xr.Dataset:
    """Relative Li concentration with error bars from Li K spectra.

    Default pipeline (``method="model"`` with a low-loss frame that overlaps
    the core-loss range by >= 5 eV, ``background="fourier-log"``):

    1. the zero-loss peak of every low-loss spectrum gives its energy shift
       (SR-EELS non-isochromaticity, drift); the core-loss spectra are
       resampled so every zero-loss peak sits at 0 eV (:func:`align_energy`);
    2. t/lambda = ln(I_total / I_0) per spectrum (:func:`thickness`);
    3. the low loss (below the core-loss range, scaled by the dose ratio
       measured where the frames overlap) and the core loss are spliced into
       one spectrum per pixel and Fourier-log deconvolved (Egerton 2011,
       Sec. 4.2): the single-scattering distribution, in which the valence
       background is a smooth tail and no edge has plural replicas;
    4. over 45-75 eV, spectra averaged over `shape_window` (40 nm) are
       fitted with three power laws (LCPL) and the edge shapes of Li K,
       Ti M2,3, Ti3+ M2,3, Co M2,3 and Pt O/N (automatic list, amplitudes
       >= 0): this fixes each pixel's Li K shape, other-edge sum and
       background shape. Each pixel's own spectrum is then fitted with those
       three columns (Li K, other edges, background), a linear fit whose Li
       K amplitude is unbiased by shot noise; its error is the Poisson error
       propagated through that fit;
    5. li = A_LiK / (I_0 t/lambda) with I_0 the zero-loss counts at the
       core-loss dose, proportional to n_Li sigma_LiK lambda, i.e. to the Li
       atoms per volume where lambda and the shape are constant; the error
       is calibrated against the scatter of neighbouring spectra
       (`calibrate_errors`).

    On holocorr's simulator (edge shapes unlike these) this recovers the
    electrode/LATSPO Li ratio within 5 % and reaches per-row correlations
    with the truth of 0.95 at a dose where exact knowledge of every shape
    would give 0.96 (guide "Li maps from SR-EELS").

    With ``background="plural"`` (the fallback when the frames do not
    overlap) the edges are instead forward-convolved with each spectrum's
    low loss and the plural valence background is modelled from the low
    loss plus a power-law tail (:func:`fit_edges`); that route is biased by
    tens of percent when the valence tail above the first edge onset is not
    a power law.

    Without a low-loss frame the Li K amplitude is divided by the P L2,3
    signal (a constant matrix element in LATSPO; power-law background from
    onset - 14 to onset - 3 eV, signal from onset - 1.5 to onset + 20 eV),
    when the axis reaches it.

    Parameters
    ----------
    spectra : xarray.DataArray
        Core-loss counts with an ``energy`` dim in eV and any other dims
        (SR-EELS ``(x, energy)``, spectrum image ``(y, x, energy)``).
    low_loss : xarray.DataArray, optional
        Low-loss counts on the same spatial grid (or one spectrum for all).
    method : {"model", "integrate"}
        ``"model"``: the overlap-aware fit above. ``"integrate"``: a plain
        power law fitted over `background_window` and extrapolated under the
        Li K window (56-72 eV by default) -- biased by the Ti M2,3 tail,
        offered for comparison.
    window : (start, stop), optional
        Fit window (``"model"``: default 45-75 eV on the ``"fourier-log"``
        route, 40-75 eV otherwise) or Li K integration window
        (``"integrate"``, default 56-72 eV) [eV].
    background_window : (start, stop)
        Pre-edge window for ``"integrate"`` [eV].
    components : optional
        Components for :func:`fit_edges` (Li K is added when missing).
    normalisation : {"auto", "thickness", "none"} or an edge name
        ``"auto"``: ``"thickness"`` with a low-loss frame, else ``"P L2,3"``
        when the axis covers it. ``"none"``: li is the Li K amplitude [counts].
    align : {"auto", "zlp", "none"}
        ``"auto"``: ``"zlp"`` with a low-loss frame, else no alignment.
    background : {"auto", "fourier-log", "plural", "lcpl", "powerlaw", None}
        ``"fourier-log"``: the single-scattering route above (needs a
        low-loss frame overlapping the core-loss range, alignment and
        built-in or :class:`EdgeShape` components). ``"auto"``: that route
        when possible, else ``"plural"`` with a low loss and ``"lcpl"``
        without. The others are the backgrounds of :func:`fit_edges`.
    nonneg : optional
        Constraints for :func:`fit_edges`; default: every amplitude >= 0.
        Where Li is absent li is then 0 with the error of the unconstrained
        fit (so averages near zero are biased upwards); pass e.g.
        ``nonneg=["Ti M2,3", "Ti3+ M2,3", "Co M2,3", "Pt O/N", "background"]``
        to leave Li K free.
    reference : dict, optional
        A region, e.g. ``{"x": (500, 800)}`` (nm), whose mean li is scaled
        to `reference_value` (e.g. 1.3 Li per formula unit in LATSPO). The
        uncertainty of that scale factor is common to all pixels and is
        reported in attrs, not added to ``li_error``.
    reference_value : float
        Value of li in the reference region.
    gain : float, optional
        Detector counts per electron (default: attrs or 1).
    calibrate_errors : bool
        Scale ``li_error`` up (never down) by the factor s that makes the
        differences between neighbouring spectra (along the last spatial
        dim) match their predicted errors: s^2 = median(d^2 / (e_i^2 +
        e_i+1^2)) / 0.455 (0.455 is the median of a chi-square with one
        degree of freedom). Poisson statistics alone miss scatter from the
        detector (gain, correlated read-out), from the energy alignment and
        from the non-negative fit switching components on and off; the
        profile is smooth on the scale of one spectrum in SR-EELS, so the
        neighbour differences measure the actual scatter. Pixels with li
        held at 0 are left out. The factor is recorded in attrs
        (``error_scale``); ``li_k_error`` stays the Poisson error.
    shape_window : float
        ``"fourier-log"`` route: width [nm] of the neighbourhood (along each
        spatial dim; the nearest odd number of spectra, at least 1) averaged
        to fix the shapes in stage 4. Wider is less noisy, but the shapes then
        follow changes across an interface less closely (40 nm suits fronts
        of ~20 nm width; dims without nm coordinates count spectra).

    Returns
    -------
    xarray.Dataset
        On the non-energy dims: ``li`` and ``li_error`` (relative Li
        concentration, 1-sigma from Poisson statistics of both frames),
        ``li_k`` and ``li_k_error`` (Li K amplitude, counts); with a low loss
        ``t_over_lambda``, ``t_over_lambda_error``, ``zlp_intensity``; with
        alignment ``energy_shift`` [eV]; for ``"model"`` ``amplitude`` and
        ``amplitude_error`` of every component and ``reduced_chi2``; for a
        matrix-edge normalisation ``normaliser`` and ``normaliser_error``.
        On the ``"fourier-log"`` route ``amplitude`` holds the stage-B
        columns (Li K, other edges, background) and ``reduced_chi2`` compares
        the residuals of the single-scattering fit with the Poisson variance
        of the measured counts per channel; the energy alignment and the
        deconvolution smooth the noise from channel to channel, so values
        well below 1 are normal (0.27 on the bundled frame): compare it
        between pixels, not with 1.
        Every choice (windows, components, normalisation, alignment,
        constraints, exponents) is recorded in attrs, plus provenance.

    Raises
    ------
    ShapeError
        No ``energy`` dim; low loss on another spatial grid.
    CalibrationError
        Energy axes without eV units, descending or non-uniform.
    ParameterError
        Bad windows or options; no normaliser available.
    DataError
        NaN/inf, negative counts or all-zero spectra.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from holocorr.eels import edge_shape
    >>> e = 30.0 + 0.1 * np.arange(1400)
    >>> x = np.array([0.0, 10.0])
    >>> li = np.array([1.0, 2.0])[:, None]
    >>> y = (3e8 * e**-3 + 2e4 * edge_shape("Ti M2,3", e) + 5e3 * li * edge_shape("Li K", e)
    ...      + 4e3 * edge_shape("P L2,3", e))
    >>> da = xr.DataArray(y, dims=("x", "energy"), coords={
    ...     "x": ("x", x, {"units": "nm"}), "energy": ("energy", e, {"units": "eV"})})
    >>> ds = li_map(da)                     # no low loss: normalised by P L2,3
    >>> round(float(ds.li[1] / ds.li[0]), 1)
    2.0
    """
    check_choice("method", method, _METHODS)
    check_choice("align", align, _ALIGN)
    single_req = background == "fourier-log"
    background = "auto" if single_req else _check_background(background)
    if (
        isinstance(shape_window, bool)
        or not isinstance(shape_window, numbers.Real)
        or not math.isfinite(shape_window)
        or shape_window < 0
    ):
        raise ParameterError(f"shape_window must be a length >= 0 in nm, got {shape_window!r}.")
    if not isinstance(normalisation, str):
        raise ParameterError(f"normalisation must be a string, got {normalisation!r}.")
    sp = as_spectra_array(spectra, name="spectra", min_channels=10)
    g = check_gain(gain, sp.da)
    rv = reference_value
    if isinstance(rv, bool) or not isinstance(rv, numbers.Real) or not math.isfinite(rv) or rv <= 0:
        raise ParameterError(
            f"reference_value must be a finite number > 0 (li of the reference region, e.g. 1.3 Li per "
            f"formula unit), got {rv!r}."
        )
    # alignment resamples every channel and the Fourier-log route deconvolves all of them:
    # a NaN anywhere would spread, so refuse it here, naming where it is
    for a in range(0, sp.n_pixels, _CHUNK):
        chunk = np.asarray(sp.values[a : a + _CHUNK])
        if not np.isfinite(chunk).all():
            full = np.ones((a + chunk.shape[0], chunk.shape[1]))
            full[a:] = chunk
            check_finite_window(full, name="spectra", energy=sp.energy, dims=sp.dims, shape=sp.shape)
    if align == "zlp" and low_loss is None:
        raise ParameterError("align='zlp' needs low_loss= (the zero-loss peaks give the shifts).")
    do_align = align == "zlp" or (align == "auto" and low_loss is not None)
    norm = normalisation
    if norm == "auto":
        norm = "thickness" if low_loss is not None else "P L2,3"
    if norm == "thickness" and low_loss is None:
        raise ParameterError("normalisation='thickness' needs low_loss= to measure t/lambda.")
    norm_edge = None
    if norm not in ("thickness", "none"):
        try:
            norm_edge = get_edge(norm)
        except ParameterError as exc:
            raise ParameterError(
                f"normalisation must be 'auto', 'thickness', 'none' or the name of a matrix edge (e.g. "
                f"'P L2,3'), got {norm!r}: {exc}"
            ) from exc
        hi_needed = norm_edge.onset_ev + 20.0
        if sp.energy[-1] < hi_needed or sp.energy[0] > norm_edge.onset_ev - 14.0:
            raise ParameterError(
                f"li_map needs a normaliser: the energy axis ({sp.energy[0]:.4g}-"
                f"{sp.energy[-1]:.4g} eV) does not cover {norm_edge.name} "
                f"({norm_edge.onset_ev - 14:.4g}-{hi_needed:.4g} eV). Give low_loss= (t/lambda "
                "normalisation), record a wider range, or use normalisation='none'."
            )
    li_name = EDGES["Li K"].name
    # ---- low loss: shifts, thickness, kernels
    values, energy = sp.values, sp.energy
    extra: dict[str, tuple[np.ndarray, str, str]] = {}
    attrs: dict[str, Any] = {"method": method, "normalisation": norm, "gain": g}
    tau = tau_err = i0 = None
    low = None
    low_hash = None
    if low_loss is not None:
        low = _low_loss_setup(sp, low_loss, g)
        lo, lvals, z, single = low
        low_hash = input_hash(lo)
        tau, tau_err = tau_and_error(z, g)
        i0 = z.i0
        if single:
            tau = np.full(sp.n_pixels, float(tau[0]))
            tau_err = np.full(sp.n_pixels, float(tau_err[0]))
            i0 = np.full(sp.n_pixels, float(i0[0]))
        if do_align:
            from .align import _shift_values

            shifts = np.broadcast_to(z.pos_ev, (sp.n_pixels,)).astype(np.float64)
            values, energy = _shift_values(sp, shifts)
            extra["energy_shift"] = (shifts, "eV", "energy shift")
            attrs.update(energy_shift_method="zlp", energy_shift_rms_ev=float(np.std(shifts)))
        extra["t_over_lambda"] = (tau, "1", "relative thickness t/λ")
        extra["t_over_lambda_error"] = (tau_err, "1", "standard error of t/λ")
        extra["zlp_intensity"] = (i0, "counts", "zero-loss intensity (low loss)")
        if np.any(tau <= 0.02):
            warn(f"t/lambda <= 0.02 in {int(np.sum(tau <= 0.02))} spectra; li there is unreliable.")
    attrs["aligned"] = bool(do_align)
    # ---- Li K amplitude
    if method == "model":
        win = DEFAULT_WINDOW if window is None else window
        comps, auto = _parse_components(components, win)
        if li_name not in [c.name for c in comps]:
            comps.append(_Comp(li_name, "edge", EDGES[li_name]))
        why_not = _single_ok(sp, energy, low, comps)
        if why_not is None and not do_align:
            why_not = "it needs the zero-loss alignment (align='auto' or 'zlp')"
        if background != "auto":
            why_not = why_not or f"background={background!r} was asked for"
        if single_req and why_not is not None:
            raise ParameterError(f"background='fourier-log' cannot be used: {why_not}.")
        if why_not is None and background == "auto":
            if nonneg not in (None, True):
                raise ParameterError(
                    "nonneg applies to the plural/LCPL model fits; the 'fourier-log' route keeps every edge "
                    "shape >= 0 and fits Li K linearly. Pass background='plural' to choose constraints."
                )
            if window is None:
                win = SINGLE_WINDOW
            res = _li_single(sp, values, energy, win, comps, low, g, float(shape_window))
            a, a_err = res["li"], np.sqrt(res["li_var"])
            i0 = res["i0_core"]
            attrs.update(_single_attrs(res, win, comps, g, float(shape_window)))
            model_ds = _single_dataset(sp, res, output_dtype(sp.values))
            extra["zlp_intensity"] = (i0, "counts", "zero-loss intensity at the core-loss dose")
        else:
            if nonneg is None:
                nonneg = True
            sp_al = dataclasses.replace(sp, values=values, energy=energy)
            ef = _fit_edges(sp_al, values, energy, win, comps, background, None, nonneg, g, low)
            j = ef.names.index(li_name)
            a = ef.fit.theta[:, j]
            a_err = np.sqrt(ef.fit.var[:, j])
            attrs.update(_fit_attrs(ef, win, g, convolved=low is not None))
            model_ds = _edge_dataset(sp, ef, output_dtype(sp.values))
    else:
        from .background import _loglinear_fit, _windows

        win = (56.0, 72.0) if window is None else window
        sp_al = dataclasses.replace(sp, values=values, energy=energy)
        s0, s1, b0, b1 = _windows(sp_al, win, background_window)
        res, _ = _loglinear_fit(sp_al, b0, b1, "powerlaw", energy[s0:s1], ext_idx=(s0, s1))
        t = res["t"]
        a = t - res["b"]
        a_err = np.sqrt(g * (t + res["var_b_unit"]))
        attrs.update(
            window_ev=[float(win[0]), float(win[1])],
            background_window_ev=[float(background_window[0]), float(background_window[1])],
            background="powerlaw (pre-edge, extrapolated)",
        )
        model_ds = None
    # ---- normalisation
    units = "1"
    if norm == "thickness":
        den = i0 * tau
        li = a / den
        li_err = np.sqrt((a_err / den) ** 2 + (li * tau_err / tau) ** 2)
        attrs["li_definition"] = "A_LiK / (I_0 t/lambda) with I_0 the zero-loss intensity " + (
            "at the core-loss dose" if attrs.get("background") == "fourier-log" else "of the low-loss frame"
        )
    elif norm == "none":
        li, li_err, units = a, a_err, "counts"
        attrs["li_definition"] = "Li K amplitude (not normalised)"
    else:
        from .background import _loglinear_fit

        on = norm_edge.onset_ev
        sp_al = dataclasses.replace(sp, values=values, energy=energy)
        b0, b1 = window_indices(energy, sp.step, (on - 14.0, on - 3.0), name="normaliser background")
        s0, s1 = window_indices(energy, sp.step, (on - 1.5, on + 20.0), name="normaliser window")
        res, _ = _loglinear_fit(sp_al, b0, b1, "powerlaw", energy[s0:s1], ext_idx=(s0, s1))
        t = res["t"]
        nrm = t - res["b"]
        nrm_err = np.sqrt(g * (t + res["var_b_unit"]))
        bad = ~(nrm > 3 * nrm_err)
        with np.errstate(divide="ignore", invalid="ignore"):
            li = np.where(bad, np.nan, a / nrm)
            li_err = np.where(bad, np.nan, np.sqrt((a_err / nrm) ** 2 + (li * nrm_err / nrm) ** 2))
        if bad.any():
            warn(
                f"the {norm_edge.name} normaliser is not significantly positive in "
                f"{int(bad.sum())} spectra (e.g. on Pt); li is NaN there."
            )
        extra["normaliser"] = (nrm, "counts", f"{norm_edge.name} signal")
        extra["normaliser_error"] = (nrm_err, "counts", f"standard error of {norm_edge.name} signal")
        attrs["li_definition"] = f"A_LiK / S({norm_edge.name})"
        attrs["normaliser_windows_ev"] = [[on - 14.0, on - 3.0], [on - 1.5, on + 20.0]]
    # ---- error calibration from neighbour differences
    if not isinstance(calibrate_errors, bool):
        raise ParameterError(f"calibrate_errors must be True or False, got {calibrate_errors!r}.")
    scale_err = 1.0
    if calibrate_errors and sp.dims:
        scale_err = _neighbour_error_scale(li.reshape(sp.shape), li_err.reshape(sp.shape))
        li_err = li_err * scale_err
    attrs["error_scale"] = scale_err
    # ---- reference scaling
    if reference is not None:
        mask = _region_mask(reference, sp) & np.isfinite(li)
        if not mask.any():
            raise ParameterError("the reference region holds no finite li value.")
        wts = 1.0 / np.maximum(li_err[mask], 1e-300) ** 2
        mean = float(np.sum(wts * li[mask]) / np.sum(wts))
        mean_err = float(1.0 / math.sqrt(np.sum(wts)))
        if not mean > 0:
            raise ParameterError(f"the mean li in the reference region is {mean:.4g}, not > 0.")
        scale = float(rv) / mean
        li, li_err = li * scale, li_err * scale
        attrs.update(
            reference=json.dumps({k: list(v) for k, v in reference.items()}),
            reference_value=float(rv),
            reference_scale=scale,
            reference_scale_relative_error=mean_err / mean,
        )
        units = "1"
    dt = output_dtype(sp.values)
    ds = xr.Dataset(coords=sp.coords())
    ds["li"] = sp.unflatten(li.astype(dt), "li", units, "relative Li concentration")
    ds["li_error"] = sp.unflatten(li_err.astype(dt), "li_error", units, "standard error of relative Li concentration")
    ds["li_k"] = sp.unflatten(a.astype(dt), "li_k", "counts", "Li K amplitude")
    ds["li_k_error"] = sp.unflatten(a_err.astype(dt), "li_k_error", "counts", "standard error of Li K amplitude")
    for k, (v, u, ln) in extra.items():
        ds[k] = sp.unflatten(np.asarray(v).astype(dt), k, u, ln)
    if model_ds is not None:
        ds = ds.assign_coords(component=model_ds.component, component_kind=model_ds.component_kind)
        for v in ("amplitude", "amplitude_error", "reduced_chi2"):
            ds[v] = model_ds[v]
    ds.attrs.update(carry_attrs(sp.da))
    ds.attrs.update(attrs)
    params = {
        "method": method,
        "window": None if window is None else list(window),
        "background_window": list(background_window),
        "normalisation": normalisation,
        "align": align,
        "background": background,
        "nonneg": nonneg,
        "reference": None if reference is None else {k: list(v) for k, v in reference.items()},
        "reference_value": rv,
        "gain": g,
        "components": attrs.get("components"),
        "shape_window": float(shape_window),
    }
    ds.attrs["holocorr"] = provenance("eels.li_map", params, {"spectra": input_hash(sp), "low_loss": low_hash})
    return ds
