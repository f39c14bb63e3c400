"""Common grids: resampling maps onto one nm grid, grid checks and resolution matching."""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from .._provenance import provenance
from .._validate import (
    as_dataarray,
    axis_step,
    check_choice,
    check_finite,
    check_positive,
    real_image,
    spatial_units_to_nm,
)
from ..errors import CalibrationError, ParameterError, ShapeError
from . import _kernels as K

__all__ = ["to_common_grid", "match_resolution", "check_same_grid"]

#: FWHM = _FWHM_PER_SIGMA * sigma for a Gaussian
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: FWHM of the amplitude point spread function 2 J1(v)/v of a hard circular
#: aperture of radius R, in units of 1/R (half maximum at v = 2 pi R r = 2.2152)
_AIRY_FWHM_PER_INV_R = 2.0 * 2.2152 / (2.0 * math.pi)

_PX_UNITS = ("px", "pixel", "pixels", "pix")


@dataclasses.dataclass(frozen=True)
class _Map:
    """A validated (y, x) map with its coordinates converted to nm (or px)."""

    da: xr.DataArray
    values: np.ndarray
    y: np.ndarray
    x: np.ndarray
    dy: float
    dx: float
    units: str  # "nm" or "px"
    name: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def extent(self, dim: str) -> tuple[float, float]:
        c = self.y if dim == "y" else self.x
        return float(c[0]), float(c[-1])

    def step(self, dim: str) -> float:
        return self.dy if dim == "y" else self.dx


def _coord_nm(da: xr.DataArray, dim: str, name: str, calibrated: bool) -> tuple[np.ndarray, float, str]:
    if dim not in da.coords:
        if calibrated:
            raise CalibrationError(
                f"{name} has no {dim!r} coordinate; expected positions in nm. Assign one, e.g. "
                f"{name}.assign_coords({dim}=('{dim}', step_nm * np.arange({name}.sizes['{dim}']), "
                "{'units': 'nm'}))."
            )
        return np.arange(da.sizes[dim], dtype=np.float64), 1.0, "px"
    units = da[dim].attrs.get("units")
    if units is None:
        raise CalibrationError(
            f"{name}[{dim!r}] has no 'units' attribute; expected a length unit such as 'nm'. "
            f"Set it, e.g. {name}[{dim!r}].attrs['units'] = 'nm'."
        )
    step, _ = axis_step(da, dim)
    c = np.asarray(da[dim].values, dtype=np.float64)
    if str(units).strip().lower() in _PX_UNITS:
        if calibrated:
            raise CalibrationError(
                f"{name}[{dim!r}] is in pixels (uncalibrated); comparing maps needs coordinates in "
                "nm. Assign calibrated coordinates (e.g. from the file's pixel size) first."
            )
        return c, step, "px"
    factor = spatial_units_to_nm(units)
    if factor is None:
        raise CalibrationError(
            f"{name}[{dim!r}] has units {units!r}, which is not a length; expected nm "
            "(or another length unit such as 'um' or 'A')."
        )
    return c * factor, step * factor, "nm"


def _as_map(data: Any, name: str, *, calibrated: bool = True, min_size: int = 8) -> _Map:
    da = as_dataarray(data, name=name, dims=("y", "x"), leading=())
    values = real_image(da, name=name, min_size=min_size)
    check_finite(values, name=name)
    y, dy, uy = _coord_nm(da, "y", name, calibrated)
    x, dx, ux = _coord_nm(da, "x", name, calibrated)
    if uy != ux:
        raise CalibrationError(
            f"{name} has 'y' in {da['y'].attrs.get('units', 'px')!r} but 'x' in "
            f"{da['x'].attrs.get('units', 'px')!r}; give both axes a length unit such as 'nm'."
        )
    return _Map(da, values, y, x, dy, dx, uy, name)


