"""A local Telegram Bot API emulator for tests, speaking real HTTP.

:class:`BotApiEmulator` is an aiohttp server running in its **own thread with its own event
loop**, so it can serve sync tests, async tests on any loop, subprocesses and benchmarks alike.
Point a real PTB bot at it::

    with BotApiEmulator() as emu:
        bot = Bot(emu.token, base_url=f"{emu.base_url}/bot",
                  base_file_url=f"{emu.base_url}/file/bot")
        ...
        emu.push_update(emu.user_message(USER, "/start"))   # the test plays the human
        emu.wait_for_calls(1, method="sendMessage")          # no sleeps

What it does:

* Records every API call as a :class:`Call` (decoded params, uploaded bytes, clock time, the
  response and HTTP status); ``calls()``, ``sent_messages()``, ``wait_for_calls()``.
* Keeps per-chat message ids, the bot's messages (so replies and button presses can quote
  them), uploaded files (served back under ``/file/bot<token>/<file_path>``) and commands.
* Injects faults (``fail_next``, ``block_chat``, and a random share of sends with
  ``random_faults``) and, with ``enforce_limits=True``, applies Telegram's flood limits using
  the injected clock.

``refuse_bot(401 | 404, seconds)`` refuses the bot itself for a while, as a revoked token or a
wrong base URL would.  Fault kinds: ``"429"`` (with ``retry_after``), ``"5xx"`` (502), ``"500"``, ``"timeout"`` (the
answer is held until the client gives up), ``"drop"`` (the connection is closed before the
request is handled: nothing was sent), ``"lost"`` (the message is sent, recorded and kept, then
the connection is closed: Telegram accepted it but the answer never arrived, so a sender that
retries sends it twice), and the permanent ``"blocked"``, ``"chat_not_found"``,
``"deactivated"``.  ``"slow"`` is no fault: the call is handled normally after ``delay``
seconds (``held_now`` says how many wait), to catch a process with a send in flight.
``fault_counts`` counts the faults given; ``lost_answers()`` lists the sends
accepted whose answer was lost, which bounds the duplicates a correct sender may produce.

Conventions: a call whose answer was held back by an injected ``"timeout"`` is recorded with
``status == 0``. Unfiltered faults (``method=None``) never hit ``getUpdates``, so a background
poller cannot swallow a fault meant for a send. ``getUpdates`` long polling waits in real time;
the injected clock is only used for timestamps and flood limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import mimetypes
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Literal, get_args

from aiohttp import web

JSONDict = dict[str, Any]
FaultKind = Literal[
    "429",
    "5xx",
    "500",
    "timeout",
    "drop",
    "lost",
    "slow",
    "blocked",
    "chat_not_found",
    "deactivated",
]
#: The transient faults a real Bot API gives, in the mix ``random_faults`` draws from by default.
TRANSIENT_FAULTS: tuple[FaultKind, ...] = ("429", "500", "timeout", "drop", "lost")

#: Methods subject to flood limits and to ``block_chat``.
SEND_METHODS = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup"}
)
#: Successful calls of these methods are what ``sent_messages()`` returns.
MESSAGE_METHODS = ("sendMessage", "sendDocument", "sendPhoto")
#: Methods whose ``chat_id`` must name a valid chat (else 400 "chat not found").
_CHAT_METHODS = SEND_METHODS | {"sendChatAction", "deleteMessage", "getChat", "getChatMember"}
#: Form fields that are plain strings in the Bot API and must not be JSON-decoded.
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "action",
        "language_code",
        "url",
        "file_id",
        "secret_token",
        "inline_message_id",
        "message_effect_id",
        "ip_address",
        "business_connection_id",
        "document",
        "photo",
        "title",
        "description",
        "emoji",
    }
)
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?", re.ASCII)
_GIFT_TYPES = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)
_FAULTS: dict[str, tuple[int, str]] = {
    "5xx": (502, "Bad Gateway"),
    "500": (500, "Internal Server Error"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "deactivated": (403, "Forbidden: user is deactivated"),
}


@dataclass(frozen=True)
class Call:
    """One recorded Bot API request and the answer the emulator gave."""

    method: str
    params: JSONDict  # decoded: ints are ints, reply_markup/scope/... are dicts
    files: dict[str, bytes]  # multipart part name -> uploaded bytes
    at: float  # the emulator's injected clock at arrival
    response: JSONDict  # the JSON body sent back ({} if none was sent)
    status: int  # HTTP status; 0 = never answered (injected "timeout" or "drop")
    filenames: dict[str, str] = field(default_factory=dict)  # part name -> client filename
    lost: bool = False  # handled (status 200, message kept) but the answer was never sent

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        return _as_chat_id(self.params.get("chat_id"))

    @property
    def result(self) -> Any:
        """The ``result`` of a successful call (e.g. the sent message dict)."""
        return self.response.get("result")

    def __str__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k != "reply_markup"}
        return f"{self.method} [{self.status}] {shown}"


class _ApiError(Exception):
    """Raised inside method implementations; becomes a ``{"ok": false}`` answer."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.payload: JSONDict = {"ok": False, "error_code": status, "description": description}
        if parameters:
            self.payload["parameters"] = parameters


