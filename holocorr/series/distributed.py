"""Connecting to a dask.distributed scheduler, with a bounded wait and a clear message."""

from __future__ import annotations

import math
import resource

from .._validate import check_positive
from ..errors import ParameterError

__all__ = ["connect", "peak_memory_mb", "reset_peak_memory"]


def connect(address: str, *, timeout: float = 10.0, set_as_default: bool = True):
    """Connect to a running dask scheduler (a cluster, or a ``LocalCluster`` elsewhere).

    Every :mod:`holocorr.series` function then runs its tasks there, unchanged
    (dask uses the most recent Client). Nothing holocorr-specific runs on the
    scheduler; the workers need holocorr installed and must see the input
    files and the output folder.

    Parameters
    ----------
    address : str
        Scheduler address, e.g. ``"tcp://10.0.0.5:8786"`` (``dask scheduler``
        prints it; a dask-jobqueue cluster has it as ``cluster.scheduler_address``).
    timeout : float
        Longest wait for the connection [s]; an unreachable address fails
        after this, never hangs.
    set_as_default : bool
        Make this Client the default scheduler of dask (default True).

    Returns
    -------
    distributed.Client
        Close it (``client.close()``, or use it as a context manager) when done.

    Raises
    ------
    ParameterError
        For an empty address or a bad timeout, and when no scheduler answers
        at `address` within `timeout` (the message names the address and
        what to check).

    Examples
    --------
    >>> connect("tcp://127.0.0.1:1", timeout=0.5)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    holocorr.errors.ParameterError: could not connect to the dask scheduler at 'tcp://127.0.0.1:1' ...
    """
    if not isinstance(address, str) or not address.strip():
        raise ParameterError(f"address must be a scheduler address such as 'tcp://host:8786', got {address!r}.")
    timeout = check_positive("timeout", timeout, unit="s")
    if not isinstance(set_as_default, bool):
        raise ParameterError(f"set_as_default must be True or False, got {set_as_default!r}.")
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ParameterError("connecting to a scheduler needs dask.distributed: pip install 'holocorr[dask]'.") from exc
    try:
        return Client(address.strip(), timeout=timeout, set_as_default=set_as_default)
    except (OSError, TimeoutError) as exc:
        raise ParameterError(
            f"could not connect to the dask scheduler at {address!r} within {timeout:g} s "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no answer'}). Check that "
            "the scheduler is running (e.g. `dask scheduler`, or the address of your dask-jobqueue "
            "cluster), that the host and port are right and reachable from this machine; or leave the "
            "address out to run on this machine."
        ) from None
    except ValueError as exc:  # malformed address
        raise ParameterError(
            f"{address!r} is not a valid scheduler address ({exc}); use e.g. 'tcp://host:8786'."
        ) from None


def peak_memory_mb() -> float:
    """Peak resident memory of this process [MB] (VmHWM on Linux, else ru_maxrss).

    Run it on the workers to check bounded streaming:
    ``client.run(holocorr.series.distributed.peak_memory_mb)``.

    Returns
    -------
    float
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # pragma: no cover


def reset_peak_memory() -> float:
    """Reset the peak-memory mark to the current resident memory (Linux); return it [MB].

    Returns
    -------
    float
        The current resident memory [MB] (NaN when unknown).
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # pragma: no cover - not Linux or not permitted
        pass
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover
        pass
    return math.nan  # pragma: no cover
