"""Text that fits Telegram, measured the way Telegram measures it.

Telegram counts a message's length in UTF-16 code units of its text after entity
parsing.  We send plain text (no ``parse_mode``), so that is the text as sent — but
every character outside the Basic Multilingual Plane (most emoji) counts *two*, and a
Thai word counts one per code point, marks included.  Cutting at 4,096 code points is
therefore not enough: a message of 3,000 emoji is 6,000 units long and is refused.

* :func:`fit` is the one function that makes any text fit a limit: unchanged if it
  fits, otherwise cut (never inside a character, never leaving a combining mark or a
  joiner dangling) and marked with ``…``.  The outbox and every reply go through it, so
  nothing is ever refused for its length.
* :func:`split_lines` turns a long list of lines into several messages, each within the
  limit, so long lists are split rather than cut.

The limits themselves are python-telegram-bot's :mod:`telegram.constants`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from telegram.constants import CallbackQueryLimit, MessageLimit

TEXT_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)  # 1024
ANSWER_LIMIT = int(CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH)  # 200
ELLIPSIS = "…"

_JOINERS = {"\u200d", "\u200c", "\ufe0e", "\ufe0f"}  # ZWJ, ZWNJ, variation selectors


def utf16_len(text: str) -> int:
    """The length Telegram sees: UTF-16 code units (two for a character above U+FFFF)."""
    # the encoder counts in C; a lone surrogate (from surrogateescape) is one unit, as it was
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def _attached(c: str) -> bool:
    """A character that belongs to the one before it (a Thai vowel mark, a tone mark,
    an emoji modifier or joiner)."""
    return (
        c in _JOINERS
        or unicodedata.category(c) in ("Mn", "Me", "Mc")
        or 0x1F3FB <= ord(c) <= 0x1F3FF  # skin tones
        or 0xE0020 <= ord(c) <= 0xE007F  # tag characters (flags)
    )


def fit(
    text: str, limit: int = TEXT_LIMIT, marker: str = ELLIPSIS, *, whole_lines: bool = False
) -> str:
    """``text`` if it fits ``limit`` UTF-16 units; otherwise its longest whole-character
    prefix that fits together with ``marker`` — or, with ``whole_lines``, its longest run of
    whole lines, then ``marker`` on a line of its own."""
    if utf16_len(text) <= limit:
        return text
    if whole_lines:
        return fit(text, limit - 2, marker="").rsplit("\n", 1)[0] + "\n" + marker
    budget = limit - utf16_len(marker)
    used = end = 0
    for i, c in enumerate(text):
        used += 2 if ord(c) > 0xFFFF else 1
        if used > budget:
            end = i
            break
    # don't split a character from its marks, nor leave an emoji's joiner at the end
    while end > 0 and _attached(text[end]):
        end -= 1
    while end > 0 and text[end - 1] in _JOINERS:
        end -= 1
    return text[:end].rstrip() + marker


def clip(text: str, limit: int) -> str:
    """A short echo of what a person typed (a name, a rejected link), for a line of a reply."""
    return fit(" ".join(text.split()), limit)


def split_lines(
    lines: Sequence[str], limit: int = TEXT_LIMIT, *, head: str = "", tail: str = ""
) -> list[str]:
    """``head``, ``lines`` and ``tail`` as few messages as possible, each within ``limit``:
    ``head`` starts the first message, ``tail`` ends the last, lines are never split
    across messages (one that could never fit is shortened with :func:`fit`)."""
    room = limit - max(utf16_len(head), utf16_len(tail)) - 2
    messages: list[list[str]] = [[head] if head else []]
    size = utf16_len(head)
    for line in lines:
        line = fit(line, max(room, 1))
        n = utf16_len(line) + 1
        if messages[-1] and size + n > limit - (utf16_len(tail) + 1 if tail else 0):
            messages.append([])
            size = 0
        messages[-1].append(line)
        size += n
    if tail:
        messages[-1].append(tail)
    return [fit("\n".join(m), limit) for m in messages if m]
