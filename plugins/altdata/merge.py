"""Point-in-time merge of an alternative-data series onto Freqtrade candles.

A candle row in Freqtrade is labelled with its *open* time (``date``) but is only complete at
its close (``date + timeframe``); a strategy acting on that row acts after the close. So a
value may appear on a candle only if it was published (``available_at``) at or before the
candle's close. The merge is backward-as-of on that close time - the same idea as Freqtrade's
``merge_informative_pair``, which shifts informative candles to their close for the same
reason (``freqtrade/strategy/strategy_helper.py``).

Revisions (a bitemporal ``series`` with a ``version`` column, as the cache stores it) are served
as they became known: ``versions.as_known_timeline`` turns every version into "what was known
when", so a candle sees the latest observation known at its close, in its latest version known
then - a value revised a week later is never seen before that week has passed. Age (for
staleness) counts from when the served observation was first published.

Daily data for day D therefore reaches day D's candles only if the source publishes during D
(``available_at`` inside D); the providers' ``available_at`` encodes each source's schedule.
Values older than ``max_staleness`` at a candle's close become NaN and ``<prefix>_stale`` is 1;
so is it where the latest known value is NaN (missing, or dropped as out of range): NaN means
missing, and missing data is never filled from an earlier value. The strategy decides what
"stale" means (by default: no new entries that need the feature).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from freqtrade.exchange import timeframe_to_minutes

from plugins.altdata.contract import AVAILABLE_AT, FIRST_AVAILABLE_AT, VERSION
from plugins.altdata.versions import as_known_timeline, value_columns

CLOSE = "_candle_close"


def merge_point_in_time(candles: pd.DataFrame, series: pd.DataFrame, *, timeframe: str,
                        prefix: str, max_staleness: pd.Timedelta,
                        columns: list[str] | None = None) -> pd.DataFrame:
    """The ``series`` columns as known at each candle's close, aligned to ``candles``.

    Args:
        candles: Freqtrade candle frame with ``date`` (``datetime64[*, UTC]``, candle open
            time, sorted ascending); other columns are kept; the index is kept.
        series: a provider frame (``AltDataProvider.fetch``): ``available_at`` column (UTC)
            plus float64 value columns; or a versions frame (``AltDataCache.read_versions``,
            with ``version``) or an as-known timeline (``versions.as_known_timeline``, with
            ``first_available_at``, the time staleness is measured from); may be empty.
        timeframe: the candles' timeframe (``1h``), to compute close = date + timeframe.
        prefix: output column prefix, e.g. ``coinmetrics`` -> ``coinmetrics_mvrv``.
        max_staleness: an observation first published longer than this before the close is
            dropped (NaN).
        columns: value columns to merge (default: all but ``available_at``,
            ``first_available_at`` and ``version``).

    Returns:
        A new frame with ``candles``' index and only the merged columns: ``<prefix>_<column>``
        (float64, NaN where unknown, too old, or NaN at the source; a fresh column beside a
        NaN one keeps its value), ``<prefix>_age_hours`` (float64, close - first publication
        of the served observation, in hours) and ``<prefix>_stale`` (int8, 1 where no fresh
        value: none published yet, older than ``max_staleness``, or NaN in any merged
        column). Join it
        to ``candles`` (``pd.concat([candles, merged], axis=1)``).

    Raises:
        KeyError: ``candles`` has no ``date`` column or ``series`` no ``available_at``.
    """
    if VERSION in series.columns:
        series = as_known_timeline(series)
    columns = columns or value_columns(series)
    aged_from = FIRST_AVAILABLE_AT if FIRST_AVAILABLE_AT in series.columns else AVAILABLE_AT
    close = candles["date"] + pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
    left = pd.DataFrame({CLOSE: close.reset_index(drop=True), "_row": np.arange(len(close))})
    if not left[CLOSE].is_monotonic_increasing:
        left = left.sort_values(CLOSE, kind="stable")
    time_columns = [AVAILABLE_AT] if aged_from == AVAILABLE_AT else [AVAILABLE_AT, aged_from]
    right = series.loc[:, [*time_columns, *columns]].dropna(subset=[AVAILABLE_AT])
    right = right.sort_values(AVAILABLE_AT, kind="stable").reset_index(drop=True)
    unit = left[CLOSE].dtype
    for column in time_columns:
        right[column] = right[column].astype(unit)
    merged = pd.merge_asof(left, right, left_on=CLOSE, right_on=AVAILABLE_AT,
                           direction="backward", allow_exact_matches=True)
    if not merged["_row"].is_monotonic_increasing:
        merged = merged.sort_values("_row", kind="stable")
    age = merged[CLOSE] - merged[aged_from]
    too_old = (age > max_staleness) | merged[AVAILABLE_AT].isna()
    stale = too_old | merged[columns].isna().any(axis=1)  # NaN = missing: never filled
    out = pd.DataFrame(index=candles.index)
    for column in columns:
        values = merged[column].to_numpy(dtype="float64", copy=True)
        values[too_old.to_numpy()] = np.nan
        out[f"{prefix}_{column}"] = values
    out[f"{prefix}_age_hours"] = (age / pd.Timedelta(hours=1)).to_numpy(dtype="float64")
    out[f"{prefix}_stale"] = stale.to_numpy().astype("int8")
    return out
