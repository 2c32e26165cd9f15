# One-command set-up: every target below creates .venv with a Python >= 3.12 it finds
# itself (scripts/find-python; override with `make PYTHON=/path/to/python3.12 ...`).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HYDRA_FULL_ERROR ?=

.PHONY: help venv demo test test-fast lint bench app clean

help:
	@echo "make demo   - run the default small-vs-large experiment (summary + figures in outputs/)"
	@echo "make test   - set up, then ruff + the whole test suite"
	@echo "make bench  - benchmarks (writes BENCHMARKS.md)"
	@echo "make app    - interactive browser app on http://127.0.0.1:8765"

$(PY):
	@interp=$$(PYTHON="$(PYTHON)" scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$interp"; \
	"$$interp" -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m experiments.run

lint: $(STAMP)
	$(PY) -m ruff check sim experiments tests

test: $(STAMP)
	$(PY) -m ruff check sim experiments tests
	$(PY) -m pytest -n 2 --durations=10

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
