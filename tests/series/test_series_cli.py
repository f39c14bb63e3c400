"""`holocorr series reconstruct / average` on the local scheduler: outputs, resume, exit codes."""

import json
import socket
import time

import numpy as np
import pytest
from _series_synth import ensure_series_command, texture_series

import holocorr
from holocorr.cli import main


@pytest.fixture
def files(tmp_path, monkeypatch):
    ensure_series_command(monkeypatch)
    holo, ref, truth = texture_series(6, shape=(128, 128), dose=500.0, seed=11, max_drift=6.0)
    for k in range(6):
        holocorr.save(holo.isel(frame=k), tmp_path / f"h{k}.nc")
    holocorr.save(ref, tmp_path / "ref.nc")
    return tmp_path, truth


def test_reconstruct_then_average(files, capsys):
    d, truth = files
    out = d / "waves.zarr"
    args = [
        "series",
        "reconstruct",
        str(d / "h*.nc"),
        "-r",
        str(d / "ref.nc"),
        "-o",
        str(out),
        "--chunks",
        "2",
        "--output-shape",
        "128",
        "128",
        "-q",
    ]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == str(out.absolute())
    waves = holocorr.io.load_dataset(out)
    assert waves.wave.shape == (6, 128, 128) and waves.attrs["holocorr_complete"] is True
    # the same command again resumes a complete store: nothing recomputed, exit 0
    assert main(args) == 0
    assert main(["series", "average", str(out), "-o", str(d / "avg.nc"), "--align", "wave", "-q"]) == 0
    avg = holocorr.io.load_dataset(d / "avg.nc")
    assert int(avg.n_frames) == 6
    np.testing.assert_allclose(avg.drift.values / 0.5, truth["drift_px"], atol=0.1)
    off = (avg.phase_offset.values - truth["offset_rad"] + np.pi) % (2 * np.pi) - np.pi
    assert np.abs(off).max() < 0.02
    assert json.loads(avg.attrs["excluded_frames"]) == {}


def test_errors_exit_3_with_one_line(files, capsys):
    d, _ = files
    out = d / "w.zarr"
    base = ["series", "reconstruct", str(d / "h*.nc"), "-r", str(d / "ref.nc")]
    assert main(base + ["-o", str(d / "w.nc")]) == 3
    assert "must end in .zarr" in capsys.readouterr().err
    assert main(base + ["-o", str(out), "--chunks", "2"]) == 0
    capsys.readouterr()
    # another computation into the same store: refused unless --overwrite
    assert main(base + ["-o", str(out), "--chunks", "3"]) == 3
    err = capsys.readouterr().err
    assert "different computation" in err and len(err.strip().splitlines()) == 1
    assert main(base + ["-o", str(out), "--chunks", "3", "--overwrite", "-q"]) == 0
    assert main(["series", "reconstruct", str(d / "none_*.nc"), "-r", str(d / "ref.nc"), "-o", str(out)]) == 3
    assert "no files match" in capsys.readouterr().err
    # an input is never the output
    assert main(["series", "average", str(out), "-o", str(out), "--overwrite", "-q"]) == 3
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    assert main(base + ["-o", str(d / "x.zarr"), "--scheduler", f"127.0.0.1:{port}", "--scheduler-timeout", "1"]) == 3
    assert time.perf_counter() - t0 < 10
    assert "could not connect to the dask scheduler" in capsys.readouterr().err
