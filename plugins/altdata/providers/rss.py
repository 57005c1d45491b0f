"""Crypto news headlines from outlets' public RSS feeds (no key), parsed with ``feedparser``.

Feeds (``NewsConfig.rss_feeds``, name -> URL; defaults ``DEFAULT_FEEDS``): CoinTelegraph
``https://cointelegraph.com/rss``, CryptoPotato ``https://cryptopotato.com/feed/``, CryptoNews
``https://cryptonews.com/news/feed/``. Each answers RSS 2.0 (https://www.rssboard.org/rss-specification)::

    <rss version="2.0"><channel><title>Cointelegraph.com News</title>
      <link>https://cointelegraph.com</link>
      <item><title>...</title><link>https://cointelegraph.com/news/...</link>
            <pubDate>Wed, 16 Mar 2022 18:00:00 +0000</pubDate>          (RFC 822, any offset)
            <category>Bitcoin</category> ...</item> ...</channel></rss>

``feedparser`` (https://feedparser.readthedocs.io/) reads RSS 0.9x/1.0/2.0 and Atom alike and
gives each entry's time as a UTC ``struct_time`` (``published_parsed``, else
``updated_parsed``). Fields kept: ``title``, ``link`` as ``url``, the time as ``published_at``,
the channel's host (``cointelegraph.com``) as ``source``, currency codes found in the entry's
categories and title (``schema.tag_currencies``). A feed keeps only its latest items (tens), so
history exists only from when polling began: coverage starts then.

Publication: ``available_at`` = ``published_at`` + 5 min (the poll interval of a live reader;
it also covers the shipped file's minute precision).

Shipped copy: ``sentiment/news/oliviervha_cryptonews_2021-10-12_2022-07-05.csv.gz`` (the Kaggle
"Crypto News +" dataset, collected from these three outlets' feeds). It is ``;``-delimited with
day-first ``D-M-YYYY H:MM`` dates in **UTC** (PROVENANCE.md checks them against FOMC and CPI
release times). ``wire_from_shared`` renders it as one RSS 2.0 feed per outlet: ``subject`` as
``<category>``, the dataset's TextBlob polarity as ``<aisuite:textblob>`` (a cross-check
column, never a feature). Its 129 rows stamped exactly 00:00 (about 50 times the rate of any
other minute: dates without a time) are stamped 23:59 of their day, the latest time the stamp
allows, so they are never visible before they could have been published.
"""

from __future__ import annotations

import ast
import calendar
import logging
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

import pandas as pd

from plugins.altdata.errors import ProviderConfigError, ProviderSchemaError
from plugins.altdata.http import HttpClient, HttpSettings
from plugins.altdata.news.schema import (
    CURRENCIES,
    PUBLISHED_AT,
    SOURCE,
    TEXTBLOB,
    TITLE,
    URL,
    NewsProvider,
    tag_currencies,
)

logger = logging.getLogger(__name__)

DEFAULT_FEEDS: dict[str, str] = {
    "cointelegraph": "https://cointelegraph.com/rss",
    "cryptopotato": "https://cryptopotato.com/feed/",
    "cryptonews": "https://cryptonews.com/news/feed/",
}
SHARED_FILE = Path("sentiment/news/oliviervha_cryptonews_2021-10-12_2022-07-05.csv.gz")
SHARED_DATE_FORMAT = "%d-%m-%Y %H:%M"
#: Outlet in the shipped file -> (feed name, channel link).
SHARED_OUTLETS = {"CoinTelegraph": ("cointelegraph", "https://cointelegraph.com"),
                  "CryptoNews": ("cryptonews", "https://cryptonews.com"),
                  "CryptoPotato": ("cryptopotato", "https://cryptopotato.com")}
#: Namespace of our extension element carrying the shipped TextBlob polarity.
SUITE_NS = "https://github.com/freqtrade/freqtrade-ai-suite/ns/rss"
PARSED_COLUMNS = [PUBLISHED_AT, TITLE, SOURCE, URL, CURRENCIES, TEXTBLOB]


