# One-command set-up: every target below creates .venv with a Python >= 3.12 it finds
# itself (scripts/find-python; override with `make PYTHON=/path/to/python3.12 ...`).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Solara's page-shell files (from npm) so the app and its browser test work offline.
ASSETS := $(VENV)/share/solara/cdn/.installed
APP_PORT ?= 8765

.PHONY: help venv system demo sweep test test-fast lint bench bench-storage app clean validate

help:
	@echo "make demo   - the calibrated answer: both fits to Granovetter's tables (summaries + figures in outputs/)"
	@echo "make sweep  - the small-vs-large sweep (90 runs, all cores) with tables and figures"
	@echo "make test   - set up (venv, app assets, browser and SLURM as root), then ruff + tests"
	@echo "make bench  - benchmarks (writes BENCHMARKS.md)"
	@echo "make validate - calibration check, published patterns, sensitivity, claim map:"
	@echo "                rewrites docs/validation.md and its figures (laptop size)"
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

# The calibrated answer under each fit to Granovetter's tables (docs/findings.md): they
# differ in whether attention budgets grow with audience, the rule that decides it.
demo: $(STAMP)
	@echo "== fit B (experiment=calibrated_rules_at_defaults): attention budgets do not grow with audience"
	@$(PY) -m experiments.run experiment=calibrated_rules_at_defaults \
	    'hydra.run.dir=outputs/$${now:%Y-%m-%d}/$${now:%H-%M-%S}-fit-b'
	@echo "== fit A (experiment=calibrated): attention budgets grow with audience (as audience^0.55)"
	@$(PY) -m experiments.run experiment=calibrated \
	    'hydra.run.dir=outputs/$${now:%Y-%m-%d}/$${now:%H-%M-%S}-fit-a'

# The model's evidence at laptop size: rewrites docs/validation.md and docs/figures/validation/.
validate: $(STAMP)
	$(PY) -m experiments.validate $(VALIDATE_ARGS)

# SWEEP_ARGS=resume=true to finish an interrupted sweep.
sweep: $(STAMP)
	$(PY) -m experiments.run -m experiment=small_vs_large $(SWEEP_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check sim experiments hydra_plugins tests app

# System set-up the tests need, done by `make test` itself: Debian's chromium (the app's
# browser test) and a one-node SLURM cluster from slurm-wlm + munge (tests/test_slurm.py).
# Both need root: as root, or with sudo that asks no password, they run (each is a no-op
# when already done); otherwise this says what to run, and those tests skip outside CI.
# In CI (CI=true) a cluster that cannot start fails here.
AS_ROOT := $(shell if [ "$$(id -u)" -eq 0 ]; then echo root; \
	elif sudo -n true 2>/dev/null; then echo sudo; else echo none; fi)
system:
ifeq ($(AS_ROOT),none)
	@scripts/install-browser
	@echo "make: not root: run 'sudo scripts/install-browser && sudo scripts/start-slurm'" \
	    "once for the browser and SLURM tests (they skip until then; in CI they must run)"
	@if [ "$${CI:-}" = true ]; then echo "make: CI needs root for the set-up" >&2; exit 1; fi
else
	$(if $(filter sudo,$(AS_ROOT)),sudo )scripts/install-browser
	@$(if $(filter sudo,$(AS_ROOT)),sudo )scripts/start-slurm || { \
	    if [ "$${CI:-}" = true ]; then exit 1; fi; \
	    echo "make: SLURM did not start; tests/test_slurm.py will skip" >&2; }
endif

test: $(STAMP) $(ASSETS) system
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
