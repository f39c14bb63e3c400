"""Pipeline configuration: every bad TOML names the key and the fix."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holocorr.cli import main
from holocorr.pipeline import ConfigError, load_config, validate_config

REF = Path(__file__).resolve().parents[2] / "reference_holograms"

GOOD = f"""
[output]
folder = "out"

[holography]
pristine = {{ object = "{REF}/pristine_object.nc", reference = "{REF}/pristine_reference.nc" }}
charged = {{ object = "{REF}/charged_object.nc", reference = "{REF}/charged_reference.nc" }}
vacuum_y_nm = [4, 48]
"""


def write(tmp_path, text):
    p = tmp_path / "analysis.toml"
    p.write_text(text)
    return p


def test_good_config_fills_defaults_and_resolves_paths(tmp_path):
    c = load_config(write(tmp_path, GOOD))
    assert c["output"]["folder"] == (tmp_path / "out").resolve()
    assert c["holography"]["radius"] == pytest.approx(1 / 3)
    assert c["holography"]["vacuum_y_nm"] == (4.0, 48.0)
    assert c["thickness"]["source"] == "amplitude"
    assert c["statistics"]["n_boot"] == 2000


@pytest.mark.parametrize(
    "edit,match",
    [
        (("[holography]", "[holography]\nradus = 0.3"), r"unknown key 'holography.radus'.*Did you mean 'radius'"),
        (("[output]", "[outptu]"), r"unknown section \[outptu\].*Did you mean 'output'"),
        (("vacuum_y_nm = [4, 48]", "vacuum_y_nm = [4]"), r"holography.vacuum_y_nm must be two numbers"),
        (("vacuum_y_nm = [4, 48]", 'vacuum_y_nm = "top"'), r"vacuum_y_nm must be two numbers"),
        (('folder = "out"', "folder = 3"), r"output.folder must be a file path"),
        (("[holography]", '[holography]\nedge = "cosine"'), r"edge must be one of 'tanh'"),
        (("[holography]", "[holography]\nradius = true"), r"holography.radius must be a number"),
        (("pristine_object.nc", "missing.nc"), r"holography.pristine.object: file not found"),
        (("pristine = {", "pristine = { obj = 'x', "), r"unknown key 'holography.pristine.obj'"),
        (('[output]\nfolder = "out"', "[output]"), r"'output.folder' is required"),
    ],
)
def test_bad_configs(tmp_path, edit, match):
    text = GOOD.replace(*edit)
    assert text != GOOD
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text))


def test_cross_key_rules_and_malformed_toml(tmp_path):
    with pytest.raises(ConfigError, match="needs thickness.value_nm"):
        load_config(write(tmp_path, GOOD + '\n[thickness]\nsource = "value"\n'))
    with pytest.raises(ConfigError, match="both eels.core_loss and eels.low_loss"):
        load_config(write(tmp_path, GOOD + f'\n[eels]\ncore_loss = "{REF}/sr_eels_core_loss.nc"\n'))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[output\nfolder = 1"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.integers(), st.text(max_size=5), st.booleans(),
                                                                   st.lists(st.integers(), max_size=3)), max_size=4))
def test_fuzzed_sections_never_crash(section):
    """Random tables only ever give a ConfigError (never a KeyError/TypeError)."""
    for raw in ({"output": section}, {"holography": section}, {"statistics": section}, {"bogus": section}):
        try:
            validate_config(raw)
        except ConfigError:
            pass


def test_cli_pipeline_bad_config_exit_3(tmp_path, capsys):
    p = write(tmp_path, GOOD.replace("[holography]", "[holography]\nradus = 0.3"))
    assert main(["pipeline", str(p), "-q"]) == 3
    err = capsys.readouterr().err
    assert "radus" in err and "radius" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::holocorr.errors.HolocorrWarning")
def test_failed_step_keeps_earlier_results(tmp_path, monkeypatch):
    """A failure names the step; files of the earlier steps stay."""
    import holocorr.holography
    from holocorr import pipeline

    def boom(*a, **k):
        raise holocorr.HolocorrError("simulated failure")

    monkeypatch.setattr(holocorr.holography, "potential_change", boom)
    c = load_config(write(tmp_path, GOOD))
    with pytest.raises(pipeline.PipelineError, match=r"step 'potential change' failed: simulated failure.*"
                                                    r"reconstruct pristine, reconstruct charged, thickness"):
        pipeline.run(c, progress=False)
    out = tmp_path / "out"
    assert (out / "pristine_reconstruction.nc").exists() and (out / "thickness.nc").exists()
    assert not (out / "summary.json").exists()


@pytest.mark.filterwarnings("ignore::holocorr.errors.HolocorrWarning")
def test_results_are_readable_by_others(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); published files get the usual mode."""
    import os

    from holocorr.pipeline.run import _atomic_text

    umask = os.umask(0o022)
    try:
        _atomic_text(tmp_path / "summary.json", "{}\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "summary.json").stat().st_mode & 0o777 == 0o644
