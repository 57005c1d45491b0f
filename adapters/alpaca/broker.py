"""The broker: backtrader orders placed on Alpaca, their lifecycle from ``trade_updates``.

``AlpacaBroker`` (backtrader ``BrokerBase`` with the risk guard, ``guard.GuardedBrokerMixin``):

- ``buy`` / ``sell`` -> an alpaca-py request (``orders``), sent with a ``client_order_id``
  ``<prefix>-<strategy>-<ref>-<random>`` (attribution, and no doubled order on retries). A
  bracket (``buy_bracket``: parent + stop + limit, the first two with ``transmit=False``) is
  sent as *one* Alpaca bracket order; its legs are mapped back to the two children.
- Order state comes from the ``trade_updates`` stream, queued by the stream thread and applied
  on backtrader's thread in ``next``: ``new``/``accepted`` -> Accepted, ``partial_fill`` ->
  Partial (executed for the new quantity), ``fill`` -> Completed, ``canceled`` -> Canceled,
  ``expired`` -> Expired, ``rejected`` -> Rejected. Fills are derived from the order's
  cumulative ``filled_qty`` / ``filled_avg_price``, so a duplicated or missed event changes
  nothing: after a reconnect (or a malformed message) every live order is re-read over REST.
- Rejections keep Alpaca's reason: ``order.info.reject_reason`` (the 403/422 message at
  submission, or the local reason: no Alpaca equivalent, historical bar, risk guard...).
- Cash and value are the account's (``GET /v2/account``, refreshed every
  ``account_refresh_s`` and after fills); positions are the *strategy's* (attributed, from its
  own fills), never the account's: holdings the suite did not open are invisible to the
  strategy and a sell is refused beyond what the strategy holds. Short selling is not
  supported (a sell while flat is refused).
- Exits wait for what they sell: a sell with a price (stop, limit...) is *parked* and sent at
  the broker's next cycle (well under a second live), once the position it sells is held and
  no cancel of another sell of that symbol is still pending (Alpaca counts resting sells
  against the quantity available). A Stop and a Limit linked by ``oco=`` (a compiled tree's
  protective pair) go out together: as one Alpaca OCO order when their whole-share sizes are
  equal, else as two orders whose one-cancels-other the broker keeps. A parked exit whose entry
  does not fill is rejected with that reason.
- Reconciliation (``reconcile``) at start, every ``reconcile_interval_s`` while no order is in
  flight, and at stop; a mismatch pauses entries until a clean one.
- Restarts: every order is recorded in the strategy's ledger file before it is sent, with the
  fill quantity already attributed (``reconcile.OrderRecord``). At start the broker rebuilds
  its orders from the broker (``rebuild_orders``): a recorded order that filled meanwhile is
  attributed for the rest of its fills only, one still open is *adopted* (its later fills,
  from ``trade_updates``, land in the attribution and the position, with no backtrader order
  of this session behind them), and so is an open order with the strategy's prefix that has no
  record yet no fill. A fill of the strategy's order that nothing explains (no record, shares
  already filled) is *unreconciled*: kept in the ledger, a reconciliation mismatch, so entries
  stay paused until a human settles it (``reconcile --accept-broker``).
"""

from __future__ import annotations

import logging
import queue
import re
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime

import backtrader as bt

from adapters.alpaca.errors import (
    AlpacaError,
    AlpacaOrderRejected,
    AlpacaRequestError,
    OrderMappingError,
)
from adapters.alpaca.guard import EPS, GuardedBrokerMixin, data_symbol
from adapters.alpaca.orders import (
    OrderSpec,
    bracket_request,
    oco_request,
    order_qty,
    order_request,
    time_in_force,
)
from adapters.alpaca.parsing import AssetInfo, OrderState, OrderUpdate
from adapters.alpaca.reconcile import AttributionLedger, ReconciliationReport, reconcile
from adapters.alpaca.state import OrderLog

logger = logging.getLogger(__name__)
RESYNC = "resync"
ACCEPTED_STATES = frozenset({"new", "accepted", "pending_new", "accepted_for_bidding", "held",
                             "pending_replace", "pending_cancel", "replaced", "calculated"})
