"""Entry-signal windows for the signal-anomaly breaker."""

from __future__ import annotations

import pandas as pd

from plugins.risk.signals import SignalCounter


def frame(signal_every: int, burst_from: int | None = None, hours: int = 24 * 7) -> pd.DataFrame:
    out = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=hours, freq="1h", tz="UTC")})
    out["enter_long"] = (out.index % signal_every == 0).astype(int)
    if burst_from is not None:
        out.loc[out.index >= burst_from, "enter_long"] = 1
    return out


def test_windows_when_signals_steady_then_equal_counts_per_window():
    counter = SignalCounter("1h", window_candles=24, history_windows=5)
    counter.observe("BTC/USDT", frame(signal_every=12))

    counts = counter.windows(pd.Timestamp("2024-01-08 00:00", tz="UTC"))

    assert counts == (2, 2, 2, 2, 2, 2)


def test_windows_count_a_signal_only_from_its_candle_close():
    counter = SignalCounter("1h", window_candles=1, history_windows=2)
    candles = frame(signal_every=1000, hours=6)
    candles["enter_long"] = (candles.index == 3).astype(int)  # candle 03:00, closes 04:00
    counter.observe("BTC/USDT", candles)

    assert counter.windows(pd.Timestamp("2024-01-01 03:30", tz="UTC"))[-1] == 0
    assert counter.windows(pd.Timestamp("2024-01-01 04:00", tz="UTC"))[-1] == 1


def test_windows_leave_out_windows_before_the_data_starts():
    counter = SignalCounter("1h", window_candles=24, history_windows=30)
    counter.observe("BTC/USDT", frame(signal_every=12))

    assert len(counter.windows(pd.Timestamp("2024-01-04 00:00", tz="UTC"))) == 3


def test_windows_count_a_run_of_signals_once():
    counter = SignalCounter("1h", window_candles=24, history_windows=2)
    candles = frame(signal_every=1000)
    candles.loc[30:40, "enter_long"] = 1  # one signal held for 11 candles on day 2

    counter.observe("BTC/USDT", candles)

    counts = counter.windows(pd.Timestamp("2024-01-03 00:00", tz="UTC"))
    assert counts[-1] == 1


def test_windows_sum_over_pairs_and_latest_frame_replaces_older():
    counter = SignalCounter("1h", window_candles=24, history_windows=2)
    counter.observe("BTC/USDT", frame(signal_every=12))
    counter.observe("ETH/USDT", frame(signal_every=1000))
    counter.observe("ETH/USDT", frame(signal_every=12))

    assert counter.windows(pd.Timestamp("2024-01-08 00:00", tz="UTC")) == (4, 4, 4)
