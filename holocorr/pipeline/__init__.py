"""The reproducible pipeline: one validated TOML file -> a results folder.

``holocorr pipeline CONFIG.toml`` or, from Python::

    from holocorr import pipeline
    results = pipeline.run(pipeline.load_config("analysis.toml"))
    results.summary["potential_step_v"]
"""

from .config import SCHEMA, Config, ConfigError, load_config, validate_config
from .run import PipelineError, Results, run


def reference_config(output: str = "results", *, data=None, overwrite: bool = False) -> Config:
    """Build the configuration that analyses the bundled reference data.

    Parameters
    ----------
    output : str
        Results folder.
    data : str or path-like, optional
        Reference data folder (default: :func:`holocorr.demo.reference_folder`).
    overwrite : bool
        Allow writing into an existing results folder.

    Returns
    -------
    Config

    Raises
    ------
    FileFormatError
        When `data` holds no readable ``manifest.json`` with the reference
        geometry.
    """
    import json
    from pathlib import Path

    from ..demo import reference_folder
    from ..errors import FileFormatError

    folder = Path(data) if data is not None else reference_folder()
    manifest = folder / "manifest.json"
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(
            f"{folder} is not a reference data folder: cannot read {manifest.name} ({exc}). "
            "Write one with 'holocorr simulate FOLDER', or leave data= out for the bundled data."
        ) from exc
    try:
        vacuum_y, rows = list(m["vacuum_region_nm"]["y"]), list(m["full_thickness_rows_nm"])
    except (KeyError, TypeError) as exc:
        raise FileFormatError(
            f"{manifest} lacks the reference geometry ({exc!r} missing: 'vacuum_region_nm' and "
            "'full_thickness_rows_nm'); write the folder with 'holocorr simulate FOLDER'."
        ) from exc
    raw = {
        "output": {"folder": str(Path(output).resolve()), "overwrite": overwrite},
        "holography": {
            "pristine": {"object": "pristine_object.nc", "reference": "pristine_reference.nc"},
            "charged": {"object": "charged_object.nc", "reference": "charged_reference.nc"},
            "vacuum_y_nm": vacuum_y,
        },
        "thickness": {"source": "amplitude", "material": "LATSPO"},
        "profile": {"rows_nm": rows, "x_range_nm": [100.0, 850.0]},
        "eels": {"core_loss": "sr_eels_core_loss.nc", "low_loss": "sr_eels_low_loss.nc"},
    }
    return validate_config(raw, base=folder, source="holocorr.pipeline.reference_config")


__all__ = [
    "Config",
    "ConfigError",
    "SCHEMA",
    "load_config",
    "validate_config",
    "run",
    "Results",
    "PipelineError",
    "reference_config",
]
