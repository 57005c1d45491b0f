"""Crypto news headlines from the CryptoPanic API (needs a free API key).

API (https://cryptopanic.com/developers/api/): ``GET https://cryptopanic.com/api/v1/posts/``
with ``auth_token=<key>`` (required), ``public=true`` (the public feed, not the key owner's
"following" one), ``currencies=BTC,ETH,XRP`` (posts tagged with any of them), ``kind=news``
(``news`` | ``media`` | ``all``) and optionally ``filter`` (``rising`` | ``hot`` | ``bullish`` |
``bearish`` | ``important`` | ``saved`` | ``lol``). Newer plans serve the same format under
``https://cryptopanic.com/api/developer/v2``; set ``providers.cryptopanic.base_url``. Answer,
newest first, paginated::

    {"count": 1234, "next": "https://cryptopanic.com/api/v1/posts/?auth_token=...&page=2",
     "previous": null,
     "results": [{"kind": "news", "domain": "cointelegraph.com",
                  "source": {"title": "CoinTelegraph", "region": "en", "domain": "cointelegraph.com",
                             "path": null},
                  "title": "...", "published_at": "2024-09-18T18:00:58Z", "slug": "...",
                  "currencies": [{"code": "BTC", "title": "Bitcoin", "slug": "bitcoin",
                                  "url": "https://cryptopanic.com/news/bitcoin/"}],
                  "id": 20380001, "url": "https://cryptopanic.com/news/20380001/...",
                  "created_at": "2024-09-18T18:00:58Z",
                  "votes": {"negative": 0, "positive": 10, "important": 8, "liked": 9, ...}}]}

``download`` follows ``next`` (its query parameters, on our own base URL and key: a ``next``
URL is never requested as given, so the key never travels to a host we did not configure)
until a page reaches back past ``start``, ``next`` is null, or ``max_pages`` pages were read.
429/5xx are retried with capped ``Retry-After`` (``plugins.altdata.http``).

Fields kept: ``published_at`` (ISO 8601, UTC), ``title``, ``source.domain`` (else
``source.title``, else ``domain``) as ``source``, ``currencies[].code``, ``url``. ``votes`` are
**never** kept: they accumulate after the post, so at its time they are look-ahead.

Key: ``api_key`` or ``CRYPTOPANIC_API_KEY``. It travels as the ``auth_token`` query parameter,
so it is registered with ``plugins.core.secrets``: masked in every message and log line.

Publication: ``published_at`` is the source's time; CryptoPanic lists a post within about a
minute, so ``available_at`` = ``published_at`` + 1 min (the features add the configured
processing lag). Shipped copy: ``sentiment/news/cryptopanic_hot_2024-08-28_2025-02-07.csv.gz``,
a scrape of the site's "hot" feed (``Time`` is JavaScript ``Date.toString()`` with an explicit
CET/CEST offset; ``Votes`` a crawl-day snapshot), rendered by ``wire_from_shared`` as one API
page (times converted to UTC ISO; no currency tags, no URLs, as in the file).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from plugins.altdata.errors import AltDataError, ProviderConfigError, ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings
from plugins.altdata.news.schema import (
    CURRENCIES,
    PUBLISHED_AT,
    SOURCE,
    TITLE,
    URL,
    NewsProvider,
)
from plugins.core.secrets import register_secret

logger = logging.getLogger(__name__)

BASE_URL = "https://cryptopanic.com/api/v1"
POSTS_PATH = "posts/"
SHARED_FILE = Path("sentiment/news/cryptopanic_hot_2024-08-28_2025-02-07.csv.gz")
#: ``Time`` of the shipped scrape: ``Fri Feb 07 2025 08:29:27 GMT+0100 (heure normale ...)``.
SHARED_TIME_FORMAT = "%a %b %d %Y %H:%M:%S %z"
_VOTE = re.compile(r"(\d+) ([a-z]+): votes")
#: Query parameters of a ``next`` URL we never take over (ours are used instead).
_OWN_PARAMS = frozenset({"auth_token"})


class CryptoPanicProvider(NewsProvider):
    """Headlines tagged with ``currencies`` from the CryptoPanic posts API (module docstring).

    Args:
        base_url: API root (default ``BASE_URL``; tests point it at 127.0.0.1).
        http: timeouts and retries.
        api_key: the key (default: the ``CRYPTOPANIC_API_KEY`` environment variable).
        currencies: currency codes to ask for (``currencies=``); empty = all posts.
        kind: ``news`` | ``media`` | ``all``.
        filter: optional UI filter (``hot``, ``rising``, ...); None = every post.
        max_pages: most pages one ``download`` reads (>= 1).

    Raises (besides the contract's): ``ProviderConfigError`` on ``download`` without a key or
    with a rejected one (the message names ``CRYPTOPANIC_API_KEY``, never the key).
    """

    name: ClassVar[str] = "cryptopanic"
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(minutes=5)
    docs_url: ClassVar[str] = "https://cryptopanic.com/developers/api/"
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(minutes=1)
    api_key_env: ClassVar[str] = "CRYPTOPANIC_API_KEY"

    def __init__(self, base_url: str = BASE_URL, http: HttpSettings | None = None,
                 api_key: str | None = None, currencies: tuple[str, ...] = ("BTC", "ETH", "XRP"),
                 kind: str = "news", filter: str | None = None, max_pages: int = 10) -> None:
        if kind not in ("news", "media", "all"):
            raise ProviderConfigError(f"{self.name}: kind {kind!r} is not news, media or all")
        if max_pages < 1:
            raise ProviderConfigError(f"{self.name}: max_pages must be >= 1, got {max_pages}")
        self._api_key = api_key
        self.currencies = tuple(c.upper() for c in currencies)
        self.kind = kind
        self.filter = filter
        self.max_pages = max_pages
        self.client = HttpClient(self.name, base_url, http)

    def _key(self) -> str:
        key = self._api_key or os.environ.get(self.api_key_env, "")
        register_secret(key)  # masked in every error and log line (plugins.core.secrets)
        if not key:
            raise ProviderConfigError(f"{self.name}: CryptoPanic needs an API key; set the "
                                      f"{self.api_key_env} environment variable ({self.docs_url})")
        return key

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> list[dict[str, Any]]:
        """The answer pages (decoded JSON objects), newest first, back to ``start`` at least
        (or as far as ``next`` / ``max_pages`` go). The API has no date parameters."""
        params: dict[str, Any] = {"auth_token": self._key(), "public": "true", "kind": self.kind}
        if self.currencies:
            params["currencies"] = ",".join(self.currencies)
        if self.filter:
            params["filter"] = self.filter
        pages: list[dict[str, Any]] = []
        query = dict(params)
        for _ in range(self.max_pages):
            page = self._get(query)
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise ProviderSchemaError(f"{self.name}: expected an object with a 'results' list "
                                          f"(page {len(pages) + 1}); see {self.docs_url}")
            pages.append(page)
            if _oldest(page["results"]) is not None and _oldest(page["results"]) < start:
                break
            following = page.get("next")
            if not following:
                break
            extra = {k: v for k, v in parse_qsl(urlsplit(str(following)).query)
                     if k not in _OWN_PARAMS}
            query = {**params, **extra}
        else:
            logger.info("%s: stopped after max_pages=%d pages; older posts not fetched",
                        self.name, self.max_pages)
        return pages

    def _get(self, params: dict[str, Any]) -> Any:
        try:
            return self.client.get_json(POSTS_PATH, params=params)
        except AltDataError as err:  # raised anew below, outside this block: no chain holding the key
            message = str(err)  # redacted: SuiteError masks the registered key
            if isinstance(err, ProviderConfigError):
                message = f"{message} (key from {self.api_key_env})"
            failure = type(err)(message)
        raise failure

    def parse(self, raw: Any) -> pd.DataFrame:
        """One answer page (``{"results": [...]}``) or a list of pages -> parsed rows
        (``published_at``, ``title``, ``source``, ``url``, ``currencies``). Rows that are not
        objects become empty rows (dropped as malformed by ``finalize``); ``votes`` are
        never read.

        Raises:
            ProviderSchemaError: a page is not an object with a ``results`` list.
        """
        pages = raw if isinstance(raw, list) else [raw]
        rows = []
        for number, page in enumerate(pages, 1):
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise ProviderSchemaError(f"{self.name}: page {number} is not an object with a "
                                          f"'results' list; see {self.docs_url}")
            rows.extend(_row(post) for post in page["results"])
        if not rows:
            return pd.DataFrame(columns=[PUBLISHED_AT, TITLE, SOURCE, URL, CURRENCIES])
        return pd.DataFrame(rows, columns=[PUBLISHED_AT, TITLE, SOURCE, URL, CURRENCIES])

    def wire_from_shared(self, bundle: Path) -> dict[str, Any]:
        """The shipped "hot" scrape as one API page (module docstring): ``Time`` (with its
        CET/CEST offset) as UTC ISO ``published_at``, ``Source`` as ``source.domain``, the
        ``Votes`` snapshot as ``votes`` (as the API sends them; ``parse`` ignores them).

        Raises:
            FileNotFoundError: the file is not in ``bundle``.
            ProviderSchemaError: a ``Time`` value does not parse (named with its row).
        """
        path = bundle / SHARED_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{self.name}: {path} not found")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        stamps = shared_times(frame["Time"])
        results = []
        for i, (when, row) in enumerate(zip(stamps, frame.itertuples(index=False), strict=True)):
            votes = {key: int(n) for n, key in _VOTE.findall(row.Votes)}
            results.append({
                "kind": "news", "domain": row.Source,
                "source": {"title": row.Source, "region": "en", "domain": row.Source, "path": None},
                "title": row.Title, "published_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "slug": None, "currencies": [], "id": i + 1, "url": None,
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "votes": votes})
        return {"count": len(results), "next": None, "previous": None, "results": results}


def shared_times(values: pd.Series) -> pd.DatetimeIndex:
    """``Time`` values of the shipped scrape (``Fri Feb 07 2025 08:29:27 GMT+0100 (...)``) as
    UTC: the first 33 characters, ``GMT`` dropped, parsed with their explicit offset.

    Raises:
        ProviderSchemaError: a value does not parse (the message shows it and its row).
    """
    text = values.astype(str).str.slice(0, 33).str.replace("GMT", "", regex=False)
    stamps = pd.to_datetime(text, format=SHARED_TIME_FORMAT, errors="coerce", utc=True)
    if stamps.isna().any():
        row = int(stamps.isna().to_numpy().argmax())
        raise ProviderSchemaError(f"cryptopanic: shipped 'Time' {values.iloc[row]!r} (row {row + 2}) "
                                  "is not like 'Fri Feb 07 2025 08:29:27 GMT+0100 (...)'")
    return pd.DatetimeIndex(stamps)


def _row(post: Any) -> dict[str, Any]:
    if not isinstance(post, dict):
        return {PUBLISHED_AT: None, TITLE: None, SOURCE: None, URL: None, CURRENCIES: []}
    source = post.get("source") if isinstance(post.get("source"), dict) else {}
    tags = post.get("currencies") if isinstance(post.get("currencies"), list) else []
    return {PUBLISHED_AT: post.get("published_at"), TITLE: post.get("title"),
            SOURCE: source.get("domain") or source.get("title") or post.get("domain") or "",
            URL: post.get("url"),
            CURRENCIES: [t.get("code") for t in tags if isinstance(t, dict) and t.get("code")]}


def _oldest(results: list) -> pd.Timestamp | None:
    times = pd.to_datetime([r.get("published_at") for r in results if isinstance(r, dict)],
                           errors="coerce", utc=True, format="mixed")
    times = times[~times.isna()]
    return times.min() if len(times) else None
