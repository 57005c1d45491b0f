"""Point-in-time news features per pair and candle, and the object strategies call.

A headline is *visible* on a candle when ``available_at + processing lag`` is strictly before
the candle's close (``date + timeframe``; Freqtrade labels a candle with its open time and a
strategy acts after its close, as ``merge`` explains). Every feature at a candle uses visible
headlines only, so it is the same in a backtest and in a bot that ran then.

Coverage: a candle is *covered* when the newest visible headline (any source) is at most
``coverage_gap_hours`` old. The shipped files cover 2021-10 -> 2022-07 and 2024-08 -> 2025-02
with gaps; a live bot covers from when it started polling. Outside coverage every feature is
NaN - "we do not know", never 0 ("nothing happened"), which FreqAI then treats as missing
(no prediction, no entry on that candle).

Columns (float64; ``W`` = ``window_hours``; ``pair_`` = headlines tagged with the pair's base
currency, ``schema.tag_currencies``):

- ``news_count`` / ``news_pair_count``: headlines visible in the last ``W`` hours;
- ``news_sent_mean`` / ``news_pair_sent_mean``: mean score of the scored ones among them
  (NaN when there is none: the mean of nothing is undefined);
- ``news_sent_decay`` / ``news_pair_sent_decay``: exponentially decayed mean score, half-life
  ``half_life_hours``, over every visible scored headline: ``sum(w_i s_i) / (sum(w_i) +
  prior_weight)`` with ``w_i = 2 ** (-age_i / half_life)`` - a quiet spell decays toward
  neutral (0) instead of dividing by a vanishing weight;
- ``news_intensity`` / ``news_pair_intensity``: ``log((1 + count of the last 24 h) / (1 +
  median of the 24 h counts of the last intensity_days days))``, the days counted only where
  covered (NaN below ``min_intensity_days`` covered days): 0 = a usual day, +0.69 = twice;
- ``news_covered`` (int8): 1 where covered (a flag, not a feature).

The sentiment columns are also NaN where no *scored* headline (any pair) is visible within
``coverage_gap_hours``: a scorer that abstains (an LLM over budget, unreachable, refusing)
leaves no sentiment features, never a neutral 0.

``FREQAI_COLUMNS`` are the FreqAI feature group: the ones defined on every covered candle
(counts, decayed sentiment, intensity); the window means are NaN on quiet windows and would
stop predictions there, so the group leaves them out (the bench measures them all).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from freqtrade.exchange import timeframe_to_minutes

from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.errors import CacheCorruptError, ProviderConfigError
from plugins.altdata.news.config import NewsConfig
from plugins.altdata.news.schema import CURRENCIES, SCORE, empty_headlines, has_currency
from plugins.altdata.news.scoring import HeadlineScorer, VaderScorer, score_headlines
from plugins.altdata.news.store import NewsStore, ScoreCache

logger = logging.getLogger(__name__)

COVERED = "news_covered"
FEATURES = ("news_count", "news_sent_mean", "news_sent_decay", "news_intensity",
            "news_pair_count", "news_pair_sent_mean", "news_pair_sent_decay",
            "news_pair_intensity")
FREQAI_COLUMNS = ("news_count", "news_sent_decay", "news_intensity", "news_pair_count",
                  "news_pair_sent_decay", "news_pair_intensity")
DAY = pd.Timedelta(days=1)
NO_SHIFT = pd.Timedelta(0)


def _ns(values) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds."""
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("ns").asi8


