"""Bad input raises a HolocorrError subclass whose message says what to do."""

import numpy as np
import pytest
import xarray as xr

from holocorr.eels import (
    align_energy,
    as_spectra,
    deconvolve,
    eftem_map,
    fit_edges,
    integrate,
    li_map,
    subtract_background,
    thickness,
)
from holocorr.errors import CalibrationError, DataError, ParameterError, ShapeError

from . import _synth as S

E = np.arange(30.0, 100.0, 0.1)


def good(n=4, energy=E):
    y = 2e4 * (energy[None, :] / 40.0) ** -3 * np.ones((n, 1))
    return S.energy_da(y, energy, ("x", "energy"), {"x": np.arange(n) * 2.0})


def test_missing_or_unnamed_energy_dim():
    with pytest.raises(ShapeError, match="which axis is the energy"):
        integrate(np.ones((3, 100)), window=(55, 75), background=(44, 54))
    da = good().rename(energy="channel")
    with pytest.raises(ShapeError, match="no 'energy' dim"):
        integrate(da, window=(55, 75), background=(44, 54))
    with pytest.raises(ShapeError, match="Dataset"):
        fit_edges(xr.Dataset({"a": good()}))


def test_energy_axis_calibration_errors():
    da = good().drop_vars("energy")
    with pytest.raises(CalibrationError, match="no energy coordinate"):
        integrate(da, window=(55, 75), background=(44, 54))
    da = good()
    da = da.assign_coords(energy=("energy", E, {"units": "px"}))
    with pytest.raises(CalibrationError, match="units 'px'"):
        integrate(da, window=(55, 75), background=(44, 54))
    with pytest.raises(CalibrationError, match="not ascending"):
        integrate(good().isel(energy=slice(None, None, -1)), window=(55, 75), background=(44, 54))
    e2 = E.copy()
    e2[300:] += 0.05
    with pytest.raises(CalibrationError, match="not uniformly spaced"):
        fit_edges(good(energy=e2))


@pytest.mark.parametrize(
    ("window", "background", "match"),
    [
        ((75, 55), (44, 54), "reversed"),
        ((55, 120), (44, 54), "outside the energy axis"),
        ((55, 75), (20, 40), "outside the energy axis"),
        ((55, 75), (44, 60), "overlaps the signal window"),
        ((55, 75), (80, 90), "lies above the signal window"),
        (("a", 75), (44, 54), "finite numbers"),
        (55, (44, 54), "pair"),
    ],
)
def test_bad_windows(window, background, match):
    with pytest.raises(ParameterError, match=match):
        integrate(good(), window=window, background=background)


def test_negative_counts_nan_and_all_zero_spectra():
    da = good()
    bad = da.copy()
    bad[1, 200] = -5.0
    with pytest.raises(DataError, match="negative value"):
        integrate(bad, window=(55, 75), background=(44, 54))
    with pytest.raises(DataError, match="negative value"):
        fit_edges(bad)
    nan = da.copy()
    nan[2, 300] = np.nan
    with pytest.raises(DataError, match="NaN or infinite"):
        integrate(nan, window=(55, 75), background=(44, 54))
    inf = da.copy()
    inf[2, 300] = np.inf
    with pytest.raises(DataError, match="NaN or infinite"):
        fit_edges(inf)
    zero = da.copy()
    zero[3] = 0.0
    with pytest.raises(DataError, match="all-zero"):
        integrate(zero, window=(55, 75), background=(44, 54))
    with pytest.raises(DataError, match="all-zero"):
        fit_edges(zero)
    with pytest.raises(DataError, match="complex"):
        integrate(da.astype(complex), window=(55, 75), background=(44, 54))
    assert da.values.min() > 0  # inputs untouched


