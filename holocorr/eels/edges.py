"""Built-in, offline edge shapes for the 30-160 eV range around the Li K edge.

Every shape here is **phenomenological**: a smooth "delayed edge" curve whose
onset and maximum are taken from the table in SCIENCE.md ("EELS around the
Li-K edge"; Li K after Saitoh et al. 2018, doi:10.1039/C8CP03390K). They are
not Hartree-Slater or hydrogenic cross sections and carry no absolute
scale. Quantities built from them (fitted amplitudes, ``li``) are therefore
*relative*: ratios between pixels, or normalised by t/lambda or by a matrix
edge, are meaningful; absolute numbers of atoms are not claimed.

Shape model
-----------
One edge part with onset E0 and maximum Em uses x = (E - E0)/(Em - E0) and::

    f(x) = (p + q) x^p / (q + p x^(p+q))      for x > 0,   0 below the onset

which rises as x^p from the onset, peaks at exactly x = 1 (E = Em, f = 1)
and decays as x^-q far above it (the power-law tail of an ionisation edge).
A second form, ``form="delayed"``, is (1 - exp(-((E - E0)/delta)^m))
(E/E0)^-r with delta set so that the maximum falls at Em (a delayed rise
with a power-law decay); :func:`holocorr.eels.fit_edges` fits both forms
together, so the fitted amplitude does not hinge on one functional form.
The curve is convolved with a Gaussian of standard deviation
``broadening_ev`` (core-hole lifetime and the smearing of the onset), and a
shape made of several parts (Pt O3/O2/N7/N6/O1) is their weighted sum. Each
shape is normalised to unit integral over [onset, onset + 30 eV] of the
unbroadened curve, so a fitted amplitude is "counts of this edge in its first
30 eV".

Use :func:`edge_shape` to evaluate a built-in shape by name, :data:`EDGES` to
list them, or build your own :class:`EdgeShape` (e.g. a Ti M2,3 with another
onset for Ti3+, or a chemically shifted Li K) and pass it to
:func:`holocorr.eels.fit_edges`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError

__all__ = ["EdgeShape", "EDGES", "edge_shape", "get_edge"]

#: integration range [eV] above the first onset used to normalise every shape
NORM_RANGE_EV = 30.0


@dataclasses.dataclass(frozen=True)
class EdgeShape:
    """A phenomenological edge shape (see the module docstring for the model).

    Attributes
    ----------
    name : str
        Label, e.g. ``"Li K"``.
    parts : tuple of (onset_ev, maximum_ev, weight)
        One or more delayed-edge parts: onset E0 [eV], maximum Em [eV]
        (> E0) and relative weight.
    rise : float
        ``form="rational"``: exponent p of the rise above the onset;
        ``"delayed"``: exponent m of the delayed rise (> 0).
    tail : float
        ``"rational"``: exponent q of the decay far above the maximum;
        ``"delayed"``: exponent r of the (E/E0)^-r decay (> 0).
    broadening_ev : float
        Gaussian standard deviation [eV] of the onset smearing (>= 0).
    note : str
        Where the onset and maximum come from.
    form : {"rational", "delayed"}
        The curve (see the module docstring).
    """

    name: str
    parts: tuple[tuple[float, float, float], ...]
    rise: float = 1.5
    tail: float = 2.0
    broadening_ev: float = 0.6
    note: str = ""
    form: str = "rational"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"EdgeShape name must be a non-empty string, got {self.name!r}.")
        try:
            parts = tuple((float(a), float(b), float(c)) for a, b, c in self.parts)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"EdgeShape {self.name!r}: parts must be (onset_ev, maximum_ev, weight) triples, got {self.parts!r}."
            ) from exc
        if not parts:
            raise ParameterError(f"EdgeShape {self.name!r} needs at least one part.")
        for e0, em, w in parts:
            if not (math.isfinite(e0) and math.isfinite(em) and math.isfinite(w)):
                raise ParameterError(f"EdgeShape {self.name!r}: part {(e0, em, w)} is not finite.")
            if em <= e0 or w <= 0 or e0 <= 0:
                raise ParameterError(
                    f"EdgeShape {self.name!r}: each part needs 0 < onset < maximum and a "
                    f"positive weight, got onset={e0}, maximum={em}, weight={w}."
                )
        for label, v, allow0 in (
            ("rise", self.rise, False),
            ("tail", self.tail, False),
            ("broadening_ev", self.broadening_ev, True),
        ):
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                raise ParameterError(f"EdgeShape {self.name!r}: {label} must be a number, got {v!r}.")
            fv = float(v)
            if not math.isfinite(fv) or fv < 0 or (fv == 0 and not allow0):
                raise ParameterError(f"EdgeShape {self.name!r}: {label} must be > 0, got {v!r}.")
        if self.form not in ("rational", "delayed"):
            raise ParameterError(f"EdgeShape {self.name!r}: form must be 'rational' or 'delayed', got {self.form!r}.")
        object.__setattr__(self, "parts", parts)

    @property
    def onset_ev(self) -> float:
        """Lowest onset [eV] of the shape."""
        return min(p[0] for p in self.parts)

    @property
    def maximum_ev(self) -> float:
        """Maximum [eV] of the strongest part."""
        return max(self.parts, key=lambda p: p[2])[1]

    def shifted(self, delta_ev: float) -> EdgeShape:
        """Return the same shape moved by `delta_ev` [eV] (a chemical shift).

        Parameters
        ----------
        delta_ev : float
            Shift [eV]; positive moves the edge to higher energy loss.

        Returns
        -------
        EdgeShape
        """
        d = float(delta_ev)
        parts = tuple((a + d, b + d, c) for a, b, c in self.parts)
        return dataclasses.replace(self, parts=parts)

    def __call__(self, energy: Any) -> np.ndarray:
        """Evaluate the normalised shape at `energy` [eV] (float64 ndarray)."""
        return _evaluate(self, _energy_array(energy))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description (for attrs and provenance)."""
        return {
            "name": self.name,
            "parts": [list(p) for p in self.parts],
            "rise": float(self.rise),
            "tail": float(self.tail),
            "broadening_ev": float(self.broadening_ev),
            "form": self.form,
        }


