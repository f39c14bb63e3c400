"""holocorr.series.to_zarr: incremental writes, resume after interruption, refusals."""

import json
import os

import dask
import numpy as np
import pytest
import xarray as xr
import zarr
from _series_synth import coords

import holocorr
import holocorr.series._kernels as K
from holocorr.errors import FileFormatError, HolocorrWarning, ParameterError
from holocorr.series import open_series, reconstruct, to_zarr
from holocorr.simulate import hologram

KW = dict(spacing_px=4.3, angle_deg=35.0, contrast=0.3)


@pytest.fixture
def series_files(tmp_path):
    n = 64
    c = coords(n, n)
    yy, xx = np.mgrid[0:n, 0:n]
    for k in range(8):
        phi = 0.1 * k * np.exp(-((yy - 32.0) ** 2 + (xx - 30.0) ** 2) / 150.0)
        holocorr.save(
            hologram(xr.DataArray(phi, dims=("y", "x"), coords=c), dose=200.0, rng=k, **KW).assign_attrs(
                bias_v=0.1 * k
            ),
            tmp_path / f"h{k}.nc",
        )
    ref = hologram(xr.DataArray(np.zeros((n, n)), dims=("y", "x"), coords=c), **KW) * np.float32(200.0)
    holocorr.save(ref, tmp_path / "ref.nc")
    return tmp_path


def _waves(folder):
    series = open_series(str(folder / "h*.nc"), chunks=2)  # 8 frames, 4 chunks
    return reconstruct(series, holocorr.load(folder / "ref.nc"), output_shape=(64, 64))


