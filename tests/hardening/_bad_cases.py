"""The bad-input table of holocorr's public API and command line (used by test_bad_inputs.py).

``TABLE`` holds one :class:`Case` per bad input: the public function (or
``"cli <command>"``), the kind of bad input (``KINDS``), a callable that
makes the call with exactly one bad argument while everything else is
valid, the HolocorrError subclass it must raise and a pattern its message
must match. Cases with ``error=OK`` are inputs that must work, and the
callable asserts the numbers itself (uint16 counts give the float64 result,
Å and keV are converted...). ``xfail`` names a defect in a file that this
table's authors could not edit, with the fix it needs.

The builders at the top are cached and return data the functions accept;
everything is tiny (64x64 holograms, 120-channel spectra, 3-frame series)
so that the whole table runs in well under a minute on one core.
``python tests/hardening/bad_input_table.py`` prints the coverage.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io as _io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import holocorr
from holocorr import simulate
from holocorr.errors import (
    CalibrationError,
    DataError,
    FileFormatError,
    HolocorrError,
    HolocorrWarning,
    ParameterError,
    ReconstructionError,
    ShapeError,
    UncalibratedWarning,
)

N = 64  # hologram size [px]
PX = 0.5  # hologram pixel size [nm]
KW = dict(spacing_px=4.2, angle_deg=40.0, contrast=0.3)


def coords(n=N, step=PX, units="nm", dims=("y", "x"), start=0.0):
    """(y, x) coords in `units` with long names."""
    if isinstance(n, int):
        n = (n,) * len(dims)
    return {
        d: xr.DataArray(start + np.arange(k) * step, dims=d, attrs={"units": units, "long_name": d})
        for d, k in zip(dims, n, strict=True)
    }


def image(values, step=PX, units="nm", **attrs):
    """A (y, x) DataArray with nm coords."""
    values = np.asarray(values)
    return xr.DataArray(values, dims=("y", "x"), coords=coords(values.shape, step, units), attrs=attrs)


@functools.cache
def phase_map():
    """A Gaussian phase bump [rad] (64x64, 0.5 nm px)."""
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float64)
    phi = 1.0 * np.exp(-((yy - 32.0) ** 2 + (xx - 34.0) ** 2) / 120.0)
    return image(phi, units="nm", beam_energy_kv=300.0).assign_attrs(units="rad", long_name="phase")


@functools.cache
def holo():
    """Noise-free float32 object hologram (64x64) with nm coords and a beam energy."""
    return simulate.hologram(phase_map(), **KW).assign_attrs(beam_energy_kv=300.0)


@functools.cache
def ref():
    """Matching vacuum reference hologram."""
    return simulate.hologram(0 * phase_map(), **KW).assign_attrs(beam_energy_kv=300.0)


def counts_holo(scale=60000.0, dtype=np.uint16):
    """The object hologram scaled to large integer counts (`dtype`) and its float64 twin."""
    h = holo()
    v = np.round(h.values.astype(np.float64) / float(h.max()) * scale)
    return h.copy(data=v.astype(dtype)), h.copy(data=v)


@functools.cache
def rec():
    """reconstruct(holo, ref): the charged-like state."""
    return holocorr.holography.reconstruct(holo(), ref(), output_shape=(48, 48))


@functools.cache
def rec_pristine():
    """Reconstruction of a flat object (pristine-like state) on the same grid."""
    flat = simulate.hologram(0.2 * phase_map(), **KW).assign_attrs(beam_energy_kv=300.0)
    return holocorr.holography.reconstruct(flat, ref(), output_shape=(48, 48))


@functools.cache
def specimen():
    return simulate.specimen(shape=(32, 64), pixel_size_nm=8.0)


@functools.cache
def sr():
    """A small SR-EELS simulation: core loss (x, energy) 30-90 eV and low loss -5-60 eV."""
    return simulate.sr_eels(specimen(), energy=(30.0, 90.0), dispersion_ev=0.5, low_loss_energy=(-5.0, 60.0), rng=0)


def core():
    """SR-EELS core-loss frame (x, energy) [counts], energy in eV."""
    return sr().core_loss


def low():
    """SR-EELS low-loss frame (x, energy) [counts]."""
    return sr().low_loss.rename(energy_low="energy")


@functools.cache
def eftem():
    """An EFTEM series (energy, y, x): a power-law background plus an edge at 56 eV."""
    e = np.array([46.0, 50.0, 54.0, 62.0])
    yy, xx = np.mgrid[0:16, 0:16]
    amount = (xx > 8).astype(np.float64)
    bg = 1e7 * e[:, None, None] ** -3.0 * np.ones((1, 16, 16))
    edge = np.where(e[:, None, None] > 56.0, 20.0 * amount[None], 0.0)
    data = bg + edge
    c = coords(16, 1.0)
    return xr.DataArray(
        data,
        dims=("energy", "y", "x"),
        coords={"energy": xr.DataArray(e, dims="energy", attrs={"units": "eV", "long_name": "energy loss"}), **c},
    )


def erf_map(n=48, step=1.0, pos=24.3, width=2.0, units="nm", noise=0.02, seed=0):
    """A (y, x) step map across x (an interface near x = pos*step) with nm coords."""
    from scipy.special import erf

    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    v = 0.5 * (1 + erf((xx - pos - 0.1 * (yy - n / 2)) / (np.sqrt(2) * width)))
    v = v + noise * np.random.default_rng(seed).standard_normal(v.shape)
    return image(v, step=step, units=units, long_name="map")


@functools.cache
def map_a():
    return erf_map()


@functools.cache
def map_b():
    return erf_map(pos=25.0, seed=1)


@functools.cache
def blob_map():
    """A map with a 2-D structure (registration constrained in both directions)."""
    yy, xx = np.mgrid[0:48, 0:48].astype(np.float64)
    v = np.exp(-((yy - 20) ** 2 + (xx - 26) ** 2) / 30.0) + 0.6 * np.exp(-((yy - 34) ** 2 + (xx - 12) ** 2) / 20.0)
    v = v + 0.01 * np.random.default_rng(3).standard_normal(v.shape)
    return image(v, step=1.0, long_name="map")


def erf_profile(n=80, step=1.0, pos=40.3, width=3.0, scale=1.0, noise=0.02, seed=0, units="nm", name="a"):
    """A 1-D erf front over ``distance`` [nm] with a profile_error coordinate."""
    from scipy.special import erf

    x = np.arange(n) * step
    v = scale * 0.5 * (1 + erf((x - pos) / (np.sqrt(2) * width)))
    v = v + noise * scale * np.random.default_rng(seed).standard_normal(n)
    return xr.DataArray(
        v,
        dims="distance",
        coords={
            "distance": xr.DataArray(x, dims="distance", attrs={"units": units, "long_name": "distance"}),
            "profile_error": ("distance", np.full(n, noise * scale), {"units": "V", "long_name": "error"}),
        },
        name=name,
        attrs={"units": "V", "long_name": name},
    )


@functools.cache
def prof_a():
    return erf_profile()


@functools.cache
def prof_b():
    return erf_profile(pos=41.0, seed=1, name="b").assign_attrs(units="1")


@functools.cache
def series():
    """A (frame, y, x) hologram series of three 64x64 frames (numpy-backed)."""
    frames = [simulate.hologram(phase_map() * (1 + 0.05 * k), **KW) for k in range(3)]
    s = xr.concat(frames, dim="frame").assign_coords(frame=np.arange(3))
    return s.assign_attrs(beam_energy_kv=300.0)


@functools.cache
def waves():
    """series.reconstruct(series, ref), computed."""
    return holocorr.series.reconstruct(series(), ref()).compute()


@functools.cache
def front():
    return holocorr.correlation.fit_front(prof_a(), n_boot=10, rng=0)


def with_coord(da, dim, values, units=None):
    """`da` with coord `dim` replaced by `values` (units kept unless given)."""
    attrs = dict(da[dim].attrs)
    if units is not None:
        attrs["units"] = units
    return da.assign_coords({dim: xr.DataArray(np.asarray(values), dims=dim, attrs=attrs)})


def without_units(da, dim):
    attrs = {k: v for k, v in da[dim].attrs.items() if k != "units"}
    return da.assign_coords({dim: xr.DataArray(da[dim].values, dims=dim, attrs=attrs)})


def descending(da, dim):
    """Reverse the coordinate values of `dim` only (data unchanged): a descending axis."""
    return with_coord(da, dim, da[dim].values[::-1])


def nonuniform(da, dim):
    c = da[dim].values.astype(np.float64).copy()
    n = c.size
    step = (c[-1] - c[0]) / (n - 1)
    c = c[0] + step * (np.arange(n) + 0.3 * (np.arange(n) / n) ** 2 * n)
    return with_coord(da, dim, c)


def poke(da, value, index=None):
    """Copy of `da` with one element set to `value` (NaN, inf...)."""
    v = np.array(da.values)
    if v.dtype.kind not in "fc":
        v = v.astype(np.float64)
    idx = index if index is not None else tuple(s // 2 for s in v.shape)
    v[idx] = value
    return da.copy(data=v)


# =============================================================================== the table

#: The kinds of bad input (a case's `kind` must be one of these).
KINDS = {
    "ndim": "wrong dimensionality",
    "empty": "empty array",
    "tiny": "too few pixels/samples",
    "nonfinite": "NaN or inf values",
    "dtype": "complex/str/object/bool where real numbers are needed",
    "uint16": "large integer counts (no overflow: equals the float64 result)",
    "mismatch": "mismatched shapes or grids",
    "coords": "missing coords or units",
    "units": "unit mismatch (Å vs nm, keV vs eV): converted or refused",
    "axis": "descending or non-uniform axis",
    "range": "parameter out of range",
    "number": "NaN/inf/bool/str where a number is needed",
    "choice": "unknown option value",
    "type": "wrong kind of object",
    "file-missing": "missing file",
    "file-truncated": "truncated file",
    "file-corrupt": "corrupt file",
    "file-metadata": "metadata that lie (no calibration, zero scale)",
}

#: Expected outcome of a case that must succeed (the call asserts the numbers itself).
OK = None


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad-input case.

    `func` is the public name (``"holocorr.holography.reconstruct"``) or, for
    the command line, ``"cli <command>"``. `call(tmp_path)` makes the call
    with one bad argument. `error` is the HolocorrError subclass it must
    raise, with a message matching `match`; ``OK`` (None) means the call
    must succeed and asserts its result itself (e.g. uint16 counts).
    """

    func: str
    kind: str
    label: str
    call: Callable[[Path], Any]
    error: type[HolocorrError] | tuple[type[HolocorrError], ...] | None
    match: str = ""
    xfail: str | None = None

    @property
    def id(self) -> str:
        short = self.func.replace("holocorr.", "").replace(" ", "-")
        return f"{short}:{self.kind}:{self.label}"


TABLE: list[Case] = []


def case(func, kind, label, call, error, match="", xfail=None):
    assert kind in KINDS, kind
    TABLE.append(Case(func, kind, label, call, error, match, xfail))