def _part(e: np.ndarray, e0: float, em: float, p: float, q: float) -> np.ndarray:
    x = (e - e0) / (em - e0)
    out = np.zeros_like(e)
    pos = x > 0
    xp = x[pos]
    out[pos] = (p + q) * xp**p / (q + p * xp ** (p + q))
    return out


def _delay_width(e0: float, em: float, m: float, r: float) -> float:
    """Delta such that (1 - exp(-((E - e0)/delta)^m)) (E/e0)^-r peaks at em."""
    u = em - e0

    def slope(delta):  # d/dE of the log of the curve at em (zero at the maximum)
        z = (u / delta) ** m
        return m * z / u * np.exp(-z) / (-np.expm1(-z)) - r / em

    lo, hi = u * 1e-3, u * 1e3
    if slope(lo) > 0 or slope(hi) < 0:  # pragma: no cover - unreachable for sane inputs
        return u
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if slope(mid) > 0:
            hi = mid
        else:
            lo = mid
    return math.sqrt(lo * hi)


def _delayed_part(e, e0, em, m, r):
    delta = _delay_width(e0, em, m, r)
    out = np.zeros_like(e)
    pos = e > e0
    z = ((e[pos] - e0) / delta) ** m
    out[pos] = -np.expm1(-z) * (e[pos] / e0) ** (-r)
    return out


def _raw(shape: EdgeShape, e: np.ndarray) -> np.ndarray:
    out = np.zeros_like(e)
    for e0, em, w in shape.parts:
        if shape.form == "delayed":
            out += w * _delayed_part(e, e0, em, shape.rise, shape.tail)
        else:
            out += w * _part(e, e0, em, shape.rise, shape.tail)
    return out


def _norm(shape: EdgeShape) -> float:
    e0 = shape.onset_ev
    grid = np.linspace(e0, e0 + NORM_RANGE_EV, 6001)
    vals = _raw(shape, grid)
    area = float(np.sum((vals[1:] + vals[:-1]) * 0.5) * (grid[1] - grid[0]))
    return area


