"""Run the whole analysis from a validated configuration into a results folder."""

from __future__ import annotations

import base64
import html
import json
import math
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import _atomic
from .._provenance import file_sha256, jsonable
from .._validate import user_stacklevel
from .._version import __version__
from ..errors import HolocorrError, HolocorrWarning, ParameterError
from .config import SCHEMA, Config, ConfigError

__all__ = ["Results", "PipelineError", "run"]


class PipelineError(HolocorrError):
    """A pipeline step failed; earlier results are intact in the results folder."""


@dataclass
class Results:
    """What a pipeline run produced.

    Attributes
    ----------
    folder : pathlib.Path
        The results folder.
    summary : dict
        The content of ``summary.json``.
    files : dict
        Output name -> path.
    data : dict
        Name -> xarray object kept in memory (reconstructions, maps, profiles).
    """

    folder: Path
    summary: dict
    files: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)


def _atomic_text(path: Path, text: str) -> None:
    """Replace `path` by `text` (UTF-8) atomically: temp file, fsync, rename, fsync of the folder.

    A failure leaves the previous file as it was and no temporary file.
    """
    _atomic.write_text(path, text)


def _savefig(fig, path: Path) -> None:
    """Save `fig` to `path` atomically (the format from the suffix), like :func:`_atomic_text`."""
    _atomic.replace_file(path, fig.savefig)


def _band_profile(da: xr.DataArray, rows, res_px: float) -> xr.Dataset:
    """Average a band of rows over y, with the standard error.

    Rows within a resolution length are correlated, so the error counts
    n_independent = n_rows / resolution.
    """
    band = da.sel(y=slice(*rows)) if rows else da
    prof = band.mean("y")
    n_ind = max(band.sizes["y"] / max(res_px, 1.0), 1.0)
    err = band.std("y") / math.sqrt(n_ind)
    out = xr.Dataset(
        {
            "value": prof.assign_attrs(units=da.attrs.get("units", ""), long_name=da.attrs.get("long_name", da.name)),
            "error": err.assign_attrs(units=da.attrs.get("units", ""), long_name="standard error"),
        }
    )
    out["x"].attrs.update(da["x"].attrs)
    return out


def _check_output_folder(out: Path, overwrite: bool) -> None:
    """Refuse an output folder that is a file, or that holds results without `overwrite`."""
    if out.exists() and not out.is_dir():
        raise HolocorrError(f"{out} is a file, not a folder; choose another output folder.")
    if out.exists() and any(p for p in out.iterdir() if not p.name.startswith(".")) and not overwrite:
        raise HolocorrError(
            f"{out} already holds files; choose another output.folder or set output.overwrite = true "
            "(--overwrite on the command line)."
        )


class _Steps:
    """Runs the steps under one progress bar and holds back their warnings.

    A holocorr warning raised inside a step is recorded (step, message) and
    shown only when the bar is closed, prefixed with the step's name, so that
    messages do not break the bar; the list goes into ``summary.json`` and
    the report. The caller's warning filters apply as usual (ignored
    warnings are not recorded, ``error`` still raises at once).
    """

    def __init__(self, names, progress):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=len(names), disable=not progress, desc="holocorr pipeline", unit="step")
        self.done: list[str] = []
        self.warnings: list[dict[str, str]] = []
        self._shown = 0

    def run(self, name, func, *args, **kw):
        self.bar.set_postfix_str(name)
        try:
            with warnings.catch_warnings(record=True) as caught:
                out = func(*args, **kw)
            self._keep(name, caught)
        except HolocorrError as exc:
            self.close()
            raise PipelineError(
                f"step '{name}' failed: {exc} Results of the earlier steps "
                f"({', '.join(self.done) or 'none'}) are intact."
            ) from exc
        except Exception as exc:  # an unexpected failure is still reported by step
            self.close()
            raise PipelineError(
                f"step '{name}' failed unexpectedly ({type(exc).__name__}: {exc}). Results "
                f"of the earlier steps ({', '.join(self.done) or 'none'}) are intact. "
                f"Details: {traceback.format_exc(limit=3)}"
            ) from exc
        self.done.append(name)
        self.bar.update()
        return out

    def _keep(self, name, caught):
        for w in caught:
            if issubclass(w.category, HolocorrWarning):
                self.warnings.append({"step": name, "message": str(w.message)})
            else:  # not ours: pass it on unchanged
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)

    def close(self):
        """Close the bar, then show the warnings held back so far (once each)."""
        self.bar.close()
        for item in self.warnings[self._shown :]:
            warnings.warn(f"{item['step']}: {item['message']}", HolocorrWarning, stacklevel=user_stacklevel())
        self._shown = len(self.warnings)


