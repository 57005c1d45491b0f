"""The cost model: Abdi-Ranaldo half-spread on real candles against a hand computation, the
square-root impact, point-in-time inputs and the fill price."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.history import load_pair_history

from plugins.execution.config import CostConfig
from plugins.execution.costs import (
    COLUMNS,
    CostInputs,
    CostModelError,
    abdi_ranaldo_half_spread,
    cost_inputs,
    daily_notional_volume,
    daily_volatility,
    fill_price,
    half_tick_frac,
    inputs_at,
    market_impact_frac,
    order_cost,
)


@pytest.fixture(scope="module")
def btc(candle_datadir) -> pd.DataFrame:
    """Real BTC/USDT 1h candles, March 2024 (Freqtrade's loader, gaps filled)."""
    candles = load_pair_history("BTC/USDT", "1h", candle_datadir, data_format="feather")
    keep = (candles["date"] >= "2024-03-01") & (candles["date"] < "2024-04-01")
    return candles[keep].reset_index(drop=True)


def _hand_half_spread(rows: pd.DataFrame, t: int, window: int) -> float:
    """Abdi & Ranaldo (2017): S^2 = 4 mean((c_u - eta_u)(c_u - eta_u+1)) over the terms
    u = t - window .. t - 1, negative set to 0; half of S. Plain floats, one term at a time."""
    terms = []
    for u in range(t - window, t):
        c = math.log(rows["close"][u])
        eta = (math.log(rows["high"][u]) + math.log(rows["low"][u])) / 2
        eta_next = (math.log(rows["high"][u + 1]) + math.log(rows["low"][u + 1])) / 2
        terms.append((c - eta) * (c - eta_next))
    return math.sqrt(max(4 * sum(terms) / window, 0.0)) / 2


def test_half_spread_when_real_candles_then_equals_hand_computation(btc):
    window = 24
    spread = abdi_ranaldo_half_spread(btc, window)

    checked = 0
    for t in range(window, len(btc), 37):
        assert spread[t] == pytest.approx(_hand_half_spread(btc, t, window), rel=1e-9, abs=1e-15)
        checked += 1
    assert checked > 15
    assert spread[:window].isna().all(), "the first window is incomplete"
    assert (spread.dropna() > 0).any() and (spread.dropna() == 0).any(), \
        "on real 1h BTC candles the estimate is positive on some days, clipped at 0 on others"


def test_half_spread_when_later_candles_change_then_earlier_values_unchanged(btc):
    window = 24
    before = abdi_ranaldo_half_spread(btc, window)
    shocked = btc.copy()
    shocked.loc[300:, ["high", "low", "close"]] *= [1.05, 0.9, 0.97]

    after = abdi_ranaldo_half_spread(shocked, window)

    pd.testing.assert_series_equal(before[:300], after[:300])
    assert not np.allclose(before[300:330], after[300:330])


def test_cost_inputs_when_data_starts_later_then_values_bit_identical(btc):
    config = CostConfig(spread_window_candles=48, volatility_window_candles=72)
    full = cost_inputs(btc, config, "1h")

    late = cost_inputs(btc.iloc[200:].reset_index(drop=True), config, "1h")

    assert list(full.columns) == list(COLUMNS)
    np.testing.assert_array_equal(full.iloc[300:].to_numpy(), late.iloc[100:].to_numpy())


def test_volatility_and_volume_when_real_candles_then_daily_units(btc):
    sigma = daily_volatility(btc, 48, "1h")
    volume = daily_notional_volume(btc, 48, "1h")

    returns = np.log(btc["close"]).diff()
    assert sigma[100] == pytest.approx(returns[53:101].std(ddof=1) * math.sqrt(24), rel=1e-12)
    assert volume[100] == pytest.approx((btc["volume"] * btc["close"])[53:101].mean() * 24,
                                        rel=1e-12)
    assert 0.005 < sigma[100] < 0.2, "a daily volatility of BTC, as a fraction"


def test_impact_when_size_zero_then_zero():
    assert market_impact_frac(0.0, 0.03, 2e9, 1.0) == 0.0


def test_impact_when_size_grows_then_monotone_and_square_root():
    sizes = np.array([1.0, 1e2, 1e4, 1e6, 4e6, 1e8])

    impact = market_impact_frac(sizes, 0.03, 2e9, 1.0)

    assert np.all(np.diff(impact) > 0)
    assert impact[4] / impact[3] == pytest.approx(2.0, rel=1e-12), "4x the size, 2x the impact"
    assert impact[3] == pytest.approx(1.0 * 0.03 * math.sqrt(1e6 / 2e9), rel=1e-12)


@pytest.mark.parametrize(("notional", "sigma", "volume", "y"), [
    (-1.0, 0.03, 2e9, 1.0), (1.0, -0.01, 2e9, 1.0), (1.0, 0.03, 0.0, 1.0), (1.0, 0.03, 2e9, 0.0),
    (float("nan"), 0.03, 2e9, 1.0)])
def test_impact_when_inputs_invalid_then_cost_model_error(notional, sigma, volume, y):
    with pytest.raises(CostModelError):
        market_impact_frac(notional, sigma, volume, y)


INPUTS = CostInputs(half_spread_frac=2e-4, sigma_daily_frac=0.03, daily_notional=2e9)


def test_order_cost_when_model_then_sum_of_spread_impact_and_latency():
    cost = order_cost(CostConfig(latency_bps=1.5, impact_y=0.5), INPUTS, 1e6)

    assert cost.half_spread_frac == 2e-4
    assert cost.impact_frac == pytest.approx(0.5 * 0.03 * math.sqrt(1e6 / 2e9), rel=1e-12)
    assert cost.latency_frac == pytest.approx(1.5e-4)
    assert cost.total_bps == pytest.approx((2e-4 + cost.impact_frac + 1.5e-4) * 1e4)


def test_order_cost_when_spread_below_half_a_tick_then_half_a_tick():
    zero_spread = CostInputs(0.0, 0.03, 2e9)

    cost = order_cost(CostConfig(), zero_spread, 100.0, half_tick_frac(0.0001, 0.5))

    assert cost.half_spread_frac == pytest.approx(1e-4), "XRP at 0.5 with a 0.0001 tick"


def test_order_cost_when_disabled_or_fixed_then_no_inputs_needed():
    assert order_cost(CostConfig(enabled=False), None, 1e6).total_frac == 0.0
    assert order_cost(CostConfig(fixed_bps=25), None, 1e6).total_bps == pytest.approx(25)


@pytest.mark.parametrize("inputs", [None, CostInputs(float("nan"), 0.03, 2e9),
                                    CostInputs(1e-4, 0.03, 0.0)])
def test_order_cost_when_no_estimate_then_cost_model_error(inputs):
    with pytest.raises(CostModelError, match="no cost estimate"):
        order_cost(CostConfig(), inputs, 1000.0)


def test_fill_price_when_buy_or_sell_then_worse_by_the_cost():
    assert fill_price(100.0, "buy", 0.001) == pytest.approx(100.1)
    assert fill_price(100.0, "sell", 0.001) == pytest.approx(99.9)
    with pytest.raises(ValueError):
        fill_price(100.0, "long", 0.001)


def test_inputs_at_when_order_mid_candle_then_last_closed_candle(btc):
    frame = pd.concat([btc[["date"]], cost_inputs(btc, CostConfig(spread_window_candles=24,
                                                                  volatility_window_candles=24),
                                                  "1h")], axis=1)

    opened, inputs = inputs_at(frame, datetime(2024, 3, 10, 12, 30, tzinfo=UTC), "1h")
    at_open, _ = inputs_at(frame, datetime(2024, 3, 10, 12, 0, tzinfo=UTC), "1h")

    assert opened == pd.Timestamp("2024-03-10 11:00", tz="UTC"), "closed at 12:00, before 12:30"
    assert at_open == pd.Timestamp("2024-03-10 11:00", tz="UTC"), "the 12:00 candle is forming"
    row = frame[frame["date"] == opened].iloc[0]
    assert inputs == CostInputs(*(row[c] for c in COLUMNS))
    assert inputs_at(frame, datetime(2024, 3, 1, 0, 30, tzinfo=UTC), "1h") is None
