"""Profiles on twin axes, the correlation scatter and the multi-panel summary figure."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ShapeError
from ._maps import label, map

__all__ = ["profiles", "correlation", "summary_figure"]


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


def _xy(p: xr.DataArray):
    if not isinstance(p, xr.DataArray) or p.ndim != 1:
        raise ShapeError(f"a profile must be a 1-D DataArray (over 'distance' or 'x'), got {type(p).__name__}.")
    dim = p.dims[0]
    x = np.asarray(p[dim].values, dtype=float)
    y = np.asarray(p.values, dtype=float)
    err = np.asarray(p["profile_error"].values, dtype=float) if "profile_error" in p.coords else None
    return dim, x, y, err


def profiles(*profs: xr.DataArray, ax=None, fronts=None, labels=None, colors=("C0", "C3")):
    """Two profiles on twin y axes with ±2 s.e. bands and fitted fronts marked.

    Parameters
    ----------
    *profs : 1-D xarray.DataArray
        One or two profiles over ``distance`` (or ``x``) [nm], each with an
        optional ``profile_error`` coordinate; y labels come from
        ``long_name [units]``.
    ax : matplotlib.axes.Axes, optional
        Axes for the first profile (the second gets a twin axis).
    fronts : sequence of Front or None, optional
        Fitted fronts (from :func:`holocorr.correlation.fit_front`) drawn as
        dashed model curves and vertical lines.
    labels : sequence of str, optional
        Legend labels.
    colors : sequence of str
        Line colours.

    Returns
    -------
    list of matplotlib.axes.Axes
        The axes, one per profile.

    Raises
    ------
    ShapeError
        For anything but one or two 1-D profiles, or `fronts`/`labels`
        that do not have one entry per profile.
    """
    if not 1 <= len(profs) <= 2:
        raise ShapeError(f"profiles() draws one or two profiles, got {len(profs)}.")
    for p in profs:
        _xy(p)
    if fronts is not None:
        fronts = list(fronts)
        if len(fronts) != len(profs):
            raise ShapeError(f"fronts needs one entry (a Front or None) per profile: {len(profs)}, got {len(fronts)}.")
        if any(f is not None and not hasattr(f, "model") for f in fronts):
            raise ShapeError("fronts must hold Front objects from holocorr.correlation.fit_front (or None).")
    if labels is not None:
        if isinstance(labels, str) or len(labels) != len(profs):
            raise ShapeError(f"labels needs one string per profile ({len(profs)}), got {labels!r}.")
    ax = _axes(ax)
    axes = [ax] + ([ax.twinx()] if len(profs) == 2 else [])
    fronts = list(fronts) if fronts is not None else [None] * len(profs)
    for i, (p, a) in enumerate(zip(profs, axes, strict=True)):
        dim, x, y, err = _xy(p)
        col = colors[i % len(colors)]
        name = labels[i] if labels else str(p.attrs.get("long_name", p.name or f"profile {i + 1}"))
        if err is not None:
            a.fill_between(x, y - 2 * err, y + 2 * err, color=col, alpha=0.25, lw=0)
        a.plot(x, y, color=col, lw=1, label=name)
        f = fronts[i] if i < len(fronts) else None
        if f is not None:
            xs = np.linspace(x.min(), x.max(), 600)
            a.plot(xs, f.model(xs), color=col, ls="--", lw=0.8)
            a.axvline(f.position_nm, color=col, ls=":", lw=0.8)
        finite = y[np.isfinite(y)]
        if finite.size:  # limits from the data, not from huge error bands where a signal is absent
            lo, hi = np.percentile(finite, [0.5, 99.5])
            pad = 0.15 * (hi - lo or 1.0)
            a.set_ylim(lo - pad, hi + pad)
        a.set_ylabel(label(p, name), color=col)
        a.tick_params(axis="y", colors=col)
        if i == 0:
            a.set_xlabel(label(p[dim], dim))
    return axes


def correlation(comparison, *, ax=None, xlabel: str | None = None, ylabel: str | None = None):
    """Scatter of the two compared profiles with the Deming line and the statistics.

    Parameters
    ----------
    comparison : holocorr.correlation.Comparison
        From :func:`holocorr.correlation.compare` (a on x, b on y).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    xlabel, ylabel : str, optional
        Axis labels (default: "profile a [units]", "profile b [units]").

    Returns
    -------
    matplotlib.collections.PathCollection
        The scatter.

    Raises
    ------
    ShapeError
        When `comparison` is not a Comparison.
    """
    if not all(hasattr(comparison, k) for k in ("a", "b", "slope", "intercept", "r", "r_ci")):
        raise ShapeError("plot.correlation needs the Comparison returned by holocorr.correlation.compare.")
    ax = _axes(ax)
    a, b = np.asarray(comparison.a), np.asarray(comparison.b)
    sc = ax.scatter(a, b, s=5, c=np.asarray(comparison.distance), cmap="cividis", label="colour: distance")
    xs = np.linspace(np.nanmin(a), np.nanmax(a), 50)
    lo, hi = comparison.slope_ci
    ax.plot(
        xs,
        comparison.intercept + comparison.slope * xs,
        "C3",
        lw=1,
        label=f"Deming slope {comparison.slope:.3g} [{lo:.3g}, {hi:.3g}]",
    )
    r_lo, r_hi = comparison.r_ci
    ax.plot([], [], " ", label=f"r = {comparison.r:.2f} [{r_lo:.2f}, {r_hi:.2f}]")
    ax.plot([], [], " ", label=f"N_eff = {comparison.n_effective:.1f}, p = {comparison.p_value:.2g}")
    ax.set_xlabel(xlabel or f"profile a [{comparison.units_a or ''}]")
    ax.set_ylabel(ylabel or f"profile b [{comparison.units_b or ''}]")
    ax.legend(loc="best", fontsize="x-small", frameon=False)
    return sc


def summary_figure(results: dict, *, fig=None):
    """Draw the multi-panel figure of an analysis: maps, SR-EELS, profiles, fronts, scatter.

    Parameters
    ----------
    results : dict or holocorr.pipeline.Results
        With ``pristine_reconstruction``, ``potential_change``,
        ``potential_profile``, ``li_profile``, ``comparison`` and optionally
        ``core_loss`` (the SR-EELS frame), ``li_front``, ``potential_front``.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ShapeError
        When a required entry is missing.
    """
    import matplotlib.pyplot as plt

    data = getattr(results, "data", results)
    if not isinstance(data, dict):
        raise ShapeError(
            f"summary_figure needs a dict of results or a holocorr.pipeline.Results, got {type(results).__name__}."
        )
    need = ("pristine_reconstruction", "potential_change", "potential_profile", "li_profile", "comparison")
    missing = [k for k in need if k not in data]
    if missing:
        raise ShapeError(f"summary_figure needs {missing} (run the pipeline with an [eels] section).")
    fig = fig or plt.figure(figsize=(180 / 25.4, 170 / 25.4), layout="constrained")
    ax = fig.subplots(3, 2)
    map(data["pristine_reconstruction"]["amplitude"], ax=ax[0, 0], cmap="gray", title="(a) amplitude, pristine")
    map(data["potential_change"]["delta_potential"], ax=ax[0, 1], title="(b) potential change")
    if "core_loss" in data:
        core = data["core_loss"]
        e = np.asarray(core["energy"].values)
        x = np.asarray(core[core.dims[0]].values)
        img = np.log10(np.maximum(np.asarray(core.values, dtype=float), 1.0))
        im = ax[1, 0].imshow(img.T, aspect="auto", origin="lower", cmap="magma", extent=(x[0], x[-1], e[0], e[-1]))
        ax[1, 0].axhspan(40, 80, color="w", alpha=0.15, lw=0)
        ax[1, 0].set_xlabel(label(core[core.dims[0]], "x"))
        ax[1, 0].set_ylabel(label(core["energy"], "energy"))
        ax[1, 0].set_title("(c) SR-EELS, 40-80 eV fit window shaded")
        fig.colorbar(im, ax=ax[1, 0], shrink=0.85).set_label("log10 counts")
    else:
        ax[1, 0].set_axis_off()
    profiles(data["li_profile"], ax=ax[1, 1], fronts=[data.get("li_front")], labels=["Li"])
    ax[1, 1].set_title("(d) Li profile and front")
    pp = data["potential_profile"]
    pv = pp["value"].assign_coords(profile_error=("x", np.asarray(pp["error"].values)))
    pv = pv.assign_attrs(long_name="ΔV")
    li = data["li_profile"].assign_attrs(long_name="Li")
    profiles(pv, li, ax=ax[2, 0], fronts=[data.get("potential_front"), data.get("li_front")])
    ax[2, 0].set_title("(e) potential change and Li")
    cmp_ = data["comparison"]
    correlation(cmp_, ax=ax[2, 1], xlabel=f"ΔV [{cmp_.units_a or ''}]", ylabel=f"Li [{cmp_.units_b or ''}]")
    ax[2, 1].set_title("(f) ΔV vs Li")
    return fig
