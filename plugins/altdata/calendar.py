"""Macro event calendar: FOMC decisions and CPI releases, with look-ahead-safe helpers.

Sources (shipped in ``macro/calendar/``, see the bundle's MANIFEST section 6; copied into
``user_data/altdata/calendar/`` by ``import-shared``; update them by adding rows):

- ``fomc_dates.csv``: ``decision_date,meeting_start,type,source``; the statement is released
  at 14:00 America/New_York on ``decision_date`` (federalreserve.gov, FOMC calendars).
- ``cpi_release_dates.csv``: ``release_date,reference_month,source_url``; the CPI is released
  at 08:30 America/New_York (bls.gov release schedule).

Scheduled events are public long before they happen (the Fed and BLS publish a year ahead), so
"minutes to the next event" may use them. Unscheduled FOMC actions (``type`` other than
``scheduled``, e.g. 2020-03-03 and 2020-03-15) are known only when they happen: they count for
"minutes since the last event" and blackouts *after* them, never before. Their time of day
is not in the file (2020-03-03 came at 10:00 ET, 2020-03-15 at 17:00 ET), so they are placed
at 23:59 New York time of their date: never earlier than they were known.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: The calendar kept in the repo for a plain clone without the data bundle (``SOURCES.md`` there:
#: publishers, provenance); ``install_shipped_calendar`` warns once this date has passed.
SHIPPED_DIR = Path(__file__).parent / "calendar_data"
SHIPPED_UPDATE_AFTER = date(2026, 12, 10)

NEW_YORK = "America/New_York"
FOMC = "FOMC"
CPI = "CPI"
KINDS = (FOMC, CPI)
FOMC_FILE = "fomc_dates.csv"
CPI_FILE = "cpi_release_dates.csv"


@dataclass(frozen=True)
class EventCalendar:
    """Events as a frame: ``event_at`` (datetime64[ns, UTC], sorted), ``kind`` (FOMC | CPI),
    ``scheduled`` (bool; False = known only once it happened)."""

    events: pd.DataFrame

    @classmethod
    def from_dir(cls, folder: Path) -> EventCalendar:
        """Read ``fomc_dates.csv`` and ``cpi_release_dates.csv`` from ``folder``.

        Raises:
            FileNotFoundError: a file is missing (run ``python -m plugins.altdata import-shared``).
            KeyError: a required column is missing.
        """
        fomc = pd.read_csv(folder / FOMC_FILE)
        cpi = pd.read_csv(folder / CPI_FILE)
        scheduled = fomc["type"].str.strip().eq("scheduled")
        fomc_at = _local_time(fomc["decision_date"], "14:00").where(
            scheduled, _local_time(fomc["decision_date"], "23:59"))
        cpi_at = _local_time(cpi["release_date"], "08:30")
        events = pd.concat([
            pd.DataFrame({"event_at": fomc_at, "kind": FOMC, "scheduled": scheduled.to_numpy()}),
            pd.DataFrame({"event_at": cpi_at, "kind": CPI, "scheduled": True}),
        ], ignore_index=True)
        events = events.sort_values("event_at", kind="stable").reset_index(drop=True)
        return cls(events=events)

    def _times(self, kinds: tuple[str, ...], scheduled_only: bool) -> np.ndarray:
        mask = self.events["kind"].isin(kinds)
        if scheduled_only:
            mask &= self.events["scheduled"]
        return self.events.loc[mask, "event_at"].to_numpy(dtype="datetime64[ns]")

    def minutes_to_next_event(self, ts: pd.Series, kinds: tuple[str, ...] = KINDS) -> pd.Series:
        """Minutes from each ``ts`` (UTC) to the next *scheduled* event of ``kinds`` strictly
        after it (float64; NaN when none is on the calendar)."""
        times = self._times(kinds, scheduled_only=True)
        t = _ns(ts)
        idx = np.searchsorted(times, t, side="right")
        out = np.full(len(t), np.nan)
        ok = idx < len(times)
        out[ok] = (times[idx[ok]] - t[ok]) / np.timedelta64(1, "m")
        return pd.Series(out, index=ts.index)

    def minutes_since_last_event(self, ts: pd.Series, kinds: tuple[str, ...] = KINDS) -> pd.Series:
        """Minutes from the last event of ``kinds`` (scheduled or not) at or before each ``ts``
        (float64; NaN when none)."""
        times = self._times(kinds, scheduled_only=False)
        t = _ns(ts)
        idx = np.searchsorted(times, t, side="right") - 1
        out = np.full(len(t), np.nan)
        ok = idx >= 0
        out[ok] = (t[ok] - times[idx[ok]]) / np.timedelta64(1, "m")
        return pd.Series(out, index=ts.index)

    def in_blackout(self, ts: pd.Series, before_min: float, after_min: float,
                    kinds: tuple[str, ...] = KINDS) -> pd.Series:
        """True where ``ts`` lies within ``before_min`` minutes before a scheduled event or
        ``after_min`` minutes after any event of ``kinds`` (bool)."""
        to_next = self.minutes_to_next_event(ts, kinds)
        since = self.minutes_since_last_event(ts, kinds)
        return (to_next <= before_min).fillna(False) | (since <= after_min).fillna(False)

    def in_blackout_at(self, at: datetime, before_min: float, after_min: float) -> bool:
        """:meth:`in_blackout` of one moment ``at`` (tz-aware UTC), as a bool."""
        return bool(self.in_blackout(pd.Series([pd.Timestamp(at)]), before_min,
                                     after_min).iloc[0])


def _local_time(dates: pd.Series, hhmm: str) -> pd.Series:
    """``YYYY-MM-DD`` dates at ``hhmm`` New York time, as UTC (DST handled by zoneinfo)."""
    local = pd.to_datetime(dates.str.strip() + " " + hhmm).dt.tz_localize(NEW_YORK)
    return local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def _ns(ts: pd.Series) -> np.ndarray:
    return pd.to_datetime(ts, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def install_shipped_calendar(dest: Path, today: date) -> bool:
    """Copy the repo's FOMC/CPI calendar (:data:`SHIPPED_DIR`) into ``dest`` (the cache's
    ``calendar/`` folder), for a plain clone without the data bundle. Files already in ``dest``
    (from a bundle, or edited by the user) are kept.

    Returns True when ``today`` (UTC date) is after :data:`SHIPPED_UPDATE_AFTER`; then a warning
    says the calendar has run out and where its next rows come from.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in (FOMC_FILE, CPI_FILE):
        if not (dest / name).is_file():
            tmp = dest / f".{name}.tmp"
            shutil.copyfile(SHIPPED_DIR / name, tmp)
            tmp.replace(dest / name)
    stale = today > SHIPPED_UPDATE_AFTER
    if stale:
        logger.warning("The FOMC/CPI calendar kept in the repo (%s) ends %s: add the next year's "
                       "FOMC decision days (federalreserve.gov/monetarypolicy/fomccalendars.htm) and "
                       "CPI release days (bls.gov/schedule/news_release/cpi.htm), see SOURCES.md "
                       "there; until then no blackout or calendar feature knows a later event",
                       SHIPPED_DIR, SHIPPED_UPDATE_AFTER)
    return stale
