"""The weekly review on a schedule: at ``ai_suite.llm.weekly_review``'s weekday and time (UTC)
a running bot reviews its own last week, whatever the strategy: a strategy tree gets the tree
review (``/review``), any other strategy (RegimeMoE, the FreqAI baselines) the settings review
of ``plugins.llm.config_review`` with its regime and expert diagnostics. Proposals are files
for a human (a tree proposal approved with ``/approve``, a settings diff applied by hand);
nothing is applied by itself. The result (or why there is none) is sent through the bot's
notifications.

Triggered from the bot loop (``SuiteRpc.poll``, bot thread): :meth:`WeeklyReviews.tick` checks
the clock (the bot's injectable ``Clock``); a due review runs in a worker thread (an LLM call
must not hold the bot loop) and, when it ends, the slot is recorded in a marker file
(``<user_data_dir>/ai_suite/weekly_review.json``, ``{strategy: slot ISO time}``, written
atomically). So a restart never repeats a week's review, a slot missed while the bot was down is
reviewed once at the next start, and the first start of a strategy only records the latest past
slot (no review of a week the bot did not trade). A corrupt marker is logged and rewritten the
same way (no review rather than a repeated one).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from plugins.core.atomic import atomic_write
from plugins.core.clock import Clock
from plugins.llm.config import WeeklyReviewConfig
from plugins.rpc.botthread import BotLoopTimeout
from plugins.rpc.llm_hooks import LlmRefused, LlmUnavailable
from plugins.rpc.notify import Outbox

logger = logging.getLogger(__name__)

MARKER_NAME = "weekly_review.json"
WEEK = timedelta(days=7)


def marker_path(config: Mapping[str, Any]) -> Path:
    """``<user_data_dir>/ai_suite/weekly_review.json``."""
    return Path(config.get("user_data_dir") or "user_data") / "ai_suite" / MARKER_NAME


def last_slot(now: datetime, cfg: WeeklyReviewConfig) -> datetime:
    """The latest scheduled time at or before ``now`` (UTC, tz-aware)."""
    hour, minute = cfg.hour_minute
    back = (now.weekday() - cfg.weekday_index) % 7
    slot = (now - timedelta(days=back)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return slot - WEEK if slot > now else slot


def regime_diagnostics(frames: Mapping[str, pd.DataFrame], since: datetime) -> dict[str, Any]:
    """Per pair, over the analysed candles since ``since``: the share of candles in each regime
    (``regime_label``, else the arg-max of ``regime_prob_*``), the mean of every gate weight
    (``gate_weight_i``, RegimeGatedMoE's experts), the mean expert prediction
    (``expert_pred_i``) and the mean ``confidence``; fractions. Columns a model does not write
    are left out; ``{"candles": 0}`` without candles in the window."""
    out: dict[str, Any] = {}
    for pair, frame in frames.items():
        if frame is None or frame.empty or "date" not in frame:
            out[pair] = {"candles": 0}
            continue
        week = frame[pd.to_datetime(frame["date"], utc=True) >= pd.Timestamp(since)]
        info: dict[str, Any] = {"candles": int(len(week))}
        if week.empty:
            out[pair] = info
            continue
        probs = sorted(c for c in week.columns if c.startswith("regime_prob_"))
        if "regime_label" in week:
            labels = week["regime_label"].dropna().astype(str)
        elif probs:
            labels = week[probs].idxmax(axis=1).dropna().str.removeprefix("regime_prob_")
        else:
            labels = pd.Series(dtype=str)
        if len(labels):
            info["regime_share"] = {k: round(float(v), 4)
                                    for k, v in labels.value_counts(normalize=True).items()}
        for prefix in ("gate_weight_", "expert_pred_"):
            cols = sorted(c for c in week.columns if c.startswith(prefix) and c[len(prefix):].isdigit())
            if cols:
                info[f"{prefix}mean"] = {c: round(float(week[c].mean()), 6) for c in cols}
        if "confidence" in week:
            info["confidence_mean"] = round(float(week["confidence"].mean()), 6)
        out[pair] = info
    return out


class WeeklyReviews:
    """The schedule of one running strategy's weekly review (see the module docstring).

    Args:
        review: ``review(slot) -> Answer-like`` (``SuiteService.weekly_review``): runs the
            review of the week before ``slot``; may raise ``LlmUnavailable`` / ``LlmRefused``.
        strategy: the strategy's name (its marker entry).
        cfg: ``ai_suite.llm.weekly_review``.
        marker: the marker file.
        outbox: notifications (sent by the bot thread).
        clock: the bot's clock.
        spawn: runs a job off the bot thread (default: a daemon thread); tests run it inline.
    """

    def __init__(self, review: Callable[[datetime], Any], strategy: str, cfg: WeeklyReviewConfig,
                 marker: Path, outbox: Outbox, clock: Clock,
                 spawn: Callable[[Callable[[], None]], Any] | None = None) -> None:
        self.review = review
        self.strategy = strategy
        self.cfg = cfg
        self.marker = marker
        self.outbox = outbox
        self.clock = clock
        self.spawn = spawn or (lambda job: threading.Thread(target=job, name="weekly-review",
                                                            daemon=True).start())
        self._lock = threading.Lock()
        self._running = False

    def _read(self) -> dict[str, str]:
        if not self.marker.is_file():
            return {}
        try:
            data = json.loads(self.marker.read_text())
            if not isinstance(data, dict):
                raise ValueError(f"a {type(data).__name__}, not an object")
            return {str(k): str(v) for k, v in data.items()}
        except (OSError, ValueError) as err:
            logger.error("Weekly review marker %s unreadable (%s); treating this week as "
                         "reviewed (no repeated review)", self.marker, err)
            return {}

    def _write(self, slot: datetime) -> None:
        data = self._read()
        data[self.strategy] = slot.isoformat()
        text = json.dumps(data, indent=1, sort_keys=True)
        atomic_write(self.marker, lambda tmp: tmp.write_text(text))

    def due(self, now: datetime) -> datetime | None:
        """The slot to review now, or None. The first call of a strategy without a marker entry
        records the latest past slot and answers None."""
        slot = last_slot(now, self.cfg)
        done = self._read().get(self.strategy)
        if done is None:
            self._write(slot)
            logger.info("Weekly review of %s scheduled %s %s UTC; next after %s", self.strategy,
                        self.cfg.weekday, self.cfg.time_utc, slot.isoformat())
            return None
        try:
            done_at = datetime.fromisoformat(done)
        except ValueError:
            self._write(slot)
            return None
        return slot if done_at < slot else None

    def tick(self) -> bool:
        """Bot thread, once per loop: start the due review (if any, and none is running).
        Returns whether one was started."""
        with self._lock:
            if self._running:
                return False
            slot = self.due(self.clock.now())
            if slot is None:
                return False
            self._running = True
        self.spawn(lambda: self._run(slot))
        return True

    def _run(self, slot: datetime) -> None:
        try:
            try:
                answer = self.review(slot)
                text = f"Weekly review of {self.strategy} ({slot:%Y-%m-%d %H:%M} UTC):\n{answer.text}"
            except (LlmUnavailable, LlmRefused, BotLoopTimeout) as err:
                text = f"Weekly review of {self.strategy} not available: {err}"
            except Exception as err:  # noqa: BLE001 - a failed review must not stop the schedule
                logger.exception("Weekly review of %s failed", self.strategy)
                text = f"Weekly review of {self.strategy} failed: {type(err).__name__}: {err}"
            self._write(slot)
            self.outbox.put(text)
        finally:
            with self._lock:
                self._running = False
