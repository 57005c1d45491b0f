"""Bitcoin exchange netflow from the CryptoQuant API (optional; needs a paid API key).

API: ``GET https://api.cryptoquant.com/v1/btc/exchange-flows/netflow?exchange=all_exchange&window=day
&from=YYYYMMDD&to=YYYYMMDD&limit=100000`` with the header ``Authorization: Bearer KEY`` (docs:
https://cryptoquant.com/docs, "BTC Exchange Flows" / "Netflow"). Answer (newest first)::

    {"status": {"code": 200, "message": "success"},
     "result": {"window": "day", "data": [{"date": "2024-01-01", "netflow_total": -1234.5}, ...]}}

``date`` is the UTC day (``from``/``to`` are UTC days, both inclusive); ``netflow_total`` is BTC
(inflow - outflow of the chosen exchange group; null = no value). ``limit`` may be 1 .. 100,000
rows, more than the daily history has, so one request per fetch. Key: ``api_key`` or the
``CRYPTOQUANT_API_KEY`` environment variable; it travels only in the header (never in a URL) and
is registered with ``plugins.core.secrets`` and masked in raised messages and log lines all the same.

Publication: the day-window point dated D aggregates D 00:00 .. 23:59 UTC and is complete once D
closes; CryptoQuant documents no daily publication time, so ``available_at`` = D + 1 day + 2 h (a
margin for its daily job). The series is not point-in-time: CryptoQuant revises exchange flows as
it adds exchange wallets (weekly, per its docs), so history may differ from what was live.
Nothing of CryptoQuant's is shipped in the bundle: ``wire_from_shared`` raises ``FileNotFoundError``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from plugins.altdata.contract import BTC_MAX_SUPPLY, OBSERVED_AT, AltDataProvider
from plugins.altdata.errors import AltDataError, ProviderConfigError, ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings
from plugins.core.secrets import register_secret

BASE_URL = "https://api.cryptoquant.com"
PATH = "/v1/btc/exchange-flows/netflow"
MAX_ROWS = 100000


class CryptoQuantProvider(AltDataProvider):
    """Columns: ``exchange_netflow_btc`` (float64, BTC; positive = net inflow to exchanges).

    Raises (besides the contract's): ``ProviderConfigError`` for no API key (on ``download``; the
    message names ``CRYPTOQUANT_API_KEY``) or a rejected key (HTTP 401/403).
    """

    name: ClassVar[str] = "cryptoquant"
    columns: ClassVar[tuple[str, ...]] = ("exchange_netflow_btc",)
    max_staleness: ClassVar[pd.Timedelta] = pd.Timedelta(days=3)
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(hours=1)
    docs_url: ClassVar[str] = "https://cryptoquant.com/docs"
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(days=1, hours=2)
    #: A BTC amount: bounded by the 21 million supply cap either way.
    valid_ranges: ClassVar[dict[str, tuple[float, float]]] = {
        "exchange_netflow_btc": (-BTC_MAX_SUPPLY, BTC_MAX_SUPPLY)}
    api_key_env: ClassVar[str] = "CRYPTOQUANT_API_KEY"

    def __init__(self, base_url: str = BASE_URL, http: HttpSettings | None = None,
                 api_key: str | None = None, exchange: str = "all_exchange") -> None:
        self._api_key = api_key
        self.exchange = exchange
        self.client = HttpClient(self.name, base_url, http)

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """Days ``start.date() .. end.date()`` as decoded JSON (one request)."""
        key = self._api_key or os.environ.get(self.api_key_env, "")
        register_secret(key)  # masked in every error and log line (plugins.core.secrets)
        if not key:
            raise ProviderConfigError(f"{self.name}: CryptoQuant needs an API key; set the "
                                      f"{self.api_key_env} environment variable ({self.docs_url})")
        self.client.session.headers["Authorization"] = f"Bearer {key}"
        params = {"exchange": self.exchange, "window": "day", "from": f"{start:%Y%m%d}",
                  "to": f"{end:%Y%m%d}", "limit": MAX_ROWS}
        try:
            return self.client.get_json(PATH, params=params)
        except AltDataError as err:  # raised anew below, outside this block: no chain holding the key
            message = str(err)  # redacted: SuiteError masks the registered key
            if isinstance(err, ProviderConfigError):
                message = f"{message} (key from {self.api_key_env})"
            failure = type(err)(message)
        raise failure

    def parse(self, raw: Any) -> pd.DataFrame:
        """``result.data[*].date`` -> index (00:00 UTC), ``netflow_total`` ->
        ``exchange_netflow_btc``. Raises ``ProviderSchemaError`` for a ``status.code`` other
        than 200, a missing ``result.data`` list, or rows without ``date``/``netflow_total``."""
        if not isinstance(raw, dict):
            raise ProviderSchemaError(f"{self.name}: expected a JSON object; see {self.docs_url}")
        status = raw.get("status")
        if isinstance(status, dict) and status.get("code", 200) != 200:
            raise ProviderSchemaError(f"{self.name}: the API reported status {status.get('code')}: "
                                      f"{status.get('message')}")
        result = raw.get("result")
        data = result.get("data") if isinstance(result, dict) else None
        if not isinstance(data, list):
            raise ProviderSchemaError(f"{self.name}: field 'result.data' missing from the answer "
                                      f"(got: {', '.join(map(str, raw)) or 'none'}); see {self.docs_url}")
        if not data:
            return pd.DataFrame(columns=list(self.columns))
        if not all(isinstance(row, dict) for row in data):
            raise ProviderSchemaError(f"{self.name}: 'result.data' rows must be objects")
        rows = self.rows_frame(data, ("date", "netflow_total"), "'result.data' rows")
        try:
            index = pd.DatetimeIndex(pd.to_datetime(rows["date"], format="%Y-%m-%d", utc=True))
        except (TypeError, ValueError) as err:
            raise ProviderSchemaError(f"{self.name}: 'date' is not YYYY-MM-DD: {err}") from err
        return pd.DataFrame({"exchange_netflow_btc": rows["netflow_total"].to_numpy()},
                            index=index.rename(OBSERVED_AT))

    def wire_from_shared(self, bundle: Path) -> Any:
        """Nothing is shipped: always ``FileNotFoundError``."""
        raise FileNotFoundError(f"{self.name}: no CryptoQuant series is shipped in {bundle}; this "
                                f"provider is live-only (set {self.api_key_env})")
