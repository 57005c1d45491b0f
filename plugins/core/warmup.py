"""Warm-up (``startup_candle_count``) that FreqAI's multi-timeframe features need to match in
backtesting and in dry-run/live.

FreqAI computes each ``feature_engineering_expand_all`` feature on every timeframe of
``freqai.feature_parameters.include_timeframes``. Recursive indicators (TA-Lib's EMA, and the
Wilder-smoothed RSI, ADX and ATR) keep a trace of their seed: after ``n`` candles of period ``p``
the seed still weighs ``(1 - 1/p) ** n`` (Wilder, *New Concepts in Technical Trading Systems*,
1978). The backtest gives the first training row only ``startup_candle_count`` candles of the
*base* timeframe, i.e. ``startup / 4`` candles of a 4h timeframe under a 1h strategy, while
FreqAI's live loop loads ``1.5 x startup`` candles of the largest timeframe
(``freqtrade.freqai.utils.get_required_data_timerange``). With too short a warm-up the two sides
train on slightly different feature values, fit different trees, and a few predictions near an
entry threshold land on different sides (``bench/dryrun_parity.py`` measured 87.5 % identical
entry signals over 14 days with 600 candles, 95.7 % with 1200, and 100 % once the running sums
of ``plugins.core.windowed`` were gone too; README, "Backtest/dry-run parity").
"""

from __future__ import annotations

from typing import Any

from freqtrade.exchange import timeframe_to_seconds

#: Periods of its own timeframe an indicator gets before the first training row: the seed of a
#: period-20 Wilder average then weighs ``(19/20) ** 300 = 2e-7``.
CONVERGENCE_PERIODS = 15


def freqai_startup_candles(freqai: dict[str, Any], timeframe: str) -> int:
    """Candles of ``timeframe`` (the strategy's base timeframe) that give every FreqAI feature
    ``CONVERGENCE_PERIODS`` times its longest period in candles of its own timeframe.

    Args:
        freqai: Freqtrade's ``freqai`` config section; reads
            ``feature_parameters.include_timeframes`` (default: ``[timeframe]``) and
            ``feature_parameters.indicator_periods_candles`` (default: ``[0]``).
        timeframe: the strategy's timeframe, e.g. ``"1h"``.

    Returns:
        ``CONVERGENCE_PERIODS * max(indicator_periods_candles) * largest / base`` where
        ``largest / base`` is the ratio of the largest included timeframe to ``timeframe``
        (e.g. 15 x 20 x 4 = 1200 for 1h with 1h/4h features and periods up to 20); 0 when
        FreqAI is disabled.
    """
    if not freqai.get("enabled", False):
        return 0
    features = freqai.get("feature_parameters", {})
    timeframes = features.get("include_timeframes") or [timeframe]
    longest = max(features.get("indicator_periods_candles") or [0])
    ratio = max(timeframe_to_seconds(tf) for tf in timeframes) / timeframe_to_seconds(timeframe)
    return int(CONVERGENCE_PERIODS * longest * max(ratio, 1.0))
