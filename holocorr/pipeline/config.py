"""Pipeline configuration: a TOML file validated against a schema.

Every key has a type, a default (or is required) and a description; an
unknown key, a wrong type or a missing file gives a
:class:`~holocorr.errors.ConfigError` that names the key and the fix.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HolocorrError

__all__ = ["ConfigError", "SCHEMA", "load_config", "validate_config", "Config"]


class ConfigError(HolocorrError):
    """A pipeline configuration that cannot be used (names the key and the fix)."""


REQUIRED = object()
#: section -> key -> (kind, default, description). Kinds: "str", "path", "float",
#: "int", "bool", "range" (two numbers), "choice:a|b", "list[str]", "table".
SCHEMA: dict[str, dict[str, tuple[str, Any, str]]] = {
    "output": {
        "folder": ("path-out", REQUIRED, "results folder (created)"),
        "overwrite": ("bool", False, "write into a folder that already holds results"),
        "formats": ("list[str]", ["png", "pdf"], "figure formats (png, pdf, svg)"),
        "journal": ("choice:single|double", "double", "figure width: 85 mm (single) or 180 mm (double)"),
    },
    "holography": {
        "beam_energy_kv": ("float", None, "beam energy [kV] when the files do not say"),
        "radius": ("float", 1 / 3, "sideband aperture radius as a fraction of |q_c|"),
        "edge": ("choice:tanh|butterworth|gaussian|hard", "tanh", "aperture edge"),
        "apodize": ("float", None, "Tukey edge taper fraction (None: off)"),
        "vacuum_y_nm": ("range", None, "vacuum region: y range [nm] (with vacuum_x_nm, either or both)"),
        "vacuum_x_nm": ("range", None, "vacuum region: x range [nm]"),
        "pristine": ("table", REQUIRED, "pristine state: object = hologram file, reference = vacuum reference"),
        "charged": ("table", REQUIRED, "charged state: object = hologram file, reference = vacuum reference"),
    },
    "thickness": {
        "source": ("choice:amplitude|value", "amplitude", "thickness from the pristine amplitude, or a value"),
        "value_nm": ("float", None, "thickness [nm] when source = 'value'"),
        "mean_free_path_nm": ("float", None, "inelastic mean free path [nm] (default: from material)"),
        "material": ("str", "LATSPO", "material for the mean free path (LATSPO, LiCoO2, Pt, Si, ...)"),
    },
    "profile": {
        "rows_nm": ("range", None, "y band [nm] of the potential map averaged into the profile (default: all)"),
        "x_range_nm": ("range", None, "distance range [nm] used for fronts and comparison (default: all)"),
    },
    "eels": {
        "core_loss": ("path", None, "SR-EELS core-loss frame (x, energy)"),
        "low_loss": ("path", None, "matching low-loss frame (x, energy_low)"),
        "li_bulk_per_fu": (
            "float",
            1.3,
            "Li per formula unit of the electrolyte bulk (LATSPO: 1.3), to scale the relative Li map",
        ),
        "bulk_nm": (
            "range",
            None,
            "distance range [nm] of the electrolyte bulk (default: the high-distance plateau of the Li front fit)",
        ),
    },
    "statistics": {
        "n_boot": ("int", 2000, "bootstrap resamples"),
        "rng": ("int", 0, "random seed (results are reproducible)"),
    },
}
_STATE_KEYS = {"object": "path", "reference": "path"}


@dataclass(frozen=True)
class Config:
    """A validated pipeline configuration (paths resolved, defaults filled).

    Attributes
    ----------
    values : dict
        section -> key -> value.
    source : str or None
        The TOML file it came from.
    """

    values: dict = field(default_factory=dict)
    source: str | None = None

    def __getitem__(self, section: str) -> dict:
        return self.values[section]


def _suggest(key: str, allowed) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def _check_value(where: str, kind: str, value: Any, base: Path) -> Any:
    def fail(expected: str):
        raise ConfigError(f"config: {where} must be {expected}, got {value!r}. Fix it in the TOML file.")

    if kind in ("str",):
        if not isinstance(value, str):
            fail("a string")
        return value
    if kind in ("path", "path-out"):
        if not isinstance(value, str) or not value:
            fail("a file path (a string)")
        p = (base / os.path.expanduser(value)).resolve()
        if kind == "path" and not p.exists():
            raise ConfigError(
                f"config: {where}: file not found: {p}. Check the path (relative paths are "
                "relative to the config file's folder)."
            )
        return p
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail("a number")
        if not math.isfinite(value):
            fail("a finite number (not nan or inf)")
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            fail("an integer")
        if value < 0:
            fail("an integer >= 0")
        return int(value)
    if kind == "bool":
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if kind == "range":
        if (
            not isinstance(value, list)
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
        ):
            fail("two numbers, e.g. [4.0, 48.0]")
        if not all(math.isfinite(v) for v in value):
            fail("two finite numbers (not nan or inf), e.g. [4.0, 48.0]")
        return (float(value[0]), float(value[1]))
    if kind == "list[str]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail('a list of strings, e.g. ["png", "pdf"]')
        return list(value)
    if kind.startswith("choice:"):
        choices = kind.split(":", 1)[1].split("|")
        if value not in choices:
            fail("one of " + ", ".join(repr(c) for c in choices))
        return value
    raise AssertionError(kind)  # pragma: no cover


def validate_config(raw: dict, *, base: str | os.PathLike = ".", source: str | None = None) -> Config:
    """Validate a configuration dict (as parsed from TOML) and fill defaults.

    Parameters
    ----------
    raw : dict
        section -> key -> value.
    base : str or path-like
        Folder that relative paths are relative to.
    source : str, optional
        Name of the file, for messages.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        For unknown sections or keys (with the closest allowed name), wrong
        types, missing required keys and missing files. With `source`, the
        message starts with ``config <source>:``.
    """
    try:
        return _validate(raw, base, source)
    except ConfigError as exc:
        msg = str(exc)
        if source and msg.startswith("config:") and source not in msg:
            raise ConfigError(f"config {source}:{msg[len('config:'):]}") from None
        raise


def _validate(raw: dict, base: str | os.PathLike, source: str | None) -> Config:
    base = Path(base)
    if not isinstance(raw, dict):
        raise ConfigError("config: the top level must be a table of sections.")
    unknown = [s for s in raw if s not in SCHEMA]
    if unknown:
        s = unknown[0]
        raise ConfigError(f"config: unknown section [{s}].{_suggest(s, SCHEMA)} Sections: {', '.join(SCHEMA)}.")
    out: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"config: [{section}] must be a table, got {given!r}.")
        for key in given:
            if key not in keys:
                raise ConfigError(
                    f"config: unknown key '{section}.{key}'.{_suggest(key, keys)} "
                    f"Allowed in [{section}]: {', '.join(keys)}."
                )
        vals = {}
        for key, (kind, default, _doc) in keys.items():
            where = f"{section}.{key}"
            if key not in given:
                if default is REQUIRED and (section != "holography" or "holography" in raw):
                    raise ConfigError(f"config: '{where}' is required ({keys[key][2]}).")
                vals[key] = None if default is REQUIRED else default
                continue
            value = given[key]
            if kind == "table":
                if not isinstance(value, dict):
                    raise ConfigError(f"config: {where} must be a table with 'object' and 'reference' files.")
                for k in value:
                    if k not in _STATE_KEYS:
                        raise ConfigError(
                            f"config: unknown key '{where}.{k}'.{_suggest(k, _STATE_KEYS)} Allowed: object, reference."
                        )
                if "object" not in value:
                    raise ConfigError(f"config: '{where}.object' (the hologram file) is required.")
                vals[key] = {k: _check_value(f"{where}.{k}", "path", v, base) for k, v in value.items()}
            else:
                vals[key] = _check_value(where, kind, value, base)
        out[section] = vals
    if out["thickness"]["source"] == "value" and out["thickness"]["value_nm"] is None:
        raise ConfigError("config: thickness.source = 'value' needs thickness.value_nm (in nm).")
    if (out["eels"]["core_loss"] is None) != (out["eels"]["low_loss"] is None):
        raise ConfigError("config: give both eels.core_loss and eels.low_loss, or neither.")
    bad = [f for f in out["output"]["formats"] if f not in ("png", "pdf", "svg")]
    if bad:
        raise ConfigError(f"config: output.formats has {bad}; allowed: png, pdf, svg.")
    return Config(values=out, source=source)


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate a pipeline TOML file.

    Parameters
    ----------
    path : str or path-like
        The TOML file; relative paths inside are relative to its folder.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        For a missing or malformed file or an invalid configuration.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config: cannot read {p}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config: {p} is not a UTF-8 text file (a TOML configuration): {exc.reason}.") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {p} is not valid TOML: {exc}.") from exc
    return validate_config(raw, base=p.resolve().parent, source=str(p))
