"""Fuzzing the loaders: damaged files give the data or a HolocorrError naming the file.

For every format holocorr.load reads (.dm3, .dm4, Velox and NCEM .emd,
.hspy, .tif/.tiff, .mrc, holocorr's .nc and .zarr) a small valid file is
written once (tests/io/_io_files.py and RosettaSciIO's writers), then
hypothesis mutates it: (a) random bytes with the right extension, (b) the
valid file cut at a random length, (c) random bytes overwritten at random
offsets, (f) a Zarr store with a chunk or zarr.json deleted, emptied, cut,
overwritten, garbled or replaced by a folder; (d) empty files and (e)
folders where a file is expected are tested for every format. The rule for
holocorr.load, holocorr.io.load_dataset, holocorr.open_series and
holocorr.pipeline.load_config: either a load that honours the data contract
(right shape and dims when only pixel bytes were hit; for Zarr, whose
chunks carry checksums, exactly the saved values), or a HolocorrError whose
message names the file. Never another exception, never a hang: every test
here is guarded by a watchdog, and the regressions that used to hang run in
a subprocess with a timeout.

Each defect found is kept below as a regression test (the `@example`s and
the explicit tests at the end).
"""

from __future__ import annotations

import faulthandler
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import rsciio.emd
import rsciio.hspy
import rsciio.tiff
import tifffile
import xarray as xr
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import holocorr
from holocorr.errors import FileFormatError, HolocorrError, HolocorrWarning
from holocorr.io import load_dataset, open_series

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from _io_files import (  # noqa: E402
    axis,
    dm_microscope_tags,
    rsciio_signal,
    velox_metadata,
    write_dm,
    write_mrc,
    write_velox,
)

# Damaged files make the third-party readers warn on their way to the
# FileFormatError that these tests require; those warnings are expected here.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:Object at .* is not recognized as a component of a Zarr hierarchy"),
    pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning"),
]

NY, NX = 6, 8
#: dims a loaded microscope or holocorr file may have
DIMS = {"y", "x", "ky", "kx", "energy", "frame", "frame_1", "frame_2"}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def image(dtype=np.float32):
    return (np.arange(NY * NX).reshape(NY, NX) * 3 + 7).astype(dtype)


def _cal_axes(units="nm"):
    return [axis("y", NY, 0.25, 0.0, units), axis("x", NX, 0.25, 0.0, units)]


def _nm(n):
    return ("y", 0.25 * np.arange(n), {"units": "nm", "long_name": "y"})


def _holocorr_da(dtype=np.float32):
    return xr.DataArray(
        image(dtype),
        dims=("y", "x"),
        coords={"y": _nm(NY), "x": ("x", 0.25 * np.arange(NX), {"units": "nm", "long_name": "x"})},
        attrs={"units": "counts", "long_name": "hologram", "notes": {"a": [1, None]}},
        name="holo",
    )


def _write(kind: str, folder: Path) -> Path:
    """A small valid file of `kind` holding image() (6 x 8 px)."""
    if kind == "dm3":
        return write_dm(
            folder / "f.dm3",
            image(),
            scales=[0.25, 0.25],
            offsets=[0, 0],
            units=["nm", "nm"],
            image_tags=dm_microscope_tags(),
        )
    if kind == "dm4":
        return write_dm(
            folder / "f.dm4",
            image(),
            scales=[0.25, 0.25],
            offsets=[0, 0],
            units=["nm", "nm"],
            version=4,
            image_tags=dm_microscope_tags(),
        )
    if kind == "velox":
        return write_velox(folder / "f.emd", [(image(np.uint16), velox_metadata())])
    if kind == "ncem":
        f = folder / "f.emd"
        rsciio.emd.file_writer(str(f), rsciio_signal(image(), _cal_axes()))
        return f
    if kind == "hspy":
        f = folder / "f.hspy"
        rsciio.hspy.file_writer(str(f), rsciio_signal(image(), _cal_axes()))
        return f
    if kind == "tif":
        f = folder / "f.tif"
        rsciio.tiff.file_writer(str(f), rsciio_signal(image(np.uint16), _cal_axes("µm")))
        return f
    if kind == "tiff":  # a plain TIFF without calibration
        f = folder / "f.tiff"
        tifffile.imwrite(f, image(np.uint16))
        return f
    if kind == "mrc":
        return write_mrc(folder / "f.mrc", image(), angstrom_per_px=2.5)
    if kind == "nc":
        return holocorr.save(_holocorr_da(), folder / "f.nc")
    if kind == "zarr":
        return holocorr.save(_holocorr_da(np.complex64), folder / "f.zarr")
    raise AssertionError(kind)


