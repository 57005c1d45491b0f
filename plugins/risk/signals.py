"""New entry signals per time window, across pairs, for the signal-anomaly breaker.

A *new* signal is a candle whose entry column is 1 while the candle before was not: a model
that keeps signalling for hours counts once, a model that starts flapping on and off (or on
many pairs at once) counts every time.

``SignalCounter.observe`` takes each pair's analysed frame after the entry signals are set
(the whole history in backtesting, the latest frame in dry-run/live: the same call);
``windows(now)`` gives the counts of the windows that have closed by ``now``, oldest first,
plus the current one - the ``entry_signals`` of an ``AccountSnapshot``. A signal counts from
its candle's close, so nothing is counted before it could have been seen.
"""

from __future__ import annotations

import threading
from datetime import datetime

import numpy as np
import pandas as pd
from freqtrade.exchange import timeframe_to_minutes


class SignalCounter:
    """Entry signals bucketed into windows of ``window_candles`` candles.

    Args:
        timeframe: the strategy timeframe (``1h``).
        window_candles: candles per window (``signal_window_candles``).
        history_windows: past windows kept for the trailing median.
    """

    def __init__(self, timeframe: str, window_candles: int, history_windows: int) -> None:
        self.candle = pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
        self.window = self.candle * window_candles
        self.history_windows = history_windows
        self._closes: dict[str, np.ndarray] = {}
        self._first: dict[str, np.datetime64] = {}
        self._lock = threading.Lock()

    def observe(self, pair: str, frame: pd.DataFrame, column: str = "enter_long") -> None:
        """Remember the close times (UTC) of ``pair``'s candles with a new entry signal."""
        if column not in frame.columns:
            return
        on = frame[column] == 1
        signalled = frame.loc[on & ~on.shift(1, fill_value=False), "date"] + self.candle
        closes = signalled.astype("datetime64[ns, UTC]").to_numpy(dtype="datetime64[ns]")
        first = frame["date"].iloc[0] if len(frame) else None
        with self._lock:
            self._closes[pair] = np.sort(closes)
            if first is not None:
                self._first[pair] = np.datetime64(
                    pd.Timestamp(first).tz_convert("UTC").tz_localize(None), "ns")

    def windows(self, now: datetime) -> tuple[int, ...]:
        """Signal counts of the last ``history_windows`` windows and the current one (which
        ends at ``now``), oldest first. Windows that start before every pair's frame begins
        are left out (their zeros would be missing data, not calm), so early in a backtest or
        right after a bot start the tuple is shorter."""
        end = np.datetime64(pd.Timestamp(now).tz_convert("UTC").tz_localize(None), "ns")
        step = np.timedelta64(self.window.value, "ns")
        edges = end - step * np.arange(self.history_windows + 1, -1, -1)
        with self._lock:
            closes = list(self._closes.values())
            start = max(self._first.values()) if self._first else None
        if start is not None:
            edges = edges[edges >= start]
        if len(edges) < 2:
            return ()
        counts = np.zeros(len(edges) - 1, dtype=int)
        for pair_closes in closes:
            counts += np.histogram(pair_closes, bins=edges)[0]
        return tuple(int(c) for c in counts)
