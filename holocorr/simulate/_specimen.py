"""Ground-truth reference specimen (Pt, in-situ negative electrode, LATSPO) and its holograms.

:func:`specimen` builds the 2-D ground-truth maps of the reference specimen of
SCIENCE.md (Li content, mean inner potential, electrode potential, thickness,
inelastic mean free path, phase and amplitude) on a grid in nm.
:func:`holograms` turns such a specimen into an object hologram and a vacuum
reference hologram with a shared distortion phase, optional biprism Fresnel
fringes and Poisson noise, using :func:`holocorr.simulate.hologram` as the one
forward model.

Layout of the field of view (rows y increase downwards, as on screen)::

    y = 0  +--------------------------------------------------+
           |                     vacuum                       |  t = 0
    y_v    +~~~~~~~~~~~~~~~~ lamella edge ~~~~~~~~~~~~~~~~~~~~+  t ramps up
    y_v+w  +------------+----------------+--------------------+
           |     Pt     |   electrode    |      LATSPO        |  t = thickness_nm
           |   (d < 0)  |  0 <= d < L    |     (d > L)       |  (+ wedge)
           +------------+----------------+--------------------+
         x = -pt_extent  x = 0 (pivot)    x = L = electrode_thickness_nm

The lamella edge runs along x (perpendicular to the interface), so every
layer borders the vacuum strip that gives the phase offset.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import erfc

from .._provenance import array_hash, provenance
from .._validate import check_choice, check_finite, check_positive
from ..errors import DataError, ParameterError, ShapeError
from ._hologram import carrier_frequency, hologram

__all__ = ["specimen", "holograms"]

_STATES = ("pristine", "charged")
_MIN_PX = 16
_SQRT2 = math.sqrt(2.0)
#: space-charge decay length = width / ln(10): 90 % of the drop lies within the width
_LN10 = math.log(10.0)


# --------------------------------------------------------------------------- #
# kernels (numpy in, numpy out; lengths in nm unless said otherwise)
# --------------------------------------------------------------------------- #
def _signed_distance(x: np.ndarray, y: np.ndarray, y0: float, tilt_rad: float, kappa: float) -> np.ndarray:
    """Signed distance [nm] to the interface through (0, y0), positive on the LATSPO side.

    t = x cos(a) + (y - y0) sin(a) is the offset along the interface normal
    n = (cos a, sin a) and s = -x sin(a) + (y - y0) cos(a) the offset along
    the interface. For a curvature kappa [1/nm] the interface is the circle
    tangent to the line at the pivot with its centre at pivot + n / kappa, and

        d = (2 t - kappa (t^2 + s^2)) / (1 + sqrt((1 - kappa t)^2 + (kappa s)^2)),

    which is the exact signed distance to that circle (R - |r - c| for
    kappa > 0, |r - c| - |R| for kappa < 0), written so that kappa -> 0 gives
    d = t without cancellation.
    """
    c, s_ = math.cos(tilt_rad), math.sin(tilt_rad)
    dy = y - y0
    t = x * c + dy * s_
    s = -x * s_ + dy * c
    if kappa == 0.0:
        return t
    return (2.0 * t - kappa * (t * t + s * s)) / (1.0 + np.sqrt((1.0 - kappa * t) ** 2 + (kappa * s) ** 2))


def _step_down(d: np.ndarray, d0: float, sigma: float) -> np.ndarray:
    """1 for d << d0, 0 for d >> d0: 1/2 erfc((d - d0) / (sqrt(2) sigma))."""
    return 0.5 * erfc((d - d0) / (_SQRT2 * sigma))


def _edge_ramp(y: np.ndarray, y_edge: float, width: float) -> np.ndarray:
    """Thickness profile of the lamella edge: 0 for y <= y_edge, raised cosine to 1 over `width`."""
    if width <= 0:
        return (y > y_edge).astype(np.float64)
    u = np.clip((y - y_edge) / width, 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(np.pi * u))


def _default_distortion(shape: tuple[int, int]) -> np.ndarray:
    """Return the documented default distortion phase [rad] (see :func:`holograms`)."""
    ny, nx = shape
    v = (np.arange(ny, dtype=np.float64)[:, None] - 0.5 * (ny - 1)) / (0.5 * (ny - 1))
    u = (np.arange(nx, dtype=np.float64)[None, :] - 0.5 * (nx - 1)) / (0.5 * (nx - 1))
    return 0.2 * u**2 - 0.15 * v**2 + 0.1 * u * v + 0.1 * np.sin(np.pi * (u + 0.5 * v) + 0.3)


def _fresnel_factor(
    shape: tuple[int, int],
    spacing_px: float,
    angle_deg: float,
    amplitude: float,
    scale_px: float,
    decay_px: float,
) -> np.ndarray:
    """Return the complex biprism Fresnel factor F (model in :func:`holograms`).

    F = 1 + a sum_k exp(i pi (d_k/d0)^2) exp(-d_k/l).
    """
    fy, fx = carrier_frequency(spacing_px, angle_deg)
    norm = math.hypot(fy, fx)
    cy, cx = fy / norm, fx / norm
    ny, nx = shape
    u = np.arange(ny, dtype=np.float64)[:, None] * cy + np.arange(nx, dtype=np.float64)[None, :] * cx
    f = np.ones(shape, dtype=np.complex128)
    for d in (u - u.min(), u.max() - u):
        f += amplitude * np.exp(1j * np.pi * (d / scale_px) ** 2 - d / decay_px)
    return f


# --------------------------------------------------------------------------- #
# parameter checks
# --------------------------------------------------------------------------- #
def _real(name: str, value: Any, unit: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a real number{' in ' + unit if unit else ''}, got {value!r}.")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(f"{name} must be finite{' (' + unit + ')' if unit else ''}, got {value!r}.")
    return v


def _shape(shape: Any) -> tuple[int, int]:
    ok = (
        isinstance(shape, tuple | list)
        and len(shape) == 2
        and all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in shape)
    )
    if not ok:
        raise ShapeError(f"shape must be a pair of integers (rows, columns) in px, got {shape!r}.")
    ny, nx = (int(n) for n in shape)
    if ny < _MIN_PX or nx < _MIN_PX:
        raise ShapeError(
            f"shape {shape!r} is too small; each axis needs at least {_MIN_PX} px (e.g. shape=(512, 1024))."
        )
    return ny, nx


# --------------------------------------------------------------------------- #
# specimen
# --------------------------------------------------------------------------- #
def specimen(
    *,
    shape: tuple[int, int] = (512, 1024),
    pixel_size_nm: float = 1.0,
    state: str = "charged",
    beam_energy_kv: float = 300.0,
    electrode_thickness_nm: float = 400.0,
    pt_blur_nm: float = 5.0,
    interface_blur_nm: float = 20.0,
    li_electrolyte: float = 1.3,
    li_electrode: float = 2.3,
    mip_pt_v: float = 30.0,
    mip_latspo_v: float = 12.5,
    k_mip_v_per_li: float = 0.3,
    electrode_potential_v: float = -1.0,
    space_charge_v: float = 0.0,
    space_charge_width_nm: float = 10.0,
    thickness_nm: float = 150.0,
    wedge_nm_per_um: float = 0.0,
    wedge_direction_deg: float = 90.0,
    interface_tilt_deg: float = 0.0,
    interface_curvature_per_um: float = 0.0,
    vacuum_width_nm: float = 64.0,
    edge_width_nm: float = 150.0,
    pt_extent_nm: float = 150.0,
    mfp_pt_nm: float | None = None,
    mfp_latspo_nm: float | None = None,
) -> xr.Dataset:
    """Ground-truth maps of the reference specimen Pt, negative electrode, LATSPO.

    **Geometry.** Coordinates ``y`` (rows, downwards) and ``x`` in nm, with
    ``x = 0`` on the pivot of the Pt interface and ``y = 0`` on the top row.
    The interface passes through the pivot (x = 0, y0), y0 being the middle
    row of the full-thickness part of the lamella. Its normal
    n = (cos a, sin a) in (x, y) is rotated by a = `interface_tilt_deg` from
    +x towards +y (clockwise on screen). Along the interface,
    s = -x sin a + (y - y0) cos a. With a curvature kappa the interface is
    the circle of radius 1/kappa tangent to that line at the pivot. Its
    centre lies on the LATSPO side for kappa > 0, so away from the pivot
    the interface bends towards the LATSPO. All layers follow the exact
    signed distance d to that line or circle (variable ``distance``, > 0 on
    the LATSPO side). At zero tilt and curvature, d = x.

    **Layers**, with erf blurs::

        w_Pt(d)  = 1/2 erfc(d / (sqrt2 sigma_Pt))        Pt fraction
        w_L(d)   = 1 - w_Pt(d)                           LATSPO-type fraction
        g(d)     = 1/2 erfc((d - L) / (sqrt2 sigma_if))  lithiated-layer profile

    Here L = `electrode_thickness_nm`, sigma_Pt = `pt_blur_nm` and
    sigma_if = `interface_blur_nm`. Inside the lamella the maps are:

    * ``li`` = w_L [c_e + (c_n - c_e) g] in the charged state and w_L c_e in
      the pristine state, with c_e = `li_electrolyte` and c_n = `li_electrode`.
      The in-situ electrode forms during cycling, so the pristine LATSPO has
      no Li-rich layer. Li is 0 in Pt and in vacuum.
    * ``mip`` = w_Pt MIP_Pt + w_L [MIP_LATSPO + k_MIP (li/w_L - c_e)]. The
      MIP follows the Li excess of the LATSPO-type material.
    * ``electrode_potential`` is 0 when pristine. When charged it is
      dV w_L g + V_sc w_L exp(-max(d, 0) ln(10) / w_sc), with
      dV = `electrode_potential_v`, V_sc = `space_charge_v` and
      w_sc = `space_charge_width_nm`. The first term follows the Li
      excess, so f(x) = (li - c_e)/(c_n - c_e) of the electrode hypothesis.
      The optional space-charge term raises the electrode side of the Pt
      interface by V_sc; 90 % of that drop lies within w_sc of the interface.
      The potential is relative to the LATSPO bulk. Pt is its zero: the Pt
      collector's own electrostatic potential change is not modelled.
    * ``potential`` = mip + electrode_potential.

    All material maps are 0 in the vacuum.

    **Thickness and vacuum.** Rows with y <= y_v = `vacuum_width_nm` are
    vacuum (t = 0). Below them, the lamella edge ramps the thickness up as a
    raised cosine 1/2 (1 - cos(pi (y - y_v)/w)) over w = `edge_width_nm`.
    A phase step of ~12-30 rad needs such a ramp to stay within the
    sideband's bandwidth: the ramp's largest phase gradient,
    pi phi / (2 w) per nm, should stay below about 2 pi / (3 s) rad per
    pixel for a fringe spacing s [px] and an aperture of ``|q_c|/3``. With the
    defaults at 1 nm/px that is 0.13 rad/px over LATSPO and 0.31 rad/px over
    Pt, against 0.47 rad/px for s = 4.5 px. Steeper features, such as the
    Pt interface itself (a 17 rad step with sigma = 5 nm at the defaults), exceed the
    bandwidth at typical samplings, as in real data. The reconstructed
    phase is unreliable within a few resolution lengths of them. The full thickness is
    t0 + g_w [x cos b + (y - y0) sin b] / 1000, with t0 = `thickness_nm`
    at the pivot, g_w = `wedge_nm_per_um` and b = `wedge_direction_deg`
    (90: thicker away from the vacuum edge). With the defaults (512 x 1024
    px at 1 nm) x runs from -150 to 873 nm: vacuum for y <= 64 nm, the edge
    ramp to y = 214 nm and the full lamella below it, pivot at y = 362.5 nm.

    **Phase and amplitude.** ``phase`` = C_E potential t and ``amplitude`` =
    exp(-t / (2 lambda_in)). The inelastic mean free path is blended as
    1/lambda_in = w_Pt/lambda_Pt + w_L/lambda_LATSPO. The blend is kept in
    vacuum too, where t = 0 makes it irrelevant.

    Parameters
    ----------
    shape : (int, int)
        Image size (rows, columns) [px], each >= 16.
    pixel_size_nm : float
        Pixel size [nm], > 0.
    state : {"pristine", "charged"}
        Specimen state. "charged" has the Li-rich negative electrode layer
        and the electrode potential; "pristine" has neither.
    beam_energy_kv : float
        Acceleration voltage [kV]; sets C_E and the mean free paths.
    electrode_thickness_nm : float
        Thickness L of the in-situ negative electrode [nm], >= 0. This is the
        Li front position (distance from the Pt interface).
    pt_blur_nm, interface_blur_nm : float
        Gaussian (erf) blur sigma [nm] of the Pt interface and of the
        electrode/electrolyte front, > 0. The 10-90 % width is 2.563 sigma.
    li_electrolyte, li_electrode : float
        Li per formula unit in the LATSPO and in the electrode layer, >= 0.
    mip_pt_v, mip_latspo_v : float
        Mean inner potentials [V], >= 0.
    k_mip_v_per_li : float
        MIP change per inserted Li per formula unit [V].
    electrode_potential_v : float
        Electrode potential of the lithiated layer relative to the LATSPO
        bulk in the charged state [V].
    space_charge_v : float
        Space-charge potential drop at the Pt side [V] (charged state only);
        0 for none. Nomura et al. (2019) report 1.3 V within 10 nm.
    space_charge_width_nm : float
        Width holding 90 % of the space-charge drop [nm], > 0.
    thickness_nm : float
        Lamella thickness at the pivot [nm], >= 0.
    wedge_nm_per_um : float
        Thickness gradient [nm per um].
    wedge_direction_deg : float
        Direction of increasing thickness [deg], from +x towards +y.
    interface_tilt_deg : float
        Rotation of the interface normal from +x towards +y [deg], in
        (-90, 90).
    interface_curvature_per_um : float
        Interface curvature kappa [1/um]. The centre of curvature must lie
        outside the field of view (``|kappa|`` times the largest pivot-to-pixel
        distance < 1).
    vacuum_width_nm : float
        Height of the vacuum strip at the top [nm], >= 0.
    edge_width_nm : float
        Width of the thickness ramp at the lamella edge [nm], >= 0.
    pt_extent_nm : float
        Distance from the left image border to the pivot [nm]; the x
        coordinate starts at -pt_extent_nm.
    mfp_pt_nm, mfp_latspo_nm : float, optional
        Inelastic mean free paths [nm]. None takes
        :func:`holocorr.holography.mean_free_path` with ``material="Pt"`` or
        ``"LATSPO"`` at the beam energy (103.2 and 169.4 nm at 300 kV).

    Returns
    -------
    xarray.Dataset
        Variables ``li`` [Li per formula unit], ``mip`` [V],
        ``electrode_potential`` [V], ``potential`` [V], ``thickness`` [nm],
        ``mean_free_path`` [nm], ``phase`` [rad], ``amplitude`` [1] and
        ``distance`` [nm]. Each is a (y, x) float64 map with units and
        long_name, on coords ``y`` and ``x`` [nm].

        The attrs hold every parameter, plus ``beam_energy_kv``,
        ``interaction_constant`` [rad/(V nm)], ``pivot_y_nm``,
        ``mean_free_path_pt_nm``, ``mean_free_path_latspo_nm`` and
        ``truth``. ``truth`` is a JSON string with the Li front position,
        the potential steps, C_E, the thickness and the layer phases,
        including ``delta_phase_charged_minus_pristine_rad``. A
        ``holocorr`` provenance record is added too.

    Raises
    ------
    ParameterError
        For an unknown state, NaN/inf or non-numeric parameters, negative
        thickness, Li or MIP, blurs or pixel size <= 0, a tilt outside
        (-90, 90) deg, a wedge that makes the thickness negative somewhere,
        a vacuum strip and edge that leave no full-thickness lamella, or a
        curvature whose centre falls inside the field of view.
    ShapeError
        For a shape that is not two integers >= 16.

    References
    ----------
    .. [1] K. Yamamoto et al., "Dynamic visualization of the electric
       potential in an all-solid-state rechargeable lithium battery", Angew.
       Chem. Int. Ed. 49, 4414 (2010), doi:10.1002/anie.201000869.
    .. [2] K. Yamamoto et al., J. Power Sources 266, 414 (2014)
       (SR-TEM-EELS of the in-situ negative electrode).
    .. [3] Y. Nomura et al., Angew. Chem. Int. Ed. 58, 5292 (2019),
       doi:10.1002/anie.201814669 (1.3 V drop within 10 nm).
    .. [4] H. Lichte and M. Lehmann, Rep. Prog. Phys. 71, 016102 (2008),
       doi:10.1088/0034-4885/71/1/016102 (phase = C_E V t).

    Examples
    --------
    >>> ds = specimen(shape=(96, 256), pixel_size_nm=4.0)
    >>> float(ds.li.sel(x=200.0, y=300.0, method="nearest"))  # electrode layer
    2.3
    >>> round(float(ds.phase.sel(x=700.0, y=300.0, method="nearest")), 2)  # LATSPO
    12.24
    """
    from ..holography.physics import interaction_constant, mean_free_path

    ny, nx = _shape(shape)
    pix = check_positive("pixel_size_nm", pixel_size_nm, unit="nm")
    check_choice("state", state, _STATES)
    kv = _real("beam_energy_kv", beam_energy_kv, "kV")
    ce = float(interaction_constant(kv))
    el_l = check_positive("electrode_thickness_nm", electrode_thickness_nm, unit="nm", allow_zero=True)
    s_pt = check_positive("pt_blur_nm", pt_blur_nm, unit="nm")
    s_if = check_positive("interface_blur_nm", interface_blur_nm, unit="nm")
    c_e = check_positive("li_electrolyte", li_electrolyte, unit="Li per formula unit", allow_zero=True)
    c_n = check_positive("li_electrode", li_electrode, unit="Li per formula unit", allow_zero=True)
    mip_pt = check_positive("mip_pt_v", mip_pt_v, unit="V", allow_zero=True)
    mip_l = check_positive("mip_latspo_v", mip_latspo_v, unit="V", allow_zero=True)
    k_mip = _real("k_mip_v_per_li", k_mip_v_per_li, "V per Li")
    dv = _real("electrode_potential_v", electrode_potential_v, "V")
    v_sc = _real("space_charge_v", space_charge_v, "V")
    w_sc = check_positive("space_charge_width_nm", space_charge_width_nm, unit="nm")
    t0 = check_positive("thickness_nm", thickness_nm, unit="nm", allow_zero=True)
    wedge = _real("wedge_nm_per_um", wedge_nm_per_um, "nm/um")
    wedge_dir = _real("wedge_direction_deg", wedge_direction_deg, "deg")
    tilt = _real("interface_tilt_deg", interface_tilt_deg, "deg")
    if not -90.0 < tilt < 90.0:
        raise ParameterError(
            f"interface_tilt_deg must lie in (-90, 90) deg so that Pt stays on the left, got {tilt!r}."
        )
    kappa_um = _real("interface_curvature_per_um", interface_curvature_per_um, "1/um")
    y_v = check_positive("vacuum_width_nm", vacuum_width_nm, unit="nm", allow_zero=True)
    w_edge = check_positive("edge_width_nm", edge_width_nm, unit="nm", allow_zero=True)
    pt_ext = _real("pt_extent_nm", pt_extent_nm, "nm")
    mfp = {}
    for mat, val, nm in (
        ("Pt", mfp_pt_nm, "mfp_pt_nm"),
        ("LATSPO", mfp_latspo_nm, "mfp_latspo_nm"),
    ):
        mfp[mat] = (
            float(mean_free_path(material=mat, beam_energy_kv=kv))
            if val is None
            else check_positive(nm, val, unit="nm")
        )

    y = np.arange(ny, dtype=np.float64) * pix
    x = np.arange(nx, dtype=np.float64) * pix - pt_ext
    y_full = y_v + w_edge
    if y_full >= y[-1]:
        raise ParameterError(
            f"vacuum_width_nm + edge_width_nm = {y_full:g} nm leaves no full-thickness "
            "lamella in a "
            f"field of view {y[-1]:g} nm high; use a smaller vacuum strip or edge, or more rows "
            "or a larger pixel_size_nm."
        )
    y0 = 0.5 * (y_full + y[-1])
    yy, xx = y[:, None], x[None, :]
    kappa = kappa_um * 1e-3  # 1/nm
    if kappa != 0.0:
        reach = float(np.sqrt(np.max((xx - 0.0) ** 2 + (yy - y0) ** 2)))
        if abs(kappa) * reach >= 1.0:
            raise ParameterError(
                f"interface_curvature_per_um={kappa_um!r} puts the centre of curvature "
                f"({1e-3 / abs(kappa):.4g} um from the pivot) inside the field of view "
                f"(up to {reach * 1e-3:.4g} um from the pivot); use |curvature| < "
                f"{1e3 / reach:.4g} per um."
            )

    d = _signed_distance(xx, yy, y0, math.radians(tilt), kappa)
    w_pt = _step_down(d, 0.0, s_pt)
    w_l = 1.0 - w_pt
    charged = state == "charged"
    g = _step_down(d, el_l, s_if) if charged else np.zeros_like(d)
    inside = np.broadcast_to(y[:, None] > y_v, d.shape)

    li_l = c_e + (c_n - c_e) * g  # Li of the LATSPO-type material
    li = w_l * li_l
    mip = w_pt * mip_pt + w_l * (mip_l + k_mip * (li_l - c_e))
    if charged:
        v_el = dv * w_l * g
        if v_sc != 0.0:
            v_el = v_el + v_sc * w_l * np.exp(-np.maximum(d, 0.0) * (_LN10 / w_sc))
    else:
        v_el = np.zeros_like(d)
    b = math.radians(wedge_dir)
    t_bulk = t0 + wedge * 1e-3 * (xx * math.cos(b) + (yy - y0) * math.sin(b))
    t_bulk = np.broadcast_to(t_bulk, d.shape)
    if t0 > 0 and np.any(t_bulk[inside] < 0):
        raise ParameterError(
            f"wedge_nm_per_um={wedge!r} makes the thickness negative in the field of view "
            f"(down to {float(t_bulk[inside].min()):.4g} nm); use a smaller wedge or a larger "
            "thickness_nm."
        )
    thickness = np.where(inside, np.maximum(t_bulk, 0.0), 0.0) * _edge_ramp(y, y_v, w_edge)[:, None]
    zero = np.zeros_like(d)
    li = np.where(inside, li, zero)
    mip = np.where(inside, mip, zero)
    v_el = np.where(inside, v_el, zero)
    potential = mip + v_el
    lam = 1.0 / (w_pt / mfp["Pt"] + w_l / mfp["LATSPO"])
    phase = ce * potential * thickness
    amplitude = np.exp(-thickness / (2.0 * lam))

    coords = {
        "y": xr.DataArray(y, dims="y", attrs={"units": "nm", "long_name": "y"}),
        "x": xr.DataArray(
            x,
            dims="x",
            attrs={"units": "nm", "long_name": "x"},
        ),
    }
    dims = ("y", "x")

    def var(a, units, long_name):
        return xr.DataArray(
            np.ascontiguousarray(a, dtype=np.float64),
            dims=dims,
            attrs={"units": units, "long_name": long_name},
        )

    params = {
        "shape": [ny, nx],
        "pixel_size_nm": pix,
        "state": state,
        "beam_energy_kv": kv,
        "electrode_thickness_nm": el_l,
        "pt_blur_nm": s_pt,
        "interface_blur_nm": s_if,
        "li_electrolyte": c_e,
        "li_electrode": c_n,
        "mip_pt_v": mip_pt,
        "mip_latspo_v": mip_l,
        "k_mip_v_per_li": k_mip,
        "electrode_potential_v": dv,
        "space_charge_v": v_sc,
        "space_charge_width_nm": w_sc,
        "thickness_nm": t0,
        "wedge_nm_per_um": wedge,
        "wedge_direction_deg": wedge_dir,
        "interface_tilt_deg": tilt,
        "interface_curvature_per_um": kappa_um,
        "vacuum_width_nm": y_v,
        "edge_width_nm": w_edge,
        "pt_extent_nm": pt_ext,
        "mfp_pt_nm": mfp_pt_nm,
        "mfp_latspo_nm": mfp_latspo_nm,
    }
    dli = c_n - c_e
    truth = {
        "state": state,
        "li_front_nm": el_l if charged else None,
        "li_step": dli if charged else 0.0,
        "mip_step_v": k_mip * dli,
        "electrode_potential_step_v": dv,
        "potential_step_charged_minus_pristine_v": k_mip * dli + dv,
        "space_charge_v": v_sc if charged else 0.0,
        "interaction_constant_rad_per_v_nm": ce,
        "thickness_nm": t0,
        "wedge_nm_per_um": wedge,
        "mean_free_path_pt_nm": mfp["Pt"],
        "mean_free_path_latspo_nm": mfp["LATSPO"],
        "phase_pt_rad": ce * mip_pt * t0,
        "phase_latspo_rad": ce * mip_l * t0,
        "phase_electrode_rad": ce * t0 * (mip_l + (k_mip * dli + dv if charged else 0.0)),
        "delta_phase_charged_minus_pristine_rad": ce * t0 * (k_mip * dli + dv),
        "pivot_nm": [0.0, y0],
    }
    ds = xr.Dataset(
        {
            "li": var(li, "Li per formula unit", "Li content"),
            "mip": var(mip, "V", "mean inner potential"),
            "electrode_potential": var(v_el, "V", "electrode potential relative to the LATSPO bulk"),
            "potential": var(potential, "V", "projected-average potential (MIP + electrode potential)"),
            "thickness": var(thickness, "nm", "specimen thickness"),
            "mean_free_path": var(lam, "nm", "inelastic mean free path"),
            "phase": var(phase, "rad", "phase shift"),
            "amplitude": var(amplitude, "1", "amplitude"),
            "distance": var(d, "nm", "signed distance from the Pt interface (> 0 towards LATSPO)"),
        },
        coords=coords,
    )
    attrs = {k: v for k, v in params.items() if v is not None}
    attrs.update(
        {
            "interaction_constant": ce,
            "interaction_constant_units": "rad/(V nm)",
            "pivot_y_nm": y0,
            "mean_free_path_pt_nm": mfp["Pt"],
            "mean_free_path_latspo_nm": mfp["LATSPO"],
            "truth": json.dumps(truth, sort_keys=True),
            "holocorr": provenance("simulate.specimen", params, {}),
        }
    )
    ds.attrs.update(attrs)
    return ds


# --------------------------------------------------------------------------- #
# holograms
# --------------------------------------------------------------------------- #
def specimen_map(spec: xr.Dataset, name: str) -> np.ndarray:
    """Return a (y, x) map of a specimen Dataset as finite float64, checked.

    Raises
    ------
    ShapeError, DataError
        For other dims, non-real or non-finite values.
    """
    da = spec[name]
    if da.dims != ("y", "x"):
        raise ShapeError(
            f"specimen[{name!r}] has dims {da.dims}; expected ('y', 'x'). Transpose it, e.g. ds.transpose('y', 'x')."
        )
    arr = np.asarray(da.values)
    if arr.dtype.kind not in "iuf":
        raise DataError(f"specimen[{name!r}] has dtype {arr.dtype}; expected real numbers.")
    arr = arr.astype(np.float64)
    check_finite(arr, name=f"specimen[{name!r}]")
    return arr


def _specimen_maps(spec: Any) -> tuple[xr.DataArray, np.ndarray, np.ndarray]:
    if not isinstance(spec, xr.Dataset):
        raise DataError(
            f"specimen must be the xarray.Dataset returned by holocorr.simulate.specimen "
            f"(with 'phase' and 'amplitude' maps), got {type(spec).__name__}."
        )
    missing = [v for v in ("phase", "amplitude") if v not in spec.data_vars]
    if missing:
        raise DataError(
            f"specimen lacks the variable(s) {missing}; it needs 'phase' [rad] and 'amplitude' "
            "maps on dims (y, x), as made by holocorr.simulate.specimen."
        )
    phi, amp = (specimen_map(spec, name) for name in ("phase", "amplitude"))
    if min(phi.shape) < _MIN_PX:
        raise ShapeError(f"specimen maps have shape {phi.shape}; need at least {_MIN_PX}x{_MIN_PX} px.")
    if np.any(amp < 0):
        raise DataError("specimen['amplitude'] must be >= 0 everywhere.")
    return spec["phase"], phi, amp


def holograms(
    specimen: xr.Dataset,
    *,
    spacing_px: float = 4.5,
    angle_deg: float = 45.0,
    contrast: float = 0.3,
    dose: float | None = 200.0,
    mtf_sigma: float = 0.5,
    distortion: str | np.ndarray | xr.DataArray | None = "default",
    biprism_fresnel: bool = True,
    fresnel_amplitude: float = 0.2,
    fresnel_scale_px: float = 40.0,
    fresnel_decay_px: float = 50.0,
    rng: np.random.Generator | int | None = None,
    dtype: str = "float32",
) -> xr.Dataset:
    """Object and vacuum-reference holograms of a simulated specimen.

    Both holograms come from :func:`holocorr.simulate.hologram`, the model
    I = I0 [1 + A^2 + 2 mu A cos(2 pi q_c.r + phi + phi_d)]. The object has
    A = specimen amplitude x ``|F|`` and phi = specimen phase + arg F. The
    reference has A = ``|F|`` and phi = arg F. Both share the distortion phase
    phi_d and the biprism Fresnel factor F. Dividing the object wave by the
    reference wave cancels both, and the specimen's exp(i phi) A remains.

    **Distortion** ``"default"`` is a smooth, deterministic phase [rad] in
    normalised coordinates u, v in [-1, 1] (columns, rows, centred)::

        phi_d = 0.2 u^2 - 0.15 v^2 + 0.1 u v + 0.1 sin(pi (u + v/2) + 0.3)

    It spans about 0.6 rad, like the residual lens and camera distortions
    of a real instrument.

    **Biprism Fresnel fringes** (`biprism_fresnel`) are modelled
    phenomenologically. Near the overlap edges the Fresnel diffraction at
    the biprism filament modulates the interfering waves [2]_ [3]_. The
    model is the complex factor::

        F = 1 + a sum_{k=1,2} exp(i pi (d_k / d0)^2) exp(-d_k / l)

    Here d_k [px] is the distance along the carrier direction from the two
    overlap edges, which pass through the field's extreme pixels along that
    direction. So the fringes run parallel to the interference fringes, and
    their spacing shrinks away from the edge like Fresnel fringes (first
    fringe at d ~ d0). The parameters are a = `fresnel_amplitude`,
    d0 = `fresnel_scale_px` and l = `fresnel_decay_px`. Re F gives the
    1 + a cos(pi (d/d0)^2) exp(-d/l) intensity-like modulation and arg F a
    small phase modulation. The factor multiplies the sideband of object
    and reference alike, so it cancels in the division. Only the first
    fringes, with local frequency d/d0^2 inside the aperture, show in a
    reconstruction without reference. The centre band carries ``|F|^2``, which
    differs between object and reference by the factor A^2. Where the
    chirp's local frequency enters the sideband aperture (d ~ 2 d0^2/(3 s)
    for spacing s and an aperture of ``|q_c|/3``), it leaks into the sideband
    and does not cancel. This is the "Fresnel streak" through the
    sideband, as in real data. With the defaults its amplitude there is
    about a exp(-2 d0^2 / (3 s l)) ~ 0.002, too small to matter. A longer
    decay (e.g. l = 100 px gives phase errors of ~0.1 rad) or a smaller d0
    makes it visible; ``reconstruct(..., fresnel_filter=...)`` suppresses
    it.

    Parameters
    ----------
    specimen : xarray.Dataset
        Ground truth from :func:`specimen`: ``phase`` [rad] and ``amplitude``
        (y, x) maps with coords in nm. ``attrs["beam_energy_kv"]`` is copied.
    spacing_px : float
        Fringe spacing [px], > 2.
    angle_deg : float
        Carrier angle [deg] (see :func:`holocorr.simulate.carrier_frequency`).
        Angles in [0, 180) put +phase on the "upper" sideband. The default
        45 keeps the sideband off the axis streaks of the straight
        interface and of the vacuum edge.
    contrast : float
        Fringe contrast mu in (0, 1] before the MTF.
    dose : float or None
        Mean electrons per pixel in vacuum [e-/px] (Poisson noise); None
        gives noise-free images with mean 1 in vacuum.
    mtf_sigma : float
        Gaussian detector PSF sigma [px], >= 0.
    distortion : {"default", None} or (M, N) array_like [rad]
        Distortion phase shared by object and reference. None means none.
    biprism_fresnel : bool
        Add the biprism Fresnel fringes.
    fresnel_amplitude : float
        a, the fringe amplitude at the overlap edge, in [0, 0.5].
    fresnel_scale_px : float
        d0 [px], > 0: the first fringe lies near d = d0.
    fresnel_decay_px : float
        l [px], > 0: the decay length of the fringes (with the defaults the
        fringes reach about 100 px into the field).
    rng : numpy.random.Generator or int, optional
        Random source. The object's noise is drawn first, then the
        reference's, from the same stream. The same seed gives
        bit-identical holograms.
    dtype : {"float32", "float64"}
        Output dtype.

    Returns
    -------
    xarray.Dataset
        ``object`` and ``reference`` [counts] and the ground-truth
        ``distortion`` [rad], all on (y, x) with the specimen's coords [nm].
        Attrs: ``beam_energy_kv`` (when known), ``dose_e_per_px``,
        ``spacing_px``, ``angle_deg``, ``contrast``, ``carrier_frequency``
        (fy, fx) [cycles/px], ``mtf_sigma_px``, ``distortion_model``,
        ``biprism_fresnel`` (0/1), the Fresnel parameters and ``holocorr``
        (provenance).

    Raises
    ------
    DataError
        When `specimen` is not a Dataset with finite ``phase`` and
        ``amplitude`` maps, or has a negative amplitude.
    ShapeError
        For maps that are not (y, x), are under 16x16 px, or do not match
        the shape of a `distortion` array.
    ParameterError
        For parameters out of range, an unknown distortion choice, a
        non-boolean `biprism_fresnel` or a bad `rng`.

    References
    ----------
    .. [1] H. Lichte and M. Lehmann, "Electron holography - basics and
       applications", Rep. Prog. Phys. 71, 016102 (2008),
       doi:10.1088/0034-4885/71/1/016102.
    .. [2] A. Harscher and H. Lichte, "Experimental study of amplitude and
       phase detection limits in electron holography", Ultramicroscopy 64,
       57 (1996), doi:10.1016/0304-3991(96)00019-4.
    .. [3] K. Yamamoto et al., Angew. Chem. Int. Ed. 49, 4414 (2010),
       doi:10.1002/anie.201000869.

    Examples
    --------
    >>> spec = specimen(shape=(64, 128), pixel_size_nm=8.0, vacuum_width_nm=80.0,
    ...                 edge_width_nm=80.0)
    >>> h = holograms(spec, dose=None, biprism_fresnel=False, distortion=None)
    >>> h.object.dtype, round(float(h.reference.mean()), 3)
    (dtype('float32'), 1.0)
    """
    ph_da, phi, amp = _specimen_maps(specimen)
    shape = phi.shape
    spacing_px = check_positive("spacing_px", spacing_px, unit="px")
    if spacing_px <= 2.0:
        raise ParameterError(f"spacing_px must exceed 2 px (Nyquist), got {spacing_px}.")
    angle_deg = _real("angle_deg", angle_deg, "deg")
    contrast = check_positive("contrast", contrast)
    if contrast > 1:
        raise ParameterError(f"contrast must be in (0, 1], got {contrast}.")
    if dose is not None:
        dose = check_positive("dose", dose, unit="e-/px")
    mtf_sigma = check_positive("mtf_sigma", mtf_sigma, unit="px", allow_zero=True)
    if not isinstance(biprism_fresnel, bool | np.bool_):
        raise ParameterError(f"biprism_fresnel must be True or False, got {biprism_fresnel!r}.")
    biprism_fresnel = bool(biprism_fresnel)
    fa = check_positive("fresnel_amplitude", fresnel_amplitude, allow_zero=True)
    if fa > 0.5:
        raise ParameterError(
            f"fresnel_amplitude must be in [0, 0.5] (relative fringe amplitude), got {fresnel_amplitude!r}."
        )
    d0 = check_positive("fresnel_scale_px", fresnel_scale_px, unit="px")
    ell = check_positive("fresnel_decay_px", fresnel_decay_px, unit="px")
    check_choice("dtype", dtype, ("float32", "float64"))
    try:
        gen = np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"rng must be a numpy.random.Generator, a non-negative int seed or None, got {rng!r}."
        ) from exc

    if isinstance(distortion, str):
        check_choice("distortion", distortion, ("default",))
        dist = _default_distortion(shape)
        model = "default"
    elif distortion is None:
        dist = np.zeros(shape)
        model = "none"
    else:
        if isinstance(distortion, xr.Dataset):
            raise DataError("distortion is an xarray.Dataset; pass a (y, x) DataArray or ndarray [rad].")
        dist = np.asarray(getattr(distortion, "values", distortion))
        if dist.dtype.kind not in "iuf":
            raise DataError(f"distortion has dtype {dist.dtype}; expected real numbers [rad].")
        if dist.shape != shape:
            raise ShapeError(f"distortion has shape {dist.shape}; it must match the specimen maps {shape}.")
        dist = dist.astype(np.float64)  # a copy: the user's array is never touched
        check_finite(dist, name="distortion")
        model = "array"

    if biprism_fresnel and fa > 0:
        f = _fresnel_factor(shape, spacing_px, angle_deg, fa, d0, ell)
        f_amp, f_phase = np.abs(f), np.angle(f)
    else:
        f_amp, f_phase = np.ones(shape), np.zeros(shape)

    coords = {k: specimen[k] for k in ("y", "x") if k in specimen.coords}
    common = dict(
        spacing_px=spacing_px,
        angle_deg=angle_deg,
        contrast=contrast,
        dose=dose,
        mtf_sigma=mtf_sigma,
        distortion=dist + f_phase,
        rng=gen,
        dtype=dtype,
    )
    obj = hologram(xr.DataArray(phi, dims=("y", "x"), coords=coords), amp * f_amp, **common)
    ref = hologram(xr.DataArray(np.zeros(shape), dims=("y", "x"), coords=coords), f_amp, **common)
    obj_attrs = {"units": "counts", "long_name": "object hologram"}
    ref_attrs = {"units": "counts", "long_name": "vacuum reference hologram"}
    ds = xr.Dataset(
        {
            "object": xr.DataArray(obj.values, dims=("y", "x"), attrs=obj_attrs),
            "reference": xr.DataArray(ref.values, dims=("y", "x"), attrs=ref_attrs),
            "distortion": xr.DataArray(
                dist.astype(dtype),
                dims=("y", "x"),
                attrs={
                    "units": "rad",
                    "long_name": "distortion phase (shared by object and reference)",
                },
            ),
        },
        coords=coords,
    )
    fy, fx = carrier_frequency(spacing_px, angle_deg)
    params = {
        "spacing_px": spacing_px,
        "angle_deg": angle_deg,
        "contrast": contrast,
        "dose": dose,
        "mtf_sigma": mtf_sigma,
        "distortion": model,
        "biprism_fresnel": biprism_fresnel,
        "fresnel_amplitude": fa,
        "fresnel_scale_px": d0,
        "fresnel_decay_px": ell,
        "rng": rng if isinstance(rng, int) else None,
        "dtype": dtype,
    }
    attrs: dict[str, Any] = {}
    if "beam_energy_kv" in specimen.attrs:
        attrs["beam_energy_kv"] = specimen.attrs["beam_energy_kv"]
    if dose is not None:
        attrs["dose_e_per_px"] = dose
    attrs.update(
        {
            "spacing_px": spacing_px,
            "angle_deg": angle_deg,
            "contrast": contrast,
            "carrier_frequency": [fy, fx],
            "mtf_sigma_px": mtf_sigma,
            "distortion_model": model,
            "biprism_fresnel": int(biprism_fresnel),
            "fresnel_amplitude": fa,
            "fresnel_scale_px": d0,
            "fresnel_decay_px": ell,
        }
    )
    if "truth" in specimen.attrs:
        attrs["specimen_truth"] = specimen.attrs["truth"]
    attrs["holocorr"] = provenance(
        "simulate.holograms",
        params,
        {
            "phase": array_hash(phi),
            "amplitude": array_hash(amp),
            "distortion": array_hash(dist) if model == "array" else None,
        },
    )
    ds.attrs.update(attrs)
    return ds
