"""Reconciliation: broker positions vs. positions attributed to each strategy (seed 003).

The broker knows account-level positions only; the suite keeps its own attribution, built from
its own fills (orders it sent carry ``<prefix>-<strategy>-...`` as ``client_order_id``): the
``AttributionLedger``. ``reconcile`` compares the two per symbol (quantities in shares,
signed; tolerance ``tol``):

- broker == attributed total: consistent;
- attributed 0, broker holds some: *unattributed* (holdings the suite did not open, e.g.
  bought by hand). Reported, never touched: the broker refuses to sell below what a strategy
  holds, so an unattributed position cannot be closed by a strategy;
- broker holds more than attributed, same side: the excess is *unattributed*;
- broker holds less than attributed, or the other side, or nothing: a *mismatch* (a manual
  close, a missed fill, a corporate action): alert (log WARNING, journal ``breaker``/``trip``
  ``reconciliation_mismatch``) and new entries pause until a reconciliation is clean again;
- an open order at the broker with the suite's prefix that neither the session nor any
  strategy's order records know (an orphan) is a mismatch too. Orders without the prefix are
  not the suite's and are ignored;
- a fill of a strategy's order that no order record explains (*unreconciled*: the ledger
  cannot tell whether it was attributed before) is a mismatch until a human settles it.

Order records: every order a strategy sends is recorded in its ledger file *before* it is sent
(``track_order``: ``client_order_id``, symbol, side), gets Alpaca's id once accepted
(``placed``), and carries the quantity of its fills already attributed (``filled_qty``,
updated in the same atomic write as the holding, ``apply_fill(order=...)``). A restarted
session rebuilds its orders from these records and the broker (``AlpacaBrokerCore.start``):
whatever filled meanwhile is attributed exactly once.

A human settles a mismatch with ``python -m adapters.alpaca reconcile --accept-broker``: each
strategy's quantity in a mismatched symbol is cut to what the broker holds, and unreconciled
fills in it are dropped (the broker's excess stays unattributed, never traded) - journaled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from plugins.core.atomic import atomic_write

LEDGER_VERSION = 1
#: Execution ids remembered to apply each fill once (a replay after reconnect is ignored).
MAX_EXECUTIONS = 10_000
#: Finished order records kept per strategy (a late event of one adds nothing twice).
MAX_DONE_ORDERS = 1_000


@dataclass
class Holding:
    """A strategy's position in one symbol: ``qty`` shares (< 0 short), ``avg_price`` USD."""

    qty: float = 0.0
    avg_price: float = 0.0


@dataclass
class OrderRecord:
    """One order a strategy sent: ``side`` buy/sell, ``order_id`` Alpaca's (None until
    accepted), ``filled_qty`` shares of its fills already attributed (cumulative, >= 0) at
    ``avg_price`` USD, ``done`` once it can fill no more."""

    symbol: str
    side: str
    order_id: str | None = None
    filled_qty: float = 0.0
    avg_price: float = 0.0
    done: bool = False