RECONCILIATION = "reconciliation"
#: Alpaca order statuses after which an order fills no more.
FINAL_STATES = frozenset({"filled", "canceled", "expired", "rejected", "done_for_day", "stopped",
                          "suspended"})


def strategy_key(name: str) -> str:
    """A strategy name as used in ``client_order_id`` and ledger file names (``[a-z0-9_]``,
    at most 40 characters)."""
    key = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:40]
    if not key:
        raise ValueError(f"strategy name {name!r} has no letters or digits")
    return key


class AlpacaBrokerCore(bt.BrokerBase):
    """Orders on Alpaca for one strategy, without the risk guard (use ``AlpacaBroker``).

    Args:
        store: the ``AlpacaStore``.
        strategy_id: the strategy's name (``strategy_key`` of it attributes fills).
        ledger: the mode's ``AttributionLedger``.
        order_log: the mode's order event log (None: not written).
        clock: UTC now (default wall time).
    """

    def __init__(self, store, strategy_id: str, ledger: AttributionLedger | None = None,
                 order_log: OrderLog | None = None, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.store = store
        self.rest = store.rest
        self.config = store.config
        self.strategy_id = strategy_key(strategy_id)
        self.ledger = ledger or AttributionLedger()
        self.order_log = order_log
        self.clock = clock or (lambda: datetime.now(UTC))
        self.notifs: deque = deque()
        self.positions: dict = {}
        self.cash = self.value = self.startingcash = self.startingvalue = 0.0
        self.last_reconciliation: ReconciliationReport | None = None
        self._updates: queue.Queue = queue.Queue()
        self._orders: dict[str, bt.Order] = {}          # Alpaca order id -> order
        self._held: dict[int, list[tuple[bt.Order, OrderSpec]]] = defaultdict(list)
        self._filled: dict[int, tuple[float, float]] = {}  # ref -> (cum qty, avg price)
        self._known_cids: set[str] = set()
        self._assets: dict[str, AssetInfo] = {}
        self._parked: list[tuple[bt.Order, OrderSpec]] = []
        self._canceling: dict[int, bt.Order] = {}      # ref -> order with a cancel sent
        self._oco: dict[int, list[bt.Order]] = {}       # ref -> its one-cancels-other group
        self._account_at = -float("inf")
        self._reconciled_at = time.monotonic()
        self._adopted: dict[str, str] = {}              # Alpaca order id -> client order id
        self._unreconciled: set[str] = set()            # Alpaca order ids (module docstring)

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        self.refresh_account(force=True)
        self.startingcash, self.startingvalue = self.cash, self.value
        self.store.start_trade_updates(self._updates.put, lambda: self._updates.put(RESYNC))
        self.rebuild_orders()
        self.reconcile()

    def stop(self) -> None:
        try:
            self._drain_updates()
            self.reconcile()
        except AlpacaError as err:
            logger.error("Final reconciliation failed: %s", err)
        finally:
            self.store.stop_trade_updates()
            super().stop()

    # --- account ----------------------------------------------------------------------------
    def refresh_account(self, force: bool = False) -> None:
        """Re-read cash and equity when due (``account_refresh_s``) or ``force``d."""
        now = time.monotonic()
        if not force and now - self._account_at < self.config.account_refresh_s:
            return
        try:
            account = self.rest.account()
        except AlpacaError as err:
            if force:
                raise
            logger.warning("Account refresh failed (%s); keeping cash %.2f, value %.2f",
                           err, self.cash, self.value)
            return
        self._account_at = now
        self.cash, self.value = account.cash, account.equity
        if getattr(self, "guard", None) is not None:
            self.guard.account_day_trades = account.daytrade_count
        if account.trading_blocked:
            logger.error("Alpaca reports trading blocked on this account")

    def getcash(self) -> float:
        return self.cash

    def getvalue(self, datas=None) -> float:
        if datas:
            return sum(self.getposition(d).size * float(d.close[0]) for d in datas)
        return self.value

    get_cash = getcash
    get_value = getvalue

    def getposition(self, data, clone: bool = False) -> bt.Position:
        """The *strategy's* position in ``data`` (attributed; see the module docstring)."""
        if data not in self.positions:
            held = self.ledger.holding(self.strategy_id, data_symbol(data))
            self.positions[data] = bt.Position(held.qty, held.avg_price)
        pos = self.positions[data]
        return pos.clone() if clone else pos

    def orderstatus(self, order: bt.Order) -> int:
        return order.status

    # --- orders ------------------------------------------------------------------------------
    def buy(self, owner, data, size, price=None, plimit=None, exectype=None, valid=None, tradeid=0,
            oco=None, trailamount=None, trailpercent=None, parent=None, transmit=True, **kwargs):
        return self._new_order(True, owner, data, size, price, plimit, exectype, valid, tradeid,
                               oco, trailamount, trailpercent, parent, transmit)

    def sell(self, owner, data, size, price=None, plimit=None, exectype=None, valid=None, tradeid=0,
             oco=None, trailamount=None, trailpercent=None, parent=None, transmit=True, **kwargs):
        return self._new_order(False, owner, data, size, price, plimit, exectype, valid, tradeid,
                               oco, trailamount, trailpercent, parent, transmit)

    def _new_order(self, is_buy, owner, data, size, price, plimit, exectype, valid, tradeid, oco,
                   trailamount, trailpercent, parent, transmit) -> bt.Order:
        cls = bt.BuyOrder if is_buy else bt.SellOrder
        order = cls(owner=owner, data=data, size=abs(size), price=price, pricelimit=plimit,
                    exectype=exectype, valid=valid, tradeid=tradeid, oco=oco, trailamount=trailamount,
                    trailpercent=trailpercent, parent=parent, transmit=transmit)
        order.addcomminfo(self.getcommissioninfo(data))
        spec = OrderSpec(symbol=data_symbol(data), is_buy=is_buy, qty=abs(size), exectype=order.exectype,
                         price=price, plimit=plimit, trailamount=trailamount,
                         trailpercent=trailpercent, valid=valid)
        order.submit(self)
        self.notify(order)
        problem = self._refusal(order, spec)
        if problem:
            self._reject(order, problem)
            for child, _ in self._held.pop(parent.ref if parent is not None else -1, []):
                self._reject(child, f"bracket sibling rejected: {problem}")
            return order
        if not transmit:
            self._held[parent.ref if parent is not None else order.ref].append((order, spec))
            return order
        if parent is not None:
            legs = self._held.pop(parent.ref, [])
            self._send_bracket([*legs, (order, spec)])
        elif not spec.is_buy and (order.exectype != bt.Order.Market or self._must_wait(order.data, spec)):
            self._parked.append((order, spec))
        else:
            self._send([(order, spec)])
        return order

    def _buying(self, data) -> float:
        """Shares of ``data`` still to be bought by live orders of this session."""
        return sum(abs(o.size) - abs(o.executed.size) for o in self._orders.values()
                   if o.data is data and o.isbuy() and o.alive())

    def _must_wait(self, data, spec: OrderSpec) -> bool:
        """A sell must wait while its shares are still being bought, or while a cancel of
        another sell of the symbol is pending (Alpaca still counts that order)."""
        canceling = any(o.data is data and not o.isbuy() for o in self._canceling.values())
        return canceling or spec.qty > self.getposition(data).size + EPS

    def _release_parked(self) -> None:
        """Send parked exits that may go now (module docstring), OCO pairs together."""
        groups: dict[int, list[tuple[bt.Order, OrderSpec]]] = {}
        for order, spec in self._parked:
            if order.alive():
                root = order.oco.ref if order.oco is not None else order.ref
                groups.setdefault(root, []).append((order, spec))
        self._parked = []
        for members in groups.values():
            data = members[0][0].data
            biggest = max(spec.qty for _, spec in members)
            if any(self._must_wait(data, spec) for _, spec in members):
                held = self.getposition(data).size
                if biggest > held + self._buying(data) + EPS:
                    reason = (f"the position it exits is not there: {held:g} {members[0][1].symbol} held, "
                              f"{biggest:g} to sell (its entry did not fill)")
                    for order, _ in members:
                        self._reject(order, reason)
                else:
                    self._parked.extend(members)
                continue
            if len(members) == 2 and not self._send_oco(members):
                continue
            for member in members:
                self._send([member])
            if len(members) > 1:
                group = [order for order, _ in members]
                for order in group:
                    self._oco[order.ref] = group

    def _send_oco(self, members: list[tuple[bt.Order, OrderSpec]]) -> bool:
        """Send a Stop/Limit pair as one Alpaca OCO order when it can be one; False when it was
        (or was rejected as one), True when the caller should send them separately."""
        stop = next(((o, s) for o, s in members if o.exectype in (bt.Order.Stop, bt.Order.StopLimit)), None)
        take = next(((o, s) for o, s in members if o.exectype == bt.Order.Limit), None)
        if stop is None or take is None or abs(stop[1].qty - take[1].qty) > EPS \
                or abs(stop[1].qty - round(stop[1].qty)) > EPS:
            return True
        try:
            tif = time_in_force(stop[1].valid, self.config.time_in_force)
            cid = self._client_order_id(take[0])
            state = self._submit(oco_request(stop[1], take[1], qty=round(stop[1].qty),
                                             client_order_id=cid, tif=tif), cid, take[1])
        except (AlpacaError, ValueError) as err:
            for order, _ in members:
                self._reject(order, str(err))
            return False
        self._register(take[0], state, cid)
        for leg in state.legs:
            self._register(stop[0], leg, leg.client_order_id)
        return False

    def _refusal(self, order: bt.Order, spec: OrderSpec) -> str | None:
        """Why this order may not go to Alpaca at all (None: it may)."""
        data = order.data
        if order.parent is not None and order.parent.status == bt.Order.Rejected:
            return f"bracket parent {order.parent.ref} was rejected"
        if getattr(data, "is_backfilling", lambda: False)():
            return "bar is historical backfill: orders are only sent on live bars"
        if order.parent is not None:
            return None  # a bracket child: an exit of its parent
        held = self.getposition(data).size + (0.0 if spec.is_buy else self._buying(data))
        if not spec.is_buy:
            if held <= EPS:
                return ("short selling is not supported (the strategy holds no "
                        f"{spec.symbol}); holdings the suite did not open are never sold")
            if spec.qty > held + EPS:
                return (f"sell of {spec.qty:g} {spec.symbol} exceeds the strategy's {held:g}; the rest "
                        "is not the suite's (unattributed) and is never touched")
        elif self.last_reconciliation is not None and not self.last_reconciliation.ok:
            return f"entries paused by reconciliation: {self.last_reconciliation.summary()}"
        return None

    def _client_order_id(self, order: bt.Order) -> str:
        return f"{self.config.client_order_prefix}-{self.strategy_id}-{order.ref}-{uuid.uuid4().hex[:8]}"

    def _asset(self, symbol: str) -> AssetInfo:
        if symbol not in self._assets:
            self._assets[symbol] = self.rest.asset(symbol)
        return self._assets[symbol]

    def _send(self, legs: list[tuple[bt.Order, OrderSpec]]) -> None:
        order, spec = legs[0]
        try:
            tif = time_in_force(spec.valid, self.config.time_in_force)
            asset = self._asset(spec.symbol)
            if not asset.tradable:
                raise OrderMappingError(f"{spec.symbol} is not tradable on Alpaca")
            qty = order_qty(spec, fractionable=asset.fractionable,
                            fractional_allowed=self.config.fractional, tif=tif)
            cid = self._client_order_id(order)
            request = order_request(spec, qty=qty, client_order_id=cid, tif=tif,
                                    extended_hours=self.config.extended_hours)
            self._resize(order, spec, qty)
            state = self._submit(request, cid, spec)
        except (AlpacaError, ValueError) as err:
            self._reject(order, str(err))
            return
        self._register(order, state, cid)

    def _send_bracket(self, legs: list[tuple[bt.Order, OrderSpec]]) -> None:
        (parent, pspec), children = legs[0], legs[1:]
        stop = next(((o, s) for o, s in children if o.exectype in (bt.Order.Stop, bt.Order.StopLimit)), None)
        take = next(((o, s) for o, s in children if o.exectype == bt.Order.Limit), None)
        try:
            if stop is None or take is None or len(children) != 2:
                raise OrderMappingError("an Alpaca bracket needs exactly one Stop/StopLimit and one "
                                        "Limit child")
            tif = time_in_force(pspec.valid, self.config.time_in_force)
            asset = self._asset(pspec.symbol)
            qty = order_qty(pspec, fractionable=asset.fractionable, fractional_allowed=False,
                            tif=tif, bracket=True)
            cid = self._client_order_id(parent)
            request = bracket_request(pspec, stop[1], take[1], qty=qty, client_order_id=cid, tif=tif)
            for o, s in legs:
                self._resize(o, s, qty)
            state = self._submit(request, cid, pspec)
        except (AlpacaError, ValueError) as err:
            for o, _ in legs:
                self._reject(o, str(err))
            return
        self._register(parent, state, cid)
        for leg in state.legs:
            child = take[0] if leg.type == "limit" else stop[0]
            self._register(child, leg, leg.client_order_id)

    def _submit(self, request, cid: str, spec: OrderSpec) -> OrderState:
        """Record the order in the ledger, then send it (a crash in between leaves a record
        the next start looks up by ``cid``). Alpaca's refusal drops the record."""
        self.ledger.track_order(self.strategy_id, cid, spec.symbol, "buy" if spec.is_buy else "sell")
        try:
            return self.rest.submit_order(request)
        except AlpacaOrderRejected:
            self.ledger.order_done(self.strategy_id, cid)
            raise

    def _resize(self, order: bt.Order, spec: OrderSpec, qty: float) -> None:
        """Make the backtrader order's size the quantity actually sent (rounded down)."""
        if abs(qty - spec.qty) > 1e-12:
            signed = qty if spec.is_buy else -qty
            order.size = order.created.size = order.executed.remsize = signed
            if abs(qty - spec.qty) > 1e-6:  # not just Alpaca's 9 decimals
                logger.info("Order %s %s: size %g sent as %g", order.ref, spec.symbol, spec.qty, qty)

    def _register(self, order: bt.Order, state: OrderState, cid: str) -> None:
        self._orders[state.order_id] = order
        self._known_cids.add(cid)
        self.ledger.track_order(self.strategy_id, cid, state.symbol, state.side, state.order_id)
        order.addinfo(alpaca_id=state.order_id, client_order_id=cid)
        self._log("submitted", order, alpaca_id=state.order_id, client_order_id=cid,
                  status=state.status, qty=state.qty, type=state.type, order_class=state.order_class)
        self._sync(order, state, at=state.updated_at)

    def _reject(self, order: bt.Order, reason: str) -> None:
        if order.status == bt.Order.Rejected:
            return
        order.addinfo(reject_reason=reason)
        order.reject(self)
        logger.warning("Order %s %s rejected: %s", order.ref, data_symbol(order.data), reason)
        self._log("rejected", order, reason=reason)
        self.notify(order)

    def cancel(self, order: bt.Order) -> None:
        """Ask Alpaca to cancel; the ``canceled`` trade update confirms it. An order not sent
        yet (parked, a bracket leg held back) is canceled at once."""
        if not order.alive() or order.ref in self._canceling:
            return
        alpaca_id = order.info.get("alpaca_id")
        if alpaca_id is None:
            self._parked = [(o, s) for o, s in self._parked if o is not order]
            order.cancel()
            self.notify(order)
            return
        try:
            self.rest.cancel_order(alpaca_id)
            self._canceling[order.ref] = order
            self._log("cancel_requested", order, alpaca_id=alpaca_id)
        except AlpacaRequestError as err:
            logger.info("Cancel of order %s refused (%s); its state comes from trade_updates",
                        order.ref, err)

    # --- updates -------------------------------------------------------------------------------
    def _drain_updates(self) -> None:
        resync = False
        while True:
            try:
                item = self._updates.get_nowait()
            except queue.Empty:
                break
            if item == RESYNC:
                resync = True
                continue
            self._apply(item)
        if resync:
            self.resync()

    def _apply(self, update: OrderUpdate) -> None:
        order = self._orders.get(update.order.order_id)
        if order is None:
            self._foreign(update.order, update.timestamp, update.execution_id)
            return
        self._sync(order, update.order, at=update.timestamp, execution_id=update.execution_id,
                   fill_qty=update.fill_qty, fill_price=update.fill_price, reason=update.reason)

    # --- orders of earlier sessions -------------------------------------------------------
    def _mine(self, client_order_id: str) -> bool:
        return client_order_id.startswith(f"{self.config.client_order_prefix}-{self.strategy_id}-")

    def rebuild_orders(self) -> None:
        """Bring the strategy's orders of earlier sessions up to date from the broker (module
        docstring): recorded ones by id (or client order id, if never acknowledged), then
        open orders with the strategy's prefix that have no record. A broker error leaves the
        record for the next rebuild (each reconciliation retries) and is logged."""
        for cid, record in list(self.ledger.open_records(self.strategy_id).items()):
            if cid in self._known_cids:
                continue
            try:
                state = (self.rest.order(record.order_id) if record.order_id
                         else self.rest.order_by_client_id(cid))
            except AlpacaError as err:
                logger.warning("Order %s of an earlier session not rebuilt (%s); retrying at the "
                               "next reconciliation", cid, err)
                continue
            if state is None:  # never reached Alpaca
                self.ledger.order_done(self.strategy_id, cid)
                continue
            self._adopt(state)
            for leg in state.legs:
                if self.ledger.order(self.strategy_id, leg.client_order_id) is None:
                    self.ledger.track_order(self.strategy_id, leg.client_order_id, leg.symbol,
                                            leg.side, leg.order_id)  # no fill of it attributed
                self._adopt(leg)
        try:
            open_orders = self.rest.open_orders()
        except AlpacaError as err:
            logger.warning("Open orders not read to rebuild earlier sessions' (%s)", err)
            return
        for state in open_orders:
            for item in (state, *state.legs):
                if (self._mine(item.client_order_id) and item.order_id not in self._orders
                        and item.order_id not in self._adopted):
                    self._adopt(item)

    def _adopt(self, state: OrderState, at: datetime | None = None,
               execution_id: str | None = None) -> None:
        """Follow an order of an earlier session: attribute what filled beyond its record, then
        keep it (while it can fill) in ``_adopted``. Without a record, an order that already
        has fills is unreconciled (module docstring)."""
        cid = state.client_order_id
        record = self.ledger.order(self.strategy_id, cid)
        if record is None:
            if state.filled_qty > 1e-9:
                self._unreconciled_fill(state)
                return
            record = self.ledger.track_order(self.strategy_id, cid, state.symbol, state.side,
                                             state.order_id)
        self._known_cids.add(cid)
        if state.order_id not in self._adopted and state.status not in FINAL_STATES:
            self._adopted[state.order_id] = cid
            self._log_event("adopted", state, filled_qty=state.filled_qty, status=state.status)
            logger.info("Order %s of an earlier session adopted (%s, %g of %s filled)", cid,
                        state.status, state.filled_qty, state.qty)
        delta = round(state.filled_qty - record.filled_qty, 9)
        if delta > 1e-9:
            avg = state.filled_avg_price or 0.0
            price = (avg * state.filled_qty - record.avg_price * record.filled_qty) / delta
            signed = delta if state.side == "buy" else -delta
            self.ledger.apply_fill(self.strategy_id, state.symbol, signed, price,
                                   execution_id or f"{state.order_id}:{state.filled_qty:.9f}",
                                   order=(cid, state.filled_qty, avg))
            for data, pos in self.positions.items():
                if data_symbol(data) == state.symbol:
                    pos.update(signed, price)
            self._account_at = -float("inf")
            self._log_event("adopted_fill", state, qty=signed, price=price,
                            filled_qty=state.filled_qty, at=at)
        if state.status in FINAL_STATES:
            self.ledger.order_done(self.strategy_id, cid)
            self._adopted.pop(state.order_id, None)

    def _unreconciled_fill(self, state: OrderState) -> None:
        detail = (f"fill of order {state.client_order_id} ({state.side} {state.filled_qty:g} "
                  f"{state.symbol}) has no record in the ledger: it cannot be told whether it "
                  "was attributed; settle with python -m adapters.alpaca reconcile --accept-broker")
        signed = state.filled_qty if state.side == "buy" else -state.filled_qty
        self.ledger.add_unreconciled(self.strategy_id, state.order_id, state.client_order_id,
                                     state.symbol, signed, detail)
        if state.order_id not in self._unreconciled:
            logger.warning("Unreconciled: %s", detail)
        self._unreconciled.add(state.order_id)
        self._known_cids.add(state.client_order_id)
        self._log_event("unreconciled_fill", state, filled_qty=state.filled_qty)

    def _foreign(self, state: OrderState, at: datetime, execution_id: str | None) -> None:
        """A trade update for an order this session did not place: an adopted one, the
        strategy's (adopted now, or unreconciled), or another strategy's (ignored)."""
        if state.order_id in self._adopted:
            self._adopt(state, at, execution_id)
        elif state.order_id in self._unreconciled:
            self._unreconciled_fill(state)
        elif self._mine(state.client_order_id) or self.ledger.order(self.strategy_id,
                                                                    state.client_order_id):
            logger.warning("Trade update for order %s of an earlier session", state.client_order_id)
            self._adopt(state, at, execution_id)

    def _log_event(self, event: str, state: OrderState, **fields) -> None:
        if self.order_log is not None:
            self.order_log.write(event, ts=self.clock(), strategy=self.strategy_id,
                                 symbol=state.symbol, side=state.side, alpaca_id=state.order_id,
                                 client_order_id=state.client_order_id, **fields)

    def resync(self) -> None:
        """Re-read every live order over REST (after a reconnect: fills in the gap)."""
        for alpaca_id, order in list(self._orders.items()):
            if not order.alive():
                continue
            try:
                state = self.rest.order(alpaca_id)
            except AlpacaError as err:
                logger.warning("Resync of order %s failed: %s", alpaca_id, err)
                continue
            self._sync(order, state, at=state.updated_at)
        logger.info("Orders resynchronised over REST")

    def _sync(self, order: bt.Order, state: OrderState, *, at: datetime, execution_id: str | None = None,
              fill_qty: float | None = None, fill_price: float | None = None,
              reason: str | None = None) -> None:
        """Bring ``order`` to Alpaca's ``state``: execute new fill quantity, then the status."""
        before = order.status
        done_qty, done_avg = self._filled.get(order.ref, (0.0, 0.0))
        delta = round(state.filled_qty - done_qty, 9)
        if delta > 1e-9:
            avg = state.filled_avg_price or fill_price or 0.0
            price = (fill_price if fill_price and fill_qty and abs(fill_qty - delta) < 1e-9
                     else (avg * state.filled_qty - done_avg * done_qty) / delta)
            self._execute(order, delta if order.isbuy() else -delta, price, at,
                          execution_id or f"{state.order_id}:{state.filled_qty:.9f}",
                          (state.client_order_id, state.filled_qty, avg))
            self._filled[order.ref] = (state.filled_qty, avg)
        status = state.status
        if status == "filled":
            order.completed()
        elif status == "partially_filled" and delta > 1e-9:
            order.partial()
        elif status in ("canceled", "done_for_day") and order.alive():
            order.cancel()
        elif status == "expired" and order.alive():
            bt.order.OrderBase.expire(order)
        elif status in ("rejected", "suspended", "stopped") and order.alive():
            order.addinfo(reject_reason=reason or f"Alpaca order status {status}")
            order.reject(self)
        elif status in ACCEPTED_STATES and order.status in (bt.Order.Created, bt.Order.Submitted):
            order.accept(self)
        if order.status != before or delta > 1e-9:
            self._log(bt.Order.Status[order.status].lower(), order, alpaca_status=status,
                      filled_qty=state.filled_qty, filled_avg_price=state.filled_avg_price,
                      reason=order.info.get("reject_reason"))
            self.notify(order)
        if not order.alive():
            self._canceling.pop(order.ref, None)
            if status in FINAL_STATES:
                self.ledger.order_done(self.strategy_id, state.client_order_id)
        if delta > 1e-9 or not order.alive():
            for other in self._oco.pop(order.ref, []):  # one cancels the other(s)
                if other is not order and other.alive():
                    self.cancel(other)

    def _execute(self, order: bt.Order, size: float, price: float, at: datetime, execution_id: str,
                 record: tuple[str, float, float] | None = None) -> None:
        data = order.data
        pos = self.getposition(data)
        pprice_orig = pos.price
        psize, pprice, opened, closed = pos.update(size, price)
        if abs(pos.size) < 1e-9:
            pos.size, pos.price = 0.0, 0.0
            psize, pprice = 0.0, 0.0
        ci = order.comminfo
        order.execute(bt.date2num(at.astimezone(UTC).replace(tzinfo=None)), size, price,
                      closed, ci.getoperationcost(closed, pprice_orig), ci.getcommission(closed, price),
                      opened, ci.getoperationcost(opened, price), ci.getcommission(opened, price),
                      price, ci.profitandloss(-closed, pprice_orig, price), psize, pprice)
        self.ledger.apply_fill(self.strategy_id, data_symbol(data), size, price, execution_id,
                               order=record)
        self._account_at = -float("inf")  # cash changed: re-read at the next cycle

    def notify(self, order: bt.Order) -> None:
        self.notifs.append(order.clone())

    def get_notification(self):
        return self.notifs.popleft() if self.notifs else None

    def _log(self, event: str, order: bt.Order, **fields) -> None:
        if self.order_log is not None:
            self.order_log.write(event, ts=self.clock(), strategy=self.strategy_id, ref=order.ref,
                                 symbol=data_symbol(order.data), side="buy" if order.isbuy() else "sell",
                                 size=abs(order.size), executed=abs(order.executed.size),
                                 price=order.executed.price or None, **fields)

    # --- per cycle and reconciliation ---------------------------------------------------------
    def next(self) -> None:
        self._drain_updates()
        self._release_parked()
        self.refresh_account()
        in_flight = any(o.alive() for o in self._orders.values()) or bool(self._held or self._parked)
        if not in_flight and time.monotonic() - self._reconciled_at >= self.config.reconcile_interval_s:
            try:
                self.reconcile()
            except AlpacaError as err:
                logger.warning("Reconciliation failed (%s); retrying at the next interval", err)
                self._reconciled_at = time.monotonic()
        super().next()

    def reconcile(self) -> ReconciliationReport:
        """Compare the broker's positions and open orders with the attribution (``reconcile``);
        a mismatch pauses entries (guard and broker), a clean one lifts the pause."""
        positions = self.rest.positions()
        open_orders = self.rest.open_orders()
        self.ledger.reload()
        if any(cid not in self._known_cids for cid in self.ledger.open_records(self.strategy_id)):
            self.rebuild_orders()  # a record the start could not look up
        cids = [o.client_order_id for o in open_orders] + [
            leg.client_order_id for o in open_orders for leg in o.legs]
        now = self.clock()
        report = reconcile({p.symbol: p.qty for p in positions}, self.ledger, now=now,
                           open_order_ids=cids, known_order_ids=self._known_cids,
                           prefix=self.config.client_order_prefix)
        self.last_reconciliation = report
        self._reconciled_at = time.monotonic()
        if report.ok:
            logger.info("Reconciliation: %s", report.summary())
            if getattr(self, "guard", None) is not None:
                self.guard.resume(RECONCILIATION, report.summary(), now)
        else:
            logger.warning("Reconciliation MISMATCH, entries paused: %s", report.summary())
            if getattr(self, "guard", None) is not None:
                self.guard.pause(RECONCILIATION, report.summary(), now)
        if self.order_log is not None:
            self.order_log.write("reconciliation", ts=now, strategy=self.strategy_id, ok=report.ok,
                                 attributed=report.attributed, unattributed=report.unattributed,
                                 mismatches=[m.detail for m in report.mismatches])
        return report


class AlpacaBroker(GuardedBrokerMixin, AlpacaBrokerCore):
    """``AlpacaBrokerCore`` with the suite's risk guard in front (``attach_guard``): what the
    paper/live runner uses. Construct it with ``AlpacaStore.getbroker(strategy_id=...)``."""
