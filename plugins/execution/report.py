"""What the cost model charged in a backtest, from Freqtrade's result file and the candles.

``python -m plugins.execution summary -c CONFIG ...`` (``make demo`` runs it after the backtest):
one line saying whether ``ai_suite.costs`` is on and how costs are modelled, then per strategy
of the latest result: fills, the modelled cost per fill (mean / median / 95th percentile, bps)
and its total in quote currency, beside the starting balance.

A fill's modelled cost is recovered from its price ``P`` and amount ``a``: with the inputs of
the last candle closed before the fill (:func:`plugins.execution.costs.inputs_at`), the price
Freqtrade proposed is ``ref = P / (1 +/- cost(a x ref))`` (two fixed-point steps; the cost moves
by less than 1e-6 between them) and the cost paid ``a x |P - ref|``. Prices are on the tick, so
each recovered cost is exact to within a tick. The half-spread's floor of half a tick uses the
pair's tick as its candles over the result's period show it (:func:`price_tick`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from plugins.execution.config import CostConfig
from plugins.execution.costs import (
    CostModelError,
    cost_inputs,
    half_tick_frac,
    inputs_at,
    order_cost,
)

FILL_COST_COLUMNS = ["pair", "side", "filled_at", "price", "amount", "proposed", "cost_bps",
                     "impact_bps", "cost_quote"]


def price_tick(candles: pd.DataFrame) -> float | None:
    """The price grid of recorded candles: the coarsest ``10**-d`` (d = 0..8) every recorded
    open/close lies on (0.01 for BTC/USDT, 0.0001 for XRP/USDT); None when none fits."""
    prices = pd.concat([candles["open"], candles["close"]]).dropna().to_numpy()
    for decimals in range(9):
        scaled = prices * 10 ** decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(scaled, 1)):
            return 10.0 ** -decimals
    return None


@dataclass(frozen=True)
class CostSummary:
    """Modelled costs of one strategy's fills in one backtest result.

    Attributes:
        strategy: class name.
        fills: orders filled (entries and exits).
        mean_bps, median_bps, p95_bps: modelled cost per fill, bps of the proposed price.
        total_quote: sum of ``amount x |fill - proposed|`` (quote currency).
        starting_balance: the backtest's starting balance (quote currency).
        profit_total_frac: the backtest's total profit / starting balance, costs included.
        fee_frac: Freqtrade's fee per fill (fraction).
    """

    strategy: str
    fills: int
    mean_bps: float
    median_bps: float
    p95_bps: float
    total_quote: float
    starting_balance: float
    profit_total_frac: float
    fee_frac: float

    def line(self) -> str:
        """One line for the demo's output."""
        if not self.fills:
            return f"{self.strategy}: no fills"
        return (f"{self.strategy}: {self.fills} fills, modelled cost per fill {self.mean_bps:.2f} bps "
                f"mean (median {self.median_bps:.2f}, p95 {self.p95_bps:.2f}); "
                f"{self.total_quote:,.2f} in total = {self.total_quote / self.starting_balance:.2%} "
                f"of the {self.starting_balance:,.0f} starting balance; fee {self.fee_frac:.3%} per "
                f"fill (Freqtrade); total profit {self.profit_total_frac:.2%} after both")


def fill_costs(trades: pd.DataFrame, candles_of, config: CostConfig,
               timeframe: str) -> pd.DataFrame:
    """Each filled order's modelled cost (module docstring).

    Args:
        trades: Freqtrade's backtest trades (``load_backtest_data``), with ``orders``.
        candles_of: ``pair -> DataFrame`` of that pair's candles at ``timeframe``.

    Returns:
        :data:`FILL_COST_COLUMNS`: ``pair``, ``side``, ``filled_at`` (UTC), ``price``,
        ``amount``, ``proposed``, ``cost_bps`` (the whole cost), ``impact_bps`` (its impact
        part), ``cost_quote``; NaN costs where the model had no estimate.
    """
    rows, frames, ticks = [], {}, {}
    for _, trade in trades.iterrows():
        pair = trade["pair"]
        if pair not in frames:
            candles = candles_of(pair)
            frames[pair] = pd.concat([candles[["date"]], cost_inputs(candles, config, timeframe)],
                                     axis=1)
            opened = pd.to_datetime(trades.loc[trades["pair"] == pair, "open_date"], utc=True)
            ticks[pair] = price_tick(candles[candles["date"].between(opened.min(), opened.max())])
        for order in trade["orders"]:
            if not order.get("order_filled_timestamp"):
                continue
            when = pd.Timestamp(order["order_filled_timestamp"], unit="ms", tz="UTC")
            price, amount = float(order["safe_price"]), float(order["amount"])
            sign = 1.0 if order["ft_is_entry"] == (not trade.get("is_short", False)) else -1.0
            found = inputs_at(frames[pair], when.to_pydatetime(), timeframe)
            proposed, cost, impact = price, math.nan, math.nan
            try:
                for _ in range(2):
                    frac = order_cost(config, found[1] if found else None, amount * proposed,
                                      half_tick_frac(ticks[pair], proposed))
                    proposed = price / (1 + sign * frac.total_frac)
                cost, impact = frac.total_bps, frac.impact_frac * 1e4
            except CostModelError:
                proposed = math.nan
            rows.append({"pair": pair, "side": "buy" if sign > 0 else "sell", "filled_at": when,
                         "price": price, "amount": amount, "proposed": proposed,
                         "cost_bps": cost, "impact_bps": impact,
                         "cost_quote": amount * abs(price - proposed)})
    return pd.DataFrame(rows, columns=FILL_COST_COLUMNS)


def summarize(results: Path, datadir: Path, config: CostConfig, timeframe: str,
              data_format: str = "feather") -> list[CostSummary]:
    """:class:`CostSummary` of every strategy in the latest result of ``results`` (a
    ``backtest_results`` folder or a result file).

    Raises:
        ValueError: no readable result (Freqtrade's message).
    """
    from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats
    from freqtrade.data.history import load_pair_history

    stats = load_backtest_stats(results)

    def candles_of(pair: str) -> pd.DataFrame:
        return load_pair_history(pair, timeframe, datadir, data_format=data_format)

    out = []
    for name, result in stats["strategy"].items():
        trades = load_backtest_data(results, name)
        costs = fill_costs(trades, candles_of, config, timeframe) if len(trades) else \
            pd.DataFrame(columns=FILL_COST_COLUMNS)
        valid = costs["cost_bps"].dropna()
        fee = float(trades["fee_open"].iloc[0]) if len(trades) else math.nan
        out.append(CostSummary(
            strategy=name, fills=len(costs),
            mean_bps=float(valid.mean()) if len(valid) else math.nan,
            median_bps=float(valid.median()) if len(valid) else math.nan,
            p95_bps=float(np.percentile(valid, 95)) if len(valid) else math.nan,
            total_quote=float(costs["cost_quote"].sum(min_count=1) or 0.0),
            starting_balance=float(result["starting_balance"]),
            profit_total_frac=float(result["profit_total"]), fee_frac=fee))
    return out
