"""Evidence files built from real candles: trend-rule variants ("long while the daily close is
above its n-day mean") on the bundle's daily candles, fees charged on every position change.
Helpers of the tests, not tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from freqtrade.data.history import load_pair_history

FEE = 0.001


def trend_rule_returns(close: pd.Series, n: int, fee: float = FEE) -> pd.Series:
    """Daily returns of "long from the next day while close > SMA(n)": the position decided on
    day t's close earns day t+1's return; each change of position pays ``fee``."""
    position = (close > close.rolling(n).mean()).astype(float)
    held = position.shift(1).fillna(0.0)
    changes = held.diff().abs().fillna(held.abs())
    return held * close.pct_change().fillna(0.0) - fee * changes


def trend_rule_evidence(datadir: Path, pair: str, start: str, stop: str, lengths: list[int],
                        strategy: str = "TrendRule", n_trials: int | None = None) -> dict:
    """An evidence document (plugins/research/evidence.py) of one trend-rule trial per SMA
    length on ``pair``'s daily candles in ``[start, stop)``: daily returns and monthly windows."""
    candles = load_pair_history(pair, "1d", datadir, data_format="feather")
    close = candles.set_index("date")["close"].astype(float)
    lo, hi = pd.Timestamp(start, tz="UTC"), pd.Timestamp(stop, tz="UTC")
    trials, windows = [], {}
    months = None
    for n in lengths:
        returns = trend_rule_returns(close, n)
        returns = returns[(returns.index >= lo) & (returns.index < hi)]
        monthly = (1 + returns).groupby(returns.index.strftime("%Y-%m")).prod() - 1
        months = list(monthly.index)
        trial_id = f"sma{n}"
        trials.append({"id": trial_id, "family": "short" if n < 60 else "long",
                       "params": {"sma_days": n}, "daily_returns": returns.round(10).tolist()})
        windows[trial_id] = monthly.round(10).tolist()
    days = [d.strftime("%Y-%m-%d") for d in returns.index]
    return {"schema_version": 1, "strategy": strategy, "source": "tests: trend-rule variants",
            "n_trials": n_trials or len(lengths), "days": days, "trials": trials,
            "windows": {"metric": "return", "names": months, "results": windows}}


def write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document, indent=2))
    return path


def dominant_evidence(seed: int = 3, n_variants: int = 30, days: int = 365) -> dict:
    """A synthetic evidence document where one trial truly dominates: ``t00`` earns 0.4 % a
    day (1 % daily volatility), the others 0.2 %; monthly windows of 30 days."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D", tz="UTC")
    trials, windows = [], {}
    names = [f"m{i:02d}" for i in range(days // 30)]
    for k in range(n_variants):
        returns = rng.normal(0.004 if k == 0 else 0.002, 0.01, days)
        trials.append({"id": f"t{k:02d}", "family": "a" if k % 2 else "b",
                       "daily_returns": returns.round(10).tolist()})
        windows[f"t{k:02d}"] = [float(np.prod(1 + returns[i * 30:(i + 1) * 30]) - 1)
                                for i in range(len(names))]
    return {"schema_version": 1, "strategy": "Dominant", "n_trials": n_variants,
            "days": [d.strftime("%Y-%m-%d") for d in dates], "trials": trials,
            "windows": {"metric": "return", "names": names, "results": windows}}
