"""Our own throttle for outgoing Telegram Bot API requests.

Telegram's documented limits are roughly 30 messages per second overall, one
message per second to a private chat and 20 messages per minute to a group.
PTB's ``AIORateLimiter`` uses leaky buckets that let about twice the overall
rate through in the first second and has no per-chat window, so we keep our
own:

:class:`~bot.telegram.sendlimiter.SendLimiter`
    Pure asyncio, no PTB (its own module): sliding logs, so the limits hold for
    *every* window ``[t, t + w)``; all time from the injected :class:`~bot.clock.Clock`.

:class:`TelegramRateLimiter`
    The ``telegram.ext.BaseRateLimiter`` that PTB calls for every request:
    requests that name a ``chat_id`` go through the :class:`SendLimiter`; on
    ``RetryAfter`` the whole limiter is paused and the request is retried a
    bounded number of times.

:class:`TelegramRateLimiter` optionally takes a :class:`~bot.telegram.sharedlimit.SharedSlots`
as well: then every throttled request also waits for its slot in the database, so that all
the processes sending on one database together keep Telegram's limits.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeAlias

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.clock import Clock
from bot.telegram.sendlimiter import CHAT_MARGIN_SECONDS, ChatId, SendLimiter
from bot.telegram.sharedlimit import SharedSlots

__all__ = [
    "CHAT_MARGIN_SECONDS",
    "ChatId",
    "SendLimiter",
    "TelegramRateLimiter",
    "retry_after_seconds",
]

_log = logging.getLogger(__name__)

_Result: TypeAlias = bool | dict[str, Any] | list[dict[str, Any]]


def retry_after_seconds(exc: RetryAfter) -> float:
    """``exc.retry_after`` in seconds, whether PTB gives an int or a timedelta.

    PTB 22.2+ warns about the int form unless ``PTB_TIMEDELTA`` is set; we
    handle both, so the warning is just noise here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"unexpected retry_after {value!r}")


class TelegramRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """PTB rate limiter backed by :class:`SendLimiter`.

    Requests whose ``data`` has a ``chat_id`` wait for the limiter; all others
    (getUpdates, getMe, setMyCommands, answerCallbackQuery, ...) pass straight
    through.  On ``RetryAfter`` every send is paused for ``retry_after`` and the
    request is retried up to ``rate_limit_args["retries"]`` times (default:
    ``default_retries``); after that the error is re-raised.  Other errors are
    never retried.  The outbox dispatcher passes ``{"retries": 0}`` and
    reschedules its durable rows itself.
    """

    __slots__ = ("_clock", "_default_retries", "_limiter", "_shared", "round_trip")

    def __init__(
        self,
        clock: Clock,
        *,
        global_per_second: int = 25,
        private_per_second: int = 1,
        group_per_minute: int = 20,
        default_retries: int = 1,
        chat_margin: float = CHAT_MARGIN_SECONDS,
        shared: SharedSlots | None = None,
    ) -> None:
        self._shared = shared
        self._clock = clock
        #: a send's own time, from its slot to Telegram's answer (a moving average): how many
        #: sends the dispatcher keeps in flight to reach the cap (bot.services.dispatch)
        self.round_trip = 0.0
        self._limiter = SendLimiter(
            clock,
            global_per_second=global_per_second,
            private_per_second=private_per_second,
            group_per_minute=group_per_minute,
            chat_margin=chat_margin,
        )
        self._default_retries = _check_retries(default_retries)

    @property
    def limiter(self) -> SendLimiter:
        return self._limiter

    @property
    def shared(self) -> SharedSlots | None:
        """The database's send slots, when several processes share the limit."""
        return self._shared

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, _Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> _Result:
        retries = self._retries(rate_limit_args)
        chat_id = data.get("chat_id")
        throttled = chat_id is not None
        attempt = 0
        while True:
            if throttled:
                chat = chat_id if isinstance(chat_id, int | str) else None
                await self._limiter.acquire(chat)
                if self._shared is not None:
                    await self._shared.acquire(chat)
            elif attempt:
                # A retried unthrottled request must still respect the pause.
                await self._limiter.acquire(None)
            started = self._clock.monotonic()
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                self._limiter.pause(seconds)
                await self._pause_shared(seconds)
                if attempt >= retries:
                    raise
                attempt += 1
                _log.warning(
                    "%s to chat %r hit flood control; retry %d/%d after %.1f s",
                    endpoint,
                    chat_id,
                    attempt,
                    retries,
                    seconds,
                )
            else:
                if throttled:
                    took = self._clock.monotonic() - started
                    self.round_trip = 0.8 * self.round_trip + 0.2 * took
                return result

    async def _pause_shared(self, seconds: float) -> None:
        if self._shared is None:
            return
        try:
            await self._shared.pause(seconds)
        except Exception as exc:  # the 429 is what the caller must see
            _log.warning("could not share a %.1f s pause with the other senders: %s", seconds, exc)

    def _retries(self, rate_limit_args: dict[str, Any] | None) -> int:
        if isinstance(rate_limit_args, dict) and "retries" in rate_limit_args:
            return _check_retries(rate_limit_args["retries"])
        return self._default_retries


def _check_retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"retries must be a non-negative integer, not {value!r}")
    return value
