"""Tests of the holocorr exception and warning hierarchy."""

import pickle
import warnings

import pytest

import holocorr
from holocorr import errors

ERRORS = [
    errors.ShapeError,
    errors.DataError,
    errors.ParameterError,
    errors.CalibrationError,
    errors.FileFormatError,
    errors.ReconstructionError,
]


def test_all_names_exist():
    for name in errors.__all__:
        assert hasattr(errors, name)
    assert set(errors.__all__) == {c.__name__ for c in ERRORS} | {
        "HolocorrError",
        "HolocorrWarning",
        "UncalibratedWarning",
    }
    assert holocorr.HolocorrError is errors.HolocorrError
    assert holocorr.HolocorrWarning is errors.HolocorrWarning


def test_base_error_is_a_value_error():
    assert issubclass(errors.HolocorrError, ValueError)
    assert not issubclass(errors.HolocorrError, Warning)


@pytest.mark.parametrize("cls", ERRORS)
def test_every_error_is_a_holocorr_error_and_value_error(cls):
    assert issubclass(cls, errors.HolocorrError)
    assert issubclass(cls, ValueError)
    with pytest.raises(ValueError, match="what and how to fix"):
        raise cls("what and how to fix")
    with pytest.raises(errors.HolocorrError):
        raise cls("x")


@pytest.mark.parametrize("cls", ERRORS)
def test_errors_are_distinct_and_pickle(cls):
    others = [c for c in ERRORS if c is not cls]
    assert not any(issubclass(cls, o) for o in others)
    err = pickle.loads(pickle.dumps(cls("message kept")))  # dask sends errors between processes
    assert type(err) is cls and str(err) == "message kept"


def test_warning_hierarchy():
    assert issubclass(errors.HolocorrWarning, UserWarning)
    assert issubclass(errors.UncalibratedWarning, errors.HolocorrWarning)
    assert not issubclass(errors.HolocorrWarning, errors.HolocorrError)
    with pytest.warns(errors.HolocorrWarning, match="pixel"):
        warnings.warn("pixel coordinates", errors.UncalibratedWarning, stacklevel=1)


def test_holocorr_warnings_are_errors_in_the_test_suite():
    # pyproject.toml: filterwarnings = error::holocorr.errors.HolocorrWarning
    with pytest.raises(errors.UncalibratedWarning):
        warnings.warn("unexpected", errors.UncalibratedWarning, stacklevel=1)
