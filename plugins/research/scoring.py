"""Out-of-sample score of one finished ``freqtrade backtesting`` FreqAI walk-forward run.

Every prediction FreqAI makes in backtesting is out of sample (each window's model is trained
on the ``train_period_days`` before it), so the run's trades and predictions are scored as they
are, with :mod:`plugins.research`'s statistics:

- trading (:func:`plugins.research.evaluation.trading_row_from_trades`): ``sharpe_daily``,
  ``psr``, ``max_drawdown``, ``profit_total``, ``trades``, ``profit_factor``, ``calmar``, and the
  daily returns they come from (fractions of the starting balance, one per UTC day);
- prediction (:func:`plugins.research.evaluation.prediction_row`): ``ic_nonoverlap`` and its
  HAC t-statistic on the candles FreqAI trusted (``do_predict == 1``) with a known label,
  beside the no-skill control ``-close`` on the very same rows
  (``controls.no_skill_neg_close``): an IC means something only well beyond it;
- ``windows``: the run's calendar test windows (``window_days`` each, from the range start)
  and the return of each (sum of its daily returns): one row of the variants x windows
  matrix of the survival analysis.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plugins.research import evaluation
from plugins.research.controls import realized_label

logger = logging.getLogger(__name__)

PREDICTION_FILE = re.compile(r"^cb_(?P<coin>.+)_(?P<ts>\d+)_prediction\.feather$")


class ScoreError(RuntimeError):
    """A finished backtest whose results cannot be read (the message names the folder)."""


def load_predictions(models_dir: Path, pairs: list[str], label_column: str) -> pd.DataFrame:
    """FreqAI's backtest predictions of one identifier
    (``<models_dir>/backtesting_predictions/cb_<coin>_<ts>_prediction.feather``): ``pair``,
    ``date`` (UTC candle open), ``pred`` (float, the ``label_column`` prediction),
    ``do_predict`` (int). Empty when there is none (or the column is absent)."""
    folder = models_dir / "backtesting_predictions"
    by_coin = {p.split("/")[0].lower(): p for p in pairs}
    frames = []
    for path in sorted(folder.glob("*_prediction.feather")):
        match = PREDICTION_FILE.match(path.name)
        if not match or match["coin"] not in by_coin:
            continue
        raw = pd.read_feather(path)
        if label_column not in raw.columns or "date" not in raw.columns:
            continue
        frames.append(pd.DataFrame({
            "pair": by_coin[match["coin"]], "date": pd.to_datetime(raw["date"], utc=True),
            "pred": raw[label_column].astype(float),
            "do_predict": raw["do_predict"].astype(int) if "do_predict" in raw else 1}))
    if not frames:
        return pd.DataFrame(columns=["pair", "date", "pred", "do_predict"])
    out = pd.concat(frames, ignore_index=True)
    # FreqAI may write a window's file again on a rerun: keep the latest prediction per candle
    return out.drop_duplicates(["pair", "date"], keep="last")


def load_closes(datadir: Path, pairs: list[str], timeframe: str,
                data_format: str = "feather") -> dict[str, pd.DataFrame]:
    """``date``/``open``/``close`` candles per pair (Freqtrade's loader, gaps filled)."""
    from freqtrade.data.history import load_pair_history

    return {pair: load_pair_history(pair, timeframe, datadir, fill_up_missing=True,
                                    data_format=data_format)[["date", "open", "close"]]
            for pair in pairs}


def test_windows(start: pd.Timestamp, stop: pd.Timestamp, window_days: int) -> list[tuple]:
    """Consecutive ``[a, b)`` windows of ``window_days`` from ``start`` (UTC days), the last
    one cut at ``stop``; name ``YYYY-MM-DD/YYYY-MM-DD`` (inclusive last day)."""
    out = []
    a = start.floor("D")
    while a < stop:
        b = min(a + pd.Timedelta(days=window_days), stop)
        last = (b - pd.Timedelta(seconds=1)).floor("D")
        out.append((f"{a:%Y-%m-%d}/{last:%Y-%m-%d}", a, b))
        a = b
    return out


def window_returns(returns: pd.Series, windows: list[tuple]) -> list[float]:
    """Sum of the daily returns inside each window (fractions of the starting balance)."""
    return [float(returns[(returns.index >= a) & (returns.index < b)].sum())
            for _, a, b in windows]


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def score_backtest(results_dir: Path, models_dir: Path, strategy: str, pairs: list[str],
                   closes: dict[str, pd.DataFrame], start: pd.Timestamp, stop: pd.Timestamp,
                   timeframe: str, horizon: int | None, label_column: str | None,
                   window_days: int) -> dict[str, Any]:
    """Score one finished backtest (module docstring).

    Args:
        results_dir: its ``--backtest-directory``; ``models_dir``: ``<user_data>/models/<identifier>``.
        closes: candles per pair (:func:`load_closes`) covering ``[start, stop)`` and the
            label horizon after it.
        start, stop: the ``--timerange`` (UTC, stop exclusive).
        horizon: ``label_period_candles`` (None or ``label_column`` None: no IC).

    Returns:
        ``{"metrics": {...}, "controls": {...}, "days": [...], "daily_returns": [...],
        "windows": {"names": [...], "returns": [...]}}``, NaN written as None.

    Raises:
        ScoreError: no readable result in ``results_dir``.
    """
    from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

    try:
        stats = load_backtest_stats(results_dir)["strategy"][strategy]
        trades = load_backtest_data(results_dir, strategy=strategy)
    except (ValueError, KeyError, OSError) as err:
        raise ScoreError(f"no backtest result of {strategy} in {results_dir}: {err}") from err
    balance = float(stats["starting_balance"])
    trading, returns = evaluation.trading_row_from_trades(
        trades, start.to_pydatetime(), stop.to_pydatetime(), balance)
    metrics = {**evaluation.empty_row(), **trading}
    controls: dict[str, Any] = {}
    if label_column and horizon:
        preds = load_predictions(models_dir, pairs, label_column)
        labels = pd.concat([pd.DataFrame({"pair": p, "date": c["date"], "close": c["close"],
                                          "real": realized_label(c["close"], horizon)})
                            for p, c in closes.items()], ignore_index=True)
        rows = preds[(preds["date"] >= start) & (preds["date"] < stop)].merge(
            labels, on=["pair", "date"], how="left")
        used = rows[(rows["do_predict"] == 1) & rows["real"].notna() & rows["pred"].notna()]
        metrics["predictions_used"] = int(len(used))
        metrics["predictions_do_predict_0"] = int((rows["do_predict"] != 1).sum())
        if len(used) >= 3:
            metrics.update(evaluation.prediction_row(used[["pair", "date", "pred", "real"]],
                                                     horizon, timeframe))
            no_skill = used.assign(pred=-used["close"])[["pair", "date", "pred", "real"]]
            controls["no_skill_neg_close"] = evaluation.prediction_row(no_skill, horizon, timeframe)
        else:
            logger.warning("%s: %d usable predictions of %s: no IC", results_dir, len(used),
                           label_column)
    windows = test_windows(start, stop, window_days)
    metrics["freqtrade"] = {key: stats.get(key) for key in (
        "profit_total", "max_drawdown_account", "total_trades", "sharpe", "starting_balance")}
    return {
        "metrics": {k: _finite(v) for k, v in metrics.items()},
        "controls": {name: {k: _finite(v) for k, v in row.items()} for name, row in controls.items()},
        "days": [f"{d:%Y-%m-%d}" for d in returns.index],
        "daily_returns": [float(r) for r in returns.to_numpy()],
        "windows": {"names": [w[0] for w in windows],
                    "returns": window_returns(returns, windows)},
    }


def parse_timerange(text: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``YYYYMMDD-YYYYMMDD`` -> (start, stop) UTC, stop exclusive.

    Raises:
        ValueError: not that format, or start not before stop (the message names it).
    """
    match = re.fullmatch(r"(\d{8})-(\d{8})", text or "")
    if not match:
        raise ValueError(f"--timerange {text!r} is not YYYYMMDD-YYYYMMDD (start-end, both given)")
    try:
        start = pd.Timestamp(datetime.strptime(match[1], "%Y%m%d")).tz_localize("UTC")
        stop = pd.Timestamp(datetime.strptime(match[2], "%Y%m%d")).tz_localize("UTC")
    except ValueError as err:
        raise ValueError(f"--timerange {text!r}: {err}") from err
    if start >= stop:
        raise ValueError(f"--timerange {text!r}: start is not before end; write it earlier-later")
    return start, stop
