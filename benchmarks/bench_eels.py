"""Benchmark: EELS integration and edge fitting on a 256x256x2048 float32 spectrum image.

Prints, in one process:

* ``holocorr.eels.integrate(cube, window=(55, 75), background=(44, 54))``:
  the median time of several runs, the median time of a plain vectorised
  numpy two-window power-law method on the same cube (least-squares line
  through ln(counts) vs ln(E) over the background window, analytic
  integral of the extrapolated power law, window sum) and their ratio, and
  the peak RSS above the resident input (VmHWM after resetting it by
  writing "5" to /proc/self/clear_refs);
* ``holocorr.eels.fit_edges(cube, window=(40, 80))`` on all 65536 spectra
  (no low loss): median time and peak RSS above the input.

Wall times on a shared machine vary with the load; the CPU seconds of the
process (all threads) are printed too. ``--profile`` adds the cProfile
listing of one fit_edges call (the functions with the most own time).

Run: ``.venv/bin/python benchmarks/bench_eels.py`` (``--fit-repeats 9`` for a
steadier fit_edges median on a busy machine).
Targets (issue 4): integrate ratio <= 2 (aim 1.5), peak memory <= 1.5x the
input; fit_edges <= 2 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import xarray as xr
from _memory import current_rss_mb, peak_rss_mb, reset_peak_rss


def make_cube(ny: int, nx: int, ne: int, seed: int = 0) -> xr.DataArray:
    """Power-law background + Ti M2,3-like hump + Li K-like step, Gaussian-approximated Poisson."""
    from holocorr.eels import edge_shape

    rng = np.random.default_rng(seed)
    e = 30.0 + 0.05 * np.arange(ne)
    mean = (
        4e3 * (e / 40.0) ** -3.2
        + 300 * edge_shape("Ti M2,3", e) / edge_shape("Ti M2,3", e).max()
        + 60 * edge_shape("Li K", e) / edge_shape("Li K", e).max()
    ).astype(np.float32)
    cube = np.empty((ny, nx, ne), dtype=np.float32)
    scale = (1.0 + 0.2 * np.sin(np.linspace(0, 3, nx))).astype(np.float32)
    sd = np.sqrt(mean)
    for i in range(ny):
        row = mean[None, :] * scale[:, None]
        cube[i] = row + np.sqrt(scale)[:, None] * sd[None, :] * rng.standard_normal((nx, ne), dtype=np.float32)
    np.maximum(cube, 0, out=cube)
    return xr.DataArray(
        cube,
        dims=("y", "x", "energy"),
        coords={
            "energy": ("energy", e, {"units": "eV", "long_name": "energy loss"}),
            "y": ("y", np.arange(ny) * 1.0, {"units": "nm", "long_name": "y"}),
            "x": ("x", np.arange(nx) * 1.0, {"units": "nm", "long_name": "x"}),
        },
        attrs={"units": "counts", "long_name": "counts"},
    )


def numpy_two_window(cube: np.ndarray, e: np.ndarray, window, background) -> np.ndarray:
    """The plain numpy way: log-log least squares over the background window."""
    b = (e >= background[0]) & (e <= background[1])
    s = (e >= window[0]) & (e <= window[1])
    b0, b1 = np.flatnonzero(b)[[0, -1]]
    s0, s1 = np.flatnonzero(s)[[0, -1]]
    step = float(e[1] - e[0])
    lx = np.log(e[b0 : b1 + 1]).astype(np.float32)
    ly = np.log(np.maximum(cube[..., b0 : b1 + 1], 1e-3))
    dx = lx - lx.mean()
    slope = (ly @ dx) / float(dx @ dx)
    icpt = ly.mean(axis=-1) - slope * lx.mean()
    r = -slope
    lo, hi = e[s0] - step / 2, e[s1] + step / 2
    a = np.exp(icpt) / step
    bg = a / (1 - r) * (hi ** (1 - r) - lo ** (1 - r))
    return cube[..., s0 : s1 + 1].sum(axis=-1) - bg


def median_time(f, k: int, cpu: list | None = None):
    """Median wall time of k runs (and, in `cpu`, the CPU seconds of each run)."""
    ts = []
    for _ in range(k):
        c0 = time.process_time()
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return float(np.median(ts)), ts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ny", type=int, default=256)
    ap.add_argument("--nx", type=int, default=256)
    ap.add_argument("--ne", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--fit-repeats", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="print a cProfile listing of one fit_edges call")
    args = ap.parse_args()
    from holocorr.eels import fit_edges, integrate

    da = make_cube(args.ny, args.nx, args.ne)
    cube = da.values
    e = da.energy.values
    in_mb = cube.nbytes / 2**20
    win, bgw = (55.0, 75.0), (44.0, 54.0)
    print(f"cube {cube.shape} float32 ({in_mb:.0f} MB), energy {e[0]:.2f}-{e[-1]:.2f} eV")

    # warm up both
    integrate(da, window=win, background=bgw)
    numpy_two_window(cube, e, win, bgw)
    cpu_np: list = []
    cpu_hc: list = []
    t_np1, _ = median_time(lambda: numpy_two_window(cube, e, win, bgw), args.repeats, cpu_np)
    t_hc, ts = median_time(lambda: integrate(da, window=win, background=bgw), args.repeats, cpu_hc)
    t_np2, _ = median_time(lambda: numpy_two_window(cube, e, win, bgw), args.repeats, cpu_np)
    t_np = min(t_np1, t_np2)
    print(f"numpy two-window power law:       {t_np * 1e3:8.1f} ms wall, {np.median(cpu_np) * 1e3:6.1f} ms CPU")
    print(
        f"holocorr.eels.integrate:          {t_hc * 1e3:8.1f} ms wall, "
        f"{np.median(cpu_hc) * 1e3:6.1f} ms CPU   ratio {t_hc / t_np:5.2f} "
        f"(CPU ratio {np.median(cpu_hc) / np.median(cpu_np):4.2f})"
    )
    print("  individual runs (ms): " + ", ".join(f"{t * 1e3:.0f}" for t in ts))
    ds = integrate(da, window=win, background=bgw)
    print(f"  output dtype {ds.signal.dtype}, median signal {float(ds.signal.median()):.4g} counts")

    base = current_rss_mb()
    reset_peak_rss()
    ds = integrate(da, window=win, background=bgw)
    extra = peak_rss_mb() - base
    del ds
    print(f"  peak RSS above the resident input:   {extra:8.1f} MB (peak / input = {(in_mb + extra) / in_mb:.2f})")
    base = current_rss_mb()
    reset_peak_rss()
    numpy_two_window(cube, e, win, bgw)
    print(f"  numpy two-window peak RSS above input: {peak_rss_mb() - base:6.1f} MB")

    # fit_edges over 40-80 eV on every pixel
    fit_edges(da, window=(40.0, 80.0))
    cpu_fit: list = []
    t_fit, ts = median_time(lambda: fit_edges(da, window=(40.0, 80.0)), args.fit_repeats, cpu_fit)
    base = current_rss_mb()
    reset_peak_rss()
    fe = fit_edges(da, window=(40.0, 80.0))
    extra_fit = peak_rss_mb() - base
    comps = ", ".join(str(c) for c in fe.component.values)
    print(
        f"holocorr.eels.fit_edges 40-80 eV: {t_fit * 1e3:8.1f} ms wall, "
        f"{np.median(cpu_fit) * 1e3:6.0f} ms CPU ({args.ny * args.nx} spectra; {comps})"
    )
    print("  individual runs (ms): " + ", ".join(f"{t * 1e3:.0f}" for t in ts))
    print(f"  peak RSS above the resident input:   {extra_fit:8.1f} MB")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        fit_edges(da, window=(40.0, 80.0))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
