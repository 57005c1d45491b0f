"""Every keyless alt-data provider's real API on one local HTTP server (``pytest-httpserver``),
answering with the provider tests' real payloads (``provider_cases``, built from the shipped
data): Coin Metrics, DefiLlama, alternative.me, Binance futures funding, Yahoo's chart API,
FRED's keyless ``fredgraph.csv`` (the shipped series) and the RSS feeds (the shipped headlines).
"""

from __future__ import annotations

from plugins.altdata.providers.fred import FRED_SERIES, GRAPH_PATH, FredProvider
from plugins.altdata.providers.rss import RssNewsProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import all_cases

KEY_GATED = {"glassnode", "cryptoquant"}  # built only with their keys: not part of a plain clone


def serve_keyless_apis(httpserver, skip: frozenset[str] = frozenset()) -> dict:
    """Serve them on ``httpserver`` (except the case names in ``skip``, left for the caller);
    returns the ``ai_suite.altdata`` settings pointing every provider and feed at it."""
    for case in all_cases():
        if case.name not in KEY_GATED | {"fred"} | skip:
            body, content_type = case.as_body(case.good_payload)
            httpserver.expect_request(case.path).respond_with_data(body, content_type=content_type)

    shipped = {s: FredProvider(s, api_key="unused").wire_from_shared(bundle_dir())["observations"]
               for s in FRED_SERIES}  # read now: a test may hide the bundle afterwards

    def fredgraph(request):
        from werkzeug import Response

        series, first, last = request.args["id"], request.args["cosd"], request.args["coed"]
        lines = [f"observation_date,{series}"] + [
            f"{r['date']},{'' if r['value'] == '.' else r['value']}" for r in shipped[series]
            if first <= r["date"] <= last]
        return Response("\n".join(lines) + "\n", content_type="text/csv")

    httpserver.expect_request(GRAPH_PATH).respond_with_handler(fredgraph)
    feeds = {name: _first_items(text, 40)
             for name, text in RssNewsProvider().wire_from_shared(bundle_dir()).items()}
    for name, text in feeds.items():
        httpserver.expect_request(f"/rss/{name}").respond_with_data(
            text, content_type="application/rss+xml")
    base = httpserver.url_for("").rstrip("/")
    names = ["coinmetrics", "stablecoins", "fear_greed", "funding_btc", "dxy",
             *[f"fred_{s.lower()}" for s in FRED_SERIES]]
    return {"providers": {name: {"base_url": base} for name in names},
            "news": {"rss_feeds": {name: f"{base}/rss/{name}" for name in feeds}}}


def _first_items(text: str, n: int) -> str:
    """The RSS document with its first ``n`` items only (scoring every shipped headline would
    take most of the test's time)."""
    head, _, rest = text.partition("<item>")
    items = ("<item>" + rest).split("\n")
    return "\n".join([head.rstrip("\n"), *items[:n], "</channel></rss>"])