@dataclass
class _Fault:
    kind: FaultKind
    method: str | None
    chat_id: int | None
    remaining: int
    retry_after: int
    delay: float = 0.0


@dataclass
class _RandomFaults:
    share: float
    kinds: list[FaultKind]
    weights: list[float]
    methods: frozenset[str]
    retry_after: int
    rng: random.Random

    def draw(self, method: str) -> _Fault | None:
        if method not in self.methods or self.rng.random() >= self.share:
            return None
        [kind] = self.rng.choices(self.kinds, self.weights)
        return _Fault(kind, method, None, 1, self.retry_after)


@dataclass(frozen=True)
class StoredFile:
    """An uploaded (or test-provided) file, served at ``/file/bot<token>/<file_path>``."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


def _as_chat_id(value: object) -> int | None:
    """A chat id as int, or None if missing/invalid (usernames like "@x" are unknown here)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value or None
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value) or None
    return None


def _utf16_len(text: str) -> int:
    """Telegram measures offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[JSONDict]:
    """``bot_command`` entities for every ``/command[@bot]`` in *text*, as Telegram sends them."""
    return [
        {
            "type": "bot_command",
            "offset": _utf16_len(text[: m.start()]),
            "length": _utf16_len(m.group()),
        }
        for m in _COMMAND_RE.finditer(text)
    ]


class _HtmlText(HTMLParser):
    """Checks Telegram's HTML subset and yields the plain text Telegram would store."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise _ApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise _ApiError(400, f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain_text(text: str, parse_mode: object) -> str:
    if not isinstance(parse_mode, str) or parse_mode.upper() != "HTML":
        return text
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise _ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag "
            f'corresponding to start tag "{parser.open[-1]}"',
        )
    return "".join(parser.parts)


def _decode_field(key: str, value: object) -> Any:
    """Form fields carry JSON-encoded values (``"123"``, ``'{"inline_keyboard": ...}'``)."""
    if not isinstance(value, str) or key in _STRING_FIELDS or value.startswith("attach://"):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(
    request: web.Request,
) -> tuple[JSONDict, dict[str, bytes], dict[str, str]]:
    """Merge query string and body (JSON, urlencoded or multipart) into decoded params."""
    params: JSONDict = {k: _decode_field(k, v) for k, v in request.query.items()}
    files: dict[str, bytes] = {}
    filenames: dict[str, str] = {}
    if not request.body_exists:
        return params, files, filenames
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise _ApiError(400, "Bad Request: can't parse JSON body") from exc
        if isinstance(body, dict):
            params.update({k: _decode_field(k, v) for k, v in body.items()})
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
                filenames[key] = value.filename
            elif isinstance(value, bytes):
                files[key] = value
            else:
                params[key] = _decode_field(key, value)
    return params, files, filenames


