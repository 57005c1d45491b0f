"""What strategies call: alternative-data features merged point-in-time onto candles.

One object, one code path for backtesting, FreqAI training and dry-run/live: it holds the
latest provider frames (loaded from the cache; in dry-run/live kept fresh by
``live.LiveRefresher``) and merges their derived features onto any candle frame with
``merge.merge_point_in_time``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pandas as pd
from freqtrade.exchange import timeframe_to_minutes

from plugins.altdata.cache import AltDataCache
from plugins.altdata.calendar import CPI, FOMC, EventCalendar
from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AVAILABLE_AT, FIRST_AVAILABLE_AT, AltDataProvider
from plugins.altdata.errors import CacheCorruptError
from plugins.altdata.feature_sets import derive_features, lookback, sources
from plugins.altdata.merge import merge_point_in_time
from plugins.altdata.registry import build_providers
from plugins.altdata.versions import as_known_timeline, value_columns

logger = logging.getLogger(__name__)

#: Column set to 1 where any feature provider is stale (no fresh value at the candle close).
ANY_STALE = "altdata_stale"
BLACKOUT = "calendar_blackout"
#: Calendar distances are clipped to this many hours, so far-away events look alike.
CALENDAR_CLIP_HOURS = 24 * 14


class AltDataFeatures:
    """Alternative-data features for a strategy.

    Args:
        config: ``ai_suite.altdata``.
        providers: the providers (default: ``build_providers(config)``).
        calendar: the event calendar (default: read from ``<cache_dir>/calendar`` when
            ``config.calendar``).
        blackout_before_min / blackout_after_min: the news blackout window of
            ``calendar_blackout`` (minutes before / after an FOMC decision or CPI release; the
            risk guard's ``ai_suite.risk`` values, passed in by the strategy).

    A provider whose cache file is missing or corrupt (``CacheCorruptError``, logged with the
    file and the fix) starts empty: its features are NaN and flagged stale, never a crash.
    """

    def __init__(self, config: AltDataConfig, providers: list[AltDataProvider] | None = None,
                 calendar: EventCalendar | None = None, *, blackout_before_min: float,
                 blackout_after_min: float) -> None:
        self.config = config
        self.blackout_min = (blackout_before_min, blackout_after_min)
        self.cache = AltDataCache(config.cache_dir)
        self.providers = {p.name: p for p in (providers or build_providers(config))}
        self.shift = pd.Timedelta(days=config.replay_shift_days)
        if calendar is None and config.calendar:
            calendar = EventCalendar.from_dir(config.cache_dir / "calendar")
        if calendar is not None and self.shift:
            calendar = EventCalendar(calendar.events.assign(
                event_at=calendar.events["event_at"] + self.shift))
        self.calendar = calendar
        self._lock = threading.Lock()
        self._derived: dict[str, pd.DataFrame] = {}
        for name in self.feature_providers:
            try:
                frame = self.cache.read_versions(self.providers[name])
            except CacheCorruptError as err:
                logger.error("%s: its features are NaN (stale: no new entries that need them) "
                             "until the cache is repaired. %s", name, err)
                frame = self.providers[name].empty()
            if frame is None:
                logger.warning("No cached %s data in %s: its features are NaN (stale) until a "
                               "refresh succeeds; run `python -m plugins.altdata import-shared` "
                               "or `download`", name, config.cache_dir)
                frame = self.providers[name].empty()
            self.set_frame(name, frame)

    @property
    def feature_providers(self) -> list[str]:
        """Enabled providers that contribute features, in config order."""
        return [n for n in self.config.feature_providers if n in self.providers]

    def set_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Replace provider ``name``'s series (called by the live refresher; thread-safe).

        ``frame`` is the cache's versions frame (``AltDataCache.read_versions`` / ``refresh``)
        or a provider frame (one version of each observation). The derived features are kept
        as an as-known timeline (``versions.as_known_timeline``): each feature as computed
        from the series known at each moment, revisions included only from when known."""
        derived = as_known_timeline(frame, lambda known: derive_features(name, known),
                                    lookback=lookback(name), counted=sources(name))
        if self.shift:
            derived = derived.set_axis(derived.index + self.shift)
            derived[AVAILABLE_AT] = derived[AVAILABLE_AT] + self.shift
            derived[FIRST_AVAILABLE_AT] = derived[FIRST_AVAILABLE_AT] + self.shift
        with self._lock:
            self._derived[name] = derived

    def derived(self, name: str, known_at: pd.Timestamp | None = None) -> pd.DataFrame:
        """The derived features of provider ``name`` (``feature_sets.derive_features``) as an
        as-known timeline (``versions.as_known_timeline``: index ``observed_at``, one float64
        column per feature, ``available_at``, ``first_available_at``), limited to rows known
        by ``known_at`` (UTC) when given."""
        with self._lock:
            frame = self._derived[name]
        if known_at is not None:
            frame = frame[frame[AVAILABLE_AT] <= known_at]
        return frame

    def max_staleness(self, name: str) -> pd.Timedelta:
        """Staleness limit of provider ``name`` (config override, else its default)."""
        hours = self.config.settings(name).max_staleness_hours
        return pd.Timedelta(hours=hours) if hours else self.providers[name].max_staleness

    def add_features(self, candles: pd.DataFrame, timeframe: str,
                     feature_prefix: str = "%-") -> pd.DataFrame:
        """Merge every feature provider and the calendar onto ``candles``.

        Args:
            candles: Freqtrade candle frame (``date`` = candle open time, UTC).
            timeframe: its timeframe (``1h``).
            feature_prefix: prefix of feature columns; ``%-`` makes them FreqAI features.

        Returns:
            ``candles`` plus ``{feature_prefix}{provider}_{feature}`` (float64, NaN when
            stale), ``{provider}_stale`` (int8), ``altdata_stale`` (int8, 1 if any provider is
            stale) and, with the calendar, ``{feature_prefix}calendar_hours_to_fomc`` /
            ``_to_cpi`` / ``_since_fomc`` / ``_since_cpi`` (float64, hours, clipped at 14
            days) and ``calendar_blackout`` (int8). Same rows and index.
        """
        # Only what was published by the last candle's close exists for this frame. A no-op for
        # the point-in-time merge, but it makes a backtest that ends earlier see exactly what a
        # bot would have seen then, so `freqtrade lookahead-analysis` catches a leaky merge.
        known_at = candles["date"].max() + pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
        parts = []
        for name in self.feature_providers:
            frame = self.derived(name, known_at)
            merged = merge_point_in_time(candles, frame, timeframe=timeframe, prefix=name,
                                         max_staleness=self.max_staleness(name))
            renames = {f"{name}_{c}": f"{feature_prefix}{name}_{c}"
                       for c in value_columns(frame)}
            parts.append(merged.drop(columns=[f"{name}_age_hours"]).rename(columns=renames))
        stale = [p.filter(regex="_stale$") for p in parts]
        any_stale = (pd.concat(stale, axis=1).max(axis=1) if stale
                     else pd.Series(0, index=candles.index))
        parts.append(pd.DataFrame({ANY_STALE: any_stale.astype("int8")}, index=candles.index))
        if self.calendar is not None:
            parts.append(self._calendar_columns(candles, timeframe, feature_prefix))
        out = pd.concat([candles, *parts], axis=1)
        # called twice on one frame (features, then plain columns): the later flags win
        return out.loc[:, ~out.columns.duplicated(keep="last")]

    def _calendar_columns(self, candles: pd.DataFrame, timeframe: str,
                          prefix: str) -> pd.DataFrame:
        close = candles["date"] + pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
        out = pd.DataFrame(index=candles.index)
        for kind in (FOMC, CPI):
            to_next = self.calendar.minutes_to_next_event(close, (kind,)) / 60
            since = self.calendar.minutes_since_last_event(close, (kind,)) / 60
            out[f"{prefix}calendar_hours_to_{kind.lower()}"] = to_next.clip(upper=CALENDAR_CLIP_HOURS)
            out[f"{prefix}calendar_hours_since_{kind.lower()}"] = since.clip(
                upper=CALENDAR_CLIP_HOURS)
        out[BLACKOUT] = self.calendar.in_blackout(close, *self.blackout_min).astype("int8")
        return out


def default_cache_dir(user_data_dir: Path | str) -> Path:
    """``<user_data_dir>/altdata``."""
    return Path(user_data_dir) / "altdata"
