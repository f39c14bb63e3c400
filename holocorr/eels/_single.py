"""Li K amplitudes from the single-scattering distribution (li_map's default path).

Why this path exists
--------------------
In the Li K window of LATSPO the spectrum is ~85 % plural valence scattering
and ~15 % Ti M2,3 (single and plural); Li K is a 3-6 % bump. Forward-modelling
the plural valence background to the 0.1 % level this needs fails in
practice: its part above the first edge onset must be guessed (a power-law
tail), and every error there reappears one plasmon energy higher, under Li K.
The measured bias of that route was -18 % to +180 % in the electrode/LATSPO
ratio depending on the tail model (notes of issue 4).

Here the two frames are spliced into one spectrum per pixel (low loss below
the core-loss range, scaled by the dose ratio measured where they overlap)
and Fourier-log deconvolved (Egerton 2011, Sec. 4.2). In the single-scattering
distribution the valence background is a smooth, monotonic tail (a Drude
tail ~E^-3..E^-5) and the edges have no plural replicas, so a linear model
of LCPL background + edge shapes is accurate even with edge shapes that
differ from the specimen's (measured bias <= 1 % noise-free on holocorr's
simulator, whose shapes differ from these).

The fit has two stages so that per-pixel noise stays near the Poisson limit:

A. every pixel's single-scattering spectrum averaged over a neighbourhood
   (`shape_window` spectra along each spatial dim, ~40 nm) is fitted with the full
   model: all edge-shape variants (>= 0) and three power laws (signed). This
   fixes, per pixel, the *shapes*: the Li K shape, the sum of the other
   edges, the background.
B. every pixel's own spectrum is fitted with three columns only: the Li K
   shape (unit area), the other edges and the background. The Li K
   amplitude is linear in the data, so shot noise does not bias it; the
   Poisson error of the core-loss counts propagates through this linear map
   (the low-loss noise that the deconvolution carries into the window is
   not in it: li_map's neighbour calibration of the errors adds it).

Kernels only: numpy in, numpy out, energies in eV.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from . import _kernels as K

#: exponent offsets of the three LCPL background terms around the best single exponent
LCPL_OFFSETS = (-1.0, 0.0, 1.0)
#: at least this much overlap [eV] between core-loss and low-loss frames to splice them
MIN_OVERLAP_EV = 5.0
#: the first core-loss channels above the splice are skipped by this much [eV]
SPLICE_GAP_EV = 1.0
#: pixels per block of the per-pixel (stage B) fits
_BLOCK = 2048
#: the dose ratio is measured over this many eV of overlap just above the splice
RATIO_WIDTH_EV = 5.0


def overlap_ev(core_start: float, low_stop: float) -> float:
    """Width [eV] of the loss range covered by both frames (after alignment)."""
    return float(low_stop - core_start - SPLICE_GAP_EV)


def splice_and_deconvolve(core, core_e, step, lvals, low_e, low_step, pos_ev, fwhm_ch, keep=None):
    """Splice aligned core-loss rows onto low-loss rows and Fourier-log deconvolve.

    Parameters
    ----------
    core : (P, n) aligned core-loss counts on `core_e` (loss 0 = each zero-loss peak).
    lvals : (P or 1, m) low-loss counts on `low_e` (not aligned).
    pos_ev : (P,) zero-loss positions of the low-loss rows [eV].
    keep : (k0, k1), optional
        Keep the single-scattering counts only on core-loss channels
        k0:k1 (the fit window; saves memory on spectrum images).

    Returns
    -------
    dict with ``energy`` (N,) loss axis [eV], ``s`` (P, N) single-scattering
    counts per channel at the core-loss dose (only the `keep` channels, at
    ``s_slice`` of the full axis, when given), ``j`` (P, N) the spliced counts,
    ``ratio`` (dose ratio core/low), ``i0`` (P,) zero-loss counts at the core
    dose, ``splice_ev`` and ``overlap_ev`` [(start, stop)].
    """
    p = core.shape[0]
    pos = np.broadcast_to(np.asarray(pos_ev, dtype=np.float64), (p,))
    low_rows = lvals if lvals.shape[0] == p else np.broadcast_to(lvals, (p, lvals.shape[1]))
    e_min = -min(5.0, float(np.min(pos - low_e[0])) - low_step)
    n_below = int(math.floor((core_e[0] - e_min) / step))
    below = core_e[0] - step * np.arange(n_below, 0, -1)
    o0 = core_e[0] + SPLICE_GAP_EV
    o1 = float(np.min(low_e[-1] - pos)) - low_step
    ov = (core_e >= o0) & (core_e <= o1)
    # the dose ratio where the splice is made (its first RATIO_WIDTH_EV), and
    # its change across the whole overlap as a consistency check (sums over blocks)
    e_ov = core_e[ov]
    near = e_ov <= o0 + RATIO_WIDTH_EV
    far = e_ov >= o1 - RATIO_WIDTH_EV
    sums = np.zeros(4)  # core near, low near, core far, low far
    for c0 in range(0, p, _BLOCK):
        r = slice(c0, min(p, c0 + _BLOCK))
        l_ov = K.area_resample(low_rows[r], low_e, low_step, e_ov[None, :] + pos[r, None], step)
        c_ov = np.asarray(core[r][:, ov], dtype=np.float64)
        sums += [c_ov[:, near].sum(), l_ov[:, near].sum(), c_ov[:, far].sum(), l_ov[:, far].sum()]
    ratio = float(sums[0] / sums[1])
    ratio_far = float(sums[2] / max(sums[3], 1e-300)) if far.any() else ratio
    energy = np.concatenate([below, core_e])
    nn = energy.size
    zpos = np.full(p, -energy[0] / step)
    fw = np.broadcast_to(np.asarray(fwhm_ch, dtype=np.float64) * (low_step / step), (p,))
    j = np.empty((p, nn))
    k0, k1 = (0, core_e.size) if keep is None else (int(keep[0]), int(keep[1]))
    s_slice = (n_below + k0, n_below + k1)
    s = np.empty((p, k1 - k0))
    i0 = np.empty(p)
    for c0 in range(0, p, _BLOCK):
        r = slice(c0, min(p, c0 + _BLOCK))
        l_below = K.area_resample(low_rows[r], low_e, low_step, below[None, :] + pos[r, None], step)
        j[r, :n_below] = ratio * l_below
        j[r, n_below:] = core[r]
        zl = mirror_rows(j[r], zpos[r])
        i0[r] = zl.sum(axis=1)
        s[r] = K.fourier_log(j[r], zl, zpos[r], i0[r], fw[r])[:, s_slice[0] : s_slice[1]]
    return {
        "energy": energy,
        "s": s,
        "s_slice": s_slice,
        "j": j,
        "ratio": ratio,
        "i0": i0,
        "splice_ev": float(core_e[0]),
        "overlap_ev": (float(o0), float(o1)),
        "ratio_far": ratio_far,
    }


def mirror_rows(y: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Zero-loss peak of each row: the left half mirrored about `pos` (channels)."""
    p, n = y.shape
    idx = np.arange(n, dtype=np.float64)
    out = np.empty((p, n))
    for i in range(p):
        mirrored = np.interp(2 * pos[i] - idx, idx, y[i], left=0.0, right=0.0)
        out[i] = np.where(idx <= pos[i], y[i], np.minimum(mirrored, y[i]))
    return out


