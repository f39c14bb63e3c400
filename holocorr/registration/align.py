"""Registration of two maps: shift (and rotation) with an honest error, and resampling."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import warnings
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from .._provenance import jsonable, provenance
from .._validate import check_choice, check_positive, user_stacklevel
from ..errors import DataError, HolocorrWarning, ParameterError, ShapeError
from . import _kernels as K
from .grid import _as_map, _coord, _grid_axis, _Map, resample_map
from .interface import find_interface

__all__ = ["Registration", "register"]

_METHODS = ("phase", "mutual_information", "interface")
_OUTSIDE = ("crop", "nan")
#: bins of the intensity histograms of the mutual information
_NBINS = 32
#: longest side of the coarse grid of the global mutual-information search [px]
_COARSE_PX = 64
#: longest side of the default registration grid [px]
_MAX_GRID_PX = 512


@dataclasses.dataclass(frozen=True)
class Registration:
    """Result of :func:`register`: how the moving map sits on the fixed one.

    A point at ``p`` in the moving map's coordinates lies at
    ``r = c + R(rotation) (p - c) + shift`` in the fixed map's coordinates
    (R turns +x toward +y; ``c = center_nm``), so without rotation
    ``fixed(r) ~ moving(r - shift_nm)``.

    Attributes
    ----------
    shift_nm : (float, float)
        (dy, dx) [nm].
    rotation_deg : float
        Rotation [deg], 0 when not estimated.
    error_nm : (float, float)
        1-sigma uncertainty of dy and dx [nm]; ``inf`` when the data do not
        constrain the shift along that axis (e.g. along a straight
        interface that is not parallel to it).
    rotation_error_deg : float
        1-sigma uncertainty of the rotation [deg] (NaN when not estimated).
    principal_directions : ((float, float), (float, float))
        Unit (dy, dx) directions of the principal errors, best first.
    principal_errors_nm : (float, float)
        1-sigma errors along `principal_directions` [nm]; the second is
        ``inf`` along an unconstrained direction.
    condition : float
        Ratio of the largest to the smallest eigenvalue of the shared
        gradient (cross structure) tensor of the two maps, ``inf`` when a
        direction is unconstrained (always for method "interface").
    method : str
        ``"phase"``, ``"mutual_information"`` or ``"interface"``.
    similarity : float
        Correlation of the fixed map with the intensity-mapped moving map at
        the optimum (NaN for method "interface").
    spacing_nm : float
        Grid spacing used for the estimate [nm].
    center_nm : (float, float)
        Rotation centre (y, x) in the fixed frame [nm].
    fixed_grid : dict
        ``{"y": [first, step, n], "x": [first, step, n]}`` of the fixed map [nm].
    info : dict
        Method-specific diagnostics (JSON types).
    provenance : str
        JSON provenance of the call.
    """

    shift_nm: tuple[float, float]
    rotation_deg: float
    error_nm: tuple[float, float]
    rotation_error_deg: float
    principal_directions: tuple[tuple[float, float], tuple[float, float]]
    principal_errors_nm: tuple[float, float]
    condition: float
    method: str
    similarity: float
    spacing_nm: float
    center_nm: tuple[float, float]
    fixed_grid: dict
    info: dict
    provenance: str

    @property
    def constrained(self) -> tuple[bool, bool]:
        """Whether the shift is constrained along each of `principal_directions`."""
        return tuple(math.isfinite(e) for e in self.principal_errors_nm)

    def error_along(self, direction) -> float:
        """1-sigma error of the shift component along a (dy, dx) direction [nm].

        Parameters
        ----------
        direction : (float, float)
            Direction (normalised here), e.g. an interface normal.

        Returns
        -------
        float
            ``inf`` when the direction has any component along an
            unconstrained principal direction. Across an interface use the
            measured normal, ``principal_directions[0]`` (a nominal normal
            that differs from it by a hair still has an infinite error).
        """
        d = np.asarray(direction, dtype=np.float64).reshape(-1)
        if d.size != 2 or not np.all(np.isfinite(d)) or not np.any(d):
            raise ParameterError(f"direction must be a non-zero (dy, dx) pair, got {direction!r}.")
        d = d / np.linalg.norm(d)
        var = 0.0
        for v, s in zip(self.principal_directions, self.principal_errors_nm, strict=True):
            c = float(d @ np.asarray(v))
            if abs(c) < 1e-9:
                continue
            var += c * c * s * s
        return math.sqrt(var)

    def to_dict(self) -> dict:
        """JSON-ready dict of all fields (infinities and NaN as strings)."""
        return jsonable(dataclasses.asdict(self))

    def apply(self, moving, like=None, *, outside: str = "crop") -> xr.DataArray:
        """Resample a map in the moving frame onto the fixed map's grid.

        Cubic B-spline interpolation, with the anti-aliasing Gaussian of
        :func:`holocorr.registration.to_common_grid` when the fixed grid is
        coarser. Any map in the moving map's coordinate frame can be
        resampled (e.g. register on the amplitude, apply to the phase).

        Parameters
        ----------
        moving : xarray.DataArray
            Map with dims (y, x) in the moving frame, coordinates in a
            length unit.
        like : xarray.DataArray, optional
            A map on the target grid (usually the fixed map); default: the
            fixed map's grid stored in :attr:`fixed_grid` (coordinates in nm).
        outside : {"crop", "nan"}
            Fixed-grid pixels outside the moving map's field of view:
            ``"crop"`` returns the largest rectangle of the fixed grid that
            the moving map covers completely; ``"nan"`` returns the whole
            grid with NaN there and a boolean ``valid`` coordinate (y, x).

        Returns
        -------
        xarray.DataArray
            `moving` on (part of) the fixed grid, its dtype, name and attrs,
            plus ``attrs["registration"]`` (JSON of this result) and provenance.

        Raises
        ------
        ShapeError
            When the moving map does not cover any fixed-grid pixel (with
            "crop": no 2x2 rectangle).
        ParameterError, CalibrationError, DataError
            Bad `outside`, coordinates or values.
        """
        check_choice("outside", outside, _OUTSIDE)
        mm = _as_map(moving, "moving")
        if like is None:
            gy = self.fixed_grid["y"][0] + self.fixed_grid["y"][1] * np.arange(self.fixed_grid["y"][2])
            gx = self.fixed_grid["x"][0] + self.fixed_grid["x"][1] * np.arange(self.fixed_grid["x"][2])
            cy, cx = _coord(gy, "y", None, "nm"), _coord(gx, "x", None, "nm")
        else:
            ml = _as_map(like, "like")
            gy, gx = ml.y, ml.x
            cy, cx = ml.da["y"], ml.da["x"]
        vals, valid = _resample_moving(mm, gy, gx, self.shift_nm, math.radians(self.rotation_deg), self.center_nm)
        if not valid.any():
            raise ShapeError(
                "the moving map does not cover any pixel of the fixed grid after registration "
                f"(shift {self.shift_nm[0]:.4g}, {self.shift_nm[1]:.4g} nm); check the maps and the grid."
            )
        coords = {"y": cy, "x": cx}
        if outside == "crop":
            y0, y1, x0, x1 = K.largest_rectangle(valid)
            if y1 - y0 < 2 or x1 - x0 < 2:
                raise ShapeError(
                    f"the moving map covers no rectangle of at least 2x2 fixed-grid pixels "
                    f"(largest {y1 - y0}x{x1 - x0}); use outside='nan' or check the registration."
                )
            vals = vals[y0:y1, x0:x1]
            coords = {"y": cy[y0:y1], "x": cx[x0:x1]}
        elif not valid.all():
            vals = np.where(valid, vals, np.nan)
            coords["valid"] = xr.DataArray(
                valid, dims=("y", "x"), attrs={"units": "1", "long_name": "inside the moving map's field of view"}
            )
        for cname, c in mm.da.coords.items():
            if cname not in ("y", "x") and not (set(c.dims) & {"y", "x"}):
                coords[cname] = c
        attrs = {k: v for k, v in mm.da.attrs.items() if k != "holocorr"}
        reg = json.dumps(self.to_dict(), sort_keys=True)
        attrs["registration"] = reg
        attrs["holocorr"] = provenance(
            "registration.Registration.apply",
            {"registration": reg, "outside": outside},
            {"moving": mm.values, "like": None if like is None else gy},
        )
        return xr.DataArray(
            vals.astype(mm.values.dtype, copy=False), dims=("y", "x"), coords=coords, name=mm.da.name, attrs=attrs
        )


def _resample_moving(mm: _Map, gy: np.ndarray, gx: np.ndarray, shift, theta: float, center):
    """Values of the moving map at the fixed grid points gy x gx [nm] and the valid mask."""
    ty, tx = shift
    sy = abs(gy[1] - gy[0]) / mm.dy if gy.size > 1 else 1.0
    sx = abs(gx[1] - gx[0]) / mm.dx if gx.size > 1 else 1.0
    if theta == 0.0:
        iy = (gy - ty - mm.y[0]) / mm.dy
        ix = (gx - tx - mm.x[0]) / mm.dx
        valid = K.inside(iy, mm.shape[0])[:, None] & K.inside(ix, mm.shape[1])[None, :]
        src = K.prefilter(np.asarray(mm.values, dtype=np.float64), (K.antialias_sigma(sy), K.antialias_sigma(sx)))
        return K.resample_axes(src, iy, ix), valid
    cy, cx = center
    yy, xx = np.meshgrid(gy - cy - ty, gx - cx - tx, indexing="ij")
    r = K.rot(-theta)
    py = cy + r[0, 0] * yy + r[0, 1] * xx
    px = cx + r[1, 0] * yy + r[1, 1] * xx
    iy = (py - mm.y[0]) / mm.dy
    ix = (px - mm.x[0]) / mm.dx
    valid = K.inside(iy, mm.shape[0]) & K.inside(ix, mm.shape[1])
    src = K.prefilter(np.asarray(mm.values, dtype=np.float64), (K.antialias_sigma(sy), K.antialias_sigma(sx)))
    vals = ndimage.map_coordinates(src, [iy, ix], order=3, mode="nearest")
    return vals, valid


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def _max_shift(value: Any) -> tuple[float, float]:
    if value is None:
        return math.inf, math.inf
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ParameterError(f"max_shift_nm must be a number or a (dy, dx) pair in nm, got {value!r}.")
        return (
            check_positive("max_shift_nm[0]", value[0], unit="nm"),
            check_positive("max_shift_nm[1]", value[1], unit="nm"),
        )
    v = check_positive("max_shift_nm", value, unit="nm")
    return v, v


def _principal(cov2: np.ndarray, unconstrained: list[np.ndarray]):
    """Principal directions and 1-sigma errors of a 2-D shift with unconstrained directions."""
    weak = [w for w in unconstrained if np.linalg.norm(w) > 1e-3]
    if len(weak) >= 2:
        w0 = weak[0] / np.linalg.norm(weak[0])
        if any(abs(float(w0 @ (w / np.linalg.norm(w)))) < 0.999 for w in weak[1:]):
            return ((1.0, 0.0), (0.0, 1.0)), (math.inf, math.inf)
    if weak:
        w = weak[0] / np.linalg.norm(weak[0])
        s = np.array([-w[1], w[0]])
        if s[np.argmax(np.abs(s))] < 0:
            s = -s
        if w[np.argmax(np.abs(w))] < 0:
            w = -w
        err = math.sqrt(max(float(s @ cov2 @ s), 0.0))
        return ((float(s[0]), float(s[1])), (float(w[0]), float(w[1]))), (err, math.inf)
    ev, vec = np.linalg.eigh(cov2)
    dirs = []
    for i in range(2):
        v = vec[:, i]
        if v[np.argmax(np.abs(v))] < 0:
            v = -v
        dirs.append((float(v[0]), float(v[1])))
    return (dirs[0], dirs[1]), (math.sqrt(max(ev[0], 0.0)), math.sqrt(max(ev[1], 0.0)))


def _axis_errors(dirs, errs) -> tuple[float, float]:
    out = []
    for axis in (np.array([1.0, 0.0]), np.array([0.0, 1.0])):
        var = 0.0
        for v, s in zip(dirs, errs, strict=True):
            c = float(axis @ np.asarray(v))
            if abs(c) < 1e-9:
                continue
            var += c * c * s * s
        out.append(math.sqrt(var))
    return out[0], out[1]


def _fixed_grid(mf: _Map) -> dict:
    return {
        "y": [float(mf.y[0]), float(mf.dy), int(mf.shape[0])],
        "x": [float(mf.x[0]), float(mf.dx), int(mf.shape[1])],
    }


# --------------------------------------------------------------------------- #
# the methods
# --------------------------------------------------------------------------- #


def _interface_method(mm: _Map, mf: _Map, hint, rotation: bool) -> dict:
    itf_f = find_interface(mf.da, hint=hint)
    itf_m = find_interface(mm.da, hint=hint)
    nf = np.array(itf_f.normal)
    nm_ = np.array(itf_m.normal)
    pf = np.array(itf_f.point)
    center = (0.5 * (mf.y[0] + mf.y[-1]), 0.5 * (mf.x[0] + mf.x[-1]))
    dot = float(nf @ nm_)
    # angle between the interface lines, folded into (-90, 90] deg
    dang = itf_f.angle_deg - itf_m.angle_deg
    dang = (dang + 90.0) % 180.0 - 90.0
    if rotation:
        theta = math.radians(dang)
        c = np.array(center)
        pm = np.array(itf_m.point)
        pm_rot = c + K.rot(theta) @ (pm - c)
        delta = float((pf - pm_rot) @ nf)
        rot_deg = dang
        rot_err = math.hypot(itf_f.angle_error_deg, itf_m.angle_error_deg)
    else:
        if abs(dot) < math.cos(math.radians(20.0)):
            raise ParameterError(
                f"the interfaces of the two maps differ in direction by {abs(dang):.1f} deg; align their "
                "rotation first or pass rotation=True."
            )
        # moving's curve shifted by delta n_f passes through p_f:
        # d_m(p_f - delta n_f) ~ d_m(p_f) - delta (n_f . n_m) = 0
        d_m = float(itf_m.signed_distance(pf[0], pf[1]))
        delta = d_m / dot
        rot_deg, rot_err = 0.0, math.nan
    sig_n = math.hypot(itf_f.position_error, itf_m.position_error_at(pf[0], pf[1]))
    shift = delta * nf
    tang = np.array([-nf[1], nf[0]])
    n_dir = nf if nf[np.argmax(np.abs(nf))] > 0 else -nf
    t_dir = tang if tang[np.argmax(np.abs(tang))] > 0 else -tang
    dirs = ((float(n_dir[0]), float(n_dir[1])), (float(t_dir[0]), float(t_dir[1])))
    errs = (sig_n, math.inf)
    return {
        "shift": (float(shift[0]), float(shift[1])),
        "rotation_deg": float(rot_deg),
        "rotation_error_deg": float(rot_err),
        "dirs": dirs,
        "errs": errs,
        "condition": math.inf,
        "similarity": math.nan,
        "spacing": float(max(mf.dy, mf.dx, mm.dy, mm.dx)),
        "center": center,
        "info": {
            "interface_fixed": itf_f.to_dict(),
            "interface_moving": itf_m.to_dict(),
            "normal_shift_nm": float(delta),
            "angle_difference_deg": float(dang),
        },
    }


def _union_grid(mm: _Map, mf: _Map, spacing: float | None):
    maps = [mf, mm]
    coarsest = max(maps, key=lambda m: max(m.dy, m.dx))
    s = spacing if spacing is not None else max(coarsest.dy, coarsest.dx)
    gy = _grid_axis(maps, "y", s, float(coarsest.y[0]), "union")
    gx = _grid_axis(maps, "x", s, float(coarsest.x[0]), "union")
    return s, gy, gx


def _allowed(count: np.ndarray, min_count: float, max_px: tuple[float, float]) -> np.ndarray:
    m, n = (count.shape[0] + 1) // 2, (count.shape[1] + 1) // 2
    uy = np.arange(-(m - 1), m)[:, None]
    ux = np.arange(-(n - 1), n)[None, :]
    return (count >= min_count) & (np.abs(uy) <= max_px[0] + 1e-9) & (np.abs(ux) <= max_px[1] + 1e-9)


def _overlap_error(min_overlap: float) -> ShapeError:
    return ShapeError(
        f"no shift gives an overlap of at least min_overlap={min_overlap:g} of the smaller map within "
        "max_shift_nm; check that both maps show the same area, or lower min_overlap."
    )


def _phase_global(F, vf, M, vm, min_count, max_px, upsample):
    from skimage.registration import phase_cross_correlation

    ncc, count = K.masked_ncc(F, vf, M, vm)
    ok = _allowed(count, min_count, max_px)
    if not ok.any():
        return None
    score = np.where(ok, ncc, -np.inf)
    iy, ix = np.unravel_index(int(np.argmax(score)), score.shape)
    oy, ox = np.nonzero(ok)
    extent = (float(np.ptp(oy)), float(np.ptp(ox)))
    u = (iy - (F.shape[0] - 1), ix - (F.shape[1] - 1))
    # overlap of f(r) and m(r - u)
    h, w = F.shape
    ya, yb = slice(max(0, u[0]), min(h, h + u[0])), slice(max(0, -u[0]), min(h, h - u[0]))
    xa, xb = slice(max(0, u[1]), min(w, w + u[1])), slice(max(0, -u[1]), min(w, w - u[1]))
    vm_s = np.zeros_like(vm)
    vm_s[ya, xa] = vm[yb, xb]
    both = vf & vm_s
    ys, xs = np.nonzero(both.any(axis=1))[0], np.nonzero(both.any(axis=0))[0]
    delta = (0.0, 0.0)
    if ys.size >= 8 and xs.size >= 8:
        fy, fx = slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)
        my, mx = slice(ys[0] - u[0], ys[-1] + 1 - u[0]), slice(xs[0] - u[1], xs[-1] + 1 - u[1])
        a, b = F[fy, fx], M[my, mx]
        win = np.hanning(a.shape[0])[:, None] * np.hanning(a.shape[1])[None, :]
        a = (a - a.mean()) * win
        b = (b - b.mean()) * win
        with warnings.catch_warnings():  # skimage warns about its RMS error for flat crops
            warnings.simplefilter("ignore", UserWarning)
            sh, _, _ = phase_cross_correlation(a, b, upsample_factor=upsample, normalization=None)
        if abs(sh[0]) <= 1.5 and abs(sh[1]) <= 1.5:
            delta = (float(sh[0]), float(sh[1]))
    return {
        "integer": u,
        "shift_px": np.array([u[0] + delta[0], u[1] + delta[1]]),
        "ncc": float(ncc[iy, ix]),
        "extent": extent,
    }


def _mi_global(F, vf, M, vm, min_overlap, max_px):
    h, w = F.shape
    k = max(1, math.ceil(max(h, w) / _COARSE_PX))
    qa_f, qb_f = K.quantize(F, vf, _NBINS), K.quantize(M, vm, _NBINS)
    if k > 1:
        fc, vfc = K.block_reduce(F, vf, k)
        mc, vmc = K.block_reduce(M, vm, k)
    else:
        fc, vfc, mc, vmc = F, vf, M, vm
    if vfc.sum() < 4 or vmc.sum() < 4:
        k, fc, vfc, mc, vmc = 1, F, vf, M, vm
    qa, qb = K.quantize(fc, vfc, _NBINS), K.quantize(mc, vmc, _NBINS)
    min_c = max(16, int(min_overlap * min(vfc.sum(), vmc.sum())))
    hc, wc = fc.shape
    ry = int(min(hc - 1, max_px[0] / k + 1e-9))
    rx = int(min(wc - 1, max_px[1] / k + 1e-9))
    best, u_c = -math.inf, None
    lo, hi = [math.inf, math.inf], [-math.inf, -math.inf]
    for uy in range(-ry, ry + 1):
        for ux in range(-rx, rx + 1):
            v = K.nmi(qa, qb, (uy, ux), _NBINS, min_c)
            if v > -math.inf:
                lo = [min(lo[0], uy), min(lo[1], ux)]
                hi = [max(hi[0], uy), max(hi[1], ux)]
            if v > best:
                best, u_c = v, (uy, ux)
    if u_c is None:
        return None
    min_f = max(16, int(min_overlap * min(vf.sum(), vm.sum())))
    best_f, u_f = -math.inf, None
    for dy in range(-k, k + 1):
        for dx in range(-k, k + 1):
            u = (u_c[0] * k + dy, u_c[1] * k + dx)
            if abs(u[0]) > max_px[0] + 1e-9 or abs(u[1]) > max_px[1] + 1e-9:
                continue
            v = K.nmi(qa_f, qb_f, u, _NBINS, min_f)
            if v > best_f:
                best_f, u_f = v, u
    if u_f is None:
        return None
    return {
        "integer": u_f,
        "shift_px": np.array(u_f, dtype=np.float64),
        "nmi": best_f,
        "coarse_factor": k,
        "nmi_coarse": best,
        "extent": (float(k * (hi[0] - lo[0] + 2)), float(k * (hi[1] - lo[1] + 2))),
    }


def register(
    moving,
    fixed,
    *,
    method: str = "phase",
    upsample: int = 20,
    rotation: bool = False,
    spacing: float | None = None,
    max_shift_nm=None,
    min_overlap: float = 0.5,
    hint=None,
) -> Registration:
    """Find the shift (and optionally the rotation) that maps `moving` onto `fixed`.

    Both maps are resampled (anti-aliased, see :func:`to_common_grid`) onto
    one square grid at the coarser pixel size covering both fields of view,
    with a mask of each map's measured area.

    ``method="phase"`` (same contrast): the masked normalised
    cross-correlation (Padfield 2012) over all integer shifts that keep at
    least `min_overlap` of the smaller map, the upsampled DFT
    cross-correlation (Guizar-Sicairos et al. 2008, skimage
    ``phase_cross_correlation``) of the overlapping parts, Hann-windowed,
    to 1/`upsample` px, and a Gauss-Newton polish of the least-squares fit
    ``fixed ~ a moving(r - shift) + b`` (which removes the bias of the
    window; both maps smoothed with sigma = 1 px).

    ``method="mutual_information"`` (different modalities, inverted or
    nonlinear contrast, e.g. a potential map against a Li map): a global
    search of the normalised mutual information (Studholme et al. 1999)
    over all integer shifts on a coarse grid (longest side 64 px), then
    over the fine shifts around the best one, then a local sub-pixel
    refinement by Gauss-Newton least squares of
    ``fixed ~ a(r) moving(r - shift) + b(r)`` with a locally affine
    relation (Gaussian windows of twice the fixed map's edge width, at
    least 2 px; a local normalised cross-correlation, matching each edge
    whatever the sign or size of its step in either map) and the
    variable-projection Jacobian. Mutual
    information itself is not optimised sub-pixel: interpolation makes it
    pull toward whole-pixel shifts (Pluim, Maintz & Viergever, Comput. Vis.
    Image Underst. 77, 211 (2000)).

    ``method="interface"``: :func:`find_interface` in both maps; the shift
    aligns the interfaces along the fixed map's normal. The shift along the
    interface is unconstrained and reported as such (infinite error).

    Errors (phase and mutual information), at the optimum: the sandwich
    covariance T^-1 S T^-1 of the least-squares shift. T is the *cross*
    structure tensor of the two maps (products of the gradients of one map
    with those of the other), so independent noise does not masquerade as
    structure; S is the long-run (spatial HAC, Bartlett window over twice
    the residuals' correlation length) covariance of the gradient-weighted
    residuals, so correlated noise and misfit enlarge the errors. A
    principal direction is unconstrained (error ``inf``, with a
    :class:`~holocorr.errors.HolocorrWarning`) unless its eigenvalue of T
    exceeds 3 + sqrt(2 ln N) noise spreads, N being the number of
    independent positions the global search chose from along it. Maps
    dominated by one straight interface are constrained only across it.
    The errors are statistical: they do not cover distortions that the
    model lacks. For multimodal pairs, edges of different relative contrast
    closer than a few blur widths (e.g. a grain crossing the interface) can
    bias the shift by up to about the reported error.

    Parameters
    ----------
    moving, fixed : xarray.DataArray
        Maps with dims (y, x), coordinates in a length unit (converted to
        nm). Pixel sizes and fields of view may differ.
    method : {"phase", "mutual_information", "interface"}
        See above.
    upsample : int
        Sub-pixel resolution 1/upsample px of the phase method.
    rotation : bool
        Also estimate a small rotation (a few degrees; local refinement about
        the grid centre after the translation search, or from the interface
        angles). Default False (rotation 0).
    spacing : float, optional
        Grid spacing of the estimate [nm]. Default: the coarser pixel of the
        two maps, made coarser when the union of their fields of view would
        exceed 512 px and, for mutual information, when the fixed map's
        edges are wider than about 2.5 px (its local windows must hold both
        sides of an edge).
    max_shift_nm : float or (float, float), optional
        Largest |dy|, |dx| searched [nm]; default: any shift with enough overlap.
    min_overlap : float
        Smallest overlap, as a fraction of the smaller map's area, in (0, 1].
    hint : str or dict, optional
        Passed to :func:`find_interface` for method "interface" only (e.g.
        ``{"region": {...}}`` in each map's coordinates).

    Returns
    -------
    Registration

    Raises
    ------
    ShapeError
        Wrong dims, small images, maps that do not overlap enough.
    CalibrationError
        Missing coordinates or units, pixel coordinates, units mixed between the maps.
    DataError
        NaN/inf or non-numeric values.
    ParameterError
        Bad options.
    ReconstructionError
        Method "interface" without a detectable interface.

    Warns
    -----
    HolocorrWarning
        When a direction of the shift is not constrained by the data.

    References
    ----------
    Padfield, IEEE Trans. Image Process. 21, 2706 (2012), doi:10.1109/TIP.2011.2181402.
    Guizar-Sicairos, Thurman & Fienup, Opt. Lett. 33, 156 (2008), doi:10.1364/OL.33.000156.
    Studholme, Hill & Hawkes, Pattern Recognit. 32, 71 (1999), doi:10.1016/S0031-3203(98)00091-0.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> def scene(y, x):
    ...     return np.exp(-((y - 60) ** 2 + (x - 70) ** 2) / 300) + np.exp(-((y - 30) ** 2 + (x - 20) ** 2) / 200)
    >>> def sample(step, n, shift=(0.0, 0.0)):
    ...     c = step * np.arange(n)
    ...     v = scene(c[:, None] + shift[0], c[None, :] + shift[1])
    ...     return xr.DataArray(v, dims=("y", "x"), coords={"y": ("y", c, {"units": "nm"}),
    ...                                                    "x": ("x", c, {"units": "nm"})})
    >>> reg = register(sample(2.0, 50, shift=(4.0, -6.0)), sample(2.0, 50))
    >>> [round(v, 1) for v in reg.shift_nm]
    [4.0, -6.0]
    """
    check_choice("method", method, _METHODS)
    if isinstance(upsample, bool) or not isinstance(upsample, numbers.Integral) or upsample < 1:
        raise ParameterError(f"upsample must be a positive integer, got {upsample!r}.")
    if not isinstance(rotation, bool):
        raise ParameterError(f"rotation must be True or False, got {rotation!r}.")
    if spacing is not None:
        spacing = check_positive("spacing", spacing, unit="nm")
    max_nm = _max_shift(max_shift_nm)
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, numbers.Real) or not 0 < min_overlap <= 1:
        raise ParameterError(f"min_overlap must be a fraction in (0, 1], got {min_overlap!r}.")
    if hint is not None and method != "interface":
        raise ParameterError(f"hint is used by method='interface' only; remove it for method={method!r}.")
    mm, mf = _as_map(moving, "moving"), _as_map(fixed, "fixed")
    for m in (mm, mf):
        if not np.ptp(m.values) > 0:
            raise DataError(f"{m.name} is constant ({float(m.values.flat[0]):g}): it has nothing to register on.")
    params = {
        "method": method,
        "upsample": int(upsample),
        "rotation": rotation,
        "spacing": spacing,
        "max_shift_nm": max_shift_nm,
        "min_overlap": float(min_overlap),
        "hint": hint,
    }
    prov = provenance("registration.register", params, {"moving": mm.values, "fixed": mf.values})
    if method == "interface":
        r = _interface_method(mm, mf, hint, rotation)
        err = _axis_errors(r["dirs"], r["errs"])
        return Registration(
            shift_nm=r["shift"],
            rotation_deg=r["rotation_deg"],
            error_nm=err,
            rotation_error_deg=r["rotation_error_deg"],
            principal_directions=r["dirs"],
            principal_errors_nm=r["errs"],
            condition=r["condition"],
            method=method,
            similarity=r["similarity"],
            spacing_nm=r["spacing"],
            center_nm=(float(r["center"][0]), float(r["center"][1])),
            fixed_grid=_fixed_grid(mf),
            info=jsonable(r["info"]),
            provenance=prov,
        )

    s, gy, gx = _union_grid(mm, mf, spacing)
    F, vf = resample_map(mf, gy, gx)
    if spacing is None:
        # a coarser grid when the fixed map is large (speed) or, for mutual
        # information, when its edges span many pixels (local windows must
        # hold both sides of an edge): edges of about 2.5 px
        factor = max(gy.size, gx.size) / _MAX_GRID_PX
        if method == "mutual_information":
            factor = max(factor, K.edge_width(F, vf) / 2.5)
        if factor > 1.25:
            s, gy, gx = _union_grid(mm, mf, s * factor)
            F, vf = resample_map(mf, gy, gx)
    M, vm = resample_map(mm, gy, gx)
    F, M = K.fill_invalid(F, vf), K.fill_invalid(M, vm)
    max_px = (max_nm[0] / s, max_nm[1] / s)
    min_count = max(16.0, min_overlap * min(float(vf.sum()), float(vm.sum())))
    if method == "phase":
        g = _phase_global(F, vf, M, vm, min_count, max_px, int(upsample))
    else:
        g = _mi_global(F, vf, M, vm, min_overlap, max_px)
    if g is None:
        raise _overlap_error(min_overlap)
    pair = K.Pair(F, vf, M, vm, sigma=1.0)
    mapping = "affine" if method == "phase" else "local"
    p0 = np.append(g["shift_px"], 0.0) if rotation else g["shift_px"].copy()
    p, iters = K.gauss_newton(pair, p0, mapping=mapping, rotation=rotation)
    if np.any(~np.isfinite(p)):
        p = p0
    est = K.error_estimate(pair, p, mapping=mapping, rotation=rotation, search_extent=g["extent"])
    if est["n"] < 64:
        raise ShapeError(
            f"the registered maps overlap by only {est['n']} usable pixels on the {s:g} nm grid (a margin of "
            "5 px is dropped at each map's edge); registration needs larger maps or a smaller spacing."
        )
    # translation part in nm; rotation in deg
    cov = est["cov"]
    cov2 = cov[:2, :2] * s * s
    unconstrained = [est["directions"][:2, i] for i in range(p.size) if not math.isfinite(est["variances"][i])]
    dirs, errs = _principal(cov2, unconstrained)
    err = _axis_errors(dirs, errs)
    rot_deg, rot_err = 0.0, math.nan
    if rotation:
        rot_deg = math.degrees(float(p[2]))
        unc_rot = any(
            abs(est["directions"][2, i]) > 1e-9 for i in range(p.size) if not math.isfinite(est["variances"][i])
        )
        rot_err = math.inf if unc_rot else math.degrees(math.sqrt(max(cov[2, 2], 0.0)))
    ev = est["eigenvalues"]
    good = np.isfinite(est["variances"])
    cond = float(ev.max() / ev.min()) if good.all() and ev.min() > 0 else math.inf
    center_px = pair.center
    center = (float(gy[0] + center_px[0] * s), float(gx[0] + center_px[1] * s))
    info = {
        "integer_shift_px": [int(v) for v in g["integer"]],
        "grid_shape": [int(gy.size), int(gx.size)],
        "overlap_px": est["n"],
        "iterations": iters,
        "hac_lag_px": est["lag"],
        "correlation_length_px": est["correlation_length"],
        "significance": [float(v) for v in est["significance"]],
        "significance_threshold": [float(v) for v in est["threshold"]],
        "residual_rms": est["residual_rms"],
    }
    if method == "phase":
        info["ncc"] = g["ncc"]
    else:
        info.update({"nmi": g["nmi"], "coarse_factor": g["coarse_factor"]})
    if not any(math.isfinite(e) for e in errs):
        warnings.warn(
            f"the registration ({method}) is not constrained in any direction: the maps share no "
            "structure that the noise does not swamp, so the shift is arbitrary and error_nm is inf. "
            "Check that both maps show the same area.",
            HolocorrWarning,
            stacklevel=user_stacklevel(),
        )
    elif not all(math.isfinite(e) for e in errs):
        w = dirs[1]
        warnings.warn(
            f"the registration ({method}) is not constrained along (dy, dx) = ({w[0]:.2f}, {w[1]:.2f}): "
            "the maps have no shared structure in that direction (e.g. one straight interface), so "
            "the shift along it is arbitrary and its error is reported as inf. Use the shift across "
            "the interface only (principal_directions[0], principal_errors_nm[0]), or method='interface'.",
            HolocorrWarning,
            stacklevel=user_stacklevel(),
        )
    return Registration(
        shift_nm=(float(p[0] * s), float(p[1] * s)),
        rotation_deg=float(rot_deg),
        error_nm=err,
        rotation_error_deg=float(rot_err),
        principal_directions=dirs,
        principal_errors_nm=errs,
        condition=cond,
        method=method,
        similarity=float(est["similarity"]),
        spacing_nm=float(s),
        center_nm=center,
        fixed_grid=_fixed_grid(mf),
        info=jsonable(info),
        provenance=prov,
    )
