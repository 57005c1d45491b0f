"""Helpers for the news providers' tests: CryptoPanic answers in the API's documented format
(https://cryptopanic.com/developers/api/), built from the real shipped headlines, and the keyed
provider (``test_secrets`` counts it as the keyed case of ``CryptoPanicProvider``)."""

from __future__ import annotations

import copy

from plugins.altdata.providers.cryptopanic import POSTS_PATH, CryptoPanicProvider
from tests.conftest import bundle_dir
from tests.plugins.altdata.provider_cases import FAST_HTTP

#: The URL path the provider requests (base URL = the local server's root + ``/api/v1``).
PATH = f"/api/v1/{POSTS_PATH}"


def make_keyed(base_url: str, key: str) -> CryptoPanicProvider:
    """A CryptoPanic provider on ``base_url`` (+ ``/api/v1``) with ``key`` and fast retries."""
    return CryptoPanicProvider(base_url=f"{base_url}/api/v1", http=FAST_HTTP, api_key=key)


def shipped_posts() -> list[dict]:
    """Every distinct post of the shipped scrape in the API's wire format (newest first; the
    scrape's 6 exact duplicates left out)."""
    wire = CryptoPanicProvider(api_key="unused-key-000").wire_from_shared(bundle_dir())
    seen, posts = set(), []
    for post in sorted(wire["results"], key=lambda p: p["published_at"], reverse=True):
        identity = (post["published_at"], post["domain"], post["title"])
        if identity not in seen:
            seen.add(identity)
            posts.append(post)
    return copy.deepcopy(posts)


def page(posts: list[dict], next_url: str | None, count: int | None = None) -> dict:
    """One answer page: ``{"count", "next", "previous", "results"}``."""
    return {"count": count if count is not None else len(posts), "next": next_url,
            "previous": None, "results": posts}