def test_low_loss_on_another_grid():
    core, low, _ = S.sr_eels_frame(x=np.arange(0.0, 100.0, 10.0), noise=False)
    other = low.assign_coords(x=low.x + 3.0)
    with pytest.raises(ShapeError, match="share one spatial grid"):
        li_map(core, low_loss=other)
    with pytest.raises(ShapeError, match="same spatial grid"):
        fit_edges(core, low_loss=low.isel(x=slice(0, 5)))
    with pytest.raises(ShapeError, match="same spatial grid"):
        align_energy(core, low_loss=low.rename(x="y"))
    with pytest.raises(DataError, match="zero-loss peak"):
        thickness(low * 0.0)


def test_bad_options():
    da = good()
    with pytest.raises(ParameterError, match="model="):
        integrate(da, window=(55, 75), background=(44, 54), model="spline")
    with pytest.raises(ParameterError, match="gain"):
        integrate(da, window=(55, 75), background=(44, 54), gain=-1)
    with pytest.raises(ParameterError, match="unknown edge"):
        fit_edges(da, components=["Li K", "Unobtainium M"])
    with pytest.raises(ParameterError, match="distinct"):
        fit_edges(da, components=["Li K", "li"])
    with pytest.raises(ParameterError, match="needs low_loss"):
        li_map(da, normalisation="thickness")
    with pytest.raises(ParameterError, match="needs a normaliser"):
        li_map(da)
    with pytest.raises(ParameterError, match="fourier-ratio' needs"):
        deconvolve(da)
    with pytest.raises(ParameterError, match="fit="):
        subtract_background(da, fit=(50, 40))
    with pytest.raises(ParameterError, match="method="):
        align_energy(da, method="magic")


def test_as_spectra_declares_and_calibrates():
    frame = np.arange(12.0).reshape(3, 4)  # 3 channels x 4 positions
    da = as_spectra(frame, energy_axis=0, offset_ev=50.0, dispersion_ev=0.5, dims=("x",), pixel_size_nm=2.0)
    assert da.dims == ("x", "energy")
    np.testing.assert_allclose(da.energy.values, [50.0, 50.5, 51.0])
    np.testing.assert_allclose(da.x.values, [0.0, 2.0, 4.0, 6.0])
    assert da.values[1, 2] == frame[2, 1]
    assert da.energy.attrs == {"units": "eV", "long_name": "energy loss"}
    # a loaded SR-EELS frame (y, energy): rename the slit axis to x, keep the calibration
    loaded = S.energy_da(np.ones((5, 20)), np.arange(20.0), ("y", "energy"))
    loaded = loaded.assign_coords(y=("y", np.arange(5.0) * 0.5, {"units": "µm"}))
    out = as_spectra(loaded, dims=("x",))
    assert out.dims == ("x", "energy") and out.x.attrs["units"] == "nm"
    np.testing.assert_allclose(out.x.values, np.arange(5.0) * 500.0)
    with pytest.raises(CalibrationError, match="offset_ev"):
        as_spectra(np.ones((3, 4)), energy_axis=1)
    with pytest.raises(ParameterError, match="dispersion_ev must be > 0"):
        as_spectra(np.ones((3, 4)), offset_ev=1.0, dispersion_ev=-0.1)
    with pytest.raises(ShapeError, match="out of range"):
        as_spectra(np.ones((3, 4)), energy_axis=2, offset_ev=1.0, dispersion_ev=0.1)
    with pytest.warns(Warning, match="no length calibration"):
        as_spectra(np.ones((3, 4)), offset_ev=1.0, dispersion_ev=0.1)


def test_eftem_bad_inputs():
    e = np.array([48.0, 53.0, 62.0])
    s = xr.DataArray(np.ones((3, 4, 4)), dims=("energy", "y", "x"), coords={"energy": ("energy", e, {"units": "eV"})})
    with pytest.raises(ParameterError, match="pre-edge image"):
        eftem_map(s, edge=50.0)
    with pytest.raises(CalibrationError, match="ascending"):
        eftem_map(s.isel(energy=[2, 1, 0]), edge="Li K")
    with pytest.raises(DataError, match="zero counts"):
        eftem_map(s * 0.0, edge="Li K")
    with pytest.raises(ParameterError, match="method="):
        eftem_map(s, edge="Li K", method="two-window")
