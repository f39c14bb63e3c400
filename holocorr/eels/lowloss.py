"""Low-loss analysis: zero-loss peak, thickness t/lambda, Fourier-log and Fourier-ratio."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import xarray as xr

from .._provenance import provenance
from .._validate import check_choice, check_positive
from ..errors import CalibrationError, DataError, ParameterError
from ..holography.physics import mean_free_path
from . import _kernels as K
from ._common import (
    Spectra,
    as_spectra_array,
    carry_attrs,
    check_finite_window,
    check_gain,
    check_same_grid,
    input_hash,
    output_dtype,
    rebuild,
    reorder_like,
)

__all__ = ["thickness", "deconvolve", "mean_free_path", "zero_loss_peak"]

_ZLP_METHODS = ("mirror", "minimum")
_TAILS = ("powerlaw", None)
_DECONV = ("fourier-ratio", "fourier-log")


@dataclasses.dataclass
class ZLP:
    """Zero-loss analysis of (P, n) low-loss rows (all float64 arrays of shape (P,))."""

    pos_ch: np.ndarray
    pos_ev: np.ndarray
    fwhm_ch: np.ndarray
    i0: np.ndarray
    it: np.ndarray
    var_i0: np.ndarray
    var_it: np.ndarray
    cov: np.ndarray
    tail: np.ndarray


def _check_lowloss_values(sp: Spectra, name: str) -> None:
    y = sp.values
    mn = np.min(y)
    if not np.isfinite(mn) or not np.all(np.isfinite(y.sum(axis=1))):
        check_finite_window(y, name=name, energy=sp.energy, dims=sp.dims, shape=sp.shape)
    peak = y.max(axis=1)
    if not np.all(peak > 0):
        p = int(np.flatnonzero(~(peak > 0))[0])
        raise DataError(
            f"{name} has {int((~(peak > 0)).sum())} spectrum/spectra without a positive "
            f"zero-loss peak (all-zero or negative; first at pixel {p}). Crop or mask them."
        )
    low = y.min(axis=1)
    bad = low < -1e-3 * peak
    if bad.any():
        p = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name} has strongly negative counts ({float(low[p]):.4g} against a zero-loss peak "
            f"of {float(peak[p]):.4g} at pixel {p}). Counts must be >= 0 for Poisson "
            "statistics: undo an over-subtracted dark reference or bias offset."
        )


def zlp_analysis(sp: Spectra, *, method: str = "mirror", tail: str | None = None) -> ZLP:
    """Zero-loss position, width and intensities of every low-loss spectrum."""
    y = sp.values
    pos, fwhm, var_pos = K.peak_position(y, return_var=True)
    e = sp.energy
    pos_ev = e[0] + pos * sp.step
    if method == "mirror":
        m = K.mirror_zlp(y, pos, var_pos)
        i0, it, var_i0, var_it, cov = m["i0"], m["it"], m["var_i0"], m["var_it"], m["cov"]
    else:
        i0, it, var_i0, var_it, cov = _minimum_rule(y, pos)
    extra = np.zeros_like(it)
    if tail == "powerlaw":
        n = e.size
        a = max(int(0.85 * n), int(np.searchsorted(e, 30.0)))
        if e[-1] > 30.0 and n - a >= 8:
            extra, _ = K.tail_extrapolation(y[:, a:], e[a:], float(e[-1] + 0.5 * sp.step), sp.step)
    it = it + extra
    return ZLP(pos_ch=pos, pos_ev=pos_ev, fwhm_ch=fwhm, i0=i0, it=it, var_i0=var_i0, var_it=var_it, cov=cov, tail=extra)


def _minimum_rule(y: np.ndarray, pos: np.ndarray):
    """Zero-loss intensity up to the first minimum after the peak (3-channel smoothing)."""
    p, n = y.shape
    ys = y.astype(np.float64)
    sm = ys.copy()
    sm[:, 1:-1] = (ys[:, :-2] + ys[:, 1:-1] + ys[:, 2:]) / 3.0
    d = np.diff(sm, axis=1)  # d[:, j] = sm[j+1] - sm[j]
    ip = np.floor(pos + 0.5).astype(np.int64)
    j = np.arange(n - 1)[None, :]
    rising = (d > 0) & (j > ip[:, None])
    first = np.where(rising.any(axis=1), np.argmax(rising, axis=1), n - 1)
    cum = np.cumsum(ys, axis=1)
    i0 = cum[np.arange(p), first]
    it = cum[:, -1]
    rest = it - i0
    var_i0 = np.maximum(i0, 0)
    var_it = np.maximum(i0, 0) + np.maximum(rest, 0)
    cov = np.maximum(i0, 0)
    return i0, it, var_i0, var_it, cov


def tau_and_error(z: ZLP, gain: float) -> tuple[np.ndarray, np.ndarray]:
    """t/lambda = ln(It/I0) and its Poisson standard error."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.log(z.it / z.i0)
        var = gain * (z.var_it / z.it**2 + z.var_i0 / z.i0**2 - 2 * z.cov / (z.it * z.i0))
    return tau, np.sqrt(np.maximum(var, 0.0))


