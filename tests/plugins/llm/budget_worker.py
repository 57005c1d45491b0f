"""A separate process spending through the shared ledger (``test_budget_shared``):

    python -m tests.plugins.llm.budget_worker LEDGER CAP_USD COST_USD HOLD_S START_AT THREADS

Each of ``THREADS`` threads opens its own ``Ledger`` + ``Budget`` (as each bot command builds
its own client), waits for the wall time ``START_AT``, reserves ``COST_USD``, holds it for
``HOLD_S`` (the call), records the cost as billed and releases. Prints how many were granted.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from plugins.llm.errors import BudgetExceededError
from plugins.llm.ledger import Budget, CallRecord, Ledger, TokenUsage


def spend_once(path: Path, cap_usd: float, cost_usd: float, hold_s: float, start_at: float) -> bool:
    """One call's budget round trip; True when the budget granted it."""
    ledger = Ledger(path)
    try:
        budget = Budget(ledger, daily_usd=cap_usd, monthly_usd=cap_usd)
        time.sleep(max(0.0, start_at - time.time()))
        try:
            with budget.reserve(cost_usd, "worker call"):
                time.sleep(hold_s)
                ledger.record(CallRecord(datetime.now(UTC), "worker", "h", "m", "api", "end_turn",
                                         TokenUsage(), cost_usd, cost_usd))
        except BudgetExceededError:
            return False
        return True
    finally:
        ledger.close()


def spend_in_threads(path: Path, cap_usd: float, cost_usd: float, hold_s: float, start_at: float,
                     threads: int) -> int:
    """``spend_once`` in ``threads`` threads at once; returns how many were granted."""
    granted: list[bool] = []
    workers = [threading.Thread(target=lambda: granted.append(
        spend_once(path, cap_usd, cost_usd, hold_s, start_at))) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(granted)


if __name__ == "__main__":
    ledger, cap, cost, hold, start, count = sys.argv[1:7]
    print(spend_in_threads(Path(ledger), float(cap), float(cost), float(hold), float(start), int(count)))
