"""Interface detection: a fitted, sub-pixel interface line or gentle curve, and distances to it."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from .._provenance import jsonable, provenance
from .._region import region_mask
from .._validate import check_choice
from ..errors import CalibrationError, ParameterError, ReconstructionError
from . import _kernels as K
from .grid import _as_map, _Map

__all__ = ["Interface", "find_interface", "distance_coordinate"]

_SIDES = ("+x", "-x", "+y", "-y")
_MODELS = ("auto", "line", "quadratic")


@dataclasses.dataclass(frozen=True)
class Interface:
    """A fitted interface: a straight line or a gentle parabola, with uncertainties.

    The curve is ``t = c0 + c1 (s - s0) + c2 (s - s0)^2`` where, for
    ``axis="x"``, t is x and s is y (an interface running mostly along y)
    and, for ``axis="y"``, t is y and s is x. Lengths are in nm (in px for a
    map without calibration, see `units`).

    Attributes
    ----------
    point : (float, float)
        (y, x) of the point of the curve at s = s0, the middle of the fitted
        rows [nm].
    normal : (float, float)
        Unit normal (ny, nx) at `point`, pointing into the electrolyte (see
        `normal_from`).
    angle_deg : float
        Direction of `normal`, atan2(ny, nx) [deg], i.e. measured from +x
        toward +y (the ``interface_tilt_deg`` of :func:`holocorr.simulate.specimen`).
    curvature : float
        Curvature at `point` [1/nm], positive when the centre of curvature
        lies on the electrolyte side; 0 for a line.
    position_error : float
        1-sigma uncertainty of the interface position along the normal at
        `point` [nm].
    angle_error_deg : float
        1-sigma uncertainty of `angle_deg` [deg].
    curvature_error : float
        1-sigma uncertainty of `curvature` [1/nm] (NaN for a line).
    width : float
        Standard deviation of the step profile along the normal [nm]
        (Gaussian fitted to the mean derivative; an erf edge's sigma).
    model : {"line", "quadratic"}
        The fitted model.
    axis : {"x", "y"}
        Which coordinate is fitted as a function of the other.
    coefficients : (float, float, float)
        (c0 [nm], c1 [1], c2 [1/nm]).
    s0 : float
        Origin of s [nm].
    covariance : tuple of tuples
        3x3 covariance of the coefficients (zeros for c2 of a line).
    side : int
        +1 if the electrolyte lies toward increasing t, -1 otherwise.
    span : (float, float)
        Range of s covered by the fitted rows [nm].
    n_lines, n_inliers : int
        Rows (or columns) with an edge position, and those within 3 robust
        standard deviations of the fit.
    units : str
        ``"nm"`` (or ``"px"`` for an uncalibrated map).
    normal_from : str
        How the electrolyte side was chosen: ``"electrolyte_side"``,
        ``"electrolyte_point"`` or ``"uphill"`` (no hint: the normal points
        toward increasing values).
    """

    point: tuple[float, float]
    normal: tuple[float, float]
    angle_deg: float
    curvature: float
    position_error: float
    angle_error_deg: float
    curvature_error: float
    width: float
    model: str
    axis: str
    coefficients: tuple[float, float, float]
    s0: float
    covariance: tuple[tuple[float, float, float], ...]
    side: int
    span: tuple[float, float]
    n_lines: int
    n_inliers: int
    units: str
    normal_from: str

    # ----------------------------------------------------------------- geometry
    def _st(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (y, x) if self.axis == "x" else (x, y)

    def signed_distance(self, y, x) -> np.ndarray:
        """Signed distance of points (y, x) to the curve, positive into the electrolyte.

        Exact for a line; for a parabola the foot point is found by Newton
        iterations (valid while |curvature * distance| < 1).

        Parameters
        ----------
        y, x : array_like
            Positions [nm], broadcast together.

        Returns
        -------
        ndarray
            Distances [nm] (float64).
        """
        y = np.asarray(y, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        y, x = np.broadcast_arrays(y, x)
        s, t = self._st(y, x)
        c0, c1, c2 = self.coefficients
        u = s - self.s0
        if c2 == 0.0:
            return self.side * (t - c0 - c1 * u) / math.sqrt(1.0 + c1 * c1)
        up = u.copy()
        v = u.copy()
        for _ in range(12):
            f = c0 + c1 * v + c2 * v * v
            fp = c1 + 2.0 * c2 * v
            phi = (v - up) + (f - t) * fp
            dphi = 1.0 + fp * fp + (f - t) * 2.0 * c2
            v = v - phi / np.maximum(dphi, 0.1)
        f = c0 + c1 * v + c2 * v * v
        dist = np.hypot(v - up, f - t)
        above = np.sign(t - (c0 + c1 * up + c2 * up * up))
        return self.side * above * dist

    def position_error_at(self, y: float, x: float) -> float:
        """1-sigma uncertainty of the curve position along its normal near (y, x) [nm]."""
        s, _ = self._st(np.float64(y), np.float64(x))
        u = float(s) - self.s0
        vec = np.array([1.0, u, u * u])
        var = float(vec @ np.asarray(self.covariance) @ vec)
        slope = self.coefficients[1] + 2.0 * self.coefficients[2] * u
        return math.sqrt(max(var, 0.0)) / math.sqrt(1.0 + slope * slope)

    def to_dict(self) -> dict:
        """JSON-ready dict of all fields (infinities and NaN as strings)."""
        return jsonable(dataclasses.asdict(self))


def _parse_hint(hint: Any, m: _Map) -> dict:
    if hint is None:
        return {}
    if isinstance(hint, str):
        hint = {"electrolyte_side": hint}
    if not isinstance(hint, Mapping):
        raise ParameterError(
            "hint must be None, a side such as '+x', or a dict with keys 'electrolyte_side' "
            f"('+x', '-x', '+y', '-y'), 'electrolyte_point' ((y, x) in nm) and 'region'; got {hint!r}."
        )
    allowed = ("electrolyte_side", "electrolyte_point", "region")
    for k in hint:
        if k not in allowed:
            raise ParameterError(f"hint key {k!r} is not allowed; choose from {', '.join(map(repr, allowed))}.")
    out = dict(hint)
    if "electrolyte_side" in out and "electrolyte_point" in out:
        raise ParameterError("give either hint['electrolyte_side'] or hint['electrolyte_point'], not both.")
    if "electrolyte_side" in out:
        check_choice("hint['electrolyte_side']", out["electrolyte_side"], _SIDES)
    if "electrolyte_point" in out:
        p = out["electrolyte_point"]
        ok = (
            isinstance(p, tuple | list)
            and len(p) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in p)
        )
        if not ok:
            raise ParameterError(f"hint['electrolyte_point'] must be a (y, x) position in {m.units}, got {p!r}.")
    return out


def _locate(m: _Map, vals: np.ndarray, y: np.ndarray, x: np.ndarray, model: str) -> dict:
    """Run the edge search on a (cropped) map; lengths in the map's units."""
    dy, dx = m.dy, m.dx
    # 1. orientation from the structure tensor of a smoothed copy (per nm)
    gy = ndimage.gaussian_filter(vals, 2.0, order=(1, 0), mode="nearest") / dy
    gx = ndimage.gaussian_filter(vals, 2.0, order=(0, 1), mode="nearest") / dx
    tens = K.structure_tensor(gy, gx)
    evals, evecs = np.linalg.eigh(tens)
    if evals[1] <= 0:
        raise ReconstructionError(
            f"{m.name} is flat: no interface can be found. Check that the map shows a step, "
            "or crop to it with hint={'region': {...}}."
        )
    coherence = float((evals[1] - evals[0]) / (evals[1] + evals[0]))
    n0 = evecs[:, 1]
    if coherence < 0.3:
        raise ReconstructionError(
            f"no dominant straight interface in {m.name}: the gradients point in all directions "
            f"(coherence {coherence:.2f}, 1 for one straight edge, need > 0.3). Crop to the "
            "interface with hint={'region': {'x': (x0, x1), 'y': (y0, y1)}}."
        )
    axis = "x" if abs(n0[1]) >= abs(n0[0]) else "y"
    if axis == "x":  # rows: s = y, t = x
        img, s_c, t_c, ht = vals, y, x, dx
        g2 = gx
    else:
        img, s_c, t_c, ht = vals.T, x, y, dy
        g2 = gy.T
    nrow, ncol = img.shape
    sign = 1.0 if float(np.sum(g2)) >= 0 else -1.0
    # 2. first guess: strongest derivative per row on a 2-D smoothed copy
    d2 = sign * g2
    pos0 = np.argmax(d2, axis=1).astype(np.float64)
    rows = np.arange(nrow, dtype=np.float64)
    fit0 = K.huber_polyfit(rows - rows.mean(), pos0, 1)
    line0 = fit0["beta"][0] + fit0["beta"][1] * (rows - rows.mean())
    # 3. edge width from the mean derivative profile across the first line
    d1 = sign * ndimage.gaussian_filter1d(img, 1.0, axis=1, order=1, mode="nearest")
    half_prof = int(min(max(ncol // 4, 8), 80))
    inl0 = np.nonzero(fit0["inliers"])[0]
    off, prof = K.mean_profile(d1, line0, inl0 if inl0.size else np.arange(nrow), half_prof)
    sig_p, amp = K.gaussian_width(off, prof)
    if not math.isfinite(sig_p) or amp <= 0:
        raise ReconstructionError(
            f"no step could be located in {m.name}: the mean profile across the strongest edges "
            "shows no peak in the derivative. Crop to the interface with hint={'region': {...}}."
        )
    half = float(np.clip(3.0 * sig_p, 3.0, ncol / 4.0))
    # 4. per-row centroid of the (1-D smoothed) derivative around the line
    pos, ok = K.centroid_positions(d1, line0, half)
    n_ok = int(ok.sum())
    if n_ok < max(5, nrow // 3):
        raise ReconstructionError(
            f"the interface in {m.name} could be located in only {n_ok} of {nrow} lines (it runs "
            "out of the map or is too close to its border). Crop to it with hint={'region': {...}}."
        )
    s_nm = s_c[ok]
    t_nm = t_c[0] + pos[ok] * ht
    s0 = float(np.mean(s_nm))
    fits = {deg: K.huber_polyfit(s_nm - s0, t_nm, deg) for deg in (1, 2)}
    if model == "line":
        deg = 1
    elif model == "quadratic":
        deg = 2
    else:
        q = fits[2]
        c2_sig = math.sqrt(max(q["cov"][2, 2], 0.0))
        deg = 2 if c2_sig > 0 and abs(q["beta"][2]) > 3.0 * c2_sig else 1
    fit = fits[deg]
    scale_px = fit["scale"] / ht
    frac = float(np.mean(fit["inliers"]))
    if scale_px > 0.25 * half or frac < 0.5:
        raise ReconstructionError(
            f"no consistent interface in {m.name}: the edge positions found line by line scatter by "
            f"{scale_px:.1f} px about the best {'line' if deg == 1 else 'curve'} (window +/-{half:.0f} px; "
            f"{frac:.0%} within 3 sigma). The step is too weak for the noise or not straight; crop to "
            "it with hint={'region': {...}} or smooth the map."
        )
    beta = np.zeros(3)
    beta[: deg + 1] = fit["beta"]
    cov = np.zeros((3, 3))
    cov[: deg + 1, : deg + 1] = fit["cov"]
    # edge width from the mean derivative profile across the final curve (the
    # derivative was smoothed with sigma = 1 px along t)
    rows_all = np.arange(nrow, dtype=np.float64)
    u_all = s_c - s0
    curve_px = (
        fit["beta"][0] + fit["beta"][1] * u_all + (fit["beta"][2] * u_all**2 if deg == 2 else 0.0) - t_c[0]
    ) / ht
    used = np.nonzero(ok)[0][fit["inliers"]]
    off, prof = K.mean_profile(d1, curve_px, used if used.size else rows_all.astype(int), half_prof)
    sig_f, _ = K.gaussian_width(off, prof)
    if math.isfinite(sig_f) and sig_f > 0:
        sig_p = sig_f
    sig_edge = math.sqrt(max(sig_p * sig_p - 1.0, 0.0))
    return {
        "axis": axis,
        "beta": beta,
        "cov": cov,
        "s0": s0,
        "sign": sign,
        "deg": deg,
        "width_t": sig_edge * ht,
        "n_lines": n_ok,
        "n_inliers": int(np.sum(fit["inliers"])),
        "span": (float(s_nm.min()), float(s_nm.max())),
    }


def find_interface(da, *, hint=None, model: str = "auto") -> Interface:
    """Find a straight or gently curved interface (a step) in a map, sub-pixel, with errors.

    1. The dominant gradient direction (structure tensor of the map smoothed
       with sigma = 2 px) decides whether the edge is located row by row
       (interface within 45 deg of the y axis) or column by column.
    2. A first line is robustly fitted through the strongest derivative of
       each line; the mean derivative profile across it gives the edge
       width sigma_p.
    3. In each line the edge is the centroid of the positive part of the
       derivative (Gaussian derivative with sigma = 1 px along the line
       only, so lines stay independent) in a window of +/-3 sigma_p
       re-centred until it converges.
    4. A Huber-robust polynomial (line, or parabola with ``model="auto"``
       when its quadratic term exceeds 3 sigma) is fitted to the positions;
       its covariance, inflated for the lag-1 autocorrelation of the
       residuals, gives the uncertainties.

    Parameters
    ----------
    da : xarray.DataArray
        Map with dims (y, x) and coordinates in a length unit (nm; pixel
        coordinates give results in px). The interface must cross the map.
    hint : str or dict, optional
        ``"+x"``-like string or a dict with
        ``"electrolyte_side"`` (``"+x"``, ``"-x"``, ``"+y"``, ``"-y"``: the
        side of the electrolyte), or ``"electrolyte_point"`` ((y, x) of a
        point in the electrolyte, in nm, or px for an uncalibrated map),
        and/or ``"region"`` (``{"x": (x0, x1), "y": (y0, y1)}`` in the
        map's own coordinate units, to search only
        there, e.g. to pick one of several steps). Without a side the normal
        points toward increasing values (``normal_from="uphill"``).
    model : {"auto", "line", "quadratic"}
        Interface model.

    Returns
    -------
    Interface

    Raises
    ------
    ReconstructionError
        No interface found: a flat map, no dominant edge direction, or edge
        positions that scatter too much from line to line.
    ParameterError
        A bad hint (unknown keys, a side along the interface, a point on it)
        or model.
    ShapeError, CalibrationError, DataError
        Wrong dims, images under 8 px, bad coordinates, NaN/inf values.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from scipy.special import erf
    >>> x = 2.0 * np.arange(100); y = 2.0 * np.arange(80)
    >>> step = 0.5 * (1 + erf((x[None, :] - 101.3 + 0 * y[:, None]) / 8.0))
    >>> da = xr.DataArray(step, dims=("y", "x"),
    ...                   coords={"y": ("y", y, {"units": "nm"}), "x": ("x", x, {"units": "nm"})})
    >>> itf = find_interface(da, hint={"electrolyte_side": "+x"})
    >>> round(itf.point[1], 2), itf.normal, itf.model
    (101.3, (0.0, 1.0), 'line')
    """
    m = _as_map(da, "da", calibrated=False)
    check_choice("model", model, _MODELS)
    h = _parse_hint(hint, m)
    vals = np.asarray(m.values, dtype=np.float64)
    y, x = m.y, m.x
    if "region" in h:
        mask, _ = region_mask(h["region"], m.da, name="hint['region']")
        iy = np.nonzero(mask.any(axis=1))[0]
        ix = np.nonzero(mask.any(axis=0))[0]
        if iy.size < 8 or ix.size < 8:
            raise ParameterError(
                f"hint['region'] selects only {iy.size}x{ix.size} px; it needs at least 8x8 px around the interface."
            )
        sl = (slice(iy[0], iy[-1] + 1), slice(ix[0], ix[-1] + 1))
        vals, y, x = vals[sl], y[sl[0]], x[sl[1]]
    r = _locate(m, vals, y, x, model)
    c0, c1, c2 = (float(v) for v in r["beta"])
    axis = r["axis"]
    # normal toward +t in (s, t) is (-c1, 1)/sqrt(1 + c1^2)
    norm = math.sqrt(1.0 + c1 * c1)
    ns, nt = -c1 / norm, 1.0 / norm

    def yx(s_, t_):
        return (s_, t_) if axis == "x" else (t_, s_)

    point = yx(r["s0"], c0)
    n_plus = yx(ns, nt)  # normal toward increasing t, as (ny, nx)
    if "electrolyte_side" in h:
        side_s = h["electrolyte_side"]
        e = {"+x": (0.0, 1.0), "-x": (0.0, -1.0), "+y": (1.0, 0.0), "-y": (-1.0, 0.0)}[side_s]
        proj = n_plus[0] * e[0] + n_plus[1] * e[1]
        if abs(proj) < 0.25:
            along = "x" if axis == "y" else "y"
            raise ParameterError(
                f"hint['electrolyte_side']={side_s!r} runs along the interface (which runs along "
                f"{along!r}); give the side across it, '+{axis}' or '-{axis}'."
            )
        side = 1 if proj > 0 else -1
        normal_from = "electrolyte_side"
    elif "electrolyte_point" in h:
        py, px_ = (float(v) for v in h["electrolyte_point"])
        s_p, t_p = (py, px_) if axis == "x" else (px_, py)
        u = s_p - r["s0"]
        off = (t_p - (c0 + c1 * u + c2 * u * u)) / norm
        if abs(off) < max(r["width_t"], 1e-12):
            raise ParameterError(
                f"hint['electrolyte_point']=({py:g}, {px_:g}) lies within the interface width "
                f"({abs(off):.3g} {m.units} from it); give a point well inside the electrolyte."
            )
        side = 1 if off > 0 else -1
        normal_from = "electrolyte_point"
    else:
        side = 1 if r["sign"] > 0 else -1
        normal_from = "uphill"
    normal = (side * n_plus[0], side * n_plus[1])
    # exact zeros for axis-aligned interfaces (no -0.0 or 1e-17 in reports)
    normal = tuple(0.0 if abs(v) < 1e-12 else float(v) for v in normal)
    cov = r["cov"]
    kappa_graph = 2.0 * c2 / norm**3
    deg = r["deg"]
    return Interface(
        point=(float(point[0]), float(point[1])),
        normal=normal,
        angle_deg=math.degrees(math.atan2(normal[0], normal[1])),
        curvature=side * kappa_graph,
        position_error=math.sqrt(max(cov[0, 0], 0.0)) / norm,
        angle_error_deg=math.degrees(math.sqrt(max(cov[1, 1], 0.0)) / (norm * norm)),
        curvature_error=(2.0 * math.sqrt(max(cov[2, 2], 0.0)) / norm**3) if deg == 2 else math.nan,
        width=float(r["width_t"]) / norm,
        model="line" if deg == 1 else "quadratic",
        axis=axis,
        coefficients=(c0, c1, c2),
        s0=float(r["s0"]),
        covariance=tuple(tuple(float(v) for v in row) for row in cov),
        side=side,
        span=r["span"],
        n_lines=r["n_lines"],
        n_inliers=r["n_inliers"],
        units=m.units,
        normal_from=normal_from,
    )


def distance_coordinate(da, interface: Interface) -> xr.DataArray:
    """Add a signed ``distance`` coordinate (y, x): distance from the interface.

    Distances are measured to the fitted curve (exactly for a line, to the
    nearest point of the parabola otherwise), 0 on the interface and
    positive on the electrolyte side (``interface.normal``).

    Parameters
    ----------
    da : xarray.DataArray
        Map with dims (y, x) and coordinates in a length unit (converted to
        nm), or in px when `interface` is in px.
    interface : Interface
        From :func:`find_interface` (on this map or on one in the same
        coordinate frame, e.g. after registration).

    Returns
    -------
    xarray.DataArray
        `da` (same data, not copied) with the 2-D coordinate ``distance``
        [nm] (attrs ``units``, ``long_name`` "distance from interface",
        ``description`` and provenance in ``attrs["holocorr"]`` of the
        coordinate).

    Raises
    ------
    ParameterError
        `interface` is not an Interface.
    CalibrationError
        Units of the map and the interface differ (nm vs px).
    ShapeError, DataError
        As for :func:`find_interface`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> c = {d: (d, 2.0 * np.arange(10), {"units": "nm"}) for d in ("y", "x")}
    >>> da = xr.DataArray(np.zeros((10, 10)), dims=("y", "x"), coords=c)
    >>> itf = Interface(point=(9.0, 5.0), normal=(0.0, 1.0), angle_deg=0.0, curvature=0.0,
    ...     position_error=0.1, angle_error_deg=0.1, curvature_error=float("nan"), width=2.0,
    ...     model="line", axis="x", coefficients=(5.0, 0.0, 0.0), s0=9.0,
    ...     covariance=((0.01, 0, 0), (0, 0, 0), (0, 0, 0)), side=1, span=(0.0, 18.0),
    ...     n_lines=10, n_inliers=10, units="nm", normal_from="electrolyte_side")
    >>> distance_coordinate(da, itf)["distance"].values[0, :4]
    array([-5., -3., -1.,  1.])
    """
    if not isinstance(interface, Interface):
        raise ParameterError(
            f"interface must be the Interface returned by find_interface, got {type(interface).__name__}."
        )
    m = _as_map(da, "da", calibrated=False, min_size=1)
    if m.units != interface.units:
        raise CalibrationError(
            f"the map's coordinates are in {m.units} but the interface is in {interface.units}; find the "
            "interface on a map with the same calibration (assign coordinates in nm to both)."
        )
    yy, xx = np.meshgrid(m.y, m.x, indexing="ij")
    dist = interface.signed_distance(yy, xx)
    attrs = {
        "units": interface.units,
        "long_name": "distance from interface",
        "description": "signed distance to the fitted interface, positive into the electrolyte",
        "holocorr": provenance(
            "registration.distance_coordinate",
            {"interface": json.dumps(interface.to_dict(), sort_keys=True)},
            {"da": m.values},
        ),
    }
    return m.da.assign_coords(distance=xr.DataArray(dist, dims=("y", "x"), attrs=attrs))
