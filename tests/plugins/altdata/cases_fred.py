"""FRED (DGS10, dummy key) in the provider case table."""

from __future__ import annotations

import copy

from plugins.altdata.providers.fred import FredProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP, ProviderCase, reversed_with_duplicate

DUMMY_KEY = "0123456789abcdef0123456789abcdef"


def _payload() -> dict:
    full = FredProvider("DGS10", api_key=DUMMY_KEY).wire_from_shared(bundle_dir())
    rows = [r for r in full["observations"] if "2024-01-01" <= r["date"] <= "2024-03-31"]
    return {**full, "observation_start": "2024-01-01", "observation_end": "2024-03-31",
            "count": len(rows), "observations": rows}  # Q1 2024, incl. holidays ("." values)


def _rename(payload: dict) -> dict:
    out = copy.deepcopy(payload)
    for row in out["observations"]:
        row["val"] = row.pop("value")
    return out


def _shuffle(payload: dict) -> dict:
    return {**payload, "observations": reversed_with_duplicate(payload["observations"])}


CASE = ProviderCase(
    name="fred",
    make=lambda url: FredProvider("DGS10", base_url=url, http=FAST_HTTP, api_key=DUMMY_KEY),
    path="/fred/series/observations",
    good_payload=_payload(),
    rename_field=_rename,
    duplicate_and_shuffle=_shuffle,
    start="2024-01-01",
    end="2024-03-31",
    make_keyed=lambda url, key: FredProvider("DGS10", base_url=url, http=FAST_HTTP, api_key=key),
)
