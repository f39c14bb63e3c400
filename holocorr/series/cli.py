"""``holocorr series ...`` subcommands (registered by :func:`add_series_command`).

``holocorr series reconstruct GLOB --reference REF -o OUT.zarr`` streams a
hologram series through reconstruction into a resumable Zarr store;
``holocorr series average WAVES.zarr -o AVG.nc`` aligns, removes the phase
drift and averages stored waves. Both take ``--scheduler ADDRESS`` to run on
a dask.distributed cluster. Same conventions as the other commands: exit 3
with a one-line message for bad data, outputs never written over inputs,
``--overwrite`` to replace.
"""

from __future__ import annotations

import argparse
import logging
from contextlib import nullcontext
from pathlib import Path

from ..errors import HolocorrError

__all__ = ["add_series_command"]

log = logging.getLogger("holocorr")


def _scheduler(args):
    if not args.scheduler:
        return nullcontext()
    from .distributed import connect

    client = connect(args.scheduler, timeout=args.scheduler_timeout)
    log.info("dask scheduler %s: %d worker(s)", args.scheduler, len(client.scheduler_info().get("workers", {})))
    return client


def _cmd_reconstruct(args) -> int:
    import holocorr
    from holocorr.series import open_series, reconstruct, to_zarr

    out = Path(args.output)
    if out.suffix.lower() != ".zarr":
        raise HolocorrError(f"{out} must end in .zarr (the series is written chunk by chunk to a Zarr store).")
    chunks = "auto" if args.chunks is None else args.chunks
    with _scheduler(args):
        series = open_series(args.series, chunks=chunks, on_error=args.on_error)
        ref = holocorr.load(args.reference)
        waves = reconstruct(
            series,
            ref,
            sideband=args.sideband,
            radius=args.radius,
            output_shape=tuple(args.output_shape) if args.output_shape else None,
            apodize=args.apodize,
            reference_smoothing=args.reference_smoothing,
            on_error=args.on_error,
        )
        report = to_zarr(waves, out, overwrite=args.overwrite, resume=not args.overwrite, inputs=[args.reference])
    log.info(
        "%d frame(s) in %d chunk(s): %d written, %d already complete",
        series.sizes["frame"],
        report.n_chunks,
        report.written,
        report.skipped,
    )
    print(report.path)
    return 0


def _cmd_average(args) -> int:
    import holocorr
    from holocorr.series import align, average, correct_phase_drift

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise HolocorrError(f"{out} exists; choose another output or pass --overwrite.")
    with _scheduler(args):
        waves = holocorr.io.load_dataset(args.waves, lazy=True)
        if args.align != "none":
            waves = align(waves, on=args.align, upsample=args.upsample)
        region = None
        if args.vacuum_x:
            region = {"x": tuple(args.vacuum_x)}
        waves = correct_phase_drift(waves, region=region, tilt=args.tilt)
        result = average(waves)
    holocorr.save(result, out, overwrite=args.overwrite, inputs=[args.waves])
    log.info(
        "averaged %d of %d frame(s); excluded: %s",
        int(result.n_frames),
        result.attrs["n_frames_total"],
        result.attrs["excluded_frames"],
    )
    print(out)
    return 0


def _scheduler_args(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="dask.distributed scheduler address (e.g. tcp://host:8786); default: this machine",
    )
    s.add_argument(
        "--scheduler-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for the scheduler (default 10)",
    )


def add_series_command(subparsers) -> argparse.ArgumentParser:
    """Add the ``series`` command (with ``reconstruct`` and ``average``) to the CLI.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``holocorr`` command's subparsers.

    Returns
    -------
    argparse.ArgumentParser
        The ``series`` parser.
    """
    from ..cli import _common

    p = subparsers.add_parser("series", help="hologram series: streamed reconstruction and averaging")
    sub = p.add_subparsers(dest="series_command", required=True, parser_class=type(p))

    s = sub.add_parser("reconstruct", help="reconstruct a hologram series into a resumable Zarr store")
    s.add_argument("series", help="glob of the frame files (quote it), one file, or a .nc/.zarr stack")
    s.add_argument("--reference", "-r", required=True, help="vacuum reference hologram")
    s.add_argument("--output", "-o", required=True, help="output .zarr store (resumed if interrupted)")
    s.add_argument("--chunks", type=int, default=None, metavar="N", help="frames per task (default: ~64 MB)")
    s.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="unreadable frame files: stop (default) or skip and flag them",
    )
    s.add_argument("--sideband", choices=("upper", "lower"), default="upper")
    s.add_argument("--radius", type=float, default=1 / 3, help="aperture radius / |q_c| (default 1/3)")
    s.add_argument("--output-shape", type=int, nargs=2, metavar=("NY", "NX"))
    s.add_argument("--apodize", type=float, default=None, help="Tukey taper fraction per side")
    s.add_argument("--reference-smoothing", type=float, default=None, help="sigma in px")
    s.add_argument("--overwrite", action="store_true", help="start again, replacing an existing store")
    _scheduler_args(s)
    _common(s)
    s.set_defaults(func=_cmd_reconstruct)

    s = sub.add_parser("average", help="align, correct the phase drift and average stored waves")
    s.add_argument("waves", help="waves .zarr written by 'holocorr series reconstruct'")
    s.add_argument("--output", "-o", required=True, help="output .nc or .zarr")
    s.add_argument("--align", choices=("amplitude", "phase_gradient", "wave", "none"), default="amplitude")
    s.add_argument("--upsample", type=int, default=20, help="registration precision 1/N px")
    s.add_argument(
        "--vacuum-x",
        type=float,
        nargs=2,
        metavar=("X0", "X1"),
        help="x range [nm] of vacuum for the phase-offset fit (default: the common area)",
    )
    s.add_argument("--tilt", action="store_true", help="also fit a phase tilt per frame")
    s.add_argument("--overwrite", action="store_true")
    _scheduler_args(s)
    _common(s)
    s.set_defaults(func=_cmd_average)
    return p
