"""Fixtures of the Alpaca adapter tests: a local Alpaca (REST + streams) and configs for it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import backtrader as bt
import pytest
from pytest_httpserver import HTTPServer

from adapters.alpaca.config import AlpacaConfig, AlpacaCredentials, AlpacaRunConfig
from adapters.alpaca.runner import RunResult, run_paper
from adapters.alpaca.store import AlpacaStore
from plugins.risk.config import RiskConfig
from tests.adapters.alpaca.fake_alpaca import FakeAlpaca, FakeStreams, minute_bar, minutes_before

CREDENTIALS = AlpacaCredentials(key_id="PKTEST00000000001234", secret_key="test-secret-not-real")
HISTORY_BARS = 5


@pytest.fixture(scope="session")
def alpaca_http() -> Iterator[HTTPServer]:
    """One local HTTP server on 127.0.0.1 for every test (stopping one takes 0.5 s)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(alpaca_http: HTTPServer) -> Iterator[FakeAlpaca]:
    """A fresh local Alpaca paper account: REST on 127.0.0.1 (pytest-httpserver) and the two
    websocket streams on a free port."""
    account = FakeAlpaca(rest_url=f"http://127.0.0.1:{alpaca_http.port}")
    alpaca_http.clear()
    alpaca_http.expect_request(_ANY).respond_with_handler(account.handle)
    streams = FakeStreams(account)
    try:
        yield account
    finally:
        for timer in account.timers:
            timer.cancel()
        streams.close()
        alpaca_http.clear()


#: Every path goes to the fake, which routes requests itself.
_ANY = re.compile(r".*")


@pytest.fixture
def alpaca_config(fake: FakeAlpaca, tmp_path: Path) -> AlpacaConfig:
    """``ai_suite.alpaca`` pointed at the local Alpaca, with short waits."""
    return AlpacaConfig(trading_url=fake.rest_url, data_url=fake.rest_url,
                        trading_stream_url=fake.streams.trade_url, data_stream_url=fake.streams.data_url,
                        retry_backoff_s=0.01, retry_max_backoff_s=0.05, request_timeout_s=5,
                        stream_reconnect_min_s=0.05, stream_reconnect_max_s=0.2, account_refresh_s=0,
                        reconcile_interval_s=3600, state_dir=tmp_path / "alpaca")


@pytest.fixture
def suite(alpaca_config: AlpacaConfig) -> AlpacaRunConfig:
    """The suite config of paper tests: default risk, no FOMC/CPI blackout (tests run at any
    wall time, a real event must not decide them)."""
    return AlpacaRunConfig(alpaca=alpaca_config,
                       risk=RiskConfig(blackout_before_min=0, blackout_after_min=0))


class Script(bt.Strategy):
    """A hand-written strategy for broker tests: runs ``actions[n]`` (callables taking the
    strategy) on the n-th live bar (1-based) and logs every order notification to ``log``."""

    params = (("actions", None), ("log", None), ("bars", None))

    def __init__(self) -> None:
        self.live = 0
        self.orders: dict[str, bt.Order] = {}

    def notify_order(self, order: bt.Order) -> None:
        self.p.log.append((order.ref, order.getstatusname(), abs(order.executed.size),
                           order.executed.price, order.info.get("reject_reason")))

    def next(self) -> None:
        if any(d.is_backfilling() for d in self.datas):
            return
        if self.p.bars is not None:
            self.p.bars.extend((d.symbol, d.datetime.datetime(0), d.close[0]) for d in self.datas)
        self.live += 1
        for action in (self.p.actions or {}).get(self.live, []):
            action(self)


def session(fake: FakeAlpaca, suite: AlpacaRunConfig, actions: dict[int, list[Callable]], *,
            symbols: tuple[str, ...] = ("SPY",), bars: int = 6, interval_s: float = 0.25,
            between: Callable[[int], None] | None = None, strategy_id: str = "script",
            clock: Callable[[], datetime] | None = None, seen: list | None = None,
            push: Callable[[int], bool] | None = None, prices: list[float] | None = None,
            strategy: type[bt.Strategy] | None = None) -> tuple[RunResult, list]:
    """Run ``Script`` in a paper session against ``fake``: ``HISTORY_BARS`` minute bars of
    history over REST, then ``bars`` live minute bars per symbol pushed on the stream every
    ``interval_s`` (``between(i)`` after the i-th; ``push(i)`` False = the bar is only in
    REST, as if sent while the stream was down); ``seen`` collects the live bars the strategy
    saw; ``prices`` sets the close of each live bar (and the fill price from then on);
    ``strategy`` replaces ``Script`` (it then gets no parameters). Returns the result and the
    order log."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for symbol in symbols:
        fake.minute_bars[symbol] = minutes_before(now, HISTORY_BARS, fake.prices[symbol])
    log: list = []
    store = AlpacaStore(suite.alpaca, CREDENTIALS)
    box: dict = {}

    def target() -> None:
        try:
            kwargs = {"actions": actions, "log": log, "bars": seen} if strategy is None else {}
            box["result"] = run_paper(strategy or Script, list(symbols), store=store, suite=suite,
                                      strategy_id=strategy_id, timeframe="1m",
                                      history=timedelta(minutes=HISTORY_BARS + 1), max_bars=bars,
                                      duration_s=30, qcheck_s=0.05, clock=clock,
                                      names={s: f"{s}/USD" for s in symbols} if strategy else None,
                                      strategy_kwargs=kwargs)
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = err

    streams = fake.streams
    trade0, data0, subscribed0 = streams.trade_connects, streams.data_connects, len(streams.subscribed)
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    # this session's own connections (a restart test runs several sessions on one fake)
    wait_for(lambda: streams.data_connects > data0 and streams.trade_connects > trade0
             and sum(streams.subscribed[subscribed0:], []).count(symbols[-1]),
             what="streams connected")
    for i in range(bars):
        for symbol in symbols:
            if prices is not None:
                fake.prices[symbol] = prices[i]
            bar = minute_bar(now + timedelta(minutes=i), fake.prices[symbol])
            fake.minute_bars[symbol].append(bar)
            if push is None or push(i + 1):
                fake.streams.push_bar(symbol, bar)
        time.sleep(interval_s)
        if between is not None:
            between(i + 1)
    thread.join(timeout=40)
    assert not thread.is_alive(), "paper session did not end"
    if "error" in box:
        raise box["error"]
    return box["result"], log


def wait_for(condition: Callable[[], object], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition`` every 10 ms until true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(log: list, ref: int) -> list[str]:
    """The notified statuses of order ``ref``, in order, consecutive repeats collapsed."""
    out: list[str] = []
    for r, status, *_ in log:
        if r == ref and (not out or out[-1] != status):
            out.append(status)
    return out
