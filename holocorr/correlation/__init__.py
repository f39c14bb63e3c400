"""Statistics for comparing profiles and maps honestly.

* :func:`profile` -- band-averaged line profiles (or distance-binned
  profiles) of maps, with standard errors;
* :func:`fit_front` -- erf fronts with bootstrap errors (:class:`Front`);
* :func:`compare` -- correlation with an effective sample size,
  errors-in-variables slope, lag and front differences of two profiles
  (:class:`Comparison`); :func:`compare_maps` for registered maps;
* :func:`potential_vs_mip` -- does holography see the electrode potential
  or the mean-inner-potential change of inserted Li?
"""

from .compare import Comparison, MapComparison, compare, compare_maps
from .mip import PotentialVsMip, potential_vs_mip
from .profiles import Edge, Front, fit_front, profile

__all__ = [
    "profile",
    "fit_front",
    "Front",
    "Edge",
    "compare",
    "Comparison",
    "compare_maps",
    "MapComparison",
    "potential_vs_mip",
    "PotentialVsMip",
]