class AttributionLedger:
    """Positions attributed to each strategy, from the suite's own fills.

    One JSON file per strategy (``<folder>/<strategy>.json``, written atomically), so sessions
    of several strategies on one account never overwrite each other's attribution;
    ``reload`` re-reads the others' files before a reconciliation. A file holds the
    strategy's holdings, the execution ids applied, its order records (``OrderRecord`` by
    ``client_order_id``, module docstring) and its unreconciled fills.

    Args:
        folder: ``StatePaths.ledger``; None keeps everything in memory (backtests, tests).
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.strategies: dict[str, dict[str, Holding]] = {}
        self.orders: dict[str, dict[str, OrderRecord]] = {}
        #: strategy -> Alpaca order id -> {client_order_id, symbol, qty (signed), detail}
        self.unreconciled: dict[str, dict[str, dict]] = {}
        self._executions: dict[str, list[str]] = {}
        self._seen: set[str] = set()
        self.reload()

    def reload(self) -> None:
        """Read every strategy's file (a no-op in memory).

        Raises:
            ValueError: a file of another ledger version.
        """
        if self.folder is None or not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != LEDGER_VERSION:
                raise ValueError(f"{path}: ledger version {data.get('version')} is not {LEDGER_VERSION}")
            sid = path.stem
            self.strategies[sid] = {sym: Holding(**h) for sym, h in data.get("holdings", {}).items()}
            self.orders[sid] = {cid: OrderRecord(**o) for cid, o in data.get("orders", {}).items()}
            self.unreconciled[sid] = dict(data.get("unreconciled", {}))
            self._executions[sid] = list(data.get("executions", []))
            self._seen.update(self._executions[sid])

    def save(self, strategy: str) -> None:
        """Write ``strategy``'s file atomically (no-op in memory)."""
        if self.folder is None:
            return
        held = self.strategies.get(strategy, {})
        orders = self.orders.get(strategy, {})
        done = [cid for cid, o in orders.items() if o.done]
        for cid in done[:-MAX_DONE_ORDERS]:
            del orders[cid]
        data = {"version": LEDGER_VERSION, "strategy": strategy,
                "holdings": {sym: {"qty": h.qty, "avg_price": h.avg_price}
                             for sym, h in held.items() if h.qty},
                "executions": self._executions.get(strategy, [])[-MAX_EXECUTIONS:],
                "orders": {cid: vars(o) for cid, o in orders.items()},
                "unreconciled": self.unreconciled.get(strategy, {})}
        text = json.dumps(data, indent=1, sort_keys=True)
        atomic_write(self.folder / f"{strategy}.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def holding(self, strategy: str, symbol: str) -> Holding:
        return self.strategies.setdefault(strategy, {}).setdefault(symbol, Holding())

    # --- order records ----------------------------------------------------------------------
    def order(self, strategy: str, client_order_id: str) -> OrderRecord | None:
        """The record of one of ``strategy``'s orders, or None."""
        return self.orders.get(strategy, {}).get(client_order_id)

    def track_order(self, strategy: str, client_order_id: str, symbol: str, side: str,
                    order_id: str | None = None) -> OrderRecord:
        """Record an order about to be sent (or just learnt of, a bracket leg); saved. An
        existing record is kept (and given ``order_id``)."""
        record = self.orders.setdefault(strategy, {}).setdefault(
            client_order_id, OrderRecord(symbol=symbol, side=side))
        if order_id is not None:
            record.order_id = order_id
        self.save(strategy)
        return record

    def order_done(self, strategy: str, client_order_id: str) -> None:
        """Mark a recorded order finished (filled, canceled, rejected, expired); saved."""
        record = self.order(strategy, client_order_id)
        if record is not None and not record.done:
            record.done = True
            self.save(strategy)

    def open_records(self, strategy: str) -> dict[str, OrderRecord]:
        """``strategy``'s records of orders not known to be finished, by client order id."""
        return {cid: o for cid, o in self.orders.get(strategy, {}).items() if not o.done}

    def known_order_ids(self) -> set[str]:
        """Client order ids of every strategy's recorded orders."""
        return {cid for records in self.orders.values() for cid in records}

    def add_unreconciled(self, strategy: str, order_id: str, client_order_id: str, symbol: str,
                         qty: float, detail: str) -> None:
        """Remember a fill nobody can attribute (module docstring); saved. ``qty`` signed
        shares, cumulative for the order."""
        self.unreconciled.setdefault(strategy, {})[order_id] = {
            "client_order_id": client_order_id, "symbol": symbol, "qty": qty, "detail": detail}
        self.save(strategy)

    def apply_fill(self, strategy: str, symbol: str, qty: float, price: float,
                   execution_id: str | None = None,
                   order: tuple[str, float, float] | None = None) -> bool:
        """Add a fill of ``qty`` shares (< 0 sold) at ``price``; False (nothing changed) when
        ``execution_id`` was applied before. Saved at once.

        Args:
            order: ``(client_order_id, cumulative filled qty, its average price)``: the order
                record is brought to these in the same write (created when missing).
        """
        if execution_id is not None:
            if execution_id in self._seen:
                return False
            self._seen.add(execution_id)
            self._executions.setdefault(strategy, []).append(execution_id)
        if order is not None:
            cid, cumulative, average = order
            record = self.orders.setdefault(strategy, {}).setdefault(
                cid, OrderRecord(symbol=symbol, side="buy" if qty > 0 else "sell"))
            record.filled_qty, record.avg_price = cumulative, average
        held = self.holding(strategy, symbol)
        new = held.qty + qty
        if abs(new) < 1e-12:
            held.qty, held.avg_price = 0.0, 0.0
        elif held.qty == 0 or (held.qty > 0) != (new > 0):
            held.qty, held.avg_price = new, price  # opened or flipped
        elif abs(new) > abs(held.qty):
            held.avg_price = (held.avg_price * held.qty + price * qty) / new
            held.qty = new
        else:
            held.qty = new  # reduced: average unchanged
        self.save(strategy)
        return True

    def totals(self) -> dict[str, float]:
        """Attributed quantity per symbol, summed over strategies (non-zero only)."""
        out: dict[str, float] = {}
        for held in self.strategies.values():
            for symbol, h in held.items():
                if h.qty:
                    out[symbol] = out.get(symbol, 0.0) + h.qty
        return out

    def accept_broker(self, broker_qty: dict[str, float], symbols: Iterable[str]) -> list[str]:
        """Cut attribution in ``symbols`` to what the broker holds and drop their unreconciled
        fills (human settlement of a mismatch); returns ``strategy:symbol old->new`` lines.
        Saved."""
        changes = []
        symbols = list(symbols)
        for sid, fills in sorted(self.unreconciled.items()):
            dropped = [oid for oid, f in fills.items() if f["symbol"] in symbols]
            for oid in dropped:
                fill = fills.pop(oid)
                changes.append(f"{sid}:{fill['symbol']} unreconciled fill of order "
                               f"{fill['client_order_id']} ({fill['qty']:g}) left unattributed")
            if dropped:
                self.save(sid)
        for symbol in symbols:
            remaining = broker_qty.get(symbol, 0.0)
            for sid, held in sorted(self.strategies.items()):
                h = held.get(symbol)
                if h is None or not h.qty:
                    continue
                same_side = remaining * h.qty > 0
                new = (min(abs(h.qty), abs(remaining)) if same_side else 0.0) * (1 if h.qty > 0 else -1)
                remaining -= new
                changes.append(f"{sid}:{symbol} {h.qty:g}->{new:g}")
                h.qty = new
                if not new:
                    h.avg_price = 0.0
                self.save(sid)
        return changes


@dataclass(frozen=True)
class Mismatch:
    """A symbol (or an order) where the broker disagrees with the attribution."""

    symbol: str
    attributed: float
    broker: float
    detail: str


@dataclass(frozen=True)
class ReconciliationReport:
    """The result of one reconciliation (quantities in shares, signed)."""

    at: datetime
    attributed: dict[str, dict[str, float]]
    unattributed: dict[str, float]
    mismatches: tuple[Mismatch, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        """One line: what matched, what is unattributed, what mismatched."""
        parts = [f"{len(self.mismatches)} mismatch(es)" if self.mismatches else "consistent"]
        if self.unattributed:
            held = ", ".join(f"{s} {q:g}" for s, q in sorted(self.unattributed.items()))
            parts.append(f"unattributed {held}")
        parts.extend(m.detail for m in self.mismatches)
        return "; ".join(parts)

    def lines(self) -> list[str]:
        """A readable table: one row per strategy holding, unattributed holding, mismatch."""
        rows = [f"Reconciliation at {self.at.isoformat()}: {'OK' if self.ok else 'MISMATCH'}"]
        for sid, held in sorted(self.attributed.items()):
            for symbol, qty in sorted(held.items()):
                rows.append(f"  strategy {sid:<24} {symbol:<8} {qty:>14g}")
        for symbol, qty in sorted(self.unattributed.items()):
            rows.append(f"  unattributed {'(not touched)':<20} {symbol:<8} {qty:>14g}")
        for m in self.mismatches:
            rows.append(f"  MISMATCH {m.symbol:<8} attributed {m.attributed:g} broker {m.broker:g}: "
                        f"{m.detail}")
        return rows


def reconcile(broker_qty: dict[str, float], ledger: AttributionLedger, *, now: datetime,
              open_order_ids: Iterable[str] = (), known_order_ids: Iterable[str] = (),
              prefix: str = "ais", tol: float = 1e-6) -> ReconciliationReport:
    """Compare broker quantities with the ledger (rules in the module docstring).

    Args:
        broker_qty: ``{symbol: signed shares}`` from ``GET /v2/positions``.
        ledger: the suite's attribution.
        now: time of the check (UTC).
        open_order_ids: ``client_order_id`` of every open order at the broker.
        known_order_ids: ``client_order_id`` of the orders this session placed or adopted
            (every strategy's order records count as known too).
        prefix: ``client_order_prefix``; only orders with it can be orphans.
    """
    attributed = ledger.totals()
    unattributed: dict[str, float] = {}
    mismatches: list[Mismatch] = []
    for sid, fills in sorted(ledger.unreconciled.items()):
        for fill in fills.values():
            mismatches.append(Mismatch(fill["symbol"], attributed.get(fill["symbol"], 0.0),
                                       broker_qty.get(fill["symbol"], 0.0),
                                       f"{sid}: {fill['detail']}"))
    for symbol in sorted(set(attributed) | set(broker_qty)):
        a, b = attributed.get(symbol, 0.0), broker_qty.get(symbol, 0.0)
        if abs(a) <= tol:
            if abs(b) > tol:
                unattributed[symbol] = b
        elif a * b > 0 and abs(b) >= abs(a) - tol:
            if abs(b - a) > tol:
                unattributed[symbol] = b - a
        else:
            mismatches.append(Mismatch(symbol, a, b, f"{symbol}: strategies hold {a:g}, broker {b:g}"))
    known = set(known_order_ids) | ledger.known_order_ids()
    for cid in sorted(open_order_ids):
        if cid.startswith(f"{prefix}-") and cid not in known:
            mismatches.append(Mismatch("-", 0.0, 0.0, f"open order {cid} is the suite's but unknown "
                                                      "to this session (orphan)"))
    held = {sid: {s: h.qty for s, h in hs.items() if h.qty} for sid, hs in ledger.strategies.items()}
    return ReconciliationReport(at=now, attributed={k: v for k, v in held.items() if v},
                                unattributed=unattributed, mismatches=tuple(mismatches))
