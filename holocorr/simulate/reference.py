"""The bundled reference dataset: regenerated bit for bit from fixed seeds.

``python -m holocorr.simulate reference reference_holograms/`` writes the
pristine and charged hologram pairs of the reference specimen (SCIENCE.md),
a calibrated TIFF copy of one hologram, 1-D ground-truth profiles, a README
and ``manifest.json`` with the SHA-256 of every file, the SHA-256 of every
array's bytes (stable across library versions that change file headers),
the generating parameters and a ground-truth summary.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._atomic import fsync_dir, fsync_file
from .._provenance import file_sha256
from .._version import __version__
from ..errors import FileFormatError
from ._eels import sr_eels
from ._specimen import holograms, specimen

__all__ = ["SPECIMEN", "HOLOGRAMS", "SR_EELS", "SEEDS", "VACUUM_REGION", "write_reference", "verify_reference"]

#: Specimen parameters of the bundled data (SCIENCE.md defaults, 1 nm/px).
SPECIMEN: dict[str, Any] = {"shape": (512, 1024), "pixel_size_nm": 1.0, "beam_energy_kv": 300.0}
#: Hologram parameters (fringe spacing 4.5 px, 45 deg, contrast 0.3, 200 e-/px).
HOLOGRAMS: dict[str, Any] = {
    "spacing_px": 4.5,
    "angle_deg": 45.0,
    "contrast": 0.3,
    "dose": 200.0,
    "mtf_sigma": 0.5,
    "biprism_fresnel": True,
}
#: Fixed seeds: one Poisson stream per state.
SEEDS = {"pristine": 20261126, "charged": 20261127, "sr_eels": 20261128}
#: SR-EELS of the charged specimen: slit along the interface normal, 2 nm rows,
#: 0.1 eV channels, up to 2 eV non-isochromaticity across the slit.
SR_EELS: dict[str, Any] = {"position_sampling_nm": 2.0, "dispersion_ev": 0.1, "non_isochromaticity_ev": 2.0}
#: Vacuum strip of the bundled holograms, in nm (the top rows).
VACUUM_REGION = {"y": (4.0, 48.0)}
#: Rows where the lamella has its full thickness, in nm.
FULL_THICKNESS_ROWS = (230.0, 500.0)

README = """# reference_holograms (and SR-EELS)

Simulated off-axis holograms of holocorr's reference specimen (see
../shared/SCIENCE.md, "A reference specimen"): Pt (x < 0) | in-situ negative
electrode (0-400 nm, 2.3 Li per formula unit after charging) | LATSPO (1.3 Li),
150 nm thick, 300 kV, 1 nm/px, vacuum strip along the top (y < 64 nm),
plus an SR-TEM-EELS slit frame (core and low loss) of the charged specimen.

Regenerate bit for bit (fixed seeds) and check:

    python -m holocorr.simulate reference reference_holograms --overwrite
    python -m holocorr.simulate reference reference_holograms --verify

manifest.json lists every file with its SHA-256, the SHA-256 of each array's
bytes, the generating parameters and the ground truth (Li front 400 nm,
potential step -0.7 V = -1.0 V electrode potential + 0.3 V MIP change,
delta phase -0.685 rad, C_E = 6.5262e-3 rad/(V nm)).

