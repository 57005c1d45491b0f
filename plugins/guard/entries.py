"""The facts of one Freqtrade entry, for the entry-check core (``plugins.risk.entry``).

Read from Freqtrade at ``confirm_trade_entry``: the trades open now, the pair's last closed
trade (its cooldown), the pair's signal candle (the last analysed one, with the gate columns),
whether an FOMC/CPI blackout is on, and the stage's verdict. The same calls work in
backtesting and dry-run/live.
"""

from __future__ import annotations

from datetime import datetime

from freqtrade.persistence import Trade

from plugins.altdata.calendar import EventCalendar
from plugins.guard.account import closed_trades
from plugins.risk.config import RiskConfig
from plugins.risk.entry import EntryFacts
from plugins.risk.gates import signal_candle
from plugins.risk.stages import StageRecord, entry_verdict
from plugins.risk.state import RiskDecision


def entry_facts(pair: str, now: datetime, stake: float, *, dp, timeframe: str,
                breakers: RiskDecision, stage: StageRecord | None, live: bool,
                calendar: EventCalendar | None, cfg: RiskConfig) -> EntryFacts:
    """What the entry checks read for one entry of ``stake`` (stake currency) into ``pair``.

    Args:
        dp: the strategy's ``DataProvider`` (the pair's analysed dataframe).
        timeframe: the strategy's timeframe.
        breakers: the trips in force (the latest bot loop's decision).
        stage: the strategy's stage record (``None``: stages off).
        live: Freqtrade runs live (a shadow strategy places no live orders).
        calendar: the FOMC/CPI calendar (``None``: the blackout is off).
    """
    closed = closed_trades(pair)
    frame, _ = dp.get_analyzed_dataframe(pair, timeframe)
    return EntryFacts(
        pair=pair, now=now, stake=stake, breakers=breakers,
        open_positions=len(Trade.get_open_trades()),
        last_closed=closed[-1] if closed else None,
        in_blackout=calendar is not None and calendar.in_blackout_at(
            now, cfg.blackout_before_min, cfg.blackout_after_min),
        stage=entry_verdict(stage, live) if stage is not None else None,
        candle=signal_candle(frame, cfg.gates))
