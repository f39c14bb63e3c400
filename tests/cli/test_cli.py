import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import holocorr
from holocorr.cli import main
from holocorr.simulate import hologram


def _coords(n, step=0.5):
    return {d: xr.DataArray(np.arange(n) * step, dims=d, attrs={"units": "nm", "long_name": d}) for d in ("y", "x")}


@pytest.fixture
def files(tmp_path):
    n = 128
    yy, xx = np.mgrid[0:n, 0:n]
    phi = xr.DataArray(
        1.5 * np.exp(-((yy - 64.0) ** 2 + (xx - 70.0) ** 2) / 300.0),
        dims=("y", "x"),
        coords=_coords(n),
        attrs={"beam_energy_kv": 300.0},
    )
    kw = dict(spacing_px=4.2, angle_deg=40.0, contrast=0.3)
    h = hologram(phi, **kw).assign_attrs(beam_energy_kv=300.0)
    r = hologram(0 * phi, **kw).assign_attrs(beam_energy_kv=300.0)
    holocorr.save(h, tmp_path / "holo.nc")
    holocorr.save(r, tmp_path / "ref.nc")
    return tmp_path, phi


def test_info_json(files, capsys):
    d, _ = files
    assert main(["info", str(d / "holo.nc"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["dims"] == ["y", "x"] and info["shape"] == [128, 128]
    assert info["beam_energy_kv"] == 300.0
    assert "0.5 nm" in info["axes"]["x"]


def test_verbose_reports_arguments_and_time(files, capsys):
    d, _ = files
    assert main(["info", str(d / "holo.nc"), "-v"]) == 0
    err = capsys.readouterr().err
    assert "holocorr 0." in err and "'command': 'info'" in err and "done in" in err
    assert main(["info", str(d / "holo.nc")]) == 0
    assert "done in" not in capsys.readouterr().err


def test_reconstruct_writes_phase_and_refuses_overwrite(files, capsys):
    d, phi = files
    out = d / "rec.nc"
    args = [
        "reconstruct",
        str(d / "holo.nc"),
        "-r",
        str(d / "ref.nc"),
        "-o",
        str(out),
        "--output-shape",
        "128",
        "128",
        "-q",
    ]
    assert main(args) == 0
    ds = holocorr.io.load_dataset(out)
    assert float(ds.phase[64, 70] - ds.phase[64, 10]) == pytest.approx(1.5, abs=0.03)
    assert ds.phase.attrs["units"] == "rad" and ds.x.attrs["units"] == "nm"
    # existing output: exit 3 with a one-line message, unless --overwrite
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "exists" in err and "--overwrite" in err and "Traceback" not in err
    assert main(args + ["--overwrite"]) == 0
    # never over an input, even with --overwrite
    bad = ["reconstruct", str(d / "holo.nc"), "-r", str(d / "ref.nc"), "-o", str(d / "ref.nc"), "--overwrite", "-q"]
    assert main(bad) == 3


def test_potential_command(files):
    d, phi = files
    for name in ("a", "b"):
        assert (
            main(
                [
                    "reconstruct",
                    str(d / "holo.nc"),
                    "-r",
                    str(d / "ref.nc"),
                    "-o",
                    str(d / f"{name}.nc"),
                    "--output-shape",
                    "128",
                    "128",
                    "-q",
                ]
            )
            == 0
        )
    out = d / "dv.nc"
    assert (
        main(
            [
                "potential",
                str(d / "a.nc"),
                str(d / "b.nc"),
                "--thickness",
                "100",
                "--vacuum-x",
                "0",
                "10",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    dv = holocorr.io.load_dataset(out)
    assert float(np.abs(dv.delta_potential).max()) < 0.05  # identical states: no change


def test_usage_and_data_errors(files, capsys):
    d, _ = files
    assert main(["reconstruct"]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["info", str(d / "missing.dm4")]) == 3
    assert "missing.dm4" in capsys.readouterr().err
    assert main(["reconstruct", str(d / "holo.nc"), "-o", str(d / "x.nc"), "--radius", "0.9", "-q"]) == 3
    with pytest.raises(holocorr.HolocorrError):
        main(["reconstruct", str(d / "holo.nc"), "-o", str(d / "x.nc"), "--radius", "0.9", "--debug", "-q"])


def test_entry_point_installed():
    out = subprocess.run([sys.executable, "-m", "holocorr.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("holocorr ")


REF = __import__("pathlib").Path(__file__).resolve().parents[2] / "reference_holograms"


@pytest.mark.filterwarnings("ignore::holocorr.errors.HolocorrWarning")
def test_eels_li_map_and_correlate_commands(tmp_path, capsys):
    out = tmp_path / "li.nc"
    assert (
        main(
            [
                "eels",
                "li-map",
                str(REF / "sr_eels_core_loss.nc"),
                "-l",
                str(REF / "sr_eels_low_loss.nc"),
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    li = holocorr.io.load_dataset(out)
    assert li.li.dims == ("x",) and li.x.attrs["units"] == "nm"
    truth = holocorr.io.load_dataset(REF / "sr_eels_truth.nc")
    # relative Li: the electrode (50-350 nm) is richer than the electrolyte (500-850 nm), as in the
    # truth (2.3 / 1.3); the accuracy of the ratio is tested in tests/eels/test_simulator_accuracy.py
    ratio = float(li.li.sel(x=slice(50, 350)).mean() / li.li.sel(x=slice(500, 850)).mean())
    true_ratio = float(truth.li_true.sel(x=slice(50, 350)).mean() / truth.li_true.sel(x=slice(500, 850)).mean())
    assert 1.2 < ratio <= true_ratio * 1.15
    # two profiles: a step and its shifted copy correlate, with a lag near the shift
    x = np.arange(0, 400.0, 2.0)
    for name, shift in (("a", 0.0), ("b", 10.0)):
        prof = xr.DataArray(
            np.tanh((x - 200 - shift) / 30) + 0.05 * np.random.default_rng(len(name)).normal(size=x.size),
            dims="distance",
            coords={"distance": ("distance", x, {"units": "nm"})},
            name="value",
            attrs={"units": "V"},
        )
        holocorr.save(prof.to_dataset(), tmp_path / f"{name}.nc")
    res = tmp_path / "cmp.json"
    assert (
        main(["correlate", str(tmp_path / "a.nc"), str(tmp_path / "b.nc"), "-o", str(res), "--n-boot", "200", "-q"])
        == 0
    )
    d = json.loads(res.read_text())
    assert d["r"] > 0.8 and abs(abs(d["lag_nm"]) - 10.0) < 3.0
    assert (
        main(
            [
                "correlate",
                str(tmp_path / "a.nc"),
                str(out),
                "--variable-b",
                "nope",
                "-o",
                str(tmp_path / "x.json"),
                "-q",
            ]
        )
        == 3
    )


def test_simulate_command(tmp_path):
    assert main(["simulate", str(tmp_path / "ref"), "-q"]) == 0
    assert (tmp_path / "ref" / "manifest.json").exists()
    assert main(["simulate", str(tmp_path / "ref"), "-q"]) == 3  # refuses to overwrite
