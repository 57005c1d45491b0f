"""ICE US Dollar Index (DXY) daily close from Yahoo Finance's chart API, symbol ``DX-Y.NYB``.

API: ``GET https://query1.finance.yahoo.com/v8/finance/chart/DX-Y.NYB?period1=<unix s>
&period2=<unix s>&interval=1d``. Yahoo publishes no documentation for it; the format below is the
one its long-standing clients parse (yfinance: https://github.com/ranaroussi/yfinance, module
``yfinance/scrapers/history.py``). Answer::

    {"chart": {"result": [{"meta": {"symbol": "DX-Y.NYB", "exchangeTimezoneName": "America/New_York",
                                    "dataGranularity": "1d", ...},
                           "timestamp": [1704171600, ...],                     # Unix seconds
                           "indicators": {"quote": [{"close": [102.2, null, ...], "open": [...],
                                                     ...}]}}],
               "error": null}}
    {"chart": {"result": null, "error": {"code": "Not Found", "description": "No data found..."}}}

``timestamp`` is the session open in exchange time; each is normalized to 00:00 UTC of its
America/New_York calendar date (the trading day). ``close`` is in index points; ``null`` = missing
(-> NaN). A range without bars comes without ``timestamp`` and with ``"quote": [{}]``: an empty
frame. No key needed.

Publication: ICE settles the index around 17:00 New York time, so the close of day D is taken as
known at D 17:00 America/New_York (zoneinfo, DST-correct) + 1 hour, converted to UTC: 22:00 UTC
in summer (EDT), 23:00 UTC in winter (EST). Shipped copy: ``macro/dxy_daily.csv.gz``
(``date,dxy``; blank = no close that day, such rows are left out of the rendered answer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from plugins.altdata.contract import OBSERVED_AT, AltDataProvider
from plugins.altdata.errors import ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings

BASE_URL = "https://query1.finance.yahoo.com"
SYMBOL = "DX-Y.NYB"
SHARED_FILE = Path("macro/dxy_daily.csv.gz")
NEW_YORK = ZoneInfo("America/New_York")


class DxyProvider(AltDataProvider):
    """Columns: ``dxy`` (float64, ICE US Dollar Index points; 100 = March 1973 basket level).

    Raises ``ProviderSchemaError`` when ``chart.error`` is set (with its ``description``) or a
    field is missing; ``ProviderUnavailableError`` as the contract says.
    """

    name: ClassVar[str] = "dxy"
    columns: ClassVar[tuple[str, ...]] = ("dxy",)
    max_staleness: ClassVar[pd.Timedelta] = pd.Timedelta(days=5)
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(hours=1)
    docs_url: ClassVar[str] = "https://github.com/ranaroussi/yfinance/blob/main/yfinance/scrapers/history.py"
    settle_time: ClassVar[pd.Timedelta] = pd.Timedelta(hours=17)
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(hours=1)
    #: Index points, positive by construction (a geometric mean of exchange rates); ICE's
    #: history since 1973 spans about 70..165, so 1000 bounds it with a wide margin.
    valid_ranges: ClassVar[dict[str, tuple[float, float]]] = {"dxy": (0.0, 1000.0)}

    def __init__(self, base_url: str = BASE_URL, http: HttpSettings | None = None) -> None:
        self.client = HttpClient(self.name, base_url, http)

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """Daily bars from a day before ``start`` to a day after ``end`` (``finalize`` trims)."""
        day = pd.Timedelta(days=1)
        params = {"period1": int((start - day).timestamp()), "period2": int((end + day).timestamp()),
                  "interval": "1d"}
        return self.client.get_json(f"/v8/finance/chart/{SYMBOL}", params=params)

    def parse(self, raw: Any) -> pd.DataFrame:
        """``timestamp`` -> index (00:00 UTC of the New York date), ``quote[0].close`` -> ``dxy``."""
        chart = raw.get("chart") if isinstance(raw, dict) else None
        if not isinstance(chart, dict):
            raise ProviderSchemaError(f"{self.name}: field 'chart' missing from the answer")
        error = chart.get("error")
        if error:
            description = error.get("description", error) if isinstance(error, dict) else error
            raise ProviderSchemaError(f"{self.name}: Yahoo reported an error: {description}")
        result = chart.get("result")
        if not isinstance(result, list) or not result or not isinstance(result[0], dict):
            raise ProviderSchemaError(f"{self.name}: field 'chart.result' missing or empty")
        series = result[0]
        quotes = (series.get("indicators") or {}).get("quote")
        if not isinstance(quotes, list) or not quotes or not isinstance(quotes[0], dict):
            raise ProviderSchemaError(f"{self.name}: field 'indicators.quote' missing from the answer")
        if "timestamp" not in series and not quotes[0]:
            return pd.DataFrame(columns=list(self.columns))
        for field, holder in (("timestamp", series), ("close", quotes[0])):
            if field not in holder:
                raise ProviderSchemaError(f"{self.name}: field {field!r} missing from the answer "
                                          f"(got: {', '.join(holder)}); see {self.docs_url}")
        stamps, closes = series["timestamp"], quotes[0]["close"]
        if not isinstance(stamps, list) or not isinstance(closes, list) or len(stamps) != len(closes):
            raise ProviderSchemaError(f"{self.name}: 'timestamp' and 'close' are not lists of equal length")
        opened = self.epoch_index(stamps, "s", "timestamp")
        index = opened.tz_convert(NEW_YORK).tz_localize(None).normalize().tz_localize("UTC")
        values = [np.nan if close is None else close for close in closes]
        return pd.DataFrame({"dxy": values}, index=index.rename(OBSERVED_AT))

    def available_at(self, observed: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Day D 17:00 America/New_York + ``publication_lag``, in UTC."""
        settled = observed.tz_convert("UTC").tz_localize(None).normalize() + self.settle_time
        return settled.tz_localize(NEW_YORK).tz_convert("UTC") + self.publication_lag

    def wire_from_shared(self, bundle: Path) -> Any:
        """The shipped CSV as Yahoo's chart answer (bars at 00:00 New York time, oldest first)."""
        frame = pd.read_csv(bundle / SHARED_FILE, parse_dates=["date"]).dropna(subset=["dxy"])
        opened = frame["date"].dt.tz_localize(NEW_YORK)
        seconds = (opened - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
        meta = {"currency": "USD", "symbol": SYMBOL, "exchangeName": "NYB", "instrumentType": "INDEX",
                "timezone": "EST", "exchangeTimezoneName": "America/New_York", "dataGranularity": "1d"}
        quote = {"close": [float(v) for v in frame["dxy"]]}
        return {"chart": {"result": [{"meta": meta, "timestamp": [int(s) for s in seconds],
                                      "indicators": {"quote": [quote]}}], "error": None}}
