"""The holocorr demo: the bundled reference data from holograms to a potential-change profile.

``holocorr demo -o results`` (or ``make demo``) reconstructs the pristine
and charged hologram pairs of ``reference_holograms/``, derives the
thickness from the amplitude, computes the charged - pristine potential
change, extracts the profile across the interface, fits the potential front
and compares everything with the ground truth in the manifest.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

from ._provenance import jsonable
from ._version import __version__
from .errors import FileFormatError, HolocorrError

__all__ = ["run", "reference_folder"]


def reference_folder() -> Path:
    """Return the bundled reference data folder, the repository's ``reference_holograms/``.

    When holocorr is installed without the repository, the data are
    regenerated (deterministically, about 3 s) into ``~/.cache/holocorr``.

    Returns
    -------
    pathlib.Path
    """
    repo = Path(__file__).resolve().parent.parent / "reference_holograms"
    if (repo / "manifest.json").exists():
        return repo
    from .simulate.reference import write_reference

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    cache = Path(base) / "holocorr" / f"reference-{__version__}"
    if not (cache / "manifest.json").exists():
        write_reference(cache, overwrite=True)
    return cache


def _front_fit(x: np.ndarray, y: np.ndarray) -> dict:
    """Least-squares erf front y = a + b/2 (1 + erf((x - x0)/(sqrt(2) s)))."""
    from scipy.optimize import least_squares
    from scipy.special import erf

    def model(p, xx):
        a, b, x0, s = p
        return a + 0.5 * b * (1 + erf((xx - x0) / (math.sqrt(2) * abs(s))))

    d = np.gradient(np.convolve(y, np.ones(9) / 9, mode="same"))
    i = int(np.argmax(np.abs(d[5:-5]))) + 5
    p0 = [
        float(np.median(y[: len(y) // 4])),
        float(np.median(y[-len(y) // 4 :]) - np.median(y[: len(y) // 4])),
        float(x[i]),
        10.0,
    ]
    res = least_squares(lambda p: model(p, x) - y, p0)
    a, b, x0, s = res.x
    return {
        "offset": float(a),
        "step": float(b),
        "position_nm": float(x0),
        "sigma_nm": float(abs(s)),
        "width_10_90_nm": float(2.5631 * abs(s)),
    }


def _savefig(fig, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def run(
    output: str | os.PathLike = "results",
    *,
    overwrite: bool = False,
    progress: bool = True,
    data: str | os.PathLike | None = None,
) -> dict:
    """Run the demo and write its results folder.

    Parameters
    ----------
    output : str or path-like
        Results folder (created).
    overwrite : bool
        Allow writing into a folder that already holds results.
    progress : bool
        Show a progress bar and print the summary table.
    data : str or path-like, optional
        Reference data folder (default: :func:`reference_folder`).

    Returns
    -------
    dict
        The summary (also written as ``summary.json``).

    Raises
    ------
    HolocorrError
        When the output folder already holds results and `overwrite` is False.
    FileFormatError
        When the reference data do not match their manifest's checksums.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from tqdm.auto import tqdm

    import holocorr
    from holocorr.holography import potential_change, reconstruct, thickness_from_amplitude

    t_start = time.perf_counter()
    out = Path(output)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise HolocorrError(f"{out} already holds files; choose another folder or pass --overwrite.")
    (out / "figures").mkdir(parents=True, exist_ok=True)
    folder = Path(data) if data is not None else reference_folder()
    manifest = json.loads((folder / "manifest.json").read_text())
    from .simulate.reference import verify_reference

    for name, ok in verify_reference(folder).items():
        if ok is not True:
            raise FileFormatError(
                f"{folder / name} does not match manifest.json; regenerate it with "
                f"'python -m holocorr.simulate reference {folder} --overwrite'."
            )
    truth = manifest["truth"]
    vacuum = {k: tuple(v) for k, v in manifest["vacuum_region_nm"].items()}
    rows = slice(*manifest["full_thickness_rows_nm"])
    steps = [
        "reconstruct pristine",
        "reconstruct charged",
        "thickness",
        "potential change",
        "profile + fit",
        "figures",
        "write results",
    ]
    bar = tqdm(total=len(steps), disable=not progress, desc="holocorr demo", unit="step")
    rec = {}
    for state in ("pristine", "charged"):
        bar.set_postfix_str(steps[len(rec)])
        holo = holocorr.load(folder / f"{state}_object.nc")
        ref = holocorr.load(folder / f"{state}_reference.nc")
        rec[state] = reconstruct(holo, ref, output_shape=holo.shape)
        holocorr.save(rec[state], out / f"{state}_reconstruction.nc", overwrite=True)
        bar.update()
    bar.set_postfix_str(steps[2])
    lam = truth["mean_free_path_latspo_nm"]
    tmap = thickness_from_amplitude(rec["pristine"].amplitude, mean_free_path=lam, vacuum=vacuum)
    specimen_area = tmap.sel(y=rows, x=slice(50, None))
    t_nm = float(specimen_area.median())
    bar.update()
    bar.set_postfix_str(steps[3])
    dv = potential_change(rec["charged"], rec["pristine"], thickness=t_nm, vacuum=vacuum)
    holocorr.save(dv, out / "potential_change.nc", overwrite=True)
    bar.update()
    bar.set_postfix_str(steps[4])
    band = dv.delta_potential.sel(y=rows)
    prof = band.mean("y")
    res_px = float(rec["pristine"].attrs.get("resolution_nm", 1.0)) / float(
        rec["pristine"].attrs["output_pixel_size"][0]
    )
    n_ind = max(band.sizes["y"] / max(res_px, 1.0), 1.0)
    err = band.std("y") / math.sqrt(n_ind)
    profile = xr.Dataset(
        {
            "delta_potential": prof.assign_attrs(units="V", long_name="potential change (charged - pristine)"),
            "delta_potential_error": err.assign_attrs(units="V", long_name="standard error"),
        }
    )
    fit_region = profile.sel(x=slice(100, None))
    front = _front_fit(fit_region.x.values, fit_region.delta_potential.values)
    holocorr.save(profile, out / "profile.nc", overwrite=True)
    bar.update()
    bar.set_postfix_str(steps[5])
    from holocorr import plot

    with plot.style("double"):
        fig, axes = plt.subplots(1, 2, figsize=(180 / 25.4, 65 / 25.4), layout="constrained")
        plot.map(dv.delta_potential, ax=axes[0], title="potential change")
        ax = axes[1]
        x = profile.x.values
        ax.fill_between(x, prof - 2 * err, prof + 2 * err, alpha=0.3, label="±2 s.e.")
        ax.plot(x, prof, lw=1, label="measured")
        tr = holocorr.io.load_dataset(folder / "truth.nc")
        ax.plot(tr.x, tr.delta_potential, "k--", lw=0.8, label="truth")
        ax.axvline(front["position_nm"], color="C3", lw=0.8, label=f"front {front['position_nm']:.0f} nm")
        ax.set_xlabel("distance from the Pt interface [nm]")
        ax.set_ylabel("potential change [V]")
        ax.legend(loc="lower right")
        for ext in ("png", "pdf"):
            _savefig(fig, out / "figures" / f"potential_change.{ext}")
        plt.close(fig)
    bar.update()
    bar.set_postfix_str(steps[6])
    t_true = truth["thickness_nm"]
    summary = {
        "holocorr_version": __version__,
        "data": str(folder),
        "potential_step_v": -front["step"],
        "potential_front_nm": front["position_nm"],
        "potential_front_width_10_90_nm": front["width_10_90_nm"],
        "thickness_nm": t_nm,
        "thickness_error_pct": 100 * (t_nm - t_true) / t_true,
        "registration_shift_nm": dv.attrs["registration_shift_nm"],
        "registration_error_nm": dv.attrs["registration_error_nm"],
        "noise_v": float(dv.noise.sel(y=rows).median()),
        "truth": truth,
        "runtime_s": None,
    }
    summary["runtime_s"] = time.perf_counter() - t_start
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".summary-")
    with os.fdopen(fd, "w") as f:
        json.dump(jsonable(summary), f, indent=2)
    os.replace(tmp, out / "summary.json")
    bar.update()
    bar.close()
    if progress:
        rowsfmt = [
            ("potential step (charged - pristine) [V]", summary["potential_step_v"], truth["potential_step_v"]),
            ("potential front [nm]", summary["potential_front_nm"], truth["potential_front_nm"]),
            ("thickness [nm]", t_nm, t_true),
        ]
        print(f"\n{'quantity':42s} {'recovered':>10s} {'truth':>10s}")
        for name, got, want in rowsfmt:
            print(f"{name:42s} {got:10.3f} {want:10.3f}")
        print(f"\nresults: {out.resolve()}  ({summary['runtime_s']:.1f} s)")
    return summary
