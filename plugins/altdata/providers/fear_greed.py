"""Crypto Fear & Greed Index from alternative.me.

API: ``GET https://api.alternative.me/fng/?limit=0&format=json`` (docs:
https://alternative.me/crypto/fear-and-greed-index/#api). Answer::

    {"name": "Fear and Greed Index",
     "data": [{"value": "40", "value_classification": "Fear", "timestamp": "1551157200",
               "time_until_update": "68499"}, ...],          # newest first
     "metadata": {"error": null}}

``timestamp`` is Unix seconds (UTC midnight of the day the value is for); ``value`` is 0-100.
No key needed. Publication: alternative.me publishes the day's value at 00:00 UTC, computed
from the preceding 24 h of market data, so the value dated D is known from D 00:00 UTC on;
``available_at`` = D 00:00 + 15 min (a margin for the daily update job). This is the one daily
series that is legitimately visible on day D's candles: the source publishes it at the start
of D. Shipped copy: ``sentiment/fear_greed_index.csv.gz`` (``Date,fng_value,fng_class``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from plugins.altdata.contract import OBSERVED_AT, AltDataProvider
from plugins.altdata.errors import ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings

BASE_URL = "https://api.alternative.me"
SHARED_FILE = Path("sentiment/fear_greed_index.csv.gz")


class FearGreedProvider(AltDataProvider):
    """Columns: ``fng_value`` (float64, index points 0-100; 0 = extreme fear)."""

    name: ClassVar[str] = "fear_greed"
    columns: ClassVar[tuple[str, ...]] = ("fng_value",)
    max_staleness: ClassVar[pd.Timedelta] = pd.Timedelta(hours=36)
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(hours=1)
    docs_url: ClassVar[str] = "https://alternative.me/crypto/fear-and-greed-index/#api"
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(minutes=15)
    #: The index is defined on 0..100 (the API docs above).
    valid_ranges: ClassVar[dict[str, tuple[float, float]]] = {"fng_value": (0.0, 100.0)}

    def __init__(self, base_url: str = BASE_URL, http: HttpSettings | None = None) -> None:
        self.client = HttpClient(self.name, base_url, http)

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """The whole history (``limit=0``); the API has no date-range parameters."""
        return self.client.get_json("/fng/", params={"limit": 0, "format": "json"})

    def parse(self, raw: Any) -> pd.DataFrame:
        """``data[*].timestamp`` (Unix s) -> index, ``data[*].value`` -> ``fng_value``."""
        if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
            raise ProviderSchemaError(f"{self.name}: expected an object with a 'data' list")
        error = (raw.get("metadata") or {}).get("error")
        if error:
            raise ProviderSchemaError(f"{self.name}: the API reported an error: {error}")
        if not raw["data"]:
            return pd.DataFrame(columns=list(self.columns))
        rows = self.rows_frame(raw["data"], ("timestamp", "value"), "'data' rows")
        index = self.epoch_index(rows["timestamp"], "s", "timestamp").rename(OBSERVED_AT)
        return pd.DataFrame({"fng_value": rows["value"].to_numpy()}, index=index)

    def wire_from_shared(self, bundle: Path) -> Any:
        """The shipped CSV as the API's JSON answer (newest first, values as strings)."""
        frame = pd.read_csv(bundle / SHARED_FILE, parse_dates=["Date"]).dropna(subset=["fng_value"])
        frame = frame.sort_values("Date", ascending=False)
        seconds = (frame["Date"] - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
        data = [{"value": str(int(v)), "value_classification": c, "timestamp": str(int(ts)),
                 "time_until_update": "0"}
                for v, c, ts in zip(frame["fng_value"], frame["fng_class"], seconds, strict=True)]
        return {"name": "Fear and Greed Index", "data": data, "metadata": {"error": None}}
