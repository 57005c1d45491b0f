"""DefiLlama stablecoin supply (``stablecoincharts/all``) in the provider case table."""

from __future__ import annotations

import copy

import pandas as pd

from plugins.altdata.providers.defillama import PATH, DefiLlamaStablecoinProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase, reversed_with_duplicate

START, END = "2024-03-01", "2024-04-29"


def _payload() -> list:
    full = DefiLlamaStablecoinProvider().wire_from_shared(bundle_dir())
    start, end = (pd.Timestamp(d, tz="UTC").timestamp() for d in (START, END))
    return [p for p in full if start <= int(p["date"]) <= end]  # 60 days


def _rename(payload: list) -> list:
    out = copy.deepcopy(payload)
    for point in out:
        point["circulatingUSD"] = point.pop("totalCirculatingUSD")
    return out


def _shuffle(payload: list) -> list:
    return reversed_with_duplicate(payload)


CASE = ProviderCase(
    name="stablecoins",
    make=lambda url: DefiLlamaStablecoinProvider(base_url=url, http=FAST_HTTP),
    path=PATH,
    good_payload=_payload(),
    rename_field=_rename,
    duplicate_and_shuffle=_shuffle,
    start=START,
    end=END,
)
