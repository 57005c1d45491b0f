"""Live refresh: each provider refreshed on its own schedule, in a background thread.

The bot loop never waits for a source: strategies read the latest frames held by
``AltDataFeatures``; this thread refreshes the cache (``AltDataCache.refresh``) and swaps new
frames in. A failure is logged once per incident (again only after a success), the old values
stay and age, and the merge marks them stale once older than the provider's limit, so the
strategy stops entries that need them. Used only in dry-run/live; backtests read the cache.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pandas as pd

from plugins.altdata.errors import AltDataError, ProviderSchemaError
from plugins.altdata.features import AltDataFeatures

logger = logging.getLogger(__name__)


def utc_now() -> pd.Timestamp:
    """Wall clock, UTC."""
    return pd.Timestamp.now(tz="UTC")


class LiveRefresher:
    """Refreshes the providers of ``features`` when each is due.

    Args:
        features: the strategy's features object (its providers and cache).
        drift: optional ``DriftMonitor`` fed with every refreshed feature frame.
        now: injected clock returning a UTC ``Timestamp``.
        tick_s: how often the thread looks for due providers, in seconds.
    """

    def __init__(self, features: AltDataFeatures, drift=None,
                 now: Callable[[], pd.Timestamp] = utc_now, tick_s: float = 30.0) -> None:
        self.features = features
        self.drift = drift
        self.now = now
        self.tick_s = tick_s
        self._next_due: dict[str, pd.Timestamp] = {}
        self.incidents: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh_due(self) -> list[str]:
        """Refresh every provider whose time has come; returns the names refreshed OK."""
        now = self.now()
        done = []
        for name, provider in self.features.providers.items():
            if now < self._next_due.get(name, now):
                continue
            self._next_due[name] = now + provider.refresh_interval
            try:
                frame = self.features.cache.refresh(provider, end=now, known_at=now)
            except AltDataError as err:
                if name not in self.incidents:
                    logger.warning("Alt-data refresh of %s failed; keeping cached values, which "
                                   "go stale after %s: %s", name,
                                   self.features.max_staleness(name), err)
                    if self.drift is not None and isinstance(err, ProviderSchemaError):
                        self.drift.record_schema_error(name, err)
                self.incidents[name] = str(err)
                continue
            if self.incidents.pop(name, None) is not None:
                logger.info("Alt-data refresh of %s recovered", name)
            if name in self.features.feature_providers:
                self.features.set_frame(name, frame)
                if self.drift is not None:
                    self.drift.check(name, self.features.derived(name))
            done.append(name)
        return done

    def start(self) -> None:
        """Run ``refresh_due`` every ``tick_s`` seconds in a daemon thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="altdata-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (waits up to 5 s for a refresh in progress; the thread is a daemon)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh_due()
            except Exception:  # noqa: BLE001 - the thread must survive; classified and logged
                logger.exception("Alt-data refresh loop error; retrying in %.0f s", self.tick_s)
            self._stop.wait(self.tick_s)
