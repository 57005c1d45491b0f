"""Point-in-time merge: nothing published after a candle's close reaches that candle."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.merge import merge_point_in_time

HOUR = pd.Timedelta(hours=1)


def candles(start: str, n: int) -> pd.DataFrame:
    dates = pd.date_range(start, periods=n, freq="1h", tz="UTC")
    return pd.DataFrame({"date": dates, "close": np.arange(n, dtype=float)})


def series(observed: list[str], lag: pd.Timedelta, values: list[float]) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(observed, utc=True), name="observed_at")
    return pd.DataFrame({"x": values, AVAILABLE_AT: index + lag}, index=index)


def test_merge_when_daily_value_published_next_morning_then_not_visible_on_its_own_day():
    frame = candles("2024-01-01 00:00", 48)
    daily = series(["2024-01-01"], pd.Timedelta(days=1, hours=6), [42.0])

    merged = merge_point_in_time(frame, daily, timeframe="1h", prefix="d",
                                 max_staleness=pd.Timedelta(days=3))

    visible = frame["date"][merged["d_x"].notna()]
    assert visible.min() == pd.Timestamp("2024-01-02 05:00", tz="UTC")  # closes at 06:00
    assert merged["d_stale"].iloc[:29].eq(1).all()


def test_merge_when_published_exactly_at_candle_close_then_visible_on_that_candle():
    frame = candles("2024-01-01 00:00", 3)
    value = series(["2024-01-01 00:00"], HOUR, [1.0])

    merged = merge_point_in_time(frame, value, timeframe="1h", prefix="v",
                                 max_staleness=pd.Timedelta(days=1))

    assert merged["v_x"].tolist() == [1.0, 1.0, 1.0]


def test_merge_when_value_older_than_max_staleness_then_nan_and_stale_flag():
    frame = candles("2024-01-01 00:00", 30)
    value = series(["2023-12-31 00:00"], HOUR, [1.0])

    merged = merge_point_in_time(frame, value, timeframe="1h", prefix="v",
                                 max_staleness=pd.Timedelta(hours=24))

    fresh = merged["v_stale"] == 0
    assert merged.loc[fresh, "v_x"].eq(1.0).all()
    assert merged.loc[~fresh, "v_x"].isna().all()
    assert frame["date"][~fresh].min() + HOUR - pd.Timestamp("2023-12-31 01:00", tz="UTC") > \
        pd.Timedelta(hours=24)


def test_merge_keeps_candle_index_and_length():
    frame = candles("2024-01-01", 10).set_axis(range(100, 110))

    merged = merge_point_in_time(frame, series([], HOUR, []), timeframe="1h", prefix="v",
                                 max_staleness=HOUR)

    assert list(merged.index) == list(range(100, 110))
    assert merged["v_stale"].eq(1).all()


observations = st.lists(
    st.tuples(st.integers(0, 24 * 20), st.integers(0, 24 * 5), st.floats(-1e6, 1e6)),
    min_size=0, max_size=40)


@settings(max_examples=200, deadline=None)
@given(obs=observations, first_candle=st.integers(0, 24 * 10), n=st.integers(1, 200),
       staleness_h=st.integers(1, 24 * 7), timeframe=st.sampled_from(["1h", "4h"]))
def test_merge_property_no_value_has_available_at_after_its_candle_close(
        obs, first_candle, n, staleness_h, timeframe):
    base = pd.Timestamp("2024-01-01", tz="UTC")
    step = pd.Timedelta(timeframe)
    frame = pd.DataFrame({"date": base + pd.Timedelta(hours=first_candle) + step * np.arange(n)})
    observed = pd.DatetimeIndex([base + pd.Timedelta(hours=o) for o, _, _ in obs], tz="UTC",
                                name="observed_at").as_unit("ns")
    published = observed + pd.to_timedelta([lag for _, lag, _ in obs], unit="h")
    # the value encodes its own publication time, so the merged value tells when it was known
    known = pd.DataFrame({"published_ns": published.as_unit("ns").asi8.astype(float),
                          AVAILABLE_AT: published}, index=observed)

    merged = merge_point_in_time(frame, known, timeframe=timeframe, prefix="p",
                                 max_staleness=pd.Timedelta(hours=staleness_h))

    close_ns = (frame["date"] + step).astype("datetime64[ns, UTC]").astype("int64")
    ok = merged["p_published_ns"].isna() | (merged["p_published_ns"] <= close_ns)
    assert ok.all()
    fresh = merged["p_stale"] == 0
    age = close_ns[fresh] - merged.loc[fresh, "p_published_ns"]
    assert (age <= pd.Timedelta(hours=staleness_h).value).all()


def test_merge_when_latest_value_is_nan_then_stale_flag_set_and_value_not_filled():
    frame = candles("2024-01-03 00:00", 6)
    daily = series(["2024-01-01", "2024-01-02"], pd.Timedelta(hours=1), [20.0, np.nan])

    merged = merge_point_in_time(frame, daily, timeframe="1h", prefix="f",
                                 max_staleness=pd.Timedelta(days=3))

    assert merged["f_x"].isna().all()  # not the 20.0 of the day before
    assert merged["f_stale"].eq(1).all()


def test_merge_when_one_of_several_columns_is_nan_then_provider_flagged_stale():
    frame = candles("2024-01-02 00:00", 3)
    index = pd.DatetimeIndex(["2024-01-01"], tz="UTC", name="observed_at")
    two = pd.DataFrame({"a": [1.0], "b": [np.nan], AVAILABLE_AT: index + HOUR}, index=index)

    merged = merge_point_in_time(frame, two, timeframe="1h", prefix="p",
                                 max_staleness=pd.Timedelta(days=3))

    assert merged["p_a"].eq(1.0).all() and merged["p_b"].isna().all()
    assert merged["p_stale"].eq(1).all()
