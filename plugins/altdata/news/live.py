"""Live news refresh (dry-run/live only): each headline provider polled on its own interval in a
background thread; new headlines stored, scored, and swapped into ``NewsFeatures``.

The bot loop never waits for a source. A failure is logged once per incident (again only after
a success); the stored headlines stay, and once the newest is older than
``coverage_gap_hours`` the features turn NaN (no coverage: FreqAI makes no prediction, no entry).
Backtests never run this: they read the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pandas as pd

from plugins.altdata.errors import AltDataError
from plugins.altdata.news.features import NewsFeatures
from plugins.altdata.news.schema import PUBLISHED_AT, NewsProvider

logger = logging.getLogger(__name__)

#: Each poll asks from the newest stored headline minus this (late-listed posts; duplicates are
#: dropped by the append-only store); with nothing stored, from ``FIRST_POLL`` back.
POLL_OVERLAP = pd.Timedelta(hours=6)
FIRST_POLL = pd.Timedelta(days=7)


class NewsRefresher:
    """Polls ``providers`` when due and refreshes ``features``.

    Args:
        features: the strategy's news features (store, scorer, frames).
        providers: headline providers to poll (``shipped.build_news_providers``).
        now: injected clock returning a UTC ``Timestamp``.
        tick_s: how often the thread looks for due providers, in seconds.
    """

    def __init__(self, features: NewsFeatures, providers: list[NewsProvider],
                 now: Callable[[], pd.Timestamp], tick_s: float = 30.0) -> None:
        self.features = features
        self.providers = providers
        self.now = now
        self.tick_s = tick_s
        self.incidents: dict[str, str] = {}
        self._next_due: dict[str, pd.Timestamp] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh_due(self) -> list[str]:
        """Poll every provider whose time has come, then rescore and reload if any succeeded;
        returns the names polled OK."""
        now = self.now()
        done = []
        for provider in self.providers:
            if now < self._next_due.get(provider.name, now):
                continue
            self._next_due[provider.name] = now + provider.refresh_interval
            try:
                stored = self.features.store.read(provider.name)
                since = (stored[PUBLISHED_AT].max() - POLL_OVERLAP if len(stored)
                         else now - FIRST_POLL)
                frame = provider.fetch(since, now)
                self.features.store.update(provider.name, frame)
            except AltDataError as err:
                if provider.name not in self.incidents:
                    logger.warning("News refresh of %s failed; its headlines age and the news "
                                   "features turn NaN after the coverage gap: %s", provider.name, err)
                self.incidents[provider.name] = str(err)
                continue
            if self.incidents.pop(provider.name, None) is not None:
                logger.info("News refresh of %s recovered", provider.name)
            done.append(provider.name)
        if done:
            self.features.reload(now)
        return done

    def start(self) -> None:
        """Run ``refresh_due`` every ``tick_s`` seconds in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="news-refresh", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread (waits up to 5 s for a poll in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh_due()
            except Exception:  # noqa: BLE001 - the thread must survive; logged with traceback
                logger.exception("News refresh loop error; retrying in %.0f s", self.tick_s)
            self._stop.wait(self.tick_s)
