"""Revisions are bitemporal: every version is kept with the time it became known, and each
candle sees what was known at its close - the latest observation, in its latest version known
then, aged from when that observation was first published. Checked against a brute force that
rebuilds the knowledge at each close from scratch."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.altdata.cache import AltDataCache
from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AVAILABLE_AT, OBSERVED_AT, VERSION
from plugins.altdata.feature_sets import derive_features
from plugins.altdata.features import AltDataFeatures
from plugins.altdata.merge import merge_point_in_time
from plugins.altdata.providers.fear_greed import FearGreedProvider
from plugins.altdata.versions import as_known_timeline
from tests.plugins.altdata import NEWS_BLACKOUT_MIN

DAY = pd.Timestamp("2024-03-04", tz="UTC")
LAG = pd.Timedelta(minutes=15)  # Fear & Greed: D 00:00 + 15 min
REVISED_AT = DAY + pd.Timedelta(days=7, hours=10)


def versions_frame(rows: list[tuple[pd.Timestamp, int, float, pd.Timestamp]]) -> pd.DataFrame:
    """(observed_at, version, value, available_at) rows as a cache versions frame."""
    index = pd.DatetimeIndex([r[0] for r in rows], name=OBSERVED_AT).as_unit("ns")
    frame = pd.DataFrame({"fng_value": [float(r[2]) for r in rows],
                          AVAILABLE_AT: pd.DatetimeIndex([r[3] for r in rows]).as_unit("ns"),
                          VERSION: np.array([r[1] for r in rows], dtype="int64")}, index=index)
    return frame.sort_values([OBSERVED_AT, VERSION])


def hourly(start: pd.Timestamp, hours: int) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.date_range(start, periods=hours, freq="1h", tz="UTC")})


def known_at(versions: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    """Brute force: each observation's latest version published by ``at`` (a contract frame),
    with the time the observation was first published."""
    rows = versions[versions[AVAILABLE_AT] <= at]
    first = rows.groupby(level=0)[AVAILABLE_AT].min()
    latest = rows.sort_values(VERSION).groupby(level=0).last()
    latest["first"] = first
    return latest.sort_index()


def expected_merge(versions: pd.DataFrame, candles: pd.DataFrame, staleness: pd.Timedelta):
    """Brute force: the knowledge after each publication time, then each close's latest."""
    times = np.sort(versions[AVAILABLE_AT].unique())
    heads = [known_at(versions, t).iloc[-1] for t in times]  # (value, first) known after t
    values, stale = [], []
    for close in candles["date"] + pd.Timedelta(hours=1):
        k = np.searchsorted(times, close, side="right") - 1
        if k < 0 or close - heads[k]["first"] > staleness:
            values.append(np.nan)
            stale.append(1)
        else:
            values.append(heads[k]["fng_value"])
            stale.append(int(np.isnan(heads[k]["fng_value"])))
    return np.array(values), np.array(stale)


def a_fortnight_with_one_revision() -> pd.DataFrame:
    rows = [(DAY + pd.Timedelta(days=d), 1, 40.0 + d, DAY + pd.Timedelta(days=d) + LAG)
            for d in range(-3, 10) if d != 0]
    rows += [(DAY, 1, 20.0, DAY + LAG), (DAY, 2, 80.0, REVISED_AT)]
    return versions_frame(rows)


def test_merge_when_20_revised_to_80_a_week_later_then_20_on_the_day_and_80_never_as_the_day_value():
    versions = a_fortnight_with_one_revision()
    candles = hourly(DAY - pd.Timedelta(days=1), 24 * 11)

    merged = merge_point_in_time(candles, versions, timeframe="1h", prefix="fg",
                                 max_staleness=pd.Timedelta(hours=36))

    values = merged["fg_fng_value"].set_axis(candles["date"])
    assert values[DAY:DAY + pd.Timedelta(hours=23)].eq(20.0).all()  # closes 01:00 .. 24:00
    assert not values.eq(80.0).any()  # by the time it was known, a newer day was the news
    expected, stale = expected_merge(versions, candles, pd.Timedelta(hours=36))
    np.testing.assert_array_equal(merged["fg_fng_value"].to_numpy(), expected)
    np.testing.assert_array_equal(merged["fg_stale"].to_numpy(), stale)


