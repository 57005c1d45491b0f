"""The headline frame: what every news provider returns, and the contract it follows.

A news provider is an ``AltDataProvider`` (``plugins.altdata.contract``): ``download`` gets the
wire payload, ``parse`` turns it into rows, ``wire_from_shared`` renders a shipped file in the
source's own wire format (so shipped data goes through ``parse`` like a live answer). Only
``finalize`` differs: headlines are events with text, not a float series, so it returns a
*headline frame* (``HEADLINE_COLUMNS``, a ``RangeIndex``, sorted by ``published_at`` then
``headline_id``):

- ``headline_id`` (str): sha256 (hex, 24 chars) of ``published_at`` (ISO, UTC), ``source`` and
  the normalised title: one row per publication; the same story re-posted at another time is
  another row (it is news flow again);
- ``content_hash`` (str): sha256 (hex, 32 chars) of the normalised title (``normalise_title``),
  all a scorer sees: a title is scored once, whichever source and time it came with;
- ``published_at`` (``datetime64[ns, UTC]``): when the source says it published;
- ``available_at`` (``datetime64[ns, UTC]``): ``published_at`` + the provider's
  ``publication_lag`` (how long until a poller can have it); the features add the configured
  processing lag on top (``NewsConfig.processing_lag_minutes``);
- ``title`` (str), ``source`` (str: publisher domain or outlet), ``url`` (str or None);
- ``currencies`` (str): comma-joined sorted upper-case codes (``"BTC,ETH"``; ``""`` = none),
  the source's own tags plus the codes ``CURRENCY_PATTERNS`` find in the title;
- ``provider`` (str): which provider delivered it;
- ``textblob_polarity`` (float64): the shipped 2021-22 file's TextBlob polarity, kept only as
  a cross-check of our scorers; NaN elsewhere. Never a feature.

Vote counts (CryptoPanic ``votes``) are never part of it: the shipped ones are a crawl-day
snapshot that built up after each post, and live ones grow after publication too, so at the
post's time they are look-ahead. ``parse`` drops them.

Rows without a title or with a time that does not parse are dropped with one warning naming
the provider, the count and the first example; an answer where every row is malformed raises
``ProviderSchemaError`` (the source changed its format: never mistaken for "no news").
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from plugins.altdata.contract import AVAILABLE_AT, AltDataProvider
from plugins.altdata.errors import ProviderSchemaError

logger = logging.getLogger(__name__)

HEADLINE_ID = "headline_id"
CONTENT_HASH = "content_hash"
PUBLISHED_AT = "published_at"
TITLE = "title"
SOURCE = "source"
URL = "url"
CURRENCIES = "currencies"
PROVIDER = "provider"
TEXTBLOB = "textblob_polarity"
SCORE = "score"
#: Columns of a headline frame, in order.
HEADLINE_COLUMNS = (HEADLINE_ID, CONTENT_HASH, PUBLISHED_AT, AVAILABLE_AT, TITLE, SOURCE, URL,
                    CURRENCIES, PROVIDER, TEXTBLOB)
#: Columns ``parse`` must produce (the rest are optional: ``url``, ``currencies``, ``textblob``).
PARSED_REQUIRED = (PUBLISHED_AT, TITLE, SOURCE)

#: Currency code -> title pattern (case-insensitive, whole words; ``$BTC`` cashtags match too).
#: Small on purpose: the pairs the suite trades and the largest others.
CURRENCY_PATTERNS: dict[str, re.Pattern[str]] = {
    code: re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE)
    for code, words in {
        "BTC": r"bitcoins?|btc|\$btc",
        "ETH": r"ethereum|ether|eth|\$eth",
        "XRP": r"xrp|ripple|\$xrp",
        "ADA": r"cardano|ada|\$ada",
        "SOL": r"solana|sol|\$sol",
        "DOGE": r"dogecoin|doge|\$doge",
        "BNB": r"bnb|\$bnb",
        "LTC": r"litecoin|ltc|\$ltc",
    }.items()
}
_SPACES = re.compile(r"\s+")


def normalise_title(title: str) -> str:
    """``title`` in Unicode NFC with runs of whitespace collapsed to one space, stripped."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(title))).strip()


def content_hash(title: str) -> str:
    """sha256 hex (32 chars) of ``normalise_title(title)``: the score cache key's text part."""
    return hashlib.sha256(normalise_title(title).encode("utf-8")).hexdigest()[:32]


def headline_id(published_at: pd.Timestamp, source: str, title: str) -> str:
    """sha256 hex (24 chars) of the UTC publication time (ISO), source and normalised title."""
    text = f"{pd.Timestamp(published_at).tz_convert('UTC').isoformat()}|{source}|" \
           f"{normalise_title(title)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def tag_currencies(title: str, given: Iterable[str] = ()) -> str:
    """Comma-joined sorted codes: ``given`` (the source's tags, upper-cased) plus every
    ``CURRENCY_PATTERNS`` code found in ``title``."""
    codes = {str(c).strip().upper() for c in given if str(c).strip()}
    codes |= {code for code, pattern in CURRENCY_PATTERNS.items() if pattern.search(title)}
    return ",".join(sorted(codes))


