"""Outages told in a few lines: one when a service stops answering, a counter while it stays
away (at most every 5 minutes, however many parts of the process keep trying), one when
it is back — never a traceback per failed try.

:class:`Outage` keeps the count; :class:`WatchedRequest` is the ``HTTPXRequest`` of the
``getUpdates`` loop, which ends the outage at the first answer; PTB's polling loop calls
:meth:`Outage.failed` (its ``error_callback``) for every failed poll.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from telegram.request import HTTPXRequest

from bot.logs import reason

log = logging.getLogger(__name__)

#: While a service stays away, one line at most this often (however many parts of the
#: process keep trying), saying for how long and how many tries.
TELL_EVERY_SECONDS = 300.0


class Outage:
    """``settle_seconds``: a success that comes sooner than this after the last failure does
    not end the outage (a service that half works — a database file that cannot be written
    still answers reads — would otherwise begin and end an outage at every try)."""

    def __init__(
        self, what: str, *, tell_every: float = TELL_EVERY_SECONDS, settle_seconds: float = 0.0
    ) -> None:
        self.what = what
        self.tell_every = tell_every
        self.settle_seconds = settle_seconds
        self.failures = 0
        self.outages = 0
        self._since = 0.0
        self._told = 0.0
        self._failed_at = 0.0

    @property
    def ongoing(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        self._failed_at = time.monotonic()
        if self.failures == 1:
            self.outages += 1
            self._since = self._told = time.monotonic()
            log.warning("%s unreachable (%s); retrying", self.what, reason(exc))
        elif time.monotonic() - self._told >= self.tell_every:
            self._told = time.monotonic()
            log.warning(
                "%s still unreachable after %.0f s: %d failed tries",
                self.what,
                self._told - self._since,
                self.failures,
            )
        else:
            log.debug("%s still unreachable (%d): %s", self.what, self.failures, reason(exc))

    def ok(self) -> None:
        if self.failures and time.monotonic() - self._failed_at >= self.settle_seconds:
            log.warning(
                "%s reachable again after %d failed tries (%.0f s)",
                self.what,
                self.failures,
                time.monotonic() - self._since,
            )
            self.failures = 0


class WatchedRequest(HTTPXRequest):
    """An ``HTTPXRequest`` that ends ``outage`` whenever the server answers (not with a 5xx)."""

    def __init__(self, outage: Outage, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outage = outage

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        result = await super().do_request(*args, **kwargs)
        if result[0] < 500:  # a 5xx is Telegram's side failing
            self.outage.ok()
        return result