| file | what |
| --- | --- |
{table}
"""

_DESCRIPTIONS = {
    "pristine_object.nc": "object hologram, pristine state (uint16 counts, y/x in nm, 300 kV)",
    "pristine_reference.nc": "vacuum reference hologram for the pristine state",
    "charged_object.nc": "object hologram after charging (Li-rich layer 0-400 nm from Pt)",
    "charged_reference.nc": "vacuum reference hologram for the charged state",
    "charged_object.tif": "the charged object hologram as a calibrated TIFF (1 nm/px; TIFF holds no beam energy)",
    "truth.nc": "ground-truth profiles along x (nm from the Pt interface), averaged over the full-thickness "
    "rows",
    "sr_eels_core_loss.nc": "SR-TEM-EELS core-loss frame of the charged specimen (x in nm along the slit, "
    "energy in eV; uint16 counts; Ti M2,3 / Li K / Al / Si / P / Pt edges, plural scattering, "
    "row-dependent energy shift)",
    "sr_eels_low_loss.nc": "matching low-loss frame (x, energy_low from -5 to 95 eV; uint16 counts)",
    "sr_eels_truth.nc": "SR-EELS ground truth per row: Li per formula unit, t/lambda, energy shift (eV), "
    "single-scattering Li K counts",
    "README.md": "this description",
}


def _data_sha256(da: xr.DataArray) -> str:
    arr = np.ascontiguousarray(da.values)
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.view(np.uint8).reshape(-1).data)
    return "sha256:" + h.hexdigest()


def _counts(da: xr.DataArray, state: str, kind: str) -> xr.DataArray:
    out = da.astype(np.uint16)
    if not np.array_equal(out.values, da.values):  # pragma: no cover - dose is far below 65535
        raise FileFormatError("hologram counts do not fit uint16")
    out.attrs = dict(da.attrs)
    out.attrs.update({"state": state, "kind": kind, "units": "counts", "long_name": "hologram intensity"})
    out.name = "hologram"
    return out


def _profiles(pristine: xr.Dataset, charged: xr.Dataset) -> xr.Dataset:
    rows = {"y": slice(*FULL_THICKNESS_ROWS)}
    prof = {}
    for name, ds in (("pristine", pristine), ("charged", charged)):
        sub = ds.sel(rows).mean("y")
        prof[f"li_{name}"] = sub["li"].assign_attrs(units="Li per formula unit", long_name=f"Li, {name}")
        prof[f"potential_{name}"] = sub["potential"].assign_attrs(units="V", long_name=f"potential, {name}")
        prof[f"electrode_potential_{name}"] = sub["electrode_potential"].assign_attrs(
            units="V", long_name=f"electrode potential, {name}"
        )
    sub_c, sub_p = charged.sel(rows).mean("y"), pristine.sel(rows).mean("y")
    prof["delta_potential"] = (sub_c["potential"] - sub_p["potential"]).assign_attrs(
        units="V", long_name="potential change (charged - pristine)"
    )
    prof["delta_li"] = (sub_c["li"] - sub_p["li"]).assign_attrs(units="Li per formula unit", long_name="Li change")
    prof["thickness"] = sub_p["thickness"].assign_attrs(units="nm", long_name="thickness")
    out = xr.Dataset(prof)
    out["x"].attrs.update({"units": "nm", "long_name": "distance from the Pt interface"})
    return out


def write_reference(folder: str | os.PathLike, *, overwrite: bool = False) -> dict:
    """Write the reference dataset into `folder` and return its manifest.

    The files are written to a hidden temporary folder inside `folder`
    (``.reference-*``), each is flushed to disk (fsync), and only when all
    are complete are they renamed into place one at a time, ``manifest.json``
    last, and the folder is flushed. Every single file is therefore either
    the complete old one or the complete new one. The folder as a whole is
    not replaced atomically: a crash or power cut during the renames can
    leave a mixed folder (some new files, some old ones, the old manifest)
    and possibly a ``.reference-*`` temporary folder. ``python -m
    holocorr.simulate reference <folder> --verify`` (:func:`verify_reference`)
    reports such a folder, and running the same command again with
    ``--overwrite`` regenerates it bit for bit (fixed seeds); the leftover
    temporary folder can be deleted.

    Parameters
    ----------
    folder : str or path-like
        Output folder (created).
    overwrite : bool
        Replace files that exist.

    Returns
    -------
    dict
        The manifest (also written as ``manifest.json``).

    Raises
    ------
    FileFormatError
        When files exist and `overwrite` is False.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(_DESCRIPTIONS) + ["manifest.json"]
    existing = [n for n in names if (folder / n).exists()]
    if existing and not overwrite:
        raise FileFormatError(f"{folder} already holds {existing}; pass overwrite=True to regenerate.")
    import rsciio.tiff

    from .. import save

    states = {}
    with tempfile.TemporaryDirectory(dir=folder, prefix=".reference-") as tmp:
        tmpd = Path(tmp)
        for state in ("pristine", "charged"):
            spec = specimen(state=state, **SPECIMEN)
            holo = holograms(spec, rng=SEEDS[state], **HOLOGRAMS)
            states[state] = spec
            for kind in ("object", "reference"):
                da = _counts(holo[kind], state, kind)
                for key in ("beam_energy_kv", "dose_e_per_px"):
                    if key in holo.attrs:
                        da.attrs[key] = holo.attrs[key]
                save(da, tmpd / f"{state}_{kind}.nc")
        obj = xr.open_dataarray(tmpd / "charged_object.nc", engine="h5netcdf").load()
        sig = {
            "data": np.asarray(obj.values, dtype=np.uint16),
            "axes": [
                {
                    "name": d,
                    "size": obj.sizes[d],
                    "scale": float(obj[d][1] - obj[d][0]),
                    "offset": float(obj[d][0]),
                    "units": "nm",
                    "navigate": False,
                }
                for d in ("y", "x")
            ],
            "metadata": {"General": {"title": "charged object hologram"}, "Signal": {"signal_type": ""}},
            "original_metadata": {},
            "attributes": {"_lazy": False},
            "tmp_parameters": {},
            "package_info": {"name": "holocorr", "version": __version__},
            "learning_results": {},
            "models": {},
        }
        rsciio.tiff.file_writer(str(tmpd / "charged_object.tif"), sig)
        eels = sr_eels(states["charged"], rng=SEEDS["sr_eels"], **SR_EELS)
        for var, name in (("core_loss", "sr_eels_core_loss.nc"), ("low_loss", "sr_eels_low_loss.nc")):
            da = eels[var]
            counts = da.astype(np.uint16)
            if np.array_equal(counts.values, da.values):
                da = counts.assign_attrs(da.attrs)
            da.attrs.update({k: v for k, v in eels.attrs.items() if k in ("beam_energy_kv", "dispersion_ev")})
            save(da.rename(var), tmpd / name)
        save(eels[[v for v in eels.data_vars if v.endswith("_true")]], tmpd / "sr_eels_truth.nc")
        truth = _profiles(states["pristine"], states["charged"])
        save(truth, tmpd / "truth.nc")
        table = "\n".join(f"| {n} | {d} |" for n, d in _DESCRIPTIONS.items())
        (tmpd / "README.md").write_text(README.format(table=table))

        t_true = json.loads(states["charged"].attrs["truth"])
        files = {}
        for name in _DESCRIPTIONS:
            entry = {"sha256": file_sha256(tmpd / name), "description": _DESCRIPTIONS[name]}
            if name.endswith(".nc"):
                with xr.open_dataset(tmpd / name, engine="h5netcdf") as ds:
                    entry["data_sha256"] = {v: _data_sha256(ds[v]) for v in ds.data_vars}
            files[name] = entry
        manifest = {
            "title": "holocorr reference holograms: Pt | in-situ negative electrode | LATSPO",
            "generator": "python -m holocorr.simulate reference <folder>",
            "holocorr_version": __version__,
            "parameters": {"specimen": SPECIMEN, "holograms": HOLOGRAMS, "sr_eels": SR_EELS, "seeds": SEEDS},
            "vacuum_region_nm": VACUUM_REGION,
            "full_thickness_rows_nm": FULL_THICKNESS_ROWS,
            "truth": {
                "li_front_nm": t_true["li_front_nm"],
                "li_step": t_true["li_step"],
                "li_electrode": states["charged"].attrs["li_electrode"],
                "li_electrolyte": states["charged"].attrs["li_electrolyte"],
                "li_plateau_ratio": states["charged"].attrs["li_electrode"] / states["charged"].attrs["li_electrolyte"],
                "sr_eels_max_energy_shift_ev": SR_EELS["non_isochromaticity_ev"],
                "potential_step_v": t_true["potential_step_charged_minus_pristine_v"],
                "potential_front_nm": t_true["li_front_nm"],
                "electrode_potential_step_v": t_true["electrode_potential_step_v"],
                "mip_step_v": t_true["mip_step_v"],
                "delta_phase_rad": t_true["delta_phase_charged_minus_pristine_rad"],
                "thickness_nm": t_true["thickness_nm"],
                "interaction_constant_rad_per_v_nm": t_true["interaction_constant_rad_per_v_nm"],
                "mean_free_path_latspo_nm": t_true["mean_free_path_latspo_nm"],
                "mean_free_path_pt_nm": t_true["mean_free_path_pt_nm"],
                "beam_energy_kv": SPECIMEN["beam_energy_kv"],
            },
            "files": files,
        }
        (tmpd / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for name in names:  # on disk before any is published
            fsync_file(tmpd / name)
        for name in names:  # manifest.json last
            os.replace(tmpd / name, folder / name)
        fsync_dir(folder)
    return manifest


def verify_reference(folder: str | os.PathLike) -> dict:
    """Check every file of a reference folder against its manifest.

    Parameters
    ----------
    folder : str or path-like
        Folder with ``manifest.json``.

    Returns
    -------
    dict
        File name to True (the file's SHA-256 matches, or for NetCDF files
        the SHA-256 of every array's bytes) or a message.

    Raises
    ------
    FileFormatError
        When the manifest is missing or unreadable.
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"no readable manifest.json in {folder}: {exc}") from exc
    out = {}
    for name, entry in manifest["files"].items():
        p = folder / name
        if not p.exists():
            out[name] = "missing"
        elif file_sha256(p) == entry["sha256"]:
            out[name] = True
        elif "data_sha256" in entry:
            # A newer NetCDF/HDF5 library may write other headers around the
            # same arrays: compare the arrays themselves.
            try:
                with xr.open_dataset(p, engine="h5netcdf") as ds:
                    same = {v: _data_sha256(ds[v]) for v in ds.data_vars} == entry["data_sha256"]
            except (OSError, ValueError):
                same = False
            out[name] = True if same else "data differ"
        else:
            out[name] = "checksum differs"
    return out