def run(config: Config, *, progress: bool = True) -> Results:
    """Run the analysis described by `config` and write its results folder.

    Steps: reconstruct both states; thickness; potential change; potential
    profile and front; (with [eels]) Li profile and front, comparison
    statistics and the electrode-potential vs MIP test; figures; summary,
    provenance and an HTML report.

    Parameters
    ----------
    config : Config
        From :func:`~holocorr.pipeline.load_config` or
        :func:`~holocorr.pipeline.validate_config`.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Results

    Raises
    ------
    ConfigError
        When `config` is not a complete :class:`Config`.
    ParameterError
        For a non-boolean `progress`.
    HolocorrError
        When the output folder holds results and overwrite is off.
    PipelineError
        Naming the step that failed; files of earlier steps stay.
    """
    import holocorr
    from holocorr.correlation import fit_front
    from holocorr.holography import (
        mean_free_path,
        potential_change,
        reconstruct,
        thickness_from_amplitude,
    )

    t0 = time.perf_counter()
    if not isinstance(config, Config) or any(
        not isinstance(config.values.get(section), dict) or set(keys) - set(config.values[section])
        for section, keys in SCHEMA.items()
    ):
        raise ConfigError(
            f"run needs a complete Config from holocorr.pipeline.load_config or validate_config, got "
            f"{type(config).__name__}{'' if not isinstance(config, Config) else ' with missing sections or keys'}."
        )
    if not isinstance(progress, bool):
        raise ParameterError(f"progress must be True or False, got {progress!r}.")
    c = config
    out = Path(c["output"]["folder"])
    _check_output_folder(out, c["output"]["overwrite"])
    (out / "figures").mkdir(parents=True, exist_ok=True)
    inputs = {}
    for state in ("pristine", "charged"):
        for kind, path in c["holography"][state].items():
            inputs[f"{state}_{kind}"] = path
    if c["eels"]["core_loss"] is not None:
        inputs["eels_core_loss"] = c["eels"]["core_loss"]
        inputs["eels_low_loss"] = c["eels"]["low_loss"]
    has_eels = "eels_core_loss" in inputs
    names = ["reconstruct pristine", "reconstruct charged", "thickness", "potential change", "potential profile"]
    if has_eels:
        names += ["Li profile", "compare", "electrode potential vs MIP"]
    names += ["figures", "report"]
    steps = _Steps(names, progress)
    files: dict[str, Path] = {}
    data: dict[str, Any] = {}
    h = c["holography"]
    vacuum = {k: v for k, v in (("y", h["vacuum_y_nm"]), ("x", h["vacuum_x_nm"])) if v is not None} or None

    def save(obj, name):
        path = out / name
        holocorr.save(obj, path, overwrite=True, inputs=list(inputs.values()))
        files[name] = path

    def rec(state):
        holo = holocorr.load(h[state]["object"])
        ref = holocorr.load(h[state]["reference"]) if "reference" in h[state] else None
        if h["beam_energy_kv"] is not None:
            holo = holo.assign_attrs(beam_energy_kv=h["beam_energy_kv"])
        ds = reconstruct(
            holo, ref, radius=h["radius"], edge=h["edge"], apodize=h["apodize"], output_shape=holo.shape[-2:]
        )
        save(ds, f"{state}_reconstruction.nc")
        return ds

    recs = {s: steps.run(f"reconstruct {s}", rec, s) for s in ("pristine", "charged")}
    data.update({f"{s}_reconstruction": d for s, d in recs.items()})
    kv = float(recs["pristine"].attrs["beam_energy_kv"]) if "beam_energy_kv" in recs["pristine"].attrs else None

    def thickness():
        t = c["thickness"]
        if t["source"] == "value":
            return float(t["value_nm"]), None
        if vacuum is None:
            raise HolocorrError(
                "thickness.source = 'amplitude' needs a vacuum region (holography.vacuum_y_nm "
                "or vacuum_x_nm) for the vacuum amplitude."
            )
        lam = t["mean_free_path_nm"] or mean_free_path(beam_energy_kv=kv, material=t["material"])
        tmap = thickness_from_amplitude(recs["pristine"].amplitude, mean_free_path=lam, vacuum=vacuum)
        save(tmap.to_dataset(name="thickness"), "thickness.nc")
        area = tmap.sel(y=slice(*c["profile"]["rows_nm"])) if c["profile"]["rows_nm"] else tmap
        xr_ = c["profile"]["x_range_nm"]
        if xr_:
            area = area.sel(x=slice(*xr_))
        return float(area.median()), tmap

    t_nm, tmap = steps.run("thickness", thickness)
    data["thickness"] = tmap

    def dpot():
        dv = potential_change(recs["charged"], recs["pristine"], thickness=t_nm, vacuum=vacuum, beam_energy_kv=kv)
        save(dv, "potential_change.nc")
        return dv

    dv = steps.run("potential change", dpot)
    data["potential_change"] = dv
    res_px = float(recs["pristine"].attrs.get("resolution_nm", 4.0)) / float(
        recs["pristine"].attrs["output_pixel_size"][0]
    )

    def pprofile():
        prof = _band_profile(dv.delta_potential, c["profile"]["rows_nm"], res_px)
        front = fit_front(
            prof["value"], model="erf", within=c["profile"]["x_range_nm"], n_boot=200, rng=c["statistics"]["rng"]
        )
        save(prof, "potential_profile.nc")
        return prof, front

    pprof, pfront = steps.run("potential profile", pprofile)
    data["potential_profile"], data["potential_front"] = pprof, pfront
    summary: dict[str, Any] = {
        "holocorr_version": __version__,
        "config": str(c.source) if c.source else None,
        "thickness_nm": t_nm,
        "potential_step_v": _step(pfront),
        "potential_step_ci_v": _step_ci(pfront),
        "potential_front_nm": pfront.position_nm,
        "potential_front_ci_nm": list(pfront.position_ci),
        "potential_front_width_nm": pfront.width_nm,
        "registration_shift_nm": dv.attrs["registration_shift_nm"],
        "registration_error_nm": dv.attrs["registration_error_nm"],
    }
    if has_eels:
        from holocorr.correlation import compare, potential_vs_mip
        from holocorr.eels import li_map

        e = c["eels"]
        xr_ = c["profile"]["x_range_nm"]

        def li_profile():
            core = holocorr.load(e["core_loss"])
            data["core_loss"] = core
            low = holocorr.load(e["low_loss"])
            if "energy_low" in low.dims:
                low = low.rename(energy_low="energy")
            lm = li_map(core, low_loss=low)
            save(lm, "li_map.nc")
            rel = _as_profile(lm["li"], lm["li_error"])
            rel_front = fit_front(rel, model="erf", within=xr_, n_boot=200, rng=c["statistics"]["rng"])
            if e["bulk_nm"] is not None:
                bulk = float(rel.sel(distance=slice(*e["bulk_nm"])).mean())
            else:  # the plateau on the high-distance side (the electrolyte)
                bulk = float(rel_front.offset + rel_front.step)
            if not (bulk > 0):
                raise HolocorrError(f"the electrolyte Li level ({bulk:.3g}) is not positive; set eels.bulk_nm.")
            scale = e["li_bulk_per_fu"] / bulk
            li_abs = (rel * scale).assign_attrs(units="Li per formula unit", long_name="Li")
            li_abs = li_abs.assign_coords(profile_error=rel["profile_error"] * scale)
            front = fit_front(li_abs, model="erf", within=xr_, n_boot=200, rng=c["statistics"]["rng"])
            left, right = front.offset, front.offset + front.step
            save(li_abs.to_dataset(name="li"), "li_profile.nc")
            return lm, li_abs, front, left / right

        lm, li_prof, lfront, ratio = steps.run("Li profile", li_profile)
        data["li_map"], data["li_profile"], data["li_front"] = lm, li_prof, lfront
        dprof = _as_profile(pprof["value"], pprof["error"])
        if xr_:
            dprof = dprof.sel(distance=slice(*xr_))
            li_cmp = li_prof.sel(distance=slice(*xr_))
        else:
            li_cmp = li_prof

        def comparison():
            cmp_ = compare(dprof, li_cmp, n_boot=c["statistics"]["n_boot"], rng=c["statistics"]["rng"])
            save(cmp_.to_dataset(), "comparison.nc")
            return cmp_

        cmp_ = steps.run("compare", comparison)
        data["comparison"] = cmp_

        def origin():
            bulk = e["bulk_nm"] or (lfront.position_nm + 3 * lfront.width_nm, float(li_cmp.distance.max()))
            return potential_vs_mip(dprof, li_cmp, li_baseline=tuple(bulk))

        pvm = steps.run("electrode potential vs MIP", origin)
        data["potential_vs_mip"] = pvm
        cd = cmp_.to_dict()
        summary.update(
            {
                "li_front_nm": lfront.position_nm,
                "li_front_ci_nm": list(lfront.position_ci),
                "li_front_width_nm": lfront.width_nm,
                "li_ratio": ratio,
                "correlation": {
                    k: cd.get(k)
                    for k in (
                        "r",
                        "r_ci",
                        "p_value",
                        "n_effective",
                        "spearman_rho",
                        "slope",
                        "slope_ci",
                        "lag_nm",
                        "lag_ci_nm",
                    )
                },
                "origin": {
                    "delta_v_el": pvm.delta_v_el,
                    "delta_v_el_ci": list(pvm.delta_v_el_ci),
                    "k_mip": pvm.k_mip,
                    "k_mip_ci": list(pvm.k_mip_ci),
                    "verdict": pvm.verdict,
                    "message": pvm.message,
                },
            }
        )
    steps.run("figures", _figures, out, c, data, pfront, files)

    def report():
        summary["runtime_s"] = time.perf_counter() - t0
        summary["warnings"] = list(steps.warnings)
        truth = _truth_for(inputs)
        if truth is not None:
            summary["truth"] = truth
        _atomic_text(out / "summary.json", json.dumps(jsonable(summary), indent=2) + "\n")
        files["summary.json"] = out / "summary.json"
        prov = {
            "holocorr_version": __version__,
            "numpy_version": np.__version__,
            "xarray_version": xr.__version__,
            "config": jsonable(c.values),
            "inputs": {k: {"path": str(v), "sha256": file_sha256(v)} for k, v in inputs.items()},
            "outputs": {k: str(v) for k, v in files.items()},
        }
        _atomic_text(out / "provenance.json", json.dumps(prov, indent=2) + "\n")
        files["provenance.json"] = out / "provenance.json"
        _atomic_text(out / "report.html", _report_html(summary, c, files, out))
        files["report.html"] = out / "report.html"

    steps.run("report", report)
    steps.close()
    return Results(folder=out, summary=summary, files=files, data=data)


