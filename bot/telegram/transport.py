"""Telegram as a :class:`~bot.services.transport.Transport`: the one place where what the Bot
API says about a send becomes an outcome.

Every call goes through the bot's :class:`~bot.telegram.ratelimit.TelegramRateLimiter` with
``retries=0``: a 429 pauses the limiter (every send waits) and comes back as
:class:`~bot.services.transport.RetryAfter`, so the dispatcher reschedules the row instead
of holding it through the wait.

What the errors mean:

* 429 → ``RetryAfter``; a group that became a supergroup → ``Migrated``;
* 401 and 404 (PTB's ``InvalidToken``: a revoked token, a wrong ``TELEGRAM_API_BASE_URL`` or
  proxy) → ``BotUnusable``: about the bot, not the message;
* 403, and 400s that say the chat is gone (:data:`PERMANENT_CHAT_ERRORS`) → ``Permanent``;
* network errors, timeouts, 5xx → ``Transient``; any other 400 → ``Rejected``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
)
from telegram.error import RetryAfter as TelegramRetryAfter
from telegram.ext import Application, ExtBot

from bot.services.transport import (
    Address,
    BotUnusable,
    Buttons,
    Done,
    Migrated,
    Outcome,
    OutgoingFile,
    Permanent,
    Rejected,
    RetryAfter,
    Sent,
    Transient,
)
from bot.telegram.ratelimit import TelegramRateLimiter, retry_after_seconds
from bot.telegram.sharedlimit import DEFER_AFTER_SECONDS as DEFER_AFTER

NO_RETRY = {"retries": 0}
#: 400s (and 403s) that mean the chat cannot be reached, whatever is sent to it.
PERMANENT_CHAT_ERRORS = (
    "blocked",
    "chat not found",
    "deactivated",
    "kicked",
    "not a member",
    "user not found",
)


def is_permanent_chat_error(exc: TelegramError) -> bool:
    if isinstance(exc, Forbidden):
        return True
    return isinstance(exc, BadRequest) and any(
        p in exc.message.lower() for p in PERMANENT_CHAT_ERRORS
    )


def bot_refused(exc: InvalidToken) -> str:
    """One clear line about a 401 or 404, naming the setting to check.  Fixed words, not the
    server's answer: a proxy's error page may quote the request's URL, which holds the token
    (and this line is stored for ``health``, which no log filter redacts)."""
    if "not found" in exc.message.lower():
        return (
            "the Bot API answers 404 Not Found: check TELEGRAM_API_BASE_URL "
            "(the Bot API server, or a proxy in front of it) and BOT_TOKEN"
        )
    return (
        "the Bot API refuses BOT_TOKEN (401 Unauthorized): the token was revoked or is wrong; "
        "check it with @BotFather"
    )


def outcome_of(exc: TelegramError) -> Outcome:
    """What a Bot API error means for the delivery (see the module's doc)."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryAfter(retry_after_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return Migrated(exc.new_chat_id)
    if isinstance(exc, InvalidToken):
        return BotUnusable(bot_refused(exc))
    if is_permanent_chat_error(exc):
        return Permanent(exc.message)
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        return Transient(exc.message)
    return Rejected(exc.message)


def markup(buttons: Buttons) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row]
            for row in buttons
        ]
    )


class TelegramTransport:
    """The bot (an ``ExtBot`` with our rate limiter) as a transport."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot

    async def send_text(self, to: Address, text: str, buttons: Buttons = ()) -> Outcome:
        try:
            msg = await self.bot.send_message(
                chat_id=to, text=text, reply_markup=markup(buttons), rate_limit_args=NO_RETRY
            )
        except TelegramError as exc:
            return outcome_of(exc)
        return Sent(msg.message_id)

    async def send_file(self, to: Address, file: OutgoingFile) -> Outcome:
        try:
            if file.kind == "photo":
                msg = await self.bot.send_photo(
                    chat_id=to,
                    photo=file.content,
                    filename=file.filename,
                    caption=file.caption,
                    rate_limit_args=NO_RETRY,
                )
            else:
                msg = await self.bot.send_document(
                    chat_id=to,
                    document=file.content,
                    filename=file.filename,
                    caption=file.caption,
                    rate_limit_args=NO_RETRY,
                )
        except TelegramError as exc:
            return outcome_of(exc)
        return Sent(msg.message_id)

    async def edit_text(
        self, to: Address, message_id: int, text: str, buttons: Buttons = ()
    ) -> Outcome:
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=to,
                message_id=message_id,
                reply_markup=markup(buttons),
                rate_limit_args=NO_RETRY,
            )
        except TelegramError as exc:
            return outcome_of(exc)
        return Sent(message_id)

    async def answer(self, press_id: str, text: str | None = None) -> Outcome:
        try:
            await self.bot.answer_callback_query(press_id, text=text)
        except TelegramError as exc:
            return outcome_of(exc)
        return Done()

    async def probe(self) -> Outcome:
        """``getMe``."""
        try:
            await self.bot.get_me()
        except TelegramError as exc:
            return outcome_of(exc)
        return Done()

    async def reserve_sends(
        self, chat_ids: list[int], session: AsyncSession | None, busy: Collection[int] = ()
    ) -> dict[int, float]:
        """Ready a claimed batch's sends: the chats whose own window is not free soon (this
        process's limiter; with the limit shared in the database, its slots too) are
        returned with the seconds until it is, for their rows to wait; the others' slots
        are reserved at once (in ``session``'s transaction, if given), after those of the
        ``busy`` chats' sends still in flight."""
        limiter = self.bot.rate_limiter
        if not isinstance(limiter, TelegramRateLimiter):
            return {}
        later = {c: w for c in chat_ids if (w := limiter.limiter.chat_free_in(c)) > DEFER_AFTER}
        if limiter.shared is not None:
            rest = [c for c in chat_ids if c not in later]
            for chat, wait in (await limiter.shared.prepare(rest, session, busy)).items():
                if isinstance(chat, int):
                    later[chat] = wait
        return later

    def round_trip(self) -> float:
        """Seconds a send takes once its slot came (a moving average; 0.0 before any)."""
        limiter = self.bot.rate_limiter
        return limiter.round_trip if isinstance(limiter, TelegramRateLimiter) else 0.0

    def paused_for(self) -> float:
        limiter = self.bot.rate_limiter
        if not isinstance(limiter, TelegramRateLimiter):
            return 0.0
        return limiter.limiter.paused_for()


def transport_of(app: Application[Any, Any, Any, Any, Any, Any]) -> TelegramTransport:
    """The application's transport, built once by ``build_application``."""
    transport: TelegramTransport = app.bot_data["transport"]
    return transport
