"""Running a change in the bot thread, on behalf of a REST or Telegram request.

Freqtrade's bot loop runs in the main thread; the suite's risk guard reads and writes the
kill switch's locks and the equity peak there at every ``bot_loop_start``. A request thread
that changed them at the same time could interleave with that loop. So changes are submitted
here and run by ``SuiteRpc.poll()``, which the risk guard calls in ``bot_loop_start`` right
after its own loop; the request waits (at most ``BOT_LOOP_WAIT_S``) for the result.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from plugins.core.errors import SuiteError

#: How long a request waits for the bot loop to run a state change (process_throttle_secs is
#: 5 s by default; a stopped bot runs no loop).
BOT_LOOP_WAIT_S = 30.0
T = TypeVar("T")


class BotLoopTimeout(SuiteError):
    """No bot loop ran within ``BOT_LOOP_WAIT_S`` (the bot is stopped or busy); the request
    was withdrawn and changed nothing. REST answers 504, Telegram says so; retry later."""


@dataclass
class _Call(Generic[T]):
    fn: Callable[[], T]
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    result: T | None = None
    error: BaseException | None = None


class BotThreadCalls:
    """Calls submitted from REST / Telegram threads and run in the bot thread between two bot
    loops (``run_pending`` from ``SuiteRpc.poll``); the submitter waits for the result."""

    def __init__(self) -> None:
        self._pending: deque[_Call] = deque()
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], T], timeout_s: float = BOT_LOOP_WAIT_S) -> T:
        """Run ``fn`` in the bot thread and return its result (or raise its exception).

        Raises:
            BotLoopTimeout: no bot loop picked it up within ``timeout_s`` (then it never runs).
        """
        item: _Call[T] = _Call(fn)
        with self._lock:
            self._pending.append(item)
        if not item.done.wait(timeout_s):
            with self._lock:
                if not item.started:
                    self._pending.remove(item)
                    raise BotLoopTimeout(f"no bot loop ran within {timeout_s:g} s (is the bot "
                                         "stopped?); nothing was changed")
            item.done.wait()  # it started just now: wait for it to finish
        if item.error is not None:
            raise item.error
        return item.result

    def run_pending(self) -> int:
        """Run every submitted call (bot thread); returns how many ran."""
        ran = 0
        while True:
            with self._lock:
                if not self._pending:
                    return ran
                item = self._pending.popleft()
                item.started = True
            try:
                item.result = item.fn()
            except Exception as err:  # noqa: BLE001 - handed to the submitting thread, raised there
                item.error = err
            finally:
                item.done.set()
            ran += 1