def _as_profile(value: xr.DataArray, error: xr.DataArray) -> xr.DataArray:
    """Turn a profile over ``x`` into one over ``distance`` carrying ``profile_error``."""
    dim = "x" if "x" in value.dims else value.dims[0]
    units = value[dim].attrs.get("units", "nm")
    out = value.rename({dim: "distance"}).assign_coords(profile_error=("distance", np.asarray(error.values)))
    out["distance"].attrs.update(units=units, long_name="distance")
    return out


def _step(front) -> float:
    """Value on the low-distance side (electrode) minus the high side (electrolyte)."""
    return -float(front.step)


def _step_ci(front) -> list:
    lo, hi = front.step_ci
    return [-float(hi), -float(lo)]


def _truth_for(inputs: dict) -> dict | None:
    """Ground truth when every input is a file of the bundled reference data."""
    folders = {Path(p).resolve().parent for p in inputs.values()}
    if len(folders) != 1:
        return None
    folder = folders.pop()
    mpath = folder / "manifest.json"
    if not mpath.exists():
        return None
    manifest = json.loads(mpath.read_text())
    for p in inputs.values():
        entry = manifest["files"].get(Path(p).name)
        if entry is None or file_sha256(p) != entry["sha256"]:
            return None
    return manifest["truth"]


