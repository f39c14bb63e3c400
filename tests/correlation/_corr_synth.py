"""Synthetic profiles with known truth for the correlation tests."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy import ndimage
from scipy.special import erf


def da(y, x, units=None, err=None, dim="distance"):
    coords = {dim: (dim, np.asarray(x, dtype=float), {"units": "nm", "long_name": "distance"})}
    if err is not None:
        coords["profile_error"] = (
            dim,
            np.broadcast_to(np.asarray(err, float), np.shape(y)).copy(),
            {"units": units or "1"},
        )
    attrs = {} if units is None else {"units": units, "long_name": "test"}
    return xr.DataArray(np.asarray(y, dtype=float), dims=(dim,), coords=coords, attrs=attrs)


def step(x, x0, sigma, height=1.0, offset=0.0):
    return offset + height * 0.5 * (1.0 + erf((np.asarray(x) - x0) / (math.sqrt(2.0) * sigma)))


def ar1(n, rho, size, rng):
    """(size, n) stationary AR(1) series with unit variance."""
    e = rng.standard_normal((size, n))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    s = math.sqrt(1.0 - rho * rho)
    for i in range(1, n):
        x[:, i] = rho * x[:, i - 1] + s * e[:, i]
    return x


def smooth_noise(n, sigma_px, size, rng):
    """(size, n) Gaussian-smoothed white noise with unit variance."""
    pad = int(4 * sigma_px) + 4
    e = rng.standard_normal((size, n + 2 * pad))
    s = ndimage.gaussian_filter1d(e, sigma_px, axis=-1)[:, pad : pad + n]
    return s / math.sqrt(1.0 / (2.0 * math.sqrt(math.pi) * sigma_px))


def layer(x, s1=5.0, s2=20.0, thickness=400.0):
    """Reference-specimen lithiated layer: 0 in Pt (x < 0), 1 in the electrode, 0 in LATSPO."""
    x = np.asarray(x, dtype=float)
    return (0.5 * (1 + erf(x / (math.sqrt(2) * s1)))) * (0.5 * (1 - erf((x - thickness) / (math.sqrt(2) * s2))))


def blurred_on(xs, xf, yf, sigma_nm):
    """Sample a fine-grid profile (step 0.25 nm) blurred by sigma at positions xs."""
    return np.interp(xs, xf, ndimage.gaussian_filter1d(yf, sigma_nm / (xf[1] - xf[0])))


def binom_ci(k, n, z=1.96):
    """Wilson score interval of a binomial proportion."""
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def eh_eels_pair(
    rng,
    *,
    k_mip,
    dv_el,
    v_sc=0.0,
    w_sc=10.0,
    v_noise=0.03,
    li_noise=0.08,
    eh_blur=3.0,
    eels_blur=8.0,
    shift=4.0,
    eh_step=2.0,
    eels_step=8.0,
    electrode_thickness=None,
):
    """Potential change (EH, V) and Li change (EELS) profiles of the reference specimen.

    Li layer 0-400 nm (+1 Li), Pt blur 5 nm, electrolyte blur 20 nm; dV =
    k_MIP dc + dV_el f + V_sc w_L exp(-d ln10 / w_sc) as in
    holocorr.simulate.specimen. EH and EELS differ in sampling, blur and
    registration (the EELS profile is offset by `shift`).
    """
    xf = np.arange(-300.0, 900.0, 0.25)
    lay = layer(xf)
    f_el = lay if electrode_thickness is None else layer(xf, thickness=electrode_thickness)
    w_l = 0.5 * (1 + erf(xf / (math.sqrt(2) * 5.0)))
    pot = k_mip * lay + dv_el * f_el + v_sc * w_l * np.exp(-np.maximum(xf, 0) * math.log(10) / w_sc)
    xe = np.arange(-150.0, 700.0, eh_step)
    xl = np.arange(-150.0, 700.0, eels_step)
    v = blurred_on(xe, xf, pot, eh_blur) + v_noise * rng.standard_normal(xe.size)
    c = blurred_on(xl - shift, xf, lay, eels_blur) + li_noise * rng.standard_normal(xl.size)
    return da(v, xe, units="V"), da(c, xl, units="Li per formula unit")
