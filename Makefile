# Each target does all of its own set-up on a fresh machine: it creates .venv and installs
# the package (with the extras it needs) the first time, then reuses them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# numba's compiled kernels go to the package's shared cache (~/.cache/cnfutures/<versions> on
# Linux) unless NUMBA_CACHE_DIR is set: make, the CLI and user scripts compile each kernel once.

.PHONY: setup test backtest bench docs lint warmup all

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[report]'
	touch $@

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(VENV)/.core $@

## the main job: a hedge backtest on the bundled sample market
backtest: $(VENV)/.core
	$(VENV)/bin/cnfutures backtest

## set-up only: .venv with the dev extra
setup: $(VENV)/.dev

## compile every kernel into the shared cache (both cores; a no-op when warm)
warmup: $(VENV)/.core
	$(VENV)/bin/cnfutures warmup

## the test suite (what .ci/run calls), in random order; kernels compiled first on both cores
test: $(VENV)/.dev
	$(VENV)/bin/cnfutures warmup
	$(PY) -m pytest -q

## lint and type-check
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy

## benchmarks in quick mode, peers in the same run, then the ratio table and its goals
bench: $(VENV)/.dev
	mkdir -p .bench
	CNF_BENCH_QUICK=1 $(PY) -m pytest benchmarks -q -p no:randomly --benchmark-enable \
	  --benchmark-min-rounds=3 --benchmark-max-time=0.5 --benchmark-warmup=on \
	  --benchmark-json=.bench/results.json
	$(PY) scripts/bench_ratios.py .bench/results.json

## the documentation site
docs: $(VENV)/.dev
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir .site

all: lint test bench docs
