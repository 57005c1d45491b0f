"""Building the breakers' ``AccountSnapshot`` from Freqtrade, and the equity anchors.

Equity = starting balance + realized profit of closed trades + unrealized profit of open
trades at the last analyzed close (stake currency). The same calls work in backtesting
(``LocalTrade``) and dry-run/live (the database). The day / week anchors are the equity at
the first bot loop of each UTC day / ISO week (Freqtrade loops every few seconds live and
once per candle in backtesting, so that is 00:00 UTC to within one candle); the peak is the
highest equity seen. Anchors persist in the decision journal's state table, so a restart
neither forgets the kill switch's peak nor restarts the day's loss count.

Garbage is refused here, at the edge (:class:`AccountError`): a NaN / infinite / non-positive
equity or last close, or a corrupt stored anchor, never reaches the rules or the state table.
"""

from __future__ import annotations

import json
from datetime import datetime

from freqtrade.persistence import Trade

from plugins.core.errors import SuiteError
from plugins.risk.breakers import positive_finite
from plugins.risk.snapshot import AccountSnapshot, ClosedTrade

PEAK_KEY = "equity_peak"
DAY_KEY = "equity_day_anchor"
WEEK_KEY = "equity_week_anchor"
#: What a human runs to re-base a corrupt anchor (it also lifts an active kill switch).
REBASE_FIX = ("a human re-bases the equity anchors with `python -m plugins.risk "
              "reset-killswitch --db-url <the bot's db_url>` (this also lifts an active kill "
              "switch) after checking the account")


class AccountError(SuiteError):
    """The account the breakers would read is garbage: a NaN, infinite, zero or negative
    equity or last close, or a corrupt equity anchor in the journal's state. Nothing is stored;
    ``RiskGuardMixin`` fails closed on it (no new entries, reason ``guard_error``, exits
    continue, journaled) until the input is valid again - or, for a corrupt anchor, until a
    human re-bases it (the message says how)."""


def _check_equity(equity: float) -> float:
    if not positive_finite(equity):
        raise AccountError(f"Account equity is {equity!r}, not a finite amount > 0: the "
                           "breakers cannot judge it, so no new entries until it is valid")
    return float(equity)


def _corrupt(key: str, raw: str) -> AccountError:
    return AccountError(f"Equity anchor {key!r} in the decision journal's state is corrupt "
                        f"({raw[:80]!r}); no new entries until {REBASE_FIX}")


def _read_anchor(state, key: str) -> dict | None:
    """The stored ``{"period": str, "equity": float > 0}`` of ``key``; ``None`` when unset
    or re-based (empty). Raises ``AccountError`` when it is anything else."""
    raw = state.get_state(key)
    if not raw:
        return None
    try:
        anchor = json.loads(raw)
    except ValueError:
        raise _corrupt(key, raw) from None
    if (not isinstance(anchor, dict) or not isinstance(anchor.get("period"), str)
            or not positive_finite(anchor.get("equity"))):
        raise _corrupt(key, raw)
    return anchor


def _read_peak(state) -> float | None:
    """The stored peak; ``None`` when unset or re-based by a reset (``""``)."""
    raw = state.get_state(PEAK_KEY)
    if not raw:
        return None
    try:
        peak = float(raw)
    except ValueError:
        raise _corrupt(PEAK_KEY, raw) from None
    if not positive_finite(peak):
        raise _corrupt(PEAK_KEY, raw)
    return peak


def corrupt_anchor_keys(state) -> list[str]:
    """Keys of the anchors in ``state`` that :class:`EquityAnchors` would refuse (the reset
    re-bases them)."""
    bad = []
    for key, read in ((DAY_KEY, _read_anchor), (WEEK_KEY, _read_anchor), (PEAK_KEY, None)):
        try:
            _read_peak(state) if read is None else read(state, key)
        except AccountError:
            bad.append(key)
    return bad


class EquityAnchors:
    """Day start, week start and peak equity, kept in a key/value ``state`` store.

    Every value is checked at this edge: an equity or stored anchor that is not a finite
    amount > 0 raises :class:`AccountError` before anything is written, so a NaN can never
    become the peak (``max(nan, x)`` is nan) and switch the loss breakers off.

    Args:
        state: an object with ``get_state(key) -> str | None`` and ``set_state(key, value)``
            (the ``DecisionJournal``).
    """

    def __init__(self, state) -> None:
        self.state = state

    def update(self, now: datetime, equity: float) -> tuple[float, float, float]:
        """Record ``equity`` (stake currency) at ``now``; returns (day start, week start,
        peak) equity.

        Raises:
            AccountError: ``equity`` is NaN, infinite, zero or negative, or a stored anchor
                is corrupt. Nothing is stored then.
        """
        equity = _check_equity(equity)
        year, week, _ = now.isocalendar()
        periods = {DAY_KEY: now.strftime("%Y-%m-%d"), WEEK_KEY: f"{year}-W{week:02d}"}
        stored = {key: _read_anchor(self.state, key) for key in periods}
        stored_peak = _read_peak(self.state)  # None after a kill-switch reset: re-base
        starts = []
        for key, period in periods.items():  # every read is checked before any write
            anchor = stored[key]
            if anchor is None or anchor["period"] != period:
                anchor = {"period": period, "equity": equity}
                self.state.set_state(key, json.dumps(anchor))
            starts.append(float(anchor["equity"]))
        peak = equity if stored_peak is None else max(stored_peak, equity)
        if peak != stored_peak:
            self.state.set_state(PEAK_KEY, repr(peak))
        return starts[0], starts[1], peak


def current_rate(dp, pair: str, timeframe: str, fallback: float) -> float:
    """Close of the last analyzed candle of ``pair`` (``fallback`` when none yet).

    Raises:
        AccountError: that close is NaN, infinite, zero or negative.
    """
    frame, _ = dp.get_analyzed_dataframe(pair, timeframe)
    if not len(frame):
        return fallback
    close = float(frame["close"].iloc[-1])
    if not positive_finite(close):
        raise AccountError(f"{pair}: the last analysed close is {close!r}; open trades "
                           "cannot be valued, so no new entries until a valid candle arrives")
    return close


def account_snapshot(strategy, now: datetime, anchors: EquityAnchors,
                     entry_signals: tuple[int, ...] = ()) -> AccountSnapshot:
    """The account of a running Freqtrade strategy at ``now``.

    Args:
        strategy: the ``IStrategy`` (its ``wallets``, ``dp`` and ``timeframe`` are used).
        now: the bot loop's ``current_time`` (UTC).
        anchors: day / week / peak anchors (updated here).
        entry_signals: entry-signal counts per window (see ``AccountSnapshot``).

    Raises:
        AccountError: a last close, the equity or a stored anchor is garbage (nothing stored).
    """
    open_trades = Trade.get_open_trades()
    unrealized = sum(
        t.calc_profit(current_rate(strategy.dp, t.pair, strategy.timeframe, t.open_rate))
        for t in open_trades)
    equity = (strategy.wallets.get_starting_balance() + Trade.get_total_closed_profit()
              + unrealized)
    day_start, week_start, peak = anchors.update(now, equity)
    closed = sorted((t for t in Trade.get_trades_proxy(is_open=False) if t.close_date),
                    key=lambda t: t.close_date_utc)
    return AccountSnapshot(
        now=now, equity=equity, equity_day_start=day_start, equity_week_start=week_start,
        equity_peak=peak, open_positions=len(open_trades),
        closed_trades=tuple(ClosedTrade(t.pair, t.close_date_utc, float(t.close_profit_abs or 0))
                            for t in closed),
        entry_signals=entry_signals)
