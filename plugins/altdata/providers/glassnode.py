"""Bitcoin on-chain metrics from the Glassnode API v1 (optional; needs a paid API key).

API: ``GET https://api.glassnode.com/v1/metrics/<path>?a=BTC&i=24h&s=<unix s>&u=<unix s>&api_key=KEY``
(docs: https://docs.glassnode.com/basic-api/api and .../basic-api/endpoints). One request per metric;
each answers a JSON list, oldest first::

    [{"t": 1704067200, "v": 123.4}, ...]        # t: Unix s, 00:00 UTC of the day; v: null = no value

``download`` returns ``{column: that metric's list}``; ``parse`` merges the lists on ``t`` (outer
join: a day one metric lacks is NaN there). Default metrics (``METRICS``):
``transactions/transfers_volume_exchanges_net`` -> ``exchange_netflow_btc``, ``indicators/sopr`` ->
``sopr``. Key: ``api_key``
or the ``GLASSNODE_API_KEY`` environment variable; Glassnode takes it as a query parameter, so it
is registered with ``plugins.core.secrets``: masked in raised messages and every log line.

Publication: timestamps are the start of the interval, so the 24h point dated D covers D 00:00 to
23:59 UTC and is computed after D closes; the daily updaters start at 00:00 UTC and entity-related
metrics (exchange flows) can take up to 2 h, so ``available_at`` = D + 1 day + 2 h. Sources:
https://docs.glassnode.com/data/general-information/data-availability and
https://docs.glassnode.com/data/general-information/timestamps-and-resolutions.
These metrics are not point-in-time: Glassnode revises exchange flows as its address clustering
improves (the ``*_pit`` endpoints are the immutable variants; pass them in ``metrics``).
Nothing of Glassnode's is shipped in the bundle: ``wire_from_shared`` raises ``FileNotFoundError``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from plugins.altdata.contract import BTC_MAX_SUPPLY, OBSERVED_AT, AltDataProvider
from plugins.altdata.errors import AltDataError, ProviderConfigError, ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings
from plugins.core.secrets import register_secret

BASE_URL = "https://api.glassnode.com"
PATH_PREFIX = "/v1/metrics"
#: Output column -> Glassnode metric path (under ``/v1/metrics/``).
METRICS: dict[str, str] = {"exchange_netflow_btc": "transactions/transfers_volume_exchanges_net",
                           "sopr": "indicators/sopr"}
#: Valid range of the default metrics: a BTC amount (bounded by the 21 million supply cap) and
#: SOPR, a ratio of two positive USD values (Glassnode's metric guide: around 1). A metric
#: passed in ``metrics`` without an entry here is only checked for being finite.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "exchange_netflow_btc": (-BTC_MAX_SUPPLY, BTC_MAX_SUPPLY), "sopr": (0.0, 1000.0)}


class GlassnodeProvider(AltDataProvider):
    """BTC daily metrics, one float64 column per entry of ``metrics`` (default ``METRICS``):

    - ``exchange_netflow_btc``: BTC sent to minus BTC withdrawn from exchanges that day (BTC;
      positive = net inflow);
    - ``sopr``: Spent Output Profit Ratio (ratio; > 1 = coins spent at a profit on average).

    Raises (besides the contract's): ``ProviderConfigError`` for an empty ``metrics``, no API key
    (on ``download``; the message names ``GLASSNODE_API_KEY``) or a rejected key.
    """

    name: ClassVar[str] = "glassnode"
    columns: ClassVar[tuple[str, ...]] = tuple(METRICS)
    max_staleness: ClassVar[pd.Timedelta] = pd.Timedelta(days=3)
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(hours=1)
    docs_url: ClassVar[str] = "https://docs.glassnode.com/basic-api/api"
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(days=1, hours=2)
    api_key_env: ClassVar[str] = "GLASSNODE_API_KEY"

    def __init__(self, base_url: str = BASE_URL, http: HttpSettings | None = None,
                 api_key: str | None = None, metrics: dict[str, str] | None = None) -> None:
        self.metrics = dict(METRICS if metrics is None else metrics)
        if not self.metrics:
            raise ProviderConfigError(f"{self.name}: 'metrics' must name at least one metric")
        self.columns = tuple(self.metrics)  # per instance, over the ClassVar
        self.valid_ranges = {c: METRIC_RANGES.get(c, (-math.inf, math.inf)) for c in self.columns}
        self._api_key = api_key
        self.client = HttpClient(self.name, base_url, http)

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, Any]:
        """``{column: decoded JSON list}`` for the 24h points ``start .. end``, one request each."""
        key = self._api_key or os.environ.get(self.api_key_env, "")
        register_secret(key)  # masked in every error and log line (plugins.core.secrets)
        if not key:
            raise ProviderConfigError(f"{self.name}: Glassnode needs an API key; set the "
                                      f"{self.api_key_env} environment variable ({self.docs_url})")
        params = {"a": "BTC", "i": "24h", "s": int(start.timestamp()), "u": int(end.timestamp()),
                  "api_key": key}
        return {column: self._get(metric, params, key) for column, metric in self.metrics.items()}

    def _get(self, metric: str, params: dict[str, Any], key: str) -> Any:
        try:
            return self.client.get_json(f"{PATH_PREFIX}/{metric}", params=params)
        except AltDataError as err:  # raised anew below, outside this block: no chain holding the key
            message = str(err)  # redacted: SuiteError masks the registered key
            if isinstance(err, ProviderConfigError):
                message = f"{message} (key from {self.api_key_env})"
            failure = type(err)(message)
        raise failure

    def parse(self, raw: Any) -> pd.DataFrame:
        """``{column: [{"t", "v"}, ...]}`` -> ``columns`` indexed by ``t`` (merged on ``t``).

        With a single metric, that metric's bare answer list is accepted as well. Raises
        ``ProviderSchemaError`` for a metric whose answer is absent or not a list of points, or
        points without ``t``/``v`` (named in the message).
        """
        if isinstance(raw, list) and len(self.metrics) == 1:
            raw = {self.columns[0]: raw}
        if not isinstance(raw, dict):
            raise ProviderSchemaError(f"{self.name}: expected {{column: list of points}}")
        series = []
        for column, metric in self.metrics.items():
            points = raw.get(column)
            if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
                raise ProviderSchemaError(f"{self.name}: {metric!r} did not answer a list of "
                                          f"{{t, v}} points; see {self.docs_url}")
            if points:
                series.append(self._series(column, metric, points))
        if not series:
            return pd.DataFrame(columns=list(self.columns))
        return pd.concat(series, axis=1).reindex(columns=list(self.columns))

    def _series(self, column: str, metric: str, points: list[dict]) -> pd.Series:
        rows = self.rows_frame(points, ("t", "v"), f"{metric!r} points")
        index = self.epoch_index(rows["t"], "s", "t").rename(OBSERVED_AT)
        values = pd.Series(rows["v"].to_numpy(), index=index, name=column)
        return values[~index.duplicated(keep="last")]  # unique per metric, so the merge can align

    def wire_from_shared(self, bundle: Path) -> Any:
        """Nothing is shipped: always ``FileNotFoundError``."""
        raise FileNotFoundError(f"{self.name}: no Glassnode series is shipped in {bundle}; this "
                                f"provider is live-only (set {self.api_key_env})")
