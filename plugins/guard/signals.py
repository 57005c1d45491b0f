"""Journaling every entry and exit signal of a Freqtrade strategy (DESIGN invariant 4).

Each signal candle becomes one ``signal`` row (decision ``enter`` / ``exit``, reason the
strategy's tag or the column) with a hash of the candle's numeric values
(``journal.features_hash``), so what the strategy saw can be checked later. Each candle is
journaled once per pair and column: all of them in a backtest (one analysis of the whole
history), the new candle live.
"""

from __future__ import annotations

import pandas as pd

from plugins.risk.journal import DecisionJournal, JournalRow, features_hash

#: The signal columns journaled, and the decision each one records.
SIGNALS = {"enter_long": "enter", "exit_long": "exit"}
_TAGS = {"enter_long": "enter_tag", "exit_long": "exit_tag"}


class SignalJournal:
    """The signals of analysed frames, journaled once each.

    Args:
        journal: the bot's decision journal.
    """

    def __init__(self, journal: DecisionJournal) -> None:
        self.journal = journal
        self._last: dict[tuple[str, str], pd.Timestamp] = {}

    def record(self, pair: str, frame: pd.DataFrame, column: str) -> None:
        """Journal the ``column`` signals (``enter_long`` / ``exit_long``) of ``pair``'s
        candles not journaled yet.

        Raises:
            Exception: the journal could not be written; those signals stay pending and are
                written with the next successful call (the frame still holds them).
        """
        if column not in frame.columns:
            return
        key = (pair, column)
        last = self._last.get(key)
        rows = frame[frame[column] == 1]
        if last is not None:
            rows = rows[rows["date"] > last]
        if rows.empty:
            return
        numeric = rows.select_dtypes("number")
        tag_column = _TAGS[column]
        tags = rows[tag_column] if tag_column in rows.columns else pd.Series(None, index=rows.index)
        self.journal.record_many([
            JournalRow(ts=date.to_pydatetime(), kind="signal", decision=SIGNALS[column],
                       reason=str(tag) if isinstance(tag, str) and tag else column, pair=pair,
                       features_hash=features_hash(values.to_dict()))
            for date, tag, (_, values) in zip(rows["date"], tags, numeric.iterrows(), strict=True)])
        self._last[key] = rows["date"].iloc[-1]

    @staticmethod
    def last_signal_time(frame: pd.DataFrame, column: str) -> pd.Timestamp | None:
        """The newest candle of ``frame`` with a ``column`` signal (for a fault's time when the
        bot loop has not run yet)."""
        if column not in frame.columns:
            return None
        dates = frame.loc[frame[column] == 1, "date"]
        return dates.iloc[-1] if len(dates) else None
