"""holocorr.open_series: lazy series from many files or one stack, per-frame coords, bad input."""

import json

import numpy as np
import pytest
import rsciio.hspy
import xarray as xr

import holocorr
from holocorr.errors import (
    CalibrationError,
    DataError,
    FileFormatError,
    HolocorrWarning,
    ParameterError,
    ShapeError,
    UncalibratedWarning,
)
from holocorr.io.series import open_series
from holocorr.series import average, reconstruct


def _frame(k, n=32, step=0.25, **attrs):
    nm = {"units": "nm", "long_name": "d"}
    return xr.DataArray(
        np.full((n, n), float(k), np.float32) + np.arange(n, dtype=np.float32)[None, :] / 100,
        dims=("y", "x"),
        coords={"y": ("y", step * np.arange(n), nm), "x": ("x", step * np.arange(n), nm)},
        attrs={"units": "counts", "long_name": "hologram", **attrs},
    )


@pytest.fixture
def folder(tmp_path):
    # saved out of order, named so that a plain string sort would be wrong (10 before 2)
    for k in (10, 2, 0, 1):
        holocorr.save(_frame(k, time_s=100.0 + 2 * k, bias_v=0.1 * k, exposure_s=0.5), tmp_path / f"holo_{k}.nc")
    return tmp_path


def test_glob_gives_lazy_series_in_natural_order_with_frame_coords(folder):
    s = open_series(str(folder / "holo_*.nc"), chunks=3)
    assert s.dims == ("frame", "y", "x") and s.chunks[0] == (3, 1)
    assert s.data.dask is not None  # lazy: nothing read yet
    assert [p.split("/")[-1] for p in s.source_file.values] == ["holo_0.nc", "holo_1.nc", "holo_2.nc", "holo_10.nc"]
    np.testing.assert_allclose(s.isel(frame=3).values, _frame(10).values)
    np.testing.assert_allclose(s.time_s.values, [0.0, 2.0, 4.0, 20.0])  # from the first frame
    np.testing.assert_allclose(s.bias_v.values, [0.0, 0.1, 0.2, 1.0])
    np.testing.assert_allclose(s.exposure_s.values, 0.5)
    assert s.time_s.attrs["units"] == "s" and s.bias_v.attrs["units"] == "V"
    assert s.x.attrs["units"] == "nm" and float(s.x[1]) == 0.25
    assert s.dtype == np.float32 and s.attrs["units"] == "counts"
    assert json.loads(s.attrs["holocorr"])["function"] == "io.open_series"


def test_user_coords_fill_in_and_take_precedence(folder):
    s = open_series(
        sorted(folder.glob("holo_*.nc")), chunks="auto", coords={"bias_v": [5.0, 6.0, 7.0, 8.0], "temperature_c": 25.0}
    )
    # an explicit list keeps the given order (sorted() is a string sort: 0, 1, 10, 2)
    assert [p.split("/")[-1] for p in s.source_file.values] == ["holo_0.nc", "holo_1.nc", "holo_10.nc", "holo_2.nc"]
    np.testing.assert_allclose(s.bias_v.values, [5.0, 6.0, 7.0, 8.0])
    assert s.bias_v.attrs["source"] == "user"
    np.testing.assert_allclose(s.temperature_c.values, 25.0)
    assert s.chunks[0] == (4,)  # "auto": 64 MB per chunk holds all four frames
    with pytest.raises(ParameterError, match="has 2 value"):
        open_series(str(folder / "holo_*.nc"), coords={"bias_v": [1.0, 2.0]})


def test_stack_files_open_like_a_folder_of_frames(tmp_path, folder):
    frames = open_series(str(folder / "holo_*.nc"), chunks=2)
    stack = frames.compute().drop_vars("source_file")
    for ext in (".nc", ".zarr"):
        holocorr.save(stack, tmp_path / f"stack{ext}")
        s = open_series(tmp_path / f"stack{ext}", chunks=3)
        assert s.chunks[0] == (3, 1)
        np.testing.assert_array_equal(s.values, frames.values)
        np.testing.assert_allclose(s.time_s.values, [0.0, 2.0, 4.0, 20.0])
        np.testing.assert_allclose(s.isel(frame=slice(1, 3)).values, frames.values[1:3])


def test_acquisition_time_from_hyperspy_metadata(tmp_path):
    axes = [{"name": d, "size": 16, "scale": 0.5, "offset": 0.0, "units": "nm", "navigate": False} for d in ("y", "x")]
    for k, t in enumerate(["10:00:00", "10:00:01.5", "10:01:00"]):
        sig = {
            "data": np.full((16, 16), k, np.float32),
            "axes": axes,
            "metadata": {"General": {"title": "h", "date": "2024-05-01", "time": t}, "Signal": {}},
            "original_metadata": {},
            "attributes": {"_lazy": False},
            "tmp_parameters": {},
            "package_info": {"name": "tests", "version": "0"},
            "learning_results": {},
            "models": {},
        }
        rsciio.hspy.file_writer(str(tmp_path / f"f{k}.hspy"), sig)
    s = open_series(str(tmp_path / "f*.hspy"))
    np.testing.assert_allclose(s.time_s.values, [0.0, 1.5, 60.0])
    assert s.sizes["frame"] == 3 and float(s.isel(frame=2).mean()) == 2.0


