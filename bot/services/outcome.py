"""What an action on the chain came to, for the handler to render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import TaskLine
from bot.store.models import Occurrence

#: Work that commits after the turn (``Outcome.then``) is given this: called in its own
#: transaction with its successful outcome, it queues the person's confirmation there
#: (True), or leaves it to be said directly (False).
Confirm = Callable[[AsyncSession, "Outcome"], Awaitable[bool]]


@dataclass
class Outcome:
    """What happened, for the handler to render: a text key and its parameters."""

    ok: bool
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    occurrence: Occurrence | None = None
    prompt: str | None = None  # the bot must now ask for: "reason_back" | "reason_na" | "url"
    follow_up: list[TaskLine] = field(default_factory=list)  # the actor's own next stage, if any
    # buttons of the reply: (text key, callback data)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    # the rest of the work needs the network: run after this unit of work has committed,
    # outside any transaction; its outcome is the reply (a publish-time link check)
    then: Callable[[Confirm], Awaitable[Outcome]] | None = None
    confirmed: bool = False  # its confirmation is already queued in the outbox
