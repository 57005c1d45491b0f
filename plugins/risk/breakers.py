"""The circuit breakers as pure functions of (account snapshot, config).

Each rule returns a ``BreakerTrip`` (the state it demands, why, until when) or ``None``.
Thresholds are inclusive: a loss of exactly ``max_daily_loss_frac`` trips (compared with a
1e-12 tolerance, so 1 - 9300/10000 = 0.06999999999999995 counts as the 7 % it is). ``evaluate``
combines all rules into one ``RiskDecision``; the bot's state is the most severe trip. The
rules assume a valid snapshot; ``evaluate`` checks it first (:func:`invalid_inputs`) and fails
closed on garbage (NaN, infinite or non-positive equity / anchors, NaN profits, negative counts):
REDUCING with reason ``guard_error``, never ACTIVE.
Boundaries: the UTC day starts at 00:00 UTC; the ISO week at Monday 00:00 UTC.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from datetime import datetime, timedelta

from plugins.risk.config import RiskConfig
from plugins.risk.snapshot import AccountSnapshot
from plugins.risk.state import BreakerReason, BreakerTrip, RiskDecision, TradingState

Rule = Callable[[AccountSnapshot, RiskConfig], BreakerTrip | None]


def next_utc_midnight(now: datetime) -> datetime:
    """00:00 UTC of the day after ``now``."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def next_iso_week(now: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week after ``now``'s."""
    return next_utc_midnight(now) + timedelta(days=6 - now.weekday())


EPSILON = 1e-12


def reached(value: float, threshold: float) -> bool:
    """``value >= threshold``, inclusive up to floating-point noise (``EPSILON``)."""
    return value >= threshold - EPSILON


def loss_frac(equity: float, reference: float) -> float:
    """Loss of ``equity`` against ``reference`` as a fraction (0.03 = 3 % down; < 0 = gain)."""
    return 1.0 - equity / reference


def _period_loss(s: AccountSnapshot, reference: float, limit: float, reason: BreakerReason,
                 label: str, until: datetime) -> BreakerTrip | None:
    loss = loss_frac(s.equity, reference)
    if not reached(loss, limit):
        return None
    return BreakerTrip(TradingState.REDUCING, reason, f"{label} loss {loss:.2%} >= {limit:.2%}",
                       until)


def daily_loss(s: AccountSnapshot, cfg: RiskConfig) -> BreakerTrip | None:
    """Day's loss >= ``max_daily_loss_frac`` -> REDUCING until the next UTC midnight."""
    return _period_loss(s, s.equity_day_start, cfg.max_daily_loss_frac, BreakerReason.DAILY_LOSS,
                        "day", next_utc_midnight(s.now))


def weekly_loss(s: AccountSnapshot, cfg: RiskConfig) -> BreakerTrip | None:
    """ISO week's loss >= ``max_weekly_loss_frac`` -> REDUCING until next Monday 00:00 UTC."""
    return _period_loss(s, s.equity_week_start, cfg.max_weekly_loss_frac,
                        BreakerReason.WEEKLY_LOSS, "week", next_iso_week(s.now))


def drawdown_kill_switch(s: AccountSnapshot, cfg: RiskConfig) -> BreakerTrip | None:
    """Drawdown from the equity peak >= ``max_drawdown_frac`` -> HALTED until a human reset."""
    drawdown = loss_frac(s.equity, s.equity_peak)
    if not reached(drawdown, cfg.max_drawdown_frac):
        return None
    return BreakerTrip(TradingState.HALTED, BreakerReason.DRAWDOWN_KILL_SWITCH,
                       f"drawdown {drawdown:.2%} >= {cfg.max_drawdown_frac:.2%}; human reset needed",
                       None)


def losing_streak(s: AccountSnapshot, cfg: RiskConfig) -> BreakerTrip | None:
    """The last ``max_consecutive_losses`` closed trades all lost -> REDUCING until the last
    loss's close + ``losing_streak_pause_min`` (no trip once that has passed). A streak is
    only broken by a win: a loss right after a pause extends the streak and pauses again."""
    streak = 0
    for trade in reversed(s.closed_trades):
        if trade.profit_abs >= 0:
            break
        streak += 1
    if streak < cfg.max_consecutive_losses:
        return None
    until = s.closed_trades[-1].closed_at + timedelta(minutes=cfg.losing_streak_pause_min)
    if s.now >= until:
        return None
    return BreakerTrip(TradingState.REDUCING, BreakerReason.LOSING_STREAK,
                       f"{streak} losing trades in a row >= {cfg.max_consecutive_losses}", until)


def max_open_positions(s: AccountSnapshot, cfg: RiskConfig) -> BreakerTrip | None:
    """Open trades >= ``max_open_positions`` -> REDUCING until one closes."""
    if s.open_positions < cfg.max_open_positions:
        return None
    return BreakerTrip(TradingState.REDUCING, BreakerReason.MAX_OPEN_POSITIONS,
                       f"{s.open_positions} open positions >= {cfg.max_open_positions}", None)


