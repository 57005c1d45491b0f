"""The typed names and verdicts of the checks an entry must pass (what a ``gate`` row of the
decision journal records: ``reason`` = :class:`Check`, ``decision`` = pass / deny, ``detail``).

One list for every venue: the Freqtrade guard (``plugins.guard``) and the Alpaca guard
(``adapters.alpaca.risk``) run the same entry-check core (``plugins.risk.entry``), each adding
the checks only it can make (:data:`VENUE_CHECKS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Check(StrEnum):
    """Every entry check, by the name the journal, logs and ``/journal`` show."""

    #: no breaker trip in force (the bot is ACTIVE)
    BREAKERS = "breakers"
    #: fewer than ``max_open_positions`` trades open
    MAX_OPEN_POSITIONS = "max_open_positions"
    #: the deployment stage places orders (``plugins.risk.stages.entry_verdict``)
    STAGE = "stage"
    #: the signal candle was analysed with the gate columns (Freqtrade)
    ANALYSED_CANDLE = "analysed_candle"
    # the 7 gates (``plugins.risk.gates``), in the order they run
    REGIME = "regime"
    EMA200_BAND = "ema200_band"
    RSI = "rsi"
    NEWS_BLACKOUT = "news_blackout"
    COOLDOWN = "cooldown"
    MOMENTUM = "momentum"
    CONFIDENCE = "confidence"
    #: entries paused until the broker's positions match the suite's attribution (Alpaca)
    RECONCILIATION = "reconciliation"
    #: the pattern-day-trader rule under $25k (Alpaca)
    PATTERN_DAY_TRADER = "pattern_day_trader"
    #: the guard itself failed on this entry: denied, fail closed
    GUARD_ERROR = "guard_error"


#: Checks that only one venue can make; the venue passes their verdicts to the core.
VENUE_CHECKS = frozenset({Check.RECONCILIATION, Check.PATTERN_DAY_TRADER})


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: ``check``, ``passed``, and ``detail`` (figures, or ``missing``)."""

    check: Check
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.check.value}: {self.detail}"
