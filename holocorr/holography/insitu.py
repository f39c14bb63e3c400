"""In-situ state differences: charged - pristine phase and potential change."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from .._provenance import provenance
from .._region import region_mask
from .._validate import axis_step, check_positive, user_stacklevel
from ..errors import CalibrationError, HolocorrWarning, ParameterError, ShapeError
from .noise import phase_noise
from .physics import interaction_constant, phase_to_potential

__all__ = ["potential_change", "register_waves"]


def _as_reconstruction(ds: Any, name: str) -> xr.Dataset:
    if not isinstance(ds, xr.Dataset) or not {"phase", "amplitude"} <= set(ds.data_vars):
        raise ShapeError(
            f"{name} must be the Dataset returned by holocorr.holography.reconstruct (with 'phase' and 'amplitude')."
        )
    if ds["phase"].dims != ("y", "x"):
        raise ShapeError(
            f"{name}.phase has dims {ds['phase'].dims}; potential_change works on one (y, x) "
            "reconstruction per state (average a series first, or select a frame)."
        )
    return ds


def register_waves(moving: xr.Dataset, fixed: xr.Dataset, *, on: str = "amplitude", upsample: int = 20) -> dict:
    """Sub-pixel shift that maps `moving` onto `fixed`, with its uncertainty.

    A thin layer over :func:`holocorr.registration.register` (method
    ``"phase"``) for two reconstructions on the same grid.

    Parameters
    ----------
    moving, fixed : xarray.Dataset
        Reconstructions on the same grid.
    on : {"amplitude", "phase"}
        Image used (the amplitude does not change between in-situ states;
        the phase does).
    upsample : int
        Upsampling factor of the correlation peak search.

    Returns
    -------
    dict
        ``shift_px`` (dy, dx): shift to apply to `moving` [output px] (so
        that ``fixed(r) ~ moving(r - shift)``), ``shift_nm`` [coordinate
        units], ``error_px`` / ``error_nm`` (1 sigma per axis; inf where the
        images do not determine the shift), ``used_shift_px``: the shift
        restricted to the principal directions the image structure
        determines, ``condition``, ``weak_direction`` (unit (dy, dx) of the
        least constrained direction).

    Raises
    ------
    ShapeError
        When `moving` or `fixed` is not a (y, x) reconstruction Dataset.
    ParameterError
        For an unknown `on` or a bad `upsample`.
    """
    from ..registration import register

    moving = _as_reconstruction(moving, "moving")
    fixed = _as_reconstruction(fixed, "fixed")
    if on not in ("amplitude", "phase"):
        raise ParameterError(f"on={on!r} is not allowed; choose 'amplitude' or 'phase'.")
    if isinstance(upsample, bool) or not isinstance(upsample, int) or upsample < 1:
        raise ParameterError(f"upsample must be a positive integer, got {upsample!r}.")
    steps = {d: axis_step(fixed, d)[0] for d in ("y", "x")}

    def as_nm(da: xr.DataArray) -> xr.DataArray:
        # registration needs length units: pixel coordinates count as 1 nm
        if any(da[d].attrs.get("units", "px") == "px" for d in ("y", "x") if d in da.coords) or not all(
            d in da.coords for d in ("y", "x")
        ):
            return da.assign_coords(
                {
                    d: xr.DataArray(np.arange(da.sizes[d], dtype=float), dims=d, attrs={"units": "nm"})
                    for d in ("y", "x")
                }
            )
        return da

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HolocorrWarning)  # reported by potential_change
        reg = register(as_nm(moving[on]), as_nm(fixed[on]), method="phase", upsample=upsample)
    scale = {d: (1.0 if fixed[d].attrs.get("units", "px") == "px" else steps[d]) for d in ("y", "x")}
    shift_px = (reg.shift_nm[0] / scale["y"], reg.shift_nm[1] / scale["x"])
    used = np.zeros(2)
    var = np.zeros(2)
    for direction, err in zip(reg.principal_directions, reg.principal_errors_nm, strict=True):
        v = np.asarray(direction, dtype=float)
        if math.isfinite(err):
            used += v * float(np.dot(v, reg.shift_nm))
            var += (v * err) ** 2
        else:
            # an undetermined direction makes an axis undetermined only if it
            # has a real component along it (not a few-degree tilt)
            var += np.where(np.abs(v) > 0.1, math.inf, 0.0)
    err_px = (math.sqrt(var[0]) / scale["y"], math.sqrt(var[1]) / scale["x"])
    errs = np.asarray(reg.principal_errors_nm, dtype=float)
    cond = float((errs[1] / errs[0]) ** 2) if errs[0] > 0 else math.inf
    return {
        "shift_px": shift_px,
        "shift_nm": (shift_px[0] * steps["y"], shift_px[1] * steps["x"]),
        "used_shift_px": (float(used[0]) / scale["y"], float(used[1]) / scale["x"]),
        "error_px": err_px,
        "error_nm": (err_px[0] * steps["y"], err_px[1] * steps["x"]),
        "error": float(1.0 - reg.similarity) if math.isfinite(reg.similarity) else math.nan,
        "condition": cond,
        "weak_direction": tuple(float(v) for v in reg.principal_directions[1]),
    }


def _check_same_grid(a: xr.Dataset, b: xr.Dataset) -> None:
    if a["phase"].shape != b["phase"].shape:
        raise ShapeError(
            f"charged {a['phase'].shape} and pristine {b['phase'].shape} reconstructions differ in "
            "shape; reconstruct both with the same output_shape."
        )
    for dim in ("y", "x"):
        sa, ua = axis_step(a, dim)
        sb, ub = axis_step(b, dim)
        if ua != ub or not math.isclose(sa, sb, rel_tol=1e-6):
            raise CalibrationError(
                f"charged and pristine have different {dim} sampling ({sa:g} {ua} vs {sb:g} {ub}); "
                "reconstruct both from holograms of the same magnification with the same output_shape."
            )


def potential_change(
    charged,
    pristine,
    *,
    thickness,
    vacuum: Any = None,
    register: bool = True,
    beam_energy_kv: float | None = None,
    upsample: int = 20,
) -> xr.Dataset:
    """Potential change between two states from their reconstructions.

    dV(x, y) = (phi_charged - phi_pristine) / (C_E t). The charged
    reconstruction is registered onto the pristine one sub-pixel (upsampled
    phase correlation on the amplitude), shifted and cropped to the common
    area. With the complex waves present (as returned by ``reconstruct``) the
    charged wave is Fourier-shifted (exact for the band-limited wave) and the
    difference is the unwrapped argument of wave_c conj(wave_p), so steep
    phases that are hard to unwrap on their own (a Pt layer) matter much less
    (on the reference data: 402 pixels off by 2 pi, at the Pt interface and
    the image border, against 914 when subtracting unwrapped phases);
    otherwise the unwrapped phases are shifted by cubic splines and
    subtracted. Both states are referred to the same vacuum region. The mean
    inner potential times thickness, and any fixed artefact, cancel.

    Parameters
    ----------
    charged, pristine : xarray.Dataset
        Results of :func:`~holocorr.holography.reconstruct` (unwrapped
        phase) on the same grid.
    thickness : float or xarray.DataArray [nm]
        Specimen thickness, a number or a map on the pristine grid.
    vacuum : dict or bool mask, optional
        Common vacuum region (e.g. ``{"x": slice(0, 40)}`` in nm, on the
        pristine grid): the mean phase difference there is set to zero. None
        leaves the difference's constant undetermined (warned).
    register : bool
        Register the charged state onto the pristine one (default True).
    beam_energy_kv : float, optional
        Beam energy [kV]; default from the attrs.
    upsample : int
        Registration precision is 1/upsample output px.

    Returns
    -------
    xarray.Dataset
        ``delta_phase`` [rad], ``delta_potential`` [V] and ``noise`` [V] (one
        standard deviation of delta_potential per pixel: the shot-noise
        yardstick of both states when their doses are known, else the
        measured standard deviation of delta_phase over the vacuum), on the
        pristine grid cropped to the overlap; attrs
        ``registration_shift_nm``, ``registration_shift_px``,
        ``registration_error_nm`` (1 sigma), ``registration_error``, ``vacuum_offset_rad``, ``beam_energy_kv`` and
        provenance.

    Raises
    ------
    ShapeError, CalibrationError
        For inputs that are not reconstructions on the same grid, or no
        beam energy.
    ParameterError
        For a bad thickness, an empty vacuum region or bad options.

    References
    ----------
    Yamamoto et al., Angew. Chem. Int. Ed. 49, 4414 (2010),
    doi:10.1002/anie.201000869.
    """
    charged = _as_reconstruction(charged, "charged")
    pristine = _as_reconstruction(pristine, "pristine")
    _check_same_grid(charged, pristine)
    if not isinstance(register, bool):
        raise ParameterError(f"register must be True or False, got {register!r}.")
    if isinstance(thickness, int | float) and not isinstance(thickness, bool):
        check_positive("thickness", thickness, unit="nm")
    kv = (
        beam_energy_kv
        if beam_energy_kv is not None
        else pristine.attrs.get("beam_energy_kv", charged.attrs.get("beam_energy_kv"))
    )
    if kv is None:
        raise CalibrationError("the beam energy is unknown: pass beam_energy_kv= (e.g. 300).")
    kv = check_positive("beam_energy_kv", kv, unit="kV")
    for st, ds in (("charged", charged), ("pristine", pristine)):
        other = ds.attrs.get("beam_energy_kv")
        if other is not None and not math.isclose(float(other), kv, rel_tol=1e-6):
            raise CalibrationError(
                f"{st} was recorded at {other} kV but beam_energy_kv={kv:g}; compare states at one beam energy."
            )

    use_waves = "wave" in charged and "wave" in pristine
    reg = {"shift_px": (0.0, 0.0), "shift_nm": (0.0, 0.0), "error_px": (0.0, 0.0), "error_nm": (0.0, 0.0), "error": 0.0}
    if register:
        reg = register_waves(charged, pristine, upsample=upsample)
        ey, ex = reg["error_px"]
        if not (math.isfinite(ey) and math.isfinite(ex)) or max(ey, ex) > 1.0:
            wy, wx = reg["weak_direction"]
            uy, ux = reg["used_shift_px"]
            warnings.warn(
                f"the registration is uncertain: best shift ({reg['shift_px'][0]:.2f}, "
                f"{reg['shift_px'][1]:.2f}) px, +-({ey:.2f}, {ex:.2f}) px (1 sigma); least constrained "
                f"along (dy, dx) = ({wy:.2f}, {wx:.2f}). "
                f"Applied shift ({uy:.2f}, {ux:.2f}) px: only the components the image structure "
                "determines above the noise. An image dominated by one straight edge, or by noise, "
                "constrains the shift only across the edge; profiles across it are unaffected. For "
                "maps, average more frames, crop to an area with structure in both directions, or "
                "shift yourself and pass register=False.",
                HolocorrWarning,
                stacklevel=user_stacklevel(),
            )
        reg["shift_px"] = reg["used_shift_px"]
        reg["shift_nm"] = (
            reg["used_shift_px"][0] * axis_step(pristine, "y")[0],
            reg["used_shift_px"][1] * axis_step(pristine, "x")[0],
        )
    sy, sx = reg["shift_px"]
    if use_waves:
        # The waves are band-limited by the sideband aperture, so a Fourier
        # shift is exact, and the wrapped difference needs no unwrapping of
        # the (possibly steep) individual phases.
        wave_c = np.asarray(charged["wave"].values, dtype=np.complex128)
        if sy or sx:
            wave_c = np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(wave_c), (sy, sx)))
        wrapped = np.angle(wave_c * np.conj(np.asarray(pristine["wave"].values, dtype=np.complex128)))
    else:
        phi_c = np.asarray(charged["phase"].values, dtype=np.float64)
        if sy or sx:
            phi_c = ndimage.shift(phi_c, (sy, sx), order=3, mode="nearest")
    ny, nx = charged["phase"].shape
    y0, y1 = int(math.ceil(max(sy, 0.0))), ny - int(math.ceil(max(-sy, 0.0)))
    x0, x1 = int(math.ceil(max(sx, 0.0))), nx - int(math.ceil(max(-sx, 0.0)))
    if y1 - y0 < 8 or x1 - x0 < 8:
        raise ParameterError(
            f"the states overlap by only {y1 - y0}x{x1 - x0} px after registration "
            f"(shift {sy:.1f}, {sx:.1f} px); check that both show the same area."
        )
    crop = {"y": slice(y0, y1), "x": slice(x0, x1)}
    pr = pristine.isel(crop)
    if use_waves:
        from .phase import unwrap as _unwrap

        dwrapped = xr.DataArray(wrapped[y0:y1, x0:x1], dims=("y", "x"), coords=pr["phase"].coords)
        dphi = np.asarray(_unwrap(dwrapped).values, dtype=np.float64)
    else:
        dphi = phi_c[y0:y1, x0:x1] - np.asarray(pr["phase"].values, dtype=np.float64)
    like = pr["phase"]
    offset = 0.0
    vac_mask = None
    if vacuum is not None:
        if isinstance(vacuum, dict):
            vac_mask, _ = region_mask(vacuum, like, name="vacuum")
        else:
            m = np.asarray(getattr(vacuum, "values", vacuum))
            if m.dtype != bool or m.shape != pristine["phase"].shape:
                raise ParameterError(
                    f"vacuum must be a dict of coordinate ranges or a bool mask of shape "
                    f"{pristine['phase'].shape} (the pristine grid)."
                )
            vac_mask = m[y0:y1, x0:x1]
            if not vac_mask.any():
                raise ParameterError("the vacuum mask selects no pixel inside the common area of both states.")
        offset = float(np.mean(dphi[vac_mask]))
    else:
        # No common reference: remove only the 2 pi multiple nearest the median.
        offset = 2.0 * math.pi * round(float(np.median(dphi)) / (2.0 * math.pi))
        warnings.warn(
            "no vacuum region given: the constant of the phase difference is undetermined "
            "(only a multiple of 2 pi was removed). Pass vacuum={'x': slice(...)} in the data's units.",
            HolocorrWarning,
            stacklevel=user_stacklevel(),
        )
    dphi -= offset
    dtype = pristine["phase"].dtype
    dphase = xr.DataArray(
        dphi.astype(dtype),
        dims=("y", "x"),
        coords=like.coords,
        attrs={"units": "rad", "long_name": "phase change (charged - pristine)"},
    )
    thick = thickness
    if isinstance(thickness, xr.DataArray):
        thick = thickness.isel({k: v for k, v in crop.items() if k in thickness.dims})
    dv = phase_to_potential(dphase, thickness=thick, beam_energy_kv=kv)
    ce = float(interaction_constant(kv))
    t_arr = np.asarray(getattr(thick, "values", thick), dtype=np.float64)
    # noise: yardstick of both states when doses are known, else measured over vacuum
    nc, npr = phase_noise(charged), phase_noise(pristine)
    if nc.map is not None and npr.map is not None:
        sig = np.sqrt(
            np.asarray(nc.map.values, np.float64)[y0:y1, x0:x1] ** 2
            + np.asarray(npr.map.values, np.float64)[y0:y1, x0:x1] ** 2
        )
        noise_kind = "shot-noise yardstick of both states"
    elif vac_mask is not None and vac_mask.sum() > 3:
        sig = np.full(dphi.shape, float(np.std(dphi[vac_mask], ddof=1)))
        noise_kind = "standard deviation of delta_phase over the vacuum region"
    else:
        sig = np.full(dphi.shape, np.nan)
        noise_kind = "unknown (no dose and no vacuum region)"
    noise = xr.DataArray(
        (sig / (ce * t_arr)).astype(dtype),
        dims=("y", "x"),
        coords=like.coords,
        attrs={"units": "V", "long_name": "potential change noise (1 sigma)", "method": noise_kind},
    )
    out = xr.Dataset(
        {
            "delta_phase": dphase,
            "delta_potential": dv.assign_attrs(units="V", long_name="potential change (charged - pristine)"),
            "noise": noise,
        }
    )
    out.attrs.update(
        {
            "beam_energy_kv": kv,
            "registration_shift_px": list(reg["shift_px"]),
            "registration_shift_nm": list(reg["shift_nm"]),
            "registration_error": reg["error"],
            "registration_error_nm": list(reg["error_nm"]),
            "registration_condition": reg.get("condition", 1.0),
            "vacuum_offset_rad": offset,
            "holocorr": provenance(
                "holography.potential_change",
                {
                    "thickness": thickness if not isinstance(thickness, xr.DataArray) else "map",
                    "vacuum": vacuum if isinstance(vacuum, dict) else ("mask" if vacuum is not None else None),
                    "register": register,
                    "beam_energy_kv": kv,
                    "upsample": upsample,
                },
                {
                    "charged": charged["phase"].values,
                    "pristine": pristine["phase"].values,
                    "thickness": thickness if isinstance(thickness, xr.DataArray) else None,
                },
            ),
        }
    )
    return out
