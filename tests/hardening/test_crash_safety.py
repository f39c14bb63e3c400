"""Crash safety of holocorr.save: a save killed mid-write never truncates the target.

A subprocess saves a 200 MB float32 DataArray over an existing small file;
as soon as the hidden temporary sibling (``.<name>.tmp-<id>``, see
holocorr/io/_store.py ``write_atomic``) appears, the process is killed with
SIGTERM or SIGKILL. The target must then load as the complete old file or
the complete new one.

Replacing a ``.zarr`` store takes two renames (old store aside, new one in);
a hook in the subprocess SIGKILLs it exactly between them, and load/save
must then restore the complete old store and say so. The last tests check
what save puts on disk: checksummed Zstandard chunks in Zarr (a flipped bit
is an error, not a wrong number), plain uncompressed NetCDF.
"""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import xarray as xr

import holocorr
from holocorr.errors import FileFormatError, HolocorrWarning
from holocorr.io import load_dataset

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SHAPE = (50, 1000, 1000)  # 50e6 float32 = 200 MB
NEW_VALUE = 7.0

_WRITER = """
import sys
import numpy as np, xarray as xr
import holocorr
da = xr.DataArray(np.full({shape}, {value}, dtype=np.float32), dims=("frame", "y", "x"))
print("ready", flush=True)
holocorr.save(da, sys.argv[1], overwrite=True)
print("done", flush=True)
"""


def _old():
    return xr.DataArray(np.arange(12.0, dtype=np.float32).reshape(3, 4), dims=("y", "x"), attrs={"version": "old"})


