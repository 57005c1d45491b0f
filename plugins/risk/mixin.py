"""RiskGuardMixin: the breakers enforced through Freqtrade's own locks and callbacks.

Use it first in the bases: ``class MyStrategy(RiskGuardMixin, IStrategy)``. At construction
it wraps the strategy's *resolved* callbacks on the instance (``bot_start``,
``bot_loop_start``, ``confirm_trade_entry``, ``custom_stake_amount``, ``custom_exit``), so the
guard runs whatever the strategy or its subclasses define, and no signal, model or LLM
output can skip it:

- ``bot_loop_start``: snapshot the account, evaluate the breakers, turn each trip into a
  global lock (``*``) with the reason, journaled. Locks are Freqtrade's: they block entries in
  backtesting and live alike, show in ``/locks`` (REST, Telegram, FreqUI) and persist in the
  database in dry-run/live - the kill switch's lock lasts ten years, i.e. until a human
  runs ``python -m plugins.risk reset-killswitch``.
- ``confirm_trade_entry``: the strategy's own answer AND no breaker tripped AND fewer than
  ``max_open_positions`` open AND the pair out of its cooldown AND no FOMC/CPI blackout.
  Every check is journaled with its reason.
- ``custom_stake_amount``: the strategy's stake, capped at ``max_position_frac`` of equity.
- ``custom_exit``: when HALTED and ``flatten_on_halt``, exit every trade (Freqtrade calls
  ``custom_exit`` only with ``use_exit_signal = True``; the guard refuses to start otherwise).
- ``advise_entry`` / ``advise_exit``: journal every entry and exit signal (with a hash of
  the candle's values) and count entry signals per window for the signal-anomaly breaker.

Same code in backtesting and dry-run/live; the decision journal is one SQLite file per run
mode (``journal.journal_path``); a backtest's journal is started afresh.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path

import pandas as pd
from freqtrade.enums import RunMode
from freqtrade.persistence import PairLocks, Trade

from plugins.altdata.calendar import EventCalendar
from plugins.core.config import SuiteConfigError, load_suite_config
from plugins.risk.account import EquityAnchors, account_snapshot
from plugins.risk.breakers import cap_stake, evaluate, pair_cooldown_until
from plugins.risk.journal import DecisionJournal, JournalRow, features_hash, journal_path
from plugins.risk.signals import SignalCounter
from plugins.risk.state import BreakerReason, RiskDecision, TradingState

logger = logging.getLogger(__name__)

LOCK_PREFIX = "ai_suite:"
KILL_SWITCH_LOCK = timedelta(days=3650)
GUARDED = ("bot_start", "bot_loop_start", "confirm_trade_entry", "custom_stake_amount",
           "custom_exit", "advise_entry", "advise_exit")
SIGNALS = {"enter_long": "enter", "exit_long": "exit"}


def lock_reason(reason: BreakerReason) -> str:
    """The lock reason prefix of a breaker, e.g. ``ai_suite:daily_loss``."""
    return f"{LOCK_PREFIX}{reason.value}"


class RiskGuardMixin:
    """Circuit breakers and entry checks for any ``IStrategy`` (see the module docstring).

    Attributes set at ``bot_start``: ``risk_config`` (``RiskConfig``), ``risk_journal``
    (``DecisionJournal``), ``risk_decision`` (the latest ``RiskDecision``).
    """

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        for name in GUARDED:
            setattr(self, name, getattr(self, f"_guard_{name}")(getattr(self, name)))
        self.risk_decision = RiskDecision(TradingState.ACTIVE, ())

    # --- wrappers -------------------------------------------------------------------------

    def _guard_bot_start(self, original):
        @wraps(original)
        def bot_start(**kwargs) -> None:
            self._risk_start()
            original(**kwargs)
        return bot_start

    def _guard_bot_loop_start(self, original):
        @wraps(original)
        def bot_loop_start(current_time: datetime, **kwargs) -> None:
            self._risk_loop(current_time)
            original(current_time=current_time, **kwargs)
        return bot_loop_start

    def _guard_confirm_trade_entry(self, original):
        @wraps(original)
        def confirm_trade_entry(pair: str, order_type: str, amount: float, rate: float,
                                time_in_force: str, current_time: datetime,
                                entry_tag: str | None, side: str, **kwargs) -> bool:
            wanted = original(pair=pair, order_type=order_type, amount=amount, rate=rate,
                              time_in_force=time_in_force, current_time=current_time,
                              entry_tag=entry_tag, side=side, **kwargs)
            allowed = self._risk_allows_entry(pair, current_time, amount * rate)
            return bool(wanted) and allowed
        return confirm_trade_entry

    def _guard_custom_stake_amount(self, original):
        @wraps(original)
        def custom_stake_amount(pair: str, current_time: datetime, current_rate: float,
                                proposed_stake: float, min_stake: float | None, max_stake: float,
                                leverage: float, entry_tag: str | None, side: str,
                                **kwargs) -> float:
            stake = original(pair=pair, current_time=current_time, current_rate=current_rate,
                             proposed_stake=proposed_stake, min_stake=min_stake,
                             max_stake=max_stake, leverage=leverage, entry_tag=entry_tag,
                             side=side, **kwargs)
            return self._risk_cap_stake(pair, current_time, stake)
        return custom_stake_amount

    def _guard_advise_entry(self, original):
        @wraps(original)
        def advise_entry(dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            dataframe = original(dataframe, metadata)
            if getattr(self, "risk_signals", None) is not None:
                self.risk_signals.observe(metadata["pair"], dataframe)
                self._risk_journal_signals(metadata["pair"], dataframe, "enter_long")
            return dataframe
        return advise_entry

    def _guard_advise_exit(self, original):
        @wraps(original)
        def advise_exit(dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            dataframe = original(dataframe, metadata)
            if getattr(self, "risk_journal", None) is not None:
                self._risk_journal_signals(metadata["pair"], dataframe, "exit_long")
            return dataframe
        return advise_exit

    def _guard_custom_exit(self, original):
        @wraps(original)
        def custom_exit(pair: str, trade: Trade, current_time: datetime, current_rate: float,
                        current_profit: float, **kwargs):
            if self.risk_decision.state == TradingState.HALTED and self.risk_config.flatten_on_halt:
                return "risk_halted_flatten"
            return original(pair=pair, trade=trade, current_time=current_time,
                            current_rate=current_rate, current_profit=current_profit, **kwargs)
        return custom_exit

    # --- the guard ------------------------------------------------------------------------

    def _risk_start(self) -> None:
        suite = load_suite_config(self.config)
        self.risk_config = suite.risk
        if self.risk_config.flatten_on_halt and not self.use_exit_signal:
            raise SuiteConfigError(
                "ai_suite.risk.flatten_on_halt exits trades through custom_exit, which Freqtrade "
                "only calls when the strategy sets use_exit_signal = True; set it, or turn "
                "flatten_on_halt off.")
        path = journal_path(self.config)
        if self.config.get("runmode") not in (RunMode.DRY_RUN, RunMode.LIVE):
            for suffix in ("", "-wal", "-shm"):  # a backtest's journal describes that run only
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.risk_journal = DecisionJournal(path)
        self.risk_anchors = EquityAnchors(self.risk_journal)
        self._risk_last_signal: dict[tuple[str, str], pd.Timestamp] = {}
        self.risk_signals = SignalCounter(self.timeframe, self.risk_config.signal_window_candles,
                                          self.risk_config.signal_history_windows)
        self.risk_calendar = None
        if self.risk_config.blackout_before_min or self.risk_config.blackout_after_min:
            folder = suite.altdata.cache_dir / "calendar"
            try:
                self.risk_calendar = EventCalendar.from_dir(folder)
            except FileNotFoundError as err:
                raise FileNotFoundError(
                    f"The news blackout needs the FOMC/CPI calendar in {folder} ({err}). Run "
                    "`python -m plugins.altdata import-shared`, or set ai_suite.risk."
                    "blackout_before_min and blackout_after_min to 0 to disable it.") from err
        logger.info("Risk guard active; journal %s", path)

    def _risk_journal_signals(self, pair: str, frame: pd.DataFrame, column: str) -> None:
        """Journal the ``column`` signals of candles not journaled yet for ``pair`` (all of
        them in a backtest, the new candle live), each with a hash of the candle's values."""
        if column not in frame.columns:
            return
        key = (pair, column)
        last = self._risk_last_signal.get(key)
        rows = frame[frame[column] == 1]
        if last is not None:
            rows = rows[rows["date"] > last]
        if rows.empty:
            return
        numeric = rows.select_dtypes("number")
        tag_column = "enter_tag" if column == "enter_long" else "exit_tag"
        tags = rows[tag_column] if tag_column in rows.columns else pd.Series(None, index=rows.index)
        self.risk_journal.record_many([
            JournalRow(ts=date.to_pydatetime(), kind="signal", decision=SIGNALS[column],
                       reason=str(tag) if isinstance(tag, str) and tag else column, pair=pair,
                       features_hash=features_hash(values.to_dict()))
            for date, tag, (_, values) in zip(rows["date"], tags, numeric.iterrows(),
                                               strict=True)])
        self._risk_last_signal[key] = rows["date"].iloc[-1]

    def _risk_loop(self, now: datetime) -> None:
        snapshot = account_snapshot(self, now, self.risk_anchors,
                                    entry_signals=self.risk_signals.windows(now))
        self.risk_equity = snapshot.equity
        decision = evaluate(snapshot, self.risk_config)
        active = {lock.reason.split(":")[1] for lock in PairLocks.get_pair_locks("*", now)
                  if (lock.reason or "").startswith(LOCK_PREFIX)}
        for trip in decision.trips:
            if trip.reason == BreakerReason.MAX_OPEN_POSITIONS or trip.reason.value in active:
                continue  # open positions are checked per entry; the rest lock once
            until = trip.until or now + KILL_SWITCH_LOCK
            # Freqtrade rounds a lock's end up to the next candle open strictly after it;
            # one second less makes a lock "until 00:00" end at 00:00, not at 01:00.
            PairLocks.lock_pair("*", until - timedelta(seconds=1),
                                f"{lock_reason(trip.reason)}: {trip.detail}", now=now, side="*")
            logger.warning("Breaker %s tripped (%s): %s until %s", trip.reason.value,
                           trip.state.name, trip.detail, until)
            self.risk_journal.record(JournalRow(ts=now, kind="breaker", decision="trip",
                                                reason=trip.reason.value, detail=trip.detail))
            if self.dp.runmode in (RunMode.DRY_RUN, RunMode.LIVE):
                self.dp.send_msg(f"Breaker {trip.reason.value} tripped: {trip.detail}")
        self.risk_decision = decision

    def _risk_allows_entry(self, pair: str, now: datetime, stake: float) -> bool:
        cfg = self.risk_config
        checks: list[tuple[str, bool, str]] = [
            ("breakers", self.risk_decision.allows_entries,
             self.risk_decision.reason or "no breaker tripped"),
        ]
        open_now = len(Trade.get_open_trades())
        checks.append(("max_open_positions", open_now < cfg.max_open_positions,
                       f"{open_now} open, max {cfg.max_open_positions}"))
        last = [t for t in Trade.get_trades_proxy(pair=pair, is_open=False) if t.close_date]
        if last:
            trade = max(last, key=lambda t: t.close_date_utc)
            until = pair_cooldown_until(trade.close_date_utc, float(trade.close_profit_abs or 0),
                                        cfg)
            checks.append(("cooldown", now >= until, f"{pair} cooling down until {until}"))
        if self.risk_calendar is not None:
            blackout = bool(self.risk_calendar.in_blackout(
                pd.Series([pd.Timestamp(now)]), cfg.blackout_before_min,
                cfg.blackout_after_min).iloc[0])
            checks.append(("news_blackout", not blackout, "FOMC/CPI blackout window"))
        rows = [JournalRow(ts=now, kind="gate", decision="pass" if ok else "deny", reason=name,
                           pair=pair, detail="" if ok else detail, stake=stake)
                for name, ok, detail in checks]
        self.risk_journal.record_many(rows)
        denied = [f"{name}: {detail}" for name, ok, detail in checks if not ok]
        if denied:
            logger.info("Entry %s denied: %s", pair, "; ".join(denied))
        return not denied

    def _risk_cap_stake(self, pair: str, now: datetime, stake: float) -> float:
        # Equity from this bot loop's snapshot (bot_loop_start runs before any entry), so the
        # stake cap and the breakers judge the same account without a second snapshot.
        equity = getattr(self, "risk_equity", None)
        if equity is None:
            equity = account_snapshot(self, now, self.risk_anchors).equity
        capped, clamp = cap_stake(stake, equity, self.risk_config)
        if clamp:
            self.risk_journal.record(JournalRow(ts=now, kind="stake", decision="clamp",
                                                reason="max_position_frac", pair=pair,
                                                detail=clamp, stake=capped))
        return capped
