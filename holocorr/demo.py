"""The holocorr demo: the full pipeline on the bundled reference data.

``holocorr demo -o results`` (or ``make demo``) runs
:func:`holocorr.pipeline.run` with :func:`holocorr.pipeline.reference_config`:
it reconstructs the pristine and charged hologram pairs of
``reference_holograms/``, derives the thickness from the amplitude, computes
the charged - pristine potential change and its profile and front, maps Li
from the SR-EELS frames, compares the two profiles with honest statistics,
tests electrode potential against mean inner potential, and prints the
recovered values next to the ground truth of the manifest.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._version import __version__
from .errors import FileFormatError

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


def run(output: str | os.PathLike = "results", *, overwrite: bool = False, progress: bool = True,
        data: str | os.PathLike | None = None) -> dict:
    """Run the pipeline on the reference data and print recovered vs true values.

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
    from .pipeline import reference_config
    from .pipeline import run as run_pipeline
    from .pipeline.run import _check_output_folder
    from .simulate.reference import verify_reference

    # an unusable output folder is refused before the reference data are checked (seconds)
    _check_output_folder(Path(output).resolve(), overwrite)
    folder = Path(data) if data is not None else reference_folder()
    for name, ok in verify_reference(folder).items():
        if ok is not True:
            raise FileFormatError(
                f"{folder / name} does not match manifest.json ({ok}); regenerate it with "
                f"'python -m holocorr.simulate reference {folder} --overwrite'."
            )
    config = reference_config(str(output), data=folder, overwrite=overwrite)
    results = run_pipeline(config, progress=progress)
    s = results.summary
    if progress:
        t = s.get("truth", {})
        corr = s.get("correlation", {})
        origin = s.get("origin", {})

        def ci(v):
            return f"[{v[0]:.3g}, {v[1]:.3g}]"

        rows = [
            ("potential step (charged - pristine) [V]", s["potential_step_v"], ci(s["potential_step_ci_v"]),
             t.get("potential_step_v")),
            ("potential front [nm]", s["potential_front_nm"], ci(s["potential_front_ci_nm"]),
             t.get("potential_front_nm")),
        ]
        if "li_front_nm" in s:
            rows += [
                ("Li front [nm]", s["li_front_nm"], ci(s["li_front_ci_nm"]), t.get("li_front_nm")),
                ("Li electrode / electrolyte", s["li_ratio"], "", t.get("li_plateau_ratio")),
                ("correlation r (dV vs Li)", corr["r"], ci(corr["r_ci"]), None),
                # the electrode-only model absorbs the MIP part, so no truth to print here
                ("electrode potential change, fit [V]", origin["delta_v_el"], ci(origin["delta_v_el_ci"]), None),
            ]
        rows.append(("thickness [nm]", s["thickness_nm"], "", t.get("thickness_nm")))
        print(f"\n{'quantity':42s} {'recovered':>10s} {'95 % CI':>22s} {'truth':>8s}")
        for name, got, interval, want in rows:
            w = f"{want:8.3f}" if isinstance(want, int | float) else f"{'':>8s}"
            print(f"{name:42s} {got:10.3f} {interval:>22s} {w}")
        if origin:
            print(f"\nverdict: {origin['verdict']}. {origin['message']}")
        print(f"\nreport: {(Path(results.folder) / 'report.html').resolve()}  ({s['runtime_s']:.1f} s)")
    return s