def best_exponent(ysum: np.ndarray, edge_cols: np.ndarray, e: np.ndarray, w: np.ndarray) -> float:
    """Exponent r of one power law that, with the edge columns (>= 0), best fits `ysum`."""
    ec = math.sqrt(e[0] * e[-1])
    rs = np.arange(1.0, 8.0001, 0.1)
    ssr = np.empty(rs.size)
    for i, r in enumerate(rs):
        x = np.concatenate([edge_cols, ((e / ec) ** -r)[:, None]], axis=1)
        s = np.sqrt(np.sum(w[:, None] * x * x, axis=0))
        s[s == 0] = 1.0
        xs = x / s
        a = xs.T @ (w[:, None] * xs)
        b = (ysum * w) @ xs
        cons = np.ones(x.shape[1], dtype=bool)
        cons[-1] = False
        th, _, _ = K.solve_constrained(a, b[None, :], cons)
        res = ysum - xs @ th[0]
        ssr[i] = float(np.sum(w * res * res))
    j = int(np.argmin(ssr))
    if 0 < j < rs.size - 1:
        den = ssr[j - 1] - 2 * ssr[j] + ssr[j + 1]
        if den > 0:
            return float(rs[j] + 0.05 * (ssr[j - 1] - ssr[j + 1]) / den)
    return float(rs[j])


