"""Telegram handlers: thin — parse the update, call a service, render the reply.

All the wiring is in :func:`register_handlers`.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    from bot.handlers.commands import register

    register(app)
