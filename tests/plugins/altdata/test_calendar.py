"""FOMC/CPI calendar helpers on the shipped calendars."""

from __future__ import annotations

import pandas as pd
import pytest

from plugins.altdata.calendar import CPI, FOMC, EventCalendar
from tests.conftest import bundle_dir


@pytest.fixture(scope="module")
def calendar() -> EventCalendar:
    return EventCalendar.from_dir(bundle_dir() / "macro" / "calendar")


def at(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps), utc=True))


def test_fomc_decision_is_at_1400_new_york_across_dst(calendar):
    fomc = calendar.events[calendar.events["kind"] == FOMC].set_index("event_at")

    assert pd.Timestamp("2024-01-31 19:00", tz="UTC") in fomc.index   # EST: UTC-5
    assert pd.Timestamp("2024-07-31 18:00", tz="UTC") in fomc.index   # EDT: UTC-4


def test_minutes_to_next_event_when_cpi_day_then_counts_to_0830_new_york(calendar):
    minutes = calendar.minutes_to_next_event(at("2024-02-13 12:30"), (CPI,))

    assert minutes.tolist() == [60.0]  # CPI 2024-02-13 08:30 EST = 13:30 UTC


def test_minutes_to_next_event_never_announces_unscheduled_meetings_in_advance(calendar):
    minutes = calendar.minutes_to_next_event(at("2020-03-03 12:00"), (FOMC,))

    next_event = pd.Timestamp("2020-03-03 12:00", tz="UTC") + pd.Timedelta(minutes=minutes[0])
    # the next *scheduled* decision on file (the 17-18 March meeting was replaced by 03-15)
    assert next_event == pd.Timestamp("2020-04-29 18:00", tz="UTC")


def test_minutes_since_last_event_includes_unscheduled_once_they_happened(calendar):
    since = calendar.minutes_since_last_event(at("2020-03-04 12:00"), (FOMC,))

    assert since.tolist() == [(pd.Timedelta(hours=7, minutes=1)).total_seconds() / 60]


@pytest.mark.parametrize(("stamp", "expected"), [
    ("2024-01-31 18:29", False), ("2024-01-31 18:30", True), ("2024-01-31 19:00", True),
    ("2024-01-31 20:00", True), ("2024-01-31 20:01", False),
])
def test_in_blackout_edges_30_min_before_and_60_after_fomc(calendar, stamp, expected):
    assert calendar.in_blackout(at(stamp), 30, 60).tolist() == [expected]
