"""The same series processing on a 2-process dask.distributed LocalCluster (127.0.0.1 only).

Measured on this machine: distributed vs threaded results identical (max |d phase| = 0);
a 400 MB series streamed through reconstruction with a 320 MB worker memory limit: worker
peak RSS 222-226 MB (153 MB after the imports, before the run).
"""

import socket
import time

import numpy as np
import pytest
import xarray as xr
from _series_synth import coords, ensure_series_command, texture_series

import holocorr
from holocorr.errors import ParameterError
from holocorr.series import align, average, connect, correct_phase_drift, open_series, reconstruct, to_zarr
from holocorr.series.distributed import peak_memory_mb, reset_peak_memory

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

pytestmark = pytest.mark.slow

MEMORY_LIMIT = 320 * 2**20  # bytes per worker


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each, on the loopback interface only."""
    # Stream, never spill or pause: a worker above the limit would be killed (and the test fail).
    with dask.config.set(
        {
            "distributed.worker.memory.target": False,
            "distributed.worker.memory.spill": False,
            "distributed.worker.memory.pause": False,
            "distributed.comm.timeouts.connect": "10s",
        }
    ):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            memory_limit=MEMORY_LIMIT,
            dashboard_address="127.0.0.1:0",
            silence_logs=40,
        )
    try:
        c = distributed.Client(cluster, timeout=30, set_as_default=False)
        try:
            c.wait_for_workers(2, timeout=60)
            yield c
        finally:
            c.close(timeout=10)
    finally:
        cluster.close(timeout=10)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("series")
    holo, ref, truth = texture_series(12, shape=(128, 128), dose=300.0, seed=7, max_drift=8.0)
    for k in range(12):
        holocorr.save(holo.isel(frame=k).assign_attrs(bias_v=0.05 * k), d / f"holo_{k:02d}.nc")
    holocorr.save(ref, d / "ref.nc")
    return d


def _pipeline(folder, out):
    series = open_series(str(folder / "holo_*.nc"), chunks=3)
    waves = reconstruct(series, holocorr.load(folder / "ref.nc"), output_shape=(128, 128))
    rep = to_zarr(waves, out)
    stored = holocorr.io.load_dataset(out, lazy=True)
    fixed = correct_phase_drift(align(stored))
    return rep, holocorr.io.load_dataset(out), average(fixed)


def test_distributed_equals_threaded(client, files, tmp_path):
    with dask.config.set(scheduler="threads"):
        rep_t, waves_t, avg_t = _pipeline(files, tmp_path / "threads.zarr")
    with client.as_current(), dask.config.set(scheduler=client):
        rep_d, waves_d, avg_d = _pipeline(files, tmp_path / "dist.zarr")
        assert sum(client.run(lambda: 1).values()) == 2  # both workers alive after the run
    assert rep_t.written == rep_d.written == 4
    dphi = np.angle(waves_d.wave.values * np.conj(waves_t.wave.values))
    assert np.nanmax(np.abs(dphi)) <= 1e-6  # rad
    np.testing.assert_allclose(avg_d.drift.values, avg_t.drift.values, atol=1e-9)
    np.testing.assert_allclose(avg_d.phase_offset.values, avg_t.phase_offset.values, atol=1e-6)
    assert np.nanmax(np.abs(avg_d.phase.values - avg_t.phase.values)) <= 1e-6
    assert int(avg_d.n_frames) == 12


def test_stream_larger_than_worker_memory(client, tmp_path):
    """100 frames of 1024^2 float32 (400 MB) through reconstruction, workers limited to 320 MB."""
    n, size, per_chunk = 100, 1024, 4
    c = coords(size, size)
    yy, xx = np.mgrid[0:size, 0:size]
    phi = xr.DataArray(np.exp(-((yy - 512.0) ** 2 + (xx - 500.0) ** 2) / 2e4), dims=("y", "x"), coords=c)
    from holocorr.simulate import hologram

    kw = dict(spacing_px=4.3, angle_deg=35.0, contrast=0.3)
    base = hologram(phi, **kw).values
    ref = hologram(0 * phi, **kw)
    frames = dask.array.map_blocks(
        lambda b: np.broadcast_to(base, b.shape).copy(),
        dask.array.zeros((n, size, size), np.float32, chunks=(per_chunk, size, size)),
        dtype=np.float32,
    )
    series = xr.DataArray(frames, dims=("frame", "y", "x"), coords=c, attrs={"units": "counts"})
    with dask.config.set(scheduler="threads"):
        holocorr.save(series, tmp_path / "big.zarr")  # written chunk by chunk
    assert n * size * size * 4 > MEMORY_LIMIT
    with client.as_current(), dask.config.set(scheduler=client):
        start = client.run(reset_peak_memory)
        s = open_series(tmp_path / "big.zarr", chunks=per_chunk)
        waves = reconstruct(s, ref)  # natural output grid: 180 x 180
        rep = to_zarr(waves, tmp_path / "waves.zarr")
        peaks = client.run(peak_memory_mb)
        assert len(peaks) == 2  # no worker died
    assert rep.written == n // per_chunk
    limit_mb = MEMORY_LIMIT / 2**20
    for addr, peak in peaks.items():
        assert peak < limit_mb, f"worker {addr}: peak {peak:.0f} MB (started at {start[addr]:.0f} MB)"
    back = holocorr.io.load_dataset(tmp_path / "waves.zarr", lazy=True)
    # every frame holds the same 1 rad bump: check two frames far apart against the truth
    m = back.sizes["x"]
    cy, cx, edge = round(512 * m / size), round(500 * m / size), round(20 * m / size)
    for k in (0, n - 1):
        p = np.angle(back.wave.isel(frame=k).values)
        assert p[cy, cx] - p[cy, edge] == pytest.approx(1.0, abs=0.03)


def test_unreachable_scheduler_fails_fast():
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ParameterError, match=rf"could not connect to the dask scheduler at '{address}' within 1 s"):
        connect(address, timeout=1.0)
    assert time.perf_counter() - t0 < 10
    with pytest.raises(ParameterError, match="address"):
        connect("")


def test_cli_on_the_cluster(client, files, tmp_path, capsys, monkeypatch):
    from holocorr.cli import main

    ensure_series_command(monkeypatch)
    out = tmp_path / "w.zarr"
    args = [
        "series",
        "reconstruct",
        str(files / "holo_*.nc"),
        "-r",
        str(files / "ref.nc"),
        "-o",
        str(out),
        "--chunks",
        "4",
        "--output-shape",
        "128",
        "128",
        "--scheduler",
        client.scheduler.address,
        "-q",
    ]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == str(out.absolute())
    with dask.config.set(scheduler="threads"):
        ref = reconstruct(
            open_series(str(files / "holo_*.nc"), chunks=4), holocorr.load(files / "ref.nc"), output_shape=(128, 128)
        ).wave.values
    got = holocorr.io.load_dataset(out).wave.values
    assert np.nanmax(np.abs(np.angle(got * np.conj(ref)))) <= 1e-6
