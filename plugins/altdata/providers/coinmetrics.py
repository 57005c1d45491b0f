"""Bitcoin on-chain metrics (exchange flows, MVRV, activity) from the Coin Metrics API v4.

API: ``GET https://community-api.coinmetrics.io/v4/timeseries/asset-metrics?assets=btc&metrics=
FlowInExNtv,...&frequency=1d&start_time=YYYY-MM-DD&end_time=YYYY-MM-DD&page_size=10000`` (docs:
https://docs.coinmetrics.io/api and https://docs.coinmetrics.io/access-our-data/api). Answer::

    {"data": [{"asset": "btc", "time": "2024-01-01T00:00:00.000000000Z",
               "FlowInExNtv": "1234.5", "FlowOutExNtv": "1200.1", ...}, ...],   # oldest first
     "next_page_token": "...", "next_page_url": "https://..."}                 # only if more

Metric values are strings; a metric with no value is left out of its row. While the answer has
a ``next_page_url`` it is fetched unmodified (it repeats the query and the key); ``download``
merges the pages into one ``{"data": [...]}``. No key needed for the Community API; a key in
``COINMETRICS_API_KEY`` is sent as the ``api_key`` query parameter (the API's documented way);
it is registered with ``plugins.core.secrets``, so URLs in errors and log lines show ``***``.

Publication: a daily (``1d``) value dated D describes [D, D+1) UTC and is computed after that
day closes. In the shipped file, ``AssetEODCompletionTime`` (when Coin Metrics completed the
day) for 2024-01-01..2026-03-22 is a median 3.3 h and p95 4.9 h after D+1 00:00 UTC (97.7 %
within 6 h), so ``available_at`` = D + 1 day + 6 h. Shipped copy:
``onchain/coinmetrics_btc.csv.gz`` (``time`` = YYYY-MM-DD plus one column per metric).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from plugins.altdata.contract import BTC_MAX_SUPPLY, OBSERVED_AT, AltDataProvider
from plugins.altdata.errors import ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings
from plugins.core.secrets import register_secret

BASE_URL = "https://community-api.coinmetrics.io/v4"
PATH = "/timeseries/asset-metrics"
API_KEY_ENV = "COINMETRICS_API_KEY"
SHARED_FILE = Path("onchain/coinmetrics_btc.csv.gz")
#: Output column <- Coin Metrics metric (netflow_btc is derived from the two flows).
METRICS: dict[str, str] = {
    "flow_in_btc": "FlowInExNtv", "flow_out_btc": "FlowOutExNtv",
    "exchange_supply_btc": "SplyExNtv", "mvrv": "CapMVRVCur", "active_addresses": "AdrActCnt",
    "hash_rate": "HashRate", "tx_count": "TxCnt",
}
MAX_PAGES = 1000


class CoinMetricsProvider(AltDataProvider):
    """BTC daily on-chain metrics. Columns (float64; NaN where Coin Metrics has no value):

    - ``netflow_btc``: ``flow_in_btc - flow_out_btc`` (BTC; positive = net inflow to exchanges);
    - ``flow_in_btc`` / ``flow_out_btc``: BTC sent to / from exchanges that day (FlowIn/OutExNtv);
    - ``exchange_supply_btc``: BTC held on exchanges at the day's end (SplyExNtv);
    - ``mvrv``: market cap / realized cap (CapMVRVCur, ratio);
    - ``active_addresses``: addresses active that day (AdrActCnt, count);
    - ``hash_rate``: mean hash rate (HashRate, TH/s as Coin Metrics reports it);
    - ``tx_count``: transactions that day (TxCnt, count).
    """

    name: ClassVar[str] = "coinmetrics"
    columns: ClassVar[tuple[str, ...]] = ("netflow_btc", *METRICS)
    max_staleness: ClassVar[pd.Timedelta] = pd.Timedelta(days=3)
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(hours=1)
    docs_url: ClassVar[str] = "https://docs.coinmetrics.io/api"
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(days=1, hours=6)
    #: Flows and balances are BTC amounts, bounded by the 21 million supply cap; MVRV is a ratio
    #: of two positive caps (its shipped history peaks at 146, in 2010); counts and hash rate
    #: are non-negative (Coin Metrics metric definitions, https://docs.coinmetrics.io/info/metrics).
    valid_ranges: ClassVar[dict[str, tuple[float, float]]] = {
        "netflow_btc": (-BTC_MAX_SUPPLY, BTC_MAX_SUPPLY), "flow_in_btc": (0.0, BTC_MAX_SUPPLY),
        "flow_out_btc": (0.0, BTC_MAX_SUPPLY), "exchange_supply_btc": (0.0, BTC_MAX_SUPPLY),
        "mvrv": (0.0, 1000.0), "active_addresses": (0.0, math.inf), "hash_rate": (0.0, math.inf),
        "tx_count": (0.0, math.inf)}

    def __init__(self, base_url: str = BASE_URL, http: HttpSettings | None = None,
                 api_key: str | None = None) -> None:
        self.client = HttpClient(self.name, base_url, http)
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
        register_secret(self.api_key)

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """All pages for ``[start, end]`` (days, both inclusive) merged into ``{"data": [...]}``.

        Raises what ``HttpClient.get_json`` raises, and ``ProviderSchemaError`` for a page that
        is not an object with a ``data`` list, or a ``next_page_url`` that repeats, never ends or
        is not under the base URL.
        """
        params: dict[str, Any] = {
            "assets": "btc", "metrics": ",".join(METRICS.values()), "frequency": "1d",
            "start_time": start.strftime("%Y-%m-%d"), "end_time": end.strftime("%Y-%m-%d"),
            "page_size": 10000}
        if self.api_key:
            params["api_key"] = self.api_key
        page, rows, seen = self.client.get_json(PATH, params=params), [], set()
        while True:
            rows.extend(self._rows(page))
            next_url = page.get("next_page_url")
            if not next_url:
                return {"data": rows}
            if next_url in seen or len(seen) >= MAX_PAGES:
                raise ProviderSchemaError(f"{self.name}: pagination does not end ({next_url})")
            seen.add(next_url)
            page = self.client.get_json(self._relative(next_url))

    def _relative(self, url: str) -> str:
        """``next_page_url`` as a path under the client's base URL (which it must start with)."""
        prefix = self.client.base_url + "/"
        if not url.startswith(prefix):
            raise ProviderSchemaError(
                f"{self.name}: next_page_url {url!r} is not under {self.client.base_url}")
        return url[len(prefix) - 1:]

    def _rows(self, page: Any) -> list[Any]:
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            error = page.get("error") if isinstance(page, dict) else None
            raise ProviderSchemaError(f"{self.name}: expected an object with a 'data' list"
                                      + (f"; the API reported: {error}" if error else ""))
        return page["data"]

    def parse(self, raw: Any) -> pd.DataFrame:
        """One page (or the merged pages) -> ``columns`` indexed by ``data[*].time``.

        A metric missing from some rows is NaN there (never 0), and rows with only ``asset`` and
        ``time`` are all-NaN; a metric missing from every row while the rows carry other fields
        is a renamed or dropped field: ``ProviderSchemaError`` naming it.
        """
        data = self._rows(raw)
        if not data:
            return pd.DataFrame(columns=list(self.columns))
        if not all(isinstance(row, dict) for row in data):
            raise ProviderSchemaError(f"{self.name}: 'data' rows must be objects")
        rows = pd.DataFrame(data)
        if "time" not in rows.columns or rows["time"].isna().any():
            raise ProviderSchemaError(f"{self.name}: field 'time' missing from 'data' rows "
                                      f"(got: {', '.join(rows.columns)}); see {self.docs_url}")
        missing = [m for m in METRICS.values() if m not in rows.columns]
        carried = set(rows.columns) - {"asset", "time"}  # anything that could be a metric
        if missing and carried:
            raise ProviderSchemaError(
                f"{self.name}: fields missing from 'data' rows: {', '.join(missing)} "
                f"(got: {', '.join(rows.columns)}); see {self.docs_url}")
        try:
            index = pd.DatetimeIndex(pd.to_datetime(rows["time"], utc=True, format="ISO8601"))
        except (TypeError, ValueError) as err:
            raise ProviderSchemaError(f"{self.name}: 'time' is not RFC 3339: {err}") from err
        out = pd.DataFrame(index=index.rename(OBSERVED_AT))
        for column, metric in METRICS.items():
            values = rows[metric] if metric in rows.columns else pd.Series(np.nan, index=rows.index)
            try:
                out[column] = pd.to_numeric(values, errors="raise").astype("float64").to_numpy()
            except (TypeError, ValueError) as err:
                raise ProviderSchemaError(f"{self.name}: {metric!r} is not numeric: {err}") from err
        out.insert(0, "netflow_btc", out["flow_in_btc"] - out["flow_out_btc"])
        return out

    def wire_from_shared(self, bundle: Path) -> Any:
        """The shipped CSV as one API page: oldest first, values as the file's strings, empty
        values left out of the row, ``time`` as ``YYYY-MM-DDT00:00:00.000000000Z``."""
        frame = pd.read_csv(bundle / SHARED_FILE, usecols=["time", *METRICS.values()], dtype=str)
        frame = frame.sort_values("time")
        data = []
        for record in frame.to_dict("records"):
            row = {"asset": "btc", "time": f"{record.pop('time')}T00:00:00.000000000Z"}
            row.update({m: v for m, v in record.items() if isinstance(v, str) and v.strip()})
            data.append(row)
        return {"data": data}
