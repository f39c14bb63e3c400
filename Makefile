# holocorr developer commands. `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test demo bench lint docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install holocorr with its test extras

test: $(STAMP)  ## install, then run the whole test suite
	$(PY) -m pytest -n 2 -q

demo: $(STAMP)  ## install, then run the demo on generated / bundled data
	$(VENV)/bin/holocorr demo -o results --overwrite

bench: $(STAMP)  ## print measured speed ratios against the FFT floor
	$(PY) benchmarks/bench_reconstruct.py
	$(PY) benchmarks/bench_eels.py
	$(PY) benchmarks/bench_series.py

lint: $(STAMP)
	$(PY) -m pip install --quiet 'ruff>=0.5'
	$(VENV)/bin/ruff check holocorr tests benchmarks

docs: $(STAMP)  ## the Sphinx site (warnings are errors; the pages' examples run in make test)
	$(PY) -m pip install --quiet -e '.[docs]'
	$(VENV)/bin/sphinx-build -W -b html docs docs/_build/html

clean:
	rm -rf $(VENV) results docs/_build .pytest_cache
