"""Execution costs in ``freqtrade backtesting`` (the real CLI on the replay exchange, real
candles): every fill in Freqtrade's trade list is worse than the price Freqtrade proposed by
exactly the cost model's cost for that order's size at that candle (``ai_suite.costs``,
``plugins.guard.costs.ExecutionCostMixin``)."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from ccxt import TICK_SIZE
from freqtrade.data.btanalysis import load_backtest_data
from freqtrade.data.history import load_pair_history
from freqtrade.exchange import price_to_precision

from adapters.replay_exchange import ReplayExchangeConfig, serving
from plugins.core.backtest_results import check_latest
from plugins.execution.config import CostConfig
from plugins.execution.costs import cost_inputs, fill_price, half_tick_frac, inputs_at, order_cost
from plugins.execution.report import summarize
from tests.conftest import REPO_ROOT
from tests.e2e.helpers import e2e_configs, run_freqtrade

pytestmark = pytest.mark.slow

TICKS = {"BTC/USDT": 0.01, "ETH/USDT": 0.01, "XRP/USDT": 0.0001}  # Binance's PRICE_FILTER
STOPS = {"stop_loss", "trailing_stop_loss"}


def backtest(tmp_path, datadir, strategy_path, strategy, timerange, extra, altdata_cache=None):
    """``freqtrade backtesting`` of ``strategy``; returns (trades, log text)."""
    started = int(time.time())
    with serving(ReplayExchangeConfig(datadir=datadir, port=0)) as server:
        configs = e2e_configs(tmp_path, server.api_url, datadir,
                              {"freqai": {"enabled": False}, **extra}, altdata_cache)
        result = run_freqtrade(["backtesting", *configs, "--strategy-path", str(strategy_path),
                                "--strategy", strategy, "--timerange", timerange,
                                "--cache", "none", "--export", "trades"],
                               tmp_path / "backtest.log", timeout=600)
    log = " ".join((tmp_path / "backtest.log").read_text().split())  # undo log line wrapping
    assert result.returncode == 0, log[-3000:]
    results = tmp_path / "user_data" / "backtest_results"
    check_latest(results, not_before_s=started, min_trades=1)
    return load_backtest_data(results), log


def modelled_fills(trades: pd.DataFrame, datadir, reference_of) -> pd.DataFrame:
    """One row per filled order: Freqtrade's price beside the model's, recomputed here from the
    candles: ``reference_of(order, trade, candle)`` is the price Freqtrade proposed, the inputs
    those of the last candle closed before the fill, the size ``amount x reference``."""
    config, rows = CostConfig(), []
    for pair, group in trades.groupby("pair"):
        candles = load_pair_history(pair, "1h", datadir, data_format="feather")
        frame = pd.concat([candles, cost_inputs(candles, config, "1h")], axis=1)
        by_date = frame.set_index("date")
        for _, trade in group.iterrows():
            for order in trade["orders"]:
                when = pd.Timestamp(order["order_filled_timestamp"], unit="ms", tz="UTC")
                reference = reference_of(order, trade, by_date.loc[when])
                if reference is None:
                    continue
                side = "buy" if order["ft_is_entry"] else "sell"
                signal, inputs = inputs_at(frame, when.to_pydatetime(), "1h")
                cost = order_cost(config, inputs, order["amount"] * reference,
                                  half_tick_frac(TICKS[pair], reference))
                rows.append({
                    "pair": pair, "side": side, "when": when, "signal_candle": signal,
                    "amount": order["amount"], "reference": reference,
                    "notional": order["amount"] * reference, "cost_bps": cost.total_bps,
                    "impact_bps": cost.impact_frac * 1e4, "price": order["safe_price"],
                    "model": price_to_precision(fill_price(reference, side, cost.total_frac),
                                                TICKS[pair], TICK_SIZE),
                    "rate": trade["open_rate"] if side == "buy" and len(trade["orders"]) == 2
                    else trade["close_rate"] if side == "sell" and len(trade["orders"]) == 2
                    else order["safe_price"]})
    return pd.DataFrame(rows)


def test_backtest_when_costs_on_then_every_trade_rate_carries_exactly_the_modelled_cost(
        tmp_path, candle_datadir):
    trades, log = backtest(tmp_path, candle_datadir, REPO_ROOT / "tests/e2e/strategies",
                           "CostProbe", "20240301-20240304",
                           {"dry_run_wallet": 1_000_000, "max_open_trades": 3,
                            "exchange": {"pair_whitelist": list(TICKS)}})

    fills = modelled_fills(trades, candle_datadir, lambda order, trade, candle: candle["open"])

    assert "Execution costs ON (ai_suite.costs)" in log
    assert len(trades) >= 30 and set(trades["exit_reason"]) == {"exit_signal"}
    assert len(fills) == 2 * len(trades)
    assert (fills["price"] == fills["model"]).all(), fills[fills["price"] != fills["model"]]
    assert (fills["rate"] == fills["price"]).all(), "open_rate / close_rate are the fills"
    assert (fills["cost_bps"] > 0).all()
    assert (fills["signal_candle"] == fills["when"] - pd.Timedelta(hours=1)).all(), \
        "the inputs of the signal candle, the last one closed before the fill"
    btc = fills[(fills["pair"] == "BTC/USDT") & (fills["side"] == "buy")].sort_values("notional")
    assert btc["impact_bps"].iloc[-1] > 7 * btc["impact_bps"].iloc[0], \
        "a 64x larger order pays ~8x the impact (square root)"
    # make demo's summary recovers the price Freqtrade proposed (the open) from each fill.
    [summary] = summarize(tmp_path / "user_data" / "backtest_results", candle_datadir, CostConfig(),
                          "1h")
    paid = (fills["amount"] * (fills["price"] - fills["reference"]).abs()).sum()
    assert summary.fills == len(fills)
    assert summary.total_quote == pytest.approx(paid, rel=0.02)
    assert summary.mean_bps == pytest.approx(fills["cost_bps"].mean(), rel=1e-3)


def test_backtest_when_compiled_tree_then_its_fills_carry_the_modelled_cost(
        tmp_path, candle_datadir, altdata_cache):
    quiet = {"max_daily_loss_frac": 0.5, "max_weekly_loss_frac": 0.5, "max_drawdown_frac": 0.5,
             "max_consecutive_losses": 1000, "gates": {"enabled": False}}
    trades, log = backtest(tmp_path, candle_datadir, REPO_ROOT / "strategies/compiled",
                           "CryptoRegimeTrendV1", "20240210-20240302",
                           {"exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
                            "max_open_trades": 2, "stake_amount": "unlimited",
                            "ai_suite": {"risk": quiet}}, altdata_cache)

    def proposed(order, trade, candle):
        if order["ft_order_tag"] in STOPS:  # inside the candle at min(open, the stop level)
            return min(candle["open"], trade["stop_loss_abs"])
        if order["ft_order_tag"] == "force_exit":
            return None  # at the end of the data: Freqtrade's last row, not this candle
        return candle["open"]  # entries, added batches, signal exits, take profits

    fills = modelled_fills(trades, candle_datadir, proposed)

    assert "Execution costs ON (ai_suite.costs)" in log
    assert len(fills) >= 2
    assert (fills["price"] == fills["model"]).all(), fills[fills["price"] != fills["model"]]