def quiet(fn, *args, **kwargs):
    """Call fn ignoring holocorr warnings (for setting up valid inputs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HolocorrWarning)
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------------- holography
def _holography():
    from holocorr import holography as H

    rc = "holocorr.holography.reconstruct"
    fs = "holocorr.holography.find_sideband"
    st = "holocorr.holography.fringe_statistics"
    for fn, f in ((rc, H.reconstruct), (fs, H.find_sideband), (st, H.fringe_statistics)):
        case(fn, "ndim", "1-D", lambda t, f=f: f(holo()[0]), ShapeError, r"dims|dimension")
        case(fn, "ndim", "4-D", lambda t, f=f: f(np.zeros((2, 2, N, N))), ShapeError, r"dimension")
        case(fn, "empty", "0x0", lambda t, f=f: f(image(np.zeros((0, 0)))), ShapeError, r"empty")
        case(fn, "tiny", "8x8", lambda t, f=f: f(holo()[:8, :8]), ShapeError, r"at least 16")
        case(fn, "nonfinite", "nan", lambda t, f=f: f(poke(holo(), np.nan)), DataError, r"NaN or infinite")
        case(fn, "nonfinite", "inf", lambda t, f=f: f(poke(holo(), np.inf)), DataError, r"NaN or infinite")
        case(fn, "dtype", "complex", lambda t, f=f: f(holo().astype(np.complex64)), DataError, r"complex")
        case(fn, "dtype", "bool", lambda t, f=f: f(holo() > 1), DataError, r"dtype bool")
        case(fn, "dtype", "str", lambda t, f=f: f("hologram.dm4"), DataError, r"string")
        case(fn, "dtype", "object", lambda t, f=f: f(holo().astype(object)), DataError, r"dtype object")
        case(fn, "type", "Dataset", lambda t, f=f: f(holo().to_dataset(name="h")), ShapeError, r"Dataset")
        case(
            fn,
            "coords",
            "non-length units",
            lambda t, f=f: f(with_coord(holo(), "x", holo().x.values, "eV")),
            CalibrationError,
            r"not a length",
        )
        case(fn, "axis", "descending x", lambda t, f=f: f(descending(holo(), "x")), CalibrationError, r"ascending")
        case(fn, "axis", "non-uniform y", lambda t, f=f: f(nonuniform(holo(), "y")), CalibrationError, r"uniform")
        case(
            fn,
            "range",
            "spacing_range reversed",
            lambda t, f=f: f(holo(), spacing_range=(16, 3)),
            ParameterError,
            r"spacing_range",
        )
        case(
            fn,
            "number",
            "spacing_range str",
            lambda t, f=f: f(holo(), spacing_range="wide"),
            ParameterError,
            r"spacing_range",
        )
        case(
            fn,
            "range",
            "no fringes",
            lambda t, f=f: f(image(np.random.default_rng(0).poisson(50, (N, N)) * 1.0)),
            ReconstructionError,
            r"no interference fringes",
        )
        case(
            fn,
            "range",
            "flat image",
            lambda t, f=f: f(image(np.full((N, N), 100.0))),
            ReconstructionError,
            r"no interference fringes",
        )
    case(
        fs,
        "mismatch",
        "reference shape",
        lambda t: H.find_sideband(holo(), reference=ref()[:32, :32]),
        ShapeError,
        r"reference has shape",
    )
    case(fs, "choice", "side", lambda t: H.find_sideband(holo(), side="top"), ParameterError, r"'upper'")

    # reconstruct options
    R = H.reconstruct
    case(rc, "mismatch", "reference shape", lambda t: R(holo(), ref()[:48, :48]), ShapeError, r"reference has shape")
    case(rc, "nonfinite", "reference nan", lambda t: R(holo(), poke(ref(), np.nan)), DataError, r"reference has 1 NaN")
    case(
        rc, "dtype", "reference complex", lambda t: R(holo(), ref().astype(complex)), DataError, r"reference is complex"
    )
    for label, r, pat in (
        ("radius 0", 0.0, r"radius must be > 0"),
        ("radius -1", -1.0, r"radius must be > 0"),
        ("radius 0.8", 0.8, r"centre band"),
        ("radius nan", float("nan"), r"radius must be > 0"),
        ("radius inf", float("inf"), r"radius must be > 0"),
    ):
        case(rc, "range", label, lambda t, r=r: R(holo(), ref(), radius=r), ParameterError, pat)
    case(
        rc, "number", "radius str", lambda t: R(holo(), ref(), radius="1/3"), ParameterError, r"radius must be a number"
    )
    case(rc, "number", "radius bool", lambda t: R(holo(), ref(), radius=True), ParameterError, r"radius")
    case(rc, "number", "radius triple", lambda t: R(holo(), ref(), radius=(0.3, 0.3, 0.3)), ParameterError, r"pair")
    case(rc, "choice", "sideband", lambda t: R(holo(), sideband="left"), ParameterError, r"'upper', 'lower'")
    case(rc, "choice", "edge", lambda t: R(holo(), edge="soft"), ParameterError, r"edge='soft'.*'tanh'")
    case(rc, "range", "smoothness 0", lambda t: R(holo(), smoothness=0), ParameterError, r"smoothness")
    case(
        rc,
        "number",
        "smoothness str",
        lambda t: R(holo(), smoothness="0.1"),
        ParameterError,
        r"smoothness must be a number",
    )
    case(rc, "range", "output_shape 4x4", lambda t: R(holo(), output_shape=(4, 4)), ParameterError, r"output_shape")
    case(
        rc,
        "number",
        "output_shape float",
        lambda t: R(holo(), output_shape=(32.5, 32)),
        ParameterError,
        r"output_shape",
    )
    case(rc, "number", "output_shape str", lambda t: R(holo(), output_shape="64x64"), ParameterError, r"output_shape")
    case(rc, "number", "unwrap str", lambda t: R(holo(), unwrap="no"), ParameterError, r"unwrap must be True or False")
    case(rc, "range", "apodize 0.7", lambda t: R(holo(), apodize=0.7), ParameterError, r"apodize")
    case(rc, "range", "apodize -0.1", lambda t: R(holo(), apodize=-0.1), ParameterError, r"apodize")
    case(rc, "number", "apodize nan", lambda t: R(holo(), apodize=float("nan")), ParameterError, r"apodize")
    case(rc, "range", "fresnel_filter -1", lambda t: R(holo(), fresnel_filter=-1), ParameterError, r"fresnel_filter")
    case(
        rc,
        "range",
        "reference_smoothing without reference",
        lambda t: R(holo(), reference_smoothing=2.0),
        ParameterError,
        r"needs a reference",
    )
    case(
        rc,
        "range",
        "reference_smoothing inf",
        lambda t: R(holo(), ref(), reference_smoothing=float("inf")),
        ParameterError,
        r"reference_smoothing",
    )
    nan_sb = lambda: H.Sideband(  # noqa: E731
        frequency=(float("nan"), 0.2), side="upper", contrast=0.3, spacing_px=4.2, angle_deg=40.0
    )
    case(
        rc,
        "nonfinite",
        "Sideband frequency nan",
        lambda t: R(holo(), ref(), sideband=nan_sb()),
        ParameterError,
        r"frequency",
    )
    case("holocorr.holography.Sideband", "nonfinite", "frequency nan", lambda t: nan_sb(), ParameterError, r"frequency")
    case(
        "holocorr.holography.Sideband",
        "range",
        "frequency 0",
        lambda t: H.Sideband(frequency=(0.0, 0.0), side="upper", contrast=0.3, spacing_px=4.2, angle_deg=40.0),
        ParameterError,
        r"frequency",
    )
    case(
        "holocorr.holography.Sideband",
        "choice",
        "side",
        lambda t: H.Sideband(frequency=(-0.15, 0.18), side="top", contrast=0.3, spacing_px=4.2, angle_deg=40.0),
        ParameterError,
        r"side",
    )

    def uint16_rec(t):
        u, f = counts_holo()
        a = R(u, output_shape=(32, 32))
        b = R(f, output_shape=(32, 32))
        assert a.phase.dtype == np.float32
        np.testing.assert_allclose(a.phase.values, b.phase.values, atol=2e-4)
        np.testing.assert_allclose(a.amplitude.values, b.amplitude.values, rtol=2e-4)

    case(rc, "uint16", "60000 counts", uint16_rec, OK)

    def uint16_sb(t):
        u, f = counts_holo()
        a, b = H.fringe_statistics(u), H.fringe_statistics(f)
        assert a["mean_counts"] == pytest_approx(b["mean_counts"], rel=1e-6) and a["mean_counts"] > 1e4
        assert a["contrast"] == pytest_approx(b["contrast"], rel=1e-4)
        assert a["spacing_px"] == pytest_approx(4.2, rel=5e-3)

    case(st, "uint16", "60000 counts", uint16_sb, OK)

    def angstrom(t):
        h = holo()
        ha = with_coord(h, "y", h.y.values * 10, "Å")
        ha = with_coord(ha, "x", h.x.values * 10, "Å")
        a, b = H.find_sideband(ha), H.find_sideband(h)
        assert a.spacing_nm == pytest_approx(b.spacing_nm, rel=1e-9)
        assert a.spacing_nm == pytest_approx(4.2 * PX, rel=5e-3)

    case(fs, "units", "coords in Å", angstrom, OK)

    def uint16_fs(t):
        u, f = counts_holo()
        a, b = H.find_sideband(u), H.find_sideband(f)
        np.testing.assert_allclose(a.frequency, b.frequency, atol=1e-7)
        assert a.contrast == pytest_approx(b.contrast, rel=1e-4)

    case(fs, "uint16", "60000 counts", uint16_fs, OK)

    # unwrap / residues / remove_ramp
    ph = lambda: rec().phase  # noqa: E731
    for name, f in (("unwrap", H.unwrap), ("residues", H.residues), ("remove_ramp", H.remove_ramp)):
        fn = f"holocorr.holography.{name}"
        case(fn, "ndim", "1-D", lambda t, f=f: f(ph()[0]), ShapeError, r"dims|dimension")
        case(fn, "empty", "0x0", lambda t, f=f: f(image(np.zeros((0, 0)))), ShapeError, r"empty|at least")
        case(fn, "tiny", "1x1", lambda t, f=f: f(image(np.zeros((1, 1)))), ShapeError, r"at least|pixels")
        case(fn, "nonfinite", "inf", lambda t, f=f: f(poke(ph(), np.inf)), DataError, r"NaN or infinite|inf")
        case(fn, "dtype", "complex", lambda t, f=f: f(rec().wave), DataError, r"complex")
        case(fn, "dtype", "bool", lambda t, f=f: f(ph() > 0), DataError, r"bool")
        case(fn, "dtype", "str", lambda t, f=f: f("phase"), DataError, r"string")
        case(fn, "mismatch", "mask shape", lambda t, f=f: f(ph(), mask=np.ones((5, 5), bool)), ShapeError, r"mask")
        case(fn, "dtype", "mask float", lambda t, f=f: f(ph(), mask=np.ones(ph().shape)), DataError, r"mask")
        case(fn, "type", "Dataset", lambda t, f=f: f(rec()), ShapeError, r"Dataset")
    case(
        "holocorr.holography.unwrap",
        "choice",
        "method",
        lambda t: H.unwrap(ph(), method="magic"),
        ParameterError,
        r"method='magic'",
    )
    case(
        "holocorr.holography.unwrap",
        "number",
        "congruent str",
        lambda t: H.unwrap(ph(), congruent="yes"),
        ParameterError,
        r"congruent",
    )
    case(
        "holocorr.holography.remove_ramp",
        "range",
        "order 5",
        lambda t: H.remove_ramp(ph(), order=5),
        ParameterError,
        r"order",
    )
    case(
        "holocorr.holography.remove_ramp",
        "number",
        "order 1.5",
        lambda t: H.remove_ramp(ph(), order=1.5),
        ParameterError,
        r"order",
    )
    case(
        "holocorr.holography.remove_ramp",
        "range",
        "empty region",
        lambda t: H.remove_ramp(ph(), region={"x": slice(500, 600)}),
        ParameterError,
        r"region",
    )
    case(
        "holocorr.holography.remove_ramp",
        "coords",
        "region unknown dim",
        lambda t: H.remove_ramp(ph(), region={"z": slice(0, 5)}),
        ParameterError,
        r"'z'|region",
    )

    def ramp_descending(t):
        # a pure ramp on a descending x axis is still removed exactly
        p = phase_map()
        ramp = p.copy(data=0.3 * p.x.values[None, :] + 0.1 * p.y.values[:, None] + 0.0 * p.values)
        out = H.remove_ramp(descending(ramp, "x"))
        assert float(np.abs(out).max()) < 1e-9

    case("holocorr.holography.remove_ramp", "axis", "descending x", ramp_descending, OK)
    case(
        "holocorr.holography.remove_ramp",
        "nonfinite",
        "nan",
        lambda t: H.remove_ramp(poke(ph(), np.nan)),
        DataError,
        r"NaN",
    )

    # physics
    for name in ("wavelength", "interaction_constant"):
        f = getattr(H, name)
        fn = f"holocorr.holography.{name}"
        for label, v, pat in (
            ("0 kV", 0.0, r"beam_energy_kv"),
            ("-300 kV", -300.0, r"beam_energy_kv"),
            ("300000 (V not kV)", 300e3, r"kV"),
            ("nan", float("nan"), r"finite"),
            ("inf", float("inf"), r"finite"),
        ):
            case(fn, "range", label, lambda t, f=f, v=v: f(v), ParameterError, pat)
        case(fn, "number", "str", lambda t, f=f: f("300kV"), ParameterError, r"number")
        case(fn, "number", "bool", lambda t, f=f: f(True), ParameterError, r"number")
        case(fn, "empty", "[]", lambda t, f=f: f([]), ParameterError, r"empty")
        case(fn, "dtype", "complex", lambda t, f=f: f(300 + 1j), ParameterError, r"number|real")
    pp = "holocorr.holography.phase_to_potential"
    P2V = H.phase_to_potential
    case(pp, "range", "thickness 0", lambda t: P2V(phase_map(), thickness=0.0), ParameterError, r"thickness")
    case(pp, "range", "thickness -5", lambda t: P2V(phase_map(), thickness=-5.0), ParameterError, r"thickness")
    case(
        pp, "number", "thickness nan", lambda t: P2V(phase_map(), thickness=float("nan")), ParameterError, r"thickness"
    )
    case(pp, "number", "thickness str", lambda t: P2V(phase_map(), thickness="100 nm"), ParameterError, r"thickness")
    case(pp, "number", "thickness bool", lambda t: P2V(phase_map(), thickness=True), ParameterError, r"thickness")
    case(
        pp,
        "range",
        "beam energy 3e5",
        lambda t: P2V(phase_map(), thickness=50.0, beam_energy_kv=3e5),
        ParameterError,
        r"kV",
    )
    case(
        pp,
        "coords",
        "no beam energy",
        lambda t: P2V(_no_kv(phase_map()), thickness=50.0),
        CalibrationError,
        r"beam energy",
    )
    case(
        pp,
        "mismatch",
        "beam energy disagrees",
        lambda t: P2V(phase_map(), thickness=50.0, beam_energy_kv=200.0),
        CalibrationError,
        r"disagree|300",
    )
    case(pp, "nonfinite", "phase nan", lambda t: P2V(poke(phase_map(), np.nan), thickness=50.0), DataError, r"NaN")
    case(pp, "dtype", "phase complex", lambda t: P2V(rec().wave, thickness=50.0), DataError, r"complex")
    case(
        pp,
        "mismatch",
        "thickness map grid",
        lambda t: P2V(phase_map(), thickness=image(np.full((N, N), 50.0), step=1.0)),
        CalibrationError,
        r"grid|coordinate",
    )
    case(
        pp,
        "mismatch",
        "thickness map shape",
        lambda t: P2V(phase_map(), thickness=np.full((5, 7), 50.0)),
        ShapeError,
        r"broadcast|shape",
    )
    case(
        pp,
        "nonfinite",
        "thickness map with 0",
        lambda t: P2V(
            phase_map(), thickness=poke(phase_map().copy(data=np.full((N, N), 50.0)).assign_attrs(units="nm"), 0.0)
        ),
        DataError,
        r"non-positive|1 pixel",
    )
    case(
        pp,
        "units",
        "phase in degrees",
        lambda t: P2V(phase_map().assign_attrs(units="deg"), thickness=50.0),
        CalibrationError,
        r"units",
    )

    def p2v_mrad(t):
        a = P2V(phase_map(), thickness=50.0)
        b = P2V(phase_map().copy(data=phase_map().values * 1e3).assign_attrs(units="mrad"), thickness=50.0)
        np.testing.assert_allclose(b.values, a.values, rtol=1e-9)
        ce = H.interaction_constant(300.0)
        assert float(a.max()) == pytest_approx(float(phase_map().max()) / (ce * 50.0), rel=1e-9)

    case(pp, "units", "phase in mrad", p2v_mrad, OK)

    def p2v_thickness_um(t):
        tm = phase_map().copy(data=np.full((N, N), 0.05)).assign_attrs(units="µm")
        a = P2V(phase_map(), thickness=tm)
        b = P2V(phase_map(), thickness=50.0)
        np.testing.assert_allclose(a.values, b.values, rtol=1e-9)

    case(pp, "units", "thickness map in µm", p2v_thickness_um, OK)

    ta = "holocorr.holography.thickness_from_amplitude"
    TA = H.thickness_from_amplitude
    amp = lambda: rec().amplitude  # noqa: E731
    case(
        ta,
        "range",
        "amplitude 0",
        lambda t: TA(poke(amp(), 0.0), mean_free_path=150.0),
        DataError,
        r"<= 0|non-positive",
    )
    case(ta, "nonfinite", "amplitude nan", lambda t: TA(poke(amp(), np.nan), mean_free_path=150.0), DataError, r"NaN")
    case(ta, "range", "mfp 0", lambda t: TA(amp(), mean_free_path=0.0), ParameterError, r"mean_free_path")
    case(ta, "number", "mfp str", lambda t: TA(amp(), mean_free_path="150"), ParameterError, r"mean_free_path")
    case(ta, "range", "vacuum -1", lambda t: TA(amp(), mean_free_path=150.0, vacuum=-1.0), ParameterError, r"vacuum")
    case(
        ta,
        "range",
        "vacuum empty region",
        lambda t: TA(amp(), mean_free_path=150.0, vacuum={"x": slice(900, 999)}),
        ParameterError,
        r"empty|no pixel|selects",
    )
    case(ta, "type", "vacuum str", lambda t: TA(amp(), mean_free_path=150.0, vacuum="left"), ParameterError, r"vacuum")
    case(
        ta,
        "mismatch",
        "vacuum mask shape",
        lambda t: TA(amp(), mean_free_path=150.0, vacuum=np.ones((3, 3), bool)),
        ShapeError,
        r"mask|broadcast",
    )
    case(ta, "dtype", "complex", lambda t: TA(rec().wave, mean_free_path=150.0), DataError, r"complex")

    mf = "holocorr.holography.mean_free_path"
    MF = H.mean_free_path
    case(
        mf, "range", "beam energy 0", lambda t: MF(beam_energy_kv=0.0, material="LATP"), ParameterError, r"beam_energy"
    )
    case(mf, "number", "beam energy str", lambda t: MF(beam_energy_kv="300", material="LATP"), ParameterError, r"kV")
    case(mf, "range", "density kg/m3", lambda t: MF(beam_energy_kv=300.0, density=2900.0), ParameterError, r"g/cm")
    case(
        mf,
        "number",
        "density nan",
        lambda t: MF(beam_energy_kv=300.0, density=float("nan")),
        ParameterError,
        r"density",
    )
    case(
        mf,
        "choice",
        "material",
        lambda t: MF(beam_energy_kv=300.0, material="unobtainium"),
        ParameterError,
        r"material",
    )
    case(
        mf,
        "choice",
        "method",
        lambda t: MF(beam_energy_kv=300.0, material="LATP", method="x"),
        ParameterError,
        r"method",
    )
    case(
        mf,
        "range",
        "collection angle -1",
        lambda t: MF(beam_energy_kv=300.0, material="LATP", collection_angle_mrad=-1.0),
        ParameterError,
        r"angle",
    )
    case(
        mf,
        "range",
        "malis without angle",
        lambda t: MF(beam_energy_kv=300.0, material="LATP", method="malis"),
        ParameterError,
        r"collection",
    )
    case(
        mf,
        "choice",
        "bad formula",
        lambda t: MF(beam_energy_kv=300.0, density=3.0, composition="Xx2O", method="malis", collection_angle_mrad=10.0),
        ParameterError,
        r"element",
    )
    case(mf, "range", "no density", lambda t: MF(beam_energy_kv=300.0), ParameterError, r"density|material")

    # noise
    pn = "holocorr.holography.phase_noise"
    PN = H.phase_noise
    case(pn, "type", "DataArray", lambda t: PN(rec().phase), ShapeError, r"reconstruct")
    case(
        pn,
        "type",
        "Dataset without attrs",
        lambda t: PN(xr.Dataset({"phase": rec().phase})),
        ShapeError,
        r"reconstruct|attr",
    )
    case(pn, "range", "dose -1", lambda t: PN(rec(), dose=-1.0), ParameterError, r"dose")
    case(pn, "number", "dose nan", lambda t: PN(rec(), dose=float("nan")), ParameterError, r"dose")
    case(pn, "range", "contrast 0", lambda t: PN(rec(), dose=100.0, contrast=0.0), ParameterError, r"contrast")
    case(pn, "range", "contrast 1.5", lambda t: PN(rec(), dose=100.0, contrast=1.5), ParameterError, r"contrast")
    case(
        pn,
        "range",
        "empty vacuum",
        lambda t: PN(rec(), dose=100.0, vacuum={"x": slice(500, 600)}),
        ParameterError,
        r"vacuum|pixels",
    )
    case(
        pn,
        "mismatch",
        "vacuum mask shape",
        lambda t: PN(rec(), dose=100.0, vacuum=np.ones((3, 3), bool)),
        ParameterError,
        r"bool mask of shape \(48, 48\)",
    )
    dl = "holocorr.holography.detection_limit"
    DL = H.detection_limit
    case(dl, "range", "sigma 0", lambda t: DL(0.0), ParameterError, r"sigma")
    case(dl, "number", "sigma nan", lambda t: DL(float("nan")), ParameterError, r"sigma")
    case(dl, "number", "sigma str", lambda t: DL("0.01"), ParameterError, r"sigma")
    case(
        dl,
        "range",
        "thickness -1",
        lambda t: DL(0.01, thickness=-1.0, beam_energy_kv=300.0),
        ParameterError,
        r"thickness",
    )
    case(
        dl,
        "coords",
        "thickness without beam energy",
        lambda t: DL(0.01, thickness=50.0),
        CalibrationError,
        r"beam_energy",
    )
    case(dl, "range", "k 0", lambda t: DL(0.01, k=0), ParameterError, r"\bk\b")
    case(dl, "range", "beam energy 3e5", lambda t: DL(0.01, thickness=50.0, beam_energy_kv=3e5), ParameterError, r"kV")
    aa = "holocorr.holography.aperture_area"
    AA = H.aperture_area
    case(aa, "range", "radius 0", lambda t: AA((0.0, 0.05)), ParameterError, r"radius")
    case(aa, "number", "radius nan", lambda t: AA((float("nan"), 0.05)), ParameterError, r"radius")
    case(aa, "number", "radius scalar", lambda t: AA(0.05), ParameterError, r"radius")
    case(aa, "number", "radius str", lambda t: AA("big"), ParameterError, r"radius")
    case(aa, "choice", "edge", lambda t: AA((0.05, 0.05), edge="soft"), ParameterError, r"edge")
    case(aa, "range", "smoothing -1", lambda t: AA((0.05, 0.05), smoothing_sigma=-1.0), ParameterError, r"smoothing")
    case(aa, "range", "radius 0.9", lambda t: AA((0.9, 0.9)), ParameterError, r"radius")

    # in situ
    pc = "holocorr.holography.potential_change"

    def PC(a, b, **kw):
        kw.setdefault("vacuum", {"x": slice(0, 5)})
        return H.potential_change(a, b, **kw)

    rw = "holocorr.holography.register_waves"
    RW = H.register_waves
    for fn, f in ((pc, lambda a, b: PC(a, b, thickness=50.0)), (rw, RW)):
        case(fn, "type", "DataArray", lambda t, f=f: f(rec().phase, rec_pristine()), ShapeError, r"reconstruct")
        case(
            fn,
            "mismatch",
            "grid",
            lambda t, f=f: f(rec(), rec_pristine().isel(x=slice(0, 10))),
            ShapeError,
            r"grid|shape",
        )

    case(
        pc,
        "mismatch",
        "pixel size",
        lambda t: PC(rec(), rec_pristine().assign_coords(x=rec_pristine().x * 1.5), thickness=50.0),
        CalibrationError,
        r"different x sampling",
    )
    case(rw, "choice", "on", lambda t: RW(rec(), rec_pristine(), on="wave"), ParameterError, r"on='wave'")
    case(rw, "range", "upsample 0", lambda t: RW(rec(), rec_pristine(), upsample=0), ParameterError, r"upsample")
    case(rw, "number", "upsample 2.5", lambda t: RW(rec(), rec_pristine(), upsample=2.5), ParameterError, r"upsample")
    case(pc, "range", "thickness 0", lambda t: PC(rec(), rec_pristine(), thickness=0.0), ParameterError, r"thickness")
    case(
        pc,
        "number",
        "thickness nan",
        lambda t: PC(rec(), rec_pristine(), thickness=float("nan")),
        ParameterError,
        r"thickness",
    )
    case(
        pc, "number", "thickness str", lambda t: PC(rec(), rec_pristine(), thickness="50"), ParameterError, r"thickness"
    )
    case(
        pc,
        "coords",
        "no beam energy",
        lambda t: PC(_no_kv_ds(rec()), _no_kv_ds(rec_pristine()), thickness=50.0, vacuum={"x": slice(0, 5)}),
        CalibrationError,
        r"beam energy",
    )
    case(
        pc,
        "range",
        "beam energy 0",
        lambda t: PC(rec(), rec_pristine(), thickness=50.0, beam_energy_kv=0.0),
        ParameterError,
        r"beam_energy",
    )
    case(
        pc,
        "range",
        "empty vacuum",
        lambda t: PC(rec(), rec_pristine(), thickness=50.0, vacuum={"x": slice(500, 600)}),
        ParameterError,
        r"vacuum",
    )
    case(
        pc,
        "number",
        "register str",
        lambda t: PC(rec(), rec_pristine(), thickness=50.0, register="yes"),
        ParameterError,
        r"register",
    )
    case(
        pc,
        "range",
        "upsample -2",
        lambda t: PC(rec(), rec_pristine(), thickness=50.0, upsample=-2),
        ParameterError,
        r"upsample",
    )


def _no_kv(da):
    out = da.copy()
    out.attrs = {k: v for k, v in da.attrs.items() if k != "beam_energy_kv"}
    return out


def _no_kv_ds(ds):
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "beam_energy_kv"}
    for v in out.data_vars:
        out[v].attrs = {k: w for k, w in ds[v].attrs.items() if k != "beam_energy_kv"}
    return out


def pytest_approx(*a, **k):
    import pytest

    return pytest.approx(*a, **k)


# ------------------------------------------------------------------------------------- EELS


def _keV(da):
    """The same spectra with the energy axis in keV."""
    return with_coord(da, "energy", da.energy.values / 1e3, "keV")


def _as_uint16(da, top=60000.0):
    v = np.round(np.clip(da.values.astype(np.float64), 0, None) / float(da.max()) * top)
    return da.copy(data=v.astype(np.uint16)), da.copy(data=v)


def _eels():
    from holocorr import eels as E

    def spectra_kinds(fn, f, data, kev_check=None, u16_check=None, xfail=None):
        """The kinds every function of spectra shares (`xfail`: label -> reason)."""
        xfail = xfail or {}

        def case(fn, kind, label, call, error, match=""):
            globals()["case"](fn, kind, label, call, error, match, xfail=xfail.get(label))

        case(fn, "coords", "no energy dim", lambda t: f(data().rename(energy="e")), ShapeError, r"energy")
        case(fn, "ndim", "0-D", lambda t: f(data().isel(x=0, energy=0)), ShapeError, r"energy")
        case(fn, "empty", "no channels", lambda t: f(data().isel(energy=slice(0, 0))), ShapeError, r"empty|channel")
        case(
            fn,
            "tiny",
            "2 channels",
            lambda t: f(data().isel(energy=slice(0, 2))),
            (ShapeError, ParameterError),
            r"channel|window|outside",
        )
        case(fn, "nonfinite", "nan", lambda t: f(poke(data(), np.nan)), DataError, r"NaN")
        case(fn, "nonfinite", "inf", lambda t: f(poke(data(), np.inf)), DataError, r"NaN|inf")
        case(fn, "dtype", "complex", lambda t: f(data().astype(np.complex64)), DataError, r"complex")
        case(fn, "dtype", "bool", lambda t: f(data() > 0), DataError, r"bool|dtype")
        case(fn, "dtype", "object", lambda t: f(data().astype(object)), DataError, r"dtype|numeric")
        case(fn, "dtype", "str", lambda t: f("spectrum.dm4"), (DataError, ShapeError), r"string|DataArray")
        case(fn, "type", "ndarray", lambda t: f(data().values), ShapeError, r"as_spectra|energy")
        case(fn, "type", "Dataset", lambda t: f(data().to_dataset(name="s")), ShapeError, r"Dataset|variable")
        case(fn, "axis", "descending energy", lambda t: f(descending(data(), "energy")), CalibrationError, r"ascending")
        case(fn, "axis", "non-uniform energy", lambda t: f(nonuniform(data(), "energy")), CalibrationError, r"uniform")
        case(
            fn,
            "coords",
            "energy without units",
            lambda t: f(without_units(data(), "energy")),
            CalibrationError,
            r"units|eV",
        )
        case(
            fn,
            "units",
            "energy in nm",
            lambda t: f(with_coord(data(), "energy", data().energy.values, "nm")),
            CalibrationError,
            r"eV",
        )
        if kev_check is not None:
            case(fn, "units", "energy in keV", kev_check, OK)
        if u16_check is not None:
            case(fn, "uint16", "60000 counts", u16_check, OK)

    def same(a, b, rtol=1e-4, atol=0.0):
        if isinstance(a, xr.Dataset):
            for v in a.data_vars:
                if a[v].dtype.kind in "fc":
                    np.testing.assert_allclose(a[v].values, b[v].values, rtol=rtol, atol=atol, err_msg=v)
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)

    # integrate / subtract_background
    fn = "holocorr.eels.integrate"
    integ = lambda d, **k: E.integrate(d, **{"window": (56.0, 72.0), "background": (44.0, 54.0), **k})  # noqa: E731
    spectra_kinds(
        fn,
        integ,
        core,
        kev_check=lambda t: same(integ(_keV(core())).signal, integ(core()).signal, rtol=1e-9),
        u16_check=lambda t: same(integ(_as_uint16(core())[0]), integ(_as_uint16(core())[1]), rtol=1e-4, atol=1e-3),
    )
    case(fn, "range", "window reversed", lambda t: integ(core(), window=(72.0, 56.0)), ParameterError, r"window")
    case(
        fn,
        "range",
        "window outside axis",
        lambda t: integ(core(), window=(200.0, 220.0)),
        ParameterError,
        r"window|outside",
    )
    case(
        fn,
        "range",
        "background above window",
        lambda t: integ(core(), background=(74.0, 80.0)),
        ParameterError,
        r"background",
    )
    case(fn, "range", "window nan", lambda t: integ(core(), window=(float("nan"), 72.0)), ParameterError, r"window")
    case(fn, "number", "window str", lambda t: integ(core(), window="56-72"), ParameterError, r"window")
    case(fn, "choice", "model", lambda t: integ(core(), model="spline"), ParameterError, r"model")
    case(fn, "range", "gain 0", lambda t: integ(core(), gain=0.0), ParameterError, r"gain")
    case(fn, "number", "gain str", lambda t: integ(core(), gain="1"), ParameterError, r"gain")
    case(fn, "range", "negative counts", lambda t: integ(core() - 1e6), DataError, r"negative")
    case(fn, "range", "degree -1", lambda t: integ(core(), model="polynomial", degree=-1), ParameterError, r"degree")
    fn = "holocorr.eels.subtract_background"
    sub = lambda d, **k: E.subtract_background(d, **{"fit": (44.0, 54.0), **k})  # noqa: E731
    spectra_kinds(
        fn,
        sub,
        core,
        kev_check=lambda t: same(sub(_keV(core())).values, sub(core()).values, rtol=1e-9),
        u16_check=lambda t: same(sub(_as_uint16(core())[0]), sub(_as_uint16(core())[1]), rtol=1e-3, atol=0.05),
    )
    case(fn, "range", "fit reversed", lambda t: sub(core(), fit=(54.0, 44.0)), ParameterError, r"fit")
    case(
        fn, "range", "fit below 0 eV (power law)", lambda t: sub(low(), fit=(-4.0, 2.0)), ParameterError, r"E <= 0|> 0"
    )
    case(fn, "number", "fit bool", lambda t: sub(core(), fit=True), ParameterError, r"fit")
    case(fn, "choice", "model", lambda t: sub(core(), model="gauss"), ParameterError, r"model")
    case(
        fn,
        "range",
        "exponents nan",
        lambda t: sub(core(), model="lcpl", exponents=(float("nan"), 3.0)),
        ParameterError,
        r"exponents",
    )
    case(
        fn,
        "number",
        "return_background str",
        lambda t: sub(core(), return_background="yes"),
        ParameterError,
        r"return_background",
    )

    # thickness / zero_loss_peak
    fn = "holocorr.eels.thickness"
    spectra_kinds(
        fn,
        E.thickness,
        low,
        kev_check=lambda t: same(E.thickness(_keV(low())).t_over_lambda, E.thickness(low()).t_over_lambda, rtol=1e-9),
        u16_check=lambda t: same(
            E.thickness(_as_uint16(low())[0]).t_over_lambda, E.thickness(_as_uint16(low())[1]).t_over_lambda, rtol=1e-4
        ),
    )
    case(fn, "choice", "zlp", lambda t: E.thickness(low(), zlp="max"), ParameterError, r"zlp")
    case(fn, "choice", "tail", lambda t: E.thickness(low(), tail="exp"), ParameterError, r"tail")
    case(
        fn,
        "range",
        "mean free path 0",
        lambda t: E.thickness(low(), mean_free_path_nm=0.0),
        ParameterError,
        r"mean_free_path",
    )
    case(
        fn,
        "number",
        "mean free path str",
        lambda t: E.thickness(low(), mean_free_path_nm="150"),
        ParameterError,
        r"mean_free_path",
    )
    case(fn, "range", "no zero-loss peak", lambda t: E.thickness(core()), DataError, r"zero-loss|peak")
    case(fn, "range", "all zero", lambda t: E.thickness(low() * 0), DataError, r"zero")
    fn = "holocorr.eels.zero_loss_peak"
    spectra_kinds(
        fn,
        E.zero_loss_peak,
        low,
        kev_check=lambda t: same(E.zero_loss_peak(_keV(low())).position, E.zero_loss_peak(low()).position, atol=1e-9),
        u16_check=lambda t: same(
            E.zero_loss_peak(_as_uint16(low())[0]).position, E.zero_loss_peak(_as_uint16(low())[1]).position, atol=1e-4
        ),
    )
    case(fn, "range", "gain -1", lambda t: E.zero_loss_peak(low(), gain=-1.0), ParameterError, r"gain")

    # deconvolve
    fn = "holocorr.eels.deconvolve"
    dec = lambda d, **k: E.deconvolve(d, low(), **k)  # noqa: E731
    spectra_kinds(fn, dec, core)
    case(fn, "range", "missing low loss", lambda t: E.deconvolve(core()), ParameterError, r"low_loss|low loss")
    case(fn, "choice", "method", lambda t: dec(core(), method="wiener"), ParameterError, r"method")
    case(fn, "range", "fwhm 0", lambda t: dec(core(), fwhm_ev=0.0), ParameterError, r"fwhm")
    case(
        fn,
        "mismatch",
        "low loss grid",
        lambda t: E.deconvolve(core(), low().isel(x=slice(0, 5))),
        ShapeError,
        r"grid|x",
    )
    case(
        fn,
        "mismatch",
        "dispersion",
        lambda t: E.deconvolve(core(), with_coord(low(), "energy", low().energy.values * 2)),
        CalibrationError,
        r"dispersion",
    )
    case(fn, "nonfinite", "low loss nan", lambda t: E.deconvolve(core(), poke(low(), np.nan)), DataError, r"NaN")

    # alignment
    fn = "holocorr.eels.energy_shifts"
    spectra_kinds(
        fn,
        E.energy_shifts,
        low,
        kev_check=lambda t: same(E.energy_shifts(_keV(low())), E.energy_shifts(low()), atol=1e-9),
        u16_check=lambda t: same(
            E.energy_shifts(_as_uint16(low())[0]), E.energy_shifts(_as_uint16(low())[1]), atol=1e-4
        ),
    )
    case(fn, "choice", "method", lambda t: E.energy_shifts(low(), method="peak"), ParameterError, r"method")
    case(fn, "choice", "reference", lambda t: E.energy_shifts(low(), reference="mean"), ParameterError, r"reference")
    case(
        fn,
        "range",
        "edge method without edge",
        lambda t: E.energy_shifts(core(), method="edge"),
        ParameterError,
        r"edge",
    )
    case(
        fn,
        "range",
        "edge window outside",
        lambda t: E.energy_shifts(core(), method="edge", edge=(300.0, 320.0)),
        ParameterError,
        r"edge|window|outside",
    )
    case(
        fn,
        "choice",
        "edge name",
        lambda t: E.energy_shifts(core(), method="edge", edge="Xx K"),
        ParameterError,
        r"edge",
    )
    case(
        fn,
        "range",
        "max_shift 0",
        lambda t: E.energy_shifts(core(), method="edge", edge="Li K", max_shift_ev=0.0),
        ParameterError,
        r"max_shift",
    )
    case(
        fn,
        "number",
        "smooth nan",
        lambda t: E.energy_shifts(core(), method="edge", edge="Li K", smooth_ev=float("nan")),
        ParameterError,
        r"smooth",
    )
    fn = "holocorr.eels.align_energy"
    spectra_kinds(fn, E.align_energy, low)
    case(
        fn,
        "mismatch",
        "low loss grid",
        lambda t: E.align_energy(core(), low_loss=low().isel(x=slice(0, 5))),
        ShapeError,
        r"grid|x",
    )
    case(
        fn,
        "nonfinite",
        "core nan with low loss",
        lambda t: E.align_energy(poke(core(), np.nan), low_loss=low()),
        DataError,
        r"NaN",
    )
    case(fn, "choice", "method", lambda t: E.align_energy(core(), method="peak"), ParameterError, r"method")
    fn = "holocorr.eels.apply_energy_shifts"
    ap = lambda d, s=0.3: E.apply_energy_shifts(d, s)  # noqa: E731
    spectra_kinds(fn, ap, core)
    case(fn, "mismatch", "one shift per spectrum", lambda t: ap(core(), np.zeros(5)), ShapeError, r"shift")
    case(fn, "nonfinite", "shift nan", lambda t: ap(core(), float("nan")), DataError, r"finite|NaN")
    case(fn, "range", "shift larger than axis", lambda t: ap(core(), 500.0), ParameterError, r"shift|axis")
    case(fn, "dtype", "shift str", lambda t: ap(core(), "0.3"), (DataError, ParameterError), r"shift")

    # as_spectra
    fn = "holocorr.eels.as_spectra"
    AS = E.as_spectra
    raw = lambda: core().values  # noqa: E731
    case(fn, "dtype", "str", lambda t: AS("frame"), DataError, r"string")
    case(
        fn,
        "dtype",
        "complex",
        lambda t: AS(raw().astype(complex), offset_ev=30.0, dispersion_ev=0.5),
        DataError,
        r"complex",
    )
    case(
        fn,
        "dtype",
        "object",
        lambda t: AS(np.array([[1, "a"]], dtype=object), offset_ev=30.0, dispersion_ev=0.5),
        DataError,
        r"dtype|numeric",
    )
    case(fn, "ndim", "scalar", lambda t: AS(3.0, offset_ev=30.0, dispersion_ev=0.5), ShapeError, r"scalar")
    case(
        fn,
        "empty",
        "no channels",
        lambda t: AS(np.zeros((3, 0)), offset_ev=30.0, dispersion_ev=0.5),
        ShapeError,
        r"empty|channel",
    )
    case(fn, "coords", "no calibration", lambda t: AS(raw()), CalibrationError, r"calibration|offset_ev")
    case(
        fn,
        "range",
        "dispersion 0",
        lambda t: AS(raw(), offset_ev=30.0, dispersion_ev=0.0),
        ParameterError,
        r"dispersion_ev must be > 0",
    )
    case(
        fn,
        "range",
        "dispersion -0.5",
        lambda t: AS(raw(), offset_ev=30.0, dispersion_ev=-0.5),
        ParameterError,
        r"dispersion_ev must be > 0.*flip",
    )
    case(
        fn,
        "number",
        "dispersion nan",
        lambda t: AS(raw(), offset_ev=30.0, dispersion_ev=float("nan")),
        ParameterError,
        r"dispersion_ev must be a finite number",
    )
    case(
        fn,
        "dtype",
        "energies_ev str",
        lambda t: AS(raw(), energies_ev="30-90"),
        CalibrationError,
        r"energies_ev must be numbers",
    )
    case(fn, "number", "offset str", lambda t: AS(raw(), offset_ev="30", dispersion_ev=0.5), ParameterError, r"offset")
    case(
        fn,
        "mismatch",
        "energies_ev length",
        lambda t: AS(raw(), energies_ev=np.arange(5.0)),
        CalibrationError,
        r"energies_ev has 5",
    )
    case(
        fn,
        "nonfinite",
        "energies_ev nan",
        lambda t: AS(raw(), energies_ev=np.r_[np.nan, np.arange(119.0)]),
        CalibrationError,
        r"NaN",
    )
    case(
        fn,
        "axis",
        "energies_ev descending",
        lambda t: AS(raw(), energies_ev=np.arange(120.0)[::-1]),
        CalibrationError,
        r"ascending",
    )
    case(
        fn,
        "range",
        "energy_axis 5",
        lambda t: AS(raw(), energy_axis=5, offset_ev=30.0, dispersion_ev=0.5),
        ShapeError,
        r"out of range",
    )
    case(fn, "choice", "energy_axis name", lambda t: AS(core(), energy_axis="E"), ShapeError, r"not one of the dims")
    case(
        fn,
        "mismatch",
        "dims count",
        lambda t: AS(raw(), offset_ev=30.0, dispersion_ev=0.5, dims=("y", "x")),
        ShapeError,
        r"dims",
    )
    case(
        fn,
        "range",
        "pixel size -1",
        lambda t: AS(raw(), offset_ev=30.0, dispersion_ev=0.5, pixel_size_nm=-1.0),
        ParameterError,
        r"pixel_size",
    )
    case(
        fn,
        "range",
        "both calibrations",
        lambda t: AS(raw(), offset_ev=30.0, dispersion_ev=0.5, energies_ev=np.arange(120.0)),
        ParameterError,
        r"either",
    )

    def as_spectra_kev(t):
        da = xr.DataArray(
            raw(), dims=("x", "energy"), coords={"energy": ("energy", 0.03 + 0.0005 * np.arange(120), {"units": "keV"})}
        )
        out = AS(da)
        np.testing.assert_allclose(out.energy.values, 30.0 + 0.5 * np.arange(120), rtol=1e-12)
        assert out.energy.attrs["units"] == "eV"

    case(fn, "units", "energy in keV", as_spectra_kev, OK)

    # edges
    case("holocorr.eels.get_edge", "choice", "unknown", lambda t: E.get_edge("Xx K"), ParameterError, r"Li K")
    case("holocorr.eels.get_edge", "type", "number", lambda t: E.get_edge(56.0), ParameterError, r"edge|name")
    case("holocorr.eels.get_edge", "type", "None", lambda t: E.get_edge(None), ParameterError, r"edge|name")
    case(
        "holocorr.eels.edge_shape",
        "choice",
        "unknown",
        lambda t: E.edge_shape("Xx K", np.arange(40.0, 80.0)),
        ParameterError,
        r"Li K",
    )
    case(
        "holocorr.eels.edge_shape",
        "nonfinite",
        "energy nan",
        lambda t: E.edge_shape("Li K", [50.0, np.nan]),
        ParameterError,
        r"energy.*finite",
    )
    case(
        "holocorr.eels.edge_shape",
        "dtype",
        "energy str",
        lambda t: E.edge_shape("Li K", "50-80"),
        ParameterError,
        r"energy",
    )
    case(
        "holocorr.eels.edge_shape",
        "dtype",
        "energy complex",
        lambda t: E.edge_shape("Li K", np.array([50 + 1j])),
        ParameterError,
        r"energy",
    )
    es = "holocorr.eels.EdgeShape"
    case(
        es,
        "range",
        "maximum below onset",
        lambda t: E.EdgeShape("X", ((60.0, 55.0, 1.0),)),
        ParameterError,
        r"maximum|onset",
    )
    case(
        es,
        "nonfinite",
        "onset nan",
        lambda t: E.EdgeShape("X", ((float("nan"), 62.0, 1.0),)),
        ParameterError,
        r"finite|onset",
    )
    case(es, "empty", "no parts", lambda t: E.EdgeShape("X", ()), ParameterError, r"part")
    case(
        es,
        "range",
        "broadening -1",
        lambda t: E.EdgeShape("X", ((56.0, 62.0, 1.0),), broadening_ev=-1.0),
        ParameterError,
        r"broadening",
    )
    case(es, "choice", "form", lambda t: E.EdgeShape("X", ((56.0, 62.0, 1.0),), form="gauss"), ParameterError, r"form")
    case(
        es,
        "number",
        "rise str",
        lambda t: E.EdgeShape("X", ((56.0, 62.0, 1.0),), rise="fast"),
        ParameterError,
        r"rise",
    )

    # fit_edges / li_map
    fn = "holocorr.eels.fit_edges"
    fe = lambda d, **k: E.fit_edges(d, **k)  # noqa: E731
    spectra_kinds(fn, fe, core)
    case(fn, "range", "window reversed", lambda t: fe(core(), window=(75.0, 40.0)), ParameterError, r"window")
    case(fn, "range", "window outside", lambda t: fe(core(), window=(200.0, 260.0)), ParameterError, r"window|outside")
    case(fn, "choice", "component", lambda t: fe(core(), components=["Xx K"]), ParameterError, r"Xx K|edge")
    case(fn, "choice", "background", lambda t: fe(core(), background="spline"), ParameterError, r"background")
    case(
        fn, "mismatch", "low loss grid", lambda t: fe(core(), low_loss=low().isel(x=slice(0, 5))), ShapeError, r"grid|x"
    )
    case(fn, "range", "gain 0", lambda t: fe(core(), gain=0.0), ParameterError, r"gain")
    case(fn, "number", "nonneg str", lambda t: fe(core(), nonneg="yes"), ParameterError, r"nonneg")
    case(fn, "range", "negative counts", lambda t: fe(core() - 1e6), DataError, r"negative")
    fn = "holocorr.eels.li_map"
    lm = lambda d, **k: E.li_map(d, **{"low_loss": low(), **k})  # noqa: E731
    spectra_kinds(fn, lm, core)
    case(fn, "choice", "method", lambda t: lm(core(), method="ratio"), ParameterError, r"method")
    case(
        fn,
        "choice",
        "normalisation",
        lambda t: lm(core(), normalisation="max"),
        ParameterError,
        r"normalisation",
    )
    case(fn, "choice", "align", lambda t: lm(core(), align="always"), ParameterError, r"align")
    case(
        fn, "mismatch", "low loss grid", lambda t: lm(core(), low_loss=low().isel(x=slice(0, 5))), ShapeError, r"grid|x"
    )
    case(fn, "nonfinite", "low loss nan", lambda t: lm(core(), low_loss=poke(low(), np.nan)), DataError, r"NaN")
    case(fn, "range", "window reversed", lambda t: lm(core(), window=(75.0, 40.0)), ParameterError, r"window")
    case(
        fn,
        "range",
        "reference_value 0",
        lambda t: lm(core(), reference={"x": (200.0, 340.0)}, reference_value=0.0),
        ParameterError,
        r"reference_value",
    )
    case(
        fn,
        "nonfinite",
        "core nan (aligned with low loss)",
        lambda t: lm(poke(core(), np.nan, (5, 60))),
        DataError,
        r"NaN",
    )
    case(
        fn,
        "number",
        "calibrate_errors str",
        lambda t: lm(core(), calibrate_errors="no"),
        ParameterError,
        r"calibrate_errors",
    )

    # eftem
    fn = "holocorr.eels.eftem_map"
    EM = lambda d, **k: E.eftem_map(d, **{"edge": "Li K", **k})  # noqa: E731
    case(fn, "coords", "no energy dim", lambda t: EM(eftem().rename(energy="e")), ShapeError, r"energy")
    case(fn, "type", "ndarray", lambda t: EM(eftem().values), ShapeError, r"DataArray|energy")
    case(fn, "nonfinite", "nan", lambda t: EM(poke(eftem(), np.nan, (2, 3, 3))), DataError, r"NaN")
    case(fn, "range", "negative counts", lambda t: EM(eftem() - 1e6), DataError, r"negative")
    case(fn, "dtype", "complex", lambda t: EM(eftem().astype(complex)), DataError, r"complex")
    case(fn, "dtype", "bool", lambda t: EM(eftem() > 0), DataError, r"bool|dtype")
    case(fn, "axis", "descending energy", lambda t: EM(descending(eftem(), "energy")), CalibrationError, r"ascending")
    case(
        fn,
        "units",
        "energy in nm",
        lambda t: EM(with_coord(eftem(), "energy", eftem().energy.values, "nm")),
        CalibrationError,
        r"eV",
    )
    case(fn, "choice", "method", lambda t: EM(eftem(), method="two-window"), ParameterError, r"method")
    case(fn, "choice", "edge", lambda t: EM(eftem(), edge="Xx K"), ParameterError, r"edge|Li K")
    case(fn, "number", "edge nan", lambda t: EM(eftem(), edge=float("nan")), ParameterError, r"edge")
    case(fn, "range", "edge above all images", lambda t: EM(eftem(), edge=100.0), ParameterError, r"post-edge")
    case(fn, "range", "pre not in series", lambda t: EM(eftem(), pre=(10.0, 20.0)), ParameterError, r"pre")
    case(fn, "number", "pre str", lambda t: EM(eftem(), pre="46,50"), ParameterError, r"pre")
    case(fn, "range", "gain 0", lambda t: EM(eftem(), gain=0.0), ParameterError, r"gain")
    case(fn, "tiny", "one image", lambda t: EM(eftem().isel(energy=[3])), ParameterError, r"1 image")

    def eftem_kev(t):
        a = EM(_keV(eftem())).signal.values
        b = EM(eftem()).signal.values
        np.testing.assert_allclose(a, b, rtol=1e-9)
        np.testing.assert_allclose(b[:, 12], 20.0, rtol=1e-6)

    case(fn, "units", "energy in keV", eftem_kev, OK)

    def eftem_u16(t):
        s = eftem()
        v = np.round(s.values / s.values.max() * 60000)
        a = EM(s.copy(data=v.astype(np.uint16))).signal.values
        b = EM(s.copy(data=v)).signal.values
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-3)

    case(fn, "uint16", "60000 counts", eftem_u16, OK)


# ------------------------------------------------------------------------------ registration
def _map_kinds(fn, f, data=map_a, *, min_px=8, units_check=None, skip=()):
    """Kinds shared by the functions of (y, x) maps with nm coords (`skip`: kinds or labels left out)."""

    def add(kind, label, call, error, match=""):
        if kind not in skip and label not in skip:
            case(fn, kind, label, call, error, match)

    add("ndim", "1-D", lambda t: f(data()[0]), ShapeError, r"dims|dimension")
    add("ndim", "3-D", lambda t: f(data().expand_dims(frame=2)), ShapeError, r"dims|dimension|frame")
    add("empty", "0x0", lambda t: f(data().isel(y=slice(0, 0), x=slice(0, 0))), ShapeError, r"empty|at least")
    add("tiny", f"{min_px - 1} px", lambda t: f(data().isel(y=slice(0, min_px - 1))), ShapeError, r"at least|pixels|px")
    add("nonfinite", "nan", lambda t: f(poke(data(), np.nan)), DataError, r"NaN")
    add("nonfinite", "inf", lambda t: f(poke(data(), -np.inf)), DataError, r"NaN|inf")
    add("dtype", "complex", lambda t: f(data().astype(complex)), DataError, r"complex")
    add("dtype", "bool", lambda t: f(data() > 0.5), DataError, r"bool|dtype")
    add("dtype", "object", lambda t: f(data().astype(object)), DataError, r"dtype|numeric")
    add("dtype", "str", lambda t: f("map.nc"), (DataError, ShapeError), r"string|DataArray")
    add("type", "Dataset", lambda t: f(data().to_dataset(name="m")), ShapeError, r"Dataset")
    add(
        "coords",
        "no coords",
        lambda t: f(xr.DataArray(data().values, dims=("y", "x"))),
        CalibrationError,
        r"coordinate|units|px",
    )
    add("coords", "no units", lambda t: f(without_units(without_units(data(), "x"), "y")), CalibrationError, r"units")
    add(
        "units",
        "non-length units",
        lambda t: f(with_coord(data(), "x", data().x.values, "eV")),
        CalibrationError,
        r"length|units",
    )
    add("axis", "descending x", lambda t: f(descending(data(), "x")), CalibrationError, r"ascending")
    add("axis", "non-uniform y", lambda t: f(nonuniform(data(), "y")), CalibrationError, r"uniform")
    if units_check is not None:
        case(fn, "units", "coords in Å", units_check, OK)


def _angstrom(da):
    out = with_coord(da, "y", da.y.values * 10.0, "Å")
    return with_coord(out, "x", da.x.values * 10.0, "Å")


def _registration():
    from holocorr import registration as G

    # register
    fn = "holocorr.registration.register"
    reg = lambda m, f=None, **k: quiet(G.register, m, blob_map() if f is None else f, **k)  # noqa: E731

    def reg_angstrom(t):
        moving = blob_map().assign_coords(x=blob_map().x + 2.0)
        a = reg(_angstrom(moving), _angstrom(blob_map()))
        b = reg(moving, blob_map())
        np.testing.assert_allclose(a.shift_nm, b.shift_nm, atol=1e-6)
        np.testing.assert_allclose(a.shift_nm, (0.0, -2.0), atol=0.05)  # fixed(r) ~ moving(r - shift)

    _map_kinds(fn, lambda m: G.register(m, blob_map()), blob_map, units_check=reg_angstrom)
    case(fn, "nonfinite", "fixed nan", lambda t: G.register(blob_map(), poke(blob_map(), np.nan)), DataError, r"NaN")
    case(fn, "choice", "method", lambda t: reg(blob_map(), method="ncc"), ParameterError, r"method")
    case(fn, "range", "upsample 0", lambda t: reg(blob_map(), upsample=0), ParameterError, r"upsample")
    case(fn, "number", "upsample str", lambda t: reg(blob_map(), upsample="20"), ParameterError, r"upsample")
    case(fn, "range", "min_overlap 0", lambda t: reg(blob_map(), min_overlap=0.0), ParameterError, r"min_overlap")
    case(fn, "range", "min_overlap 1.5", lambda t: reg(blob_map(), min_overlap=1.5), ParameterError, r"min_overlap")
    case(fn, "range", "spacing -1", lambda t: reg(blob_map(), spacing=-1.0), ParameterError, r"spacing")
    case(fn, "number", "spacing nan", lambda t: reg(blob_map(), spacing=float("nan")), ParameterError, r"spacing")
    case(fn, "range", "max_shift -1", lambda t: reg(blob_map(), max_shift_nm=-1.0), ParameterError, r"max_shift")
    case(fn, "number", "rotation str", lambda t: reg(blob_map(), rotation="yes"), ParameterError, r"rotation")

    def reg_far(t):
        # fields of view 1000 nm apart are fine: the shift is found on a common grid
        r = reg(blob_map().assign_coords(x=blob_map().x + 1000.0))
        np.testing.assert_allclose(r.shift_nm, (0.0, -1000.0), atol=0.05)

    case(fn, "mismatch", "fields of view 1000 nm apart", reg_far, OK)
    case(
        fn,
        "units",
        "nm vs px",
        lambda t: reg(
            blob_map(),
            with_coord(with_coord(blob_map(), "x", blob_map().x.values, "px"), "y", blob_map().y.values, "px"),
        ),
        CalibrationError,
        r"px|pixel|units",
    )

    # to_common_grid / check_same_grid / match_resolution
    fn = "holocorr.registration.to_common_grid"
    _map_kinds(fn, lambda m: G.to_common_grid(m, map_b()))
    case(fn, "empty", "no maps", lambda t: G.to_common_grid(), (ShapeError, ParameterError), r"at least one|map")
    case(fn, "range", "spacing 0", lambda t: G.to_common_grid(map_a(), spacing=0.0), ParameterError, r"spacing")
    case(fn, "number", "spacing str", lambda t: G.to_common_grid(map_a(), spacing="1nm"), ParameterError, r"spacing")
    case(
        fn,
        "range",
        "spacing triple",
        lambda t: G.to_common_grid(map_a(), spacing=(1.0, 1.0, 1.0)),
        ParameterError,
        r"spacing",
    )
    case(fn, "choice", "extent", lambda t: G.to_common_grid(map_a(), extent="all"), ParameterError, r"extent")
    case(
        fn,
        "mismatch",
        "no overlap",
        lambda t: G.to_common_grid(map_a(), map_b().assign_coords(x=map_b().x + 500.0)),
        ShapeError,
        r"overlap",
    )

    def grid_angstrom(t):
        (a,) = G.to_common_grid(_angstrom(map_a()))
        assert a.x.attrs["units"] == "nm"
        np.testing.assert_allclose(a.x.values, map_a().x.values, atol=1e-9)
        np.testing.assert_allclose(a.values, map_a().values, atol=1e-9)

    case(fn, "units", "Å converted to nm", grid_angstrom, OK)

    fn = "holocorr.registration.check_same_grid"
    case(
        fn,
        "mismatch",
        "shape",
        lambda t: G.check_same_grid(map_a(), map_b().isel(x=slice(0, 40))),
        ShapeError,
        r"shape|grid",
    )
    case(
        fn,
        "mismatch",
        "coords",
        lambda t: G.check_same_grid(map_a(), map_b().assign_coords(x=map_b().x + 0.5)),
        ShapeError,
        r"coordinate|grid",
    )
    case(
        fn,
        "units",
        "px vs nm",
        lambda t: G.check_same_grid(map_a(), xr.DataArray(map_b().values, dims=("y", "x"))),
        CalibrationError,
        r"px|pixel",
    )
    case(fn, "units", "Å vs nm", lambda t: G.check_same_grid(map_a(), _angstrom(map_b())), OK)  # same grid: passes
    case(fn, "ndim", "1-D", lambda t: G.check_same_grid(map_a(), map_b()[0]), ShapeError, r"dims")
    case(
        fn,
        "type",
        "ndarray",
        lambda t: G.check_same_grid(map_a(), map_b().values),
        (ShapeError, CalibrationError),
        r"DataArray|px|pixel|coordinate",
    )
    case(
        fn,
        "number",
        "names wrong length",
        lambda t: G.check_same_grid(map_a(), map_b(), names=["a"]),
        ParameterError,
        r"names",
    )

    fn = "holocorr.registration.match_resolution"
    mr = lambda a, b=None, **k: G.match_resolution(a, map_b() if b is None else b, **{"fwhm": (2.0, 3.0), **k})  # noqa
    _map_kinds(fn, mr)
    case(
        fn,
        "coords",
        "unknown resolution",
        lambda t: G.match_resolution(map_a(), map_b()),
        ParameterError,
        r"resolution|fwhm",
    )
    case(fn, "range", "fwhm 0", lambda t: mr(map_a(), fwhm=(0.0, 3.0)), ParameterError, r"fwhm|FWHM")
    case(fn, "number", "fwhm nan", lambda t: mr(map_a(), fwhm=(float("nan"), 3.0)), ParameterError, r"fwhm|FWHM")
    case(fn, "number", "fwhm scalar", lambda t: mr(map_a(), fwhm=2.0), ParameterError, r"fwhm")
    case(fn, "number", "fwhm str", lambda t: mr(map_a(), fwhm=("2", "3")), ParameterError, r"fwhm|FWHM")
    case(
        fn,
        "range",
        "psf attr -1",
        lambda t: G.match_resolution(map_a().assign_attrs(psf_fwhm_nm=-1.0), map_b().assign_attrs(psf_fwhm_nm=2.0)),
        ParameterError,
        r"resolution must be finite and > 0 nm",
    )

    def match_angstrom(t):
        a, b = G.match_resolution(_angstrom(map_a()), map_b(), fwhm=(2.0, 3.0))
        a2, b2 = G.match_resolution(map_a(), map_b(), fwhm=(2.0, 3.0))
        np.testing.assert_allclose(a.values, a2.values, atol=1e-9)

    case(fn, "units", "Å coords", match_angstrom, OK)

    # find_interface / distance_coordinate
    fn = "holocorr.registration.find_interface"
    # a map without coords is allowed here: the interface is then in px
    _map_kinds(
        fn,
        G.find_interface,
        skip=("no coords",),
        units_check=lambda t: np.testing.assert_allclose(
            G.find_interface(_angstrom(map_a())).point, G.find_interface(map_a()).point, atol=1e-6
        ),
    )
    case(fn, "range", "flat map", lambda t: G.find_interface(map_a() * 0 + 1.0), ReconstructionError, r"interface")
    case(fn, "choice", "model", lambda t: G.find_interface(map_a(), model="cubic"), ParameterError, r"model")
    case(fn, "choice", "hint side", lambda t: G.find_interface(map_a(), hint="+z"), ParameterError, r"hint|side")
    case(
        fn, "choice", "hint key", lambda t: G.find_interface(map_a(), hint={"side": "+x"}), ParameterError, r"hint|key"
    )
    case(
        fn,
        "range",
        "hint region outside",
        lambda t: G.find_interface(map_a(), hint={"region": {"x": (500, 600)}}),
        (ParameterError, ShapeError),
        r"region",
    )
    case(fn, "type", "hint number", lambda t: G.find_interface(map_a(), hint=3), ParameterError, r"hint")
    fn = "holocorr.registration.distance_coordinate"
    iface = lambda: G.find_interface(map_a())  # noqa: E731
    _map_kinds(fn, lambda m: G.distance_coordinate(m, iface()), skip=("tiny",))
    case(
        fn,
        "type",
        "interface dict",
        lambda t: G.distance_coordinate(map_a(), {"point": (0, 0)}),
        ParameterError,
        r"Interface",
    )
    case(
        fn,
        "units",
        "px map, nm interface",
        lambda t: G.distance_coordinate(xr.DataArray(map_a().values, dims=("y", "x")), iface()),
        CalibrationError,
        r"px|units",
    )

    def dist_angstrom(t):
        d1 = G.distance_coordinate(_angstrom(map_a()), iface()).distance
        d2 = G.distance_coordinate(map_a(), iface()).distance
        np.testing.assert_allclose(d1.values, d2.values, atol=1e-9)
        assert d1.attrs["units"] == "nm"

    case(fn, "units", "Å map, nm interface", dist_angstrom, OK)


# ------------------------------------------------------------------------------- correlation
def _prof_kinds(fn, f, data=prof_a, *, min_n=8, axis_ok=None):
    """Kinds shared by the functions of 1-D profiles over distance [nm]."""
    case(fn, "ndim", "2-D", lambda t: f(map_a()), ShapeError, r"1-D|dims|dimension")
    case(fn, "ndim", "0-D", lambda t: f(data()[0]), ShapeError, r"1-D|dims|dimension")
    case(fn, "empty", "0 samples", lambda t: f(data()[:0]), ShapeError, r"empty|samples|short|at least")
    case(fn, "tiny", f"{min_n - 1} samples", lambda t: f(data()[: min_n - 1]), ShapeError, r"samples|short|at least")
    case(fn, "nonfinite", "nan", lambda t: f(poke(data(), np.nan)), DataError, r"NaN")
    case(fn, "nonfinite", "inf", lambda t: f(poke(data(), np.inf)), DataError, r"NaN|inf")
    case(fn, "dtype", "complex", lambda t: f(data().astype(complex)), DataError, r"complex")
    case(fn, "dtype", "bool", lambda t: f(data() > 0.5), DataError, r"bool|dtype")
    case(fn, "dtype", "object", lambda t: f(data().astype(object)), DataError, r"dtype|numeric")
    case(fn, "dtype", "str", lambda t: f("profile.nc"), (DataError, ShapeError), r"string|DataArray")
    case(fn, "type", "Dataset", lambda t: f(data().to_dataset(name="p")), ShapeError, r"Dataset")
    case(fn, "range", "constant", lambda t: f(data() * 0 + 1.0), DataError, r"constant")
    case(
        fn,
        "units",
        "position in eV",
        lambda t: f(with_coord(data(), "distance", data().distance.values, "eV")),
        CalibrationError,
        r"length|units",
    )
    if axis_ok is None:
        case(
            fn,
            "axis",
            "descending distance",
            lambda t: f(descending(data(), "distance")),
            CalibrationError,
            r"ascending|sort",
        )
        case(
            fn,
            "axis",
            "non-uniform distance",
            lambda t: f(nonuniform(data(), "distance")),
            CalibrationError,
            r"uniform",
        )
    else:
        # positions in any order are samples of a function: the result must be that of the sorted profile
        def sorted_same(t):
            p = descending(data(), "distance")
            axis_ok(f(p), f(p.sortby("distance")))

        case(fn, "axis", "descending distance (same as sorted)", sorted_same, OK)


def _correlation():
    from holocorr import correlation as C

    # profile
    fn = "holocorr.correlation.profile"
    line = lambda m, **k: C.profile(m, **{"start": (24.0, 2.0), "end": (24.0, 45.0), "width": 6.0, **k})  # noqa
    # no coords: pixel positions (documented); no units: nm assumed (documented)
    _map_kinds(fn, line, skip=("no coords", "tiny", "no units"))
    case(
        fn,
        "tiny",
        "1x1 map",
        lambda t: line(map_a()[:1, :1], start=(0.0, 0.0), end=(0.0, 0.5)),
        (ShapeError, ParameterError),
        r"at least|outside",
    )
    case(fn, "coords", "no start/end", lambda t: C.profile(map_a()), ParameterError, r"start|along")
    case(
        fn,
        "range",
        "equal end points",
        lambda t: line(map_a(), end=(24.0, 2.0)),
        ParameterError,
        r"0 nm apart.*distinct",
    )
    case(
        fn,
        "range",
        "line outside map",
        lambda t: line(map_a(), start=(500.0, 2.0), end=(500.0, 40.0)),
        ParameterError,
        r"outside",
    )
    case(fn, "range", "width -1", lambda t: line(map_a(), width=-1.0), ParameterError, r"width")
    case(fn, "number", "width nan", lambda t: line(map_a(), width=float("nan")), ParameterError, r"width")
    case(fn, "range", "step 0", lambda t: line(map_a(), step=0.0), ParameterError, r"step")
    case(fn, "number", "start str", lambda t: line(map_a(), start="left"), ParameterError, r"start")
    case(fn, "number", "start nan", lambda t: line(map_a(), start=(float("nan"), 2.0)), ParameterError, r"start")
    case(fn, "choice", "along", lambda t: C.profile(map_a(), along="radius"), ParameterError, r"along")
    case(
        fn,
        "coords",
        "no distance coordinate",
        lambda t: C.profile(map_a(), along="distance"),
        CalibrationError,
        r"distance",
    )
    case(
        fn,
        "range",
        "mask selects nothing",
        lambda t: C.profile(_with_distance(), along="distance", mask={"y": (500, 600)}),
        ParameterError,
        r"mask|pixel",
    )
    case(
        fn,
        "mismatch",
        "mask shape",
        lambda t: C.profile(_with_distance(), along="distance", mask=np.ones((3, 3), bool)),
        (ShapeError, ParameterError),
        r"mask",
    )

    def profile_angstrom(t):
        a = line(_angstrom(map_a()))  # coords converted to nm; start/end/width in nm
        b = line(map_a())
        np.testing.assert_allclose(a.values, b.values, atol=1e-9)
        np.testing.assert_allclose(a.distance.values, b.distance.values, atol=1e-9)

    case(fn, "units", "map in Å", profile_angstrom, OK)

    # fit_front
    fn = "holocorr.correlation.fit_front"
    ff = lambda p, **k: C.fit_front(p, **{"n_boot": 0, **k})  # noqa: E731

    def same_front(a, b):
        assert a.position_nm == pytest_approx(b.position_nm, abs=1e-6) and a.step == pytest_approx(b.step, rel=1e-6)
        assert a.position_nm == pytest_approx(79.0 - 40.3, abs=0.3) and a.step == pytest_approx(-1.0, abs=0.03)

    _prof_kinds(fn, ff, axis_ok=same_front)

    def front_nonuniform(t):
        p = nonuniform(prof_a(), "distance")
        f = ff(p)
        assert f.position_nm == pytest_approx(np.interp(40.3, np.arange(80), p.distance.values), abs=0.5)

    case(fn, "axis", "non-uniform distance", front_nonuniform, OK)
    case(fn, "choice", "model", lambda t: ff(prof_a(), model="tanh"), ParameterError, r"model")
    case(fn, "range", "n_boot -1", lambda t: ff(prof_a(), n_boot=-1), ParameterError, r"n_boot")
    case(fn, "number", "n_boot 2.5", lambda t: ff(prof_a(), n_boot=2.5), ParameterError, r"n_boot")
    case(fn, "range", "level 1.5", lambda t: ff(prof_a(), level=1.5), ParameterError, r"level")
    case(fn, "range", "level 0", lambda t: ff(prof_a(), level=0.0), ParameterError, r"level")
    case(
        fn,
        "range",
        "within outside",
        lambda t: ff(prof_a(), within=(500.0, 600.0)),
        (ParameterError, ShapeError),
        r"within|samples",
    )
    case(
        fn,
        "range",
        "within reversed (either order)",
        lambda t: np.testing.assert_allclose(
            ff(prof_a(), within=(60.0, 10.0)).position_nm, ff(prof_a(), within=(10.0, 60.0)).position_nm
        ),
        OK,
    )
    case(fn, "number", "within str", lambda t: ff(prof_a(), within="10-60"), ParameterError, r"within")
    case(
        fn,
        "nonfinite",
        "profile_error 0",
        lambda t: ff(prof_a().assign_coords(profile_error=prof_a().profile_error * 0)),
        DataError,
        r"profile_error",
    )
    case(
        fn,
        "nonfinite",
        "profile_error nan",
        lambda t: ff(prof_a().assign_coords(profile_error=poke(prof_a().profile_error, np.nan))),
        DataError,
        r"profile_error",
    )
    case(fn, "number", "rng str", lambda t: C.fit_front(prof_a(), n_boot=5, rng="seed"), ParameterError, r"rng")

    def front_angstrom(t):
        p = with_coord(prof_a(), "distance", prof_a().distance.values * 10.0, "Å")
        a, b = ff(p), ff(prof_a())
        assert a.position_nm == pytest_approx(b.position_nm, abs=1e-6)
        assert a.position_nm == pytest_approx(40.3, abs=0.3)

    case(fn, "units", "distance in Å", front_angstrom, OK)

    # compare
    fn = "holocorr.correlation.compare"

    def cmp_(a, b=None, **k):
        return C.compare(a, prof_b() if b is None else b, **{"n_boot": 0, "front_model": None, "rng": 0, **k})

    def same_cmp(a, b):
        assert a.r == pytest_approx(b.r, abs=1e-9) and a.lag_nm == pytest_approx(b.lag_nm, abs=1e-9)

    _prof_kinds(fn, cmp_, min_n=10, axis_ok=same_cmp)

    def compare_nonuniform(t):
        b = nonuniform(prof_b(), "distance")
        c = cmp_(prof_a(), b)
        assert c.lag_nm == pytest_approx(np.interp(41.0, np.arange(80), b.distance.values) - 40.3, abs=1.0)

    case(fn, "axis", "non-uniform b", compare_nonuniform, OK)
    case(fn, "nonfinite", "b nan", lambda t: cmp_(prof_a(), poke(prof_b(), np.nan)), DataError, r"NaN")
    case(
        fn,
        "mismatch",
        "no overlap",
        lambda t: cmp_(prof_a(), prof_b().assign_coords(distance=prof_b().distance + 500)),
        ShapeError,
        r"overlap",
    )
    case(
        fn,
        "units",
        "px vs nm",
        lambda t: cmp_(prof_a(), with_coord(prof_b(), "distance", prof_b().distance.values, "px")),
        CalibrationError,
        r"px",
    )
    case(fn, "range", "n_boot -1", lambda t: cmp_(prof_a(), n_boot=-1), ParameterError, r"n_boot")
    case(fn, "range", "level 1", lambda t: cmp_(prof_a(), level=1.0), ParameterError, r"level")
    case(fn, "range", "step -1", lambda t: cmp_(prof_a(), step=-1.0), ParameterError, r"step")
    case(fn, "range", "error_ratio -1", lambda t: cmp_(prof_a(), error_ratio=-1.0), ParameterError, r"error_ratio")
    case(
        fn,
        "number",
        "error_ratio nan",
        lambda t: cmp_(prof_a(), error_ratio=float("nan")),
        ParameterError,
        r"error_ratio",
    )
    case(fn, "choice", "front_model", lambda t: cmp_(prof_a(), front_model="tanh"), ParameterError, r"front_model")
    case(fn, "range", "block 0", lambda t: cmp_(prof_a(), block=0, n_boot=10), ParameterError, r"block")
    case(fn, "range", "smooth -1", lambda t: cmp_(prof_a(), smooth_nm=-1.0), ParameterError, r"smooth")
    case(fn, "range", "max_lag 0", lambda t: cmp_(prof_a(), max_lag_nm=0.0), ParameterError, r"max_lag")

    def compare_angstrom(t):
        b_a = with_coord(prof_b(), "distance", prof_b().distance.values * 10.0, "Å")
        a, b = cmp_(prof_a(), b_a), cmp_(prof_a(), prof_b())
        assert a.r == pytest_approx(b.r, abs=1e-9) and a.lag_nm == pytest_approx(b.lag_nm, abs=1e-6)
        assert a.lag_nm == pytest_approx(0.7, abs=0.3)

    case(fn, "units", "b in Å", compare_angstrom, OK)

    # compare_maps
    fn = "holocorr.correlation.compare_maps"
    cm = lambda a, b=None, **k: C.compare_maps(a, map_b() if b is None else b, **{"n_boot": 0, "rng": 0, **k})  # noqa
    # both maps spoiled alike (a pixel-by-pixel comparison needs only one grid, in any units or order)
    _map_kinds(fn, lambda m: cm(m, m), skip=("no coords", "no units", "axis", "units", "tiny"))
    case(
        fn,
        "tiny",
        "3x3 px",
        lambda t: cm(map_a()[:3, :3], map_b()[:3, :3]),
        (ShapeError, ParameterError),
        r"10|pixels|at least",
    )
    case(
        fn,
        "mismatch",
        "grid",
        lambda t: cm(map_a(), map_b().assign_coords(x=map_b().x + 0.5)),
        CalibrationError,
        r"grid|register",
    )
    case(
        fn,
        "mismatch",
        "shape",
        lambda t: cm(map_a(), map_b().isel(x=slice(0, 40))),
        (CalibrationError, ShapeError),
        r"grid|shape",
    )
    case(fn, "range", "constant", lambda t: cm(map_a() * 0 + 1.0), DataError, r"constant")
    case(
        fn,
        "range",
        "mask < 10 px",
        lambda t: cm(map_a(), mask={"x": (0.0, 0.5), "y": (0.0, 3.0)}),
        ParameterError,
        r"mask|10",
    )
    case(fn, "mismatch", "mask shape", lambda t: cm(map_a(), mask=np.ones((3, 3), bool)), ParameterError, r"mask")
    case(fn, "range", "level 2", lambda t: cm(map_a(), level=2.0), ParameterError, r"level")
    case(fn, "range", "block 0", lambda t: cm(map_a(), block=(0, 4), n_boot=5), ParameterError, r"block")
    case(fn, "range", "error_ratio -1", lambda t: cm(map_a(), error_ratio=-1.0), ParameterError, r"error_ratio")
    case(
        fn,
        "units",
        "Å vs nm on the same grid",
        lambda t: np.testing.assert_allclose(cm(map_a(), _angstrom(map_b())).r, cm(map_a(), map_b()).r),
        OK,
    )

    # potential_vs_mip
    fn = "holocorr.correlation.potential_vs_mip"
    dv = lambda: (-0.8 * prof_a()).assign_attrs(units="V", long_name="potential change")  # noqa: E731
    li = lambda: prof_b().assign_attrs(units="1", long_name="Li change")  # noqa: E731

    def pvm(d, li_=None, **k):
        return C.potential_vs_mip(d, li() if li_ is None else li_, **{"space_charge": False, "match": False, **k})

    def same_pvm(a, b):
        assert a.amplitude_v_per_li == pytest_approx(b.amplitude_v_per_li, rel=1e-9) and a.verdict == b.verdict

    _prof_kinds(fn, pvm, data=dv, min_n=12, axis_ok=same_pvm)
    case(fn, "nonfinite", "li nan", lambda t: pvm(dv(), poke(li(), np.nan)), DataError, r"NaN")
    case(fn, "range", "li zero change", lambda t: pvm(dv(), li() * 0), DataError, r"constant|zero")
    case(fn, "coords", "delta without units", lambda t: pvm(_no_units_attr(dv())), CalibrationError, r"units")
    case(fn, "units", "delta in eV", lambda t: pvm(dv().assign_attrs(units="eV")), CalibrationError, r"units")
    case(
        fn,
        "coords",
        "phase without thickness",
        lambda t: pvm(dv().assign_attrs(units="rad", beam_energy_kv=300.0)),
        CalibrationError,
        r"thickness",
    )
    case(
        fn,
        "coords",
        "phase without beam energy",
        lambda t: pvm(dv().assign_attrs(units="rad"), thickness=50.0),
        CalibrationError,
        r"beam",
    )
    case(
        fn,
        "range",
        "thickness 0",
        lambda t: pvm(dv().assign_attrs(units="rad", beam_energy_kv=300.0), thickness=0.0),
        ParameterError,
        r"thickness",
    )
    case(
        fn,
        "mismatch",
        "no overlap",
        lambda t: pvm(dv(), li().assign_coords(distance=li().distance + 500.0)),
        ShapeError,
        r"overlap",
    )
    case(fn, "range", "k_mip_range reversed", lambda t: pvm(dv(), k_mip_range=(0.6, -0.6)), ParameterError, r"k_mip")
    case(
        fn, "number", "k_mip_range nan", lambda t: pvm(dv(), k_mip_range=(float("nan"), 0.6)), ParameterError, r"k_mip"
    )
    case(fn, "range", "alpha 0", lambda t: pvm(dv(), alpha=0.0), ParameterError, r"alpha")
    case(fn, "range", "level 1.5", lambda t: pvm(dv(), level=1.5), ParameterError, r"level")
    case(
        fn, "choice", "electrode_shape", lambda t: pvm(dv(), electrode_shape="erf"), ParameterError, r"electrode_shape"
    )
    case(fn, "number", "li_baseline str", lambda t: pvm(dv(), li_baseline="bulk"), ParameterError, r"li_baseline")
    case(fn, "range", "step 0", lambda t: pvm(dv(), step=0.0), ParameterError, r"step")

    def pvm_mv(t):
        a = pvm(dv())
        b = pvm((dv() * 1e3).assign_attrs(units="mV"))
        assert a.amplitude_v_per_li == pytest_approx(b.amplitude_v_per_li, rel=1e-9)
        assert a.amplitude_v_per_li == pytest_approx(-0.8, rel=0.1)

    case(fn, "units", "delta in mV", pvm_mv, OK)


def _no_units_attr(da):
    out = da.copy()
    out.attrs = {k: v for k, v in da.attrs.items() if k != "units"}
    return out


@functools.cache
def _with_distance():
    from holocorr import registration as G

    return G.distance_coordinate(map_a(), G.find_interface(map_a()))


# ---------------------------------------------------------------------------------- files
def _io_files():
    """tests/io/_io_files.py (writers of small DM/MRC/Velox files), imported by path."""
    import importlib.util
    import sys

    if "_io_files" in sys.modules:
        return sys.modules["_io_files"]
    path = Path(__file__).resolve().parents[1] / "io" / "_io_files.py"
    spec = importlib.util.spec_from_file_location("_io_files", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules["_io_files"] = mod
    return mod


def write_image(path, data, *, step_nm=PX, units="nm", kv=300.0, dtype=np.float32):
    """Write a (y, x) image in the format of `path`'s extension with a calibration; return the path.

    Microscope formats store `dtype` (float32, or e.g. uint16 counts); .nc/.zarr keep the data's dtype.
    """
    path = Path(path)
    data = np.asarray(data)
    ext = path.suffix.lower()
    f = _io_files()
    ny, nx = data.shape
    if ext in (".nc", ".zarr"):
        holocorr.save(image(data, step=step_nm, units=units, beam_energy_kv=kv), path)
    elif ext in (".dm3", ".dm4"):
        f.write_dm(
            path,
            data.astype(dtype),
            scales=[step_nm, step_nm],
            offsets=[0, 0],
            units=[units, units],
            version=3 if ext == ".dm3" else 4,
            image_tags=f.dm_microscope_tags(voltage_v=kv * 1e3),
        )
    elif ext == ".mrc":
        f.write_mrc(path, data, angstrom_per_px=None if step_nm is None else step_nm * 10.0)
    elif ext == ".emd":
        f.write_velox(path, [(data.astype(dtype), f.velox_metadata(pixel_m=step_nm * 1e-9, kv=kv))])
    elif ext in (".hspy", ".tif"):
        import rsciio.hspy
        import rsciio.tiff

        axes = [f.axis("y", ny, step_nm, 0.0, units), f.axis("x", nx, step_nm, 0.0, units)]
        writer = rsciio.hspy.file_writer if ext == ".hspy" else rsciio.tiff.file_writer
        writer(str(path), f.rsciio_signal(data.astype(dtype), axes))
    else:
        raise AssertionError(ext)
    return path


FORMATS = (".dm3", ".dm4", ".emd", ".hspy", ".tif", ".mrc", ".nc", ".zarr")


def _small(n=16):
    return (np.arange(n * n, dtype=np.float64).reshape(n, n) % 97) + 10.0


def _truncated(t, ext, where):
    """A valid small file cut short (`where` = "header" or "data")."""
    p = write_image(t / f"cut{ext}", _small())
    if ext == ".zarr":
        # header: the store's root metadata; data: the chunk of the data variable
        victim = p / "zarr.json" if where == "header" else next((p / "data" / "c").rglob("0"))
        if victim.is_dir():
            victim = next(q for q in victim.rglob("*") if q.is_file())
        raw = victim.read_bytes()
        victim.write_bytes(raw[: 10 if where == "header" else len(raw) // 2])
        return p
    raw = p.read_bytes()
    p.write_bytes(raw[:40] if where == "header" else raw[: len(raw) - 24])
    return p


def _corrupt(t, ext):
    """A valid small file whose first structure bytes are overwritten with garbage."""
    p = write_image(t / f"bad{ext}", _small())
    if ext == ".zarr":
        meta = [q for q in p.rglob("*") if q.name in ("zarr.json", ".zarray", ".zattrs", ".zmetadata")]
        for q in meta:
            q.write_bytes(b"\x00\xff{not json" * 3)
        return p
    raw = bytearray(p.read_bytes())
    raw[0:64] = bytes((17 * i + 5) % 256 for i in range(64))
    p.write_bytes(bytes(raw))
    return p


def _io_cases():
    from holocorr import io as IO

    fn = "holocorr.io.load"
    for ext in FORMATS:
        case(fn, "file-missing", ext, lambda t, e=ext: IO.load(t / f"nope{e}"), FileFormatError, r"no such file")
        case(
            fn,
            "file-truncated",
            f"{ext} header",
            lambda t, e=ext: IO.load(_truncated(t, e, "header")),
            FileFormatError,
            r"cut\.|truncated|corrupt",
        )
        case(
            fn,
            "file-truncated",
            f"{ext} data",
            lambda t, e=ext: IO.load(_truncated(t, e, "data")),
            FileFormatError,
            r"cut\.|truncated|corrupt",
        )
        case(fn, "file-corrupt", ext, lambda t, e=ext: IO.load(_corrupt(t, e)), FileFormatError, r"bad\.|corrupt")
        if ext != ".zarr":
            case(
                fn,
                "empty",
                f"{ext} 0 bytes",
                lambda t, e=ext: IO.load(_touch(t / f"empty{e}")),
                FileFormatError,
                r"empty \(0 bytes\)",
            )

        def roundtrip(t, e=ext):
            # a valid file of each format loads with the right calibration (the baseline of the cases above)
            da = IO.load(write_image(t / f"ok{e}", _small(), step_nm=0.25))
            np.testing.assert_allclose(np.asarray(da.values, dtype=float), _small())
            assert da.x.attrs["units"] == "nm" and float(da.x[1] - da.x[0]) == pytest_approx(0.25, rel=1e-6)

        case(fn, "units", f"{ext} calibrated in nm", roundtrip, OK)
    case(fn, "file-missing", "directory", lambda t: IO.load(_mkdir(t / "folder.dm3")), FileFormatError, r"directory")
    case(
        fn,
        "file-missing",
        "unknown extension",
        lambda t: IO.load(_touch(t / "notes.txt", b"x")),
        FileFormatError,
        r"supported formats",
    )
    case(fn, "type", "path is a number", lambda t: IO.load(42), ParameterError, r"path")
    case(
        fn,
        "number",
        "lazy str",
        lambda t: IO.load(write_image(t / "a.nc", _small()), lazy="yes"),
        ParameterError,
        r"lazy",
    )
    case(
        fn,
        "range",
        "index 5 of 1",
        lambda t: IO.load(write_image(t / "a.emd", _small()), index=5),
        ParameterError,
        r"index",
    )
    case(
        fn,
        "choice",
        "variable",
        lambda t: IO.load(write_image(t / "a.nc", _small()), variable="phase"),
        ParameterError,
        r"variable",
    )

    def uncalibrated(t, ext, **kw):
        import pytest

        p = write_image(t / f"u{ext}", _small(), **kw)
        with pytest.warns(UncalibratedWarning):
            da = IO.load(p)
        assert da.x.attrs["units"] == "px" and float(da.x[1] - da.x[0]) == 1.0

    case(fn, "file-metadata", ".dm3 zero scale", lambda t: uncalibrated(t, ".dm3", step_nm=0.0), OK)
    case(fn, "file-metadata", ".dm4 negative scale", lambda t: uncalibrated(t, ".dm4", step_nm=-0.5), OK)
    case(fn, "file-metadata", ".dm3 NaN scale", lambda t: uncalibrated(t, ".dm3", step_nm=float("nan")), OK)
    case(
        fn,
        "file-metadata",
        ".hspy undefined units",
        lambda t: uncalibrated(t, ".hspy", step_nm=1.0, units="<undefined>"),
        OK,
    )
    case(fn, "file-metadata", ".mrc no cell", lambda t: uncalibrated(t, ".mrc", step_nm=None), OK)
    case(fn, "file-metadata", ".emd zero pixel size", lambda t: uncalibrated(t, ".emd", step_nm=0.0), OK)

    def uint16_file(t, ext):
        u, _ = counts_holo()
        da = IO.load(write_image(t / f"u{ext}", u.values, dtype=np.uint16))
        assert da.dtype == np.uint16 and int(da.max()) == int(u.max()) > 32767
        np.testing.assert_array_equal(da.values, u.values)

    for ext in (".dm4", ".tif", ".emd"):
        case(fn, "uint16", f"{ext} counts up to 60000", lambda t, e=ext: uint16_file(t, e), OK)

    def zero_kv(t):
        da = IO.load(write_image(t / "kv.dm3", _small(), kv=0.0))
        assert "beam_energy_kv" not in da.attrs or da.attrs["beam_energy_kv"] > 0

    case(fn, "file-metadata", ".dm3 voltage 0 V", zero_kv, OK)

    def zarr_missing_chunk(t):
        p = write_image(t / "hole.zarr", _small())
        next(q for q in (p / "data" / "c").rglob("*") if q.is_file()).unlink()
        IO.load(p)

    case(
        fn,
        "file-truncated",
        ".zarr chunk file deleted",
        zarr_missing_chunk,
        FileFormatError,
        r"chunk|incomplete|missing",
    )

    fn = "holocorr.io.load_dataset"
    for ext in (".nc", ".zarr"):
        case(
            fn, "file-missing", ext, lambda t, e=ext: IO.load_dataset(t / f"nope{e}"), FileFormatError, r"no such file"
        )
        case(
            fn,
            "file-truncated",
            ext,
            lambda t, e=ext: IO.load_dataset(_truncated(t, e, "data")),
            FileFormatError,
            r"cut\.|truncated|corrupt",
        )
        case(
            fn, "file-corrupt", ext, lambda t, e=ext: IO.load_dataset(_corrupt(t, e)), FileFormatError, r"bad\.|corrupt"
        )
    case(
        fn,
        "file-corrupt",
        ".dm3 is not NetCDF",
        lambda t: IO.load_dataset(write_image(t / "a.dm3", _small())),
        FileFormatError,
        r"\.nc|\.zarr|NetCDF",
    )
    case(
        fn,
        "number",
        "lazy str",
        lambda t: IO.load_dataset(write_image(t / "a.nc", _small()), lazy="no"),
        ParameterError,
        r"lazy",
    )

    fn = "holocorr.io.save"
    case(
        fn,
        "file-missing",
        "folder missing",
        lambda t: IO.save(map_a(), t / "no" / "x.nc"),
        FileFormatError,
        r"folder|directory",
    )
    case(fn, "choice", "extension", lambda t: IO.save(map_a(), t / "x.h5"), FileFormatError, r"\.nc|\.zarr")
    case(fn, "type", "ndarray", lambda t: IO.save(map_a().values, t / "x.nc"), ParameterError, r"DataArray")
    case(fn, "type", "dict", lambda t: IO.save({"a": 1}, t / "x.nc"), ParameterError, r"DataArray")
    case(
        fn,
        "number",
        "overwrite str",
        lambda t: IO.save(map_a(), t / "x.nc", overwrite="yes"),
        ParameterError,
        r"overwrite",
    )
    case(
        fn,
        "range",
        "exists",
        lambda t: [IO.save(map_a(), t / "x.nc"), IO.save(map_a(), t / "x.nc")],
        FileFormatError,
        r"exists",
    )
    case(
        fn,
        "range",
        "target is an input",
        lambda t: IO.save(map_a(), write_image(t / "in.nc", _small()), overwrite=True, inputs=[t / "in.nc"]),
        FileFormatError,
        r"input",
    )
    case(
        fn,
        "dtype",
        "complex coordinate",
        lambda t: IO.save(map_a().assign_coords(x=map_a().x + 1j), t / "x.nc"),
        DataError,
        r"complex",
    )
    mixed = lambda: xr.DataArray(np.array([[1.0, "a"], [2.0, "b"]], dtype=object), dims=("y", "x"))  # noqa: E731
    case(
        fn,
        "dtype",
        "object array of float and str",
        lambda t: IO.save(mixed(), t / "x.nc"),
        DataError,
        r"object array holding number, text",
    )
    case(
        fn,
        "dtype",
        "object array of dicts (zarr)",
        lambda t: IO.save(xr.DataArray(np.array([{}, {}], dtype=object), dims="x"), t / "x.zarr"),
        DataError,
        r"object array holding dict",
    )


def _touch(p, content=b""):
    p.write_bytes(content)
    return p


def _mkdir(p):
    p.mkdir()
    return p


# ----------------------------------------------------------------------------------- series
def frame_files(t, n=3, ext=".nc", values=None):
    """Write n hologram frames (64x64, 0.5 nm px) as files; return their paths."""
    paths = []
    for k in range(n):
        v = series().values[k % 3] if values is None else values[k]
        paths.append(write_image(t / f"holo_{k}{ext}", v))
    return paths


def _series_cases():
    from holocorr import series as S

    fn = "holocorr.io.open_series"
    OS = holocorr.open_series
    case(
        fn,
        "file-missing",
        "glob matches nothing",
        lambda t: OS(str(t / "holo_*.dm4")),
        FileFormatError,
        r"no file|match",
    )
    case(
        fn,
        "file-missing",
        "one file missing",
        lambda t: OS([*frame_files(t, 2), t / "holo_9.nc"]),
        FileFormatError,
        r"holo_9",
    )
    case(
        fn,
        "file-truncated",
        "one frame truncated",
        lambda t: OS([*frame_files(t, 2), _truncated(t, ".dm4", "header")]),
        FileFormatError,
        r"cut\.dm4",
    )
    case(
        fn,
        "file-corrupt",
        "one frame corrupt",
        lambda t: OS([*frame_files(t, 2), _corrupt(t, ".mrc")]),
        FileFormatError,
        r"bad\.mrc",
    )
    case(
        fn,
        "file-corrupt",
        "every frame corrupt (skip)",
        lambda t: OS([_corrupt(t, ".mrc"), _corrupt(t, ".dm3")], on_error="skip"),
        FileFormatError,
        r"every|all|no frame|none",
    )

    def skip_one(t):
        import pytest

        with pytest.warns(HolocorrWarning, match="cut"):
            s = OS([*frame_files(t, 2), _truncated(t, ".dm4", "header")], on_error="skip")
        assert s.sizes["frame"] == 2

    case(fn, "file-truncated", "one frame truncated (skip)", skip_one, OK)
    case(
        fn,
        "mismatch",
        "frame shapes",
        lambda t: OS([*frame_files(t, 2), write_image(t / "small.nc", _small())]),
        ShapeError,
        r"shape",
    )
    case(
        fn,
        "mismatch",
        "pixel sizes",
        lambda t: OS([*frame_files(t, 2), write_image(t / "fine.nc", series().values[0], step_nm=0.25)]),
        CalibrationError,
        r"y steps of 0.25 nm.*magnification changed",
    )
    case(fn, "ndim", "spectrum file", lambda t: OS([_spectrum_file(t)]), ShapeError, r"\(y, x\)|image|dims")
    case(fn, "range", "chunks 0", lambda t: OS(frame_files(t, 2), chunks=0), ParameterError, r"chunks")
    case(fn, "number", "chunks str", lambda t: OS(frame_files(t, 2), chunks="many"), ParameterError, r"chunks")
    case(fn, "choice", "on_error", lambda t: OS(frame_files(t, 2), on_error="ignore"), ParameterError, r"on_error")
    case(
        fn,
        "mismatch",
        "coords length",
        lambda t: OS(frame_files(t, 2), coords={"bias_v": [0.0, 1.0, 2.0]}),
        ParameterError,
        r"bias_v|coords",
    )
    case(
        fn,
        "dtype",
        "coords str",
        lambda t: OS(frame_files(t, 2), coords={"bias_v": ["a", "b"]}),
        ParameterError,
        r"bias_v|number",
    )
    case(fn, "type", "path is a number", lambda t: OS(42), (ParameterError, FileFormatError), r"path|glob")
    case(fn, "empty", "empty list", lambda t: OS([]), (FileFormatError, ParameterError), r"no file|empty")

    def u16_series(t):
        # uint16 TIFF frames with counts near 2**16, opened lazily, reconstruct as their float64 values do
        u, f = counts_holo()
        s = OS([write_image(t / f"u{k}.tif", u.values, dtype=np.uint16) for k in range(2)])
        assert s.dtype == np.uint16 and int(s.max()) > 32767
        a = S.reconstruct(s, ref()).compute()
        b = S.reconstruct(xr.concat([f, f], dim="frame"), ref().astype(np.float64)).compute()
        np.testing.assert_allclose(a.phase.values, b.phase.values, atol=2e-4)
        np.testing.assert_allclose(a.amplitude.values, b.amplitude.values, rtol=2e-4)

    case("holocorr.series.reconstruct", "uint16", "60000 counts", u16_series, OK)

    fn = "holocorr.series.reconstruct"
    SR = S.reconstruct
    case(fn, "ndim", "1-D", lambda t: SR(series()[0, 0], ref()), ShapeError, r"dims|dimension|frame")
    case(fn, "tiny", "8x8 frames", lambda t: SR(series()[:, :8, :8], ref()[:8, :8]), ShapeError, r"16x16")
    case(fn, "empty", "no frames", lambda t: SR(series()[:0], ref()), ShapeError, r"empty|frame")
    case(fn, "dtype", "complex", lambda t: SR(series().astype(np.complex64), ref()), DataError, r"complex")
    case(fn, "dtype", "str", lambda t: SR("holo_*.dm4", ref()), (DataError, ShapeError), r"string|open_series")
    case(fn, "nonfinite", "nan frame", lambda t: SR(poke(series(), np.nan), ref()).compute(), DataError, r"NaN")
    case(fn, "nonfinite", "reference inf", lambda t: SR(series(), poke(ref(), np.inf)), DataError, r"NaN|inf")
    case(fn, "mismatch", "reference shape", lambda t: SR(series(), ref()[:48, :48]), ShapeError, r"reference")
    case(
        fn,
        "mismatch",
        "ReferenceWave shape",
        lambda t: SR(series(), S.prepare_reference(ref()[:48, :48])),
        ShapeError,
        r"shape|reference",
    )
    case(
        fn,
        "range",
        "options with ReferenceWave",
        lambda t: SR(series(), S.prepare_reference(ref()), radius=0.2),
        ParameterError,
        r"ReferenceWave|prepared",
    )
    case(fn, "choice", "on_error", lambda t: SR(series(), ref(), on_error="ignore"), ParameterError, r"on_error")
    case(fn, "range", "radius 0.9", lambda t: SR(series(), ref(), radius=0.9), ParameterError, r"radius")
    case(fn, "number", "radius str", lambda t: SR(series(), ref(), radius="third"), ParameterError, r"radius")
    case(
        fn,
        "range",
        "flat frames, no reference",
        lambda t: SR(series() * 0 + 100.0),
        ReconstructionError,
        r"no interference fringes",
    )
    case(fn, "type", "Dataset", lambda t: SR(series().to_dataset(name="h"), ref()), ShapeError, r"Dataset")

    fn = "holocorr.series.prepare_reference"
    PR = S.prepare_reference
    case(fn, "ndim", "stack", lambda t: PR(series()), ShapeError, r"one|image|frame|reference")
    case(fn, "tiny", "8x8", lambda t: PR(ref()[:8, :8]), ShapeError, r"at least 16")
    case(fn, "nonfinite", "nan", lambda t: PR(poke(ref(), np.nan)), DataError, r"NaN")
    case(fn, "dtype", "complex", lambda t: PR(ref().astype(complex)), DataError, r"complex")
    case(fn, "range", "no fringes", lambda t: PR(ref() * 0 + 100.0), ReconstructionError, r"no interference fringes")
    case(
        fn,
        "range",
        "noise without fringes",
        lambda t: PR(image(np.random.default_rng(1).poisson(50, (N, N)) * 1.0)),
        ReconstructionError,
        r"no interference fringes",
    )
    case(fn, "choice", "edge", lambda t: PR(ref(), edge="soft"), ParameterError, r"edge")
    case(fn, "range", "apodize 2", lambda t: PR(ref(), apodize=2.0), ParameterError, r"apodize")
    case(fn, "number", "output_shape str", lambda t: PR(ref(), output_shape="big"), ParameterError, r"output_shape")

    W = waves
    for name in ("align", "correct_phase_drift", "average"):
        f = getattr(S, name)
        fn = f"holocorr.series.{name}"
        case(fn, "type", "real DataArray", lambda t, f=f: f(W().phase), DataError, r"real DataArray.*complex waves")
        case(fn, "type", "single reconstruction", lambda t, f=f: f(rec()), ShapeError, r"frame|series")
        case(fn, "type", "dict", lambda t, f=f: f({"wave": W().wave}), ShapeError, r"Dataset returned by")
        case(fn, "dtype", "real wave", lambda t, f=f: f(W().assign(wave=W().amplitude)), DataError, r"complex")
        case(fn, "empty", "no frames", lambda t, f=f: f(W().isel(frame=slice(0, 0))), ShapeError, r"no frames")
    fn = "holocorr.series.align"
    AL = S.align
    case(fn, "choice", "on", lambda t: AL(W(), on="phase"), ParameterError, r"on=")
    case(
        fn,
        "nonfinite",
        "reference frame all NaN",
        lambda t: AL(W().assign(wave=W().wave.where(W().frame != 0))),
        DataError,
        r"reference frame",
    )
    case(fn, "range", "upsample 0", lambda t: AL(W(), upsample=0), ParameterError, r"upsample")
    case(fn, "number", "upsample 1.5", lambda t: AL(W(), upsample=1.5), ParameterError, r"upsample")
    case(fn, "range", "reference 7 of 3", lambda t: AL(W(), reference=7), ParameterError, r"reference")
    case(fn, "choice", "reference str", lambda t: AL(W(), reference="first"), ParameterError, r"reference")
    case(fn, "range", "max_error_px 0", lambda t: AL(W(), max_error_px=0.0), ParameterError, r"max_error")
    case(fn, "number", "smoothing nan", lambda t: AL(W(), smoothing=float("nan")), ParameterError, r"smoothing")
    case(fn, "choice", "shift_method", lambda t: AL(W(), shift_method="linear"), ParameterError, r"shift_method")

    fn = "holocorr.series.apply_drift"
    drift = lambda: AL(W()).drift  # noqa: E731
    AD = S.apply_drift
    case(
        fn,
        "mismatch",
        "drift frames",
        lambda t: AD(W(), drift().isel(frame=[0, 1])),
        ParameterError,
        r"drift has shape \(2, 2\); expected \(3, 2\)",
    )
    case(fn, "mismatch", "drift axes", lambda t: AD(W(), np.zeros((3, 3))), ParameterError, r"drift has shape")
    case(fn, "nonfinite", "drift inf", lambda t: AD(W(), poke(drift(), np.inf, (1, 0))), ParameterError, r"infinite")
    case(fn, "dtype", "drift str", lambda t: AD(W(), "none"), ParameterError, r"drift must be numbers")
    case(
        fn,
        "dtype",
        "drift object",
        lambda t: AD(W(), np.array([[0, "a"]] * 3, dtype=object)),
        ParameterError,
        r"drift must be numbers",
    )
    case(fn, "type", "real DataArray waves", lambda t: AD(W().phase, drift()), DataError, r"complex waves")

    def drift_nan(t):
        # NaN drift = a frame align could not register: that frame becomes NaN, the others are shifted
        d = np.zeros((3, 2))
        d[1] = np.nan
        out = AD(W(), d)
        assert np.isnan(out.wave.values[1]).all()
        np.testing.assert_allclose(out.wave.values[[0, 2]], W().wave.values[[0, 2]], atol=1e-5)

    case(fn, "nonfinite", "drift nan marks a frame", drift_nan, OK)
    case(fn, "choice", "shift_method", lambda t: AD(W(), drift(), shift_method="x"), ParameterError, r"shift_method")

    fn = "holocorr.series.correct_phase_drift"
    CD = S.correct_phase_drift
    case(fn, "range", "empty region", lambda t: CD(W(), region={"x": slice(900, 999)}), ParameterError, r"region")
    case(
        fn,
        "mismatch",
        "region mask shape",
        lambda t: CD(W(), region=np.ones((3, 3), bool)),
        (ShapeError, ParameterError),
        r"region|mask|shape",
    )
    case(fn, "range", "reference 5 of 3", lambda t: CD(W(), reference=5), ParameterError, r"reference")
    case(
        fn,
        "nonfinite",
        "reference frame all NaN",
        lambda t: CD(W().assign(wave=W().wave.where(W().frame != 0))),
        DataError,
        r"reference",
    )
    case(fn, "range", "max_iter 0", lambda t: CD(W(), max_iter=0), ParameterError, r"max_iter")
    case(fn, "range", "tol -1", lambda t: CD(W(), tol=-1.0), ParameterError, r"tol")
    case(fn, "number", "tilt str", lambda t: CD(W(), tilt="yes"), ParameterError, r"tilt")

    fn = "holocorr.series.average"
    AV = S.average
    case(
        fn,
        "mismatch",
        "weights length",
        lambda t: AV(W(), weights=[1.0, 2.0]),
        (ShapeError, ParameterError),
        r"weights",
    )
    case(fn, "range", "negative weight", lambda t: AV(W(), weights=[1.0, -1.0, 1.0]), ParameterError, r"weights|>= 0")
    case(
        fn,
        "nonfinite",
        "nan weight",
        lambda t: AV(W(), weights=[1.0, np.nan, 1.0]),
        (ParameterError, DataError),
        r"weights|NaN|finite",
    )
    case(fn, "dtype", "weights str", lambda t: AV(W(), weights="equal"), (ParameterError, DataError), r"weights")
    case(fn, "range", "all weights 0", lambda t: AV(W(), weights=[0.0, 0.0, 0.0]), DataError, r"no usable|frame")
    case(
        fn,
        "nonfinite",
        "every frame NaN",
        lambda t: AV(W().assign(wave=W().wave * np.nan)),
        DataError,
        r"no usable|frame",
    )
    case(
        fn,
        "range",
        "min_relative_contrast -1",
        lambda t: AV(W(), min_relative_contrast=-1.0),
        ParameterError,
        r"min_relative_contrast",
    )
    case(fn, "number", "crop str", lambda t: AV(W(), crop="yes"), ParameterError, r"crop")
    case(fn, "number", "unwrap str", lambda t: AV(W(), unwrap="no"), ParameterError, r"unwrap")

    fn = "holocorr.series.to_zarr"
    TZ = S.to_zarr
    case(fn, "choice", "not .zarr", lambda t: TZ(W(), t / "w.nc"), FileFormatError, r"\.zarr")
    case(
        fn,
        "file-missing",
        "folder missing",
        lambda t: TZ(W(), t / "no" / "w.zarr"),
        FileFormatError,
        r"folder|directory",
    )
    case(fn, "type", "DataArray", lambda t: TZ(W().phase, t / "w.zarr"), ParameterError, r"Dataset")
    case(fn, "ndim", "no frame dim", lambda t: TZ(rec(), t / "w.zarr"), ParameterError, r"frame")
    case(
        fn,
        "range",
        "exists",
        lambda t: [_mkdir(t / "w.zarr"), TZ(W(), t / "w.zarr", resume=False)],
        FileFormatError,
        r"exists|overwrite",
    )
    case(fn, "type", "on_chunk not callable", lambda t: TZ(W(), t / "w.zarr", on_chunk=3), ParameterError, r"on_chunk")
    case(fn, "number", "overwrite str", lambda t: TZ(W(), t / "w.zarr", overwrite="yes"), ParameterError, r"overwrite")

    fn = "holocorr.series.connect"
    case(fn, "empty", "address ''", lambda t: S.connect(""), ParameterError, r"address")
    case(fn, "type", "address number", lambda t: S.connect(8786), ParameterError, r"address")
    case(fn, "range", "timeout 0", lambda t: S.connect("tcp://127.0.0.1:1", timeout=0.0), ParameterError, r"timeout")
    case(
        fn,
        "number",
        "timeout nan",
        lambda t: S.connect("tcp://127.0.0.1:1", timeout=float("nan")),
        ParameterError,
        r"timeout",
    )
    case(
        fn,
        "range",
        "no scheduler there",
        lambda t: S.connect("tcp://127.0.0.1:1", timeout=0.3),
        ParameterError,
        r"127\.0\.0\.1:1",
    )


def _spectrum_file(t):
    """An SR-EELS-like (y, energy) .nc file."""
    da = core().rename(x="y")
    p = t / "spectrum.nc"
    holocorr.save(da, p)
    return p


# --------------------------------------------------------------------------------- simulate
def _simulate():
    from holocorr import simulate as Sim

    fn = "holocorr.simulate.hologram"
    SH = lambda p=None, a=None, **k: Sim.hologram(phase_map() if p is None else p, a, **{**KW, **k})  # noqa: E731
    case(fn, "ndim", "1-D phase", lambda t: SH(phase_map()[0]), ShapeError, r"dims|dimension|2-D")
    case(fn, "ndim", "3-D phase", lambda t: SH(np.zeros((2, N, N))), ShapeError, r"dims|dimension|2-D")
    case(fn, "empty", "0x0 phase", lambda t: SH(image(np.zeros((0, 0)))), ShapeError, r"empty|at least")
    case(fn, "nonfinite", "phase nan", lambda t: SH(poke(phase_map(), np.nan)), DataError, r"NaN")
    case(fn, "dtype", "phase complex", lambda t: SH(rec().wave), DataError, r"complex")
    case(fn, "dtype", "phase str", lambda t: SH("phase"), DataError, r"string")
    case(fn, "dtype", "phase bool", lambda t: SH(phase_map() > 0.5), DataError, r"dtype bool")
    case(
        fn,
        "dtype",
        "amplitude complex",
        lambda t: SH(phase_map(), np.ones((N, N), complex)),
        DataError,
        r"amplitude must be real",
    )
    case(fn, "dtype", "distortion str", lambda t: SH(distortion="barrel"), DataError, r"distortion is a string")
    case(fn, "mismatch", "amplitude shape", lambda t: SH(phase_map(), np.ones((5, 5))), ShapeError, r"amplitude")
    case(
        fn,
        "range",
        "amplitude negative",
        lambda t: SH(phase_map(), -np.ones((N, N))),
        (DataError, ParameterError),
        r"amplitude",
    )
    case(
        fn,
        "nonfinite",
        "amplitude nan",
        lambda t: SH(phase_map(), poke(phase_map() * 0 + 1, np.nan)),
        DataError,
        r"amplitude|NaN",
    )
    case(fn, "mismatch", "distortion shape", lambda t: SH(distortion=np.zeros((5, 5))), ShapeError, r"distortion")
    case(fn, "range", "spacing 1.5 px", lambda t: SH(spacing_px=1.5), ParameterError, r"spacing")
    case(fn, "number", "spacing nan", lambda t: SH(spacing_px=float("nan")), ParameterError, r"spacing")
    case(fn, "range", "contrast 0", lambda t: SH(contrast=0.0), ParameterError, r"contrast")
    case(fn, "range", "contrast 1.5", lambda t: SH(contrast=1.5), ParameterError, r"contrast")
    case(fn, "number", "angle str", lambda t: SH(angle_deg="40"), ParameterError, r"angle")
    case(fn, "number", "angle bool", lambda t: SH(angle_deg=True), ParameterError, r"angle")
    case(fn, "number", "angle inf", lambda t: SH(angle_deg=float("inf")), ParameterError, r"angle")
    case(fn, "range", "dose -1", lambda t: SH(dose=-1.0), ParameterError, r"dose")
    case(fn, "range", "mtf_sigma -1", lambda t: SH(mtf_sigma=-1.0), ParameterError, r"mtf_sigma")
    case(fn, "choice", "dtype", lambda t: SH(dtype="int8"), ParameterError, r"dtype")
    case(fn, "number", "rng str", lambda t: SH(dose=10.0, rng="seed"), ParameterError, r"rng")
    fn = "holocorr.simulate.carrier_frequency"
    case(fn, "range", "spacing 0", lambda t: Sim.carrier_frequency(0.0, 40.0), ParameterError, r"spacing")
    case(fn, "range", "spacing -4", lambda t: Sim.carrier_frequency(-4.0, 40.0), ParameterError, r"spacing")
    case(fn, "number", "spacing str", lambda t: Sim.carrier_frequency("4", 40.0), ParameterError, r"spacing")
    case(fn, "number", "angle nan", lambda t: Sim.carrier_frequency(4.2, float("nan")), ParameterError, r"angle")
    case(fn, "number", "angle bool", lambda t: Sim.carrier_frequency(4.2, True), ParameterError, r"angle")

    fn = "holocorr.simulate.specimen"
    SP = lambda **k: Sim.specimen(**{"shape": (32, 64), "pixel_size_nm": 8.0, **k})  # noqa: E731
    case(fn, "tiny", "shape 8x8", lambda t: SP(shape=(8, 8)), (ShapeError, ParameterError), r"shape|16")
    case(fn, "number", "shape floats", lambda t: SP(shape=(32.5, 64)), (ShapeError, ParameterError), r"shape")
    case(fn, "number", "shape str", lambda t: SP(shape="32x64"), (ShapeError, ParameterError), r"shape")
    case(fn, "range", "pixel size 0", lambda t: SP(pixel_size_nm=0.0), ParameterError, r"pixel_size")
    case(fn, "number", "pixel size nan", lambda t: SP(pixel_size_nm=float("nan")), ParameterError, r"pixel_size")
    case(fn, "choice", "state", lambda t: SP(state="discharged"), ParameterError, r"state")
    case(fn, "range", "beam energy 3e5", lambda t: SP(beam_energy_kv=3e5), ParameterError, r"beam_energy|kV")
    case(fn, "range", "thickness -1", lambda t: SP(thickness_nm=-1.0), ParameterError, r"thickness")
    case(fn, "range", "blur 0", lambda t: SP(pt_blur_nm=0.0), ParameterError, r"pt_blur")
    case(fn, "number", "li str", lambda t: SP(li_electrode="2.3"), ParameterError, r"li_electrode")
    case(fn, "range", "mip negative", lambda t: SP(mip_pt_v=-30.0), ParameterError, r"mip_pt")
    case(fn, "number", "k_mip inf", lambda t: SP(k_mip_v_per_li=float("inf")), ParameterError, r"k_mip")
    case(fn, "range", "mfp 0", lambda t: SP(mfp_pt_nm=0.0), ParameterError, r"mfp_pt")

    fn = "holocorr.simulate.holograms"
    HS = lambda s=None, **k: Sim.holograms(specimen() if s is None else s, **{"rng": 0, **k})  # noqa: E731
    case(fn, "type", "DataArray", lambda t: HS(specimen().phase), DataError, r"Dataset|specimen")
    case(fn, "coords", "no amplitude map", lambda t: HS(specimen().drop_vars("amplitude")), DataError, r"amplitude")
    case(
        fn,
        "nonfinite",
        "phase nan",
        lambda t: HS(specimen().assign(phase=poke(specimen().phase, np.nan))),
        DataError,
        r"NaN|finite",
    )
    case(
        fn,
        "range",
        "amplitude negative",
        lambda t: HS(specimen().assign(amplitude=-specimen().amplitude)),
        DataError,
        r"amplitude'\] must be >= 0",
    )
    case(fn, "tiny", "8x8 maps", lambda t: HS(specimen().isel(y=slice(0, 8), x=slice(0, 8))), ShapeError, r"16")
    case(fn, "range", "contrast 2", lambda t: HS(contrast=2.0), ParameterError, r"contrast")
    case(fn, "range", "dose 0", lambda t: HS(dose=0.0), ParameterError, r"dose")
    case(fn, "choice", "distortion", lambda t: HS(distortion="strong"), ParameterError, r"distortion")
    case(fn, "mismatch", "distortion shape", lambda t: HS(distortion=np.zeros((3, 3))), ShapeError, r"distortion")
    case(fn, "number", "biprism_fresnel str", lambda t: HS(biprism_fresnel="yes"), ParameterError, r"biprism_fresnel")
    case(fn, "number", "rng str", lambda t: HS(rng="seed"), ParameterError, r"rng")

    for name in ("sr_eels", "stem_eels"):
        f = getattr(Sim, name)
        fn = f"holocorr.simulate.{name}"
        extra = {"shape": (4, 6)} if name == "stem_eels" else {}

        def E_(s=None, f=f, extra=extra, **k):
            kw = {"energy": (30.0, 90.0), "dispersion_ev": 0.5, "low_loss_energy": (-5.0, 60.0), "rng": 0}
            return f(specimen() if s is None else s, **{**kw, **extra, **k})

        case(fn, "type", "DataArray", lambda t, E_=E_: E_(specimen().li), DataError, r"Dataset|specimen")
        case(
            fn,
            "coords",
            "no thickness map",
            lambda t, E_=E_: E_(specimen().drop_vars("thickness")),
            DataError,
            r"thickness",
        )
        case(
            fn,
            "nonfinite",
            "li nan",
            lambda t, E_=E_: E_(specimen().assign(li=poke(specimen().li, np.nan))),
            DataError,
            r"NaN|finite",
        )
        case(fn, "range", "energy misses Li K", lambda t, E_=E_: E_(energy=(100.0, 160.0)), ParameterError, r"Li")
        case(fn, "range", "energy reversed", lambda t, E_=E_: E_(energy=(90.0, 30.0)), ParameterError, r"energy")
        case(fn, "range", "dispersion 0", lambda t, E_=E_: E_(dispersion_ev=0.0), ParameterError, r"dispersion")
        case(fn, "range", "dose -1", lambda t, E_=E_: E_(dose=-1.0), ParameterError, r"dose")
        case(fn, "number", "dose nan", lambda t, E_=E_: E_(dose=float("nan")), ParameterError, r"dose")
        case(fn, "choice", "edge", lambda t, E_=E_: E_(edges=("Xx K",)), ParameterError, r"edge|Xx K")
        case(fn, "range", "zlp fwhm 0", lambda t, E_=E_: E_(zlp_fwhm_ev=0.0), ParameterError, r"zlp_fwhm")
        case(fn, "range", "ti3 fraction 2", lambda t, E_=E_: E_(ti3_fraction=2.0), ParameterError, r"ti3_fraction")
        case(fn, "choice", "dtype", lambda t, E_=E_: E_(dtype="int16"), ParameterError, r"dtype")
        case(fn, "number", "noise str", lambda t, E_=E_: E_(noise="yes"), ParameterError, r"noise")
        case(fn, "units", "specimen coords in Å", lambda t, E_=E_: _check_sim_angstrom(E_), OK)
    case(
        "holocorr.simulate.sr_eels",
        "range",
        "slit outside",
        lambda t: Sim.sr_eels(
            specimen(), energy=(30.0, 90.0), dispersion_ev=0.5, low_loss_energy=(-5.0, 60.0), slit_center_nm=5000.0
        ),
        ParameterError,
        r"slit",
    )
    case(
        "holocorr.simulate.stem_eels",
        "range",
        "shape 1x1",
        lambda t: Sim.stem_eels(
            specimen(), shape=(1, 1), energy=(30.0, 90.0), dispersion_ev=0.5, low_loss_energy=(-5.0, 60.0)
        ),
        ShapeError,
        r"shape",
    )


def _check_sim_angstrom(E_):
    sp = _angstrom(specimen())
    a, b = E_(sp), E_()
    np.testing.assert_allclose(a.core_loss.values, b.core_loss.values, rtol=1e-6)


# ------------------------------------------------------------------- top level, plot, pipeline
def _toplevel():
    from holocorr.fix import fix_pixels

    fn = "holocorr.set_options"
    SO = holocorr.set_options
    case(fn, "choice", "unknown option", lambda t: SO(fft_thread=2), ParameterError, r"unknown option")
    case(fn, "range", "fft_threads 0", lambda t: SO(fft_threads=0), ParameterError, r"fft_threads")
    case(fn, "number", "fft_threads 1.5", lambda t: SO(fft_threads=1.5), ParameterError, r"fft_threads")
    case(fn, "number", "fft_threads bool", lambda t: SO(fft_threads=True), ParameterError, r"fft_threads")
    case(fn, "choice", "fft_backend", lambda t: SO(fft_backend="mkl"), ParameterError, r"fft_backend")
    case(fn, "choice", "fft_planner", lambda t: SO(fft_planner="fast"), ParameterError, r"fft_planner")
    case(fn, "type", "fft_wisdom_dir number", lambda t: SO(fft_wisdom_dir=3), ParameterError, r"fft_wisdom_dir")
    case(fn, "number", "progress str", lambda t: SO(progress="no"), ParameterError, r"progress")

    fn = "holocorr.plan_fft"
    PF = holocorr.plan_fft
    case(fn, "range", "shape (0, 64)", lambda t: PF((0, 64)), ParameterError, r"shape")
    case(fn, "ndim", "shape of 3", lambda t: PF((4, 64, 64)), ParameterError, r"shape")
    case(fn, "number", "shape floats", lambda t: PF((64.5, 64)), ParameterError, r"shape")
    case(fn, "number", "shape str", lambda t: PF("64x64"), ParameterError, r"shape")
    case(fn, "choice", "dtype", lambda t: PF((64, 64), dtype="complex64"), ParameterError, r"dtype")
    case(fn, "choice", "kinds", lambda t: PF((64, 64), kinds=("dct",)), ParameterError, r"kind|dct")
    case(fn, "range", "threads 0", lambda t: PF((64, 64), threads=0), ParameterError, r"thread")

    fn = "holocorr.fix_pixels"
    case(fn, "ndim", "1-D", lambda t: fix_pixels(holo()[0]), ShapeError, r"dims|\(M, N\)|dimension")
    case(fn, "ndim", "4-D", lambda t: fix_pixels(np.zeros((2, 2, 8, 8))), ShapeError, r"dims|dimension")
    case(fn, "empty", "0x0", lambda t: fix_pixels(image(np.zeros((0, 0)))), ShapeError, r"empty|at least|pixels")
    case(fn, "dtype", "complex", lambda t: fix_pixels(holo().astype(complex)), DataError, r"complex")
    case(fn, "dtype", "str", lambda t: fix_pixels("image"), DataError, r"string")
    case(fn, "dtype", "mask not bool", lambda t: fix_pixels(holo(), mask=np.zeros((N, N))), DataError, r"mask")
    case(fn, "mismatch", "mask shape", lambda t: fix_pixels(holo(), mask=np.zeros((5, 5), bool)), ShapeError, r"mask")
    case(fn, "range", "threshold 0", lambda t: fix_pixels(holo(), threshold=0.0), ParameterError, r"threshold")
    case(fn, "number", "threshold str", lambda t: fix_pixels(holo(), threshold="5"), ParameterError, r"threshold")
    case(fn, "range", "max_fraction 2", lambda t: fix_pixels(holo(), max_fraction=2.0), ParameterError, r"max_fraction")
    case(fn, "choice", "method", lambda t: fix_pixels(holo(), method="mean"), ParameterError, r"method")
    case(fn, "nonfinite", "all NaN", lambda t: fix_pixels(holo() * np.nan), DataError, r"fraction|bad|valid")

    def fix_u16(t):
        u, f = counts_holo()
        u = u.copy(data=np.asarray(u.values).copy())
        mask = np.zeros((N, N), bool)
        mask[10, 10] = True
        a, b = fix_pixels(u, mask=mask), fix_pixels(f, mask=mask)
        np.testing.assert_allclose(a.values, b.values, rtol=1e-7)
        assert a.dtype == np.float32

    case(fn, "uint16", "60000 counts", fix_u16, OK)


class _LazyPlot:
    """holocorr.plot, imported (with the Agg backend) only when a plot case runs."""

    def __getattr__(self, name):
        import matplotlib

        matplotlib.use("Agg")
        from holocorr import plot

        return getattr(plot, name)


def _plot():
    PL = _LazyPlot()

    def closing(fn_name):
        def call(*a, **k):
            import matplotlib.pyplot as plt

            try:
                return getattr(PL, fn_name)(*a, **k)
            finally:
                plt.close("all")

        return call

    fn = "holocorr.plot.map"
    M = closing("map")
    case(fn, "ndim", "1-D", lambda t: M(map_a()[0]), ShapeError, r"2-D|\(y, x\)|dims")
    case(fn, "ndim", "3-D", lambda t: M(map_a().expand_dims(frame=2)), ShapeError, r"2-D|\(y, x\)|dims")
    case(fn, "type", "ndarray", lambda t: M(map_a().values), ShapeError, r"DataArray")
    case(fn, "type", "Dataset", lambda t: M(rec()), ShapeError, r"DataArray|Dataset")
    case(fn, "dtype", "complex", lambda t: M(rec().wave), ShapeError, r"real maps; pass the phase or amplitude")
    case(fn, "dtype", "str", lambda t: M("map"), ShapeError, r"DataArray")
    case(fn, "dtype", "object", lambda t: M(map_a().astype(object)), DataError, r"dtype object")
    case(fn, "empty", "0x0", lambda t: M(map_a()[:0, :0]), ShapeError, r"no finite values")
    case(fn, "nonfinite", "all NaN", lambda t: M(map_a() * np.nan), ShapeError, r"no finite values")
    case(fn, "number", "center str", lambda t: M(map_a(), center="zero"), ParameterError, r"center")
    case(fn, "number", "center nan", lambda t: M(map_a(), center=float("nan")), ParameterError, r"center")
    case(fn, "choice", "cmap", lambda t: M(map_a(), cmap="no-such-map"), ParameterError, r"cmap")
    fn = "holocorr.plot.reconstruction"
    RC = closing("reconstruction")
    case(fn, "type", "DataArray", lambda t: RC(rec().phase), ShapeError, r"reconstruct|Dataset")
    case(
        fn, "type", "Dataset without phase", lambda t: RC(xr.Dataset({"a": map_a()})), ShapeError, r"reconstruct|phase"
    )
    case(fn, "ndim", "hologram 1-D", lambda t: RC(rec(), holo()[0]), ShapeError, r"hologram|\(y, x\)|2-D")
    case(fn, "type", "hologram ndarray", lambda t: RC(rec(), holo().values), ShapeError, r"hologram|DataArray")
    case(fn, "ndim", "series of waves", lambda t: RC(waves()), ShapeError, r"frame|\(y, x\)|2-D")
    fn = "holocorr.plot.style"

    def ST(*a, **k):
        with PL.style(*a, **k):
            pass

    case(fn, "choice", "journal", lambda t: ST("triple"), ParameterError, r"journal")
    case(fn, "range", "dpi 0", lambda t: ST(dpi=0), ParameterError, r"dpi")
    case(fn, "number", "dpi str", lambda t: ST(dpi="high"), ParameterError, r"dpi")
    fn = "holocorr.plot.profiles"
    PP = closing("profiles")
    case(fn, "empty", "no profile", lambda t: PP(), ShapeError, r"one or two")
    case(fn, "tiny", "three profiles", lambda t: PP(prof_a(), prof_b(), prof_a()), ShapeError, r"one or two")
    case(fn, "ndim", "2-D", lambda t: PP(map_a()), ShapeError, r"1-D")
    case(fn, "type", "ndarray", lambda t: PP(prof_a().values), ShapeError, r"DataArray|1-D")
    case(fn, "mismatch", "fronts length", lambda t: PP(prof_a(), fronts=[front(), front()]), ShapeError, r"fronts")
    case(
        fn, "type", "front not a Front", lambda t: PP(prof_a(), fronts=["erf"]), (ShapeError, ParameterError), r"Front"
    )
    case(
        fn,
        "mismatch",
        "labels length",
        lambda t: PP(prof_a(), labels=["a", "b", "c"]),
        (ShapeError, ParameterError),
        r"labels",
    )
    fn = "holocorr.plot.correlation"
    case(fn, "type", "dict", lambda t: closing("correlation")({"r": 0.5}), ShapeError, r"Comparison")
    case(
        fn,
        "type",
        "MapComparison",
        lambda t: closing("correlation")(holocorr.correlation.compare_maps(map_a(), map_b(), n_boot=0)),
        ShapeError,
        r"Comparison",
    )
    fn = "holocorr.plot.summary_figure"
    case(
        fn,
        "coords",
        "missing entry",
        lambda t: closing("summary_figure")({"potential_change": None}),
        ShapeError,
        r"pristine_reconstruction|missing",
    )
    case(fn, "type", "list", lambda t: closing("summary_figure")([rec()]), ShapeError, r"dict|Results")


def _state_files(t):
    """Four small hologram files (pristine/charged object and reference) in t (kept when there)."""
    for name, h in (("po", holo()), ("pr", ref()), ("co", holo()), ("cr", ref())):
        if not (t / f"{name}.nc").exists():
            holocorr.save(h, t / f"{name}.nc")


def _toml(t, text):
    _state_files(t)
    p = t / "analysis.toml"
    base = """
