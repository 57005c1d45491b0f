"""A local Alpaca paper account for tests: REST on pytest-httpserver, streams on websockets.

It answers in Alpaca's documented formats (Trading API v2: account, assets, orders, positions;
Market Data API v2: ``/v2/stocks/bars`` with ``next_page_token``; the ``trade_updates``
stream in JSON; the market-data stream in msgpack), so alpaca-py's real clients talk to it
exactly as to Alpaca. Behaviour is scripted per test:

- ``plans[symbol]`` (buys) / ``sell_plans[symbol]`` (sells): what happens to a new order -
  ``"fill"`` (new, fill), ``"partial"`` (new,
  partial_fill 40 %, fill), ``"hold"`` (a non-market order stays new until canceled), ``"reject_async"`` (new,
  then a ``rejected`` trade update), ``"fill_silently"`` (filled with no trade update: a fill
  missed while the stream was down), ``"bracket_take_profit"`` (parent fills, the take-profit
  leg fills, the stop leg is canceled), ``"oco_stop"`` / ``"oco_take"`` (an OCO exit: the stop
  leg / the take-profit parent fills, the other is canceled);
- ``reject_next``: answer the next ``POST /v2/orders`` with an Alpaca error (e.g. 403
  insufficient buying power);
- ``failures``: queued HTTP failures ``(method, path prefix, status, body, headers)``;
- ``fail_after_create``: create the order, then answer 500 (tests idempotent retries);
- ``minute_bars``: bars served by REST and, with ``stream_bars``, pushed on the stream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgpack
from websockets.asyncio.server import serve
from werkzeug import Request, Response

ASSET_IDS: dict[str, str] = {}


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _asset_id(symbol: str) -> str:
    return ASSET_IDS.setdefault(symbol, str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)))


@dataclass
class Holding:
    qty: float
    avg_price: float


@dataclass
class FakeAlpaca:
    """The account's state and the scripted behaviour (module docstring)."""

    cash: float = 100_000.0
    prices: dict[str, float] = field(default_factory=lambda: {"SPY": 500.0, "QQQ": 400.0, "AAPL": 200.0})
    positions: dict[str, Holding] = field(default_factory=dict)
    orders: dict[str, dict] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)
    sell_plans: dict[str, str] = field(default_factory=dict)
    fractionable: set[str] = field(default_factory=lambda: {"SPY", "QQQ", "AAPL"})
    failures: list[tuple[str, str, int, str, dict]] = field(default_factory=list)
    reject_next: tuple[int, int, str] | None = None
    fail_after_create: bool = False
    minute_bars: dict[str, list[dict]] = field(default_factory=dict)
    daily_bars: dict[str, list[dict]] = field(default_factory=dict)
    page_size: int = 50
    daytrade_count: int | None = None
    requests: list[tuple[str, str, dict]] = field(default_factory=list)
    streams: FakeStreams | None = None
    rest_url: str = ""
    timers: list[threading.Timer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()

    # --- account ---------------------------------------------------------------------------
    def equity(self) -> float:
        return self.cash + sum(h.qty * self.prices.get(s, h.avg_price) for s, h in self.positions.items())

    def account_json(self) -> dict:
        equity = self.equity()
        data = {"id": "7e6b2b2a-0000-4000-8000-000000000001", "account_number": "PA0TEST",
                "status": "ACTIVE", "currency": "USD", "cash": f"{self.cash:.2f}",
                "buying_power": f"{self.cash:.2f}", "portfolio_value": f"{equity:.2f}",
                "equity": f"{equity:.2f}", "last_equity": f"{equity:.2f}", "multiplier": "1",
                "trading_blocked": False, "account_blocked": False, "trade_suspended_by_user": False,
                "pattern_day_trader": False, "shorting_enabled": False}
        if self.daytrade_count is not None:
            data["daytrade_count"] = self.daytrade_count
        return data

    def position_json(self, symbol: str, h: Holding) -> dict:
        price = self.prices.get(symbol, h.avg_price)
        return {"asset_id": _asset_id(symbol), "symbol": symbol, "exchange": "ARCA",
                "asset_class": "us_equity", "avg_entry_price": f"{h.avg_price}", "qty": f"{abs(h.qty)}",
                "side": "long" if h.qty > 0 else "short", "market_value": f"{h.qty * price:.2f}",
                "cost_basis": f"{h.qty * h.avg_price:.2f}", "current_price": f"{price}",
                "qty_available": f"{abs(h.qty)}"}

    # --- orders ----------------------------------------------------------------------------
    def _order(self, body: dict, *, leg_of: str | None = None, side: str | None = None,
               type_: str | None = None, limit: float | None = None, stop: float | None = None) -> dict:
        now = _iso(datetime.now(UTC))
        oid = str(uuid.uuid4())
        limit = limit or body.get("limit_price")
        stop = stop or body.get("stop_price")
        cid = body.get("client_order_id") if leg_of is None else str(uuid.uuid4())
        return {"id": oid, "client_order_id": cid,
                "created_at": now, "updated_at": now, "submitted_at": now, "filled_at": None,
                "asset_id": _asset_id(body["symbol"]), "symbol": body["symbol"], "asset_class": "us_equity",
                "qty": str(body["qty"]), "filled_qty": "0", "filled_avg_price": None,
                "order_class": body.get("order_class", "simple") if leg_of is None else "bracket",
                "order_type": type_ or body["type"], "type": type_ or body["type"],
                "side": side or body["side"], "time_in_force": body["time_in_force"],
                "limit_price": None if limit is None else str(limit),
                "stop_price": None if stop is None else str(stop),
                "trail_percent": body.get("trail_percent"), "trail_price": body.get("trail_price"),
                "status": "held" if leg_of else "accepted", "extended_hours": False, "legs": None}

    def create_order(self, body: dict) -> dict:
        with self.lock:
            if body.get("order_class") == "oco":
                order = self._order(body, type_="limit", limit=body["take_profit"]["limit_price"])
                order["legs"] = [self._order(body, leg_of=order["id"], type_="stop",
                                             stop=body["stop_loss"]["stop_price"])]
                order["legs"][0]["status"] = "new"
                self.orders[order["legs"][0]["id"]] = order["legs"][0]
                self.orders[order["id"]] = order
                return order
            order = self._order(body)
            if body.get("order_class") == "bracket":
                exit_side = "sell" if body["side"] == "buy" else "buy"
                order["legs"] = [
                    self._order(body, leg_of=order["id"], side=exit_side, type_="limit",
                                limit=body["take_profit"]["limit_price"]),
                    self._order(body, leg_of=order["id"], side=exit_side, type_="stop",
                                stop=body["stop_loss"]["stop_price"])]
                for leg in order["legs"]:
                    self.orders[leg["id"]] = leg
            self.orders[order["id"]] = order
            return order

    def fill(self, order: dict, qty: float, price: float | None = None, *, event: bool = True) -> None:
        """Fill ``qty`` more shares of ``order`` (at the symbol's price), updating the account."""
        with self.lock:
            symbol = order["symbol"]
            price = price or self.prices[symbol]
            done = float(order["filled_qty"])
            avg = float(order["filled_avg_price"] or 0)
            total = done + qty
            order["filled_avg_price"] = str((avg * done + price * qty) / total)
            order["filled_qty"] = str(total)
            whole = abs(total - float(order["qty"])) < 1e-9
            order["status"] = "filled" if whole else "partially_filled"
            order["updated_at"] = _iso(datetime.now(UTC))
            if whole:
                order["filled_at"] = order["updated_at"]
            signed = qty if order["side"] == "buy" else -qty
            held = self.positions.get(symbol, Holding(0.0, 0.0))
            new = held.qty + signed
            if signed > 0 and held.qty >= 0:
                held.avg_price = (held.avg_price * held.qty + price * signed) / new
            held.qty = new
            if abs(new) < 1e-9:
                self.positions.pop(symbol, None)
            else:
                self.positions[symbol] = held
            self.cash -= signed * price
            if event:
                self.push("fill" if whole else "partial_fill", order, qty=qty, price=price,
                          position_qty=new, execution_id=str(uuid.uuid4()))

    def set_status(self, order: dict, status: str, event: str | None = None, **extra) -> None:
        with self.lock:
            order["status"] = status
            order["updated_at"] = _iso(datetime.now(UTC))
            if event:
                self.push(event, order, **extra)

    def push(self, event: str, order: dict, **extra) -> None:
        data = {"event": event, "order": dict(order), "timestamp": _iso(datetime.now(UTC))}
        for key, value in extra.items():
            data[key] = str(value) if isinstance(value, float) else value
        if self.streams is not None:
            self.streams.push_trade_update({"stream": "trade_updates", "data": data})

    def run_plan(self, order: dict) -> None:
        if order["status"] in ("canceled", "filled", "rejected", "expired"):
            return  # canceled before the venue got to it
        plans = self.plans if order["side"] == "buy" else self.sell_plans
        plan = plans.get(order["symbol"], "fill")
        if plan == "hold" and order["type"] == "market":
            plan = "fill"  # market orders do not rest
        qty = float(order["qty"])
        if plan == "fill_silently":
            self.set_status(order, "new")
            self.fill(order, qty, event=False)
            return
        self.set_status(order, "new", "new")
        if plan == "fill":
            self.fill(order, qty)
        elif plan == "partial":
            self.fill(order, round(qty * 0.4, 9))
            self.fill(order, qty - float(order["filled_qty"]))
        elif plan == "reject_async":
            self.set_status(order, "rejected", "rejected", reason="order size exceeds the venue limit")
        elif plan in ("oco_stop", "oco_take"):
            (stop,) = order["legs"]
            self.set_status(stop, "new", "new")
            filled, other = (stop, order) if plan == "oco_stop" else (order, stop)
            self.fill(filled, qty, float(filled["stop_price"] or filled["limit_price"]))
            self.set_status(other, "canceled", "canceled")
        elif plan == "bracket_take_profit":
            self.fill(order, qty)
            take, stop = order["legs"]
            self.set_status(take, "new", "new")
            self.fill(take, qty, float(take["limit_price"]))
            self.set_status(stop, "canceled", "canceled")

    # --- HTTP ------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path, method = request.path, request.method
        query = request.args.to_dict()
        self.requests.append((method, path, query))
        for i, (m, prefix, status, body, headers) in enumerate(self.failures):
            if m == method and path.startswith(prefix):
                del self.failures[i]
                return Response(body, status=status, headers=headers, content_type="application/json")
        try:
            return self._route(method, path, query, request)
        except KeyError as err:
            return _error(404, 40410000, f"not found: {err}")

    def _route(self, method: str, path: str, query: dict, request: Request) -> Response:
        if path == "/v2/account" and method == "GET":
            with self.lock:
                return _json(self.account_json())
        if path == "/v2/positions" and method == "GET":
            with self.lock:
                return _json([self.position_json(s, h) for s, h in self.positions.items()])
        if (m := re.fullmatch(r"/v2/assets/([A-Z.]+)", path)) and method == "GET":
            symbol = m.group(1)
            return _json({"id": _asset_id(symbol), "class": "us_equity", "exchange": "ARCA",
                          "symbol": symbol, "name": symbol, "status": "active", "tradable": True,
                          "marginable": True, "shortable": True, "easy_to_borrow": True,
                          "fractionable": symbol in self.fractionable})
        if path == "/v2/orders:by_client_order_id" and method == "GET":
            cid = query["client_order_id"]
            found = [o for o in self.orders.values() if o["client_order_id"] == cid]
            return _json(found[0]) if found else _error(404, 40410000, "order not found")
        if path == "/v2/orders" and method == "GET":
            with self.lock:
                legs = {leg["id"] for o in self.orders.values() for leg in (o.get("legs") or [])}
                open_ = [o for oid, o in self.orders.items() if oid not in legs and o["status"] in
                         ("new", "accepted", "partially_filled", "held", "pending_new")]
            return _json(open_)
        if path == "/v2/orders" and method == "POST":
            return self._post_order(json.loads(request.get_data(as_text=True)))
        if (m := re.fullmatch(r"/v2/orders/([0-9a-f-]+)", path)):
            order = self.orders[m.group(1)]
            if method == "GET":
                return _json(order)
            if method == "DELETE":
                if order["status"] in ("filled", "canceled", "expired", "rejected"):
                    return _error(422, 42210000, "order is not cancelable")
                self.set_status(order, "canceled", "canceled")
                return Response(status=204)
        if path == "/v2/stocks/bars" and method == "GET":
            return self._bars(query)
        return _error(404, 40410000, f"no route {method} {path}")

    def _post_order(self, body: dict) -> Response:
        if self.reject_next is not None:
            status, code, message = self.reject_next
            self.reject_next = None
            return _error(status, code, message)
        if float(body.get("qty") or 0) <= 0:
            return _error(422, 40010001, "qty must be > 0")
        if body["symbol"] not in self.prices:
            return _error(422, 40010001, f"asset \"{body['symbol']}\" not found")
        order = self.create_order(body)
        timer = threading.Timer(0.05, self.run_plan, args=(order,))
        self.timers.append(timer)
        timer.start()
        if self.fail_after_create:
            self.fail_after_create = False
            return _error(500, 50010000, "internal server error")
        return _json(order)

    def _bars(self, query: dict) -> Response:
        symbols = query["symbols"].split(",")
        source = self.daily_bars if query["timeframe"] == "1Day" else self.minute_bars
        start = datetime.fromisoformat(query["start"].replace("Z", "+00:00"))
        rows = [(s, b) for s in symbols for b in source.get(s, [])
                if datetime.fromisoformat(b["t"].replace("Z", "+00:00")) >= start]
        offset = int(base64.b64decode(query["page_token"]).decode()) if query.get("page_token") else 0
        page = rows[offset: offset + self.page_size]
        bars: dict[str, list] = {}
        for symbol, bar in page:
            bars.setdefault(symbol, []).append(bar)
        token = (base64.b64encode(str(offset + self.page_size).encode()).decode()
                 if offset + self.page_size < len(rows) else None)
        return _json({"bars": bars, "next_page_token": token})


def _json(data) -> Response:
    return Response(json.dumps(data), status=200, content_type="application/json")


def _error(status: int, code: int, message: str) -> Response:
    return Response(json.dumps({"code": code, "message": message}), status=status,
                    content_type="application/json")


def minute_bar(start: datetime, price: float) -> dict:
    """One REST-format minute bar (``t`` = start) around ``price``."""
    return {"t": _iso(start), "o": price, "h": price + 0.5, "l": price - 0.5, "c": price,
            "v": 1000.0, "n": 10.0, "vw": price}


class FakeStreams:
    """The two websocket endpoints on one local port: ``/stream`` (trade_updates, JSON) and
    ``/v2/iex`` (market data, msgpack), in a background event loop."""

    def __init__(self, fake: FakeAlpaca) -> None:
        self.fake = fake
        self.trade_clients: set = set()
        self.data_clients: set = set()
        self.trade_connects = 0
        self.data_connects = 0
        self.subscribed: list[list[str]] = []
        self.closed = False
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake-alpaca-ws")
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("fake websocket server did not start")
        fake.streams = self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.server = await serve(self._handler, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def trade_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream"

    @property
    def data_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v2/iex"

    async def _handler(self, ws) -> None:
        if ws.request.path == "/stream":
            await self._trade(ws)
        else:
            await self._data(ws)

    async def _trade(self, ws) -> None:
        auth = json.loads(await ws.recv())
        assert auth["action"] == "authenticate" and auth["data"]["key_id"]
        await ws.send(json.dumps({"stream": "authorization",
                                  "data": {"status": "authorized", "action": "authenticate"}}).encode())
        listen = json.loads(await ws.recv())
        assert listen == {"action": "listen", "data": {"streams": ["trade_updates"]}}
        await ws.send(json.dumps({"stream": "listening", "data": {"streams": ["trade_updates"]}}).encode())
        self.trade_clients.add(ws)
        self.trade_connects += 1
        try:
            await ws.wait_closed()
        finally:
            self.trade_clients.discard(ws)

    async def _data(self, ws) -> None:
        await ws.send(msgpack.packb([{"T": "success", "msg": "connected"}]))
        auth = msgpack.unpackb(await ws.recv())
        assert auth["action"] == "auth" and auth["key"]
        await ws.send(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
        sub = msgpack.unpackb(await ws.recv())
        self.subscribed.append(list(sub.get("bars", [])))
        await ws.send(msgpack.packb([{"T": "subscription", "trades": [], "quotes": [],
                                      "bars": sub.get("bars", []), "updatedBars": [], "dailyBars": [],
                                      "statuses": [], "lulds": [], "corrections": [],
                                      "cancelErrors": []}]))
        self.data_clients.add(ws)
        self.data_connects += 1
        try:
            async for raw in ws:  # later subscriptions
                msg = msgpack.unpackb(raw)
                if msg.get("action") == "subscribe":
                    self.subscribed.append(list(msg.get("bars", [])))
        finally:
            self.data_clients.discard(ws)

    def _call(self, coro, timeout: float = 5.0):
        if self.closed:
            coro.close()  # the test is over: nobody listens any more
            return None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def push_trade_update(self, message: dict) -> None:
        async def send() -> None:
            for ws in list(self.trade_clients):
                await ws.send(json.dumps(message).encode())
        self._call(send())

    def push_bar(self, symbol: str, bar: dict) -> None:
        """Send one minute bar (REST-format dict) as Alpaca's msgpack ``b`` message."""
        start = datetime.fromisoformat(bar["t"].replace("Z", "+00:00"))
        message = {"T": "b", "S": symbol, "o": bar["o"], "h": bar["h"], "l": bar["l"], "c": bar["c"],
                   "v": bar["v"], "t": msgpack.Timestamp.from_datetime(start), "n": bar["n"],
                   "vw": bar["vw"]}

        async def send() -> None:
            for ws in list(self.data_clients):
                await ws.send(msgpack.packb([message], datetime=False))
        self._call(send())

    def drop_trade_clients(self) -> None:
        async def drop() -> None:
            for ws in list(self.trade_clients):
                await ws.close()
        self._call(drop())

    def drop_data_clients(self) -> None:
        async def drop() -> None:
            for ws in list(self.data_clients):
                await ws.close()
        self._call(drop())

    def close(self) -> None:
        async def stop() -> None:
            for ws in list(self.trade_clients | self.data_clients):
                await ws.close()
            self.server.close()
            await self.server.wait_closed()
        try:
            self._call(stop())
        finally:
            self.closed = True
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


def minutes_before(now: datetime, count: int, price: float, step: float = 0.0) -> list[dict]:
    """``count`` consecutive minute bars ending at ``now`` (floored to the minute)."""
    end = now.replace(second=0, microsecond=0)
    return [minute_bar(end - timedelta(minutes=count - i), price + step * i) for i in range(count)]