def _figures(out: Path, c: Config, data: dict, pfront, files: dict) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from holocorr import plot

    dv = data["potential_change"]
    prof = data["potential_profile"]
    with plot.style(c["output"]["journal"]):
        fig, axes = plt.subplots(1, 2, figsize=(180 / 25.4, 65 / 25.4), layout="constrained")
        plot.map(dv.delta_potential, ax=axes[0], title="potential change")
        ax = axes[1]
        x = prof.x.values
        v, e = prof["value"].values, prof["error"].values
        ax.fill_between(x, v - 2 * e, v + 2 * e, alpha=0.3, label="±2 s.e.")
        ax.plot(x, v, lw=1, label="ΔV measured")
        xs = np.linspace(x.min(), x.max(), 800)
        ax.plot(xs, pfront.model(xs), "C3--", lw=0.8, label=f"erf front {pfront.position_nm:.0f} nm")
        ax.set_xlabel(f"{prof.x.attrs.get('long_name', 'x')} [{prof.x.attrs.get('units', 'nm')}]")
        ax.set_ylabel("potential change [V]")
        ax.legend(loc="best")
        for ext in c["output"]["formats"]:
            path = out / "figures" / f"potential_change.{ext}"
            _savefig(fig, path)
            files[f"figures/potential_change.{ext}"] = path
        plt.close(fig)
        if "comparison" in data:
            fig = plot.summary_figure(data)
            for ext in c["output"]["formats"]:
                path = out / "figures" / f"summary.{ext}"
                _savefig(fig, path)
                files[f"figures/summary.{ext}"] = path
            plt.close(fig)


