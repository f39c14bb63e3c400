"""EELS around the Li K edge: spectra, alignment, backgrounds, thickness, edge fits, Li maps.

Spectra are DataArrays with an ``energy`` dim in eV (SR-EELS frames
``(x, energy)``, spectrum images ``(y, x, energy)``, EFTEM series
``(energy, y, x)``); :func:`as_spectra` declares and calibrates the energy
axis of a frame that does not say. Everything is vectorised over all
spectra at once, float32 stays float32, and every result carries units,
long names and provenance.

* :func:`align_energy`, :func:`energy_shifts`, :func:`apply_energy_shifts`:
  SR-EELS non-isochromaticity and drift from the zero-loss peak or an edge.
* :func:`subtract_background`, :func:`integrate`: power-law (Poisson maximum
  likelihood), LCPL, exponential and polynomial backgrounds; Egerton-type
  error bars.
* :func:`thickness`, :func:`zero_loss_peak`, :func:`deconvolve`,
  :func:`mean_free_path`: log-ratio t/lambda, Fourier-log and Fourier-ratio.
* :func:`fit_edges`, :func:`li_map`: overlap-aware linear models with
  built-in offline edge shapes (:mod:`holocorr.eels.edges`), plural
  scattering from the low loss, and relative Li concentration maps.
* :func:`eftem_map`: three-window and jump-ratio EFTEM maps.
"""

from .align import align_energy, apply_energy_shifts, energy_shifts
from .background import integrate, subtract_background
from .edges import EDGES, EdgeShape, edge_shape, get_edge
from .eftem import eftem_map
from .lowloss import deconvolve, mean_free_path, thickness, zero_loss_peak
from .model import DEFAULT_WINDOW, fit_edges, li_map
from .spectra import as_spectra

__all__ = [
    "as_spectra",
    "align_energy",
    "energy_shifts",
    "apply_energy_shifts",
    "subtract_background",
    "integrate",
    "EDGES",
    "EdgeShape",
    "edge_shape",
    "get_edge",
    "thickness",
    "deconvolve",
    "mean_free_path",
    "zero_loss_peak",
    "fit_edges",
    "li_map",
    "DEFAULT_WINDOW",
    "eftem_map",
]
