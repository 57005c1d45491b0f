"""Calls handed from request threads to the bot thread: results, errors and timeouts."""

from __future__ import annotations

import threading

import pytest

from plugins.rpc.botthread import BotLoopTimeout, BotThreadCalls


def submit(calls: BotThreadCalls, fn, timeout_s: float = 5.0) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["result"] = calls.call(fn, timeout_s)
        except Exception as err:  # noqa: BLE001 - the test inspects it
            out["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def run_until_done(calls: BotThreadCalls, thread: threading.Thread) -> int:
    ran = 0
    while thread.is_alive():
        ran += calls.run_pending()
        thread.join(0.01)
    return ran


def test_call_when_bot_thread_runs_it_then_caller_gets_the_result_from_that_thread():
    calls = BotThreadCalls()
    thread, out = submit(calls, lambda: threading.current_thread().name)

    ran = run_until_done(calls, thread)

    assert ran == 1 and out["result"] == threading.current_thread().name


def test_call_when_it_raises_then_the_caller_gets_the_exception():
    calls = BotThreadCalls()
    thread, out = submit(calls, lambda: 1 / 0)

    run_until_done(calls, thread)

    assert isinstance(out["error"], ZeroDivisionError)


def test_call_when_no_loop_runs_then_timeout_and_never_run_later():
    calls, ran = BotThreadCalls(), []

    with pytest.raises(BotLoopTimeout, match="nothing was changed"):
        calls.call(lambda: ran.append(1), timeout_s=0.05)

    assert calls.run_pending() == 0 and ran == []
