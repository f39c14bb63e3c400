"""holocorr.load: microscope files with known calibration -> DataArrays in nm / eV."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import rsciio.emd
import rsciio.hspy
import rsciio.tiff
import tifffile
from _io_files import (
    axis,
    dm_microscope_tags,
    rsciio_signal,
    velox_metadata,
    write_dm,
    write_mrc,
    write_velox,
)

import holocorr
from holocorr.errors import FileFormatError, ParameterError, UncalibratedWarning
from holocorr.io import load

NY, NX = 6, 8


def image(dtype=np.float32):
    """Distinct values so any transposition or offset shows up."""
    return (np.arange(NY * NX).reshape(NY, NX) * 3 + 7).astype(dtype)


def tem_md(title="holo", kv=300.0, biprism=120.0, exposure=0.5, mag=None):
    tem = {
        "beam_energy": kv,
        "Biprism": {"voltage": biprism},
        "Detector": {"Camera": {"exposure": exposure}},
    }
    if mag is not None:
        tem["magnification"] = mag
    return {
        "General": {"title": title},
        "Signal": {"signal_type": ""},
        "Acquisition_instrument": {"TEM": tem},
    }


def write_hspy(path, data, axes, md=None, om=None):
    rsciio.hspy.file_writer(str(path), rsciio_signal(data, axes, md, om))
    return path


# ------------------------------------------------------------------ calibration in nm


@pytest.mark.parametrize(
    ("units", "scale", "offset_y", "offset_x", "nm_per_unit"),
    [
        ("nm", 0.25, 1.5, -2.0, 1.0),
        ("µm", 0.00025, 0.0015, -0.002, 1000.0),
        ("Å", 2.5, 15.0, -20.0, 0.1),
        ("pm", 250.0, 1500.0, -2000.0, 1e-3),
        ("m", 2.5e-10, 1.5e-9, -2e-9, 1e9),
    ],
)
def test_hspy_coords_are_converted_to_nm(tmp_path, units, scale, offset_y, offset_x, nm_per_unit):
    f = write_hspy(
        tmp_path / "holo.hspy",
        image(),
        [axis("y", NY, scale, offset_y, units), axis("x", NX, scale, offset_x, units)],
        tem_md(mag=40000.0),
        {"camera": {"name": "OneView", "gain": [1.0, 2.0]}},
    )
    da = load(f)
    assert da.dims == ("y", "x")
    # independent formula: offset + i * scale, times the unit's size in nm
    np.testing.assert_allclose(da.y.values, 1.5 + 0.25 * np.arange(NY), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(da.x.values, -2.0 + 0.25 * np.arange(NX), rtol=1e-12, atol=1e-12)
    assert nm_per_unit * scale == pytest.approx(0.25)
    for d in ("y", "x"):
        assert da[d].attrs == {"units": "nm", "long_name": d}
    assert da.dtype == np.float32
    np.testing.assert_array_equal(da.values, image())
    assert da.attrs["beam_energy_kv"] == 300.0
    assert da.attrs["biprism_voltage_v"] == 120.0
    assert da.attrs["exposure_s"] == 0.5
    assert da.attrs["magnification"] == 40000.0
    assert da.attrs["title"] == "holo"
    assert da.attrs["original_filename"] == "holo.hspy"
    assert os.path.isabs(da.attrs["source_path"])
    assert os.path.samefile(da.attrs["source_path"], f)
    assert da.attrs["source_sha256"] == holocorr._provenance.file_sha256(f)
    assert da.attrs["units"] and da.attrs["long_name"]
    assert json.loads(da.attrs["original_metadata_json"]) == {
        "camera": {"name": "OneView", "gain": [1.0, 2.0]}
    }
    prov = json.loads(da.attrs["holocorr"])
    assert prov["function"] == "io.load"
    assert prov["inputs"]["file"] == da.attrs["source_sha256"]


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.float64, np.complex64])
def test_hspy_keeps_dtype(tmp_path, dtype):
    f = write_hspy(
        tmp_path / "d.hspy",
        image(dtype),
        [axis("y", NY, 0.5, 0, "nm"), axis("x", NX, 0.5, 0, "nm")],
    )
    da = load(f)
    assert da.dtype == dtype
    np.testing.assert_array_equal(da.values, image(dtype))
    np.testing.assert_allclose(da.x.values, 0.5 * np.arange(NX))


def test_attrs_are_netcdf_safe(tmp_path):
    f = write_hspy(
        tmp_path / "h.hspy",
        image(),
        [axis("y", NY, 0.5, 0, "nm"), axis("x", NX, 0.5, 0, "nm")],
        tem_md(),
        {"nan": float("nan"), "arr": np.arange(3), "none": None},
    )
    da = load(f)
    for k, v in da.attrs.items():
        assert isinstance(v, str | int | float), (k, type(v))
    om = json.loads(da.attrs["original_metadata_json"])
    # NaN is not valid JSON: it is kept as the string "nan"
    assert om == {"nan": "nan", "arr": [0, 1, 2], "none": None}


def test_tiff_written_by_rsciio(tmp_path):
    f = tmp_path / "holo.tif"
    rsciio.tiff.file_writer(
        str(f),
        rsciio_signal(
            image(np.uint16), [axis("y", NY, 0.25, 1.5, "µm"), axis("x", NX, 0.25, -2.0, "µm")]
        ),
    )
    da = load(f)
    assert da.dims == ("y", "x")
    assert da.dtype == np.uint16
    np.testing.assert_allclose(da.y.values, 1000 * (1.5 + 0.25 * np.arange(NY)), rtol=1e-12)
    np.testing.assert_allclose(da.x.values, 1000 * (-2.0 + 0.25 * np.arange(NX)), rtol=1e-12)
    assert da.x.attrs["units"] == "nm"
    np.testing.assert_array_equal(da.values, image(np.uint16))
    json.loads(da.attrs["original_metadata_json"])  # enums etc. were made JSON-safe


def test_ncem_emd_written_by_rsciio(tmp_path):
    f = tmp_path / "holo.emd"
    rsciio.emd.file_writer(
        str(f), rsciio_signal(image(), [axis("y", NY, 2.5, 15, "Å"), axis("x", NX, 2.5, 0, "Å")])
    )
    da = load(f)
    np.testing.assert_allclose(da.y.values, 1.5 + 0.25 * np.arange(NY), rtol=1e-12)
    np.testing.assert_allclose(da.x.values, 0.25 * np.arange(NX), rtol=1e-12)
    np.testing.assert_array_equal(da.values, image())


@pytest.mark.parametrize("version", [3, 4])
def test_digital_micrograph(tmp_path, version):
    f = write_dm(
        tmp_path / f"holo.dm{version}",
        image(),
        scales=[0.25, 0.25],
        offsets=[1.5, -2.0],
        units=["nm", "nm"],
        version=version,
        image_tags=dm_microscope_tags(300e3, 50000.0, 0.5),
    )
    da = load(f)  # the thumbnail (index 0 in ImageList) is skipped
    assert da.dims == ("y", "x")
    assert da.dtype == np.float32
    np.testing.assert_array_equal(da.values, image())
    np.testing.assert_allclose(da.y.values, 1.5 + 0.25 * np.arange(NY), rtol=1e-6)
    np.testing.assert_allclose(da.x.values, -2.0 + 0.25 * np.arange(NX), rtol=1e-6)
    assert da.attrs["beam_energy_kv"] == 300.0  # DM stores volts
    assert da.attrs["exposure_s"] == 0.5
    assert da.attrs["magnification"] == 50000.0
    assert da.attrs["title"] == "hologram"


def test_digital_micrograph_microns(tmp_path):
    f = write_dm(
        tmp_path / "h.dm3", image(np.uint16), scales=[0.5, 0.5], offsets=[0, 0], units=["µm", "µm"]
    )
    da = load(f)
    assert da.dtype == np.uint16
    np.testing.assert_allclose(da.x.values, 500.0 * np.arange(NX))


def test_dm_spectrum_image_dims_y_x_energy(tmp_path):
    # DM stores (x, y, E) -> numpy (E, y, x); holocorr puts energy last
    ne = 5
    cube = np.arange(ne * NY * NX, dtype=np.float32).reshape(ne, NY, NX)
    tags = [("Meta Data", [("Signal", "EELS"), ("Format", "Spectrum image")])]
    f = write_dm(
        tmp_path / "si.dm4",
        cube,
        scales=[0.1, 2.0, 2.0],
        offsets=[50.0, 0.0, 0.0],
        units=["eV", "nm", "nm"],
        version=4,
        image_tags=tags,
    )
    da = load(f)
    assert da.dims == ("y", "x", "energy")
    np.testing.assert_allclose(da.energy.values, 50.0 + 0.1 * np.arange(ne), rtol=1e-6)
    assert da.energy.attrs["units"] == "eV"
    np.testing.assert_array_equal(da.values, np.moveaxis(cube, 0, -1))
    assert da.attrs["signal_type"] == "EELS"


def test_mrc(tmp_path):
    f = write_mrc(
        tmp_path / "holo.mrc", image(), angstrom_per_px=2.5, origin_angstrom=(10.0, 20.0, 0.0)
    )
    da = load(f)
    assert da.dims == ("y", "x")
    np.testing.assert_array_equal(da.values, image())
    np.testing.assert_allclose(da.x.values, 1.0 + 0.25 * np.arange(NX), rtol=1e-6)
    np.testing.assert_allclose(da.y.values, 2.0 + 0.25 * np.arange(NY), rtol=1e-6)


def test_mrc_stack_has_frame_dim(tmp_path):
    stack = np.stack([image(), 2 * image(), 3 * image()])
    f = write_mrc(tmp_path / "s.mrc", stack, angstrom_per_px=10.0)
    da = load(f)
    assert da.dims == ("frame", "y", "x")
    np.testing.assert_array_equal(da.values, stack)
    np.testing.assert_allclose(da.x.values, 1.0 * np.arange(NX), rtol=1e-6)
    np.testing.assert_array_equal(da.frame.values, [0, 1, 2])


def test_mrc_without_cell_is_uncalibrated(tmp_path):
    f = write_mrc(tmp_path / "u.mrc", image())
    with pytest.warns(UncalibratedWarning, match="u.mrc"):
        da = load(f)
    assert da.x.attrs["units"] == "px"
    np.testing.assert_array_equal(da.x.values, np.arange(NX))


def test_velox_emd(tmp_path):
    f = write_velox(
        tmp_path / "v.emd", [(image(np.uint16), velox_metadata(kv=300.0, exposure_s=0.25))]
    )
    da = load(f)
    assert da.dims == ("y", "x")
    assert da.dtype == np.uint16
    np.testing.assert_array_equal(da.values, image(np.uint16))
    # 2.5e-10 m/px = 0.25 nm/px; offsets 1e-9 m (x), -2e-9 m (y)
    np.testing.assert_allclose(da.x.values, 1.0 + 0.25 * np.arange(NX), rtol=1e-9)
    np.testing.assert_allclose(da.y.values, -2.0 + 0.25 * np.arange(NY), rtol=1e-9)
    assert da.attrs["beam_energy_kv"] == pytest.approx(300.0)  # stored as 300000 V
    assert da.attrs["exposure_s"] == pytest.approx(0.25)


# ------------------------------------------------------------------ several signals


def test_several_signals_need_a_choice(tmp_path):
    f = write_velox(
        tmp_path / "two.emd",
        [
            (image(np.uint16), velox_metadata(detector="HAADF")),
            (2 * image(np.uint16), velox_metadata(detector="DF4")),
        ],
    )
    with pytest.raises(FileFormatError, match=r"holds 2 data sets(.|\n)*index=0(.|\n)*index="):
        load(f)
    picked = {load(f, index=i).attrs["title"]: load(f, index=i) for i in (0, 1)}
    assert set(picked) == {"HAADF", "DF4"}
    np.testing.assert_array_equal(picked["DF4"].values, 2 * image(np.uint16))
    np.testing.assert_array_equal(load(f, signal="HAADF").values, image(np.uint16))
    with pytest.raises(ParameterError, match="out of range"):
        load(f, index=5)
    with pytest.raises(ParameterError, match="titled 'BF'"):
        load(f, signal="BF")
    with pytest.raises(ParameterError, match="integer"):
        load(f, index="1")


# ------------------------------------------------------------------ spectra and stacks


def test_spectrum_kev_to_ev(tmp_path):
    spec = np.linspace(1, 2, 10, dtype=np.float32)
    f = write_hspy(tmp_path / "s.hspy", spec, [axis("Energy", 10, 0.01, 0.05, "keV")])
    da = load(f)
    assert da.dims == ("energy",)
    np.testing.assert_allclose(da.energy.values, 50.0 + 10.0 * np.arange(10), rtol=1e-12)
    assert da.energy.attrs["units"] == "eV"
    np.testing.assert_array_equal(da.values, spec)


def test_sr_eels_is_y_energy(tmp_path):
    frame = image()
    f = write_hspy(
        tmp_path / "sr.hspy", frame, [axis("y", NY, 0.5, 0, "nm"), axis("E", NX, 0.25, 40, "eV")]
    )
    da = load(f)
    assert da.dims == ("y", "energy")
    np.testing.assert_allclose(da.energy.values, 40 + 0.25 * np.arange(NX))
    np.testing.assert_allclose(da.y.values, 0.5 * np.arange(NY))


def test_spectrum_image_energy_first_is_moved_last(tmp_path):
    cube = np.arange(4 * NY * NX, dtype=np.float32).reshape(4, NY, NX)
    f = write_hspy(
        tmp_path / "si.hspy",
        cube,
        [
            axis("E", 4, 1.0, 100, "eV"),
            axis("y", NY, 1, 0, "nm", True),
            axis("x", NX, 1, 0, "nm", True),
        ],
    )
    da = load(f)
    assert da.dims == ("y", "x", "energy")
    np.testing.assert_array_equal(da.values, np.moveaxis(cube, 0, -1))


def test_image_stack_with_time_axis(tmp_path):
    stack = np.stack([image(), image() + 1])
    f = write_hspy(
        tmp_path / "st.hspy",
        stack,
        [axis("t", 2, 50.0, 0, "ms", True), axis("y", NY, 1, 0, "nm"), axis("x", NX, 1, 0, "nm")],
    )
    da = load(f)
    assert da.dims == ("frame", "y", "x")
    np.testing.assert_allclose(da.frame.values, [0.0, 0.05])
    assert da.frame.attrs["units"] == "s"


def test_lazy_gives_dask(tmp_path):
    f = write_hspy(
        tmp_path / "l.hspy", image(), [axis("y", NY, 0.5, 0, "nm"), axis("x", NX, 0.5, 0, "nm")]
    )
    da = load(f, lazy=True)
    assert type(da.data).__module__.startswith("dask")
    np.testing.assert_array_equal(da.values, image())
    g = write_dm(
        tmp_path / "l.dm4", image(), scales=[1, 1], offsets=[0, 0], units=["nm", "nm"], version=4
    )
    lazy_dm = load(g, lazy=True)
    assert type(lazy_dm.data).__module__.startswith("dask")
    np.testing.assert_array_equal(lazy_dm.values, image())


def test_length_one_axes_are_dropped(tmp_path):
    f = write_hspy(
        tmp_path / "one.hspy",
        image()[np.newaxis],
        [axis("t", 1, 1, 0, "", True), axis("y", NY, 1, 0, "nm"), axis("x", NX, 1, 0, "nm")],
    )
    assert load(f).dims == ("y", "x")


# ------------------------------------------------------------------ uncalibrated files


def test_plain_tiff_gets_pixels_and_warning(tmp_path):
    f = tmp_path / "plain.tif"
    tifffile.imwrite(f, image())
    with pytest.warns(UncalibratedWarning, match=r"plain\.tif(.|\n)*assign_coords"):
        da = load(f)
    assert da.dims == ("y", "x")
    np.testing.assert_array_equal(da.x.values, np.arange(NX))
    assert da.x.attrs["units"] == "px" and da.y.attrs["units"] == "px"
    np.testing.assert_array_equal(da.values, image())


@pytest.mark.parametrize(
    ("scale", "units"),
    [
        (1.0, ""),
        (1.0, "<undefined>"),
        (0.0, "nm"),
        (-0.5, "nm"),
        (float("nan"), "nm"),
        (0.3, "furlong"),
    ],
)
def test_uncalibrated_axes(tmp_path, scale, units):
    f = write_hspy(
        tmp_path / "u.hspy",
        image(),
        [axis("y", NY, scale, 0.0, units), axis("x", NX, scale, 0.0, units)],
    )
    with pytest.warns(UncalibratedWarning, match="u.hspy"):
        da = load(f)
    # never a degenerate coordinate: strictly increasing pixel indices
    np.testing.assert_array_equal(da.x.values, np.arange(NX))
    np.testing.assert_array_equal(da.y.values, np.arange(NY))
    assert da.x.attrs["units"] == "px"


def test_warning_points_at_the_callers_line(tmp_path):
    f = tmp_path / "plain.tif"
    tifffile.imwrite(f, image())
    with pytest.warns(UncalibratedWarning) as record:
        load(f)
    assert record[0].filename == __file__


def test_uncalibrated_eels_spectrum_and_line_profile(tmp_path):
    spec = np.arange(10, dtype=np.float32)
    md = {"General": {"title": ""}, "Signal": {"signal_type": "EELS"}}
    f = write_hspy(tmp_path / "e.hspy", spec, [axis("E", 10, 1.0, 0.0, "")], md)
    with pytest.warns(UncalibratedWarning, match="energy"):
        da = load(f)
    assert da.dims == ("energy",) and da.energy.attrs["units"] == "px"
    g = write_hspy(tmp_path / "p.hspy", spec, [axis("d", 10, 0.5, 1.0, "nm")])
    profile = load(g)
    assert profile.dims == ("x",)
    np.testing.assert_allclose(profile.x.values, 1.0 + 0.5 * np.arange(10))


def test_dm_zero_scale_is_uncalibrated(tmp_path):
    f = write_dm(tmp_path / "z.dm3", image(), scales=[0.0, 0.0], offsets=[0, 0], units=["nm", "nm"])
    with pytest.warns(UncalibratedWarning, match="z.dm3"):
        da = load(f)
    assert np.all(np.diff(da.x.values) == 1)


# ------------------------------------------------------------------ bad files


EXTS = [".dm3", ".dm4", ".emd", ".hspy", ".tif", ".tiff", ".mrc", ".nc", ".zarr"]


@pytest.mark.parametrize("ext", EXTS)
def test_missing_file(tmp_path, ext):
    with pytest.raises(FileFormatError, match="no such file"):
        load(tmp_path / f"nope{ext}")


@pytest.mark.parametrize("ext", [e for e in EXTS if e != ".zarr"])
def test_empty_file(tmp_path, ext):
    f = tmp_path / f"empty{ext}"
    f.write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"empty \(0 bytes\)"):
        load(f)


@pytest.mark.parametrize("ext", [e for e in EXTS if e != ".zarr"])
def test_garbage_file(tmp_path, ext):
    f = tmp_path / f"garbage{ext}"
    f.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(FileFormatError, match=f"garbage\\{ext}"):
        load(f)


def _truncate(path, n):
    data = path.read_bytes()
    path.write_bytes(data[:n])
    return path


@pytest.mark.parametrize("where", ["header", "data"])
def test_truncated_files(tmp_path, where):
    made = [
        write_dm(tmp_path / "t.dm3", image(), scales=[1, 1], offsets=[0, 0], units=["nm", "nm"]),
        write_dm(
            tmp_path / "t.dm4",
            image(),
            scales=[1, 1],
            offsets=[0, 0],
            units=["nm", "nm"],
            version=4,
        ),
        write_mrc(tmp_path / "t.mrc", image(), angstrom_per_px=1.0),
        write_velox(tmp_path / "t.emd", [(image(np.uint16), velox_metadata())]),
        write_hspy(
            tmp_path / "t.hspy", image(), [axis("y", NY, 1, 0, "nm"), axis("x", NX, 1, 0, "nm")]
        ),
    ]
    t = tmp_path / "t.tif"
    tifffile.imwrite(t, image())
    made.append(t)
    for f in made:
        size = f.stat().st_size
        _truncate(f, 40 if where == "header" else size - 24)
        with pytest.raises(FileFormatError, match=f"{f.name}(.|\n)*(truncated|corrupt)"):
            load(f)


def test_directory_and_unknown_extension(tmp_path):
    d = tmp_path / "folder.dm3"
    d.mkdir()
    with pytest.raises(FileFormatError, match="is a directory"):
        load(d)
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    with pytest.raises(FileFormatError, match=r"supported formats: .*\.dm3.*\.zarr"):
        load(f)
    z = tmp_path / "file.zarr"
    z.write_text("x")
    with pytest.raises(FileFormatError, match="directory"):
        load(z)


def test_rgb_tiff_is_refused(tmp_path):
    f = tmp_path / "rgb.tif"
    tifffile.imwrite(f, np.zeros((NY, NX, 3), np.uint8), photometric="rgb")
    with pytest.raises(FileFormatError, match="rgb.tif"):
        load(f)


def test_bad_options(tmp_path):
    f = write_hspy(
        tmp_path / "o.hspy", image(), [axis("y", NY, 1, 0, "nm"), axis("x", NX, 1, 0, "nm")]
    )
    with pytest.raises(ParameterError, match="lazy"):
        load(f, lazy="yes")
    with pytest.raises(ParameterError, match="variable="):
        load(f, variable="phase")
    with pytest.raises(ParameterError, match="path"):
        load(42)
    t = tmp_path / "o.tif"
    tifffile.imwrite(t, image())
    with pytest.raises(ParameterError, match="not_an_option"):
        load(t, not_an_option=1)
    dm = write_dm(tmp_path / "o.dm3", image(), scales=[1, 1], offsets=[0, 0], units=["nm", "nm"])
    with pytest.raises(ParameterError, match=r"unknown option\(s\) \['bogus'\]"):
        load(dm, bogus=1)


def test_top_level_alias_and_relative_path(tmp_path, monkeypatch):
    write_hspy(
        tmp_path / "rel.hspy", image(), [axis("y", NY, 1, 0, "nm"), axis("x", NX, 1, 0, "nm")]
    )
    monkeypatch.chdir(tmp_path)
    da = holocorr.load("rel.hspy")
    assert da.attrs["source_path"] == os.path.join(str(tmp_path), "rel.hspy")


def test_reciprocal_axes(tmp_path):
    # a diffraction pattern calibrated in 1/Å: 0.05 1/Å = 0.5 1/nm
    f = write_hspy(
        tmp_path / "dp.hspy",
        image(),
        [axis("ky", NY, 0.05, -0.15, "1/Å"), axis("kx", NX, 0.05, -0.2, "1/Å")],
    )
    da = load(f)
    assert da.dims == ("ky", "kx")
    np.testing.assert_allclose(da.kx.values, -2.0 + 0.5 * np.arange(NX), rtol=1e-12)
    assert da.kx.attrs["units"] == "1/nm"
    # 4D-STEM: scan (nm) and detector (1/nm) axes
    four = np.arange(2 * 3 * NY * NX, dtype=np.float32).reshape(2, 3, NY, NX)
    g = write_hspy(
        tmp_path / "4d.hspy",
        four,
        [
            axis("y", 2, 1.0, 0, "nm", True),
            axis("x", 3, 1.0, 0, "nm", True),
            axis("ky", NY, 0.1, 0, "1/nm"),
            axis("kx", NX, 0.1, 0, "1/nm"),
        ],
    )
    da4 = load(g)
    assert da4.dims == ("y", "x", "ky", "kx")
    np.testing.assert_array_equal(da4.values, four)


def test_missing_optional_package_is_explained(tmp_path, monkeypatch):
    import rsciio.digitalmicrograph as dm

    def needs_sparse(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'sparse'", name="sparse")

    monkeypatch.setattr(dm, "file_reader", needs_sparse)
    f = write_dm(tmp_path / "s.dm3", image(), scales=[1, 1], offsets=[0, 0], units=["nm", "nm"])
    with pytest.raises(FileFormatError, match="optional package(.|\n)*pip install sparse"):
        load(f)
