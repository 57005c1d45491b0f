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

.PHONY: help setup data demo test bench bench-moe lint clean dryrun dryrun-credentials trees \
	sweep-demo edge

help:
	@echo "make demo   - setup + data + walk-forward FreqAI backtest on real candles, offline"
	@echo "make test   - setup + the whole test suite (incl. slow end-to-end tests)"
	@echo "make setup  - create $(VENV) with the pinned dependencies and this project (editable)"
	@echo "make data   - fill $(DATADIR) and the alt-data cache from \$$SUITE_DATA_DIR (default"
	@echo "              ../shared/data), or download them (no bundle, or SUITE_DATA_DIR=none)"
	@echo "make bench  - run the quick benchmarks under bench/ (ratios against a baseline)"
	@echo "make bench-moe - RegimeGatedMoE vs LightGBMRegressor on the demo window (long)"
	@echo "make sweep-demo - a small optuna sweep of RegimeMoE on local Ray (config/sweeps/demo.yaml)"
	@echo "make edge   - issue 20's edge search (config/sweeps/edge.yaml), its gates, and the edge report"
	@echo "              (default, LightGBM baseline, trend rule, buy-and-hold) on the untouched final period (long)"
	@echo "make trees  - recompile the strategy trees (strategies/trees -> strategies/compiled)"
	@echo "make clean  - delete FreqAI models, backtest results and logs under user_data/"
	@echo "make dryrun - paper trading (freqtrade trade --dry-run) on replayed real candles, offline;"
	@echo "              REST API/FreqUI on 127.0.0.1:8080 (needs FREQTRADE__API_SERVER__USERNAME/PASSWORD)"

setup: $(STAMP)

# Re-runs only when the pins change; a no-op otherwise.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $@

# Without a bundle (SUITE_DATA_DIR=none, or neither it nor ../shared/data): candles by freqtrade
# download-data, alt data from the providers' APIs (keyless where possible) and the FOMC/CPI
# calendar kept in the repo. DATA_CONFIGS / DOWNLOAD_TIMERANGE: other configs (the CI test
# points the exchange and the providers at local servers) and the candles' download range.
DATA_CONFIGS ?= -c config/base.json
DOWNLOAD_TIMERANGE ?= 20230101-

data: setup
	$(PY) -m plugins.marketdata sync --datadir $(DATADIR) $(DATA_CONFIGS) \
	  --download-timerange $(DOWNLOAD_TIMERANGE)
	$(PY) -m plugins.altdata $(DATA_CONFIGS) sync

# --cache none: always run the backtest (Freqtrade's default `--cache day` would print an identical
# earlier result instead). FreqAI models are still reused from user_data/models/ when unchanged.
demo: setup data
	@since=$$(date +%s); \
	$(PY) -m adapters.replay_exchange --datadir $(DATADIR) --port $(REPLAY_PORT) -- \
	  $(FREQTRADE) backtesting -c config/base.json -c config/offline.json -c config/backtest.json \
	  --cache none; \
	$(PY) -m plugins.core.backtest_results --since $$since --min-trades 1; \
	$(PY) -m plugins.execution summary -c config/base.json -c config/backtest.json; \
	echo "Risk guard: breaker trips and entry-gate decisions of this backtest"; \
	$(PY) -m plugins.risk summary --file user_data/backtest_results/journal.backtest.sqlite

test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The quick benchmarks (minutes). bench-moe is the long evaluation of the regime-gated mixture
# against the single LightGBM (two walk-forward backtests of the demo window, ~6 min on 2 cores).
bench: setup
	@for b in bench/bench_*.py bench/compiled_vs_handwritten.py bench/council_latency.py; do \
	  echo "== $$b"; $(PY) $$b; done

bench-moe: setup data
	$(PY) bench/moe_vs_baseline.py --datadir $(DATADIR) --pairs BTC/USDT ETH/USDT XRP/USDT \
	  --timerange 20240101-20240701 --out user_data/backtest_results/moe_vs_baseline.json

# A small parameter sweep on the shipped candles: 6 FreqAI walk-forward backtests of RegimeMoE
# sampled by optuna, run on a local Ray with one trial per core (a few minutes on 2 cores).
# Rerunning resumes the study in user_data/sweeps/demo (delete the folder for a fresh one).
sweep-demo: setup data
	$(PY) -m plugins.research sweep --space config/sweeps/demo.yaml --trials 6 \
	  --datadir $(DATADIR) --pairs BTC/USDT ETH/USDT --timerange 20240301-20240315 \
	  --out user_data/sweeps/demo

