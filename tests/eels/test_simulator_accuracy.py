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
import holocorr.simulate.reference
from holocorr.correlation import fit_front
from holocorr.eels import li_map

REF = Path(__file__).resolve().parents[2] / "reference_holograms"
REF_SPECIMEN = holocorr.simulate.reference.SPECIMEN
REF_SR_EELS = holocorr.simulate.reference.SR_EELS


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


def _ratio(li, x):
    return float(li[(x >= 80) & (x <= 330)].mean() / li[(x >= 520) & (x <= 860)].mean())


def test_plateau_ratio_within_15_percent(result):
    lm, truth = result
    x = lm.x.values
    got, want = _ratio(lm.li.values, x), _ratio(truth.li_true.values, x)
    assert got == pytest.approx(want, rel=0.15)
    assert got == pytest.approx(want, rel=0.10)  # measured +7.1 %


def test_profile_shape_correlation_at_the_noise_limit(result):
    """Per 2-nm row the bundled frame's dose limits the correlation: a fit that knows
    every spectrum's exact Li, Ti and background shapes (3 free amplitudes) reaches
    r = 0.96 on it (notes of issue 4); li_map reaches 0.95. Averaged over 9 rows
    (18 nm, below the 20 nm front width) the profile reaches the 0.98 of the issue."""
    lm, truth = result
    sel = lm.x.values > 20
    li, tr = lm.li.values[sel], truth.li_true.values[sel]
    assert np.corrcoef(li, tr)[0, 1] >= 0.93
    k = np.ones(9) / 9
    assert np.corrcoef(np.convolve(li, k, "valid"), np.convolve(tr, k, "valid"))[0, 1] >= 0.98


@pytest.mark.xfail(
    strict=True,
    reason="issue 4: per-row correlation 0.98 needs more dose than the bundled frame has "
    "(li_map 0.95, the exact-shape oracle 0.96; 0.99 at 4x the dose, tested below)",
)
def test_profile_shape_correlation_per_row(result):
    lm, truth = result
    sel = lm.x.values > 20
    assert np.corrcoef(lm.li.values[sel], truth.li_true.values[sel])[0, 1] >= 0.98


@pytest.mark.slow
def test_profile_shape_correlation_per_row_at_four_times_the_dose():
    """The issue's 0.98 per row, on a frame with 4x the bundled dose (measured 0.990, seed 4)."""
    spec = holocorr.simulate.specimen(state="charged", **REF_SPECIMEN)
    ev = holocorr.simulate.sr_eels(spec, rng=4, **{**REF_SR_EELS, "dose": 4e7})
    lm = li_map(ev.core_loss, low_loss=ev.low_loss.rename(energy_low="energy"))
    sel = lm.x.values > 20
    assert np.corrcoef(lm.li.values[sel], ev.li_true.values[sel])[0, 1] >= 0.98
    x = lm.x.values
    assert _ratio(lm.li.values, x) == pytest.approx(_ratio(ev.li_true.values, x), rel=0.15)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [
        {"li_onset_ev": 57.5, "li_max_ev": 63.0},  # another Li K onset and maximum
        {"ti3_fraction": 0.8},  # more Ti3+ than charge balance gives
        {"non_isochromaticity_ev": 1.0, "plasmon_latspo_ev": (22.0, 8.0)},  # another plasmon
    ],
    ids=["li-shape", "ti3", "plasmon"],
)
def test_frames_li_map_was_not_tuned_on(kw):
    """Measured ratio bias 1-4 % on these frames (seed 5). The front scatters by
    about +-8 nm from seed to seed at this dose (seeds 5-8: -11 to +8 nm, the bootstrap
    error is ~5 nm), so it is checked at 15 nm here and at the issue's 10 nm on the
    bundled frame."""
    spec = holocorr.simulate.specimen(state="charged", **REF_SPECIMEN)
    ev = holocorr.simulate.sr_eels(spec, rng=5, **{**REF_SR_EELS, **kw})
    lm = li_map(ev.core_loss, low_loss=ev.low_loss.rename(energy_low="energy"))
    x = lm.x.values
    assert _ratio(lm.li.values, x) == pytest.approx(_ratio(ev.li_true.values, x), rel=0.15)
    front = fit_front(_profile(lm), within=(100, 850), rng=0, n_boot=20)
    assert front.position_nm == pytest.approx(400.0, abs=15)


def test_truth_front_is_an_erf_at_400_nm(result):
    """The ground truth itself: the electrode/electrolyte front sits at 400 nm."""
    _, truth = result
    x = truth.x.values
    expected = 1.3 + 1.0 * 0.5 * special.erfc((x - 400.0) / (np.sqrt(2) * 20.0))
    far = x > 50
    assert np.max(np.abs(truth.li_true.values[far] - expected[far])) < 0.02
