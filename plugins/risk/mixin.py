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
- ``advise_indicators``: add the entry gates' indicator columns (``gates.gate_indicators``);
  with the gates enabled the strategy's ``startup_candle_count`` is raised to what they need.
- ``confirm_trade_entry``: the strategy's own answer AND no breaker tripped AND fewer than
  ``max_open_positions`` open AND every entry gate passes on the signal candle (the 7-gate
  framework, ``ai_suite.risk.gates``; with the gates off, still the pair cooldown and the
  FOMC/CPI blackout). Every check is journaled with its reason.
- ``custom_stake_amount``: the strategy's stake, capped at ``max_position_frac`` of equity,
  times ``canary_stake_frac`` in the canary stage.
- Deployment stages (``ai_suite.stages``, ``plugins.risk.stages``): each loop files closed
  trades under the current stage, tracks the active peak and rolls an active strategy back to
  canary on its drawdown; a shadow strategy places no live orders.
- ``custom_exit``: when HALTED and ``flatten_on_halt``, exit every trade (Freqtrade calls
  ``custom_exit`` only with ``use_exit_signal = True``; the guard refuses to start otherwise).
  HALTED is read from the kill switch's lock, the source of truth until a human resets it:
  a drawdown that recovers under the limit does not end it (nor does any loop's figure).
- ``advise_entry`` / ``advise_exit``: journal every entry and exit signal (with a hash of
  the candle's values) and count entry signals per window for the signal-anomaly breaker.
- Failing closed: when anything the guard reads is garbage or unusable (a NaN / infinite /
  non-positive equity or last close, a corrupt equity anchor, an unwritable journal, an
  unreadable stage store...), no new entries pass (reason ``guard_error``, REDUCING; HALTED
  stays HALTED) while exits continue. The fault is logged, notified and journaled once when it
  begins (kind ``breaker``, ``trip``, ``guard_error``; written at the recovery if the journal
  was what failed, with every row kept back meanwhile) and ends with a ``clear`` row and a
  notification at the first bot loop that succeeds again. Journaling never breaks Freqtrade's
  analysis (it would drop exit signals too), and no hook lets Freqtrade fall back to its
  default, which for ``confirm_trade_entry`` is to allow the entry.

Same code in backtesting and dry-run/live; the decision journal is one SQLite file per run
mode (``journal.journal_path``); a backtest's journal is started afresh.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path

import pandas as pd
from freqtrade.enums import RunMode
from freqtrade.persistence import PairLocks, Trade

from plugins.altdata.calendar import EventCalendar
from plugins.altdata.config import AltDataConfig
from plugins.core.config import SuiteConfigError, load_section
from plugins.risk.account import AccountError, EquityAnchors, account_snapshot
from plugins.risk.breakers import cap_stake, evaluate, held_by_locks, pair_cooldown_until
from plugins.risk.config import RiskConfig, StageConfig
from plugins.risk.gates import EMA_COLUMN, GateResult, evaluate_gates, gate_indicators, gate_inputs
from plugins.risk.journal import (
    DecisionJournal,
    JournalError,
    JournalRow,
    features_hash,
    journal_path,
)
from plugins.risk.signals import SignalCounter
from plugins.risk.stages import (
    Stage,
    StageRecord,
    StageStore,
    change_stage,
    entry_verdict,
    file_trade,
    rollback_verdict,
    stake_factor,
    track_peak,
)
from plugins.risk.state import BreakerReason, BreakerTrip, RiskDecision, TradingState
from plugins.rpc.notify import send_notification

logger = logging.getLogger(__name__)

LOCK_PREFIX = "ai_suite:"
KILL_SWITCH_LOCK = timedelta(days=3650)
GUARDED = ("bot_start", "bot_loop_start", "confirm_trade_entry", "custom_stake_amount",
           "custom_exit", "advise_indicators", "advise_entry", "advise_exit")
SIGNALS = {"enter_long": "enter", "exit_long": "exit"}


def lock_reason(reason: BreakerReason) -> str:
    """The lock reason prefix of a breaker, e.g. ``ai_suite:daily_loss``."""
    return f"{LOCK_PREFIX}{reason.value}"


def lock_trip(reason: str, until: datetime | None) -> BreakerTrip | None:
    """The trip a suite lock holds, from its reason text (``ai_suite:<breaker>: <detail>``):
    HALTED for the kill switch (``until`` None: a human resets it), REDUCING for the others
    (until the lock ends). ``None`` for a lock that is not the suite's."""
    if not reason.startswith(LOCK_PREFIX):
        return None
    name, _, detail = reason.removeprefix(LOCK_PREFIX).partition(":")
    try:
        breaker = BreakerReason(name.strip())
    except ValueError:
        return None
    if breaker == BreakerReason.DRAWDOWN_KILL_SWITCH:
        return BreakerTrip(TradingState.HALTED, breaker, f"locked: {detail.strip()}", None)
    return BreakerTrip(TradingState.REDUCING, breaker, f"locked: {detail.strip()}", until)


@dataclass
class GuardFault:
    """The guard failing closed: since when, what failed first, whether that was journaled,
    and journal rows that could not be written while it lasted (written at the recovery)."""

    since: datetime
    detail: str
    pending: list[JournalRow]
    journaled: bool = False

    def trip_row(self) -> JournalRow:
        return JournalRow(ts=self.since, kind="breaker", decision="trip",
                          reason=BreakerReason.GUARD_ERROR.value, detail=self.detail)


class RiskGuardMixin:
    """Circuit breakers and entry checks for any ``IStrategy`` (see the module docstring).

    Attributes set at ``bot_start``: ``risk_config`` (``RiskConfig``), ``risk_journal``
    (``DecisionJournal``), ``risk_decision`` (the latest ``RiskDecision``).
    """

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.risk_config = load_section(config, "risk", RiskConfig)
        self.stage_config = load_section(config, "stages", StageConfig)
        self.risk_calendar_dir = load_section(config, "altdata", AltDataConfig).cache_dir / "calendar"
        gates = self.risk_config.gates
        if gates.enabled and self.startup_candle_count < gates.required_startup():
            logger.info("Entry gates need %d startup candles; raising %s.startup_candle_count "
                        "from %d", gates.required_startup(), type(self).__name__,
                        self.startup_candle_count)
            self.startup_candle_count = gates.required_startup()
        for name in GUARDED:
            setattr(self, name, getattr(self, f"_guard_{name}")(getattr(self, name)))
        self.risk_decision = RiskDecision(TradingState.ACTIVE, ())
        self.risk_fault: GuardFault | None = None
        self._risk_pending: list[JournalRow] = []
        self._risk_now: datetime | None = None
        self.stage_record = None
        self.suite_rpc = None

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
            if self.config.get("runmode") == RunMode.PLOT:  # plot-dataframe: nothing trades
                original(current_time=current_time, **kwargs)
                return
            self._risk_now = current_time
            try:
                decision = self._risk_loop(current_time)
                self._risk_recover(current_time)
                self.risk_decision = decision
            except Exception as err:  # noqa: BLE001 - Freqtrade only logs it; fail closed instead
                self._risk_fail(current_time, "bot_loop_start", err, journal=True)
            if self.suite_rpc is not None:
                self.suite_rpc.poll()
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
            try:
                allowed = self._risk_allows_entry(pair, current_time, amount * rate)
            except Exception as err:  # noqa: BLE001 - fail closed, never let Freqtrade default to True
                logger.exception("Risk guard failed on %s entry; denying it", pair)
                self._risk_record_error(current_time, pair, "confirm_trade_entry", err)
                allowed = False
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
            try:
                return self._risk_cap_stake(pair, current_time, stake)
            except Exception as err:  # noqa: BLE001 - fail closed: stake 0 opens no trade
                logger.exception("Risk guard failed sizing %s; stake 0 (no trade)", pair)
                self._risk_record_error(current_time, pair, "custom_stake_amount", err)
                return 0.0
        return custom_stake_amount

    def _guard_advise_indicators(self, original):
        @wraps(original)
        def advise_indicators(dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            dataframe = original(dataframe, metadata)
            return gate_indicators(dataframe, self.risk_config.gates)
        return advise_indicators

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
            if self.risk_config.flatten_on_halt and self._risk_halted(current_time):
                return "risk_halted_flatten"
            return original(pair=pair, trade=trade, current_time=current_time,
                            current_rate=current_rate, current_profit=current_profit, **kwargs)
        return custom_exit

    # --- the guard ------------------------------------------------------------------------

    def _risk_start(self) -> None:
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
        live = self.config.get("runmode") in (RunMode.DRY_RUN, RunMode.LIVE)
        self.stage_store = StageStore.for_config(self.config, live) if self.stage_config.enabled else None
        self.stage_record: StageRecord | None = None
        self.risk_calendar = None
        if self.risk_config.blackout_before_min or self.risk_config.blackout_after_min:
            folder = self.risk_calendar_dir
            try:
                self.risk_calendar = EventCalendar.from_dir(folder)
            except FileNotFoundError as err:
                raise FileNotFoundError(
                    f"The news blackout needs the FOMC/CPI calendar in {folder} ({err}). Run "
                    "`python -m plugins.altdata import-shared`, or set ai_suite.risk."
                    "blackout_before_min and blackout_after_min to 0 to disable it.") from err
        if live:
            from plugins.rpc import attach
            self.suite_rpc = attach(self)
        elif self.config.get("runmode") == RunMode.PLOT:
            from plugins.rpc.plot import add_journal_breaker_column
            add_journal_breaker_column(self)
        logger.info("Risk guard active; journal %s", path)

    def _risk_journal_signals(self, pair: str, frame: pd.DataFrame, column: str) -> None:
        """Journal the ``column`` signals of candles not journaled yet for ``pair`` (all of
        them in a backtest, the new candle live), each with a hash of the candle's values.

        Never raises: the signals must reach Freqtrade even when the journal cannot be written
        (Freqtrade drops the whole analysis of a pair whose ``advise_*`` raises, exit signals
        included). A failure fails the guard closed (:meth:`_risk_fail`); the signals not
        journaled are written with the next successful call (the frame still holds them)."""
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
        try:
            self.risk_journal.record_many([
                JournalRow(ts=date.to_pydatetime(), kind="signal", decision=SIGNALS[column],
                           reason=str(tag) if isinstance(tag, str) and tag else column, pair=pair,
                           features_hash=features_hash(values.to_dict()))
                for date, tag, (_, values) in zip(rows["date"], tags, numeric.iterrows(),
                                                   strict=True)])
        except Exception as err:  # noqa: BLE001 - fail closed, keep the analysis
            now = self._risk_now or rows["date"].iloc[-1].to_pydatetime()
            self._risk_fail(now, "advise_entry" if column == "enter_long" else "advise_exit", err)
            return
        self._risk_last_signal[key] = rows["date"].iloc[-1]

    def _risk_loop(self, now: datetime) -> RiskDecision:
        """Snapshot, breakers, locks (journaled and notified), stages; returns the decision:
        this loop's trips plus those the suite's active locks still hold (``held_by_locks``).

        Raises:
            AccountError: the account is garbage (NaN / infinite / non-positive equity or last
                close, a corrupt anchor); the caller fails closed.
            Exception: anything else that failed (journal, database, stage store).
        """
        snapshot = account_snapshot(self, now, self.risk_anchors,
                                    entry_signals=self.risk_signals.windows(now))
        decision = evaluate(snapshot, self.risk_config)
        if any(t.reason == BreakerReason.GUARD_ERROR for t in decision.trips):
            # never locked (it would last 10 years): the caller fails closed until it clears
            raise AccountError(decision.reason)
        self.risk_equity = snapshot.equity
        active = {trip.reason for trip in self._risk_held(now)}
        for trip in decision.trips:
            if trip.reason == BreakerReason.MAX_OPEN_POSITIONS or trip.reason in active:
                continue  # open positions are checked per entry; the rest lock once
            until = trip.until or now + KILL_SWITCH_LOCK
            # Freqtrade rounds a lock's end up to the next candle open strictly after it;
            # one second less makes a lock "until 00:00" end at 00:00, not at 01:00.
            PairLocks.lock_pair("*", until - timedelta(seconds=1),
                                f"{lock_reason(trip.reason)}: {trip.detail}", now=now, side="*")
            logger.warning("Breaker %s tripped (%s): %s until %s", trip.reason.value,
                           trip.state.name, trip.detail, until)
            self._risk_notify(f"Breaker {trip.reason.value} tripped: {trip.detail}")
            self._risk_record_or_keep(JournalRow(ts=now, kind="breaker", decision="trip",
                                                 reason=trip.reason.value, detail=trip.detail,
                                                 until=until))
        decision = held_by_locks(decision, self._risk_held(now))
        if self.stage_store is not None:
            self._stage_loop(now, snapshot.equity)
        return decision

    def _risk_held(self, now: datetime) -> tuple[BreakerTrip, ...]:
        """The trips the suite's active global locks hold at ``now`` (Freqtrade's locks, in
        the database in dry-run/live: the source of truth until they end or, for the kill
        switch, until a human resets it)."""
        trips = (lock_trip(lock.reason or "", lock.lock_end_time_utc)
                 for lock in PairLocks.get_pair_locks("*", now))
        return tuple(t for t in trips if t is not None)

    def _risk_halted(self, now: datetime) -> bool:
        """HALTED: the kill switch's lock is active at ``now`` (read from the lock, not from
        the last loop's drawdown). If the locks cannot be read, the last loop's state."""
        try:
            held = self._risk_held(now)
        except Exception:  # noqa: BLE001 - fall back to what the last loop saw
            logger.exception("Reading the kill-switch lock failed; using the last loop's state")
            return self.risk_decision.state == TradingState.HALTED
        return any(t.state == TradingState.HALTED for t in held)

    # --- failing closed -------------------------------------------------------------------

    def _risk_notify(self, text: str) -> None:
        """A notification through Freqtrade's ``dp.send_msg`` (dry-run/live only); a failure
        to send is logged, never raised into the guard."""
        try:
            if self.dp.runmode in (RunMode.DRY_RUN, RunMode.LIVE):
                send_notification(self.dp, text)
        except Exception:  # noqa: BLE001 - a notification must not break the guard
            logger.exception("Risk guard notification failed: %s", text)

    def _risk_record_or_keep(self, row: JournalRow) -> None:
        """Journal ``row``; if the journal fails, keep it for the recovery (then re-raise)."""
        try:
            self.risk_journal.record(row)
        except Exception:
            if self.risk_fault is None:
                self._risk_pending.append(row)
            else:
                self.risk_fault.pending.append(row)
            raise

    def _risk_fail(self, now: datetime, hook: str, err: Exception, journal: bool = False) -> None:
        """Fail closed: no new entries (``guard_error``, REDUCING; HALTED while the kill
        switch's lock holds), exits continue. The first failure is logged with its traceback,
        notified and journaled (kind ``breaker``, decision ``trip``, reason ``guard_error``,
        at the time it began); while it lasts, later failures are logged only. When the journal
        itself fails, the trip row is written at the recovery (:meth:`_risk_recover`).

        Args:
            journal: try to journal the trip now if it is not yet (the bot loop does; hooks
                called per pair or per entry do not, to keep a locked journal from stalling
                the loop once per call).
        """
        detail = f"{hook}: {type(err).__name__}: {err}"
        fault = self.risk_fault
        if fault is None:
            logger.error("Risk guard failed in %s; no new entries, exits continue, until it "
                         "succeeds", hook, exc_info=err)
            fault = self.risk_fault = GuardFault(since=now, detail=detail,
                                                 pending=self._risk_pending)
            self._risk_pending = []
            self._risk_notify(f"Risk guard failing: no new entries, exits continue ({detail})")
        else:
            logger.warning("Risk guard still failing (since %s) in %s: %s", fault.since,
                           hook, detail)
        trips = [BreakerTrip(TradingState.REDUCING, BreakerReason.GUARD_ERROR, detail, None)]
        try:
            trips += self._risk_held(now)
        except Exception:  # noqa: BLE001 - the state falls back to what the last loop saw
            trips += [t for t in self.risk_decision.trips if t.state == TradingState.HALTED]
        self.risk_decision = RiskDecision(max(t.state for t in trips), tuple(trips))
        if journal and not fault.journaled:
            try:
                self.risk_journal.record(fault.trip_row())
                fault.journaled = True
            except Exception as journal_err:  # noqa: BLE001 - written at the recovery
                logger.warning("Risk guard error not journaled yet (%s); it is written when "
                               "the journal works again", journal_err)

    def _risk_recover(self, now: datetime) -> None:
        """After a successful loop: end a fault. Journals what it could not (the trip row,
        rows kept from the failing loops) and a ``clear`` row, notifies, and only then lets
        entries resume. Raises if the journal still fails (the fault then goes on)."""
        fault = self.risk_fault
        if fault is None:
            return
        rows = list(fault.pending)
        if not fault.journaled:
            rows.append(fault.trip_row())
        rows.append(JournalRow(ts=now, kind="breaker", decision="clear",
                               reason=BreakerReason.GUARD_ERROR.value,
                               detail=f"recovered; failing since {fault.since.isoformat()}: "
                                      f"{fault.detail}"))
        self.risk_journal.record_many(sorted(rows, key=lambda r: r.ts))
        self.risk_fault = None
        logger.warning("Risk guard recovered (failing since %s); entries allowed again",
                       fault.since)
        self._risk_notify(f"Risk guard recovered: entries allowed again (failing since "
                          f"{fault.since:%Y-%m-%d %H:%M} UTC: {fault.detail})")

    def _stage_loop(self, now: datetime, equity: float) -> None:
        """File newly closed trades, track the active peak, roll back on its drawdown."""
        cfg = self.stage_config
        before = self.stage_record
        # Re-read every loop: a promotion or demotion from the CLI (or REST) applies at the
        # next loop; the bot saves at once after each change it makes itself.
        record = self.stage_store.load(type(self).__name__, Stage(cfg.initial), now)
        self.stage_record = record
        if before is None or before.stage != record.stage:
            logger.info("Deployment stage of %s: %s", record.strategy, record.stage.value)
            if before is not None:
                last = record.history[-1]
                self._risk_record_or_keep(JournalRow(
                    ts=now, kind="stage", decision=record.stage.value,
                    reason=f"{before.stage.value}->{record.stage.value}",
                    detail=f"{last.reason} (by {last.by})"))
        mode = str(getattr(self.config.get("runmode"), "value", self.config.get("runmode")))
        filed_as = Stage.SHADOW if mode == RunMode.DRY_RUN.value else record.stage
        changed = False
        filed = set(record.filed)
        for trade in Trade.get_trades_proxy(is_open=False):
            key = f"{mode}:{trade.id}"
            if key not in filed and trade.close_profit is not None:
                changed |= file_trade(record, key, filed_as, float(trade.close_profit))
        changed |= track_peak(record, equity)
        verdict = rollback_verdict(record, equity, cfg.rollback_drawdown_frac)
        if verdict.allowed:
            self._stage_change(now, Stage.CANARY, f"rollback: {verdict.reason}", "rule")
            return
        if changed:
            self.stage_store.save(record)

    def _stage_change(self, now: datetime, to: Stage, reason: str, by: str) -> None:
        record = self.stage_record
        change = change_stage(record, to, now, reason, by)
        self.stage_store.save(record)
        logger.warning("Stage of %s: %s -> %s (%s)", record.strategy, change.from_stage, to, reason)
        self._risk_notify(f"Stage {record.strategy}: {change.from_stage} -> {to.value}: {reason}")
        self._risk_record_or_keep(JournalRow(ts=now, kind="stage", decision=to.value,
                                             reason=f"{change.from_stage}->{to.value}",
                                             detail=f"{reason} (by {by})"))

    def _risk_allows_entry(self, pair: str, now: datetime, stake: float) -> bool:
        cfg = self.risk_config
        checks: list[tuple[str, bool, str]] = [
            ("breakers", self.risk_decision.allows_entries,
             self.risk_decision.reason or "no breaker tripped"),
        ]
        open_now = len(Trade.get_open_trades())
        checks.append(("max_open_positions", open_now < cfg.max_open_positions,
                       f"{open_now} open, max {cfg.max_open_positions}"))
        if self.stage_record is not None:
            verdict = entry_verdict(self.stage_record, self.config.get("runmode") == RunMode.LIVE)
            checks.append(("stage", verdict.allowed, verdict.reason))
        checks.extend((r.gate, r.passed, r.reason) for r in self._risk_gates(pair, now))
        rows = [JournalRow(ts=now, kind="gate", decision="pass" if ok else "deny", reason=name,
                           pair=pair, detail=detail, stake=stake)
                for name, ok, detail in checks]
        self.risk_journal.record_many(rows)
        denied = [f"{name}: {detail}" for name, ok, detail in checks if not ok]
        if denied:
            logger.info("Entry %s denied: %s", pair, "; ".join(denied))
        return not denied

    def _risk_record_error(self, now: datetime, pair: str, hook: str, err: Exception) -> None:
        """Journal a guard failure on one entry as a denial (Freqtrade would otherwise fall
        back to its default, which for ``confirm_trade_entry`` is to allow the entry). Never
        raises: when the journal is what failed (or fails now), the whole guard fails closed
        (:meth:`_risk_fail`) until a bot loop succeeds."""
        journal = getattr(self, "risk_journal", None)
        if journal is None:
            return
        if isinstance(err, sqlite3.Error | JournalError):
            self._risk_fail(now, hook, err)  # the journal itself failed: no second attempt
            return
        try:
            journal.record(JournalRow(ts=now, kind="gate", decision="deny", reason="guard_error",
                                      pair=pair, detail=f"{hook}: {type(err).__name__}: {err}"))
        except Exception as journal_err:  # noqa: BLE001 - never raise into Freqtrade's default
            self._risk_fail(now, hook, journal_err)

    def _risk_gates(self, pair: str, now: datetime) -> list[GateResult]:
        """The entry gates' verdicts on ``pair``'s signal candle (the last analysed one)."""
        cfg = self.risk_config
        cooling_down = False
        last = [t for t in Trade.get_trades_proxy(pair=pair, is_open=False) if t.close_date]
        if last:
            trade = max(last, key=lambda t: t.close_date_utc)
            until = pair_cooldown_until(trade.close_date_utc, float(trade.close_profit_abs or 0),
                                        cfg)
            cooling_down = now < until
        in_blackout = self.risk_calendar is not None and bool(self.risk_calendar.in_blackout(
            pd.Series([pd.Timestamp(now)]), cfg.blackout_before_min,
            cfg.blackout_after_min).iloc[0])
        frame, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if frame.empty or EMA_COLUMN not in frame.columns:
            return [GateResult("analysed_candle", False,
                               f"no analysed dataframe with gate columns for {pair}")]
        inputs = gate_inputs(frame, cfg.gates, in_blackout=in_blackout, cooling_down=cooling_down)
        return evaluate_gates(inputs, cfg.gates)

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
        if self.stage_record is not None:
            factor = stake_factor(self.stage_record, self.stage_config.canary_stake_frac)
            if factor != 1.0:
                capped *= factor
                self.risk_journal.record(JournalRow(
                    ts=now, kind="stake", decision="scale", reason="canary_stake_frac", pair=pair,
                    detail=f"canary stage: stake x {factor:g}", stake=capped))
        return capped