def _report_html(summary: dict, c: Config, files: dict, out: Path) -> str:
    rows = []
    truth = summary.get("truth", {})
    for key, val in summary.items():
        if key in ("truth", "config", "warnings"):
            continue
        t = truth.get(key) if isinstance(truth, dict) else None
        rows.append(
            f"<tr><td>{html.escape(key)}</td><td>{html.escape(_fmt(val))}</td>"
            f"<td>{html.escape(_fmt(t)) if t is not None else ''}</td></tr>"
        )
    imgs = []
    for name, path in files.items():
        if name.endswith(".png"):
            b64 = base64.b64encode(Path(path).read_bytes()).decode()
            imgs.append(
                f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{b64}" '
                f'style="max-width:100%"><figcaption>{html.escape(name)}</figcaption></figure>'
            )
    params = html.escape(json.dumps(jsonable(c.values), indent=2))
    outs = "".join(f"<li>{html.escape(n)}</li>" for n in files)
    warns = summary.get("warnings") or []
    warn_html = (
        "<h2>Warnings</h2><ul>"
        + "".join(f"<li><b>{html.escape(w['step'])}</b>: {html.escape(w['message'])}</li>" for w in warns)
        + "</ul>"
        if warns
        else "<h2>Warnings</h2><p>none</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>holocorr report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:0.2em 0.6em;text-align:left}}pre{{background:#f6f6f6;padding:1em}}</style>
</head><body>
<h1>holocorr report</h1>
<p>holocorr {html.escape(__version__)}; results in <code>{html.escape(str(out))}</code>.</p>
<h2>Results</h2>
<table><tr><th>quantity</th><th>value</th><th>truth (reference data)</th></tr>{"".join(rows)}</table>
{warn_html}
<h2>Figures</h2>{"".join(imgs)}
<h2>Parameters</h2><pre>{params}</pre>
<h2>Files</h2><ul>{outs}</ul>
</body></html>
"""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return json.dumps(jsonable(v))
    return str(v)