class RssNewsProvider(NewsProvider):
    """Headlines of ``feeds`` (name -> feed URL; module docstring). No key.

    Raises (besides the contract's): ``ProviderConfigError`` for no feeds or a feed URL that
    is not http(s).
    """

    name: ClassVar[str] = "rss"
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(minutes=5)
    docs_url: ClassVar[str] = "https://www.rssboard.org/rss-specification"
    publication_lag: ClassVar[pd.Timedelta] = pd.Timedelta(minutes=5)

    def __init__(self, feeds: dict[str, str] | None = None, http: HttpSettings | None = None) -> None:
        self.feeds = dict(DEFAULT_FEEDS if feeds is None else feeds)
        if not self.feeds:
            raise ProviderConfigError(f"{self.name}: no feeds configured (ai_suite.altdata.news."
                                      "rss_feeds)")
        self._clients: dict[str, tuple[HttpClient, str, dict[str, str]]] = {}
        for feed, url in self.feeds.items():
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ProviderConfigError(f"{self.name}: feed {feed!r} URL {url!r} is not http(s)")
            client = HttpClient(f"{self.name}:{feed}", f"{parts.scheme}://{parts.netloc}", http)
            self._clients[feed] = (client, parts.path or "/", dict(parse_qsl(parts.query)))

    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, str]:
        """``{feed name: feed XML text}``; a feed serves only its latest items (no range).

        Raises:
            ProviderUnavailableError: a feed could not be fetched (the others are not tried:
                a partial answer would look like a quiet outlet).
        """
        return {feed: client.get_text(path, params or None)
                for feed, (client, path, params) in self._clients.items()}

    def parse(self, raw: Any) -> pd.DataFrame:
        """``{feed name: XML text}`` -> parsed rows (``published_at``, ``title``, ``source``,
        ``url``, ``currencies``, ``textblob_polarity``). Entries without a time become rows
        without one (dropped as malformed by ``finalize``).

        Raises:
            ProviderSchemaError: ``raw`` is not a mapping of texts, or a feed is not RSS/Atom
                (``feedparser`` recognised no feed version and found no entries), named in the
                message.
        """
        import feedparser

        if not isinstance(raw, dict):
            raise ProviderSchemaError(f"{self.name}: expected {{feed name: XML text}}")
        rows: list[dict[str, Any]] = []
        for feed, text in raw.items():
            if not isinstance(text, str | bytes):
                raise ProviderSchemaError(f"{self.name}: feed {feed!r} answer is not text")
            parsed = feedparser.parse(text)
            if not parsed.entries and not parsed.get("version"):
                problem = getattr(parsed, "bozo_exception", None) or "no RSS/Atom root, no items"
                raise ProviderSchemaError(f"{self.name}: feed {feed!r} is not RSS/Atom: {problem}; "
                                          f"see {self.docs_url}")
            source = urlsplit(parsed.feed.get("link", "")).netloc.removeprefix("www.") or feed
            rows.extend(_entry_row(entry, source) for entry in parsed.entries)
        return pd.DataFrame(rows, columns=PARSED_COLUMNS)

    def wire_from_shared(self, bundle: Path) -> dict[str, str]:
        """The shipped 2021-22 file as one RSS 2.0 feed per outlet (module docstring).

        Raises:
            FileNotFoundError: the file is not in ``bundle``.
            ProviderSchemaError: a ``date`` does not parse (named with its row).
        """
        path = bundle / SHARED_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{self.name}: {path} not found")
        frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
        stamps = pd.to_datetime(frame["date"], format=SHARED_DATE_FORMAT, errors="coerce", utc=True)
        if stamps.isna().any():
            row = int(stamps.isna().to_numpy().argmax())
            raise ProviderSchemaError(f"{self.name}: shipped date {frame['date'].iloc[row]!r} (row "
                                      f"{row + 2}) is not D-M-YYYY H:MM")
        date_only = (stamps.dt.hour == 0) & (stamps.dt.minute == 0)
        stamps = stamps.where(~date_only, stamps + pd.Timedelta(hours=23, minutes=59))
        frame = frame.assign(stamp=stamps)
        feeds = {}
        for outlet, (feed, link) in SHARED_OUTLETS.items():
            items = frame[frame["source"] == outlet].sort_values("stamp", ascending=False)
            feeds[feed] = _render_feed(outlet, link, items)
        unknown = set(frame["source"]) - set(SHARED_OUTLETS)
        if unknown:
            logger.warning("%s: shipped rows of unknown outlets skipped: %s", self.name,
                           ", ".join(sorted(unknown)))
        return feeds


def _entry_row(entry: Any, source: str) -> dict[str, Any]:
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    published = pd.Timestamp(calendar.timegm(when), unit="s", tz="UTC") if when else None
    title = entry.get("title") or ""
    categories = " ".join(t.get("term", "") for t in entry.get("tags", []) if isinstance(t, dict))
    polarity = pd.to_numeric(entry.get("aisuite_textblob"), errors="coerce")
    return {PUBLISHED_AT: published, TITLE: title, SOURCE: source, URL: entry.get("link"),
            CURRENCIES: tag_currencies(categories).split(",") if categories else [],
            TEXTBLOB: polarity}


def _polarity(text: str) -> str:
    """The ``polarity`` of the shipped ``sentiment`` dict text, or "" when absent."""
    try:
        value = ast.literal_eval(text) if text else {}
    except (ValueError, SyntaxError):
        return ""
    polarity = value.get("polarity") if isinstance(value, dict) else None
    return "" if polarity is None else repr(float(polarity))


def _render_feed(outlet: str, link: str, items: pd.DataFrame) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<rss version="2.0" xmlns:aisuite="{SUITE_NS}"><channel>',
             f"<title>{escape(outlet)}</title><link>{escape(link)}</link>",
             f"<description>{escape(outlet)} news (shipped copy)</description>"]
    for row in items.itertuples(index=False):
        polarity = _polarity(row.sentiment)
        parts.append(
            "<item>"
            f"<title>{escape(row.title)}</title>"
            + (f"<link>{escape(row.url)}</link>" if row.url else "")
            + f"<pubDate>{format_datetime(row.stamp.to_pydatetime(), usegmt=True)}</pubDate>"
            + (f"<category>{escape(row.subject)}</category>" if row.subject else "")
            + (f"<aisuite:textblob>{polarity}</aisuite:textblob>" if polarity else "")
            + "</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)
