"""Telegram-facing adapters (rate limiting for outgoing Bot API requests)."""
