"""Glassnode (API v1, one metric, dummy key) in the provider case table.

Nothing of Glassnode's is shipped, so the payloads are built in Glassnode's wire format from the
real Coin Metrics series in the bundle (``onchain/coinmetrics_btc.csv.gz``): the exchange netflow
is ``FlowInExNtv - FlowOutExNtv`` (BTC). There is no shipped SOPR series: ``CapMVRVCur`` (MVRV, a
ratio around 1-3, like SOPR a "profit" ratio) stands in for it - a realistic numeric series, not
SOPR's values.
"""

from __future__ import annotations

import copy

import pandas as pd

from plugins.altdata.providers.glassnode import PATH_PREFIX, GlassnodeProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase, reversed_with_duplicate

DUMMY_KEY = "gn-0123456789abcdef0123456789abcdef"
START, END = "2024-03-01", "2024-04-29"
NETFLOW_METRIC = "transactions/transfers_volume_exchanges_net"
SOPR_METRIC = "indicators/sopr"
NETFLOW_ONLY = {"exchange_netflow_btc": NETFLOW_METRIC}


def coinmetrics_points(column: str, start: str = START, end: str = END) -> list[dict]:
    """Glassnode points ``[{"t": Unix s, "v": float | None}]`` (oldest first) from the shipped
    Coin Metrics file: ``column`` is ``"netflow"`` (FlowIn - FlowOut) or a file column."""
    frame = pd.read_csv(bundle_dir() / "onchain/coinmetrics_btc.csv.gz",
                        usecols=["time", "FlowInExNtv", "FlowOutExNtv", "CapMVRVCur"])
    frame = frame[(frame["time"] >= start) & (frame["time"] <= end)].sort_values("time")
    values = (frame["FlowInExNtv"] - frame["FlowOutExNtv"] if column == "netflow"
              else frame[column])
    seconds = pd.to_datetime(frame["time"], utc=True).map(lambda ts: int(ts.timestamp()))
    return [{"t": t, "v": None if pd.isna(v) else float(v)}
            for t, v in zip(seconds, values, strict=True)]


def _rename(payload: list) -> list:
    out = copy.deepcopy(payload)
    for point in out:
        point["value"] = point.pop("v")
    return out


def _shuffle(payload: list) -> list:
    return reversed_with_duplicate(payload)


CASE = ProviderCase(
    name="glassnode",
    make=lambda url: GlassnodeProvider(base_url=url, http=FAST_HTTP, api_key=DUMMY_KEY,
                                       metrics=NETFLOW_ONLY),
    path=f"{PATH_PREFIX}/{NETFLOW_METRIC}",
    good_payload=coinmetrics_points("netflow"),  # 60 days
    rename_field=_rename,
    duplicate_and_shuffle=_shuffle,
    start=START,
    end=END,
    make_keyed=lambda url, key: GlassnodeProvider(base_url=url, http=FAST_HTTP, api_key=key,
                                                  metrics=NETFLOW_ONLY),
)
