"""Pre-edge background models, background subtraction and edge integration."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import xarray as xr

from .._provenance import provenance
from .._validate import check_choice
from ..errors import ParameterError
from . import _kernels as K
from ._common import (
    Spectra,
    as_spectra_array,
    carry_attrs,
    check_counts,
    check_finite_window,
    check_gain,
    finish_hash,
    input_hash,
    output_dtype,
    rebuild,
    stream_hasher,
    warn,
    window_indices,
)

__all__ = ["subtract_background", "integrate", "BACKGROUND_MODELS"]

#: Background models of :func:`subtract_background` and :func:`integrate`.
BACKGROUND_MODELS = ("powerlaw", "lcpl", "exponential", "polynomial")


def _check_model(model: str) -> str:
    return check_choice("model", model, BACKGROUND_MODELS)


def _check_degree(degree: Any) -> int:
    if isinstance(degree, bool) or not isinstance(degree, numbers.Integral) or not 0 <= degree <= 5:
        raise ParameterError(f"degree must be an integer from 0 to 5, got {degree!r}.")
    return int(degree)


def _check_exponents(exponents: Any) -> tuple[float, float] | None:
    if exponents is None:
        return None
    try:
        r1, r2 = (float(exponents[0]), float(exponents[1]))
    except (TypeError, ValueError, IndexError) as exc:
        raise ParameterError(f"exponents must be a pair (r1, r2) of power-law exponents, got {exponents!r}.") from exc
    if not (np.isfinite(r1) and np.isfinite(r2)) or r1 == r2:
        raise ParameterError(f"exponents must be two different finite numbers, got {exponents!r}.")
    return (min(r1, r2), max(r1, r2))


def _windows(sp: Spectra, window, background) -> tuple[int, int, int, int]:
    s0, s1 = window_indices(sp.energy, sp.step, window, name="window")
    b0, b1 = window_indices(sp.energy, sp.step, background, name="background")
    if b1 > s0:
        if b0 >= s1:
            raise ParameterError(
                f"background={tuple(background)} eV lies above the signal window "
                f"{tuple(window)} eV; the background is extrapolated from below the edge, "
                "so give a pre-edge window, e.g. (44, 54) for a signal at (55, 75)."
            )
        raise ParameterError(
            f"background={tuple(background)} eV overlaps the signal window {tuple(window)} eV; "
            "the pre-edge fit window must end before the signal window starts."
        )
    return s0, s1, b0, b1


def _powerlaw_ok(sp: Spectra, i0: int, model: str) -> None:
    if model in ("powerlaw", "lcpl") and sp.energy[i0] <= 0:
        raise ParameterError(
            f"a {model} background needs energies > 0 eV; the fit window starts at "
            f"{sp.energy[i0]:.4g} eV. Move it above the zero-loss peak."
        )


def _features(sp: Spectra, b0: int, b1: int, model: str) -> tuple[np.ndarray, float]:
    e = sp.energy
    phi = np.log(e[b0:b1]) if model in ("powerlaw", "lcpl") else e[b0:b1]
    c = float(phi.mean())
    return phi - c, c


def _checked_sums(sp: Spectra, fit: tuple[int, int], cols: np.ndarray, ext, hasher=None):
    """window_sums plus the input checks (exact scan only when something is wrong)."""
    prod, tsum, mn = K.window_sums(sp.values, fit, cols, ext, hasher=hasher)
    ok = mn >= 0 and np.all(np.isfinite(prod)) and (tsum is None or np.all(np.isfinite(tsum)))
    if not ok or not np.all(prod[:, 0] > 0):
        _validate_used(sp, fit[0], fit[1], "spectra", "fit window")
        if ext is not None:
            _validate_used(sp, ext[0], ext[1], "spectra", "signal window")
    if tsum is not None and not np.all(tsum > 0):
        _validate_used(sp, ext[0], ext[1], "spectra", "signal window")
    return prod, tsum


def _loglinear_fit(
    sp: Spectra,
    b0: int,
    b1: int,
    model: str,
    ext: np.ndarray | None,
    *,
    ext_idx: tuple[int, int] | None = None,
    hasher=None,
):
    """Power-law / exponential Poisson fit over channels [b0, b1).

    Returns the fit dict (see K.fit_loglinear, plus ``s0`` and, with
    `ext_idx`, ``t`` the counts summed over those channels) and the centring
    constant of the feature.
    """
    u, c = _features(sp, b0, b1, model)
    cols = np.stack([np.ones_like(u), u], axis=1).astype(sp.values.dtype)
    prod, tsum = _checked_sums(sp, (b0, b1), cols, ext_idx, hasher)
    u_ext = None
    if ext is not None:
        u_ext = (np.log(ext) if model in ("powerlaw", "lcpl") else ext) - c
    with np.errstate(divide="ignore", invalid="ignore"):
        res = K.fit_loglinear(prod[:, 0], prod[:, 1], u, u_ext)
    res["s0"] = prod[:, 0]
    if tsum is not None:
        res["t"] = tsum
    return res, c


def _lcpl_exponents(sp: Spectra, b0: int, b1: int, exponents) -> tuple[float, float]:
    if exponents is not None:
        return exponents
    fit, _ = _loglinear_fit(sp, b0, b1, "powerlaw", None)
    r = fit["r"][np.isfinite(fit["r"])]
    lo, hi = np.percentile(r, [25, 75])
    med = float(np.median(r))
    if hi - lo < 0.1:
        lo, hi = med - 0.05, med + 0.05
    return float(lo), float(hi)


def _basis(model: str, e: np.ndarray, *, e_c: float, half: float, exps, degree) -> np.ndarray:
    if model == "lcpl":
        return np.stack([(e / e_c) ** (-exps[0]), (e / e_c) ** (-exps[1])], axis=1)
    t = (e - e_c) / half
    return np.stack([t**k for k in range(degree + 1)], axis=1)


def _validate_used(sp: Spectra, a: int, b: int, name: str, what: str) -> None:
    y = sp.values[:, a:b]
    kw = dict(name=name, energy=sp.energy[a:b], dims=sp.dims, shape=sp.shape)
    check_finite_window(y, **kw)
    check_counts(y, what=what, **kw)


def subtract_background(
    spectra: xr.DataArray,
    *,
    fit: tuple[float, float],
    model: str = "powerlaw",
    exponents: tuple[float, float] | None = None,
    degree: int = 2,
    return_background: bool = False,
) -> xr.DataArray | xr.Dataset:
    """Fit a pre-edge background per spectrum and subtract it.

    Parameters
    ----------
    spectra : xarray.DataArray
        Counts with an ``energy`` dim in eV (uniform, ascending) and any other
        dims (``x`` for an SR-EELS frame, ``y, x`` for a spectrum image).
    fit : (start, stop)
        Pre-edge fit window [eV].
    model : {"powerlaw", "lcpl", "exponential", "polynomial"}
        Background model (see Notes).
    exponents : (r1, r2), optional
        Fixed LCPL exponents (default: from the data, see Notes).
    degree : int
        Polynomial degree for ``model="polynomial"``.
    return_background : bool
        Also return the background (a Dataset with ``signal`` and
        ``background``).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        The background-subtracted counts from the start of the fit window to
        the end of the axis (below the fit window the model means nothing),
        dims as the input, float32 for float32 input. Attrs: ``model``,
        ``fit_window_ev``, ``exponents`` (LCPL) and provenance.

    Raises
    ------
    ShapeError
        No ``energy`` dim (plain arrays: use :func:`holocorr.eels.as_spectra`).
    CalibrationError
        Energy axis without eV units, descending or not uniform.
    ParameterError
        Fit window reversed, outside the axis or at E <= 0 for a power law;
        unknown model.
    DataError
        NaN/inf, negative counts or all-zero spectra in the fit window.

    Notes
    -----
    Background models (Poisson counts y_i in channel i at energy E_i):

    * ``"powerlaw"``: A E^-r, fitted by Poisson maximum likelihood. Its
      likelihood equations involve the data only through sum(y) and
      sum(y ln E), so the fit is one pass over the data for every pixel at
      once, handles zero counts, and is unbiased where a least-squares fit of
      ln(y) is not. The variance of the extrapolated background comes from
      the inverse Fisher information (no constant h is assumed).
    * ``"exponential"``: A exp(-b E), the same method with E instead of ln E.
    * ``"lcpl"``: a1 E^-r1 + a2 E^-r2 with fixed exponents (the linear
      combination of power laws of Cueva et al. 2012): r1, r2 are the
      quartiles of the pixels' own power-law exponents, widened to at least
      0.1 apart; a1, a2 (either sign) by weighted linear least squares.
      With close exponents the pair spans E^-r and its derivative in r, so
      every power law with an exponent near r1, r2 is matched to second
      order, and the spread of exponents across a map is covered.
    * ``"polynomial"``: a polynomial of degree `degree` in E, by weighted
      linear least squares (extrapolates poorly; for short gaps only).

    The linear models share one weighting (1 / the mean background of all
    pixels), so one matrix product fits every pixel; their errors use the
    sandwich estimator with each pixel's own Poisson variance, which is
    exact for any weighting.

    References
    ----------
    Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*,
    3rd ed. (2011), Sec. 4.4. Cueva et al., Microsc. Microanal. 18, 667
    (2012), doi:10.1017/S1431927612000244.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = 30.0 + 0.1 * np.arange(600)
    >>> y = 1e8 * e**-3.0                      # a pure power law, no noise
    >>> da = xr.DataArray(y, dims="energy",
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> out = subtract_background(da, fit=(40, 50))
    >>> bool(abs(out.sel(energy=slice(60, 80))).max() < 1e-3 * y.max())
    True
    """
    model = _check_model(model)
    degree = _check_degree(degree)
    exps = _check_exponents(exponents)
    if not isinstance(return_background, bool):
        raise ParameterError(f"return_background must be True or False, got {return_background!r}.")
    sp = as_spectra_array(spectra, name="spectra")
    b0, b1 = window_indices(sp.energy, sp.step, fit, name="fit")
    _powerlaw_ok(sp, b0, model)
    _validate_used(sp, b0, b1, "spectra", "fit window")
    # every returned channel must be finite too: a NaN above the fit window
    # would otherwise pass silently into the background-subtracted result
    check_finite_window(sp.values[:, b1:], name="spectra", energy=sp.energy[b1:], dims=sp.dims, shape=sp.shape)
    e_out = sp.energy[b0:]
    dt = output_dtype(sp.values)
    attrs: dict[str, Any] = {"model": model, "fit_window_ev": [float(fit[0]), float(fit[1])]}
    if model in ("powerlaw", "exponential"):
        res, c = _loglinear_fit(sp, b0, b1, model, None)
        phi = np.log(e_out) if model == "powerlaw" else e_out
        u = (phi - c).astype(dt)
        bg = np.exp(res["log_a"].astype(dt)[:, None] - res["r"].astype(dt)[:, None] * u[None, :])
        if res["clipped"].any():
            warn(
                f"the background fit hit the exponent table's limit in {int(res['clipped'].sum())} "
                "spectra (nearly all counts in one channel of the fit window); check them."
            )
    else:
        e_fit = sp.energy[b0:b1]
        e_c = float(e_fit.mean())
        half = max(float(e_fit[-1] - e_fit[0]) / 2.0, sp.step)
        if model == "lcpl":
            exps = _lcpl_exponents(sp, b0, b1, exps)
            attrs["exponents"] = list(exps)
        else:
            attrs["degree"] = degree
        xb = _basis(model, e_fit, e_c=e_c, half=half, exps=exps, degree=degree)
        w = 1.0 / np.maximum(sp.values[:, b0:b1].mean(axis=0, dtype=np.float64), 1e-12)
        lin = K.linear_background(sp.values[:, b0:b1], xb, w, np.zeros(xb.shape[1]))
        xo = _basis(model, e_out, e_c=e_c, half=half, exps=exps, degree=degree).astype(dt)
        bg = lin["theta"].astype(dt) @ xo.T
    sig = (sp.values[:, b0:] - bg).astype(dt, copy=False)
    params = {"fit": list(fit), "model": model, "exponents": exponents, "degree": degree}
    attrs["holocorr"] = provenance("eels.subtract_background", params, {"spectra": input_hash(sp)})
    out = rebuild(
        sp,
        sig,
        e_out,
        name="signal",
        units="counts",
        long_name="background-subtracted counts",
        attrs={**carry_attrs(sp.da), **attrs},
    )
    if not return_background:
        return out
    bgda = rebuild(
        sp,
        bg.astype(dt, copy=False),
        e_out,
        name="background",
        units="counts",
        long_name=f"{model} background",
        attrs={},
    )
    ds = xr.Dataset({"signal": out, "background": bgda})
    ds.attrs.update(out.attrs)
    return ds


def integrate(
    spectra: xr.DataArray,
    *,
    window: tuple[float, float],
    background: tuple[float, float] | None = None,
    model: str = "powerlaw",
    exponents: tuple[float, float] | None = None,
    degree: int = 2,
    gain: float | None = None,
) -> xr.Dataset:
    """Integrated edge signal over a window, with Egerton-type error bars.

    The counts in the signal window, minus the background extrapolated from
    a pre-edge window, for every spectrum at once (vectorised; float32 input
    is processed and returned in float32).

    Parameters
    ----------
    spectra : xarray.DataArray
        Counts with an ``energy`` dim in eV (uniform, ascending) and any other
        dims.
    window : (start, stop)
        Signal window [eV]; channels whose centres lie inside are summed.
    background : (start, stop), optional
        Pre-edge fit window [eV], entirely below `window`. None: no background
        subtraction (the data are already background-free).
    model : {"powerlaw", "lcpl", "exponential", "polynomial"}
        Background model (see Notes of :func:`subtract_background`).
    exponents : (r1, r2), optional
        Fixed LCPL exponents.
    degree : int
        Polynomial degree for ``model="polynomial"``.
    gain : float, optional
        Detector counts per electron (variance = gain x counts). Default: the
        ``counts_per_electron`` (or ``gain``) attr of `spectra`, else 1
        (counts are electrons).

    Returns
    -------
    xarray.Dataset
        On the non-energy dims: ``signal`` S [counts], ``signal_error``,
        ``background`` B (extrapolated background in the window) and
        ``background_error``; for power-law/exponential models also
        ``background_exponent``. var(S) = gain (T + var_B) with T = S + B the
        window counts: Egerton's var(S) = S + h B with
        h = 1 + var_B / B computed per pixel from the background fit's
        covariance. Attrs record the windows (requested and the channel
        centres actually used), the model and provenance.

    Raises
    ------
    ShapeError
        No ``energy`` dim (plain arrays: use :func:`holocorr.eels.as_spectra`).
    CalibrationError
        Energy axis without eV units, descending or not uniform.
    ParameterError
        Windows reversed, outside the axis, overlapping, background above the
        signal; unknown model; bad gain.
    DataError
        NaN/inf, negative counts or all-zero spectra in the windows used.

    References
    ----------
    Egerton, Ultramicroscopy 9, 387 (1982), doi:10.1016/0304-3991(82)90101-6.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = 30.0 + 0.1 * np.arange(600)
    >>> edge = 2000.0 * (e > 55.95)              # a step edge, 2000 counts/channel
    >>> y = 1e8 * e**-3.0 + edge
    >>> da = xr.DataArray(y, dims="energy",
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> ds = integrate(da, window=(56, 75.95), background=(44, 54))
    >>> round(float(ds.signal) / 2000.0)         # 200 channels of 2000 counts
    200
    """
    model = _check_model(model)
    degree = _check_degree(degree)
    exps = _check_exponents(exponents)
    sp = as_spectra_array(spectra, name="spectra")
    g = check_gain(gain, sp.da)
    s0, s1 = window_indices(sp.energy, sp.step, window, name="window")
    dt = output_dtype(sp.values)
    attrs: dict[str, Any] = {
        "window_ev": [float(window[0]), float(window[1])],
        "window_channels_ev": [float(sp.energy[s0]), float(sp.energy[s1 - 1])],
        "gain": g,
    }
    data = {}
    hasher = stream_hasher(sp)
    if background is None:
        ones = np.ones((s1 - s0, 1), dtype=sp.values.dtype)
        prod, _ = _checked_sums(sp, (s0, s1), ones, None, hasher)
        t = prod[:, 0]
        sig = t
        var = g * t
        attrs["model"] = "none"
    else:
        _, _, b0, b1 = _windows(sp, window, background)
        _powerlaw_ok(sp, b0, model)
        attrs.update(
            model=model,
            background_window_ev=[float(background[0]), float(background[1])],
            background_channels_ev=[float(sp.energy[b0]), float(sp.energy[b1 - 1])],
        )
        e_sig = sp.energy[s0:s1]
        if model in ("powerlaw", "exponential"):
            res, _ = _loglinear_fit(sp, b0, b1, model, e_sig, ext_idx=(s0, s1), hasher=hasher)
            t = res["t"]
            if res["clipped"].any():
                warn(
                    f"the background fit hit the exponent table's limit in "
                    f"{int(res['clipped'].sum())} spectra; check them."
                )
            bg, var_bg = res["b"], res["var_b_unit"]
            data["background_exponent"] = (
                res["r"],
                "1" if model == "powerlaw" else "1/eV",
                "power-law exponent r" if model == "powerlaw" else "exponential slope b",
            )
        else:
            e_fit = sp.energy[b0:b1]
            e_c = float(e_fit.mean())
            half = max(float(e_fit[-1] - e_fit[0]) / 2.0, sp.step)
            ones = np.ones((b1 - b0, 1), dtype=sp.values.dtype)
            _, t = _checked_sums(sp, (b0, b1), ones, (s0, s1), hasher)
            mean_bg = sp.values[:, b0:b1].mean(axis=0, dtype=np.float64)
            if model == "lcpl":
                exps = _lcpl_exponents(sp, b0, b1, exps)
                attrs["exponents"] = list(exps)
            else:
                attrs["degree"] = degree
            xb = _basis(model, e_fit, e_c=e_c, half=half, exps=exps, degree=degree)
            xs = _basis(model, e_sig, e_c=e_c, half=half, exps=exps, degree=degree)
            w = 1.0 / np.maximum(mean_bg, 1e-12)
            lin = K.linear_background(sp.values[:, b0:b1], xb, w, xs.sum(axis=0))
            bg, var_bg = lin["b"], np.maximum(lin["var_b_unit"], 0.0)
        sig = t - bg
        var = g * (t + var_bg)
        data["background"] = (bg, "counts", "extrapolated background in the window")
        data["background_error"] = (np.sqrt(g * var_bg), "counts", "standard error of background")
    in_hash = finish_hash(hasher, sp)
    variables = {
        "signal": (sig, "counts", "integrated edge signal"),
        "signal_error": (np.sqrt(np.maximum(var, 0)), "counts", "standard error of signal"),
        **data,
    }
    ds = xr.Dataset(
        {
            k: (sp.dims, np.asarray(v).astype(dt).reshape(sp.shape), {"units": u, "long_name": ln})
            for k, (v, u, ln) in variables.items()
        },
        coords=sp.coords(),
    )
    params = {
        "window": list(window),
        "background": None if background is None else list(background),
        "model": model,
        "exponents": exponents,
        "degree": degree,
        "gain": g,
    }
    ds.attrs.update(carry_attrs(sp.da))
    ds.attrs.update(attrs)
    ds.attrs["holocorr"] = provenance("eels.integrate", params, {"spectra": in_hash})
    return ds
