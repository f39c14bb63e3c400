"""Image maps with physical scale bars and labelled colour bars."""

from __future__ import annotations

import contextlib
import json
import math
import numbers
from collections.abc import Iterator

import matplotlib as mpl
import numpy as np
import xarray as xr

from .._validate import spatial_units_to_nm
from ..errors import DataError, ParameterError, ShapeError

__all__ = ["map", "reconstruction", "style", "label"]

_DIVERGING = ("delta_potential", "delta_phase", "potential_change")
_WIDTHS_MM = {"single": 85.0, "double": 180.0}


def label(da: xr.DataArray, default: str = "") -> str:
    """``"long_name [units]"`` from a DataArray's attrs.

    Parameters
    ----------
    da : xarray.DataArray
        Data or coordinate.
    default : str
        Used when there is no long_name.

    Returns
    -------
    str
    """
    name = da.attrs.get("long_name", da.name if da.name is not None else default)
    units = da.attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


def _check_cmap(cmap) -> None:
    """Refuse an unknown colour-map name before any figure is made."""
    if cmap is None or isinstance(cmap, mpl.colors.Colormap):
        return
    if not isinstance(cmap, str) or cmap not in mpl.colormaps:
        raise ParameterError(
            f"cmap={cmap!r} is not a matplotlib colour map; use a name such as 'cividis', 'gray', "
            "'RdBu_r' (see matplotlib.colormaps) or a Colormap."
        )


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


def map(  # noqa: A001 - the documented public name
    da: xr.DataArray,
    *,
    ax=None,
    cmap: str | None = None,
    scalebar: bool = True,
    colorbar: bool = True,
    center: float | None = None,
    robust: bool = True,
    title: str | None = None,
):
    """Show a (y, x) map with a scale bar and a labelled colour bar.

    Parameters
    ----------
    da : (y, x) xarray.DataArray
        The map; coords in nm (or px) label the scale bar.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (a new figure when None).
    cmap : str, optional
        Colour map; default "cividis" (sequential, colour-blind safe) and
        "RdBu_r" centred on 0 for changes (names in ``delta_*``) or when
        `center` is given.
    scalebar : bool
        Draw a matplotlib-scalebar scale bar in the coordinate units.
    colorbar : bool
        Draw a colour bar labelled ``long_name [units]``.
    center : float, optional
        Centre of a diverging colour scale.
    robust : bool
        Colour limits at the 1st/99th percentiles instead of min/max.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.image.AxesImage

    Raises
    ------
    ShapeError
        For data that are not a 2-D (y, x) DataArray, complex, or without
        any finite value.
    DataError
        For non-numeric data.
    ParameterError
        For a non-finite `center` or an unknown `cmap`.
    """
    if not isinstance(da, xr.DataArray) or da.dims != ("y", "x"):
        raise ShapeError(
            f"plot.map needs a (y, x) DataArray, got {getattr(da, 'dims', type(da).__name__)}; "
            "select one frame with .isel(frame=k)."
        )
    vals = np.asarray(da.values)
    if np.iscomplexobj(vals):
        raise ShapeError("plot.map shows real maps; pass the phase or amplitude, not the complex wave.")
    if vals.dtype.kind not in "biuf":
        raise DataError(f"plot.map needs numbers, got dtype {vals.dtype}.")
    if center is not None and (
        isinstance(center, bool) or not isinstance(center, numbers.Real) or not math.isfinite(center)
    ):
        raise ParameterError(f"center must be a finite number (the value shown white), got {center!r}.")
    _check_cmap(cmap)
    finite = vals[np.isfinite(vals)]
    if finite.size == 0:
        raise ShapeError("the map has no finite values to show.")
    ax = _axes(ax)
    lo, hi = np.percentile(finite, [1, 99]) if robust else (finite.min(), finite.max())
    diverging = center is not None or str(da.name).startswith("delta_") or str(da.name) in _DIVERGING
    if diverging:
        c = 0.0 if center is None else float(center)
        half = max(abs(hi - c), abs(lo - c)) or 1.0
        lo, hi = c - half, c + half
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    cmap = cmap or ("RdBu_r" if diverging else "cividis")
    y = np.asarray(da["y"].values, dtype=float) if "y" in da.coords else np.arange(vals.shape[0], dtype=float)
    x = np.asarray(da["x"].values, dtype=float) if "x" in da.coords else np.arange(vals.shape[1], dtype=float)
    dy = y[1] - y[0] if y.size > 1 else 1.0
    dx = x[1] - x[0] if x.size > 1 else 1.0
    extent = (x[0] - dx / 2, x[-1] + dx / 2, y[-1] + dy / 2, y[0] - dy / 2)
    im = ax.imshow(vals, cmap=cmap, vmin=lo, vmax=hi, extent=extent, origin="upper", interpolation="nearest")
    ax.set_xlabel(label(da["x"], "x") if "x" in da.coords else "x [px]")
    ax.set_ylabel(label(da["y"], "y") if "y" in da.coords else "y [px]")
    if title:
        ax.set_title(title)
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax, shrink=0.85)
        cb.set_label(label(da, "value"))
    if scalebar:
        from matplotlib_scalebar.scalebar import ScaleBar

        units = da["x"].attrs.get("units", "px") if "x" in da.coords else "px"
        factor = spatial_units_to_nm(units)
        if factor is not None:
            ax.add_artist(ScaleBar(factor, "nm", location="lower right", box_alpha=0.6))
        else:
            ax.add_artist(ScaleBar(1.0, "px", dimension="pixel-length", location="lower right", box_alpha=0.6))
    return im


