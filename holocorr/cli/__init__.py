"""The ``holocorr`` command line: a thin layer over the public Python API.

Exit codes: 0 success, 2 usage error, 3 bad data or parameters (one-line
message; the traceback only with ``--debug``). Outputs are never written over
an input, and an existing output is only replaced with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .._version import __version__
from ..errors import HolocorrError, HolocorrWarning

__all__ = ["main"]

EXIT_OK, EXIT_USAGE, EXIT_DATA = 0, 2, 3
log = logging.getLogger("holocorr")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's usage errors -> exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"holocorr: error: {message}\n")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help="only errors; no progress bars")
    p.add_argument("--verbose", "-v", action="store_true", help="more detail")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def _out_path(path: str, overwrite: bool) -> Path:
    out = Path(path)
    if out.exists() and not overwrite:
        raise HolocorrError(f"{out} exists; choose another output or pass --overwrite.")
    return out


def _cmd_info(args) -> int:
    import holocorr

    da = holocorr.load(args.file)
    coords = {}
    for d in da.dims:
        c = da[d]
        u = c.attrs.get("units", "")
        if c.size > 1:
            coords[d] = f"{da.sizes[d]} x {float(c[1] - c[0]):.6g} {u} (from {float(c[0]):.6g})"
        else:
            coords[d] = f"{da.sizes[d]}"
    keys = ("beam_energy_kv", "biprism_voltage_v", "exposure_s", "magnification", "signal_type", "source_sha256")
    info = {
        "file": str(args.file),
        "dims": list(da.dims),
        "shape": list(da.shape),
        "dtype": str(da.dtype),
        "axes": coords,
        **{k: da.attrs[k] for k in keys if k in da.attrs},
    }
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        for k, v in info.items():
            if isinstance(v, dict):
                print(f"{k}:")
                for kk, vv in v.items():
                    print(f"  {kk}: {vv}")
            else:
                print(f"{k}: {v}")
    return EXIT_OK


def _cmd_reconstruct(args) -> int:
    import holocorr
    from holocorr.holography import reconstruct

    out = _out_path(args.output, args.overwrite)
    holo = holocorr.load(args.hologram)
    ref = holocorr.load(args.reference) if args.reference else None
    radius = args.radius if args.radius_y is None else (args.radius_y, args.radius)
    ds = reconstruct(
        holo,
        ref,
        sideband=args.sideband,
        radius=radius,
        edge=args.edge,
        output_shape=tuple(args.output_shape) if args.output_shape else None,
        unwrap=not args.no_unwrap,
        apodize=args.apodize,
        reference_smoothing=args.reference_smoothing,
        fresnel_filter=args.fresnel_filter,
    )
    inputs = [args.hologram] + ([args.reference] if args.reference else [])
    holocorr.save(ds, out, overwrite=args.overwrite, inputs=inputs)
    sb = json.loads(ds.attrs["sideband"])
    log.info(
        "sideband: spacing %.3f px, angle %.2f deg, contrast %.3f", sb["spacing_px"], sb["angle_deg"], sb["contrast"]
    )
    print(out)
    return EXIT_OK


def _cmd_potential(args) -> int:
    import holocorr
    from holocorr.holography import potential_change

    out = _out_path(args.output, args.overwrite)
    charged = holocorr.io.load_dataset(args.charged)
    pristine = holocorr.io.load_dataset(args.pristine)
    vacuum = {}
    if args.vacuum_x:
        vacuum["x"] = tuple(args.vacuum_x)
    if args.vacuum_y:
        vacuum["y"] = tuple(args.vacuum_y)
    vacuum = vacuum or None
    res = potential_change(
        charged, pristine, thickness=args.thickness, vacuum=vacuum, beam_energy_kv=args.beam_energy_kv
    )
    holocorr.save(res, out, overwrite=args.overwrite, inputs=[args.charged, args.pristine])
    print(out)
    return EXIT_OK


def _cmd_eels_li_map(args) -> int:
    import holocorr
    from holocorr.eels import li_map

    out = _out_path(args.output, args.overwrite)
    core = holocorr.load(args.core_loss)
    low = None
    if args.low_loss:
        low = holocorr.load(args.low_loss)
        if "energy_low" in low.dims:
            low = low.rename(energy_low="energy")
    res = li_map(core, low_loss=low)
    inputs = [args.core_loss] + ([args.low_loss] if args.low_loss else [])
    holocorr.save(res, out, overwrite=args.overwrite, inputs=inputs)
    print(out)
    return EXIT_OK


def _profile_from(path: str, variable: str | None):
    import holocorr

    ds = holocorr.io.load_dataset(path)
    names = [variable] if variable else [v for v in ds.data_vars if ds[v].ndim == 1]
    if not names or names[0] not in ds or ds[names[0]].ndim != 1:
        raise HolocorrError(
            f"{path} holds no 1-D profile{' named ' + repr(variable) if variable else ''}; variables: "
            f"{', '.join(f'{k} {tuple(v.dims)}' for k, v in ds.data_vars.items())}. Choose one with --variable-a/-b."
        )
    da = ds[names[0]]
    err = next((v for v in ("profile_error", "error", f"{names[0]}_error") if v in ds and v != names[0]), None)
    if err is not None and "profile_error" not in da.coords:
        da = da.assign_coords(profile_error=(da.dims[0], ds[err].values))
    return da


def _cmd_correlate(args) -> int:
    import holocorr
    from holocorr.correlation import compare

    out = _out_path(args.output, args.overwrite)
    a = _profile_from(args.a, args.variable_a)
    b = _profile_from(args.b, args.variable_b)
    if args.range:
        a = a.sel({a.dims[0]: slice(*args.range)})
        b = b.sel({b.dims[0]: slice(*args.range)})
    res = compare(a, b, n_boot=args.n_boot, rng=args.rng)
    d = res.to_dict()
    if out.suffix == ".json":
        from .._provenance import jsonable
        from ..pipeline.run import _atomic_text

        _atomic_text(out, json.dumps(jsonable(d), indent=2) + "\n")
    else:
        holocorr.save(res.to_dataset(), out, overwrite=args.overwrite, inputs=[args.a, args.b])
    ci = d["r_ci"]
    print(
        f"r = {d['r']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}], N_eff = {d['n_effective']:.1f}, p = {d['p_value']:.3g}, "
        f"lag = {d['lag_nm']:.1f} nm"
    )
    print(out)
    return EXIT_OK


def _cmd_simulate(args) -> int:
    from ..simulate.reference import write_reference

    m = write_reference(args.folder, overwrite=args.overwrite)
    print(f"wrote {len(m['files'])} files and manifest.json to {args.folder}")
    return EXIT_OK


def _cmd_pipeline(args) -> int:
    from ..pipeline import load_config, run

    config = load_config(args.config)
    if args.overwrite or args.output:
        values = {k: dict(v) for k, v in config.values.items()}
        if args.overwrite:
            values["output"]["overwrite"] = True
        if args.output:
            values["output"]["folder"] = str(Path(args.output).resolve())
        config = type(config)(values=values, source=config.source)
    res = run(config, progress=not args.quiet)
    print(res.folder / "report.html")
    return EXIT_OK


def _cmd_demo(args) -> int:
    from ..demo import run

    run(Path(args.output), overwrite=args.overwrite, progress=not args.quiet)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``holocorr`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    p = _Parser(prog="holocorr", description="Electron holography + EELS + statistics for battery interfaces.")
    p.add_argument("--version", action="version", version=f"holocorr {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("info", help="metadata summary of a file")
    s.add_argument("file")
    s.add_argument("--json", action="store_true", help="print JSON")
    _common(s)
    s.set_defaults(func=_cmd_info)

    s = sub.add_parser("reconstruct", help="reconstruct an off-axis hologram to a NetCDF/Zarr file")
    s.add_argument("hologram")
    s.add_argument("--reference", "-r", help="vacuum reference hologram")
    s.add_argument("--output", "-o", required=True, help="output .nc or .zarr")
    s.add_argument("--sideband", choices=("upper", "lower"), default="upper")
    s.add_argument("--radius", type=float, default=1 / 3, help="aperture radius / |q_c| (default 1/3)")
    s.add_argument("--radius-y", type=float, default=None, help="elliptical aperture: radius along fy")
    s.add_argument("--edge", choices=("tanh", "butterworth", "gaussian", "hard"), default="tanh")
    s.add_argument("--output-shape", type=int, nargs=2, metavar=("NY", "NX"))
    s.add_argument("--apodize", type=float, default=None, help="Tukey taper fraction per side")
    s.add_argument("--reference-smoothing", type=float, default=None, help="sigma in px")
    s.add_argument("--fresnel-filter", type=float, default=None, help="stripe width in FFT px")
    s.add_argument("--no-unwrap", action="store_true")
    s.add_argument("--overwrite", action="store_true")
    _common(s)
    s.set_defaults(func=_cmd_reconstruct)

    s = sub.add_parser("potential", help="charged - pristine potential change from two reconstructions")
    s.add_argument("charged")
    s.add_argument("pristine")
    s.add_argument("--thickness", type=float, required=True, help="specimen thickness [nm]")
    s.add_argument("--vacuum-x", type=float, nargs=2, metavar=("X0", "X1"), help="vacuum x range [nm]")
    s.add_argument("--vacuum-y", type=float, nargs=2, metavar=("Y0", "Y1"), help="vacuum y range [nm]")
    s.add_argument("--beam-energy-kv", type=float, default=None)
    s.add_argument("--output", "-o", required=True)
    s.add_argument("--overwrite", action="store_true")
    _common(s)
    s.set_defaults(func=_cmd_potential)

    s = sub.add_parser("eels", help="EELS: Li maps and profiles")
    esub = s.add_subparsers(dest="eels_command", required=True, parser_class=_Parser)
    e = esub.add_parser("li-map", help="relative Li map/profile with error bars from SR-EELS or a spectrum image")
    e.add_argument("core_loss")
    e.add_argument("--low-loss", "-l", help="matching low-loss frame (for t/lambda and energy alignment)")
    e.add_argument("--output", "-o", required=True)
    e.add_argument("--overwrite", action="store_true")
    _common(e)
    e.set_defaults(func=_cmd_eels_li_map)

    s = sub.add_parser("correlate", help="compare two 1-D profiles (NetCDF) with honest statistics")
    s.add_argument("a", help="first profile file (e.g. potential_profile.nc)")
    s.add_argument("b", help="second profile file (e.g. li_profile.nc)")
    s.add_argument("--variable-a", default=None)
    s.add_argument("--variable-b", default=None)
    s.add_argument(
        "--range",
        type=float,
        nargs=2,
        metavar=("D0", "D1"),
        help="compare only this distance range [nm] (e.g. away from a Pt interface)",
    )
    s.add_argument("--n-boot", type=int, default=2000)
    s.add_argument("--rng", type=int, default=0, help="random seed")
    s.add_argument("--output", "-o", required=True, help="output .json or .nc")
    s.add_argument("--overwrite", action="store_true")
    _common(s)
    s.set_defaults(func=_cmd_correlate)

    s = sub.add_parser("simulate", help="write the simulated reference dataset")
    s.add_argument("folder")
    s.add_argument("--overwrite", action="store_true")
    _common(s)
    s.set_defaults(func=_cmd_simulate)

    s = sub.add_parser("pipeline", help="run the whole analysis from a TOML configuration")
    s.add_argument("config", help="pipeline configuration (TOML)")
    s.add_argument("--output", "-o", default=None, help="results folder (overrides output.folder)")
    s.add_argument("--overwrite", action="store_true", help="write into an existing results folder")
    _common(s)
    s.set_defaults(func=_cmd_pipeline)

    s = sub.add_parser("demo", help="run the demo on the bundled reference data")
    s.add_argument("--output", "-o", default="results")
    s.add_argument("--overwrite", action="store_true", help="replace an existing results folder")
    _common(s)
    s.set_defaults(func=_cmd_demo)

    from ..series.cli import add_series_command

    add_series_command(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``holocorr`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code: 0 ok, 2 usage, 3 bad data.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version / usage errors
        return int(exc.code or 0)
    level = logging.ERROR if args.quiet else (logging.DEBUG if args.verbose else logging.INFO)
    # Configure holocorr's own logger only: third-party INFO chatter stays silent.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    import holocorr

    def show(message, category, filename, lineno, file=None, line=None):
        # On the command line a warning is a message, not a source location.
        print(f"holocorr: warning: {message}", file=sys.stderr)

    import time

    t0 = time.perf_counter()
    log.debug("holocorr %s: %s", __version__, {k: v for k, v in vars(args).items() if k != "func"})
    try:
        with holocorr.set_options(progress=not args.quiet):
            with warnings.catch_warnings():
                warnings.showwarning = show
                # holocorr's warnings are messages for the user on the command line
                warnings.simplefilter("ignore" if args.quiet else "default", HolocorrWarning)
                code = args.func(args)
                log.debug("done in %.2f s", time.perf_counter() - t0)
                return code
    except HolocorrError as exc:
        if args.debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"holocorr: error: {msg}", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt:
        print("holocorr: interrupted", file=sys.stderr)
        return 130
