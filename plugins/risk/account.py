"""The equity anchors the breakers compare against, and the account error of the edge.

The day / week anchors are the equity at the first bot loop of each UTC day / ISO week
(Freqtrade loops every few seconds live and once per candle in backtesting, so that is 00:00 UTC
to within one candle); the peak is the highest equity seen. Anchors persist in the decision
journal's state table, so a restart neither forgets the kill switch's peak nor restarts the
day's loss count. Each venue's guard builds its ``AccountSnapshot`` with them (Freqtrade:
``plugins.guard.account``; Alpaca: ``adapters.alpaca.risk``).

Garbage is refused at the edge (:class:`AccountError`): a NaN / infinite / non-positive equity
or last close, or a corrupt stored anchor, never reaches the rules or the state table.
"""

from __future__ import annotations

import json
from datetime import datetime

from plugins.core.errors import SuiteError
from plugins.risk.breakers import positive_finite

PEAK_KEY = "equity_peak"
DAY_KEY = "equity_day_anchor"
WEEK_KEY = "equity_week_anchor"
#: What a human runs to re-base a corrupt anchor (it also lifts an active kill switch).
REBASE_FIX = ("a human re-bases the equity anchors with `python -m plugins.guard "
              "reset-killswitch --db-url <the bot's db_url>` (this also lifts an active kill "
              "switch) after checking the account")


class AccountError(SuiteError):
    """The account the breakers would read is garbage: a NaN, infinite, zero or negative
    equity or last close, or a corrupt equity anchor in the journal's state. Nothing is stored;
    the guard fails closed on it (no new entries, reason ``guard_error``, exits
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
