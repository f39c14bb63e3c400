"""Issue 4, section 3: li_map on holocorr.simulate.sr_eels frames it was not tuned on.

The EELS quantifier's edge shapes were written independently of the simulator's.
Targets that are met are asserted; those that are not yet met are strict xfails
with the measured numbers, so that they turn into failures the day they pass.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy import special

import holocorr
from holocorr.correlation import fit_front
from holocorr.eels import li_map

REF = Path(__file__).resolve().parents[2] / "reference_holograms"


@pytest.fixture(scope="module")
def result():
    core = holocorr.load(REF / "sr_eels_core_loss.nc")
    low = holocorr.load(REF / "sr_eels_low_loss.nc").rename(energy_low="energy")
    truth = holocorr.io.load_dataset(REF / "sr_eels_truth.nc")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", holocorr.HolocorrWarning)
        lm = li_map(core, low_loss=low)
    return lm, truth


def _profile(lm):
    return lm.li.rename(x="distance").assign_coords(profile_error=("distance", lm.li_error.values))


def test_front_position_within_10_nm(result):
    lm, truth = result
    front = fit_front(_profile(lm), within=(100, 850), rng=0, n_boot=50)
    assert front.position_nm == pytest.approx(400.0, abs=10)


def test_energy_shifts_within_0p05_ev(result):
    lm, truth = result
    # the quantifier aligns to its first row's ZLP: compare shifts relative to the mean
    got = lm.energy_shift.values - lm.energy_shift.values.mean()
    want = truth.energy_shift_true.values - truth.energy_shift_true.values.mean()
    assert np.sqrt(np.mean((got - want) ** 2)) < 0.05


def test_thickness_within_5_percent_away_from_pt(result):
    lm, truth = result
    sel = lm.x.values > 50  # the low-loss frame ends at 95 eV: Pt's broad losses reach further
    rel = lm.t_over_lambda.values[sel] / truth.t_over_lambda_true.values[sel] - 1
    assert abs(np.median(rel)) < 0.05


def test_error_bars_match_scatter_on_the_plateaus(result):
    lm, _ = result
    for lo, hi in ((80, 330), (520, 860)):
        seg = lm.sel(x=slice(lo, hi))
        li, err = seg.li.values, seg.li_error.values
        local = np.convolve(li, np.ones(9) / 9, mode="same")
        z = ((li - local) / err)[5:-5] / np.sqrt(1 - 1 / 9)  # a local mean removes 1/9 of the variance
        assert 0.8 <= np.std(z) <= 1.25


@pytest.mark.xfail(strict=True, reason="issue 4 open: plateau ratio measured -17 % on the simulator (target +-15 %)")
def test_plateau_ratio_within_15_percent(result):
    lm, truth = result
    ratio = float(lm.li.sel(x=slice(80, 330)).mean() / lm.li.sel(x=slice(520, 860)).mean())
    true_ratio = float(truth.li_true.sel(x=slice(80, 330)).mean() / truth.li_true.sel(x=slice(520, 860)).mean())
    assert ratio == pytest.approx(true_ratio, rel=0.15)


@pytest.mark.xfail(
    strict=True,
    reason="issue 4 open: per-row shape correlation measured 0.75 (target >= 0.98; "
    "noise-limited: the true shape plus this noise gives ~0.73)",
)
def test_profile_shape_correlation(result):
    lm, truth = result
    sel = lm.x.values > 20
    r = np.corrcoef(lm.li.values[sel], truth.li_true.values[sel])[0, 1]
    assert r >= 0.98


def test_truth_front_is_an_erf_at_400_nm(result):
    """The ground truth itself: the electrode/electrolyte front sits at 400 nm."""
    _, truth = result
    x = truth.x.values
    expected = 1.3 + 1.0 * 0.5 * special.erfc((x - 400.0) / (np.sqrt(2) * 20.0))
    far = x > 50
    assert np.max(np.abs(truth.li_true.values[far] - expected[far])) < 0.02
