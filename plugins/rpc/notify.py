"""Notifications of the suite through Freqtrade's ``dp.send_msg``.

``dp.send_msg`` queues a ``strategy_msg`` that Freqtrade delivers, at the end of the bot
loop, to every RPC module whose config has ``allow_custom_messages: true`` (``telegram``,
``webhook``; ``api_server`` for its websocket). It is meant for the bot thread; messages from
REST and Telegram threads (a kill-switch reset, a review ready) therefore go to an
:class:`Outbox` that the bot thread flushes at each ``bot_loop_start`` (``SuiteRpc.poll``).

Breaker trips and stage changes are sent by ``RiskGuardMixin`` itself; this module adds the
kill-switch reset, drift alerts (:class:`DriftAlerts`: each finding once) and review-ready.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: Characters Telegram's legacy Markdown (the parse mode Freqtrade sends ``strategy_msg`` with)
#: reads as entity delimiters; an unpaired one makes Telegram reject the whole message.
_MARKDOWN_SPECIAL = str.maketrans({"_": " ", "*": "", "`": "'", "[": "(", "]": ")"})


def notification_text(text: str) -> str:
    """``text`` made safe for every ``allow_custom_messages`` receiver: Freqtrade sends it to
    Telegram as legacy Markdown, where ``daily_loss`` would open an italic entity that never
    closes (https://core.telegram.org/bots/api#markdown-style). Underscores become spaces,
    ``*`` is dropped, backticks and brackets become plain quotes and parentheses."""
    return text.translate(_MARKDOWN_SPECIAL)


def send_notification(dp: Any, text: str) -> None:
    """``dp.send_msg`` of :func:`notification_text` (the bot thread only)."""
    dp.send_msg(notification_text(text))


class Outbox:
    """A thread-safe queue of notification texts, delivered by :meth:`flush` in the bot
    thread."""

    def __init__(self) -> None:
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()

    def put(self, text: str) -> None:
        """Queue ``text`` (any thread)."""
        with self._lock:
            self._queue.append(text)

    def flush(self, send: Callable[[str], None]) -> int:
        """Send every queued text with ``send`` (the bot thread); returns how many."""
        with self._lock:
            texts, self._queue = list(self._queue), deque()
        for text in texts:
            send(notification_text(text))
        return len(texts)


def finding_key(finding: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """Identity of a drift finding: provider, column, kind, and when it was observed."""
    return (finding["provider"], finding["column"], finding["kind"], finding["observed_at"])


def drift_text(finding: Mapping[str, Any]) -> str:
    what = "schema change" if finding["kind"] == "schema" else "drift"
    return f"Alt-data {what}: {finding['provider']}.{finding['column']}: {finding['detail']}"


class DriftAlerts:
    """New drift findings since the last check, each reported once per bot process.

    ``DriftMonitor.status()`` keeps a provider's findings until its next check replaces them,
    so the same finding is seen at many loops; it is identified by :func:`finding_key`.
    """

    def __init__(self) -> None:
        self._seen: set[tuple[str, str, str, str]] = set()

    def new(self, status: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
        """Texts of the findings in ``status`` (``DriftMonitor.status()``) not reported yet."""
        texts = []
        for findings in status.values():
            for finding in findings:
                key = finding_key(finding)
                if key not in self._seen:
                    self._seen.add(key)
                    texts.append(drift_text(finding))
        return texts


def review_ready_text(review_id: str, summary: str) -> str:
    return f"Review {review_id} ready: {summary} Approve with /approve {review_id}"