def _check_zlp(z: ZLP, name: str) -> None:
    if not np.all(z.i0 > 0):
        raise DataError(
            f"{name}: the zero-loss peak has no intensity in {int((~(z.i0 > 0)).sum())} "
            "spectrum/spectra; is the zero-loss peak inside the energy range?"
        )


def zero_loss_peak(low_loss: xr.DataArray, *, gain: float | None = None) -> xr.Dataset:
    """Zero-loss peak position, width and intensity of every low-loss spectrum.

    Parameters
    ----------
    low_loss : xarray.DataArray
        Low-loss counts with an ``energy`` dim in eV and any other dims.
    gain : float, optional
        Detector counts per electron (default: attrs or 1).

    Returns
    -------
    xarray.Dataset
        ``position`` [eV] (sub-channel: a Gaussian fitted to the top of the
        peak), ``fwhm`` [eV], ``intensity`` [counts] (mirror rule, see
        :func:`thickness`) and ``intensity_error``, on the non-energy dims.

    Raises
    ------
    ShapeError, CalibrationError, DataError
        As for :func:`thickness`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = -5.0 + 0.05 * np.arange(400)
    >>> y = 1e5 * np.exp(-0.5 * ((e - 0.3) / 0.4) ** 2)
    >>> da = xr.DataArray(y, dims="energy",
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> round(float(zero_loss_peak(da).position), 3)
    0.3
    """
    sp = as_spectra_array(low_loss, name="low_loss")
    g = check_gain(gain, sp.da)
    _check_lowloss_values(sp, "low_loss")
    z = zlp_analysis(sp, tail=None)
    _check_zlp(z, "low_loss")
    dt = output_dtype(sp.values)
    ds = xr.Dataset(coords=sp.coords())
    ds["position"] = sp.unflatten(z.pos_ev.astype(dt), "position", "eV", "zero-loss peak position")
    ds["fwhm"] = sp.unflatten((z.fwhm_ch * sp.step).astype(dt), "fwhm", "eV", "zero-loss peak FWHM")
    ds["intensity"] = sp.unflatten(z.i0.astype(dt), "intensity", "counts", "zero-loss intensity")
    ds["intensity_error"] = sp.unflatten(
        np.sqrt(g * z.var_i0).astype(dt), "intensity_error", "counts", "standard error of zero-loss intensity"
    )
    ds.attrs.update(carry_attrs(sp.da))
    ds.attrs["holocorr"] = provenance("eels.zero_loss_peak", {"gain": g}, {"low_loss": input_hash(sp)})
    return ds