def signal_anomaly(s: AccountSnapshot, cfg: RiskConfig) -> BreakerTrip | None:
    """Entry signals in the current window > ``signal_anomaly_factor`` x the median of the
    previous windows (at least 3 of them; a median of 0 counts as 1) -> REDUCING for
    ``anomaly_pause_min``. A model that suddenly fires everywhere is paused, not trusted."""
    history = s.entry_signals[-(cfg.signal_history_windows + 1):-1]
    if len(history) < 3 or not s.entry_signals:
        return None
    current = s.entry_signals[-1]
    baseline = max(statistics.median(history), 1)
    if current <= cfg.signal_anomaly_factor * baseline:
        return None
    return BreakerTrip(TradingState.REDUCING, BreakerReason.SIGNAL_ANOMALY,
                       f"{current} entry signals > {cfg.signal_anomaly_factor:g} x median "
                       f"{baseline:g}", s.now + timedelta(minutes=cfg.anomaly_pause_min))


RULES: tuple[Rule, ...] = (daily_loss, weekly_loss, drawdown_kill_switch, losing_streak,
                           max_open_positions, signal_anomaly)


def positive_finite(value: object) -> bool:
    """True for a finite number > 0 (an equity, an anchor, a price); False for NaN, +-inf,
    zero, negatives and non-numbers."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def invalid_inputs(s: AccountSnapshot) -> BreakerTrip | None:
    """Garbage in ``s`` -> REDUCING with reason ``guard_error`` (until the inputs are valid):
    an equity or anchor that is NaN, infinite, zero or negative, a closed trade's profit that
    is not finite, a negative count of open positions or entry signals. ``None`` when valid."""
    problems = [f"{name} {value!r}" for name, value in (
        ("equity", s.equity), ("equity_day_start", s.equity_day_start),
        ("equity_week_start", s.equity_week_start), ("equity_peak", s.equity_peak))
        if not positive_finite(value)]
    problems += [f"closed {t.pair} profit {t.profit_abs!r}" for t in s.closed_trades
                 if not (isinstance(t.profit_abs, int | float) and math.isfinite(t.profit_abs))]
    if s.open_positions < 0:
        problems.append(f"open_positions {s.open_positions}")
    if any(n < 0 for n in s.entry_signals):
        problems.append("a negative entry-signal count")
    if not problems:
        return None
    return BreakerTrip(TradingState.REDUCING, BreakerReason.GUARD_ERROR,
                       f"invalid account input: {', '.join(problems[:4])}", None)


def evaluate(s: AccountSnapshot, cfg: RiskConfig, rules: tuple[Rule, ...] = RULES) -> RiskDecision:
    """Every rule on ``s``: the most severe state and all trips (ACTIVE with none). A snapshot
    with garbage in it (:func:`invalid_inputs`) is not judged: REDUCING, reason ``guard_error``."""
    invalid = invalid_inputs(s)
    if invalid is not None:
        return RiskDecision(state=invalid.state, trips=(invalid,))
    trips = tuple(t for t in (rule(s, cfg) for rule in rules) if t is not None)
    state = max((t.state for t in trips), default=TradingState.ACTIVE)
    return RiskDecision(state=state, trips=trips)


def held_by_locks(decision: RiskDecision, held: tuple[BreakerTrip, ...]) -> RiskDecision:
    """``decision`` plus the trips that active locks still hold for breakers that did not trip
    now. The lock is the source of truth: a kill switch stays HALTED after the drawdown
    recovers, until a human resets it; a daily-loss lock holds until midnight."""
    tripped = {t.reason for t in decision.trips}
    extra = tuple(t for t in held if t.reason not in tripped)
    if not extra:
        return decision
    trips = decision.trips + extra
    return RiskDecision(state=max(t.state for t in trips), trips=trips)


def cap_stake(proposed: float, equity: float, cfg: RiskConfig) -> tuple[float, str | None]:
    """The stake after ``max_position_frac``: ``min(proposed, equity x max_position_frac)``,
    and the clamp's reason (``None`` when not clamped). Risk only ever shrinks a stake."""
    cap = equity * cfg.max_position_frac
    if proposed <= cap:
        return proposed, None
    return cap, f"stake {proposed:.2f} capped to {cap:.2f} ({cfg.max_position_frac:.0%} of equity)"


def pair_cooldown_until(last_trade_closed_at: datetime, last_profit_abs: float,
                        cfg: RiskConfig) -> datetime:
    """When a pair may be entered again after its last trade closed (win or loss pause)."""
    minutes = cfg.cooldown_after_loss_min if last_profit_abs < 0 else cfg.cooldown_after_win_min
    return last_trade_closed_at + timedelta(minutes=minutes)