def _same_units(maps: list[_Map]) -> str:
    kinds = {m.units for m in maps}
    if len(kinds) > 1:
        names = ", ".join(f"{m.name} in {m.units}" for m in maps)
        raise CalibrationError(
            f"the maps mix calibrated and pixel coordinates ({names}); give every map "
            "coordinates in a length unit such as nm."
        )
    return kinds.pop()


def _coord(values: np.ndarray, dim: str, like: xr.DataArray | None, units: str) -> xr.DataArray:
    long_name = dim
    if like is not None and dim in like.coords:
        long_name = str(like[dim].attrs.get("long_name", dim))
    return xr.DataArray(values, dims=(dim,), attrs={"units": units, "long_name": long_name})


def _spacing_pair(spacing: Any, default: float) -> tuple[float, float]:
    if spacing is None:
        return default, default
    if isinstance(spacing, tuple | list):
        if len(spacing) != 2:
            raise ParameterError(f"spacing must be a number or a (dy, dx) pair in nm, got {spacing!r}.")
        return (
            check_positive("spacing[0]", spacing[0], unit="nm"),
            check_positive("spacing[1]", spacing[1], unit="nm"),
        )
    s = check_positive("spacing", spacing, unit="nm")
    return s, s


def _grid_axis(maps: list[_Map], dim: str, step: float, anchor: float, extent: str) -> np.ndarray:
    starts = [m.extent(dim)[0] for m in maps]
    ends = [m.extent(dim)[1] for m in maps]
    lo, hi = (max(starts), min(ends)) if extent == "intersection" else (min(starts), max(ends))
    if hi < lo:
        spans = ", ".join(f"{m.name}: {a:.6g} to {b:.6g} nm" for m, a, b in zip(maps, starts, ends, strict=True))
        raise ShapeError(
            f"the maps do not overlap along {dim!r} ({spans}); check the coordinates, or use "
            "holocorr.registration.register to find the shift between them first."
        )
    k0 = math.ceil((lo - anchor) / step - 1e-6)
    k1 = math.floor((hi - anchor) / step + 1e-6)
    if k1 - k0 + 1 < 2:
        raise ShapeError(
            f"the common {extent} along {dim!r} ({lo:.6g} to {hi:.6g} nm) holds fewer than two "
            f"points at spacing {step:.6g} nm; choose a smaller spacing or maps that overlap more."
        )
    return anchor + step * np.arange(k0, k1 + 1, dtype=np.float64)


