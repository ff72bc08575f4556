"""A channel that is no channel: a :class:`~bot.services.transport.Transport` in memory.

It records what it is asked to deliver (:attr:`FakeTransport.deliveries`), answers
:class:`~bot.services.transport.Sent` with its own message ids, and gives the outcomes a test
scripts for a chat (:meth:`FakeTransport.script`), in order.  A scripted ``RetryAfter``
pauses every send for its seconds on the injected clock, as a channel's flood limit does.
Nothing in it knows Telegram: a dispatcher that works over it needs nothing Telegram-specific.
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from dataclasses import dataclass

from bot.clock import Clock
from bot.services.transport import (
    Address,
    Buttons,
    Done,
    Outcome,
    OutgoingFile,
    RetryAfter,
    Sent,
)


@dataclass(frozen=True)
class Delivery:
    """One thing the channel accepted."""

    to: Address
    message_id: int
    at: float  # the clock's monotonic time
    text: str | None = None
    buttons: Buttons = ()
    file: OutgoingFile | None = None


class FakeTransport:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.deliveries: list[Delivery] = []
        self.refusals: list[tuple[Address, Outcome]] = []
        self.probes: list[tuple[float, Outcome]] = []
        self._scripts: defaultdict[Address, deque[Outcome | None]] = defaultdict(deque)
        self._probe_script: deque[Outcome] = deque()
        self._ids = itertools.count(1)
        self._pause_until = 0.0

    # -- the test's side --------------------------------------------------------------
    def script(self, to: Address, *outcomes: Outcome | None) -> None:
        """The next sends to ``to`` get ``outcomes``, one each (None: accepted)."""
        self._scripts[to].extend(outcomes)

    def script_probes(self, *outcomes: Outcome) -> None:
        self._probe_script.extend(outcomes)

    def to(self, chat: Address) -> list[Delivery]:
        return [d for d in self.deliveries if d.to == chat]

    # -- the transport ------------------------------------------------------------------
    def _outcome(self, to: Address) -> Outcome | None:
        queued = self._scripts.get(to)
        if not queued:
            return None
        outcome = queued.popleft()
        if outcome is None:
            return None
        self.refusals.append((to, outcome))
        if isinstance(outcome, RetryAfter):
            self._pause_until = self.clock.monotonic() + outcome.seconds
        return outcome

    def _accept(
        self,
        to: Address,
        text: str | None = None,
        buttons: Buttons = (),
        file: OutgoingFile | None = None,
    ) -> Sent:
        sent = Sent(next(self._ids))
        self.deliveries.append(
            Delivery(to, sent.message_id, self.clock.monotonic(), text, buttons, file)
        )
        return sent

    async def send_text(self, to: Address, text: str, buttons: Buttons = ()) -> Outcome:
        return self._outcome(to) or self._accept(to, text=text, buttons=buttons)

    async def send_file(self, to: Address, file: OutgoingFile) -> Outcome:
        return self._outcome(to) or self._accept(to, file=file)

    async def edit_text(
        self, to: Address, message_id: int, text: str, buttons: Buttons = ()
    ) -> Outcome:
        return self._outcome(to) or Sent(message_id)

    async def answer(self, press_id: str, text: str | None = None) -> Outcome:
        return Done()

    async def probe(self) -> Outcome:
        outcome = self._probe_script.popleft() if self._probe_script else Done()
        self.probes.append((self.clock.monotonic(), outcome))
        return outcome

    def paused_for(self) -> float:
        return max(0.0, self._pause_until - self.clock.monotonic())
