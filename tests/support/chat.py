"""End-to-end harness: the real Application polls the Bot API emulator over HTTP; the test
plays the people, on a fake clock.

``await h.say(alice, "/tasks")`` queues Alice's message in the emulator, waits until the
Application has fetched it (getUpdates) and finished handling it, and returns the bot's
replies to Alice's chat.  Reminders are sent by running the tick, as the JobQueue would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.domain import OutboxStatus
from bot.services.dispatch import Dispatcher
from bot.services.reminders import remind
from bot.store.models import Outbox
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator, Call
from tests.support.telegram import running_app
from tests.support.world import World

SEND_METHODS = ("sendMessage", "sendDocument", "sendPhoto", "editMessageText")


class Confirmations(Dispatcher):
    """Sends only the people's own confirmations (outbox kind ``confirm``), as the running
    sender does at once after a press's commit; notices wait for the test's tick/deliver."""

    async def candidates(self, now: datetime, limit: int | None = None) -> list[int]:
        async with self.ctx.db.transaction() as s:
            rows = await s.scalars(
                select(Outbox.id)
                .where(
                    Outbox.status == OutboxStatus.PENDING.value,
                    Outbox.kind == "confirm",
                    Outbox.next_attempt_at <= now,
                )
                .order_by(Outbox.id)
                .limit(limit or self.ctx.settings.dispatch_batch)
            )
            return list(rows)


@dataclass(frozen=True)
class User:
    id: int
    name: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.name, "language_code": "th"}


class Harness:
    def __init__(
        self, world: World, emu: BotApiEmulator, app: Application[Any, Any, Any, Any, Any, Any]
    ) -> None:
        self.world = world
        self.emu = emu
        self.app = app
        self._done: set[int] = set()
        self._cond = asyncio.Condition()

    # the Application tells us when it has handled an update (last handler group)
    async def _mark(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        async with self._cond:
            self._done.add(update.update_id)
            self._cond.notify_all()

    async def _handled(self, update_id: int) -> None:
        async with asyncio.timeout(15), self._cond:
            await self._cond.wait_for(lambda: update_id in self._done)
        await Confirmations(self.world.ctx, transport_of(self.app)).run(recover=False)

    async def handled(self, update: dict[str, Any]) -> None:
        """Until the Application has handled ``update`` (pushed by the test itself), and the
        confirmations it queued are sent."""
        await self._handled(update["update_id"])

    def _mark_calls(self) -> int:
        return len(self.emu.calls())

    def _since(self, mark: int, chat_id: int | None = None) -> list[Call]:
        calls = self.emu.calls()[mark:]
        return [c for c in calls if c.ok and (chat_id is None or c.chat_id == chat_id)]

    async def say(self, user: User, text: str, *, reply_to: int | None = None, chat: dict[str, Any] | None = None
                  ) -> list[Call]:  # fmt: skip
        """The user sends ``text``; returns what the bot sent to that chat meanwhile."""
        mark = self._mark_calls()
        update = self.emu.user_message(
            user.as_dict(), text, chat=chat, reply_to_message_id=reply_to
        )
        await self._handled(update["update_id"])
        chat_id = chat["id"] if chat else user.id
        return [c for c in self._since(mark, chat_id) if c.method in SEND_METHODS]

    async def press(
        self, user: User, message: Call, data: str, *, chat_id: int | None = None
    ) -> tuple[list[Call], list[Call]]:
        """The user presses a button of ``message``; returns (bot messages, callback answers)."""
        mark = self._mark_calls()
        update = self.emu.user_press(
            user.as_dict(), message.result["message_id"], chat_id or user.id, data
        )
        await self._handled(update["update_id"])
        calls = self._since(mark)
        msgs = [c for c in calls if c.method in SEND_METHODS and c.chat_id == (chat_id or user.id)]
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        return msgs, answers

    async def press_data(self, user: User, data: str) -> tuple[list[Call], list[Call]]:
        """The user presses a button carrying ``data`` — forwarded, stale or forged — on some
        bot message in their chat (the last one, after a /help if there is none)."""
        mine = self.emu.sent_messages(user.id)
        if not mine:
            await self.say(user, "/help")
            mine = self.emu.sent_messages(user.id)
        return await self.press(user, mine[-1], data)

    async def tick(self) -> list[Call]:
        """What the JobQueue's tick does: due reminder slots → outbox → Telegram."""
        mark = self._mark_calls()
        ctx = self.world.ctx
        await remind(ctx, ctx.clock.now())
        await Dispatcher(ctx, transport_of(self.app)).run()
        return [c for c in self._since(mark) if c.method in SEND_METHODS]

    async def deliver(self) -> list[Call]:
        mark = self._mark_calls()
        await Dispatcher(self.world.ctx, transport_of(self.app)).run()
        return [c for c in self._since(mark) if c.method in SEND_METHODS]


def buttons(call: Call) -> dict[str, str]:
    """A sent message's inline buttons: label → callback data."""
    markup = call.params.get("reply_markup") or {}
    return {
        b["text"]: b.get("callback_data", "")
        for row in markup.get("inline_keyboard", [])
        for b in row
    }


def text_of(calls: list[Call]) -> str:
    return "\n---\n".join(str(c.params.get("text") or c.params.get("caption") or "") for c in calls)


@asynccontextmanager
async def chat_harness(
    world: World, emu: BotApiEmulator, **settings: Any
) -> AsyncIterator[Harness]:
    async with running_app(world, emu, **settings) as app:
        h = Harness(world, emu, app)
        app.add_handler(TypeHandler(Update, h._mark), group=1000)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=5, drop_pending_updates=True)
        await app.start()
        try:
            yield h
        finally:
            await app.updater.stop()
            await app.stop()
