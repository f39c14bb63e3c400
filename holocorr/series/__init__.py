"""Hologram series at scale: lazy reconstruction, alignment, phase-drift correction, averaging.

Every step is lazy over ``frame`` chunks (dask) and runs unchanged on the
threaded scheduler, a ``dask.distributed`` LocalCluster or a remote cluster
(see :func:`connect`). Typical use::

    series = holocorr.open_series("cycle01/holo_*.dm4")
    waves = holocorr.series.reconstruct(series, reference)
    holocorr.series.to_zarr(waves, "waves.zarr")            # resumable
    waves = holocorr.io.load_dataset("waves.zarr", lazy=True)
    aligned = holocorr.series.align(waves)
    fixed = holocorr.series.correct_phase_drift(aligned, region={"x": slice(0, 40)})
    result = holocorr.series.average(fixed)
"""

from ..io.series import open_series
from .align import align, apply_drift
from .average import average
from .distributed import connect
from .phase_drift import correct_phase_drift
from .reconstruct import ReferenceWave, prepare_reference, reconstruct
from .store import WriteReport, to_zarr

__all__ = [
    "open_series",
    "ReferenceWave",
    "prepare_reference",
    "reconstruct",
    "align",
    "apply_drift",
    "correct_phase_drift",
    "average",
    "to_zarr",
    "WriteReport",
    "connect",
]