# Is there an edge? (README "Is there an edge?"). The search: 12 RegimeMoE walk-forward trials on
# BTC/USDT over 2024-05..2024-08 (config/sweeps/edge.yaml), every trial kept, then the promotion
# gates on its evidence (DSR over all trials, PBO, survival; a refusal is a result, not an error;
# the stage store is user_data/edge, not the bot's), then ONE run of bench/edge_report.py on the
# untouched final period 2024-09..2024-11 on the shipped pairs. Rerunning resumes the study.
EDGE_SWEEP := user_data/sweeps/edge
edge: setup data
	$(PY) -m plugins.research sweep --space config/sweeps/edge.yaml --trials 12 --workers 2 \
	  --datadir $(DATADIR) --pairs BTC/USDT --timerange 20240501-20240901 --out $(EDGE_SWEEP)
	$(PY) -m plugins.research promote --evidence $(EDGE_SWEEP)/evidence.json --strategy RegimeMoE \
	  -c config/base.json --user-data-dir user_data/edge --report user_data/edge/gates.json || true
	$(PY) -m plugins.research survival --evidence $(EDGE_SWEEP)/evidence.json --out user_data/edge/survival
	$(PY) bench/edge_report.py --datadir $(DATADIR) --pairs BTC/USDT ETH/USDT XRP/USDT \
	  --timerange 20240901-20241201 --backtest-days 21 --evidence $(EDGE_SWEEP)/evidence.json \
	  --out user_data/edge/edge_report.json

# Compiled strategy trees: Freqtrade strategies in strategies/compiled/, backtrader ones in
# strategies/compiled/backtrader/. Generated, never edited by hand; a golden test
# (tests/plugins/strategy_tree/test_compiled_up_to_date.py) fails until this is rerun.
trees: setup
	@for tree in strategies/trees/*.yaml; do \
	  $(PY) -m plugins.strategy_tree compile $$tree --engine freqtrade --out strategies/compiled; \
	  $(PY) -m plugins.strategy_tree compile $$tree --engine backtrader --out strategies/compiled/backtrader; \
	done

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf user_data/models/* user_data/backtest_results/* user_data/logs/*

# Paper trading on the replay exchange: the candle recorded at REPLAY_START is served as "now" and
# new candles close as wall time passes. RegimeMoE + the risk guard, REST API on 127.0.0.1:8080 with
# Freqtrade's own credentials from the environment (a JWT secret is generated unless given),
# Telegram only when FREQTRADE__TELEGRAM__TOKEN and __CHAT_ID are set. Ctrl-C stops it cleanly
# (Freqtrade exits 130 after its clean-up: that is a normal end here).
# FreqAI downloads its training candles from the exchange (shifted): they go to DRYRUN_DATADIR.
REPLAY_START ?= 2025-06-01T00:00
DRYRUN_DATADIR := user_data/data/dryrun

dryrun-credentials:
	@if [ -z "$${FREQTRADE__API_SERVER__USERNAME:-}" ] || [ -z "$${FREQTRADE__API_SERVER__PASSWORD:-}" ]; then \
	  echo "make dryrun: set FREQTRADE__API_SERVER__USERNAME and FREQTRADE__API_SERVER__PASSWORD" \
	    "(the login of the REST API and FreqUI), e.g." >&2; \
	  echo "  FREQTRADE__API_SERVER__USERNAME=me FREQTRADE__API_SERVER__PASSWORD='...' make dryrun" >&2; \
	  exit 2; fi
	@if [ -n "$${FREQTRADE__TELEGRAM__TOKEN:-}" ] && [ -z "$${FREQTRADE__TELEGRAM__CHAT_ID:-}" ]; then \
	  echo "make dryrun: FREQTRADE__TELEGRAM__TOKEN is set but FREQTRADE__TELEGRAM__CHAT_ID is not" >&2; \
	  exit 2; fi

dryrun: dryrun-credentials setup data
	@export FREQTRADE__API_SERVER__JWT_SECRET_KEY="$${FREQTRADE__API_SERVER__JWT_SECRET_KEY:-$$($(PY) -c \
	  'import secrets; print(secrets.token_urlsafe(48))')}"; \
	if [ -n "$${FREQTRADE__TELEGRAM__TOKEN:-}" ]; then export FREQTRADE__TELEGRAM__ENABLED=true; fi; \
	export FREQTRADE__AI_SUITE__ALTDATA__REPLAY_SHIFT_DAYS=$$($(PY) -c "from datetime import UTC, \
	  date, datetime; print((datetime.now(UTC).date() - date.fromisoformat('$(REPLAY_START)'[:10])).days)"); \
	echo "Dry-run from $(REPLAY_START) (alt data shifted $$FREQTRADE__AI_SUITE__ALTDATA__REPLAY_SHIFT_DAYS" \
	  "days); REST API / FreqUI: http://127.0.0.1:8080  (Ctrl-C stops)"; \
	status=0; $(PY) -m adapters.replay_exchange --datadir $(DATADIR) --port $(REPLAY_PORT) \
	  --replay-start $(REPLAY_START) --costs-from config/base.json config/dryrun.json -- \
	  $(FREQTRADE) trade --dry-run -c config/base.json -c config/offline.json -c config/dryrun.json \
	  --datadir $(DRYRUN_DATADIR) || status=$$?; \
	if [ $$status -eq 130 ]; then echo "Dry-run stopped (Ctrl-C)."; exit 0; fi; exit $$status
