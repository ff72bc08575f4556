"""Fixtures that put the real python-telegram-bot Application in front of the Bot API emulator."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application
from bot.telegram.context import set_app_context
from tests.support.botapi import BotApiEmulator
from tests.support.world import World


def free_port() -> int:
    """A port nothing listens on now (for a process that binds it itself)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def emulator() -> Iterator[BotApiEmulator]:
    with BotApiEmulator() as emu:
        yield emu


@asynccontextmanager
async def running_app(
    world: World,
    emu: BotApiEmulator,
    *,
    startup: bool = False,
    jobs: bool = False,
    **settings: Any,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """The bot as ``python -m bot run`` builds it, talking HTTP to the emulator, on the world's
    database and fake clock (jobs are run by the tests, not by APScheduler).  With ``startup``
    its ``post_init`` (migrations, materialisation, menus, the sender) is the real one; with
    ``jobs`` its job queue holds the real jobs, for a test to run (``job.run(app)``)."""
    ctx_settings = world.ctx.settings.model_copy(
        update={
            "telegram_api_base_url": emu.base_url,
            "bot_token": world.ctx.settings.bot_token,
            **settings,
        }
    )
    world.ctx.settings = ctx_settings
    app = build_application(
        ctx_settings, clock=world.clock, db=world.ctx.db, with_jobs=jobs, startup=startup
    )
    set_app_context(app, world.ctx)
    async with app:
        yield app