def two_stage_fit(s, j, e, step, edge_cols, col_comp, li_comp, spatial_shape, shape_window, gain):
    """Stages A and B (module docstring) over one window.

    Parameters
    ----------
    s : (P, n) single-scattering counts in the window.
    j : (P, n) measured counts in the window (their Poisson variance).
    e : (n,) window energies [eV]; `step` their spacing [eV].
    edge_cols : (n, k_e) edge-shape columns (unit-area shapes).
    col_comp : (k_e,) component index of each edge column.
    li_comp : index of the Li K component.
    spatial_shape : the spectra's spatial shape (P = prod).
    shape_window : neighbourhood size of stage A, spectra per spatial dim (int, or one int per dim).

    Returns
    -------
    dict: ``li`` (P,) Li K amplitude [counts of single scattering in the
    shape's first 30 eV, see holocorr.eels.edges], ``li_var``
    (P,), ``theta`` (P, 3) stage-B coefficients, ``theta_var`` (P, 3),
    ``chi2`` (P,), ``shape_amp`` (P, n_comp) stage-A amplitudes of every
    component, ``exps`` the LCPL exponents.
    """
    p, n = s.shape
    col_comp = np.asarray(col_comp)
    w = 1.0 / np.maximum(j.mean(axis=0), 1.0)
    ec = math.sqrt(e[0] * e[-1])
    r0 = best_exponent(s.sum(axis=0), edge_cols, e, w)
    exps = tuple(r0 + d for d in LCPL_OFFSETS)
    bg = np.stack([(e / ec) ** -r for r in exps], axis=1)
    x = np.concatenate([edge_cols, bg], axis=1)
    k_e = edge_cols.shape[1]
    sc = np.sqrt(np.sum(w[:, None] * x * x, axis=0))
    sc[sc == 0] = 1.0
    xs = x / sc
    a = xs.T @ (w[:, None] * xs)
    # ---- stage A on the neighbourhood mean
    sizes = [int(v) for v in np.broadcast_to(np.asarray(shape_window), (len(spatial_shape),))]
    size = tuple(sizes) + (1,)
    sm = s.reshape(tuple(spatial_shape) + (n,))
    if len(spatial_shape) and max(sizes) > 1:
        sm = ndimage.uniform_filter(sm, size=size, mode="nearest")
    sm = sm.reshape(p, n)
    cons = np.arange(x.shape[1]) < k_e
    th, _, _ = K.solve_constrained(a, (sm * w) @ xs, cons)
    th = th / sc  # amplitudes of the unscaled columns
    n_comp = int(col_comp.max()) + 1 if col_comp.size else 0
    shape_amp = np.zeros((p, n_comp))
    for c in range(n_comp):
        shape_amp[:, c] = th[:, :k_e][:, col_comp == c].sum(axis=1)
    # ---- stage B columns per pixel
    li_cols = col_comp == li_comp
    li_w = th[:, :k_e][:, li_cols]
    li_area = li_w.sum(axis=1)
    default = edge_cols[:, li_cols].mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        li_shape = np.where(
            (li_area > 0)[:, None],
            (li_w @ edge_cols[:, li_cols].T) / np.where(li_area > 0, li_area, 1.0)[:, None],
            default[None, :],
        )
    # three columns: a fourth, background x ln E, is nearly degenerate with Li K
    # over 45-75 eV; with it the per-row correlation on holocorr's simulator was
    # 0.93 instead of 0.955 (0.96 is the exact-shape limit), at the same bias
    nk = 3
    coef = np.zeros((p, nk))
    var = np.zeros((p, nk))
    chi2 = np.zeros(p)
    weights = np.zeros((p, n))
    # per-pixel designs in blocks, so that memory stays ~ a few (block, n, k) arrays
    for c0 in range(0, p, _BLOCK):
        r = slice(c0, min(p, c0 + _BLOCK))
        other = th[r, :k_e][:, ~li_cols] @ edge_cols[:, ~li_cols].T
        back = th[r, k_e:] @ bg.T
        cols = [li_shape[r], other, back]
        d = np.stack(cols, axis=2)  # (block, n, nk)
        norm = np.sqrt(np.einsum("n,pnk->pk", w, d * d))
        dead = ~(norm > 0) | ~np.isfinite(norm)
        norm = np.where(dead, 1.0, norm)
        dn = d / norm[:, None, :]
        aa = np.einsum("pnk,n,pnl->pkl", dn, w, dn)
        idx = np.arange(nk)
        aa[:, idx, idx] += dead  # a column that is all zero gets coefficient 0
        bb = np.einsum("pn,n,pnk->pk", s[r], w, dn)
        ainv = np.linalg.inv(aa)
        cf = np.einsum("pkl,pl->pk", ainv, bb)
        g = np.einsum("pkl,pnl,n->pkn", ainv, dn, w)  # cf = g @ s
        vr = gain * np.einsum("pkn,pn->pk", g * g, np.maximum(j[r], 1.0))
        coef[r] = np.where(dead, 0.0, cf) / norm
        var[r] = np.where(dead, 0.0, vr) / norm**2
        weights[r] = np.where(dead[:, :1], 0.0, g[:, 0, :] / norm[:, :1]) / step
        model = np.einsum("pnk,pk->pn", d, coef[r])
        chi2[r] = np.sum((s[r] - model) ** 2 / (gain * np.maximum(j[r], 1.0)), axis=1) / max(n - nk, 1)
    return {
        "li": coef[:, 0] / step,  # unit-area shape per eV -> counts over the channels
        "li_var": var[:, 0] / step**2,
        # li = li_weights @ s (per pixel): for the full error propagation (li_variance)
        "li_weights": weights,
        "theta": coef,
        "theta_var": var,
        "chi2": chi2,
        "shape_amp": shape_amp,
        "exps": exps,
    }