def thickness(
    low_loss: xr.DataArray,
    *,
    zlp: str = "mirror",
    tail: str | None = None,
    mean_free_path_nm: float | None = None,
    gain: float | None = None,
) -> xr.Dataset:
    """Relative thickness t/lambda by the log-ratio method, with its error.

    t/lambda = ln(I_total / I_zero-loss) for every low-loss spectrum.

    Parameters
    ----------
    low_loss : xarray.DataArray
        Low-loss counts (zero-loss peak included) with an ``energy`` dim in
        eV (uniform, ascending) and any other dims.
    zlp : {"mirror", "minimum"}
        Zero-loss integration rule. ``"mirror"`` (default): twice the
        intensity on the energy-gain side of the peak (sub-channel peak
        position), exact for a symmetric zero-loss peak and free of any
        cut-off; ``"minimum"``: everything up to the first minimum after the
        peak (Egerton's rule; counts inelastic intensity below the minimum as
        zero-loss and vice versa).
    tail : {None, "powerlaw"}
        None (default): the intensity beyond the end of the axis is left
        out (t/lambda is then low by the fraction of the spectrum above the
        axis end; record the low loss to >= 5 plasmon energies, i.e. past
        ~120 eV for Ep = 24 eV). ``"powerlaw"``: add it from a power law
        fitted to the last 15 % of the channels (above 30 eV), only where
        that range looks like a valence tail (exponent 2-8, reduced Poisson
        chi-square < 2; not where an edge sits in it). The added fraction is
        returned.
    mean_free_path_nm : float, optional
        Inelastic mean free path lambda [nm] (see :func:`mean_free_path`);
        adds the thickness t [nm].
    gain : float, optional
        Detector counts per electron (default: attrs or 1).

    Returns
    -------
    xarray.Dataset
        On the non-energy dims: ``t_over_lambda`` and ``t_over_lambda_error``
        (Poisson, including the correlation of I0 and I_total),
        ``zlp_intensity``, ``total_intensity``, ``zlp_position`` [eV],
        ``tail_fraction``, and ``thickness`` [nm] with its error when
        `mean_free_path_nm` is given.

    Raises
    ------
    ShapeError
        No ``energy`` dim.
    CalibrationError
        Energy axis without eV units, descending or not uniform.
    DataError
        NaN/inf, strongly negative counts, all-zero spectra.
    ParameterError
        Unknown rule, bad mean free path.

    References
    ----------
    Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*,
    3rd ed. (2011), Sec. 5.1; Malis et al., J. Electron Microsc. Tech. 8, 193
    (1988), doi:10.1002/jemt.1060080206.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = -5.0 + 0.1 * np.arange(600)
    >>> zlp = np.exp(-0.5 * (e / 0.5) ** 2)
    >>> plasmon = np.exp(-0.5 * ((e - 20) / 3.0) ** 2)
    >>> y = 1e5 * (zlp / zlp.sum() + 0.5 * plasmon / plasmon.sum())  # I_total/I0 = 1.5
    >>> da = xr.DataArray(y, dims="energy",
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> round(float(thickness(da, tail=None).t_over_lambda), 4), round(float(np.log(1.5)), 4)
    (0.4055, 0.4055)
    """
    check_choice("zlp", zlp, _ZLP_METHODS)
    check_choice("tail", tail, _TAILS)
    mfp = None
    if mean_free_path_nm is not None:
        mfp = check_positive("mean_free_path_nm", mean_free_path_nm, unit="nm")
    sp = as_spectra_array(low_loss, name="low_loss")
    g = check_gain(gain, sp.da)
    _check_lowloss_values(sp, "low_loss")
    z = zlp_analysis(sp, method=zlp, tail=tail)
    _check_zlp(z, "low_loss")
    tau, err = tau_and_error(z, g)
    dt = output_dtype(sp.values)
    ds = xr.Dataset(coords=sp.coords())
    ds["t_over_lambda"] = sp.unflatten(tau.astype(dt), "t_over_lambda", "1", "relative thickness t/λ")
    ds["t_over_lambda_error"] = sp.unflatten(err.astype(dt), "t_over_lambda_error", "1", "standard error of t/λ")
    ds["zlp_intensity"] = sp.unflatten(z.i0.astype(dt), "zlp_intensity", "counts", "zero-loss intensity")
    ds["total_intensity"] = sp.unflatten(z.it.astype(dt), "total_intensity", "counts", "total intensity")
    ds["zlp_position"] = sp.unflatten(z.pos_ev.astype(dt), "zlp_position", "eV", "zero-loss peak position")
    ds["tail_fraction"] = sp.unflatten(
        (z.tail / z.it).astype(dt), "tail_fraction", "1", "fraction of the intensity extrapolated beyond the axis"
    )
    if mfp is not None:
        ds["thickness"] = sp.unflatten((tau * mfp).astype(dt), "thickness", "nm", "thickness")
        ds["thickness_error"] = sp.unflatten(
            (err * mfp).astype(dt), "thickness_error", "nm", "standard error of thickness (Poisson only)"
        )
    ds.attrs.update(carry_attrs(sp.da))
    ds.attrs.update(zlp_rule=zlp, tail=str(tail), gain=g)
    if mfp is not None:
        ds.attrs["mean_free_path_nm"] = mfp
    params = {"zlp": zlp, "tail": tail, "mean_free_path_nm": mfp, "gain": g}
    ds.attrs["holocorr"] = provenance("eels.thickness", params, {"low_loss": input_hash(sp)})
    return ds


