"""The guard as ``plugins.rpc`` reads it: ``StrategyView`` satisfies the ``GuardView`` Protocol
and hands out the guard's own state."""

from __future__ import annotations

from datetime import UTC, datetime

from plugins.guard.rpcview import StrategyView
from plugins.rpc.view import GuardView

NOON = datetime(2024, 3, 6, 12, tzinfo=UTC)


def test_strategy_view_when_guard_started_then_a_guard_view_of_its_state(make_bot):
    bot = make_bot(risk={"blackout_before_min": 0, "blackout_after_min": 0},
                   stages={"enabled": True, "initial": "canary"})
    bot.loop(NOON, 10_000.0)

    view = StrategyView(bot.strategy)

    assert isinstance(view, GuardView)
    assert view.strategy_name == "GuardedStrategy" and view.decision() is bot.strategy.risk_decision
    assert view.stage_record(NOON).stage.value == "canary"
    assert view.starting_balance() == 10_000.0 and view.tree() is None
    assert view.drift_status() is None and view.config is bot.config
