"""Analytic ground-truth scenes for the registration tests (positions in nm).

Imported by tests/registration/test_*.py as ``_reg_scenes`` (a unique name, not
conftest). Every map is an exact function of position: blurred half-planes
(erf) and blurred rectangles (products of erf differences), sampled at pixel
centres, so the truth (interface position, shift, rotation) is known exactly.
Two "modalities" give each region its own, unrelated level: a potential map
(step down in the electrode) and a Li map (step up), so their contrasts are
inverted and not a function of each other.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy.special import erf, erfc

S2 = math.sqrt(2.0)

#: the interface of the register tests: through PIVOT, normal TILT_DEG from +x toward +y
PIVOT = (200.0, 300.0)
TILT_DEG = 4.0
NORMAL = (math.sin(math.radians(TILT_DEG)), math.cos(math.radians(TILT_DEG)))  # (ny, nx)
TANGENT = (NORMAL[1], -NORMAL[0])

#: (y0, y1, x0, x1, potential level [V], Li level) - all at least 60 nm from the interface
RECTS = [
    (40, 90, 60, 130, 0.8, 0.3),
    (120, 150, 400, 470, -0.6, 0.9),
    (300, 360, 120, 170, 0.5, -0.7),
    (230, 290, 500, 540, 0.9, 0.6),
    (180, 230, 40, 80, 0.6, -0.5),
    (10, 50, 520, 580, -0.7, 0.8),
    (220, 260, 680, 740, 0.6, 0.5),
    (100, 140, 740, 790, -0.6, 0.7),
    (260, 300, -70, -20, 0.5, -0.6),
    (340, 380, 420, 470, -0.5, 0.4),
    (20, 60, 170, 210, 0.7, 0.6),
]


def dataarray(fn, step, shape, origin=(0.0, 0.0), *, noise=0.0, rng=0, dtype=np.float64, units="nm"):
    """Sample fn(y, x) [nm] at pixel centres origin + step * index; add Gaussian noise."""
    y = origin[0] + step * np.arange(shape[0])
    x = origin[1] + step * np.arange(shape[1])
    v = fn(y[:, None], x[None, :]) + np.zeros(shape)
    if noise:
        v = v + noise * np.random.default_rng(rng).standard_normal(shape)
    return xr.DataArray(
        v.astype(dtype),
        dims=("y", "x"),
        coords={"y": ("y", y, {"units": units, "long_name": "y"}), "x": ("x", x, {"units": units, "long_name": "x"})},
    )


def line_distance(y, x, pivot=PIVOT, tilt_deg=TILT_DEG):
    """Signed distance to the line through `pivot` with normal (cos a, sin a) in (x, y)."""
    a = math.radians(tilt_deg)
    return (x - pivot[1]) * math.cos(a) + (y - pivot[0]) * math.sin(a)


def circle_distance(y, x, pivot, tilt_deg, kappa):
    """Signed distance to the circle of curvature kappa tangent to that line at the pivot.

    The centre is at pivot + n / kappa (on the +n side for kappa > 0); the
    distance is positive on the +n side: |R| - |r - c| for kappa > 0 and
    |r - c| - |R| for kappa < 0, straight from the geometry.
    """
    if kappa == 0:
        return line_distance(y, x, pivot, tilt_deg)
    a = math.radians(tilt_deg)
    r = 1.0 / kappa
    cy, cx = pivot[0] + r * math.sin(a), pivot[1] + r * math.cos(a)
    rho = np.hypot(np.asarray(y) - cy, np.asarray(x) - cx)
    return abs(r) - rho if kappa > 0 else rho - abs(r)


def electrode(y, x, sigma):
    """Blurred indicator of the electrode (the -n side of the interface)."""
    return 0.5 * erfc(line_distance(y, x) / (S2 * sigma))


def rect(y, x, y0, y1, x0, x1, sigma):
    """Blurred indicator of a rectangle."""
    return (
        0.25
        * (erf((y - y0) / (S2 * sigma)) - erf((y - y1) / (S2 * sigma)))
        * (erf((x - x0) / (S2 * sigma)) - erf((x - x1) / (S2 * sigma)))
    )


def potential(features, sigma):
    """Potential-like map [V]: 12.5 in the electrolyte, 11.5 in the electrode, rectangles."""

    def fn(y, x):
        v = 12.5 - electrode(y, x, sigma)
        if features:
            for r in RECTS:
                v = v + r[4] * rect(y, x, *r[:4], sigma)
        return v

    return fn


def li(features, sigma):
    """Li-like map: 1.3 in the electrolyte, 2.3 in the electrode (inverted), other rectangle levels."""

    def fn(y, x):
        v = 1.3 + electrode(y, x, sigma)
        if features:
            for r in RECTS:
                v = v + r[5] * rect(y, x, *r[:4], sigma)
        return v

    return fn


def shifted(fn, shift):
    """The moving frame: content at p of the moving map sits at p + shift in the fixed one."""
    return lambda y, x: fn(y + shift[0], x + shift[1])


def rotated(fn, center, theta_deg, shift):
    """Moving frame with r = c + R(theta) (p - c) + shift, R turning +x toward +y."""
    th = math.radians(theta_deg)
    c, s = math.cos(th), math.sin(th)

    def g(y, x):
        py, px = y - center[0], x - center[1]
        return fn(center[0] + c * py + s * px + shift[0], center[1] - s * py + c * px + shift[1])

    return g
