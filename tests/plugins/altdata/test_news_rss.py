"""The RSS provider's real client (requests + feedparser) against a local server serving RSS 2.0
and Atom feeds built from the real shipped headlines, and against its faults."""

from __future__ import annotations

import pandas as pd
import pytest

from plugins.altdata.errors import ProviderConfigError, ProviderSchemaError, ProviderUnavailableError
from plugins.altdata.news.schema import CURRENCIES, PUBLISHED_AT, SOURCE, TITLE, URL
from plugins.altdata.providers.rss import RssNewsProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP

START, END = pd.Timestamp("2021-01-01", tz="UTC"), pd.Timestamp("2023-01-01", tz="UTC")
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Outlet</title>
<link href="https://www.outlet.example/"/><id>urn:x</id><updated>2022-03-16T18:05:00Z</updated>
<entry><title>Fed Raises Rates; Bitcoin Slips</title><link href="https://outlet.example/a"/>
<id>urn:a</id><updated>2022-03-16T20:00:00+02:00</updated></entry></feed>"""


@pytest.fixture(scope="module")
def shipped_feeds() -> dict[str, str]:
    feeds = RssNewsProvider().wire_from_shared(bundle_dir())
    return {name: _first_items(text, 40) for name, text in feeds.items()}


def _first_items(text: str, n: int) -> str:
    head, _, rest = text.partition("<item>")
    items = ("<item>" + rest).split("\n")
    return "\n".join([head.rstrip("\n"), *items[:n], "</channel></rss>"])


def provider(httpserver, names) -> RssNewsProvider:
    feeds = {name: httpserver.url_for(f"/{name}/feed") for name in names}
    return RssNewsProvider(feeds=feeds, http=FAST_HTTP)


def test_fetch_when_rss_feeds_served_then_headlines_from_each_outlet(httpserver, shipped_feeds):
    for name, text in shipped_feeds.items():
        httpserver.expect_request(f"/{name}/feed").respond_with_data(
            text, content_type="application/rss+xml")

    frame = provider(httpserver, shipped_feeds).fetch(START, END)

    assert len(frame) == sum(t.count("<item>") for t in shipped_feeds.values()) - \
        sum(t.count("<title></title>") for t in shipped_feeds.values())
    assert set(frame[SOURCE]) == {"cointelegraph.com", "cryptonews.com", "cryptopotato.com"}
    assert frame[PUBLISHED_AT].is_monotonic_increasing
    assert frame[URL].str.startswith("https://").sum() > 0


def test_fetch_when_atom_feed_with_offset_then_utc_and_currency_from_title(httpserver):
    httpserver.expect_request("/atom/feed").respond_with_data(ATOM, content_type="application/atom+xml")

    frame = provider(httpserver, ["atom"]).fetch(START, END)

    assert frame[PUBLISHED_AT].tolist() == [pd.Timestamp("2022-03-16 18:00", tz="UTC")]
    assert frame[SOURCE].tolist() == ["outlet.example"]
    assert frame[CURRENCIES].tolist() == ["BTC"] and frame[TITLE].iloc[0].startswith("Fed")


def test_fetch_when_answer_is_not_a_feed_then_schema_error_naming_it(httpserver):
    httpserver.expect_request("/html/feed").respond_with_data("<html><body>moved</body></html>",
                                                              content_type="text/html")

    with pytest.raises(ProviderSchemaError, match="'html'"):
        provider(httpserver, ["html"]).fetch(START, END)


def test_fetch_when_feed_keeps_failing_then_unavailable(httpserver):
    httpserver.expect_request("/down/feed").respond_with_data("busy", status=503)

    with pytest.raises(ProviderUnavailableError, match="503"):
        provider(httpserver, ["down"]).fetch(START, END)


def test_init_when_feed_url_not_http_then_config_error():
    with pytest.raises(ProviderConfigError, match="not http"):
        RssNewsProvider(feeds={"x": "file:///etc/passwd"})
