"""Macro series from FRED (Federal Reserve Bank of St. Louis), one series per provider instance.

API: ``GET https://api.stlouisfed.org/fred/series/observations?series_id=DGS10&api_key=KEY
&file_type=json&observation_start=YYYY-MM-DD&observation_end=YYYY-MM-DD`` (docs:
https://fred.stlouisfed.org/docs/api/fred/series_observations.html). Answer (oldest first)::

    {"realtime_start": "2024-04-02", ..., "count": 62, "offset": 0, "limit": 100000,
     "observations": [{"realtime_start": "2024-04-02", "realtime_end": "2024-04-02",
                       "date": "2024-01-02", "value": "3.95"}, ...]}

``date`` is the observation day (monthly series: the 1st of the month), ``value`` a string in the
series' own unit, ``"."`` = missing (-> NaN). One request per fetch (``limit`` defaults to 100000
rows, more than any of these series has). Key: ``api_key`` or the ``FRED_API_KEY`` environment
variable; FRED takes it only as a query parameter, so it is registered with
``plugins.core.secrets``: masked in raised messages and in every log line (urllib3's show the URL).

Without a key the series comes from FRED's keyless graph download instead (what the "Download
CSV" link of every series page fetches): ``GET https://fred.stlouisfed.org/graph/fredgraph.csv?
id=DGS10&cosd=YYYY-MM-DD&coed=YYYY-MM-DD``, answering ``observation_date,DGS10`` then one
``YYYY-MM-DD,value`` row per observation (older answers name the first column ``DATE``; a
missing value is ``.`` or empty). It is turned into the API's JSON shape, so one parser serves
both. With ``base_url`` pointed elsewhere (a local server in tests), the graph path goes there too.

Publication (``available_at``): the underlying release's official time, America/New_York (zoneinfo,
DST-correct), on a day rolled past weekends and US federal holidays (pandas' calendar: at worst a day
late, never early). D = observation day, M = observation month; stale = ``max_staleness``.

========  ==================  =========================================================  =======
series    unit                available at (schedule)                                    stale
========  ==================  =========================================================  =======
DGS10     percent             next business day after D, 16:15 ET (H.15 is posted        5 days
DGS2                          16:15 ET each business day with the previous business
T10Y2Y                        day's Treasury yields)
VIXCLS    index points        next business day after D, 12:00 ET (Cboe close of D;      5 days
                              FRED posts it the next business morning)
DTWEXBGS  index Jan 2006=100  first Monday after D, 16:15 ET (H.10: weekly, Mondays      10 days
                              16:15 ET, with the previous week; Tuesday after a holiday)
WALCL     millions of USD     first Thursday after D, 16:30 ET (H.4.1: Wednesday levels  10 days
                              on Thursday 16:30 ET)
FEDFUNDS  percent             first business day after M, 16:15 ET (monthly average of   45 days
                              the daily EFFR, posted that day, H.15 technical Q&A)
CPIAUCSL  index 1982-84=100   BLS release day of M from the CPI calendar, 08:30 ET;      45 days
                              a month the calendar lacks: last day of M + 45 d (logged)
========  ==================  =========================================================  =======

The CPI calendar is the ``cpi_calendar`` path (a copy of the bundle's ``CPI_CALENDAR_FILE``), read
on first use; a calendar that is not there counts as one without any month. Schedules:
https://www.federalreserve.gov/releases/h15/ (and ``/h10/``, ``/h41/``),
https://www.bls.gov/schedule/news_release/cpi.htm. Shipped copy: ``macro/fred/<SERIES>.csv.gz``
(``date,value``; empty = missing).
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from plugins.altdata.contract import OBSERVED_AT, AltDataProvider
from plugins.altdata.errors import AltDataError, ProviderConfigError, ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings
from plugins.core.secrets import register_secret

logger = logging.getLogger(__name__)

BASE_URL = "https://api.stlouisfed.org"
PATH = "/fred/series/observations"
GRAPH_BASE_URL = "https://fred.stlouisfed.org"
GRAPH_PATH = "/graph/fredgraph.csv"
KEY_ENV = "FRED_API_KEY"
CPI_CALENDAR_FILE = Path("macro/calendar/cpi_release_dates.csv")  # relative to the bundle
NEW_YORK = ZoneInfo("America/New_York")
FRED_SERIES = ("DGS10", "DGS2", "T10Y2Y", "DTWEXBGS", "VIXCLS", "CPIAUCSL", "FEDFUNDS", "WALCL")


class Schedule(NamedTuple):
    """When one series is published (the module docstring's table); ``time`` is New York time."""
    unit: str
    rule: str  # next_business_day | next_monday | next_thursday | next_month | cpi_calendar
    time: str
    max_staleness: pd.Timedelta


DAILY, WEEKLY, MONTHLY = pd.Timedelta(days=5), pd.Timedelta(days=10), pd.Timedelta(days=45)
#: Valid range of each series, in its unit, with a wide margin around its whole history on FRED:
#: yields and the funds rate (percent) never left -1..20 (peaks of 1981); the 10y-2y spread
#: (percentage points) -2.5..3; VIX (points) closed at most 82.69 (2020-03-16); the dollar
#: index (Jan 2006 = 100) 85..130; the Fed's total assets (millions of USD) 0.7..9 million;
#: CPI (1982-84 = 100) 21..325.
VALID_RANGES: dict[str, tuple[float, float]] = {
    "DGS10": (-5.0, 30.0), "DGS2": (-5.0, 30.0), "T10Y2Y": (-10.0, 10.0), "VIXCLS": (0.0, 200.0),
    "DTWEXBGS": (0.0, 1000.0), "WALCL": (0.0, 1e9), "FEDFUNDS": (-5.0, 30.0),
    "CPIAUCSL": (0.0, 10000.0)}
SCHEDULES: dict[str, Schedule] = {
    "DGS10": Schedule("percent", "next_business_day", "16:15", DAILY),
    "DGS2": Schedule("percent", "next_business_day", "16:15", DAILY),
    "T10Y2Y": Schedule("percent", "next_business_day", "16:15", DAILY),
    "VIXCLS": Schedule("index points", "next_business_day", "12:00", DAILY),
    "DTWEXBGS": Schedule("index, Jan 2006=100", "next_monday", "16:15", WEEKLY),
    "WALCL": Schedule("millions of USD", "next_thursday", "16:30", WEEKLY),
    "FEDFUNDS": Schedule("percent", "next_month", "16:15", MONTHLY),
    "CPIAUCSL": Schedule("index, 1982-84=100", "cpi_calendar", "08:30", MONTHLY),
}


def _release_days(rule: str, days: np.ndarray) -> np.ndarray:
    """Release day (``datetime64[D]``) of each observation day for a calendar-free ``rule``."""
    holidays = USFederalHolidayCalendar().holidays(
        start=pd.Timestamp(days.min()) - pd.Timedelta(days=7),
        end=pd.Timestamp(days.max()) + pd.Timedelta(days=62)).to_numpy().astype("datetime64[D]")
    if rule == "next_business_day":
        return np.busday_offset(days, 1, roll="backward", holidays=holidays)
    weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if rule == "next_monday":
        first = days + (7 - weekday)
    elif rule == "next_thursday":
        first = days + ((2 - weekday) % 7 + 1)
    else:  # next_month
        first = (days.astype("datetime64[M]") + 1).astype("datetime64[D]")
    return np.busday_offset(first, 0, roll="forward", holidays=holidays)


def _load_cpi_calendar(path: Path | None) -> dict[str, np.datetime64]:
    """``"YYYY-MM"`` of each reference month -> its CPI release day ({} if there is no file)."""
    if path is None or not path.is_file():
        return {}
    try:
        table = pd.read_csv(path, dtype=str)
        months = pd.to_datetime(table["reference_month"], format="%B %Y")
        released = pd.to_datetime(table["release_date"], format="%Y-%m-%d")
    except (OSError, KeyError, ValueError) as err:
        raise ProviderConfigError(f"fred_cpiaucsl: CPI release calendar {path} is unusable: {err!r}") from err
    return {f"{m:%Y-%m}": np.datetime64(f"{r:%Y-%m-%d}", "D") for m, r in zip(months, released, strict=True)}


class FredProvider(AltDataProvider):
    """One FRED series. Column ``value`` (float64, the series' own unit; see the table above).

    Raises (besides the contract's): ``ProviderConfigError`` for a series without a documented
    schedule, a malformed ``cpi_calendar``, no API key (on ``download``) or a rejected key.
    """

    name: ClassVar[str] = "fred"
    columns: ClassVar[tuple[str, ...]] = ("value",)
    max_staleness: ClassVar[pd.Timedelta] = DAILY
    docs_url: ClassVar[str] = "https://fred.stlouisfed.org/docs/api/fred/series_observations.html"

    def __init__(self, series_id: str = "DGS10", base_url: str = BASE_URL,
                 http: HttpSettings | None = None, api_key: str | None = None,
                 cpi_calendar: Path | None = None) -> None:
        if series_id not in SCHEDULES:
            raise ProviderConfigError(f"fred: no publication schedule for series {series_id!r} "
                                      f"(known: {', '.join(FRED_SERIES)})")
        self.series_id = series_id
        self.name = f"fred_{series_id.lower()}"  # per instance, over the ClassVar
        self.schedule = SCHEDULES[series_id]
        self.max_staleness = self.schedule.max_staleness
        self.valid_ranges = {"value": VALID_RANGES[series_id]}
        self._api_key = api_key
        self.cpi_calendar = cpi_calendar
        self._cpi_release: dict[str, np.datetime64] | None = None  # loaded on first use
        self.client = HttpClient(self.name, base_url, http)
        self.graph_client = HttpClient(self.name, GRAPH_BASE_URL if base_url == BASE_URL
                                       else base_url, http)

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """Observations dated ``start.date() .. end.date()``, as decoded JSON (the API's answer
        with a key, the keyless CSV download in the API's shape without one)."""
        key = self._api_key or os.environ.get(KEY_ENV, "")
        register_secret(key)  # masked in every error and log line (plugins.core.secrets)
        if not key:
            return self._download_graph_csv(start, end)
        params = {"series_id": self.series_id, "api_key": key, "file_type": "json",
                  "observation_start": f"{start:%Y-%m-%d}", "observation_end": f"{end:%Y-%m-%d}"}
        try:
            return self.client.get_json(PATH, params=params)
        except AltDataError as err:  # raised anew below, outside this block: no chain holding the key
            message = str(err)  # redacted: SuiteError masks the registered key
            rejected = "HTTP 400" in message and "api_key" in message
            failure = (ProviderConfigError(f"{self.name}: FRED rejected the key in {KEY_ENV}: {message}")
                       if rejected else type(err)(message))
        raise failure

    def _download_graph_csv(self, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, Any]:
        """The keyless ``fredgraph.csv`` (module docstring) as ``{"observations": [...]}``.

        Raises:
            ProviderSchemaError: not a two-column CSV of dates and values.
            AltDataError: the download failed (``HttpClient``'s errors).
        """
        text = self.graph_client.get_text(GRAPH_PATH, params={
            "id": self.series_id, "cosd": f"{start:%Y-%m-%d}", "coed": f"{end:%Y-%m-%d}"})
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        header = lines[0].split(",") if lines else []
        if len(header) != 2 or header[1].strip() != self.series_id:
            raise ProviderSchemaError(
                f"{self.name}: {GRAPH_PATH} answer is not 'observation_date,{self.series_id}' CSV "
                f"(header: {lines[0][:80] if lines else 'empty'!r}); see "
                "https://fred.stlouisfed.org/docs/api/fred/")
        observations = []
        for line in lines[1:]:
            day, _, value = line.partition(",")
            observations.append({"date": day.strip(), "value": value.strip() or "."})
        return {"observations": observations}

    def parse(self, raw: Any) -> pd.DataFrame:
        """``observations[*].date`` -> index (00:00 UTC), ``observations[*].value`` -> ``value``."""
        observations = raw.get("observations") if isinstance(raw, dict) else None
        if not isinstance(observations, list):
            got = ", ".join(map(str, raw)) if isinstance(raw, dict) else type(raw).__name__
            raise ProviderSchemaError(f"{self.name}: field 'observations' missing from the answer "
                                      f"(got: {got or 'none'}); see {self.docs_url}")
        if not observations:
            return pd.DataFrame(columns=list(self.columns))
        rows = self.rows_frame(observations, ("date", "value"), "'observations' rows")
        try:
            index = pd.DatetimeIndex(pd.to_datetime(rows["date"], format="%Y-%m-%d", utc=True))
        except (TypeError, ValueError) as err:
            raise ProviderSchemaError(f"{self.name}: 'date' is not YYYY-MM-DD: {err}") from err
        values = [np.nan if value == "." else value for value in rows["value"]]
        return pd.DataFrame({"value": values}, index=index.rename(OBSERVED_AT))

    def available_at(self, observed: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Release time (UTC) of each observation, per the module docstring's table."""
        if len(observed) == 0:
            return pd.DatetimeIndex([], dtype="datetime64[ns, UTC]")
        days = observed.tz_convert("UTC").tz_localize(None).normalize().to_numpy().astype("datetime64[D]")
        if self.schedule.rule == "cpi_calendar":
            released = self._cpi_release_days(days)
        else:
            released = _release_days(self.schedule.rule, days)
        local = pd.DatetimeIndex(released.astype("datetime64[ns]")) + pd.Timedelta(f"{self.schedule.time}:00")
        return local.tz_localize(NEW_YORK).tz_convert("UTC")

    def _cpi_release_days(self, days: np.ndarray) -> np.ndarray:
        if self._cpi_release is None:
            self._cpi_release = _load_cpi_calendar(self.cpi_calendar)
        months = days.astype("datetime64[M]")
        released = np.array([self._cpi_release.get(str(m), np.datetime64("NaT")) for m in months],
                            dtype="datetime64[D]")
        missing = np.isnat(released)
        if missing.any():
            source = self.cpi_calendar if self._cpi_release else f"{self.cpi_calendar}: absent or empty"
            logger.warning("%s: %d month(s) (%s .. %s) not in the CPI release calendar (%s); using month "
                           "end + 45 days", self.name, int(missing.sum()), months[missing].min(),
                           months[missing].max(), source)
            month_end = (months[missing] + 1).astype("datetime64[D]") - 1
            released[missing] = month_end + 45
        return released

    def wire_from_shared(self, bundle: Path) -> Any:
        """The shipped CSV as FRED's JSON answer (oldest first, values as strings, "." = missing)."""
        frame = pd.read_csv(bundle / "macro" / "fred" / f"{self.series_id}.csv.gz", dtype=str,
                            keep_default_na=False)
        today = date.today().isoformat()
        realtime = {"realtime_start": today, "realtime_end": today}
        observations = [{**realtime, "date": day, "value": value.strip() or "."}
                        for day, value in zip(frame["date"], frame["value"], strict=True)]
        return {**realtime, "observation_start": "1600-01-01", "observation_end": "9999-12-31",
                "units": "lin", "output_type": 1, "file_type": "json", "order_by": "observation_date",
                "sort_order": "asc", "count": len(observations), "offset": 0, "limit": 100000,
                "observations": observations}
