"""Energy alignment: zero-loss peak and edge methods against known shifts."""

import numpy as np
import pytest

from holocorr.eels import align_energy, apply_energy_shifts, energy_shifts

from . import _synth as S


def zlp_frame(shift, *, step=0.05, fwhm=0.9, counts=2e5, seed=0, e0=-6.0, n=400):
    """Channel-integrated Gaussian zero-loss peaks plus a plasmon, Poisson noise."""
    rng = np.random.default_rng(seed)
    e = e0 + step * np.arange(n)
    sig = fwhm / 2.3548
    rows = []
    for d in shift:
        f = np.exp(-0.5 * ((S.GRID - d) / sig) ** 2) / (sig * np.sqrt(2 * np.pi))
        f = f + 0.3 * S.drude(S.GRID - d) / 10.0
        rows.append(rng.poisson(counts * S.bin_counts(f, e, step)))
    x = np.arange(len(shift)) * 5.0
    return S.energy_da(np.array(rows, float), e, ("x", "energy"), {"x": x})


@pytest.mark.parametrize("step", [0.05, 0.1, 0.2])
def test_zlp_recovers_quadratic_non_isochromaticity(step):
    x = np.linspace(-1, 1, 120)
    truth = 2.0 * x**2 - 0.4  # up to 2 eV across the slit
    low = zlp_frame(truth, step=step, seed=int(step * 100))
    s = energy_shifts(low)
    assert s.dims == ("x",) and s.attrs["units"] == "eV"
    rms = float(np.sqrt(np.mean((s.values - truth) ** 2)))
    assert rms <= 0.05
    # residual after alignment: the re-measured peaks sit at 0 eV
    al = align_energy(low)
    again = energy_shifts(al)
    assert float(np.sqrt(np.mean(again.values**2))) <= 0.05
    np.testing.assert_allclose(al.energy_shift.values, s.values)
    assert al.attrs["energy_shift_method"] == "zlp"


def test_core_loss_aligned_from_low_loss_frame():
    core, low, tr = S.sr_eels_frame(x=np.arange(0.0, 400.0, 10.0), shift_max=2.0, seed=3)
    al = align_energy(core, low_loss=low)
    assert float(np.sqrt(np.mean((al.energy_shift.values - tr["shift"]) ** 2))) <= 0.05
    # the axis is cropped to what every row covers; nothing is invented
    assert al.energy.values[0] >= core.energy.values[0]
    assert al.energy.values[-1] <= core.energy.values[-1]
    # median reference keeps the absolute calibration: shifts have zero median
    rel = energy_shifts(low, reference="median")
    assert abs(float(np.median(rel.values))) < 1e-9


def test_edge_method_recovers_relative_shifts():
    rng = np.random.default_rng(5)
    e = np.arange(40.0, 90.0, 0.1)
    truth = np.linspace(-1.0, 1.5, 40) ** 2 - 0.5
    rows = []
    for d in truth:
        f = 1e4 * (np.clip(S.GRID, 20, None) / 40.0) ** -3 + 4e3 * S.edge_li(S.GRID)
        rows.append(rng.poisson(S.bin_counts(f, e, 0.1, -d) / 0.1 * 1.0))
    da = S.energy_da(np.array(rows, float), e, ("x", "energy"), {"x": np.arange(40.0)})
    s = energy_shifts(da, method="edge", edge=(50, 70))
    rel = truth - np.median(truth)
    assert float(np.sqrt(np.mean((s.values - rel) ** 2))) <= 0.1


def test_apply_shifts_is_exact_linear_interpolation():
    e = np.arange(0.0, 20.0, 0.5)
    lin = 3.0 * e + 1.0
    da = S.energy_da(np.stack([lin, lin]), e, ("x", "energy"), {"x": [0.0, 1.0]})
    out = apply_energy_shifts(da, [0.3, -0.7])
    # a linear function is reproduced exactly: out(E) = f(E + shift)
    np.testing.assert_allclose(out.values[0], 3.0 * (out.energy.values + 0.3) + 1.0)
    np.testing.assert_allclose(out.values[1], 3.0 * (out.energy.values - 0.7) + 1.0)
    # shifts of +0.6 and -1.4 channels: rows cover E in [1.0, 19.0] eV
    assert out.energy.values[0] == 1.0 and out.energy.values[-1] == 19.0
    assert da.values[0, 0] == 1.0  # input untouched