class BotApiEmulator:
    """Fake ``api.telegram.org`` on ``127.0.0.1:<free port>``, run in a background thread."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_username: str = "ita_duty_test_bot",
        clock: Callable[[], float] = time.monotonic,
        enforce_limits: bool = False,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.enforce_limits = enforce_limits
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())  # guards all state below
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._random: _RandomFaults | None = None
        self._fault_counts: Counter[str] = Counter()
        self._held_now = 0
        self._blocked: set[int] = set()
        self._refused: tuple[int, str, float] | None = None  # status, description, until
        self._sends: dict[object, deque[float]] = {}
        self._too_many = 0
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._last_mid: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._files: dict[str, StoredFile] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._webhook_url = ""
        self._methods: dict[str, Callable[[JSONDict, dict[str, bytes], dict[str, str]], Any]] = {
            "getMe": lambda p, f, n: self.bot_user(),
            "logOut": lambda p, f, n: True,
            "close": lambda p, f, n: True,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": lambda p, f, n: {
                "url": self._webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            },
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "editMessageText": self._edit_message,
            "editMessageReplyMarkup": self._edit_message,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": lambda p, f, n: True,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda p, f, n: copy.deepcopy(
                self._commands.get(self._commands_key(p), [])
            ),
            "deleteMyCommands": self._delete_my_commands,
            "getFile": self._get_file,
        }
        self._canonical = {name.lower(): name for name in [*self._methods, "getUpdates"]}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutdown: asyncio.Event | None = None
        self._updates_event: asyncio.Event | None = None
        self._port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> BotApiEmulator:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread. Returns self."""
        if self._thread is not None:
            raise RuntimeError("BotApiEmulator already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(sock, ready, errors)),
            name=f"BotApiEmulator:{self._port}",
            daemon=True,
        )
        self._thread.start()
        ready.wait(10)
        if errors or not ready.is_set():
            raise RuntimeError("BotApiEmulator failed to start") from (
                errors[0] if errors else None
            )
        return self

    def stop(self) -> None:
        """Answer held requests, close the server and join the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(self._begin_shutdown)
            thread.join(10)
        self._loop = None

    def __enter__(self) -> BotApiEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The Bot API root, e.g. ``http://127.0.0.1:PORT`` (append ``/bot`` for PTB)."""
        if not self._port:
            raise RuntimeError("BotApiEmulator not started")
        return f"http://127.0.0.1:{self._port}"

    async def _serve(
        self, sock: socket.socket, ready: threading.Event, errors: list[BaseException]
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._shutdown = asyncio.Event()
        self._updates_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0
        )
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException as exc:
            errors.append(exc)
            ready.set()
            raise
        ready.set()
        try:
            await self._shutdown.wait()
        finally:
            await runner.cleanup()

    def _begin_shutdown(self) -> None:
        assert self._shutdown is not None
        self._shutdown.set()
        self._wake_pollers()

    def _wake_pollers(self) -> None:
        """Runs on the server loop: release every pending long poll to re-check the queue."""
        assert self._updates_event is not None
        self._updates_event.set()
        self._updates_event = asyncio.Event()

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        at = self._clock()
        method = request.match_info["method"]
        method = self._canonical.get(method.lower(), method)
        params: JSONDict = {}
        files: dict[str, bytes] = {}
        filenames: dict[str, str] = {}
        try:
            params, files, filenames = await _read_params(request)
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            refused = self._refused
            if refused is not None and at < refused[2]:
                raise _ApiError(refused[0], refused[1])
            if method not in self._canonical.values():
                raise _ApiError(404, "Not Found")
            with self._cond:
                fault = self._take_fault(method, _as_chat_id(params.get("chat_id")))
            if fault is not None and fault.kind == "timeout":
                self._record(Call(method, params, files, at, {}, 0, filenames))
                assert self._shutdown is not None
                await self._shutdown.wait()  # cancelled earlier if the client disconnects
                return web.Response(status=504)
            if fault is not None and fault.kind == "drop":
                self._record(Call(method, params, files, at, {}, 0, filenames))
                return self._hang_up(request)
            if fault is not None and fault.kind == "slow":
                await self._hold(fault.delay)
                fault = None
            if fault is not None and fault.kind != "lost":
                raise self._fault_error(fault)
            if method == "getUpdates":
                result = await self._get_updates(params)
            else:
                with self._cond:
                    self._precheck(method, params, at)
                    result = self._methods[method](params, files, filenames)
            status, payload = 200, {"ok": True, "result": result}
            if fault is not None:  # "lost": handled and kept, but nobody hears of it
                self._record(Call(method, params, files, at, payload, status, filenames, True))
                return self._hang_up(request)
        except _ApiError as exc:
            status, payload = exc.status, exc.payload
        except (ValueError, TypeError, KeyError) as exc:  # malformed params, or an emulator bug
            status, payload = (
                500,
                {"ok": False, "error_code": 500, "description": f"Internal Server Error: {exc!r}"},
            )
        self._record(Call(method, params, files, at, payload, status, filenames))
        return web.json_response(payload, status=status)

    async def _hold(self, seconds: float) -> None:
        with self._cond:
            self._held_now += 1
            self._cond.notify_all()
        try:
            assert self._shutdown is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._shutdown.wait(), seconds)
        finally:
            with self._cond:
                self._held_now -= 1
                self._cond.notify_all()

    @property
    def held_now(self) -> int:
        """How many ``"slow"`` calls are being held at this moment."""
        with self._cond:
            return self._held_now

    def wait_held(self, n: int = 1, timeout: float = 10.0) -> None:
        """Block until at least ``n`` ``"slow"`` calls are being held."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._held_now >= n, timeout):
                raise TimeoutError(f"no {n} held call(s) within {timeout} s")

    @staticmethod
    def _hang_up(request: web.Request) -> web.Response:
        """Close the connection without an answer (the client sees "server disconnected")."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=204)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(_ApiError(401, "Unauthorized").payload, status=401)
        path = request.match_info["file_path"]
        with self._cond:
            stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            return web.json_response(_ApiError(404, "Not Found").payload, status=404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            if call.status == 429:
                self._too_many += 1
            self._cond.notify_all()

    # ------------------------------------------------------------------ faults and limits

    def _take_fault(self, method: str, chat_id: int | None) -> _Fault | None:
        fault = self._queued_fault(method, chat_id)
        if fault is None and self._random is not None:
            fault = self._random.draw(method)
        if fault is not None:
            self._fault_counts[fault.kind] += 1
        return fault

    def _queued_fault(self, method: str, chat_id: int | None) -> _Fault | None:
        for fault in self._faults:
            if fault.method is None and method == "getUpdates":
                continue
            if fault.method not in (None, method) or fault.chat_id not in (None, chat_id):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault
        return None

    @staticmethod
    def _fault_error(fault: _Fault) -> _ApiError:
        if fault.kind == "429":
            return _ApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        return _ApiError(*_FAULTS[fault.kind])

    def _precheck(self, method: str, params: JSONDict, at: float) -> None:
        """Chat validity, blocked chats and flood limits (called with the lock held)."""
        if method not in _CHAT_METHODS or "inline_message_id" in params:
            return
        chat_id = _as_chat_id(params.get("chat_id"))
        if chat_id is None:
            raise _ApiError(400, "Bad Request: chat not found")
        if method in SEND_METHODS | {"sendChatAction"} and chat_id in self._blocked:
            raise _ApiError(*_FAULTS["blocked"])
        if self.enforce_limits and method in SEND_METHODS:
            self._check_limits(chat_id, at)

    def _check_limits(self, chat_id: int, at: float) -> None:
        """30 msg/s overall, 1 msg/s per private chat, 20 msg/min per group."""
        per_chat = (1.0, 1) if chat_id > 0 else (60.0, 20)
        windows: list[tuple[object, float, int]] = [("*", 1.0, 30), (chat_id, *per_chat)]
        waits: list[float] = []
        for key, window, cap in windows:
            stamps = self._sends.setdefault(key, deque())
            while stamps and at - stamps[0] >= window:
                stamps.popleft()
            if len(stamps) >= cap:
                waits.append(stamps[-cap] + window - at)
        if waits:
            retry = max(1, math.ceil(max(waits)))
            raise _ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for key, _, _ in windows:
            self._sends[key].append(at)

    def fail_next(
        self,
        kind: FaultKind,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        count: int = 1,
        retry_after: int = 1,
        delay: float = 5.0,
    ) -> None:
        """Make the next *count* matching calls fail with *kind* (faults queue in order);
        ``delay``: how long a ``"slow"`` call is held before it is handled."""
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {get_args(FaultKind)}")
        with self._cond:
            self._faults.append(_Fault(kind, method, chat_id, count, retry_after, delay))

    def random_faults(
        self,
        share: float,
        *,
        kinds: Collection[FaultKind] | Mapping[FaultKind, float] = TRANSIENT_FAULTS,
        methods: Collection[str] = MESSAGE_METHODS,
        retry_after: int = 1,
        seed: int | None = 0,
    ) -> None:
        """From now on, each call of ``methods`` fails with probability ``share``, with a kind
        drawn from ``kinds`` (a mapping gives weights).  Faults queued by :meth:`fail_next`
        go first.  ``share=0`` stops them.  Seeded, so a failing run can be replayed."""
        if not 0 <= share <= 1:
            raise ValueError(f"share must be within [0, 1], not {share}")
        weights = dict(kinds) if isinstance(kinds, Mapping) else dict.fromkeys(kinds, 1.0)
        for kind in weights:
            if kind not in get_args(FaultKind):
                raise ValueError(f"unknown fault kind {kind!r}")
        with self._cond:
            self._random = (
                _RandomFaults(
                    share,
                    list(weights),
                    list(weights.values()),
                    frozenset(methods),
                    retry_after,
                    random.Random(seed),
                )
                if share
                else None
            )

    @property
    def fault_counts(self) -> Counter[str]:
        """How many faults of each kind were given so far (queued and random)."""
        with self._cond:
            return Counter(self._fault_counts)

    def lost_answers(self) -> list[Call]:
        """Sends that were accepted (the message exists) but whose answer was lost."""
        with self._cond:
            return [c for c in self._calls if c.lost]

    def refuse_bot(self, status: Literal[401, 404], seconds: float) -> None:
        """For ``seconds`` on the emulator's clock, answer every call as a revoked token
        (401 Unauthorized) or a wrong base URL or proxy (404 Not Found) would."""
        description = "Unauthorized" if status == 401 else "Not Found"
        with self._cond:
            self._refused = (status, description, self._clock() + seconds)

    def block_chat(self, chat_id: int) -> None:
        """Every later send/edit/chat action to *chat_id* answers 403 "bot was blocked"."""
        with self._cond:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        with self._cond:
            self._blocked.discard(chat_id)

    @property
    def too_many_requests(self) -> int:
        """How many 429 answers were given (flood limits and injected ones)."""
        with self._cond:
            return self._too_many

    # ------------------------------------------------------------------ recorded calls

    def calls(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        """Recorded calls in arrival order, optionally filtered."""
        with self._cond:
            return [
                c
                for c in self._calls
                if (method is None or c.method == method)
                and (chat_id is None or c.chat_id == chat_id)
            ]

    def sent_messages(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage/sendDocument/sendPhoto calls (with those whose answer was lost:
        the message exists all the same)."""
        return [c for c in self.calls(chat_id=chat_id) if c.ok and c.method in MESSAGE_METHODS]

    def clear_calls(self) -> None:
        with self._cond:
            self._calls.clear()

    def wait_for_calls(
        self, n: int, method: str | None = None, chat_id: int | None = None, timeout: float = 10.0
    ) -> list[Call]:
        """Block until at least *n* matching calls were recorded; return all matching ones."""
        with self._cond:
            if self._cond.wait_for(lambda: len(self.calls(method, chat_id)) >= n, timeout):
                return self.calls(method, chat_id)
            listing = "\n".join(f"  {c}" for c in self._calls) or "  (none)"
        raise TimeoutError(
            f"expected {n} call(s) method={method} chat_id={chat_id} within "
            f"{timeout}s; recorded calls:\n{listing}"
        )

    async def await_calls(
        self,
        n: int,
        method: str | None = None,
        chat_id: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 (mirrors wait_for_calls)
    ) -> list[Call]:
        """Async twin of :meth:`wait_for_calls`; waits in a worker thread."""
        return await asyncio.to_thread(self.wait_for_calls, n, method, chat_id, timeout)

    # ------------------------------------------------------------------ state accessors

    def bot_user(self) -> JSONDict:
        """The bot's ``User`` object as returned by getMe."""
        return {
            "id": int(self.token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "ITA Duty Test Bot",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def message(self, chat_id: int, message_id: int) -> JSONDict:
        """Current state of a stored message (bot's or user's); KeyError if unknown/deleted."""
        with self._cond:
            try:
                return copy.deepcopy(self._messages[(chat_id, message_id)])
            except KeyError:
                raise KeyError(f"no message {message_id} in chat {chat_id}") from None

    def file_bytes(self, file_id: str) -> bytes:
        with self._cond:
            return self._files[file_id].content

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Commands set via setMyCommands for *scope* (default scope if None)."""
        with self._cond:
            key = self._commands_key({"scope": scope, "language_code": language_code})
            return copy.deepcopy(self._commands.get(key, []))

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """getChatMember answer: member (default), administrator, creator, left or kicked."""
        with self._cond:
            self._members[(chat_id, user_id)] = status

    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._cond:
            return copy.deepcopy(self._updates)

    # ------------------------------------------------------------------ inbound updates

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue *update* for getUpdates (assigning ``update_id`` if missing); returns it."""
        with self._cond:
            update.setdefault("update_id", next(self._update_ids))
            self._updates.append(update)
        if (loop := self._loop) is not None:
            with contextlib.suppress(RuntimeError):  # loop closed by a concurrent stop()
                loop.call_soon_threadsafe(self._wake_pollers)
        return update

    def user_message(
        self,
        user: JSONDict,
        text: str,
        *,
        chat: JSONDict | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        """A ``message`` update from *user* (private chat unless *chat* given), queued."""
        with self._cond:
            self._users[user["id"]] = dict(user)
            if chat is None:
                chat = self._chat_obj(user["id"])
            else:
                self._chats[chat["id"]] = dict(chat)
            msg: JSONDict = {
                "message_id": self._next_mid(chat["id"]),
                "from": dict(user),
                "chat": dict(chat),
                "date": int(time.time()),
                "text": text,
            }
            if entities := command_entities(text):
                msg["entities"] = entities
            if reply_to_message_id is not None:
                msg["reply_to_message"] = self._quoted(chat["id"], reply_to_message_id)
            self._messages[(chat["id"], msg["message_id"])] = msg
            return self.push_update({"message": copy.deepcopy(msg)})

    def user_press(self, user: JSONDict, message_id: int, chat_id: int, data: str) -> JSONDict:
        """A ``callback_query`` update: *user* pressed a button carrying *data*, queued."""
        with self._cond:
            self._users[user["id"]] = dict(user)
            query = {
                "id": str(next(self._callback_ids)),
                "from": dict(user),
                "message": self._quoted(chat_id, message_id),
                "chat_instance": str(abs(chat_id) * 7919 % 10**18),
                "data": data,
            }
            return self.push_update({"callback_query": query})

    def _quoted(self, chat_id: int, message_id: int) -> JSONDict:
        msg = self.message(chat_id, message_id)
        msg.pop("reply_to_message", None)  # Telegram quotes one level only
        return msg

    # ------------------------------------------------------------------ Bot API methods

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        assert self._loop is not None and self._shutdown is not None
        if self._webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 100)) or 100
        deadline = self._loop.time() + float(params.get("timeout", 0))
        while True:
            assert self._updates_event is not None
            event = self._updates_event  # grab before checking, so no push is missed
            with self._cond:
                if offset < 0:
                    del self._updates[:offset]
                elif offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                batch = copy.deepcopy(self._updates[: max(1, min(limit, 100))])
            remaining = deadline - self._loop.time()
            if batch or remaining <= 0 or self._shutdown.is_set():
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _set_webhook(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> bool:
        self._webhook_url = str(p.get("url", ""))
        return True

    def _delete_webhook(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> bool:
        self._webhook_url = ""
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _next_mid(self, chat_id: int) -> int:
        self._last_mid[chat_id] = self._last_mid.get(chat_id, 0) + 1
        return self._last_mid[chat_id]

    def _chat_obj(self, chat_id: int) -> JSONDict:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id > 0:
            user = self._users.get(chat_id, {})
            chat = {
                "id": chat_id,
                "type": "private",
                "first_name": user.get("first_name", f"User {chat_id}"),
            }
            chat.update({k: user[k] for k in ("last_name", "username") if k in user})
            return chat
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Test {kind} {chat_id}"}

    def _new_message(self, params: JSONDict, content: JSONDict) -> JSONDict:
        """Store and return a message sent by the bot to ``params["chat_id"]``."""
        chat_id = _as_chat_id(params["chat_id"])
        assert chat_id is not None
        msg: JSONDict = {
            "message_id": self._next_mid(chat_id),
            "from": self.bot_user(),
            "chat": self._chat_obj(chat_id),
            "date": int(time.time()),
            **content,
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup  # Telegram only echoes inline keyboards
        reply = params.get("reply_parameters") or {}
        reply_id = reply.get("message_id") if isinstance(reply, dict) else None
        reply_id = reply_id or params.get("reply_to_message_id")
        if reply_id and (chat_id, int(reply_id)) in self._messages:
            msg["reply_to_message"] = self._quoted(chat_id, int(reply_id))
        self._messages[(chat_id, msg["message_id"])] = msg
        return copy.deepcopy(msg)

    @staticmethod
    def _text(params: JSONDict, key: str, limit: int) -> str:
        raw = params.get(key)
        text = _plain_text(raw if isinstance(raw, str) else "", params.get("parse_mode"))
        if key == "text" and not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > limit:
            what = "message" if key == "text" else "message caption"
            raise _ApiError(400, f"Bad Request: {what} is too long")
        return text

    @staticmethod
    def _markup(params: JSONDict) -> None:
        """Telegram's limits on a reply markup: at most 100 inline buttons, 8 a row, each with
        a label and 1-64 bytes of callback data; a ForceReply placeholder of 0-64 characters."""
        markup = params.get("reply_markup")
        if not isinstance(markup, dict):
            return
        rows = markup.get("inline_keyboard")
        if isinstance(rows, list):
            buttons = [b for row in rows for b in row]
            if len(buttons) > 100 or any(len(row) > 8 for row in rows):
                raise _ApiError(400, "Bad Request: reply markup is too long")
            for b in buttons:
                if not str(b.get("text", "")).strip():
                    raise _ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = b.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        placeholder = markup.get("input_field_placeholder")
        if placeholder is not None and _utf16_len(str(placeholder)) > 64:
            raise _ApiError(400, "Bad Request: input field placeholder is too long")

    def _answer_callback_query(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> bool:
        if _utf16_len(str(p.get("text") or "")) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _send_message(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> JSONDict:
        self._markup(p)
        content: JSONDict = {"text": self._text(p, "text", 4096)}
        if isinstance(p.get("entities"), list):
            content["entities"] = p["entities"]
        return self._new_message(p, content)

    def _upload(
        self,
        field_name: str,
        p: JSONDict,
        files: dict[str, bytes],
        names: dict[str, str],
        folder: str,
        ext: str,
    ) -> tuple[StoredFile, str]:
        """Resolve an uploaded part, ``attach://`` reference or existing file_id."""
        ref = p.get(field_name)
        part = (
            ref[len("attach://") :]
            if isinstance(ref, str) and ref.startswith("attach://")
            else field_name
        )
        if part in files:
            name = names.get(part) or f"file.{ext}"
            return self.store_file(files[part], folder=folder, filename=name), name
        if isinstance(ref, str) and ref in self._files:
            return self._files[ref], ref
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _caption(self, p: JSONDict) -> JSONDict:
        return {"caption": self._text(p, "caption", 1024)} if p.get("caption") else {}

    def _send_document(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> JSONDict:
        self._markup(p)
        stored, name = self._upload("document", p, f, n, "documents", "bin")
        doc = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": name,
            "mime_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "file_size": len(stored.content),
        }
        return self._new_message(p, {"document": doc, **self._caption(p)})

    def _send_photo(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> JSONDict:
        self._markup(p)
        stored, _ = self._upload("photo", p, f, n, "photos", "jpg")
        width = height = 0
        if stored.content[:8] == b"\x89PNG\r\n\x1a\n" and len(stored.content) >= 24:
            width, height = struct.unpack(">II", stored.content[16:24])
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "file_size": len(stored.content),
        }
        return self._new_message(p, {"photo": [size], **self._caption(p)})

    def store_file(
        self, content: bytes, *, folder: str = "documents", filename: str = "file.bin"
    ) -> StoredFile:
        """Keep *content* as a Telegram file (also usable to fake user uploads)."""
        with self._cond:
            ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
            stored = StoredFile(
                file_id=f"BQACAgUAAxk{uuid.uuid4().hex}",
                file_unique_id=uuid.uuid4().hex[:16],
                file_path=f"{folder}/file_{len(self._files)}.{ext}",
                content=content,
            )
            self._files[stored.file_id] = stored
            return stored

    def _edit_message(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> Any:
        if "inline_message_id" in p:
            return True
        key = (_as_chat_id(p.get("chat_id")) or 0, int(p.get("message_id", 0)))
        if key not in self._messages:
            raise _ApiError(400, "Bad Request: message to edit not found")
        msg = self._messages[key]
        new = dict(msg)
        self._markup(p)
        if "text" in p:
            new["text"] = self._text(p, "text", 4096)
        markup = p.get("reply_markup")
        new.pop("reply_markup", None)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            new["reply_markup"] = markup
        if new == msg:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        new["edit_date"] = int(time.time())
        self._messages[key] = new
        return copy.deepcopy(new)

    def _delete_message(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> bool:
        key = (_as_chat_id(p.get("chat_id")) or 0, int(p.get("message_id", 0)))
        if self._messages.pop(key, None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    def _get_chat(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> JSONDict:
        chat = self._chat_obj(_as_chat_id(p["chat_id"]) or 0)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(_GIFT_TYPES, False),
        }

    def _get_chat_member(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> JSONDict:
        chat_id, user_id = _as_chat_id(p["chat_id"]) or 0, int(p.get("user_id", 0))
        user = (
            self.bot_user()
            if user_id == self.bot_user()["id"]
            else self._users.get(
                user_id, {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            )
        )
        status = self._members.get((chat_id, user_id), "member")
        member: JSONDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "administrator":
            member.update({"can_be_edited": False, "is_anonymous": False})
            member.update(
                dict.fromkeys(
                    (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    ),
                    True,
                )
            )
        return member

    @staticmethod
    def _commands_key(p: JSONDict) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")

    def _set_my_commands(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, 'Bad Request: parameter "commands" is required')
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: too many commands")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= _utf16_len(str(c.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(p)] = commands
        return True

    def _delete_my_commands(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    def _get_file(self, p: JSONDict, f: dict[str, bytes], n: dict[str, str]) -> JSONDict:
        stored = self._files.get(str(p.get("file_id")))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
