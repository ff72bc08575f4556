"""Placeholder wiring until the chat handlers land."""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.ext import Application

from bot.services.context import AppContext


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    return None


async def publish_command_menus(bot: Bot, ctx: AppContext) -> None:
    return None
