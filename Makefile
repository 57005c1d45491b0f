# freqtrade-ai-suite. `make demo` and `make test` are all a new user needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FREQTRADE := $(VENV)/bin/freqtrade
DATADIR := user_data/data/binance
# The port config/offline.json points ccxt at.
REPLAY_PORT := 18765
STAMP := $(VENV)/.setup-done
PYTEST_ARGS ?=

.PHONY: help setup data demo test bench lint clean

help:
	@echo "make demo   - setup + data + walk-forward FreqAI backtest on real candles, offline"
	@echo "make test   - setup + the whole test suite (incl. slow end-to-end tests)"
	@echo "make setup  - create $(VENV) with the pinned dependencies and this project (editable)"
	@echo "make data   - fill $(DATADIR) from \$$SUITE_DATA_DIR (default ../shared/data) or download"
	@echo "make bench  - run the benchmarks under bench/"

setup: $(STAMP)

# Re-runs only when the pins change; a no-op otherwise.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $@

data: setup
	$(PY) -m plugins.marketdata sync --datadir $(DATADIR) -c config/base.json
	$(PY) -m plugins.altdata -c config/base.json import-shared

# --cache none: always run the backtest (Freqtrade's default `--cache day` would print an identical
# earlier result instead). FreqAI models are still reused from user_data/models/ when unchanged.
demo: setup data
	@since=$$(date +%s); \
	$(PY) -m adapters.replay_exchange --datadir $(DATADIR) --port $(REPLAY_PORT) -- \
	  $(FREQTRADE) backtesting -c config/base.json -c config/offline.json -c config/backtest.json \
	  --cache none; \
	$(PY) -m plugins.core.backtest_results --since $$since --min-trades 1; \
	echo "Risk guard: breaker trips and entry-gate decisions of this backtest"; \
	$(PY) -m plugins.risk summary --file user_data/backtest_results/journal.backtest.sqlite

test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf user_data/models/* user_data/backtest_results/* user_data/logs/*
