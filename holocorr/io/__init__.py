"""File input and output: microscope files in, NetCDF/Zarr results out.

:func:`load` reads Gatan DM3/DM4, EMD (Velox, NCEM), HyperSpy, TIFF and MRC
files through RosettaSciIO into :class:`xarray.DataArray` objects with dims
``y``/``x`` (``frame`` for stacks, ``energy`` for spectra), coordinates in nm
or eV and microscope metadata in attrs. :func:`save` writes DataArrays and
Datasets atomically to NetCDF4 (``.nc``) or Zarr (``.zarr``);
:func:`load` and :func:`load_dataset` read them back exactly.
"""

from __future__ import annotations

from ._api import load, load_dataset, save
from .series import open_series

__all__ = ["load", "load_dataset", "save", "open_series"]