@pytest.mark.parametrize("ext", [".nc", ".zarr"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_save_leaves_old_or_new_target(tmp_path, ext, sig):
    target = tmp_path / f"result{ext}"
    holocorr.save(_old(), target)
    before = set(os.listdir(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER.format(shape=SHAPE, value=NEW_VALUE), str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 15.0
        tmp_seen = []
        while time.monotonic() < deadline and not tmp_seen:
            tmp_seen = [n for n in os.listdir(tmp_path) if n.startswith(f".{target.name}.tmp-")]
            if not tmp_seen:
                time.sleep(0.002)
        assert tmp_seen, "save never created its temporary sibling"
        time.sleep(0.05)  # let it write part of the 200 MB
        proc.send_signal(sig)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    # the kill interrupted the save (it did not finish first)
    assert proc.returncode == -sig

    assert target.exists(), "the target vanished"
    got = holocorr.load(target, checksum=False)
    if got.shape == (3, 4):  # the complete old file
        np.testing.assert_array_equal(got.values, _old().values)
        assert got.attrs["version"] == "old"
    else:  # the complete new file, every value written
        assert got.shape == SHAPE
        vals = got.values
        assert float(vals.min()) == NEW_VALUE and float(vals.max()) == NEW_VALUE
    # anything left over is a hidden sibling, never another visible file
    leftovers = set(os.listdir(tmp_path)) - before
    assert all(n.startswith(f".{target.name}.") for n in leftovers)


def test_unkilled_save_replaces_target(tmp_path):
    """Control: the same writer, not killed, does replace the old file."""
    target = tmp_path / "result.nc"
    holocorr.save(_old(), target)
    shape = (2, 4, 5)
    out = subprocess.run(
        [sys.executable, "-c", _WRITER.format(shape=shape, value=NEW_VALUE), str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    got = holocorr.load(target, checksum=False)
    assert got.shape == shape and float(got.min()) == NEW_VALUE
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


# ------------------------------------------------------------------ killed between the two renames of a .zarr swap

_KILL_BETWEEN_RENAMES = """
import os, signal, sys
from pathlib import Path
import numpy as np, xarray as xr
import holocorr

target = Path(sys.argv[1]).absolute()
real_rename = os.rename


def rename(src, dst, *args, **kwargs):
    real_rename(src, dst, *args, **kwargs)
    if Path(src) == target:  # the old store is aside, the new one not yet in place: die here
        os.kill(os.getpid(), signal.SIGKILL)


os.rename = rename
da = xr.DataArray(np.full({shape}, {value}, dtype=np.float32), dims=("frame", "y", "x"))
holocorr.save(da, target, overwrite=True)
print("not killed", flush=True)
"""


def _kill_between_renames(target, shape=(2, 3, 4)):
    out = subprocess.run(
        [sys.executable, "-c", _KILL_BETWEEN_RENAMES.format(shape=shape, value=NEW_VALUE), str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == -signal.SIGKILL, out.stdout + out.stderr
    return out


def test_killed_between_zarr_renames_load_restores_old_store(tmp_path):
    target = tmp_path / "result.zarr"
    holocorr.save(_old(), target)
    _kill_between_renames(target)
    # the crash window: no target, the old store aside, the complete new store in its temp folder
    assert not target.exists()
    aside = [n for n in os.listdir(tmp_path) if n.startswith(".result.zarr.old-")]
    fresh = [n for n in os.listdir(tmp_path) if n.startswith(".result.zarr.tmp-")]
    assert len(aside) == 1 and len(fresh) == 1
    new = xr.open_zarr(tmp_path / fresh[0], consolidated=False)["data"].values  # nothing lost either
    assert new.shape == (2, 3, 4) and float(new.min()) == float(new.max()) == NEW_VALUE

    with pytest.warns(HolocorrWarning, match=r"interrupted between its two renames(.|\n)*put back") as rec:
        got = holocorr.load(target)
    assert fresh[0] in str(rec[0].message)  # the warning says where the new data are
    np.testing.assert_array_equal(got.values, _old().values)  # the complete old store
    assert got.attrs["version"] == "old"
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".result.zarr.old-")]
    # a second load is silent (filterwarnings=error would fail on a warning)
    np.testing.assert_array_equal(holocorr.load(target).values, _old().values)


def test_killed_between_zarr_renames_save_restores_then_refuses(tmp_path):
    target = tmp_path / "result.zarr"
    holocorr.save(_old(), target)
    _kill_between_renames(target)
    assert not target.exists()
    # without overwrite, save must not treat the missing target as free: it is restored first
    with pytest.warns(HolocorrWarning, match="put back"), pytest.raises(FileFormatError, match="already exists"):
        holocorr.save(_old() * 2, target)
    np.testing.assert_array_equal(holocorr.load(target).values, _old().values)
    holocorr.save(_old() * 2, target, overwrite=True)
    np.testing.assert_array_equal(holocorr.load(target).values, 2 * _old().values)


def test_load_dataset_restores_too(tmp_path):
    target = tmp_path / "result.zarr"
    holocorr.save(_old(), target)
    _kill_between_renames(target)
    with pytest.warns(HolocorrWarning, match="put back"):
        ds = load_dataset(target)
    np.testing.assert_array_equal(ds["data"].values, _old().values)


def test_missing_zarr_without_moved_aside_copy_is_not_invented(tmp_path):
    """Only a .<name>.old-<id> *Zarr store* is restored; a look-alike folder is not."""
    (tmp_path / ".result.zarr.old-123").mkdir()  # empty: not a store
    with pytest.raises(FileFormatError, match="no such file"):
        holocorr.load(tmp_path / "result.zarr")
    assert (tmp_path / ".result.zarr.old-123").is_dir()


# ------------------------------------------------------------------ what is on disk: compression and checksums


def test_zarr_chunks_are_zstd_compressed_with_checksum(tmp_path):
    smooth = xr.DataArray(np.zeros((256, 256), np.float32), dims=("y", "x"), name="zeros")
    path = holocorr.save(smooth, tmp_path / "z.zarr")
    meta = json.loads((path / "zeros" / "zarr.json").read_text())
    codecs = {c["name"]: c.get("configuration", {}) for c in meta["codecs"]}
    assert codecs["zstd"] == {"level": 3, "checksum": True}
    chunk = next(p for p in (path / "zeros" / "c").rglob("*") if p.is_file())
    assert chunk.stat().st_size < 0.01 * 256 * 256 * 4  # 256 KiB of zeros compress > 100x
    # a flipped byte in a chunk is an error naming the store, never wrong numbers
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    chunk.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match=r"z\.zarr(.|\n)*checksum"):
        holocorr.load(path)


def test_netcdf_is_written_uncompressed(tmp_path):
    path = holocorr.save(_old(), tmp_path / "u.nc")
    with h5py.File(path, "r") as f:
        assert f["data"].compression is None and f["data"].chunks is None


# ------------------------------------------------------------------ series.to_zarr replacing a store, killed

_SERIES_KILLED = """
import os, signal, sys
from pathlib import Path
import dask
import numpy as np, xarray as xr
from holocorr.series import to_zarr

target = Path(sys.argv[1]).absolute()
when = sys.argv[2]
real_rename = os.rename


def rename(src, dst, *args, **kwargs):
    real_rename(src, dst, *args, **kwargs)
    if when == "between-renames" and Path(src) == target:  # old store aside, new not yet in
        os.kill(os.getpid(), signal.SIGKILL)


def on_chunk(done, total):
    if when == "mid-run" and done == 2:  # two of three chunks recorded
        os.kill(os.getpid(), signal.SIGKILL)


os.rename = rename
wave = np.full((6, 4, 5), {value}, np.complex64)
ds = xr.Dataset({{"wave": (("frame", "y", "x"), wave)}}, attrs={{"holocorr": "new"}}).chunk({{"frame": 2}})
with dask.config.set(scheduler="synchronous", num_workers=1):
    to_zarr(ds, target, overwrite=True, on_chunk=on_chunk)
print("not killed", flush=True)
"""


def _series(value, tag):
    wave = np.full((6, 4, 5), value, np.complex64)
    return xr.Dataset({"wave": (("frame", "y", "x"), wave)}, attrs={"holocorr": tag}).chunk({"frame": 2})


def _files(path):
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _kill_series_replacement(target, when):
    from holocorr.series import to_zarr

    with holocorr.set_options(progress=False):
        to_zarr(_series(1.0, "old"), target)
    old = _files(target)
    out = subprocess.run(
        [sys.executable, "-c", _SERIES_KILLED.format(value=NEW_VALUE), str(target), when],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == -signal.SIGKILL, out.stdout + out.stderr
    return old


def test_series_replacement_killed_mid_run_keeps_old_store(tmp_path):
    from holocorr.series import to_zarr

    target = tmp_path / "s.zarr"
    old = _kill_series_replacement(target, "mid-run")
    assert _files(target) == old  # not a byte of the old store changed
    np.testing.assert_array_equal(load_dataset(target)["wave"].values, np.full((6, 4, 5), 1.0, np.complex64))
    (tmp,) = [n for n in os.listdir(tmp_path) if n.startswith(".")]
    assert tmp.startswith(".s.zarr.tmp-")
    with holocorr.set_options(progress=False):
        rep = to_zarr(_series(NEW_VALUE, "new"), target, overwrite=True)  # the same command again
    assert (rep.written, rep.skipped) == (1, 2)  # resumes the replacement
    got = load_dataset(target)
    assert got.attrs["holocorr_complete"] is True
    np.testing.assert_array_equal(got["wave"].values, np.full((6, 4, 5), NEW_VALUE, np.complex64))
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_series_replacement_killed_between_renames_restores_old_store(tmp_path):
    from holocorr.series import to_zarr

    target = tmp_path / "s.zarr"
    old = _kill_series_replacement(target, "between-renames")
    assert not target.exists()
    assert len([n for n in os.listdir(tmp_path) if n.startswith(".s.zarr.old-")]) == 1
    with pytest.warns(HolocorrWarning, match=r"interrupted between its two renames(.|\n)*put back"):
        got = load_dataset(target)
    np.testing.assert_array_equal(got["wave"].values, np.full((6, 4, 5), 1.0, np.complex64))
    assert _files(target) == old
    with holocorr.set_options(progress=False):
        rep = to_zarr(_series(NEW_VALUE, "new"), target, overwrite=True)
    assert (rep.written, rep.skipped) == (0, 3)  # the complete new store, only swapped in
    np.testing.assert_array_equal(load_dataset(target)["wave"].values, np.full((6, 4, 5), NEW_VALUE, np.complex64))
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


# ------------------------------------------------------------------ the reference dataset writer


@pytest.mark.slow
def test_reference_files_are_flushed_before_any_is_published(tmp_path, monkeypatch):
    import holocorr.simulate.reference as ref

    events = []
    real_replace = os.replace
    monkeypatch.setattr(ref, "fsync_file", lambda p: events.append(("fsync", os.path.basename(p))))
    monkeypatch.setattr(ref, "fsync_dir", lambda p: events.append(("fsync_dir", str(p))))

    def replace(src, dst, *args, **kwargs):
        if os.path.dirname(os.fspath(dst)) == str(tmp_path):
            events.append(("replace", os.path.basename(dst)))
        real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    manifest = ref.write_reference(tmp_path)
    monkeypatch.undo()
    names = list(manifest["files"]) + ["manifest.json"]
    assert len(names) == 11
    first_publish = next(i for i, e in enumerate(events) if e[0] == "replace")
    assert sorted(n for kind, n in events[:first_publish] if kind == "fsync") == sorted(names)
    published = [n for kind, n in events if kind == "replace"]
    assert sorted(published) == sorted(names) and published[-1] == "manifest.json"
    assert events[-1] == ("fsync_dir", str(tmp_path))
    assert all(v is True for v in ref.verify_reference(tmp_path).values())
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]
