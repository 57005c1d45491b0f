"""The risk guard enforced in the broker: entries go through ``RiskGuard`` or are rejected.

``GuardedBrokerMixin`` goes first in a broker's bases (``GuardedBackBroker`` for backtests,
``AlpacaBroker`` for paper/live). Every ``buy`` / ``sell`` a strategy places - by hand, from a
compiled tree, through ``order_target_*`` or ``buy_bracket`` - reaches the broker, so this is
the one place no strategy can route around (DESIGN invariant 2, "risk at the boundary"):

- an order that opens or adds to a position (a buy while flat or long, a sell while flat or
  short) is an *entry*: ``RiskGuard.check_entry`` must pass, else the order is created and
  at once *rejected* (``order.info.reject_reason`` says why; the strategy's ``notify_order``
  sees ``Rejected``); its stake (size x limit or last close) is capped to
  ``max_position_frac`` of equity by shrinking the size;
- an order that reduces a position is an *exit* and always passes; a sell counts against the
  position *plus* buys still pending (a protective stop placed with its entry is an exit), and
  is shrunk to that amount so an exit never turns into a short; children of a bracket follow
  their parent (rejected with it, resized with it);
- each broker cycle (``next``) the breakers observe the account at the clock's time; when the
  kill switch is locked and ``flatten_on_halt`` is set, open positions are closed at market;
- fills are followed (execution bits) to feed the losing-streak rule, the pair cooldown and
  the day-trade count.

The clock is injected: the latest bar close in backtests (``bar_clock``), wall time when
trading live.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import backtrader as bt

from adapters.alpaca.risk import RiskGuard

logger = logging.getLogger(__name__)
EPS = 1e-9


def data_symbol(data) -> str:
    """The symbol of a backtrader data feed (``symbol`` attribute, else its name)."""
    return str(getattr(data, "symbol", None) or data._name or data._dataname)


def bar_clock(datas: Sequence) -> Callable[[], datetime]:
    """A clock reading the latest bar *close* of ``datas`` (``AlpacaData.bar_end`` of its stamp;
    other feeds' stamps are taken as closes), tz-aware UTC."""
    def end(data) -> datetime:
        stamp = data.datetime.datetime(0)
        to_end = getattr(data, "bar_end", None)
        return to_end(stamp) if to_end is not None else stamp.replace(tzinfo=UTC)

    def now() -> datetime:
        ends = [end(d) for d in datas if len(d)]
        return max(ends) if ends else datetime.min.replace(tzinfo=UTC)
    return now


class GuardedBrokerMixin:
    """Risk guard for a backtrader broker (module docstring). Call ``attach_guard`` once after
    construction; without a guard the broker behaves as its base class."""

    guard: RiskGuard | None = None

    def attach_guard(self, guard: RiskGuard, clock: Callable[[], datetime]) -> None:
        """Enforce ``guard`` with ``clock`` giving the current time (UTC)."""
        self.guard = guard
        self.guard_clock = clock
        self._rejected_refs: set[int] = set()
        self._resized: dict[int, float] = {}
        self._owners: dict = {}
        self._seen_bits: dict[int, int] = {}
        self._books: dict = {}
        self._flattening: set = set()
        self._placed: dict = {}

    # --- orders ----------------------------------------------------------------------------
    def buy(self, owner, data, size, price=None, plimit=None, exectype=None, valid=None, tradeid=0,
            oco=None, trailamount=None, trailpercent=None, parent=None, transmit=True, **kwargs):
        return self._guarded(True, owner, data, size, dict(
            price=price, plimit=plimit, exectype=exectype, valid=valid, tradeid=tradeid, oco=oco,
            trailamount=trailamount, trailpercent=trailpercent, parent=parent, transmit=transmit,
            **kwargs))

    def sell(self, owner, data, size, price=None, plimit=None, exectype=None, valid=None, tradeid=0,
             oco=None, trailamount=None, trailpercent=None, parent=None, transmit=True, **kwargs):
        return self._guarded(False, owner, data, size, dict(
            price=price, plimit=plimit, exectype=exectype, valid=valid, tradeid=tradeid, oco=oco,
            trailamount=trailamount, trailpercent=trailpercent, parent=parent, transmit=transmit,
            **kwargs))

    def _place(self, is_buy: bool, owner, data, size, args: dict):
        method = super().buy if is_buy else super().sell
        order = method(owner, data, size, **args)
        if self.guard is not None and order is not None:
            placed = [o for o in self._placed.get(data, []) if o.alive()]
            self._placed[data] = [*placed, order]
        return order

    def pending_buys(self, data) -> float:
        """Shares of ``data`` still to be bought by orders placed through the guard."""
        return sum(abs(o.size) - abs(o.executed.size) for o in self._placed.get(data, [])
                   if o.isbuy() and o.alive())

    def is_entry(self, data, is_buy: bool) -> bool:
        """Would this order open or add to a position of ``data``? (Sells count against the
        position plus pending buys.)"""
        held = self.getposition(data).size
        if is_buy:
            return held >= -EPS
        return held + self.pending_buys(data) <= EPS

    def open_positions(self) -> int:
        """Positions held now (one per data)."""
        return sum(1 for pos in self.positions.values() if abs(pos.size) > EPS)

    def _guarded(self, is_buy: bool, owner, data, size: float, args: dict):
        if self.guard is None:
            return self._place(is_buy, owner, data, size, args)
        self._owners[data] = owner
        parent = args.get("parent")
        if parent is not None:
            if parent.ref in self._rejected_refs:
                return self.reject_locally(is_buy, owner, data, size, args,
                                           f"parent order {parent.ref} was rejected")
            size = self._resized.get(parent.ref, size)
            return self._place(is_buy, owner, data, size, args)
        if not self.is_entry(data, is_buy):
            if not is_buy:
                available = self.getposition(data).size + self.pending_buys(data)
                if abs(size) > available + EPS:
                    logger.info("Exit of %g %s shrunk to the %g held or being bought (no short)",
                                abs(size), data_symbol(data), available)
                    size = available
            return self._place(is_buy, owner, data, size, args)
        symbol, now = data_symbol(data), self.guard_clock()
        reference = args.get("price") or args.get("plimit") or float(data.close[0])
        equity = float(self.getvalue())
        stake = abs(size) * reference
        verdict = self.guard.check_entry(symbol, now, stake, equity, self.open_positions())
        if not verdict.allowed:
            return self.reject_locally(is_buy, owner, data, size, args, verdict.reason)
        capped = self.guard.cap(symbol, now, stake, equity)
        if capped < stake - EPS:
            size = capped / reference
            if size <= EPS:
                return self.reject_locally(is_buy, owner, data, size, args, "stake capped to 0")
        order = self._place(is_buy, owner, data, size, args)
        if order is not None and capped < stake - EPS:
            self._resized[order.ref] = size
        return order

    def reject_locally(self, is_buy: bool, owner, data, size: float, args: dict, reason: str):
        """Create the order the strategy asked for and reject it at once with ``reason``."""
        cls = bt.BuyOrder if is_buy else bt.SellOrder
        order = cls(owner=owner, data=data, size=abs(size), price=args.get("price"),
                    pricelimit=args.get("plimit"), exectype=args.get("exectype"),
                    valid=args.get("valid"), tradeid=args.get("tradeid", 0), oco=args.get("oco"),
                    trailamount=args.get("trailamount"), trailpercent=args.get("trailpercent"),
                    parent=args.get("parent"), transmit=args.get("transmit", True))
        order.addcomminfo(self.getcommissioninfo(data))
        order.addinfo(reject_reason=reason)
        order.reject(self)
        self._rejected_refs.add(order.ref)
        logger.info("Order %s %s %s rejected: %s", order.ref, "buy" if is_buy else "sell",
                    data_symbol(data), reason)
        self.notify(order)
        return order

    # --- per cycle -------------------------------------------------------------------------
    def next(self):
        super().next()
        if self.guard is None:
            return
        now = self.guard_clock()
        if now == datetime.min.replace(tzinfo=UTC):
            return  # no bar yet
        self.guard.observe(now, float(self.getvalue()), self.open_positions())
        if self.guard.halted and self.guard.config.flatten_on_halt:
            self._flatten()

    def _flatten(self) -> None:
        for data, pos in list(self.positions.items()):
            if abs(pos.size) <= EPS:
                self._flattening.discard(data)
                continue
            if data in self._flattening:
                continue
            self._flattening.add(data)
            logger.warning("Kill switch: flattening %s (%g)", data_symbol(data), pos.size)
            self._place(pos.size < 0, self._owners.get(data), data, abs(pos.size), {})

    # --- fills -----------------------------------------------------------------------------
    def notify(self, order):
        super().notify(order)
        if self.guard is not None and order.status in (bt.Order.Partial, bt.Order.Completed):
            self._follow_fills(order)

    def _follow_fills(self, order) -> None:
        bits = list(order.executed.exbits)
        new = bits[self._seen_bits.get(order.ref, 0):]
        self._seen_bits[order.ref] = len(bits)
        data, symbol = order.data, data_symbol(order.data)
        for bit in new:
            at = bt.num2date(bit.dt).replace(tzinfo=UTC)
            book = self._books.setdefault(data, [0.0, 0.0])  # realized pnl, commission
            book[0] += bit.pnl
            book[1] += bit.comm
            self.guard.record_fill(symbol, at, opening=abs(bit.opened) > EPS)
            if abs(bit.closed) > EPS and abs(bit.psize) <= EPS:
                self.guard.record_close(symbol, at, book[0] - book[1])
                self._books.pop(data)


class GuardedBackBroker(GuardedBrokerMixin, bt.brokers.BackBroker):
    """backtrader's simulated broker with the suite's risk guard (backtests)."""
