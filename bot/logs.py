"""Logging without secrets: the bot token never reaches a log, from any logger, at any level.

The token is part of every Bot API URL, and libraries log those URLs: python-telegram-bot
("Set Bot API URL: …/bot<token>", at DEBUG), httpx ("HTTP Request: POST …/bot<token>/…",
at INFO), tracebacks of network errors.  Filters on our own loggers or handlers would miss
records of loggers and handlers added later, so the redaction sits where *every* record
is made: the log record factory.  A record whose message, traceback or stack mentions a
secret gets it replaced by :data:`REDACTED` before any handler sees it.

:func:`redact` is called by the composition root with the token (and by anything else
that builds a ``Bot``); it installs the factory once per process.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

REDACTED = "<BOT_TOKEN>"


class _RedactingFactory:
    def __init__(self, base: Any) -> None:
        self.base = base
        self.secrets: list[str] = []
        self._formatter = logging.Formatter()

    def add(self, secret: str) -> None:
        for form in (secret, quote(secret, safe="")):
            if form and form not in self.secrets:
                self.secrets.append(form)
        self.secrets.sort(key=len, reverse=True)  # the longest form first

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _mentions(self, text: str) -> bool:
        return any(secret in text for secret in self.secrets)

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.base(*args, **kwargs)
        if not self.secrets:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it as usual
            message = str(record.msg)
        if self._mentions(message):
            record.msg, record.args = self.scrub(message), None
        if record.exc_info:
            text = self._formatter.formatException(record.exc_info)
            if self._mentions(text):
                record.exc_text = self.scrub(text)  # formatters use it instead of re-rendering
        if record.stack_info and self._mentions(record.stack_info):
            record.stack_info = self.scrub(record.stack_info)
        return record


def redact(*secrets: str) -> None:
    """From now on, no log record of this process shows any of ``secrets``."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingFactory):
        factory = _RedactingFactory(factory)
        logging.setLogRecordFactory(factory)
    for secret in secrets:
        if secret:
            factory.add(secret)


def configure(level: str) -> None:
    """``python -m bot run``'s logging: ``LOG_LEVEL`` for everything; httpx's line per
    request and APScheduler's lines per job run only at DEBUG."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet = numeric if numeric <= logging.DEBUG else logging.WARNING
    logging.getLogger("httpx").setLevel(quiet)
    # APScheduler's "Running job …" / "… executed successfully" every tick: DEBUG only
    logging.getLogger("apscheduler.executors").setLevel(quiet)


def reason(exc: BaseException) -> str:
    """One short line saying what went wrong (no traceback)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:300]
