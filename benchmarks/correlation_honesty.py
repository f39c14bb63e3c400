"""Honesty of holocorr.correlation, measured by Monte Carlo (issue #5, section 5).

Prints, with Wilson 95 % intervals:

* the false-positive rate of compare() for independent AR(1) profiles
  (rho = 0.95, N = 120) and for Gaussian-smoothed noise, next to naive Pearson;
* the coverage of r_ci for a population correlation of 0.6;
* the Deming slope against OLS when both profiles are noisy;
* the lag error for a 12 nm offset between profiles on 2 and 8 nm grids;
* the verdicts of potential_vs_mip on data simulated under each hypothesis.

Run: python benchmarks/correlation_honesty.py [n_trials]   (about a minute at 300)
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import xarray as xr
from scipy import ndimage, stats
from scipy.special import erf

from holocorr.correlation import compare, potential_vs_mip


def wilson(k, n, z=1.96):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return f"{p:.3f} [{c - h:.3f}, {c + h:.3f}]"


def prof(y, x, units="1"):
    return xr.DataArray(
        y, dims="distance", coords={"distance": ("distance", x, {"units": "nm"})}, attrs={"units": units}
    )


def ar1(n, rho, rng):
    x = np.empty(n)
    x[0] = rng.standard_normal()
    s = math.sqrt(1 - rho * rho)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + s * rng.standard_normal()
    return x


def step(x, x0, s):
    return 0.5 * (1 + erf((x - x0) / (math.sqrt(2) * s)))


def layer(x, thickness=400.0):
    return step(x, 0.0, 5.0) * (1 - step(x, thickness, 20.0))


def main(n):
    rng = np.random.default_rng(2024)
    fast = {"n_boot": 0, "front_model": None}
    t0 = time.perf_counter()

    for name, gen in [
        ("AR(1) rho=0.95, N=120", lambda: ar1(120, 0.95, rng)),
        ("smoothed noise s=5 px, N=150", lambda: ndimage.gaussian_filter1d(rng.standard_normal(190), 5.0)[20:170]),
    ]:
        x = np.arange(120 if "AR" in name else 150) * 2.0
        rej = naive = 0
        for _ in range(n):
            a, b = gen(), gen()
            rej += compare(prof(a, x), prof(b, x), **fast).p_value < 0.05
            naive += stats.pearsonr(a, b).pvalue < 0.05
        print(f"false-positive rate, {name}: {wilson(rej, n)}   naive Pearson {wilson(naive, n)}")

    for rho in (0.9, 0.95):
        x = np.arange(120) * 2.0
        cover = 0
        for _ in range(n):
            u, v = ar1(120, rho, rng), ar1(120, rho, rng)
            c = compare(prof(u, x), prof(0.6 * u + 0.8 * v, x), **fast)
            cover += c.r_ci[0] <= 0.6 <= c.r_ci[1]
        print(f"coverage of r_ci (r = 0.6, AR(1) rho={rho}, N=120): {wilson(cover, n)}")

    x = np.arange(0.0, 400.0, 2.0)
    dem, ols = [], []
    for _ in range(max(n // 5, 20)):
        s = step(x, 200.0, 30.0) + 0.25 * ar1(x.size, 0.9, rng)
        c = compare(
            prof(s + 0.2 * rng.standard_normal(x.size), x), prof(2.5 * s + 0.3 * rng.standard_normal(x.size), x), **fast
        )
        dem.append(c.slope)
        ols.append(c.slope_ols)
    print(
        f"slope (truth 2.5): Deming median {np.median(dem):.3f} ({np.median(dem) / 2.5 - 1:+.1%}), "
        f"OLS median {np.median(ols):.3f} ({np.median(ols) / 2.5 - 1:+.1%})"
    )

    xa, xb = np.arange(0.0, 400.0, 2.0), np.arange(0.0, 400.0, 8.0)
    for noise in (0.02, 0.05):
        lags, cover = [], 0
        m = max(n // 5, 20)
        for i in range(m):
            a = prof(step(xa, 200.0, 5.0) + noise * rng.standard_normal(xa.size), xa)
            b = prof(step(xb, 212.0, 20.0) + noise * rng.standard_normal(xb.size), xb)
            c = compare(a, b, n_boot=300, n_boot_front=60, rng=i)
            lags.append(c.lag_nm)
            cover += c.lag_ci_nm[0] <= 12.0 <= c.lag_ci_nm[1]
        err = np.abs(np.array(lags) - 12.0)
        print(
            f"lag 12 nm (2/8 nm grids, blur 5/20 nm, noise {noise}): sd {np.std(lags):.2f} nm, "
            f"within 2 nm {wilson(int(np.sum(err < 2)), m)}, interval coverage {wilson(cover, m)}"
        )

    xf = np.arange(-300.0, 900.0, 0.25)
    xe, xl = np.arange(-150.0, 700.0, 2.0), np.arange(-150.0, 700.0, 8.0)

    def pair(k, dv, vsc=0.0):
        lay = layer(xf)
        pot = (k + dv) * lay + vsc * step(xf, 0.0, 5.0) * np.exp(-np.maximum(xf, 0) * math.log(10) / 10)
        v = np.interp(xe, xf, ndimage.gaussian_filter1d(pot, 12)) + 0.03 * rng.standard_normal(xe.size)
        c = np.interp(xl - 4, xf, ndimage.gaussian_filter1d(lay, 32)) + 0.08 * rng.standard_normal(xl.size)
        return prof(v, xe, "V"), prof(c, xl)

    for name, k, dv, vsc, want in [
        ("MIP k=+0.3", 0.3, 0.0, 0.0, "mip"),
        ("MIP k=-0.3", -0.3, 0.0, 0.0, "mip"),
        ("electrode -1 V + MIP 0.3", 0.3, -1.0, 0.0, "electrode"),
        ("electrode -1 V", 0.0, -1.0, 0.0, "electrode"),
        ("electrode -0.3 V + 1.3 V space charge", 0.0, -0.3, 1.3, "electrode"),
        ("no change", 0.0, 0.0, 0.0, "inconclusive"),
    ]:
        m = max(n // 5, 20)
        ok = sum(potential_vs_mip(*pair(k, dv, vsc)).verdict == want for _ in range(m))
        print(f"potential_vs_mip, {name}: '{want}' in {wilson(ok, m)}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