def _evaluate(shape: EdgeShape, energy: np.ndarray) -> np.ndarray:
    flat = energy.reshape(-1)
    if flat.size == 0:
        return np.zeros(energy.shape)
    sigma = float(shape.broadening_ev)
    lo, hi = float(flat.min()), float(flat.max())
    if sigma == 0:
        out = _raw(shape, flat)
    else:
        step = min(0.02, sigma / 8.0)
        pad = 6.0 * sigma
        grid = np.arange(lo - pad, hi + pad + step, step)
        vals = _raw(shape, grid)
        half = int(math.ceil(pad / step))
        t = np.arange(-half, half + 1) * step
        g = np.exp(-0.5 * (t / sigma) ** 2)
        g /= g.sum()
        sm = np.convolve(vals, g, mode="same")
        out = np.interp(flat, grid, sm)
    return (out / _norm(shape)).reshape(energy.shape)


_SAITOH = "Saitoh et al. 2018, doi:10.1039/C8CP03390K"

#: The built-in shapes, keyed by name. Onsets and maxima from SCIENCE.md's table.
EDGES: dict[str, EdgeShape] = {
    "Li K": EdgeShape(
        "Li K",
        ((56.5, 62.0, 1.0),),
        rise=1.5,
        tail=2.0,
        broadening_ev=0.6,
        note=f"onset 56-58 eV in compounds (54.7 metal), delayed maximum ~62 eV ({_SAITOH})",
    ),
    "Ti M2,3": EdgeShape(
        "Ti M2,3",
        ((34.6, 47.5, 1.0),),
        rise=1.5,
        tail=2.5,
        broadening_ev=1.0,
        note="Ti4+: onset at the top of the 32.6-34.6 eV range, broad maximum 45-50 eV (SCIENCE.md)",
    ),
    "Ti3+ M2,3": EdgeShape(
        "Ti3+ M2,3",
        ((32.6, 45.0, 1.0),),
        rise=1.5,
        tail=2.5,
        broadening_ev=1.0,
        note="Ti3+: onset at the bottom of the 32.6-34.6 eV range, maximum at the low end of "
        "45-50 eV (SCIENCE.md: the Ti M2,3 shape changes with Ti4+ -> Ti3+); with the Ti4+ "
        "shape it also absorbs small chemical shifts",
    ),
    "Co M2,3": EdgeShape(
        "Co M2,3",
        ((59.5, 63.5, 1.0),),
        rise=1.2,
        tail=2.5,
        broadening_ev=0.8,
        note="onset 59.5 eV, maximum 62-65 eV, on top of Li K on the LiCoO2 side",
    ),
    "Pt O/N": EdgeShape(
        "Pt O/N",
        ((51.7, 59.7, 1.0), (65.3, 73.3, 0.5), (71.1, 79.1, 0.6), (74.3, 82.3, 0.45), (101.7, 109.7, 0.2)),
        rise=1.0,
        tail=1.5,
        broadening_ev=1.5,
        note="Pt O3/O2/N7/N6/O1 onsets 51.7/65.3/71.1/74.3/101.7 eV, weak and broad; "
        "maxima 8 eV above each onset and the relative weights are assumptions",
    ),
    "Al L2,3": EdgeShape(
        "Al L2,3",
        ((76.5, 80.5, 1.0),),
        rise=1.0,
        tail=1.5,
        broadening_ev=0.6,
        note="onset 76-78 eV in the oxide (73 eV metal; use EDGES['Al L2,3'].shifted(-3.5))",
    ),
    "Si L2,3": EdgeShape(
        "Si L2,3",
        ((106.0, 115.0, 1.0),),
        rise=1.0,
        tail=1.5,
        broadening_ev=0.8,
        note="onset 105-108 eV in the oxide (99-100 eV element)",
    ),
    "P L2,3": EdgeShape(
        "P L2,3",
        ((135.5, 142.0, 1.0),),
        rise=1.0,
        tail=1.5,
        broadening_ev=0.8,
        note="onset 135-138 eV in phosphate (132 eV element); constant P makes Li/P an internal normaliser",
    ),
}

