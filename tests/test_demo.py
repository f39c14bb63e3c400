"""`holocorr demo` recovers the ground truth of the bundled data and writes its results."""

import json

import pytest

from holocorr.cli import main


@pytest.mark.slow
def test_demo_recovers_truth(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["demo", "-o", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    truth = summary["truth"]
    assert summary["potential_step_v"] == pytest.approx(truth["potential_step_v"], abs=0.1)
    assert summary["potential_front_nm"] == pytest.approx(truth["potential_front_nm"], abs=10)
    assert abs(summary["thickness_error_pct"]) < 5
    for name in (
        "pristine_reconstruction.nc",
        "charged_reconstruction.nc",
        "potential_change.nc",
        "profile.nc",
        "figures/potential_change.png",
        "figures/potential_change.pdf",
    ):
        assert (out / name).stat().st_size > 1000, name
    text = capsys.readouterr().out
    assert "potential front" in text and "recovered" in text
    # a second run refuses to write into the results without --overwrite
    assert main(["demo", "-o", str(out), "-q"]) == 3