def reconstruction(ds: xr.Dataset, hologram: xr.DataArray | None = None, *, fig=None):
    """Hologram, its log power spectrum with the aperture, amplitude and phase.

    Parameters
    ----------
    ds : xarray.Dataset
        Result of :func:`holocorr.holography.reconstruct`.
    hologram : (y, x) xarray.DataArray, optional
        The hologram, for the first two panels.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ShapeError
        When `ds` is not one (y, x) reconstruction or `hologram` is not a
        (y, x) DataArray.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    if not isinstance(ds, xr.Dataset) or "phase" not in ds:
        raise ShapeError("plot.reconstruction needs the Dataset returned by reconstruct().")
    if ds["phase"].dims != ("y", "x"):
        raise ShapeError(
            f"plot.reconstruction shows one (y, x) reconstruction; the phase has dims {ds['phase'].dims} "
            "(select a frame with .isel(frame=k), or average the series first)."
        )
    if hologram is not None and (not isinstance(hologram, xr.DataArray) or hologram.dims != ("y", "x")):
        raise ShapeError(
            f"hologram must be a (y, x) DataArray, got {getattr(hologram, 'dims', type(hologram).__name__)}."
        )
    n = 4 if hologram is not None else 2
    fig = fig or plt.figure(figsize=(3.2 * n, 3.0), layout="constrained")
    axes = fig.subplots(1, n)
    k = 0
    if hologram is not None:
        map(hologram, ax=axes[0], cmap="gray", title="hologram")
        h = np.asarray(hologram.values, dtype=float)
        spec = np.fft.fftshift(np.abs(np.fft.fft2(h - h.mean())))
        ny, nx = h.shape
        axes[1].imshow(np.log1p(spec), cmap="gray", extent=(-0.5, 0.5, 0.5, -0.5))
        sb = json.loads(ds.attrs["sideband"])
        fy, fx = sb["frequency"]
        ry, rx = ds.attrs["aperture_radius_per_px"]
        axes[1].add_patch(Ellipse((fx, fy), 2 * rx, 2 * ry, fill=False, color="C1", lw=1.2))
        axes[1].set_xlabel("f$_x$ [cycles/px]")
        axes[1].set_ylabel("f$_y$ [cycles/px]")
        axes[1].set_title("FFT and aperture")
        k = 2
    map(ds["amplitude"], ax=axes[k], title="amplitude")
    map(ds["phase"], ax=axes[k + 1], title="phase")
    return fig


@contextlib.contextmanager
def style(journal: str = "single", *, dpi: int = 300) -> Iterator[dict]:
    """Matplotlib style for publication figures.

    Parameters
    ----------
    journal : {"single", "double"}
        Column width: 85 mm (single) or 180 mm (double).
    dpi : int
        Resolution for raster output.

    Yields
    ------
    dict
        ``{"width_in": ...}`` to size figures.

    Raises
    ------
    ParameterError
        For an unknown journal width or a non-positive `dpi`.
    """
    if not isinstance(journal, str) or journal not in _WIDTHS_MM:
        raise ParameterError(f"journal={journal!r} is not allowed; choose 'single' or 'double'.")
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real) or not (math.isfinite(dpi) and dpi > 0):
        raise ParameterError(f"dpi must be a positive number (dots per inch, e.g. 300), got {dpi!r}.")
    width = _WIDTHS_MM[journal] / 25.4
    rc = {
        "figure.dpi": 100,
        "savefig.dpi": dpi,
        "font.size": 8,
        "axes.labelsize": 8,
        "axes.titlesize": 8,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "legend.fontsize": 7,
        "figure.figsize": (width, 0.75 * width),
        "savefig.bbox": "tight",
        "pdf.fonttype": 42,
        "svg.fonttype": "none",
        "image.cmap": "cividis",
    }
    with mpl.rc_context(rc):
        yield {"width_in": width}
