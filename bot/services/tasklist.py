"""A person's open stages as messages: text, inline keyboards (as plain dicts), and the
occurrences each message names — what reminders, notifications and /tasks send.

Services store what they render in the outbox, so nothing here imports Telegram.
A button's data only *names* a record (see :mod:`bot.domain.callbacks`); the handler
looks the record up and checks the presser's rights before anything changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from bot.domain import Stage, TaskLine
from bot.domain.callbacks import Callback, MyList, StageAct, StageCall, encode
from bot.fmt import Fmt
from bot.textfit import TEXT_LIMIT, fit, utf16_len

MAX_BUTTON_ITEMS = 8  # items in one message: each has its own row of buttons


def button(text: str, data: Callback) -> dict[str, str]:
    return {"text": text, "callback_data": encode(data)}


# the buttons of a stage, in their order, with their labels' text keys
STAGE_BUTTONS = {
    Stage.CONFIRM: (
        (StageAct.CURRENT, "btn.current"),
        (StageAct.UPDATED, "btn.updated"),
        (StageAct.SNOOZE, "btn.snooze"),
    ),
    Stage.PREPARE: (
        (StageAct.DONE, "btn.done"),
        (StageAct.NOT_APPLICABLE, "btn.na"),
        (StageAct.SNOOZE, "btn.snooze"),
    ),
    Stage.COLLECT: (
        (StageAct.DONE, "btn.done"),
        (StageAct.BACK, "btn.back"),
        (StageAct.NOT_APPLICABLE, "btn.na"),
        (StageAct.SNOOZE, "btn.snooze"),
    ),
    Stage.PUBLISH: (
        (StageAct.PUBLISH, "btn.publish"),
        (StageAct.NOT_APPLICABLE, "btn.na"),
        (StageAct.SNOOZE, "btn.snooze"),
    ),
}


@lru_cache(maxsize=4096)
def _stage_labels(fmt: Fmt, stage: Stage, code: str) -> tuple[tuple[StageAct, str], ...]:
    """A stage's buttons' labels for an item (the same in every office: a morning's
    reminders share them)."""
    return tuple((act, fmt.t(key, code=code)) for act, key in STAGE_BUTTONS[stage])


def task_buttons(fmt: Fmt, line: TaskLine) -> list[dict[str, str]]:
    """The buttons for one open stage; every label names the item."""
    stage = Stage(line.stage)
    return [
        button(label, StageCall(act, line.occurrence_id, stage))
        for act, label in _stage_labels(fmt, stage, line.code)
    ]


def keyboard(fmt: Fmt, lines: Sequence[TaskLine], *, with_list: bool = True) -> dict[str, Any]:
    rows: list[list[dict[str, str]]] = [task_buttons(fmt, ln) for ln in lines[:MAX_BUTTON_ITEMS]]
    if with_list:
        rows.append([button(fmt.t("btn.mylist"), MyList())])
    return {"inline_keyboard": rows}


def task_line_text(fmt: Fmt, ln: TaskLine, today: date) -> str:
    return _line_text(fmt, ln.code, ln.title, ln.period, ln.stage, ln.due, ln.moved_from, today)


@lru_cache(maxsize=4096)
def _line_text(
    fmt: Fmt,
    code: str,
    title: str,
    period: str,
    stage: str,
    due: date,
    moved_from: date | None,
    today: date,
) -> str:
    """One stage's line (pure, and the same for every office with that item's stage due
    that day: the tick renders each once)."""
    ln = TaskLine(0, code, title, stage, due, "", period, moved_from=moved_from)
    return fmt.t(
        "rem.line",
        code=ln.code,
        title=f"{ln.title} [{fmt.period(ln.period)}]" if ln.period else ln.title,
        stage=fmt.stage(ln.stage),
        due=fmt.date(ln.due),
        when=fmt.when(ln.days_left(today)),
    ) + (fmt.t("rem.moved", date=fmt.date(ln.moved_from)) if ln.moved_from else "")


@dataclass(frozen=True)
class Part:
    """One message of a (possibly split) list of tasks: its text, buttons and items."""

    text: str
    markup: dict[str, Any]
    items: list[int]


LINE_LIMIT = 600  # one item's line in a list (a catalogue title may be long)


def _fitted_line(fmt: Fmt, ln: TaskLine, today: date) -> str:
    return _fit_line(task_line_text(fmt, ln, today))


@lru_cache(maxsize=4096)
def _fit_line(text: str) -> str:
    return fit(text, LINE_LIMIT)


@lru_cache(maxsize=16)
def _room(fmt: Fmt) -> int:
    """A reminder's room for its lines, besides its header."""
    tail_room = utf16_len(fmt.t("rem.legend")) + utf16_len(fmt.t("rem.footer", example="O00.00"))
    return TEXT_LIMIT - utf16_len(fmt.t("rem.part", i="99", n="99")) - tail_room


def render_reminders(
    fmt: Fmt, lines: Sequence[TaskLine], today: date, *, header: str | None = None
) -> list[Part]:
    """Every due stage, soonest first, as one message or — when they do not fit one — as
    several, each with a row of buttons for each of its items (never cut off)."""
    ordered = sorted(lines, key=lambda ln: (ln.due, ln.code, ln.stage))
    head = header or fmt.t("rem.header", date=fmt.date(today))
    texts = [_fitted_line(fmt, ln, today) for ln in ordered]
    room = _room(fmt) - utf16_len(head)
    chunks: list[list[int]] = [[]]
    size = 0
    for i, text in enumerate(texts):
        n = utf16_len(text) + 1
        if chunks[-1] and (len(chunks[-1]) >= MAX_BUTTON_ITEMS or size + n > room - 8):
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += n
    out: list[Part] = []
    for k, chunk in enumerate(chunks, start=1):
        title = head
        if len(chunks) > 1:
            title += fmt.t("rem.part", i=fmt.num(k), n=fmt.num(len(chunks)))
        part = [ordered[i] for i in chunk]
        body = [title, "", *(texts[i] for i in chunk), "", fmt.t("rem.legend")]
        body.append(fmt.t("rem.footer", example=part[0].code if part else "O1"))
        out.append(
            Part(fit("\n".join(body)), keyboard(fmt, part), [ln.occurrence_id for ln in part])
        )
    return out