def has_currency(currencies: pd.Series, code: str) -> np.ndarray:
    """Boolean mask of the rows whose ``currencies`` (comma-joined) include ``code``."""
    code = code.upper()
    return currencies.fillna("").map(lambda s: code in s.split(",")).to_numpy(dtype=bool)


def empty_headlines() -> pd.DataFrame:
    """A headline frame with no rows (right columns and dtypes)."""
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in HEADLINE_COLUMNS})
    for column in (PUBLISHED_AT, AVAILABLE_AT):
        frame[column] = pd.Series(dtype="datetime64[ns, UTC]")
    frame[TEXTBLOB] = pd.Series(dtype="float64")
    return frame


class NewsProvider(AltDataProvider):
    """Base class of headline providers (see the module docstring).

    ``parse`` returns a frame with at least ``published_at`` (tz-aware or UTC-naive
    timestamps or ISO text), ``title`` and ``source``; optionally ``url``, ``currencies``
    (a list of codes per row, or comma-joined text) and ``textblob_polarity``. ``finalize``
    validates it into a headline frame.
    """

    columns: ClassVar[tuple[str, ...]] = ()
    #: A news source is "covering" while headlines keep arriving; the features decide that
    #: (``NewsConfig.coverage_gap_hours``). This is the same limit for the contract's sake.
    max_staleness: ClassVar[pd.Timedelta] = pd.Timedelta(hours=48)

    def empty(self) -> pd.DataFrame:
        """The headline frame that means "no headlines"."""
        return empty_headlines()

    def finalize(self, frame: pd.DataFrame, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Validate parsed rows into a headline frame (module docstring).

        Rows without a title or a parseable time are dropped (one warning); exact duplicates
        (same ``headline_id``) keep the first; rows outside ``[start, end]`` (UTC, on
        ``published_at``) are dropped.

        Raises:
            ProviderSchemaError: a required column is missing, or every row is malformed.
        """
        missing = [c for c in PARSED_REQUIRED if c not in frame.columns]
        if missing:
            raise ProviderSchemaError(
                f"{self.name}: field(s) {', '.join(map(repr, missing))} missing from the parsed "
                f"answer (got: {', '.join(map(str, frame.columns)) or 'none'}); see {self.docs_url}")
        if frame.empty:
            return self.empty()
        published = pd.to_datetime(frame[PUBLISHED_AT], errors="coerce", utc=True, format="mixed")
        titles = frame[TITLE].map(lambda t: normalise_title(t) if isinstance(t, str) else "")
        good = published.notna().to_numpy() & (titles != "").to_numpy()
        if not good.any():
            raise ProviderSchemaError(
                f"{self.name}: none of the {len(frame)} row(s) has a title and a valid "
                f"{PUBLISHED_AT!r}; see {self.docs_url}")
        if not good.all():
            bad = frame[~good].iloc[0].to_dict()
            logger.warning("%s: %d malformed row(s) dropped (no title or no valid %s), e.g. %s",
                           self.name, int((~good).sum()), PUBLISHED_AT,
                           {k: str(v)[:80] for k, v in bad.items()})
        rows = frame[good]
        published = published[good].dt.as_unit("ns")
        titles = titles[good]
        sources = rows[SOURCE].fillna("").astype(str).str.strip()
        given = rows[CURRENCIES] if CURRENCIES in rows.columns else pd.Series([()] * len(rows),
                                                                              index=rows.index)
        out = pd.DataFrame({
            PUBLISHED_AT: published.to_numpy(),
            TITLE: titles.to_numpy(),
            SOURCE: sources.to_numpy(),
            URL: [_url(u) for u in (rows[URL] if URL in rows.columns else [None] * len(rows))],
            CURRENCIES: [tag_currencies(t, _codes(g)) for t, g in zip(titles, given, strict=True)],
            PROVIDER: self.name,
            TEXTBLOB: (pd.to_numeric(rows[TEXTBLOB], errors="coerce").to_numpy(dtype="float64")
                       if TEXTBLOB in rows.columns else np.full(len(rows), np.nan)),
        })
        out[PUBLISHED_AT] = pd.to_datetime(out[PUBLISHED_AT], utc=True).dt.as_unit("ns")
        out[HEADLINE_ID] = [headline_id(p, s, t) for p, s, t in
                            zip(out[PUBLISHED_AT], out[SOURCE], out[TITLE], strict=True)]
        out[CONTENT_HASH] = out[TITLE].map(content_hash)
        duplicated = out[HEADLINE_ID].duplicated(keep="first")
        if duplicated.any():
            logger.info("%s: %d duplicated headline(s) dropped", self.name, int(duplicated.sum()))
            out = out[~duplicated]
        if start is not None:
            out = out[out[PUBLISHED_AT] >= start]
        if end is not None:
            out = out[out[PUBLISHED_AT] <= end]
        out[AVAILABLE_AT] = pd.DatetimeIndex(self.available_at(pd.DatetimeIndex(out[PUBLISHED_AT])))
        out = out.sort_values([PUBLISHED_AT, HEADLINE_ID], kind="stable").reset_index(drop=True)
        return out[list(HEADLINE_COLUMNS)]


def _codes(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [c for c in value.split(",") if c.strip()]
    return [str(c) for c in value]


def _url(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
