"""The replay exchange's book from the cost model, as Freqtrade's own dry-run fill logic uses it:
a market order fills at the model's price, a limit order only once the price trades through."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from freqtrade.configuration import Configuration
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver

from adapters.replay_exchange import ReplayExchangeConfig, serving
from adapters.replay_exchange.overlay import offline_overlay
from plugins.execution.book import FIRST_LEVEL_NOTIONAL, LEVEL_RATIO, max_interpolation_excess
from plugins.execution.config import CostConfig
from plugins.execution.costs import half_tick_frac, order_cost
from tests.conftest import REPO_ROOT

NOW = datetime(2024, 3, 5, 13, 0, tzinfo=UTC)


@pytest.fixture
def dry_exchange(candle_datadir, tmp_path):
    """Freqtrade's Binance exchange class in dry-run, aimed at a replay exchange that serves
    the cost model's book, the clock at ``NOW``."""
    config = ReplayExchangeConfig(datadir=candle_datadir, port=0, costs=CostConfig())
    with time_machine.travel(NOW, tick=False), serving(config) as server:
        overlay = tmp_path / "offline.json"
        overlay.write_text(json.dumps(offline_overlay(server.api_url)))
        ft_config = Configuration({"config": [str(REPO_ROOT / "config/base.json"), str(overlay)]},
                                  RunMode.DRY_RUN).get_config()
        ft_config["dry_run"] = True
        exchange = ExchangeResolver.load_exchange(ft_config, validate=False)
        try:
            yield exchange, server.exchange
        finally:
            exchange.close()


def _model(replay, side: str, amount: float) -> float:
    return replay.model_fill_price("ETHUSDT", side, amount, int(NOW.timestamp() * 1000))


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_market_order_when_size_on_a_level_boundary_then_fills_at_model_price(dry_exchange, side):
    exchange, replay = dry_exchange
    mid = replay.mid_price("ETHUSDT")
    amount = FIRST_LEVEL_NOTIONAL * LEVEL_RATIO ** 9 / mid  # 5 120 USDT

    order = exchange.create_dry_run_order("ETH/USDT", "market", side, amount, mid, leverage=1.0)

    model = _model(replay, side, amount)
    assert order["status"] == "closed"
    assert order["average"] == pytest.approx(model, abs=0.005), "ETH's tick is 0.01"
    assert (order["average"] > mid) == (side == "buy"), "worse than the mid by the cost"


def test_market_order_when_any_size_then_within_interpolation_excess_and_half_a_tick(dry_exchange):
    exchange, replay = dry_exchange
    mid = replay.mid_price("ETHUSDT")
    inputs = replay.cost_book.inputs("ETHUSDT", int(NOW.timestamp() * 1000))

    for notional in (37.0, 1234.0, 3333.0, 77_000.0, 900_000.0):
        amount = notional / mid
        order = exchange.create_dry_run_order("ETH/USDT", "market", "buy", amount, mid, 1.0)
        model = _model(replay, "buy", amount)
        impact = order_cost(CostConfig(), inputs, notional).impact_frac
        tolerance = (max_interpolation_excess() * impact + half_tick_frac(0.01, mid)) * mid
        assert abs(order["average"] - model) <= tolerance + 1e-9, notional


def test_limit_order_when_below_the_book_then_open_and_at_the_ask_then_filled(dry_exchange):
    exchange, replay = dry_exchange
    mid = replay.mid_price("ETHUSDT")
    ask = float(replay.book_ticker("ETHUSDT")["askPrice"])

    resting = exchange.create_dry_run_order("ETH/USDT", "limit", "buy", 0.5, mid, 1.0)
    through = exchange.create_dry_run_order("ETH/USDT", "limit", "buy", 0.5, ask, 1.0)

    assert ask == pytest.approx(_model(replay, "buy", FIRST_LEVEL_NOTIONAL / mid), rel=1e-8)
    assert resting["status"] == "open", "a limit at the mid has not been traded through"
    assert through["status"] == "closed" and through["average"] == ask


def test_book_when_costs_disabled_then_plain_synthesized_spread(candle_datadir):
    from adapters.replay_exchange import ReplayExchange

    plain = ReplayExchange(ReplayExchangeConfig(datadir=candle_datadir,
                                                costs=CostConfig(enabled=False)))
    with time_machine.travel(NOW, tick=False):
        ticker = plain.book_ticker("ETHUSDT")
        mid = plain.mid_price("ETHUSDT")

    assert plain.cost_book is None
    spread_bps = (float(ticker["askPrice"]) / float(ticker["bidPrice"]) - 1) * 1e4
    assert spread_bps == pytest.approx(2.0, abs=0.1), "the default --spread-bps"
    assert float(ticker["bidPrice"]) < mid < float(ticker["askPrice"])


def test_cli_when_costs_from_configs_then_model_settings_merged_in_order(tmp_path):
    from adapters.replay_exchange.__main__ import costs_settings

    override = tmp_path / "override.json"
    override.write_text(json.dumps({"timeframe": "4h", "ai_suite": {"costs": {"latency_bps": 3}}}))

    settings = costs_settings([str(REPO_ROOT / "config/base.json"), str(override)])

    assert settings["cost_timeframe"] == "4h"
    assert settings["costs"] == CostConfig(latency_bps=3)
    assert costs_settings(None) == {}, "no --costs-from: the plain book"


def test_cli_when_costs_config_invalid_then_exit_1_naming_the_field(candle_datadir, tmp_path,
                                                                    capsys):
    from adapters.replay_exchange.__main__ import main

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ai_suite": {"costs": {"impact_y": 0}}}))

    status = main(["--datadir", str(candle_datadir), "--port", "0", "--costs-from", str(bad),
                   "--", "true"])

    assert status == 1
    assert "ai_suite.costs.impact_y" in capsys.readouterr().err
