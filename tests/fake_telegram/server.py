"""A fake Telegram Bot API server for tests: real HTTP on 127.0.0.1, in-memory state.

PTB builds request URLs as ``base_url + token + "/" + method``; point it here with
``ApplicationBuilder().token(T).base_url(server.base_url)``. Parameters arrive as form fields
(multipart when a file is attached); PTB sends strings raw and everything else JSON-encoded.

Tests inject user updates (text, commands, button presses, photos, ...) and read, in order,
what the bot sent to each chat. Failures (429 with retry_after, 5xx) can be queued per method.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

BOT_USER = {
    "id": 999000,
    "is_bot": True,
    "first_name": "CareerBot",
    "username": "careerbot_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Fields PTB JSON-encodes; everything else is kept as the raw string.
_JSON_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "reply_markup",
    "entities",
    "commands",
    "allowed_updates",
    "reply_parameters",
    "disable_notification",
    "show_alert",
    "cache_time",
    "drop_pending_updates",
    "max_connections",
    "link_preview_options",
    "protect_content",
    "scope",
}


@dataclass
class Failure:
    status: int
    retry_after: int | None = None


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int


@dataclass
class FakeTelegram:
    """State of the fake Bot API. Create with :meth:`start`, stop with :meth:`stop`."""

    token: str = "123456:TEST-token-ABCdef"
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    sent: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))
    latency: float = 0.0
    # Called with (chat_id, message) for every message the bot sends, as it is stored: load
    # generators time replies with it instead of waiting on conditions.
    on_sent: Callable[[int, dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        self._holds: set[str] = set()
        self._released = asyncio.Event()
        self.held = 0  # calls waiting in a hold
        self.blocked: set[int] = set()  # chats that blocked the bot (or never pressed Start)
        self.documents: dict[int, list[bytes]] = defaultdict(list)  # files sent, per chat
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        # One condition per chat, so that many waiting users are not all woken by every message.
        self._chat_changed: dict[int, asyncio.Condition] = defaultdict(asyncio.Condition)
        self._server: tornado.httpserver.HTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> FakeTelegram:
        app = tornado.web.Application(
            [(r"/bot([^/]+)/(\w+)", _MethodHandler, {"fake": self})],
            log_function=lambda handler: None,  # tornado would log URLs with the token
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            with contextlib.suppress(Exception):
                await self._server.close_all_connections()
            self._server = None

    # -- test controls ----------------------------------------------------------------------

    def fail(
        self, method: str, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Make the next `times` calls of `method` fail with HTTP `status`."""
        for _ in range(times):
            self.failures[method].append(Failure(status, retry_after))

    def hold(self, method: str) -> None:
        """Calls of `method` wait (unanswered) until `release()`: a send under way."""
        self._holds.add(method)
        self._released.clear()

    def release(self) -> None:
        self._holds.clear()
        self._released.set()

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (its update_id may repeat an old one, to model re-delivery)."""
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Sam",
        language_code: str = "nl",
        reply_to: dict[str, Any] | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        message = self._user_message(user_id, first_name, language_code)
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return await self.push_update(
            {"update_id": update_id or self.next_update_id(), "message": message}
        )

    async def send_media(
        self, user_id: int, kind: str, *, first_name: str = "Sam"
    ) -> dict[str, Any]:
        """A non-text message: kind is photo, sticker, voice, location, document, contact, video."""
        message = self._user_message(user_id, first_name, "nl")
        file = {"file_id": f"F{user_id}{kind}", "file_unique_id": f"U{user_id}{kind}"}
        media: dict[str, Any] = {
            "photo": [{**file, "width": 90, "height": 90}],
            "sticker": {
                **file,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            },
            "voice": {**file, "duration": 3},
            "video": {**file, "width": 90, "height": 90, "duration": 3},
            "location": {"latitude": 52.37, "longitude": 4.89},
            "document": {**file, "file_name": "cv.pdf"},
            "contact": {"phone_number": "+31600000000", "first_name": first_name},
        }
        message[kind] = media[kind]
        return await self.push_update({"update_id": self.next_update_id(), "message": message})

    async def press(
        self,
        user_id: int,
        bot_message: dict[str, Any],
        data: str,
        *,
        first_name: str = "Sam",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """Press an inline button of a message the bot sent (as returned by :meth:`wait_for`)."""
        query = {
            "id": str(next(self._callback_ids)),
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name,
                "language_code": "nl",
            },
            "chat_instance": f"ci{user_id}",
            "data": data,
            "message": bot_message,
        }
        return await self.push_update(
            {"update_id": update_id or self.next_update_id(), "callback_query": query}
        )

    async def wait_for(
        self, chat_id: int, count: int = 1, *, timeout: float = 10.0, since: int = 0
    ) -> list[dict[str, Any]]:
        """Wait until the bot has sent at least `since + count` messages to `chat_id`.

        Returns the messages after index `since`, in the order they were sent.
        """
        deadline = time.monotonic() + timeout
        changed = self._chat_changed[chat_id]
        async with changed:
            while len(self.sent[chat_id]) < since + count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    texts = [m.get("text") for m in self.sent[chat_id]]
                    raise AssertionError(
                        f"chat {chat_id}: wanted {since + count} messages, got {texts}"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
            return list(self.sent[chat_id][since:])

    async def wait_until(self, predicate: Any, *, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("condition not reached in time")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    def texts(self, chat_id: int) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.sent[chat_id]]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def pending_updates(self) -> int:
        return len(self._updates)

    # -- Bot API methods ---------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.latency:
            await asyncio.sleep(self.latency)
        if method in self._holds:
            self.held += 1
            await self._notify()
            await self._released.wait()  # then carried out, as Telegram would
        queue = self.failures.get(method)
        if queue:
            failure = queue.popleft()
            self.calls.append(Call(method, params, time.monotonic(), failure.status))
            body: dict[str, Any] = {"ok": False, "error_code": failure.status}
            if failure.retry_after is not None:
                body["description"] = f"Too Many Requests: retry after {failure.retry_after}"
                body["parameters"] = {"retry_after": failure.retry_after}
            else:
                body["description"] = "Internal Server Error"
            return failure.status, body
        chat = params.get("chat_id")
        if method == "sendMessage" and isinstance(chat, int) and chat in self.blocked:
            self.calls.append(Call(method, params, time.monotonic(), 403))
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            self.calls.append(Call(method, params, time.monotonic(), 404))
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if method.lower() != "getupdates":
            self.calls.append(Call(method, params, time.monotonic(), 200))
        try:
            result = await handler(params)
        except _ApiError as exc:
            return 400, {"ok": False, "error_code": 400, "description": str(exc)}
        if method.lower() != "getupdates":
            await self._notify()  # wake tests waiting for any effect of a call
        return 200, {"ok": True, "result": result}

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _m_logout(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                if offset:
                    # Telegram forgets updates below the offset: they are confirmed.
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = [u for u in self._updates if u["update_id"] >= offset][:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = dict(params)
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {}
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        self.commands = list(params.get("commands") or [])
        return True

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        text = params.get("text")
        if not text:
            raise _ApiError("Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError("Bad Request: message is too long")
        _check_markup(params.get("reply_markup"))
        return await self._store(params, {"text": text})

    async def _m_senddocument(self, params: dict[str, Any]) -> Any:
        raw = params.get("document")
        self.documents[int(params["chat_id"])].append(raw if isinstance(raw, bytes) else b"")
        document = {
            "file_id": "D1",
            "file_unique_id": "DU1",
            "file_name": params.get("_file_name", "file"),
        }
        return await self._store(params, {"document": document, "caption": params.get("caption")})

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        message = self._message(params)
        message["text"] = params["text"]
        message["parse_mode"] = params.get("parse_mode")
        self._set_markup(message, params.get("reply_markup"))
        await self._notify()
        return message

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        message = self._message(params)
        self._set_markup(message, params.get("reply_markup"))
        await self._notify()
        return message

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        self.callback_answers.append(params)
        await self._notify()
        return True

    # -- helpers -----------------------------------------------------------------------------

    def _user_message(self, user_id: int, first_name: str, language_code: str) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids[user_id]),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": first_name},
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name,
                "language_code": language_code,
            },
        }

    async def _store(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": {
                "id": chat_id,
                "type": "private" if chat_id > 0 else "group",
                "first_name": "x",
                "title": "x",
            },
            "from": BOT_USER,
            **{k: v for k, v in content.items() if v is not None},
        }
        if params.get("parse_mode"):
            message["parse_mode"] = params["parse_mode"]
        self._set_markup(message, params.get("reply_markup"))
        self.messages[(chat_id, message["message_id"])] = message
        self.sent[chat_id].append(message)
        if self.on_sent is not None:
            self.on_sent(chat_id, message)
        changed = self._chat_changed[chat_id]
        async with changed:
            changed.notify_all()
        await self._notify()
        # Return a copy without our bookkeeping key, as Telegram would.
        return {k: v for k, v in message.items() if k != "parse_mode"}

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise _ApiError("Bad Request: message to edit not found")
        return self.messages[key]

    @staticmethod
    def _set_markup(message: dict[str, Any], markup: Any) -> None:
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class _ApiError(Exception):
    pass


def _check_markup(markup: Any) -> None:
    if not markup:
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise _ApiError("Bad Request: BUTTON_DATA_INVALID")


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline buttons of a message the bot sent, flattened."""
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


class _MethodHandler(tornado.web.RequestHandler):
    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake

    async def get(self, token: str, method: str) -> None:
        await self.post(token, method)

    async def post(self, token: str, method: str) -> None:
        if token != self.fake.token:
            self.set_status(401)
            self.finish({"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        params: dict[str, Any] = {}
        for name, values in self.request.body_arguments.items():
            raw = values[-1].decode()
            params[name] = json.loads(raw) if name in _JSON_FIELDS else raw
        for name, files in self.request.files.items():
            params[name] = files[-1].body
            params["_file_name"] = files[-1].filename
        status, body = await self.fake.call(method, params)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, *args: Any) -> None:  # keep test output quiet
        return None
