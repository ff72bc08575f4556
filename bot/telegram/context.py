"""PTB's callback context, with the application's :class:`AppContext` typed.

The composition root (:func:`bot.app.build_application`) puts the AppContext in
``bot_data`` and gives PTB :data:`CONTEXT_TYPES`, so every handler and job receives a
:class:`BotContext` and reads ``context.ctx`` — one typed place, not a cast in each.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.services.context import AppContext

BOT_DATA_KEY = "ctx"

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def app_context(app: AnyApplication) -> AppContext:
    """The :class:`AppContext` the composition root gave ``app`` (the one typed way in)."""
    ctx: AppContext = app.bot_data[BOT_DATA_KEY]
    return ctx


def set_app_context(app: AnyApplication, ctx: AppContext) -> None:
    """Give ``app`` its :class:`AppContext` (the composition root, and tests' apps)."""
    app.bot_data[BOT_DATA_KEY] = ctx


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def ctx(self) -> AppContext:
        return app_context(self.application)


CONTEXT_TYPES: ContextTypes[BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any]] = (
    ContextTypes(context=BotContext)
)
