"""Coin Metrics (Community API v4, asset-metrics) in the provider case table."""

from __future__ import annotations

import copy

from plugins.altdata.providers.coinmetrics import PATH, CoinMetricsProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase, reversed_with_duplicate

START, END = "2024-03-01", "2024-04-29"


def _payload() -> dict:
    full = CoinMetricsProvider(api_key="").wire_from_shared(bundle_dir())
    rows = [r for r in full["data"] if START <= r["time"][:10] <= END]  # 60 days
    return {"data": rows}


def _rename(payload: dict) -> dict:
    out = copy.deepcopy(payload)
    for row in out["data"]:
        row["FlowInExNtvV2"] = row.pop("FlowInExNtv")
    return out


def _shuffle(payload: dict) -> dict:
    return {**payload, "data": reversed_with_duplicate(payload["data"])}


CASE = ProviderCase(
    name="coinmetrics",
    make=lambda url: CoinMetricsProvider(base_url=url, http=FAST_HTTP, api_key=""),
    path=PATH,
    good_payload=_payload(),
    rename_field=_rename,
    duplicate_and_shuffle=_shuffle,
    start=START,
    end=END,
    make_keyed=lambda url, key: CoinMetricsProvider(base_url=url, http=FAST_HTTP, api_key=key),
)
