"""The pipeline's step runner holds holocorr warnings back until its progress bar is closed."""

import warnings

import pytest

from holocorr.errors import HolocorrWarning, ParameterError
from holocorr.pipeline import PipelineError
from holocorr.pipeline.run import _Steps


def _warns(msg, category=HolocorrWarning):
    def step():
        warnings.warn(msg, category, stacklevel=1)
        return 7

    return step


def test_warnings_are_shown_after_the_bar_with_their_step():
    steps = _Steps(["a", "b"], progress=False)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert steps.run("a", _warns("first")) == 7
        assert steps.run("b", _warns("second")) == 7
        assert [str(w.message) for w in shown] == []  # held back while the bar runs
        steps.close()
    assert [str(w.message) for w in shown] == ["a: first", "b: second"]
    assert all(w.category is HolocorrWarning for w in shown)
    assert steps.warnings == [{"step": "a", "message": "first"}, {"step": "b", "message": "second"}]
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        steps.close()
    assert again == []  # each is shown once


def test_other_warnings_pass_through_at_once():
    steps = _Steps(["a"], progress=False)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        steps.run("a", _warns("numpy says", RuntimeWarning))
        assert [(str(w.message), w.category) for w in shown] == [("numpy says", RuntimeWarning)]
        steps.close()
    assert steps.warnings == []


def test_a_failing_step_shows_the_earlier_warnings_then_raises():
    def bad():
        raise ParameterError("radius must be > 0")

    steps = _Steps(["a", "b"], progress=False)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        steps.run("a", _warns("first"))
        with pytest.raises(PipelineError, match="step 'b' failed: radius must be > 0"):
            steps.run("b", bad)
    assert [str(w.message) for w in shown] == ["a: first"]


def test_ignored_warnings_are_not_recorded_and_error_filters_still_raise():
    steps = _Steps(["a"], progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HolocorrWarning)
        steps.run("a", _warns("quiet"))
    assert steps.warnings == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", HolocorrWarning)
        with pytest.raises(PipelineError, match="loud"):
            steps.run("b", _warns("loud"))
