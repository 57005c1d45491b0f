"""Binance funding-rate history in the provider case table."""

from __future__ import annotations

from plugins.altdata.providers.funding import FundingRateProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase, reversed_with_duplicate


def _payload() -> list:
    rows = FundingRateProvider().wire_from_shared(bundle_dir())
    return [r for r in rows if 1709251200000 <= r["fundingTime"] < 1711929600000]  # 2024-03


def _rename(payload: list) -> list:
    return [{("rate" if k == "fundingRate" else k): v for k, v in r.items()} for r in payload]


def _shuffle(payload: list) -> list:
    return reversed_with_duplicate(payload)


CASE = ProviderCase(
    name="funding",
    make=lambda url: FundingRateProvider("BTC", base_url=url, http=FAST_HTTP),
    path="/fapi/v1/fundingRate",
    good_payload=_payload(),
    rename_field=_rename,
    duplicate_and_shuffle=_shuffle,
    start="2024-03-01",
    end="2024-03-31",
)
