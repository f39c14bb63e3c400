import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib_scalebar.scalebar import ScaleBar

from holocorr.errors import ParameterError, ShapeError
from holocorr.holography import reconstruct
from holocorr.plot import map as pmap
from holocorr.plot import reconstruction, style
from holocorr.simulate import hologram


def _da(name="phase", units="rad"):
    y = xr.DataArray(np.arange(40) * 0.5, dims="y", attrs={"units": "nm", "long_name": "y"})
    x = xr.DataArray(np.arange(60) * 0.5, dims="x", attrs={"units": "nm", "long_name": "x"})
    vals = np.outer(np.linspace(-1, 2, 40), np.ones(60))
    return xr.DataArray(
        vals,
        dims=("y", "x"),
        coords={"y": y, "x": x},
        name=name,
        attrs={"units": units, "long_name": name.replace("_", " ")},
    )


def test_map_labels_scalebar_and_extent():
    fig, ax = plt.subplots()
    im = pmap(_da(), ax=ax)
    assert ax.get_xlabel() == "x [nm]" and ax.get_ylabel() == "y [nm]"
    cbar_ax = fig.axes[1]
    assert cbar_ax.get_ylabel() == "phase [rad]"
    bars = [a for a in ax.artists if isinstance(a, ScaleBar)]
    assert len(bars) == 1 and bars[0].dx == 1.0 and bars[0].units == "nm"
    # extent covers pixel edges: 0.5 nm pixels from 0 to 29.5 nm
    assert im.get_extent() == pytest.approx((-0.25, 29.75, 19.75, -0.25))
    lo, hi = im.get_clim()
    assert -1.0 <= lo < hi <= 2.0
    plt.close(fig)


def test_diverging_centred_for_changes():
    fig, ax = plt.subplots()
    im = pmap(_da("delta_potential", "V"), ax=ax)
    lo, hi = im.get_clim()
    assert lo == pytest.approx(-hi)
    assert im.get_cmap().name == "RdBu_r"
    plt.close(fig)


def test_map_bad_input():
    with pytest.raises(ShapeError, match=r"\(y, x\)"):
        pmap(_da().expand_dims(frame=2))
    with pytest.raises(ShapeError, match="complex"):
        pmap(_da() + 1j)
    with pytest.raises(ParameterError, match="journal"):
        with style("triple"):
            pass


def test_reconstruction_figure_written(tmp_path):
    y = xr.DataArray(np.arange(128) * 0.5, dims="y", attrs={"units": "nm"})
    x = xr.DataArray(np.arange(128) * 0.5, dims="x", attrs={"units": "nm"})
    phi = xr.DataArray(np.zeros((128, 128)), dims=("y", "x"), coords={"y": y, "x": x})
    h = hologram(phi, spacing_px=4.0, angle_deg=30, contrast=0.3)
    ds = reconstruct(h, unwrap=False)
    with style("double") as st:
        fig = reconstruction(ds, h)
        assert st["width_in"] == pytest.approx(180 / 25.4)
        out = tmp_path / "rec.png"
        fig.savefig(out)
    assert out.stat().st_size > 10_000
    assert len(fig.axes) >= 4
    plt.close(fig)


def test_rendered_map_pixels_match_the_colormap():
    """Image statistics of the rendered figure against an independent baseline:
    a linear ramp shown with robust=False covers the colour map uniformly, so the
    mean colour of the axes image equals the mean of cividis over [0, 1]."""
    n = 200
    x = xr.DataArray(np.arange(n) * 0.5, dims="x", attrs={"units": "nm"})
    y = xr.DataArray(np.arange(n) * 0.5, dims="y", attrs={"units": "nm"})
    ramp = xr.DataArray(np.tile(np.linspace(0.0, 1.0, n), (n, 1)), dims=("y", "x"), coords={"y": y, "x": x},
                        attrs={"units": "rad", "long_name": "phase"})
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    pmap(ramp, ax=ax, robust=False, scalebar=False, colorbar=False)
    ax.set_axis_off()
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float) / 255
    bb = ax.get_window_extent()
    h = rgba.shape[0]
    inner = rgba[int(h - bb.y1) + 3 : int(h - bb.y0) - 3, int(bb.x0) + 3 : int(bb.x1) - 3]
    expected = plt.get_cmap("cividis")(np.linspace(0, 1, 1001))[:, :3].mean(axis=0)
    np.testing.assert_allclose(inner.reshape(-1, 3).mean(axis=0), expected, atol=0.01)
    # left to right the colours follow the map: its ends at the first and last columns
    cmap = plt.get_cmap("cividis")
    np.testing.assert_allclose(inner[:, :3].reshape(-1, 3).mean(axis=0), cmap(0.0)[:3], atol=0.03)
    np.testing.assert_allclose(inner[:, -3:].reshape(-1, 3).mean(axis=0), cmap(1.0)[:3], atol=0.03)
    plt.close(fig)