def test_frames_of_different_shapes(folder):
    holocorr.save(_frame(3, n=40), folder / "holo_3.nc")
    with pytest.raises(ShapeError, match=r"holo_3\.nc.* 40x40 px.*holo_0\.nc.* 32x32"):
        open_series(str(folder / "holo_*.nc"))


def test_frames_of_different_calibration(folder):
    holocorr.save(_frame(3, step=0.5), folder / "holo_3.nc")
    with pytest.raises(CalibrationError, match="holo_3.nc"):
        open_series(str(folder / "holo_*.nc"))


def test_no_match_and_bad_options(tmp_path, folder):
    with pytest.raises(FileFormatError, match="no files match"):
        open_series(str(tmp_path / "nothing_*.dm4"))
    with pytest.raises(ParameterError, match="chunks"):
        open_series(str(folder / "holo_*.nc"), chunks=0)
    with pytest.raises(ParameterError, match="on_error"):
        open_series(str(folder / "holo_*.nc"), on_error="ignore")
    with pytest.raises(ParameterError, match="empty list"):
        open_series([])


def test_corrupt_file_raises_with_its_name_or_is_skipped(folder):
    (folder / "holo_1.nc").write_bytes(b"\x89HDF\r\n garbage, not a netCDF file" * 10)
    with pytest.raises(FileFormatError, match=r"holo_1\.nc.*on_error='skip'"):
        open_series(str(folder / "holo_*.nc"))
    with pytest.warns(HolocorrWarning, match=r"skipped 1 unreadable file.*holo_1\.nc"):
        s = open_series(str(folder / "holo_*.nc"), on_error="skip")
    assert s.frame.values.tolist() == [0, 2, 3]  # frame numbers keep the gap
    assert "holo_1.nc" in s.attrs["skipped_files"]
    np.testing.assert_allclose(s.bias_v.values, [0.0, 0.2, 1.0])
    np.testing.assert_allclose(s.isel(frame=1).values, _frame(2).values)


def test_frame_unreadable_at_compute_time(folder):
    s = open_series(str(folder / "holo_*.nc"), chunks=2)
    (folder / "holo_2.nc").write_bytes(b"truncated")  # corrupted after the series was opened
    with pytest.raises(FileFormatError, match=r"frame\(s\) 2 of the series from '.*holo_2\.nc'"):
        s.compute()
    # with on_error="skip" the frame becomes NaN and the rest is read
    (folder / "holo_2.nc").unlink()
    holocorr.save(_frame(2), folder / "holo_2.nc")
    s = open_series(str(folder / "holo_*.nc"), chunks=2, on_error="skip")
    (folder / "holo_2.nc").write_bytes(b"truncated")
    vals = s.values
    assert np.isnan(vals[2]).all() and np.isfinite(vals[[0, 1, 3]]).all()


def test_unreadable_frame_is_flagged_through_reconstruct_and_average(tmp_path):
    from holocorr.simulate import hologram

    nm = {"units": "nm", "long_name": "d"}
    c = {"y": ("y", 0.5 * np.arange(64), nm), "x": ("x", 0.5 * np.arange(64), nm)}
    kw = dict(spacing_px=4.0, angle_deg=30.0, contrast=0.3)
    flat = xr.DataArray(np.zeros((64, 64)), dims=("y", "x"), coords=c)
    for k in range(4):
        holocorr.save(hologram(flat + 0.1 * k, **kw), tmp_path / f"h{k}.nc")
    ref = hologram(flat, **kw)
    s = open_series(str(tmp_path / "h*.nc"), chunks=2, on_error="skip")
    (tmp_path / "h1.nc").write_bytes(b"broken")
    with pytest.raises(DataError, match="frame 1 of the series has 4096 NaN"):
        reconstruct(s, ref).wave.compute()
    waves = reconstruct(s, ref, on_error="skip", output_shape=(64, 64))
    assert waves.frame_ok.values.tolist() == [True, False, True, True]
    avg = average(waves, crop=False)
    assert int(avg.n_frames) == 3 and avg.exclusion_reason.values[1] == "unreadable or non-finite frame"
    assert json.loads(avg.attrs["excluded_frames"]) == {"unreadable or non-finite frame": [1]}
    # the phase of frames 0, 2, 3 (0, 0.2, 0.3 rad) averages to 0.1667 rad
    assert float(avg.phase[32, 32]) == pytest.approx(0.5 / 3, abs=2e-3)


def test_uncalibrated_frames_warn_once(tmp_path):
    import tifffile

    for k in range(3):
        tifffile.imwrite(tmp_path / f"t{k}.tif", np.full((16, 16), k, np.uint16))
    with pytest.warns(UncalibratedWarning, match="3 frame file"):
        s = open_series(str(tmp_path / "t*.tif"))
    assert s.x.attrs["units"] == "px" and s.dtype == np.uint16
    assert float(s.isel(frame=2).mean()) == 2.0