FILE_KINDS = ["dm3", "dm4", "velox", "ncem", "hspy", "tif", "tiff", "mrc", "nc"]


class Valid:
    """A pristine file: its bytes and where its pixel bytes are (None if compressed)."""

    def __init__(self, kind: str, folder: Path):
        self.kind = kind
        self.path = _write(kind, folder)
        self.raw = self.path.read_bytes()
        self.suffix = self.path.suffix
        pixels = image(np.uint16 if kind in ("velox", "tif", "tiff") else np.float32)
        self.pixels = pixels
        start = -1
        for candidate in (pixels, np.ascontiguousarray(pixels.T)):  # NCEM stores x first
            start = self.raw.find(candidate.tobytes())
            if start >= 0:
                break
        self.pixel_range = (start, start + pixels.nbytes) if start >= 0 else None


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    root = tmp_path_factory.mktemp("valid")
    out = {}
    for kind in FILE_KINDS:
        (root / kind).mkdir()
        out[kind] = Valid(kind, root / kind)
    return out


@pytest.fixture(autouse=True)
def _watchdog():
    """A hang fails loudly (traceback, exit) instead of blocking the run forever."""
    faulthandler.dump_traceback_later(240, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _put(scratch: Path, suffix: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    f = folder / f"damaged{suffix}"
    f.write_bytes(data)
    return f


def _check_contract(da: xr.DataArray) -> None:
    assert isinstance(da, xr.DataArray)
    assert set(da.dims) <= DIMS, da.dims
    for d in da.dims:
        if d in da.coords:
            assert {"units", "long_name"} <= set(da[d].attrs), (d, da[d].attrs)
            assert np.isfinite(np.asarray(da[d].values, dtype=np.float64)).all(), d


def outcome(path: Path, **kw) -> xr.DataArray | None:
    """holocorr.load(path): the DataArray, or None after a HolocorrError that names the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HolocorrWarning)  # a flip may remove the calibration
            da = holocorr.load(path, **kw)
    except HolocorrError as exc:
        assert path.name in str(exc), f"the error does not name the file: {exc}"
        return None
    _check_contract(da)
    return da


# ------------------------------------------------------------------ (a) random bytes, (b) truncation, (c) flips


@pytest.mark.parametrize("kind", FILE_KINDS)
@FUZZ
@given(data=st.binary(min_size=1, max_size=3000))
@example(data=b"\x89HDF\r\n\x1a\n" + bytes(200))  # an HDF5 signature and nothing else
@example(data=b"II*\x00" + bytes(60))  # a TIFF header and nothing else
def test_random_bytes(valid, scratch, kind, data):
    outcome(_put(scratch, valid[kind].suffix, data))


@pytest.mark.parametrize("kind", FILE_KINDS)
@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_truncated(valid, scratch, kind, cut):
    v = valid[kind]
    n = max(1, int(cut * len(v.raw)))
    da = outcome(_put(scratch, v.suffix, v.raw[:n]))
    if da is not None:  # only trailing padding may be cut from a file that still loads
        assert da.shape == (NY, NX)
        np.testing.assert_array_equal(np.asarray(da.values), v.pixels)


def _flipped(raw: bytes, flips) -> bytes:
    b = bytearray(raw)
    for where, value in flips:
        b[int(where * len(b))] = value
    return bytes(b)


FLIPS = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=1.0, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=5
)


@pytest.mark.parametrize("kind", FILE_KINDS)
@FUZZ
@given(flips=FLIPS)
# .tif (448 bytes): byte 33 = 188 makes the strip count 525686103 and numpy raised MemoryError
# ("Unable to allocate 47.0 GiB"), which escaped holocorr.load (22 of 2000 random flips did so)
@example(flips=[(33.5 / 448, 188)])
def test_overwritten_bytes(valid, scratch, kind, flips):
    v = valid[kind]
    outcome(_put(scratch, v.suffix, _flipped(v.raw, flips)))


@pytest.mark.parametrize("kind", [k for k in FILE_KINDS if k != "hspy"])  # .hspy pixels are gzipped
@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=5))
def test_flips_in_pixel_data_load_with_right_shape(valid, scratch, kind, flips):
    v = valid[kind]
    start, stop = v.pixel_range
    b = bytearray(v.raw)
    for where, value in flips:
        b[start + int(where * (stop - start))] = value
    da = outcome(_put(scratch, v.suffix, bytes(b)))
    assert da is not None, "only pixel bytes changed: the file must still load"
    assert da.shape == (NY, NX) and da.dims == ("y", "x")
    changed = ~np.isclose(np.asarray(da.values, dtype=np.float64), v.pixels, equal_nan=False)
    assert int(changed.sum()) <= len(flips)  # each changed byte touches one pixel


# ------------------------------------------------------------------ (d) empty files, (e) folders


@pytest.mark.parametrize("suffix", [".dm3", ".dm4", ".emd", ".hspy", ".hdf5", ".tif", ".tiff", ".mrc", ".nc"])
def test_empty_file_and_folder(tmp_path, suffix):
    empty = tmp_path / f"empty{suffix}"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match=rf"empty{suffix}(.|\n)*empty \(0 bytes\)"):
        holocorr.load(empty)
    folder = tmp_path / f"folder{suffix}"
    folder.mkdir()
    with pytest.raises(FileFormatError, match=rf"folder{suffix}(.|\n)*directory"):
        holocorr.load(folder)
    with pytest.raises(FileFormatError, match=rf"folder{suffix}"):
        open_series([folder])


def test_zarr_that_is_a_file_or_empty_folder(tmp_path):
    f = tmp_path / "file.zarr"
    f.write_bytes(b"not a store")
    with pytest.raises(FileFormatError, match=r"file\.zarr(.|\n)*directory"):
        holocorr.load(f)
    with pytest.raises(FileFormatError, match=r"file\.zarr(.|\n)*directory"):
        load_dataset(f)
    d = tmp_path / "empty.zarr"
    d.mkdir()
    with pytest.raises(FileFormatError, match=r"empty\.zarr"):
        holocorr.load(d)
    with pytest.raises(FileFormatError, match=r"empty\.zarr"):
        load_dataset(d)


# ------------------------------------------------------------------ (f) damaged Zarr stores


@pytest.fixture(scope="module")
def zarr_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zarr")
    path = _write("zarr", folder)
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    return path, files, holocorr.load(path)


def _damage(target: Path, how: str, data: bytes, rng: np.random.Generator) -> None:
    raw = target.read_bytes()
    if how == "delete":
        target.unlink()
    elif how == "empty":
        target.write_bytes(b"")
    elif how == "cut":
        target.write_bytes(raw[: int(rng.integers(0, max(len(raw), 1)))])
    elif how == "overwrite":
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        target.write_bytes(bytes(b))
    elif how == "random":
        target.write_bytes(data)
    elif how == "folder":
        target.unlink()
        target.mkdir()
    elif how == "json":  # valid JSON, wrong content: drop or replace one key somewhere
        if target.name != "zarr.json":
            return
        meta = json.loads(raw)
        node = meta
        while True:
            keys = list(node)
            key = keys[int(rng.integers(0, len(keys)))]
            child = node[key]
            if isinstance(child, dict) and child and rng.random() < 0.6:
                node = child
                continue
            if rng.random() < 0.5:
                del node[key]
            else:
                node[key] = [None, -1, "zz", [], 3.5][int(rng.integers(0, 5))]
            break
        target.write_text(json.dumps(meta))


@FUZZ
@given(
    which=st.integers(0, 100),
    how=st.sampled_from(["delete", "empty", "cut", "overwrite", "random", "folder", "json"]),
    data=st.binary(min_size=1, max_size=300),
    seed=st.integers(0, 2**32 - 1),
)
@example(which=0, how="delete", data=b"x", seed=0)  # a chunk file deleted: loaded as NaN before
@example(which=3, how="json", data=b"x", seed=4)  # a lost complex-dtype attr: loaded as (y, x, 2)
def test_damaged_zarr_store(zarr_store, scratch, which, how, data, seed):
    """Either the exact saved values (chunks carry checksums) or an error naming the store."""
    pristine, files, want = zarr_store
    work = Path(tempfile.mkdtemp(dir=scratch)) / "damaged.zarr"
    shutil.copytree(pristine, work)
    rel = files[which % len(files)]
    _damage(work / rel, how, data, np.random.default_rng(seed))
    for reader in (holocorr.load, load_dataset):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", HolocorrWarning)
                got = reader(work)
        except HolocorrError as exc:
            assert "damaged.zarr" in str(exc), exc
            continue
        arr = got if isinstance(got, xr.DataArray) else got[next(iter(got.data_vars))]
        assert arr.dtype == np.complex64 and arr.shape == (NY, NX), (rel, how, arr)
        np.testing.assert_array_equal(arr.values, want.values)


def test_zarr_missing_chunk_is_reported(zarr_store, tmp_path):
    """Regression: zarr returns the fill value (NaN) for a missing chunk file; save writes them all."""
    pristine, _, _ = zarr_store
    work = tmp_path / "hole.zarr"
    shutil.copytree(pristine, work)
    next(p for p in (work / "holo" / "c").rglob("*") if p.is_file()).unlink()
    with pytest.raises(FileFormatError, match=r"hole\.zarr(.|\n)*incomplete(.|\n)*0 of its 1 chunk"):
        holocorr.load(work)
    with pytest.raises(FileFormatError, match=r"hole\.zarr(.|\n)*incomplete"):
        load_dataset(work, lazy=True)


def test_zarr_missing_array_metadata_is_reported(zarr_store, tmp_path):
    pristine, _, _ = zarr_store
    work = tmp_path / "nometa.zarr"
    shutil.copytree(pristine, work)
    (work / "x" / "zarr.json").unlink()  # the x coordinate would silently vanish
    with pytest.raises(FileFormatError, match=r"nometa\.zarr(.|\n)*\['x'\] are missing"):
        holocorr.load(work)


def test_zarr_lost_complex_attr_is_recovered(zarr_store, tmp_path):
    """The (real, imag) parts of a complex64 variable come back complex64 without their dtype attr."""
    pristine, _, want = zarr_store
    work = tmp_path / "parts.zarr"
    shutil.copytree(pristine, work)
    meta_file = work / "holo" / "zarr.json"
    meta = json.loads(meta_file.read_text())
    del meta["attributes"]["holocorr_complex_dtype"]
    meta_file.write_text(json.dumps(meta))
    got = holocorr.load(work)
    assert got.dtype == np.complex64 and got.dims == ("y", "x")
    np.testing.assert_array_equal(got.values, want.values)
    meta["attributes"]["holocorr_complex_dtype"] = "float32"  # a dtype that is not complex
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(FileFormatError, match=r"parts\.zarr(.|\n)*not a complex dtype"):
        holocorr.load(work)


def test_garbled_dataarray_name_is_ignored(zarr_store, tmp_path):
    pristine, _, want = zarr_store
    work = tmp_path / "name.zarr"
    shutil.copytree(pristine, work)
    meta = json.loads((work / "zarr.json").read_text())
    meta["attributes"]["holocorr_dataarray_name"] = 'holocorr-json:{"y": "z"}'  # a dict would rename coords
    (work / "zarr.json").write_text(json.dumps(meta))
    got = holocorr.load(work)
    assert got.dims == ("y", "x") and got.name == "holo"
    np.testing.assert_array_equal(got.values, want.values)


# ------------------------------------------------------------------ open_series and the pipeline TOML


@pytest.fixture(scope="module")
def good_frames(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    return [
        write_dm(folder / f"good_{k}.dm3", image() + k, scales=[0.25, 0.25], offsets=[0, 0], units=["nm", "nm"])
        for k in range(2)
    ]


@pytest.mark.parametrize("kind", ["dm3", "hspy", "nc"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=FLIPS, cut=st.floats(0.05, 1.0), mode=st.sampled_from(["flip", "cut"]))
# .nc: a zeroed byte of the y coordinate (a step of 9e-305 nm) gave a CalibrationError without the file
@example(flips=[(0.9886198132625684, 0)], cut=0.5, mode="flip")
def test_open_series_with_a_damaged_frame(valid, scratch, good_frames, kind, flips, cut, mode):
    v = valid[kind]
    raw = _flipped(v.raw, flips) if mode == "flip" else v.raw[: max(1, int(cut * len(v.raw)))]
    bad = _put(scratch, v.suffix, raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HolocorrWarning)
            series = open_series([*good_frames, bad], chunks=1)
            values = series.values
    except HolocorrError as exc:
        assert bad.name in str(exc), exc
        return
    assert values.shape == (3, NY, NX)
    np.testing.assert_array_equal(values[:2], np.stack([image(), image() + 1]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400), st.text(max_size=200).map(str.encode)))
@example(data=b"\xff\xfe[output]\n")  # not UTF-8
@example(data=b"[output]\nfolder = 1\n\x00")
@example(data=b"")
def test_pipeline_config_bytes(scratch, data):
    """Any bytes give a Config or a ConfigError; unreadable or non-TOML files are named."""
    from holocorr.pipeline import load_config
    from holocorr.pipeline.config import ConfigError

    f = _put(scratch, ".toml", data)
    try:
        load_config(f)
    except ConfigError as exc:
        if "TOML" in str(exc) or "cannot read" in str(exc):
            assert f.name in str(exc), exc


def test_config_validation_error_names_the_file(tmp_path):
    from holocorr.pipeline import load_config
    from holocorr.pipeline.config import ConfigError

    f = tmp_path / "empty_run.toml"
    f.write_text("")
    with pytest.raises(ConfigError, match="empty_run.toml"):
        load_config(f)


# ------------------------------------------------------------------ regressions found by the fuzzers

_LOAD_IN_CHILD = """
import sys, warnings
import holocorr
warnings.simplefilter("ignore")
try:
    holocorr.load(sys.argv[1])
except holocorr.HolocorrError as exc:
    print(type(exc).__name__, exc)
else:
    print("loaded")
"""


def _load_in_child(path: Path, timeout: float = 60.0) -> str:
    """Load in a subprocess, so that a regression shows as a timeout, not a stuck test run."""
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_CHILD, str(path)], capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_hdf5_global_heap_loop_is_refused(valid, tmp_path):
    """One zeroed size field in an .hspy file's global heap made libhdf5 loop forever.

    Found by test_overwritten_bytes (2 hangs in 1400 flips of .hspy); the
    free-space object (index 0) of the heap collection gets size 0.
    """
    b = bytearray(valid["hspy"].raw)
    at = b.find(b"GCOL")
    p = at + 16
    while struct.unpack_from("<H", b, p)[0] != 0:
        p += 16 + 8 * ((struct.unpack_from("<Q", b, p + 8)[0] + 7) // 8)
    struct.pack_into("<Q", b, p + 8, 0)
    f = tmp_path / "loop.hspy"
    f.write_bytes(bytes(b))
    got = _load_in_child(f)
    assert got.startswith("FileFormatError") and "loop.hspy" in got and "global heap" in got


def test_hdf5_declared_huge_dataset_is_refused(valid, tmp_path):
    """One byte of an NCEM .emd dataspace made a 6 x 8 image (8847368, 6): 47 s of fill values."""
    b = bytearray(valid["ncem"].raw)
    b[10114] = 135
    f = tmp_path / "huge.emd"
    f.write_bytes(bytes(b))
    got = _load_in_child(f, timeout=30.0)
    assert got.startswith("FileFormatError") and "huge.emd" in got and "(8847368, 6)" in got
    lazy = holocorr.load(f, lazy=True)  # lazily the file opens (the user asked for what is there)
    assert lazy.shape == (6, 8847368)


def test_memory_error_of_a_reader_names_the_file(valid, tmp_path, monkeypatch):
    import rsciio.tiff as tiff

    def asks_for_terabytes(*args, **kwargs):
        raise MemoryError("Unable to allocate 38.0 GiB for an array with shape (20401094704,)")

    monkeypatch.setattr(tiff, "file_reader", asks_for_terabytes)
    f = tmp_path / "big.tif"
    f.write_bytes(valid["tif"].raw)
    with pytest.raises(FileFormatError, match=r"big\.tif(.|\n)*out of memory(.|\n)*lazy=True"):
        holocorr.load(f)


def test_memory_error_in_netcdf_read_names_the_file(valid, tmp_path, monkeypatch):
    from holocorr.io import _store

    def asks_for_terabytes(*args, **kwargs):
        raise MemoryError("Unable to allocate 2.75 PiB")

    monkeypatch.setattr(_store, "_open", asks_for_terabytes)
    f = tmp_path / "big.nc"
    f.write_bytes(valid["nc"].raw)
    with pytest.raises(FileFormatError, match=r"big\.nc(.|\n)*out of memory"):
        holocorr.load(f)


def test_unusable_reader_metadata_names_the_file(valid, tmp_path, monkeypatch):
    """Axis values a reader returns from a damaged file (text) used to raise a bare ValueError."""
    import rsciio.mrc as mrc

    def odd_axes(*args, **kwargs):
        axes = [{"name": "y", "size": NY, "axis": ["a"] * NY}, {"name": "x", "size": NX, "scale": 1.0}]
        return [{"data": image(), "axes": axes, "metadata": {}, "original_metadata": {}}]

    monkeypatch.setattr(mrc, "file_reader", odd_axes)
    f = tmp_path / "odd.mrc"
    f.write_bytes(valid["mrc"].raw)
    with pytest.raises(FileFormatError, match=r"odd\.mrc(.|\n)*cannot interpret"):
        holocorr.load(f)


@pytest.mark.parametrize(
    ("byte", "value", "match"),
    [
        (11, 227, "negative sizes"),  # NZ = -486539263
        (10, 0x7F, r"declares 8 x 6 x 8323073 voxels"),  # NZ = 8323073: 1.6 GB in a 1 kB file
    ],
)
def test_mrc_header_larger_than_the_file(valid, tmp_path, byte, value, match):
    """A corrupted MRC dimension made the reader build a task graph for terabytes (1-2 s, once minutes)."""
    b = bytearray(valid["mrc"].raw)
    b[byte] = value
    f = tmp_path / "dims.mrc"
    f.write_bytes(bytes(b))
    with pytest.raises(FileFormatError, match=rf"dims\.mrc(.|\n)*{match}"):
        holocorr.load(f)
