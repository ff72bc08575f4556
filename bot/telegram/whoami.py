"""Asking the Bot API who the bot is (``getMe``), outside the running application: for
invite links when ``BOT_USERNAME`` is not set, and for ``python -m bot health``.

Nothing said here shows the token: it is redacted from the logs first, and from the
text of any error (:func:`scrub`)."""

from __future__ import annotations

from telegram import Bot, User
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.logs import REDACTED, redact


class NoToken(RuntimeError):
    pass


def token_of(settings: Settings) -> str:
    token = settings.bot_token.get_secret_value().strip() if settings.bot_token else ""
    if not token:
        raise NoToken("BOT_TOKEN is not set")
    return token


async def whoami(settings: Settings, *, wait_seconds: float | None = None) -> User:
    """The bot's own user (``getMe``).  Raises :class:`NoToken`, or what PTB raises."""
    token = token_of(settings)
    redact(token)
    wait = wait_seconds if wait_seconds is not None else settings.request_timeout_seconds
    request = HTTPXRequest(connect_timeout=wait, read_timeout=wait, write_timeout=wait)
    async with Bot(
        token, base_url=settings.bot_api_url, base_file_url=settings.bot_file_url, request=request
    ) as bot:
        return bot.bot


def scrub(text: str, settings: Settings) -> str:
    """``text`` without the token (an error's text may quote a URL that carries it)."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    if token:
        text = text.replace(token, REDACTED)
        if ":" in token:
            text = text.replace(token.split(":", 1)[1], REDACTED)
    return text
