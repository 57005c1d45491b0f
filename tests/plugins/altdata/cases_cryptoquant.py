"""CryptoQuant (BTC exchange netflow, dummy key) in the provider case table.

Nothing of CryptoQuant's is shipped, so the payload is built in CryptoQuant's wire format from the
real Coin Metrics series in the bundle (``onchain/coinmetrics_btc.csv.gz``): ``netflow_total`` =
``FlowInExNtv - FlowOutExNtv`` (BTC), newest first like the API.
"""

from __future__ import annotations

import copy

import pandas as pd

from plugins.altdata.providers.cryptoquant import PATH, CryptoQuantProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase, reversed_with_duplicate

DUMMY_KEY = "cq-0123456789abcdef0123456789abcdef"
START, END = "2024-03-01", "2024-04-29"


def coinmetrics_payload(start: str = START, end: str = END) -> dict:
    """The CryptoQuant answer for ``start .. end`` (days, inclusive), from the shipped file."""
    frame = pd.read_csv(bundle_dir() / "onchain/coinmetrics_btc.csv.gz",
                        usecols=["time", "FlowInExNtv", "FlowOutExNtv"])
    frame = frame[(frame["time"] >= start) & (frame["time"] <= end)]
    frame = frame.sort_values("time", ascending=False)
    netflow = frame["FlowInExNtv"] - frame["FlowOutExNtv"]
    data = [{"date": day, "netflow_total": None if pd.isna(v) else float(v)}
            for day, v in zip(frame["time"], netflow, strict=True)]
    return {"status": {"code": 200, "message": "success"},
            "result": {"window": "day", "data": data}}


def _rename(payload: dict) -> dict:
    out = copy.deepcopy(payload)
    for row in out["result"]["data"]:
        row["netflow"] = row.pop("netflow_total")
    return out


def _shuffle(payload: dict) -> dict:
    return {**payload, "result": {**payload["result"],
                                  "data": reversed_with_duplicate(payload["result"]["data"])}}


CASE = ProviderCase(
    name="cryptoquant",
    make=lambda url: CryptoQuantProvider(base_url=url, http=FAST_HTTP, api_key=DUMMY_KEY),
    path=PATH,
    good_payload=coinmetrics_payload(),  # 60 days
    rename_field=_rename,
    duplicate_and_shuffle=_shuffle,
    start=START,
    end=END,
    make_keyed=lambda url, key: CryptoQuantProvider(base_url=url, http=FAST_HTTP, api_key=key),
)