def _mirror_zlp_rows(y: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Zero-loss peak model: the data up to the peak, mirrored above it."""
    p, n = y.shape
    idx = np.arange(n, dtype=np.float64)
    out = np.zeros((p, n))
    for i in range(p):
        yi = y[i].astype(np.float64)
        below = idx <= pos[i]
        mirrored = np.interp(2 * pos[i] - idx, idx, yi, left=0.0, right=0.0)
        out[i] = np.where(below, yi, np.minimum(mirrored, yi))
    return out


def _fwhm_ch(fwhm_ev: float | None, z: ZLP, step: float) -> np.ndarray:
    if fwhm_ev is None:
        return z.fwhm_ch
    v = float(fwhm_ev)
    if not (math.isfinite(v) and v > 0):
        raise ParameterError(f"fwhm_ev must be > 0 eV, got {fwhm_ev!r}.")
    return np.full(z.fwhm_ch.shape, v / step)


def deconvolve(
    spectra: xr.DataArray,
    low_loss: xr.DataArray | None = None,
    *,
    method: str = "fourier-ratio",
    fwhm_ev: float | None = None,
) -> xr.DataArray:
    """Remove plural scattering: Fourier-ratio (core loss) or Fourier-log (low loss).

    Parameters
    ----------
    spectra : xarray.DataArray
        Core-loss counts (``"fourier-ratio"``; subtract the pre-edge
        background first so the edge starts near zero) or low-loss counts
        (``"fourier-log"``), with an ``energy`` dim in eV.
    low_loss : xarray.DataArray, optional
        Low-loss counts on the same spatial grid (or one spectrum for all),
        with the same dispersion as `spectra` (within 0.1 %); required for
        ``"fourier-ratio"``, not used by ``"fourier-log"``.
    method : {"fourier-ratio", "fourier-log"}
        Deconvolution.
    fwhm_ev : float, optional
        FWHM [eV] of the Gaussian the result is reconvolved with (keeps the
        noise bounded). Default: the FWHM of each zero-loss peak, i.e. the
        measured energy resolution.

    Returns
    -------
    xarray.DataArray
        The single-scattering distribution on `spectra`'s energy axis,
        scaled to the zero-loss intensity of the low loss (Egerton's
        convention: what would have been recorded from a specimen thin
        enough for single scattering, with the same incident dose), float32
        for float32 input. For ``"fourier-log"`` the zero-loss peak is
        removed (the result is ~0 around 0 eV).

    Raises
    ------
    ShapeError
        No ``energy`` dim; low loss on another spatial grid.
    CalibrationError
        Non-uniform or descending axes; different dispersions.
    DataError
        NaN/inf or unusable low loss.
    ParameterError
        Unknown method, missing low loss, bad FWHM.

    Notes
    -----
    Fourier-log: S = I0 F^-1[G ln(J/Z)] with the zero-loss peak Z taken as
    the data below the peak mirrored above it. Fourier-ratio:
    S = I0 F^-1[G J_core / J_low]. Both pad the spectra to at least twice
    their length and taper the end of the spectrum to zero with a cosine
    over the padding, so the jump at the end of the axis does not ring
    through the result.

    References
    ----------
    Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*,
    3rd ed. (2011), Sec. 4.2-4.3, doi:10.1007/978-1-4419-9583-4.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = -10.0 + 0.2 * np.arange(1000)           # ZLP at channel 50
    >>> z = np.exp(-0.5 * (e / 0.6) ** 2); z /= z.sum()
    >>> loss = 0.2 * np.arange(1000)
    >>> p = np.exp(-0.5 * ((loss - 25.0) / 4.0) ** 2); p /= p.sum()
    >>> zp = np.convolve(z, p)[:1000]; zpp = np.convolve(zp, p)[:1000]
    >>> ll = 1e6 * np.exp(-0.5) * (z + 0.5 * zp + 0.125 * zpp)   # t/lambda = 0.5
    >>> da = xr.DataArray(ll, dims="energy",
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> ssd = deconvolve(da, method="fourier-log")
    >>> # I0 (t/lambda) P(25 eV), P broadened by the 0.6 eV (sigma) resolution:
    >>> expected = 1e6 * np.exp(-0.5) * 0.5 * p.max() * 4.0 / np.hypot(4.0, 0.6)
    >>> round(float(ssd.sel(energy=25.0, method="nearest")) / float(expected), 2)
    1.0
    """
    check_choice("method", method, _DECONV)
    sp = as_spectra_array(spectra, name="spectra")
    dt = output_dtype(sp.values)
    check_finite_window(sp.values, name="spectra", energy=sp.energy, dims=sp.dims, shape=sp.shape)
    if method == "fourier-log":
        if low_loss is not None:
            raise ParameterError(
                "method='fourier-log' deconvolves the low-loss spectra themselves; pass them as "
                "`spectra` and leave low_loss=None."
            )
        _check_lowloss_values(sp, "spectra")
        z = zlp_analysis(sp, tail=None)
        _check_zlp(z, "spectra")
        zl = _mirror_zlp_rows(sp.values, z.pos_ch)
        out = K.fourier_log(sp.values.astype(np.float64), zl, z.pos_ch, z.i0, _fwhm_ch(fwhm_ev, z, sp.step))
        inputs = {"spectra": input_hash(sp)}
    else:
        if low_loss is None:
            raise ParameterError("method='fourier-ratio' needs the low-loss spectra: deconvolve(core, low_loss).")
        lo = as_spectra_array(low_loss, name="low_loss")
        single = check_same_grid(sp, lo, name="low_loss")
        if abs(lo.step - sp.step) > 1e-3 * sp.step:
            raise CalibrationError(
                f"low_loss has a dispersion of {lo.step:.6g} eV/channel and spectra "
                f"{sp.step:.6g}; Fourier-ratio needs the same dispersion. Record both with one "
                "spectrometer setting, or resample one (da.interp(energy=...))."
            )
        _check_lowloss_values(lo, "low_loss")
        z = zlp_analysis(lo, tail=None)
        _check_zlp(z, "low_loss")
        lvals = lo.values if single else reorder_like(lo, sp)
        out = K.fourier_ratio(
            sp.values.astype(np.float64),
            lvals.astype(np.float64),
            float(lo.energy[0] / sp.step),
            z.i0,
            _fwhm_ch(fwhm_ev, z, sp.step),
        )
        inputs = {"spectra": input_hash(sp), "low_loss": input_hash(lo)}
    params = {"method": method, "fwhm_ev": fwhm_ev}
    attrs = {
        **carry_attrs(sp.da),
        "method": method,
        "reconvolution_fwhm_ev": (float(fwhm_ev) if fwhm_ev is not None else float(np.median(z.fwhm_ch) * sp.step)),
        "holocorr": provenance("eels.deconvolve", params, inputs),
    }
    return rebuild(
        sp,
        out.astype(dt),
        sp.energy,
        name="single_scattering",
        units="counts",
        long_name="single-scattering distribution",
        attrs=attrs,
    )