def _hidden(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


def _tree(path):
    """Every file of a store: relative path -> bytes."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _ones(value, n=6, chunk=2):
    """A cheap synthetic series result: `value` everywhere, frame chunks of `chunk`."""
    wave = np.full((n, 4, 5), value, np.complex64)
    return xr.Dataset({"wave": (("frame", "y", "x"), wave)}, attrs={"holocorr": f"value {value}"}).chunk(
        {"frame": chunk}
    )


def test_result_round_trips(series_files):
    waves = _waves(series_files)
    rep = to_zarr(waves, series_files / "w.zarr")
    assert (rep.n_chunks, rep.written, rep.skipped) == (4, 4, 0)
    back = holocorr.io.load_dataset(series_files / "w.zarr")
    direct = waves.compute()
    np.testing.assert_array_equal(back.wave.values, direct.wave.values)
    assert back.wave.dtype == np.complex64
    np.testing.assert_array_equal(back.frame_ok.values, direct.frame_ok.values)
    np.testing.assert_allclose(back.bias_v.values, 0.1 * np.arange(8))
    assert back.source_file.values[3].endswith("h3.nc")
    assert back.attrs["holocorr_complete"] is True
    assert back.phase.attrs["units"] == "rad" and back.x.attrs["units"] == "nm"
    # the store can be processed lazily
    lazy = holocorr.io.load_dataset(series_files / "w.zarr", lazy=True)
    assert lazy.wave.chunks is not None


def test_interrupted_run_resumes_without_redoing_chunks(series_files, monkeypatch):
    calls = []
    real = K.reconstruct_block

    def counting(frames, *args, **kw):
        calls.append(frames.shape[0])
        return real(frames, *args, **kw)

    monkeypatch.setattr(K, "reconstruct_block", counting)
    out = series_files / "w.zarr"

    def stop_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C

    with holocorr.set_options(progress=False):
        with pytest.raises(KeyboardInterrupt):
            to_zarr(_waves(series_files), out, on_chunk=stop_after_two)
        first = len(calls)
        assert first >= 2
        partial = holocorr.io.load_dataset(out)
        assert partial.attrs["holocorr_complete"] is False
        assert len(json.loads(partial.attrs["holocorr_progress"])["done"]) == 2
        calls.clear()
        rep = to_zarr(_waves(series_files), out)  # a rerun, as from a fresh command
    assert (rep.written, rep.skipped) == (2, 2)
    assert len(calls) == 2 and sum(calls) == 4  # only the two missing chunks (4 frames) computed
    full = holocorr.io.load_dataset(out)
    assert full.attrs["holocorr_complete"] is True
    np.testing.assert_array_equal(full.wave.values, _waves(series_files).wave.values)
    # a complete store: nothing to do
    again = to_zarr(_waves(series_files), out)
    assert (again.written, again.skipped) == (0, 4)


def test_refusals(series_files):
    waves = _waves(series_files)
    out = series_files / "w.zarr"
    to_zarr(waves, out)
    other = reconstruct(
        open_series(str(series_files / "h*.nc"), chunks=2),
        holocorr.load(series_files / "ref.nc"),
        output_shape=(32, 32),
    )
    with pytest.raises(FileFormatError, match="different computation.*overwrite=True"):
        to_zarr(other, out)
    rep = to_zarr(other, out, overwrite=True)
    assert rep.written == 4 and holocorr.io.load_dataset(out).wave.shape == (8, 32, 32)
    assert _hidden(series_files) == []  # the replacement was built aside and swapped in
    with pytest.raises(FileFormatError, match="must end in .zarr"):
        to_zarr(waves, series_files / "w.nc")
    with pytest.raises(FileFormatError, match="does not exist"):
        to_zarr(waves, series_files / "missing" / "w.zarr")
    # never over an input: a series stored as .zarr, processed into itself
    stack = series_files / "stack.zarr"
    holocorr.save(open_series(str(series_files / "h*.nc")).compute().drop_vars("source_file"), stack)
    rec = reconstruct(open_series(stack, chunks=4), holocorr.load(series_files / "ref.nc"))
    with pytest.raises(FileFormatError, match="input of this computation"):
        to_zarr(rec, stack, overwrite=True)
    with pytest.raises(ParameterError, match="no 'frame' dimension"):
        to_zarr(xr.Dataset({"a": ("x", np.zeros(3))}), series_files / "a.zarr")


# ----------------------------------------------------------------------------- overwrite: old store kept until swap


def test_failed_replacement_leaves_old_store_identical_then_resumes(series_files, monkeypatch):
    out = series_files / "w.zarr"
    first = _waves(series_files)
    to_zarr(first, out)
    old_files, old_inode = _tree(out), out.stat().st_ino
    assert len(old_files) > 10  # metadata and chunk files of several arrays
    truth_64 = first.compute()

    real = K.reconstruct_block
    calls = []

    def crash_on_third_chunk(frames, *args, **kw):
        calls.append(frames.shape[0])
        if len(calls) == 3:
            raise RuntimeError("simulated crash in frame reconstruction")
        return real(frames, *args, **kw)

    sequential = dask.config.set(scheduler="synchronous", num_workers=1)  # one chunk at a time
    with sequential, holocorr.set_options(progress=False):
        with monkeypatch.context() as m:
            m.setattr(K, "reconstruct_block", crash_on_third_chunk)
            other = reconstruct(
                open_series(str(series_files / "h*.nc"), chunks=2),
                holocorr.load(series_files / "ref.nc"),
                output_shape=(32, 32),
            )
            with pytest.raises(RuntimeError, match="simulated crash"):
                to_zarr(other, out, overwrite=True)
        assert calls == [2, 2, 2]
        # the old store: not a byte changed, not even replaced by a copy
        assert _tree(out) == old_files and out.stat().st_ino == old_inode
        back = holocorr.io.load_dataset(out)
        assert back.attrs["holocorr_complete"] is True and back.wave.shape == (8, 64, 64)
        np.testing.assert_array_equal(back.wave.values, truth_64.wave.values)
        # the two finished chunks of the new computation are kept aside, hidden
        (tmp,) = _hidden(series_files)
        assert tmp.startswith(".w.zarr.tmp-")
        progress = zarr.open_group(str(series_files / tmp), mode="r").attrs["holocorr_progress"]
        assert json.loads(progress)["done"] == [0, 1]

        calls.clear()
        monkeypatch.setattr(K, "reconstruct_block", lambda frames, *a, **kw: calls.append(1) or real(frames, *a, **kw))
        again = reconstruct(
            open_series(str(series_files / "h*.nc"), chunks=2),
            holocorr.load(series_files / "ref.nc"),
            output_shape=(32, 32),
        )
        rep = to_zarr(again, out, overwrite=True)  # the same command again resumes the replacement
    assert (rep.written, rep.skipped) == (2, 2) and len(calls) == 2
    new = holocorr.io.load_dataset(out)
    assert new.attrs["holocorr_complete"] is True and new.wave.shape == (8, 32, 32)
    np.testing.assert_array_equal(new.wave.values, again.wave.values)
    assert _hidden(series_files) == []


def test_failed_replacement_without_resume_leaves_nothing_behind(tmp_path):
    out = tmp_path / "s.zarr"
    to_zarr(_ones(1.0), out)
    old_files = _tree(out)

    def stop(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with dask.config.set(scheduler="synchronous", num_workers=1), holocorr.set_options(progress=False):
        with pytest.raises(KeyboardInterrupt):
            to_zarr(_ones(2.0), out, overwrite=True, resume=False, on_chunk=stop)
    assert _tree(out) == old_files
    assert _hidden(tmp_path) == []  # resume=False: the unfinished replacement is deleted
    np.testing.assert_array_equal(holocorr.io.load_dataset(out).wave.values, np.full((6, 4, 5), 1.0, np.complex64))
    rep = to_zarr(_ones(2.0), out, overwrite=True, resume=False)
    assert (rep.written, rep.skipped) == (3, 0)
    np.testing.assert_array_equal(holocorr.io.load_dataset(out).wave.values, np.full((6, 4, 5), 2.0, np.complex64))
    assert _hidden(tmp_path) == []


def test_failed_swap_restores_old_store(tmp_path, monkeypatch):
    out = tmp_path / "s.zarr"
    to_zarr(_ones(1.0), out)
    old_files = _tree(out)
    real_rename = os.rename

    def rename(src, dst):
        if str(dst) == str(out) and ".tmp-" in str(src):  # the second rename (new store in) fails
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with holocorr.set_options(progress=False):
        with pytest.raises(FileFormatError, match=r"previous store is untouched; the complete new one is"):
            to_zarr(_ones(2.0), out, overwrite=True)
    monkeypatch.undo()
    assert _tree(out) == old_files
    (tmp,) = _hidden(tmp_path)  # the complete new store, ready to be swapped in by a rerun
    with holocorr.set_options(progress=False):
        rep = to_zarr(_ones(2.0), out, overwrite=True)
    assert (rep.written, rep.skipped) == (0, 3)  # nothing computed again
    np.testing.assert_array_equal(holocorr.io.load_dataset(out).wave.values, np.full((6, 4, 5), 2.0, np.complex64))
    assert _hidden(tmp_path) == []


def test_swap_interrupted_between_renames_is_recovered(tmp_path):
    """The state a SIGKILL between the two renames leaves (see tests/hardening/test_crash_safety.py)."""
    out = tmp_path / "s.zarr"
    to_zarr(_ones(1.0), out)
    old_files = _tree(out)
    os.rename(out, tmp_path / ".s.zarr.old-0123456789ab")  # old store aside, new not yet in place
    with holocorr.set_options(progress=False), pytest.warns(HolocorrWarning, match="put back"):
        rep = to_zarr(_ones(1.0), out)  # the same computation: the old store is back and complete
    assert (rep.written, rep.skipped) == (0, 3)
    assert _tree(out) == old_files and _hidden(tmp_path) == []