[output]
folder = "results"
[holography]
vacuum_x_nm = [0.0, 4.0]
pristine = {object = "po.nc", reference = "pr.nc"}
charged = {object = "co.nc", reference = "cr.nc"}
"""
    p.write_text(base + text)
    return p


def _pipeline():
    from holocorr import pipeline as PI

    CE = PI.ConfigError
    fn = "holocorr.pipeline.load_config"
    LC = PI.load_config
    case(fn, "file-missing", "no file", lambda t: LC(t / "nope.toml"), CE, r"cannot read")
    case(
        fn,
        "file-corrupt",
        "not TOML",
        lambda t: LC(_touch(t / "bad.toml", b"[output\nfolder = ")),
        CE,
        r"not valid TOML",
    )
    case(
        fn,
        "file-truncated",
        "cut in a table",
        lambda t: LC(_touch(t / "cut.toml", _toml(t, "").read_bytes()[:60])),
        CE,
        r"TOML|required",
    )
    case(fn, "file-corrupt", "binary", lambda t: LC(_touch(t / "bin.toml", bytes(range(256)))), CE, r"TOML|read")
    case(
        fn,
        "choice",
        "unknown key",
        lambda t: LC(_toml(t, "[thickness]\nsource_ = 'value'\n")),
        CE,
        r"unknown key 'thickness.source_'.*Did you mean 'source'",
    )
    case(fn, "choice", "unknown section", lambda t: LC(_toml(t, "[eel]\n")), CE, r"unknown section.*eels")
    case(
        fn,
        "number",
        "radius str",
        lambda t: LC(_retoml(t, "radius = 'third'")),
        CE,
        r"holography.radius must be a number",
    )
    case(fn, "number", "radius nan", lambda t: LC(_retoml(t, "radius = nan")), CE, r"holography.radius.*finite")
    case(
        fn, "number", "beam energy inf", lambda t: LC(_retoml(t, "beam_energy_kv = inf")), CE, r"beam_energy_kv.*finite"
    )
    case(
        fn,
        "number",
        "vacuum range with nan",
        lambda t: LC(_retoml(t, "vacuum_y_nm = [0.0, nan]")),
        CE,
        r"vacuum_y_nm.*finite",
    )
    case(fn, "range", "n_boot -5", lambda t: LC(_toml(t, "[statistics]\nn_boot = -5\n")), CE, r"n_boot")
    case(
        fn,
        "file-missing",
        "hologram file missing",
        lambda t: LC(_toml(t, "").parent.joinpath("po.nc").unlink() or t / "analysis.toml"),
        CE,
        r"file not found",
    )
    case(
        fn,
        "range",
        "thickness value missing",
        lambda t: LC(_toml(t, "[thickness]\nsource = 'value'\n")),
        CE,
        r"value_nm",
    )
    case(fn, "choice", "formats", lambda t: LC(_retoml(t, "", output="formats = ['tiff']")), CE, r"formats")
    fn = "holocorr.pipeline.validate_config"
    VC = PI.validate_config
    case(fn, "type", "list", lambda t: VC([1, 2]), CE, r"top level")
    case(fn, "type", "section not a table", lambda t: VC({"output": 3}), CE, r"\[output\] must be a table")
    case(fn, "coords", "no output folder", lambda t: VC({"output": {}}), CE, r"output.folder' is required")
    fn = "holocorr.pipeline.run"

    def config(t):
        return LC(_toml(t, ""))

    case(fn, "type", "dict", lambda t: PI.run({"output": {}}, progress=False), CE, r"Config|validate_config")
    case(fn, "coords", "empty Config", lambda t: PI.run(PI.Config(), progress=False), CE, r"validate_config|output")
    case(fn, "number", "progress str", lambda t: PI.run(config(t), progress="yes"), ParameterError, r"progress")
    case(
        fn,
        "file-corrupt",
        "pristine hologram corrupt",
        lambda t: [config(t), _corrupt_file(t / "po.nc"), PI.run(config(t), progress=False)],
        PI.PipelineError,
        r"step 'reconstruct pristine' failed.*po\.nc",
    )
    case(
        fn,
        "range",
        "output folder holds files",
        lambda t: [(t / "results").mkdir(), _touch(t / "results" / "old.txt", b"x"), PI.run(config(t), progress=False)],
        HolocorrError,
        r"already holds files.*overwrite",
    )
    fn = "holocorr.pipeline.reference_config"
    case(
        fn,
        "file-missing",
        "data folder missing",
        lambda t: PI.reference_config(str(t / "out"), data=t / "nodata"),
        FileFormatError,
        r"manifest",
    )
    case(
        fn,
        "file-corrupt",
        "manifest not JSON",
        lambda t: PI.reference_config(str(t / "out"), data=_touch(_mkdir(t / "d") / "manifest.json", b"{oops").parent),
        FileFormatError,
        r"manifest",
    )
    case(
        fn,
        "file-metadata",
        "manifest without geometry",
        lambda t: PI.reference_config(str(t / "out"), data=_touch(_mkdir(t / "d") / "manifest.json", b"{}").parent),
        FileFormatError,
        r"vacuum_region_nm",
    )
    case(
        fn,
        "number",
        "overwrite str",
        lambda t: PI.reference_config(str(t / "out"), overwrite="yes"),
        PI.ConfigError,
        r"overwrite",
    )


def _retoml(t, holography_line, output=""):
    _state_files(t)
    p = t / "analysis.toml"
    p.write_text(f"""
