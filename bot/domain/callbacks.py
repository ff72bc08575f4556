"""What a button carries: one typed value per kind of press, in at most 64 bytes.

A button only *names* a record (an occurrence, a role, a person); the handler looks it
up and checks the presser's rights before anything changes.  Nothing here is trusted:
:func:`decode` turns anything that is not what :func:`encode` writes today — forged,
truncated, too long, of an unknown version — into :class:`BadCallback`, the one error a
handler answers with "this button is out of date".

The wire form is ``<version>:<tag>:<fields…>`` (``1:d:42:prepare``).  Buttons sent
before the form had a version (``d:42:prepare``) are read as version 0, which has the
same fields, so the buttons already in people's chats keep working.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from bot.domain.enums import Stage

VERSION = 1
MAX_BYTES = 64  # Telegram's limit on a button's callback_data (InlineKeyboardButtonLimit)
LANGUAGES = ("th", "en")


class BadCallback(ValueError):
    """Button data that this version does not write: forged, stale or malformed."""


class StageAct(StrEnum):
    """A press on one open stage's row of buttons."""

    DONE = "d"
    BACK = "b"
    PUBLISH = "p"
    NOT_APPLICABLE = "n"
    SNOOZE = "z"
    CURRENT = "cc"
    UPDATED = "cu"


class Step(StrEnum):
    """An admin's two-step choice: the role first, then the person."""

    ROLE = "r"
    PERSON = "p"


@dataclass(frozen=True)
class StageCall:
    act: StageAct
    occurrence_id: int
    stage: Stage

    def fields(self) -> tuple[str, ...]:
        return self.act.value, str(self.occurrence_id), self.stage.value


class LinkAct(StrEnum):
    """A press under a publish-time link warning: check the URL again, or keep it."""

    RETRY = "lr"
    KEEP = "lk"


@dataclass(frozen=True)
class LinkCall:
    act: LinkAct
    occurrence_id: int

    def fields(self) -> tuple[str, ...]:
        return self.act.value, str(self.occurrence_id)


@dataclass(frozen=True)
class MyList:
    """ "My list": the presser's own open stages."""

    def fields(self) -> tuple[str, ...]:
        return "l", "mine"


@dataclass(frozen=True)
class Language:
    lang: str

    def fields(self) -> tuple[str, ...]:
        return "lang", self.lang


@dataclass(frozen=True)
class ReportChange:
    """An on-change item changed: open an occurrence for it."""

    code: str

    def fields(self) -> tuple[str, ...]:
        return "ch", self.code


@dataclass(frozen=True)
class _RolePerson:
    """A role, then (step ``p``) a person for it: ``0`` is anyone, none is not said."""

    TAG: ClassVar[str]
    step: Step
    role: str
    person_id: int | None = None

    def fields(self) -> tuple[str, ...]:
        more = () if self.person_id is None else (str(self.person_id),)
        return self.TAG, self.step.value, self.role, *more


@dataclass(frozen=True)
class Invite(_RolePerson):
    TAG: ClassVar[str] = "inv"


@dataclass(frozen=True)
class Assign(_RolePerson):
    TAG: ClassVar[str] = "as"


@dataclass(frozen=True)
class Deactivate:
    person_id: int

    def fields(self) -> tuple[str, ...]:
        return "da", str(self.person_id)


@dataclass(frozen=True)
class LinkGroup:
    role: str

    def fields(self) -> tuple[str, ...]:
        return "lg", self.role


Callback = (
    StageCall
    | LinkCall
    | MyList
    | Language
    | ReportChange
    | Invite
    | Assign
    | Deactivate
    | LinkGroup
)

_ID = r"[0-9]{1,18}"
_ROLE = r"[a-z][a-z0-9_]{0,63}"
_ROLE_PERSON = r"(r|p):(%s)(?::(" + _ID + r"))?"


def _person(text: str | None) -> int | None:
    return int(text) if text is not None else None


def _stage_call(act: StageAct) -> Callable[[re.Match[str]], Callback]:
    return lambda m: StageCall(act, int(m[1]), Stage(m[2]))


def _link_call(act: LinkAct) -> Callable[[re.Match[str]], Callback]:
    return lambda m: LinkCall(act, int(m[0]))


# tag → (the kind of value, the fields after the tag, the value they make)
_GRAMMAR: dict[str, tuple[type[Callback], str, Callable[[re.Match[str]], Callback]]] = {
    **{
        act.value: (StageCall, rf"({_ID}):({'|'.join(Stage)})", _stage_call(act))
        for act in StageAct
    },
    **{
        act.value: (LinkCall, _ID, _link_call(act))
        for act in LinkAct
    },
    "l": (MyList, "mine", lambda m: MyList()),
    "lang": (Language, "|".join(LANGUAGES), lambda m: Language(m[0])),
    "ch": (ReportChange, r"O[0-9]{1,2}", lambda m: ReportChange(m[0])),
    # an invitation may be for the admin pseudo-role (``_admin``); nothing else is assigned it
    "inv": (Invite, _ROLE_PERSON % "[a-z_][a-z0-9_]{0,63}",
            lambda m: Invite(Step(m[1]), m[2], _person(m[3]))),
    "as": (Assign, _ROLE_PERSON % _ROLE, lambda m: Assign(Step(m[1]), m[2], _person(m[3]))),
    "da": (Deactivate, _ID, lambda m: Deactivate(int(m[0]))),
    "lg": (LinkGroup, _ROLE, lambda m: LinkGroup(m[0])),
}  # fmt: skip
_FIELDS = {tag: re.compile(rx) for tag, (_, rx, _) in _GRAMMAR.items()}


def encode(value: Callback) -> str:
    """The button data for ``value``; a value that cannot fit is a programming error."""
    data = ":".join((str(VERSION), *value.fields()))
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: object) -> Callback:
    """The value a button carries, or :class:`BadCallback`."""
    if not isinstance(data, str) or not data or len(data.encode("utf-8")) > MAX_BYTES:
        raise BadCallback(data)
    head, _, rest = data.partition(":")
    if head.isascii() and head.isdigit():
        if int(head) != VERSION:
            raise BadCallback(data)  # another version's button: out of date
        head, _, rest = rest.partition(":")
    grammar = _GRAMMAR.get(head)
    m = _FIELDS[head].fullmatch(rest) if grammar else None
    if grammar is None or m is None:
        raise BadCallback(data)
    return grammar[2](m)


def pattern(*kinds: type[Callback]) -> re.Pattern[str]:
    """What PTB's ``CallbackQueryHandler`` routes to one handler: the tags of ``kinds``
    (the handler then decodes, and answers anything malformed as out of date)."""
    tags = sorted(tag for tag, (kind, _, _) in _GRAMMAR.items() if kind in kinds)
    return re.compile(rf"^(?:[0-9]+:)?(?:{'|'.join(map(re.escape, tags))}):")