def li_variance(weights, i_lo, dec, fwhm_ch, gain, *, chunk: int = 2048):
    """Poisson variance of li = weights @ s through the Fourier-log deconvolution.

    S = i0 F^-1[G ln(J / Z)] responds to a change dJ of the spliced counts as
    dS = h (x) dJ with h^ = i0 G exp(-2 pi i nu pos) / J^ (first order; the
    zero-loss peak's own noise is neglected), so li changes by sum_m u_m dJ_m
    with u = weights (*) h (a cross-correlation, done by FFT). The spliced
    counts have variance gain * J above the splice (core loss) and
    gain * ratio * J below it (low loss scaled by the dose ratio `ratio`), so
    var(li) = gain * sum_m u_m^2 J_m (ratio below the splice). Unlike the
    plain sum_n w_n^2 J_n, this includes the low-loss noise that the
    deconvolution carries into the fit window.

    Parameters
    ----------
    weights : (P, n_win) li = weights @ s[:, i_lo:i_lo + n_win].
    dec : the dict of :func:`splice_and_deconvolve`.
    fwhm_ch : (P,) or float, the Gaussian of the deconvolution [core channels].

    Returns
    -------
    (P,) variances.
    """
    from scipy import fft as sfft

    j = dec["j"]
    p, n = j.shape
    nw = weights.shape[1]
    n_low = int(np.searchsorted(dec["energy"], dec["splice_ev"] - 1e-9))
    pos = -dec["energy"][0] / (dec["energy"][1] - dec["energy"][0])
    nfft = sfft.next_fast_len(2 * n, real=True)
    nu = np.fft.rfftfreq(nfft)
    fw = np.broadcast_to(np.asarray(fwhm_ch, dtype=np.float64), (p,))
    vscale = np.ones(n)
    vscale[:n_low] = dec["ratio"]
    out = np.empty(p)
    for c0 in range(0, p, chunk):
        rows = slice(c0, min(p, c0 + chunk))
        jc = j[rows]
        jh = sfft.rfft(K._taper_pad(jc, nfft, n), axis=1)
        sig = fw[rows] / (2.0 * math.sqrt(2.0 * math.log(2.0)))
        gft = np.exp(-2.0 * (math.pi * sig[:, None] * nu[None, :]) ** 2)
        hh = dec["i0"][rows, None] * gft * np.exp(-2j * math.pi * nu * pos)[None, :] / jh
        wf = np.zeros((jc.shape[0], nfft))
        wf[:, i_lo : i_lo + nw] = weights[rows]
        u = sfft.irfft(sfft.rfft(wf, axis=1) * np.conj(hh), nfft, axis=1)[:, :n]
        out[rows] = gain * np.sum(u * u * np.maximum(jc, 0.0) * vscale[None, :], axis=1)
    return out
