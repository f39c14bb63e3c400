"""Backgrounds, background subtraction and integration against known answers.

Truths come from tests/eels/_synth.py (edge shapes unlike the library's) or
closed forms (pure power laws, step edges); the Poisson maximum-likelihood
power-law fit is checked against scipy's general-purpose optimiser.
"""

import numpy as np
import pytest
from scipy.optimize import minimize

from holocorr.eels import _kernels as K
from holocorr.eels import integrate, subtract_background

from ._synth import edge_li, energy_da

E = np.arange(30.0, 100.0, 0.1)


def spectra(values, energy=E, dims=("x", "energy")):
    coords = {"x": np.arange(values.shape[0]) * 2.0} if values.ndim > 1 else {}
    return energy_da(values, energy, dims if values.ndim > 1 else ("energy",), coords)


def test_powerlaw_mle_matches_scipy_optimiser():
    rng = np.random.default_rng(3)
    y = rng.poisson(2e3 * (E / 50) ** -3.3)[(E >= 44) & (E <= 54)].astype(float)
    lu = np.log(E[(E >= 44) & (E <= 54)])
    u = lu - lu.mean()
    fit = K.fit_loglinear(np.array([y.sum()]), np.array([y @ u]), u)

    def nll(p):
        mu = np.exp(p[0] - p[1] * u)
        return float(np.sum(mu - y * np.log(mu)))

    ref = minimize(
        nll, [np.log(y.mean()), 3.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 10000}
    ).x
    assert fit["r"][0] == pytest.approx(ref[1], abs=1e-5)
    assert fit["log_a"][0] == pytest.approx(ref[0], abs=1e-6)


@pytest.mark.parametrize("model", ["powerlaw", "lcpl", "exponential", "polynomial"])
def test_subtracting_the_true_model_leaves_zero_within_noise(model):
    rng = np.random.default_rng(1)
    if model == "exponential":
        mu = 5e4 * np.exp(-(E - 30) / 12.0)
    elif model == "polynomial":
        mu = 2e4 - 150 * (E - 30) + 1.0 * (E - 30) ** 2
    else:
        mu = 3e4 * (E / 40.0) ** -3.0
    y = rng.poisson(np.broadcast_to(mu, (400, E.size))).astype(float)
    out = subtract_background(spectra(y), fit=(40, 55), model=model)
    assert out.dims == ("x", "energy")
    assert float(out.energy[0]) == pytest.approx(40.0)
    # residual averaged over 400 spectra and 1 eV bins: zero within 4 sigma
    res = out.sel(energy=slice(55.95, 69.95)).values
    binned = res.reshape(400, -1, 10).sum(axis=2).mean(axis=0)
    sigma = np.sqrt(mu[(E >= 55.95) & (E <= 69.96)].reshape(-1, 10).sum(axis=1) / 400)
    assert np.all(np.abs(binned) < 4 * sigma * (3 if model == "polynomial" else 1.5))


def test_noise_free_power_law_subtraction_is_exact():
    y = 1e8 * E[None, :] ** -3.7 * np.array([[1.0], [2.5]])
    out = subtract_background(spectra(y), fit=(35, 50), return_background=True)
    assert set(out.data_vars) == {"signal", "background"}
    np.testing.assert_allclose(out.signal.values, 0.0, atol=1e-6 * y.max())
    assert out.signal.attrs["units"] == "counts"


def test_integrate_step_edge_known_answer_and_linearity():
    step = (E > 55.95).astype(float)
    bg = 3e4 * (E / 40.0) ** -3.0
    y = np.stack([bg + 100 * step, bg + 200 * step])
    ds = integrate(spectra(y), window=(56, 75.95), background=(44, 54))
    n_ch = int(np.sum((E > 55.95) & (E < 75.96)))
    # exact up to the tabulated exponent (1e-7 of the 1e6-count background)
    assert ds.signal.values == pytest.approx([100 * n_ch, 200 * n_ch], abs=1.0)
    assert float(ds.signal[1] / ds.signal[0]) == pytest.approx(2.0, rel=1e-5)
    assert ds.background_exponent.values == pytest.approx(3.0, abs=1e-6)
    for v in ds.data_vars.values():
        assert "units" in v.attrs and "long_name" in v.attrs
    assert "holocorr" in ds.attrs


@pytest.mark.parametrize("model", ["powerlaw", "lcpl"])
def test_integrate_error_bars_match_poisson_scatter(model):
    """std((S - truth) / error) over 3000 Poisson realisations lies in [0.8, 1.25]."""
    rng = np.random.default_rng(7)
    truth_edge = 400.0 * edge_li(E) / edge_li(E).max()
    mu = 2e4 * (E / 40.0) ** -3.2 + truth_edge
    y = rng.poisson(np.broadcast_to(mu, (3000, E.size))).astype(np.float32)
    ds = integrate(spectra(y), window=(56, 72), background=(44, 54), model=model)
    assert ds.signal.dtype == np.float32
    truth = truth_edge[(E >= 56 - 1e-9) & (E <= 72 + 1e-9)].sum()
    z = (ds.signal.values - truth) / ds.signal_error.values
    assert 0.8 <= np.std(z) <= 1.25
    assert abs(np.mean(z)) < 0.2
    # Egerton's h = 1 + var_B / B > 1: the background term adds variance
    assert np.all(ds.signal_error.values**2 > ds.signal.values + ds.background.values)


def test_gain_scales_variance():
    rng = np.random.default_rng(2)
    mu = 2e4 * (E / 40.0) ** -3.0
    y = 4.0 * rng.poisson(np.broadcast_to(mu, (2000, E.size)))  # 4 counts per electron
    ds = integrate(spectra(y), window=(56, 72), background=(44, 54), gain=4.0)
    z = ds.signal.values / ds.signal_error.values
    assert 0.85 <= np.std(z) <= 1.15
    da = spectra(y).assign_attrs(counts_per_electron=4.0)
    assert float(integrate(da, window=(56, 72), background=(44, 54)).attrs["gain"]) == 4.0
