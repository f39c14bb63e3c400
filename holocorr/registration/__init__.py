"""Registration of maps from different modalities, grids and fields of view.

* :func:`to_common_grid`, :func:`check_same_grid`, :func:`match_resolution`:
  put maps on one nm grid (anti-aliased) and at one resolution.
* :func:`find_interface`, :func:`distance_coordinate`: a fitted interface and
  the signed distance from it (positive into the electrolyte).
* :func:`register` -> :class:`Registration`: the shift (and optional rotation)
  between two maps with an honest error estimate, and ``.apply`` to resample
  one map onto the other's grid.

Shift convention: ``shift_nm = (dy, dx)`` moves the moving map onto the fixed
one, ``fixed(r) ~ moving(r - shift)``.
"""

from .align import Registration, register
from .grid import check_same_grid, match_resolution, to_common_grid
from .interface import Interface, distance_coordinate, find_interface

__all__ = [
    "Registration",
    "register",
    "to_common_grid",
    "check_same_grid",
    "match_resolution",
    "Interface",
    "find_interface",
    "distance_coordinate",
]
