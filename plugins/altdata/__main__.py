"""CLI: fill the alternative-data cache.

    python -m plugins.altdata import-shared [DIR] [-c CONFIG ...]
        Load the real series shipped in DIR (default $SUITE_DATA_DIR, else ../shared/data)
        through each provider's own parser into the cache (what ``make data`` runs).
    python -m plugins.altdata download [--providers NAME ...] [--start DATE] [--end DATE]
        Fetch from the real APIs (internet; FRED by API with FRED_API_KEY, else its keyless CSV
        download; CryptoPanic needs CRYPTOPANIC_API_KEY), incrementally.
    python -m plugins.altdata sync [--bundle DIR] [--start DATE]
        What ``make data`` runs: ``import-shared`` from the bundle when there is one (DIR, else
        $SUITE_DATA_DIR, else ../shared/data when it exists; SUITE_DATA_DIR=none: no bundle);
        otherwise, a plain clone: the FOMC/CPI calendar kept in the repo
        (plugins/altdata/calendar_data, warns once it needs an update) and ``download`` of every
        enabled provider from its real API, keyless where the source allows it.
    Both also handle the news headlines (``plugins.altdata.news``) and score them offline.

Exit status 0 on success; 1 with a message when a provider fails, data is missing or a cache
file is corrupt; 2 for a bad command line (e.g. ``--start notadate``), with argparse's message.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import pandas as pd
from rich.progress import Progress

from plugins.altdata.cache import AltDataCache
from plugins.altdata.calendar import CPI_FILE, FOMC_FILE, install_shipped_calendar
from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import utc
from plugins.altdata.errors import AltDataError
from plugins.altdata.news.shipped import build_news_providers, download_news, import_shared_news
from plugins.altdata.registry import build_providers
from plugins.core.atomic import atomic_copy
from plugins.core.cli import ArgumentParser
from plugins.core.clock import SYSTEM_CLOCK
from plugins.core.config import SuiteConfigError, load_section
from plugins.marketdata.requirements import load_config

logger = logging.getLogger("plugins.altdata")
SHARED_CALENDAR = Path("macro/calendar")


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.altdata",
                            description="Fill the alternative-data cache (ai_suite.altdata.cache_dir).")
    parser.add_argument("-c", "--config", type=Path, action="append", default=None,
                        help="Freqtrade config(s) with an ai_suite section, repeatable "
                             "(default: config/base.json)")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-shared", help="load the shipped real series into the cache")
    imp.add_argument("bundle", nargs="?", type=Path, default=None,
                     help="the data bundle folder (default: $SUITE_DATA_DIR, else ../shared/data)")
    down = sub.add_parser("download", help="fetch from the real APIs into the cache")
    down.add_argument("--providers", nargs="+", default=None,
                      help="provider names, e.g. fear_greed fred (default: all enabled)")
    down.add_argument("--start", type=utc_date, default="2017-01-01",
                      help="UTC date (YYYY-MM-DD), used when nothing is cached")
    down.add_argument("--end", type=utc_date, default=None, help="UTC date (default: now)")
    sync = sub.add_parser("sync", help="the bundle if there is one, else the repo's calendar and "
                                       "the real APIs (make data)")
    sync.add_argument("--bundle", type=Path, default=None,
                      help="data bundle folder (default: $SUITE_DATA_DIR, else ../shared/data "
                           "when it exists; SUITE_DATA_DIR=none: no bundle)")
    sync.add_argument("--start", type=utc_date, default="2017-01-01",
                      help="without a bundle: first UTC date (YYYY-MM-DD) to download when "
                           "nothing is cached")
    return parser


def utc_date(text: str) -> pd.Timestamp:
    """A command-line date as a UTC ``Timestamp`` (naive = UTC).

    Raises:
        argparse.ArgumentTypeError: not a date; argparse then exits 2 naming the option, the
            value and the expected format (no traceback).
    """
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD (UTC), "
                                         "e.g. 2024-01-01")
    return utc(stamp)


#: ``SUITE_DATA_DIR`` value meaning "no bundle" (a plain clone; ``sync`` downloads).
NO_BUNDLE = "none"


def find_bundle(arg: Path | None) -> Path | None:
    """The bundle ``sync`` uses: ``arg``, else ``$SUITE_DATA_DIR`` (``none``: no bundle), else
    ``../shared/data`` when it exists; None = download. Same rule as ``plugins.marketdata``."""
    if arg is not None:
        return arg
    env = os.environ.get("SUITE_DATA_DIR")
    if env:
        return None if env.strip().lower() == NO_BUNDLE else Path(env)
    default = Path("../shared/data")
    return default if default.is_dir() else None


def _bundle(arg: Path | None) -> Path:
    path = arg or Path(os.environ.get("SUITE_DATA_DIR", "../shared/data"))
    if not path.is_dir():
        raise AltDataError(f"Data bundle {path} does not exist; pass its path or set "
                           "SUITE_DATA_DIR (default ../shared/data).")
    return path


def import_shared(bundle: Path, config: AltDataConfig) -> int:
    """Copy the FOMC/CPI calendars, then load every enabled provider's shipped series through
    its own parser into the cache; returns the number of providers loaded.

    Raises:
        AltDataError: a shipped file does not parse (``ProviderSchemaError``).
        FileNotFoundError: a calendar file is missing from the bundle.
    """
    cache = AltDataCache(config.cache_dir)
    # the calendar first: FRED's CPI publication times come from it
    for name in (FOMC_FILE, CPI_FILE):
        atomic_copy(bundle / SHARED_CALENDAR / name, cache.root / "calendar" / name)
    loaded = 0
    for provider in build_providers(config):
        try:
            raw = provider.wire_from_shared(bundle)
        except FileNotFoundError as err:
            logger.warning("%s: nothing shipped for it (%s); use `download`", provider.name, err)
            continue
        frame = provider.finalize(provider.parse(raw))
        cache.update(provider, frame)
        loaded += 1
        print(f"{provider.name:>16}: {len(frame):6d} observations "
              f"{frame.index.min():%Y-%m-%d} -> {frame.index.max():%Y-%m-%d}")
    return loaded


def download(cache: AltDataCache, providers: list, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Incrementally refresh each provider from its API, with a progress bar.

    Raises:
        AltDataError: the first provider that fails (the others are still attempted).
    """
    failures = []
    with Progress() as progress:
        task = progress.add_task("alt data", total=len(providers))
        for provider in providers:
            progress.update(task, description=provider.name)
            try:
                versions = cache.refresh(provider, end=end, start=start)
                progress.console.print(f"{provider.name}: {versions.index.nunique()} observations "
                                       f"({len(versions)} versions) cached")
            except AltDataError as err:
                failures.append(err)
                progress.console.print(f"[red]{provider.name}: {err}")
            progress.advance(task)
    if failures:
        raise failures[0]


