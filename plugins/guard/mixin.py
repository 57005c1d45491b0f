"""RiskGuardMixin: the breakers enforced through Freqtrade's own locks and callbacks.

Use it first in the bases: ``class MyStrategy(RiskGuardMixin, IStrategy)``. At construction
it loads ``ai_suite.risk`` / ``ai_suite.stages`` and wraps the strategy's *resolved* callbacks on
the instance (``bot_start``, ``bot_loop_start``, ``confirm_trade_entry``,
``custom_stake_amount``, ``custom_exit``, ``advise_*``), so the guard runs whatever the strategy
or its subclasses define, and no signal, model or LLM output can skip it:

- ``bot_loop_start``: snapshot the account (``account``), evaluate the breakers, turn each new
  trip (``plugins.risk.entry.new_trips``) into a global lock (``*``, ``locks``) with the reason,
  journaled and notified. Locks are Freqtrade's: they block entries in backtesting and live
  alike, show in ``/locks`` (REST, Telegram, FreqUI) and persist in the database in
  dry-run/live - the kill switch's lock lasts ten years, i.e. until a human runs
  ``python -m plugins.guard reset-killswitch``. Then the deployment stages (``stages``).
- ``advise_indicators``: add the entry gates' indicator columns (``gates.gate_indicators``);
  with the gates enabled the strategy's ``startup_candle_count`` is raised to what they need.
  In dry-run/live and plot-dataframe also the ``risk_state`` column (``plugins.rpc.plot``).
- ``confirm_trade_entry``: the strategy's own answer AND the entry-check core
  (``plugins.risk.entry.decide_entry`` on the facts of ``entries``): no breaker tripped, fewer
  than ``max_open_positions`` open, the stage places orders, every entry gate passes on the
  signal candle (the 7-gate framework; with the gates off, still the pair cooldown and the
  FOMC/CPI blackout). Every check is journaled with its reason.
- ``custom_stake_amount``: the strategy's stake, capped at ``max_position_frac`` of equity,
  times ``canary_stake_frac`` in the canary stage.
- ``custom_exit``: when HALTED and ``flatten_on_halt``, exit every trade (Freqtrade calls
  ``custom_exit`` only with ``use_exit_signal = True``; the guard refuses to start otherwise).
  HALTED is read from the kill switch's lock, the source of truth until a human resets it:
  a drawdown that recovers under the limit does not end it (nor does any loop's figure).
- ``advise_entry`` / ``advise_exit``: journal every entry and exit signal (``signals``) and count
  entry signals per window for the signal-anomaly breaker.
- Failing closed (``faults``): when anything the guard reads is garbage or unusable, no new
  entries pass (reason ``guard_error``) while exits continue, until a bot loop succeeds again.
  Journaling never breaks Freqtrade's analysis (it would drop exit signals too).
- In dry-run/live the suite's REST routes and Telegram commands are attached
  (``plugins.rpc.registry.attach``) with this guard's view (``rpcview.StrategyView``), and,
  with ``ai_suite.metrics.enabled``, the Prometheus exporter is started
  (``metricsview.attach_metrics``).

Same code in backtesting and dry-run/live; the decision journal is one SQLite file per run
mode (``journal.journal_path``); a backtest's journal is started afresh.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

import pandas as pd
from freqtrade.enums import RunMode
from freqtrade.persistence import Trade

from plugins.altdata.calendar import EventCalendar
from plugins.altdata.config import AltDataConfig
from plugins.core.clock import SYSTEM_CLOCK
from plugins.core.config import SuiteConfigError, load_section
from plugins.guard import backtest_report
from plugins.guard.account import account_snapshot
from plugins.guard.entries import entry_facts
from plugins.guard.faults import FailClosed
from plugins.guard.locks import held_trips, kill_switch_held, place_lock
from plugins.guard.rpcview import StrategyView
from plugins.guard.signals import SignalJournal
from plugins.guard.stages import StageLoop
from plugins.metrics.config import MetricsConfig
from plugins.risk.account import AccountError, EquityAnchors
from plugins.risk.breakers import cap_stake, evaluate, held_by_locks
from plugins.risk.config import RiskConfig, StageConfig
from plugins.risk.entry import decide_entry, new_trips
from plugins.risk.gates import gate_indicators
from plugins.risk.journal import DecisionJournal, JournalRow, journal_path
from plugins.risk.signals import SignalCounter
from plugins.risk.stages import StageStore, stake_factor
from plugins.risk.state import BreakerReason, RiskDecision, TradingState
from plugins.rpc.notify import send_notification
from plugins.rpc.plot import journal_breaker_column, with_risk_subplot

logger = logging.getLogger(__name__)

GUARDED = ("bot_start", "bot_loop_start", "confirm_trade_entry", "custom_stake_amount",
           "custom_exit", "advise_indicators", "advise_entry", "advise_exit")
LIVE_MODES = (RunMode.DRY_RUN, RunMode.LIVE)


class RiskGuardMixin:
    """Circuit breakers and entry checks for any ``IStrategy`` (see the module docstring).

    Attributes: ``risk_config`` / ``stage_config`` (``ai_suite.risk`` / ``ai_suite.stages``,
    loaded at construction), ``risk_decision`` (the latest ``RiskDecision``); set at
    ``bot_start``: ``risk_journal`` (``DecisionJournal``), ``risk_stages`` (``StageLoop``, None
    with stages off), ``suite_rpc`` (the attached REST / Telegram extensions, dry-run/live).
    ``altdata_drift``: an alt-data strategy's drift monitor (``/drift`` reads it), or None.
    """

    altdata_drift: Any = None

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.risk_config = load_section(config, "risk", RiskConfig)
        self.stage_config = load_section(config, "stages", StageConfig)
        self.risk_calendar_dir = (load_section(config, "altdata", AltDataConfig).cache_dir
                                  / "calendar")
        gates = self.risk_config.gates
        if gates.enabled and self.startup_candle_count < gates.required_startup():
            logger.info("Entry gates need %d startup candles; raising %s.startup_candle_count "
                        "from %d", gates.required_startup(), type(self).__name__,
                        self.startup_candle_count)
            self.startup_candle_count = gates.required_startup()
        for name in GUARDED:
            setattr(self, name, getattr(self, f"_guard_{name}")(getattr(self, name)))
        self.risk_decision = RiskDecision(TradingState.ACTIVE, ())
        self.risk_faults: FailClosed | None = None
        self.risk_signals: SignalCounter | None = None
        self.risk_stages: StageLoop | None = None
        self.risk_equity: float | None = None
        self.risk_snapshot = None  # the latest loop's AccountSnapshot (metrics read it)
        self.suite_metrics = None
        self.risk_state_column = None
        self.suite_rpc = None
        self._risk_now: datetime | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        """Plain assignment; when Freqtrade hands a dry-run/live bot its DataProvider
        (``strategy.dp = ...``, right after its API server started and seconds before
        ``bot_start``), the suite's REST paths start answering 503 "starting" rather than 404
        (``plugins.rpc.registry.announce_starting``; ``bot_start`` registers the real ones)."""
        super().__setattr__(name, value)
        if (name == "dp" and value is not None
                and getattr(self, "config", {}).get("runmode") in LIVE_MODES):
            from plugins.rpc.registry import announce_starting  # FastAPI: dry-run and live only

            announce_starting(value)

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
            if self.suite_metrics is not None:
                self.suite_metrics.loop_started()
            try:
                decision = self._risk_loop(current_time)
                self.risk_faults.recover(current_time)
                self.risk_decision = decision
            except Exception as err:  # noqa: BLE001 - Freqtrade only logs it; fail closed instead
                self.risk_decision = self.risk_faults.fail(current_time, "bot_loop_start", err,
                                                           self.risk_decision, journal=True)
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
                self._risk_deny_on_error(current_time, pair, "confirm_trade_entry", err)
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
                self._risk_deny_on_error(current_time, pair, "custom_stake_amount", err)
                return 0.0
        return custom_stake_amount

    def _guard_advise_indicators(self, original):
        @wraps(original)
        def advise_indicators(dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            dataframe = gate_indicators(original(dataframe, metadata), self.risk_config.gates)
            if self.risk_state_column is not None:
                dataframe = self.risk_state_column.add(dataframe, self.timeframe)
            return dataframe
        return advise_indicators

    def _guard_advise_entry(self, original):
        @wraps(original)
        def advise_entry(dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            dataframe = original(dataframe, metadata)
            if self.risk_signals is not None:
                self.risk_signals.observe(metadata["pair"], dataframe)
                self._risk_journal_signals(metadata["pair"], dataframe, "enter_long")
            return dataframe
        return advise_entry

    def _guard_advise_exit(self, original):
        @wraps(original)
        def advise_exit(dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            dataframe = original(dataframe, metadata)
            if self.risk_faults is not None:
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
        """Open the journal, the anchors, the stage store and the calendar; attach RPC."""
        if self.risk_config.flatten_on_halt and not self.use_exit_signal:
            raise SuiteConfigError(
                "ai_suite.risk.flatten_on_halt exits trades through custom_exit, which Freqtrade "
                "only calls when the strategy sets use_exit_signal = True; set it, or turn "
                "flatten_on_halt off.")
        runmode = self.config.get("runmode")
        path = journal_path(self.config)
        if runmode not in LIVE_MODES:
            for suffix in ("", "-wal", "-shm"):  # a backtest's journal describes that run only
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.risk_journal = DecisionJournal(path)
        self.risk_anchors = EquityAnchors(self.risk_journal)
        self.risk_faults = FailClosed(self.risk_journal, self._risk_notify, held_trips)
        self.risk_signal_journal = SignalJournal(self.risk_journal)
        self.risk_signals = SignalCounter(self.timeframe, self.risk_config.signal_window_candles,
                                          self.risk_config.signal_history_windows)
        if self.stage_config.enabled:
            self.risk_stages = StageLoop(StageStore.for_config(self.config, runmode in LIVE_MODES),
                                         self.stage_config, type(self).__name__, runmode,
                                         self.risk_faults.record_or_keep, self._risk_notify)
        self.risk_calendar = self._risk_load_calendar()
        if runmode in LIVE_MODES:
            from plugins.rpc.registry import attach  # FastAPI / Telegram: dry-run and live only

            self.suite_rpc = attach(StrategyView(self), self.dp, SYSTEM_CLOCK)
            if self.suite_rpc is not None:
                self._risk_plot_column(self.suite_rpc.breaker_column)
            if load_section(self.config, "metrics", MetricsConfig).enabled:
                from plugins.guard.metricsview import attach_metrics  # only when it serves

                self.suite_metrics = attach_metrics(self, SYSTEM_CLOCK)
        elif runmode == RunMode.PLOT:
            self._risk_plot_column(journal_breaker_column(self.config))
        elif runmode == RunMode.BACKTEST:  # seed 000's table after Freqtrade's report
            backtest_report.register(self.config, type(self).__name__)
        logger.info("Risk guard active; journal %s", path)

    def _risk_load_calendar(self) -> EventCalendar | None:
        """The FOMC/CPI calendar of the news blackout (None when both windows are 0).

        Raises:
            FileNotFoundError: a blackout is configured and the calendar is not cached (the
                message says how to fill it or switch the blackout off).
        """
        cfg = self.risk_config
        if not (cfg.blackout_before_min or cfg.blackout_after_min):
            return None
        folder = self.risk_calendar_dir
        try:
            return EventCalendar.from_dir(folder)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"The news blackout needs the FOMC/CPI calendar in {folder} ({err}). Run "
                "`python -m plugins.altdata import-shared`, or set ai_suite.risk."
                "blackout_before_min and blackout_after_min to 0 to disable it.") from err

    def _risk_plot_column(self, column) -> None:
        """Add the ``risk_state`` column (``plugins.rpc.plot``) and its subplot."""
        self.risk_state_column = column
        self.plot_config = with_risk_subplot(self.plot_config)

    def _risk_journal_signals(self, pair: str, frame: pd.DataFrame, column: str) -> None:
        """Journal ``column``'s new signals (``signals.SignalJournal``). Never raises: the
        signals must reach Freqtrade even when the journal cannot be written (Freqtrade drops
        the whole analysis of a pair whose ``advise_*`` raises, exit signals included). A
        failure fails the guard closed; the signals not journaled are written with the next
        successful call."""
        try:
            self.risk_signal_journal.record(pair, frame, column)
        except Exception as err:  # noqa: BLE001 - fail closed, keep the analysis
            now = self._risk_now or SignalJournal.last_signal_time(frame, column).to_pydatetime()
            hook = "advise_entry" if column == "enter_long" else "advise_exit"
            self.risk_decision = self.risk_faults.fail(now, hook, err, self.risk_decision)

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
        self.risk_snapshot = snapshot
        for trip in new_trips(decision, (t.reason for t in held_trips(now))):
            until = place_lock(trip, now)
            logger.warning("Breaker %s tripped (%s): %s until %s", trip.reason.value,
                           trip.state.name, trip.detail, until)
            self._risk_notify(f"Breaker {trip.reason.value} tripped: {trip.detail}")
            self.risk_faults.record_or_keep(JournalRow(
                ts=now, kind="breaker", decision="trip", reason=trip.reason.value,
                detail=trip.detail, until=until))
        decision = held_by_locks(decision, held_trips(now))
        if self.risk_stages is not None:
            self.risk_stages.run(now, snapshot.equity)
        return decision

    def _risk_halted(self, now: datetime) -> bool:
        """HALTED: the kill switch's lock is active at ``now`` (read from the lock, not from
        the last loop's drawdown). If the locks cannot be read, the last loop's state."""
        try:
            return kill_switch_held(now)
        except Exception:  # noqa: BLE001 - fall back to what the last loop saw
            logger.exception("Reading the kill-switch lock failed; using the last loop's state")
            return self.risk_decision.state == TradingState.HALTED

    def _risk_notify(self, text: str) -> None:
        """A notification through Freqtrade's ``dp.send_msg`` (dry-run/live only); a failure
        to send is logged, never raised into the guard."""
        try:
            if self.dp.runmode in LIVE_MODES:
                send_notification(self.dp, text)
        except Exception:  # noqa: BLE001 - a notification must not break the guard
            logger.exception("Risk guard notification failed: %s", text)

    def _risk_deny_on_error(self, now: datetime, pair: str, hook: str, err: Exception) -> None:
        """A failure on one entry: journaled as a denial; if the journal fails, the whole guard
        fails closed (``FailClosed.deny_on_error``). Never raises."""
        if self.risk_faults is None:
            return
        decision = self.risk_faults.deny_on_error(now, pair, hook, err, self.risk_decision)
        if decision is not None:
            self.risk_decision = decision

    def _risk_allows_entry(self, pair: str, now: datetime, stake: float) -> bool:
        """The entry-check core on this entry's facts; every check journaled."""
        stage = self.risk_stages.record if self.risk_stages is not None else None
        facts = entry_facts(pair, now, stake, dp=self.dp, timeframe=self.timeframe,
                            breakers=self.risk_decision, stage=stage,
                            live=self.config.get("runmode") == RunMode.LIVE,
                            calendar=self.risk_calendar, cfg=self.risk_config)
        decision = decide_entry(facts, self.risk_config)
        self.risk_journal.record_many(decision.journal_rows())
        if not decision.allowed:
            logger.info("Entry %s denied: %s", pair, decision.reason)
        return decision.allowed

    def _risk_cap_stake(self, pair: str, now: datetime, stake: float) -> float:
        """``stake`` capped at ``max_position_frac`` of equity, scaled in the canary stage;
        each change journaled (kind ``stake``)."""
        # Equity from this bot loop's snapshot (bot_loop_start runs before any entry), so the
        # stake cap and the breakers judge the same account without a second snapshot.
        equity = self.risk_equity
        if equity is None:
            equity = account_snapshot(self, now, self.risk_anchors).equity
        capped, clamp = cap_stake(stake, equity, self.risk_config)
        if clamp:
            self.risk_journal.record(JournalRow(ts=now, kind="stake", decision="clamp",
                                                reason="max_position_frac", pair=pair,
                                                detail=clamp, stake=capped))
        record = self.risk_stages.record if self.risk_stages is not None else None
        if record is not None:
            factor = stake_factor(record, self.stage_config.canary_stake_frac)
            if factor != 1.0:
                capped *= factor
                self.risk_journal.record(JournalRow(
                    ts=now, kind="stake", decision="scale", reason="canary_stake_frac", pair=pair,
                    detail=f"canary stage: stake x {factor:g}", stake=capped))
        return capped

