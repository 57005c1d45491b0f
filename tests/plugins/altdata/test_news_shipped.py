"""The shipped headline files through their providers' own parsers (``wire_from_shared`` ->
``parse`` -> ``finalize``), checked against PROVENANCE.md: row counts, UTC conversion on known
events, the dropped rows, and that vote counts never survive; ``import-shared`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from plugins.altdata.__main__ import main
from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.news.schema import (
    CURRENCIES,
    HEADLINE_COLUMNS,
    PUBLISHED_AT,
    SOURCE,
    TEXTBLOB,
    TITLE,
    URL,
)
from plugins.altdata.news.store import NewsStore, ScoreCache
from plugins.altdata.providers.cryptopanic import CryptoPanicProvider
from plugins.altdata.providers.rss import RssNewsProvider
from tests.conftest import bundle_dir

UTC = "UTC"


@pytest.fixture(scope="module")
def cryptopanic_wire() -> dict:
    return CryptoPanicProvider(api_key="unused-key-000").wire_from_shared(bundle_dir())


@pytest.fixture(scope="module")
def cryptopanic() -> pd.DataFrame:
    provider = CryptoPanicProvider(api_key="unused-key-000")
    return provider.finalize(provider.parse(provider.wire_from_shared(bundle_dir())))


@pytest.fixture(scope="module")
def rss_wire() -> dict:
    return RssNewsProvider().wire_from_shared(bundle_dir())


@pytest.fixture(scope="module")
def rss(rss_wire) -> pd.DataFrame:
    provider = RssNewsProvider()
    return provider.finalize(provider.parse(rss_wire))


def row(frame: pd.DataFrame, words: str) -> pd.Series:
    hits = frame[frame[TITLE].str.contains(words, regex=False)]
    assert len(hits) >= 1, words
    return hits.sort_values(PUBLISHED_AT).iloc[0]


def test_parse_when_cryptopanic_file_then_996_rows_less_6_exact_duplicates(cryptopanic_wire,
                                                                          cryptopanic):
    assert len(cryptopanic_wire["results"]) == 996  # PROVENANCE.md: 996 rows
    assert len(cryptopanic) == 990  # 6 exact duplicates (infinite-scroll overlap)
    assert list(cryptopanic.columns) == list(HEADLINE_COLUMNS)
    assert cryptopanic[PUBLISHED_AT].min() == pd.Timestamp("2024-08-28 08:09:37", tz=UTC)
    assert cryptopanic[PUBLISHED_AT].max() == pd.Timestamp("2025-02-07 14:30:00", tz=UTC)


def test_parse_when_cet_cest_times_then_utc_on_fed_decision_and_election(cryptopanic):
    fed = row(cryptopanic, "Fed makes aggressive 50 bps cut")  # FOMC 2024-09-18, 18:00 UTC
    assert fed[PUBLISHED_AT] == pd.Timestamp("2024-09-18 18:00:58", tz=UTC)  # 20:00:58 CEST
    assert fed[SOURCE] == "cryptobriefing.com"
    trump = row(cryptopanic, "officially elected")  # AP's call about 10:34 UTC, 2024-11-06
    assert trump[PUBLISHED_AT] == pd.Timestamp("2024-11-06 10:42:08", tz=UTC)  # 11:42:08 CET
    assert str(cryptopanic[PUBLISHED_AT].dt.tz) == UTC


def test_parse_when_cryptopanic_votes_in_wire_then_never_in_the_frame(cryptopanic_wire, cryptopanic):
    assert all("votes" in r and r["votes"] for r in cryptopanic_wire["results"][:50])
    assert not [c for c in cryptopanic.columns if "vote" in c.lower()]
    assert cryptopanic[TEXTBLOB].isna().all() and cryptopanic[URL].isna().all()


def test_parse_when_rss_file_then_7524_rows_less_28_without_title_and_2_reposts(rss_wire, rss):
    items = sum(text.count("<item>") for text in rss_wire.values())
    assert items == 7524  # PROVENANCE.md: 7,524 rows
    assert len(rss) == 7524 - 28 - 2  # 28 empty titles; 2 same time/outlet/title, other URL
    assert set(rss[SOURCE]) == {"cointelegraph.com", "cryptonews.com", "cryptopotato.com"}
    assert rss[PUBLISHED_AT].min() == pd.Timestamp("2021-10-12 20:00", tz=UTC)
    # the last timed row; a date-only row of that day sits at 23:59 (see the midnight test)
    assert rss[PUBLISHED_AT].max() == pd.Timestamp("2022-07-05 23:59", tz=UTC)
    assert rss[PUBLISHED_AT].iloc[-2] == pd.Timestamp("2022-07-05 04:24", tz=UTC)


def test_parse_when_semicolon_day_first_dates_then_utc_on_fomc_2022_03_16(rss):
    fed = row(rss, "Fed Raises Interest Rate by 25 Basis Points")  # decision 18:00 UTC
    assert fed[PUBLISHED_AT] == pd.Timestamp("2022-03-16 18:00", tz=UTC)
    cpi = row(rss, "US Inflation for May Hits 8.6%")  # CPI release 2022-06-10 12:30 UTC
    assert cpi[PUBLISHED_AT] == pd.Timestamp("2022-06-10 12:34", tz=UTC)
    assert (rss[AVAILABLE_AT] - rss[PUBLISHED_AT] == pd.Timedelta(minutes=5)).all()


def test_parse_when_stamped_exactly_midnight_then_moved_to_the_days_last_minute(rss):
    # "5-7-2022 00:00" in the file: a date without a time
    listing = row(rss, "Crypto Listing and Delisting Announcements: Week 27")
    assert listing[PUBLISHED_AT] == pd.Timestamp("2022-07-05 23:59", tz=UTC)
    minutes = rss[PUBLISHED_AT].dt.hour * 60 + rss[PUBLISHED_AT].dt.minute
    assert (minutes == 0).sum() == 0


def test_parse_when_rss_file_then_textblob_kept_as_cross_check_and_currencies_tagged(rss):
    assert rss[TEXTBLOB].notna().all()
    assert rss[TEXTBLOB].between(-1, 1).all()
    assert (rss[CURRENCIES].str.contains("BTC")).sum() > 2000  # subject 'bitcoin' and titles
    assert rss[URL].notna().sum() == len(rss) - 32  # 60 empty URLs, 28 of them without title


def test_import_shared_when_run_then_headlines_stored_and_scored_once(tmp_path, capsys):
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"ai_suite": {"altdata": {
        "cache_dir": str(tmp_path / "altdata"), "calendar": True}}}))

    assert main(["-c", str(config_file), "import-shared", str(bundle_dir())]) == 0

    out = capsys.readouterr().out
    assert "cryptopanic:    990 headlines 2024-08-28 -> 2025-02-07" in out
    assert "rss:   7494 headlines 2021-10-12 -> 2022-07-05" in out
    config = AltDataConfig(cache_dir=tmp_path / "altdata")
    store = NewsStore(config.cache_dir / "news")
    headlines = store.read_all(config.news.providers)
    scores = ScoreCache(config.cache_dir / "news")
    from plugins.altdata.news.scoring import VaderScorer

    values = scores.get(VaderScorer().version, headlines["content_hash"].unique())
    assert values.notna().all() and np.isfinite(values).all()
    mtime = scores.path.stat().st_mtime_ns

    assert main(["-c", str(config_file), "import-shared", str(bundle_dir())]) == 0

    assert scores.path.stat().st_mtime_ns == mtime  # nothing new to score: not rewritten
    assert len(store.read("cryptopanic")) == 990  # append-only: no duplicates on a re-run