_ALIASES = {
    "li": "Li K",
    "lik": "Li K",
    "ti": "Ti M2,3",
    "tim23": "Ti M2,3",
    "tim": "Ti M2,3",
    "ti4m23": "Ti M2,3",
    "ti4": "Ti M2,3",
    "ti3": "Ti3+ M2,3",
    "ti3m": "Ti3+ M2,3",
    "co": "Co M2,3",
    "com23": "Co M2,3",
    "com": "Co M2,3",
    "pt": "Pt O/N",
    "pton": "Pt O/N",
    "pto": "Pt O/N",
    "ptn": "Pt O/N",
    "pto23": "Pt O/N",
    "al": "Al L2,3",
    "all23": "Al L2,3",
    "all": "Al L2,3",
    "si": "Si L2,3",
    "sil23": "Si L2,3",
    "sil": "Si L2,3",
    "p": "P L2,3",
    "pl23": "P L2,3",
    "pl": "P L2,3",
}


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def get_edge(name: str | EdgeShape) -> EdgeShape:
    """Return the built-in :class:`EdgeShape` called `name` (or `name` itself).

    Names are matched without case, spaces, commas or slashes, and element
    symbols alone are accepted (``"li"``, ``"Ti M23"``, ``"P L2,3"``).

    Parameters
    ----------
    name : str or EdgeShape
        Edge name.

    Returns
    -------
    EdgeShape

    Raises
    ------
    ParameterError
        For an unknown name (the message lists the built-in edges).

    Examples
    --------
    >>> get_edge("ti m23").onset_ev
    34.6
    """
    if isinstance(name, EdgeShape):
        return name
    if not isinstance(name, str):
        raise ParameterError(f"edge must be a name such as 'Li K' or an EdgeShape, got {type(name).__name__}.")
    k = _key(name)
    for full in EDGES:
        if _key(full) == k:
            return EDGES[full]
    if k in _ALIASES:
        return EDGES[_ALIASES[k]]
    raise ParameterError(
        f"unknown edge {name!r}; the built-in edges are {', '.join(repr(n) for n in EDGES)}. "
        "For another edge build an EdgeShape or pass a reference spectrum."
    )


def edge_shape(name: str | EdgeShape, energy: Sequence[float] | np.ndarray) -> np.ndarray:
    """Evaluate a built-in (phenomenological) edge shape on an energy axis.

    Parameters
    ----------
    name : str or EdgeShape
        ``"Li K"``, ``"Ti M2,3"`` (Ti4+), ``"Ti3+ M2,3"``, ``"Co M2,3"``, ``"Pt O/N"``, ``"Al L2,3"``,
        ``"Si L2,3"``, ``"P L2,3"`` (see :data:`EDGES`) or an EdgeShape.
    energy : array_like
        Energy loss [eV].

    Returns
    -------
    numpy.ndarray
        The shape [1/eV] at `energy`: zero well below the onset, unit
        integral over the first 30 eV above the onset (before broadening).
        Not an absolute cross section.

    Raises
    ------
    ParameterError
        For an unknown edge name, or energies that are not finite real numbers.

    References
    ----------
    Onsets and maxima: SCIENCE.md; Li K: Saitoh et al., Phys. Chem. Chem.
    Phys. 20, 25052 (2018), doi:10.1039/C8CP03390K.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.arange(40.0, 90.0, 0.01)
    >>> f = edge_shape("Li K", e)
    >>> round(float(e[np.argmax(f)]))
    62
    >>> bool(f[e < 54].max() < 1e-6 * f.max())
    True
    """
    shape = get_edge(name)
    return shape(_energy_array(energy))


def _energy_array(energy: Any) -> np.ndarray:
    """Energies [eV] as a float64 array, or a ParameterError that says what was wrong."""
    if isinstance(energy, str | bytes):
        raise ParameterError(f"energy must be numbers in eV (an array), got the string {energy!r:.40}.")
    arr = np.asarray(energy)
    if arr.dtype.kind not in "iuf":
        raise ParameterError(
            f"energy must be real numbers in eV, got dtype {arr.dtype}"
            + (" (complex: pass the real energy axis)" if arr.dtype.kind == "c" else "")
            + "."
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ParameterError(f"energy must be finite: {int((~np.isfinite(arr)).sum())} NaN or infinite value(s).")
    return arr
