"""The pattern-day-trader rule (FINRA Rule 4210) for accounts under $25,000.

A day trade is opening and closing a position in the same security within one session. A
margin account with 4 or more day trades in 5 business days is a pattern day trader and, with
less than $25,000 equity, may not day trade; Alpaca rejects the order that would be the
offending day trade (403 "trade denied due to pattern day trading protection").

The guard here is conservative and never blocks an exit: below ``pdt_min_equity_usd`` equity,
once ``pdt_max_day_trades`` (3) day trades were made in the last 5 NYSE sessions, *new entries*
are refused - a position opened now could not be closed today without a 4th day trade. Day
trades are counted from the suite's own fills (``DayTradeCounter``); Alpaca's
``daytrade_count`` is used as well when the account still reports it (alpaca-py 0.44 notes its
removal from Alpaca's answers on 2026-07-06 with FINRA's intraday-margin changes, hence the
local count). The larger of the two counts wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from adapters.alpaca.nyse import MarketCalendar

WINDOW_SESSIONS = 5


@dataclass(frozen=True)
class PdtVerdict:
    """May a new position be opened? ``reason`` says why (always set, for the journal)."""

    allowed: bool
    reason: str


def pdt_verdict(equity: float, day_trades: int, *, min_equity: float, max_day_trades: int) -> PdtVerdict:
    """The rule on numbers (module docstring). ``day_trades``: in the last 5 sessions."""
    if equity >= min_equity:
        return PdtVerdict(True, f"equity {equity:,.2f} >= {min_equity:,.0f} USD: PDT rule does not apply")
    if day_trades >= max_day_trades:
        return PdtVerdict(False, f"{day_trades} day trades in {WINDOW_SESSIONS} sessions >= "
                                 f"{max_day_trades} with equity {equity:,.2f} < {min_equity:,.0f} USD")
    return PdtVerdict(True, f"{day_trades} day trades in {WINDOW_SESSIONS} sessions < {max_day_trades}")


class DayTradeCounter:
    """Day trades of the suite's own fills, per NYSE session.

    Args:
        calendar: the trading calendar (which session a fill belongs to, the last 5 sessions).
        state: the persisted form (``dumps``), so a restart keeps the week's count.
    """

    def __init__(self, calendar: MarketCalendar, state: str | None = None) -> None:
        self.calendar = calendar
        raw = json.loads(state) if state else {}
        self._opened: dict[str, str] = dict(raw.get("opened", {}))  # symbol -> session opened
        self._trades: list[tuple[str, str]] = [tuple(t) for t in raw.get("trades", [])]

    def on_fill(self, symbol: str, at: datetime, opening: bool) -> bool:
        """Record a fill; True when it completed a day trade (a closing fill of a position
        opened in the same session)."""
        session = self.calendar.session_of(at).isoformat()
        if opening:
            self._opened[symbol] = session
            return False
        if self._opened.get(symbol) == session:
            self._trades.append((session, symbol))
            return True
        return False

    def count(self, now: datetime) -> int:
        """Day trades in the last ``WINDOW_SESSIONS`` sessions up to ``now``'s."""
        window = {d.isoformat() for d in self.calendar.last_sessions(now, WINDOW_SESSIONS)}
        return sum(1 for session, _ in self._trades if session in window)

    def dumps(self, now: datetime) -> str:
        """The state to persist (trades older than the window dropped)."""
        oldest: date = self.calendar.last_sessions(now, WINDOW_SESSIONS)[0]
        trades = [t for t in self._trades if t[0] >= oldest.isoformat()]
        return json.dumps({"opened": self._opened, "trades": trades})
