"""The NYSE trading calendar and hours, from the maintained ``exchange_calendars`` library.

``exchange_calendars`` (XNYS) knows holidays, early closes (13:00 ET on the day after
Thanksgiving, Christmas Eve, ...) and DST, so nothing here hard-codes a session time. Used for:
the close time of daily bars (a daily bar is acted on at its session's close), whether the
market is open now, the last 5 sessions of the pattern-day-trader rule, and checking that bar
files hold sessions only. Sessions are dates (``datetime.date``); times are tz-aware UTC.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

#: First session the calendar covers (the shipped backtrader sample data starts in 1995).
CALENDAR_START = "1990-01-02"


@lru_cache(maxsize=4)
def _calendar(code: str) -> xcals.ExchangeCalendar:
    # exchange_calendars 4.13 reads ``Series.values`` of tz-aware data internally, which
    # pandas 3.1 deprecates (Pandas4Warning); harmless here, and not ours to change.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return xcals.get_calendar(code, start=CALENDAR_START)


def _day(value: date | datetime | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value.date() if isinstance(value, datetime) else value)


class MarketCalendar:
    """Sessions and hours of one exchange (default NYSE, ``XNYS``).

    Args:
        code: an ``exchange_calendars`` code.
    """

    def __init__(self, code: str = "XNYS") -> None:
        self.code = code
        self._cal = _calendar(code)
        # Own lookups on the session tables: exchange_calendars' minute functions read
        # deprecated pandas attributes (Pandas4Warning) on every call.
        self._sessions = self._cal.sessions
        self._opens = self._cal.opens.array
        self._closes = self._cal.closes.array

    def is_session(self, day: date) -> bool:
        """True when the exchange trades on ``day`` (False on weekends and holidays)."""
        return bool(self._cal.is_session(_day(day)))

    def session_close(self, day: date) -> datetime:
        """The close of session ``day`` (UTC): 16:00 New York time, 13:00 on early closes.

        Raises:
            ValueError: ``day`` is not a session.
        """
        if not self.is_session(day):
            raise ValueError(f"{day} is not a {self.code} session")
        return self._cal.session_close(_day(day)).to_pydatetime()

    def session_open(self, day: date) -> datetime:
        """The open of session ``day`` (UTC), 09:30 New York time.

        Raises:
            ValueError: ``day`` is not a session.
        """
        if not self.is_session(day):
            raise ValueError(f"{day} is not a {self.code} session")
        return self._cal.session_open(_day(day)).to_pydatetime()

    def session_closes(self, days: pd.Series) -> pd.Series:
        """Vectorized ``session_close`` of a Series of dates (datetime64[ns, UTC]; NaT for days
        that are not sessions)."""
        keys = pd.DatetimeIndex(pd.to_datetime(days)).tz_localize(None).normalize()
        values = self._cal.closes.reindex(keys).array
        return pd.Series(values, index=days.index).astype("datetime64[ns, UTC]")

    def _index_at(self, now: datetime) -> int:
        """Position (in ``sessions``) of the latest session that opened at or before ``now``."""
        ts = pd.Timestamp(now).tz_convert(UTC)
        return int(self._opens.searchsorted(ts, side="right")) - 1

    def is_open(self, now: datetime) -> bool:
        """True during regular trading hours (open <= now < close) of a session."""
        i = self._index_at(now)
        return i >= 0 and pd.Timestamp(now).tz_convert(UTC) < self._closes[i]

    def session_of(self, now: datetime) -> date:
        """The session ``now`` belongs to: the current one while open, else the latest one that
        has opened (after the close and overnight, the one that just closed)."""
        return self._sessions[max(self._index_at(now), 0)].date()

    def last_sessions(self, now: datetime, count: int) -> list[date]:
        """The ``count`` latest sessions up to and including ``session_of(now)``, oldest first."""
        i = max(self._index_at(now), 0)
        return [ts.date() for ts in self._sessions[max(i - count + 1, 0): i + 1]]

    def non_sessions(self, days: pd.Series) -> list[date]:
        """The dates of ``days`` that are not sessions (weekends, holidays), in order."""
        out = []
        for day in pd.to_datetime(days).dt.date:
            if not self.is_session(day):
                out.append(day)
        return out