def _count_before(times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """How many of the sorted ``times`` are strictly before each of ``at``."""
    return np.searchsorted(times, at, side="left")


def _covered(visible: np.ndarray, at: np.ndarray, gap_ns: int) -> np.ndarray:
    """True where the newest of ``visible`` (sorted ns) strictly before ``at`` is <= gap old."""
    idx = _count_before(visible, at) - 1
    newest = np.where(idx >= 0, visible[np.clip(idx, 0, None)] if len(visible) else 0, 0)
    return (idx >= 0) & (at - newest <= gap_ns)


def _window_counts(visible: np.ndarray, at: np.ndarray, width_ns: int) -> np.ndarray:
    return (_count_before(visible, at) - _count_before(visible, at - width_ns)).astype("float64")


def _decayed(visible: np.ndarray, scores: np.ndarray, at: np.ndarray, half_life_ns: float,
             prior: float) -> np.ndarray:
    """``sum(w s) / (sum(w) + prior)`` at each of ``at`` over the scored headlines visible
    strictly before it (``visible`` sorted ns, ``scores`` finite)."""
    if len(visible) == 0:
        return np.zeros(len(at))
    rate = np.log(2.0) / half_life_ns
    s_state = np.empty(len(visible))
    w_state = np.empty(len(visible))
    s = w = 0.0
    last = visible[0]
    for k, (t, value) in enumerate(zip(visible, scores, strict=True)):
        factor = np.exp(-rate * float(t - last))
        s, w, last = s * factor + value, w * factor + 1.0, t
        s_state[k], w_state[k] = s, w
    idx = _count_before(visible, at) - 1
    has = idx >= 0
    j = np.clip(idx, 0, None)
    factor = np.exp(-rate * (at - visible[j]).astype("float64"))
    num = np.where(has, s_state[j] * factor, 0.0)
    den = np.where(has, w_state[j] * factor, 0.0) + prior
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _group(visible: np.ndarray, scores: np.ndarray, close: np.ndarray, covered_at: Callable,
           scored_recently: np.ndarray, cfg: NewsConfig) -> dict[str, np.ndarray]:
    """count / sent_mean / sent_decay / intensity of one group of headlines (sorted);
    sentiment NaN where ``scored_recently`` is False."""
    width = int(cfg.window_hours * 3.6e12)
    scored = np.isfinite(scores)
    s_times, s_values = visible[scored], scores[scored]
    count = _window_counts(visible, close, width)
    cum = np.concatenate([[0.0], np.cumsum(s_values)])
    hi, lo = _count_before(s_times, close), _count_before(s_times, close - width)
    n_scored = (hi - lo).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_scored > 0, (cum[hi] - cum[lo]) / n_scored, np.nan)
    decay = _decayed(s_times, s_values, close, cfg.half_life_hours * 3.6e12, cfg.prior_weight)
    mean = np.where(scored_recently, mean, np.nan)
    decay = np.where(scored_recently, decay, np.nan)
    day = int(DAY.value)
    today = _window_counts(visible, close, day)
    days = np.stack([_window_counts(visible, close - k * day, day)
                     for k in range(cfg.intensity_days)])
    days_covered = np.stack([covered_at(close - k * day) for k in range(cfg.intensity_days)])
    days = np.where(days_covered, days, np.nan)
    enough = days_covered.sum(axis=0) >= cfg.min_intensity_days
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(days, axis=0)
    intensity = np.where(enough, np.log1p(today) - np.log1p(median), np.nan)
    return {"count": count, "sent_mean": mean, "sent_decay": decay, "intensity": intensity}


def news_features(candles: pd.DataFrame, headlines: pd.DataFrame, *, timeframe: str, pair: str,
                  config: NewsConfig) -> pd.DataFrame:
    """The news features (module docstring) of ``pair`` on ``candles``.

    Args:
        candles: Freqtrade candles with ``date`` (open time, UTC); the index is kept.
        headlines: headline frame (``schema``) with a ``score`` column (float64, NaN =
            unscored); any order; may be empty.
        timeframe: the candles' timeframe (``1h``).
        pair: ``BASE/QUOTE``; its base selects the ``pair_`` headlines.
        config: windows, lag, coverage.

    Returns:
        A frame with ``candles``' index: ``FEATURES`` (float64, NaN where not covered) and
        ``news_covered`` (int8).
    """
    close = _ns(candles["date"]) + int(timeframe_to_minutes(timeframe)) * 60 * 10**9
    lag = int(config.processing_lag_minutes * 6e10)
    frame = headlines if not headlines.empty else empty_headlines().assign(**{SCORE: []})
    frame = frame.sort_values(AVAILABLE_AT, kind="stable")
    visible = _ns(frame[AVAILABLE_AT]) + lag
    scores = frame[SCORE].to_numpy(dtype="float64") if SCORE in frame else np.full(len(frame), np.nan)
    gap = int(config.coverage_gap_hours * 3.6e12)

    def covered_at(at: np.ndarray) -> np.ndarray:
        return _covered(visible, at, gap)

    covered = covered_at(close)
    scored = np.isfinite(scores)
    scored_recently = _covered(visible[scored], close, gap)
    base = pair.split("/")[0].upper()
    mine = has_currency(frame[CURRENCIES], base) if len(frame) else np.zeros(0, dtype=bool)
    out = pd.DataFrame(index=candles.index)
    for prefix, (times, values) in (("news_", (visible, scores)),
                                    ("news_pair_", (visible[mine], scores[mine]))):
        for name, column in _group(times, values, close, covered_at, scored_recently,
                                         config).items():
            out[f"{prefix}{name}"] = np.where(covered, column, np.nan)
    out[COVERED] = covered.astype("int8")
    return out[[*FEATURES, COVERED]]


