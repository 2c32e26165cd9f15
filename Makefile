# One-command set-up: every target below creates .venv with a Python >= 3.12 it finds
# itself (scripts/find-python; override with `make PYTHON=/path/to/python3.12 ...`).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Solara's page-shell files (from npm) so the app and its browser test work offline.
ASSETS := $(VENV)/share/solara/cdn/.installed
APP_PORT ?= 8765

.PHONY: help venv demo sweep test test-fast lint bench bench-storage app clean

help:
	@echo "make demo   - run the default small-vs-large experiment (summary + figures in outputs/)"
	@echo "make sweep  - the small-vs-large sweep (90 runs, all cores) with tables and figures"
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

$(ASSETS): $(STAMP)
	$(PY) scripts/install-app-assets

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m experiments.run

# SWEEP_ARGS=resume=true to finish an interrupted sweep.
sweep: $(STAMP)
	$(PY) -m experiments.run -m experiment=small_vs_large $(SWEEP_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check sim experiments hydra_plugins tests app

test: $(STAMP) $(ASSETS)
	$(PY) -m ruff check sim experiments hydra_plugins tests app
	$(PY) -m pytest -n 2 --durations=10

# Benchmarks (experiments/bench): installs the optional peers (EoN, NDlib) first.
# BENCH_ARGS=--quick for a smoke run; --only cascade|model|sweep|scaling for one part.
bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,bench]"
	$(PY) -m experiments.bench $(BENCH_ARGS)

# Big sweeps: 10,000 small runs in storage=parquet against a folder per run, and the
# aggregation of 100,000 rows (writes the "Big sweeps" section of BENCHMARKS.md).
bench-storage: $(STAMP)
	$(PY) -m experiments.bench.storage $(BENCH_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow"

# Nothing leaves the machine: telemetry off (Solara would post to an analytics service and
# look up the public address) and no version check (a request to PyPI at start).
app: $(STAMP) $(ASSETS)
	SOLARA_TELEMETRY_MIXPANEL_ENABLE=False $(VENV)/bin/solara run app/app.py --host 127.0.0.1 \
	    --port $(APP_PORT) --production --no-open --no-check-version

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
