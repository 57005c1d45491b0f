"""Fear & Greed (alternative.me) in the provider case table."""

from __future__ import annotations

import copy

from plugins.altdata.providers.fear_greed import FearGreedProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase, reversed_with_duplicate


def _payload() -> dict:
    full = FearGreedProvider().wire_from_shared(bundle_dir())
    return {**full, "data": full["data"][:60]}  # newest 60 days


def _rename(payload: dict) -> dict:
    out = copy.deepcopy(payload)
    for row in out["data"]:
        row["fng"] = row.pop("value")
    return out


def _shuffle(payload: dict) -> dict:
    return {**payload, "data": reversed_with_duplicate(payload["data"])}


CASE = ProviderCase(
    name="fear_greed",
    make=lambda url: FearGreedProvider(base_url=url, http=FAST_HTTP),
    path="/fng/",
    good_payload=_payload(),
    rename_field=_rename,
    duplicate_and_shuffle=_shuffle,
    start="2025-12-01",
    end="2026-03-01",
)
