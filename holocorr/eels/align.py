"""Energy alignment: SR-EELS non-isochromaticity and drift, from the zero-loss peak or an edge."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.fft as sfft
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from .._provenance import array_hash, provenance
from .._validate import check_choice
from ..errors import DataError, ParameterError, ShapeError
from . import _kernels as K
from ._common import (
    ENERGY,
    Spectra,
    as_spectra_array,
    carry_attrs,
    check_finite_window,
    check_same_grid,
    input_hash,
    output_dtype,
    rebuild,
    window_indices,
)
from .edges import get_edge
from .lowloss import _check_lowloss_values

__all__ = ["energy_shifts", "apply_energy_shifts", "align_energy"]

_METHODS = ("zlp", "edge")
_REFERENCES = ("zero", "median")


def _edge_window(edge: Any, sp: Spectra) -> tuple[float, float]:
    if edge is None:
        raise ParameterError(
            "method='edge' needs edge=: an edge name such as 'Li K' or an energy range "
            "(start, stop) in eV around a sharp onset, e.g. (50, 70)."
        )
    if isinstance(edge, str) or hasattr(edge, "parts"):
        shp = get_edge(edge)
        lo = max(shp.onset_ev - 8.0, sp.energy[0])
        hi = min(shp.onset_ev + 12.0, sp.energy[-1])
        if hi - lo < 5.0:
            raise ParameterError(
                f"edge {shp.name!r} (onset {shp.onset_ev:g} eV) is not inside the energy axis "
                f"({sp.energy[0]:.4g}-{sp.energy[-1]:.4g} eV)."
            )
        return (float(lo), float(hi))
    return edge


def _zlp_shifts(sp: Spectra) -> np.ndarray:
    _check_lowloss_values(sp, "spectra")
    pos, _ = K.peak_position(sp.values)
    return sp.energy[0] + pos * sp.step


def _edge_shifts(sp: Spectra, window, max_shift_ev: float, smooth_ev: float) -> np.ndarray:
    i0, i1 = window_indices(sp.energy, sp.step, window, name="edge", min_channels=8)
    ms = int(math.ceil(max_shift_ev / sp.step))
    a = max(0, i0 - ms)
    b = min(sp.energy.size, i1 + ms)
    y = sp.values[:, a:b].astype(np.float64)
    check_finite_window(y, name="spectra", energy=sp.energy[a:b], dims=sp.dims, shape=sp.shape)
    if not np.all(y > 0):
        raise DataError(
            "spectra need positive counts in the edge window for method='edge' (the "
            "logarithmic derivative is used); check for empty or negative channels."
        )
    sig = max(1.0, smooth_ev / sp.step)
    d = gaussian_filter1d(np.log(y), sig, order=1, axis=1, mode="nearest")
    core = slice(i0 - a, i1 - a)
    n = b - a
    nfft = sfft.next_fast_len(2 * n, real=True)
    shifts = np.zeros(y.shape[0])
    for _ in range(3):
        # reference: mean of the rows aligned with the current shifts
        al = np.empty_like(d)
        for p_idx in range(d.shape[0]):
            al[p_idx] = np.interp(np.arange(n) + shifts[p_idx], np.arange(n), d[p_idx])
        ref = al.mean(axis=0)
        r = np.zeros(n)
        r[core] = ref[core] - ref[core].mean()
        dd = d - d[:, core].mean(axis=1, keepdims=True)
        cc = sfft.irfft(sfft.rfft(dd, nfft, axis=1) * np.conj(sfft.rfft(r, nfft))[None, :], nfft, axis=1)
        lags = np.arange(-ms, ms + 1)
        vals = cc[:, lags % nfft]
        k = np.argmax(vals, axis=1)
        k = np.clip(k, 1, len(lags) - 2)
        rows = np.arange(vals.shape[0])
        ym, y0, yp = vals[rows, k - 1], vals[rows, k], vals[rows, k + 1]
        den = ym - 2 * y0 + yp
        frac = np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, -1.0), 0.0)
        shifts = lags[k] + np.clip(frac, -1, 1)
    return shifts * sp.step


def energy_shifts(
    spectra: xr.DataArray,
    *,
    method: str = "zlp",
    edge: str | tuple[float, float] | None = None,
    reference: str | None = None,
    max_shift_ev: float = 5.0,
    smooth_ev: float = 0.5,
) -> xr.DataArray:
    """Measure the energy shift of every spectrum (non-isochromaticity, drift).

    Parameters
    ----------
    spectra : xarray.DataArray
        ``"zlp"``: low-loss counts with the zero-loss peak; ``"edge"``:
        core-loss counts with a sharp edge. An ``energy`` dim in eV.
    method : {"zlp", "edge"}
        ``"zlp"``: the zero-loss peak position of each spectrum, sub-channel
        (a Gaussian fitted to the top of the peak). ``"edge"``: the lag that
        maximises the cross-correlation of each spectrum's smoothed
        logarithmic derivative with that of the mean (aligned) spectrum over
        `edge`, refined to sub-channel by a parabola, three passes. The
        edge method assumes the edge's shape is the same everywhere; use it
        for drift of one phase, not across an interface where the edge
        shape changes.
    edge : str or (start, stop), optional
        For ``"edge"``: an edge name (window onset - 8 to onset + 12 eV) or
        a window [eV].
    reference : {"zero", "median"}, optional
        ``"zero"`` (default for ``"zlp"``): shift = measured ZLP position, so
        aligned spectra have the zero-loss peak at 0 eV. ``"median"``
        (always for ``"edge"``): shifts relative to their median, keeping
        the data's absolute calibration.
    max_shift_ev : float
        Largest shift searched by ``"edge"`` [eV].
    smooth_ev : float
        Gaussian smoothing [eV] of the derivative for ``"edge"``.

    Returns
    -------
    xarray.DataArray
        ``energy_shift`` [eV] on the non-energy dims: a feature at true loss E
        appears at E + shift in that spectrum.

    Raises
    ------
    ShapeError, CalibrationError
        No ``energy`` dim, uncalibrated or non-uniform axis.
    DataError
        NaN/inf, negative or empty spectra.
    ParameterError
        Unknown method/reference, missing or bad edge window.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = -5.0 + 0.05 * np.arange(400)
    >>> shift = np.array([0.0, 0.37, 1.2])
    >>> y = 1e5 * np.exp(-0.5 * ((e[None, :] - shift[:, None]) / 0.4) ** 2)
    >>> da = xr.DataArray(y, dims=("x", "energy"),
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> np.round(energy_shifts(da).values, 3).tolist()
    [0.0, 0.37, 1.2]
    """
    check_choice("method", method, _METHODS)
    if reference is not None:
        check_choice("reference", reference, _REFERENCES)
    ms = float(max_shift_ev)
    if not (math.isfinite(ms) and ms > 0):
        raise ParameterError(f"max_shift_ev must be > 0 eV, got {max_shift_ev!r}.")
    sm = float(smooth_ev)
    if not (math.isfinite(sm) and sm > 0):
        raise ParameterError(f"smooth_ev must be > 0 eV, got {smooth_ev!r}.")
    sp = as_spectra_array(spectra, name="spectra")
    if method == "zlp":
        s = _zlp_shifts(sp)
        ref = reference or "zero"
    else:
        s = _edge_shifts(sp, _edge_window(edge, sp), ms, sm)
        ref = "median"
        if reference == "zero":
            raise ParameterError("reference='zero' needs method='zlp'; an edge gives only relative shifts.")
    if ref == "median":
        s = s - float(np.median(s))
    out = sp.unflatten(s, "energy_shift", "eV", "energy shift")
    out.attrs["method"] = method
    out.attrs["reference"] = ref
    params = {"method": method, "edge": edge, "reference": ref, "max_shift_ev": ms, "smooth_ev": sm}
    out.attrs["holocorr"] = provenance("eels.energy_shifts", params, {"spectra": input_hash(sp)})
    return out


def _shift_values(sp: Spectra, shifts_ev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = sp.energy.size
    s = shifts_ev / sp.step
    start = int(math.ceil(-float(s.min()) - 1e-9))
    stop = int(math.floor(n - 1 - float(s.max()) + 1e-9)) + 1
    start = max(start, 0)
    stop = min(stop, n)
    if stop - start < 8:
        raise ParameterError(
            f"the energy shifts span {float(shifts_ev.min()):.3g} to {float(shifts_ev.max()):.3g} eV, "
            f"more than the {sp.energy[-1] - sp.energy[0]:.3g} eV axis allows; check them."
        )
    out = K.shift_rows(sp.values, s, start, stop)
    return out, sp.energy[start:stop]


def _shifts_array(shifts: Any, sp: Spectra) -> np.ndarray:
    if isinstance(shifts, xr.DataArray):
        units = str(shifts.attrs.get("units", "eV"))
        if units != "eV":
            raise ParameterError(f"shifts must be in eV, got units {units!r}.")
        if set(shifts.dims) != set(sp.dims) or any(shifts.sizes[d] != sp.da.sizes[d] for d in sp.dims):
            raise ShapeError(
                f"shifts have dims {dict(shifts.sizes)}, the spectra {dict(zip(sp.dims, sp.shape, strict=True))}; "
                "give one shift per spectrum on the same grid."
            )
        if shifts.dtype.kind not in "iuf":
            raise DataError(f"shifts must be numbers in eV, got dtype {shifts.dtype}.")
        arr = np.asarray(shifts.transpose(*sp.dims).values, dtype=np.float64).reshape(-1)
    else:
        raw = np.asarray(shifts)
        if isinstance(shifts, str | bytes) or raw.dtype.kind not in "iuf":
            raise DataError(
                f"shifts must be numbers in eV (one per spectrum, or one for all), got {shifts!r:.60} "
                f"(dtype {raw.dtype})."
            )
        arr = raw.astype(np.float64)
        if arr.ndim == 0:
            arr = np.full(sp.n_pixels, float(arr))
        elif arr.shape != sp.shape:
            raise ShapeError(f"shifts have shape {arr.shape}; expected {sp.shape} (one per spectrum) or a scalar.")
        arr = arr.reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise DataError("shifts contain NaN or infinite values.")
    return arr


def apply_energy_shifts(spectra: xr.DataArray, shifts: Any) -> xr.DataArray:
    """Resample every spectrum so that a feature at true loss E lands at E.

    ``aligned(E) = raw(E + shift)`` by linear interpolation between the two
    neighbouring channels (chosen over cubic interpolation because it cannot
    ring or create negative counts, and it keeps window sums and their
    Poisson variance to first order). The energy axis is cropped to the
    range covered by every shifted spectrum, so no value is invented.

    Parameters
    ----------
    spectra : xarray.DataArray
        Counts with an ``energy`` dim in eV.
    shifts : xarray.DataArray, array_like or float
        Shift [eV] per spectrum (e.g. from :func:`energy_shifts`).

    Returns
    -------
    xarray.DataArray
        Aligned spectra on the cropped axis, dims as the input, with the
        shifts as the coordinate ``energy_shift`` [eV].

    Raises
    ------
    ShapeError
        Shifts not one per spectrum.
    DataError
        Non-numeric or non-finite shifts; NaN/inf spectra.
    ParameterError
        Shifts larger than the axis.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = np.arange(0.0, 10.0, 0.5)
    >>> da = xr.DataArray(np.stack([e, e]), dims=("x", "energy"),
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> out = apply_energy_shifts(da, [0.0, 1.25])
    >>> out.values[1, :3].tolist(), out.energy.values[:3].tolist()
    ([1.25, 1.75, 2.25], [0.0, 0.5, 1.0])
    """
    sp = as_spectra_array(spectra, name="spectra")
    s = _shifts_array(shifts, sp)
    # interpolation would carry a NaN into its neighbours: refuse it
    check_finite_window(sp.values, name="spectra", energy=sp.energy, dims=sp.dims, shape=sp.shape)
    out, e = _shift_values(sp, s)
    params = {"shifts": s}
    attrs = {
        **carry_attrs(sp.da),
        "interpolation": "linear",
        "holocorr": provenance("eels.apply_energy_shifts", params, {"spectra": input_hash(sp)}),
    }
    da = rebuild(
        sp,
        out,
        e,
        name=sp.da.name,
        units=str(sp.da.attrs.get("units", "counts")),
        long_name=str(sp.da.attrs.get("long_name", "counts")),
        attrs=attrs,
    )
    shift_da = sp.unflatten(s.astype(output_dtype(sp.values)), "energy_shift", "eV", "energy shift")
    return da.assign_coords(energy_shift=shift_da.variable)


def align_energy(
    spectra: xr.DataArray,
    *,
    low_loss: xr.DataArray | None = None,
    method: str = "zlp",
    edge: str | tuple[float, float] | None = None,
    reference: str | None = None,
) -> xr.DataArray:
    """Correct per-spectrum energy shifts (SR-EELS non-isochromaticity, drift).

    Measures the shifts with :func:`energy_shifts` and applies them with
    :func:`apply_energy_shifts`.

    Parameters
    ----------
    spectra : xarray.DataArray
        Spectra to align (core or low loss), ``energy`` dim in eV.
    low_loss : xarray.DataArray, optional
        Low-loss frame on the same spatial grid whose zero-loss peaks give
        the shifts (``method="zlp"``). Without it, ``"zlp"`` uses the
        zero-loss peak of `spectra` themselves.
    method : {"zlp", "edge"}
        See :func:`energy_shifts`.
    edge : str or (start, stop), optional
        Edge name or window [eV] for ``method="edge"``.
    reference : {"zero", "median"}, optional
        See :func:`energy_shifts`.

    Returns
    -------
    xarray.DataArray
        Aligned spectra on the energy range covered by every spectrum, with
        coordinate ``energy_shift`` [eV] (the applied shifts) and attrs
        ``energy_shift_method``, ``energy_shift_rms_ev``.

    Raises
    ------
    ShapeError
        No ``energy`` dim; low loss on another spatial grid.
    CalibrationError, DataError, ParameterError
        As for :func:`energy_shifts`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = -5.0 + 0.05 * np.arange(400)
    >>> shift = np.array([0.0, 0.6])
    >>> y = 1e5 * np.exp(-0.5 * ((e[None, :] - shift[:, None]) / 0.4) ** 2)
    >>> da = xr.DataArray(y, dims=("x", "energy"),
    ...                   coords={"energy": ("energy", e, {"units": "eV"})})
    >>> al = align_energy(da)
    >>> [round(float(al.energy[i]), 2) for i in al.argmax("energy").values]
    [0.0, 0.0]
    """
    sp = as_spectra_array(spectra, name="spectra")
    if low_loss is not None:
        if method != "zlp":
            raise ParameterError("low_loss= is used with method='zlp' only.")
        lo = as_spectra_array(low_loss, name="low_loss")
        check_same_grid(sp, lo, name="low_loss", allow_single=False)
        src = lo.da if lo.dims == sp.dims else lo.da.transpose(*sp.dims, ENERGY)
        shifts = energy_shifts(src, method="zlp", reference=reference)
    else:
        shifts = energy_shifts(spectra, method=method, edge=edge, reference=reference)
    out = apply_energy_shifts(spectra, shifts)
    s = np.asarray(shifts.values, dtype=np.float64)
    out.attrs.update(
        energy_shift_method=method,
        energy_shift_reference=shifts.attrs["reference"],
        energy_shift_rms_ev=float(np.sqrt(np.mean((s - s.mean()) ** 2))),
        energy_shift_range_ev=[float(s.min()), float(s.max())],
    )
    params = {"method": method, "edge": edge, "reference": reference}
    out.attrs["holocorr"] = provenance(
        "eels.align_energy",
        params,
        {"spectra": input_hash(sp), "low_loss": None if low_loss is None else array_hash(low_loss)},
    )
    return out
