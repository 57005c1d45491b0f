"""Perpetual funding rate from Binance USD-M futures.

API: ``GET https://fapi.binance.com/fapi/v1/fundingRate?symbol=BTCUSDT&startTime=<ms>
&endTime=<ms>&limit=1000`` (docs: https://developers.binance.com/docs/derivatives/
usds-margined-futures/market-data/rest-api/Get-Funding-Rate-History). Answer, oldest first::

    [{"symbol": "BTCUSDT", "fundingTime": 1698768000000, "fundingRate": "0.00010000",
      "markPrice": "34657.30000000"}, ...]

At most 1000 rows per call; ``download`` pages forward by ``startTime``. Funding settles every
8 h (00:00, 08:00, 16:00 UTC) and the settled rate is public at that moment, so
``available_at`` = ``fundingTime`` + 1 min. Shipped copy: Freqtrade's futures funding files
``crypto/freqtrade_binance_spot/futures/<BASE>_USDT_USDT-1h-funding_rate.feather`` (rate in
column ``open``), the layout ``freqtrade download-data --trading-mode futures`` writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from plugins.altdata.contract import OBSERVED_AT, AltDataProvider
from plugins.altdata.errors import ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings

BASE_URL = "https://fapi.binance.com"
PAGE_LIMIT = 1000


class FundingRateProvider(AltDataProvider):
    """Column: ``funding_rate`` (float64, fraction per 8 h; 0.0001 = 0.01 %).

    Args:
        base: base asset, e.g. ``BTC`` (USDT-margined perpetual ``BTCUSDT``).
    """

    columns: ClassVar[tuple[str, ...]] = ("funding_rate",)
    max_staleness: ClassVar[pd.Timedelta] = pd.Timedelta(hours=9)
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(minutes=30)
    docs_url: ClassVar[str] = ("https://developers.binance.com/docs/derivatives/"
                               "usds-margined-futures/market-data/rest-api/Get-Funding-Rate-History")
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(minutes=1)
    #: Binance clamps every funding rate to its symbol's cap and floor (``GET /fapi/v1/fundingInfo``:
    #: ``adjustedFundingRateCap`` / ``Floor``, a few percent per interval); +-10 % per interval
    #: lies beyond all of them.
    valid_ranges: ClassVar[dict[str, tuple[float, float]]] = {"funding_rate": (-0.1, 0.1)}

    def __init__(self, base: str = "BTC", base_url: str = BASE_URL,
                 http: HttpSettings | None = None) -> None:
        self.base = base.upper()
        self.symbol = f"{self.base}USDT"
        self.name = f"funding_{self.base.lower()}"
        self.client = HttpClient(self.name, base_url, http)

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """All funding events in ``[start, end]``, paging by ``startTime``."""
        rows: list[dict] = []
        since = int(start.timestamp() * 1000)
        end_ms = int(end.timestamp() * 1000)
        while since <= end_ms:
            page = self.client.get_json("/fapi/v1/fundingRate", params={
                "symbol": self.symbol, "startTime": since, "endTime": end_ms,
                "limit": PAGE_LIMIT})
            if not isinstance(page, list):
                raise ProviderSchemaError(f"{self.name}: expected a JSON list, got {type(page).__name__}")
            rows += page
            if len(page) < PAGE_LIMIT:
                break
            last = max(int(r.get("fundingTime", since)) for r in page)
            if last < since:
                break
            since = last + 1
        return rows

    def parse(self, raw: Any) -> pd.DataFrame:
        """``fundingTime`` (ms) -> index, ``fundingRate`` -> ``funding_rate``."""
        if not isinstance(raw, list):
            raise ProviderSchemaError(f"{self.name}: expected a JSON list of funding events")
        if not raw:
            return pd.DataFrame(columns=list(self.columns))
        rows = self.rows_frame(raw, ("fundingTime", "fundingRate"), "funding events")
        times = self.epoch_index(rows["fundingTime"], "ms", "fundingTime").rename(OBSERVED_AT)
        return pd.DataFrame({"funding_rate": rows["fundingRate"].to_numpy()}, index=times)

    def wire_from_shared(self, bundle: Path) -> Any:
        """Freqtrade's funding-rate feather file as the API's JSON list."""
        path = (bundle / "crypto/freqtrade_binance_spot/futures"
                / f"{self.base}_USDT_USDT-1h-funding_rate.feather")
        frame = pd.read_feather(path)
        ms = (frame["date"] - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(milliseconds=1)
        return [{"symbol": self.symbol, "fundingTime": int(t), "fundingRate": f"{r:.8f}",
                 "markPrice": ""} for t, r in zip(ms, frame["open"], strict=True)]
