"""What delivery needs of a messaging channel, and what the channel answers.

The dispatcher (:mod:`bot.services.dispatch`) speaks only this: a :class:`Transport` sends a
text with buttons, sends a file, edits a message, answers a button press, and says whether
the bot itself is usable (:meth:`Transport.probe`).  Each call returns an :data:`Outcome`,
never raises for what the channel said: the transport decides what an error *means*
(retry later, this chat is gone, the bot is refused), the dispatcher decides what to do
about it.  Telegram's transport is :mod:`bot.telegram.transport`; the tests' fake one is
``tests/support/fake_transport.py``.

Buttons are channel-neutral (:class:`Button`).  The outbox keeps storing the inline
keyboard it always stored (``{"inline_keyboard": [[{"text", "callback_data" | "url"}]]}``);
:func:`buttons_from_stored` reads it, and each transport builds its own markup from that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

#: A chat on the channel: Telegram's numeric chat id (another channel may use a string).
Address = int | str


@dataclass(frozen=True)
class Button:
    """One button: a press comes back with ``data``, or it opens ``url``."""

    text: str
    data: str | None = None
    url: str | None = None


#: Rows of buttons under a message (empty: none).
Buttons = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class OutgoingFile:
    kind: Literal["photo", "document"]
    filename: str
    content: bytes
    caption: str | None = None


# -- outcomes ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sent:
    """Delivered; ``message_id`` is the channel's id of the message (for edits)."""

    message_id: int


@dataclass(frozen=True)
class Done:
    """Done, nothing to record (a press answered, the bot's probe answered)."""


@dataclass(frozen=True)
class RetryAfter:
    """The channel asks every send to wait ``seconds`` (Telegram's 429)."""

    seconds: float


@dataclass(frozen=True)
class Transient:
    """A network error, a timeout, the channel's server failing: try again later."""

    reason: str


@dataclass(frozen=True)
class Permanent:
    """This chat cannot be reached, for good: blocked, deactivated, gone, not a member."""

    reason: str


@dataclass(frozen=True)
class Rejected:
    """This message was refused (malformed): retrying cannot help, but the chat is fine."""

    reason: str


@dataclass(frozen=True)
class Migrated:
    """The group moved to ``new_chat_id`` (a Telegram group became a supergroup)."""

    new_chat_id: int


@dataclass(frozen=True)
class BotUnusable:
    """The channel refuses the *bot*, not the message (a revoked token, a wrong endpoint):
    nothing can be sent until it is fixed.  ``reason`` names the setting to check and never
    carries a secret."""

    reason: str


Outcome = Sent | Done | RetryAfter | Transient | Permanent | Rejected | Migrated | BotUnusable


class Transport(Protocol):
    """A messaging channel under the dispatcher."""

    async def send_text(self, to: Address, text: str, buttons: Buttons = ()) -> Outcome:
        """Send ``text`` with ``buttons``: :class:`Sent` or why not."""

    async def send_file(self, to: Address, file: OutgoingFile) -> Outcome:
        """Send a photo or a document (with its caption)."""

    async def edit_text(
        self, to: Address, message_id: int, text: str, buttons: Buttons = ()
    ) -> Outcome:
        """Replace the text and buttons of a message the bot sent."""

    async def answer(self, press_id: str, text: str | None = None) -> Outcome:
        """Answer a button press (:class:`Done`), with a short notice when ``text``."""

    async def probe(self) -> Outcome:
        """Is the bot usable?  :class:`Done`, or :class:`BotUnusable` / :class:`Transient`."""

    def paused_for(self) -> float:
        """Seconds every send must still wait (a :class:`RetryAfter` in force), else 0."""


def buttons_from_stored(markup: Mapping[str, Any] | None) -> Buttons:
    """The buttons of an outbox row's stored inline keyboard (see the module's doc)."""
    if not markup:
        return ()
    return tuple(
        tuple(Button(str(b["text"]), data=b.get("callback_data"), url=b.get("url")) for b in row)
        for row in markup.get("inline_keyboard", ())
    )
