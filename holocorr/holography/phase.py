"""Phase unwrapping, residue maps and ramp removal for reconstructed phases.

Public functions:

* :func:`unwrap` - quality-guided (Herráez et al. 2002) or least-squares
  (Ghiglia & Romero 1994) unwrapping that reports residues and
  discontinuities instead of hiding them;
* :func:`residues` - where the phase singularities are;
* :func:`remove_ramp` - fit and subtract an offset, plane or quadratic
  surface over a vacuum mask or a coordinate region.

The numpy kernels live in :mod:`holocorr.holography._unwrap_kernels`.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._provenance import provenance
from .._region import region_mask
from .._validate import as_dataarray, check_choice, check_finite, real_image, user_stacklevel
from ..errors import (
    CalibrationError,
    DataError,
    HolocorrWarning,
    ParameterError,
    ShapeError,
)
from . import _unwrap_kernels as _k

__all__ = ["unwrap", "residues", "remove_ramp"]

_METHODS = ("quality", "least_squares")
_MIN_SIZE = 4
_DEGREE_UNITS = ("deg", "degree", "degrees", "°")


# --------------------------------------------------------------------------- helpers


def _reject_complex(phase: Any) -> None:
    dtype = getattr(phase, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "c":
        raise DataError(
            f"phase is complex ({dtype}); expected a real phase in rad. "
            "Pass np.angle(wave) or the dataset's phase variable."
        )


def _phase_values(da: xr.DataArray) -> np.ndarray:
    """Return the checked real values of the phase (float32/float64, never modified)."""
    _reject_complex(da)
    units = str(da.attrs.get("units", "rad")).strip().lower()
    if units in _DEGREE_UNITS:
        raise CalibrationError(
            f"phase has units {da.attrs.get('units')!r}; expected rad. "
            "Convert first, e.g. np.deg2rad(phase) with attrs['units'] = 'rad'."
        )
    arr = real_image(da, name="phase", min_size=_MIN_SIZE)
    check_finite(arr, name="phase")
    return arr


def _coord(da: xr.DataArray, dim: str) -> tuple[np.ndarray, str, dict]:
    """Coordinate values (float64), units and attrs of `dim` (pixels when missing)."""
    n = da.sizes[dim]
    if dim not in da.coords:
        return np.arange(n, dtype=np.float64), "px", {"units": "px", "long_name": dim}
    c = da[dim]
    if c.dtype.kind not in "iuf":
        raise CalibrationError(
            f"coordinate {dim!r} has dtype {c.dtype}; expected numbers in nm. "
            f"Assign numeric coords, e.g. da.assign_coords({dim}=np.arange({n}) * 0.5)."
        )
    attrs = dict(c.attrs)
    return np.asarray(c.values, dtype=np.float64), str(attrs.get("units", "px")), attrs


def _mask_values(mask: Any, da: xr.DataArray, shape: tuple[int, ...]) -> np.ndarray | None:
    """Validate a bool mask (True = use) and broadcast it to `shape`."""
    if mask is None:
        return None
    if isinstance(mask, xr.DataArray):
        core = ("y", "x")
        if tuple(mask.dims) not in (core, tuple(da.dims)):
            raise ShapeError(
                f"mask has dims {mask.dims}; expected {core} or {tuple(da.dims)} like the phase."
            )
        for dim in core:
            if dim in mask.coords and dim in da.coords:
                a = np.asarray(mask[dim].values)
                b = np.asarray(da[dim].values)
                if a.shape != b.shape or (
                    a.dtype.kind in "iuf"
                    and b.dtype.kind in "iuf"
                    and not np.allclose(a, b, rtol=1e-6, atol=0.0)
                ):
                    raise ShapeError(
                        f"mask coordinate {dim!r} does not match the phase's "
                        f"({a.size} values from {a[0] if a.size else None} vs {b.size} from "
                        f"{b[0] if b.size else None}); make the mask on the same grid, "
                        "e.g. from a comparison on the phase itself."
                    )
        values = np.asarray(mask.values)
    else:
        if isinstance(mask, str | bytes):
            raise DataError(f"mask is a string ({mask!r:.40}); expected a bool array.")
        values = np.asarray(mask)
    if values.dtype != np.bool_:
        raise DataError(
            f"mask has dtype {values.dtype}; expected a bool array (True = use this "
            "pixel). Build it with a comparison, e.g. mask = amplitude > 0.5, or "
            "mask.astype(bool)."
        )
    if values.shape not in (shape[-2:], shape):
        raise ShapeError(
            f"mask has shape {values.shape}; expected {shape[-2:]} (y, x)"
            + (f" or {shape}" if len(shape) > 2 else "")
            + " like the phase."
        )
    values = np.broadcast_to(values, shape)
    flat = values.reshape(-1, *shape[-2:])
    for i, m in enumerate(flat):
        if not m.any():
            where = f" in frame {i}" if len(shape) > 2 else ""
            raise ParameterError(
                f"mask selects no pixels{where}; True marks the pixels to use. Did you invert it?"
            )
    return values


def _frames(arr: np.ndarray) -> np.ndarray:
    return arr.reshape(-1, *arr.shape[-2:])


def _per_frame_attr(values: list[int], stacked: bool) -> int | list[int]:
    return values if stacked else values[0]


# --------------------------------------------------------------------------- residues


def residues(phase: Any, *, mask: Any = None) -> xr.DataArray:
    """Map the residues (phase singularities) of a wrapped phase.

    A residue is a 2x2 pixel loop around which the wrapped phase differences
    do not sum to zero but to ±2π (Goldstein et al. 1988). No unwrapping
    path can go around it consistently: each residue of one sign must be
    joined by a branch cut to one of the other sign or to the edge, and
    unwrapped values are unreliable near them. They come from noise, phase
    vortices, undersampling (phase steps > π per pixel) and edges of objects.

    Parameters
    ----------
    phase : (..., M, N) xarray.DataArray or ndarray [rad]
        Wrapped (or unwrapped) phase with dims ``(y, x)`` or
        ``(frame, y, x)``. A plain ndarray gets pixel coords and an
        :class:`~holocorr.errors.UncalibratedWarning`.
    mask : (M, N) or same-shape bool array, optional
        True = use the pixel. Loops with any excluded corner count as 0.

    Returns
    -------
    (..., M-1, N-1) xarray.DataArray of int8
        +1, -1 or 0 per loop, with ``y``/``x`` coords at the loop centres in
        the data's units (the mean of neighbouring coords). The loop
        ``(i, j) -> (i, j+1) -> (i+1, j+1) -> (i+1, j)`` runs +x, +y, -x, -y:
        counter-clockwise with y pointing up, so ``atan2(y - y0, x - x0)``
        gives +1 at ``(x0, y0)``. attrs ``residues``, ``residues_positive``,
        ``residues_negative`` (totals) and ``holocorr`` (provenance).

    Raises
    ------
    ShapeError
        For 1-D or >3-D input, wrong dim names, images smaller than 4 px per
        axis, or a mask of another shape.
    DataError
        For complex, non-numeric or NaN/inf phases or a non-bool mask.
    ParameterError
        For a mask that selects no pixels.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> y, x = np.mgrid[0:16, 0:16]
    >>> vortex = xr.DataArray(np.arctan2(y - 7.5, x - 4.5), dims=("y", "x"),
    ...                       coords={"y": np.arange(16) * 0.5, "x": np.arange(16) * 0.5})
    >>> r = residues(vortex)
    >>> int(r.attrs["residues"]), float(r.where(r == 1, drop=True)["x"][0])
    (1, 2.25)
    """
    _reject_complex(phase)
    da = as_dataarray(phase, name="phase")
    arr = _phase_values(da)
    valid = _mask_values(mask, da, arr.shape)
    maps = np.stack(
        [
            _k.residue_map(p, None if valid is None else v)
            for p, v in zip(
                _frames(arr),
                _frames(valid) if valid is not None else [None] * _frames(arr).shape[0],
                strict=True,
            )
        ]
    ).reshape(*arr.shape[:-2], arr.shape[-2] - 1, arr.shape[-1] - 1)
    coords: dict[str, Any] = {}
    for dim in ("y", "x"):
        c, _, attrs = _coord(da, dim)
        coords[dim] = xr.DataArray(0.5 * (c[:-1] + c[1:]), dims=(dim,), attrs=attrs)
    for dim in da.dims[:-2]:
        if dim in da.coords:
            coords[dim] = da[dim]
    n_pos, n_neg = int((maps > 0).sum()), int((maps < 0).sum())
    return xr.DataArray(
        maps,
        dims=da.dims,
        coords=coords,
        name="residues",
        attrs={
            "units": "1",
            "long_name": "phase residue (winding number)",
            "residues": n_pos + n_neg,
            "residues_positive": n_pos,
            "residues_negative": n_neg,
            "holocorr": provenance("holography.residues", {"mask": mask}, {"phase": arr}),
        },
    )


# --------------------------------------------------------------------------- unwrap


def unwrap(
    phase: Any,
    *,
    method: str = "quality",
    mask: Any = None,
    congruent: bool = True,
) -> xr.DataArray:
    """Unwrap a phase image (or each frame of a stack) and report its problems.

    Two algorithms are available:

    ``"quality"`` (default)
        Reliability-sorted, quality-guided path following (Herráez et al.
        2002, via :func:`skimage.restoration.unwrap_phase`). Pixels are joined
        in order of decreasing reliability (smallest second differences), so
        errors stay local: near residues it puts 2π discontinuities in noisy
        places instead of spreading them. The result is congruent (it differs
        from the input by exact multiples of 2π).
    ``"least_squares"``
        Unweighted least squares (Ghiglia & Romero 1994): the wrapped phase
        differences define a Poisson equation, solved with Neumann boundaries
        by one DCT-II (``scipy.fft.dctn``); with a `mask` the weighted
        (0/1) equations are solved by conjugate gradients preconditioned with
        that DCT solve. Fast and smooth, exact when there are no residues,
        but where residues exist it *underestimates* steep gradients and
        large 2π jumps (the error spreads over the whole image). With
        ``congruent=True`` (default) the smooth solution is snapped to the
        nearest ``input + 2π·n`` pixel by pixel, which restores exact values
        where the solution is within π of the truth and shows up as
        discontinuities where it is not.

    Unwrapping fixes the phase only up to a constant ``2π·k`` per connected
    region. Both methods use the same rule so results are comparable: ``k``
    is chosen so that the result equals the wrapped input (to the nearest
    2π multiple for a non-congruent result) on the largest number of pixels
    (the most common band; ties go to the band nearest the median, then to
    the lower result). For a phase with a vacuum area larger than any other
    band this keeps the vacuum at its wrapped value. For ramp-like phases,
    whose bands have similar areas, the chosen multiple can change with
    small changes of the data: reference maps to be compared to a common
    area (:func:`remove_ramp` with ``order=0`` over vacuum) before
    subtracting them.

    Parameters
    ----------
    phase : (..., M, N) xarray.DataArray or ndarray [rad]
        Wrapped phase with dims ``(y, x)`` or ``(frame, y, x)``; values
        outside [-π, π] are wrapped first. At least 4 px per axis. A plain
        ndarray gets pixel coords and an
        :class:`~holocorr.errors.UncalibratedWarning`.
    method : {"quality", "least_squares"}
        Unwrapping algorithm (see above).
    mask : (M, N) or (..., M, N) bool array or DataArray, optional
        True = unwrap this pixel; excluded pixels neither guide nor receive
        values and are NaN in the result (fill or crop them before
        functions that reject NaN, e.g. ``result.fillna(0.0)``). Regions
        that the mask cuts apart (4-connectivity) are unwrapped separately;
        their relative 2π offset is unknown and a warning says so.
    congruent : bool
        Only for ``method="least_squares"``: snap the smooth solution to the
        input plus whole multiples of 2π (default True). ``False`` returns
        the smooth least-squares solution.

    Returns
    -------
    (..., M, N) xarray.DataArray [rad]
        Unwrapped phase, same dtype (float32 stays float32), dims, coords
        and attrs as the input, with ``units="rad"``,
        ``long_name="phase (unwrapped)"`` and attrs ``method``,
        ``residues`` (count of ±2π loops in the input, see :func:`residues`),
        ``residues_positive``, ``residues_negative``, ``discontinuities``
        (neighbour pairs differing by more than π in the result), ``regions``
        (connected regions unwrapped) and ``holocorr`` (provenance). For a
        stack the counts are lists, one value per frame.

    Warns
    -----
    HolocorrWarning
        When the input has residues or the result has discontinuities (with
        the counts and what to do), when a mask splits the image into
        several regions, and when the masked least-squares solver did not
        converge.

    Raises
    ------
    ShapeError
        For 1-D or >3-D input, wrong dim names, fewer than 4 px per axis or a
        mask of another shape.
    DataError
        For complex (pass ``np.angle(wave)``), non-numeric or NaN/inf phases
        or a non-bool mask.
    CalibrationError
        For a phase labelled in degrees.
    ParameterError
        For an unknown `method`, a mask that selects nothing or
        ``congruent=False`` with ``method="quality"``.

    References
    ----------
    .. [1] M. A. Herráez et al., Appl. Opt. 41, 7437 (2002), doi:10.1364/AO.41.007437.
    .. [2] D. C. Ghiglia and L. A. Romero, J. Opt. Soc. Am. A 11, 107 (1994),
       doi:10.1364/JOSAA.11.000107.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = np.arange(64) * 0.5                       # nm
    >>> true = np.tile(0.3 * x, (32, 1)) - 4.0        # 9.5 rad across the image
    >>> wrapped = xr.DataArray(np.angle(np.exp(1j * true)), dims=("y", "x"),
    ...                        coords={"y": np.arange(32) * 0.5, "x": x})
    >>> out = unwrap(wrapped)
    >>> d = out.values - true
    >>> bool(np.ptp(d) < 1e-9), int(round(float(d.mean()) / (2 * np.pi)))
    (True, 0)
    >>> out.attrs["residues"], out.attrs["discontinuities"]
    (0, 0)
    """
    _reject_complex(phase)
    da = as_dataarray(phase, name="phase")
    check_choice("method", method, _METHODS)
    if not isinstance(congruent, bool | np.bool_):
        raise ParameterError(f"congruent must be True or False, got {congruent!r}.")
    if method == "quality" and not congruent:
        raise ParameterError(
            "congruent=False is only available with method='least_squares'; the "
            "quality-guided result is always congruent with the input."
        )
    arr = _phase_values(da)
    valid = _mask_values(mask, da, arr.shape)

    frames = _frames(arr)
    vframes = _frames(valid) if valid is not None else [None] * frames.shape[0]
    out = np.empty(frames.shape, dtype=np.float64)
    n_res, n_pos, n_neg, n_disc, n_reg = [], [], [], [], []
    not_converged = []
    for f, (p, v) in enumerate(zip(frames, vframes, strict=True)):
        w = _k.wrap(p)
        r = _k.residue_map(w, v)
        n_pos.append(int((r > 0).sum()))
        n_neg.append(int((r < 0).sum()))
        n_res.append(n_pos[-1] + n_neg[-1])
        labels, nreg = _k.label_regions(np.ones(w.shape, bool) if v is None else v)
        n_reg.append(nreg)
        if method == "quality":
            u = _k.unwrap_quality(w, v)
            u = _k.align_offset(u, w, labels, nreg, congruent=True)
        else:
            u, iters, ok = _k.unwrap_least_squares(w, v)
            if not ok:
                not_converged.append((f, iters))
            u = _k.align_offset(u, w, labels, nreg, congruent=bool(congruent))
        n_disc.append(_k.count_discontinuities(u, v))
        out[f] = u
    result_values = out.reshape(arr.shape).astype(arr.dtype, copy=False)

    stacked = arr.ndim > 2
    where = " (summed over frames)" if stacked else ""
    if not_converged:
        warnings.warn(
            f"unwrap(method='least_squares'): the masked least-squares solver did not "
            f"converge in frame(s) {[f for f, _ in not_converged]} after "
            f"{not_converged[0][1]} iterations; the result may be inaccurate. Simplify "
            "the mask or use method='quality'.",
            HolocorrWarning,
            stacklevel=user_stacklevel(),
        )
    if max(n_reg) > 1:
        warnings.warn(
            f"unwrap: the mask splits the image into {max(n_reg)} disconnected regions "
            "(4-connectivity); each is unwrapped on its own and their relative 2π "
            "offset is not determined. Join them in the mask (or crop) if it matters.",
            HolocorrWarning,
            stacklevel=user_stacklevel(),
        )
    tot_res, tot_disc = sum(n_res), sum(n_disc)
    if tot_res or tot_disc:
        other = "'least_squares'" if method == "quality" else "'quality'"
        warnings.warn(
            f"unwrap(method={method!r}): the wrapped phase has {tot_res} residue(s) "
            f"({sum(n_pos)} positive, {sum(n_neg)} negative) and the result has "
            f"{tot_disc} discontinuit{'y' if tot_disc == 1 else 'ies'} (neighbour "
            f"differences > π){where}; the unwrapped phase is not reliable near them "
            "(see holocorr.holography.phase.residues(phase) for where they are). "
            "Reduce noise (smaller sideband aperture, more dose, denoise), or exclude "
            f"the region with mask=...; compare with method={other}"
            + ("." if method == "quality" else ", which keeps errors local."),
            HolocorrWarning,
            stacklevel=user_stacklevel(),
        )

    attrs = dict(da.attrs)
    attrs.update(
        {
            "units": "rad",
            "long_name": "phase (unwrapped)",
            "method": method,
            "residues": _per_frame_attr(n_res, stacked),
            "residues_positive": _per_frame_attr(n_pos, stacked),
            "residues_negative": _per_frame_attr(n_neg, stacked),
            "discontinuities": _per_frame_attr(n_disc, stacked),
            "regions": _per_frame_attr(n_reg, stacked),
            "holocorr": provenance(
                "holography.unwrap",
                {"method": method, "mask": mask, "congruent": bool(congruent)},
                {"phase": arr},
            ),
        }
    )
    return xr.DataArray(
        result_values,
        dims=da.dims,
        coords=da.coords,
        name=da.name if da.name is not None else "phase",
        attrs=attrs,
    )


# --------------------------------------------------------------------------- ramp


def _check_order(order: Any) -> int:
    if (
        isinstance(order, bool)
        or not isinstance(order, numbers.Integral)
        or not 0 <= int(order) <= 2
    ):
        raise ParameterError(
            f"order={order!r} is not allowed; choose 0 (offset), 1 (plane) or 2 "
            "(quadratic surface)."
        )
    return int(order)


def _term_names(order: int, ux: str, uy: str) -> tuple[list[str], list[str]]:
    names, units = [], []
    for i, j in _k.poly_terms(order):
        parts = [
            ("x" if i == 1 else f"x^{i}") if i else "",
            ("y" if j == 1 else f"y^{j}") if j else "",
        ]
        names.append("*".join(p for p in parts if p) or "1")
        if i == j == 0:
            units.append("rad")
            continue
        den = {}
        for u, e in ((ux, i), (uy, j)):
            if e:
                den[u] = den.get(u, 0) + e
        d = "*".join(u if e == 1 else f"{u}^{e}" for u, e in den.items())
        units.append(f"rad/{d}" if len(den) == 1 and "*" not in d else f"rad/({d})")
    return names, units


def remove_ramp(
    phase: Any,
    *,
    mask: Any = None,
    region: Mapping[str, slice] | None = None,
    order: int = 1,
) -> xr.DataArray:
    """Fit an offset, plane or quadratic surface to reference pixels and subtract it.

    The surface ``Σ c_ij x^i y^j`` (total degree ≤ `order`) is fitted by
    least squares to the pixels selected by `mask` and `region` (both
    together: their intersection; neither: the whole image), in the data's
    own coordinates (nm for calibrated data, px otherwise), and subtracted
    from every pixel. Use vacuum (or another region of known constant phase)
    as the reference; the object area is left as it was minus the surface.

    Parameters
    ----------
    phase : (..., M, N) xarray.DataArray or ndarray [rad]
        Unwrapped phase with dims ``(y, x)`` or ``(frame, y, x)`` (each
        frame gets its own fit). At least 4 px per axis; no NaN (pixels
        left NaN by ``unwrap(mask=...)`` must be filled or cropped first).
        A plain ndarray gets pixel coords and an
        :class:`~holocorr.errors.UncalibratedWarning`.
    mask : (M, N) or (..., M, N) bool array or DataArray, optional
        True = reference pixel (e.g. vacuum) used in the fit.
    region : dict of slice, optional
        Reference area as coordinate ranges in the data's units, inclusive,
        e.g. ``{"x": slice(0, 50)}`` for the first 50 nm along x.
    order : {0, 1, 2}
        0: offset only; 1: plane (default); 2: quadratic surface.

    Returns
    -------
    (..., M, N) xarray.DataArray [rad]
        ``phase - surface``, same dtype, dims, coords and attrs, with
        ``units="rad"``, ``ramp removed`` added to the long name and attrs:

        - ``ramp_coefficients``: the fitted ``c_ij`` (list; a list per frame
          for stacks) in the order of ``ramp_terms``;
        - ``ramp_terms``: ``["1", "x", "y", "x^2", "x*y", "y^2"][:K]``;
        - ``ramp_units``: e.g. ``["rad", "rad/nm", "rad/nm"]``;
        - ``ramp_origin``: the coefficients are for a polynomial in the
          coordinates themselves, origin at ``x = 0, y = 0`` of the coords
          (not the image centre), so ``c_00`` is the surface value there;
        - ``ramp_rms``: rms residual of the fit over the reference pixels
          [rad] (a list for stacks), ``ramp_points``: their number;
        - ``holocorr``: provenance including the coefficients.

    Raises
    ------
    ShapeError
        For 1-D or >3-D input, wrong dim names, fewer than 4 px per axis or a
        mask of another shape.
    DataError
        For complex, non-numeric or NaN/inf phases or a non-bool mask.
    ParameterError
        For an `order` other than 0/1/2, a mask or region that selects no
        pixels, too few or collinear reference pixels for the order, or a
        malformed `region`.
    CalibrationError
        For non-numeric coordinates or a phase in degrees.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x, y = np.arange(40) * 0.5, np.arange(30) * 0.5          # nm
    >>> ramp = 0.3 + 0.2 * x[None, :] - 0.1 * y[:, None]           # rad
    >>> nm = {"units": "nm"}
    >>> da = xr.DataArray(ramp, dims=("y", "x"), coords={"y": ("y", y, nm), "x": ("x", x, nm)})
    >>> flat = remove_ramp(da, region={"x": slice(0, 5)})
    >>> np.round(flat.attrs["ramp_coefficients"], 9).tolist(), flat.attrs["ramp_units"]
    ([0.3, 0.2, -0.1], ['rad', 'rad/nm', 'rad/nm'])
    >>> bool(abs(flat).max() < 1e-12)
    True
    """
    _reject_complex(phase)
    da = as_dataarray(phase, name="phase")
    order = _check_order(order)
    arr = _phase_values(da)
    xs, ux, _ = _coord(da, "x")
    ys, uy, _ = _coord(da, "y")
    valid = _mask_values(mask, da, arr.shape)
    rmask, rrecord = (None, None) if region is None else region_mask(region, da, name="region")

    terms = _k.poly_terms(order)
    nterms = len(terms)
    names, units = _term_names(order, ux, uy)
    frames = _frames(arr)
    vframes = _frames(valid) if valid is not None else [None] * frames.shape[0]
    out = np.empty(frames.shape, dtype=np.float64)
    coefs, rmss, npts = [], [], []
    stacked = arr.ndim > 2
    for f, (p, v) in enumerate(zip(frames, vframes, strict=True)):
        use = np.ones(p.shape, bool)
        if v is not None:
            use &= v
        if rmask is not None:
            use &= rmask
        n = int(use.sum())
        frame_txt = f" in frame {f}" if stacked else ""
        if n == 0:
            raise ParameterError(
                f"mask and region together select no pixels{frame_txt}; they must "
                "overlap (True in the mask marks reference pixels)."
            )
        if n < nterms:
            raise ParameterError(
                f"only {n} reference pixel(s){frame_txt} for order={order}, which needs "
                f"at least {nterms}; enlarge the mask/region or lower the order."
            )
        c, surface, rank, rms = _k.fit_surface(p, xs, ys, use, order)
        if rank < nterms:
            raise ParameterError(
                f"the {n} reference pixel(s){frame_txt} cannot fix an order-{order} "
                f"surface (design rank {rank} < {nterms}: they lie on one line or "
                "too few rows/columns); use a reference area extending along both x and "
                "y, or lower the order."
            )
        out[f] = np.asarray(p, dtype=np.float64) - surface
        coefs.append([float(a) for a in c])
        rmss.append(rms)
        npts.append(n)

    fitted = coefs if stacked else coefs[0]
    attrs = dict(da.attrs)
    long_name = str(attrs.get("long_name", "phase"))
    long_name = (
        long_name[:-1] + ", ramp removed)"
        if long_name.endswith(")")
        else long_name + " (ramp removed)"
    )
    attrs.update(
        {
            "units": "rad",
            "long_name": long_name,
            "ramp_order": order,
            "ramp_coefficients": fitted,
            "ramp_terms": names,
            "ramp_units": units,
            "ramp_origin": f"x = 0 {ux}, y = 0 {uy} of the coordinates",
            "ramp_rms": rmss if stacked else rmss[0],
            "ramp_points": npts if stacked else npts[0],
            "holocorr": provenance(
                "holography.remove_ramp",
                {
                    "mask": mask,
                    "region": rrecord,
                    "order": order,
                    "ramp_coefficients": fitted,
                    "ramp_terms": names,
                    "ramp_units": units,
                },
                {"phase": arr},
            ),
        }
    )
    return xr.DataArray(
        out.reshape(arr.shape).astype(arr.dtype, copy=False),
        dims=da.dims,
        coords=da.coords,
        name=da.name if da.name is not None else "phase",
        attrs=attrs,
    )
