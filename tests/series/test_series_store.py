"""holocorr.series.to_zarr: incremental writes, resume after interruption, refusals."""

import json

import numpy as np
import pytest
import xarray as xr
from _series_synth import coords

import holocorr
import holocorr.series._kernels as K
from holocorr.errors import FileFormatError, ParameterError
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
