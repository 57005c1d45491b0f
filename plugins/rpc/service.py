"""The suite's commands against a running guard: reads it (through the :class:`~plugins.rpc.view.
GuardView` Protocol), Freqtrade's locks and the suite's stores, hands plain inputs to
``status.py`` and returns its answers. Shared by REST and Telegram.

Threads: REST handlers run in the API server's worker threads, Telegram handlers in worker
threads of the Telegram loop; the bot loop runs in the main thread. So every method:

- reads Freqtrade's database (locks) through its *thread-scoped* session, rolled back first
  and removed afterwards (:func:`freqtrade_session`, what Freqtrade's own ``get_rpc`` and
  ``authorized_only`` do);
- opens its own ``DecisionJournal`` (a SQLite connection per call, never the bot's);
- reads the guard's in-memory state (its decision, stage record) only as whole-object snapshots
  the bot thread replaces, never mutates it;
- changes state only in the bot thread: the kill-switch reset is handed to
  :class:`BotThreadCalls` and run by ``SuiteRpc.poll()`` right after the risk guard's loop
  (run from a request thread it could interleave with that loop, which re-locks a kill switch
  it finds unlocked while the old peak is still in force);
- sends notifications through the :class:`~plugins.rpc.notify.Outbox` (the bot thread sends).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from freqtrade.data.btanalysis import trade_list_to_dataframe
from freqtrade.persistence import PairLocks, Trade
from sqlalchemy.exc import SQLAlchemyError

from plugins.core.clock import Clock
from plugins.risk.journal import DecisionJournal, JournalError, journal_path
from plugins.risk.stages import Stage, StageError, StageStore, demote, promote
from plugins.risk.state import LOCK_PREFIX
from plugins.rpc import status
from plugins.rpc.botthread import BotThreadCalls
from plugins.rpc.llm_hooks import LlmHooks, LlmUnavailable
from plugins.rpc.notify import Outbox, review_ready_text
from plugins.rpc.status import Answer, BriefInputs, JournalFilters, LockView
from plugins.rpc.view import GuardView

logger = logging.getLogger(__name__)

BRIEF_WINDOW = timedelta(hours=24)
REVIEW_WINDOW = timedelta(days=7)
COUNCIL_ROWS = 5
#: The journal reason of council verdicts (``plugins.llm.council.JOURNAL_REASON``).
COUNCIL_REASON = "council"


@contextmanager
def freqtrade_session() -> Iterator[None]:
    """Freqtrade's scoped session for this thread: rolled back before (fresh reads) and
    removed after, like ``freqtrade.rpc.api_server.deps.get_rpc``."""
    Trade.rollback()
    try:
        yield
    finally:
        Trade.session.remove()


class SuiteService:
    """Answers of the suite's commands for a running guard (see the module docstring for
    threads).

    Args:
        guard: the running risk guard (:class:`~plugins.rpc.view.GuardView`).
        outbox: where notifications go (sent by the bot thread).
        llm: the LLM commands (``LlmHooks``).
        clock: the bot's clock (UTC).
    """

    def __init__(self, guard: GuardView, outbox: Outbox, llm: LlmHooks, clock: Clock) -> None:
        self.guard = guard
        self.outbox = outbox
        self.llm = llm
        self.clock = clock
        self.bot_thread = BotThreadCalls()

    # --- reads ----------------------------------------------------------------------------

    def suite_locks(self, now: datetime) -> list[LockView]:
        """The suite's active global locks (breaker trips) from Freqtrade's database."""
        with freqtrade_session():
            return [LockView(lock.id, lock.reason, lock.lock_end_time_utc)
                    for lock in PairLocks.get_pair_locks("*", now)
                    if (lock.reason or "").startswith(LOCK_PREFIX)]

    def journal_rows(self, filters: JournalFilters) -> list:
        with DecisionJournal(journal_path(self.guard.config)) as journal:
            return journal.query(since=filters.since, pair=filters.pair, reason=filters.reason,
                                 kind=filters.kind, limit=filters.limit)

    # --- answers --------------------------------------------------------------------------

    def regime(self) -> Answer:
        return status.regime_answer(self.guard.analysed_frames())

    def breakers(self) -> Answer:
        now = self.clock.now()
        return status.breakers_answer(self.guard.decision(), self.suite_locks(now), now)

    def stage(self) -> Answer:
        return status.stage_answer(self.guard.stage_record(self.clock.now()),
                                   self.guard.stage_config)

    def drift(self) -> Answer:
        return status.drift_answer(self.guard.drift_status())

    def journal(self, filters: JournalFilters) -> Answer:
        return status.journal_answer(self.journal_rows(filters), filters)

    def brief(self) -> Answer:
        now = self.clock.now()
        last_day = self.journal_rows(JournalFilters(since=now - BRIEF_WINDOW, limit=100_000))
        market, missing = None, ""
        pairs = self.guard.pairs()
        try:
            market = self.llm.market_briefing(pairs[0]) if pairs else None
            missing = "" if pairs else "the whitelist is empty"
        except LlmUnavailable as err:
            missing = str(err)
        inputs = BriefInputs(regime=self.regime(), breakers=self.breakers(), stage=self.stage(),
                             drift=self.drift(), last_day=last_day, market=market,
                             market_missing=missing)
        return status.brief_answer(inputs, now)

    def help(self) -> Answer:
        return status.help_answer()

    def council(self, pair: str | None = None, limit: int = COUNCIL_ROWS) -> Answer:
        """The council's latest ``limit`` verdicts (of ``pair``) from the journal the council
        writes to (``ai_suite.llm.journal_path``); reading it runs no LLM call."""
        path = self.llm.llm_config.journal_path
        if not Path(path).is_file():
            return status.council_answer([], pair)
        with DecisionJournal(path) as journal:
            rows = journal.query(pair=pair, reason=COUNCIL_REASON, kind="gate", limit=limit)
        return status.council_answer(rows, pair)

    def metrics(self) -> Answer:
        """Seed 000's metrics table of this strategy's closed trades (first entry to now),
        beside buy-and-hold of the whitelisted pairs over the same window from the bot's
        analysed candles (the window the candles cover is said when shorter)."""
        from plugins.research.metrics_table import (
            buy_and_hold_curve,
            compute_metrics,
            realized_curve,
            render_table,
        )

        now = self.clock.now()
        name = self.guard.strategy_name
        with freqtrade_session():
            trades = trade_list_to_dataframe(list(Trade.get_trades(
                [Trade.strategy == name, Trade.is_open.is_(False)]).all()))
        balance = self.guard.starting_balance()
        if balance is None or balance <= 0:
            return Answer({"available": False}, "Metrics not available: the wallet's starting "
                                                "balance is unknown.")
        start = trades["open_date"].min() if len(trades) else now - REVIEW_WINDOW
        curve = realized_curve(trades, start, now, balance)
        closes = {pair: frame.set_index("date")["close"]
                  for pair, frame in self.guard.analysed_frames().items() if len(frame)}
        control = buy_and_hold_curve(closes, start, now, balance)
        label = f"{len(closes)} pair(s) equal weight"
        if len(control):
            covered = control.index.min()
            if covered > start:
                label += f"; candles cover only {covered:%Y-%m-%d %H:%M} .. now"
        else:
            label = "no analysed candles in the window"
        m = compute_metrics(trades["profit_abs"] if len(trades) else [], curve,
                            control=control if len(control) else None, control_label=label)
        title = (f"{name}: seed 000 metrics of closed trades, {start:%Y-%m-%d %H:%M} .. "
                 f"{now:%Y-%m-%d %H:%M} UTC (closed-trade balance, daily)")
        return status.metrics_answer(render_table(m, title), m.as_dict())

    def _stage_store(self) -> StageStore:
        """The bot's stage store (``<user_data_dir>/stages.json``, re-read at every loop).

        Raises:
            StageError: stages are off (the bot would ignore the change).
        """
        if not self.guard.stage_config.enabled:
            raise StageError("deployment stages are off (ai_suite.stages.enabled is false): "
                             "there is no stage to change")
        return StageStore.for_config(dict(self.guard.config), True)

    def stage_promote(self, by: str) -> Answer:
        """Promote the strategy one stage if the promotion rules allow (``stages.promote``,
        what ``python -m plugins.risk stage promote`` does); the bot applies it at its next
        loop. Raises ``StageError`` (refused, with the reason)."""
        cfg = self.guard.stage_config
        name = self.guard.strategy_name
        change = promote(self._stage_store(), name, cfg.promotion_min_trades,
                         cfg.promotion_tolerance, self.clock.now(), by)
        answer = status.stage_change_answer(name, change)
        self.outbox.put(answer.text)
        return answer

    def stage_demote(self, to: str, by: str, reason: str) -> Answer:
        """Demote the strategy to ``to`` (``shadow`` / ``canary``; ``stages.demote``).
        Raises ``StageError`` (unknown stage, not earlier, no record)."""
        try:
            target = Stage(to)
        except ValueError:
            raise StageError(f"{to!r} is not a stage; use shadow or canary") from None
        name = self.guard.strategy_name
        change = demote(self._stage_store(), name, target, self.clock.now(), by, reason)
        answer = status.stage_change_answer(name, change)
        self.outbox.put(answer.text)
        return answer

    # --- actions --------------------------------------------------------------------------

    def killswitch_reset(self, by: str) -> Answer:
        """Lift the drawdown kill switch (``GuardView.lift_kill_switch``) in the bot thread at
        its next loop, wait for it, and notify. With no active kill-switch lock
        nothing changes: the equity peak is only re-based together with lifting a halt.

        Args:
            by: who asked (recorded in the journal and the notification).

        A reset that cannot be journaled changes nothing (the lift is all or nothing): the
        answer says ``reset: false`` with the error.

        Raises:
            plugins.rpc.botthread.BotLoopTimeout: the bot ran no loop in time; nothing changed.
        """
        return self.bot_thread.call(lambda: self._killswitch_reset(by))

    def _killswitch_reset(self, by: str) -> Answer:
        """The reset itself, in the bot thread: it uses (and commits) the bot's own session,
        which must not be rolled back or removed in the middle of the bot's loop."""
        now = self.clock.now()
        if not self.guard.kill_switch_locked(now):
            return Answer({"reset": False, "lifted": 0},
                          "No active kill switch: nothing to reset (equity peak kept).")
        try:
            lifted = self.guard.lift_kill_switch(now, by)
        except (JournalError, sqlite3.Error, SQLAlchemyError) as err:  # all or nothing: none
            logger.error("Kill-switch reset by %s failed; nothing changed: %s", by, err)
            return Answer({"reset": False, "lifted": 0, "error": f"{type(err).__name__}: {err}"},
                          f"Kill switch NOT reset: {err}; nothing changed (the lock and the "
                          "equity peak are as they were). Fix the journal, then retry.")
        text = (f"Kill switch reset by {by}: {lifted} lock(s) lifted, equity peak re-based; "
                "entries resume at the next bot loop.")
        self.outbox.put(text)
        return Answer({"reset": True, "lifted": lifted, "by": by, "at": now.isoformat()}, text)

    def ideas(self, thesis: str) -> Answer:
        """LLM trade ideas for the first whitelisted pair from ``thesis`` (``LlmHooks.ideas``)."""
        pairs = self.guard.pairs()
        if not pairs:
            raise LlmUnavailable("the whitelist is empty: no pair to brief")
        return self.llm.ideas(pairs[0], thesis)

    def review(self) -> Answer:
        """The LLM review of the last ``REVIEW_WINDOW`` of this strategy's trades and journal
        (``LlmHooks.review``); notifies "review ready" when it proposes a change."""
        now = self.clock.now()
        since = now - REVIEW_WINDOW
        name = self.guard.strategy_name
        with freqtrade_session():
            trades = trade_list_to_dataframe(
                list(Trade.get_trades([Trade.strategy == name]).all()))
        with DecisionJournal(journal_path(self.guard.config)) as journal:
            rows = journal.query(since=since)
        answer = self.llm.review(name, self.guard.tree(), trades, rows,
                                 self.guard.starting_balance(), since)
        review_id = answer.data.get("id")
        if review_id:
            self.outbox.put(review_ready_text(str(review_id), answer.data.get("summary", "")))
        return answer

    def weekly_review(self, slot: datetime) -> Answer:
        """The scheduled review of the week before ``slot`` (``plugins.rpc.weekly``): the tree
        review for a strategy tree, else the settings review with the regime and expert
        diagnostics of the analysed candles. Writes files for a human; applies nothing.

        Raises:
            LlmUnavailable: no key/cassette, budget, no input.
        """
        from plugins.rpc.weekly import regime_diagnostics

        since = slot - REVIEW_WINDOW
        name = self.guard.strategy_name
        with freqtrade_session():
            trades = trade_list_to_dataframe(
                list(Trade.get_trades([Trade.strategy == name]).all()))
        with DecisionJournal(journal_path(self.guard.config)) as journal:
            rows = journal.query(since=since, until=slot)
        tree = self.guard.tree()
        if tree is not None:
            return self.llm.review(name, tree, trades, rows, self.guard.starting_balance(), since)
        diagnostics = regime_diagnostics(self.guard.analysed_frames(), since)
        return self.llm.config_review(name, dict(self.guard.config), trades, rows, diagnostics,
                                      self.guard.starting_balance(), since, slot)

    def approve(self, review_id: str, by: str) -> Answer:
        return self.llm.approve(review_id, by, self.clock.now())