def sync_download(config: AltDataConfig, cache: AltDataCache, start: pd.Timestamp,
                  now: pd.Timestamp) -> None:
    """``sync`` without a bundle: download every enabled provider. The feature providers
    (``config.feature_providers``: the strategies' inputs) must succeed; the others (e.g.
    Binance futures funding, which some regions block, and the news headlines, off in the
    features by default) only warn when their source fails, and age into stale.

    Raises:
        AltDataError: a feature provider failed (the others are still attempted).
    """
    providers = build_providers(config)
    features = [p for p in providers if p.name in config.feature_providers]
    optional = [p for p in providers if p.name not in config.feature_providers]
    failure: AltDataError | None = None
    try:
        download(cache, features, start, now)
    except AltDataError as err:
        failure = err
    for name, step in (("cached-only providers", lambda: download(cache, optional, start, now)),
                       ("news headlines", lambda: download_news(
                           config, build_news_providers(config), start, now, now))):
        try:
            step()
        except AltDataError as err:
            logger.warning("%s: %s (not a feature input by default; left stale)", name, err)
    if failure is not None:
        raise failure


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = load_section(load_config(args.config or [Path("config/base.json")]), "altdata",
                              AltDataConfig)
        cache = AltDataCache(config.cache_dir)
        now = pd.Timestamp(SYSTEM_CLOCK.now())
        bundle = find_bundle(args.bundle) if args.command == "sync" else None
        if args.command == "import-shared" or bundle is not None:
            bundle = _bundle(args.bundle or bundle)
            count = import_shared(bundle, config)
            news = import_shared_news(bundle, config, now)
            print(f"Alt data: {count} providers, {news} news providers and the FOMC/CPI calendar "
                  f"in {cache.root}")
        elif args.command == "sync":
            print("No data bundle (SUITE_DATA_DIR unset or none, ../shared/data absent): the "
                  "FOMC/CPI calendar kept in the repo, the rest from the providers' APIs.")
            install_shipped_calendar(cache.root / "calendar", now.date())
            sync_download(config, cache, args.start, now)
            print(f"Alt data downloaded into {cache.root}")
        else:
            providers = build_providers(config)
            news_providers = build_news_providers(config)
            if args.providers:
                known = [p.name for p in [*providers, *news_providers]]
                unknown = set(args.providers) - set(known)
                if unknown:
                    raise AltDataError(f"Unknown or disabled providers: {', '.join(sorted(unknown))}"
                                       f"; known: {', '.join(known)}")
                providers = [p for p in providers if p.name in args.providers]
                news_providers = [p for p in news_providers if p.name in args.providers]
            end = args.end if args.end is not None else now
            if providers:
                download(cache, providers, args.start, end)
            download_news(config, news_providers, args.start, end, now)
    except (AltDataError, SuiteConfigError, FileNotFoundError) as err:
        print(f"altdata: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
