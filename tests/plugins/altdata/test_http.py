"""The providers' HTTP client (``plugins.altdata.http``): retries, Retry-After, typed errors."""

from __future__ import annotations

import pytest

from plugins.altdata.errors import ProviderUnavailableError
from plugins.altdata.http import HttpClient, HttpSettings
from plugins.altdata.providers.fear_greed import FearGreedProvider

#: What a misbehaving source may answer: wait 27.8 hours.
HUGE_RETRY_AFTER = "99999"
CAPPED = HttpSettings(connect_timeout_s=1.0, read_timeout_s=1.0, retries=2, backoff_s=0.01,
                      max_retry_after_s=0.2)


@pytest.mark.timeout(30)  # uncapped, the first wait alone would be 99999 s
def test_get_when_source_answers_429_with_huge_retry_after_then_cap_holds_and_unavailable(
        httpserver):
    httpserver.expect_request("/x").respond_with_data(
        "slow down", status=429, headers={"Retry-After": HUGE_RETRY_AFTER})
    client = HttpClient("probe", httpserver.url_for(""), CAPPED)

    with pytest.raises(ProviderUnavailableError, match="429"):
        client.get_text("/x")

    assert len(httpserver.log) == 1 + CAPPED.retries  # it did wait (capped) and retry


@pytest.mark.timeout(30)
def test_fetch_when_provider_source_answers_429_with_huge_retry_after_then_cap_holds(httpserver):
    httpserver.expect_request("/fng/").respond_with_data(
        "slow down", status=429, headers={"Retry-After": HUGE_RETRY_AFTER})
    provider = FearGreedProvider(base_url=httpserver.url_for("").rstrip("/"), http=CAPPED)

    with pytest.raises(ProviderUnavailableError, match="429"):
        provider.fetch("2025-01-01", "2025-02-01")
