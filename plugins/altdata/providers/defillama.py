"""Total stablecoin circulating supply (USD) from DefiLlama.

API: ``GET https://stablecoins.llama.fi/stablecoincharts/all`` (docs: https://defillama.com/docs/api,
section "stablecoins"). Answer, oldest first, one point per day::

    [{"date": "1609459200",
      "totalCirculating": {"peggedUSD": 2.9e10, "peggedEUR": 1.2e8, ...},
      "totalCirculatingUSD": {"peggedUSD": 2.9e10, "peggedEUR": 1.5e8, ...},
      "totalMintedUSD": {...}, "totalBridgedToUSD": {...}}, ...]

``date`` is Unix seconds as a string (00:00 UTC of the day); ``totalCirculatingUSD`` holds the
circulating supply valued in USD per peg type. No key needed; no date-range parameters (the
whole history, about 3,000 points, comes at once).

Publication: the point dated D is DefiLlama's snapshot for day D; it keeps being updated during
D and is final once D ends, so ``available_at`` = D + 1 day + 1 h (an hour's margin for the
snapshot job). Shipped copy: ``onchain/stablecoin_supply_total_usd.csv.gz``
(``as_of,value,status``: the daily ``totalCirculatingUSD.peggedUSD``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from plugins.altdata.contract import OBSERVED_AT, AltDataProvider
from plugins.altdata.errors import ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings

BASE_URL = "https://stablecoins.llama.fi"
PATH = "/stablecoincharts/all"
SHARED_FILE = Path("onchain/stablecoin_supply_total_usd.csv.gz")


class DefiLlamaStablecoinProvider(AltDataProvider):
    """Columns: ``stablecoin_supply_usd`` (float64, USD): circulating supply of all USD-pegged
    stablecoins (``totalCirculatingUSD.peggedUSD``); NaN for a day without a USD figure."""

    name: ClassVar[str] = "stablecoins"
    columns: ClassVar[tuple[str, ...]] = ("stablecoin_supply_usd",)
    max_staleness: ClassVar[pd.Timedelta] = pd.Timedelta(days=3)
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(hours=1)
    docs_url: ClassVar[str] = "https://defillama.com/docs/api"
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(days=1, hours=1)
    #: A supply is non-negative; $10 trillion is far above any total (about $0.3 trillion in
    #: 2025 in the shipped series), so a larger figure is a unit or parsing error.
    valid_ranges: ClassVar[dict[str, tuple[float, float]]] = {
        "stablecoin_supply_usd": (0.0, 1e13)}

    def __init__(self, base_url: str = BASE_URL, http: HttpSettings | None = None) -> None:
        self.client = HttpClient(self.name, base_url, http)

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """The whole history; the endpoint has no date-range parameters."""
        return self.client.get_json(PATH)

    def parse(self, raw: Any) -> pd.DataFrame:
        """``[*].date`` (Unix s) -> index, ``[*].totalCirculatingUSD.peggedUSD`` ->
        ``stablecoin_supply_usd``. Raises ``ProviderSchemaError`` naming a field that is missing
        (from any point for ``date``; from every point for the supply fields)."""
        if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
            raise ProviderSchemaError(f"{self.name}: expected a JSON list of objects")
        if not raw:
            return pd.DataFrame(columns=list(self.columns))
        if any(point.get("date") is None for point in raw):
            raise ProviderSchemaError(f"{self.name}: field 'date' missing from a point "
                                      f"(got: {', '.join(raw[0])}); see {self.docs_url}")
        supplies = [point.get("totalCirculatingUSD") for point in raw]
        if all(s is None for s in supplies):
            raise ProviderSchemaError(f"{self.name}: field 'totalCirculatingUSD' missing "
                                      f"(got: {', '.join(raw[0])}); see {self.docs_url}")
        if any(s is not None and not isinstance(s, dict) for s in supplies):
            raise ProviderSchemaError(f"{self.name}: 'totalCirculatingUSD' must be an object")
        if not any(s and "peggedUSD" in s for s in supplies):
            raise ProviderSchemaError(f"{self.name}: field 'totalCirculatingUSD.peggedUSD' "
                                      f"missing; see {self.docs_url}")
        values = [s.get("peggedUSD", np.nan) if s else np.nan for s in supplies]
        index = self.epoch_index([point["date"] for point in raw], "s", "date").rename(OBSERVED_AT)
        return pd.DataFrame({"stablecoin_supply_usd": values}, index=index)

    def wire_from_shared(self, bundle: Path) -> Any:
        """The shipped CSV as the API's JSON list (oldest first; ``value`` under ``peggedUSD`` in
        both ``totalCirculating`` and ``totalCirculatingUSD``; ``date`` as a string)."""
        frame = pd.read_csv(bundle / SHARED_FILE, parse_dates=["as_of"]).dropna(subset=["value"])
        frame = frame.sort_values("as_of")
        seconds = (frame["as_of"] - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
        return [{"date": str(int(ts)), "totalCirculating": {"peggedUSD": float(v)},
                 "totalCirculatingUSD": {"peggedUSD": float(v)}}
                for ts, v in zip(seconds, frame["value"], strict=True)]
