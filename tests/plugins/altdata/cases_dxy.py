"""DXY (Yahoo Finance chart API, DX-Y.NYB) in the provider case table."""

from __future__ import annotations

import copy

import pandas as pd

from plugins.altdata.providers.dxy import DxyProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase


def _payload() -> dict:
    full = DxyProvider().wire_from_shared(bundle_dir())
    result = full["chart"]["result"][0]
    first, last = (int(pd.Timestamp(d, tz="America/New_York").timestamp())
                   for d in ("2024-01-01", "2024-03-31"))
    keep = [i for i, ts in enumerate(result["timestamp"]) if first <= ts <= last]  # Q1 2024
    quote = {"close": [result["indicators"]["quote"][0]["close"][i] for i in keep]}
    sliced = {**result, "timestamp": [result["timestamp"][i] for i in keep],
              "indicators": {"quote": [quote]}}
    return {"chart": {"result": [sliced], "error": None}}


def _rename(payload: dict) -> dict:
    out = copy.deepcopy(payload)
    result = out["chart"]["result"][0]
    result["timestamps"] = result.pop("timestamp")
    return out


def _shuffle(payload: dict) -> dict:
    out = copy.deepcopy(payload)
    result = out["chart"]["result"][0]
    closes = result["indicators"]["quote"][0]["close"]
    result["timestamp"] = result["timestamp"][::-1] + result["timestamp"][:1]
    result["indicators"]["quote"][0]["close"] = closes[::-1] + closes[:1]
    return out


CASE = ProviderCase(
    name="dxy",
    make=lambda url: DxyProvider(base_url=url, http=FAST_HTTP),
    path="/v8/finance/chart/DX-Y.NYB",
    good_payload=_payload(),
    rename_field=_rename,
    duplicate_and_shuffle=_shuffle,
    start="2024-01-01",
    end="2024-03-31",
)
