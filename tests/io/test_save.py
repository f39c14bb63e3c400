"""holocorr.save: exact NetCDF/Zarr round trips, overwrite and input protection, atomicity."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import rsciio.hspy
import xarray as xr
from _io_files import axis, rsciio_signal

import holocorr
from holocorr.errors import DataError, FileFormatError, ParameterError
from holocorr.io import _store, load, load_dataset, save

FORMATS = [".nc", ".zarr"]

ATTRS = {
    "units": "rad",
    "long_name": "phase",
    "an_int": 7,
    "a_float": 0.1,
    "np_float32": np.float32(0.25),
    "np_int64": np.int64(-3),
    "flag_true": True,
    "flag_false": False,
    "nothing": None,
    "nested": {"a": [1, 2, {"b": None}], "c": "µm Å"},
    "a_list": [1.5, 2.5],
    "strings": ["HAADF", "DF4"],
    "a_tuple": (1, 2),
    "int_array": np.array([1, 2, 3], dtype=np.int16),
    "float_array": np.array([0.5, np.nan], dtype=np.float64),
    "unicode": "Å µ ° – 氏",
    "empty": "",
    "nan": float("nan"),
    "tricky": "holocorr-json:{not json}",
    "holocorr": '{"function": "holography.reconstruct"}',
}


def expected_value(v):
    """What a value is expected to read back as (tuples become lists)."""
    if isinstance(v, tuple):
        return list(v)
    return v


def assert_attrs_equal(got, want):
    assert set(got) == set(want), set(got) ^ set(want)
    for k, w in want.items():
        g, w = got[k], expected_value(w)
        if isinstance(w, np.ndarray):
            assert isinstance(g, np.ndarray) and g.dtype == w.dtype, (k, g)
            np.testing.assert_array_equal(g, w)
        elif isinstance(w, float) and math.isnan(w):
            assert math.isnan(g), k
        elif isinstance(w, bool):
            assert g is w, (k, g)
        else:
            assert g == w and type(g) is not bool, (k, g, w)


def coord(n, step, units, name):
    return (name, step * np.arange(n), {"units": units, "long_name": name})


def make_wave(dtype=np.complex64, name="wave"):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((5, 7)) + 1j * rng.standard_normal((5, 7))).astype(dtype)
    return xr.DataArray(
        data,
        dims=("y", "x"),
        coords={
            "y": coord(5, 0.25, "nm", "y"),
            "x": coord(7, 0.25, "nm", "x"),
            "row_mask": ("y", np.array([1, 0, 1, 1, 0], np.int8), {"units": "1", "long_name": "m"}),
        },
        attrs=dict(ATTRS),
        name=name,
    )


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_dataarray_round_trip(tmp_path, ext, dtype):
    wave = make_wave(dtype)
    before = wave.copy(deep=True)
    out = save(wave, tmp_path / f"wave{ext}")
    assert out == tmp_path / f"wave{ext}"
    back = load(out)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back.values, wave.values)  # bit-exact
    assert back.name == "wave" and back.dims == ("y", "x")
    assert_attrs_equal(back.attrs, ATTRS)
    for c in ("y", "x", "row_mask"):
        np.testing.assert_array_equal(back[c].values, wave[c].values)
        assert back[c].dtype == wave[c].dtype
        assert back[c].attrs == wave[c].attrs
    xr.testing.assert_identical(wave, before)  # save did not modify its input


@pytest.mark.parametrize("ext", FORMATS)
def test_float32_unnamed_and_non_contiguous(tmp_path, ext):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    da = xr.DataArray(base.T, dims=("y", "x"), attrs={"units": "rad", "long_name": "phase"})
    back = load(save(da, tmp_path / f"p{ext}"))
    assert back.name is None
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back.values, base.T)
    cplx = xr.DataArray((base + 1j * base).astype(np.complex64)[:, ::2], dims=("y", "x"))
    back = load(save(cplx, tmp_path / f"c{ext}"))
    assert back.dtype == np.complex64
    np.testing.assert_array_equal(back.values, cplx.values)


@pytest.mark.parametrize("ext", FORMATS)
def test_dataset_round_trip(tmp_path, ext):
    wave = make_wave()
    phase = xr.DataArray(
        np.angle(wave.values).astype(np.float32),
        dims=("y", "x"),
        attrs={"units": "rad", "long_name": "phase", "unwrapped": True},
    )
    ds = xr.Dataset({"wave": wave, "phase": phase}, attrs={"sample": {"name": "LiPON"}, "n": 3})
    ds["frame_time"] = xr.DataArray(np.float64(0.5), attrs={"units": "s", "long_name": "t"})
    path = save(ds, tmp_path / f"result{ext}")
    back = load_dataset(path)
    assert set(back.data_vars) == {"wave", "phase", "frame_time"}
    assert back["wave"].dtype == np.complex64 and back["phase"].dtype == np.float32
    np.testing.assert_array_equal(back["wave"].values, wave.values)
    np.testing.assert_array_equal(back["phase"].values, phase.values)
    assert back.attrs == {"sample": {"name": "LiPON"}, "n": 3}
    assert back["phase"].attrs["unwrapped"] is True
    assert back.x.attrs == {"units": "nm", "long_name": "x"}
    with pytest.raises(FileFormatError, match=r"3 data variables(.|\n)*'phase'(.|\n)*variable="):
        load(path)
    one = load(path, variable="phase")
    np.testing.assert_array_equal(one.values, phase.values)
    with pytest.raises(ParameterError, match="no data variable 'amp'"):
        load(path, variable="amp")
    with pytest.raises(ParameterError, match="variable="):
        load(path, index=0)


@pytest.mark.parametrize("ext", FORMATS)
def test_lazy_load_and_save_dask(tmp_path, ext):
    wave = make_wave()
    path = save(wave, tmp_path / f"w{ext}")
    lazy = load(path, lazy=True)
    assert type(lazy.data).__module__.startswith("dask")
    assert lazy.dtype == np.complex64
    again = save(lazy, tmp_path / f"copy{ext}")
    np.testing.assert_array_equal(load(again).values, wave.values)


def test_netcdf_is_plain_netcdf(tmp_path):
    path = save(make_wave(), tmp_path / "w.nc")
    raw = xr.load_dataset(path, engine="h5netcdf")  # no holocorr decoding
    assert raw["wave"].dims == ("y", "x", "holocorr_complex_part")
    assert raw["wave"].dtype == np.float32
    np.testing.assert_array_equal(raw["wave"].values[..., 1], make_wave().values.imag)


def test_plain_xarray_file_loads(tmp_path):
    da = xr.DataArray(np.ones((3, 4), np.float32), dims=("y", "x"), name="counts")
    da.to_dataset().to_netcdf(tmp_path / "plain.nc", engine="h5netcdf")
    back = load(tmp_path / "plain.nc")
    assert back.name == "counts" and back.dtype == np.float32


def test_microscope_file_round_trip(tmp_path):
    f = tmp_path / "raw.hspy"
    rsciio.hspy.file_writer(
        str(f),
        rsciio_signal(
            np.arange(12, dtype=np.uint16).reshape(3, 4),
            [axis("y", 3, 0.5, 0, "nm"), axis("x", 4, 0.5, 0, "nm")],
            {
                "General": {"title": "h"},
                "Signal": {"signal_type": ""},
                "Acquisition_instrument": {"TEM": {"beam_energy": 300.0}},
            },
        ),
    )
    raw = load(f)
    for ext in FORMATS:
        back = load(save(raw, tmp_path / f"raw{ext}"))
        xr.testing.assert_identical(back, raw)


# ------------------------------------------------------------------ overwrite and inputs


@pytest.mark.parametrize("ext", FORMATS)
def test_refuses_overwrite_unless_asked(tmp_path, ext):
    path = tmp_path / f"out{ext}"
    save(make_wave(), path)
    newer = make_wave() * 2
    with pytest.raises(FileFormatError, match="already exists(.|\n)*overwrite=True"):
        save(newer, path)
    np.testing.assert_array_equal(load(path).values, make_wave().values)
    save(newer, path, overwrite=True)
    np.testing.assert_array_equal(load(path).values, newer.values)
    assert sorted(os.listdir(tmp_path)) == [f"out{ext}"]  # no temp or old copies left


@pytest.mark.parametrize("ext", FORMATS)
def test_never_overwrites_inputs(tmp_path, ext, monkeypatch):
    path = save(make_wave(), tmp_path / f"in{ext}")
    loaded = load(path)
    with pytest.raises(FileFormatError, match="input"):
        save(loaded, path, overwrite=True)
    with pytest.raises(FileFormatError, match="input"):
        save(load_dataset(path), path, overwrite=True)
    fresh = make_wave()
    with pytest.raises(FileFormatError, match="input"):
        save(fresh, path, overwrite=True, inputs=[path])
    with pytest.raises(FileFormatError, match="input"):
        save(fresh, path, overwrite=True, inputs=str(path))
    tagged = fresh.assign_attrs(source_path=str(path))
    with pytest.raises(FileFormatError, match="input"):
        save(tagged, path, overwrite=True)
    monkeypatch.chdir(tmp_path)
    named = fresh.assign_attrs(original_filename=f"in{ext}")
    with pytest.raises(FileFormatError, match="input"):
        save(named, path, overwrite=True)
    link = tmp_path / f"link{ext}"
    link.symlink_to(path)
    with pytest.raises(FileFormatError, match="input"):
        save(fresh, link, overwrite=True, inputs=[path])
    np.testing.assert_array_equal(load(path).values, make_wave().values)


def test_never_overwrites_raw_microscope_file(tmp_path):
    raw = tmp_path / "raw.nc"
    save(make_wave(), raw)
    da = load(raw).assign_attrs(source_path=str(raw))
    other = save(da, tmp_path / "other.nc")  # saving elsewhere is fine
    assert other.exists()


def test_refuses_to_replace_non_zarr_directory(tmp_path):
    d = tmp_path / "precious.zarr"
    d.mkdir()
    (d / "thesis.tex").write_text("do not delete")
    with pytest.raises(FileFormatError, match="not a Zarr store"):
        save(make_wave(), d, overwrite=True)
    assert (d / "thesis.tex").read_text() == "do not delete"
    nc_dir = tmp_path / "dir.nc"
    nc_dir.mkdir()
    with pytest.raises(FileFormatError, match="directory"):
        save(make_wave(), nc_dir, overwrite=True)


def test_bad_arguments(tmp_path):
    with pytest.raises(ParameterError, match="DataArray or xarray.Dataset"):
        save(np.zeros((2, 2)), tmp_path / "a.nc")
    with pytest.raises(FileFormatError, match=r"\.nc \(NetCDF4\) and \.zarr"):
        save(make_wave(), tmp_path / "a.h5")
    with pytest.raises(FileFormatError, match="does not exist"):
        save(make_wave(), tmp_path / "missing" / "a.nc")
    with pytest.raises(ParameterError, match="overwrite"):
        save(make_wave(), tmp_path / "a.nc", overwrite="yes")
    bad = xr.DataArray(np.zeros(3), dims=("k",), coords={"k": np.array([1j, 2j, 3j])})
    with pytest.raises(DataError, match="complex"):
        save(bad, tmp_path / "k.nc")
    assert os.listdir(tmp_path) == []


def test_top_level_save(tmp_path):
    assert holocorr.save(make_wave(), tmp_path / "t.nc") == tmp_path / "t.nc"


# ------------------------------------------------------------------ atomicity


@pytest.mark.parametrize("ext", FORMATS)
def test_failed_write_keeps_old_target(tmp_path, ext, monkeypatch):
    path = save(make_wave(), tmp_path / f"keep{ext}")
    real = _store._write_netcdf if ext == ".nc" else _store._write_zarr

    def crash(ds, tmp):
        real(ds.isel(y=slice(0, 2)), tmp)  # something half-written on disk ...
        raise OSError("disk full")  # ... and then the failure

    monkeypatch.setattr(_store, "_write_netcdf" if ext == ".nc" else "_write_zarr", crash)
    with pytest.raises(FileFormatError, match="disk full(.|\n)*Nothing was changed"):
        save(make_wave() * 3, path, overwrite=True)
    np.testing.assert_array_equal(load(path).values, make_wave().values)
    assert sorted(os.listdir(tmp_path)) == [f"keep{ext}"]
    with pytest.raises(FileFormatError, match="disk full"):
        save(make_wave(), tmp_path / f"new{ext}")
    assert sorted(os.listdir(tmp_path)) == [f"keep{ext}"]


def test_zarr_swap_failure_restores_old_store(tmp_path, monkeypatch):
    path = save(make_wave(), tmp_path / "s.zarr")
    real_rename = os.rename
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # old store moved aside; moving the new one in fails
            raise OSError("rename failed")
        return real_rename(src, dst)

    monkeypatch.setattr(_store.os, "rename", flaky)
    with pytest.raises(FileFormatError, match="rename failed"):
        save(make_wave() * 5, path, overwrite=True)
    monkeypatch.setattr(_store.os, "rename", real_rename)
    np.testing.assert_array_equal(load(path).values, make_wave().values)
    assert sorted(os.listdir(tmp_path)) == ["s.zarr"]


def test_interrupt_cleans_up(tmp_path, monkeypatch):
    def interrupted(ds, tmp):
        open(tmp, "wb").close()
        raise KeyboardInterrupt

    monkeypatch.setattr(_store, "_write_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(make_wave(), tmp_path / "k.nc")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("ext", FORMATS)
def test_awkward_names(tmp_path, ext):
    da = make_wave(name="HAADF 1/2")
    back = load(save(da, tmp_path / f"n{ext}"))
    assert back.name == "HAADF 1/2"
    np.testing.assert_array_equal(back.values, da.values)
    with pytest.raises(DataError, match="'a/b'"):
        save(xr.Dataset({"a/b": ("x", [1.0])}), tmp_path / f"d{ext}")
