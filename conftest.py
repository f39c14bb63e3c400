"""Shared pytest set-up (tests and doctests): FFTW wisdom goes to a temporary folder, never ~/.cache."""

import pytest

import holocorr


@pytest.fixture(autouse=True, scope="session")
def _private_wisdom_dir(tmp_path_factory):
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path_factory.mktemp("wisdom"))):
        yield
