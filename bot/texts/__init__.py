"""Every text a person sees, in Thai (the default) and English, in one place.

Use :func:`tr` with a message key and keyword arguments.  Dates are formatted by
:func:`bot.domain.thai.format_date` (BE years, Thai or Arabic digits by setting).
Keys missing from English fall back to Thai, so Thai is always complete.

The tables are kept by topic, one module each: ``common``, ``dates``, ``reminders``,
``admin`` (onboarding), ``chain``, ``tasks``, ``links`` (and the ITAS hand-in) and
``reports``.  :data:`TH` and :data:`EN` are their union; a key lives in exactly one topic
(tests/test_texts.py holds them to that).
"""

from __future__ import annotations

from typing import Literal

from bot.texts import admin, chain, common, dates, links, reminders, reports, tasks

Lang = Literal["th", "en"]
LANGS: tuple[Lang, ...] = ("th", "en")

_TOPICS = (common, dates, reminders, admin, chain, tasks, links, reports)

TH: dict[str, str] = {k: v for topic in _TOPICS for k, v in topic.TH.items()}
EN: dict[str, str] = {k: v for topic in _TOPICS for k, v in topic.EN.items()}

_TABLES: dict[str, dict[str, str]] = {"th": TH, "en": EN}


def tr(lang: str, key: str, /, **kwargs: object) -> str:
    """The text ``key`` in ``lang`` (falling back to Thai), formatted with ``kwargs``."""
    table = _TABLES.get(lang, TH)
    template = table.get(key) or TH[key]
    return template.format(**kwargs) if kwargs else template


def stage_name(lang: str, stage: str) -> str:
    return tr(lang, f"stage.{stage}")