class NewsFeatures:
    """News features for a strategy: headlines from the store, scores from the cache.

    Args:
        config: ``ai_suite.altdata.news``.
        cache_dir: the alternative-data cache (headlines under ``<cache_dir>/news``).
        scorer: the scorer for titles the cache has not scored yet; default ``VaderScorer``
            with ``scorer: vader``. With ``scorer: llm`` pass ``plugins.llm``'s scorer, or
            ``scorer_version`` alone to read recorded scores only (a backtest makes no call).
        scorer_version: the version whose cached scores are read (default ``scorer.version``).
        shift: shift every headline this much later (replay dry-runs only; as
            ``AltDataConfig.replay_shift_days``).

    Raises:
        ProviderConfigError: ``scorer: llm`` with neither ``scorer`` nor ``scorer_version``.
    """

    def __init__(self, config: NewsConfig, cache_dir: Path, *, scorer: HeadlineScorer | None = None,
                 scorer_version: str | None = None, shift: pd.Timedelta = NO_SHIFT) -> None:
        if scorer is None and config.scorer == "vader":
            scorer = VaderScorer()
        if scorer is None and scorer_version is None:
            raise ProviderConfigError(
                "ai_suite.altdata.news.scorer is 'llm' but no LLM scorer was given; build "
                "plugins.llm.news_scorer.LlmHeadlineScorer or set scorer to 'vader'")
        self.config = config
        self.scorer = scorer
        self.scorer_version = scorer_version or scorer.version
        self.store = NewsStore(Path(cache_dir) / "news")
        self.scores = ScoreCache(Path(cache_dir) / "news")
        self.shift = shift
        self._lock = threading.Lock()
        self._scored = empty_headlines().assign(**{SCORE: pd.Series(dtype="float64")})

    def reload(self, now: pd.Timestamp, *, score_missing: bool = True) -> pd.DataFrame:
        """Read the stored headlines, score what is not scored yet (with ``score_missing``
        and a scorer; scored at ``now``), keep them; returns them. A corrupt file is logged
        and its provider counts as having no headlines (NaN features: no coverage).
        """
        try:
            headlines = self.store.read_all(self.config.providers)
            scores = score_headlines(headlines, self.scorer if score_missing else None,
                                     self.scores, self.scorer_version, now)
        except CacheCorruptError as err:
            logger.error("News features are NaN (no coverage) until the cache is repaired: %s", err)
            headlines, scores = empty_headlines(), pd.Series(dtype="float64")
        scored = headlines.assign(**{SCORE: scores.to_numpy(dtype="float64")})
        if self.shift:
            scored[AVAILABLE_AT] = scored[AVAILABLE_AT] + self.shift
        with self._lock:
            self._scored = scored
        return scored

    def headlines(self, known_at: pd.Timestamp | None = None) -> pd.DataFrame:
        """The scored headlines (``score`` column), those with ``available_at`` <= ``known_at``
        when given."""
        with self._lock:
            frame = self._scored
        if known_at is not None:
            frame = frame[frame[AVAILABLE_AT] <= known_at]
        return frame

    def add_features(self, candles: pd.DataFrame, timeframe: str, pair: str,
                     feature_prefix: str = "%-", columns: tuple[str, ...] = FREQAI_COLUMNS
                     ) -> pd.DataFrame:
        """``candles`` plus ``{feature_prefix}<column>`` for ``columns`` and ``news_covered``
        (module docstring). Only headlines known by the last candle's close are used (as
        ``AltDataFeatures.add_features``: a backtest ending earlier sees what a bot saw)."""
        known_at = candles["date"].max() + pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
        features = news_features(candles, self.headlines(known_at), timeframe=timeframe,
                                 pair=pair, config=self.config)
        renamed = features[list(columns)].rename(columns=lambda c: f"{feature_prefix}{c}")
        out = pd.concat([candles, renamed, features[[COVERED]]], axis=1)
        return out.loc[:, ~out.columns.duplicated(keep="last")]