def test_merge_when_latest_observation_revised_then_new_value_from_when_known_aged_from_first_release():
    versions = versions_frame([(DAY, 1, 20.0, DAY + LAG),
                               (DAY, 2, 25.0, DAY + pd.Timedelta(hours=6))])
    candles = hourly(DAY, 48)

    merged = merge_point_in_time(candles, versions, timeframe="1h", prefix="fg",
                                 max_staleness=pd.Timedelta(hours=36))

    values = merged["fg_fng_value"].set_axis(candles["date"])
    assert values[DAY:DAY + pd.Timedelta(hours=4)].eq(20.0).all()  # closes up to 05:00
    assert values[DAY + pd.Timedelta(hours=5):DAY + pd.Timedelta(hours=35)].eq(25.0).all()
    assert merged["fg_stale"].set_axis(candles["date"])[DAY + pd.Timedelta(hours=36):].eq(1).all()


version_rows = st.lists(
    st.tuples(st.integers(0, 15), st.integers(0, 24 * 12), st.floats(0, 100)), min_size=1,
    max_size=30)


@settings(max_examples=60, deadline=None)
@given(rows=version_rows, staleness_h=st.integers(6, 24 * 5))
def test_merge_property_each_candle_sees_exactly_what_was_known_at_its_close(rows, staleness_h):
    # observation day o, published after lag h (its later versions later still), value v
    by_obs: dict[int, list] = {}
    for o, h, v in rows:
        by_obs.setdefault(o, []).append((h, v))
    table = []
    for o, versions in by_obs.items():
        for n, (h, v) in enumerate(sorted(versions), start=1):
            table.append((DAY + pd.Timedelta(days=o), n, v, DAY + pd.Timedelta(days=o, hours=h)))
    versions = versions_frame(table)
    candles = hourly(DAY, 24 * 30)
    staleness = pd.Timedelta(hours=staleness_h)

    merged = merge_point_in_time(candles, versions, timeframe="1h", prefix="p",
                                 max_staleness=staleness)

    expected, stale = expected_merge(versions, candles, staleness)
    np.testing.assert_array_equal(merged["p_fng_value"].to_numpy(), expected)
    np.testing.assert_array_equal(merged["p_stale"].to_numpy(), stale)


def test_timeline_when_every_observation_has_one_version_in_publication_order_then_the_plain_frame():
    provider = FearGreedProvider()
    index = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC", name=OBSERVED_AT)
    frame = provider.finalize(pd.DataFrame({"fng_value": np.arange(60.0) % 100}, index=index))

    timeline = as_known_timeline(frame.assign(**{VERSION: 1}),
                                 lambda snap: derive_features("fear_greed", snap))

    pd.testing.assert_frame_equal(timeline[["fng", "fng_diff7", AVAILABLE_AT]],
                                  derive_features("fear_greed", frame))


def test_add_features_when_cache_holds_revisions_then_derived_features_use_only_what_was_known(
        tmp_path):
    provider = FearGreedProvider()
    cache = AltDataCache(tmp_path)
    days = pd.date_range(DAY - pd.Timedelta(days=20), periods=30, freq="D", tz="UTC",
                         name=OBSERVED_AT)
    first = provider.finalize(pd.DataFrame({"fng_value": 30.0 + np.arange(30) % 40}, index=days))
    cache.update(provider, first, known_at=days[0])
    for k, day in enumerate(days[5:25:3]):  # revisions a week after each day, some of the head
        revised = first.loc[[day]].assign(fng_value=90.0 - k)
        cache.update(provider, revised, known_at=day + pd.Timedelta(days=k % 3 * 3, hours=9))
    features = AltDataFeatures(AltDataConfig(cache_dir=tmp_path, calendar=False,
                                             feature_providers=("fear_greed",)),
                               providers=[provider], **NEWS_BLACKOUT_MIN)
    candles = hourly(days[7], 24 * 20)

    out = features.add_features(candles, "1h", feature_prefix="")

    versions = cache.read_versions(provider)
    for i in range(0, len(candles), 7):
        close = candles["date"].iloc[i] + pd.Timedelta(hours=1)
        snapshot = known_at(versions, close).drop(columns=["first", VERSION])
        derived = derive_features("fear_greed", snapshot).iloc[-1]
        assert out["fear_greed_fng"].iloc[i] == derived["fng"], close
        np.testing.assert_equal(out["fear_greed_fng_diff7"].iloc[i], derived["fng_diff7"])
