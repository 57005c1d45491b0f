"""One table of entry cases on the thresholds, run against every venue's guard: the entry-check
core itself (``tests/plugins/risk/test_entry.py``), the Freqtrade guard
(``tests/plugins/guard/test_entry_table.py``) and the Alpaca guard
(``tests/adapters/alpaca/test_entry_table.py``). Each case is the account one entry meets; the
verdict and the check that denies it must be the same everywhere (QuantConnect LEAN runs its
risk models' cases the same way)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from plugins.risk.checks import Check

#: A Wednesday afternoon with no FOMC / CPI event within days.
NOW = datetime(2024, 3, 6, 15, 30, tzinfo=UTC)
#: The FOMC statement of 2024-03-20, 14:00 New York (the bundle's calendar).
FOMC = datetime(2024, 3, 20, 18, 0, tzinfo=UTC)
PAIR = "BTC/USDT"
#: ``ai_suite.risk`` of the table (the gates that need an analysed candle are off: only the
#: Freqtrade venue has one).
RISK = {"max_open_positions": 3, "max_daily_loss_frac": 0.03, "max_drawdown_frac": 0.15,
        "cooldown_after_loss_min": 360, "cooldown_after_win_min": 180,
        "blackout_before_min": 30, "blackout_after_min": 60, "gates": {"enabled": False}}
#: The checks every venue runs on these cases, in order.
CHECKS = [Check.BREAKERS, Check.MAX_OPEN_POSITIONS, Check.NEWS_BLACKOUT, Check.COOLDOWN]
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class EntryCase:
    """The account an entry into :data:`PAIR` meets.

    Attributes:
        at: the entry's time (UTC); the bot loop before it runs at the same time.
        open_positions: trades open (other pairs).
        last_close / last_profit: the pair's last trade closed this long before ``at`` with
            this profit (stake currency); ``None``: no trade yet.
        day_start_equity / equity: equity at the day's first loop (00:00) and at ``at``.
        denied_by: the check that denies it; ``None``: allowed.
    """

    name: str
    at: datetime = NOW
    open_positions: int = 0
    last_close: timedelta | None = None
    last_profit: float = 0.0
    day_start_equity: float = 10_000.0
    equity: float = 10_000.0
    denied_by: Check | None = None

    @property
    def allowed(self) -> bool:
        return self.denied_by is None


CASES = [
    EntryCase("a calm account"),
    EntryCase("one slot left", open_positions=2),
    EntryCase("every slot taken", open_positions=3, denied_by=Check.MAX_OPEN_POSITIONS),
    EntryCase("day loss just under the limit", equity=9_701.0),
    EntryCase("day loss exactly at the limit", equity=9_700.0, denied_by=Check.BREAKERS),
    EntryCase("drawdown at the kill switch", day_start_equity=10_000.0, equity=8_500.0,
              denied_by=Check.BREAKERS),
    EntryCase("loss cooldown just over", last_close=timedelta(minutes=360), last_profit=-5.0),
    EntryCase("loss cooldown one minute short", last_close=timedelta(minutes=359),
              last_profit=-5.0, denied_by=Check.COOLDOWN),
    EntryCase("win cooldown just over", last_close=timedelta(minutes=180), last_profit=5.0),
    EntryCase("win cooldown one minute short", last_close=timedelta(minutes=179),
              last_profit=5.0, denied_by=Check.COOLDOWN),
    EntryCase("blackout starts", at=FOMC - 30 * MINUTE, denied_by=Check.NEWS_BLACKOUT),
    EntryCase("a minute before the blackout", at=FOMC - 31 * MINUTE),
    EntryCase("blackout ends", at=FOMC + 60 * MINUTE, denied_by=Check.NEWS_BLACKOUT),
    EntryCase("a minute after the blackout", at=FOMC + 61 * MINUTE),
]


def cases() -> list:
    """:data:`CASES` as pytest parameters named by the case."""
    return [pytest.param(case, id=case.name.replace(" ", "_")) for case in CASES]