def resample_map(m: _Map, gy: np.ndarray, gx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of map `m` on the grid gy x gx [nm] (float64) and the valid mask.

    Anti-aliased by :func:`._kernels.antialias_sigma` along each axis that is
    downsampled; cubic spline interpolation; pixels outside the map's sampled
    range (its first to last coordinate) are marked invalid (their values are
    the nearest edge values).
    """
    iy = (gy - m.y[0]) / m.dy
    ix = (gx - m.x[0]) / m.dx
    sy = (gy[1] - gy[0]) / m.dy if gy.size > 1 else 1.0
    sx = (gx[1] - gx[0]) / m.dx if gx.size > 1 else 1.0
    valid = K.inside(iy, m.shape[0])[:, None] & K.inside(ix, m.shape[1])[None, :]
    src = np.asarray(m.values, dtype=np.float64)
    ry, rx = np.rint(iy), np.rint(ix)
    if (
        abs(sy - 1.0) < 1e-9
        and abs(sx - 1.0) < 1e-9
        and np.allclose(iy, ry, atol=1e-6)
        and np.allclose(ix, rx, atol=1e-6)
    ):
        # the grid is a sub-grid of the map's own: copy, no interpolation
        yy = np.clip(ry.astype(np.int64), 0, m.shape[0] - 1)
        xx = np.clip(rx.astype(np.int64), 0, m.shape[1] - 1)
        return src[np.ix_(yy, xx)], valid
    filt = K.prefilter(src, (K.antialias_sigma(sy), K.antialias_sigma(sx)))
    return K.resample_axes(filt, iy, ix), valid


def to_common_grid(*arrays, spacing=None, extent: str = "intersection") -> tuple[xr.DataArray, ...]:
    """Resample maps with different pixel sizes and fields of view onto one nm grid.

    The grid has points at ``anchor + k * spacing`` along each axis, where the
    anchor is the first (y, x) coordinate of the map with the coarsest pixel,
    so that map is copied without interpolation when the spacing is its own.
    Each map is interpolated with cubic B-splines; along an axis where the new
    spacing is coarser than the map's step (ratio r > 1) it is first
    low-passed with a Gaussian of sigma = 0.5 sqrt(r^2 - 1) old pixels (the
    map is taken to carry a blur of half its pixel and is brought to half the
    new pixel; the response is 0.29 at the new Nyquist frequency and below
    exp(-pi^2 (r^2 - 1)/8) at the old one), so detail finer than the new
    pixel averages out instead of aliasing.

    Parameters
    ----------
    *arrays : xarray.DataArray
        Maps with dims (y, x) and coordinates in a length unit (converted to
        nm); at least one.
    spacing : float or (float, float), optional
        Grid spacing [nm], one value or (dy, dx). Default: the coarsest pixel
        of all maps along either axis.
    extent : {"intersection", "union"}
        ``"intersection"`` keeps the area that every map covers (from the
        first to the last pixel centre), so every value is measured.
        ``"union"`` covers every map's area; points outside a map's field of
        view are NaN in that map's output, which then carries a boolean
        ``valid`` coordinate (y, x): NaN never appears without it.

    Returns
    -------
    tuple of xarray.DataArray
        The maps in input order on identical ``y``, ``x`` coordinates [nm],
        with the input dtype (float32 stays float32; integers become float),
        name and attrs, and ``attrs["holocorr"]`` provenance.

    Raises
    ------
    ShapeError
        Wrong dims, images under 8 px, no overlap (intersection) or fewer
        than two grid points.
    CalibrationError
        Missing coordinates, coordinates without units or in pixels,
        non-uniform or descending coordinates.
    DataError
        NaN/inf or non-numeric values.
    ParameterError
        Bad `spacing` or `extent`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> def grid_map(step, n):
    ...     c = {d: (d, step * np.arange(n), {"units": "nm"}) for d in ("y", "x")}
    ...     return xr.DataArray(np.ones((n, n)), dims=("y", "x"), coords=c)
    >>> a, b = to_common_grid(grid_map(2.0, 40), grid_map(5.0, 10))
    >>> a["x"].values[:3], a.shape == b.shape
    (array([ 0.,  5., 10.]), True)
    """
    if not arrays:
        raise ParameterError("to_common_grid needs at least one map, e.g. to_common_grid(potential, li_map).")
    check_choice("extent", extent, ("intersection", "union"))
    maps = [_as_map(a, f"arrays[{i}]") for i, a in enumerate(arrays)]
    coarsest = max(maps, key=lambda m: max(m.dy, m.dx))
    sy, sx = _spacing_pair(spacing, max(coarsest.dy, coarsest.dx))
    gy = _grid_axis(maps, "y", sy, float(coarsest.y[0]), extent)
    gx = _grid_axis(maps, "x", sx, float(coarsest.x[0]), extent)
    out = []
    params = {"spacing": [sy, sx], "extent": extent}
    for i, m in enumerate(maps):
        vals, valid = resample_map(m, gy, gx)
        dtype = m.values.dtype
        coords = {"y": _coord(gy, "y", m.da, "nm"), "x": _coord(gx, "x", m.da, "nm")}
        if not valid.all():
            vals = np.where(valid, vals, np.nan)
            coords["valid"] = xr.DataArray(
                valid, dims=("y", "x"), attrs={"units": "1", "long_name": "inside the map's field of view"}
            )
        for cname, c in m.da.coords.items():
            if cname not in ("y", "x") and not (set(c.dims) & {"y", "x"}):
                coords[cname] = c
        attrs = {k: v for k, v in m.da.attrs.items() if k != "holocorr"}
        attrs["holocorr"] = provenance("registration.to_common_grid", dict(params, index=i), {"array": m.values})
        out.append(
            xr.DataArray(vals.astype(dtype, copy=False), dims=("y", "x"), coords=coords, name=m.da.name, attrs=attrs)
        )
    return tuple(out)


def check_same_grid(*arrays, names=None) -> None:
    """Raise unless all maps share the same (y, x) grid (shape and coordinates).

    Use it before comparing maps pixel by pixel.

    Parameters
    ----------
    *arrays : xarray.DataArray
        Maps with dims (y, x).
    names : sequence of str, optional
        Names used in the message (default ``arrays[i]``).

    Raises
    ------
    ShapeError
        Different shapes or coordinates; the message says how to bring the
        maps onto one grid.
    CalibrationError
        Maps that mix pixel and length coordinates.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> c = {d: (d, 2.0 * np.arange(8), {"units": "nm"}) for d in ("y", "x")}
    >>> a = xr.DataArray(np.zeros((8, 8)), dims=("y", "x"), coords=c)
    >>> check_same_grid(a, a + 1)
    """
    names = list(names) if names is not None else [f"arrays[{i}]" for i in range(len(arrays))]
    if len(names) != len(arrays):
        raise ParameterError(f"names has {len(names)} entries for {len(arrays)} maps.")
    maps = [_as_map(a, n, calibrated=False, min_size=1) for a, n in zip(arrays, names, strict=True)]
    _same_units(maps)
    fix = (
        "Bring them onto one grid with holocorr.registration.to_common_grid(a, b), or register "
        "them first: holocorr.registration.register(moving, fixed).apply(moving, like=fixed)."
    )
    ref = maps[0]
    for m in maps[1:]:
        if m.shape != ref.shape:
            raise ShapeError(
                f"{m.name} has shape {m.shape} but {ref.name} has {ref.shape}: the maps are on different grids. {fix}"
            )
        for dim in ("y", "x"):
            a, b = (ref.y, m.y) if dim == "y" else (ref.x, m.x)
            tol = 1e-6 * max(ref.step(dim), m.step(dim))
            if np.max(np.abs(a - b)) > tol:
                raise ShapeError(
                    f"{m.name} and {ref.name} have different {dim!r} coordinates ({b[0]:.6g}..{b[-1]:.6g} "
                    f"vs {a[0]:.6g}..{a[-1]:.6g} {ref.units}): the maps are on different grids. {fix}"
                )


def _fwhm_from_attrs(da: xr.DataArray) -> float | None:
    attrs = da.attrs
    if attrs.get("psf_fwhm_nm") is not None:
        return float(attrs["psf_fwhm_nm"])
    if attrs.get("resolution_nm") is not None:
        return float(attrs["resolution_nm"]) * _AIRY_FWHM_PER_INV_R
    return None


def match_resolution(a, b, *, fwhm=None) -> tuple[xr.DataArray, xr.DataArray]:
    """Blur the sharper of two maps to the other's resolution (Gaussian PSF model).

    Each map's point spread function is modelled as a Gaussian of full width
    at half maximum FWHM = 2 sqrt(2 ln 2) sigma = 2.3548 sigma. The sharper
    map is convolved with a Gaussian of sigma_add = sqrt(sigma_b^2 -
    sigma_a^2), so both end with the broader PSF; an erf edge of
    sigma_a then has sigma_b (its 10-90 % width is 2.563 sigma). Each map
    stays on its own grid (sigma_add is converted to pixels per axis); the
    blur uses 'nearest' edges.

    Resolutions, in order of precedence: `fwhm`; ``attrs["psf_fwhm_nm"]``
    (the Gaussian FWHM in nm); ``attrs["resolution_nm"]`` as written by
    :func:`holocorr.holography.reconstruct` (d = 1/R for an aperture of
    radius R), taken as the FWHM 0.705 d of the amplitude PSF 2 J1(v)/v of a
    hard circular aperture (v = 2 pi R r): the Gaussian with the same FWHM.
    Pixel integration is not added; include it in the FWHM if it matters
    (a pixel of size s adds s^2/12 to sigma^2).

    Parameters
    ----------
    a, b : xarray.DataArray
        Maps with dims (y, x) and coordinates in a length unit.
    fwhm : (float or None, float or None), optional
        FWHM of the PSF of `a` and `b` [nm]; None entries come from attrs.

    Returns
    -------
    (xarray.DataArray, xarray.DataArray)
        `a` and `b` in that order, the sharper one blurred, both with
        ``attrs["psf_fwhm_nm"]`` set to the common FWHM, ``psf_model`` and
        provenance. Input dtypes are kept.

    Raises
    ------
    ParameterError
        Unknown resolution (neither `fwhm` nor attrs), non-positive FWHM.
    ShapeError, CalibrationError, DataError
        As for :func:`to_common_grid`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> c = {d: (d, 1.0 * np.arange(64), {"units": "nm"}) for d in ("y", "x")}
    >>> sharp = xr.DataArray(np.zeros((64, 64)), dims=("y", "x"), coords=c)
    >>> a, b = match_resolution(sharp, sharp, fwhm=(2.0, 5.0))
    >>> a.attrs["psf_fwhm_nm"]
    5.0
    """
    ma, mb = _as_map(a, "a"), _as_map(b, "b")
    if fwhm is None:
        fwhm = (None, None)
    if not isinstance(fwhm, tuple | list) or len(fwhm) != 2:
        raise ParameterError(f"fwhm must be a pair (fwhm_a, fwhm_b) in nm (None to read attrs), got {fwhm!r}.")
    res = []
    for m, f in zip((ma, mb), fwhm, strict=True):
        if f is None:
            f = _fwhm_from_attrs(m.da)
            if f is None:
                raise ParameterError(
                    f"the resolution of {m.name} is unknown: pass fwhm=(fwhm_a, fwhm_b) in nm, or set "
                    f"{m.name}.attrs['psf_fwhm_nm'] (Gaussian FWHM) or 'resolution_nm' (holography 1/R)."
                )
            name = f"{m.name}.attrs resolution"
        else:
            name = f"fwhm for {m.name}"
        if isinstance(f, bool) or not isinstance(f, numbers.Real):
            raise ParameterError(f"{name} must be a number in nm, got {f!r}.")
        res.append(check_positive(name, f, unit="nm"))
    fa, fb = res
    target = max(fa, fb)
    sig_add = math.sqrt(abs(fb * fb - fa * fa)) / _FWHM_PER_SIGMA
    out = []
    for m, f in ((ma, fa), (mb, fb)):
        vals = m.values
        blurred = f < target and sig_add > 0
        if blurred:
            vals = ndimage.gaussian_filter(
                np.asarray(vals, dtype=np.float64), sigma=(sig_add / m.dy, sig_add / m.dx), mode="nearest"
            )
        attrs = {k: v for k, v in m.da.attrs.items() if k != "holocorr"}
        attrs.update({"psf_fwhm_nm": float(target), "psf_model": "gaussian"})
        attrs["holocorr"] = provenance(
            "registration.match_resolution",
            {
                "fwhm_a": fa,
                "fwhm_b": fb,
                "blurred": bool(blurred),
                "added_sigma_nm": float(sig_add) if blurred else 0.0,
            },
            {"a": ma.values, "b": mb.values},
        )
        out.append(
            m.da.copy(data=np.asarray(vals).astype(m.values.dtype, copy=False)).assign_attrs(attrs)
            if blurred
            else m.da.copy(data=m.values.copy()).assign_attrs(attrs)
        )
    return out[0], out[1]
