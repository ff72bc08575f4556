"""PTB's callback context, with the application's :class:`AppContext` typed.

The composition root (:func:`bot.app.build_application`) puts the AppContext in
``bot_data`` and gives PTB :data:`CONTEXT_TYPES`, so every handler and job receives a
:class:`BotContext` and reads ``context.ctx`` — one typed place, not a cast in each.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.services.context import AppContext

BOT_DATA_KEY = "ctx"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.bot_data[BOT_DATA_KEY]
        return ctx


CONTEXT_TYPES: ContextTypes[BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any]] = (
    ContextTypes(context=BotContext)
)