[output]
folder = "results"
{output}
[holography]
{holography_line}
vacuum_x_nm = [0.0, 4.0]
pristine = {{object = "po.nc", reference = "pr.nc"}}
charged = {{object = "co.nc", reference = "cr.nc"}}
""")
    return p


def _corrupt_file(p):
    raw = bytearray(p.read_bytes())
    raw[0:64] = bytes((17 * i + 5) % 256 for i in range(64))
    p.write_bytes(bytes(raw))
    return p


# ------------------------------------------------------------------------------------- CLI
def cli(*argv):
    """Run ``holocorr ARGV -q`` in-process; it must exit 3 with one line on stderr and no traceback.

    Then ``holocorr ARGV --debug`` re-raises the HolocorrError itself, which the
    test checks for its class and message.
    """
    from holocorr.cli import main

    argv = [str(a) for a in argv]
    out, err = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*argv, "-q"])
    text = err.getvalue()
    lines = text.strip().splitlines()
    assert code == 3, f"exit code {code}, stderr: {text!r}"
    assert len(lines) == 1 and lines[0].startswith("holocorr: error: "), f"stderr is not one error line: {text!r}"
    assert "Traceback" not in text
    with contextlib.redirect_stdout(_io.StringIO()), contextlib.redirect_stderr(_io.StringIO()):
        main([*argv, "-q", "--debug"])
    raise AssertionError("--debug did not re-raise the error")


def cli_ok(*argv):
    """Run ``holocorr ARGV -q``; it must succeed (exit 0). Returns stdout."""
    from holocorr.cli import main

    out, err = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv] + ["-q"])
    assert code == 0, f"exit code {code}, stderr: {err.getvalue()!r}"
    return out.getvalue()


def _save(t, name, obj):
    p = t / name
    holocorr.save(obj, p)
    return p


def _cli():
    h = lambda t: _save(t, "holo.nc", holo())  # noqa: E731
    r = lambda t: _save(t, "ref.nc", ref())  # noqa: E731

    fn = "cli info"
    case(fn, "file-missing", "no file", lambda t: cli("info", t / "nope.dm4"), FileFormatError, r"no such file")
    for ext in (".dm3", ".emd", ".nc", ".zarr", ".tif"):
        case(
            fn,
            "file-truncated",
            ext,
            lambda t, e=ext: cli("info", _truncated(t, e, "header")),
            FileFormatError,
            r"cut\.",
        )
        case(fn, "file-corrupt", ext, lambda t, e=ext: cli("info", _corrupt(t, e)), FileFormatError, r"bad\.")
    case(
        fn,
        "file-missing",
        "unknown extension",
        lambda t: cli("info", _touch(t / "a.txt", b"x")),
        FileFormatError,
        r"supported formats",
    )

    def info_zero_scale(t):
        out = cli_ok("info", write_image(t / "z.dm3", _small(), step_nm=0.0), "--json")
        import json

        assert "x 1 px" in json.loads(out)["axes"]["x"] or " px" in json.loads(out)["axes"]["x"]

    case(fn, "file-metadata", ".dm3 zero scale: pixel axes", info_zero_scale, OK)

    fn = "cli reconstruct"
    R = lambda t, *a: cli("reconstruct", *a, "-o", t / "rec.nc")  # noqa: E731
    case(fn, "file-missing", "hologram", lambda t: R(t, t / "nope.dm4"), FileFormatError, r"no such file")
    case(
        fn,
        "file-truncated",
        "reference",
        lambda t: R(t, h(t), "-r", _truncated(t, ".dm4", "data")),
        FileFormatError,
        r"cut\.dm4",
    )
    case(fn, "file-corrupt", "hologram", lambda t: R(t, _corrupt(t, ".mrc")), FileFormatError, r"bad\.mrc")
    case(fn, "ndim", "hologram is a spectrum", lambda t: R(t, _spectrum_file(t)), ShapeError, r"dims|energy")
    case(
        fn,
        "type",
        "hologram is a reconstruction",
        lambda t: R(t, _save(t, "r.nc", rec())),
        FileFormatError,
        r"holds 3 data variables",
    )
    case(fn, "nonfinite", "hologram NaN", lambda t: R(t, _save(t, "n.nc", poke(holo(), np.nan))), DataError, r"NaN")
    case(
        fn,
        "mismatch",
        "reference shape",
        lambda t: R(t, h(t), "-r", _save(t, "s.nc", ref()[:48, :48])),
        ShapeError,
        r"reference has shape",
    )
    case(
        fn,
        "range",
        "no fringes",
        lambda t: R(t, _save(t, "f.nc", holo() * 0 + 100.0)),
        ReconstructionError,
        r"no interference fringes",
    )
    for label, args, pat in (
        ("radius -1", ["--radius", "-1"], r"radius must be > 0"),
        ("radius nan", ["--radius", "nan"], r"radius must be > 0"),
        ("radius 0.8", ["--radius", "0.8"], r"centre band"),
        ("output-shape 4 4", ["--output-shape", "4", "4"], r"output_shape"),
        ("apodize 0.9", ["--apodize", "0.9"], r"apodize"),
        ("fresnel-filter inf", ["--fresnel-filter", "inf"], r"fresnel_filter"),
        ("reference-smoothing without reference", ["--reference-smoothing", "2"], r"needs a reference"),
    ):
        case(fn, "range", label, lambda t, a=args: R(t, h(t), *a), ParameterError, pat)
    case(
        fn,
        "range",
        "output exists",
        lambda t: [_touch(t / "rec.nc", b"x"), R(t, h(t))],
        HolocorrError,
        r"exists.*--overwrite",
    )
    case(
        fn,
        "choice",
        "output extension",
        lambda t: cli("reconstruct", h(t), "-o", t / "rec.h5"),
        FileFormatError,
        r"\.nc.*\.zarr",
    )
    case(
        fn,
        "file-missing",
        "output folder",
        lambda t: cli("reconstruct", h(t), "-o", t / "no" / "rec.nc"),
        FileFormatError,
        r"does not exist",
    )

    def rec_angstrom(t):
        # a hologram calibrated in Å reconstructs with its coordinates converted consistently
        hh = write_image(t / "a.hspy", holo().values, step_nm=PX * 10.0, units="Å")
        cli_ok(
            "reconstruct",
            hh,
            "-r",
            write_image(t / "b.hspy", ref().values, step_nm=PX * 10.0, units="Å"),
            "-o",
            t / "rec.nc",
        )
        ds = holocorr.io.load_dataset(t / "rec.nc")
        want = holocorr.holography.reconstruct(holo(), ref())
        assert ds.x.attrs["units"] == "nm"
        np.testing.assert_allclose(ds.x.values, want.x.values, rtol=1e-6)
        np.testing.assert_allclose(ds.phase.values, want.phase.values, atol=1e-5)

    case(fn, "units", "hologram in Å", rec_angstrom, OK)

    def rec_uint16(t):
        # a uint16 DM4 hologram with counts near 2**16 reconstructs as its float64 values do
        u, f = counts_holo()
        ru, rf = _as_uint16(ref())
        cli_ok(
            "reconstruct",
            write_image(t / "u.dm4", u.values, dtype=np.uint16),
            "-r",
            write_image(t / "r.dm4", ru.values, dtype=np.uint16),
            "-o",
            t / "rec.nc",
        )
        want = holocorr.holography.reconstruct(f, rf)
        ds = holocorr.io.load_dataset(t / "rec.nc")
        np.testing.assert_allclose(ds.phase.values, want.phase.values, atol=2e-4)
        np.testing.assert_allclose(ds.amplitude.values, want.amplitude.values, rtol=2e-4)

    case(fn, "uint16", "DM4 counts up to 60000", rec_uint16, OK)

    def rec_uncalibrated(t):
        cli_ok("reconstruct", write_image(t / "z.dm3", holo().values, step_nm=0.0), "-o", t / "rec.nc")
        assert holocorr.io.load_dataset(t / "rec.nc").x.attrs["units"] == "px"

    case(fn, "file-metadata", "hologram with zero scale: px", rec_uncalibrated, OK)

    fn = "cli potential"
    ch = lambda t: _save(t, "charged.nc", rec())  # noqa: E731
    pr = lambda t: _save(t, "pristine.nc", rec_pristine())  # noqa: E731
    P = lambda t, a, b, *x: cli("potential", a, b, "--vacuum-x", "0", "4", "-o", t / "dv.nc", *x)  # noqa: E731
    case(
        fn,
        "file-missing",
        "charged",
        lambda t: P(t, t / "nope.nc", pr(t), "--thickness", "50"),
        FileFormatError,
        r"no such file",
    )
    case(
        fn,
        "file-corrupt",
        "pristine",
        lambda t: P(t, ch(t), _corrupt(t, ".nc"), "--thickness", "50"),
        FileFormatError,
        r"bad\.nc",
    )
    case(
        fn,
        "type",
        "charged is a hologram",
        lambda t: P(t, h(t), pr(t), "--thickness", "50"),
        ShapeError,
        r"reconstruct",
    )
    for label, args, err, pat in (
        ("thickness 0", ["--thickness", "0"], ParameterError, r"thickness"),
        ("thickness nan", ["--thickness", "nan"], ParameterError, r"thickness"),
        ("thickness -5", ["--thickness", "-5"], ParameterError, r"thickness"),
        (
            "beam energy in V",
            ["--thickness", "50", "--beam-energy-kv", "300000"],
            CalibrationError,
            r"recorded at 300.0 kV but beam_energy_kv=300000",
        ),
    ):
        case(fn, "range", label, lambda t, a=args, e=err: P(t, ch(t), pr(t), *a), err, pat)
    case(
        fn,
        "coords",
        "no beam energy",
        lambda t: P(
            t, _save(t, "c.nc", _no_kv_ds(rec())), _save(t, "p.nc", _no_kv_ds(rec_pristine())), "--thickness", "50"
        ),
        CalibrationError,
        r"beam energy",
    )
    case(
        fn,
        "mismatch",
        "grids",
        lambda t: P(t, ch(t), _save(t, "p.nc", rec_pristine().isel(x=slice(0, 20))), "--thickness", "50"),
        ShapeError,
        r"shape",
    )
    case(
        fn,
        "range",
        "vacuum outside",
        lambda t: cli("potential", ch(t), pr(t), "--vacuum-x", "500", "600", "--thickness", "50", "-o", t / "dv.nc"),
        ParameterError,
        r"vacuum",
    )

    fn = "cli eels li-map"
    co = lambda t: _save(t, "core.nc", core())  # noqa: E731
    lo = lambda t: _save(t, "low.nc", sr().low_loss)  # noqa: E731
    L = lambda t, c, *a: cli("eels", "li-map", c, *a, "-o", t / "li.nc")  # noqa: E731
    case(fn, "file-missing", "core loss", lambda t: L(t, t / "nope.dm4"), FileFormatError, r"no such file")
    case(
        fn,
        "file-truncated",
        "low loss",
        lambda t: L(t, co(t), "-l", _truncated(t, ".hspy", "data")),
        FileFormatError,
        r"cut\.hspy",
    )
    case(fn, "file-corrupt", "core loss", lambda t: L(t, _corrupt(t, ".dm4")), FileFormatError, r"bad\.dm4")
    case(fn, "ndim", "core loss is an image", lambda t: L(t, h(t)), ShapeError, r"energy")
    case(
        fn,
        "nonfinite",
        "core loss NaN",
        lambda t: L(t, _save(t, "n.nc", poke(core(), np.nan, (5, 60))), "-l", lo(t)),
        DataError,
        r"NaN",
    )
    case(
        fn,
        "mismatch",
        "low loss grid",
        lambda t: L(t, co(t), "-l", _save(t, "l.nc", sr().low_loss.isel(x=slice(0, 10)))),
        ShapeError,
        r"spatial dims|grid",
    )
    case(
        fn,
        "axis",
        "energy descending",
        lambda t: L(t, _save(t, "d.nc", descending(core(), "energy"))),
        CalibrationError,
        r"ascending",
    )
    case(
        fn,
        "units",
        "energy in nm",
        lambda t: L(t, _save(t, "u.nc", with_coord(core(), "energy", core().energy.values, "nm"))),
        CalibrationError,
        r"eV",
    )

    def li_kev(t):
        low_file = lo(t)
        cli_ok("eels", "li-map", _save(t, "k.nc", _keV(core())), "-l", low_file, "-o", t / "k_li.nc")
        cli_ok("eels", "li-map", co(t), "-l", low_file, "-o", t / "e_li.nc")
        a, b = holocorr.io.load_dataset(t / "k_li.nc"), holocorr.io.load_dataset(t / "e_li.nc")
        np.testing.assert_allclose(a.li.values, b.li.values, rtol=1e-6, atol=1e-9)

    case(fn, "units", "core loss in keV (converted)", li_kev, OK)

    fn = "cli correlate"
    pa = lambda t: _save(t, "a.nc", prof_a().to_dataset(name="value"))  # noqa: E731
    pb = lambda t: _save(t, "b.nc", prof_b().to_dataset(name="value"))  # noqa: E731
    C_ = lambda t, a, b, *x: cli("correlate", a, b, "--n-boot", "0", "-o", t / "c.json", *x)  # noqa: E731
    case(fn, "file-missing", "a", lambda t: C_(t, t / "nope.nc", pb(t)), FileFormatError, r"no such file")
    case(fn, "file-corrupt", "b", lambda t: C_(t, pa(t), _corrupt(t, ".zarr")), FileFormatError, r"bad\.zarr")
    case(
        fn,
        "ndim",
        "a is a map",
        lambda t: C_(t, _save(t, "m.nc", map_a()), pb(t)),
        HolocorrError,
        r"holds no 1-D profile",
    )
    case(
        fn,
        "choice",
        "variable-a",
        lambda t: C_(t, pa(t), pb(t), "--variable-a", "phase"),
        HolocorrError,
        r"no 1-D profile named 'phase'",
    )
    case(
        fn,
        "mismatch",
        "no overlap",
        lambda t: C_(
            t,
            pa(t),
            _save(t, "far.nc", prof_b().assign_coords(distance=prof_b().distance + 500).to_dataset(name="value")),
        ),
        ShapeError,
        r"overlap",
    )
    case(
        fn,
        "range",
        "n-boot -1",
        lambda t: cli("correlate", pa(t), pb(t), "--n-boot", "-1", "-o", t / "c.json"),
        ParameterError,
        r"n_boot",
    )
    case(
        fn,
        "range",
        "range outside",
        lambda t: C_(t, pa(t), pb(t), "--range", "500", "600"),
        ShapeError,
        r"samples|short|overlap|at least",
    )
    case(
        fn,
        "nonfinite",
        "a NaN",
        lambda t: C_(t, _save(t, "n.nc", poke(prof_a(), np.nan).to_dataset(name="value")), pb(t)),
        DataError,
        r"NaN",
    )

    fn = "cli simulate"
    case(
        fn,
        "range",
        "folder holds the data",
        lambda t: cli("simulate", _touch(_mkdir(t / "ref") / "manifest.json", b"{}").parent),
        FileFormatError,
        r"already holds.*overwrite",
    )

    fn = "cli pipeline"
    CE = holocorr.pipeline.ConfigError
    case(fn, "file-missing", "config", lambda t: cli("pipeline", t / "nope.toml"), CE, r"cannot read")
    case(
        fn, "file-corrupt", "config not TOML", lambda t: cli("pipeline", _touch(t / "a.toml", b"[output")), CE, r"TOML"
    )
    case(
        fn,
        "choice",
        "unknown key",
        lambda t: cli("pipeline", _toml(t, "[thickness]\nmaterial_ = 'Pt'\n")),
        CE,
        r"unknown key",
    )
    case(fn, "number", "radius nan", lambda t: cli("pipeline", _retoml(t, "radius = nan")), CE, r"finite")
    # --overwrite: the first (failing) run leaves its results folder for the --debug run
    case(
        fn,
        "file-corrupt",
        "hologram corrupt",
        lambda t: [_toml(t, ""), _corrupt_file(t / "co.nc"), cli("pipeline", t / "analysis.toml", "--overwrite")],
        holocorr.pipeline.PipelineError,
        r"step 'reconstruct charged' failed",
    )
    case(
        fn,
        "range",
        "output is a file",
        lambda t: cli("pipeline", _toml(t, ""), "-o", _touch(t / "out.txt", b"x")),
        HolocorrError,
        r"is a file",
    )

    fn = "cli demo"
    case(
        fn,
        "range",
        "output holds files",
        lambda t: cli("demo", "-o", _touch(_mkdir(t / "res") / "a.txt", b"x").parent),
        HolocorrError,
        r"already holds files",
    )
    case(
        fn,
        "range",
        "output is a file",
        lambda t: cli("demo", "-o", _touch(t / "res.txt", b"x")),
        HolocorrError,
        r"is a file",
    )

    fn = "cli series reconstruct"
    SR_ = lambda t, g, *a: cli("series", "reconstruct", g, "-r", r(t), "-o", t / "w.zarr", *a)  # noqa: E731
    case(
        fn,
        "file-missing",
        "glob matches nothing",
        lambda t: SR_(t, t / "holo_*.dm4"),
        FileFormatError,
        r"no file|match",
    )
    case(
        fn,
        "file-corrupt",
        "one frame",
        lambda t: SR_(t, [frame_files(t, 2), _corrupt(t, ".nc")][1].parent / "*.nc"),
        FileFormatError,
        r"bad\.nc|ref|corrupt",
    )
    case(
        fn,
        "file-missing",
        "reference",
        lambda t: cli("series", "reconstruct", frame_files(t, 2)[0], "-r", t / "nope.nc", "-o", t / "w.zarr"),
        FileFormatError,
        r"no such file",
    )
    case(
        fn,
        "choice",
        "output not .zarr",
        lambda t: cli("series", "reconstruct", frame_files(t, 2)[0], "-r", r(t), "-o", t / "w.nc"),
        HolocorrError,
        r"\.zarr",
    )
    case(fn, "range", "chunks 0", lambda t: SR_(t, frame_files(t, 2)[0], "--chunks", "0"), ParameterError, r"chunks")
    case(
        fn, "range", "radius nan", lambda t: SR_(t, frame_files(t, 2)[0], "--radius", "nan"), ParameterError, r"radius"
    )
    case(
        fn,
        "range",
        "scheduler unreachable",
        lambda t: SR_(t, frame_files(t, 2)[0], "--scheduler", "tcp://127.0.0.1:1", "--scheduler-timeout", "0.3"),
        ParameterError,
        r"127\.0\.0\.1:1",
    )

    fn = "cli series average"
    A_ = lambda t, w, *a: cli("series", "average", w, "-o", t / "avg.nc", *a)  # noqa: E731
    case(fn, "file-missing", "waves", lambda t: A_(t, t / "nope.zarr"), FileFormatError, r"no such file")
    case(fn, "file-corrupt", "waves", lambda t: A_(t, _corrupt(t, ".zarr")), FileFormatError, r"bad\.zarr")
    case(
        fn,
        "type",
        "waves is an image",
        lambda t: A_(t, _save(t, "img.zarr", holo())),
        ShapeError,
        r"Dataset returned by holocorr.series.reconstruct",
    )
    case(
        fn,
        "range",
        "upsample 0",
        lambda t: A_(t, _save(t, "w.zarr", waves()), "--upsample", "0"),
        ParameterError,
        r"upsample",
    )
    case(
        fn,
        "range",
        "vacuum outside",
        lambda t: A_(t, _save(t, "w.zarr", waves()), "--vacuum-x", "500", "600"),
        ParameterError,
        r"region",
    )
    case(
        fn,
        "range",
        "output exists",
        lambda t: A_(_touch(t / "avg.nc", b"x").parent, _save(t, "w.zarr", waves())),
        HolocorrError,
        r"exists",
    )


# ------------------------------------------------------------------------------ coverage
#: Modules whose ``__all__`` is the public API covered by the table.
PUBLIC_MODULES = (
    "holocorr",
    "holocorr.holography",
    "holocorr.eels",
    "holocorr.registration",
    "holocorr.correlation",
    "holocorr.series",
    "holocorr.io",
    "holocorr.plot",
    "holocorr.pipeline",
    "holocorr.simulate",
)

_RESULT = "a result record that holocorr builds and returns; users do not construct it from data"
#: Public names without bad-input cases, each with the reason.
EXEMPT = {
    "holocorr.HolocorrError": "exception class",
    "holocorr.HolocorrWarning": "warning class",
    "holocorr.pipeline.ConfigError": "exception class",
    "holocorr.pipeline.PipelineError": "exception class",
    "holocorr.get_options": "takes no arguments",
    "holocorr.__version__": "constant string",
    "holocorr.eels.EDGES": "constant: the built-in edge table",
    "holocorr.eels.DEFAULT_WINDOW": "constant tuple",
    "holocorr.simulate.EDGES": "constant tuple of edge names",
    "holocorr.pipeline.SCHEMA": "constant: the configuration schema",
    "holocorr.pipeline.Config": "a plain record of validated values; load_config/validate_config make it and "
    "run refuses an incomplete one (see the holocorr.pipeline.run cases)",
    "holocorr.pipeline.Results": _RESULT,
    "holocorr.holography.PhaseNoise": _RESULT,
    "holocorr.registration.Registration": _RESULT,
    "holocorr.registration.Interface": _RESULT + " (distance_coordinate refuses anything else)",
    "holocorr.correlation.Front": _RESULT + " (plot.profiles refuses anything else)",
    "holocorr.correlation.Edge": _RESULT,
    "holocorr.correlation.Comparison": _RESULT + " (plot.correlation refuses anything else)",
    "holocorr.correlation.MapComparison": _RESULT,
    "holocorr.correlation.PotentialVsMip": _RESULT,
    "holocorr.series.ReferenceWave": _RESULT + " (made by prepare_reference; see the series.reconstruct cases)",
    "holocorr.series.WriteReport": _RESULT,
}


def public_names() -> dict[str, Any]:
    """Every public name: ``"module.name" -> object`` from the ``__all__`` lists (modules left out)."""
    import importlib
    import inspect

    out = {}
    for modname in PUBLIC_MODULES:
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not inspect.ismodule(obj):
                out[f"{modname}.{name}"] = obj
    out["holocorr.fix_pixels"] = holocorr.fix_pixels
    return out


def resolve(func: str) -> Any:
    """The object a case's `func` names (``"holocorr.holography.reconstruct"``)."""
    import importlib

    modname, _, name = func.rpartition(".")
    return getattr(importlib.import_module(modname), name)


def cli_commands() -> set[str]:
    """Every ``holocorr`` command and subcommand, as ``"cli <cmd> [<sub>]"``."""
    import argparse

    from holocorr.cli import build_parser

    def subs(parser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices
        return {}

    out = set()
    for name, p in subs(build_parser()).items():
        nested = subs(p)
        out |= {f"cli {name} {n}" for n in nested} if nested else {f"cli {name}"}
    return out


# ------------------------------------------------------------------------------ the table itself
for _section in (
    _holography,
    _eels,
    _registration,
    _correlation,
    _io_cases,
    _series_cases,
    _simulate,
    _toplevel,
    _plot,
    _pipeline,
    _cli,
):
    _section()
