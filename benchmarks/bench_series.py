"""Benchmark: stream a 256-frame 1024x1024 float32 hologram series through reconstruction.

The series (1 GiB) is written once to a Zarr store in a temporary folder; it is
then opened with ``holocorr.open_series`` and reconstructed with a cached
reference (``holocorr.series.prepare_reference``) into a Zarr store with
``holocorr.series.to_zarr``, on a ``dask.distributed.LocalCluster`` with 1 and
with 2 worker processes (one thread each), and on the threaded scheduler.

Printed: frames/s of each run, the floor (one single-threaded ``rfft2`` per
frame, measured in this process, times the number of workers), the ratio to
that floor, the 1-vs-2-worker scaling, and the peak resident memory of each
worker. Target (issue 7): >= 50 frames/s on a 2-core machine with bounded
memory.

Run: ``.venv/bin/python benchmarks/bench_series.py`` (options: --frames, --size, --chunks).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import numpy as np


def make_store(path: str, n: int, size: int, chunks: int) -> None:
    """Write n holograms (8 distinct noisy frames, cycled) to a Zarr store, chunk by chunk."""
    import dask
    import dask.array as dsa
    import xarray as xr

    import holocorr
    from holocorr.simulate import hologram

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    nm = {"units": "nm", "long_name": "d"}
    c = {"y": ("y", 0.25 * np.arange(size), nm), "x": ("x", 0.25 * np.arange(size), nm)}
    phi = xr.DataArray(
        1.5 * np.exp(-((yy - size / 2) ** 2 + (xx - size / 2) ** 2) / (2 * (size / 8) ** 2)), dims=("y", "x"), coords=c
    )
    kw = dict(spacing_px=4.3, angle_deg=35.0, contrast=0.3)
    distinct = np.stack([hologram(phi + 0.3 * k, dose=100.0, rng=rng, **kw).values for k in range(8)])

    def block(b, block_info=None):
        start = block_info[0]["array-location"][0][0]
        return distinct[(start + np.arange(b.shape[0])) % 8]

    data = dsa.map_blocks(block, dsa.zeros((n, size, size), np.float32, chunks=(chunks, size, size)), dtype=np.float32)
    series = xr.DataArray(data, dims=("frame", "y", "x"), coords=c, attrs={"units": "counts"}, name="hologram")
    # uncompressed, like raw camera frames (DM4/EMD); one Zarr chunk per task
    with dask.config.set(scheduler="threads"):
        series.to_dataset().to_zarr(path, mode="w-", consolidated=False, encoding={"hologram": {"compressors": ()}})
    ref = hologram(0 * phi, dose=1e4, rng=rng, **kw)
    holocorr.save(ref, path.replace(".zarr", "_ref.nc"))


def rfft_floor(size: int, repeats: int = 20) -> float:
    """Seconds per single-threaded rfft2 of one float32 frame (median)."""
    import scipy.fft as sfft

    a = np.random.default_rng(1).random((size, size), dtype=np.float32)
    sfft.rfft2(a, workers=1)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sfft.rfft2(a, workers=1)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def run(store: str, ref, out: str, chunks: int) -> float:
    """Reconstruct the whole store into `out`; return the wall time [s]."""
    import holocorr
    from holocorr.series import open_series, reconstruct, to_zarr

    t0 = time.perf_counter()
    with holocorr.set_options(progress=False):
        series = open_series(store, chunks=chunks)
        rep = to_zarr(reconstruct(series, ref), out, overwrite=True, resume=False)
    t = time.perf_counter() - t0
    assert rep.written == rep.n_chunks
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--chunks", type=int, default=8, help="frames per task")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import dask
    import distributed

    import holocorr
    from holocorr.series import prepare_reference
    from holocorr.series.distributed import peak_memory_mb, reset_peak_memory

    tmp = tempfile.mkdtemp(prefix="bench-series-")
    store = os.path.join(tmp, "series.zarr")
    t0 = time.perf_counter()
    make_store(store, args.frames, args.size, args.chunks)
    gib = args.frames * args.size**2 * 4 / 2**30
    print(
        f"series: {args.frames} frames of {args.size}x{args.size} float32 ({gib:.2f} GiB) "
        f"written in {time.perf_counter() - t0:.1f} s; {args.chunks} frames per task"
    )
    ref = prepare_reference(holocorr.load(store.replace(".zarr", "_ref.nc")))  # the cached reference
    print(f"reference: output grid {ref.output_shape}, carrier spacing {ref.sideband.spacing_px:.3f} px")
    fft_s = rfft_floor(args.size)
    print(f"floor: one single-threaded rfft2 per frame = {fft_s * 1e3:.2f} ms -> {1 / fft_s:.0f} frames/s per core")

    rates = {}
    for workers in (1, 2):
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            memory_limit="1GiB",
            silence_logs=40,
        )
        client = distributed.Client(cluster)
        try:
            with dask.config.set(scheduler=client):
                run(store, ref, os.path.join(tmp, "warm.zarr"), args.chunks)  # imports, caches
                client.run(reset_peak_memory)
                t = run(store, ref, os.path.join(tmp, f"out{workers}.zarr"), args.chunks)
                peaks = client.run(peak_memory_mb)
        finally:
            client.close()
            cluster.close()
        rates[workers] = args.frames / t
        floor = workers / fft_s
        print(
            f"LocalCluster {workers} worker(s): {t:6.2f} s  {rates[workers]:6.1f} frames/s  "
            f"({rates[workers] / floor:.2f} of the rfft2 floor {floor:.0f} frames/s); "
            f"peak worker RSS {', '.join(f'{p:.0f}' for p in peaks.values())} MB"
        )
    print(f"scaling 1 -> 2 workers: {rates[2] / rates[1]:.2f}x")
    with dask.config.set(scheduler="threads", num_workers=2):
        t = run(store, ref, os.path.join(tmp, "threads.zarr"), args.chunks)
    print(f"threaded scheduler (2 threads, one process): {args.frames / t:6.1f} frames/s")
    print(f"target >= 50 frames/s on 2 workers: {'met' if rates[2] >= 50 else 'NOT met'}")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
