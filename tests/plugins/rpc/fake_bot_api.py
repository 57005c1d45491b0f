"""A local fake of the Telegram Bot API (the subset python-telegram-bot's polling uses).

Answers ``getMe``, ``deleteWebhook``, ``getUpdates`` (serves queued updates, else waits
briefly and returns none), ``sendMessage`` (records the body, returns a Message) and any
other method with ``true``, in the Bot API's documented envelope ``{"ok": true, "result": ...}``.
Requests arrive as python-telegram-bot sends them: POST ``/bot<token>/<method>`` with a
form-encoded body whose non-string values are JSON.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT = {"id": 777000, "is_bot": True, "first_name": "Suite test bot", "username": "suite_test_bot",
       "can_join_groups": True, "can_read_all_group_messages": False,
       "supports_inline_queries": False}
POLL_WAIT_S = 0.2


class FakeBotApi:
    """The fake server on ``127.0.0.1`` (a free port); ``base_url`` for ``Application``."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1
        self._cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw))
                method = self.path.rsplit("/", 1)[-1]
                body = json.dumps({"ok": True, "result": fake.answer(method, params)}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped polling (shutdown) before the answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def __enter__(self) -> FakeBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        with self._cond:
            self.calls.append(method)
            self.requests.append((method, params))
            self._cond.notify_all()
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            return self._updates_from(int(params.get("offset") or 0))
        if method == "sendMessage":
            with self._cond:
                self.sent.append(params)
                message_id = self._next_message
                self._next_message += 1
                self._cond.notify_all()
            return {"message_id": message_id, "date": int(time.time()),
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "from": BOT, "text": params.get("text", "")}
        return True

    def _updates_from(self, offset: int) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: any(u["update_id"] >= offset for u in self._updates),
                                timeout=POLL_WAIT_S)
            return [u for u in self._updates if u["update_id"] >= offset]

    def command(self, chat_id: int, text: str, user_id: int | None = None) -> None:
        """Queue a private-chat message ``text`` (a ``/command args``) from ``chat_id``."""
        command = text.split()[0]
        with self._cond:
            update_id = self._next_update
            self._next_update += 1
            user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Trader",
                    "username": f"trader{user_id or chat_id}"}
            self._updates.append({"update_id": update_id, "message": {
                "message_id": 1000 + update_id, "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"}, "from": user, "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}})
            self._cond.notify_all()

    def wait_for(self, what: str, condition, timeout_s: float = 20.0) -> None:
        """Block until ``condition(self)`` holds; AssertionError naming ``what`` otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: condition(self), timeout=timeout_s):
                raise AssertionError(f"fake Bot API: timed out waiting for {what}; "
                                     f"calls {self.calls[-10:]}, sent {self.sent}")
