"""Tests of holocorr.set_options / get_options."""

import doctest
from pathlib import Path

import numpy as np
import pytest

import holocorr
from holocorr import _options
from holocorr.errors import ParameterError

DEFAULT_NAMES = {"fft_threads", "fft_backend", "fft_planner", "fft_wisdom_dir", "progress"}


def test_public_names():
    assert holocorr.set_options is _options.set_options
    assert holocorr.get_options is _options.get_options
    assert set(holocorr.get_options()) == DEFAULT_NAMES


def test_context_manager_sets_and_restores():
    before = holocorr.get_options()
    with holocorr.set_options(fft_threads=1, fft_backend="scipy", progress=not before["progress"]):
        now = holocorr.get_options()
        assert now["fft_threads"] == 1
        assert now["fft_backend"] == "scipy"
        assert now["progress"] is (not before["progress"])
        assert now["fft_planner"] == before["fft_planner"]  # untouched options stay
    assert holocorr.get_options() == before


def test_context_manager_restores_after_an_exception():
    before = holocorr.get_options()
    with pytest.raises(RuntimeError, match="boom"):  # noqa: PT012
        with holocorr.set_options(fft_planner="estimate", fft_threads=3):
            assert holocorr.get_options()["fft_planner"] == "estimate"
            raise RuntimeError("boom")
    assert holocorr.get_options() == before


def test_nested_contexts_restore_in_order():
    before = holocorr.get_options()["fft_threads"]
    with holocorr.set_options(fft_threads=2):
        with holocorr.set_options(fft_threads=5):
            assert holocorr.get_options()["fft_threads"] == 5
        assert holocorr.get_options()["fft_threads"] == 2
    assert holocorr.get_options()["fft_threads"] == before


def test_global_use_persists():
    before = holocorr.get_options()
    try:
        holocorr.set_options(progress=not before["progress"], fft_planner="patient")
        assert holocorr.get_options()["progress"] is (not before["progress"])
        assert holocorr.get_options()["fft_planner"] == "patient"
    finally:
        holocorr.set_options(progress=before["progress"], fft_planner=before["fft_planner"])
    assert holocorr.get_options() == before


def test_get_options_returns_a_copy():
    opts = holocorr.get_options()
    opts["fft_threads"] = 999
    opts["new"] = 1
    assert holocorr.get_options()["fft_threads"] != 999
    assert "new" not in holocorr.get_options()


def test_unknown_option_lists_the_options():
    with pytest.raises(
        ParameterError, match=r"unknown option\(s\) \['fft_thread'\].*'fft_threads'"
    ):
        holocorr.set_options(fft_thread=2)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("fft_backend", "fftw", r"\('auto', 'scipy', 'pyfftw'\), got 'fftw'"),
        ("fft_backend", None, r"\('auto', 'scipy', 'pyfftw'\)"),
        ("fft_planner", "fast", r"\('estimate', 'measure', 'patient'\), got 'fast'"),
        ("fft_threads", 0, "positive integer, got 0"),
        ("fft_threads", -2, "positive integer"),
        ("fft_threads", 1.5, "positive integer"),
        ("fft_threads", True, "positive integer"),
        ("fft_threads", "2", "positive integer"),
        ("fft_wisdom_dir", 5, "folder path or None"),
        ("progress", "yes", "True or False"),
        ("progress", 1, "True or False"),
    ],
)
def test_bad_values(name, value, match):
    before = holocorr.get_options()
    with pytest.raises(ParameterError, match=match):
        holocorr.set_options(**{name: value})
    assert holocorr.get_options() == before


def test_a_failed_call_changes_nothing():
    before = holocorr.get_options()
    with pytest.raises(ParameterError, match="fft_backend"):
        holocorr.set_options(fft_threads=1, fft_backend="bad")
    assert holocorr.get_options() == before


def test_accepted_value_types(tmp_path):
    with holocorr.set_options(fft_threads=np.int64(3), fft_wisdom_dir=Path(tmp_path)):
        opts = holocorr.get_options()
        assert opts["fft_threads"] == 3 and type(opts["fft_threads"]) is int
        assert Path(opts["fft_wisdom_dir"]) == tmp_path
    with holocorr.set_options(fft_wisdom_dir=None):
        assert holocorr.get_options()["fft_wisdom_dir"] is None


def test_docstring_example_runs():
    result = doctest.testmod(_options, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 1
    assert result.failed == 0
